//! `linkkeep archive`: fetch every link, write each new payload once into its WARC record
//! ([`crate::warc::run`]), point later captures of the same bytes at that record, and keep the
//! manifest current. Finished links go into the run's journal at checkpoints
//! during the run, so that a killed run loses only its last few seconds of work, and into the
//! manifest and the index when it ends. With `--submit`, the run then asks a public archive to
//! copy its new and changed captures (`submit`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED,
};
use serde_json::Map;
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use tracing::Instrument;

use self::record::Recorder;
use self::requisites::Requisites;
use self::submit::Submitter;
use super::{Exit, RunLinks, emit_report, load_run_links, public_archive_lookups, release_at_exit};
use crate::cli::ArchiveArgs;
use crate::config::{Environment, GlobalConfig, NetworkConfig, OutputConfig, SubmitConfig};
use crate::fetch::Fetcher;
use crate::fetch::download;
use crate::journal::{self, Journal, Recovery};
use crate::links::{Link, LinksFile};
use crate::lock::ArchiveLock;
use crate::manifest::{Capture, LastCheck, ManifestError, ManifestUpdate, Snapshot};
use crate::outcome::{LinkResult, Outcome};
use crate::output::write_text;
use crate::progress::Progress;
use crate::report::{Report, new_run_id, timestamp};
use crate::schedule::Window;
use crate::soft404::{Soft404, title_warning};
use crate::store::{PayloadSink, Store, hex};
use crate::text;
use crate::title::TitleSample;
use crate::warc::run::{Exchange, Original, RawBody, ReceivedBody, RunWarc};
use crate::warc::{PROFILE_SERVER_NOT_MODIFIED, merge_cdxj, sha256_label, warc_date};

mod record;
mod requisites;
mod submit;

/// Where run reports go, relative to the archive.
pub const RUNS_DIR: &str = "runs";
/// The CDXJ index of every WARC record, relative to the archive.
pub const INDEX_FILE: &str = "index.cdxj";
/// Make a checkpoint at least this often while links finish…
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);
/// …and sooner once this many links are waiting for one (but not more often than
/// [`CHECKPOINT_MIN_GAP`], so that a fast run does not flush the disk for every few links).
const CHECKPOINT_LINKS: usize = 25;
const CHECKPOINT_MIN_GAP: Duration = Duration::from_millis(250);
/// Both intervals stretch to this many times the last checkpoint: a flush of the archive's
/// filesystem can take seconds on a slow disk, and a run should spend most of its time
/// archiving.
const CHECKPOINT_COST_FACTOR: u32 = 4;

/// An archive opened for writing: locked, its manifest loaded (a whole
/// [`Manifest`](crate::manifest::Manifest), or a [`ManifestUpdate`] for a run), its leftovers
/// cleaned.
pub struct OpenArchive<M> {
    /// The archive directory's housekeeping (its `tmp/`, its flush).
    pub store: Store,
    /// The manifest as loaded.
    pub manifest: M,
    /// Killed runs whose journals were recovered on opening.
    pub recovered: Vec<Recovery>,
    _lock: ArchiveLock,
}

impl<M> OpenArchive<M> {
    /// Creates the archive directory if needed, takes its lock, recovers the journals of killed
    /// runs (each named in a warning), loads its manifest with `load` (a corrupt one stops the
    /// command before anything is written) and removes downloads a killed run left.
    pub async fn open(
        dir: &Path,
        command: &str,
        wait_lock: bool,
        load: impl FnOnce(&Path) -> Result<M, ManifestError>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the archive directory {}", dir.display()))?;
        let lock = ArchiveLock::acquire(dir, command, wait_lock).await?;
        let recovered = journal::recover(dir).with_context(|| format!("cannot recover {}", dir.display()))?;
        for recovery in &recovered {
            tracing::warn!("{recovery}");
        }
        let manifest = load(dir)?;
        let store = Store::new(dir);
        let removed = store
            .clean_tmp()
            .with_context(|| format!("cannot clean {}", dir.join(crate::store::TMP_DIR).display()))?;
        if removed > 0 {
            tracing::info!(removed, "removed unfinished downloads of an interrupted run");
        }
        Ok(Self {
            store,
            manifest,
            recovered,
            _lock: lock,
        })
    }
}

/// Runs `linkkeep archive`.
pub async fn run(global: &GlobalConfig, args: &ArchiveArgs, env: &Environment) -> anyhow::Result<Exit> {
    let network = NetworkConfig::new(&args.network, env)?;
    let output = OutputConfig::new(&args.output, env);
    // Missing keys stop the run here, before any request and before anything is written.
    let submitter = SubmitConfig::new(&args.submit, env)?
        .map(|config| Submitter::new(&config, &network, &global.archive_dir))
        .transpose()?;
    let requisite_limits = crate::requisites::Limits {
        max: if args.no_requisites { 0 } else { args.max_requisites },
        bytes: crate::config::parse_size(&args.max_requisite_bytes)
            .map_err(|e| anyhow::anyhow!("invalid --max-requisite-bytes: {e}"))?,
    };
    let RunLinks { file: links, outside } = load_run_links(&global.links_path, args.shard.shard)?;
    let mut lookups = public_archive_lookups(&args.public_archive, &network)?;
    let fetcher = Fetcher::new(network).context("cannot set up HTTP")?;
    let OpenArchive {
        store,
        mut manifest,
        recovered,
        _lock,
    } = OpenArchive::open(&global.archive_dir, "archive", args.wait_lock, |dir| {
        // New links' entries appear in links.json order, whatever order the links finish in.
        // Entries of links outside the shard are left to their shard's runs, untouched.
        ManifestUpdate::load_beside(dir, &links.links, &outside)
    })
    .await?;
    let fetcher = Arc::new(fetcher);
    let soft_404 = Arc::new(Soft404::new(fetcher.config().soft_404_probes));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let text_slots = Arc::new(tokio::sync::Semaphore::new(cores));

    let started = Utc::now();
    let run_id = new_run_id(started);
    // The journal first: while it exists, readers know the run's WARC file may end inside a
    // record it is writing.
    let journal = Journal::create(store.root(), &run_id)
        .with_context(|| format!("cannot create a journal in {}", store.root().display()))?;
    let warc = Arc::new(
        RunWarc::create(store.root(), &run_id, warc_date(started), &warcinfo(&links, &fetcher))
            .with_context(|| format!("cannot create a WARC file in {}", store.root().display()))?,
    );
    let mut warnings: Vec<String> = recovered.iter().map(ToString::to_string).collect();
    // A bucket archive's lease taken over, its killed runs recovered: the report says so too.
    warnings.extend(
        crate::storage::remote()
            .map(|remote| remote.opening_warnings())
            .unwrap_or_default(),
    );
    let renamed_from: HashMap<String, String> = manifest
        .renames()
        .iter()
        .map(|(old, new)| (new.clone(), old.clone()))
        .collect();
    for (old, new) in manifest.renames() {
        warnings.push(format!(
            "the manifest entry \"{old}\" has the URL of link \"{new}\" and was renamed to it"
        ));
    }
    let progress = Progress::new(global.progress && global.verbose == 0, links.links.len(), "archiving");
    let recorder = Recorder::new(Arc::clone(&fetcher), store.clone(), Arc::clone(&warc));
    let requisites = (requisite_limits.max > 0)
        .then(|| Arc::new(Requisites::new(recorder.clone(), requisite_limits, run_id.clone())));
    // The latest snapshot is read when a link starts: a run records each link only once.
    let task = |index: usize, manifest: &ManifestUpdate| {
        let link = &links.links[index];
        let job = LinkJob {
            fetcher: Arc::clone(&fetcher),
            recorder: recorder.clone(),
            requisites: requisites.clone(),
            link: link.clone(),
            history: manifest
                .entry(&link.id)
                .map(|e| e.snapshots.clone())
                .unwrap_or_default(),
            run: run_id.clone(),
            read_text: !args.no_text,
            skip_cosmetic: args.skip_cosmetic,
            soft_404: Arc::clone(&soft_404),
            text_slots: Arc::clone(&text_slots),
        };
        let span = tracing::info_span!("link", id = %link.id);
        job.run().instrument(span)
    };
    let mut window = Window::for_fetcher(&links.links, &fetcher);
    window.fill(|index| task(index, &manifest));

    let mut results: Vec<Option<LinkResult>> = vec![None; links.links.len()];
    let mut index_lines = Vec::new();
    // An archive in object storage makes fewer, larger checkpoints: each one uploads the run's
    // WARC file so far as an object of its own.
    let mut checkpoint = Checkpoint::new(if crate::storage::remote().is_some() {
        remote_checkpoint_scale()
    } else {
        1
    });
    // A checkpoint runs on the blocking pool (a flush can take seconds on a slow disk, and the
    // runtime's threads have downloads to drive meanwhile) and takes the journal with it. The
    // window goes on meanwhile: links finished during a checkpoint are collected, so that their
    // slots go to the next links at once, and held until the journal is back (issue #19: a run
    // that waited for each checkpoint left slots idle for a sixth of its time).
    let mut journal = Some(journal);
    let mut flushing: Option<Flush> = None;
    // Links collected from the window so far (a debug-build test hook watches it).
    let collected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut held = std::collections::VecDeque::new();
    loop {
        let next = match (journal.as_ref(), held.pop_front()) {
            (Some(_), Some(done)) => Some(done),
            (_, early) => {
                if let Some(done) = early {
                    held.push_front(done);
                }
                // Links finished while the others are still downloading reach the journal in
                // time even when nothing else finishes for a while (a stalled download, say).
                let due = journal
                    .as_ref()
                    .and_then(|journal| checkpoint.next_due(journal.pending()));
                let event = tokio::select! {
                    // A finished checkpoint, then a due one, first, however busy the window.
                    biased;
                    back = finish_flush(&mut flushing) => Event::Flushed(back),
                    () = sleep_until_some(due) => Event::Due,
                    next = window.next() => Event::Finished(next),
                };
                // The window is empty but a checkpoint is still under way: wait for it here,
                // rather than spin on an empty window.
                let event = match event {
                    Event::Finished(None) if flushing.is_some() => Event::Flushed(finish_flush(&mut flushing).await),
                    event => event,
                };
                match event {
                    Event::Flushed(back) => {
                        let (started, (back, made)) = back?;
                        journal = Some(back);
                        made?;
                        checkpoint.saved(started.elapsed());
                        continue;
                    }
                    Event::Due => {
                        let mut taken = journal.take().expect("a checkpoint is due only with the journal home");
                        let (warc, store) = (Arc::clone(&warc), store.clone());
                        let _collected = Arc::clone(&collected);
                        flushing = Some(Flush {
                            started: Instant::now(),
                            task: tokio::task::spawn_blocking(move || {
                                #[cfg(debug_assertions)]
                                hold_first_checkpoint(&_collected);
                                let made = make_checkpoint(&mut taken, &warc, &store);
                                (taken, made)
                            }),
                        });
                        continue;
                    }
                    Event::Finished(Some(done)) if journal.is_none() => {
                        collected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        held.push_back(done);
                        window.fill(|index| task(index, &manifest));
                        continue;
                    }
                    Event::Finished(Some(done)) => {
                        collected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        Some(done)
                    }
                    Event::Finished(None) => None,
                }
            }
        };
        let Some((index, archived)) = next else { break };
        let archived = match archived {
            Ok(archived) => archived,
            Err(e) => {
                // Keep what finished, then stop: the disk is full or the archive unwritable.
                window.abort();
                let journal = journal.take().expect("results are taken only with the journal home");
                compact(&mut manifest, journal, &warc, &store, index_lines).await?;
                return Err(e.into());
            }
        };
        let journal = journal.as_mut().expect("results are taken only with the journal home");
        let link = &links.links[index];
        let mut result = archived.result;
        warnings.extend(archived.warnings);
        if let Some(check) = archived.check {
            result.change = manifest.record(&link.id, &link.url, check, archived.capture)?;
            if result.change != Some(crate::outcome::Change::Changed) {
                result.similarity = None;
            }
            let entry = manifest.entry(&link.id).expect("a recorded entry is read");
            let renamed = renamed_from.get(&link.id).map(String::as_str);
            journal
                .add(&link.id, renamed, entry, &archived.index_lines)
                .with_context(|| format!("cannot write the journal {}", journal.path().display()))?;
            index_lines.extend(archived.index_lines);
        }
        progress.link_done(result.outcome.is_failure());
        if let Some(lookups) = &mut lookups {
            // The copy sought is the latest at or before the cited capture, the link's first
            // snapshot; one made by this run is now, when any copy is at or before it.
            let cited = manifest.entry(&link.id).and_then(|e| e.snapshots.first());
            let cited = cited.filter(|s| s.run != run_id);
            lookups.start(index, link, result.outcome, cited.map(|s| s.first_seen.as_str()));
        }
        results[index] = Some(result);
        window.fill(|index| task(index, &manifest));
    }
    let journal = journal.expect("the journal is home once every link is in");
    compact(&mut manifest, journal, &warc, &store, index_lines).await?;
    progress.finish();

    let mut results: Vec<LinkResult> = results
        .into_iter()
        .map(|r| r.expect("every link has a result"))
        .collect();
    if let Some(lookups) = lookups {
        warnings.extend(lookups.finish(&mut results).await);
    }
    // After the compaction: a submission is only ever made of a capture the manifest holds.
    match &submitter {
        Some(submitter) => warnings.extend(submitter.run(&mut manifest, &mut results).await?),
        None => warnings.extend(submit::pending_warning(store.root())),
    }
    release_at_exit(manifest);
    let mut report = Report::new("archive", run_id.clone(), started, Utc::now(), results);
    report.shard = args.shard.shard;
    report.warnings = warnings;
    let runs = store.root().join(RUNS_DIR);
    let report_path = runs.join(format!("{run_id}.json"));
    std::fs::create_dir_all(&runs)
        .and_then(|()| write_text(&report_path, &report.render(crate::config::Format::Json, false)))
        .with_context(|| format!("cannot write the run report {}", report_path.display()))?;
    emit_report(&report, &output, global)?;
    let drifted = args.fail_on_change.is_some_and(|rule| rule.fails(&report.summary));
    Ok(if report.has_failures() || drifted {
        Exit::Failures
    } else {
        Exit::Success
    })
}

/// A checkpoint: the WARC records of the links finished since the last one are made durable,
/// then the journal lines that name them. Blocking.
fn make_checkpoint(journal: &mut Journal, warc: &RunWarc, store: &Store) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (archive, links) = (store.root(), journal.pending());
    let remote = crate::storage::remote();
    if remote.is_some() {
        // Objects cannot be appended to: the shared file goes up whole, and the run goes on
        // in the next one.
        warc.seal()
            .with_context(|| format!("cannot start a WARC file in {}", archive.display()))?;
    }
    let lengths = warc.lengths();
    if remote.is_none() {
        store
            .sync()
            .with_context(|| format!("cannot flush {} to disk", archive.display()))?;
    }
    journal
        .checkpoint(&timestamp(Utc::now()), lengths)
        .with_context(|| format!("cannot write the journal {}", journal.path().display()))?;
    if let Some(remote) = remote {
        // The WARC files first, then the journal segment that names them.
        remote.publish_checkpoint(&warc.finished(), journal.path(), warc.run_id())?;
    }
    // benches/run.sh sums these to show that checkpoints cost what they hold, not the archive.
    tracing::info!(links, micros = started.elapsed().as_micros() as u64, "checkpoint");
    Ok(())
}

/// Ends a run: a last checkpoint, then the manifest and the index take in what the journal
/// holds (`index_lines` are its CDXJ lines), and the journal goes. A failure leaves the
/// journal for the next writing command to recover.
async fn compact(
    manifest: &mut ManifestUpdate,
    mut journal: Journal,
    warc: &RunWarc,
    store: &Store,
    index_lines: Vec<String>,
) -> anyhow::Result<()> {
    make_checkpoint(&mut journal, warc, store)?;
    if let Some(remote) = crate::storage::remote() {
        // The bucket's manifest and index take in the journal (other shards may have
        // compacted meanwhile); the working copy's become theirs.
        remote.compact_run(journal.path()).await?;
        warc.remove_if_empty()
            .with_context(|| format!("cannot clean {}", archive_display(store)))?;
        let path = journal.path().to_owned();
        return journal
            .remove()
            .with_context(|| format!("cannot remove the compacted journal {}", path.display()));
    }
    let archive = store.root();
    manifest.updated_at = Some(timestamp(Utc::now()));
    manifest.save(archive)?;
    let index = archive.join(INDEX_FILE);
    merge_cdxj(&index, index_lines).with_context(|| format!("cannot update {}", index.display()))?;
    let path = journal.path().to_owned();
    journal
        .remove()
        .with_context(|| format!("cannot remove the compacted journal {}", path.display()))
}

fn archive_display(store: &Store) -> String {
    store.root().display().to_string()
}

/// How many times the usual intervals apart a bucket archive's checkpoints are: 5 (every
/// 10 s, or 125 links). In debug builds `LINKKEEP_TEST_CHECKPOINT_SCALE` sets it, so that the
/// crash tests see a checkpoint without waiting 10 s.
fn remote_checkpoint_scale() -> u32 {
    #[cfg(debug_assertions)]
    if let Some(scale) = std::env::var("LINKKEEP_TEST_CHECKPOINT_SCALE")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&v| v > 0)
    {
        return scale;
    }
    5
}

/// In debug builds, `LINKKEEP_TEST_CHECKPOINT_HOLD=N` holds the run's first checkpoint until N
/// more links have been collected from the window (at most 20 s), and logs how many were: a
/// test's proof that links go on finishing, and starting, while a checkpoint flushes.
#[cfg(debug_assertions)]
fn hold_first_checkpoint(collected: &std::sync::atomic::AtomicUsize) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static HELD: AtomicBool = AtomicBool::new(false);
    let Some(n) = std::env::var("LINKKEEP_TEST_CHECKPOINT_HOLD")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    if HELD.swap(true, Ordering::Relaxed) {
        return;
    }
    let start = collected.load(Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while collected.load(Ordering::Relaxed) < start + n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let during = collected.load(Ordering::Relaxed) - start;
    tracing::info!(during, "links collected while the first checkpoint was held");
}

/// A checkpoint under way on the blocking pool, holding the journal.
struct Flush {
    started: Instant,
    task: tokio::task::JoinHandle<(Journal, anyhow::Result<()>)>,
}

/// What the run loop waits for.
enum Event<T> {
    /// The checkpoint under way finished: when it started, the journal and its outcome.
    Flushed(anyhow::Result<(Instant, (Journal, anyhow::Result<()>))>),
    /// A checkpoint is due.
    Due,
    /// A link finished, or (`None`) the window is empty.
    Finished(Option<T>),
}

/// Waits for the checkpoint under way, and takes it; never ready when there is none.
async fn finish_flush(flushing: &mut Option<Flush>) -> anyhow::Result<(Instant, (Journal, anyhow::Result<()>))> {
    let Some(flush) = flushing.as_mut() else {
        return std::future::pending().await;
    };
    let done = (&mut flush.task).await.context("a checkpoint failed");
    let started = flush.started;
    *flushing = None;
    Ok((started, done?))
}

/// Sleeps until `due`, or for ever when there is nothing to wait for.
async fn sleep_until_some(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// The warcinfo fields of a run: what was archived, from which list, by whom.
fn warcinfo(links: &LinksFile, fetcher: &Fetcher) -> Vec<(&'static str, String)> {
    let mut info = vec![(
        "http-header-user-agent",
        String::from_utf8_lossy(fetcher.config().user_agent.as_bytes()).into_owned(),
    )];
    let source = links.source.as_ref();
    let field = |name| {
        source
            .and_then(|s| s.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    if let Some(title) = field("title") {
        info.push(("isPartOf", title));
    }
    if let Some(document) = field("document") {
        info.push(("description", format!("links cited by {document}")));
    }
    info.push(("links-file", links.path.display().to_string()));
    info
}

/// When to make a checkpoint during a run.
struct Checkpoint {
    last: Instant,
    /// How long the last checkpoint took.
    cost: Duration,
    /// How many times the usual intervals and link count apart checkpoints are.
    scale: u32,
}

impl Checkpoint {
    fn new(scale: u32) -> Self {
        Self {
            last: Instant::now(),
            cost: Duration::ZERO,
            scale,
        }
    }

    /// When the next checkpoint is due with `pending` links finished since the last; `None`
    /// while there is nothing to make durable.
    fn next_due(&self, pending: usize) -> Option<Instant> {
        let at_least = |interval: Duration| (interval * self.scale).max(self.cost * CHECKPOINT_COST_FACTOR);
        match pending {
            0 => None,
            n if n >= CHECKPOINT_LINKS * self.scale as usize => Some(self.last + at_least(CHECKPOINT_MIN_GAP)),
            _ => Some(self.last + at_least(CHECKPOINT_EVERY)),
        }
    }

    fn saved(&mut self, cost: Duration) {
        self.last = Instant::now();
        self.cost = cost;
    }
}

/// A local failure while storing a body: the run cannot go on (exit 2), unlike a link failure.
#[derive(Debug, thiserror::Error)]
#[error("cannot store a download in {}", dir.display())]
pub struct StoreError {
    /// The archive directory.
    pub dir: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// What archiving one link produced.
struct Archived {
    /// The report entry (its `change` is filled in when recorded).
    result: LinkResult,
    /// The check to record; `None` for an excluded link, which leaves the manifest alone.
    check: Option<LastCheck>,
    /// The capture to record, when the fetch succeeded.
    capture: Option<Capture>,
    /// CDXJ lines for the WARC records written.
    index_lines: Vec<String>,
    /// For the run's warnings: a damaged record this capture stood in for, a title that
    /// reads like a missing page, a redirect that leads elsewhere than it did.
    warnings: Vec<String>,
}

/// What an accepted response left behind.
enum Received {
    /// A 304 to a conditional request.
    NotModified { exchange: Arc<Exchange> },
    /// A body: as received, ready for its record, and what its decoded payload showed.
    Payload {
        exchange: Arc<Exchange>,
        body: ReceivedBody,
        payload: Box<PayloadSeen>,
    },
}

/// What `archive` keeps of a decoded payload while it streams by: its size, its SHA-256 (for
/// a body without Content-Encoding, the record's payload digest is the same hash, so it is not
/// computed twice), the bytes its title is read from, and (for HTML and PDF) the bytes its
/// main text is read from.
struct PayloadSeen {
    hasher: Option<Sha256>,
    size: u64,
    title: TitleSample,
    text: Option<text::Sample>,
}

impl PayloadSink for PayloadSeen {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(hasher) = &mut self.hasher {
            hasher.update(bytes);
        }
        self.size += bytes.len() as u64;
        self.title.push(bytes);
        if let Some(text) = &mut self.text {
            text.push(bytes);
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// Everything one link's task needs.
struct LinkJob {
    fetcher: Arc<Fetcher>,
    recorder: Recorder,
    /// Fetches the requisites of HTML captures (none with `--no-requisites`).
    requisites: Option<Arc<Requisites>>,
    link: Link,
    /// The link's snapshots so far, oldest first.
    history: Vec<Snapshot>,
    run: String,
    /// Read captures' main text to tell cosmetic changes from real ones (not `--no-text`).
    read_text: bool,
    /// `--skip-cosmetic`: a cosmetic capture is a sighting of the latest snapshot.
    skip_cosmetic: bool,
    soft_404: Arc<Soft404>,
    /// Pages whose text may be read at once: one per core.
    text_slots: Arc<tokio::sync::Semaphore>,
}

impl LinkJob {
    fn latest(&self) -> Option<&Snapshot> {
        self.history.last()
    }

    async fn run(self) -> Result<Archived, StoreError> {
        let link = &self.link;
        if let Some(why) = self.fetcher.exclusion(&link.url) {
            return Ok(Archived {
                result: LinkResult::excluded(&link.id, &link.url, why),
                check: None,
                capture: None,
                index_lines: Vec::new(),
                warnings: Vec::new(),
            });
        }
        let extra_headers = request_headers(self.latest());
        // Redirects and error responses go into the WARC file too, as they were received.
        let other_lines = std::sync::Mutex::new(Vec::new());
        let other_error = std::sync::Mutex::new(None);
        let job = &self;
        let on_other = |response: reqwest::Response| {
            let (lines, error, extra) = (&other_lines, &other_error, &extra_headers);
            async move {
                match job.recorder.record_other(&job.link.url, response, extra).await {
                    Ok(line) => lines.lock().expect("not poisoned").push(line),
                    Err(e) => {
                        error.lock().expect("not poisoned").get_or_insert(e);
                    }
                }
            }
        };
        let extra = &extra_headers;
        let fetched = self
            .fetcher
            .fetch_observed(
                &link.parsed,
                &extra_headers,
                |response, deadline| async move {
                    let exchange = Arc::new(job.recorder.exchange(&job.link.url, &response, extra));
                    let limits = job.fetcher.body_limits(response.url());
                    if response.status() == StatusCode::NOT_MODIFIED {
                        return Ok(Ok(Received::NotModified { exchange }));
                    }
                    let identity = response.headers().get(CONTENT_ENCODING).is_none_or(|c| c == "identity");
                    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
                    let mut payload = PayloadSeen {
                        // Without Content-Encoding the payload is the body: its hash is the
                        // record's payload digest.
                        hasher: (!identity).then(Sha256::new),
                        size: 0,
                        title: TitleSample::new(content_type),
                        text: job.read_text.then(|| text::Sample::new(content_type)),
                    };
                    // A failed download drops the body, which removes its file, if it has one.
                    let mut raw = RawBody::new(Arc::clone(&job.recorder.warc), Arc::clone(&exchange));
                    match download::download(response, deadline, limits, &mut payload, Some(&mut raw)).await? {
                        Ok(()) => Ok(raw.finish().await.map(|body| Received::Payload {
                            exchange,
                            body,
                            payload: Box::new(payload),
                        })),
                        Err(e) => Ok(Err(e)),
                    }
                },
                on_other,
            )
            .await;
        if let Some(e) = other_error.into_inner().expect("not poisoned") {
            return Err(self.store_error(e));
        }
        let at = timestamp(Utc::now());
        let status = fetched.http_status.map(|s| s.as_u16());
        let (etag, last_modified) = (fetched.header(ETAG), fetched.header(LAST_MODIFIED));
        let final_url = fetched.final_url.to_string();
        let mut result = LinkResult {
            id: link.id.clone(),
            url: link.url.clone(),
            outcome: fetched.outcome,
            http_status: status,
            final_url: Some(final_url.clone()),
            redirects: fetched.redirects.clone(),
            attempts: fetched.attempts,
            elapsed_ms: fetched.elapsed.as_millis() as u64,
            content_type: fetched.header(CONTENT_TYPE),
            size: None,
            sha256: None,
            change: None,
            similarity: None,
            similarity_to_first: None,
            error: fetched.error.clone(),
            public_copy: None,
            submission: None,
            requisites: None,
        };
        let mut check = LastCheck {
            at: at.clone(),
            outcome: fetched.outcome,
            http_status: status,
            final_url: Some(final_url.clone()),
            error: fetched.error.clone(),
            run: self.run.clone(),
            extra: Map::new(),
        };
        let received = match fetched.body {
            None => None,
            Some(Err(source)) => return Err(self.store_error(source)),
            Some(Ok(received)) => Some(received),
        };
        let mut index_lines = other_lines.into_inner().expect("not poisoned");
        let mut warnings = Vec::new();
        let capture = match received {
            None => None,
            Some(Received::NotModified { exchange }) => {
                // 304: the latest snapshot is still current.
                let latest = self.latest();
                result.sha256 = latest.map(|s| s.sha256.clone());
                result.size = latest.map(|s| s.size);
                result.content_type = result
                    .content_type
                    .or_else(|| latest.and_then(|s| s.content_type.clone()));
                let original = latest.and_then(original_of);
                let line = self
                    .recorder
                    .write_revisit(exchange, PROFILE_SERVER_NOT_MODIFIED, original.clone())
                    .await
                    .map_err(|e| self.store_error(e))?;
                index_lines.push(line);
                // The page is as it was; what it needs may not be.
                let html = latest.is_some_and(|s| requisites::is_html(s.content_type.as_deref()));
                let requisites = match original.filter(|_| html) {
                    Some(original) => {
                        self.page_requisites(&final_url, &original, &mut index_lines, &mut warnings)
                            .await?
                    }
                    None => None,
                };
                result.requisites.clone_from(&requisites);
                Some(Capture::NotModified {
                    etag,
                    last_modified,
                    requisites: requisites.map(Box::new),
                })
            }
            Some(Received::Payload {
                exchange,
                body,
                payload,
            }) => {
                let PayloadSeen {
                    hasher,
                    size,
                    title,
                    text,
                } = *payload;
                let payload_digest = body.payload_digest();
                let sha256 = hex(&hasher.map_or(payload_digest, |h| h.finalize().into()));
                result.sha256 = Some(sha256.clone());
                result.size = Some(size);
                // When the response arrived: the time of its records, and of the snapshot.
                let captured = timestamp(exchange.date);
                let new_bytes = self.latest().is_none_or(|s| s.sha256 != sha256);
                let sample = text
                    .and_then(text::Sample::into_payload)
                    .map(|(content_type, bytes)| (content_type, Arc::new(bytes)));
                let judged = match &sample {
                    Some((content_type, bytes)) if new_bytes => {
                        self.judge_text(content_type.clone(), Arc::clone(bytes)).await
                    }
                    _ => None,
                };
                result.similarity = judged.as_ref().and_then(|j| j.fields.similarity);
                // How much of the cited version this capture keeps: its own comparison, or for
                // the bytes of the latest snapshot, what that one recorded.
                result.similarity_to_first = match (&judged, self.latest()) {
                    (Some(judged), _) => judged.fields.similarity_to_first,
                    (None, Some(latest)) if !new_bytes && self.history.len() > 1 => {
                        latest.text.as_ref().and_then(|t| t.similarity_to_first)
                    }
                    (None, Some(latest)) if !new_bytes => latest.text.as_ref().map(|_| 1.0),
                    (None, _) => None,
                };
                let judged_text = judged.as_ref().map(|j| j.text.clone());
                let (fetcher, soft_404) = (&self.fetcher, &self.soft_404);
                soft_404
                    .judge_result(fetcher, link, &mut result, async |_| {
                        if judged_text.is_some() {
                            return judged_text;
                        }
                        let (content_type, bytes) = sample?;
                        let read = move || text::main_text(content_type.as_deref(), &bytes);
                        tokio::task::spawn_blocking(read).await.ok().flatten()
                    })
                    .await;
                if result.outcome == Outcome::Soft404 {
                    // What the site sent is kept in the WARC file as received, but it is no
                    // capture of the cited page.
                    check.outcome = result.outcome;
                    check.error.clone_from(&result.error);
                    (result.similarity, result.similarity_to_first) = (None, None);
                    let (_, line, damaged) = self.store_body(exchange, body, &sha256_label(&payload_digest)).await?;
                    warnings.extend(damaged);
                    index_lines.push(line);
                    return Ok(Archived {
                        result,
                        check: Some(check),
                        capture: None,
                        index_lines,
                        warnings,
                    });
                }
                if self.skip_cosmetic && judged.as_ref().is_some_and(|j| j.fields.cosmetic) {
                    // The bytes are not kept: the latest snapshot stands for this capture.
                    drop(body);
                    return Ok(Archived {
                        result,
                        check: Some(check),
                        capture: Some(Capture::Sighting { etag, last_modified }),
                        index_lines,
                        warnings,
                    });
                }
                let (original, line, damaged) = self.store_body(exchange, body, &sha256_label(&payload_digest)).await?;
                warnings.extend(damaged);
                index_lines.push(line);
                let requisites = match requisites::is_html(result.content_type.as_deref()) {
                    true => {
                        self.page_requisites(&final_url, &original, &mut index_lines, &mut warnings)
                            .await?
                    }
                    false => None,
                };
                result.requisites.clone_from(&requisites);
                let title = match self.latest().filter(|s| s.sha256 == sha256) {
                    Some(latest) => latest.title.clone(),
                    None => title.title(),
                };
                if new_bytes {
                    warnings.extend(title.as_deref().and_then(|t| title_warning(&link.id, t)));
                }
                warnings.extend(self.moved_since_first(&final_url));
                Some(Capture::Payload(Box::new(Snapshot {
                    sha256,
                    size,
                    content_type: result.content_type.clone(),
                    first_seen: captured,
                    last_seen: at,
                    http_status: status.unwrap_or_default(),
                    url: Some(link.url.clone()),
                    final_url,
                    etag,
                    last_modified,
                    title,
                    object: None,
                    warc: Some(original.file),
                    warc_record: Some(original.record),
                    run: self.run.clone(),
                    text: judged.map(|j| j.fields),
                    public_copies: Vec::new(),
                    requisites,
                    extra: Map::new(),
                })))
            }
        };
        Ok(Archived {
            result,
            check: Some(check),
            capture,
            index_lines,
            warnings,
        })
    }

    /// A warning when the link now leads somewhere other than where it led at its first
    /// capture (the cited version).
    fn moved_since_first(&self, final_url: &str) -> Option<String> {
        let first = self.history.first()?;
        // A link whose URL was edited since (an explicit id keeps its history) led elsewhere
        // because it was elsewhere.
        let same_url = first.url.as_deref().is_none_or(|url| url == self.link.url);
        (same_url && first.final_url != final_url).then(|| {
            format!(
                "{} now leads to {final_url}; at its first capture ({}) it led to {}",
                self.link.id, first.first_seen, first.final_url
            )
        })
    }

    /// Reads a new capture's main text and compares it with the link's history, on the
    /// blocking pool (it is CPU work, and may read earlier payloads back).
    async fn judge_text(&self, content_type: Option<String>, bytes: Arc<Vec<u8>>) -> Option<text::Judged> {
        // One page at a time per core: sixteen pages parsed at once on two cores only take
        // turns, each with its DOM in memory.
        let _slot = self.text_slots.acquire().await.expect("never closed");
        let (archive, history) = (self.recorder.archive().to_owned(), self.history.clone());
        let judged =
            tokio::task::spawn_blocking(move || text::judge(&archive, &history, content_type.as_deref(), &bytes)).await;
        judged.unwrap_or_else(|e| {
            tracing::warn!("reading the text of a capture failed: {e}");
            None
        })
    }

    /// Fetches the requisites of the HTML page the link led to (`final_url`, its payload in
    /// `original`), unless `--no-requisites`: their summary for the snapshot; their records'
    /// CDXJ lines and a warning, if a limit left some out, go to the link's.
    async fn page_requisites(
        &self,
        final_url: &str,
        original: &Original,
        index_lines: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<crate::requisites::Summary>, StoreError> {
        let (Some(requisites), Ok(page)) = (&self.requisites, url::Url::parse(final_url)) else {
            return Ok(None);
        };
        let fetched = requisites
            .of_page(&self.link.url, &page, original)
            .await
            .map_err(|e| self.store_error(e))?;
        index_lines.extend(fetched.index_lines);
        warnings.extend(fetched.warning.map(|w| format!("{}: {w}", self.link.id)));
        Ok(Some(fetched.summary))
    }

    /// Stores a body received whole, as [`Recorder::store_body`] does, with this link's own
    /// earlier capture of the same payload as the first record to point at. Returns the record
    /// holding the payload, the new record's CDXJ line, and a warning when an earlier record no
    /// longer held the payload.
    async fn store_body(
        &self,
        exchange: Arc<Exchange>,
        body: ReceivedBody,
        payload_digest: &str,
    ) -> Result<(Original, String, Option<String>), StoreError> {
        let earlier = self
            .history
            .iter()
            .rev()
            .filter(|s| {
                s.warc_record
                    .as_ref()
                    .is_some_and(|r| r.payload_digest == payload_digest)
            })
            .find_map(original_of);
        let (original, line, damaged) = self
            .recorder
            .store_body(exchange, body, payload_digest, earlier)
            .await
            .map_err(|e| self.store_error(e))?;
        let warning = damaged.map(|record| {
            format!(
                "the WARC record {record} no longer held the payload of {}; a fresh capture holds it now",
                self.link.id
            )
        });
        Ok((original, line, warning))
    }

    fn store_error(&self, source: std::io::Error) -> StoreError {
        StoreError {
            dir: self.recorder.archive().to_owned(),
            source,
        }
    }
}

/// The record holding a snapshot's payload, for a revisit to point at.
fn original_of(snapshot: &Snapshot) -> Option<Original> {
    Some(Original {
        file: snapshot.warc.clone()?,
        record: snapshot.warc_record.clone()?,
        url: snapshot.final_url.clone(),
    })
}

/// Accept-Encoding for every coding we can remove, and conditional headers from the latest
/// snapshot, so that an unchanged page costs a 304 instead of a download.
pub fn request_headers(latest: Option<&Snapshot>) -> HeaderMap {
    conditional_headers(
        latest.and_then(|s| s.etag.as_deref()),
        latest.and_then(|s| s.last_modified.as_deref()),
    )
}

/// Accept-Encoding, and `If-None-Match` / `If-Modified-Since` from the validators given.
fn conditional_headers(etag: Option<&str>, last_modified: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(download::ACCEPT_ENCODING));
    for (name, value) in [(IF_NONE_MATCH, etag), (IF_MODIFIED_SINCE, last_modified)] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, value);
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_wait_longer_when_saving_is_slow() {
        let mut checkpoint = Checkpoint::new(1);
        let start = checkpoint.last;
        assert_eq!(checkpoint.next_due(0), None, "nothing to save");
        assert_eq!(checkpoint.next_due(1), Some(start + CHECKPOINT_EVERY));
        assert_eq!(checkpoint.next_due(CHECKPOINT_LINKS), Some(start + CHECKPOINT_MIN_GAP));

        // A checkpoint of a second: at most one every four seconds, however many links wait.
        checkpoint.saved(Duration::from_secs(1));
        let last = checkpoint.last;
        assert_eq!(checkpoint.next_due(1), Some(last + Duration::from_secs(4)));
        assert_eq!(
            checkpoint.next_due(CHECKPOINT_LINKS),
            Some(last + Duration::from_secs(4))
        );
    }
}
