//! The manifest (`archive/manifest.json`): every link's last check and its snapshots, loaded
//! and saved atomically. Unknown fields at every level are kept on rewrite, so a newer linkkeep
//! or a hand edit never loses data through an older one.
//!
//! # Wire format
//! ```json
//! {"schema_version":1,"updated_at":"2026-11-29T02:00:00Z",
//! "links": {
//! "<id>": {"url":"…","last_check":{…},"snapshots":[{…},…]},
//! "<id>": {…}
//! }}
//! ```
//! One link per line, as [`Manifest::save`] writes it; any JSON layout reads the same. Field by
//! field: [`Manifest`], [`LinkEntry`], [`LastCheck`], [`Snapshot`].
//!
//! [`rebuild`] makes a manifest from the run reports and WARC files when `manifest.json` is
//! lost (`linkkeep repair`).
//!
//! Three readers, by what a command needs: [`Manifest`] reads every entry (`get`, `verify`,
//! `serve`, `gc`, `export`), [`ManifestUpdate`] only the entries of a run's links
//! (`archive`), [`ManifestSummary`] each link's last check and latest snapshot (`status`).

pub(crate) mod json;
pub mod rebuild;
mod update;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub use self::json::ParseFailure;
use self::json::deserialize_keeping_unknown_fields;
pub use self::update::ManifestUpdate;

use crate::journal::JournalLink;
use crate::outcome::{Change, Outcome};

/// The schema this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The manifest's file name inside the archive.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The whole manifest, read by [`Manifest::load`] and written by [`Manifest::save`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    /// The schema version, [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the manifest was last written (RFC 3339 UTC).
    pub updated_at: Option<String>,
    /// Every link ever archived, by id, in the order first seen.
    pub links: IndexMap<String, LinkEntry>,
    /// Fields this build does not know, kept as they were.
    pub extra: Map<String, Value>,
}

/// One link's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkEntry {
    /// The URL as written in links.json when last archived.
    pub url: String,
    /// The latest attempt, successful or not.
    pub last_check: Option<LastCheck>,
    /// Distinct captures, oldest first.
    pub snapshots: Vec<Snapshot>,
    /// Fields this build does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The latest attempt to fetch a link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastCheck {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// How it fared.
    pub outcome: Outcome,
    /// The final response's status, if any.
    pub http_status: Option<u16>,
    /// The last URL requested, after redirects.
    pub final_url: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The run that made this check.
    pub run: String,
    /// Fields this build does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One distinct capture of a link: a payload seen from `first_seen` to `last_seen`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// SHA-256 of the payload (the body with Content-Encoding removed), lower-case hex.
    pub sha256: String,
    /// Payload size in bytes.
    pub size: u64,
    /// The response's `Content-Type`.
    pub content_type: Option<String>,
    /// The first time this payload was fetched (RFC 3339 UTC).
    pub first_seen: String,
    /// The last time this payload was fetched, or confirmed by a 304.
    pub last_seen: String,
    /// The status of the response that carried the payload.
    pub http_status: u16,
    /// The URL requested (links.json's URL at the time), before redirects; absent in
    /// snapshots written before linkkeep recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The URL that served it, after redirects.
    pub final_url: String,
    /// The response's `ETag`, for conditional requests.
    pub etag: Option<String>,
    /// The response's `Last-Modified`, for conditional requests.
    pub last_modified: Option<String>,
    /// The HTML `<title>` or PDF document title, when found.
    pub title: Option<String>,
    /// Archives of 0.1.0 only: the object file holding the payload, relative to the archive
    /// (`objects/sha256/ab/cdef…`). Read in preference to the WARC record while it exists;
    /// `repair --migrate` moves it into WARC and drops the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The WARC file holding the payload's response record, relative to the archive. For a
    /// capture of a payload stored before, the record of that earlier capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warc: Option<String>,
    /// Where in `warc` the payload's record is: `offset`, `length` and the record's identity,
    /// written as fields of the snapshot itself.
    #[serde(flatten)]
    pub warc_record: Option<WarcRecordRef>,
    /// The run that first captured it.
    pub run: String,
    /// What a reader sees of an HTML or PDF capture (issue #14); absent for other types and
    /// for snapshots written before linkkeep read text.
    #[serde(flatten)]
    pub text: Option<SnapshotText>,
    /// Copies of this capture that public archives made or refused to make when it was
    /// submitted (`archive --submit`, issue #16), oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public_copies: Vec<crate::public_archive::PublicCopy>,
    /// An HTML capture's requisites as the latest run fetched them (issue #20); absent for
    /// other captures, with `--no-requisites`, and before linkkeep fetched them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requisites: Option<crate::requisites::Summary>,
    /// Fields this build does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The text fields of a snapshot, written flat into it: the fingerprint of its main text
/// ([`crate::text::Fingerprint`]) and how it compares with the snapshots before it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SnapshotText {
    /// SHA-256 of the normalised main text.
    pub text_sha256: String,
    /// 64-bit simhash of its word 3-shingles, 16 hex digits.
    pub text_simhash: String,
    /// Its word count.
    pub text_words: u64,
    /// The bytes differ from the snapshot before, the text a reader sees does not.
    pub cosmetic: bool,
    /// The text's similarity (0–1) to the snapshot before it; absent for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// The text's similarity (0–1) to the link's first snapshot, the cited version; absent for
    /// the first, and when the first has no text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity_to_first: Option<f64>,
}

impl SnapshotText {
    /// The text fields of a capture whose text has `fingerprint`, not yet compared.
    pub fn new(fingerprint: &crate::text::Fingerprint) -> Self {
        Self {
            text_sha256: fingerprint.sha256.clone(),
            text_simhash: fingerprint.simhash_hex(),
            text_words: fingerprint.words,
            cosmetic: false,
            similarity: None,
            similarity_to_first: None,
        }
    }
}

/// The WARC response record that holds a snapshot's payload: enough to read it back with one
/// seek, and for later revisit records to refer to it. Written flat into the snapshot
/// (`offset`, `length`, `record_id`, `record_date`, `payload_digest`); archives of 0.1.0 kept
/// it nested as `warc_record`, which is still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WarcRecordRef {
    /// The offset of the record's gzip member in the WARC file.
    pub offset: u64,
    /// The length of that gzip member, in bytes.
    pub length: u64,
    /// The record's `WARC-Record-ID`.
    pub record_id: String,
    /// The record's `WARC-Date`.
    #[serde(rename = "record_date", alias = "date")]
    pub date: String,
    /// The record's `WARC-Payload-Digest`: of the body as received, before content decoding,
    /// so it can differ from the snapshot's `sha256` for compressed responses.
    pub payload_digest: String,
}

deserialize_keeping_unknown_fields!(LinkEntry { url, last_check, snapshots = default });
deserialize_keeping_unknown_fields!(LastCheck {
    at,
    outcome,
    http_status,
    final_url,
    error,
    run
});
/// A snapshot as written, in either layout: the record's fields flat (this version) or nested
/// in `warc_record` (0.1.0).
struct StoredSnapshot {
    sha256: String,
    size: u64,
    content_type: Option<String>,
    first_seen: String,
    last_seen: String,
    http_status: u16,
    url: Option<String>,
    final_url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    title: Option<String>,
    object: Option<String>,
    warc: Option<String>,
    offset: Option<u64>,
    length: Option<u64>,
    record_id: Option<String>,
    record_date: Option<String>,
    payload_digest: Option<String>,
    warc_record: Option<WarcRecordRef>,
    run: String,
    text_sha256: Option<String>,
    text_simhash: Option<String>,
    text_words: Option<u64>,
    cosmetic: Option<bool>,
    similarity: Option<f64>,
    similarity_to_first: Option<f64>,
    public_copies: Vec<crate::public_archive::PublicCopy>,
    requisites: Option<crate::requisites::Summary>,
    extra: Map<String, Value>,
}

deserialize_keeping_unknown_fields!(StoredSnapshot {
    sha256,
    size,
    content_type,
    first_seen,
    last_seen,
    http_status,
    url,
    final_url,
    etag,
    last_modified,
    title,
    object,
    warc,
    offset,
    length,
    record_id,
    record_date,
    payload_digest,
    warc_record,
    run,
    text_sha256,
    text_simhash,
    text_words,
    cosmetic,
    similarity,
    similarity_to_first,
    public_copies = default,
    requisites,
});

impl<'de> serde::Deserialize<'de> for Snapshot {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut s = StoredSnapshot::deserialize(deserializer)?;
        let flat = match (
            s.offset,
            s.length,
            s.record_id.take(),
            s.record_date.take(),
            s.payload_digest.take(),
        ) {
            (Some(offset), Some(length), Some(record_id), Some(date), Some(payload_digest)) => Some(WarcRecordRef {
                offset,
                length,
                record_id,
                date,
                payload_digest,
            }),
            // Part of a record reference is no reference: keep what is there as it was. Unless
            // a nested reference (0.1.0) stands in for it: that one is written back in these
            // very fields, and keeping both would write each twice, a manifest that no longer
            // parses (found by fuzzing, issue #15).
            _ if s.warc_record.is_some() => None,
            (offset, length, record_id, date, payload_digest) => {
                let partial = [
                    ("offset", offset.map(Value::from)),
                    ("length", length.map(Value::from)),
                    ("record_id", record_id.map(Value::from)),
                    ("record_date", date.map(Value::from)),
                    ("payload_digest", payload_digest.map(Value::from)),
                ];
                for (name, value) in partial {
                    if let Some(value) = value {
                        s.extra.insert(name.to_owned(), value);
                    }
                }
                None
            }
        };
        let text = match (s.text_sha256, s.text_simhash, s.text_words) {
            (Some(text_sha256), Some(text_simhash), Some(text_words)) => Some(SnapshotText {
                text_sha256,
                text_simhash,
                text_words,
                cosmetic: s.cosmetic.unwrap_or(false),
                similarity: s.similarity,
                similarity_to_first: s.similarity_to_first,
            }),
            (text_sha256, text_simhash, text_words) => {
                // Part of the text fields is no fingerprint: keep what is there as it was.
                let partial = [
                    ("text_sha256", text_sha256.map(Value::from)),
                    ("text_simhash", text_simhash.map(Value::from)),
                    ("text_words", text_words.map(Value::from)),
                    ("cosmetic", s.cosmetic.map(Value::from)),
                    ("similarity", s.similarity.map(Value::from)),
                    ("similarity_to_first", s.similarity_to_first.map(Value::from)),
                ];
                for (name, value) in partial {
                    if let Some(value) = value {
                        s.extra.insert(name.to_owned(), value);
                    }
                }
                None
            }
        };
        Ok(Snapshot {
            sha256: s.sha256,
            size: s.size,
            content_type: s.content_type,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            http_status: s.http_status,
            url: s.url,
            final_url: s.final_url,
            etag: s.etag,
            last_modified: s.last_modified,
            title: s.title,
            object: s.object,
            warc: s.warc,
            warc_record: flat.or(s.warc_record),
            run: s.run,
            text,
            public_copies: s.public_copies,
            requisites: s.requisites,
            extra: s.extra,
        })
    }
}

/// A successful fetch, to be recorded against a link's snapshots.
#[derive(Debug, Clone, PartialEq)]
pub enum Capture {
    /// A 304 to a conditional request: the latest snapshot is still current.
    NotModified {
        /// Validators the 304 may have refreshed.
        etag: Option<String>,
        last_modified: Option<String>,
        /// The page's requisites as this run fetched them, if it did.
        requisites: Option<Box<crate::requisites::Summary>>,
    },
    /// A payload, stored as an object.
    Payload(Box<Snapshot>),
    /// New bytes with the latest snapshot's text (`--skip-cosmetic`): not stored, the latest
    /// snapshot stands for them.
    Sighting {
        /// The response's validators, for the next conditional request.
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// Why the manifest cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid manifest (line {line}, column {column}): {message}; it was left untouched", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{} has schema_version {found}, newer than this linkkeep understands ({SCHEMA_VERSION}); it was left untouched", path.display())]
    NewerSchema { path: PathBuf, found: u32 },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
}

impl Manifest {
    /// An empty manifest for a new archive.
    pub fn new() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            ..Self::default()
        }
    }

    /// Loads `archive/manifest.json` (a missing file is an empty manifest: a new archive) with
    /// the finished links of any run still writing, or killed and not yet recovered, laid over
    /// it from their journals: what a reader sees is the last checkpoint.
    pub fn load(archive: &Path) -> Result<Self, ManifestError> {
        let mut manifest = Self::load_compacted(archive)?;
        for journal in crate::journal::read_all(archive)? {
            manifest.apply(journal.links);
        }
        Ok(manifest)
    }

    /// Loads `archive/manifest.json` alone, without the journals of runs not yet compacted.
    pub fn load_compacted(archive: &Path) -> Result<Self, ManifestError> {
        Ok(read(archive)?.map_or_else(Self::new, Self::from_parsed))
    }

    /// Lays a journal's links over the manifest: each link's entry replaces the one under its
    /// id, and an entry it was renamed from goes.
    pub fn apply(&mut self, journal: Vec<JournalLink>) {
        crate::journal::lay_over(&mut self.links, journal, |entry| entry);
    }

    fn from_parsed(parsed: json::Parsed<LinkEntry>) -> Self {
        Self {
            schema_version: parsed.schema_version,
            updated_at: parsed.updated_at,
            links: parsed.links,
            extra: parsed.extra,
        }
    }

    /// Writes `archive/manifest.json` atomically: a temporary file beside it, fsync, rename,
    /// fsync of the directory. A reader (or a crash) sees the old manifest or the new one.
    pub fn save(&self, archive: &Path) -> Result<(), ManifestError> {
        save_atomically(archive, |out| self.write(out))
    }

    /// Writes the manifest's JSON, one link per line.
    pub(crate) fn write(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let header = json::Header {
            schema_version: self.schema_version,
            updated_at: self.updated_at.as_deref(),
            extra: &self.extra,
        };
        json::write(header, out, |links| {
            self.links.iter().try_for_each(|(id, entry)| links.entry(id, entry))
        })
    }

    /// The link `target` names (`get`, `diff`): an id, else a URL as written, as normalized, or
    /// as finally served by one of the link's captures.
    pub fn find(&self, target: &str) -> Option<(&str, &LinkEntry)> {
        if let Some((id, entry)) = self.links.get_key_value(target) {
            return Some((id, entry));
        }
        let normalized = url::Url::parse(target).ok().map(|u| u.to_string());
        let matches = |url: &str| url == target || normalized.as_deref() == Some(url);
        let by_url = self
            .links
            .iter()
            .find(|(_, e)| matches(&e.url) || url::Url::parse(&e.url).is_ok_and(|u| matches(u.as_str())));
        by_url
            .or_else(|| {
                self.links
                    .iter()
                    .find(|(_, e)| e.snapshots.iter().any(|s| matches(&s.final_url)))
            })
            .map(|(id, e)| (id.as_str(), e))
    }

    /// The latest snapshot of link `id`, if any.
    pub fn latest(&self, id: &str) -> Option<&Snapshot> {
        self.links.get(id).and_then(|entry| entry.snapshots.last())
    }

    /// Records a fetch of link `id` (at `url`): its last check always, and its capture when
    /// there is one. Returns how the capture compares with the latest snapshot: the same bytes
    /// or a 304 move `last_seen` forward, different bytes add a snapshot.
    pub fn record(&mut self, id: &str, url: &str, check: LastCheck, capture: Option<Capture>) -> Option<Change> {
        self.links.entry(id.to_owned()).or_default().record(url, check, capture)
    }
}

/// Which capture a command means when no time is given: `get` the latest, `diff --from` the
/// first (the cited version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The first snapshot.
    First,
    /// The latest snapshot.
    Latest,
}

impl LinkEntry {
    /// The capture nearest to `at` (`get --at`, `diff --from`/`--to`), or without a time the one
    /// `otherwise` names; `None` when the link has no snapshot.
    pub fn capture(&self, at: Option<DateTime<Utc>>, otherwise: Pick) -> Option<&Snapshot> {
        match (at, otherwise) {
            (Some(at), _) => nearest(&self.snapshots, at),
            (None, Pick::First) => self.snapshots.first(),
            (None, Pick::Latest) => self.snapshots.last(),
        }
    }

    /// The copies public archives made of its captures (not their refusals), oldest capture
    /// first.
    pub fn public_copies(&self) -> impl Iterator<Item = &crate::public_archive::PublicCopy> {
        self.snapshots
            .iter()
            .flat_map(|s| &s.public_copies)
            .filter(|c| c.is_copy())
    }

    /// Why the link has no snapshot yet, as a parenthesis for messages: its last check's error,
    /// or nothing.
    pub fn no_snapshot_why(&self) -> String {
        self.last_check
            .as_ref()
            .and_then(|c| c.error.as_deref())
            .map(|e| format!(" (last check: {e})"))
            .unwrap_or_default()
    }

    /// Records a fetch of this link (at `url`), as [`Manifest::record`] describes.
    fn record(&mut self, url: &str, check: LastCheck, capture: Option<Capture>) -> Option<Change> {
        self.url = url.to_owned();
        let at = check.at.clone();
        self.last_check = Some(check);
        let capture = capture?;
        match (capture, self.snapshots.last_mut()) {
            (
                Capture::NotModified {
                    etag,
                    last_modified,
                    requisites,
                },
                Some(latest),
            ) => {
                latest.last_seen = at;
                if let Some(requisites) = requisites {
                    latest.requisites = Some(*requisites);
                }
                latest.etag = etag.or(latest.etag.take());
                latest.last_modified = last_modified.or(latest.last_modified.take());
                Some(Change::Unchanged)
            }
            (Capture::Sighting { etag, last_modified }, Some(latest)) => {
                latest.last_seen = at;
                latest.etag = etag;
                latest.last_modified = last_modified;
                Some(Change::Cosmetic)
            }
            // A 304 with nothing to compare against cannot happen: conditional headers are only
            // sent when a snapshot exists, and a sighting needs a snapshot to be the same as.
            // Record nothing rather than invent a capture.
            (Capture::NotModified { .. } | Capture::Sighting { .. }, None) => None,
            (Capture::Payload(snapshot), Some(latest)) if latest.sha256 == snapshot.sha256 => {
                if snapshot.warc.is_some()
                    && (snapshot.warc != latest.warc || snapshot.warc_record != latest.warc_record)
                {
                    // The record it named was damaged, and this capture stored the bytes afresh.
                    latest.warc = snapshot.warc;
                    latest.warc_record = snapshot.warc_record;
                    latest.object = None;
                }
                latest.last_seen = at;
                latest.etag = snapshot.etag;
                latest.last_modified = snapshot.last_modified;
                if snapshot.requisites.is_some() {
                    latest.requisites = snapshot.requisites;
                }
                Some(Change::Unchanged)
            }
            (Capture::Payload(snapshot), latest) => {
                let cosmetic = snapshot.text.as_ref().is_some_and(|t| t.cosmetic);
                let change = match latest {
                    None => Change::New,
                    Some(_) if cosmetic => Change::Cosmetic,
                    Some(_) => Change::Changed,
                };
                self.snapshots.push(*snapshot);
                Some(change)
            }
        }
    }
}

impl std::str::FromStr for Manifest {
    type Err = ParseFailure;

    /// Parses a manifest's text, as [`Manifest::load`] does with the file.
    fn from_str(text: &str) -> Result<Self, ParseFailure> {
        json::parse(text.as_bytes()).map(Self::from_parsed)
    }
}

/// Reads and parses `archive/manifest.json`, each link as a `T`; `None` if there is no file.
fn read<T: serde::de::DeserializeOwned + Send>(archive: &Path) -> Result<Option<json::Parsed<T>>, ManifestError> {
    let path = archive.join(MANIFEST_FILE);
    let Some(bytes) = ManifestBytes::open(&path)? else {
        return Ok(None);
    };
    json::parse(bytes.as_slice())
        .map(Some)
        .map_err(|failure| parse_error(path, failure))
}

/// The bytes of a manifest file for a command that only reads it: mapped into memory, so that
/// it is parsed where it lies instead of copied first (for a 269 MB manifest, the copy was a
/// third of `status`'s time).
#[derive(Debug)]
pub enum ManifestBytes {
    /// A regular file, mapped.
    Mapped(memmap2::Mmap),
    /// An empty file, or anything else at that path, read.
    Read(Vec<u8>),
}

impl Default for ManifestBytes {
    fn default() -> Self {
        ManifestBytes::Read(Vec::new())
    }
}

impl ManifestBytes {
    /// The manifest at `path`; `None` if there is no file.
    fn open(path: &Path) -> Result<Option<Self>, ManifestError> {
        let error = |source| ManifestError::Read {
            path: path.to_owned(),
            source,
        };
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(error(e)),
        };
        let metadata = file.metadata().map_err(error)?;
        if !metadata.is_file() || metadata.len() == 0 {
            // Nothing to map: read it, for the same bytes or the same error as ever.
            return read_bytes(path).map(|bytes| bytes.map(ManifestBytes::Read));
        }
        // SAFETY: the map must not change while it is borrowed. linkkeep never writes a
        // manifest in place: it writes a new file and renames it over the old one, whose inode
        // the map keeps. Another program rewriting manifest.json in place at this moment could
        // change what is parsed, or end the process with SIGBUS if it truncates the file; the
        // map lives only while a read-only command parses (and `status` renders) it.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(error)?;
        Ok(Some(ManifestBytes::Mapped(map)))
    }

    /// The file's bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            ManifestBytes::Mapped(map) => map,
            ManifestBytes::Read(bytes) => bytes,
        }
    }
}

/// The bytes of the manifest at `path`; `None` if there is no file.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, ManifestError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ManifestError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The error for a manifest at `path` that did not parse.
fn parse_error(path: PathBuf, failure: ParseFailure) -> ManifestError {
    match failure {
        ParseFailure::Invalid { line, column, message } => ManifestError::Parse {
            path,
            line,
            column,
            message,
        },
        ParseFailure::NewerSchema(found) => ManifestError::NewerSchema { path, found },
    }
}

/// Writes `archive/manifest.json` atomically: a temporary file beside it, fsync, rename,
/// fsync of the directory. A reader (or a crash) sees the old manifest or the new one.
fn save_atomically(
    archive: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), ManifestError> {
    let path = archive.join(MANIFEST_FILE);
    let tmp = archive.join(format!(".{MANIFEST_FILE}.tmp"));
    let save = || -> std::io::Result<()> {
        let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        write(&mut file)?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(archive)?.sync_all()
    };
    save().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        ManifestError::Write {
            path: path.clone(),
            source,
        }
    })
}

/// The manifest as `status` reads it, borrowed from the file's text. Each link's last check
/// and latest snapshot stay the JSON they are in the file, with only the fields `status`
/// shows read from them; older snapshots are counted. At 100,000 links this reads the file in
/// half the time a whole [`Manifest`] takes (issue #7).
#[derive(Debug, Default)]
pub struct ManifestSummary<'a> {
    /// When the manifest was last written.
    pub updated_at: Option<String>,
    /// Every link, by id, in the manifest's order.
    pub links: IndexMap<String, LinkSummary<'a>>,
}

/// A link of a [`ManifestSummary`].
#[derive(Debug, Deserialize)]
pub struct LinkSummary<'a> {
    /// The URL as written in links.json when last archived.
    #[serde(borrow)]
    pub url: Cow<'a, str>,
    /// The latest attempt, successful or not.
    #[serde(borrow, default)]
    pub last_check: Option<Json<'a, CheckFields<'a>>>,
    /// How many snapshots there are, and the latest.
    #[serde(borrow, default)]
    pub snapshots: LatestSnapshot<'a>,
}

/// A JSON object of the manifest as it is in the file, with the fields `T` read from it.
#[derive(Debug)]
pub struct Json<'a, T> {
    /// The object's text.
    pub text: &'a RawValue,
    /// What is read from it.
    pub fields: T,
}

/// What `status` reads from a [`LastCheck`].
#[derive(Debug, Deserialize)]
pub struct CheckFields<'a> {
    /// When (RFC 3339 UTC).
    #[serde(borrow)]
    pub at: Cow<'a, str>,
    /// How it fared.
    pub outcome: Outcome,
    /// Why it failed, when it did.
    #[serde(default)]
    pub error: Option<String>,
}

/// What `status` reads from a [`Snapshot`].
#[derive(Debug, Deserialize)]
pub struct SnapshotFields<'a> {
    /// SHA-256 of the payload.
    #[serde(borrow)]
    pub sha256: Cow<'a, str>,
    /// The HTML `<title>` or PDF document title, when found.
    #[serde(default)]
    pub title: Option<String>,
    /// SHA-256 of its main text, for HTML and PDF captures (issue #14).
    #[serde(borrow, default)]
    pub text_sha256: Option<Cow<'a, str>>,
    /// Its text's similarity (0–1) to the link's first snapshot, the cited version.
    #[serde(default)]
    pub similarity_to_first: Option<f64>,
}

/// A link's snapshot count and its latest snapshot. The older snapshots are checked to be
/// JSON but not read.
#[derive(Debug, Default)]
pub struct LatestSnapshot<'a> {
    /// How many snapshots the link has.
    pub count: usize,
    /// The last of them, if any.
    pub latest: Option<Json<'a, SnapshotFields<'a>>>,
    /// The public copies recorded in any of them (`archive --submit`), refusals included.
    pub public_copies: Vec<crate::public_archive::PublicCopy>,
}

/// The public copies of a snapshot, read from its JSON only when it has any: most have none,
/// and reading each snapshot whole would cost `status` what skipping them saves.
fn public_copies_of<E: serde::de::Error>(raw: &RawValue) -> Result<Vec<crate::public_archive::PublicCopy>, E> {
    #[derive(Deserialize)]
    struct Copies {
        #[serde(default)]
        public_copies: Vec<crate::public_archive::PublicCopy>,
    }
    if memchr::memmem::find(raw.get().as_bytes(), b"\"public_copies\"").is_none() {
        return Ok(Vec::new());
    }
    serde_json::from_str::<Copies>(raw.get())
        .map(|c| c.public_copies)
        .map_err(|e| {
            E::custom(format_args!(
                "in public_copies: {}",
                json::strip_position(&e.to_string())
            ))
        })
}

impl<'a> ManifestSummary<'a> {
    /// Opens `archive/manifest.json` into `sources` and reads its summary from there, with the
    /// finished links of runs not yet compacted laid over it from their journals, as
    /// [`Manifest::load`] does; a missing file is an empty archive.
    pub fn load(archive: &Path, sources: &'a mut SummarySources) -> Result<Self, ManifestError> {
        let path = archive.join(MANIFEST_FILE);
        if let Some(opened) = ManifestBytes::open(&path)? {
            sources.manifest = opened;
        }
        for journal in crate::journal::read_all(archive)? {
            for link in journal.links {
                let text = serde_json::to_string(&link.entry).map_err(|e| ManifestError::Read {
                    path: journal.path.clone(),
                    source: e.into(),
                })?;
                sources
                    .journal
                    .push((link.id, link.renamed_from, text, journal.path.clone()));
            }
        }
        let sources: &'a SummarySources = sources;
        let mut summary = Self::default();
        if !sources.manifest.as_slice().is_empty() || path.exists() {
            let text = json::utf8(sources.manifest.as_slice()).map_err(|failure| parse_error(path.clone(), failure))?;
            let parsed = json::parse_text::<LinkSummary>(text).map_err(|failure| parse_error(path, failure))?;
            summary.updated_at = parsed.updated_at;
            summary.links = parsed.links;
        }
        for (id, renamed_from, text, journal) in &sources.journal {
            if let Some(old) = renamed_from {
                summary.links.shift_remove(old);
            }
            let entry = serde_json::from_str(text).map_err(|e| ManifestError::Parse {
                path: journal.clone(),
                line: e.line(),
                column: e.column(),
                message: json::strip_position(&e.to_string()),
            })?;
            summary.links.insert(id.clone(), entry);
        }
        Ok(summary)
    }
}

/// What a [`ManifestSummary`] borrows from: the manifest's bytes and the entries of the links
/// that journals hold (id, the id it was renamed from, the entry's JSON, the journal).
#[derive(Debug, Default)]
pub struct SummarySources {
    manifest: ManifestBytes,
    journal: Vec<(String, Option<String>, String, PathBuf)>,
}

/// Names the part of a link entry that [`Json`] reads, for errors.
pub trait Part {
    /// E.g. "the last check".
    const NAME: &'static str;
}

impl Part for CheckFields<'_> {
    const NAME: &'static str = "the last check";
}

impl Part for SnapshotFields<'_> {
    const NAME: &'static str = "the latest snapshot";
}

impl<'de: 'a, 'a, T: Deserialize<'a> + Part> Deserialize<'de> for Json<'a, T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <&'a RawValue>::deserialize(deserializer)?;
        Self::read(text)
    }
}

impl<'a, T: Deserialize<'a> + Part> Json<'a, T> {
    /// The fields of `text`; an error names the part.
    fn read<E: serde::de::Error>(text: &'a RawValue) -> Result<Self, E> {
        let fields = serde_json::from_str(text.get())
            .map_err(|e| E::custom(format_args!("in {}: {}", T::NAME, json::strip_position(&e.to_string()))))?;
        Ok(Self { text, fields })
    }
}

impl<T> Serialize for Json<'_, T> {
    /// As it is in the manifest.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LatestSnapshot<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SnapshotsVisitor<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> serde::de::Visitor<'de> for SnapshotsVisitor<'a> {
            type Value = LatestSnapshot<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of snapshots")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<LatestSnapshot<'a>, A::Error> {
                let mut count = 0;
                let mut last: Option<&'a RawValue> = None;
                let mut public_copies = Vec::new();
                while let Some(raw) = seq.next_element::<&'a RawValue>()? {
                    count += 1;
                    public_copies.extend(public_copies_of(raw)?);
                    last = Some(raw);
                }
                let latest = last.map(Json::read).transpose()?;
                Ok(LatestSnapshot {
                    count,
                    latest,
                    public_copies,
                })
            }
        }

        deserializer.deserialize_seq(SnapshotsVisitor(std::marker::PhantomData))
    }
}

/// The snapshot whose time span `[first_seen, last_seen]` is nearest `at`; ties go to the later.
pub fn nearest(snapshots: &[Snapshot], at: DateTime<Utc>) -> Option<&Snapshot> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc());
    snapshots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let first = parse(&s.first_seen)?;
            let last = parse(&s.last_seen).unwrap_or(first);
            let distance = if at < first {
                first - at
            } else if at > last {
                at - last
            } else {
                chrono::TimeDelta::zero()
            };
            Some((distance, std::cmp::Reverse(i), s))
        })
        .min_by_key(|(distance, later, _)| (*distance, *later))
        .map(|(_, _, s)| s)
}

/// Parses the value of a TIME flag (`get --at`, `diff --from`), if given, as [`parse_time`]
/// does; the error names the flag.
pub fn parse_time_flag(flag: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    value
        .map(|t| parse_time(t).map_err(|e| format!("invalid value for {flag}: {e}")))
        .transpose()
}

/// Parses a time as users write it (`get --at`, replay URLs): RFC 3339, `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` (UTC) or a Wayback-style
/// timestamp of 4 to 14 digits (`20180205`, `20180205120000`).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        return Ok(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    if (4..=14).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        // Pad like the Wayback Machine: missing month and day are 01, missing time is 00.
        let padding = "00000101000000";
        let full = format!("{text}{}", &padding[text.len()..]);
        if let Ok(t) = NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S") {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "{text:?} is not a time (use RFC 3339, YYYY-MM-DD or a 14-digit timestamp)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(at: &str) -> LastCheck {
        LastCheck {
            at: at.into(),
            outcome: Outcome::Ok,
            http_status: Some(200),
            final_url: Some("http://a.example/".into()),
            error: None,
            run: "r".into(),
            extra: Map::new(),
        }
    }

    fn snapshot(sha: char, at: &str) -> Snapshot {
        let sha256 = sha.to_string().repeat(64);
        Snapshot {
            object: None,
            sha256,
            size: 1,
            content_type: None,
            first_seen: at.into(),
            last_seen: at.into(),
            http_status: 200,
            url: Some("http://a.example/".into()),
            final_url: "http://a.example/".into(),
            etag: None,
            last_modified: None,
            title: None,
            warc: None,
            warc_record: None,
            run: "r".into(),
            text: None,
            public_copies: Vec::new(),
            requisites: None,
            extra: Map::new(),
        }
    }

    #[test]
    fn snapshots_are_distinct_captures() {
        let mut m = Manifest::new();
        let url = "http://a.example/";
        let new = m.record(
            "a",
            url,
            check("t1"),
            Some(Capture::Payload(Box::new(snapshot('a', "t1")))),
        );
        assert_eq!(new, Some(Change::New));
        let same = m.record(
            "a",
            url,
            check("t2"),
            Some(Capture::Payload(Box::new(snapshot('a', "t2")))),
        );
        assert_eq!(same, Some(Change::Unchanged));
        let not_modified = Capture::NotModified {
            etag: Some("\"v1\"".into()),
            last_modified: None,
            requisites: None,
        };
        assert_eq!(
            m.record("a", url, check("t3"), Some(not_modified)),
            Some(Change::Unchanged)
        );
        let changed = m.record(
            "a",
            url,
            check("t4"),
            Some(Capture::Payload(Box::new(snapshot('b', "t4")))),
        );
        assert_eq!(changed, Some(Change::Changed));
        let snaps = &m.links["a"].snapshots;
        assert_eq!(snaps.len(), 2);
        assert_eq!(
            (snaps[0].first_seen.as_str(), snaps[0].last_seen.as_str()),
            ("t1", "t3")
        );
        assert_eq!(snaps[0].etag.as_deref(), Some("\"v1\""));
        assert_eq!(snaps[1].first_seen, "t4");
        // A failure updates the last check and nothing else.
        let mut failed = check("t5");
        failed.outcome = Outcome::NetworkError;
        assert_eq!(m.record("a", url, failed, None), None);
        assert_eq!(m.links["a"].snapshots.len(), 2);
        assert_eq!(m.links["a"].last_check.as_ref().unwrap().outcome, Outcome::NetworkError);
    }

    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"{"schema_version": 1, "owner": "lab", "links": {"a": {"url": "http://a.example/",
            "tags": ["x"], "snapshots": [], "last_check": {"at": "t", "outcome": "ok", "http_status": 200,
            "final_url": null, "error": null, "run": "r", "via": "cron"}}}}"#;
        std::fs::write(dir.path().join(MANIFEST_FILE), text).unwrap();
        let m = Manifest::load(dir.path()).unwrap();
        m.save(dir.path()).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(back["owner"], "lab");
        assert_eq!(back["links"]["a"]["tags"], serde_json::json!(["x"]));
        assert_eq!(back["links"]["a"]["last_check"]["via"], "cron");
    }

    /// Issue #15 (found by fuzzing): a 0.1.0 snapshot, its record nested, that also has some
    /// of the flat record fields, is written back readable, the nested record kept.
    #[test]
    fn a_nested_record_beside_stray_flat_fields_is_written_once() {
        let text = r#"{"schema_version": 1, "links": {"a": {"url": "http://a.example/", "snapshots": [
            {"sha256": "aa", "size": 1, "content_type": null, "first_seen": "t", "last_seen": "t",
             "http_status": 200, "final_url": "http://a.example/", "etag": null, "last_modified": null,
             "title": null, "run": "r", "payload_digest": "sha256:STRAY", "offset": 9,
             "warc_record": {"offset": 1, "length": 2, "record_id": "<urn:x>", "date": "d",
                             "payload_digest": "sha256:NESTED"}}]}}}"#;
        let manifest: Manifest = text.parse().unwrap();
        let mut written = Vec::new();
        manifest.write(&mut written).unwrap();
        let again: Manifest = std::str::from_utf8(&written).unwrap().parse().unwrap();
        assert_eq!(again, manifest);
        let record = again.links["a"].snapshots[0].warc_record.clone().unwrap();
        assert_eq!((record.offset, record.payload_digest.as_str()), (1, "sha256:NESTED"));
    }

    #[test]
    fn a_summary_counts_the_snapshots_and_keeps_the_latest_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = |first: &str| serde_json::to_value(snap(first, first)).unwrap();
        let mut broken_older = snapshot("t1");
        broken_older["size"] = "not a number".into();
        let check = serde_json::to_value(check("t4")).unwrap();
        let entry = serde_json::json!({"url": "http://a.example/", "last_check": check,
            "snapshots": [broken_older, snapshot("t2"), snapshot("t3")]});
        let text = serde_json::json!({"schema_version": 1, "links": {"a": entry, "b": {"url": "http://b.example/"}}});
        std::fs::write(dir.path().join(MANIFEST_FILE), text.to_string()).unwrap();

        let mut bytes = SummarySources::default();
        let summary = ManifestSummary::load(dir.path(), &mut bytes).unwrap();
        let a = &summary.links["a"];
        assert_eq!(a.snapshots.count, 3);
        let latest = a.snapshots.latest.as_ref().unwrap();
        assert_eq!(latest.fields.title.as_deref(), Some("t3"));
        assert_eq!(latest.fields.sha256, "a".repeat(64));
        let as_written: Value = serde_json::from_str(latest.text.get()).unwrap();
        assert_eq!(as_written, snapshot("t3"));
        let last_check = a.last_check.as_ref().unwrap();
        assert_eq!((last_check.fields.outcome, &*last_check.fields.at), (Outcome::Ok, "t4"));
        assert_eq!(serde_json::to_value(last_check).unwrap(), check);
        let b = &summary.links["b"];
        assert_eq!(
            (b.snapshots.count, b.snapshots.latest.is_none(), b.last_check.is_none()),
            (0, true, true)
        );

        // What status shows must read: an error names the file and the part.
        for (part, field, value, expected) in [
            (
                "snapshots",
                "sha256",
                serde_json::json!(7),
                "in the latest snapshot: invalid type: integer `7`",
            ),
            (
                "last_check",
                "outcome",
                "lost".into(),
                "in the last check: unknown variant `lost`",
            ),
        ] {
            let mut broken = entry.clone();
            match part {
                "snapshots" => broken[part][2][field] = value,
                _ => broken[part][field] = value,
            }
            let text = serde_json::json!({"schema_version": 1, "links": {"a": broken}});
            std::fs::write(dir.path().join(MANIFEST_FILE), text.to_string()).unwrap();
            let message = ManifestSummary::load(dir.path(), &mut bytes).unwrap_err().to_string();
            assert!(message.contains("manifest.json is not a valid manifest"), "{message}");
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn a_corrupt_manifest_is_an_error_naming_the_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), "{\"schema_version\": 1,\n \"links\": [").unwrap();
        let message = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("manifest.json is not a valid manifest (line 2"),
            "{message}"
        );
        std::fs::write(dir.path().join(MANIFEST_FILE), r#"{"schema_version": 9, "links": {}}"#).unwrap();
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(ManifestError::NewerSchema { found: 9, .. })
        ));
    }

    #[test]
    fn read_only_loads_map_the_file_and_fail_like_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        assert!(ManifestBytes::open(&path).unwrap().is_none(), "no file, no manifest");
        let mut manifest = Manifest::new();
        manifest.record("a", "http://a.example/", check("t"), None);
        manifest.save(dir.path()).unwrap();
        let opened = ManifestBytes::open(&path).unwrap().unwrap();
        assert!(matches!(opened, ManifestBytes::Mapped(_)));
        assert_eq!(opened.as_slice(), std::fs::read(&path).unwrap());
        assert_eq!(Manifest::load(dir.path()).unwrap(), manifest);

        // An empty file is read (a map cannot be empty) and is not a manifest.
        std::fs::write(&path, "").unwrap();
        let message = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("is not a valid manifest (line 1, column 0)"),
            "{message}"
        );
        // A directory is an error naming it, for every reader.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let message = format!("{:#}", anyhow::Error::from(Manifest::load(dir.path()).unwrap_err()));
        assert!(
            message.contains("cannot read") && message.contains("manifest.json"),
            "{message}"
        );
        let mut bytes = SummarySources::default();
        assert!(matches!(
            ManifestSummary::load(dir.path(), &mut bytes),
            Err(ManifestError::Read { .. })
        ));
    }

    fn snap(first: &str, last: &str) -> Snapshot {
        let mut s: Snapshot = serde_json::from_value(serde_json::json!({
            "sha256": "a".repeat(64), "size": 1, "content_type": null, "first_seen": first,
            "last_seen": last, "http_status": 200, "final_url": "http://a.example/", "etag": null,
            "last_modified": null, "title": null, "object": "x", "run": "r"}))
        .unwrap();
        s.title = Some(first.to_owned());
        s
    }

    #[test]
    fn nearest_capture_by_time_span() {
        let snaps = [
            snap("2026-01-01T00:00:00Z", "2026-01-10T00:00:00Z"),
            snap("2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ];
        let pick = |t: &str| nearest(&snaps, parse_time(t).unwrap()).unwrap().first_seen.clone();
        assert_eq!(pick("2026-01-05"), "2026-01-01T00:00:00Z");
        assert_eq!(pick("2026-01-12"), "2026-01-01T00:00:00Z");
        assert_eq!(pick("2026-01-30"), "2026-02-01T00:00:00Z");
        assert_eq!(pick("20270101"), "2026-02-01T00:00:00Z");
        assert_eq!(pick("2025"), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn times_in_every_accepted_form() {
        let expected = "2018-02-05T12:30:00Z";
        for text in [
            "2018-02-05T12:30:00Z",
            "2018-02-05T13:30:00+01:00",
            "2018-02-05T12:30:00",
            "20180205123000",
        ] {
            assert_eq!(crate::report::timestamp(parse_time(text).unwrap()), expected, "{text}");
        }
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("20181345").is_err());
    }
}
