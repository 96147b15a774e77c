//! An archive in a bucket, worked on through a local copy of the part a command needs.
//!
//! Every command reads and writes an archive directory; for `--archive s3://bucket/prefix` that
//! directory is a private working copy under the system's temporary directory, and this module
//! moves objects between it and the bucket at the points where the archive's own design says
//! what is durable:
//! - **Opening.** Readers get `manifest.json`, `index.cdxj` and the journal segments of runs in
//!   progress (laid over the manifest as a local archive's journals are: readers see the last
//!   checkpoint). Writers first take the lease ([`super::lease`]), compact the journals of
//!   killed runs into the bucket, then get the manifest and the index. WARC files are fetched
//!   when first read ([`Remote::fetch_missing`]): `status` never downloads one.
//! - **Checkpoints** (`archive`). The run's shared WARC file is sealed, every finished WARC
//!   file is uploaded (streamed, multipart when large) and dropped from the working copy, and
//!   only then the journal lines since the last checkpoint go up as one immutable segment,
//!   `journal/<scope>/<run-id>-<n>.jsonl`. So a segment never names bytes the bucket lacks, and
//!   the requests of a checkpoint depend on what it holds, not on the archive's size.
//! - **Compaction.** The run's journal is laid over the bucket's current manifest and its CDXJ
//!   lines merged into the current index, each replaced only if unchanged since it was read
//!   (`If-Match`); on a conflict (a shard run compacted meanwhile) it reads both again and
//!   retries. Laying a journal over twice gives the same result, so a compaction cut anywhere
//!   is finished by the next run.
//! - **Writing back** (`repair`, `gc`, and the run report of `archive`): files the command
//!   changed go up, files it removed go, and the manifest and the index are replaced only if
//!   unchanged since they were read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bytes::Bytes;

use super::bucket::{Bucket, Version, Written};
use super::lease::{self, Lease, Scope};
use crate::commands::archive::{INDEX_FILE, RUNS_DIR};
use crate::journal::{JOURNAL_DIR, Recorded, Recovery};
use crate::manifest::ManifestUpdate;
use crate::warc::run::WARC_DIR;

/// The manifest's name in the archive.
const MANIFEST_FILE: &str = "manifest.json";
/// Where the working copy keeps its scratch work (compactions, recoveries).
const SCRATCH_DIR: &str = ".remote";
/// How often a compaction that keeps meeting other writers tries before giving up.
const COMPACT_TRIES: u32 = 20;

/// What a command needs of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The manifest, the index and the running runs' journals; WARC files when read.
    Read,
    /// A run: the lease, then the manifest and the index; WARC files when read.
    Run,
    /// Everything the archive holds (`repair`, `gc`), after the lease.
    Everything,
    /// Everything, without the lease (`repair --dry-run`).
    ReadEverything,
}

/// A file of the working copy in step with the bucket: as it was when fetched or uploaded.
#[derive(Debug, Clone, PartialEq)]
struct Synced {
    size: u64,
    modified: Option<SystemTime>,
    /// The object's version, for the files replaced only conditionally.
    version: Option<Version>,
}

#[derive(Debug, Default)]
struct State {
    /// Files in step with the bucket, by archive-relative name.
    synced: HashMap<String, Synced>,
    /// WARC files known to be in the bucket (listed or uploaded).
    remote_warcs: HashSet<String>,
    /// Whether `remote_warcs` holds a whole listing.
    listed: bool,
    /// Bytes of the run's local journal already uploaded, and segments uploaded.
    journal_sent: u64,
    segments: Vec<String>,
}

/// An archive in a bucket and its local working copy.
#[derive(Debug)]
pub struct Remote {
    bucket: Bucket,
    dir: PathBuf,
    scope: Scope,
    state: Mutex<State>,
    lease: Mutex<Option<Lease>>,
    /// What opening found worth a warning (a lease taken over, killed runs recovered).
    warnings: Mutex<Vec<String>>,
    /// One WARC download at a time: two readers of one file wait for one download.
    fetching: Mutex<()>,
    /// Owns the threads every request runs on; lives as long as the process.
    _runtime: tokio::runtime::Runtime,
}

impl Remote {
    /// Connects to the archive at `url` and makes an empty working copy for it.
    pub fn connect(url: &str, scope: Scope) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("linkkeep-bucket")
            .enable_all()
            .build()
            .context("cannot start the object store's threads")?;
        let ready = (|| {
            let bucket = Bucket::connect(url, runtime.handle().clone())?;
            let dir = std::env::temp_dir().join(format!("linkkeep-{}-{:08x}", std::process::id(), fastrand::u32(..)));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create the working copy {}", dir.display()))?;
            anyhow::Ok((bucket, dir))
        })();
        let (bucket, dir) = match ready {
            Ok(ready) => ready,
            Err(e) => {
                // Called from async code, where dropping a runtime would panic.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        Ok(Self {
            bucket,
            dir,
            scope,
            state: Mutex::new(State::default()),
            lease: Mutex::new(None),
            warnings: Mutex::new(Vec::new()),
            fetching: Mutex::new(()),
            _runtime: runtime,
        })
    }

    /// The working copy: the archive directory the command works on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bucket.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("no panics while the state is held")
    }

    /// Prepares the working copy for a command that `needs` it; a writer takes the lease
    /// first (`command` names it to other runs; `wait` waits for a holder). Returns warnings
    /// (a lease taken over, killed runs recovered).
    pub async fn open(&self, needs: Needs, command: &str, wait: bool) -> anyhow::Result<Vec<String>> {
        let mut warnings = Vec::new();
        if matches!(needs, Needs::Run | Needs::Everything) {
            let ttl = lease::ttl_from_env()?;
            // Every request runs on the bucket's runtime (see `Bucket::block`): its pooled
            // connections must never depend on a runtime whose threads may be blocked.
            let (bucket, scope, command) = (self.bucket.clone(), self.scope, command.to_owned());
            let lease = self
                .bucket
                .run(async move { Lease::acquire(&bucket, scope, &command, wait, ttl).await })
                .await?;
            warnings.extend(lease.took_over.clone());
            *self.lease.lock().expect("no panics while the lease is held") = Some(lease);
            for recovery in self.recover_killed_runs().await? {
                warnings.push(recovery.to_string());
            }
        }
        for name in [MANIFEST_FILE, INDEX_FILE] {
            self.fetch(name).await?;
        }
        match needs {
            Needs::Read => self.fetch_journals().await?,
            Needs::Run => {}
            Needs::Everything | Needs::ReadEverything => {
                let bucket = self.bucket.clone();
                let everything = self.bucket.run(async move { bucket.list("").await }).await?;
                for listed in everything {
                    let top_level = !listed.name.contains('/');
                    let skip = listed.name.starts_with(&format!("{JOURNAL_DIR}/"))
                        || (top_level && listed.name.starts_with(lease::LEASE));
                    if !skip && !self.state().synced.contains_key(&listed.name) {
                        self.fetch(&listed.name).await?;
                    }
                }
            }
        }
        self.warnings
            .lock()
            .expect("no panics while the warnings are held")
            .clone_from(&warnings);
        Ok(warnings)
    }

    /// The warnings [`Remote::open`] returned, for the run's report.
    pub fn opening_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .expect("no panics while the warnings are held")
            .clone()
    }

    /// Fetches the object `name` into the working copy, if there is one; returns whether.
    async fn fetch(&self, name: &str) -> anyhow::Result<bool> {
        let path = self.dir.join(name);
        let bucket = self.bucket.clone();
        let (key, local) = (name.to_owned(), path.clone());
        let found = self
            .bucket
            .run(async move { bucket.download_file(&key, &local).await })
            .await?;
        let Some(version) = found else { return Ok(false) };
        // The manifest and the index are replaced naming the version read; the rest are
        // replaced whole, when at all.
        let version = matches!(name, MANIFEST_FILE | INDEX_FILE).then_some(version);
        let synced = synced_now(&path, version)?;
        let mut state = self.state();
        if name.starts_with(&format!("{WARC_DIR}/")) {
            state.remote_warcs.insert(name.to_owned());
        }
        state.synced.insert(name.to_owned(), synced);
        Ok(true)
    }

    /// Lays the journal segments of runs in progress into the working copy's `journal/`, one
    /// file per run, as a local archive keeps them.
    async fn fetch_journals(&self) -> anyhow::Result<()> {
        for (run, segments) in self.journal_segments(|_| true).await? {
            let mut text = Vec::new();
            for segment in segments {
                let bucket = self.bucket.clone();
                if let Some((bytes, _)) = self.bucket.run(async move { bucket.get(&segment).await }).await? {
                    text.extend_from_slice(&bytes);
                }
            }
            write_file(&crate::journal::journal_path(&self.dir, &run), &text)?;
        }
        Ok(())
    }

    /// The journal segments in the bucket whose scope tag passes `keep`, by run, in order.
    async fn journal_segments(&self, keep: impl Fn(&str) -> bool) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
        let bucket = self.bucket.clone();
        let listed = self.bucket.run(async move { bucket.list(JOURNAL_DIR).await }).await?;
        let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for object in listed {
            let Some((tag, run, _)) = parse_segment(&object.name) else {
                continue;
            };
            if keep(tag) {
                runs.entry(run.to_owned()).or_default().push(object.name.clone());
            }
        }
        // Segment numbers are zero-padded: name order is write order.
        for segments in runs.values_mut() {
            segments.sort();
        }
        Ok(runs)
    }

    /// Compacts into the bucket the journals of runs that hold no live lease (killed runs),
    /// and removes what they wrote after their last checkpoint.
    async fn recover_killed_runs(&self) -> anyhow::Result<Vec<Recovery>> {
        let bucket = self.bucket.clone();
        let live = self
            .bucket
            .run(async move { lease::live_scopes(&bucket).await })
            .await?;
        let own = self.scope.tag();
        let live_tags: HashSet<String> = live.iter().map(|s| s.tag()).filter(|t| *t != own).collect();
        let dead = self.journal_segments(|tag| !live_tags.contains(tag)).await?;
        let mut recoveries = Vec::new();
        for (run, segments) in dead {
            let scratch = self.dir.join(SCRATCH_DIR).join("recover");
            let mut text = Vec::new();
            for segment in &segments {
                let bucket = self.bucket.clone();
                let name = segment.clone();
                if let Some((bytes, _)) = self.bucket.run(async move { bucket.get(&name).await }).await? {
                    text.extend_from_slice(&bytes);
                }
            }
            let path = crate::journal::journal_path(&scratch, &run);
            write_file(&path, &text)?;
            let recorded = crate::journal::read(&path)?;
            let recovery = Recovery {
                run: run.clone(),
                links: recorded.links.len(),
                dropped_links: recorded.unpromised_lines,
                cut: Vec::new(),
                damage: Vec::new(),
            };
            let kept: HashSet<String> = recorded.warc_lengths.keys().cloned().collect();
            self.compact(vec![recorded]).await?;
            // WARC files the run uploaded after its last segment: no journal names them.
            let bucket = self.bucket.clone();
            let warcs = self.bucket.run(async move { bucket.list(WARC_DIR).await }).await?;
            for warc in warcs {
                if crate::journal::run_id_of_warc(&warc.name) == Some(run.as_str()) && !kept.contains(&warc.name) {
                    self.delete(&warc.name).await?;
                }
            }
            for segment in segments {
                self.delete(&segment).await?;
            }
            let _ = std::fs::remove_dir_all(&scratch);
            recoveries.push(recovery);
        }
        Ok(recoveries)
    }

    async fn delete(&self, name: &str) -> anyhow::Result<()> {
        let bucket = self.bucket.clone();
        let key = name.to_owned();
        self.bucket.run(async move { bucket.delete(&key).await }).await?;
        Ok(())
    }

    /// Lays `journals` over the bucket's manifest and merges their CDXJ lines into its index,
    /// each replaced only if no one else replaced it since it was read; on a conflict, reads
    /// both again and starts over. The working copy's manifest and index become the results.
    pub async fn compact(&self, journals: Vec<Recorded>) -> anyhow::Result<()> {
        let scratch = self.dir.join(SCRATCH_DIR).join("compact");
        let cdxj: Vec<String> = journals
            .iter()
            .flat_map(|j| j.cdxj_lines().map(str::to_owned))
            .collect();
        for attempt in 1..=COMPACT_TRIES {
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
            let mut versions = HashMap::new();
            for name in [MANIFEST_FILE, INDEX_FILE] {
                // The working copy's file when the bucket's is still the version it came from:
                // a run that met no other writer downloads the manifest and the index once.
                let known = self.state().synced.get(name).and_then(|s| s.version.clone());
                let local = self.dir.join(name);
                let bucket = self.bucket.clone();
                let key = name.to_owned();
                let got = match known {
                    Some(known) if local.is_file() => {
                        let check = known.clone();
                        match self
                            .bucket
                            .run(async move { bucket.get_if_changed(&key, &check).await })
                            .await?
                        {
                            None => {
                                std::fs::copy(&local, scratch.join(name))
                                    .with_context(|| format!("cannot copy {}", local.display()))?;
                                versions.insert(name, known);
                                continue;
                            }
                            Some(got) => got,
                        }
                    }
                    _ => {
                        let to = scratch.join(name);
                        let found = self
                            .bucket
                            .run(async move { bucket.download_file(&key, &to).await })
                            .await?;
                        if let Some(version) = found {
                            versions.insert(name, version);
                        }
                        continue;
                    }
                };
                if let Some((bytes, version)) = got {
                    write_file(&scratch.join(name), &bytes)?;
                    versions.insert(name, version);
                }
            }
            let mut manifest = ManifestUpdate::load(&scratch, &[])?;
            for journal in &journals {
                manifest.apply(journal.links.clone());
            }
            manifest.updated_at = Some(crate::report::timestamp(chrono::Utc::now()));
            manifest.save(&scratch)?;
            drop(manifest);
            crate::warc::merge_cdxj(&scratch.join(INDEX_FILE), cdxj.clone())
                .with_context(|| format!("cannot merge the index in {}", scratch.display()))?;
            test_conflict_hook(&self.bucket, attempt).await;
            // The index first: a manifest never names a capture its index lacks.
            let mut conflict = false;
            let mut written = HashMap::new();
            for name in [INDEX_FILE, MANIFEST_FILE] {
                let bytes = Bytes::from(
                    std::fs::read(scratch.join(name)).with_context(|| format!("cannot read {}", scratch.display()))?,
                );
                let bucket = self.bucket.clone();
                let (key, expected) = (name.to_owned(), versions.get(name).cloned());
                let result = self
                    .bucket
                    .run(async move { bucket.put_if(&key, bytes, expected.as_ref()).await })
                    .await?;
                match result {
                    Written::Done(version) => {
                        written.insert(name, version);
                    }
                    Written::Conflict => {
                        conflict = true;
                        break;
                    }
                }
            }
            if conflict {
                tracing::info!(
                    attempt,
                    "another run changed the manifest or the index meanwhile; compacting again"
                );
                let pause = Duration::from_millis(fastrand::u64(20..=100 * u64::from(attempt.min(10))));
                tokio::time::sleep(pause).await;
                continue;
            }
            for (name, version) in written {
                let path = self.dir.join(name);
                std::fs::rename(scratch.join(name), &path)
                    .with_context(|| format!("cannot update {}", path.display()))?;
                let synced = synced_now(&path, Some(version))?;
                self.state().synced.insert(name.to_owned(), synced);
            }
            let _ = std::fs::remove_dir_all(&scratch);
            return Ok(());
        }
        anyhow::bail!(
            "cannot compact into {}: other runs kept changing its manifest for {COMPACT_TRIES} tries; the journal is left for the next run",
            self.bucket.url()
        )
    }

    /// Makes a file of the working copy (a WARC file, a run report) local: fetched from the
    /// bucket when it is there and not here yet. Blocking; call from the synchronous readers.
    pub fn fetch_missing(&self, name: &str) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        if path.exists() {
            return Ok(());
        }
        let _one_at_a_time = self.fetching.lock().expect("no panics while fetching");
        if path.exists() {
            return Ok(());
        }
        let bucket = self.bucket.clone();
        let (key, local) = (name.to_owned(), path.clone());
        let found = self
            .bucket
            .block(async move { bucket.download_file(&key, &local).await })?;
        if found.is_some() {
            let synced = synced_now(&path, None)?;
            let mut state = self.state();
            if name.starts_with(&format!("{WARC_DIR}/")) {
                state.remote_warcs.insert(name.to_owned());
            }
            state.synced.insert(name.to_owned(), synced);
        }
        Ok(())
    }

    /// Fetches the latest `latest` run reports (`runs/*.json`) the working copy lacks: `serve`
    /// tells each link's history from them. Reports never change once written, so one already
    /// here is not fetched again. Blocking.
    pub fn fetch_run_reports(&self, latest: usize) -> anyhow::Result<()> {
        let bucket = self.bucket.clone();
        let listed = self.bucket.block(async move { bucket.list(RUNS_DIR).await })?;
        let names: Vec<String> = listed
            .into_iter()
            .map(|listed| listed.name)
            .filter(|name| name.ends_with(".json"))
            .collect();
        // Listed in name order, which is the order the runs started.
        for name in &names[names.len().saturating_sub(latest)..] {
            self.fetch_missing(name)?;
        }
        Ok(())
    }

    /// Fetches every WARC file of the bucket not yet in the working copy: for the commands
    /// that read them all (`verify`, `export`, `repair`). Blocking.
    pub fn fetch_all_warcs(&self) -> anyhow::Result<()> {
        if self.state().listed {
            return Ok(());
        }
        let bucket = self.bucket.clone();
        let listed = self.bucket.block(async move { bucket.list(WARC_DIR).await })?;
        for warc in listed {
            if warc.name.ends_with(".warc.gz") || warc.name.ends_with(".warc") {
                self.fetch_missing(&warc.name)?;
            }
        }
        self.state().listed = true;
        Ok(())
    }

    /// A checkpoint of a run (after its local checkpoint): uploads every WARC file in
    /// `finished` not yet uploaded and removes it from the working copy, then the journal's
    /// lines since the last checkpoint as a new segment. Blocking.
    pub fn publish_checkpoint(&self, finished: &[String], journal: &Path, run_id: &str) -> anyhow::Result<()> {
        for name in finished {
            if self.state().remote_warcs.contains(name) {
                continue;
            }
            let path = self.dir.join(name);
            let bucket = self.bucket.clone();
            let (key, local) = (name.clone(), path.clone());
            self.bucket
                .block(async move { bucket.upload_file(&key, &local).await })?;
            self.state().remote_warcs.insert(name.clone());
            // Read back from the bucket if it is needed again (a later capture's revisit).
            let _ = std::fs::remove_file(&path);
        }
        let sent = self.state().journal_sent;
        let mut file =
            std::fs::File::open(journal).with_context(|| format!("cannot read the journal {}", journal.display()))?;
        let mut lines = Vec::new();
        file.seek(SeekFrom::Start(sent))
            .and_then(|_| file.read_to_end(&mut lines))
            .with_context(|| format!("cannot read the journal {}", journal.display()))?;
        if lines.is_empty() {
            return Ok(());
        }
        let number = self.state().segments.len();
        let name = format!("{JOURNAL_DIR}/{}/{run_id}-{number:06}.jsonl", self.scope.tag());
        let bucket = self.bucket.clone();
        let key = name.clone();
        let len = lines.len() as u64;
        let written = self
            .bucket
            .block(async move { bucket.put_if(&key, Bytes::from(lines), None).await })?;
        if let Written::Conflict = written {
            anyhow::bail!("the journal segment {} exists already", self.bucket.url_of(&name));
        }
        let mut state = self.state();
        state.journal_sent = sent + len;
        state.segments.push(name);
        Ok(())
    }

    /// Ends a run: compacts its journal (read from the working copy) into the bucket, then
    /// removes its segments. Fails, compacting nothing, when the lease was taken over.
    pub async fn compact_run(&self, journal: &Path) -> anyhow::Result<()> {
        self.check_lease()?;
        let recorded = crate::journal::read(journal)?;
        self.compact(vec![recorded]).await?;
        let segments = std::mem::take(&mut self.state().segments);
        for segment in segments {
            self.delete(&segment).await?;
        }
        Ok(())
    }

    /// Fails when this command's lease was taken over by another run.
    pub fn check_lease(&self) -> anyhow::Result<()> {
        if let Some(lease) = &*self.lease.lock().expect("no panics while the lease is held") {
            lease.check()?;
        }
        Ok(())
    }

    /// Sends back what the command changed in the working copy: new and changed files go up
    /// (the manifest and the index only if unchanged in the bucket since they were read),
    /// files it removed go. Journals and scratch work stay behind.
    pub async fn write_back(&self) -> anyhow::Result<()> {
        self.check_lease()?;
        let local = walk(&self.dir).with_context(|| format!("cannot list {}", self.dir.display()))?;
        let present: HashSet<&String> = local.iter().map(|(name, _)| name).collect();
        for (name, path) in &local {
            let synced = self.state().synced.get(name).cloned();
            let now = synced_now(path, None)?;
            if synced
                .as_ref()
                .is_some_and(|s| s.size == now.size && s.modified == now.modified)
            {
                continue;
            }
            let bucket = self.bucket.clone();
            let key = name.clone();
            let version = if matches!(name.as_str(), MANIFEST_FILE | INDEX_FILE) {
                let bytes =
                    Bytes::from(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?);
                let expected = synced.and_then(|s| s.version);
                let written = self
                    .bucket
                    .run(async move { bucket.put_if(&key, bytes, expected.as_ref()).await })
                    .await?;
                match written {
                    Written::Done(version) => Some(version),
                    Written::Conflict => anyhow::bail!(
                        "{} was changed by another run while this one worked; nothing of it was replaced: run the command again",
                        self.bucket.url_of(name)
                    ),
                }
            } else {
                let local = path.clone();
                self.bucket
                    .run(async move { bucket.upload_file(&key, &local).await })
                    .await?;
                None
            };
            let synced = synced_now(path, version)?;
            self.state().synced.insert(name.clone(), synced);
        }
        let gone: Vec<String> = self
            .state()
            .synced
            .keys()
            .filter(|name| !present.contains(name))
            .cloned()
            .collect();
        for name in gone {
            self.delete(&name).await?;
            self.state().synced.remove(&name);
        }
        Ok(())
    }

    /// Gives the lease up and removes the working copy.
    pub async fn close(&self) -> anyhow::Result<()> {
        let lease = self.lease.lock().expect("no panics while the lease is held").take();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(lease) = lease {
            let bucket = self.bucket.clone();
            bucket.run(async move { lease.release().await }).await?;
        }
        Ok(())
    }
}

/// `journal/<tag>/<run>-<n>.jsonl` split into its tag, run id and number.
fn parse_segment(name: &str) -> Option<(&str, &str, u32)> {
    let rest = name.strip_prefix(JOURNAL_DIR)?.strip_prefix('/')?;
    let (tag, file) = rest.split_once('/')?;
    let stem = file.strip_suffix(".jsonl")?;
    let (run, number) = stem.rsplit_once('-')?;
    let number = number.parse().ok()?;
    (!tag.is_empty() && !run.is_empty() && !run.contains('/')).then_some((tag, run, number))
}

/// What a working-copy file is now.
fn synced_now(path: &Path, version: Option<Version>) -> anyhow::Result<Synced> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Synced {
        size: meta.len(),
        modified: meta.modified().ok(),
        version,
    })
}

/// Writes a fetched object into the working copy.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The working copy's files that belong in the bucket (not journals, scratch work, the local
/// lock or downloads in progress), by archive-relative name.
fn walk(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let path = entry.path();
            let Ok(relative) = path.strip_prefix(dir) else { continue };
            let Some(name) = relative.to_str().map(str::to_owned) else {
                continue;
            };
            let top = name.split('/').next().unwrap_or_default();
            if matches!(top, JOURNAL_DIR | SCRATCH_DIR | crate::store::TMP_DIR) || top.starts_with(lease::LEASE) {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && !name.contains(".download-") && !name.contains(".tmp-") {
                found.push((name, path));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// In debug builds, `LINKKEEP_TEST_COMPACT_CONFLICT` makes the first compaction attempt find
/// the manifest replaced by someone else between reading and writing it: how the tests show a
/// conflicting write is retried and nothing is lost. (Two real runs meet there only by chance.)
async fn test_conflict_hook(bucket: &Bucket, attempt: u32) {
    #[cfg(debug_assertions)]
    if attempt == 1 && std::env::var_os("LINKKEEP_TEST_COMPACT_CONFLICT").is_some() {
        let bucket = bucket.clone();
        let _ = bucket
            .clone()
            .run(async move {
                if let Ok(Some((bytes, _))) = bucket.get(MANIFEST_FILE).await {
                    // Other bytes (an e-tag is the content's MD5): a trailing newline.
                    let mut changed = bytes.to_vec();
                    changed.push(b'\n');
                    let _ = bucket.put(MANIFEST_FILE, Bytes::from(changed)).await;
                } else {
                    let _ = bucket
                        .put(
                            MANIFEST_FILE,
                            Bytes::from_static(b"{\"schema_version\":2,\"links\":{}}\n"),
                        )
                        .await;
                }
            })
            .await;
    }
    #[cfg(not(debug_assertions))]
    let _ = (bucket, attempt);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_give_their_scope_run_and_number() {
        assert_eq!(
            parse_segment("journal/shard-1-of-4/20261206T020000Z-ab12-000003.jsonl"),
            Some(("shard-1-of-4", "20261206T020000Z-ab12", 3))
        );
        assert_eq!(
            parse_segment("journal/all/20261206T020000Z-ab12-000000.jsonl"),
            Some(("all", "20261206T020000Z-ab12", 0))
        );
        for bad in [
            "journal/20261206T020000Z-ab12.jsonl",
            "journal/all/x.jsonl",
            "warc/all/R-000001.jsonl",
            "journal/all/R-000001.json",
        ] {
            assert_eq!(parse_segment(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_walk_leaves_out_journals_scratch_and_locks() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "manifest.json",
            "index.cdxj",
            "warc/R.warc.gz",
            "runs/R.json",
            "journal/R.jsonl",
            ".remote/compact/manifest.json",
            "tmp/x.part",
            ".lock",
            "warc/R.download-0000abcd",
        ] {
            write_file(&dir.path().join(name), b"x").unwrap();
        }
        let names: Vec<String> = walk(dir.path()).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["index.cdxj", "manifest.json", "runs/R.json", "warc/R.warc.gz"]);
    }
}
