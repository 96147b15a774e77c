//! Bodies that are all encoding and no payload (issue #15): empty gzip members and zstd
//! skippable frames, generated while they are sent (so the test's own memory stays flat), with
//! a count of the bytes handed to the connection; and a redirect whose body drips forever.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;

use super::bodies::hyper_server;

/// Bytes a fast flood hands over at a time: many units, so the server is not the bottleneck.
const BLOCK: usize = 64 * 1024;

/// A server whose every response is a flood of one encoded unit that decodes to nothing.
pub struct Flood {
    /// The URL to fetch.
    pub url: String,
    /// Body bytes handed over in the response that got the most.
    largest: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl Flood {
    /// Serves `unit` over and over as a body with `Content-Encoding: coding`, up to `total`
    /// bytes: as fast as the client reads, or one unit every `pace`.
    pub async fn start(coding: &'static str, unit: Bytes, total: u64, pace: Option<Duration>) -> Self {
        Self::start_after(None, coding, unit, total, pace).await
    }

    /// Like [`Flood::start`], but answers the first request with `page`, unencoded: a page to
    /// archive, which then turns into a flood.
    pub async fn after_page(
        page: &'static str,
        coding: &'static str,
        unit: Bytes,
        total: u64,
        pace: Option<Duration>,
    ) -> Self {
        Self::start_after(Some(page), coding, unit, total, pace).await
    }

    async fn start_after(
        page: Option<&'static str>,
        coding: &'static str,
        unit: Bytes,
        total: u64,
        pace: Option<Duration>,
    ) -> Self {
        let largest: Arc<AtomicU64> = Arc::default();
        let requests: Arc<AtomicU64> = Arc::default();
        let block = match pace {
            // One unit at a time, so that each arrives as a read of its own.
            Some(_) => unit,
            None => Bytes::from(unit.repeat(BLOCK / unit.len())),
        };
        let most = Arc::clone(&largest);
        let counted = Arc::clone(&requests);
        let url = hyper_server("/flood", move || {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            if let Some(page) = page.filter(|_| first) {
                return Response::builder()
                    .header("content-type", "text/html")
                    .body(BodyExt::boxed(http_body_util::Full::new(Bytes::from_static(
                        page.as_bytes(),
                    ))))
                    .unwrap();
            }
            let (block, most) = (block.clone(), Arc::clone(&most));
            let stream = futures_util::stream::unfold(0u64, move |served| {
                let (block, most) = (block.clone(), Arc::clone(&most));
                async move {
                    if served >= total {
                        return None;
                    }
                    if let Some(pace) = pace {
                        tokio::time::sleep(pace).await;
                    }
                    let served = served + block.len() as u64;
                    most.fetch_max(served, Ordering::SeqCst);
                    Some((Ok::<_, Infallible>(Frame::data(block.clone())), served))
                }
            });
            Response::builder()
                .header("content-type", "text/html")
                .header("content-encoding", coding)
                .body(BodyExt::boxed(StreamBody::new(stream)))
                .unwrap()
        })
        .await;
        Flood { url, largest, requests }
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// The most body bytes the server has handed to one connection: what one reader let
    /// through before it stopped, plus what the socket buffers held.
    pub fn sent(&self) -> u64 {
        self.largest.load(Ordering::SeqCst)
    }
}

/// An empty gzip member (20 bytes): a whole gzip stream that decodes to nothing.
pub fn empty_gzip_member() -> Bytes {
    let member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default())
        .finish()
        .unwrap();
    assert_eq!(member.len(), 20, "an empty gzip member");
    Bytes::from(member)
}

/// A zstd skippable frame of 20 bytes (RFC 8878, section 3.1.2): magic, length, 12 bytes a
/// decoder skips.
pub fn zstd_skippable_frame() -> Bytes {
    let mut frame = 0x184D_2A50u32.to_le_bytes().to_vec();
    frame.extend_from_slice(&12u32.to_le_bytes());
    frame.extend_from_slice(b"skip me, too");
    Bytes::from(frame)
}

/// A `302` to `location` whose body sends one byte every `pace`, forever.
pub async fn dripping_redirect_server(location: String, pace: Duration) -> String {
    hyper_server("/dripping-redirect", move || {
        let stream = futures_util::stream::unfold((), move |()| async move {
            tokio::time::sleep(pace).await;
            Some((Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"."))), ()))
        });
        Response::builder()
            .status(302)
            .header("location", location.clone())
            .header("content-type", "text/html")
            .body(BodyExt::boxed(StreamBody::new(stream)))
            .unwrap()
    })
    .await
}
