//! The read-only, Wayback-style replay server behind `linkkeep serve`.
//!
//! # Routes
//! - `/`: the index page, every archived link with its title, publisher, last check and captures.
//! - `/web/<timestamp>/<original URL>`: the capture nearest the timestamp (a Memento, RFC 7089),
//!   redirected to its canonical timestamp when the requested one is not exact. HTML is replayed
//!   with links to other archived URLs pointed back into the archive; `<timestamp>id_` serves
//!   the stored bytes untouched.
//! - `/web/<original URL>`: the TimeGate, redirecting to the latest capture or to the one nearest
//!   an `Accept-Datetime` request header.
//! - `/timemap/link/<original URL>`: every capture of a URL as an `application/link-format` TimeMap.
//! - `/api/links`: the manifest's `links` object as JSON.
//!
//! Everything else is a 404. Request paths are never mapped to files: a payload is only ever read
//! where a manifest snapshot says it is ([`crate::payload::open`]: a plain WARC file name under
//! `warc/`, or a 0.1.0 object derived from its `sha256`), so no request can read a file the
//! manifest does not name. Payloads are read and decoded on the blocking pool and streamed.
//!
//! The manifest (and links.json, for publishers) is re-read whenever it changes on disk, so a
//! server left running sees the captures of later `archive` runs.

mod catalog;
mod memento;
mod pages;
mod rewrite;
mod target;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use catalog::Catalogs;

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

/// Serves `archive` on `listener` until `shutdown` completes, then finishes the requests in
/// flight and returns.
pub async fn run(
    listener: TcpListener,
    archive: Archive,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(archive))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The server's routes, for [`run`] or for driving in-process (tests).
pub fn router(archive: Archive) -> Router {
    let state = Arc::new(Catalogs::new(archive));
    Router::new()
        .route("/", get(pages::index))
        .route("/api/links", get(api_links))
        .fallback(dispatch)
        .with_state(state)
}

/// The routes whose tail is an original URL. They are matched by hand on the raw request target,
/// because the URL must be taken as sent (`%20` stays `%20`, the query string is part of it).
async fn dispatch(State(catalogs): State<Arc<Catalogs>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
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
    let catalog = match catalogs.current().await {
        Ok(catalog) => catalog,
        Err(message) => return pages::error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    match route {
        Route::Web(rest) => memento::web(&catalog, catalogs.root(), rest, &headers).await,
        Route::TimeMap(rest) => memento::timemap(&catalog, rest, &headers),
    }
}

enum Route<'a> {
    Web(&'a str),
    TimeMap(&'a str),
}

/// `/api/links`: the manifest's `links` object, as stored.
async fn api_links(State(catalogs): State<Arc<Catalogs>>) -> Response {
    match catalogs.current().await {
        Ok(catalog) => match serde_json::to_vec(&catalog.manifest.links) {
            Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(e) => pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        Err(message) => pages::error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    }
}
