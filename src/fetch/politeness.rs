//! Politeness: a global limit on requests in flight, and one per host.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// Hands out the right to send one request. A host is a scheme, host name and port, so that
/// two servers on one machine are two hosts.
#[derive(Debug)]
pub struct Limits {
    global: Arc<Semaphore>,
    per_host: NonZeroUsize,
    // A std Mutex: it is held only to look up or insert a semaphore, never across an await.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while a request (and its body) is in flight; dropping it frees both slots.
#[derive(Debug)]
pub struct Permit {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl Limits {
    /// Limits with `global` requests in flight overall and `per_host` to any one host.
    pub fn new(global: NonZeroUsize, per_host: NonZeroUsize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global.get())),
            per_host,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot on `url`'s host, then for a global one. The host slot comes first so
    /// that links queued behind a busy host never hold global slots other hosts could use.
    pub async fn acquire(&self, url: &Url) -> Permit {
        let host = self.host_semaphore(url);
        let host = host.acquire_owned().await.expect("semaphores are never closed");
        let global = Arc::clone(&self.global)
            .acquire_owned()
            .await
            .expect("semaphores are never closed");
        Permit {
            _host: host,
            _global: global,
        }
    }

    fn host_semaphore(&self, url: &Url) -> Arc<Semaphore> {
        let (scheme, host, port) = host_key(url);
        let key = format!("{scheme}://{host}:{}", port.unwrap_or_default());
        let mut hosts = self.hosts.lock().expect("no panics while the lock is held");
        Arc::clone(
            hosts
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host.get()))),
        )
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

    #[tokio::test]
    async fn per_host_slots_are_separate_per_port() {
        let limits = Limits::new(nz(10), nz(1));
        let a = Url::parse("http://127.0.0.1:1000/x").unwrap();
        let b = Url::parse("http://127.0.0.1:2000/x").unwrap();
        let _held = limits.acquire(&a).await;
        // Another port is another host: no wait.
        let _other = limits.acquire(&b).await;
        // The same host must wait while the first permit is held.
        let same = tokio::time::timeout(std::time::Duration::from_millis(50), limits.acquire(&a)).await;
        assert!(
            same.is_err(),
            "a second request to a host with --per-host 1 did not wait"
        );
    }

    #[tokio::test]
    async fn global_limit_applies_across_hosts() {
        let limits = Limits::new(nz(1), nz(4));
        let _held = limits.acquire(&Url::parse("http://a.example/").unwrap()).await;
        let other = Url::parse("http://b.example/").unwrap();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), limits.acquire(&other)).await;
        assert!(waited.is_err(), "the global limit did not hold");
    }
}
