//! `linkkeep archive`: fetch every link, store new payloads as content-addressed snapshots,
//! and keep the manifest current, checkpointing it during the run so that a killed run loses
//! only its last few seconds of work.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use serde_json::Map;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::{Exit, emit_report};
use crate::cli::ArchiveArgs;
use crate::config::{Environment, GlobalConfig, NetworkConfig, OutputConfig};
use crate::fetch::download::{self, BodyLimits};
use crate::fetch::{Fetcher, build_client};
use crate::links::{self, Link};
use crate::lock::ArchiveLock;
use crate::manifest::{Capture, LastCheck, LinkEntry, Manifest, Snapshot};
use crate::outcome::LinkResult;
use crate::progress::Progress;
use crate::report::{Report, new_run_id, timestamp, write_file_atomically};
use crate::store::{Store, StoredObject};

/// Where run reports go, relative to the archive.
pub const RUNS_DIR: &str = "runs";
/// Save the manifest at least this often while links finish…
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);
/// …and sooner once this many links are waiting to be saved (but not more often than
/// [`CHECKPOINT_MIN_GAP`], so that huge lists do not rewrite the manifest for every few links).
const CHECKPOINT_LINKS: usize = 25;
const CHECKPOINT_MIN_GAP: Duration = Duration::from_millis(250);

/// An archive opened for writing: locked, its manifest loaded, its leftovers cleaned.
pub struct OpenArchive {
    /// The object store.
    pub store: Store,
    /// The manifest as loaded.
    pub manifest: Manifest,
    _lock: ArchiveLock,
}

impl OpenArchive {
    /// Creates the archive directory if needed, takes its lock, loads its manifest (a corrupt
    /// one stops the run before anything is written) and removes downloads a killed run left.
    pub async fn open(dir: &Path, command: &str, wait_lock: bool) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the archive directory {}", dir.display()))?;
        let lock = ArchiveLock::acquire(dir, command, wait_lock).await?;
        let manifest = Manifest::load(dir)?;
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
            _lock: lock,
        })
    }
}

/// Runs `linkkeep archive`.
pub async fn run(global: &GlobalConfig, args: &ArchiveArgs, env: &Environment) -> anyhow::Result<Exit> {
    let network = NetworkConfig::new(&args.network, env)?;
    let output = OutputConfig::new(&args.output, env);
    let links = links::load(&global.links_path)?;
    let client = build_client(&network).context("cannot set up HTTP")?;
    let OpenArchive {
        store,
        mut manifest,
        _lock,
    } = OpenArchive::open(&global.archive_dir, "archive", args.wait_lock).await?;
    let fetcher = Arc::new(Fetcher::new(client, network));
    // Entries appear in links.json order, whatever order the links finish in.
    for link in &links.links {
        manifest.links.entry(link.id.clone()).or_insert_with(|| LinkEntry {
            url: link.url.clone(),
            ..LinkEntry::default()
        });
    }

    let started = Utc::now();
    let run_id = new_run_id(started);
    let progress = Progress::new(global.progress && global.verbose == 0, links.links.len(), "archiving");
    let mut tasks = JoinSet::new();
    for (index, link) in links.links.iter().enumerate() {
        let job = LinkJob {
            fetcher: Arc::clone(&fetcher),
            store: store.clone(),
            link: link.clone(),
            latest: manifest.latest(&link.id).cloned(),
            run: run_id.clone(),
        };
        let span = tracing::info_span!("link", id = %link.id);
        tasks.spawn(async move { (index, job.run().await) }.instrument(span));
    }

    let mut results: Vec<Option<LinkResult>> = vec![None; links.links.len()];
    let mut checkpoint = Checkpoint::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, archived) = joined.context("a link's task failed")?;
        let archived = match archived {
            Ok(archived) => archived,
            Err(e) => {
                // Keep what finished, then stop: the disk is full or the archive unwritable.
                tasks.abort_all();
                save(&mut manifest, store.root())?;
                return Err(e.into());
            }
        };
        let link = &links.links[index];
        let mut result = archived.result;
        if let Some(check) = archived.check {
            result.change = manifest.record(&link.id, &link.url, check, archived.capture);
            checkpoint.pending += 1;
        }
        progress.link_done(result.outcome.is_failure());
        results[index] = Some(result);
        if checkpoint.due() {
            save(&mut manifest, store.root())?;
            checkpoint.saved();
        }
    }
    save(&mut manifest, store.root())?;
    progress.finish();

    let results = results
        .into_iter()
        .map(|r| r.expect("every link has a result"))
        .collect();
    let report = Report::new("archive", run_id.clone(), started, Utc::now(), results);
    let runs = store.root().join(RUNS_DIR);
    let report_path = runs.join(format!("{run_id}.json"));
    std::fs::create_dir_all(&runs)
        .and_then(|()| write_file_atomically(&report_path, &report.render(crate::config::Format::Json, false)))
        .with_context(|| format!("cannot write the run report {}", report_path.display()))?;
    emit_report(&report, &output, global)?;
    let drifted = args.fail_on_change && report.summary.changed > 0;
    Ok(if report.has_failures() || drifted {
        Exit::Failures
    } else {
        Exit::Success
    })
}

fn save(manifest: &mut Manifest, archive: &Path) -> anyhow::Result<()> {
    manifest.updated_at = Some(timestamp(Utc::now()));
    manifest.save(archive)?;
    Ok(())
}

/// When to save the manifest during a run.
struct Checkpoint {
    last: Instant,
    pending: usize,
}

impl Checkpoint {
    fn new() -> Self {
        Self {
            last: Instant::now(),
            pending: 0,
        }
    }

    fn due(&self) -> bool {
        let waited = self.last.elapsed();
        self.pending > 0
            && (waited >= CHECKPOINT_EVERY || (self.pending >= CHECKPOINT_LINKS && waited >= CHECKPOINT_MIN_GAP))
    }

    fn saved(&mut self) {
        self.last = Instant::now();
        self.pending = 0;
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
}

/// Everything one link's task needs.
struct LinkJob {
    fetcher: Arc<Fetcher>,
    store: Store,
    link: Link,
    latest: Option<Snapshot>,
    run: String,
}

impl LinkJob {
    async fn run(self) -> Result<Archived, StoreError> {
        let link = &self.link;
        if let Some(why) = self.fetcher.exclusion(&link.url) {
            return Ok(Archived {
                result: LinkResult::excluded(&link.id, &link.url, why),
                check: None,
                capture: None,
            });
        }
        let config = self.fetcher.config();
        let limits = BodyLimits {
            stall: config.timeout,
            max_time: config.max_time,
            max_size: config.max_size,
        };
        let store = &self.store;
        let fetched = self
            .fetcher
            .fetch(
                &link.parsed,
                &request_headers(self.latest.as_ref()),
                |response, deadline| async move {
                    if response.status() == StatusCode::NOT_MODIFIED {
                        return Ok(Ok(None));
                    }
                    let mut writer = match store.create() {
                        Ok(writer) => writer,
                        Err(e) => return Ok(Err(e)),
                    };
                    // A failed download drops the writer, which removes its temporary file.
                    match download::download(response, deadline, limits, &mut writer).await? {
                        Ok(()) => Ok(writer.finish().await.map(Some)),
                        Err(e) => Ok(Err(e)),
                    }
                },
            )
            .await;
        let at = timestamp(Utc::now());
        let header = |name| {
            fetched
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = fetched.http_status.map(|s| s.as_u16());
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
            content_type: header(CONTENT_TYPE),
            size: None,
            sha256: None,
            change: None,
            error: fetched.error.clone(),
        };
        let check = LastCheck {
            at: at.clone(),
            outcome: fetched.outcome,
            http_status: status,
            final_url: Some(final_url.clone()),
            error: fetched.error.clone(),
            run: self.run.clone(),
            extra: Map::new(),
        };
        let capture = match fetched.body {
            None => None,
            Some(Err(source)) => {
                return Err(StoreError {
                    dir: self.store.root().to_owned(),
                    source,
                });
            }
            Some(Ok(None)) => {
                // 304: the latest snapshot is still current.
                let latest = self.latest.as_ref();
                result.sha256 = latest.map(|s| s.sha256.clone());
                result.size = latest.map(|s| s.size);
                result.content_type = result
                    .content_type
                    .or_else(|| latest.and_then(|s| s.content_type.clone()));
                Some(Capture::NotModified {
                    etag: header(ETAG),
                    last_modified: header(LAST_MODIFIED),
                })
            }
            Some(Ok(Some(object))) => {
                result.sha256 = Some(object.sha256.clone());
                result.size = Some(object.size);
                let title = self.title(&object, result.content_type.as_deref()).await;
                Some(Capture::Payload(Box::new(Snapshot {
                    sha256: object.sha256,
                    size: object.size,
                    content_type: result.content_type.clone(),
                    first_seen: at.clone(),
                    last_seen: at,
                    http_status: status.unwrap_or_default(),
                    final_url,
                    etag: header(ETAG),
                    last_modified: header(LAST_MODIFIED),
                    title,
                    object: object.object,
                    warc: None,
                    warc_offset: None,
                    warc_length: None,
                    warc_record_id: None,
                    warc_date: None,
                    warc_payload_digest: None,
                    run: self.run.clone(),
                    extra: Map::new(),
                })))
            }
        };
        Ok(Archived {
            result,
            check: Some(check),
            capture,
        })
    }

    /// The title of a payload, read only for content not already in the latest snapshot.
    async fn title(&self, object: &StoredObject, content_type: Option<&str>) -> Option<String> {
        if let Some(latest) = self.latest.as_ref().filter(|s| s.sha256 == object.sha256) {
            return latest.title.clone();
        }
        let path = self.store.object_path(&object.sha256)?;
        let content_type = content_type.map(str::to_owned);
        let read = tokio::task::spawn_blocking(move || crate::title::title_of_file(&path, content_type.as_deref()));
        match read.await {
            Ok(Ok(title)) => title,
            Ok(Err(e)) => {
                tracing::warn!("cannot read the title of object {}: {e}", object.sha256);
                None
            }
            Err(_) => None,
        }
    }
}

/// Accept-Encoding for every coding we can remove, and conditional headers from the latest
/// snapshot, so that an unchanged page costs a 304 instead of a download.
pub fn request_headers(latest: Option<&Snapshot>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(download::ACCEPT_ENCODING));
    if let Some(latest) = latest {
        let validators = [
            (IF_NONE_MATCH, &latest.etag),
            (IF_MODIFIED_SINCE, &latest.last_modified),
        ];
        for (name, value) in validators {
            if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, value);
            }
        }
    }
    headers
}
