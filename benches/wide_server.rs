//! A slow web of many hosts for the "wide" benchmark (issue #19): one HTTP/1.1 listener on each
//! of `--hosts` loopback addresses (host i is 127.1.{1 + i / 200}.{1 + i % 200}, all on
//! `--port`; Linux routes all of 127/8 to `lo`), every response sent `--delay-ms` after its
//! request head was read, without holding a thread. It records when each request started and
//! ended, so that the harness can tell how many requests a tool had in flight, overall and per host.
//!
//!     cargo bench --no-run --bench wide_server      # prints the executable's path
//!     wide_server --hosts 500 --port 18400 --delay-ms 100 --threads 1
//!
//! Prints `ready <N> hosts on port <P>` once every listener is bound. Routes (GET or HEAD):
//! - `/c/<anything>`: the same small HTML page (what the nginx benchmark serves);
//! - `/a/<size>/<anything>`: `<size>` bytes (1 to 8 MiB) of a random buffer made at startup from a
//!   fixed seed, from an offset hashed from the path: distinct paths give distinct bodies, one
//!   path always the same body;
//! - `/nd/...`: the route without `/nd`, without the delay;
//! - anything else: 404 (another method: 405), after the delay.
//!
//! Control routes, answered at once and not recorded: `GET /__stats` returns
//! `{"requests": [[host, start_us, end_us, bytes], ...]}`, one entry per request since the last
//! reset, in the order they ended (see [`Record`]); `POST /__reset` (or GET) clears them and
//! restarts the clock, 204.

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{SignalKind, signal};

/// The random buffer `/a/` bodies are cut from.
const PAYLOAD_LEN: usize = 64 << 20;
/// The largest `/a/` body.
const MAX_BODY: usize = 8 << 20;
/// The frames a body is handed to hyper in, and the most hyper buffers beyond what the socket
/// took: so a request's end (when hyper took its last frame) is within 64 KiB of the last write.
const CHUNK: usize = 64 << 10;
const BACKLOG: u32 = 4096;
const SEED: u64 = 19;
/// Host i's third octet is 1 + i / 200, at most 254.
const MAX_HOSTS: u32 = 254 * 200;

#[derive(Parser)]
#[command(about = "A slow HTTP server on many loopback addresses, for benches/run.sh's wide scenario (issue #19)")]
struct Args {
    /// Loopback addresses to listen on; host i is 127.1.{1 + i / 200}.{1 + i % 200}.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=MAX_HOSTS as i64))]
    hosts: u32,
    /// The port every host listens on.
    #[arg(long, default_value_t = 18400, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// Milliseconds between reading a request's head and answering it (except under /nd/).
    #[arg(long, default_value_t = 100)]
    delay_ms: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let args = Args::parse();
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.into())
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // Returning drops the runtime, which cancels every connection: a clean exit, status 0.
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    // Before "ready", so that a SIGTERM sent right after it is not fatal.
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let server = Arc::new(Server::new(Duration::from_millis(args.delay_ms)));
    for host in 0..args.hosts {
        let addr = SocketAddr::from((
            Ipv4Addr::new(127, 1, (1 + host / 200) as u8, (1 + host % 200) as u8),
            args.port,
        ));
        let listener = listen(addr).unwrap_or_else(|e| {
            eprintln!("wide_server: cannot listen on {addr}: {e}");
            std::process::exit(1);
        });
        tokio::spawn(accept(Arc::clone(&server), host, listener));
    }
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "ready {} hosts on port {}", args.hosts, args.port).expect("stdout is writable");
    stdout.flush().expect("stdout is writable");
    drop(stdout);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // A restarted server need not wait for the last run's connections in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// A few thousand connections and 500 listeners overflow the usual soft limit of 1024 files.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for both calls to read and write.
    let raised = unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
        }
    };
    if !raised {
        eprintln!(
            "wide_server: cannot raise the open files limit: {}",
            io::Error::last_os_error()
        );
    }
}

async fn accept(server: Arc<Server>, host: u32, listener: TcpListener) {
    let mut builder = http1::Builder::new();
    builder.max_buf_size(CHUNK);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait for some to free up, don't spin.
                eprintln!("wide_server: cannot accept a connection on host {host}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Without it a small response after a large one could wait for Nagle's delayed ACK.
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("wide_server: cannot set TCP_NODELAY: {e}");
        }
        let server = Arc::clone(&server);
        let service = service_fn(move |request| Arc::clone(&server).handle(host, request));
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        // An error is a client gone or speaking something else: nothing to report.
        tokio::spawn(async move { _ = connection.await });
    }
}

struct Server {
    delay: Duration,
    page: Bytes,
    payload: Bytes,
    log: Mutex<Log>,
}

/// The body of `/__stats`.
#[derive(serde::Serialize)]
struct Stats<'a> {
    requests: &'a [[u64; 4]],
}

/// The requests recorded since `since`, the last reset: `[host, start_us, end_us, bytes]`.
struct Log {
    since: Instant,
    requests: Vec<[u64; 4]>,
}

impl Server {
    fn new(delay: Duration) -> Self {
        let mut page = String::from("<!doctype html><html><head><title>A cited page</title></head><body>\n");
        for i in 0..30 {
            page += &format!("<p>Paragraph {i} of a cited page.</p>\n");
        }
        page += "</body></html>\n";
        let mut payload = vec![0; PAYLOAD_LEN];
        fastrand::Rng::with_seed(SEED).fill(&mut payload);
        let log = Log {
            since: Instant::now(),
            requests: Vec::new(),
        };
        Self {
            delay,
            page: page.into(),
            payload: payload.into(),
            log: Mutex::new(log),
        }
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic elsewhere leaves the records usable: each entry is pushed whole.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn handle(self: Arc<Self>, host: u32, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        // hyper calls the service once the request head is read.
        let start = Instant::now();
        let (method, path) = (request.method(), request.uri().path());
        let (get, head) = (method == Method::GET, method == Method::HEAD);
        match path {
            "/__stats" if get || head => {
                let json = serde_json::to_vec(&Stats {
                    requests: &self.log().requests,
                });
                return Ok(respond(
                    StatusCode::OK,
                    "application/json",
                    json.expect("numbers serialize").into(),
                ));
            }
            "/__reset" if get || method == Method::POST => {
                *self.log() = Log {
                    since: Instant::now(),
                    requests: Vec::new(),
                };
                return Ok(respond(StatusCode::NO_CONTENT, "text/plain", Bytes::new()));
            }
            "/__stats" | "/__reset" => return Ok(not_allowed()),
            _ => {}
        }
        let record = Record {
            server: Arc::clone(&self),
            host,
            start,
            bytes: 0,
        };
        let (path, delay) = match path.strip_prefix("/nd") {
            Some(rest) if rest.starts_with('/') => (rest, Duration::ZERO),
            _ => (path, self.delay),
        };
        let mut response = if !(get || head) {
            not_allowed()
        } else if path.starts_with("/c/") {
            respond(StatusCode::OK, "text/html; charset=utf-8", self.page.clone())
        } else if let Some(body) = self.archive_body(path) {
            respond(StatusCode::OK, "application/octet-stream", body)
        } else {
            respond(StatusCode::NOT_FOUND, "text/plain", Bytes::new())
        };
        if !delay.is_zero() {
            tokio::time::sleep_until((start + delay).into()).await;
        }
        response.body_mut().record = Some(record);
        Ok(response)
    }

    /// The body of `/a/<size>/<anything>`: `size` bytes of the payload from an offset that is an
    /// FNV-1a hash of the path (after the `/nd` prefix, so `/nd/a/…` gives the same bytes).
    fn archive_body(&self, path: &str) -> Option<Bytes> {
        let (size, _) = path.strip_prefix("/a/")?.split_once('/')?;
        let size: usize = size.parse().ok().filter(|size| (1..=MAX_BODY).contains(size))?;
        let hash = path.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let offset = (hash % (PAYLOAD_LEN - size) as u64) as usize;
        Some(self.payload.slice(offset..offset + size))
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::builder().status(status);
    if status != StatusCode::NO_CONTENT {
        // Set here rather than left to hyper: a HEAD response, whose body is never sent, keeps it.
        response = response
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_LENGTH, body.len());
    }
    let body = Body {
        rest: body,
        record: None,
    };
    response.body(body).expect("a valid response")
}

fn not_allowed() -> Response<Body> {
    let mut response = respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", Bytes::new());
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// A response body handed to hyper in frames of [`CHUNK`] bytes, each a slice of the shared buffer.
struct Body {
    rest: Bytes,
    record: Option<Record>,
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let body = &mut *self;
        if body.rest.is_empty() {
            return Poll::Ready(None);
        }
        let frame = body.rest.split_to(body.rest.len().min(CHUNK));
        if let Some(record) = &mut body.record {
            record.bytes += frame.len() as u64;
        }
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// One request, written to the log when dropped. hyper drops a response's body as soon as it has
/// taken the body's last frame (at most [`CHUNK`] bytes before they are written to the socket),
/// or at once for a HEAD request or an empty body; a request whose client went away is dropped
/// with its future. So `end_us` is when the server was done with the response (or abandoned it),
/// and `bytes` how much of the body was handed over. The kernel's socket buffers on loopback take
/// a few MiB, so a client may finish reading a large body after `end_us`, never before: counts
/// of requests in flight from these times never exceed the client's own. A request that started
/// before the last reset is not recorded.
struct Record {
    server: Arc<Server>,
    host: u32,
    start: Instant,
    bytes: u64,
}

impl Drop for Record {
    fn drop(&mut self) {
        let end = Instant::now();
        let mut log = self.server.log();
        if let Some(start) = self.start.checked_duration_since(log.since) {
            let end = end.duration_since(log.since);
            let entry = [
                self.host.into(),
                start.as_micros() as u64,
                end.as_micros() as u64,
                self.bytes,
            ];
            log.requests.push(entry);
        }
    }
}
