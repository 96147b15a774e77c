//! Citations of archived links (issue #16): for each link, what a reference list says about it
//! (title, publisher, the cited URL, the date and SHA-256 of the cited capture, and where copies
//! of that capture can be read), gathered from links.json and the manifest; written out by
//! [`format`](mod@format) in the formats people cite in, or put into the links of a citing
//! document by [`robustify`].
//!
//! Everything here is pure: the command layer (`commands::cite`) reads the files and writes the
//! output.

pub mod format;
pub mod robust_link;
pub mod robustify;

use chrono::{DateTime, Utc};
use url::Url;

use crate::links::Link;
use crate::manifest::{LinkEntry, Pick, Snapshot};
use crate::outcome::Outcome;
use crate::public_archive::{PublicArchive, PublicCopy};

/// What a citation is built from beyond the link itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--at`: cite the capture nearest this time instead of the first (the cited version).
    pub at: Option<DateTime<Utc>>,
    /// `--replay-base`: where `linkkeep serve` answers for this archive, so that each citation
    /// names this archive's copy (`<base>/web/<timestamp>/<url>`).
    pub replay_base: Option<Url>,
}

/// One link's citation.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// The link's id.
    pub id: String,
    /// The cited URL, as links.json has it.
    pub url: String,
    /// links.json's title, else the cited capture's, else the URL; one line, no control
    /// characters.
    pub title: String,
    /// links.json's publisher, else the URL's host; one line, no control characters.
    pub publisher: String,
    /// The capture cited, when the link has one.
    pub version: Option<CitedVersion>,
    /// What the link's last check says of the live URL, when it was checked.
    pub status: Option<UrlStatus>,
}

/// The capture a citation cites.
#[derive(Debug, Clone, PartialEq)]
pub struct CitedVersion {
    /// When it was first captured: the date the citation gives for the cited version.
    pub captured: DateTime<Utc>,
    /// The SHA-256 of its payload, lower-case hex.
    pub sha256: String,
    /// Where copies of it can be read: this archive's first (with `--replay-base`), then public
    /// archives' in the order recorded.
    pub copies: Vec<ArchivedCopy>,
}

/// A copy of the cited capture someone can open.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedCopy {
    /// Who keeps it.
    pub holder: Holder,
    /// Its address: an absolute http(s) URL, serialised by the `url` crate (so it holds no
    /// space, quote or angle bracket).
    pub url: String,
    /// When that copy was captured, when known.
    pub captured: Option<DateTime<Utc>>,
}

/// Who keeps an archived copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// This archive, replayed by `linkkeep serve` at `--replay-base`.
    ThisArchive,
    /// A public web archive, by the name recorded in the manifest (`wayback`).
    Public(String),
}

impl Holder {
    /// How a reader knows it: "this archive", "Wayback Machine", or the recorded name.
    pub fn label(&self) -> &str {
        match self {
            Self::ThisArchive => "this archive",
            Self::Public(name) if name == PublicArchive::Wayback.name() => "Wayback Machine",
            Self::Public(name) => name,
        }
    }
}

/// The live URL's state as Wikipedia's `url-status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlStatus {
    /// The last check was ok and the page still says what was cited.
    Live,
    /// The last check failed.
    Dead,
    /// The URL answers, but not with the cited page: a soft 404, or text that changed since
    /// the cited capture.
    Usurped,
}

impl UrlStatus {
    /// The `url-status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Dead => "dead",
            Self::Usurped => "usurped",
        }
    }
}

impl Citation {
    /// The citation of the link `id` at `url`, with links.json's entry for it (`listed`) and
    /// the manifest's (`entry`), either of which may be missing.
    pub fn new(id: &str, url: &str, listed: Option<&Link>, entry: Option<&LinkEntry>, options: &Options) -> Self {
        let snapshot = entry.and_then(|e| e.capture(options.at, Pick::First));
        let title = listed
            .and_then(|l| l.title.as_deref())
            .or(snapshot.and_then(|s| s.title.as_deref()))
            .map(one_line)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| one_line(url));
        let publisher = listed
            .and_then(|l| l.publisher.as_deref())
            .map(one_line)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| host_of(url));
        let version = entry
            .zip(snapshot)
            .and_then(|(entry, snapshot)| cited_version(entry, snapshot, options));
        Self {
            id: id.to_owned(),
            url: url.to_owned(),
            title,
            publisher,
            version,
            status: entry.and_then(|e| url_status(e, snapshot)),
        }
    }

    /// The copy to name where a format has room for one: a public archive's, which every reader
    /// can open, else this archive's.
    pub fn preferred_copy(&self) -> Option<&ArchivedCopy> {
        let copies = &self.version.as_ref()?.copies;
        copies
            .iter()
            .find(|c| matches!(c.holder, Holder::Public(_)))
            .or(copies.first())
    }

    /// The archived copies of the cited version (none without one).
    pub fn copies(&self) -> &[ArchivedCopy] {
        self.version.as_ref().map_or(&[], |v| &v.copies)
    }
}

/// The cited version of `entry`: `snapshot`, with this archive's copy and the public copies made
/// of it. `None` when its capture time does not parse (a hand-edited manifest).
fn cited_version(entry: &LinkEntry, snapshot: &Snapshot, options: &Options) -> Option<CitedVersion> {
    let captured = DateTime::parse_from_rfc3339(&snapshot.first_seen).ok()?.to_utc();
    let mut copies = Vec::new();
    if let Some(base) = &options.replay_base
        && let Some(url) = replay_url(base, &entry.url, captured)
    {
        copies.push(ArchivedCopy {
            holder: Holder::ThisArchive,
            url,
            captured: Some(captured),
        });
    }
    // Only the copies made of this snapshot: a copy a public archive made of a later capture
    // holds a later version of the page, which is not what the citation cites (and one made of
    // an earlier capture is not it either).
    copies.extend(snapshot.public_copies.iter().filter_map(public_copy));
    Some(CitedVersion {
        captured,
        sha256: snapshot.sha256.clone(),
        copies,
    })
}

/// The address at which `linkkeep serve` (at `base`) replays the capture of `url` taken at
/// `captured`: `<base>/web/<YYYYMMDDhhmmss>/<url>`, the capture's own timestamp, so the server
/// answers with the capture rather than a redirect to it. The URL is the link's, normalised by
/// the `url` crate (which the server looks up as well as the URL as written), so that it holds
/// no space to break a list of addresses.
pub fn replay_url(base: &Url, url: &str, captured: DateTime<Utc>) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let base = base.as_str().trim_end_matches('/');
    let replay = format!("{base}/web/{}/{url}", crate::warc::record::timestamp14(captured));
    absolute_web_url(&replay)
}

/// A public copy one can open, as an [`ArchivedCopy`]: recorded with an absolute http(s) URL.
fn public_copy(copy: &PublicCopy) -> Option<ArchivedCopy> {
    if !copy.is_copy() {
        return None;
    }
    let url = absolute_web_url(copy.url.as_deref()?)?;
    let captured = copy
        .timestamp
        .as_deref()
        .and_then(|t| crate::manifest::parse_time(t).ok());
    Some(ArchivedCopy {
        holder: Holder::Public(one_line(&copy.archive)),
        url,
        captured,
    })
}

/// `text` as an absolute http(s) URL in the `url` crate's serialisation, or `None`.
fn absolute_web_url(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.into())
}

/// The live URL's state by the link's last check: dead when it failed, usurped when it was a
/// soft 404 or the page drifted from the cited capture, else live. `None` when never checked
/// (or only excluded).
fn url_status(entry: &LinkEntry, cited: Option<&Snapshot>) -> Option<UrlStatus> {
    let check = entry.last_check.as_ref()?;
    Some(match check.outcome {
        Outcome::Ok if drifted(entry, cited) => UrlStatus::Usurped,
        Outcome::Ok => UrlStatus::Live,
        Outcome::Soft404 => UrlStatus::Usurped,
        Outcome::Excluded => return None,
        _ => UrlStatus::Dead,
    })
}

/// Whether the page changed, as a reader sees it, since the cited capture: some later snapshot
/// is a change `archive` reports as `changed` rather than `cosmetic`. That is the project's one
/// rule for a text change (`text::compare`: more than a few differing words, or any word that
/// is not a date, time or number); a snapshot without text fields is a payload without text
/// whose bytes changed, which `archive` also reports as `changed`.
fn drifted(entry: &LinkEntry, cited: Option<&Snapshot>) -> bool {
    let Some(cited) = cited else {
        return false;
    };
    let after = entry
        .snapshots
        .iter()
        .position(|s| std::ptr::eq(s, cited))
        .map_or(&[][..], |at| &entry.snapshots[at + 1..]);
    after.iter().any(|s| !s.text.as_ref().is_some_and(|t| t.cosmetic))
}

/// The host of `url` (without a leading `www.`), or the URL itself when it has none.
fn host_of(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.strip_prefix("www.").unwrap_or(h).to_owned()))
        .unwrap_or_else(|| one_line(url))
}

/// Remote or hand-written text made fit for one line of any format: runs of whitespace (line
/// breaks and tabs included) become one space, other control characters (escape sequences
/// among them) are dropped. Each format escapes its own syntax on top of this.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else if !c.is_control() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// A time as a date, `YYYY-MM-DD` (UTC).
pub fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// A time as ISO 8601 in UTC to the second, `YYYY-MM-DDThh:mm:ssZ`.
pub fn datetime(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests;
