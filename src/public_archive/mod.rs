//! Copies of cited pages kept by public web archives (issue #16): finding one for a link in the
//! Wayback Machine's CDX API, and asking Save Page Now to make one.
//!
//! A copy found or made is a [`PublicCopy`]: a run's result carries the one found for a link
//! (`public_copy`), a snapshot the ones made of it (`public_copies`).

pub mod cdx;
pub mod lookup;
pub mod save;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The Wayback Machine's address: the CDX API is `<endpoint>/cdx/search/cdx`, Save Page Now
/// `<endpoint>/save`, and captures are `<endpoint>/web/<timestamp>/<url>`.
pub const WAYBACK_ENDPOINT: &str = "https://web.archive.org";

/// The environment variables that hold Save Page Now's S3-style keys
/// (<https://archive.org/account/s3.php>), sent as `Authorization: LOW <access>:<secret>`.
pub const WAYBACK_ACCESS_KEY_VAR: &str = "WAYBACK_ACCESS_KEY";
/// See [`WAYBACK_ACCESS_KEY_VAR`].
pub const WAYBACK_SECRET_KEY_VAR: &str = "WAYBACK_SECRET_KEY";

/// A public web archive linkkeep can look links up in or submit them to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicArchive {
    /// The Internet Archive's Wayback Machine.
    Wayback,
}

impl PublicArchive {
    /// The name written into reports and the manifest (`"wayback"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Wayback => "wayback",
        }
    }
}

/// A copy of a link in a public archive, or why a submission made none.
///
/// A copy found or made has `url` (the memento: `https://web.archive.org/web/<timestamp>/<url>`)
/// and `timestamp` (when the archive captured it, RFC 3339 UTC). A submission the archive
/// refused has `error` instead (`error:too-many-daily-captures: …`), and `timestamp` is then
/// when it was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicCopy {
    /// Which archive: `"wayback"`.
    pub archive: String,
    /// The archived copy's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the archive captured it (RFC 3339 UTC), or when it refused to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Why no copy was made: the archive's own status (`error:…`) and message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fields this build does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PublicCopy {
    /// A copy at `url`, captured at `timestamp` (RFC 3339 UTC).
    pub fn found(archive: PublicArchive, url: String, timestamp: String) -> Self {
        Self {
            archive: archive.name().to_owned(),
            url: Some(url),
            timestamp: Some(timestamp),
            error: None,
            extra: Map::new(),
        }
    }

    /// A submission `archive` refused at `timestamp`, for the reason `error`.
    pub fn refused(archive: PublicArchive, error: String, timestamp: String) -> Self {
        Self {
            archive: archive.name().to_owned(),
            url: None,
            timestamp: Some(timestamp),
            error: Some(error),
            extra: Map::new(),
        }
    }

    /// Whether this is a copy one can open (not a refusal).
    pub fn is_copy(&self) -> bool {
        self.url.is_some() && self.error.is_none()
    }
}
