//! The Memento routes (RFC 7089): captures under `/web/<timestamp>/<URL>`, the TimeGate under
//! `/web/<URL>` and the TimeMap under `/timemap/link/<URL>`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::Shared;
use super::catalog::Catalog;
use super::range::{self, Wanted};
use super::rewrite::{self, Page};
use super::target::{WebTarget, capture_timestamp, first_seen, header_safe, http_date, original_url, parse_timestamp};
use super::{pages, policy, stream};
use crate::manifest::nearest;
use crate::manifest::{LinkEntry, Snapshot};
use crate::payload::{self, PayloadError};

pub(super) const MEMENTO_DATETIME: HeaderName = HeaderName::from_static("memento-datetime");
const ACCEPT_DATETIME: HeaderName = HeaderName::from_static("accept-datetime");

/// What a request to `/web/…` asks beyond its target.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// A `HEAD`: the headers of the answer, without its body.
    pub head: bool,
    /// The request's headers (`Accept-Datetime`, `Range`, `If-Range`, `Host`).
    pub headers: &'a HeaderMap,
}

/// `/web/…`: a capture, or the TimeGate when no timestamp is given.
pub async fn web(catalog: &Arc<Catalog>, shared: &Shared, rest: &str, request: Request<'_>) -> Response {
    match WebTarget::parse(rest) {
        WebTarget::Memento { timestamp, raw, url } => memento(catalog, shared, &timestamp, raw, &url, request).await,
        WebTarget::TimeGate { url } => timegate(catalog, &url, request.headers),
    }
}

/// The link an original URL names, with at least one capture, or why there is none to show.
fn captured<'c>(catalog: &'c Catalog, url: &str) -> Result<&'c LinkEntry, String> {
    match catalog.lookup(url) {
        None => Err("This URL is not in the archive.".to_owned()),
        Some((_, entry)) if entry.snapshots.is_empty() => {
            let why = entry
                .last_check
                .as_ref()
                .and_then(|c| c.error.as_deref())
                .map(|e| format!(" The last attempt failed: {e}"))
                .unwrap_or_default();
            Err(format!("This URL is known but was never captured.{why}"))
        }
        Some((_, entry)) => Ok(entry),
    }
}

/// `/web/<timestamp>[id_]/<URL>`: the capture nearest the timestamp, or a redirect to it when
/// the timestamp is not exactly its own.
async fn memento(
    catalog: &Arc<Catalog>,
    shared: &Shared,
    timestamp: &str,
    raw: bool,
    url: &str,
    request: Request<'_>,
) -> Response {
    // A URL no link names may still be a page's requisite, captured in the index.
    if catalog.lookup(url).is_none()
        && let Some(response) = super::requisite::memento(catalog, shared, timestamp, raw, url, request).await
    {
        return response;
    }
    let entry = match captured(catalog, url) {
        Ok(entry) => entry,
        Err(why) => return pages::not_archived(url, &why),
    };
    let Some(at) = parse_timestamp(timestamp) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            &format!("{timestamp} is not a timestamp (YYYYMMDDhhmmss)"),
        );
    };
    let Some((snapshot, ts)) = nearest(&entry.snapshots, at).and_then(|s| Some((s, capture_timestamp(s)?))) else {
        return pages::not_archived(url, "No capture of this URL has a readable date.");
    };
    if ts != timestamp {
        let modifier = if raw { "id_" } else { "" };
        return redirect(&format!("/web/{ts}{modifier}/{}", header_safe(&entry.url)), []);
    }
    // Opening reads the record's head and sets up its decoders: file I/O, kept off the async
    // workers like every read of the payload after it. A HEAD opens it too, so that it answers
    // as a GET would.
    let opened = {
        let (archive, snapshot) = (shared.catalogs.root().to_owned(), snapshot.clone());
        tokio::task::spawn_blocking(move || payload::open(&archive, &snapshot)).await
    };
    let payload = match opened {
        Ok(Ok(payload)) => payload,
        Ok(Err(e)) => {
            let what = match e {
                PayloadError::Missing(_) | PayloadError::NoLocation => "is missing",
                _ => "cannot be read",
            };
            return pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the capture's payload {what} ({e}); `linkkeep verify` says more"),
            );
        }
        Err(e) => return pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut headers = HeaderMap::new();
    // Archived bytes: sandboxed and confined to the archive, whatever they are.
    headers.insert(header::CONTENT_SECURITY_POLICY, policy::capture_policy(request.headers));
    if let Some(value) = snapshot
        .content_type
        .as_deref()
        .and_then(|ct| HeaderValue::from_str(ct).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some(value) = first_seen(snapshot).and_then(|t| HeaderValue::from_str(&http_date(t)).ok()) {
        headers.insert(MEMENTO_DATETIME, value);
    }
    headers.insert(header::LINK, link_header(&entry.url));
    let status = replay_status(snapshot.http_status);
    if let Some(base) = replay_base(snapshot, raw) {
        // Rewritten: its length is known only once it is sent, and ranges of it mean nothing.
        if request.head {
            // A body of unknown length, so that no `Content-Length: 0` is made up for it.
            let unknown = Body::from_stream(futures_util::stream::empty::<std::io::Result<Bytes>>());
            return (status, headers, unknown).into_response();
        }
        let page = Page {
            catalog: Arc::clone(catalog),
            base,
            timestamp: ts,
        };
        let body = rewrite::html_body(payload, snapshot.content_type.clone(), page);
        return (status, headers, body).into_response();
    }

    // Untouched: the stored bytes, whole or one range of them.
    let size = payload.size();
    let etag = format!("\"{}\"", header_safe(&snapshot.sha256));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("header_safe leaves only visible ASCII"),
    );
    // A range is of the stored bytes as they were served: only a 200 capture has one to give.
    let wanted = match status {
        StatusCode::OK => range::wanted(request.headers, size, &etag),
        _ => Wanted::Whole,
    };
    let (status, range) = match wanted {
        Wanted::Whole => (status, None),
        Wanted::Part(range) => {
            let content_range = format!("bytes {}-{}/{size}", range.start, range.end - 1);
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&content_range).expect("digits and ASCII"),
            );
            (StatusCode::PARTIAL_CONTENT, Some(range))
        }
        Wanted::Unsatisfiable => {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("digits and ASCII"),
            );
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response();
        }
    };
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    headers.insert(header::CONTENT_LENGTH, length.into());
    if request.head {
        return (status, headers).into_response();
    }
    let key = format!("{} {}", payload.location(), snapshot.sha256);
    let body = stream::raw_body(payload, range, Arc::clone(&shared.verified), key);
    (status, headers, body).into_response()
}

/// The URL relative links of a capture resolve against, when it is HTML to rewrite.
fn replay_base(snapshot: &Snapshot, raw: bool) -> Option<url::Url> {
    let essence = snapshot.content_type.as_deref()?.split(';').next()?.trim();
    let html = essence.eq_ignore_ascii_case("text/html") || essence.eq_ignore_ascii_case("application/xhtml+xml");
    if raw || !html {
        return None;
    }
    url::Url::parse(&snapshot.final_url).ok()
}

/// The status a capture is replayed with: its own, unless that cannot carry the stored body.
fn replay_status(status: u16) -> StatusCode {
    StatusCode::from_u16(status)
        .ok()
        .filter(|s| {
            !s.is_informational()
                && !s.is_redirection()
                && *s != StatusCode::NO_CONTENT
                && *s != StatusCode::RESET_CONTENT
        })
        .unwrap_or(StatusCode::OK)
}

/// `/web/<URL>`: redirects to the latest capture, or to the one nearest `Accept-Datetime`.
fn timegate(catalog: &Catalog, url: &str, headers: &HeaderMap) -> Response {
    let entry = match captured(catalog, url) {
        Ok(entry) => entry,
        Err(why) => return pages::not_archived(url, &why),
    };
    let snapshot = match headers.get(ACCEPT_DATETIME) {
        None => entry.snapshots.last(),
        Some(value) => {
            let Some(at) = value
                .to_str()
                .ok()
                .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
            else {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "Accept-Datetime is not an HTTP date (e.g. Thu, 01 Jan 2020 00:00:00 GMT)",
                );
            };
            nearest(&entry.snapshots, DateTime::<Utc>::from(at))
        }
    };
    let Some(ts) = snapshot.and_then(capture_timestamp) else {
        return pages::not_archived(url, "No capture of this URL has a readable date.");
    };
    redirect(
        &format!("/web/{ts}/{}", header_safe(&entry.url)),
        [
            (header::VARY, HeaderValue::from_static("accept-datetime")),
            (header::LINK, link_header(&entry.url)),
        ],
    )
}

/// `/timemap/link/<URL>`: every capture of a URL in link-format, with absolute URIs on the
/// host the request was sent to.
pub fn timemap(catalog: &Catalog, rest: &str, headers: &HeaderMap) -> Response {
    let url = original_url(rest);
    let entry = match captured(catalog, &url) {
        Ok(entry) => entry,
        Err(why) => return pages::not_archived(&url, &why),
    };
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_host(h))
    else {
        return pages::error(StatusCode::BAD_REQUEST, "a TimeMap needs a valid Host header");
    };
    let base = format!("http://{host}");
    let original = header_safe(&entry.url);
    let mementos: Vec<(String, String)> = entry
        .snapshots
        .iter()
        .filter_map(|s| Some((capture_timestamp(s)?, http_date(first_seen(s)?))))
        .collect();
    let mut lines = vec![
        format!("<{original}>; rel=\"original\""),
        format!("<{base}/web/{original}>; rel=\"timegate\""),
    ];
    let mut this = format!("<{base}/timemap/link/{original}>; rel=\"self\"; type=\"application/link-format\"");
    if let (Some((_, from)), Some((_, until))) = (mementos.first(), mementos.last()) {
        this.push_str(&format!("; from=\"{from}\"; until=\"{until}\""));
    }
    lines.push(this);
    let last = mementos.len().saturating_sub(1);
    for (i, (ts, datetime)) in mementos.iter().enumerate() {
        let rel = match (i == 0, i == last) {
            (true, true) => "first last memento",
            (true, false) => "first memento",
            (false, true) => "last memento",
            (false, false) => "memento",
        };
        lines.push(format!(
            "<{base}/web/{ts}/{original}>; rel=\"{rel}\"; datetime=\"{datetime}\""
        ));
    }
    let body = lines.join(",\n") + "\n";
    ([(header::CONTENT_TYPE, "application/link-format")], body).into_response()
}

/// Whether a Host header is a plain `host[:port]`, safe to put into URIs we hand out.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']'))
}

/// The `Link` header of a capture and of the TimeGate: where the original, the TimeGate and the
/// TimeMap are.
pub(super) fn link_header(url: &str) -> HeaderValue {
    let url = header_safe(url);
    let value = format!(
        "<{url}>; rel=\"original\", </web/{url}>; rel=\"timegate\", \
         </timemap/link/{url}>; rel=\"timemap\"; type=\"application/link-format\""
    );
    HeaderValue::from_str(&value).expect("header_safe leaves only visible ASCII")
}

/// A 302 to `location` (made of header-safe parts) with extra headers.
pub(super) fn redirect<const N: usize>(location: &str, extra: [(HeaderName, HeaderValue); N]) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(location).expect("locations are built from header-safe parts"),
    );
    headers.extend(extra);
    (StatusCode::FOUND, headers).into_response()
}
