//! Writing WARC 1.1 records, one gzip member each, with bodies streamed from a reader.
//!
//! A record is `WARC/1.1` + header fields + a blank line, then the block (for HTTP records the
//! reconstructed HTTP head followed by the body), then `\r\n\r\n`. Every record is its own gzip
//! member so that a CDXJ line can point at it by compressed offset and length, and so that a run
//! killed mid-record leaves every earlier member intact.

use std::io::{self, Read, Seek, SeekFrom, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::digest::sha256_label;
use super::{WARC_VERSION, WarcError};

/// Records shorter than this (header and block) are stored, not deflated.
const TINY_RECORD: u64 = 2048;
/// Size of the buffer bodies are copied through.
const COPY_BUFFER: usize = 64 * 1024;

/// The kinds of record linkkeep writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// Describes the WARC file and the software that wrote it.
    Warcinfo,
    /// The HTTP request as sent.
    Request,
    /// The HTTP response: head and body.
    Response,
    /// A later capture whose payload was already archived (or a 304): head only.
    Revisit,
    /// A payload without its HTTP exchange: what `repair --migrate` writes for a 0.1.0 object
    /// that no response record holds.
    Resource,
}

impl RecordType {
    /// The value of the `WARC-Type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Warcinfo => "warcinfo",
            RecordType::Request => "request",
            RecordType::Response => "response",
            RecordType::Revisit => "revisit",
            RecordType::Resource => "resource",
        }
    }
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header fields of one record, except the ones [`write_record`] computes
/// (`Content-Length`, `WARC-Block-Digest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpec {
    /// `WARC-Type`.
    pub kind: RecordType,
    /// `WARC-Target-URI`: the URL fetched (none for warcinfo).
    pub target_uri: Option<String>,
    /// `WARC-Date`, as made by [`warc_date`].
    pub date: String,
    /// `WARC-Record-ID`, as made by [`new_record_id`] (`<urn:uuid:…>`).
    pub record_id: String,
    /// `Content-Type` of the block, e.g. [`super::CONTENT_TYPE_HTTP_RESPONSE`]; omitted when empty.
    pub content_type: String,
    /// `WARC-Concurrent-To`: ties a request to its response (a record id).
    pub concurrent_to: Option<String>,
    /// `WARC-Refers-To`: for revisits, the id of the record holding the payload.
    pub refers_to: Option<String>,
    /// `WARC-Refers-To-Target-URI`: for revisits, the URL of that record.
    pub refers_to_target_uri: Option<String>,
    /// `WARC-Refers-To-Date`: for revisits, the `WARC-Date` of that record.
    pub refers_to_date: Option<String>,
    /// `WARC-Profile`: for revisits, [`super::PROFILE_IDENTICAL_PAYLOAD_DIGEST`] or
    /// [`super::PROFILE_SERVER_NOT_MODIFIED`].
    pub profile: Option<String>,
    /// `WARC-Warcinfo-ID`: the warcinfo record of the file.
    pub warcinfo_id: Option<String>,
    /// `WARC-Payload-Digest`, labelled (see [`sha256_label`]). For revisits it is the digest of
    /// the payload they refer to. When `None` for a response and [`write_record`] hashes the
    /// body itself, it is filled in from the body.
    pub payload_digest: Option<String>,
    /// Further fields, written in order after the standard ones (e.g. `WARC-IP-Address`,
    /// `WARC-Filename`).
    pub extra: Vec<(String, String)>,
}

impl RecordSpec {
    /// A spec with a fresh record id and only the type, date and content type set.
    pub fn new(kind: RecordType, date: String, content_type: &str) -> Self {
        RecordSpec {
            kind,
            target_uri: None,
            date,
            record_id: new_record_id(),
            content_type: content_type.to_string(),
            concurrent_to: None,
            refers_to: None,
            refers_to_target_uri: None,
            refers_to_date: None,
            profile: None,
            warcinfo_id: None,
            payload_digest: None,
            extra: Vec::new(),
        }
    }
}

/// A fresh `WARC-Record-ID`: `<urn:uuid:…>` with a random (version 4) UUID.
pub fn new_record_id() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    // RFC 9562 §5.4: version 4 in the high nibble of byte 6, variant 10 in byte 8.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "<urn:uuid:{}-{}-{}-{}-{}>",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A `WARC-Date`: RFC 3339 UTC with second precision, e.g. `2026-11-29T02:00:00Z`.
///
/// Seconds rather than the microseconds WARC 1.1 allows, because older replay tools and CDX
/// indexers only parse the 1.0 form and the CDXJ timestamp has second precision anyway.
pub fn warc_date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The 14-digit `YYYYMMDDhhmmss` timestamp CDXJ lines and replay URLs use.
pub fn timestamp14(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// Appends `name: value\r\n`, replacing CR and LF in the value: a header value from a remote
/// server must not be able to end the head early or smuggle in fields.
fn push_http_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend(value.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

/// The HTTP response head as bytes: status line, header fields, blank line.
///
/// reqwest and hyper do not keep the raw header bytes, so the head is rebuilt from the parsed
/// parts. `Transfer-Encoding` is dropped because the body we store is already de-chunked: a head
/// still saying `chunked` would make warcio, pywb and browsers try to de-chunk it a second time.
/// Versions other than HTTP/1.0 and HTTP/1.1 (HTTP/2, HTTP/3) are written as `HTTP/1.1`, since
/// the head is an HTTP/1.x rendering of the response and WARC readers only parse HTTP/1.x status
/// lines. The head must describe the body that follows it: a caller storing a body with its
/// `Content-Encoding` removed should leave out `Content-Encoding` and `Content-Length` too.
pub fn http_response_head(version: &str, status: u16, reason: &str, headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let version = if version.eq_ignore_ascii_case("HTTP/1.0") {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let reason: String = reason.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let mut out = format!("{version} {status} {reason}\r\n").into_bytes();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        push_http_field(&mut out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The HTTP request head as bytes: `GET /path?q HTTP/1.1`, `Host`, the given fields, blank line.
///
/// `Host` comes from the URL (with the port when it is not the default) unless `headers` has one.
pub fn http_request_head(method: &str, url: &url::Url, headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
        let mut host = url.host_str().unwrap_or_default().to_string();
        if let Some(port) = url.port() {
            host.push_str(&format!(":{port}"));
        }
        push_http_field(&mut out, "Host", host.as_bytes());
    }
    for (name, value) in headers {
        push_http_field(&mut out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The block of a warcinfo record (`application/warc-fields`): `software`, `format` and
/// `conformsTo` first, then `fields` in order.
pub fn warcinfo_fields(software: &str, fields: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    push_http_field(&mut out, "software", software.as_bytes());
    push_http_field(&mut out, "format", b"WARC File Format 1.1");
    push_http_field(
        &mut out,
        "conformsTo",
        b"http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
    );
    for (name, value) in fields {
        push_http_field(&mut out, name, value.as_bytes());
    }
    out
}

/// Counts the bytes that reach the inner writer: the compressed size of a member.
struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `read` that retries on `Interrupted`.
fn read_some(body: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match body.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Streams exactly `len` bytes of `body` to `sink`, then makes sure `body` has nothing more.
fn stream_body(
    body: &mut impl Read,
    len: u64,
    buf: &mut [u8],
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<(), WarcError> {
    let mut remaining = len;
    while remaining > 0 {
        let want = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = read_some(body, &mut buf[..want])?;
        if n == 0 {
            return Err(WarcError::BodyLength {
                expected: len,
                actual: len - remaining,
                more: false,
            });
        }
        sink(&buf[..n])?;
        remaining -= n as u64;
    }
    if read_some(body, &mut buf[..1])? != 0 {
        return Err(WarcError::BodyLength {
            expected: len,
            actual: len + 1,
            more: true,
        });
    }
    Ok(())
}

/// Checks a header value: a CR or LF in it would end the WARC header early.
fn check_field(name: &str, value: &str) -> Result<(), WarcError> {
    let bad = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n');
    if bad(name) || bad(value) || name.is_empty() || name.contains(':') {
        return Err(WarcError::InvalidField { name: name.to_string() });
    }
    Ok(())
}

/// The WARC header of a record, ending with its blank line.
///
/// `content_length` is written as given: [`super::stream`] pads it with zeros to a fixed width,
/// so that the header of a record still being written can be rewritten in place.
pub(crate) fn warc_header(
    spec: &RecordSpec,
    payload_digest: Option<&str>,
    block_digest: &[u8; 32],
    content_length: &str,
) -> Result<String, WarcError> {
    let mut fields: Vec<(&str, &str)> = vec![
        ("WARC-Type", spec.kind.as_str()),
        ("WARC-Record-ID", &spec.record_id),
        ("WARC-Date", &spec.date),
    ];
    let optional = [
        ("WARC-Target-URI", spec.target_uri.as_deref()),
        ("WARC-Concurrent-To", spec.concurrent_to.as_deref()),
        ("WARC-Refers-To", spec.refers_to.as_deref()),
        ("WARC-Refers-To-Target-URI", spec.refers_to_target_uri.as_deref()),
        ("WARC-Refers-To-Date", spec.refers_to_date.as_deref()),
        ("WARC-Profile", spec.profile.as_deref()),
        ("WARC-Warcinfo-ID", spec.warcinfo_id.as_deref()),
        ("WARC-Payload-Digest", payload_digest),
    ];
    fields.extend(optional.into_iter().filter_map(|(name, value)| Some((name, value?))));
    let block_label = sha256_label(block_digest);
    fields.push(("WARC-Block-Digest", &block_label));
    fields.extend(spec.extra.iter().map(|(name, value)| (name.as_str(), value.as_str())));
    if !spec.content_type.is_empty() {
        fields.push(("Content-Type", &spec.content_type));
    }
    fields.push(("Content-Length", content_length));

    let mut out = format!("{WARC_VERSION}\r\n");
    for (name, value) in fields {
        check_field(name, value)?;
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Ok(out)
}

/// Writes one record as one gzip member appended to `out`, and returns its `(offset, length)`.
///
/// The block is `head` followed by exactly `body_len` bytes of `body`; `Content-Length` and
/// `WARC-Block-Digest` are computed here. The header has to carry the block digest before the
/// block, so either the caller passes `block_digest` (SHA-256 of head ‖ body, computed while
/// downloading) or `body` is read twice: once to hash it, then, after seeking back to where it
/// was, to write it. Either way the bytes written are hashed again and must match, so a body that
/// changed under us fails instead of producing a record whose digest lies. For a response with no
/// `payload_digest` in `spec`, the digest of the body is filled in on the two-pass path.
///
/// `offset` is where `out` stands when the call starts (the file length for a file opened for
/// append); the returned length counts the compressed bytes written. On error, whatever was
/// written from `offset` on is an unusable partial member: a caller appending to a file should
/// truncate it back to `offset`.
pub fn write_record(
    out: &mut impl Write,
    offset: u64,
    spec: &RecordSpec,
    head: &[u8],
    body: &mut (impl Read + Seek),
    body_len: u64,
    block_digest: Option<[u8; 32]>,
) -> Result<(u64, u64), WarcError> {
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut payload_digest = spec.payload_digest.clone();
    let expected = match block_digest {
        Some(digest) => digest,
        None => {
            let start = body.stream_position()?;
            let mut block = Sha256::new();
            let mut payload = Sha256::new();
            block.update(head);
            stream_body(body, body_len, &mut buf, |chunk| {
                block.update(chunk);
                payload.update(chunk);
                Ok(())
            })?;
            body.seek(SeekFrom::Start(start))?;
            if payload_digest.is_none() && spec.kind == RecordType::Response {
                payload_digest = Some(sha256_label(&payload.finalize().into()));
            }
            block.finalize().into()
        }
    };

    let content_length = head.len() as u64 + body_len;
    let header = warc_header(spec, payload_digest.as_deref(), &expected, &content_length.to_string())?;

    let mut counter = CountingWriter { inner: out, count: 0 };
    // A record of a few hundred bytes (a request, a revisit, an empty redirect) is stored: a
    // deflate stream's setup costs more than it saves there, and a run that only confirms
    // unchanged pages writes little else.
    let tiny = header.len() as u64 + content_length < TINY_RECORD;
    let mut member = if !tiny && is_compressible(body, body_len, &mut buf)? {
        Member::Deflate(GzEncoder::new(&mut counter, Compression::default()))
    } else {
        Member::Stored(StoredGzip::new(&mut counter)?)
    };
    member.write_all(header.as_bytes())?;
    member.write_all(head)?;
    // A digest computed by the caller while the bytes arrived is trusted; one computed in a
    // first pass here is checked again, since the body could have changed in between.
    let mut block = block_digest.is_none().then(|| {
        let mut block = Sha256::new();
        block.update(head);
        block
    });
    stream_body(body, body_len, &mut buf, |chunk| {
        if let Some(block) = block.as_mut() {
            block.update(chunk);
        }
        member.write_all(chunk)
    })?;
    if let Some(block) = block {
        let actual: [u8; 32] = block.finalize().into();
        if actual != expected {
            return Err(WarcError::BlockDigestMismatch {
                expected: sha256_label(&expected),
                actual: sha256_label(&actual),
            });
        }
    }
    member.write_all(b"\r\n\r\n")?;
    member.finish()?;
    counter.inner.flush()?;
    Ok((offset, counter.count))
}

/// One gzip member being written: deflated, or in stored blocks.
enum Member<W: Write> {
    Deflate(GzEncoder<W>),
    Stored(StoredGzip<W>),
}

impl<W: Write> Member<W> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Deflate(gz) => gz.write_all(bytes),
            Self::Stored(gz) => gz.write_all(bytes),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Self::Deflate(gz) => gz.finish().map(drop),
            Self::Stored(gz) => gz.finish(),
        }
    }
}

/// The largest stored deflate block (RFC 1951 §3.2.4: LEN is 16 bits).
const STORED_BLOCK: usize = 65_535;

/// The 10-byte header of a gzip member (RFC 1952): ID1 ID2, CM=deflate, no flags, MTIME 0,
/// XFL 0, OS unknown (255).
pub(crate) const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// A deflate stream (RFC 1951) of stored blocks: what any inflater reads, written at memory
/// speed. miniz_oxide's level 0 still runs its compressor loop, which made it the bottleneck
/// of archiving large PDFs.
pub(crate) struct StoredBlocks<W: Write> {
    out: W,
    block: Vec<u8>,
}

impl<W: Write> StoredBlocks<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out,
            block: Vec::with_capacity(STORED_BLOCK),
        }
    }

    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.block.len() == STORED_BLOCK {
                self.flush_block(false)?;
            }
            let take = (STORED_BLOCK - self.block.len()).min(bytes.len());
            self.block.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        Ok(())
    }

    fn flush_block(&mut self, last: bool) -> io::Result<()> {
        write_stored_block(&mut self.out, &self.block, last)?;
        self.block.clear();
        Ok(())
    }

    /// Writes the last block and gives the writer back.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.flush_block(true)?;
        Ok(self.out)
    }
}

/// Writes one stored block: BFINAL and BTYPE 00 in a byte of its own, LEN, NLEN, the bytes.
pub(crate) fn write_stored_block(out: &mut impl Write, bytes: &[u8], last: bool) -> io::Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| io::Error::other("a stored block holds at most 65,535 bytes"))?;
    out.write_all(&[u8::from(last)])?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&(!len).to_le_bytes())?;
    out.write_all(bytes)
}

/// A gzip member whose deflate stream is made of stored blocks.
struct StoredGzip<W: Write> {
    blocks: StoredBlocks<W>,
    crc: crc32fast::Hasher,
    size: u32,
}

impl<W: Write> StoredGzip<W> {
    fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&GZIP_HEADER)?;
        Ok(Self {
            blocks: StoredBlocks::new(out),
            crc: crc32fast::Hasher::new(),
            size: 0,
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc.update(bytes);
        // ISIZE is the size modulo 2^32 (RFC 1952 §2.3.1).
        self.size = self.size.wrapping_add(bytes.len() as u32);
        self.blocks.write_all(bytes)
    }

    fn finish(self) -> io::Result<()> {
        let mut out = self.blocks.finish()?;
        out.write_all(&self.crc.finalize().to_le_bytes())?;
        out.write_all(&self.size.to_le_bytes())
    }
}

/// How much of a body [`is_compressible`] tries to compress to judge it.
pub(crate) const PROBE: usize = 64 * 1024;

/// Whether a record whose body starts where `body` stands is worth deflating: not when a fast
/// compression of its first [`PROBE`] bytes saves less than a tenth. Most captures of size are
/// PDFs, images and archives, already compressed: deflating them again costs a core at a few
/// dozen MB/s and saves nothing, so they go into stored blocks.
fn is_compressible(body: &mut (impl Read + Seek), body_len: u64, buf: &mut [u8]) -> io::Result<bool> {
    if body_len < PROBE as u64 {
        return Ok(true);
    }
    let start = body.stream_position()?;
    let mut sample = Vec::with_capacity(PROBE);
    while sample.len() < PROBE {
        let want = (PROBE - sample.len()).min(buf.len());
        let n = read_some(body, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        sample.extend_from_slice(&buf[..n]);
    }
    body.seek(SeekFrom::Start(start))?;
    is_compressible_sample(&sample)
}

/// Whether a body that starts with `sample` (its first [`PROBE`] bytes, or all of it) is worth
/// deflating: whether a fast compression saves at least a tenth. A sample whose bytes are
/// spread almost evenly ([`byte_entropy`] of at least [`NEAR_UNIFORM`] bits a byte) is not
/// deflated to find out: compressed and random bytes look like that, and deflating 64 KiB of
/// them cost a fifth of `archive`'s CPU on the wide web of issue #19 to learn what the count
/// already says.
pub(crate) fn is_compressible_sample(sample: &[u8]) -> io::Result<bool> {
    let sample = &sample[..sample.len().min(PROBE)];
    if byte_entropy(sample) >= NEAR_UNIFORM {
        return Ok(false);
    }
    let mut probe = flate2::write::DeflateEncoder::new(Vec::with_capacity(PROBE), Compression::fast());
    probe.write_all(sample)?;
    let compressed = probe.finish()?.len();
    Ok(compressed * 10 <= sample.len() * 9)
}

/// Bits per byte at or above which a sample is taken as incompressible without deflating it.
/// Huffman coding can save at most `(8 - H) / 8` of such bytes, under 1 %; only repeats could
/// save more, and bytes this evenly spread that also repeat within deflate's 32 KiB window are
/// rare outside made-up inputs (such a body is then stored, which costs room, not correctness).
/// Random bytes measure 7.997 over 64 KiB; JPEG, PNG, gzip and zip data 7.95 and up; text 4 to 5.
const NEAR_UNIFORM: f64 = 7.95;

/// The order-0 entropy of `bytes` in bits per byte (0 for no bytes): a histogram, one pass.
fn byte_entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// The entropy gate decides only for near-uniform bytes; anything less even is still
    /// judged by deflating it, so text and structured binaries keep being compressed.
    #[test]
    fn only_near_uniform_bytes_skip_the_deflate_probe() {
        let mut random = vec![0u8; PROBE];
        fastrand::Rng::with_seed(19).fill(&mut random);
        assert!(byte_entropy(&random) >= NEAR_UNIFORM, "{}", byte_entropy(&random));
        assert!(!is_compressible_sample(&random).unwrap());

        let text = "The Working Group on Enhanced Cooperation met in Geneva. ".repeat(1200);
        assert!(byte_entropy(text.as_bytes()) < 5.0);
        assert!(is_compressible_sample(text.as_bytes()).unwrap());

        // A 1 KiB random block repeated: random to look at, but its counts are those of 1 KiB
        // of random bytes (7.8 bits a byte), so the probe decides, and deflate finds the repeats.
        let block: Vec<u8> = random[..1024].to_vec();
        let repeated: Vec<u8> = block.iter().cycle().take(PROBE).copied().collect();
        assert!(byte_entropy(&repeated) < NEAR_UNIFORM, "{}", byte_entropy(&repeated));
        assert!(is_compressible_sample(&repeated).unwrap());
        assert_eq!(byte_entropy(&[]), 0.0);
    }

    #[test]
    fn incompressible_bodies_are_stored_and_text_is_deflated() {
        let write = |body: Vec<u8>| {
            let spec = RecordSpec::new(RecordType::Response, "2026-01-01T00:00:00Z".into(), "application/http");
            let mut out = Vec::new();
            let len = body.len() as u64;
            let (_, length) = write_record(
                &mut out,
                0,
                &spec,
                b"HTTP/1.1 200 OK\r\n\r\n",
                &mut Cursor::new(body),
                len,
                None,
            )
            .unwrap();
            length
        };
        let mut random = vec![0u8; 200 * 1024];
        fastrand::fill(&mut random);
        let stored = write(random);
        assert!(
            stored > 200 * 1024,
            "random bytes should be stored, not deflated: {stored}"
        );
        let text = b"<p>the same paragraph again</p>\n".repeat(8 * 1024);
        let text_len = text.len() as u64;
        assert!(write(text) < text_len / 10, "text should be deflated");
    }

    #[test]
    fn record_ids_are_v4_uuids() {
        let id = new_record_id();
        assert_eq!(id.len(), "<urn:uuid:>".len() + 36, "{id}");
        let uuid = id.strip_prefix("<urn:uuid:").unwrap().strip_suffix('>').unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'));
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(id, new_record_id());
    }

    #[test]
    fn dates_are_rfc3339_seconds_utc() {
        let t = DateTime::from_timestamp(1_767_232_984, 123_456_789).unwrap();
        assert_eq!(warc_date(t), "2026-01-01T02:03:04Z");
        assert_eq!(timestamp14(t), "20260101020304");
    }

    #[test]
    fn response_head_drops_transfer_encoding_and_sanitizes() {
        let headers = vec![
            ("Content-Type".to_string(), b"text/html".to_vec()),
            ("transfer-encoding".to_string(), b"chunked".to_vec()),
            ("X-Evil".to_string(), b"a\r\nInjected: yes".to_vec()),
        ];
        let head = http_response_head("HTTP/2.0", 404, "Not Found", &headers);
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nX-Evil: a  Injected: yes\r\n\r\n"
        );
        let head = http_response_head("HTTP/1.0", 200, "OK", &[]);
        assert_eq!(head, b"HTTP/1.0 200 OK\r\n\r\n");
    }

    #[test]
    fn request_head_has_target_and_host() {
        let url = url::Url::parse("http://Example.com:8080/a%20b?q=1#frag").unwrap();
        let head = http_request_head("GET", &url, &[("Accept".into(), b"*/*".to_vec())]);
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "GET /a%20b?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n\r\n"
        );
        let url = url::Url::parse("https://example.com").unwrap();
        let head = http_request_head("GET", &url, &[("host".into(), b"other".to_vec())]);
        assert_eq!(head, b"GET / HTTP/1.1\r\nhost: other\r\n\r\n");
    }

    #[test]
    fn warcinfo_starts_with_the_standard_fields() {
        let fields = warcinfo_fields("linkkeep/0.1.0", &[("operator", "me".into())]);
        assert_eq!(
            String::from_utf8(fields).unwrap(),
            "software: linkkeep/0.1.0\r\nformat: WARC File Format 1.1\r\n\
             conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
             operator: me\r\n"
        );
    }

    fn spec() -> RecordSpec {
        RecordSpec::new(
            RecordType::Response,
            "2026-01-01T00:00:00Z".into(),
            "application/http; msgtype=response",
        )
    }

    #[test]
    fn body_length_must_match() {
        let mut out = Vec::new();
        let err = write_record(&mut out, 0, &spec(), b"", &mut Cursor::new(b"abc"), 4, None).unwrap_err();
        assert!(
            matches!(
                err,
                WarcError::BodyLength {
                    expected: 4,
                    actual: 3,
                    more: false
                }
            ),
            "{err}"
        );
        let err = write_record(&mut out, 0, &spec(), b"", &mut Cursor::new(b"abc"), 2, None).unwrap_err();
        assert!(matches!(err, WarcError::BodyLength { more: true, .. }), "{err}");
        // A digest the caller computed while the bytes arrived is trusted as it is (hashing the
        // body once more would cost a full pass over every large capture); a wrong one is
        // written, and the reader is what catches it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrong.warc.gz");
        let mut file = std::fs::File::create(&path).unwrap();
        write_record(&mut file, 0, &spec(), b"", &mut Cursor::new(b"abc"), 3, Some([0u8; 32])).unwrap();
        drop(file);
        let check = crate::warc::check_warc(&path).unwrap();
        assert!(
            check.problems.iter().any(|p| p.contains("digest")),
            "{:?}",
            check.problems
        );
    }

    #[test]
    fn body_is_read_from_its_current_position_and_header_fields_are_checked() {
        let mut body = Cursor::new(b"skipBODY".to_vec());
        body.set_position(4);
        let mut out = Vec::new();
        let (offset, length) = write_record(&mut out, 10, &spec(), b"H\r\n\r\n", &mut body, 4, None).unwrap();
        assert_eq!((offset, length), (10, out.len() as u64));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.ends_with("\r\n\r\nH\r\n\r\nBODY\r\n\r\n"), "{text}");
        assert!(text.contains(&format!(
            "WARC-Payload-Digest: {}\r\n",
            sha256_label(&Sha256::digest(b"BODY").into())
        )));

        let mut bad = spec();
        bad.target_uri = Some("http://x/\r\nWARC-Type: evil".into());
        let err = write_record(&mut Vec::new(), 0, &bad, b"", &mut Cursor::new(b""), 0, None).unwrap_err();
        assert!(matches!(err, WarcError::InvalidField { .. }));
    }
}
