//! linkkeep keeps cited web references alive: it finds the URLs a document cites, checks them,
//! archives each distinct payload once, in a WARC record, verifies the archive, and
//! replays it.
//!
//! The binary in `src/main.rs` only parses arguments and maps the result to an exit code; every
//! command lives in this library so that tests and other tools can drive it directly.
//!
//! # Layout
//! - [`cli`]: clap definitions, nothing else.
//! - [`config`]: the validated configuration the rest of the crate runs on, and its defaults.
//! - [`links`]: `links.json`: parsing, validation and derived ids.
//! - [`shard`]: `--shard K/N`: which links one of N cooperating runs takes, by registrable
//!   domain, the same on every machine.
//! - [`fetch`]: the one fetch engine: shared clients, politeness limits, retries, redirects
//!   checked hop by hop (filters, the private-address rule), and streaming downloads with
//!   Content-Encoding removed.
//! - [`outcome`]: per-link results shared by every command and report.
//! - [`soft404`]: pages gone though their site answers 200: redirects home, sibling probes.
//! - [`store`]: the archive's `tmp/` and flushes, and the 0.1.0 object store, still read.
//! - [`payload`]: a snapshot's payload read back from the WARC record that holds it (or its
//!   0.1.0 object), its `Content-Encoding` removed and its hash checked on the way.
//! - [`title`]: titles of captured HTML pages and PDFs.
//! - [`text`]: the text a reader sees in a capture (main text, normalised), its fingerprint,
//!   and how two captures' texts differ.
//! - [`manifest`]: the manifest of links and snapshots, saved atomically, and rebuilt from the
//!   WARC files and run reports when lost.
//! - [`lock`]: the archive lock, one writing run at a time.
//! - [`journal`]: what runs in progress (or killed) have finished but not yet compacted.
//! - [`markup`]: HTML/XML escaping and character references, shared by the outputs.
//! - [`output`]: writing user-named files: atomically, or straight into devices and pipes.
//! - [`report`]: the report formats (human, JSON, Markdown, JUnit).
//! - [`public_archive`]: copies of cited pages in public web archives: found (the Wayback
//!   Machine's CDX API) and made (Save Page Now).
//! - [`cite`]: citations of archived links (Robust Links HTML, Markdown, wikitext, BibLaTeX,
//!   CSL-JSON, text), and citing documents whose links are made robust.
//! - [`wacz`]: WACZ export of the WARC files and the CDXJ index.
//! - [`progress`]: the terminal progress bar.
//! - [`serve`]: the read-only, Wayback-style replay server, each capture sandboxed.
//! - [`warc`]: WARC 1.1 writing, validation and reading back, SURT keys and the CDXJ index.
//! - [`extract`]: the URLs cited by text, Markdown, HTML and PDF documents, and merging them
//!   into links.json.
//! - [`commands`]: one module per subcommand, the glue between the modules above.
//! - `fuzzing` (hidden): the fuzz targets, shared by `fuzz/` and the property tests.

pub mod cite;
pub mod cli;
pub mod commands;
pub mod config;
pub mod css;
pub mod extract;
pub mod fetch;
#[doc(hidden)]
pub mod fuzzing;
pub mod journal;
pub mod links;
pub mod lock;
pub mod manifest;
pub mod markup;
pub mod outcome;
pub mod output;
pub mod payload;
pub mod progress;
pub mod public_archive;
pub mod report;
pub mod requisites;
pub mod schedule;
pub mod serve;
pub mod shard;
pub mod soft404;
pub mod storage;
pub mod store;
pub mod text;
pub mod title;
pub mod wacz;
pub mod warc;

/// The crate version, as reported in the JSON report and the default user agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
