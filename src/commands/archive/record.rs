//! How a run writes what it fetched into its WARC file, for links and their requisites alike:
//! the request/response pair of an exchange, a revisit when the payload is stored already (by
//! an earlier capture of the link, by this run, or by any earlier run, found through the
//! index), and redirects and error responses as received.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, HeaderMap, USER_AGENT};

use super::INDEX_FILE;
use crate::fetch::{Fetcher, is_secret_header};
use crate::store::Store;
use crate::warc::run::{Exchange, Original, ReceivedBody, RunWarc};
use crate::warc::sha256_label;
use crate::warc::{PROFILE_IDENTICAL_PAYLOAD_DIGEST, WarcError, http_request_head, http_response_head, media_type};

/// How much of a redirect's or an error response's body goes into the WARC file: enough for any
/// error page, not so much that a misbehaving server can fill the disk through one.
const OTHER_BODY_LIMIT: u64 = 1 << 20;
/// What a secret header's value is written as.
const REDACTED: &[u8] = b"[redacted]";

/// The run's WARC writer, with what it needs to decide between a record and a revisit. Cheap
/// to clone: every link's task and every requisite fetch holds one.
#[derive(Clone)]
pub struct Recorder {
    pub fetcher: Arc<Fetcher>,
    pub store: Store,
    pub warc: Arc<RunWarc>,
    stored: Arc<std::sync::Mutex<StoredPayloads>>,
}

/// The payloads stored so far, by `WARC-Payload-Digest`: a later capture of the same bytes, of
/// any link or requisite, becomes a revisit of the first.
#[derive(Default)]
struct StoredPayloads {
    /// Stored by this run.
    this_run: HashMap<String, Original>,
    /// Stored by earlier runs, from the index: read once, when the run first meets a payload
    /// its link never had, or a requisite (so an unchanged re-run of plain links never reads it).
    indexed: Option<Arc<Indexed>>,
}

/// What `index.cdxj` says about earlier runs' captures.
#[derive(Debug, Default)]
pub struct Indexed {
    /// The successful captures (responses of status 2xx), by payload digest. Their record ids
    /// and dates are read from the records when one is used.
    by_digest: HashMap<String, Original>,
    /// The latest successful capture of each URL (a response or a revisit), by its payload
    /// digest: what a requisite's conditional request is made from.
    latest_by_url: HashMap<String, (String, String)>,
}

impl Indexed {
    /// Reads the index. Blocking.
    fn read(archive: &Path) -> Self {
        let mut indexed = Self::default();
        let Ok(index) = std::fs::read_to_string(archive.join(INDEX_FILE)) else {
            return indexed;
        };
        for line in index.lines() {
            let Some(json) = line.splitn(3, ' ').nth(2) else {
                continue;
            };
            let Some(timestamp) = line.split(' ').nth(1) else {
                continue;
            };
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(json) else {
                continue;
            };
            let field = |name: &str| entry.get(name).and_then(|v| v.as_str());
            let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
            let revisit = field("mime") == Some("warc/revisit");
            // A revisit (its line has no status) stands for a capture of a stored payload.
            let success = revisit || field("status").is_some_and(|s| s.starts_with('2'));
            let (Some(digest), Some(url)) = (field("digest"), field("url")) else {
                continue;
            };
            if !success {
                continue;
            }
            let newer = indexed
                .latest_by_url
                .get(url)
                .is_none_or(|(seen, _)| seen.as_str() <= timestamp);
            if newer {
                indexed
                    .latest_by_url
                    .insert(url.to_owned(), (timestamp.to_owned(), digest.to_owned()));
            }
            let (Some(file), Some(offset), Some(length)) = (field("filename"), number("offset"), number("length"))
            else {
                continue;
            };
            if revisit {
                continue;
            }
            indexed.by_digest.entry(digest.to_owned()).or_insert_with(|| Original {
                file: format!("{}/{file}", crate::warc::run::WARC_DIR),
                record: crate::manifest::WarcRecordRef {
                    offset,
                    length,
                    record_id: String::new(),
                    date: String::new(),
                    payload_digest: digest.to_owned(),
                },
                url: url.to_owned(),
            });
        }
        indexed
    }

    /// The record holding the payload of `url`'s latest successful capture, unread.
    pub fn latest_of(&self, url: &str) -> Option<&Original> {
        let (_, digest) = self.latest_by_url.get(url)?;
        self.by_digest.get(digest)
    }
}

/// Reads `original`'s record through: its identity, if it still holds the payload its digest
/// names. Blocking.
pub fn read_record(archive: &Path, original: &Original) -> Option<crate::payload::RecordDigest> {
    let found =
        crate::payload::record_payload_digest(archive, &original.file, original.record.offset, original.record.length)
            .ok()?;
    (sha256_label(&found.payload) == original.record.payload_digest).then_some(found)
}

/// `original` with the identity its record carries, if the record still holds the payload.
/// Blocking.
pub fn checked(archive: &Path, original: &Original) -> Option<Original> {
    let found = read_record(archive, original)?;
    let mut original = original.clone();
    original.record.record_id = found.record_id;
    original.record.date = found.date;
    Some(original)
}

impl Recorder {
    pub fn new(fetcher: Arc<Fetcher>, store: Store, warc: Arc<RunWarc>) -> Self {
        Self {
            fetcher,
            store,
            warc,
            stored: Arc::default(),
        }
    }

    /// The archive directory.
    pub fn archive(&self) -> &Path {
        self.store.root()
    }

    /// What `index.cdxj` says about earlier runs, read on first use. Blocking.
    pub fn indexed(&self) -> Arc<Indexed> {
        let mut stored = self.stored.lock().expect("not poisoned");
        Arc::clone(
            stored
                .indexed
                .get_or_insert_with(|| Arc::new(Indexed::read(self.store.root()))),
        )
    }

    /// The exchange a response ends: its URL, the request as sent (on the way to `link`), the
    /// response head.
    pub fn exchange(&self, link: &str, response: &reqwest::Response, extra: &HeaderMap) -> Exchange {
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        Exchange {
            url: response.url().clone(),
            date: Utc::now(),
            request_head: request_head(&self.fetcher, link, response.url(), extra),
            response_head: response_head(response),
            status: response.status().as_u16(),
            mime: media_type(content_type),
        }
    }

    /// Stores a body received whole: when a record already holds the same payload (`earlier`,
    /// the link's own earlier capture of it; any capture of this run; any earlier run's, found
    /// through the index), a revisit record pointing at it; else the body's own record.
    /// Returns the record holding the payload, the new record's CDXJ line, and the earlier
    /// record it could not point at because it no longer held the payload (`file at offset n`).
    pub async fn store_body(
        &self,
        exchange: Arc<Exchange>,
        body: ReceivedBody,
        payload_digest: &str,
        earlier: Option<Original>,
    ) -> std::io::Result<(Original, String, Option<String>)> {
        let (recorder, digest) = (self.clone(), payload_digest.to_owned());
        blocking(move || {
            let archive = recorder.store.root();
            // A record of an earlier run is trusted for its payload's hash, not its place: one
            // that no longer holds the bytes is not pointed at again (issue #12).
            let mut damaged = None;
            let earlier = earlier.filter(|original| {
                let intact = read_record(archive, original).is_some();
                if !intact {
                    damaged = Some(format!("{} at offset {}", original.file, original.record.offset));
                }
                intact
            });
            // The index is read before the lock is taken (it takes it itself), only if needed.
            let indexed = {
                let stored = recorder.stored.lock().expect("not poisoned");
                earlier.is_none() && !stored.this_run.contains_key(&digest)
            }
            .then(|| recorder.indexed());
            // Looked up and written under the lock: two links served the same bytes at once
            // store them once.
            let mut stored = recorder.stored.lock().expect("not poisoned");
            let found = earlier.or_else(|| stored.this_run.get(&digest).cloned()).or_else(|| {
                // Another link's capture in an earlier run, found through the index.
                checked(archive, indexed?.by_digest.get(&digest)?)
            });
            if let Some(original) = found {
                // The bytes are on disk already: this body's copy goes (a large body's file is
                // removed on the way), and a revisit records the capture.
                drop(body);
                let line = recorder
                    .warc
                    .write_revisit(&exchange, PROFILE_IDENTICAL_PAYLOAD_DIGEST, Some(&original))?;
                return Ok((original, line, damaged));
            }
            let (original, line) = match body {
                ReceivedBody::Memory { bytes, block, payload } => {
                    recorder
                        .warc
                        .write_response(&exchange, &bytes, Some((block, payload)), None)?
                }
                ReceivedBody::Streamed(record) => recorder.warc.keep(&exchange, record)?,
            };
            stored.this_run.insert(digest, original.clone());
            Ok((original, line, damaged))
        })
        .await
    }

    /// Writes a revisit record of `exchange` (`profile`), pointing at `original`, and returns
    /// its CDXJ line.
    pub async fn write_revisit(
        &self,
        exchange: Arc<Exchange>,
        profile: &'static str,
        original: Option<Original>,
    ) -> std::io::Result<String> {
        let warc = Arc::clone(&self.warc);
        blocking(move || warc.write_revisit(&exchange, profile, original.as_ref())).await
    }

    /// Writes a response that is not a capture (a redirect, an error) to the WARC file, with its
    /// body as received up to [`OTHER_BODY_LIMIT`], and returns its CDXJ line.
    pub async fn record_other(
        &self,
        link: &str,
        response: reqwest::Response,
        extra: &HeaderMap,
    ) -> std::io::Result<String> {
        let exchange = self.exchange(link, &response, extra);
        // Issue #15: this body is read too, so it is bounded like the others: by `--max-size`
        // as well as its own cap, and by `--max-time` counted from its head (the engine hands
        // the response over without the request's deadline), its host's rule's when it has one.
        let limits = self.fetcher.body_limits(response.url());
        let limit = OTHER_BODY_LIMIT.min(limits.max_size);
        let deadline = tokio::time::Instant::now() + limits.max_time;
        let (body, truncated) = read_capped(response, limit, limits.stall, deadline).await;
        let warc = Arc::clone(&self.warc);
        let (_, line) = blocking(move || warc.write_response(&exchange, &body, None, truncated)).await?;
        Ok(line)
    }
}

/// Runs WARC writing on the blocking pool; a failure is an I/O error of the archive.
pub async fn blocking<T, F>(work: F) -> std::io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, WarcError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(WarcError::Io(e))) => Err(e),
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// The response head as a WARC record shows it (rebuilt: hyper keeps no raw header bytes).
fn response_head(response: &reqwest::Response) -> Vec<u8> {
    let headers: Vec<(String, Vec<u8>)> = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let status = response.status();
    http_response_head(
        &format!("{:?}", response.version()),
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        &headers,
    )
}

/// The request head as sent to `url` on the way to `link`: reqwest's defaults, the configured
/// headers that went to this hop, then this request's. Secrets are written as `[redacted]`: a
/// WARC file is shared (WACZ, artifacts) and must not carry the user's credentials.
fn request_head(fetcher: &Fetcher, link: &str, url: &url::Url, extra: &HeaderMap) -> Vec<u8> {
    let link = url::Url::parse(link).unwrap_or_else(|_| url.clone());
    let sent = fetcher.request_headers(&link, url, extra);
    let mut headers = Vec::with_capacity(sent.len() + 2);
    if !sent.contains_key(USER_AGENT) {
        headers.push(("User-Agent".to_owned(), fetcher.config().user_agent.as_bytes().to_vec()));
    }
    headers.push(("Accept".to_owned(), b"*/*".to_vec()));
    for (name, value) in &sent {
        let value = if is_secret_header(name, value) {
            REDACTED.to_vec()
        } else {
            value.as_bytes().to_vec()
        };
        headers.push((name.as_str().to_owned(), value));
    }
    http_request_head("GET", url, &headers)
}

/// Reads a body until its end, `limit` bytes, a stall longer than `stall`, `deadline`, or an
/// error; returns what it read and why it stopped early (a `WARC-Truncated` reason), if it did.
async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
    stall: std::time::Duration,
    deadline: tokio::time::Instant,
) -> (Vec<u8>, Option<&'static str>) {
    let mut body = Vec::new();
    loop {
        let stall_at = tokio::time::Instant::now() + stall;
        match tokio::time::timeout_at(stall_at.min(deadline), response.chunk()).await {
            Err(_) => return (body, Some("time")),
            Ok(Err(_)) => return (body, Some("disconnect")),
            Ok(Ok(None)) => return (body, None),
            Ok(Ok(Some(chunk))) => {
                let room = limit.saturating_sub(body.len() as u64);
                let take = chunk.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                body.extend_from_slice(&chunk[..take]);
                if take < chunk.len() {
                    return (body, Some("length"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urls_latest_capture_is_found_through_revisits_and_not_through_failures() {
        let dir = tempfile::tempdir().unwrap();
        let line = |url: &str, ts: &str, json: &str| format!("{url} {ts} {json}");
        let index = [
            line(
                "x",
                "20260101000000",
                r#"{"url":"http://s/a.css","mime":"text/css","status":"200","digest":"sha256:old","filename":"r1.warc.gz","offset":"10","length":"5"}"#,
            ),
            line(
                "x",
                "20260301000000",
                r#"{"url":"http://s/a.css","mime":"text/css","status":"200","digest":"sha256:new","filename":"r3.warc.gz","offset":"30","length":"5"}"#,
            ),
            // A 304 of the newer bytes, later still: its payload is the newer record's.
            line(
                "x",
                "20260401000000",
                r#"{"url":"http://s/a.css","mime":"warc/revisit","digest":"sha256:new","filename":"r4.warc.gz","offset":"40","length":"5"}"#,
            ),
            // A later error page is no capture.
            line(
                "x",
                "20260501000000",
                r#"{"url":"http://s/a.css","mime":"text/html","status":"404","digest":"sha256:err","filename":"r5.warc.gz","offset":"50","length":"5"}"#,
            ),
            line(
                "x",
                "20260201000000",
                r#"{"url":"http://s/b.png","mime":"warc/revisit","digest":"sha256:old","filename":"r2.warc.gz","offset":"20","length":"5"}"#,
            ),
        ]
        .join("\n");
        std::fs::write(dir.path().join(INDEX_FILE), index).unwrap();
        let indexed = Indexed::read(dir.path());
        let latest = indexed.latest_of("http://s/a.css").unwrap();
        assert_eq!((latest.file.as_str(), latest.record.offset), ("warc/r3.warc.gz", 30));
        // Another URL whose capture is a revisit of identical bytes: the record holding them.
        let b = indexed.latest_of("http://s/b.png").unwrap();
        assert_eq!(
            (b.file.as_str(), b.record.offset, b.url.as_str()),
            ("warc/r1.warc.gz", 10, "http://s/a.css")
        );
        assert!(indexed.latest_of("http://s/c.js").is_none());
    }
}
