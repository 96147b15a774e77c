//! The JSON report's wire format (SPEC.md, "Output"), declared here rather than imported from the
//! crate so that the tests check what other tools actually read.

use serde::Deserialize;

/// The whole report printed by `--format json`.
#[derive(Debug, Deserialize)]
pub struct Report {
    pub tool: String,
    pub version: String,
    pub command: String,
    pub run: String,
    /// `--shard K/N`: the shard that ran; absent without it.
    #[serde(default)]
    pub shard: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub summary: Summary,
    pub results: Vec<LinkResult>,
    /// Problems that fail no link (`verify`); absent when there are none.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Counts over all links of the run.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
    pub excluded: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Captures with new bytes and the same text (archive, `verify --live`).
    pub cosmetic: u64,
}

/// One link's result.
#[derive(Debug, Clone, Deserialize)]
pub struct LinkResult {
    pub id: String,
    pub url: String,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub final_url: Option<String>,
    pub redirects: Vec<Hop>,
    pub attempts: u32,
    pub elapsed_ms: u64,
    // Parsed to check the type; `check` may or may not fill them from the headers.
    #[allow(dead_code)]
    pub content_type: Option<String>,
    #[allow(dead_code)]
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub change: Option<String>,
    /// For `changed` with text: how much of the latest snapshot's text is left (issue #14).
    #[serde(default)]
    pub similarity: Option<f64>,
    /// `verify --live`: how much of the cited version's text is left (issue #14).
    #[serde(default)]
    pub similarity_to_first: Option<f64>,
    pub error: Option<String>,
}

/// One redirect hop: the URL requested, its status, and the raw `Location` value.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Hop {
    pub status: u16,
    pub url: String,
    pub location: String,
}

/// The closed set of outcomes; anything else fails to parse.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    HttpError,
    Timeout,
    NetworkError,
    RedirectError,
    TooLarge,
    /// A page gone though its site answered 200.
    #[serde(rename = "soft_404")]
    Soft404,
    Excluded,
    /// `verify` only.
    MissingObject,
    /// `verify` only.
    CorruptObject,
    /// `verify` only.
    CorruptWarc,
}

impl Report {
    /// The result for `id`; panics with the ids present when it is missing.
    pub fn get(&self, id: &str) -> &LinkResult {
        self.results.iter().find(|r| r.id == id).unwrap_or_else(|| {
            let ids: Vec<_> = self.results.iter().map(|r| &r.id).collect();
            panic!("no result for {id:?}; ids: {ids:?}")
        })
    }

    /// The result ids in report order.
    pub fn ids(&self) -> Vec<&str> {
        self.results.iter().map(|r| r.id.as_str()).collect()
    }
}
