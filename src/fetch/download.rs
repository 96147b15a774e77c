//! Streaming a response body into a payload sink (an object file, or only a hasher):
//! Content-Encoding removed, `--timeout` (stall), `--max-time` and `--max-size` enforced on the
//! decoded stream, so a decompression bomb or an endless body fails with flat memory. A sink
//! dropped unfinished leaves nothing behind (see [`crate::store::ObjectWriter`]).

use std::io;

use async_compression::tokio::bufread::{BrotliDecoder, DeflateDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use bytes::BytesMut;
use futures_util::TryStreamExt;
use reqwest::Response;
use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::io::StreamReader;

use super::BodyError;
use crate::store::PayloadSink;

/// The `Accept-Encoding` sent when archiving: every coding [`download`] can remove.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";
/// Bytes read from the decoder at a time.
const CHUNK: usize = 64 * 1024;

/// The limits one download runs under.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// The longest stall between two pieces of body (`--timeout`).
    pub stall: std::time::Duration,
    /// `--max-time`, for messages; the deadline itself comes with the response.
    pub max_time: std::time::Duration,
    /// `--max-size`, applied to the decoded payload.
    pub max_size: u64,
}

/// Streams `response`'s payload into `sink`, and the body as received (Content-Encoding still
/// applied) into `raw` when given, for the WARC record. The outer `Result` is the link's fate
/// (retried or reported); the inner one a local failure to write, which must stop the run.
pub async fn download<S: PayloadSink>(
    response: Response,
    deadline: Instant,
    limits: BodyLimits,
    sink: &mut S,
    mut raw: Option<&mut (dyn PayloadSink + Send)>,
) -> Result<io::Result<()>, BodyError> {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let coding = response
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    // A declared length larger than the limit fails before a byte is read, unless the body is
    // encoded: then the limit applies to the decoded size, which can only be counted.
    if (coding.is_empty() || coding == "identity")
        && let Some(length) = declared.filter(|&n| n > limits.max_size)
    {
        tracing::debug!(length, "Content-Length beyond --max-size");
        return Err(BodyError::TooLarge(limits.max_size));
    }

    let mut raw_error = None;
    let received = response.bytes_stream().map_err(io::Error::other).inspect_ok(|chunk| {
        if let Some(raw) = raw.as_deref_mut()
            && let Err(e) = raw.write(chunk.clone())
        {
            raw_error.get_or_insert(e);
        }
    });
    let received = StreamReader::new(received);
    let mut reader = match decoder(&coding, received, deadline, limits).await? {
        Some(reader) => reader,
        None => return Err(BodyError::Network(format!("unsupported Content-Encoding {coding:?}"))),
    };
    let copied = copy(&mut reader, sink, deadline, limits, !coding.is_empty()).await;
    drop(reader);
    match copied {
        Ok(()) => Ok(raw_error.map_or(Ok(()), Err)),
        Err(CopyError::Body(e)) => Err(e),
        Err(CopyError::Sink(e)) => Ok(Err(e)),
    }
}

type Reader<'a> = Box<dyn AsyncRead + Unpin + Send + 'a>;

/// The reader that removes `coding`, or `None` for a coding we cannot remove.
async fn decoder<'a, R>(
    coding: &str,
    mut raw: R,
    deadline: Instant,
    limits: BodyLimits,
) -> Result<Option<Reader<'a>>, BodyError>
where
    R: AsyncBufRead + Unpin + Send + 'a,
{
    Ok(Some(match coding {
        "" | "identity" => Box::new(raw),
        "gzip" | "x-gzip" => {
            let mut gzip = GzipDecoder::new(raw);
            gzip.multiple_members(true);
            Box::new(gzip)
        }
        "br" => Box::new(BrotliDecoder::new(raw)),
        "zstd" => Box::new(ZstdDecoder::new(raw)),
        "deflate" => {
            // HTTP's "deflate" is zlib-wrapped (RFC 9110), but some servers send raw deflate:
            // look at the first two bytes for a zlib header.
            let head = within(deadline, limits, raw.fill_buf())
                .await?
                .map_err(body_read_error)?;
            let zlib =
                head.len() >= 2 && head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
            if zlib {
                Box::new(ZlibDecoder::new(raw))
            } else {
                Box::new(DeflateDecoder::new(raw))
            }
        }
        _ => return Ok(None),
    }))
}

enum CopyError {
    Body(BodyError),
    Sink(io::Error),
}

/// Copies decoded bytes into `sink` under the limits.
async fn copy<S: PayloadSink>(
    reader: &mut Reader<'_>,
    sink: &mut S,
    deadline: Instant,
    limits: BodyLimits,
    decoding: bool,
) -> Result<(), CopyError> {
    let mut buf = BytesMut::with_capacity(CHUNK);
    loop {
        // Each chunk is split off and handed over whole; the buffer's memory is reused once
        // the sink has let go of it (at once for an inline sink, later for a sink's thread).
        buf.reserve(CHUNK);
        let n = within(deadline, limits, reader.read_buf(&mut buf))
            .await
            .map_err(CopyError::Body)?
            .map_err(|e| CopyError::Body(if decoding { decode_error(e) } else { body_read_error(e) }))?;
        if n == 0 {
            return Ok(());
        }
        if sink.size() + n as u64 > limits.max_size {
            return Err(CopyError::Body(BodyError::TooLarge(limits.max_size)));
        }
        sink.write(buf.split().freeze()).map_err(CopyError::Sink)?;
    }
}

/// Runs one read with the stall timeout, cut short by the download's deadline.
async fn within<F: Future>(deadline: Instant, limits: BodyLimits, read: F) -> Result<F::Output, BodyError> {
    let stall_at = Instant::now() + limits.stall;
    match tokio::time::timeout_at(stall_at.min(deadline), read).await {
        Ok(output) => Ok(output),
        Err(_) if Instant::now() >= deadline => Err(BodyError::Deadline(limits.max_time)),
        Err(_) => Err(BodyError::Stalled(limits.stall)),
    }
}

/// An error while receiving the body: the connection was reset or closed early.
fn body_read_error(e: io::Error) -> BodyError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = inner.source();
    }
    BodyError::Network(format!("the body was cut short: {message}"))
}

/// An error from a decoder: either the transport failed underneath, or the encoded data is bad.
fn decode_error(e: io::Error) -> BodyError {
    if e.get_ref().is_some_and(|inner| inner.is::<reqwest::Error>()) {
        body_read_error(e)
    } else {
        BodyError::Network(format!("cannot decode the body: {e}"))
    }
}
