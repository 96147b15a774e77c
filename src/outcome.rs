//! Per-link results: what happened to one link in one run, shared by every command, the
//! reports and (later) the manifest. A failed link is a value here, never an `Err`.

use serde::{Deserialize, Serialize};

/// How a link fared. Serialized in snake case, e.g. `network_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The final response's status is accepted (`--accept`), or a 304 to a conditional request.
    Ok,
    /// The server answered with a status that is not accepted.
    HttpError,
    /// No response headers within `--timeout`, a body stalled longer than `--timeout`, or a
    /// download took longer than `--max-time`.
    Timeout,
    /// DNS, connection, TLS or protocol failure, including a body cut short.
    NetworkError,
    /// A redirect loop, too many redirects, a missing or unusable `Location`.
    RedirectError,
    /// The body is larger than `--max-size`.
    TooLarge,
    /// The page is gone though the site answered 200: a deep link redirected to the site's
    /// root or a not-found path, or a page answered like a random path beside it.
    #[serde(rename = "soft_404")]
    Soft404,
    /// Skipped by `--include`/`--exclude`; never counted as a failure.
    Excluded,
    /// `verify`: a snapshot's payload is missing: the WARC file holding its record (or its
    /// 0.1.0 object file) is not there.
    MissingObject,
    /// `verify`: a snapshot's payload has the wrong size or hash, or its record cannot be read
    /// as a payload where the snapshot says.
    CorruptObject,
    /// `verify`: the WARC record of a snapshot is missing, cut short or fails its digests.
    CorruptWarc,
}

impl Outcome {
    /// The name used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::HttpError => "http_error",
            Self::Timeout => "timeout",
            Self::NetworkError => "network_error",
            Self::RedirectError => "redirect_error",
            Self::TooLarge => "too_large",
            Self::Soft404 => "soft_404",
            Self::Excluded => "excluded",
            Self::MissingObject => "missing_object",
            Self::CorruptObject => "corrupt_object",
            Self::CorruptWarc => "corrupt_warc",
        }
    }

    /// Whether this outcome fails the run (exit code 1).
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Ok | Self::Excluded)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a capture compares with the latest snapshot (archive and `verify --live`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The first capture of this link.
    New,
    /// The same bytes as the latest snapshot, or a 304.
    Unchanged,
    /// Different bytes from the latest snapshot, and the same text a reader sees (or text
    /// differing only in dates, times and counters).
    Cosmetic,
    /// The text a reader sees changed (or, for a payload without text, the bytes did).
    Changed,
}

impl Change {
    /// The name used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Unchanged => "unchanged",
            Self::Cosmetic => "cosmetic",
            Self::Changed => "changed",
        }
    }
}

/// One redirect that was followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectHop {
    /// The 3xx status.
    pub status: u16,
    /// The URL that answered with the redirect.
    pub url: String,
    /// The `Location` header exactly as sent (possibly relative).
    pub location: String,
}

/// The result for one link, as it appears in the JSON report (`results[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkResult {
    /// The link's id from links.json (or derived from its URL).
    pub id: String,
    /// The URL as written in links.json.
    pub url: String,
    /// How it fared.
    pub outcome: Outcome,
    /// The status of the final response, if one arrived.
    pub http_status: Option<u16>,
    /// The last URL requested, after redirects.
    pub final_url: Option<String>,
    /// Every redirect followed, in order.
    pub redirects: Vec<RedirectHop>,
    /// Requests made for this link, retries included (0 when excluded).
    pub attempts: u32,
    /// Wall time spent on this link, in milliseconds, from its first request.
    pub elapsed_ms: u64,
    /// The final response's `Content-Type`.
    pub content_type: Option<String>,
    /// Body size in bytes: the decoded payload when downloaded, else the `Content-Length`.
    pub size: Option<u64>,
    /// SHA-256 of the payload (archive only).
    pub sha256: Option<String>,
    /// Compared with the latest snapshot (archive and `verify --live`).
    pub change: Option<Change>,
    /// For a `changed` capture with text: how much of the latest snapshot's text it keeps
    /// (0–1, see [`crate::text::compare`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// `verify --live`: how much of the link's first snapshot's text (the cited version) the
    /// live page keeps (0–1); absent when either has no text to compare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity_to_first: Option<f64>,
    /// A one-line explanation whenever `outcome` is not `ok`.
    pub error: Option<String>,
    /// With `--public-archive`: the copy of the link a public archive holds (`Some(None)`, written
    /// as `null`, when it holds none or could not be asked); absent without the flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_copy: Option<Option<crate::public_archive::PublicCopy>>,
    /// With `archive --submit`: what submitting this link's new or changed capture to a public
    /// archive came to; absent for a link not submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<crate::public_archive::save::Submission>,
    /// With `archive`, for an HTML capture: its requisites as this run fetched them (the
    /// snapshot's `requisites`, issue #20); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requisites: Option<crate::requisites::Summary>,
}

impl LinkResult {
    /// A result for a link that was skipped by `--include`/`--exclude`.
    pub fn excluded(id: &str, url: &str, why: String) -> Self {
        Self {
            id: id.to_owned(),
            url: url.to_owned(),
            outcome: Outcome::Excluded,
            http_status: None,
            final_url: None,
            redirects: Vec::new(),
            attempts: 0,
            elapsed_ms: 0,
            content_type: None,
            size: None,
            sha256: None,
            change: None,
            similarity: None,
            similarity_to_first: None,
            error: Some(why),
            public_copy: None,
            submission: None,
            requisites: None,
        }
    }
}
