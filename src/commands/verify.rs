//! `linkkeep verify`: offline fixity (every snapshot's payload is read back from the WARC record
//! that holds it, or its 0.1.0 object, decoded, and must have its recorded size and hash to its
//! `sha256`; every WARC file must read whole and match its digests), and with `--live` drift too (each link of links.json re-fetched and
//! compared with its latest snapshot, by bytes and by the text a reader sees, and with its
//! first, the cited version; entries of links no longer listed get their fixity only).
//! Writes nothing.

mod drift;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use tracing::Instrument;

use self::drift::Live;
use super::archive::request_headers;
use super::check::result_of;
use super::{Exit, RunLinks, emit_report, load_run_links, public_archive_lookups};
use crate::cli::VerifyArgs;
use crate::config::{Environment, GlobalConfig, NetworkConfig, OutputConfig};
use crate::fetch::Fetcher;
use crate::fetch::download;
use crate::journal;
use crate::links::Link;
use crate::manifest::{MANIFEST_FILE, Manifest, Snapshot};
use crate::outcome::{Change, LinkResult, Outcome};
use crate::payload::{self, Location, PayloadError};
use crate::progress::Progress;
use crate::report::{Report, new_run_id};
use crate::schedule::Window;
use crate::soft404::Soft404;
use crate::store::Store;
use crate::text::LiveSink;
use crate::warc::index::list_warc_files;
use crate::warc::run::WARC_DIR;
use crate::warc::{WarcCheck, check_warc};

/// Runs `linkkeep verify`.
pub async fn run(global: &GlobalConfig, args: &VerifyArgs, env: &Environment) -> anyhow::Result<Exit> {
    let output = OutputConfig::new(&args.output, env);
    if args.public_archive.public_archive.is_some() && !args.live {
        // Only live fetches fail in a way a public copy makes up for.
        bail!("--public-archive needs --live: without it verify fetches no link");
    }
    let network = args.live.then(|| NetworkConfig::new(&args.network, env)).transpose()?;
    let archive = &global.archive_dir;
    if !archive.join(MANIFEST_FILE).is_file() {
        bail!(
            "no manifest in {}: nothing to verify (run `linkkeep archive` first)",
            global.archive_name()
        );
    }
    let manifest = Manifest::load(archive)?;
    // With --live, links.json says what to fetch; its links never archived count as `new`.
    // With --shard (only with --live), the links of the shard alone.
    let shard = args.shard.shard.filter(|_| args.live);
    let (links, outside) = if args.live {
        let RunLinks { file, outside } = load_run_links(&global.links_path, shard)?;
        (file.links, outside)
    } else {
        (Vec::new(), Vec::new())
    };
    let store = Store::new(archive);
    let started = Utc::now();
    let run_id = new_run_id(started);

    let fixity = {
        let (store, manifest) = (store.clone(), manifest.clone());
        // Payload reads and WARC walks are blocking file I/O, on threads of their own.
        tokio::task::spawn_blocking(move || Fixity::check(&store, &manifest))
            .await
            .context("the hashing threads failed")??
    };

    let mut lookup_warnings = Vec::new();
    let results = match network {
        None => manifest
            .links
            .iter()
            .map(|(id, entry)| fixity.result(id, &entry.url, &entry.snapshots))
            .collect(),
        Some(network) => {
            let mut lookups = public_archive_lookups(&args.public_archive, &network)?;
            let fetcher = Arc::new(Fetcher::new(network).context("cannot set up HTTP")?);
            let progress = Progress::new(global.progress && global.verbose == 0, links.len(), "verifying");
            let snapshots_of = |link: &Link| {
                let snapshots = manifest.links.get(&link.id).map(|e| e.snapshots.as_slice());
                snapshots.unwrap_or_default()
            };
            let live = compare_live(&fetcher, &links, &manifest, archive, &progress, |index, live| {
                if let Some(lookups) = &mut lookups {
                    // A link whose archived copy is damaged fails too, and a public copy makes
                    // up for that as well.
                    let link = &links[index];
                    let outcome = fixity.merge(live.clone(), snapshots_of(link)).outcome;
                    let cited = snapshots_of(link).first().map(|s| s.first_seen.as_str());
                    lookups.start(index, link, outcome, cited);
                }
            })
            .await;
            progress.finish();
            // Links of other shards are listed too: their entries are their shard's to report.
            let listed: HashSet<&str> = links.iter().chain(&outside).map(|l| l.id.as_str()).collect();
            let mut results: Vec<LinkResult> = links
                .iter()
                .zip(live)
                .map(|(link, live)| fixity.merge(live, snapshots_of(link)))
                .collect();
            if let Some(lookups) = lookups {
                lookup_warnings = lookups.finish(&mut results).await;
            }
            // Entries of links taken off links.json are not fetched, but the archive still
            // promises their snapshots: their fixity is reported after the listed links (by the
            // run of the shard their URL falls in).
            results.extend(
                manifest
                    .links
                    .iter()
                    .filter(|(id, _)| !listed.contains(id.as_str()))
                    .filter(|(_, entry)| shard.is_none_or(|shard| shard.holds_text(&entry.url)))
                    .map(|(id, entry)| fixity.result(id, &entry.url, &entry.snapshots)),
            );
            results
        }
    };

    let mut report = Report::new("verify", run_id, started, Utc::now(), results);
    report.shard = shard;
    report.warnings = fixity.warnings(archive);
    report.warnings.extend(lookup_warnings);
    emit_report(&report, &output, global)?;
    let drifted = args.fail_on_change.is_some_and(|rule| rule.fails(&report.summary));
    Ok(if report.has_failures() || drifted || fixity.warc_damaged() {
        Exit::Failures
    } else {
        Exit::Success
    })
}

/// What reading a payload back found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PayloadState {
    /// Read whole, with its recorded size and hash.
    Intact,
    /// Its file (WARC file or object) is not there, or the snapshot names none.
    Missing(String),
    /// Not the recorded bytes, or not readable as a payload where the snapshot says.
    Corrupt(String),
}

/// One payload to read back: where, and what it must be. Snapshots that share it (a capture
/// whose payload an earlier one stored) are read once.
type PayloadKey = (Option<Location>, String, u64);

fn payload_key(snapshot: &Snapshot) -> PayloadKey {
    (payload::location(snapshot), snapshot.sha256.clone(), snapshot.size)
}

/// The state of every payload the manifest refers to, of the 0.1.0 objects it does not, and of
/// every WARC file.
struct Fixity {
    payloads: HashMap<PayloadKey, PayloadState>,
    orphans: Vec<(String, u64)>,
    strays: Vec<std::path::PathBuf>,
    /// Each WARC file's check, by its path relative to the archive (`warc/<run>.warc.gz`).
    warcs: HashMap<String, WarcCheck>,
}

impl Fixity {
    fn check(store: &Store, manifest: &Manifest) -> anyhow::Result<Self> {
        let archive = store.root();
        let mut wanted: Vec<(PayloadKey, &Snapshot)> = manifest
            .links
            .values()
            .flat_map(|e| e.snapshots.iter().map(|s| (payload_key(s), s)))
            .collect();
        wanted.sort_by(|a, b| a.0.cmp(&b.0));
        wanted.dedup_by(|a, b| a.0 == b.0);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let states = payload::in_parallel(&wanted, threads, |(_, snapshot)| read_back(archive, snapshot));
        let payloads = wanted.into_iter().map(|(key, _)| key).zip(states).collect();

        let (found, strays) = store
            .list_objects()
            .with_context(|| format!("cannot list the objects of {}", archive.display()))?;
        // An object is kept for any snapshot with its hash, as `gc` keeps it.
        let referenced: HashSet<&str> = manifest
            .links
            .values()
            .flat_map(|e| e.snapshots.iter().map(|s| s.sha256.as_str()))
            .collect();
        let orphans = found
            .into_iter()
            .filter(|o| !referenced.contains(o.sha256.as_str()))
            .map(|o| (o.object, o.size))
            .collect();
        Ok(Self {
            payloads,
            orphans,
            strays,
            warcs: check_warcs(archive, threads)?,
        })
    }

    /// Whether any WARC file is damaged: this fails `verify` even where no snapshot points
    /// into the damage (a cut warcinfo record, a truncated tail).
    fn warc_damaged(&self) -> bool {
        self.warcs.values().any(|check| !check.is_ok())
    }

    /// What is wrong with a snapshot's WARC record, if anything.
    fn warc_damage(&self, snapshot: &Snapshot) -> Option<String> {
        let (Some(file), Some(record)) = (&snapshot.warc, &snapshot.warc_record) else {
            return None;
        };
        let Some(check) = self.warcs.get(file) else {
            return Some(format!("{file} is missing"));
        };
        if check.record_intact_at(record.offset) {
            return None;
        }
        let problem = check
            .problems
            .iter()
            .find(|p| WarcCheck::problem_offset(p) == Some(record.offset))
            .map_or("no whole record starts there", |p| {
                p.split_once(": ").map_or(p.as_str(), |(_, rest)| rest)
            });
        Some(format!("{file} at offset {}: {problem}", record.offset))
    }

    /// What is wrong with the records holding a snapshot's requisites, one line each.
    fn requisite_damage(&self, snapshot: &Snapshot) -> Vec<String> {
        let Some(requisites) = &snapshot.requisites else {
            return Vec::new();
        };
        let mut damage = Vec::new();
        for (file, offsets) in &requisites.records {
            let Some(check) = self.warcs.get(file) else {
                damage.push(format!("{file} is missing"));
                continue;
            };
            for offset in offsets.iter().filter(|o| !check.record_intact_at(**o)) {
                let problem = check
                    .problems
                    .iter()
                    .find(|p| WarcCheck::problem_offset(p) == Some(*offset))
                    .map_or("no whole record starts there", |p| {
                        p.split_once(": ").map_or(p.as_str(), |(_, rest)| rest)
                    });
                damage.push(format!("{file} at offset {offset}: {problem}"));
            }
        }
        damage
    }

    /// Every damaged snapshot of a link, as (outcome, description).
    fn damage(&self, snapshots: &[Snapshot]) -> Option<(Outcome, String)> {
        let mut outcome = None;
        let mut problems = Vec::new();
        for s in snapshots {
            let state = self.payloads.get(&payload_key(s));
            // A payload whose WARC file is gone says so itself; a damaged record's detail
            // (truncated, a digest mismatch) is worth its own words.
            let told = matches!(state, Some(PayloadState::Missing(_)));
            if let Some(damage) = self.warc_damage(s).filter(|_| !told) {
                outcome.get_or_insert(Outcome::CorruptWarc);
                problems.push(format!(
                    "the WARC record of the capture of {} is damaged: {damage}",
                    s.first_seen
                ));
            }
            // What the page needs to display is part of the capture (issue #20).
            for damage in self.requisite_damage(s) {
                outcome.get_or_insert(Outcome::CorruptWarc);
                problems.push(format!("a requisite of the capture of {}: {damage}", s.first_seen));
            }
            let (worse, what) = match state {
                None | Some(PayloadState::Intact) => continue,
                Some(PayloadState::Missing(what)) => (Outcome::MissingObject, what),
                Some(PayloadState::Corrupt(what)) => (Outcome::CorruptObject, what),
            };
            // A corrupt payload is worse news than a missing one (something is rewriting files),
            // and either is worse than a damaged WARC record elsewhere in its file.
            if outcome != Some(Outcome::CorruptObject) {
                outcome = Some(worse);
            }
            problems.push(format!("the payload of the capture of {}: {what}", s.first_seen));
        }
        outcome.map(|o| (o, problems.join("; ")))
    }

    /// The offline result of a link: its latest snapshot, failed if any snapshot is damaged.
    fn result(&self, id: &str, url: &str, snapshots: &[Snapshot]) -> LinkResult {
        let latest = snapshots.last();
        let result = LinkResult {
            id: id.to_owned(),
            url: url.to_owned(),
            outcome: Outcome::Ok,
            http_status: None,
            final_url: latest.map(|s| s.final_url.clone()),
            redirects: Vec::new(),
            attempts: 0,
            elapsed_ms: 0,
            content_type: latest.and_then(|s| s.content_type.clone()),
            size: latest.map(|s| s.size),
            sha256: latest.map(|s| s.sha256.clone()),
            change: None,
            similarity: None,
            similarity_to_first: None,
            error: None,
            public_copy: None,
            submission: None,
            requisites: None,
        };
        self.merge(result, snapshots)
    }

    /// Marks a result failed when any of the link's snapshots is damaged, even if the link
    /// itself answered fine: the archive no longer holds what it promises.
    fn merge(&self, mut result: LinkResult, snapshots: &[Snapshot]) -> LinkResult {
        if let Some((outcome, damage)) = self.damage(snapshots) {
            result.error = Some(match result.error.take() {
                Some(live) if result.outcome.is_failure() => format!("{live}; {damage}"),
                _ => damage,
            });
            if !result.outcome.is_failure() {
                result.outcome = outcome;
            }
        }
        result
    }

    fn warnings(&self, archive: &Path) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.orphans.is_empty() {
            let bytes: u64 = self.orphans.iter().map(|(_, size)| size).sum();
            warnings.push(format!(
                "{} object(s) ({bytes} bytes) are referenced by no snapshot; `linkkeep gc` removes them: {}",
                self.orphans.len(),
                self.orphans
                    .iter()
                    .map(|(o, _)| o.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (file, check) in &self.warcs {
            for problem in &check.problems {
                warnings.push(format!("{file}: {problem}"));
            }
        }
        for stray in &self.strays {
            let shown = stray.strip_prefix(archive).unwrap_or(stray);
            warnings.push(format!(
                "{} is not an object (unexpected name or type)",
                shown.display()
            ));
        }
        warnings
    }
}

/// Reads a snapshot's payload back whole, decoded, and says whether it is the recorded bytes.
fn read_back(archive: &Path, snapshot: &Snapshot) -> PayloadState {
    let read = payload::open(archive, snapshot).and_then(|payload| payload.finish());
    match read {
        Ok(()) => PayloadState::Intact,
        Err(e @ (PayloadError::Missing(_) | PayloadError::NoLocation)) => PayloadState::Missing(e.to_string()),
        Err(e) => PayloadState::Corrupt(format!("{:#}", anyhow::Error::new(e))),
    }
}

/// Checks every WARC file of the archive with our own reader, on up to `threads` threads. A
/// file whose run has a journal may end inside its last record.
fn check_warcs(archive: &Path, threads: usize) -> anyhow::Result<HashMap<String, WarcCheck>> {
    let files =
        list_warc_files(archive).with_context(|| format!("cannot list {}", archive.join(WARC_DIR).display()))?;
    let checks = payload::in_parallel(&files, threads, |file| -> anyhow::Result<WarcCheck> {
        let path = archive.join(file);
        // Looked for before the file is read: a run removes its journal only once its WARC
        // files are whole, so a journal seen first covers whatever tail the read then finds.
        let running = file
            .strip_prefix(&format!("{WARC_DIR}/"))
            .and_then(journal::run_id_of_warc)
            .is_some_and(|run| journal::journal_path(archive, run).is_file());
        let mut check = check_warc(&path).with_context(|| format!("cannot read {}", path.display()))?;
        // A run still writing (or killed, not yet recovered) has a record half written: that is
        // work in progress, not damage. Everything before it is checked as usual.
        if running && let Some(offset) = check.accept_cut_tail() {
            tracing::info!("{file} ends inside the record at offset {offset}, which its run is still writing");
        }
        Ok(check)
    });
    files
        .into_iter()
        .zip(checks)
        .map(|(file, check)| Ok((file, check?)))
        .collect()
}

/// Fetches every link and compares its payload with the latest snapshot and the first, without
/// storing it. Links start through the run's one [`Window`], as in `check` and `archive`: a
/// bounded number at a time, the hosts with the most links left first; results come back in
/// the order of `links`.
/// `on_result` sees each result as it comes, with the index of its link.
async fn compare_live(
    fetcher: &Arc<Fetcher>,
    links: &[Link],
    manifest: &Manifest,
    archive: &Path,
    progress: &Progress,
    mut on_result: impl FnMut(usize, &LinkResult),
) -> Vec<LinkResult> {
    let soft_404 = Arc::new(Soft404::new(fetcher.config().soft_404_probes));
    let task = |index: usize| {
        let fetcher = Arc::clone(fetcher);
        let soft_404 = Arc::clone(&soft_404);
        let link = links[index].clone();
        let history = manifest
            .links
            .get(&link.id)
            .map(|e| e.snapshots.clone())
            .unwrap_or_default();
        let archive = archive.to_owned();
        let span = tracing::info_span!("link", id = %link.id);
        async move { compare_link(&fetcher, &soft_404, &link, &archive, history).await }.instrument(span)
    };
    let mut window = Window::for_fetcher(links, fetcher);
    window.fill(task);
    let mut results: Vec<Option<LinkResult>> = vec![None; links.len()];
    while let Some((index, result)) = window.next().await {
        progress.link_done(result.outcome.is_failure());
        on_result(index, &result);
        results[index] = Some(result);
        window.fill(task);
    }
    results
        .into_iter()
        .map(|r| r.expect("every link has a result"))
        .collect()
}

/// Fetches one link and compares it with `history`, its snapshots in `archive`.
async fn compare_link(
    fetcher: &Fetcher,
    soft_404: &Soft404,
    link: &Link,
    archive: &Path,
    history: Vec<Snapshot>,
) -> LinkResult {
    if let Some(why) = fetcher.exclusion(&link.url) {
        return LinkResult::excluded(&link.id, &link.url, why);
    }
    let latest = history.last();
    let mut fetched = fetcher
        .fetch(
            &link.parsed,
            &request_headers(latest),
            |response, deadline| async move {
                if response.status() == StatusCode::NOT_MODIFIED {
                    return Ok(Live::NotModified);
                }
                let limits = fetcher.body_limits(response.url());
                let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
                // Hashed, and for HTML and PDF kept up to the text limits: never the whole of a
                // large body.
                let mut sink = LiveSink::new(content_type);
                // This sink cannot fail to write.
                let _ = download::download(response, deadline, limits, &mut sink, None).await?;
                Ok(Live::Body(sink.finish()))
            },
        )
        .await;
    let live = fetched.body.take();
    // By bytes first: what stands if the texts cannot be compared.
    let (sha256, size, change) = match (&live, latest) {
        (None, _) => (None, None, None),
        (Some(Live::Body(body)), None) => (Some(body.sha256.clone()), Some(body.size), Some(Change::New)),
        // A 304 to no validators at all: nothing to compare.
        (Some(Live::NotModified), None) => (None, None, Some(Change::New)),
        // 304: the server says the latest snapshot is still what it serves.
        (Some(Live::NotModified), Some(s)) => (Some(s.sha256.clone()), Some(s.size), Some(Change::Unchanged)),
        (Some(Live::Body(body)), Some(s)) => (
            Some(body.sha256.clone()),
            Some(body.size),
            Some(if body.sha256 == s.sha256 {
                Change::Unchanged
            } else {
                Change::Changed
            }),
        ),
    };
    let mut result = LinkResult {
        size,
        sha256,
        change,
        ..result_of(link, fetched)
    };
    soft_404
        .judge_result(fetcher, link, &mut result, async |_| {
            // Copied only when a probe needs the page's text to decide.
            let Some(Live::Body(body)) = &live else { return None };
            let (content_type, bytes) = body.text_payload.clone()?;
            let read = move || crate::text::main_text(content_type.as_deref(), &bytes);
            tokio::task::spawn_blocking(read).await.ok().flatten()
        })
        .await;
    if result.outcome == Outcome::Soft404 {
        // The page is gone: what the site says instead is no drift of it.
        return result;
    }
    if let Some(live) = live
        && !history.is_empty()
    {
        let archive = archive.to_owned();
        // Reading main text is CPU work, and may read snapshots back from their WARC files.
        match tokio::task::spawn_blocking(move || drift::judge(&archive, &history, live)).await {
            Ok(drift) => {
                result.change = Some(drift.change);
                result.similarity = drift.similarity;
                result.similarity_to_first = drift.similarity_to_first;
            }
            Err(e) => tracing::warn!("comparing the live text with the snapshots failed: {e}"),
        }
    }
    result
}
