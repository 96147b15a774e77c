//! Asking a public archive to copy captures (`archive --submit wayback`, issue #16): the
//! submission phase at the end of a run, its limits, and what each submission came to.
//!
//! Each capture is submitted to Save Page Now ([`spn`]) and its job polled until it succeeds or
//! fails. The limits:
//! - at most `--submit-jobs` jobs in flight at once, the jobs of earlier runs first (a job the
//!   run stops waiting for still runs at the archive, so it keeps its place);
//! - nothing waits past `--submit-wait` from the start of the phase: not a submission for a
//!   free place, not a poll, not a `Retry-After`. What needs no waiting still happens, so with
//!   `--submit-wait 0` every free place gets a submission and every earlier job one poll;
//! - HTTP 429 (and Save Page Now's `error:user-session-limit`) pauses every call until its
//!   `Retry-After` (seconds or an HTTP-date), or a doubling backoff when there is none;
//! - a pending job is asked again after the archive's `Retry-After` when it sends one (but
//!   not sooner than 200 ms), else after 1 s, 2 s, 4 s, 8 s, then every 10 s: a capture takes
//!   seconds to minutes.
//!
//! A job goes into the archive's pending file ([`pending`]) as soon as it is accepted, so that
//! a job still running when the run ends, or is killed, is polled by the next run.

pub mod pending;
pub mod spn;

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use self::pending::{PendingJob, PendingWriteError};
use self::spn::{Accepted, JobStatus, SpnClient, SpnError};
use super::{PublicArchive, PublicCopy};
use crate::manifest::Snapshot;
use crate::report::timestamp;

/// The first wait before asking about a pending job again; it doubles up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two questions about a pending job.
const POLL_MAX: Duration = Duration::from_secs(10);
/// The shortest, whatever the archive's `Retry-After` says: a job is never asked about in a
/// busy loop.
const POLL_MIN: Duration = Duration::from_millis(200);
/// The first backoff after a 429 without `Retry-After`, or a failed call; it doubles.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// Submissions of one capture tried again after the archive could not be reached.
const SUBMIT_RETRIES: u32 = 2;
/// Calls in a row about one job that got no answer (429s included) before the run leaves the
/// job to the next run, or gives up a submission: an archive that keeps asking to slow down
/// with `Retry-After: 0` is not asked for ever.
const MAX_TROUBLE: u32 = 10;

/// A capture to be submitted: the link's URL, and the snapshot the copy will belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The link's id.
    pub link: String,
    /// The link's URL, which is what is submitted.
    pub url: String,
    /// The snapshot's SHA-256…
    pub sha256: String,
    /// …and its `first_seen`.
    pub first_seen: String,
}

/// What a link's submission came to in this run, as the run report shows it (`submission`).
///
/// `status` is one of `captured` (the archive made a copy: `url` and `timestamp`), `refused`
/// (the archive would not or could not copy it: `error` holds its reason, e.g.
/// `error:too-many-daily-captures: …`), `pending` (the archive's job `job_id` still ran when
/// the run stopped waiting; the next run with `--submit` records its result), `failed`
/// (linkkeep could not ask: `error` says why; nothing is recorded) and `skipped` (not
/// submitted, past `--submit-max` or `--submit-wait`: `error` says which).
/// `captured` and `refused` are recorded in the snapshot's `public_copies` too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Which archive: `"wayback"`.
    pub archive: String,
    /// How it ended.
    pub status: SubmissionStatus,
    /// The copy's address, when captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the copy was made, or refused (RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Why there is no copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The archive's job, once it accepted the submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

impl Submission {
    /// What the snapshot records of it (`public_copies`): the copy, or the refusal; `None` for
    /// a submission that came to neither. `repair` takes it from run reports this way when it
    /// rebuilds a lost manifest.
    pub fn recorded_copy(&self) -> Option<PublicCopy> {
        let (url, error) = match self.status {
            SubmissionStatus::Captured => (Some(self.url.clone()?), None),
            SubmissionStatus::Refused => (None, Some(self.error.clone()?)),
            _ => return None,
        };
        Some(PublicCopy {
            archive: self.archive.clone(),
            url,
            timestamp: self.timestamp.clone(),
            error,
            extra: serde_json::Map::new(),
        })
    }
}

/// See [`Submission::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// The archive made a copy.
    Captured,
    /// The archive refused, or failed, to make one.
    Refused,
    /// The archive's job still ran when the run stopped waiting.
    Pending,
    /// linkkeep could not ask the archive.
    Failed,
    /// Not submitted.
    Skipped,
}

/// How one submission, or one earlier run's job, ended in this run.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// A copy, or the archive's refusal: to be recorded in the capture's snapshot.
    Recorded(PublicCopy),
    /// The job still runs; why the run stopped asking, when it was not the deadline.
    Pending(Option<String>),
    /// The archive could not be asked.
    Failed(String),
    /// Not submitted, for this reason.
    Skipped(String),
}

/// A submission, or an earlier run's job, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// What was submitted.
    pub capture: Capture,
    /// The archive's job, once it accepted the submission.
    pub job: Option<PendingJob>,
    /// Whether the job is an earlier run's, from the pending file.
    pub earlier: bool,
    /// How it ended.
    pub end: End,
}

impl Finished {
    /// The run report's view of it.
    pub fn submission(&self, archive: PublicArchive) -> Submission {
        let mut submission = Submission {
            archive: archive.name().to_owned(),
            status: SubmissionStatus::Skipped,
            url: None,
            timestamp: None,
            error: None,
            job_id: self.job.as_ref().map(|j| j.job_id.clone()),
        };
        match &self.end {
            End::Recorded(copy) => {
                submission.status = if copy.is_copy() {
                    SubmissionStatus::Captured
                } else {
                    SubmissionStatus::Refused
                };
                submission.url.clone_from(&copy.url);
                submission.timestamp.clone_from(&copy.timestamp);
                submission.error.clone_from(&copy.error);
            }
            End::Pending(why) => {
                submission.status = SubmissionStatus::Pending;
                submission.error.clone_from(why);
            }
            End::Failed(why) => {
                submission.status = SubmissionStatus::Failed;
                submission.error = Some(why.clone());
            }
            End::Skipped(why) => submission.error = Some(why.clone()),
        }
        submission
    }
}

/// What the submission phase came to.
#[derive(Debug, Default)]
pub struct Collected {
    /// Every submission and earlier job, in no particular order.
    pub finished: Vec<Finished>,
    /// The pending file's jobs as the phase left it: the earlier jobs and every job accepted.
    pub listed: Vec<PendingJob>,
    /// Earlier jobs of other archives, left alone.
    pub others: Vec<PendingJob>,
}

impl Collected {
    /// The jobs the pending file keeps once the results are in the manifest: those still
    /// running, and those of other archives.
    pub fn still_pending(&self) -> Vec<PendingJob> {
        let running = self
            .finished
            .iter()
            .filter(|f| matches!(f.end, End::Pending(_)))
            .filter_map(|f| f.job.clone());
        self.others.iter().cloned().chain(running).collect()
    }
}

/// Where and how the phase submits.
#[derive(Debug, Clone)]
pub struct Phase {
    /// The archive submitted to.
    pub archive: PublicArchive,
    /// Its API.
    pub client: SpnClient,
    /// Jobs in flight at once.
    pub jobs: NonZeroUsize,
    /// How long the phase may wait, from its start.
    pub wait: Duration,
    /// The archive directory, for the pending file.
    pub archive_dir: PathBuf,
}

impl Phase {
    /// Polls the `earlier` runs' jobs and submits `wanted`, within the limits (see the module
    /// docs). Fails only when the pending file cannot be written.
    pub async fn run(&self, earlier: Vec<PendingJob>, wanted: Vec<Capture>) -> Result<Collected, PendingWriteError> {
        let (ours, others): (Vec<_>, Vec<_>) = earlier.into_iter().partition(|j| j.archive == self.archive.name());
        let shared = Arc::new(Shared {
            archive: self.archive,
            client: self.client.clone(),
            deadline: Instant::now() + self.wait,
            paused_until: Mutex::new(Instant::now()),
            keys_refused: Mutex::new(None),
            listed: Mutex::new(others.iter().chain(&ours).cloned().collect()),
            archive_dir: self.archive_dir.clone(),
        });
        let slots = Arc::new(Semaphore::new(self.jobs.get()));
        let mut tasks = tokio::task::JoinSet::new();
        let mut finished = Vec::new();
        let work = ours
            .into_iter()
            .map(Work::Earlier)
            .chain(wanted.into_iter().map(Work::New));
        for work in work {
            // A place now, or one that frees before the deadline (a free place is taken even
            // past it: the future is polled before the deadline is checked).
            match tokio::time::timeout_at(shared.deadline, Arc::clone(&slots).acquire_owned()).await {
                Ok(slot) => {
                    let slot = slot.expect("the semaphore is never closed");
                    tasks.spawn(work.run(Arc::clone(&shared), slot));
                }
                Err(_) => finished.push(work.not_started()),
            }
        }
        let mut failure = None;
        while let Some(done) = tasks.join_next().await {
            match done.expect("a submission task panicked") {
                Ok(done) => finished.push(done),
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let listed = std::mem::take(&mut *shared.listed.lock().expect("not poisoned"));
        Ok(Collected {
            finished,
            listed,
            others,
        })
    }
}

/// What the phase's tasks share.
#[derive(Debug)]
struct Shared {
    archive: PublicArchive,
    client: SpnClient,
    /// Nothing waits past this.
    deadline: Instant,
    /// No call before this: the archive asked to slow down.
    paused_until: Mutex<Instant>,
    /// The archive refused the keys: no call can succeed.
    keys_refused: Mutex<Option<String>>,
    /// The pending file's jobs.
    listed: Mutex<Vec<PendingJob>>,
    archive_dir: PathBuf,
}

impl Shared {
    /// Sleeps `wait`, unless that would end past the deadline (then `false`, at once).
    async fn sleep_within_deadline(&self, wait: Duration) -> bool {
        if wait.is_zero() {
            return true;
        }
        let until = Instant::now() + wait;
        if until > self.deadline {
            return false;
        }
        tokio::time::sleep_until(until).await;
        true
    }

    /// Waits out the archive's pause, unless it ends past the deadline (then `false`).
    async fn wait_for_pause(&self) -> bool {
        let until = *self.paused_until.lock().expect("not poisoned");
        if until <= Instant::now() {
            return true;
        }
        if until > self.deadline {
            return false;
        }
        tokio::time::sleep_until(until).await;
        true
    }

    /// Pauses every call for `wait` (or longer, if another call was told so).
    fn pause(&self, wait: Duration) {
        let mut until = self.paused_until.lock().expect("not poisoned");
        *until = (*until).max(Instant::now() + wait);
    }

    fn keys_refused(&self) -> Option<String> {
        self.keys_refused.lock().expect("not poisoned").clone()
    }

    /// Lists an accepted job in the pending file, durably, before anything else happens to it.
    async fn list(self: &Arc<Self>, job: PendingJob) -> Result<(), PendingWriteError> {
        let shared = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            // Held while writing: two jobs accepted at once are both in the file.
            let mut listed = shared.listed.lock().expect("not poisoned");
            listed.push(job);
            pending::write(&shared.archive_dir, &listed)
        })
        .await
        .expect("writing the pending file panicked")
    }
}

/// A task of the phase.
enum Work {
    /// An earlier run's job, to be polled.
    Earlier(PendingJob),
    /// A capture to be submitted.
    New(Capture),
}

impl Work {
    async fn run(self, shared: Arc<Shared>, slot: OwnedSemaphorePermit) -> Result<Finished, PendingWriteError> {
        match self {
            Work::Earlier(job) => {
                let capture = capture_of(&job);
                // Polled at once: it has run since the earlier run.
                let end = poll(&shared, &job.job_id, Duration::ZERO, slot).await;
                Ok(Finished {
                    capture,
                    job: Some(job),
                    earlier: true,
                    end,
                })
            }
            Work::New(capture) => submit(&shared, capture, slot).await,
        }
    }

    /// The end of work that never got a place before the deadline.
    fn not_started(self) -> Finished {
        match self {
            Work::Earlier(job) => Finished {
                capture: capture_of(&job),
                job: Some(job),
                earlier: true,
                end: End::Pending(None),
            },
            Work::New(capture) => Finished {
                capture,
                job: None,
                earlier: false,
                end: End::Skipped("--submit-wait ran out before a job could start".into()),
            },
        }
    }
}

fn capture_of(job: &PendingJob) -> Capture {
    Capture {
        link: job.link.clone(),
        url: job.url.clone(),
        sha256: job.sha256.clone(),
        first_seen: job.first_seen.clone(),
    }
}

/// Submits `capture`, lists the job, and polls it.
async fn submit(
    shared: &Arc<Shared>,
    capture: Capture,
    slot: OwnedSemaphorePermit,
) -> Result<Finished, PendingWriteError> {
    let finished = |end| Finished {
        capture: capture.clone(),
        job: None,
        earlier: false,
        end,
    };
    let (mut unavailable, mut trouble) = (0, 0);
    let job_id = loop {
        if let Some(why) = shared.keys_refused() {
            return Ok(finished(End::Failed(why)));
        }
        if !shared.wait_for_pause().await {
            return Ok(finished(End::Skipped(
                "Save Page Now asked to wait past --submit-wait".into(),
            )));
        }
        let error = match shared.client.submit(&capture.url).await {
            Ok(Accepted::Job(job_id)) => break job_id,
            Ok(Accepted::Refused(reason)) => {
                let copy = PublicCopy::refused(shared.archive, reason, now());
                return Ok(finished(End::Recorded(copy)));
            }
            Err(e) => e,
        };
        trouble += 1;
        tracing::debug!(link = %capture.link, "submitting: {error}");
        match error {
            SpnError::RateLimited { retry_after } if trouble <= MAX_TROUBLE => {
                shared.pause(retry_after.unwrap_or_else(|| backoff(trouble)));
            }
            SpnError::Credentials(_) => {
                let why = error.to_string();
                *shared.keys_refused.lock().expect("not poisoned") = Some(why.clone());
                return Ok(finished(End::Failed(why)));
            }
            SpnError::Unavailable(_) | SpnError::Unreadable(_) if unavailable < SUBMIT_RETRIES => {
                unavailable += 1;
                if !shared.sleep_within_deadline(backoff(unavailable)).await {
                    return Ok(finished(End::Failed(error.to_string())));
                }
            }
            error => return Ok(finished(End::Failed(error.to_string()))),
        }
    };
    tracing::info!(link = %capture.link, job = %job_id, "submitted to Save Page Now");
    let job = PendingJob {
        archive: shared.archive.name().to_owned(),
        link: capture.link.clone(),
        url: capture.url.clone(),
        sha256: capture.sha256.clone(),
        first_seen: capture.first_seen.clone(),
        job_id: job_id.clone(),
        submitted_at: now(),
        extra: serde_json::Map::new(),
    };
    shared.list(job.clone()).await?;
    let end = poll(shared, &job_id, POLL_FIRST, slot).await;
    Ok(Finished {
        capture,
        job: Some(job),
        earlier: false,
        end,
    })
}

/// Asks about job `job_id`, first after `wait`, until it ends or the deadline comes. A job left
/// running keeps its place (`slot`): it still runs at the archive.
async fn poll(shared: &Shared, job_id: &str, mut wait: Duration, slot: OwnedSemaphorePermit) -> End {
    let (mut polls, mut trouble) = (0, 0);
    let still_running = |why: Option<String>| {
        slot.forget();
        End::Pending(why)
    };
    loop {
        if !shared.sleep_within_deadline(wait).await || !shared.wait_for_pause().await {
            return still_running(None);
        }
        if let Some(why) = shared.keys_refused() {
            return still_running(Some(why));
        }
        let error = match shared.client.status(job_id).await {
            Ok(JobStatus::Pending { retry_after }) => {
                polls += 1;
                trouble = 0;
                wait = retry_after.unwrap_or_else(|| poll_wait(polls)).max(POLL_MIN);
                tracing::debug!(job = %job_id, "pending");
                continue;
            }
            Ok(JobStatus::Captured { memento, timestamp }) => {
                return End::Recorded(PublicCopy::found(shared.archive, memento, timestamp));
            }
            Ok(JobStatus::Failed(reason)) => return End::Recorded(PublicCopy::refused(shared.archive, reason, now())),
            Ok(JobStatus::Unknown) => {
                let reason = format!(
                    "error:unknown-job: Save Page Now no longer knows the job {job_id} (it keeps a job's status for a limited time)"
                );
                return End::Recorded(PublicCopy::refused(shared.archive, reason, now()));
            }
            Err(e) => e,
        };
        trouble += 1;
        tracing::debug!(job = %job_id, "polling: {error}");
        match error {
            SpnError::Credentials(_) => {
                let why = error.to_string();
                *shared.keys_refused.lock().expect("not poisoned") = Some(why.clone());
                return still_running(Some(why));
            }
            _ if trouble > MAX_TROUBLE => return still_running(Some(error.to_string())),
            SpnError::RateLimited { retry_after } => {
                shared.pause(retry_after.unwrap_or_else(|| backoff(trouble)));
                wait = Duration::ZERO;
            }
            _ => wait = backoff(trouble),
        }
    }
}

/// The wait before question number `polls + 1` about a pending job: 1 s, 2 s, 4 s, 8 s, then
/// 10 s.
fn poll_wait(polls: u32) -> Duration {
    crate::fetch::retry::backoff(POLL_FIRST, polls.saturating_sub(1)).min(POLL_MAX)
}

/// The wait after the `trouble`-th call in a row that got no answer.
fn backoff(trouble: u32) -> Duration {
    crate::fetch::retry::backoff(BACKOFF_FIRST, trouble.saturating_sub(1))
}

fn now() -> String {
    timestamp(chrono::Utc::now())
}

/// Where a copy goes among a link's snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Added to the capture's snapshot.
    Added,
    /// The snapshot holds it already (a job polled again after a kill).
    AlreadyThere,
    /// No snapshot is the capture any more.
    NoSnapshot,
}

/// Records `copy` in the snapshot of `capture` among `snapshots`: the one with its hash first
/// seen when it was, else the latest with its hash. A copy with the same address (or, for a
/// refusal, the same reason) is not recorded twice.
pub fn place_copy(snapshots: &mut [Snapshot], capture: &Capture, copy: PublicCopy) -> Placed {
    let exact = snapshots
        .iter()
        .position(|s| s.sha256 == capture.sha256 && s.first_seen == capture.first_seen);
    let index = exact.or_else(|| snapshots.iter().rposition(|s| s.sha256 == capture.sha256));
    let Some(snapshot) = index.map(|i| &mut snapshots[i]) else {
        return Placed::NoSnapshot;
    };
    let same = |c: &PublicCopy| c.archive == copy.archive && c.url == copy.url && c.error == copy.error;
    if snapshot.public_copies.iter().any(same) {
        return Placed::AlreadyThere;
    }
    snapshot.public_copies.push(copy);
    Placed::Added
}

/// Up to five of `ids`, for a warning about many links.
pub fn some_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen = HashSet::new();
    let ids: Vec<&str> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
    let mut shown = ids.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if ids.len() > 5 {
        shown.push_str(&format!(" and {} more", ids.len() - 5));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(sha: &str, first_seen: &str) -> Snapshot {
        serde_json::from_value(serde_json::json!({
            "sha256": sha.repeat(64), "size": 1, "first_seen": first_seen, "last_seen": first_seen,
            "http_status": 200, "final_url": "https://a.example/", "run": "r"
        }))
        .unwrap()
    }

    fn capture(sha: &str, first_seen: &str) -> Capture {
        Capture {
            link: "a".into(),
            url: "https://a.example/".into(),
            sha256: sha.repeat(64),
            first_seen: first_seen.into(),
        }
    }

    #[test]
    fn pending_jobs_are_asked_about_less_and_less_often() {
        let waits: Vec<u64> = (1..=7).map(|n| poll_wait(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10, 10]);
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
    }

    #[test]
    fn a_copy_goes_to_its_own_snapshot_once() {
        // The same bytes twice (A, B, A): the copy of the first A stays with the first.
        let mut snapshots = vec![snapshot("a", "t1"), snapshot("b", "t2"), snapshot("a", "t3")];
        let copy = PublicCopy::found(PublicArchive::Wayback, "https://w/web/1/a".into(), "t".into());
        assert_eq!(
            place_copy(&mut snapshots, &capture("a", "t1"), copy.clone()),
            Placed::Added
        );
        assert_eq!(snapshots[0].public_copies, std::slice::from_ref(&copy));
        assert!(snapshots[2].public_copies.is_empty());
        // Polled again after a kill: recorded once.
        assert_eq!(
            place_copy(&mut snapshots, &capture("a", "t1"), copy.clone()),
            Placed::AlreadyThere
        );
        // A snapshot whose first_seen is unknown now: the latest with the hash.
        assert_eq!(place_copy(&mut snapshots, &capture("a", "t9"), copy), Placed::Added);
        assert_eq!(snapshots[2].public_copies.len(), 1);
        let refused = PublicCopy::refused(PublicArchive::Wayback, "error:x".into(), "t".into());
        assert_eq!(
            place_copy(&mut snapshots, &capture("c", "t1"), refused),
            Placed::NoSnapshot
        );
    }

    #[test]
    fn a_refusal_polled_again_is_recorded_once_whenever_it_was_learnt() {
        let mut snapshots = vec![snapshot("a", "t1")];
        let refused = |at: &str| PublicCopy::refused(PublicArchive::Wayback, "error:blocked-url: no".into(), at.into());
        assert_eq!(
            place_copy(&mut snapshots, &capture("a", "t1"), refused("t5")),
            Placed::Added
        );
        assert_eq!(
            place_copy(&mut snapshots, &capture("a", "t1"), refused("t6")),
            Placed::AlreadyThere
        );
    }

    #[test]
    fn warnings_name_a_few_ids() {
        assert_eq!(some_ids(["a", "b", "a"]), "a, b");
        assert_eq!(
            some_ids(["1", "2", "3", "4", "5", "6", "7"]),
            "1, 2, 3, 4, 5 and 2 more"
        );
    }
}
