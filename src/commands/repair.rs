//! `linkkeep repair [--dry-run] [--migrate]`: puts an archive's derived files back together from
//! what it keeps for good, the WARC files and the run reports. In order:
//!
//! 1. The journals killed runs left in `journal/`: their WARC files are cut back to their last
//!    whole record first, and their finished links laid over the manifest once it is whole
//!    (after step 3), as [`journal::recover`] does for any writing command.
//! 2. Every WARC file is read back ([`index_warc`]); one with nothing readable in it is moved
//!    to `damaged/`.
//! 3. The manifest: kept when it parses (only its snapshots' WARC records are checked to be
//!    there); missing or unparsable, it is rebuilt from the run reports and the WARC records
//!    ([`rebuild`]), a damaged one first moved aside to `manifest.json.damaged-<time>`. A
//!    rebuilt snapshot points at the record holding its payload, read back to check it.
//! 4. `index.cdxj`: rebuilt from the WARC files, the same lines archive runs write.
//! 5. With `--migrate`, an archive of 0.1.0 moves to the one-copy layout: each payload kept in
//!    `objects/` goes into a WARC record, then the object goes ([`migrate`]).
//!
//! Nothing is ever deleted, except by `--migrate` the object files whose payloads WARC records
//! hold. `--dry-run` takes no lock and writes nothing.
//!
//! # Wire format (`--format json`)
//! ```json
//! {"tool": "linkkeep", "version": "0.1.0", "command": "repair", "dry_run": false,
//!  "started_at": "…",
//!  "journal": {"files": [], "recovered": 0, "details": []},
//!  "warc_files": [{"file": "warc/<run-id>.warc.gz", "captures": 7, "problems": [], "moved_to": null}],
//!  "manifest": {"file": "manifest.json", "state": "missing", "error": null, "moved_to": null,
//!               "action": "rebuilt", "runs": 2, "links": 6, "snapshots": 7},
//!  "index": {"file": "index.cdxj", "action": "rebuilt", "lines": 14, "added": 14, "removed": 0},
//!  "inexact": [{"link": "…", "run": "<run-id>", "field": "last_check.at", "how": "…"}],
//!  "problems": ["…"],
//!  "migration": {"snapshots": 5, "warc_file": "warc/<run-id>.warc.gz", "records_written": 1,
//!                "index_lines_added": 1, "objects_removed": ["objects/sha256/0a/…"],
//!                "bytes_removed": 5598, "objects_left": [], "objects_dir_removed": true,
//!                "moved": [{"link": "…", "first_seen": "…", "sha256": "…", "size": 97,
//!                           "object": "objects/sha256/0a/…", "how": "new_record",
//!                           "warc": "warc/<run-id>.warc.gz", "offset": 310,
//!                           "why": "its snapshot names no WARC record"}]}}
//! ```
//! `migration` is there only with `--migrate`; `how` is one of `own_record`, `same_payload`,
//! `new_record`, `not_moved`.
//! Field by field: [`RepairReport`] and the types it holds. `problems` lists what could not be
//! recovered (exit code 1); `inexact`, the rebuilt manifest's fields that are approximations.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::archive::{INDEX_FILE, RUNS_DIR};
use super::{Exit, emit};
use crate::cli::{RepairArgs, RepairFormat};
use crate::config::{Environment, Format, GlobalConfig, OutputConfig};
use crate::journal::{self, JOURNAL_DIR};
use crate::lock::ArchiveLock;
use crate::manifest::rebuild::{Inexact, Payloads, ReadBack, RunReport, rebuild};
use crate::manifest::{MANIFEST_FILE, Manifest, ManifestError, Snapshot};
use crate::payload::{self, Location};
use crate::report::{Report, terminal_safe, timestamp};
use crate::store::{Store, hex};
use crate::title;
use crate::warc::index::{WarcIndex, index_warc, list_warc_files};
use crate::warc::run::WARC_DIR;
use crate::warc::{sorted_cdxj, write_cdxj};

mod migrate;

pub use migrate::{How, MigrateStep, Moved, migrate};

/// Where WARC files with nothing readable in them are moved, relative to the archive.
pub const DAMAGED_DIR: &str = "damaged";

/// What `repair` did, or with `--dry-run` would do.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    /// Always `linkkeep`.
    pub tool: String,
    /// The linkkeep version that ran.
    pub version: String,
    /// Always `repair`.
    pub command: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// When the repair started (RFC 3339 UTC).
    pub started_at: String,
    /// Step 1: the journals of killed runs.
    pub journal: JournalStep,
    /// Step 2: every WARC file found, in name order.
    pub warc_files: Vec<WarcFileState>,
    /// Step 3: the manifest.
    pub manifest: ManifestStep,
    /// Step 4: the index.
    pub index: IndexStep,
    /// Fields of a rebuilt manifest that are not what the archive runs wrote.
    pub inexact: Vec<Inexact>,
    /// What could not be recovered, one line each; any makes the exit code 1.
    pub problems: Vec<String>,
    /// Step 5, with `--migrate`: the move out of 0.1.0's `objects/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrateStep>,
}

/// The journal step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JournalStep {
    /// The files found in `journal/`, relative to the archive.
    pub files: Vec<String>,
    /// How many of them were recovered into the manifest and the index.
    pub recovered: usize,
    /// What each recovery did (or, with `--dry-run`, would do): links restored and dropped,
    /// WARC files cut.
    pub details: Vec<String>,
}

/// One WARC file as repair found it.
#[derive(Debug, Clone, Serialize)]
pub struct WarcFileState {
    /// Relative to the archive: `warc/<run-id>.warc.gz`.
    pub file: String,
    /// Whole response and revisit records: the file's index lines.
    pub captures: usize,
    /// What could not be read, each naming its offset.
    pub problems: Vec<String>,
    /// Where the file was (or would be) moved, relative to the archive, when nothing in it
    /// could be read.
    pub moved_to: Option<String>,
}

/// How the manifest was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestState {
    /// It parses.
    Ok,
    /// There is none.
    Missing,
    /// It does not parse.
    Damaged,
}

/// What became of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Left as it was: it was fine.
    Kept,
    /// Written anew.
    Rebuilt,
    /// Would be written anew (`--dry-run`).
    WouldRebuild,
    /// Not written: there was nothing to make it from.
    Nothing,
}

/// The manifest step.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestStep {
    /// Always `manifest.json`.
    pub file: String,
    /// How it was found.
    pub state: ManifestState,
    /// Why it does not parse, when damaged.
    pub error: Option<String>,
    /// Where a damaged one was (or would be) moved, relative to the archive.
    pub moved_to: Option<String>,
    /// What was done.
    pub action: Action,
    /// Run reports replayed into a rebuilt manifest (0 when kept).
    pub runs: usize,
    /// Links in the manifest, as kept or rebuilt.
    pub links: usize,
    /// Snapshots in the manifest, as kept or rebuilt.
    pub snapshots: usize,
}

/// The index step.
#[derive(Debug, Clone, Serialize)]
pub struct IndexStep {
    /// Always `index.cdxj`.
    pub file: String,
    /// `kept` when it already held exactly the rebuilt lines.
    pub action: Action,
    /// Lines of the rebuilt index.
    pub lines: usize,
    /// Rebuilt lines the old index lacked.
    pub added: usize,
    /// Old lines the rebuilt index does not have.
    pub removed: usize,
}

/// Runs `linkkeep repair`.
pub async fn run(global: &GlobalConfig, args: &RepairArgs, env: &Environment) -> anyhow::Result<Exit> {
    let archive = global.archive_dir.clone();
    if !archive.is_dir() {
        bail!("no archive at {}: nothing to repair", global.archive_name());
    }
    let output = OutputConfig {
        format: match args.format {
            RepairFormat::Human => Format::Human,
            RepairFormat::Json => Format::Json,
        },
        path: args.output.as_ref().map(|p| env.current_dir.join(p)),
    };
    // A dry run writes nothing, not even the lock file's holder line.
    let _lock = if args.dry_run {
        None
    } else {
        Some(ArchiveLock::acquire(&archive, "repair", args.wait_lock).await?)
    };
    let (dry_run, migrate) = (args.dry_run, args.migrate);
    let report = tokio::task::spawn_blocking(move || repair(&archive, dry_run, migrate, Utc::now()))
        .await
        .context("the repair thread failed")??;
    emit(
        &output,
        global,
        "repair",
        &report.summary_line(),
        |_, out| match output.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                out.write_all(b"\n")
            }
            _ => report.render_human(out),
        },
    )?;
    Ok(if report.problems.is_empty() {
        Exit::Success
    } else {
        Exit::Failures
    })
}

/// The steps, under the lock (or none for a dry run). Blocking.
fn repair(archive: &Path, dry_run: bool, migrate: bool, now: DateTime<Utc>) -> anyhow::Result<RepairReport> {
    let mut report = RepairReport {
        tool: "linkkeep".into(),
        version: crate::VERSION.into(),
        command: "repair".into(),
        dry_run,
        started_at: timestamp(now),
        journal: JournalStep::default(),
        warc_files: Vec::new(),
        manifest: ManifestStep {
            file: MANIFEST_FILE.into(),
            state: ManifestState::Ok,
            error: None,
            moved_to: None,
            action: Action::Kept,
            runs: 0,
            links: 0,
            snapshots: 0,
        },
        index: IndexStep {
            file: INDEX_FILE.into(),
            action: Action::Kept,
            lines: 0,
            added: 0,
            removed: 0,
        },
        inexact: Vec::new(),
        problems: Vec::new(),
        migration: None,
    };

    // 1. Journals first: a killed run's WARC file may end inside a record, which is cut off
    // before the WARC files are read (a dry run only says what the journals hold).
    let journals: Vec<journal::Recorded> = if dry_run {
        journal::read_all(archive)?
    } else {
        journal::cut_tails(archive)?
            .into_iter()
            .map(|(_, recorded, _)| recorded)
            .collect()
    };
    report.journal.files = journals
        .iter()
        .map(|j| {
            format!(
                "{JOURNAL_DIR}/{}",
                j.path.file_name().unwrap_or_default().to_string_lossy()
            )
        })
        .collect();
    if dry_run {
        report.journal.details = journals
            .iter()
            .map(|j| {
                format!(
                    "would recover the killed run {}: {} finished link(s)",
                    j.run,
                    j.links.len()
                )
            })
            .collect();
    }

    // Read before anything moves: a manifest that parses is never touched.
    let manifest = read_manifest(archive)?;

    // 2. Every WARC file, read back.
    let warcs = index_warc_files(archive, dry_run, now, &mut report)?;

    // 3. The manifest. A dry run's rebuilt one is kept for the migration to plan with.
    let rebuilt = match manifest {
        Ok(manifest) => {
            report.manifest.links = manifest.links.len();
            report.manifest.snapshots = count_snapshots(&manifest);
            report.problems.extend(dangling_records(&manifest, &warcs));
            None
        }
        Err(damage) => {
            // A killed run has no report: what it finished comes from its journal, laid over
            // the rebuilt manifest below, so its WARC files are not the rebuild's to explain.
            let killed: std::collections::HashSet<&str> = journals.iter().map(|j| j.run.as_str()).collect();
            let reported: Vec<WarcIndex> = warcs
                .iter()
                .filter(|w| journal::run_id_of_warc(&w.filename).is_none_or(|run| !killed.contains(run)))
                .cloned()
                .collect();
            Some(rebuild_manifest(archive, dry_run, now, damage, &reported, &mut report)?)
        }
    };
    // The journals' links, laid over the manifest now that it is whole: they hold what the
    // killed runs finished, which no run report does.
    if !dry_run {
        let recovered = journal::recover(archive).with_context(|| format!("cannot recover {}", archive.display()))?;
        report.journal.recovered = recovered.len();
        report.journal.details = recovered.iter().map(ToString::to_string).collect();
    }

    // 4. The index.
    let path = archive.join(INDEX_FILE);
    let lines = sorted_cdxj(warcs.iter().flat_map(WarcIndex::lines));
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let old_lines: Vec<&str> = old.as_deref().map_or_else(Vec::new, |t| t.lines().collect());
    let new_set: std::collections::HashSet<&str> = lines.iter().map(String::as_str).collect();
    let old_set: std::collections::HashSet<&str> = old_lines.iter().copied().collect();
    report.index.lines = lines.len();
    report.index.added = new_set.difference(&old_set).count();
    report.index.removed = old_set.difference(&new_set).count();
    let wanted: String = lines.iter().map(|l| format!("{l}\n")).collect();
    report.index.action = match old.as_deref() {
        Some(text) if text == wanted => Action::Kept,
        None if lines.is_empty() => Action::Nothing,
        _ if dry_run => Action::WouldRebuild,
        _ => {
            write_cdxj(&path, &lines).with_context(|| format!("cannot write {}", path.display()))?;
            Action::Rebuilt
        }
    };

    // 5. The migration, on the manifest as it now is (or, in a dry run, would be).
    if migrate {
        let manifest = match rebuilt {
            Some(rebuilt) if dry_run => rebuilt,
            _ => Manifest::load(archive)?,
        };
        let step = migrate::migrate(archive, dry_run, now, manifest, &warcs, &mut report.problems)?;
        report.migration = Some(step);
    }
    Ok(report)
}

/// Why the manifest has to be rebuilt: it is missing, or it does not parse (and why).
enum Damage {
    Missing,
    Unparsable(String),
}

/// The manifest, or why it has to be rebuilt. A manifest of a newer schema, or one that cannot
/// be read at all, stops the repair: rebuilding over it would lose what it holds.
fn read_manifest(archive: &Path) -> anyhow::Result<Result<Manifest, Damage>> {
    if std::fs::symlink_metadata(archive.join(MANIFEST_FILE)).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(Err(Damage::Missing));
    }
    match Manifest::load(archive) {
        Ok(manifest) => Ok(Ok(manifest)),
        Err(ManifestError::Parse {
            line, column, message, ..
        }) => Ok(Err(Damage::Unparsable(format!(
            "line {line}, column {column}: {message}"
        )))),
        Err(e) => Err(e.into()),
    }
}

/// Step 2: reads every WARC file back; moves aside those with nothing readable in them.
fn index_warc_files(
    archive: &Path,
    dry_run: bool,
    now: DateTime<Utc>,
    report: &mut RepairReport,
) -> anyhow::Result<Vec<WarcIndex>> {
    let files =
        list_warc_files(archive).with_context(|| format!("cannot list {}", archive.join(WARC_DIR).display()))?;
    let mut readable = Vec::new();
    for file in files {
        let path = archive.join(&file);
        let index = index_warc(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut state = WarcFileState {
            file: file.clone(),
            captures: index.records.len(),
            problems: index.problems.clone(),
            moved_to: None,
        };
        if index.unreadable() {
            let to = free_name(archive, &format!("{DAMAGED_DIR}/{}", index.filename), now);
            if !dry_run {
                let dir = archive.join(DAMAGED_DIR);
                std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::rename(&path, archive.join(&to)))
                    .with_context(|| format!("cannot move {} to {}", path.display(), dir.display()))?;
            }
            report.problems.push(format!(
                "{file}: nothing in it can be read ({}); {} {to}",
                index.problems.join("; "),
                if dry_run { "would move it to" } else { "moved it to" }
            ));
            state.moved_to = Some(to);
        } else {
            report.problems.extend(
                index
                    .problems
                    .iter()
                    .map(|p| format!("{file}: {p}; the records it could read are indexed")),
            );
            readable.push(index);
        }
        report.warc_files.push(state);
    }
    Ok(readable)
}

/// Step 3 for a missing or damaged manifest: moves a damaged one aside, rebuilds it from the
/// run reports and the WARC records, and saves it. Returns it, saved or not.
fn rebuild_manifest(
    archive: &Path,
    dry_run: bool,
    now: DateTime<Utc>,
    damage: Damage,
    warcs: &[WarcIndex],
    report: &mut RepairReport,
) -> anyhow::Result<Manifest> {
    let step = &mut report.manifest;
    match damage {
        Damage::Missing => step.state = ManifestState::Missing,
        Damage::Unparsable(why) => {
            step.state = ManifestState::Damaged;
            step.error = Some(why);
            let to = free_name(
                archive,
                &format!("{MANIFEST_FILE}.damaged-{}", now.format("%Y%m%dT%H%M%SZ")),
                now,
            );
            if !dry_run {
                let from = archive.join(MANIFEST_FILE);
                std::fs::rename(&from, archive.join(&to))
                    .with_context(|| format!("cannot move {} aside", from.display()))?;
            }
            step.moved_to = Some(to);
        }
    }
    let (reports, unreadable) = read_reports(archive)?;
    report.problems.extend(unreadable);
    let rebuilt = rebuild(&reports, warcs, ArchivePayloads { archive });
    let mut manifest = rebuilt.manifest;
    // Run reports do not keep the text fields: they are read again from the payloads.
    for entry in manifest.links.values_mut() {
        crate::text::fill_history(archive, &mut entry.snapshots);
    }
    let step = &mut report.manifest;
    step.runs = rebuilt.runs;
    step.links = manifest.links.len();
    step.snapshots = count_snapshots(&manifest);
    report.inexact = rebuilt.inexact;
    report.problems.extend(rebuilt.unrecovered);
    step.action = if manifest.links.is_empty() && step.state == ManifestState::Missing {
        Action::Nothing
    } else if dry_run {
        Action::WouldRebuild
    } else {
        // The time of this rebuild: when the manifest was last written.
        manifest.updated_at = Some(timestamp(now));
        manifest.save(archive)?;
        Action::Rebuilt
    };
    Ok(manifest)
}

/// Payloads read back from the archive for a rebuild: decoded, hashed, and their titles found.
struct ArchivePayloads<'a> {
    archive: &'a Path,
}

impl Payloads for ArchivePayloads<'_> {
    fn read(&mut self, snapshot: &Snapshot) -> Result<ReadBack, String> {
        let location = payload::location(snapshot).ok_or("the snapshot names no record and no object")?;
        let mut body = open_unchecked(self.archive, &location).map_err(|e| format!("{location}: {e}"))?;
        let mut hasher = Sha256::new();
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        let mut size = 0u64;
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("{location}: cannot be read: {e}")),
            };
            let chunk = &buf[..n];
            hasher.update(chunk);
            size += n as u64;
            let to_head = chunk.len().min(title::MAX_HEAD - head.len());
            head.extend_from_slice(&chunk[..to_head]);
            // The last bytes, for a PDF's trailer: kept to at most twice the tail, then cut.
            tail.extend_from_slice(chunk);
            if tail.len() > 2 * title::MAX_TAIL {
                tail.drain(..tail.len() - title::MAX_TAIL);
            }
        }
        let tail_start = tail.len().saturating_sub(title::MAX_TAIL);
        Ok(ReadBack {
            sha256: hex(&hasher.finalize()),
            size,
            title: title::title_of(snapshot.content_type.as_deref(), &head, &tail[tail_start..]),
        })
    }

    fn has_object(&mut self, sha256: &str) -> bool {
        Store::new(self.archive)
            .object_path(sha256)
            .is_some_and(|p| p.is_file())
    }
}

/// The payload at `location`, decoded, whatever any snapshot says it should hash to: a rebuild
/// reads what is there and compares afterwards, and for a report without the hash learns it
/// here. ([`payload::open`] reads the same places but checks the bytes against a snapshot.)
fn open_unchecked(archive: &Path, location: &Location) -> std::io::Result<Box<dyn Read + Send>> {
    use std::io::{BufRead, BufReader, Error, ErrorKind, Seek, SeekFrom};
    let damaged = |why: String| Error::new(ErrorKind::InvalidData, why);
    let (file, offset, length) = match location {
        Location::Object(object) => return Ok(Box::new(std::fs::File::open(archive.join(object))?)),
        Location::Record { file, offset, length } => (file, *offset, *length),
    };
    let path = payload::warc_path(archive, file).ok_or_else(|| damaged("not a WARC file of the archive".into()))?;
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let member = flate2::bufread::GzDecoder::new(BufReader::new(file.take(length)));
    let mut record = BufReader::new(member);
    // The WARC header, up to its blank line: the record's type, block length and content type.
    let (mut kind, mut block_length, mut http) = (String::new(), None, false);
    let mut line = Vec::new();
    for n in 0.. {
        line.clear();
        if n > 1000 || (&mut record).take(64 * 1024).read_until(b'\n', &mut line)? == 0 {
            return Err(damaged("no whole WARC header there".into()));
        }
        if n == 0 && !line.starts_with(b"WARC/") {
            return Err(damaged("no WARC record starts there".into()));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some((name, value)) = text.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "warc-type" => kind = value.to_ascii_lowercase(),
                "content-length" => block_length = value.parse::<u64>().ok(),
                "content-type" => http = value.to_ascii_lowercase().starts_with("application/http"),
                _ => {}
            }
        }
    }
    let block_length = block_length.ok_or_else(|| damaged("the record has no valid Content-Length".into()))?;
    let mut block = record.take(block_length);
    let coding = match kind.as_str() {
        "resource" => String::new(),
        "response" if http => {
            let head = crate::warc::index::read_http_head(&mut block)?
                .ok_or_else(|| damaged("the record's HTTP head cannot be read".into()))?;
            if head
                .header("transfer-encoding")
                .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
            {
                return Err(damaged("the record's body is chunked".into()));
            }
            head.header("content-encoding")
                .map(|c| c.trim().to_ascii_lowercase())
                .unwrap_or_default()
        }
        other => {
            return Err(damaged(format!(
                "the record there is a {other:?} record, not a response"
            )));
        }
    };
    payload::decoder(&coding, block)
        .ok_or_else(|| damaged(format!("the body has an unknown Content-Encoding {coding:?}")))
}

/// Every run report under `runs/`, and a problem line for each that does not parse.
fn read_reports(archive: &Path) -> anyhow::Result<(Vec<RunReport>, Vec<String>)> {
    let dir = archive.join(RUNS_DIR);
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    names.sort();
    let (mut reports, mut problems) = (Vec::new(), Vec::new());
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let written = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        match serde_json::from_slice::<Report>(&bytes) {
            Ok(report) => reports.push(RunReport { report, written }),
            Err(e) => problems.push(format!(
                "{RUNS_DIR}/{name} is not a run report ({e}); that run is left out of the manifest"
            )),
        }
    }
    Ok((reports, problems))
}

/// A snapshot of a kept manifest whose WARC record is not where it says, one line each.
fn dangling_records(manifest: &Manifest, warcs: &[WarcIndex]) -> Vec<String> {
    let files: HashMap<String, &WarcIndex> = warcs
        .iter()
        .map(|w| (format!("{WARC_DIR}/{}", w.filename), w))
        .collect();
    let mut problems = Vec::new();
    for (id, entry) in &manifest.links {
        for snapshot in &entry.snapshots {
            let (Some(file), Some(record)) = (&snapshot.warc, &snapshot.warc_record) else {
                continue;
            };
            let why = match files.get(file) {
                None => "the file is not there, or nothing in it could be read".to_owned(),
                Some(warc) => match warc.record_at(record.offset) {
                    None => "no whole response record starts there".to_owned(),
                    Some(found) if found.info.record_id != record.record_id => {
                        format!("the record there is {}, not {}", found.info.record_id, record.record_id)
                    }
                    Some(_) => continue,
                },
            };
            problems.push(format!(
                "link {id}: the snapshot first seen {} points at {file} offset {}, but {why}; the manifest was left as it is",
                snapshot.first_seen, record.offset
            ));
        }
    }
    problems
}

fn count_snapshots(manifest: &Manifest) -> usize {
    manifest.links.values().map(|e| e.snapshots.len()).sum()
}

/// `wanted` (relative to the archive) if nothing is there yet, else the first free
/// `wanted.<time>`, `wanted.<time>.2`, …: a file moved aside never replaces another.
fn free_name(archive: &Path, wanted: &str, now: DateTime<Utc>) -> String {
    let taken = |name: &str| std::fs::symlink_metadata(archive.join(name)).is_ok();
    if !taken(wanted) {
        return wanted.to_owned();
    }
    let stamped = format!("{wanted}.{}", now.format("%Y%m%dT%H%M%SZ"));
    (1..)
        .map(|n| match n {
            1 => stamped.clone(),
            n => format!("{stamped}.{n}"),
        })
        .find(|name| !taken(name))
        .expect("some name is free")
}

impl RepairReport {
    /// The one-line summary: `index rebuilt (14 lines); manifest rebuilt (6 links); …`.
    pub fn summary_line(&self) -> String {
        let action = |a: Action| match a {
            Action::Kept => "kept",
            Action::Rebuilt => "rebuilt",
            Action::WouldRebuild => "would be rebuilt",
            Action::Nothing => "not written (nothing to build it from)",
        };
        let migration = self.migration.as_ref().map_or_else(String::new, |m| {
            let moved = m.moved.iter().filter(|s| s.how != How::NotMoved).count();
            if m.snapshots == 0 && m.objects_removed.is_empty() {
                return "; nothing to migrate".to_owned();
            }
            format!(
                "; {} {moved} of {} snapshot(s) out of objects/ ({} new record(s)), {} object(s)",
                if self.dry_run { "would migrate" } else { "migrated" },
                m.snapshots,
                m.records_written,
                if self.dry_run {
                    format!("would remove {}", m.objects_removed.len())
                } else {
                    format!("removed {}", m.objects_removed.len())
                }
            )
        });
        format!(
            "index {} ({} lines); manifest {} ({} links){migration}; {} inexact field(s); {} problem(s)",
            action(self.index.action),
            self.index.lines,
            action(self.manifest.action),
            self.manifest.links,
            self.inexact.len(),
            self.problems.len()
        )
    }

    /// The report for a person: one line per step, then what is inexact and what is lost.
    pub fn render_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let would = |done: &'static str, planned: &'static str| if self.dry_run { planned } else { done };
        if self.dry_run {
            writeln!(out, "Dry run: nothing was written.")?;
        }
        match self.journal.files.len() {
            0 => writeln!(out, "{JOURNAL_DIR}/: nothing to recover")?,
            n => writeln!(out, "{JOURNAL_DIR}/: {n} file(s), {} recovered", self.journal.recovered)?,
        }
        for detail in &self.journal.details {
            writeln!(out, "  {}", terminal_safe(detail))?;
        }
        for warc in &self.warc_files {
            match &warc.moved_to {
                Some(to) => writeln!(
                    out,
                    "{}: nothing readable; {} {to}",
                    warc.file,
                    would("moved to", "would move to")
                )?,
                None => writeln!(
                    out,
                    "{}: {} capture(s){}",
                    warc.file,
                    warc.captures,
                    if warc.problems.is_empty() {
                        ""
                    } else {
                        ", and damage (see below)"
                    }
                )?,
            }
        }
        let m = &self.manifest;
        let found = match m.state {
            ManifestState::Ok => "parses".to_owned(),
            ManifestState::Missing => "missing".to_owned(),
            ManifestState::Damaged => format!(
                "does not parse ({}); {} {}",
                m.error.as_deref().unwrap_or_default(),
                would("moved to", "would move to"),
                m.moved_to.as_deref().unwrap_or_default()
            ),
        };
        let done = match m.action {
            Action::Kept => format!("kept: {} links, {} snapshots", m.links, m.snapshots),
            Action::Nothing => "no run reports or WARC files to rebuild it from".to_owned(),
            Action::Rebuilt | Action::WouldRebuild => format!(
                "{} from {} run report(s) and {} WARC file(s): {} links, {} snapshots",
                would("rebuilt", "would rebuild"),
                m.runs,
                self.warc_files.iter().filter(|w| w.moved_to.is_none()).count(),
                m.links,
                m.snapshots
            ),
        };
        writeln!(out, "{}: {}; {done}", m.file, terminal_safe(&found))?;
        let i = &self.index;
        let change = format!("{} lines ({} added, {} removed)", i.lines, i.added, i.removed);
        match i.action {
            Action::Kept => writeln!(out, "{}: up to date, {} lines", i.file, i.lines)?,
            Action::Nothing => writeln!(out, "{}: no WARC records to index", i.file)?,
            Action::Rebuilt => writeln!(out, "{}: rebuilt: {change}", i.file)?,
            Action::WouldRebuild => writeln!(out, "{}: would rebuild: {change}", i.file)?,
        }
        if let Some(migration) = &self.migration {
            self.render_migration(migration, out)?;
        }
        if !self.inexact.is_empty() {
            writeln!(out, "\nNot recovered exactly ({}):", self.inexact.len())?;
            for x in &self.inexact {
                let line = format!("{} (run {}) {}: {}", x.link, x.run, x.field, x.how);
                writeln!(out, "  {}", terminal_safe(&line))?;
            }
        }
        if !self.problems.is_empty() {
            writeln!(out, "\nNot recovered ({}):", self.problems.len())?;
            for p in &self.problems {
                writeln!(out, "  {}", terminal_safe(p))?;
            }
        }
        Ok(())
    }
}

impl RepairReport {
    /// The migration's lines: what named an object, where each payload is now, what was removed.
    fn render_migration(&self, m: &MigrateStep, out: &mut dyn Write) -> std::io::Result<()> {
        let would = |done: &'static str, planned: &'static str| if self.dry_run { planned } else { done };
        if m.snapshots == 0 {
            writeln!(out, "migration: no snapshot names a 0.1.0 object")?;
        } else {
            writeln!(out, "migration: {} snapshot(s) named a 0.1.0 object", m.snapshots)?;
        }
        for s in &m.moved {
            let file = s.warc.as_deref().unwrap_or_default();
            let place = match s.offset {
                Some(offset) => format!("{file} at offset {offset}"),
                None => format!("a resource record of {file}"),
            };
            let what = match s.how {
                How::OwnRecord => format!("its own record holds the payload ({place})"),
                How::SamePayload => format!(
                    "{} to the record of the same payload, {place}",
                    would("pointed", "would point")
                ),
                How::NewRecord => format!("{} into {place}", would("moved", "would move")),
                How::NotMoved => "not moved (see below)".to_owned(),
            };
            let why = s.why.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
            let line = format!(
                "{} (captured {}) {what}{}",
                s.link,
                s.first_seen,
                if s.how == How::OwnRecord { String::new() } else { why }
            );
            writeln!(out, "  {}", terminal_safe(&line))?;
        }
        if let Some(file) = &m.warc_file {
            writeln!(
                out,
                "{file}: {} resource record(s) {}; {INDEX_FILE}: {} line(s) added",
                m.records_written,
                would("written", "would be written"),
                m.index_lines_added
            )?;
        }
        if !m.objects_removed.is_empty() || m.objects_dir_removed {
            writeln!(
                out,
                "objects/: {} file(s) {} ({} bytes){}",
                m.objects_removed.len(),
                would("removed", "would be removed"),
                m.bytes_removed,
                if m.objects_dir_removed {
                    would("; objects/ removed", "; objects/ would be removed")
                } else {
                    ""
                }
            )?;
        }
        for left in &m.objects_left {
            writeln!(out, "  left: {}", terminal_safe(left))?;
        }
        Ok(())
    }
}
