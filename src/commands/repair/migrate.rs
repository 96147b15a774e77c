//! `repair --migrate`: moves an archive of 0.1.0 to the layout where a WARC record is the only
//! copy of each payload. 0.1.0 kept every payload twice: decoded in `objects/sha256/…`, named
//! by the snapshot's `object`, and as received in a run's WARC record.
//!
//! For each snapshot that names an object, the payload must be in a WARC record before the
//! object may go, and no payload's bytes are rewritten on the way:
//!
//! 1. Its own record (`warc`, `offset`, `length`), if it decodes to the snapshot's `sha256` and
//!    `size` ([`payload::open`] with `object` cleared): the snapshot just stops naming the
//!    object.
//! 2. Else another record already in the archive that holds the same payload (one a snapshot
//!    of the same bytes points at, or a response or resource record whose payload digest is the
//!    payload's SHA-256, such as one an interrupted migration wrote): the snapshot points at it.
//! 3. Else the object's bytes, checked against the snapshot's hash first, go into a new WARC
//!    file of the migration, `warc/<run-id>.warc.gz`: a warcinfo record, then one `resource`
//!    record per payload (`WARC-Target-URI` the snapshot's `final_url`, `Content-Type` its
//!    content type, dated when it was first seen). The file is fsynced and each record read
//!    back before anything points at it.
//!
//! Then, in this order, so that a crash at any point leaves an archive that reads: the new
//! records' lines are merged into `index.cdxj`; the manifest is saved atomically (fsynced); and
//! only then are the object files removed whose payload a record now holds for every snapshot
//! of it, and the `objects/` tree once it is empty. An object no snapshot names is left for
//! `linkkeep gc`; one whose payload cannot be moved stays, with its snapshot, and is a problem.
//!
//! Run again, a migration finds nothing to do; after an interrupted one, it finds the records
//! that run wrote (step 2) instead of writing them twice.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::archive::INDEX_FILE;
use crate::journal;
use crate::manifest::{Manifest, Snapshot, WarcRecordRef};
use crate::payload;
use crate::report::{new_run_id, timestamp};
use crate::store::{OBJECTS_DIR, Store, digest_bytes, object_rel_path};
use crate::warc::index::{WarcIndex, index_warc};
use crate::warc::run::WARC_DIR;
use crate::warc::{
    CONTENT_TYPE_WARC_FIELDS, RecordSpec, RecordType, merge_cdxj, sha256_label, warc_date, warcinfo_fields,
    write_record,
};

/// The `Content-Type` of a resource record whose snapshot recorded none.
const UNKNOWN_CONTENT_TYPE: &str = "application/octet-stream";

/// What the migration did, or with `--dry-run` would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MigrateStep {
    /// Snapshots that named a 0.1.0 object when the migration started.
    pub snapshots: usize,
    /// What became of each of them, in manifest order.
    pub moved: Vec<Moved>,
    /// The WARC file the migration wrote (or would write) for payloads no record held,
    /// relative to the archive; null when none was needed.
    pub warc_file: Option<String>,
    /// Resource records written into it: one per distinct payload.
    pub records_written: usize,
    /// Lines added to `index.cdxj` for them.
    pub index_lines_added: usize,
    /// Object files removed (or that would be), relative to the archive.
    pub objects_removed: Vec<String>,
    /// Their size in bytes.
    pub bytes_removed: u64,
    /// Files left under `objects/`, each with why, one line each.
    pub objects_left: Vec<String>,
    /// Whether the `objects/` tree was (or would be) removed: nothing was left in it.
    pub objects_dir_removed: bool,
}

/// One snapshot that named an object.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// The link's id.
    pub link: String,
    /// When the snapshot was first seen: which of the link's snapshots it is.
    pub first_seen: String,
    /// The payload's SHA-256 and size, unchanged by the migration.
    pub sha256: String,
    pub size: u64,
    /// The object it named, relative to the archive.
    pub object: String,
    /// Where its payload is now.
    pub how: How,
    /// The WARC file and offset of the record that holds the payload now; null when not moved.
    pub warc: Option<String>,
    pub offset: Option<u64>,
    /// Why its own record did not do, when it did not.
    pub why: Option<String>,
}

/// Where a snapshot's payload went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// Its own record holds it: the snapshot only stops naming the object.
    OwnRecord,
    /// Another record already in the archive holds the same payload; the snapshot points at it.
    SamePayload,
    /// A resource record the migration wrote holds it.
    NewRecord,
    /// Nowhere else: the object cannot be read whole, so it stays (see the problems).
    NotMoved,
}

/// A record that holds a payload: its file (relative to the archive) and place.
type Holder = (String, WarcRecordRef);

/// Migrates `manifest` (the archive's, whole: journals recovered, or rebuilt in a dry run).
/// `warcs` are the archive's WARC files as read before the migration. Problems (payloads that
/// cannot be moved, objects that stay) go to `problems`. Blocking; call under the lock unless
/// `dry_run`.
pub fn migrate(
    archive: &Path,
    dry_run: bool,
    now: DateTime<Utc>,
    mut manifest: Manifest,
    warcs: &[WarcIndex],
    problems: &mut Vec<String>,
) -> anyhow::Result<MigrateStep> {
    if !dry_run && !journal::read_all(archive)?.is_empty() {
        // Recovered before this step; one left means its links are not in `manifest`, and an
        // object one of them names must not be removed.
        bail!(
            "a run's journal is still in {}: run `linkkeep repair` first",
            archive.display()
        );
    }
    let mut step = MigrateStep::default();
    let named: Vec<(String, usize)> = manifest
        .links
        .iter()
        .flat_map(|(id, entry)| {
            entry
                .snapshots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.object.is_some())
                .map(|(i, _)| (id.clone(), i))
        })
        .collect();
    step.snapshots = named.len();

    // 1. Own records; what they hold, by payload, for snapshots whose own record does not.
    let mut holders: HashMap<String, Holder> = HashMap::new();
    let mut plans: Vec<(Moved, Option<Holder>)> = Vec::new();
    for (id, i) in &named {
        let snapshot = &manifest.links[id].snapshots[*i];
        let mut moved = Moved {
            link: id.clone(),
            first_seen: snapshot.first_seen.clone(),
            sha256: snapshot.sha256.clone(),
            size: snapshot.size,
            object: snapshot.object.clone().unwrap_or_default(),
            how: How::OwnRecord,
            warc: snapshot.warc.clone(),
            offset: snapshot.warc_record.as_ref().map(|r| r.offset),
            why: None,
        };
        match (&snapshot.warc, &snapshot.warc_record) {
            (Some(file), Some(record)) => match holds(archive, snapshot, file, record) {
                Ok(()) => {
                    holders
                        .entry(snapshot.sha256.clone())
                        .or_insert_with(|| (file.clone(), record.clone()));
                }
                Err(why) => moved.why = Some(format!("its record does not hold the payload: {why}")),
            },
            _ => moved.why = Some("its snapshot names no WARC record".into()),
        }
        plans.push((moved, None));
    }

    // 2. Records of the same payload; 3. the payloads left need a record of their own.
    let by_digest = records_by_digest(warcs);
    let label = |sha256: &str| digest_bytes(sha256).map(|d| sha256_label(&d));
    let mut searched: HashSet<String> = HashSet::new();
    let mut to_write: Vec<(String, usize)> = Vec::new();
    let mut written_for: HashSet<String> = HashSet::new();
    for ((moved, holder), (id, i)) in plans.iter_mut().zip(&named) {
        if moved.why.is_none() {
            continue;
        }
        let snapshot = &manifest.links[id].snapshots[*i];
        if !holders.contains_key(&snapshot.sha256) && searched.insert(snapshot.sha256.clone()) {
            let found = label(&snapshot.sha256)
                .and_then(|label| by_digest.get(&label))
                .into_iter()
                .flatten()
                .find(|(file, record)| holds(archive, snapshot, file, record).is_ok());
            if let Some(found) = found {
                holders.insert(snapshot.sha256.clone(), found.clone());
            }
        }
        if let Some(found) = holders.get(&snapshot.sha256) {
            moved.how = How::SamePayload;
            (moved.warc, moved.offset) = (Some(found.0.clone()), Some(found.1.offset));
            *holder = Some(found.clone());
            continue;
        }
        if written_for.contains(&snapshot.sha256) {
            moved.how = How::NewRecord;
            continue;
        }
        // The object's bytes go into WARC as they are: only if they are the payload.
        let mut object = snapshot.clone();
        object.warc_record = None;
        match payload::open(archive, &object).and_then(|p| p.copy_to(&mut io::sink())) {
            Ok(_) => {
                moved.how = How::NewRecord;
                written_for.insert(snapshot.sha256.clone());
                to_write.push((id.clone(), *i));
            }
            Err(e) => {
                moved.how = How::NotMoved;
                (moved.warc, moved.offset) = (None, None);
                problems.push(format!(
                    "link {id}: the snapshot first seen {} cannot be migrated: {}, and its object cannot be read whole ({:#}); it keeps naming {}",
                    snapshot.first_seen,
                    moved.why.as_deref().unwrap_or_default(),
                    anyhow::Error::from(e),
                    moved.object
                ));
            }
        }
    }

    if !to_write.is_empty() {
        let name = format!("{WARC_DIR}/{}.warc.gz", new_run_id(now));
        let written = if dry_run {
            HashMap::new()
        } else {
            let snapshots: Vec<&Snapshot> = to_write
                .iter()
                .map(|(id, i)| &manifest.links[id].snapshots[*i])
                .collect();
            let written = write_resources(archive, &name, now, &snapshots)
                .with_context(|| format!("cannot write {}", archive.join(&name).display()))?;
            let lines = index_warc(&archive.join(&name))
                .with_context(|| format!("cannot read {} back", archive.join(&name).display()))?
                .lines();
            step.index_lines_added = lines.len();
            let index = archive.join(INDEX_FILE);
            merge_cdxj(&index, lines).with_context(|| format!("cannot write {}", index.display()))?;
            written
        };
        for (moved, holder) in &mut plans {
            if moved.how == How::NewRecord {
                *holder = written.get(&moved.sha256).map(|r| (name.clone(), r.clone()));
                (moved.warc, moved.offset) = (Some(name.clone()), holder.as_ref().map(|h| h.1.offset));
            }
        }
        step.records_written = to_write.len();
        step.warc_file = Some(name);
    }

    // The manifest, then the objects it no longer needs.
    let mut moved_payloads: HashSet<String> = HashSet::new();
    for ((moved, holder), (id, i)) in plans.iter().zip(&named) {
        if moved.how == How::NotMoved {
            continue;
        }
        moved_payloads.insert(moved.sha256.clone());
        let snapshot = &mut manifest.links.get_mut(id).expect("named from the manifest").snapshots[*i];
        snapshot.object = None;
        if let Some((file, record)) = holder {
            snapshot.warc = Some(file.clone());
            snapshot.warc_record = Some(record.clone());
        }
    }
    if !dry_run && !named.is_empty() {
        manifest.updated_at = Some(timestamp(now));
        manifest.save(archive)?;
    }
    step.moved = plans.into_iter().map(|(moved, _)| moved).collect();
    remove_objects(archive, dry_run, &manifest, &moved_payloads, &mut step, problems)?;
    Ok(step)
}

/// Whether the record `record` of WARC file `file` decodes to `snapshot`'s payload (its
/// `sha256` and `size`); if not, why not.
fn holds(archive: &Path, snapshot: &Snapshot, file: &str, record: &WarcRecordRef) -> Result<(), String> {
    let mut probe = snapshot.clone();
    probe.object = None;
    probe.warc = Some(file.to_owned());
    probe.warc_record = Some(record.clone());
    payload::open(archive, &probe)
        .and_then(|p| p.copy_to(&mut io::sink()))
        .map(drop)
        .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
}

/// The response and resource records of `warcs` by their payload digest: for a body sent
/// without `Content-Encoding`, and for a resource record, the label of the payload's SHA-256.
fn records_by_digest(warcs: &[WarcIndex]) -> HashMap<String, Vec<Holder>> {
    let mut found: HashMap<String, Vec<Holder>> = HashMap::new();
    for warc in warcs {
        for record in warc.records.iter().filter(|r| !r.is_revisit()) {
            let Some(digest) = record.info.payload_digest.clone() else {
                continue;
            };
            let holder = WarcRecordRef {
                offset: record.info.offset,
                length: record.info.length,
                record_id: record.info.record_id.clone(),
                date: record.info.date.clone(),
                payload_digest: record.info.payload_digest.clone().unwrap_or_default(),
            };
            found
                .entry(digest)
                .or_default()
                .push((format!("{WARC_DIR}/{}", warc.filename), holder));
        }
    }
    found
}

/// Writes `name` (relative to `archive`, created new): a warcinfo record, then a resource
/// record of each snapshot's object, fsynced; reads each record back. Returns each record by
/// payload SHA-256. On failure the file is removed: nothing points at it yet.
fn write_resources(
    archive: &Path,
    name: &str,
    now: DateTime<Utc>,
    snapshots: &[&Snapshot],
) -> anyhow::Result<HashMap<String, WarcRecordRef>> {
    let path = archive.join(name);
    std::fs::create_dir_all(archive.join(WARC_DIR))?;
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    let result = (|| -> anyhow::Result<HashMap<String, WarcRecordRef>> {
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let filename = name.rsplit('/').next().unwrap_or(name);
        let mut info = RecordSpec::new(RecordType::Warcinfo, warc_date(now), CONTENT_TYPE_WARC_FIELDS);
        info.extra.push(("WARC-Filename".into(), filename.to_owned()));
        let fields = warcinfo_fields(
            &format!("linkkeep/{}", crate::VERSION),
            &[(
                "description",
                "payloads of linkkeep 0.1.0 objects/ files that no WARC response record held, moved by `linkkeep repair --migrate`".to_owned(),
            )],
        );
        let (_, mut end) = write_record(&mut out, 0, &info, &fields, &mut io::Cursor::new([]), 0, None)?;
        let mut written = HashMap::new();
        for snapshot in snapshots {
            let mut spec = RecordSpec::new(
                RecordType::Resource,
                capture_date(snapshot, now),
                &content_type(snapshot),
            );
            spec.target_uri = Some(snapshot.final_url.clone());
            spec.warcinfo_id = Some(info.record_id.clone());
            let digest = digest_bytes(&snapshot.sha256).context("the snapshot's sha256 is not a SHA-256")?;
            spec.payload_digest = Some(sha256_label(&digest));
            let object = archive.join(object_rel_path(&snapshot.sha256));
            let mut body = File::open(&object).with_context(|| format!("cannot read {}", object.display()))?;
            // No digest passed in: the body is hashed, then written and hashed again, so an
            // object that changed in between fails instead of making a record that lies.
            let (offset, length) = write_record(&mut out, end, &spec, &[], &mut body, snapshot.size, None)?;
            end = offset + length;
            written.insert(
                snapshot.sha256.clone(),
                WarcRecordRef {
                    offset,
                    length,
                    record_id: spec.record_id.clone(),
                    date: spec.date.clone(),
                    payload_digest: sha256_label(&digest),
                },
            );
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        File::open(archive.join(WARC_DIR))?.sync_all()?;
        for snapshot in snapshots {
            let record = &written[&snapshot.sha256];
            holds(archive, snapshot, name, record).map_err(|why| {
                anyhow::anyhow!("the record written for {} does not read back: {why}", snapshot.sha256)
            })?;
        }
        Ok(written)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    result
}

/// The resource record's `WARC-Date`: when the payload was captured, as the snapshot says.
fn capture_date(snapshot: &Snapshot, now: DateTime<Utc>) -> String {
    let at = DateTime::parse_from_rfc3339(&snapshot.first_seen).map_or(now, |t| t.to_utc());
    warc_date(at)
}

/// The resource record's `Content-Type`: the snapshot's, if it can be a header value.
fn content_type(snapshot: &Snapshot) -> String {
    snapshot
        .content_type
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b == b'\t' || (32..127).contains(&b)))
        .unwrap_or(UNKNOWN_CONTENT_TYPE)
        .to_owned()
}

/// Removes the object files of payloads that records now hold for every snapshot of them,
/// once `manifest` (saved already) no longer names them; then the `objects/` tree if empty.
fn remove_objects(
    archive: &Path,
    dry_run: bool,
    manifest: &Manifest,
    moved_now: &HashSet<String>,
    step: &mut MigrateStep,
    problems: &mut Vec<String>,
) -> anyhow::Result<()> {
    let store = Store::new(archive);
    let (found, strays) = store
        .list_objects()
        .with_context(|| format!("cannot list {}", archive.join(OBJECTS_DIR).display()))?;
    let mut named: HashSet<&str> = HashSet::new();
    let mut of_payload: HashMap<&str, Vec<&Snapshot>> = HashMap::new();
    for snapshot in manifest.links.values().flat_map(|e| &e.snapshots) {
        if snapshot.object.is_some() {
            named.insert(&snapshot.sha256);
        }
        of_payload.entry(&snapshot.sha256).or_default().push(snapshot);
    }
    let mut left = 0;
    for object in found {
        let sha256 = object.sha256.as_str();
        let keep = if named.contains(sha256) {
            Some("a snapshot still names it".to_owned())
        } else if let Some(snapshots) = of_payload.get(sha256) {
            // Moved by this run, whose records were read back; or left by an interrupted
            // migration whose manifest was saved: removed only once every record its snapshots
            // name is read back whole.
            if moved_now.contains(sha256) {
                None
            } else {
                unread_records(archive, snapshots)
            }
        } else {
            step.objects_left.push(format!(
                "{}: no snapshot names it (`linkkeep gc` removes it)",
                object.object
            ));
            left += 1;
            continue;
        };
        if let Some(why) = keep {
            if !named.contains(sha256) {
                problems.push(format!("{} was kept: {why}", object.object));
            }
            step.objects_left.push(format!("{}: {why}", object.object));
            left += 1;
            continue;
        }
        if !dry_run {
            let path = archive.join(&object.object);
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
        step.bytes_removed += object.size;
        step.objects_removed.push(object.object);
    }
    for stray in &strays {
        let shown = stray.strip_prefix(archive).unwrap_or(stray).display().to_string();
        step.objects_left.push(format!("{shown}: not an object of linkkeep's"));
        left += 1;
    }
    // `objects/`, the top of `objects/sha256/…`.
    let root = archive.join(OBJECTS_DIR.split('/').next().unwrap_or(OBJECTS_DIR));
    if left == 0 && root.exists() {
        step.objects_dir_removed = true;
        if !dry_run {
            remove_empty_tree(&root).with_context(|| format!("cannot remove {}", root.display()))?;
        }
    }
    Ok(())
}

/// Why not every snapshot of a payload reads it from its record, or `None` if every one does.
fn unread_records(archive: &Path, snapshots: &[&Snapshot]) -> Option<String> {
    let mut read: HashSet<(&str, u64)> = HashSet::new();
    for snapshot in snapshots {
        let (Some(file), Some(record)) = (&snapshot.warc, &snapshot.warc_record) else {
            return Some(format!(
                "the snapshot first seen {} names no WARC record",
                snapshot.first_seen
            ));
        };
        if read.insert((file, record.offset))
            && let Err(why) = holds(archive, snapshot, file, record)
        {
            return Some(format!("the record its snapshot names does not hold it ({why})"));
        }
    }
    None
}

/// Removes `dir` and the directories under it, all empty of files.
fn remove_empty_tree(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            remove_empty_tree(&entry.path())?;
        }
    }
    std::fs::remove_dir(dir)
}
