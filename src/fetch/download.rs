//! Streaming a response body: each chunk as received goes to the capture's WARC record (a
//! [`RawBody`], when archiving), and through a decoder that removes its Content-Encoding into a
//! [`PayloadSink`]. `--timeout` (stall), `--max-time` and `--max-size` are enforced on the way,
//! `--max-size` on both the bytes received and the bytes decoded, `--max-time` on the reads and
//! on the writes to the record alike, so a decompression bomb, an endless body, or one that is
//! all encoding (empty gzip members, zstd skippable frames) fails with flat memory (issue #15).
//!
//! Decoding is push-style (a gzip member reader of our own, flate2, brotli and zstd writers): a
//! chunk is decoded as it is handed over, so the raw bytes are read once, by this loop, and
//! never buffered for a second reader.

mod gzip;

use std::io::{self, Write};

use bytes::Bytes;
use reqwest::Response;
use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use tokio::time::Instant;

use super::BodyError;
use crate::store::PayloadSink;
use crate::warc::run::RawBody;
use gzip::GzipMembers;

/// The `Accept-Encoding` sent when archiving: every coding [`download`] can remove.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";
/// Output buffer of the brotli decoder.
const BROTLI_BUFFER: usize = 64 * 1024;
/// The largest zstd window accepted, 8 MiB: the most RFC 9659 lets an HTTP zstd encoder use.
/// The decoder's default (128 MiB) would let a few bytes of frame header make every download
/// hold that much memory once its payload grew that large.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// The limits one download runs under.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// The longest stall between two pieces of body (`--timeout`).
    pub stall: std::time::Duration,
    /// `--max-time`, for messages; the deadline itself comes with the response.
    pub max_time: std::time::Duration,
    /// `--max-size`, applied to the bytes received (Content-Encoding and all) and to the
    /// decoded payload.
    pub max_size: u64,
}

/// Streams `response`'s payload, Content-Encoding removed, into `sink`, and the body as
/// received into `raw` when given, for the WARC record. The outer `Result` is the link's fate
/// (retried or reported); the inner one a local failure to write, which must stop the run.
pub async fn download<S: PayloadSink>(
    mut response: Response,
    deadline: Instant,
    limits: BodyLimits,
    sink: &mut S,
    mut raw: Option<&mut RawBody>,
) -> Result<io::Result<()>, BodyError> {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Whatever the coding, more bytes than the limit will not be read.
    if let Some(length) = declared.filter(|&n| n > limits.max_size) {
        tracing::debug!(length, "Content-Length beyond --max-size");
        return Err(BodyError::TooLarge(limits.max_size));
    }
    let coding = response
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let limited = Limited {
        sink,
        max_size: limits.max_size,
    };
    let Some(mut decoder) = Decoder::new(&coding, limited) else {
        return Err(BodyError::Network(format!("unsupported Content-Encoding {coding:?}")));
    };
    let mut received = 0u64;
    loop {
        let chunk: Option<Bytes> = within(deadline, limits, response.chunk())
            .await?
            .map_err(|e| body_read_error(&e))?;
        let Some(chunk) = chunk else { break };
        received += chunk.len() as u64;
        if received > limits.max_size {
            return Err(BodyError::TooLarge(limits.max_size));
        }
        if let Some(raw) = raw.as_deref_mut() {
            // A disk slower than the network holds the download here: `--max-time` still ends it.
            match tokio::time::timeout_at(deadline, raw.write(chunk.clone())).await {
                Err(_) => return Err(BodyError::Deadline(limits.max_time)),
                Ok(Err(e)) => return Ok(Err(e)),
                Ok(Ok(())) => {}
            }
        }
        if let Err(e) = decoder.write_all(&chunk) {
            return classify(e, limits);
        }
    }
    match decoder.finish() {
        Ok(()) => Ok(Ok(())),
        Err(e) => classify(e, limits),
    }
}

/// What a decoder's error means: the limit, the sink, or bad data.
fn classify(e: io::Error, limits: BodyLimits) -> Result<io::Result<()>, BodyError> {
    if e.get_ref().is_some_and(|inner| inner.is::<TooLarge>()) {
        return Err(BodyError::TooLarge(limits.max_size));
    }
    if e.get_ref().is_some_and(|inner| inner.is::<SinkFailed>()) {
        let inner = e.into_inner().expect("checked above");
        let SinkFailed(e) = *inner.downcast::<SinkFailed>().expect("checked above");
        return Ok(Err(e));
    }
    Err(BodyError::Network(format!("cannot decode the body: {e}")))
}

/// The decoded payload went past `--max-size`.
#[derive(Debug, thiserror::Error)]
#[error("the decoded body is larger than --max-size")]
struct TooLarge;

/// The sink could not take the bytes: a local failure, not the link's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SinkFailed(io::Error);

/// The decoders' output: the sink, under `--max-size`.
struct Limited<'a, S> {
    sink: &'a mut S,
    max_size: u64,
}

impl<S: PayloadSink> Write for Limited<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.sink.size() + buf.len() as u64 > self.max_size {
            return Err(io::Error::other(TooLarge));
        }
        self.sink.write(buf).map_err(|e| io::Error::other(SinkFailed(e)))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Removes one Content-Encoding, pushed a chunk at a time.
enum Decoder<'a, S: PayloadSink> {
    Identity(Limited<'a, S>),
    Gzip(GzipMembers<Limited<'a, S>>),
    Zlib(flate2::write::ZlibDecoder<Limited<'a, S>>),
    Deflate(flate2::write::DeflateDecoder<Limited<'a, S>>),
    /// HTTP's "deflate" is zlib-wrapped (RFC 9110), but some servers send raw deflate: which
    /// one is known from the first two bytes.
    DeflateUnsure(Option<Limited<'a, S>>, Vec<u8>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Limited<'a, S>>>),
    Zstd(zstd::stream::write::Decoder<'static, Limited<'a, S>>),
}

impl<'a, S: PayloadSink> Decoder<'a, S> {
    /// The decoder for `coding`, or `None` for a coding it cannot remove.
    fn new(coding: &str, out: Limited<'a, S>) -> Option<Self> {
        Some(match coding {
            "" | "identity" => Self::Identity(out),
            "gzip" | "x-gzip" => Self::Gzip(GzipMembers::new(out)),
            "deflate" => Self::DeflateUnsure(Some(out), Vec::new()),
            "br" => Self::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                out,
                BROTLI_BUFFER,
            ))),
            "zstd" => {
                let mut decoder = zstd::stream::write::Decoder::new(out).ok()?;
                decoder.window_log_max(ZSTD_WINDOW_LOG_MAX).ok()?;
                Self::Zstd(decoder)
            }
            _ => return None,
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Identity(out) => out.write_all(bytes),
            Self::Gzip(d) => d.write_all(bytes),
            Self::Zlib(d) => d.write_all(bytes),
            Self::Deflate(d) => d.write_all(bytes),
            Self::Brotli(d) => d.write_all(bytes),
            Self::Zstd(d) => d.write_all(bytes),
            Self::DeflateUnsure(out, head) => {
                head.extend_from_slice(bytes);
                if head.len() < 2 {
                    return Ok(());
                }
                let zlib = head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
                let out = out.take().expect("present until decided");
                let head = std::mem::take(head);
                *self = if zlib {
                    Self::Zlib(flate2::write::ZlibDecoder::new(out))
                } else {
                    Self::Deflate(flate2::write::DeflateDecoder::new(out))
                };
                self.write_all(&head)
            }
        }
    }

    /// The body has ended: decodes what the decoder still holds, and fails if the encoded
    /// stream was cut short.
    fn finish(self) -> io::Result<()> {
        let truncated = || io::Error::new(io::ErrorKind::UnexpectedEof, "the encoded body ends early");
        match self {
            Self::Identity(_) => Ok(()),
            Self::Gzip(d) => d.finish().map(drop),
            Self::Zlib(d) => d.finish().map(drop),
            Self::Deflate(d) => d.finish().map(drop),
            Self::DeflateUnsure(_, head) if head.is_empty() => Ok(()),
            Self::DeflateUnsure(..) => Err(truncated()),
            Self::Brotli(mut d) => d.close(),
            Self::Zstd(mut d) => d.flush(),
        }
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
fn body_read_error(e: &(dyn std::error::Error + 'static)) -> BodyError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = inner.source();
    }
    BodyError::Network(format!("the body was cut short: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HashSink;

    fn decode(coding: &str, encoded: &[u8], max_size: u64) -> Result<(String, u64), io::Error> {
        let mut sink = HashSink::default();
        let mut decoder = Decoder::new(
            coding,
            Limited {
                sink: &mut sink,
                max_size,
            },
        )
        .unwrap();
        // In small pieces, as a network delivers them.
        for piece in encoded.chunks(1000) {
            decoder.write_all(piece)?;
        }
        decoder.finish()?;
        Ok(sink.finish())
    }

    fn expected(bytes: &[u8]) -> (String, u64) {
        let mut sink = HashSink::default();
        sink.write(bytes).unwrap();
        sink.finish()
    }

    #[test]
    fn every_coding_is_removed_in_pieces() {
        let text = b"<p>Some text that compresses, repeated.</p>\n".repeat(2000);
        let gzip = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&text).unwrap();
            e.finish().unwrap()
        };
        let zlib = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&text).unwrap();
            e.finish().unwrap()
        };
        let raw_deflate = {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&text).unwrap();
            e.finish().unwrap()
        };
        let zstd = zstd::stream::encode_all(&text[..], 3).unwrap();
        for (coding, encoded) in [
            ("", &text),
            ("gzip", &gzip),
            ("deflate", &zlib),
            ("deflate", &raw_deflate),
            ("zstd", &zstd),
        ] {
            assert_eq!(decode(coding, encoded, u64::MAX).unwrap(), expected(&text), "{coding}");
        }
    }

    /// Issue #15: a zstd frame may ask for a window of up to 2 GiB; beyond RFC 9659's 8 MiB it
    /// is refused before any memory is set aside for it.
    #[test]
    fn a_zstd_window_beyond_8_mib_is_refused() {
        let frame = |window_log: u32| {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
            e.window_log(window_log).unwrap();
            e.write_all(b"a small payload").unwrap();
            e.finish().unwrap()
        };
        assert_eq!(
            decode("zstd", &frame(ZSTD_WINDOW_LOG_MAX), u64::MAX).unwrap(),
            expected(b"a small payload")
        );
        let refused = decode("zstd", &frame(ZSTD_WINDOW_LOG_MAX + 1), u64::MAX).unwrap_err();
        assert!(!refused.get_ref().is_some_and(|e| e.is::<TooLarge>()), "{refused}");
    }

    #[test]
    fn a_cut_stream_and_a_bomb_fail() {
        let text = vec![b'a'; 1 << 20];
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&text).unwrap();
        let gzip = e.finish().unwrap();
        let cut = decode("gzip", &gzip[..gzip.len() / 2], u64::MAX).unwrap_err();
        assert!(!cut.get_ref().is_some_and(|e| e.is::<TooLarge>()), "{cut}");
        let bomb = decode("gzip", &gzip, 1000).unwrap_err();
        assert!(bomb.get_ref().is_some_and(|e| e.is::<TooLarge>()), "{bomb}");
    }
}
