//! Captures no manifest link names, found in `index.cdxj`: a cited page's stylesheets, fonts,
//! images and scripts (its requisites, issue #20). `/web/<timestamp>/<URL>` for such a URL
//! serves the capture in the index nearest the timestamp, as pywb would: a revisit line is
//! resolved to the response record holding its payload (the one with the same payload digest,
//! at the revisit's `WARC-Refers-To-Target-URI` and nearest its `WARC-Refers-To-Date` when the
//! index has it there, as pywb's `resolvingloader.py` looks it up), and the payload is served
//! decoded per that response's `Content-Encoding`, with its `Content-Type`. Stylesheets have
//! their URLs pointed into the archive ([`crate::css`]), HTML pages are rewritten as any other.
//!
//! A record is only ever read where an index line names it, and only in a file
//! [`crate::payload::warc_path`] accepts: a plain WARC file name under `warc/`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::catalog::Catalog;
use super::memento::{self, Request};
use super::rewrite::{self, Page};
use super::target::{header_safe, http_date, parse_timestamp};
use super::{Shared, pages, policy, stream};
use crate::css;
use crate::payload::{self, Payload};

/// The index file, relative to the archive.
const INDEX_FILE: &str = "index.cdxj";
/// The largest stylesheet rewritten; a larger one is replayed as stored.
const MAX_CSS: u64 = 8 << 20;

/// One capture line of `index.cdxj`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub url: String,
    pub timestamp: String,
    pub digest: String,
    pub status: String,
    pub revisit: bool,
    pub filename: String,
    pub offset: u64,
    pub length: u64,
}

impl Line {
    /// Parses `<SURT> <timestamp> <JSON>`; `None` for anything else.
    fn parse(text: &str) -> Option<(String, Self)> {
        let mut parts = text.splitn(3, ' ');
        let (key, timestamp, json) = (parts.next()?, parts.next()?, parts.next()?);
        let fields: serde_json::Value = serde_json::from_str(json).ok()?;
        let field = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let line = Self {
            url: field("url")?,
            timestamp: timestamp.to_owned(),
            digest: field("digest").unwrap_or_default(),
            status: field("status").unwrap_or_default(),
            revisit: field("mime").as_deref() == Some("warc/revisit"),
            filename: field("filename")?,
            offset: field("offset")?.parse().ok()?,
            length: field("length")?.parse().ok()?,
        };
        Some((key.to_owned(), line))
    }

    /// Whether the line can be replayed: a 2xx response, or a revisit standing for one.
    fn replayable(&self) -> bool {
        self.revisit || self.status.starts_with('2')
    }

    fn at(&self) -> Option<DateTime<Utc>> {
        parse_timestamp(&self.timestamp)
    }
}

/// `index.cdxj`, read for lookups by URL and by payload digest.
#[derive(Debug, Default)]
pub struct CdxIndex {
    lines: Vec<Line>,
    by_key: HashMap<String, Vec<usize>>,
    responses_by_digest: HashMap<String, Vec<usize>>,
}

impl CdxIndex {
    /// Reads the lines of `text`; lines that are not captures are skipped.
    pub fn parse(text: &str) -> Self {
        let mut index = Self::default();
        for (key, line) in text.lines().filter_map(Line::parse) {
            let i = index.lines.len();
            if !line.revisit && line.status.starts_with('2') && !line.digest.is_empty() {
                index
                    .responses_by_digest
                    .entry(line.digest.clone())
                    .or_default()
                    .push(i);
            }
            index.by_key.entry(key).or_default().push(i);
            index.lines.push(line);
        }
        index
    }

    /// The replayable capture of `url` nearest `at` (the earlier of two as near).
    pub fn nearest(&self, url: &str, at: DateTime<Utc>) -> Option<&Line> {
        let key = crate::warc::surt(url);
        self.by_key
            .get(&key)?
            .iter()
            .map(|&i| &self.lines[i])
            .filter(|line| line.replayable())
            .filter_map(|line| Some((line.at()?, line)))
            .min_by_key(|(when, line)| ((*when - at).num_seconds().abs(), line.timestamp.clone()))
            .map(|(_, line)| line)
    }

    /// The response line holding the payload of `revisit`: one with its payload digest, at
    /// `refers_to` (URL and date) when the index has it there, as pywb resolves revisits.
    pub fn original(&self, revisit: &Line, refers_to: (Option<&str>, Option<DateTime<Utc>>)) -> Option<&Line> {
        let candidates: Vec<&Line> = self
            .responses_by_digest
            .get(&revisit.digest)?
            .iter()
            .map(|&i| &self.lines[i])
            .collect();
        let (uri, date) = refers_to;
        let key = uri.map(crate::warc::surt);
        let distance = |line: &Line| match (date, line.at()) {
            (Some(date), Some(at)) => (at - date).num_seconds().abs(),
            _ => i64::MAX,
        };
        candidates
            .iter()
            .filter(|line| key.as_ref().is_some_and(|k| crate::warc::surt(&line.url) == *k))
            .min_by_key(|line| distance(line))
            .or_else(|| candidates.iter().min_by_key(|line| distance(line)))
            .copied()
    }
}

/// The current [`CdxIndex`], re-read when `index.cdxj` changes (by modification time and
/// length), on first use: archives whose pages have no requisites never read it.
#[derive(Debug, Default)]
pub struct Indexes {
    cached: Mutex<Option<(IndexStamp, Arc<CdxIndex>)>>,
}

/// `index.cdxj`'s modification time and length when it was read.
type IndexStamp = (Option<SystemTime>, u64);

impl Indexes {
    /// The index as the file is now; `None` when there is none.
    pub async fn current(self: &Arc<Self>, archive: &Path) -> Option<Arc<CdxIndex>> {
        let path = archive.join(INDEX_FILE);
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.load(&path)).await.ok()?
    }

    fn load(&self, path: &Path) -> Option<Arc<CdxIndex>> {
        let meta = std::fs::metadata(path).ok()?;
        let stamp = (meta.modified().ok(), meta.len());
        let mut cached = self.cached.lock().expect("not poisoned");
        if let Some((read, index)) = cached.as_ref()
            && *read == stamp
        {
            return Some(Arc::clone(index));
        }
        let text = std::fs::read_to_string(path)
            .inspect_err(|e| tracing::warn!("serve: cannot read {}: {e}", path.display()))
            .ok()?;
        let index = Arc::new(CdxIndex::parse(&text));
        *cached = Some((stamp, Arc::clone(&index)));
        Some(index)
    }
}

/// `/web/<timestamp>[id_]/<URL>` for a URL no manifest link names: its capture in the index
/// nearest the timestamp (a redirect to it when the timestamp is not its own), or `None` when
/// the index holds none, for the caller's "not archived" page.
pub async fn memento(
    catalog: &Arc<Catalog>,
    shared: &Shared,
    timestamp: &str,
    raw: bool,
    url: &str,
    request: Request<'_>,
) -> Option<Response> {
    let at = parse_timestamp(timestamp)?;
    let index = shared.requisites.current(shared.catalogs.root()).await?;
    let line = index.nearest(url, at)?.clone();
    if line.timestamp != timestamp {
        let modifier = if raw { "id_" } else { "" };
        let location = format!("/web/{}{modifier}/{}", line.timestamp, header_safe(&line.url));
        return Some(memento::redirect(&location, []));
    }
    let archive = shared.catalogs.root().to_owned();
    let opened = tokio::task::spawn_blocking(move || {
        let original = if line.revisit {
            let refers_to = payload::revisit_refers_to(&archive, &line.filename, line.offset, line.length)?;
            let date = refers_to
                .1
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.to_utc());
            index
                .original(&line, (refers_to.0.as_deref(), date))
                .cloned()
                .ok_or_else(|| payload::PayloadError::Missing(format!("the original of the revisit of {}", line.url)))?
        } else {
            line.clone()
        };
        let (payload, content_type) = payload::open_indexed(
            &archive,
            &original.filename,
            original.offset,
            original.length,
            &original.digest,
        )?;
        Ok::<_, payload::PayloadError>((line, payload, content_type))
    })
    .await;
    let (line, payload, content_type) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(e)) => {
            return Some(pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the capture's payload cannot be read ({e}); `linkkeep verify` says more"),
            ));
        }
        Err(e) => return Some(pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    };
    Some(respond(catalog, &line, payload, content_type, raw, request).await)
}

/// The response for the capture `line`, whose payload is `payload`.
async fn respond(
    catalog: &Arc<Catalog>,
    line: &Line,
    payload: Payload,
    content_type: Option<String>,
    raw: bool,
    request: Request<'_>,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy::capture_policy(request.headers));
    if let Some(value) = content_type.as_deref().and_then(|ct| HeaderValue::from_str(ct).ok()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some(value) = line.at().and_then(|t| HeaderValue::from_str(&http_date(t)).ok()) {
        headers.insert(memento::MEMENTO_DATETIME, value);
    }
    headers.insert(header::LINK, memento::link_header(&line.url));
    let essence = content_type
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let base = url::Url::parse(&line.url).ok();
    match (raw, essence.as_str(), base) {
        (false, "text/html" | "application/xhtml+xml", Some(base)) => {
            if request.head {
                return (StatusCode::OK, headers).into_response();
            }
            let page = Page {
                catalog: Arc::clone(catalog),
                base,
                timestamp: line.timestamp.clone(),
            };
            (StatusCode::OK, headers, rewrite::html_body(payload, content_type, page)).into_response()
        }
        (false, "text/css", Some(base)) if payload.size() <= MAX_CSS => {
            let page = Page {
                catalog: Arc::clone(catalog),
                base,
                timestamp: line.timestamp.clone(),
            };
            let read = tokio::task::spawn_blocking(move || {
                let mut bytes = Vec::new();
                payload.copy_to(&mut bytes).map(|_| bytes)
            })
            .await;
            let bytes = match read {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(e)) => return pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                Err(e) => return pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            };
            let text = String::from_utf8_lossy(&bytes);
            let rewritten = css::rewrite(&text, &|url| rewrite::archive_path(url, &page.base, &page));
            headers.insert(header::CONTENT_LENGTH, rewritten.len().into());
            if request.head {
                return (StatusCode::OK, headers).into_response();
            }
            (StatusCode::OK, headers, rewritten).into_response()
        }
        _ => {
            headers.insert(header::CONTENT_LENGTH, payload.size().into());
            if request.head {
                return (StatusCode::OK, headers).into_response();
            }
            let key = format!("{} {}", payload.location(), line.digest);
            let body: Body = stream::raw_body(payload, None, Arc::default(), key);
            (StatusCode::OK, headers, body).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(url: &str, ts: &str, digest: &str, status: &str, revisit: bool) -> String {
        let mime = if revisit { "warc/revisit" } else { "text/css" };
        format!(
            "{} {ts} {{\"url\": \"{url}\", \"mime\": \"{mime}\", \"status\": \"{status}\", \"digest\": \"{digest}\", \"length\": \"10\", \"offset\": \"0\", \"filename\": \"r.warc.gz\"}}",
            crate::warc::surt(url)
        )
    }

    #[test]
    fn the_nearest_replayable_capture_and_the_original_of_a_revisit() {
        let text = [
            line("http://s.example/a.css", "20260101000000", "sha256:A", "200", false),
            line("http://s.example/a.css", "20260102000000", "sha256:A", "", true),
            line("http://s.example/a.css", "20260103000000", "sha256:B", "404", false),
            line("http://s.example/copy.css", "20260101000005", "sha256:A", "200", false),
        ]
        .join("\n");
        let index = CdxIndex::parse(&text);
        let at = |ts: &str| parse_timestamp(ts).unwrap();
        let near = |ts| {
            index
                .nearest("http://s.example/a.css", at(ts))
                .map(|l| l.timestamp.clone())
        };
        assert_eq!(near("20251231000000").as_deref(), Some("20260101000000"));
        assert_eq!(near("20260102100000").as_deref(), Some("20260102000000"));
        // The 404 is no capture to replay.
        assert_eq!(near("20260109000000").as_deref(), Some("20260102000000"));
        assert!(
            index
                .nearest("http://s.example/other.css", at("20260101000000"))
                .is_none()
        );

        let revisit = index.nearest("http://s.example/a.css", at("20260102000000")).unwrap();
        let original = |uri: Option<&str>, date: Option<&str>| {
            index
                .original(revisit, (uri, date.map(at)))
                .map(|l| (l.url.clone(), l.timestamp.clone()))
        };
        assert_eq!(
            original(Some("http://s.example/copy.css"), Some("20260101000005")),
            Some(("http://s.example/copy.css".into(), "20260101000005".into())),
            "where the revisit says its original is"
        );
        assert_eq!(
            original(Some("http://s.example/a.css"), Some("20260101000000")),
            Some(("http://s.example/a.css".into(), "20260101000000".into()))
        );
        assert!(original(None, None).is_some(), "any response with the digest");
    }
}
