//! The read-only, Wayback-style replay server behind `linkkeep serve`.
//!
//! # Routes
//! - `/`: the index page: the citing document (links.json's `source`), then every link with its
//!   title, publisher, state, last check and captures, fifty to a page (`?page=`), filtered by
//!   state (`?state=broken|soft-404|changed|ok|unchecked`) and searched (`?q=`) (`story`).
//! - `/link/<id>`: a link's own page: its timeline, cited capture, drift, every capture with
//!   diffs, and its citation; `/link/<id>/timeline.svg` the timeline alone (`history`, `story`);
//!   `/link/<id>/diff?from=<ts>&to=<ts>` the difference between two captures.
//! - `/web/<timestamp>/<original URL>`: the capture nearest the timestamp (a Memento, RFC 7089),
//!   redirected to its canonical timestamp when the requested one is not exact. A URL no link of
//!   the manifest names (a cited page's stylesheet, font, image or script) is looked up in
//!   `index.cdxj` instead (`requisite`); stylesheets have their URLs pointed into the archive. HTML is replayed
//!   with every link and resource URL pointed into the archive; `<timestamp>id_` serves the
//!   stored bytes untouched. An original URL the archive lacks gets a 404 "not archived" page
//!   that names it as text, not as a link.
//! - `/web/<original URL>`: the TimeGate, redirecting to the latest capture or to the one nearest
//!   an `Accept-Datetime` request header.
//! - `/timemap/link/<original URL>`: every capture of a URL as an `application/link-format` TimeMap.
//! - `/api/links`: the manifest's `links` object as JSON.
//!
//! Everything else is a 404. `GET` and `HEAD` are answered; a capture served untouched (`id_`,
//! and anything that is not HTML) answers a single `Range` with a 206 (a 416 past its end) and
//! carries its SHA-256 as a strong `ETag`. Request paths are never mapped to files: a payload is
//! only ever read where a manifest snapshot says it is ([`crate::payload::open`]: a plain WARC
//! file name under `warc/`, or a 0.1.0 object derived from its `sha256`), so no request can read
//! a file the manifest does not name.
//!
//! # Isolation
//! Captures are hostile pages served from the server's own origin. Each is sent with a
//! Content-Security-Policy that sandboxes it (an opaque origin: it can read neither `/api/links`
//! nor any other capture) and confines its loads to the archive, with `nosniff`; the server's
//! own pages and the API get a strict policy of their own. The policies are in `policy`.
//!
//! # Under load
//! Payloads are read and decoded on the blocking pool in bounded chunks and streamed from async
//! tasks, HTML rewriting included, so a client that reads slowly holds no thread and little
//! memory (`stream`). At most [`Limits::max_connections`] connections are served at once, a
//! request's head must arrive within [`Limits::header_timeout`] (which also ends idle kept-alive
//! connections), and a response whose client takes nothing for [`Limits::stall_timeout`] is cut
//! off (`listen`).
//!
//! The manifest (and links.json, for publishers) is re-read whenever it changes on disk, so a
//! server left running sees the captures of later `archive` runs; however many requests notice
//! a change at once, the files are read once (`catalog`). The run reports are read once as the
//! server starts, and then only the new ones (`history`).

mod catalog;
mod history;
mod listen;
mod memento;
mod pages;
mod policy;
mod range;
mod requisite;
mod rewrite;
mod story;
mod stream;
mod target;

#[doc(hidden)]
pub use rewrite::rewrite_bytes;

use std::future::Future;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use catalog::Catalogs;
use stream::Verified;

/// Connections served at once by default; more wait in the listen backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How long a client may take to send a request's head (or leave a kept-alive connection idle)
/// by default.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a response waits by default for a client that takes none of it before the
/// connection is closed.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What the server lets each client hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: NonZeroUsize,
    /// How long a client may take to send a request's head, and how long a kept-alive
    /// connection may sit idle between requests.
    pub header_timeout: Duration,
    /// How long a response may wait for a client that takes none of it.
    pub stall_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: NonZeroUsize::new(DEFAULT_MAX_CONNECTIONS).expect("not zero"),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

/// What the server replays: an archive directory and, optionally, the links.json whose titles and
/// publishers complete the index page.
#[derive(Debug, Clone)]
pub struct Archive {
    /// The archive directory (holding `manifest.json` and `warc/`).
    pub root: PathBuf,
    /// links.json; ignored when absent or invalid.
    pub links_file: Option<PathBuf>,
}

impl Archive {
    /// An archive at `root`, with links.json metadata from `links_file` when given.
    pub fn new(root: impl Into<PathBuf>, links_file: Option<PathBuf>) -> Self {
        Self {
            root: root.into(),
            links_file,
        }
    }
}

/// Serves `archive` on `listener` with the default [`Limits`] until `shutdown` completes, then
/// finishes the requests in flight and returns.
pub async fn run(
    listener: TcpListener,
    archive: Archive,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with(listener, archive, Limits::default(), shutdown).await
}

/// Serves `archive` on `listener` within `limits` until `shutdown` completes, then finishes the
/// requests in flight and returns.
pub async fn run_with(
    listener: TcpListener,
    archive: Archive,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(archive), limits, shutdown).await
}

/// What every handler shares.
#[derive(Debug, Clone)]
struct Shared {
    catalogs: Arc<Catalogs>,
    verified: Arc<Verified>,
    /// `index.cdxj`, for captures no manifest link names (page requisites).
    requisites: Arc<requisite::Indexes>,
    /// Every link's history from the run reports, for the link pages.
    histories: Arc<history::Histories>,
}

/// The server's routes, for [`run`] or for driving in-process (tests).
pub fn router(archive: Archive) -> Router {
    let histories = Arc::new(history::Histories::new(&archive.root));
    histories.start();
    let shared = Shared {
        catalogs: Arc::new(Catalogs::new(archive)),
        verified: Arc::default(),
        requisites: Arc::default(),
        histories,
    };
    // The archive is read, and the index's view of it made, as the server starts rather than
    // when the first reader asks: a manifest of 100,000 links takes about a second (issue #20).
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let catalogs = Arc::clone(&shared.catalogs);
        runtime.spawn(async move {
            if let Ok(catalog) = catalogs.current().await {
                let _ = tokio::task::spawn_blocking(move || {
                    catalog.story();
                })
                .await;
            }
        });
    }
    Router::new()
        .route("/", get(pages::index))
        .route("/link/{id}", get(pages::link))
        .route("/link/{id}/timeline.svg", get(pages::timeline))
        .route("/link/{id}/diff", get(pages::diff))
        .route("/api/links", get(api_links))
        .fallback(dispatch)
        .with_state(shared)
        .layer(axum::middleware::map_response(policy::security_headers))
}

/// The routes whose tail is an original URL. They are matched by hand on the raw request target,
/// because the URL must be taken as sent (`%20` stays `%20`, the query string is part of it).
async fn dispatch(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let route = if let Some(rest) = target.strip_prefix("/web/") {
        Route::Web(rest)
    } else if let Some(rest) = target.strip_prefix("/timemap/link/") {
        Route::TimeMap(rest)
    } else {
        return pages::plain_not_found();
    };
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let catalog = match shared.catalogs.current().await {
        Ok(catalog) => catalog,
        Err(message) => return pages::error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    match route {
        Route::Web(rest) => {
            let request = memento::Request {
                head: method == Method::HEAD,
                headers: &headers,
            };
            memento::web(&catalog, &shared, rest, request).await
        }
        Route::TimeMap(rest) => memento::timemap(&catalog, rest, &headers),
    }
}

enum Route<'a> {
    Web(&'a str),
    TimeMap(&'a str),
}

/// `/api/links`: the manifest's `links` object, as stored.
async fn api_links(State(shared): State<Shared>) -> Response {
    match shared.catalogs.current().await {
        Ok(catalog) => match serde_json::to_vec(&catalog.manifest.links) {
            Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(e) => pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Err(message) => pages::error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    }
}
