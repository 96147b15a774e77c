//! A server that holds every response until `n` requests have been in flight at once (or a
//! generous time has passed), and records when each request arrived: to show from the outside
//! that requests were let through together, with no bound on how long that took.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::http::{bind, reply, spawn_server};

/// How long a request waits for the gate before it is answered anyway (and the test, seeing
/// the gate never opened, fails instead of hanging).
const GATE_LIMIT: Duration = Duration::from_secs(10);

/// Handle on a running gate server.
pub struct Gate {
    /// Base URL, without a trailing slash.
    pub base: String,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    in_flight: AtomicUsize,
    max: AtomicUsize,
    opened: AtomicBool,
    open: Notify,
    arrivals: Mutex<Vec<Instant>>,
}

impl Gate {
    /// Starts the server; every path answers 200, once `n` requests were in flight together.
    pub async fn start(n: usize) -> Self {
        Self::holding(n, Duration::ZERO).await
    }

    /// Like [`Gate::start`], and every response is held `hold` longer, so that requests a
    /// client sends together overlap here.
    pub async fn holding(n: usize, hold: Duration) -> Self {
        let (listener, port) = bind().await;
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        spawn_server(listener, move |_req| {
            let state = Arc::clone(&shared);
            async move {
                state.arrivals.lock().unwrap().push(Instant::now());
                let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                state.max.fetch_max(now, Ordering::SeqCst);
                if now >= n {
                    state.opened.store(true, Ordering::SeqCst);
                    state.open.notify_waiters();
                }
                let opened = state.open.notified();
                if !state.opened.load(Ordering::SeqCst) {
                    let _ = tokio::time::timeout(GATE_LIMIT, opened).await;
                }
                tokio::time::sleep(hold).await;
                state.in_flight.fetch_sub(1, Ordering::SeqCst);
                reply(200, "through the gate")
            }
        });
        Gate {
            base: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    /// Whether `n` requests were ever in flight at once.
    pub fn opened(&self) -> bool {
        self.state.opened.load(Ordering::SeqCst)
    }

    /// The most requests that were ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.max.load(Ordering::SeqCst)
    }

    /// When each request arrived, in order of arrival.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.state.arrivals.lock().unwrap().clone()
    }
}
