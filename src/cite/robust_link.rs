//! The three attributes that make an HTML link a Robust Link
//! (<https://robustlinks.mementoweb.org/spec/>): `data-originalurl`, `data-versiondate` and
//! `data-versionurl`, as unescaped values; the callers escape them for where they write them.
//!
//! - `data-versiondate`: the date of the cited capture, `YYYY-MM-DD` in UTC (the spec reads a
//!   date as noon UTC of that day).
//! - `data-versionurl`: each archived copy's absolute http(s) URI followed by its datetime,
//!   `YYYY-MM-DDThh:mm:ssZ`, all separated by single spaces. A copy whose capture time is not
//!   known is listed without one, which the spec's grammar allows.

use super::{Citation, date, datetime};

/// The Robust Link attributes of a citation, when it has a cited version (the spec requires
/// `data-versiondate`). `versionurl` is `None` when no copy of it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobustLink {
    /// `data-originalurl`: the cited URL, normalised.
    pub original: String,
    /// `data-versiondate`: the cited capture's date.
    pub version_date: String,
    /// `data-versionurl`: the copies and their datetimes.
    pub version_url: Option<String>,
}

impl RobustLink {
    /// The attributes for `citation`, or `None` when it cites no capture.
    pub fn of(citation: &Citation) -> Option<Self> {
        let version = citation.version.as_ref()?;
        let tokens: Vec<String> = version
            .copies
            .iter()
            .flat_map(|copy| std::iter::once(copy.url.clone()).chain(copy.captured.map(datetime)))
            .collect();
        // The cited URL as a URI (the `url` crate's serialisation is ASCII: an IRI's host in
        // punycode, its other characters percent-encoded), as the spec asks.
        let original = url::Url::parse(citation.url.trim()).map_or_else(|_| citation.url.clone(), String::from);
        Some(Self {
            original,
            version_date: date(version.captured),
            version_url: (!tokens.is_empty()).then(|| tokens.join(" ")),
        })
    }

    /// The attributes as `(name, value)` pairs, in the spec's order.
    pub fn attributes(&self) -> Vec<(&'static str, &str)> {
        let mut attributes = vec![
            ("data-originalurl", self.original.as_str()),
            ("data-versiondate", self.version_date.as_str()),
        ];
        if let Some(version_url) = &self.version_url {
            attributes.push(("data-versionurl", version_url));
        }
        attributes
    }
}
