//! The accept loop: HTTP/1.1 connections, at most [`Limits::max_connections`] at once, each with
//! a deadline for its request heads (which also closes a kept-alive connection left idle) and a
//! limit on how long a response may wait for a client that reads nothing; shut down gracefully.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;

use super::Limits;

/// How long the server waits for the requests in flight to finish once told to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Bytes of a response hyper buffers for a connection beyond what the socket took (and the
/// most a request's head may take). Small: a client that reads slowly should hold little.
const WRITE_BUFFER: usize = 64 * 1024;

/// The kernel's send buffer of each connection (Linux doubles it for its bookkeeping). Without
/// it the kernel grows a buffer to 4 MiB for a client that stops reading, so every slow client
/// would have the server produce its whole page; 256 KiB still fills a 40 Mbit/s link at 50 ms.
const SEND_BUFFER: usize = 128 * 1024;

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then lets the
/// requests in flight finish (for at most [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.get()));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        // One flat buffer, not a queue of the body's chunks: what a slow client makes the
        // server hold stays within WRITE_BUFFER.
        .writev(false)
        .max_buf_size(WRITE_BUFFER);
    tokio::pin!(shutdown);
    loop {
        // Beyond the limit, connections wait in the listen backlog until one closes.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait for some to free up rather than
                    // spin (as hyper and axum do).
                    tracing::warn!("serve: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER) {
            tracing::debug!("serve: cannot set a connection's send buffer: {e}");
        }
        let service = TowerToHyperService::new(router.clone());
        let io = TokioIo::new(StallLimit::new(stream, limits.stall_timeout));
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            // An error is a client gone, too slow or speaking something else: its own business.
            if let Err(e) = connection.await {
                tracing::debug!("serve: connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("serve: stopping with requests still in flight after {SHUTDOWN_GRACE:?}");
        }
    }
    Ok(())
}

/// A connection whose writes fail once the client has taken nothing for `limit`: a client that
/// stops reading (or reads a byte now and then) cannot hold its connection, its buffers and its
/// slot under [`Limits::max_connections`] for ever. Reads are left to hyper's header timeout.
struct StallLimit<S> {
    inner: S,
    limit: Duration,
    /// Set while a write waits for the client; reset by every write that goes through.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> StallLimit<S> {
    fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// What a write that returned `poll` comes to: through (the stall clock stops), or waiting,
    /// which fails once the client has taken nothing for the limit.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(stalled.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing for {limit:?}"),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallLimit<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallLimit<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A write the other end never takes fails after the limit.
    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_reads_fails_after_the_limit() {
        let (near, _far) = tokio::io::duplex(16);
        let mut limited = StallLimit::new(near, Duration::from_secs(5));
        limited.write_all(&[0; 16]).await.unwrap();
        let started = tokio::time::Instant::now();
        let err = limited.write_all(&[0; 16]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    /// Writes the other end takes, however slowly, never fail: the clock restarts with each.
    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_served() {
        let (near, mut far) = tokio::io::duplex(16);
        let mut limited = StallLimit::new(near, Duration::from_secs(5));
        let reader = tokio::spawn(async move {
            let mut total = 0;
            let mut buf = [0; 16];
            loop {
                // Four seconds between reads: under the limit each time, far over it in all.
                tokio::time::sleep(Duration::from_secs(4)).await;
                match tokio::io::AsyncReadExt::read(&mut far, &mut buf).await.unwrap() {
                    0 => return total,
                    n => total += n,
                }
            }
        });
        for _ in 0..10 {
            limited.write_all(&[0; 16]).await.unwrap();
        }
        drop(limited);
        assert_eq!(reader.await.unwrap(), 160);
    }
}
