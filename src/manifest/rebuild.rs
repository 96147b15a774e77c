//! A manifest rebuilt from what an archive keeps besides it, for `linkkeep repair` when
//! `manifest.json` is missing or does not parse.
//!
//! The run reports (`runs/<run-id>.json`) say what each run did to each link: outcome, status,
//! URLs, payload hash, size and content type. The WARC records say when (their `WARC-Date` is
//! the very time an archive run wrote into `last_check.at`, `first_seen` and `last_seen`), with
//! which validators (`ETag`, `Last-Modified`), and where each capture lies. Runs are replayed
//! oldest first through [`Manifest::record`], the rule `archive` itself records by, so that
//! snapshots split and merge exactly as they did.
//!
//! A new snapshot points at the record that holds its payload (a revisit's, the record it
//! refers to) only once that record, read back through [`Payloads`] with its
//! `Content-Encoding` removed, gives the payload's `sha256` and `size`; it names a 0.1.0
//! object only where that file is there.
//!
//! What cannot come back exactly is said, field by field, in [`Rebuilt::inexact`]; what cannot
//! come back at all, in [`Rebuilt::unrecovered`].

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Map;

use super::{Capture, LastCheck, LinkEntry, Manifest, Snapshot, WarcRecordRef};
use crate::outcome::{LinkResult, Outcome};
use crate::report::Report;
use crate::store::{digest_bytes, is_sha256_hex, object_rel_path};
use crate::warc::index::{IndexedRecord, WarcIndex};
use crate::warc::run::WARC_DIR;
use crate::warc::{PROFILE_SERVER_NOT_MODIFIED, sha256_label};

/// A field of the rebuilt manifest that is not what the archive run had written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inexact {
    /// The link's id.
    pub link: String,
    /// The run whose record of the link it is.
    pub run: String,
    /// The field, e.g. `last_check.at` or `snapshots[1].first_seen`.
    pub field: String,
    /// Where its value came from instead, or why it is missing.
    pub how: String,
}

/// The outcome of [`rebuild`].
#[derive(Debug, Clone, Default)]
pub struct Rebuilt {
    /// The manifest, its `updated_at` unset.
    pub manifest: Manifest,
    /// Fields of the rebuilt manifest that are approximations or gaps, one entry each (a field
    /// a later run set exactly is not listed).
    pub inexact: Vec<Inexact>,
    /// What the reports and WARC files held that could not be put back, one line each.
    pub unrecovered: Vec<String>,
    /// How many run reports were replayed.
    pub runs: usize,
}

/// A payload read back from where a rebuilt snapshot points, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    /// SHA-256 of the decoded payload, lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its title, when it has one.
    pub title: Option<String>,
}

/// Where a rebuild reads payloads back: the archive (`repair`), or a stand-in in tests.
pub trait Payloads {
    /// Reads `snapshot`'s payload from where it points, as [`crate::payload::open`] does (its
    /// object while it names one, else its record), whatever its `sha256` and `size` say; an
    /// error says why it cannot.
    fn read(&mut self, snapshot: &Snapshot) -> Result<ReadBack, String>;

    /// Whether the 0.1.0 object file of the payload with SHA-256 `sha256` is there.
    fn has_object(&mut self, sha256: &str) -> bool;
}

/// A run report, and when its file was last written.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The report as `runs/<run-id>.json` has it.
    pub report: Report,
    /// The file's modification time: the report is written as its run ends, so this orders
    /// runs that began and ended within the same second (their times are whole seconds).
    pub written: Option<SystemTime>,
}

/// Rebuilds a manifest from archive runs' `reports` (any order) and the archive's indexed WARC
/// files. Each new snapshot points at the record holding its payload, checked by reading the
/// payload back through `payloads` (its `sha256` and `size` are of the payload decoded, as
/// the reports have them), and names its 0.1.0 object only where that file is there.
pub fn rebuild(reports: &[RunReport], warcs: &[WarcIndex], mut payloads: impl Payloads) -> Rebuilt {
    let mut runs: Vec<&RunReport> = reports.iter().filter(|r| r.report.command == "archive").collect();
    // Runs take turns on the archive lock, so they end in the order they started.
    runs.sort_by(|a, b| {
        let key = |r: &RunReport| (r.report.finished_at.clone(), r.written, r.report.run.clone());
        key(a).cmp(&key(b))
    });
    let runs: Vec<&Report> = runs.into_iter().map(|r| &r.report).collect();
    let originals: HashMap<&str, (&WarcIndex, &IndexedRecord)> = warcs
        .iter()
        .flat_map(|w| w.records.iter().map(move |r| (w, r)))
        .filter(|(_, r)| !r.is_revisit())
        .map(|(w, r)| (r.info.record_id.as_str(), (w, r)))
        .collect();
    let mut out = Rebuilt {
        manifest: Manifest::new(),
        runs: runs.len(),
        ..Rebuilt::default()
    };
    let mut used_files: HashSet<&str> = HashSet::new();
    let mut gaps = IndexMap::new();
    for report in runs {
        let files: Vec<&WarcIndex> = warcs.iter().filter(|w| belongs_to(&w.filename, &report.run)).collect();
        used_files.extend(files.iter().map(|w| w.filename.as_str()));
        let mut run = RunReplay {
            report,
            captures: Captures::new(&files),
            originals: &originals,
            out: &mut out,
            gaps: &mut gaps,
        };
        if files.is_empty() {
            run.out.unrecovered.push(format!(
                "run {}: no WARC file {WARC_DIR}/{}.warc.gz; its captures are rebuilt from its report alone",
                report.run, report.run
            ));
        }
        for result in &report.results {
            run.replay(result, &mut payloads);
            run.restore_public_copy(result);
        }
    }
    for warc in warcs.iter().filter(|w| !used_files.contains(w.filename.as_str())) {
        out.unrecovered.push(format!(
            "{WARC_DIR}/{}: no run report names it, so its {} capture(s) are in the index but not in the manifest",
            warc.filename,
            warc.records.len()
        ));
    }
    out.inexact = gaps.into_values().collect();
    out
}

/// Whether WARC file `filename` is one of run `run`'s: `<run>.warc.gz` or `<run>-<n>.warc.gz`.
fn belongs_to(filename: &str, run: &str) -> bool {
    let stem = filename
        .strip_suffix(".warc.gz")
        .or_else(|| filename.strip_suffix(".warc"))
        .unwrap_or(filename);
    match stem.strip_prefix(run) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// The response and revisit records of one run's WARC files, each claimed by one link at most.
struct Captures<'a> {
    records: Vec<(&'a WarcIndex, &'a IndexedRecord)>,
    claimed: Vec<bool>,
}

/// A record chosen for a link, and how many others would have fit as well.
struct Found<'a> {
    warc: &'a WarcIndex,
    record: &'a IndexedRecord,
    alternatives: usize,
}

impl<'a> Captures<'a> {
    fn new(files: &[&'a WarcIndex]) -> Self {
        let records: Vec<_> = files
            .iter()
            .flat_map(|w| w.records.iter().map(move |r| (*w, r)))
            .collect();
        let claimed = vec![false; records.len()];
        Self { records, claimed }
    }

    /// Claims an unclaimed record of `url` with `status` that `fits`, preferring one whose
    /// payload digest is `digest`: the first in file order, or with `last` the last one.
    fn claim(
        &mut self,
        url: &str,
        status: u16,
        digest: Option<&str>,
        last: bool,
        fits: impl Fn(&IndexedRecord) -> bool,
    ) -> Option<Found<'a>> {
        let candidates: Vec<usize> = (0..self.records.len())
            .filter(|&i| !self.claimed[i])
            .filter(|&i| {
                let record = self.records[i].1;
                record.info.target_uri.as_deref() == Some(url)
                    && record.http.as_ref().is_some_and(|h| h.status == status)
                    && fits(record)
            })
            .collect();
        let same_digest = |&i: &usize| digest.is_some() && self.records[i].1.info.payload_digest.as_deref() == digest;
        let best: Vec<usize> = if candidates.iter().any(same_digest) {
            candidates.iter().copied().filter(same_digest).collect()
        } else {
            candidates
        };
        let &chosen = if last { best.last() } else { best.first() }?;
        self.claimed[chosen] = true;
        let (warc, record) = self.records[chosen];
        Some(Found {
            warc,
            record,
            alternatives: best.len() - 1,
        })
    }
}

/// One run's report being replayed into the manifest.
struct RunReplay<'a, 'o> {
    report: &'a Report,
    captures: Captures<'a>,
    originals: &'a HashMap<&'a str, (&'a WarcIndex, &'a IndexedRecord)>,
    out: &'o mut Rebuilt,
    /// For each (link, field) of the manifest so far, how it is inexact, if it is: a later run
    /// that sets the field exactly clears it, so only what the final manifest holds is listed.
    gaps: &'o mut IndexMap<(String, String), Inexact>,
}

/// How a field of the manifest was set by a replayed run.
enum Set<'s> {
    /// Exactly as the archive run set it.
    Exact,
    /// Otherwise, and how.
    Inexact(&'s str),
}

impl<'a> RunReplay<'a, '_> {
    /// Notes how `field` of link `link` was just set.
    fn set(&mut self, link: &str, field: &str, how: Set<'_>) {
        let key = (link.to_owned(), field.to_owned());
        match how {
            Set::Exact => {
                self.gaps.shift_remove(&key);
            }
            Set::Inexact(how) => {
                let gap = Inexact {
                    link: link.to_owned(),
                    run: self.report.run.clone(),
                    field: field.to_owned(),
                    how: how.to_owned(),
                };
                self.gaps.insert(key, gap);
            }
        }
    }

    fn lost(&mut self, link: &str, what: &str) {
        self.out
            .unrecovered
            .push(format!("run {}, link {link}: {what}", self.report.run));
    }

    /// Records what the run did to one link, as `archive` recorded it.
    fn replay(&mut self, result: &'a LinkResult, payloads: &mut impl Payloads) {
        let id = result.id.as_str();
        // A run gives every link of its list an entry, excluded ones included.
        self.out
            .manifest
            .links
            .entry(id.to_owned())
            .or_insert_with(|| LinkEntry {
                url: result.url.clone(),
                ..LinkEntry::default()
            });
        if result.outcome == Outcome::Excluded {
            return;
        }
        let final_url = result.final_url.clone().unwrap_or_else(|| result.url.clone());
        let status = result.http_status.unwrap_or_default();
        let check = |at: &str| LastCheck {
            at: at.to_owned(),
            outcome: result.outcome,
            http_status: result.http_status,
            final_url: result.final_url.clone(),
            error: result.error.clone(),
            run: self.report.run.clone(),
            extra: Map::new(),
        };
        let finished = self.report.finished_at.as_str();

        if result.outcome != Outcome::Ok {
            // After retries of the same status, the last response is the one the check ended on.
            let error_response = self.captures.claim(&final_url, status, None, true, |r| !r.is_revisit());
            let at = match error_response {
                Some(found) => {
                    let how = "the WARC-Date of the error response; the check ended a moment later";
                    self.set(id, "last_check.at", Set::Inexact(how));
                    found.record.info.date.as_str()
                }
                None => {
                    let how = "the run's finished_at: no WARC record shows when the check failed";
                    self.set(id, "last_check.at", Set::Inexact(how));
                    finished
                }
            };
            self.out.manifest.record(id, &result.url, check(at), None);
            return;
        }
        let latest = self.out.manifest.latest(id).map(|s| s.sha256.clone());
        let count = self.out.manifest.links[id].snapshots.len();

        if status == 304 {
            let revisit = self.captures.claim(&final_url, status, None, false, |r| {
                r.is_revisit() && r.profile.as_deref().is_none_or(|p| p == PROFILE_SERVER_NOT_MODIFIED)
            });
            let latest_field = |f: &str| format!("snapshots[{}].{f}", count.saturating_sub(1));
            let (at, capture) = match revisit {
                Some(found) => {
                    let head = found.record.http.as_ref();
                    let (etag, last_modified) = (
                        head.and_then(|h| h.header("etag")),
                        head.and_then(|h| h.header("last-modified")),
                    );
                    self.set(id, "last_check.at", Set::Exact);
                    if count > 0 {
                        self.set(id, &latest_field("last_seen"), Set::Exact);
                        // A 304 without a validator leaves the snapshot's as it was.
                        for (field, value) in [("etag", &etag), ("last_modified", &last_modified)] {
                            if value.is_some() {
                                self.set(id, &latest_field(field), Set::Exact);
                            }
                        }
                    }
                    (
                        found.record.info.date.as_str(),
                        Capture::NotModified {
                            etag,
                            last_modified,
                            requisites: result.requisites.clone().map(Box::new),
                        },
                    )
                }
                None => {
                    self.lost(id, "the revisit record of its 304 is missing");
                    let how = "the run's finished_at: the 304's WARC record is missing";
                    self.set(id, "last_check.at", Set::Inexact(how));
                    if count > 0 {
                        self.set(id, &latest_field("last_seen"), Set::Inexact(how));
                        for field in ["etag", "last_modified"] {
                            let how = "maybe stale: the 304's WARC record, which may have renewed it, is missing";
                            self.set(id, &latest_field(field), Set::Inexact(how));
                        }
                    }
                    let capture = Capture::NotModified {
                        etag: None,
                        last_modified: None,
                        requisites: result.requisites.clone().map(Box::new),
                    };
                    (finished, capture)
                }
            };
            self.record(result, check(at), capture);
            return;
        }

        // The record holding the capture's payload: its response, or the one a revisit refers
        // to (needed only when no earlier snapshot has these bytes, i.e. an earlier run's report
        // is missing).
        let digest = result
            .sha256
            .as_deref()
            .and_then(digest_bytes)
            .map(|d| sha256_label(&d));
        let found = self
            .captures
            .claim(&final_url, status, digest.as_deref(), false, |_| true);
        let payload = found.as_ref().and_then(|found| {
            if found.record.is_revisit() {
                found
                    .record
                    .refers_to
                    .as_deref()
                    .and_then(|id| self.originals.get(id))
                    .copied()
            } else {
                Some((found.warc, found.record))
            }
        });
        let mut snapshot = Snapshot {
            object: None,
            sha256: result.sha256.clone().unwrap_or_default(),
            size: result.size.unwrap_or_default(),
            content_type: result.content_type.clone(),
            first_seen: finished.to_owned(),
            last_seen: finished.to_owned(),
            http_status: status,
            url: Some(result.url.clone()),
            final_url,
            etag: None,
            last_modified: None,
            title: None,
            warc: payload.map(|(warc, _)| format!("{WARC_DIR}/{}", warc.filename)),
            warc_record: payload.map(|(_, original)| WarcRecordRef {
                offset: original.info.offset,
                length: original.info.length,
                record_id: original.info.record_id.clone(),
                date: original.info.date.clone(),
                payload_digest: original.info.payload_digest.clone().unwrap_or_default(),
            }),
            run: self.report.run.clone(),
            text: None,
            public_copies: Vec::new(),
            requisites: result.requisites.clone(),
            extra: Map::new(),
        };
        // A report without the payload's hash: the record says what it is, decoded.
        let mut read_back = None;
        if result.sha256.is_none() || result.size.is_none() {
            match snapshot.warc_record.is_some().then(|| payloads.read(&snapshot)) {
                Some(Ok(back)) => {
                    snapshot.sha256.clone_from(&back.sha256);
                    snapshot.size = back.size;
                    read_back = Some(Ok(back));
                }
                _ => {
                    self.lost(
                        id,
                        "the report has no sha256 or size for its capture, and no readable WARC record holds it",
                    );
                    self.set(id, "last_check.at", Set::Inexact("the run's finished_at"));
                    self.out.manifest.record(id, &result.url, check(finished), None);
                    return;
                }
            }
        }
        let new_snapshot = latest.as_deref() != Some(snapshot.sha256.as_str());
        // The snapshot this capture lands in: a new one, or the latest seen again.
        let index = if new_snapshot { count } else { count - 1 };
        let field = |f: &str| format!("snapshots[{index}].{f}");
        let seen = if new_snapshot {
            &["first_seen", "last_seen", "etag", "last_modified", "warc"][..]
        } else {
            &["last_seen", "etag", "last_modified"][..]
        };
        let Some(found) = found else {
            self.lost(id, "the WARC record of its capture is missing");
            let how = "the run's finished_at: the capture's WARC record is missing";
            self.set(id, "last_check.at", Set::Inexact(how));
            for name in seen {
                let how = match *name {
                    "first_seen" | "last_seen" => how,
                    _ => "unknown: the capture's WARC record is missing",
                };
                self.set(id, &field(name), Set::Inexact(how));
            }
            if new_snapshot {
                self.check_payload(id, index, &mut snapshot, read_back, payloads);
            }
            self.record(result, check(finished), Capture::Payload(Box::new(snapshot)));
            return;
        };
        self.set(id, "last_check.at", Set::Exact);
        for name in seen {
            self.set(id, &field(name), Set::Exact);
        }
        if found.alternatives > 0 {
            let how = format!(
                "one of {} captures of {} with status {status} in this run, which the report does not tell apart",
                found.alternatives + 1,
                snapshot.final_url
            );
            self.set(id, &field("warc"), Set::Inexact(&how));
        }
        let record = found.record;
        let head = record.http.as_ref();
        snapshot.first_seen = record.info.date.clone();
        snapshot.last_seen = record.info.date.clone();
        snapshot.etag = head.and_then(|h| h.header("etag"));
        snapshot.last_modified = head.and_then(|h| h.header("last-modified"));
        if new_snapshot && record.is_revisit() {
            let how = "the date of a revisit: the run that first captured these bytes left no report";
            self.set(id, &field("first_seen"), Set::Inexact(how));
            if payload.is_none() {
                let how = "none: the record the revisit refers to is missing";
                self.set(id, &field("warc"), Set::Inexact(how));
            }
        }
        if new_snapshot {
            self.check_payload(id, index, &mut snapshot, read_back, payloads);
        }
        let at = record.info.date.clone();
        self.record(result, check(&at), Capture::Payload(Box::new(snapshot)));
    }

    /// For a new snapshot: keeps its record only if the record decodes to the payload the
    /// report names, names its 0.1.0 object only if that file is there, and reads its title.
    /// `read_back` is the record's payload when it was read already.
    fn check_payload(
        &mut self,
        id: &str,
        index: usize,
        snapshot: &mut Snapshot,
        read_back: Option<Result<ReadBack, String>>,
        payloads: &mut impl Payloads,
    ) {
        let field = |f: &str| format!("snapshots[{index}].{f}");
        let holds = |back: &ReadBack, s: &Snapshot| back.sha256 == s.sha256 && back.size == s.size;
        let mut title = None;
        if let (Some(file), Some(record)) = (snapshot.warc.clone(), snapshot.warc_record.as_ref()) {
            let offset = record.offset;
            let why = match read_back.unwrap_or_else(|| payloads.read(snapshot)) {
                Ok(back) if holds(&back, snapshot) => {
                    title = Some(back.title);
                    None
                }
                Ok(back) => Some(format!(
                    "holds {} bytes with SHA-256 {}, not the {} bytes with SHA-256 {} of the report",
                    back.size, back.sha256, snapshot.size, snapshot.sha256
                )),
                Err(why) => Some(format!("cannot be read back ({why})")),
            };
            if let Some(why) = why {
                self.lost(
                    id,
                    &format!("the WARC record of its payload ({file} at offset {offset}) {why}"),
                );
                snapshot.warc = None;
                snapshot.warc_record = None;
                let how = "none: the record of the capture does not hold its payload";
                self.set(id, &field("warc"), Set::Inexact(how));
            }
        }
        if is_sha256_hex(&snapshot.sha256) && payloads.has_object(&snapshot.sha256) {
            snapshot.object = Some(object_rel_path(&snapshot.sha256));
            if title.is_none() {
                title = payloads
                    .read(snapshot)
                    .ok()
                    .filter(|back| holds(back, snapshot))
                    .map(|back| back.title);
            }
        }
        match title {
            Some(title) => {
                snapshot.title = title;
                self.set(id, &field("title"), Set::Exact);
            }
            None => self.set(
                id,
                &field("title"),
                Set::Inexact("none: the payload cannot be read back"),
            ),
        }
    }

    /// Puts back what the run's submission of `result`'s capture came to (`archive --submit`):
    /// the copy or refusal its report names goes to the snapshot with the capture's hash. A job
    /// a later run finished is in no report, and stays lost.
    fn restore_public_copy(&mut self, result: &LinkResult) {
        let (Some(copy), Some(sha256)) = (
            result.submission.as_ref().and_then(|s| s.recorded_copy()),
            result.sha256.clone(),
        ) else {
            return;
        };
        let Some(entry) = self.out.manifest.links.get_mut(&result.id) else {
            return;
        };
        let capture = crate::public_archive::save::Capture {
            link: result.id.clone(),
            url: result.url.clone(),
            sha256,
            // Unknown here: the latest snapshot with the hash is the one.
            first_seen: String::new(),
        };
        crate::public_archive::save::place_copy(&mut entry.snapshots, &capture, copy);
    }

    /// Records a check and capture, and says so when the report saw the change differently.
    fn record(&mut self, result: &LinkResult, check: LastCheck, capture: Capture) {
        let change = self.out.manifest.record(&result.id, &result.url, check, Some(capture));
        if result.change.is_some() && change != result.change {
            let name = |c: Option<crate::outcome::Change>| c.map_or("none", |c| c.as_str());
            let how = format!(
                "the report says {}, the rebuild found {}: an earlier run's report or records are missing",
                name(result.change),
                name(change)
            );
            self.set(&result.id, "snapshots", Set::Inexact(&how));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warc_files_of_a_run() {
        let run = "20260101T020304Z-ab23";
        assert!(belongs_to("20260101T020304Z-ab23.warc.gz", run));
        assert!(belongs_to("20260101T020304Z-ab23-2.warc.gz", run));
        assert!(belongs_to("20260101T020304Z-ab23.warc", run));
        assert!(!belongs_to("20260101T020304Z-ab234.warc.gz", run));
        assert!(!belongs_to("20260101T020304Z-ab23-x.warc.gz", run));
        assert!(!belongs_to("20260101T020304Z-ab23-.warc.gz", run));
    }

    /// Payloads as a test archive holds them: what the record at each offset decodes to, and
    /// the objects there are.
    #[derive(Default)]
    struct Fake {
        records: HashMap<u64, Result<ReadBack, String>>,
        objects: HashMap<String, ReadBack>,
    }

    fn back(sha256: &str, size: u64, title: Option<&str>) -> ReadBack {
        ReadBack {
            sha256: sha256.into(),
            size,
            title: title.map(str::to_owned),
        }
    }

    impl Fake {
        fn record(mut self, offset: u64, read: Result<ReadBack, String>) -> Self {
            self.records.insert(offset, read);
            self
        }

        fn object(mut self, sha256: &str, size: u64, title: Option<&str>) -> Self {
            self.objects.insert(sha256.into(), back(sha256, size, title));
            self
        }
    }

    impl Payloads for Fake {
        fn read(&mut self, snapshot: &Snapshot) -> Result<ReadBack, String> {
            if snapshot.object.is_some() {
                return self.objects.get(&snapshot.sha256).cloned().ok_or("no object".into());
            }
            let record = snapshot.warc_record.as_ref().ok_or("no record named")?;
            self.records
                .get(&record.offset)
                .cloned()
                .unwrap_or(Err("no record there".into()))
        }

        fn has_object(&mut self, sha256: &str) -> bool {
            self.objects.contains_key(sha256)
        }
    }

    const URL: &str = "http://a.example/doc";
    const OTHER: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
    const SHA: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";

    fn report(run: &str, finished_at: &str, status: u16, change: crate::outcome::Change) -> RunReport {
        let result = LinkResult {
            id: "doc".into(),
            url: URL.into(),
            outcome: Outcome::Ok,
            http_status: Some(status),
            final_url: Some(URL.into()),
            redirects: Vec::new(),
            attempts: 1,
            elapsed_ms: 1,
            content_type: Some("text/plain".into()),
            size: Some(5),
            sha256: Some(SHA.into()),
            change: Some(change),
            similarity: None,
            similarity_to_first: None,
            error: None,
            public_copy: None,
            submission: None,
            requisites: None,
        };
        let at = chrono::DateTime::parse_from_rfc3339(finished_at).unwrap().to_utc();
        let mut report = Report::new("archive", run.into(), at, at, vec![result]);
        report.finished_at = finished_at.into();
        RunReport { report, written: None }
    }

    /// A WARC file of `run` holding one response of [`URL`] dated `date`, with an ETag.
    fn warc(run: &str, date: &str) -> WarcIndex {
        let info = crate::warc::RecordInfo {
            offset: 100,
            length: 50,
            record_type: "response".into(),
            target_uri: Some(URL.into()),
            record_id: format!("<urn:uuid:{run}>"),
            date: date.into(),
            payload_digest: Some("sha256:X".into()),
            block_digest: None,
        };
        let http = crate::warc::index::HttpHead {
            status: 200,
            headers: vec![("ETag".into(), b"\"v2\"".to_vec())],
        };
        WarcIndex {
            filename: format!("{run}.warc.gz"),
            records: vec![IndexedRecord {
                info,
                content_type: Some(crate::warc::CONTENT_TYPE_HTTP_RESPONSE.into()),
                profile: None,
                refers_to: None,
                http: Some(http),
            }],
            whole_records: 3,
            problems: Vec::new(),
        }
    }

    #[test]
    fn a_capture_without_its_record_is_rebuilt_from_the_report_and_its_gaps_named() {
        use crate::outcome::Change;
        let reports = [report(
            "20260101T000000Z-aaaa",
            "2026-01-01T00:00:09Z",
            200,
            Change::New,
        )];
        let rebuilt = rebuild(&reports, &[], Fake::default().object(SHA, 5, Some("Doc")));
        let snapshot = &rebuilt.manifest.links["doc"].snapshots[0];
        assert_eq!((snapshot.sha256.as_str(), snapshot.size), (SHA, 5));
        assert_eq!(snapshot.object, Some(object_rel_path(SHA)), "the object is there");
        assert_eq!(snapshot.first_seen, "2026-01-01T00:00:09Z", "the run's finished_at");
        assert_eq!((&snapshot.warc, &snapshot.title), (&None, &Some("Doc".into())));
        let fields: Vec<&str> = rebuilt.inexact.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "last_check.at",
                "snapshots[0].first_seen",
                "snapshots[0].last_seen",
                "snapshots[0].etag",
                "snapshots[0].last_modified",
                "snapshots[0].warc"
            ]
        );
        assert_eq!(rebuilt.unrecovered.len(), 2, "{:?}", rebuilt.unrecovered);
        assert!(
            rebuilt.unrecovered[0].contains("no WARC file"),
            "{:?}",
            rebuilt.unrecovered
        );
        assert!(
            rebuilt.unrecovered[1].contains("link doc: the WARC record"),
            "{:?}",
            rebuilt.unrecovered
        );
    }

    #[test]
    fn a_later_exact_sighting_clears_what_it_sets_and_runs_replay_oldest_first() {
        use crate::outcome::Change;
        // Given newest first: the order comes from the reports, not from the slice.
        let reports = [
            report("20260102T000000Z-bbbb", "2026-01-02T00:00:09Z", 200, Change::Unchanged),
            report("20260101T000000Z-aaaa", "2026-01-01T00:00:09Z", 200, Change::New),
        ];
        let warcs = [warc("20260102T000000Z-bbbb", "2026-01-02T00:00:05Z")];
        let rebuilt = rebuild(&reports, &warcs, Fake::default());
        let entry = &rebuilt.manifest.links["doc"];
        assert_eq!(entry.snapshots.len(), 1);
        let snapshot = &entry.snapshots[0];
        assert_eq!(snapshot.first_seen, "2026-01-01T00:00:09Z");
        assert_eq!(snapshot.last_seen, "2026-01-02T00:00:05Z", "the second run's record");
        assert_eq!(snapshot.etag.as_deref(), Some("\"v2\""));
        assert_eq!(entry.last_check.as_ref().unwrap().at, "2026-01-02T00:00:05Z");
        let gaps: Vec<(&str, &str)> = rebuilt
            .inexact
            .iter()
            .map(|x| (x.field.as_str(), x.run.as_str()))
            .collect();
        assert_eq!(
            gaps,
            [
                ("snapshots[0].first_seen", "20260101T000000Z-aaaa"),
                ("snapshots[0].warc", "20260101T000000Z-aaaa"),
                ("snapshots[0].title", "20260101T000000Z-aaaa"),
            ],
            "last_seen, the validators and the last check were set exactly by the second run"
        );
    }

    /// Issue #13: the record is the payload's copy. A snapshot points at the record holding
    /// its payload when the record decodes to the report's hash and size (its payload digest
    /// is of the body as received, here a gzip body's); `object` is named only where the file
    /// is there.
    #[test]
    fn a_rebuilt_snapshot_points_at_the_record_that_decodes_to_its_payload() {
        use crate::outcome::Change;
        let run = "20260101T000000Z-aaaa";
        let reports = [report(run, "2026-01-01T00:00:09Z", 200, Change::New)];
        let warcs = [warc(run, "2026-01-01T00:00:05Z")];
        for with_object in [false, true] {
            let mut payloads = Fake::default().record(100, Ok(back(SHA, 5, Some("From the record"))));
            if with_object {
                payloads = payloads.object(SHA, 5, Some("From the object"));
            }
            let rebuilt = rebuild(&reports, &warcs, payloads);
            let snapshot = &rebuilt.manifest.links["doc"].snapshots[0];
            assert_eq!(snapshot.warc.as_deref(), Some("warc/20260101T000000Z-aaaa.warc.gz"));
            let record = snapshot.warc_record.as_ref().unwrap();
            assert_eq!((record.offset, record.length), (100, 50));
            assert_eq!(record.payload_digest, "sha256:X", "the record's digest, as written");
            assert_eq!((snapshot.sha256.as_str(), snapshot.size), (SHA, 5), "decoded");
            assert_eq!(snapshot.title.as_deref(), Some("From the record"));
            assert_eq!(snapshot.object.is_some(), with_object);
            assert!(rebuilt.inexact.is_empty(), "{:?}", rebuilt.inexact);
            assert!(rebuilt.unrecovered.is_empty(), "{:?}", rebuilt.unrecovered);
        }
    }

    #[test]
    fn a_record_that_does_not_decode_to_the_payload_is_not_pointed_at() {
        use crate::outcome::Change;
        let run = "20260101T000000Z-aaaa";
        let reports = [report(run, "2026-01-01T00:00:09Z", 200, Change::New)];
        let warcs = [warc(run, "2026-01-01T00:00:05Z")];
        for (read, why) in [
            (Ok(back(OTHER, 7, None)), format!("holds 7 bytes with SHA-256 {OTHER}")),
            (
                Err("cut short".to_owned()),
                "cannot be read back (cut short)".to_owned(),
            ),
        ] {
            let payloads = Fake::default().record(100, read).object(SHA, 5, Some("Doc"));
            let rebuilt = rebuild(&reports, &warcs, payloads);
            let snapshot = &rebuilt.manifest.links["doc"].snapshots[0];
            assert_eq!((&snapshot.warc, &snapshot.warc_record), (&None, &None));
            assert_eq!(snapshot.object, Some(object_rel_path(SHA)), "the object still holds it");
            assert_eq!(snapshot.title.as_deref(), Some("Doc"), "read from the object");
            assert_eq!(
                snapshot.first_seen, "2026-01-01T00:00:05Z",
                "the record's date still counts"
            );
            let gaps: Vec<&str> = rebuilt.inexact.iter().map(|x| x.field.as_str()).collect();
            assert_eq!(gaps, ["snapshots[0].warc"]);
            assert_eq!(rebuilt.unrecovered.len(), 1, "{:?}", rebuilt.unrecovered);
            assert!(rebuilt.unrecovered[0].contains(&why), "{:?}", rebuilt.unrecovered);
        }
    }

    #[test]
    fn a_report_without_the_hash_takes_it_from_the_record_decoded() {
        use crate::outcome::Change;
        let run = "20260101T000000Z-aaaa";
        let mut reports = [report(run, "2026-01-01T00:00:09Z", 200, Change::New)];
        reports[0].report.results[0].sha256 = None;
        reports[0].report.results[0].size = None;
        let warcs = [warc(run, "2026-01-01T00:00:05Z")];
        let rebuilt = rebuild(&reports, &warcs, Fake::default().record(100, Ok(back(SHA, 5, None))));
        let snapshot = &rebuilt.manifest.links["doc"].snapshots[0];
        assert_eq!((snapshot.sha256.as_str(), snapshot.size), (SHA, 5));
        assert_eq!(snapshot.warc_record.as_ref().map(|r| r.offset), Some(100));
        assert!(rebuilt.unrecovered.is_empty(), "{:?}", rebuilt.unrecovered);

        // With no readable record either, the capture is lost as before.
        let rebuilt = rebuild(&reports, &warcs, Fake::default());
        assert!(rebuilt.manifest.links["doc"].snapshots.is_empty());
        assert!(
            rebuilt.unrecovered[0].contains("no sha256 or size"),
            "{:?}",
            rebuilt.unrecovered
        );
    }
}
