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

use std::future::Future;

use indexmap::IndexMap;
use tokio::task::JoinSet;

use crate::fetch::politeness::host_key;
use crate::links::Link;

/// How many tasks a window keeps alive per request slot (`--concurrency`): enough that tasks
/// waiting for a busy host's permit do not leave slots idle that other hosts could use.
const TASKS_PER_SLOT: usize = 2;

/// Link indices in host-interleaved order: the first link of every host (in order of first
/// appearance), then the second of every host, and so on.
pub fn interleave_by_host(links: &[Link]) -> Vec<usize> {
    let mut by_host: IndexMap<(&str, &str, Option<u16>), Vec<usize>> = IndexMap::new();
    for (index, link) in links.iter().enumerate() {
        by_host.entry(host_key(&link.parsed)).or_default().push(index);
    }
    let mut queues: Vec<std::vec::IntoIter<usize>> = by_host.into_values().map(Vec::into_iter).collect();
    let mut order = Vec::with_capacity(links.len());
    while !queues.is_empty() {
        queues.retain_mut(|queue| match queue.next() {
            Some(index) => {
                order.push(index);
                true
            }
            None => false,
        });
    }
    order
}

/// Runs one task per link index, at most `size` at a time, in the order given. The caller
/// starts tasks with [`Window::fill`] (the closure may borrow what the caller changes between
/// two calls, such as the manifest) and collects them with [`Window::next`].
pub struct Window<T> {
    tasks: JoinSet<(usize, T)>,
    order: std::vec::IntoIter<usize>,
    size: usize,
}

impl<T: Send + 'static> Window<T> {
    /// A window over `order` running at most `size` (at least one) tasks at a time.
    pub fn new(order: Vec<usize>, size: usize) -> Self {
        Self {
            tasks: JoinSet::new(),
            order: order.into_iter(),
            size: size.max(1),
        }
    }

    /// The window of a run over `links` with `concurrency` request slots: host-interleaved
    /// order, `TASKS_PER_SLOT` tasks per slot.
    pub fn for_links(links: &[Link], concurrency: std::num::NonZeroUsize) -> Self {
        Self::new(interleave_by_host(links), concurrency.get() * TASKS_PER_SLOT)
    }

    /// Starts `task(index)` for the next indices until `size` tasks run or none are left.
    pub fn fill<Fut>(&mut self, mut task: impl FnMut(usize) -> Fut)
    where
        Fut: Future<Output = T> + Send + 'static,
    {
        while self.tasks.len() < self.size {
            let Some(index) = self.order.next() else { break };
            let task = task(index);
            self.tasks.spawn(async move { (index, task.await) });
        }
    }

    /// The next task to finish, with its index; `None` when none is running.
    pub async fn next(&mut self) -> Option<(usize, T)> {
        loop {
            match self.tasks.join_next().await? {
                Ok(done) => return Some(done),
                // Stopped by `abort`: it has no result.
                Err(e) if e.is_cancelled() => continue,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    /// Stops every running task and starts no more.
    pub fn abort(&mut self) {
        self.order = Vec::new().into_iter();
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

    #[test]
    fn hosts_take_turns_and_keep_their_own_order() {
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
        assert_eq!(interleave_by_host(&links), [0, 3, 4, 6, 1, 5, 2]);
        assert!(interleave_by_host(&[]).is_empty());
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
