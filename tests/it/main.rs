//! Integration tests for `linkkeep check`, run against the real binary and servers on 127.0.0.1.
//!
//! One test binary; modules by theme. Shared servers and helpers live in `support`.

mod support;

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
