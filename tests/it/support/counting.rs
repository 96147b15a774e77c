//! A server that counts requests in flight and remembers the highest count it saw, to check the
//! politeness limits from the outside.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::http::{bind, reply, spawn_server};

/// How long each request is held, so that concurrent requests overlap for sure.
const HOLD: Duration = Duration::from_millis(100);

/// Handle on a running counting server.
pub struct Counting {
    /// Base URL, without a trailing slash.
    pub base: String,
    in_flight: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

impl Counting {
    /// Starts the server; every path answers 200 after [`HOLD`].
    pub async fn start() -> Self {
        let (listener, port) = bind().await;
        let server = Counting {
            base: format!("http://127.0.0.1:{port}"),
            in_flight: Arc::default(),
            max: Arc::default(),
            total: Arc::default(),
        };
        let (in_flight, max, total) = (server.in_flight.clone(), server.max.clone(), server.total.clone());
        spawn_server(listener, move |_req| {
            let (in_flight, max, total) = (in_flight.clone(), max.clone(), total.clone());
            async move {
                total.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(HOLD).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                reply(200, "counted")
            }
        });
        server
    }

    /// The most requests that were ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    /// How many requests arrived in total.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }
}
