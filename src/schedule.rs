//! In what order the links of a run start, and how many are started at once.
//!
//! Spawning one task per link up front cost about 3.3 KiB per link before any of them could
//! run (340 MiB for 100,000 links, issue #7), and most of them would only wait for a
//! politeness permit. A [`Window`] keeps a bounded number of tasks alive instead, starting the
//! next link as one finishes.
//!
//! Started in list order, a window would fill with one host's links whenever a list cites many
//! pages of one site in a row, and that host's `--per-host` limit would then idle every other
//! host. So links start in host-interleaved order: one link of each host in turn, each host's
//! links in list order; and a host runs no more links at once than it may have requests in
//! flight, so that a host slow to serve, or slow to start requests under its `[[hosts]]` rule's
//! `interval`, cannot fill the window in time. Results are still reported by index, in list
//! order.

use std::collections::VecDeque;
use std::future::Future;

use indexmap::IndexMap;
use tokio::task::JoinSet;
use url::Url;

use crate::fetch::politeness::host_key;
use crate::links::Link;

/// How many tasks a window keeps alive per request slot (`--concurrency`): enough that tasks
/// waiting for a busy host's permit do not leave slots idle that other hosts could use.
const TASKS_PER_SLOT: usize = 2;

/// Link indices by host (scheme, host, port), hosts in order of first appearance, each host's
/// links in list order.
pub fn group_by_host(links: &[Link]) -> Vec<Vec<usize>> {
    let mut by_host: IndexMap<(&str, &str, Option<u16>), Vec<usize>> = IndexMap::new();
    for (index, link) in links.iter().enumerate() {
        by_host.entry(host_key(&link.parsed)).or_default().push(index);
    }
    by_host.into_values().collect()
}

/// The links of one host not started yet, and how many of its links may run at once.
struct HostQueue {
    pending: std::vec::IntoIter<usize>,
    running: usize,
    cap: usize,
}

impl HostQueue {
    /// Whether the host may start a link now.
    fn ready(&self) -> bool {
        self.running < self.cap && !self.pending.as_slice().is_empty()
    }
}

/// Runs one task per link index, at most `size` at a time, hosts taking turns: one link of
/// each host, then the next of each, each host's links in list order. A host runs at most its
/// cap of links at once (its requests in flight at a time): more would only wait for its
/// permits, and a host whose requests are slow to start (a `[[hosts]]` rule's `interval`)
/// would otherwise fill the window in time and idle every other host. The caller starts tasks
/// with [`Window::fill`] (the closure may borrow what the caller changes between two calls,
/// such as the manifest) and collects them with [`Window::next`].
pub struct Window<T> {
    tasks: JoinSet<(usize, T)>,
    hosts: Vec<HostQueue>,
    /// The host of each link index.
    host_of: Vec<usize>,
    /// The hosts that may start a link now, in turn order: a host is here exactly when it is
    /// [`HostQueue::ready`].
    ready: VecDeque<usize>,
    size: usize,
}

impl<T: Send + 'static> Window<T> {
    /// A window over `order`, one queue with no cap of its own, running at most `size` (at
    /// least one) tasks at a time.
    pub fn new(order: Vec<usize>, size: usize) -> Self {
        Self::by_host(vec![(order, usize::MAX)], size)
    }

    /// A window over `hosts`' link indices (each host with its cap) running at most `size` (at
    /// least one) tasks at a time.
    fn by_host(hosts: Vec<(Vec<usize>, usize)>, size: usize) -> Self {
        let len = hosts
            .iter()
            .flat_map(|(links, _)| links.iter())
            .max()
            .map_or(0, |last| last + 1);
        let mut host_of = vec![0; len];
        let hosts: Vec<HostQueue> = hosts
            .into_iter()
            .enumerate()
            .map(|(host, (links, cap))| {
                for &index in &links {
                    host_of[index] = host;
                }
                HostQueue {
                    pending: links.into_iter(),
                    running: 0,
                    cap: cap.max(1),
                }
            })
            .collect();
        Self {
            tasks: JoinSet::new(),
            ready: (0..hosts.len()).filter(|&host| hosts[host].ready()).collect(),
            hosts,
            host_of,
            size: size.max(1),
        }
    }

    /// The window of a run over `links` with `concurrency` request slots, `TASKS_PER_SLOT`
    /// tasks per slot, and at most `per_host(url)` links of a host running at once (its
    /// requests in flight at a time: `--per-host` or its rule's).
    pub fn for_links(links: &[Link], concurrency: std::num::NonZeroUsize, per_host: impl Fn(&Url) -> usize) -> Self {
        let hosts = group_by_host(links)
            .into_iter()
            .map(|indices| {
                let cap = per_host(&links[indices[0]].parsed);
                (indices, cap)
            })
            .collect();
        Self::by_host(hosts, concurrency.get() * TASKS_PER_SLOT)
    }

    /// Starts `task(index)` for the next indices until `size` tasks run or no host may start
    /// one.
    pub fn fill<Fut>(&mut self, mut task: impl FnMut(usize) -> Fut)
    where
        Fut: Future<Output = T> + Send + 'static,
    {
        while self.tasks.len() < self.size {
            let Some(host) = self.ready.pop_front() else { break };
            let queue = &mut self.hosts[host];
            let index = queue.pending.next().expect("a ready host has links left");
            queue.running += 1;
            if queue.ready() {
                self.ready.push_back(host);
            }
            let task = task(index);
            self.tasks.spawn(async move { (index, task.await) });
        }
    }

    /// The next task to finish, with its index; `None` when none is running.
    pub async fn next(&mut self) -> Option<(usize, T)> {
        loop {
            match self.tasks.join_next().await? {
                Ok(done) => {
                    let host = self.host_of[done.0];
                    let queue = &mut self.hosts[host];
                    // A host at its cap was out of turn until one of its links finished.
                    let was_ready = queue.ready();
                    queue.running -= 1;
                    if !was_ready && queue.ready() {
                        self.ready.push_back(host);
                    }
                    return Some(done);
                }
                // Stopped by `abort`: it has no result.
                Err(e) if e.is_cancelled() => continue,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    /// Stops every running task and starts no more.
    pub fn abort(&mut self) {
        for queue in &mut self.hosts {
            queue.pending = Vec::new().into_iter();
        }
        self.ready.clear();
        self.tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn links(urls: &[&str]) -> Vec<Link> {
        let text = serde_json::to_string(&urls).unwrap();
        crate::links::parse(std::path::Path::new("links.json"), &text)
            .unwrap()
            .links
    }

    #[tokio::test]
    async fn hosts_take_turns_and_keep_their_own_order() {
        let links = links(&[
            "http://a.example/1",
            "http://a.example/2",
            "http://a.example/3",
            "http://b.example/1",
            "https://a.example/1",
            "http://b.example/2",
            "http://a.example:8080/1",
        ]);
        // Hosts by first appearance: a:80, b:80, a:443, a:8080.
        let mut started = Vec::new();
        let mut window: Window<()> = Window::for_links(&links, std::num::NonZeroUsize::new(10).unwrap(), |_| 4);
        window.fill(|index| {
            started.push(index);
            std::future::pending()
        });
        assert_eq!(started, [0, 3, 4, 6, 1, 5, 2]);
        window.abort();
    }

    /// A host at its cap takes no more of the window: its next link starts when one of its own
    /// finishes, and the other hosts' links take the free places meanwhile.
    #[tokio::test]
    async fn a_host_runs_at_most_its_cap_of_links() {
        let links = links(&[
            "http://slow.example/1",
            "http://slow.example/2",
            "http://slow.example/3",
            "http://fast.example/1",
            "http://fast.example/2",
            "http://fast.example/3",
        ]);
        let cap = |url: &Url| if url.host_str() == Some("slow.example") { 1 } else { 4 };
        let mut started = Vec::new();
        let mut window: Window<()> = Window::for_links(&links, std::num::NonZeroUsize::new(10).unwrap(), cap);
        window.fill(|index| {
            started.push(index);
            std::future::pending()
        });
        assert_eq!(started, [0, 3, 4, 5]);
        window.abort();

        let slow_running = Arc::new(AtomicUsize::new(0));
        let mut window = Window::for_links(&links, std::num::NonZeroUsize::new(10).unwrap(), cap);
        let task = |index: usize| {
            let slow_running = Arc::clone(&slow_running);
            async move {
                if index < 3 {
                    let now = slow_running.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::task::yield_now().await;
                    slow_running.fetch_sub(1, Ordering::SeqCst);
                    return now;
                }
                0
            }
        };
        window.fill(task);
        let mut done = Vec::new();
        while let Some((index, most)) = window.next().await {
            assert!(most <= 1, "{most} links of the capped host ran at once");
            done.push(index);
            window.fill(task);
        }
        done.sort_unstable();
        assert_eq!(done, [0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_window_never_runs_more_than_its_size_and_runs_everything() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let task = |index: usize| {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, Ordering::SeqCst);
                index * 10
            }
        };
        let mut window = Window::new((0..20).collect(), 3);
        window.fill(task);
        let mut seen = Vec::new();
        while let Some((index, output)) = window.next().await {
            assert_eq!(output, index * 10);
            seen.push(index);
            window.fill(task);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        assert!(
            most.load(Ordering::SeqCst) <= 3,
            "{} tasks ran at once",
            most.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn only_the_window_is_started_and_abort_starts_no_more() {
        let started = AtomicUsize::new(0);
        let task = |_| {
            started.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>()
        };
        let mut window = Window::new((0..100).collect(), 5);
        window.fill(task);
        window.fill(task);
        assert_eq!(started.load(Ordering::SeqCst), 5);
        window.abort();
        window.fill(task);
        assert_eq!(started.load(Ordering::SeqCst), 5);
        assert!(window.next().await.is_none());
    }
}
