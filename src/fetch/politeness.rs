//! Politeness: a global limit on requests in flight, one per host, and for the hosts a
//! `[[hosts]]` rule gives an `interval`, the least time between the starts of two requests.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// Hands out the right to send one request. A host is a scheme, host name and port, so that
/// two servers on one machine are two hosts.
#[derive(Debug)]
pub struct Limits {
    global: Arc<Semaphore>,
    // A std Mutex: it is held only to look up or insert a host, never across an await.
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

/// How one host is treated: the run's `--per-host`, or its rule's `per_host` and `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPolicy {
    /// Requests in flight to the host at a time.
    pub per_host: NonZeroUsize,
    /// The least time between the starts of two requests to the host.
    pub interval: Option<Duration>,
}

/// One host's slots and, under an interval, when its last request started.
#[derive(Debug)]
struct Host {
    slots: Arc<Semaphore>,
    interval: Option<Duration>,
    /// An async mutex, held from waiting for the next start time to recording the start, so
    /// that two requests cannot both take the same start time; `None` before the first.
    last_start: tokio::sync::Mutex<Option<Instant>>,
}

/// Held while a request (and its body) is in flight; dropping it frees both slots.
#[derive(Debug)]
pub struct Permit {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl Limits {
    /// Limits with `global` requests in flight overall.
    pub fn new(global: NonZeroUsize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global.get())),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot on `url`'s host, then for the host's next start time, then for a
    /// global slot. The host slot comes first so that links queued behind a busy host never
    /// hold global slots other hosts could use; the interval is waited out before the global
    /// slot is taken for the same reason. `policy` is the host's: the fetcher derives it from
    /// the host's rule, which is the same for every URL with this host key, and the first
    /// request to a host fixes it.
    pub async fn acquire(&self, url: &Url, policy: HostPolicy) -> Permit {
        let host = self.host(url, policy);
        let host_permit = Arc::clone(&host.slots)
            .acquire_owned()
            .await
            .expect("semaphores are never closed");
        let global = match host.interval {
            None => self.global_slot().await,
            Some(interval) => {
                // Held until the start is recorded: a request that took its start time and then
                // waited for a global slot still counts from when it really started.
                let mut last_start = host.last_start.lock().await;
                if let Some(last) = *last_start {
                    tokio::time::sleep_until(last + interval).await;
                }
                let global = self.global_slot().await;
                *last_start = Some(Instant::now());
                global
            }
        };
        Permit {
            _host: host_permit,
            _global: global,
        }
    }

    /// How many of the global slots nobody holds or waits for now: the run's start order
    /// ([`crate::schedule::Window::gated`]) starts links only into these.
    pub fn free_slots(&self) -> usize {
        self.global.available_permits()
    }

    async fn global_slot(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.global)
            .acquire_owned()
            .await
            .expect("semaphores are never closed")
    }

    fn host(&self, url: &Url, policy: HostPolicy) -> Arc<Host> {
        let (scheme, host, port) = host_key(url);
        let key = format!("{scheme}://{host}:{}", port.unwrap_or_default());
        let mut hosts = self.hosts.lock().expect("no panics while the lock is held");
        Arc::clone(hosts.entry(key).or_insert_with(|| {
            Arc::new(Host {
                slots: Arc::new(Semaphore::new(policy.per_host.get())),
                interval: policy.interval,
                last_start: tokio::sync::Mutex::new(None),
            })
        }))
    }
}

/// A host as the limits count it: scheme, host name and port (the scheme's default when the
/// URL names none). The run's start order ([`crate::schedule`]) groups links by the same key.
pub fn host_key(url: &Url) -> (&str, &str, Option<u16>) {
    (
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    fn policy(per_host: usize, interval: Option<u64>) -> HostPolicy {
        HostPolicy {
            per_host: nz(per_host),
            interval: interval.map(Duration::from_secs),
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[tokio::test]
    async fn per_host_slots_are_separate_per_port() {
        let limits = Limits::new(nz(10));
        let a = url("http://127.0.0.1:1000/x");
        let b = url("http://127.0.0.1:2000/x");
        let _held = limits.acquire(&a, policy(1, None)).await;
        // Another port is another host: no wait.
        let _other = limits.acquire(&b, policy(1, None)).await;
        // The same host must wait while the first permit is held.
        let same = tokio::time::timeout(Duration::from_millis(50), limits.acquire(&a, policy(1, None))).await;
        assert!(
            same.is_err(),
            "a second request to a host with --per-host 1 did not wait"
        );
    }

    #[tokio::test]
    async fn global_limit_applies_across_hosts() {
        let limits = Limits::new(nz(1));
        let _held = limits.acquire(&url("http://a.example/"), policy(4, None)).await;
        let other = url("http://b.example/");
        let waited = tokio::time::timeout(Duration::from_millis(50), limits.acquire(&other, policy(4, None))).await;
        assert!(waited.is_err(), "the global limit did not hold");
    }

    #[tokio::test]
    async fn a_hosts_own_per_host_replaces_the_runs() {
        let limits = Limits::new(nz(10));
        let ruled = url("http://ruled.example/");
        let plain = url("http://plain.example/");
        let _held = [
            limits.acquire(&ruled, policy(2, None)).await,
            limits.acquire(&ruled, policy(2, None)).await,
        ];
        let third = tokio::time::timeout(Duration::from_millis(50), limits.acquire(&ruled, policy(2, None))).await;
        assert!(third.is_err(), "a third request in flight to a host with per_host 2");
        let mut others = Vec::new();
        for _ in 0..4 {
            others.push(limits.acquire(&plain, policy(4, None)).await);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_to_a_host_with_an_interval_start_that_far_apart() {
        let limits = Arc::new(Limits::new(nz(10)));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let limits = Arc::clone(&limits);
            tasks.spawn(async move {
                let _permit = limits.acquire(&url("http://slow.example/"), policy(4, Some(2))).await;
                Instant::now()
            });
        }
        let mut starts = tasks.join_all().await;
        starts.sort();
        let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(starts[0], start, "the first request waited");
        assert!(gaps.iter().all(|g| *g >= Duration::from_secs(2)), "gaps {gaps:?}");
        // Another host is not held up meanwhile.
        let before = Instant::now();
        let _other = limits.acquire(&url("http://fast.example/"), policy(4, None)).await;
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_out_an_interval_holds_no_global_slot() {
        let limits = Arc::new(Limits::new(nz(1)));
        let slow = url("http://slow.example/");
        drop(limits.acquire(&slow, policy(1, Some(60))).await);
        let waiting = {
            let (limits, slow) = (Arc::clone(&limits), slow.clone());
            tokio::spawn(async move { limits.acquire(&slow, policy(1, Some(60))).await })
        };
        tokio::task::yield_now().await;
        // Time is paused: had the other host to wait, time would move on to the timeout.
        let fast = url("http://fast.example/");
        let other = limits.acquire(&fast, policy(4, None));
        let other = tokio::time::timeout(Duration::from_secs(1), other).await;
        assert!(other.is_ok(), "another host waited for the interval");
        drop(other);
        waiting.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_start_delayed_by_the_global_limit_counts_from_when_it_happened() {
        // One global slot, held by another host for 5 s: the first request to the ruled host
        // starts at 5 s, so the second may not start before 5 + 2 s, though its own turn
        // (2 s after the first was due) came earlier.
        let limits = Arc::new(Limits::new(nz(1)));
        let start = Instant::now();
        let blocker = limits.acquire(&url("http://other.example/"), policy(4, None)).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..2 {
            let limits = Arc::clone(&limits);
            tasks.spawn(async move {
                let _permit = limits.acquire(&url("http://slow.example/"), policy(4, Some(2))).await;
                Instant::now()
            });
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(blocker);
        let mut starts = tasks.join_all().await;
        starts.sort();
        assert_eq!(starts[0] - start, Duration::from_secs(5));
        assert!(starts[1] - starts[0] >= Duration::from_secs(2), "starts {starts:?}");
    }
}
