//! A plain HTTP forward proxy that does not forward: it records the request URI it was asked
//! for (absolute-form, as a proxy receives it) and answers 200 itself.

use std::sync::{Arc, Mutex};

use super::http::{bind, reply, spawn_server};

/// Handle on a running recording proxy.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`, usable as `HTTP_PROXY` or `--proxy`.
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts the proxy.
    pub async fn start() -> Self {
        let (listener, port) = bind().await;
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let record = seen.clone();
        spawn_server(listener, move |req| {
            record.lock().unwrap().push(req.uri().to_string());
            async { reply(200, "answered by the test proxy") }
        });
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            seen,
        }
    }

    /// Every request URI received so far, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
