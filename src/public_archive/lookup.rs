//! A run's lookups in a public archive (`--public-archive`): which links are looked up, each
//! started as soon as its link's result is known so that lookups overlap the fetches still
//! running, at the pace the archive asks for, each query asked once per run, and every
//! failure a warning of the run, never a failed link.
//!
//! Lookups go through a [`Fetcher`] of their own: the run's timeouts, retries (and
//! `Retry-After`), proxy and TLS settings, but none of the user's `-H` headers (an
//! `Authorization` or `Cookie` meant for the cited sites must never reach the archive), no
//! `--include`/`--exclude` (they choose links, not archives) and no `--accept`.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::DateTime;
use reqwest::header::{ACCEPT_ENCODING, HeaderMap, HeaderValue};
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

use super::PublicCopy;
use super::cdx::{self, Capture};
use crate::config::{AcceptSet, NetworkConfig, PublicArchiveConfig};
use crate::fetch::download::{self, ACCEPT_ENCODING as DECODABLE};
use crate::fetch::{ClientError, Fetcher};
use crate::links::Link;
use crate::outcome::{LinkResult, Outcome};
use crate::store::PayloadSink;

/// Queries in flight to the archive at once.
pub const IN_FLIGHT: usize = 2;
/// The least time between the starts of two queries. The Wayback Machine allows 60 CDX
/// queries a minute from one address, averaged over five minutes, and answers more with 429
/// (and, when they go on, with a block of the address for an hour): one a second stays under
/// it whatever the answers' latency.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// The largest answer read: a query asks for at most two rows, so anything near this is not
/// an answer to it.
const MAX_ANSWER: u64 = 1 << 20;

/// The lookups of one run.
pub struct Lookups {
    archive: Arc<Archive>,
    /// Look every link up, not only the failed ones.
    all: bool,
    tasks: JoinSet<(usize, Option<PublicCopy>)>,
}

impl Lookups {
    /// Lookups in the archive `config` names, through the run's `network` settings less what
    /// belongs to the cited sites alone (see the module's documentation).
    pub fn new(config: PublicArchiveConfig, network: &NetworkConfig) -> Result<Self, ClientError> {
        let in_flight = NonZeroUsize::new(IN_FLIGHT).expect("non-zero constant");
        let network = NetworkConfig {
            concurrency: in_flight,
            per_host: in_flight,
            max_size: network.max_size.min(MAX_ANSWER),
            accept: AcceptSet::default(),
            headers: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            soft_404_probes: false,
            ..network.clone()
        };
        let interval = if is_loopback(&config.endpoint) {
            // An archive on this machine (a test's fixture, a local CDX server) is no public
            // service to be polite to, and a second per query would only slow its users.
            Duration::ZERO
        } else {
            INTERVAL
        };
        Ok(Self {
            all: config.all,
            archive: Arc::new(Archive {
                fetcher: Fetcher::new(network)?,
                slots: Semaphore::new(IN_FLIGHT),
                pace: Pace::new(interval),
                answers: Mutex::new(HashMap::new()),
                warnings: Mutex::new(Vec::new()),
                given_up: AtomicBool::new(false),
                skipped: AtomicUsize::new(0),
                config,
            }),
            tasks: JoinSet::new(),
        })
    }

    /// Starts looking `link` up if its result calls for it: a failure (whatever `outcome`
    /// the command reports for it), or any link but an excluded one with `--public-archive-all`.
    /// `cited_at` is when its cited capture was made (its first snapshot's `first_seen`, RFC
    /// 3339), when there is one: the copy sought is then the latest at or before it.
    pub fn start(&mut self, index: usize, link: &Link, outcome: Outcome, cited_at: Option<&str>) {
        let wanted = outcome.is_failure() || (self.all && outcome != Outcome::Excluded);
        if !wanted {
            return;
        }
        let archive = Arc::clone(&self.archive);
        let url = link.parsed.clone();
        let to = cited_at
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| cdx::wayback_timestamp(at.to_utc()));
        let span = tracing::info_span!("public_archive", id = %link.id);
        let lookup = async move { (index, archive.lookup(&url, to.as_deref()).await) };
        self.tasks.spawn(tracing::Instrument::instrument(lookup, span));
    }

    /// Waits for every lookup and puts each copy found (or `null`) into its link's result in
    /// `results` (indexed as the links were started); returns the warnings of the lookups.
    pub async fn finish(mut self, results: &mut [LinkResult]) -> Vec<String> {
        if !self.tasks.is_empty() {
            // At the archive's pace this can take a while after the last link is done.
            tracing::info!(pending = self.tasks.len(), "waiting for the public archive's answers");
        }
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok((index, copy)) => results[index].public_copy = Some(copy),
                // A lookup that panicked is a bug; its link keeps no `public_copy` rather than
                // taking the run down with it.
                Err(e) => tracing::error!("a public archive lookup failed: {e}"),
            }
        }
        let archive = &self.archive;
        let skipped = archive.skipped.load(Ordering::Relaxed);
        if skipped > 0 {
            archive.warn(format!(
                "{} {}: {skipped} more link(s) not looked up after the archive failed",
                archive.config.archive.name(),
                archive.config.endpoint
            ));
        }
        std::mem::take(&mut *archive.warnings.lock().expect("not poisoned"))
    }
}

/// Whether `url`'s host is this machine.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// What asking the archive one query came to.
#[derive(Debug, Clone)]
enum Answer {
    /// The latest capture it lists, if any.
    Listed(Option<Capture>),
    /// It could not be asked, or its answer was refused: a warning says why.
    Failed,
    /// Not asked: the archive had failed before.
    Skipped,
}

/// The archive as a run asks it: shared by the run's lookups.
struct Archive {
    config: PublicArchiveConfig,
    fetcher: Fetcher,
    /// Queries in flight, retries included: a query waiting to retry keeps its slot, so the
    /// archive never sees more than [`IN_FLIGHT`] of ours at once, and a query that finds the
    /// archive failed does not ask it.
    slots: Semaphore,
    pace: Pace,
    /// Each query's answer by its URL, asked once however many links need it.
    // A std Mutex: held only to find or insert a cell, never across an await.
    answers: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
    warnings: Mutex<Vec<String>>,
    /// Whether the archive is no longer asked: once it could not answer a query (after the
    /// retries), every link after would only wait for the same failure.
    given_up: AtomicBool,
    /// Links not looked up since.
    skipped: AtomicUsize,
}

impl Archive {
    /// The copy of `url` the archive holds: the latest capture at or before `to` (an archive
    /// timestamp) when given and there is one, else the latest.
    async fn lookup(&self, url: &Url, to: Option<&str>) -> Option<PublicCopy> {
        let mut answer = Answer::Listed(None);
        if to.is_some() {
            answer = self.query(url, to).await;
        }
        if matches!(answer, Answer::Listed(None)) {
            answer = self.query(url, None).await;
        }
        match answer {
            Answer::Listed(capture) => capture.map(|c| c.copy(self.config.archive, &self.config.endpoint)),
            Answer::Failed => None,
            Answer::Skipped => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// The answer to the query for `url` (and `to`): asked now, or as asked before this run.
    async fn query(&self, url: &Url, to: Option<&str>) -> Answer {
        let query = cdx::query_url(&self.config.endpoint, url, to);
        let cell = {
            let mut answers = self.answers.lock().expect("not poisoned");
            Arc::clone(answers.entry(query.to_string()).or_default())
        };
        cell.get_or_init(|| self.ask(query, url, to)).await.clone()
    }

    /// Asks the archive one query, at the archive's pace.
    async fn ask(&self, query: Url, url: &Url, to: Option<&str>) -> Answer {
        let _slot = self.slots.acquire().await.expect("never closed");
        // Looked at with the slot held: a query that failed gave up before freeing its slot.
        if self.given_up.load(Ordering::Relaxed) {
            return Answer::Skipped;
        }
        self.pace.wait().await;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(DECODABLE));
        let fetcher = &self.fetcher;
        let fetched = fetcher
            .fetch(&query, &headers, |response, deadline| async move {
                let limits = fetcher.body_limits(response.url());
                let mut body = Collected::default();
                // Collecting into memory cannot fail to write.
                let _ = download::download(response, deadline, limits, &mut body, None).await?;
                Ok(body.0)
            })
            .await;
        let shown = cdx::without_fragment(url);
        let body = match fetched.body {
            Some(body) if fetched.outcome == Outcome::Ok => body,
            _ => {
                let why = fetched.error.unwrap_or_else(|| fetched.outcome.to_string());
                self.given_up.store(true, Ordering::Relaxed);
                self.warn(format!(
                    "{} {}: cannot look up {shown}: {why}",
                    self.config.archive.name(),
                    self.config.endpoint
                ));
                return Answer::Failed;
            }
        };
        match cdx::read_answer(&body, url, to) {
            Ok(capture) => Answer::Listed(capture),
            Err(e) => {
                self.warn(format!(
                    "{} {}: the answer for {shown} was refused: {e}",
                    self.config.archive.name(),
                    self.config.endpoint
                ));
                Answer::Failed
            }
        }
    }

    /// A warning of the run: logged now, on stderr, and kept for the report.
    fn warn(&self, warning: String) {
        tracing::warn!("{warning}");
        self.warnings.lock().expect("not poisoned").push(warning);
    }
}

/// Spaces the starts of queries at least an interval apart.
struct Pace {
    interval: Duration,
    /// When the next query may start.
    next: Mutex<Instant>,
}

impl Pace {
    fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this query's turn. Each caller takes the next free slot as it arrives, so
    /// waiting queries start one interval apart, in the order they asked.
    async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let turn = {
            let mut next = self.next.lock().expect("not poisoned");
            let turn = (*next).max(Instant::now());
            *next = turn + self.interval;
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}

/// An answer's bytes, collected (at most [`MAX_ANSWER`] of them).
#[derive(Default)]
struct Collected(Vec<u8>);

impl PayloadSink for Collected {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn size(&self) -> u64 {
        self.0.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn queries_start_an_interval_apart() {
        let pace = Arc::new(Pace::new(Duration::from_secs(1)));
        let started = Instant::now();
        let mut waits = JoinSet::new();
        for _ in 0..3 {
            let pace = Arc::clone(&pace);
            waits.spawn(async move {
                pace.wait().await;
                started.elapsed()
            });
        }
        let mut starts: Vec<Duration> = waits.join_all().await;
        starts.sort();
        assert_eq!(starts, [Duration::ZERO, Duration::from_secs(1), Duration::from_secs(2)]);
        // After a quiet spell, the next query need not wait.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let before = Instant::now();
        pace.wait().await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[test]
    fn only_this_machine_is_exempt_from_the_pace() {
        let loopback = |text: &str| is_loopback(&Url::parse(text).unwrap());
        assert!(loopback("http://127.0.0.1:8080/"));
        assert!(loopback("http://[::1]/"));
        assert!(loopback("http://localhost/"));
        assert!(!loopback("https://web.archive.org/"));
        assert!(!loopback("http://10.0.0.1/"));
    }
}
