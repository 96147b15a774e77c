//! Fetching a page's requisites (issue #20): after an HTML capture is stored, what it needs to
//! display is fetched through the run's one [`Fetcher`] (its politeness, size and time limits,
//! its private-address rule, with the page as the link) and recorded through the run's one
//! [`Recorder`]: request and response records, or revisits of payloads stored before, so the
//! page replays from the archive alone in pywb, ReplayWeb.page and `linkkeep serve`.
//!
//! - A stylesheet is read for its `@import`s and `url()`s, a frame's document for its own
//!   requisites (but not its frames: one level deep).
//! - A requisite captured by an earlier run is asked for conditionally, with the validators its
//!   latest record holds; a 304 becomes a `server-not-modified` revisit of that record.
//! - One run fetches each requisite URL once, however many pages need it.
//! - Per page, at most [`Limits::max`] requisites and [`Limits::bytes`] downloaded bytes;
//!   what a limit left out is counted and said.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Read;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue, REFERER};
use tokio::sync::OnceCell;
use url::Url;

use super::record::{Recorder, checked};
use crate::fetch::download;
use crate::outcome::Outcome;
use crate::requisites::discover::{self, Found, Kind};
use crate::requisites::{Failed, Limits, Summary};
use crate::store::PayloadSink;
use crate::warc::run::{Exchange, Original, RawBody, ReceivedBody};
use crate::warc::{PROFILE_SERVER_NOT_MODIFIED, sha256_label};

/// Requisites of one page fetched at once (what browsers allow per host); the run's limits
/// apply on top.
const AT_ONCE: usize = 6;
/// How much of a stylesheet or frame is read for further requisites.
const READ_LIMIT: usize = 8 << 20;

/// The run's requisite fetching, shared by every link's task.
pub struct Requisites {
    recorder: Recorder,
    limits: Limits,
    run: String,
    /// What this run got for each requisite URL so far: a stylesheet shared by two pages is
    /// fetched once.
    fetched: std::sync::Mutex<HashMap<String, Arc<OnceCell<Got>>>>,
}

/// What fetching one requisite gave.
#[derive(Debug, Clone)]
enum Got {
    Captured(Box<Captured>),
    Failed(String),
}

/// A requisite recorded (now, or by another page of this run).
#[derive(Debug, Clone)]
struct Captured {
    /// The record holding its payload.
    original: Original,
    /// Bytes downloaded (0 for a 304 or a fetch by another page of this run).
    downloaded: u64,
    /// Where it was finally served from.
    final_url: Url,
}

/// A page's requisites as fetched: the snapshot's summary, the CDXJ lines of the records
/// written, and a warning when a limit left some out.
pub struct PageRequisites {
    pub summary: Summary,
    pub index_lines: Vec<String>,
    pub warning: Option<String>,
}

/// What a requisite's response left behind.
enum Received {
    NotModified(Arc<Exchange>),
    Body {
        exchange: Arc<Exchange>,
        body: ReceivedBody,
        sink: Sink,
    },
}

/// The payload of a requisite as it streams by: its size, and its bytes when they are read for
/// more.
struct Sink {
    size: u64,
    kept: Option<Vec<u8>>,
}

impl PayloadSink for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.size += bytes.len() as u64;
        if let Some(kept) = &mut self.kept {
            let room = READ_LIMIT.saturating_sub(kept.len());
            kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// Whether a response's Content-Type is HTML.
pub fn is_html(content_type: Option<&str>) -> bool {
    let media = crate::warc::media_type(content_type);
    media == "text/html" || media == "application/xhtml+xml"
}

impl Requisites {
    pub fn new(recorder: Recorder, limits: Limits, run: String) -> Self {
        Self {
            recorder,
            limits,
            run,
            fetched: std::sync::Mutex::default(),
        }
    }

    /// Fetches the requisites of the HTML page `link` led to (`page`, its payload in
    /// `record`). Fails only when the archive cannot be written.
    pub async fn of_page(&self, link: &str, page: &Url, record: &Original) -> std::io::Result<PageRequisites> {
        let (archive, record) = (self.recorder.archive().to_owned(), record.clone());
        let html = tokio::task::spawn_blocking(move || read_back(&archive, &record))
            .await
            .map_err(std::io::Error::other)?;
        let mut queue: VecDeque<Found> = match &html {
            Some((content_type, bytes)) => discover::html(page, bytes, content_type.as_deref(), true).into(),
            None => VecDeque::new(),
        };
        let mut seen: HashSet<Url> = queue.iter().map(|f| f.url.clone()).collect();
        seen.insert(page.clone());
        let mut summary = Summary {
            run: self.run.clone(),
            captured: 0,
            bytes: 0,
            failed: Vec::new(),
            limited: None,
            records: BTreeMap::new(),
        };
        let (mut started, mut left_out, mut index_lines) = (0usize, 0usize, Vec::new());
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < AT_ONCE && !queue.is_empty() {
                let budget_left = self.limits.bytes.saturating_sub(summary.bytes);
                if started >= self.limits.max || budget_left == 0 {
                    left_out += queue.len();
                    queue.clear();
                    break;
                }
                let found = queue.pop_front().expect("not empty");
                started += 1;
                running.push(self.fetch(link, page, found, budget_left));
            }
            let Some(done) = running.next().await else { break };
            let (found, got, lines, body) = done?;
            index_lines.extend(lines);
            match got {
                Got::Failed(error) => summary.failed.push(Failed {
                    url: found.url.to_string(),
                    error,
                }),
                Got::Captured(captured) => {
                    let Captured {
                        original,
                        downloaded,
                        final_url,
                    } = *captured;
                    summary.captured += 1;
                    summary.bytes += downloaded;
                    let offsets = summary.records.entry(original.file.clone()).or_default();
                    if !offsets.contains(&original.record.offset) {
                        offsets.push(original.record.offset);
                    }
                    let more = match (found.kind, body) {
                        (Kind::Stylesheet, Some(body)) => discover::css(&final_url, &body),
                        (Kind::Frame, Some(body)) => discover::html(&final_url, &body, None, false),
                        _ => Vec::new(),
                    };
                    for found in more {
                        if !seen.insert(found.url.clone()) {
                            continue;
                        }
                        let budget_spent = summary.bytes >= self.limits.bytes;
                        if started + queue.len() >= self.limits.max || budget_spent {
                            left_out += 1;
                        } else {
                            queue.push_back(found);
                        }
                    }
                }
            }
        }
        for offsets in summary.records.values_mut() {
            offsets.sort_unstable();
        }
        if left_out > 0 {
            let limit = if started >= self.limits.max {
                format!("--max-requisites {}", self.limits.max)
            } else {
                format!("--max-requisite-bytes ({} bytes)", self.limits.bytes)
            };
            summary.limited = Some(format!("stopped at {limit}: {left_out} more not fetched"));
        }
        let warning = summary.limited.as_ref().map(|why| format!("page requisites {why}"));
        Ok(PageRequisites {
            summary,
            index_lines,
            warning,
        })
    }

    /// Fetches one requisite, or takes what this run got for it already. Returns it, what it
    /// gave, the CDXJ lines of the records written, and, for a stylesheet or a frame, its body
    /// to read for more.
    async fn fetch(
        &self,
        link: &str,
        page: &Url,
        found: Found,
        budget_left: u64,
    ) -> std::io::Result<(Found, Got, Vec<String>, Option<Vec<u8>>)> {
        let cell = {
            let mut fetched = self.fetched.lock().expect("not poisoned");
            Arc::clone(fetched.entry(found.url.to_string()).or_default())
        };
        let (mut lines, mut body) = (Vec::new(), None);
        let got = cell
            .get_or_try_init(|| async {
                let (got, fetched_body) = self.fetch_now(link, page, &found, budget_left, &mut lines).await?;
                body = fetched_body;
                Ok::<_, std::io::Error>(got)
            })
            .await?
            .clone();
        // Fetched by another page of this run: the run keeps no bodies (a run of many pages
        // would hold every stylesheet), so it is read back from its record.
        if let (Got::Captured(captured), None, Kind::Stylesheet | Kind::Frame) = (&got, &body, found.kind) {
            let (archive, original) = (self.recorder.archive().to_owned(), captured.original.clone());
            body = tokio::task::spawn_blocking(move || read_back(&archive, &original))
                .await
                .map_err(std::io::Error::other)?
                .and_then(|(content_type, bytes)| read_for_more(found.kind, content_type.as_deref()).then_some(bytes));
        }
        Ok((found, got, lines, body))
    }

    /// Fetches one requisite over the network, conditionally when an earlier run captured it.
    async fn fetch_now(
        &self,
        link: &str,
        page: &Url,
        found: &Found,
        budget_left: u64,
        lines: &mut Vec<String>,
    ) -> std::io::Result<(Got, Option<Vec<u8>>)> {
        let fetcher = &self.recorder.fetcher;
        if let Some(why) = fetcher.exclusion(found.url.as_str()) {
            return Ok((Got::Failed(format!("excluded: {why}")), None));
        }
        let earlier = {
            let (recorder, url) = (self.recorder.clone(), found.url.to_string());
            tokio::task::spawn_blocking(move || earlier_capture(&recorder, &url))
                .await
                .map_err(std::io::Error::other)?
        };
        let mut extra = super::conditional_headers(
            earlier.as_ref().and_then(|e| e.etag.as_deref()),
            earlier.as_ref().and_then(|e| e.last_modified.as_deref()),
        );
        // As a browser would send it: some sites refuse images to requests without one.
        if let Ok(referer) = HeaderValue::from_str(page.as_str()) {
            extra.insert(REFERER, referer);
        }
        let read_more = matches!(found.kind, Kind::Stylesheet | Kind::Frame);
        let other_lines = std::sync::Mutex::new(Vec::new());
        let other_error = std::sync::Mutex::new(None);
        let recorder = &self.recorder;
        let extra = &extra;
        let on_other = |response: reqwest::Response| {
            let (lines, error) = (&other_lines, &other_error);
            async move {
                match recorder.record_other(link, response, extra).await {
                    Ok(line) => lines.lock().expect("not poisoned").push(line),
                    Err(e) => {
                        error.lock().expect("not poisoned").get_or_insert(e);
                    }
                }
            }
        };
        let fetched = fetcher
            .fetch_requisite(
                page,
                &found.url,
                extra,
                |response, deadline| async move {
                    let exchange = Arc::new(recorder.exchange(link, &response, extra));
                    if response.status() == StatusCode::NOT_MODIFIED {
                        return Ok(Ok(Received::NotModified(exchange)));
                    }
                    let mut limits = recorder.fetcher.body_limits(response.url());
                    limits.max_size = limits.max_size.min(budget_left);
                    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
                    let mut sink = Sink {
                        size: 0,
                        kept: read_for_more(found.kind, content_type).then(Vec::new),
                    };
                    let mut raw = RawBody::new(Arc::clone(&recorder.warc), Arc::clone(&exchange));
                    match download::download(response, deadline, limits, &mut sink, Some(&mut raw)).await? {
                        Ok(()) => Ok(raw.finish().await.map(|body| Received::Body { exchange, body, sink })),
                        Err(e) => Ok(Err(e)),
                    }
                },
                on_other,
            )
            .await;
        lines.extend(other_lines.into_inner().expect("not poisoned"));
        if let Some(e) = other_error.into_inner().expect("not poisoned") {
            return Err(e);
        }
        let final_url = fetched.final_url.clone();
        let received = match fetched.body {
            Some(Err(e)) => return Err(e),
            Some(Ok(received)) if fetched.outcome == Outcome::Ok => received,
            _ => {
                let why = fetched.error.unwrap_or_else(|| fetched.outcome.to_string());
                return Ok((Got::Failed(why), None));
            }
        };
        match received {
            Received::NotModified(exchange) => {
                // A 304 is only accepted to a conditional request, made only from an earlier
                // capture.
                let Some(earlier) = earlier else {
                    return Ok((Got::Failed("a 304 to an unconditional request".to_owned()), None));
                };
                let line = recorder
                    .write_revisit(exchange, PROFILE_SERVER_NOT_MODIFIED, Some(earlier.original.clone()))
                    .await?;
                lines.push(line);
                let body = if read_more {
                    let (archive, original) = (recorder.archive().to_owned(), earlier.original.clone());
                    tokio::task::spawn_blocking(move || read_back(&archive, &original))
                        .await
                        .map_err(std::io::Error::other)?
                        .and_then(|(content_type, bytes)| {
                            read_for_more(found.kind, content_type.as_deref()).then_some(bytes)
                        })
                } else {
                    None
                };
                let captured = Captured {
                    original: earlier.original,
                    downloaded: 0,
                    final_url,
                };
                Ok((Got::Captured(Box::new(captured)), body))
            }
            Received::Body { exchange, body, sink } => {
                let payload_digest = sha256_label(&body.payload_digest());
                let same = earlier
                    .map(|e| e.original)
                    .filter(|o| o.record.payload_digest == payload_digest);
                let (original, line, _damaged) = recorder.store_body(exchange, body, &payload_digest, same).await?;
                lines.push(line);
                let captured = Captured {
                    original,
                    downloaded: sink.size,
                    final_url,
                };
                Ok((Got::Captured(Box::new(captured)), sink.kept))
            }
        }
    }
}

/// Whether a requisite's body is read for more requisites: a stylesheet's (whatever its
/// Content-Type says, as browsers in quirks mode read it), a frame's when it is HTML.
fn read_for_more(kind: Kind, content_type: Option<&str>) -> bool {
    match kind {
        Kind::Stylesheet => true,
        Kind::Frame => is_html(content_type),
        Kind::Script | Kind::Other => false,
    }
}

/// An earlier run's latest capture of a requisite: the record holding its payload (checked to
/// still hold it) and the validators its response carried.
struct Earlier {
    original: Original,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// The latest capture of `url` the index lists, if its record is intact. Blocking.
fn earlier_capture(recorder: &Recorder, url: &str) -> Option<Earlier> {
    let indexed = recorder.indexed();
    let original = checked(recorder.archive(), indexed.latest_of(url)?)?;
    let record = crate::payload::open_response(
        recorder.archive(),
        &original.file,
        original.record.offset,
        original.record.length,
    )
    .ok()?;
    Some(Earlier {
        original,
        etag: record.etag,
        last_modified: record.last_modified,
    })
}

/// The decoded payload of `original`'s record (up to [`READ_LIMIT`] bytes) and its Content-Type,
/// to be read for requisites. Blocking.
fn read_back(archive: &std::path::Path, original: &Original) -> Option<(Option<String>, Vec<u8>)> {
    let record =
        crate::payload::open_response(archive, &original.file, original.record.offset, original.record.length).ok()?;
    let mut bytes = Vec::new();
    // A damaged record gives what it has: a page read in part still names requisites.
    let _ = record.reader.take(READ_LIMIT as u64).read_to_end(&mut bytes);
    Some((record.content_type, bytes))
}
