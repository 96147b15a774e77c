//! The journal of runs in progress (`archive/journal/<run-id>.jsonl`): what a run has finished
//! but not yet compacted into `manifest.json` and `index.cdxj`.
//!
//! A run keeps the entries of links it finished in memory and, at each checkpoint, appends them
//! to its journal followed by a checkpoint line, after the WARC records they name
//! were made durable. So a checkpoint costs what was finished since the last one, not the size
//! of the archive. At the end the run compacts: it saves the manifest, merges its CDXJ lines
//! into the index, and removes its journal.
//!
//! A run killed at any moment leaves its journal behind. The next writing command recovers it
//! ([`recover`]) before anything else; commands that only read lay it over the manifest
//! ([`Manifest::load`](crate::manifest::Manifest::load) does) without writing.
//!
//! # Wire format
//! One JSON object per line:
//! ```json
//! {"link":"<id>","renamed_from":"<old id>","entry":{…a manifest entry…},"cdxj":["<line>",…]}
//! {"checkpoint":"2026-11-29T02:00:00Z","warc":{"warc/<run-id>.warc.gz":123456}}
//! ```
//! `link` lines hold a link's whole manifest entry as the run left it (`renamed_from` only when
//! the entry was found by URL under another id) and the CDXJ lines of every WARC record the link
//! wrote. A `checkpoint` line says that every line before it, and the first `warc` bytes of each
//! of the run's WARC files, are on disk. Lines after the last checkpoint line (a torn write
//! among them) are ignored: they were never promised.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::commands::archive::INDEX_FILE;
use crate::manifest::{LinkEntry, ManifestUpdate};
use crate::warc::merge_cdxj;
use crate::warc::reader::{WarcCheck, check_warc};
use crate::warc::run::WARC_DIR;

/// Where journals live, relative to the archive.
pub const JOURNAL_DIR: &str = "journal";
/// A journal's file name extension.
const JOURNAL_EXT: &str = ".jsonl";

/// The journal of run `run_id` in `archive`.
pub fn journal_path(archive: &Path, run_id: &str) -> PathBuf {
    archive.join(JOURNAL_DIR).join(format!("{run_id}{JOURNAL_EXT}"))
}

/// The id of the run that wrote the WARC file named `name` (`R.warc.gz` or `R-<n>.warc.gz`, in `warc/` or not,
/// R being `YYYYMMDDTHHMMSSZ-<suffix>`), or `None` for a name no run writes.
pub fn run_id_of_warc(name: &str) -> Option<&str> {
    let stem = name.strip_prefix("warc/").unwrap_or(name).strip_suffix(".warc.gz")?;
    // The run id's own `-` comes right after its timestamp; a second one starts `<n>`.
    let (time, rest) = stem.split_at_checked(16)?;
    let time_ok = time.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    let rest = rest.strip_prefix('-')?;
    let (suffix, n) = match rest.split_once('-') {
        Some((suffix, n)) => (suffix, Some(n)),
        None => (rest, None),
    };
    let suffix_ok = !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_alphanumeric());
    let n_ok = n.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    (time_ok && suffix_ok && n_ok).then(|| &stem[..16 + 1 + suffix.len()])
}

/// Why a journal cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read the journal {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} line {line} is not a journal line: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// One finished link, as a journal line holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalLink {
    /// The link's id.
    #[serde(rename = "link")]
    pub id: String,
    /// The id its entry had before this run found it by URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// The link's whole manifest entry after the run recorded it.
    pub entry: LinkEntry,
    /// CDXJ lines of the WARC records the link wrote.
    #[serde(default)]
    pub cdxj: Vec<String>,
}

/// A checkpoint line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CheckpointLine {
    /// When (RFC 3339 UTC).
    checkpoint: String,
    /// How many bytes of each of the run's WARC files are durable.
    warc: BTreeMap<String, u64>,
}

/// A line of either kind, for reading.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Checkpoint(CheckpointLine),
    Link(Box<JournalLink>),
}

/// What a journal promises: everything up to its last checkpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// The run that wrote it.
    pub run: String,
    /// The journal file.
    pub path: PathBuf,
    /// The links finished before the last checkpoint, in the order they finished.
    pub links: Vec<JournalLink>,
    /// How many bytes of each of the run's WARC files the last checkpoint made durable.
    pub warc_lengths: BTreeMap<String, u64>,
    /// When the last checkpoint was, if there was one.
    pub checkpoint: Option<String>,
    /// Lines after the last checkpoint, ignored.
    pub unpromised_lines: usize,
}

impl Recorded {
    /// The CDXJ lines of every link the journal holds.
    pub fn cdxj_lines(&self) -> impl Iterator<Item = &str> {
        self.links.iter().flat_map(|l| l.cdxj.iter().map(String::as_str))
    }
}

/// Lays a journal's links over a manifest's `links`: each link's entry (made a `V` by `slot`)
/// replaces the one under its id, and an entry it was renamed from goes.
pub fn lay_over<V>(links: &mut IndexMap<String, V>, journal: Vec<JournalLink>, slot: impl Fn(LinkEntry) -> V) {
    let renamed: HashSet<&str> = journal.iter().filter_map(|l| l.renamed_from.as_deref()).collect();
    if !renamed.is_empty() {
        links.retain(|id, _| !renamed.contains(id.as_str()));
    }
    for link in journal {
        links.insert(link.id, slot(link.entry));
    }
}

/// Reads the journal at `path` up to its last checkpoint.
pub fn read(path: &Path) -> Result<Recorded, JournalError> {
    let read_err = |source| JournalError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let run = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(JOURNAL_EXT))
        .unwrap_or_default()
        .to_owned();
    let mut recorded = Recorded {
        run,
        path: path.to_owned(),
        ..Recorded::default()
    };
    let mut since_checkpoint: Vec<JournalLink> = Vec::new();
    let mut torn = 0;
    let mut lines = io::BufReader::new(file).split(b'\n').enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let line = line.map_err(read_err)?;
        let last = lines.peek().is_none();
        match serde_json::from_slice::<Line>(&line) {
            Ok(Line::Link(link)) => since_checkpoint.push(*link),
            Ok(Line::Checkpoint(checkpoint)) => {
                recorded.links.append(&mut since_checkpoint);
                recorded.warc_lengths = checkpoint.warc;
                recorded.checkpoint = Some(checkpoint.checkpoint);
            }
            // A kill in the middle of an append leaves a torn last line: never promised.
            Err(_) if last => torn = 1,
            Err(e) => {
                return Err(JournalError::Parse {
                    path: path.to_owned(),
                    line: index + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    recorded.unpromised_lines = since_checkpoint.len() + torn;
    Ok(recorded)
}

/// Every journal in `archive`, oldest run first (run ids sort by their start time).
pub fn read_all(archive: &Path) -> Result<Vec<Recorded>, JournalError> {
    journal_files(archive)?.iter().map(|path| read(path)).collect()
}

/// The journal files in `archive`, sorted by name.
fn journal_files(archive: &Path) -> Result<Vec<PathBuf>, JournalError> {
    let dir = archive.join(JOURNAL_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(JournalError::Read { path: dir, source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| JournalError::Read {
            path: dir.clone(),
            source,
        })?;
        let path = path.path();
        if path.to_str().is_some_and(|p| p.ends_with(JOURNAL_EXT)) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// What recovering a killed run's journal did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// The killed run.
    pub run: String,
    /// Links its last checkpoint held, now in the manifest and the index.
    pub links: usize,
    /// Links it finished after its last checkpoint (and a torn line), dropped.
    pub dropped_links: usize,
    /// WARC files cut back to their last whole record: name, length before, length after.
    pub cut: Vec<(String, u64, u64)>,
    /// Damage found in the run's WARC files before their cut, left as it is for `verify` and
    /// `repair` to report.
    pub damage: Vec<String>,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recovered the killed run {}: {} finished link(s) restored",
            self.run, self.links
        )?;
        if self.dropped_links > 0 {
            write!(f, ", {} finished after its last checkpoint dropped", self.dropped_links)?;
        }
        for (name, from, to) in &self.cut {
            write!(f, "; {name} cut from {from} to {to} bytes (a record it was writing)")?;
        }
        for damage in &self.damage {
            write!(f, "; {damage}")?;
        }
        Ok(())
    }
}

/// Why recovering a journal failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error("cannot recover the killed run's {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Recovers the journal of every killed run in `archive`, oldest first: cuts its WARC files
/// back to their last whole record, lays its links over the manifest, merges its CDXJ lines
/// into the index, and removes it. Call only while holding the archive lock, or a running
/// run's journal would be taken for a killed one's.
///
/// Each step can be repeated: a recovery killed in turn leaves the journal, and the next one
/// does it again with the same result.
pub fn recover(archive: &Path) -> Result<Vec<Recovery>, RecoverError> {
    let mut recoveries = Vec::new();
    for (path, recorded, recovery) in cut_tails(archive)? {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| RecoverError::Io { path, source }
        };
        let mut manifest = ManifestUpdate::load(archive, &[])?;
        let cdxj: Vec<String> = recorded.cdxj_lines().map(str::to_owned).collect();
        manifest.apply(recorded.links);
        manifest.updated_at = Some(crate::report::timestamp(chrono::Utc::now()));
        manifest.save(archive)?;
        let index = archive.join(INDEX_FILE);
        merge_cdxj(&index, cdxj).map_err(io_err(&index))?;
        std::fs::remove_file(&path)
            .and_then(|()| std::fs::File::open(archive.join(JOURNAL_DIR))?.sync_all())
            .map_err(io_err(&path))?;
        recoveries.push(recovery);
    }
    Ok(recoveries)
}

/// The first step of [`recover`] alone: cuts the WARC files of every killed run back to their
/// last whole record, and returns each journal (its path, what it holds, and the recovery so
/// far). `repair` cuts first and lays the journals over the manifest once it has rebuilt it.
pub fn cut_tails(archive: &Path) -> Result<Vec<(PathBuf, Recorded, Recovery)>, RecoverError> {
    let mut journals = Vec::new();
    for path in journal_files(archive)? {
        let recorded = read(&path)?;
        let mut recovery = Recovery {
            run: recorded.run.clone(),
            links: recorded.links.len(),
            dropped_links: recorded.unpromised_lines,
            cut: Vec::new(),
            damage: Vec::new(),
        };
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| RecoverError::Io { path, source }
        };
        for name in run_warcs(archive, &recorded.run).map_err(io_err(&archive.join(WARC_DIR)))? {
            let path = archive.join(&name);
            let shared = format!("{WARC_DIR}/{}.warc.gz", recorded.run);
            let named = || {
                recorded
                    .links
                    .iter()
                    .flat_map(|link| &link.entry.snapshots)
                    .any(|snapshot| snapshot.warc.as_deref() == Some(name.as_str()))
            };
            if name != shared && !named() {
                // A large capture's file of its own that no promised link names: finished
                // after the last checkpoint, or before it but for a link that was not (the
                // link's line follows its record). Work the kill lost.
                let len = std::fs::metadata(&path).map_err(io_err(&path))?.len();
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                recovery.cut.push((name, len, 0));
                continue;
            }
            let durable = recorded.warc_lengths.get(&name).copied().unwrap_or(0);
            cut_tail(&path, durable, &mut recovery).map_err(io_err(&path))?;
        }
        // The cut is durable before the manifest and the index say the run is recovered.
        crate::store::Store::new(archive).sync().map_err(io_err(archive))?;
        journals.push((path, recorded, recovery));
    }
    Ok(journals)
}

/// The WARC files of run `run`, as archive-relative names.
fn run_warcs(archive: &Path, run: &str) -> io::Result<Vec<String>> {
    let mut files = crate::warc::index::list_warc_files(archive)?;
    files.retain(|name| run_id_of_warc(name) == Some(run));
    Ok(files)
}

/// Cuts a killed run's WARC file back to the end of its last whole record, never below the
/// `durable` length its last checkpoint promised: damage before that is not the kill's doing,
/// and is left for `verify` to report.
fn cut_tail(path: &Path, durable: u64, recovery: &mut Recovery) -> io::Result<()> {
    let len = std::fs::metadata(path)?.len();
    let check = check_warc(path)?;
    let first_problem = check.problems.iter().filter_map(|p| WarcCheck::problem_offset(p)).min();
    let whole_end = check
        .records
        .iter()
        .filter(|r| first_problem.is_none_or(|p| r.offset < p))
        .map(|r| r.offset + r.length)
        .max()
        .unwrap_or(0);
    if let Some(problem) = first_problem.filter(|&p| p < durable) {
        recovery.damage.push(format!(
            "{} is damaged at offset {problem}, before what the run's last checkpoint made durable",
            path.display()
        ));
    }
    let keep = whole_end.max(durable);
    if len > keep {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(keep)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        recovery.cut.push((format!("{WARC_DIR}/{name}"), len, keep));
    }
    Ok(())
}

/// A run's journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    /// Lines of links finished since the last checkpoint.
    pending: Vec<u8>,
    /// How many links `pending` holds.
    pending_links: usize,
}

impl Journal {
    /// Creates the journal of run `run_id`; the directory entry is made durable at once, so a
    /// killed run's journal is always found.
    pub fn create(archive: &Path, run_id: &str) -> io::Result<Self> {
        let path = journal_path(archive, run_id);
        let dir = archive.join(JOURNAL_DIR);
        std::fs::create_dir_all(&dir)?;
        let file = OpenOptions::new().append(true).create_new(true).open(&path)?;
        File::open(&dir)?.sync_all()?;
        Ok(Self {
            file,
            path,
            pending: Vec::new(),
            pending_links: 0,
        })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Links added since the last checkpoint.
    pub fn pending(&self) -> usize {
        self.pending_links
    }

    /// Adds a finished link (see [`JournalLink`]); it is written at the next checkpoint.
    pub fn add(&mut self, id: &str, renamed_from: Option<&str>, entry: &LinkEntry, cdxj: &[String]) -> io::Result<()> {
        /// [`JournalLink`], borrowed.
        #[derive(Serialize)]
        struct Line<'a> {
            link: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            renamed_from: Option<&'a str>,
            entry: &'a LinkEntry,
            cdxj: &'a [String],
        }
        let line = Line {
            link: id,
            renamed_from,
            entry,
            cdxj,
        };
        serde_json::to_writer(&mut self.pending, &line)?;
        self.pending.push(b'\n');
        self.pending_links += 1;
        Ok(())
    }

    /// Writes the links added since the last checkpoint and a checkpoint line, and makes them
    /// durable. The caller has made the WARC files' first `warc_lengths` bytes, and every
    /// record the links name, durable first.
    pub fn checkpoint(&mut self, at: &str, warc_lengths: BTreeMap<String, u64>) -> io::Result<()> {
        let line = CheckpointLine {
            checkpoint: at.to_owned(),
            warc: warc_lengths,
        };
        serde_json::to_writer(&mut self.pending, &line)?;
        self.pending.push(b'\n');
        self.file.write_all(&self.pending)?;
        self.file.sync_data()?;
        self.pending.clear();
        self.pending_links = 0;
        Ok(())
    }

    /// Removes the journal once the run has been compacted into the manifest and the index.
    pub fn remove(self) -> io::Result<()> {
        drop(self.file);
        std::fs::remove_file(&self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str) -> JournalLink {
        JournalLink {
            id: id.into(),
            renamed_from: None,
            entry: LinkEntry {
                url: format!("http://{id}.example/"),
                ..LinkEntry::default()
            },
            cdxj: vec![format!("example,{id})/ 20261129000000 {{}}")],
        }
    }

    fn add(journal: &mut Journal, link: &JournalLink) {
        let renamed = link.renamed_from.as_deref();
        journal.add(&link.id, renamed, &link.entry, &link.cdxj).unwrap();
    }

    #[test]
    fn a_runs_journal_sits_in_the_journal_folder() {
        assert_eq!(
            journal_path(Path::new("/a"), "20261129T020000Z-ab2c"),
            Path::new("/a/journal/20261129T020000Z-ab2c.jsonl")
        );
    }

    #[test]
    fn warc_files_name_their_run() {
        let run = Some("20261129T020000Z-ab2c");
        assert_eq!(run_id_of_warc("20261129T020000Z-ab2c.warc.gz"), run);
        assert_eq!(run_id_of_warc("20261129T020000Z-ab2c-2.warc.gz"), run);
        assert_eq!(run_id_of_warc("20261129T020000Z-ab2c-17.warc.gz"), run);
        assert_eq!(run_id_of_warc("warc/20261129T020000Z-ab2c-2.warc.gz"), run);
        // A suffix of digits is still the run's own.
        assert_eq!(
            run_id_of_warc("20261129T020000Z-2345.warc.gz"),
            Some("20261129T020000Z-2345")
        );
        for name in [
            "20261129T020000Z-ab2c.warc",
            "20261129T020000Z-ab2c.cdxj",
            "20261129T020000Z.warc.gz",
            "20261129T020000Z-.warc.gz",
            "20261129T020000Z-ab2c-.warc.gz",
            "20261129T020000Z-ab2c-x.warc.gz",
            "20261129T020000Z-ab2c-2-3.warc.gz",
            "20261129X020000Z-ab2c.warc.gz",
            "2026112T020000Z-ab2c.warc.gz",
            "../20261129T020000Z-ab2c.warc.gz",
            "20261129T020000Z-a/b.warc.gz",
            "sample.warc.gz",
            "",
        ] {
            assert_eq!(run_id_of_warc(name), None, "{name}");
        }
    }

    #[test]
    fn only_what_a_checkpoint_covers_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(dir.path(), "R").unwrap();
        add(&mut journal, &link("a"));
        add(&mut journal, &link("b"));
        journal
            .checkpoint("t1", BTreeMap::from([("warc/R.warc.gz".into(), 10)]))
            .unwrap();
        add(&mut journal, &link("c"));
        journal
            .checkpoint("t2", BTreeMap::from([("warc/R.warc.gz".into(), 20)]))
            .unwrap();
        // A link finished after the last checkpoint and a torn line: neither was promised.
        let mut file = OpenOptions::new().append(true).open(journal.path()).unwrap();
        file.write_all(&serde_json::to_vec(&link("d")).unwrap()).unwrap();
        file.write_all(b"\n{\"link\":\"e\",\"ent").unwrap();

        let recorded = read_all(dir.path()).unwrap();
        assert_eq!(recorded.len(), 1);
        let recorded = &recorded[0];
        assert_eq!(recorded.run, "R");
        let ids: Vec<&str> = recorded.links.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(recorded.warc_lengths["warc/R.warc.gz"], 20);
        assert_eq!(recorded.checkpoint.as_deref(), Some("t2"));
        assert_eq!(recorded.unpromised_lines, 2);
        assert_eq!(recorded.cdxj_lines().count(), 3);

        journal.remove().unwrap();
        assert!(read_all(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_damaged_line_before_the_end_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(dir.path(), "R").unwrap();
        add(&mut journal, &link("a"));
        journal.checkpoint("t1", BTreeMap::new()).unwrap();
        let text = std::fs::read_to_string(journal.path()).unwrap();
        std::fs::write(journal.path(), format!("garbage\n{text}")).unwrap();
        let message = read_all(dir.path()).unwrap_err().to_string();
        assert!(message.contains("R.jsonl line 1 is not a journal line"), "{message}");
    }

    #[test]
    fn recovery_cuts_a_torn_warc_record_and_compacts_the_journal() {
        use crate::manifest::Manifest;
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path();
        let run = "20261129T020000Z-ab12";
        let warc = crate::warc::run::RunWarc::create(archive, run, "2026-11-29T02:00:00Z".into(), &[]).unwrap();
        let lengths = warc.lengths();
        let whole = lengths[&warc.name()];
        let mut journal = Journal::create(archive, run).unwrap();
        add(&mut journal, &link("a"));
        journal.checkpoint("t1", lengths).unwrap();
        // The kill came in the middle of the next checkpoint and the next record: a torn
        // journal line, half a gzip member.
        let mut torn = OpenOptions::new().append(true).open(journal.path()).unwrap();
        torn.write_all(br#"{"link":"b","entry":{"url":"#).unwrap();
        let path = archive.join(warc.name());
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1, 2, 3])
            .unwrap();
        drop((file, torn, journal));

        // Readers see the checkpoint; recovery makes it the manifest and the index.
        assert_eq!(Manifest::load(archive).unwrap().links.keys().collect::<Vec<_>>(), ["a"]);
        let recovered = recover(archive).unwrap();
        assert_eq!(recovered.len(), 1);
        let recovery = &recovered[0];
        assert_eq!((recovery.links, recovery.dropped_links), (1, 1));
        let name = format!("warc/{run}.warc.gz");
        assert_eq!(recovery.cut, [(name.clone(), whole + 13, whole)]);
        let message = recovery.to_string();
        assert!(
            message.contains(&format!("{name} cut from {} to {whole} bytes", whole + 13)),
            "{message}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        assert!(check_warc(&path).unwrap().is_ok());

        let manifest = Manifest::load_compacted(archive).unwrap();
        assert_eq!(manifest.links["a"], link("a").entry);
        assert!(!manifest.links.contains_key("b"));
        let index = std::fs::read_to_string(archive.join(INDEX_FILE)).unwrap();
        assert_eq!(index, "example,a)/ 20261129000000 {}\n");
        assert!(read_all(archive).unwrap().is_empty());
        // Nothing left to do the second time.
        assert!(recover(archive).unwrap().is_empty());
    }
}
