//! Page requisites (issue #20): what a cited HTML page needs to display (stylesheets and what
//! they import, images, fonts, scripts, frames one level deep), fetched by `archive` alongside
//! the page and recorded in the same run's WARC file, so that the page replays as its readers
//! saw it. They are not links: a page's snapshot keeps a [`Summary`] of them.
//!
//! [`discover`] finds them in HTML and CSS; `commands::archive` fetches and records them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod discover;

/// `--max-requisites`: requisites fetched for one page at most.
pub const DEFAULT_MAX_REQUISITES: usize = 300;
/// `--max-requisite-bytes`: the payload bytes of one page's requisites at most.
pub const DEFAULT_MAX_REQUISITE_BYTES: &str = "100MiB";

/// How much of a page's requisites a run fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requisites per page (`--max-requisites`); 0 fetches none (`--no-requisites`).
    pub max: usize,
    /// Payload bytes per page (`--max-requisite-bytes`).
    pub bytes: u64,
}

/// What a page snapshot's `requisites` field says: the requisites the latest run fetched for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The run that fetched them.
    pub run: String,
    /// Requisites captured (a new record, or a revisit of a payload already stored).
    pub captured: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Requisites that could not be captured, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failed>,
    /// Why requisites were left out, when a limit stopped the page's fetching
    /// (`--max-requisites`, `--max-requisite-bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited: Option<String>,
    /// The records holding the captured requisites' payloads: offsets by WARC file (relative to
    /// the archive), for `verify`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub records: BTreeMap<String, Vec<u64>>,
}

/// A requisite that could not be captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub url: String,
    /// One line: the outcome's explanation.
    pub error: String,
}
