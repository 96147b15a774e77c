//! Payloads as response bodies, streamed from async tasks: the payload is read (and decoded) on
//! the blocking pool one bounded chunk at a time, and the chunks go to the client through a
//! channel of [`CHANNEL_CHUNKS`]. A client that reads slowly makes the task wait on the channel,
//! holding no thread and no more than a few chunks of memory; a client that goes away ends it.
//!
//! A body's last bytes are sent only once the payload has proven whole (its recorded size and
//! SHA-256, checked by [`Payload`] at its end), so a client never receives a damaged payload as
//! a complete response: the body ends in an error instead and the response is cut short.

use std::collections::HashSet;
use std::io::Read;
use std::ops::Range;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

use crate::payload::Payload;

/// Bytes read from a payload at a time: the unit of work on the blocking pool.
pub const READ_CHUNK: usize = 32 * 1024;

/// Chunks a body may have ready ahead of the client.
const CHANNEL_CHUNKS: usize = 2;

/// The sending end of a streamed body.
pub type BodySender = mpsc::Sender<std::io::Result<Bytes>>;

/// A body fed by `produce`, run as its own task. An error other than the client leaving is
/// logged and ends the body with that error, so the response is cut short rather than completed.
pub fn spawn_body<F>(what: String, produce: impl FnOnce(BodySender) -> F) -> Body
where
    F: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_CHUNKS);
    let work = produce(tx.clone());
    tokio::spawn(async move {
        if let Err(e) = work.await
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            tracing::warn!("serve: {what} stopped: {e}");
            let _ = tx.send(Err(e)).await;
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

/// Sends `bytes` (unless empty) once the client has room for them; a closed channel (the client
/// left) is a `BrokenPipe`.
pub async fn send(tx: &BodySender, bytes: Bytes) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    tx.send(Ok(bytes))
        .await
        .map_err(|_| std::io::ErrorKind::BrokenPipe.into())
}

/// A payload read in chunks on the blocking pool, from async code.
pub struct Chunks {
    /// Between reads, the payload; `None` once it ended (or failed).
    payload: Option<Payload>,
}

impl Chunks {
    /// Chunks of `payload`, from its start.
    pub fn new(payload: Payload) -> Self {
        Self { payload: Some(payload) }
    }

    /// The next chunk of up to `size` bytes (fewer only at the end), or `None` at the end of a
    /// payload that proved whole. A damaged payload fails here instead of ending.
    pub async fn next(&mut self, size: usize) -> std::io::Result<Option<Bytes>> {
        let Some(mut payload) = self.payload.take() else {
            return Ok(None);
        };
        let (payload, read) = tokio::task::spawn_blocking(move || {
            let mut chunk = vec![0; size];
            let read = read_full(&mut payload, &mut chunk).map(|n| {
                chunk.truncate(n);
                chunk
            });
            (payload, read)
        })
        .await
        .map_err(std::io::Error::other)?;
        let chunk = read?;
        if chunk.is_empty() {
            return Ok(None);
        }
        self.payload = Some(payload);
        Ok(Some(Bytes::from(chunk)))
    }
}

/// Reads until `buf` is full or the payload ends; returns how much was read.
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Payloads this server has read whole and found intact (by location and SHA-256). A range of
/// such a payload can stop reading at the range's end; any other range is read to the payload's
/// end first, so a damaged payload never completes even a partial response.
#[derive(Debug, Default)]
pub struct Verified {
    payloads: Mutex<HashSet<String>>,
}

impl Verified {
    /// Whether the payload named `key` was read whole and intact.
    pub fn contains(&self, key: &str) -> bool {
        self.payloads.lock().expect("not poisoned").contains(key)
    }

    /// Remembers that the payload named `key` was read whole and intact.
    pub fn insert(&self, key: String) {
        self.payloads.lock().expect("not poisoned").insert(key);
    }
}

/// The payload's bytes in `range` (all of them when `None`), untouched. The last chunk is held
/// back until the payload proved whole, unless the payload is `verified` already.
pub fn raw_body(payload: Payload, range: Option<Range<u64>>, verified: std::sync::Arc<Verified>, key: String) -> Body {
    let what = format!("raw replay of {}", payload.location());
    let range = range.unwrap_or(0..payload.size());
    spawn_body(what, move |tx| async move {
        let known_good = verified.contains(&key);
        let mut chunks = Chunks::new(payload);
        let mut held: Option<Bytes> = None;
        let mut at = 0u64;
        loop {
            if known_good && at >= range.end {
                break;
            }
            let Some(chunk) = chunks.next(READ_CHUNK).await? else {
                verified.insert(key);
                break;
            };
            let chunk_range = at..at + chunk.len() as u64;
            at = chunk_range.end;
            let (start, end) = (range.start.max(chunk_range.start), range.end.min(chunk_range.end));
            if start < end {
                let part = chunk.slice((start - chunk_range.start) as usize..(end - chunk_range.start) as usize);
                if let Some(previous) = held.replace(part) {
                    send(&tx, previous).await?;
                }
            }
        }
        match held {
            Some(last) => send(&tx, last).await,
            None => Ok(()),
        }
    })
}
