//! Servers for response bodies that wiremock cannot produce (issue #3): chunked and endless
//! streams (hyper), a body cut short, a reset mid-body, a slow drip, a lying Content-Length
//! (raw TCP), and a gate that holds every response until the test opens it.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::raw::read_request_head;
use tokio::sync::Semaphore;

use super::http::{bind, reply, spawn_server};

/// A response whose body is a stream.
pub type StreamReply = Response<BoxBody<Bytes, Infallible>>;

/// Serves `respond()` to every request with hyper; returns the URL of `/path`.
pub async fn hyper_server(path: &str, respond: impl Fn() -> StreamReply + Clone + Send + Sync + 'static) -> String {
    let (listener, port) = bind().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let response = respond();
                    async move { Ok::<_, Infallible>(response) }
                });
                // Errors are the client hanging up on an endless body, which is the point.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://127.0.0.1:{port}{path}")
}

/// A body of `chunks`, sent with `Transfer-Encoding: chunked` (no Content-Length), a few
/// milliseconds apart so that they arrive as separate reads.
pub async fn chunked_server(content_type: &'static str, chunks: Vec<Bytes>) -> String {
    hyper_server("/chunked", move || {
        let stream = futures_util::stream::unfold(chunks.clone().into_iter(), |mut rest| async move {
            let chunk = rest.next()?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            Some((Ok::<_, Infallible>(Frame::data(chunk)), rest))
        });
        Response::builder()
            .header("content-type", content_type)
            .body(BodyExt::boxed(StreamBody::new(stream)))
            .unwrap()
    })
    .await
}

/// A chunked body that never ends: 64 KiB of `x` after 64 KiB, as fast as the client reads.
pub async fn endless_server() -> String {
    hyper_server("/endless", || {
        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        let stream = futures_util::stream::repeat_with(move || Ok::<_, Infallible>(Frame::data(chunk.clone())));
        Response::builder()
            .header("content-type", "text/plain")
            .body(BodyExt::boxed(StreamBody::new(stream)))
            .unwrap()
    })
    .await
}

/// Reads the request head, then hands the connection to `respond`; returns the URL of `/path`.
async fn raw_server<F, Fut>(path: &str, respond: F) -> String
where
    F: Fn(TcpStream) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (listener, port) = bind().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                read_request_head(&mut stream).await;
                respond(stream).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}{path}")
}

/// Declares `Content-Length: 1000`, sends 500 bytes, and closes the connection cleanly (FIN).
pub async fn truncated_server() -> String {
    raw_server("/truncated", |mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&[b'a'; 500]).await;
        let _ = stream.shutdown().await;
    })
    .await
}

/// Announces a body of `4 * LARGE_BODY` bytes and closes the connection halfway: a body that had
/// moved to a WARC file of its own when it failed (issue #13).
pub async fn large_truncated_server() -> String {
    raw_server("/large-truncated", |mut stream| async move {
        let size = 4 * linkkeep::warc::run::LARGE_BODY as usize;
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&vec![b'a'; size / 2]).await;
        let _ = stream.shutdown().await;
    })
    .await
}

/// Cuts the first response short like [`truncated_server`], then serves `body` whole.
pub async fn truncated_once_server(body: &'static [u8]) -> String {
    let served = Arc::new(AtomicUsize::new(0));
    raw_server("/flaky", move |mut stream| {
        let first = served.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let sent = if first { &body[..body.len() / 2] } else { body };
            let _ = stream.write_all(sent).await;
            let _ = stream.shutdown().await;
        }
    })
    .await
}

/// Declares 100 000 bytes, sends 2 000, then resets the connection (RST, SO_LINGER 0).
pub async fn reset_mid_body_server() -> String {
    reset_after_server(2000).await
}

/// Declares twice `sent` bytes, sends `sent`, then resets the connection (RST, SO_LINGER 0).
pub async fn reset_after_server(sent: usize) -> String {
    raw_server("/reset", move |mut stream| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            (sent * 2).max(100_000)
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&vec![b'r'; sent]).await;
        let _ = stream.flush().await;
        // Let the first bytes reach the client, so the reset lands in the body.
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.set_zero_linger().unwrap();
        drop(stream);
    })
    .await
}

/// Declares twice `sent` bytes, sends `sent`, then stays silent with the connection open.
pub async fn stall_after_server(sent: usize) -> String {
    raw_server("/stall", move |mut stream| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            sent * 2
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(&vec![b's'; sent]).await;
        let mut buf = [0u8; 1024];
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
}

/// Sends the headers at once, then one body byte every 100 ms, forever.
pub async fn drip_server() -> String {
    raw_server("/drip", |mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        while stream.write_all(b".").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
}

/// Declares `Content-Length: 50000000`, sends 10 bytes, then stays silent with the connection
/// open: only a client that believes the declared length before reading says `too_large`.
pub async fn huge_declared_server() -> String {
    raw_server("/huge", |mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(b"0123456789").await;
        let mut buf = [0u8; 1024];
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
}

/// A server that holds every response until [`Gate::open`], counting the requests it got.
pub struct Gate {
    /// The URL to archive.
    pub url: String,
    permits: Arc<Semaphore>,
    requests: Arc<AtomicUsize>,
}

impl Gate {
    /// Starts the server, closed.
    pub async fn start() -> Self {
        let (listener, port) = bind().await;
        let permits = Arc::new(Semaphore::new(0));
        let requests: Arc<AtomicUsize> = Arc::default();
        let (held, count) = (permits.clone(), requests.clone());
        spawn_server(listener, move |_req| {
            let held = held.clone();
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                let _permit = held.acquire().await.unwrap();
                reply(200, "behind the gate")
            }
        });
        Gate {
            url: format!("http://127.0.0.1:{port}/gated"),
            permits,
            requests,
        }
    }

    /// Requests received so far (answered or held).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Lets every held and future request through.
    pub fn open(&self) {
        self.permits.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}
