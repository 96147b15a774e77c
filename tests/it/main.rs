//! Integration tests for `linkkeep check`, run against the real binary and servers on 127.0.0.1.
//!
//! One test binary; modules by theme. Shared servers and helpers live in `support`.

mod support;

mod archive_changes;
mod archive_crash;
mod archive_dedup;
mod archive_errors;
mod archive_identity;
mod archive_limits;
mod archive_lock;
mod archive_manifest;
mod archive_readers;
mod archive_roundtrip;
mod archive_store;
mod archive_text;
mod archive_warc_hops;
mod check_filters;
mod check_flags;
mod check_formats;
mod check_headers;
mod check_links_file;
mod check_network;
mod check_politeness;
mod check_proxy;
mod check_redirects;
mod check_retries;
mod check_status;
mod check_tls;
mod diff;
mod encoded_limits;
mod export_files;
mod extract_html;
mod extract_pdf;
mod extract_text;
mod extract_write;
mod fuzz_props;
mod gc;
mod interop_pywb;
mod interop_wacz;
mod interop_warc;
mod payload_get_serve;
mod repair;
mod repair_migrate;
mod serve_browser;
mod serve_drift;
mod serve_routes;
mod soft404;
mod status_drift;
mod status_get;
mod verify_fixity;
mod verify_in_progress;
mod verify_live;
mod verify_live_text;
