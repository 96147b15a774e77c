//! Our own WARC validator: walks a `.warc.gz` member by member and reports truncation, digest
//! mismatches, bad headers and trailing garbage, for `linkkeep verify`.
//!
//! Why not trust the community tools alone: a file cut inside its first record looks to them
//! like an empty or unreadable file rather than a damaged one, and a run killed mid-write is
//! exactly what we need to notice. Everything is streamed; memory stays flat whatever the size
//! of a record, and no input, however broken, makes this panic.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};

use super::digest::{ParsedDigest, parse_labelled, sha256_label};

/// Longest header line we accept, so garbage without newlines cannot exhaust memory.
const MAX_LINE: usize = 64 * 1024;
/// Longest WARC header we accept.
const MAX_HEADER: usize = 1024 * 1024;
/// How much of an HTTP head we keep to look for `Transfer-Encoding`.
const MAX_HTTP_HEAD: usize = 256 * 1024;
/// Read buffer for the file.
const READ_BUFFER: usize = 64 * 1024;

/// One complete, readable record of a WARC file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    /// Where the record's gzip member starts in the file (the record itself for plain WARCs).
    pub offset: u64,
    /// The member's compressed length (the record's length for plain WARCs).
    pub length: u64,
    /// `WARC-Type`.
    pub record_type: String,
    /// `WARC-Target-URI`.
    pub target_uri: Option<String>,
    /// `WARC-Record-ID`.
    pub record_id: String,
    /// `WARC-Date`.
    pub date: String,
    /// `WARC-Payload-Digest` as written.
    pub payload_digest: Option<String>,
    /// `WARC-Block-Digest` as written.
    pub block_digest: Option<String>,
}

/// What [`check_warc`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarcCheck {
    /// Every record that could be read whole, in file order (including ones whose digests do
    /// not match: those are listed in `problems` as well).
    pub records: Vec<RecordInfo>,
    /// One human-readable line per problem, each naming the offset it concerns.
    pub problems: Vec<String>,
    /// Where the last gzip member starts when the file ends inside it: cut short, or still
    /// being written. Its problem is in `problems` too, unless [`WarcCheck::accept_cut_tail`]
    /// took it out.
    pub cut_tail: Option<u64>,
}

impl WarcCheck {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The offset a problem line concerns (every line starts `offset N:`).
    pub fn problem_offset(problem: &str) -> Option<u64> {
        problem.strip_prefix("offset ")?.split(':').next()?.parse().ok()
    }

    /// Takes the cut last member's problem out of `problems`, for a file whose run is still
    /// writing it (or was killed and not yet recovered), and returns where that member starts.
    /// Problems before it stay.
    pub fn accept_cut_tail(&mut self) -> Option<u64> {
        let tail = self.cut_tail?;
        self.problems.retain(|p| Self::problem_offset(p) != Some(tail));
        Some(tail)
    }

    /// Whether a whole, undamaged record starts at `offset`.
    pub fn record_intact_at(&self, offset: u64) -> bool {
        self.records.iter().any(|r| r.offset == offset)
            && !self.problems.iter().any(|p| Self::problem_offset(p) == Some(offset))
    }
}

/// A buffered reader over the file that counts consumed bytes (the compressed offset) and can
/// peek a few bytes ahead across buffer boundaries, which `BufReader` cannot.
struct Source<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    consumed: u64,
}

impl<R: Read> Source<R> {
    fn new(inner: R) -> Self {
        Source {
            inner,
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            consumed: 0,
        }
    }

    /// Up to `n` bytes ahead without consuming them (fewer only at the end of the file).
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < n {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(0) => break,
                    Ok(k) => self.end += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(&self.buf[self.start..self.end.min(self.start + n)])
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            loop {
                match self.inner.read(&mut self.buf) {
                    Ok(k) => {
                        self.end = k;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        let amount = amount.min(self.end - self.start);
        self.start += amount;
        self.consumed += amount as u64;
    }
}

/// Why a record could not be read whole.
enum Failure {
    /// The underlying stream failed: for gzip, a truncated or corrupt member.
    Io(io::Error),
    /// The stream ended cleanly in the middle of the record.
    Cut(String),
    /// The record header is not a WARC header we can follow.
    Bad(String),
    /// Nothing at all where a record should start.
    Empty,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// A record read to its end, with what was wrong inside it.
struct Parsed {
    info: RecordInfo,
    problems: Vec<String>,
}

enum Line {
    Complete,
    Eof,
    TooLong,
}

/// Reads one line (with its `\n`) into `out`, at most `limit` bytes.
fn read_line(r: &mut impl BufRead, out: &mut Vec<u8>, limit: usize) -> io::Result<Line> {
    out.clear();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(Line::Eof);
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if out.len() + take > limit {
            return Ok(Line::TooLong);
        }
        out.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            return Ok(Line::Complete);
        }
    }
}

/// De-chunks an HTTP/1.1 chunked body on the fly, hashing the decoded bytes.
struct Dechunker {
    state: Chunk,
    hasher: Sha256,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size { value: u64, digits: u32, ext: bool },
    Data(u64),
    DataEnd,
    Trailer { empty_line: bool },
    Done,
    Invalid,
}

impl Dechunker {
    fn new() -> Self {
        Dechunker {
            state: Chunk::Size {
                value: 0,
                digits: 0,
                ext: false,
            },
            hasher: Sha256::new(),
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.state {
                Chunk::Done | Chunk::Invalid => return,
                Chunk::Data(left) => {
                    let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    self.hasher.update(&data[..n]);
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = Chunk::DataEnd;
                    }
                    data = &data[n..];
                    continue;
                }
                Chunk::Size { value, digits, ext } => {
                    let b = data[0];
                    match b {
                        b'\n' if *digits == 0 => self.state = Chunk::Invalid,
                        b'\n' if *value == 0 => self.state = Chunk::Trailer { empty_line: true },
                        b'\n' => self.state = Chunk::Data(*value),
                        b'\r' => {}
                        _ if *ext => {}
                        b';' | b' ' | b'\t' => *ext = true,
                        _ => match (b as char).to_digit(16) {
                            Some(d) if *digits < 15 => {
                                *value = *value * 16 + u64::from(d);
                                *digits += 1;
                            }
                            _ => self.state = Chunk::Invalid,
                        },
                    }
                }
                Chunk::DataEnd => match data[0] {
                    b'\r' => {}
                    b'\n' => {
                        self.state = Chunk::Size {
                            value: 0,
                            digits: 0,
                            ext: false,
                        }
                    }
                    _ => self.state = Chunk::Invalid,
                },
                Chunk::Trailer { empty_line } => match data[0] {
                    b'\n' if *empty_line => self.state = Chunk::Done,
                    b'\n' => *empty_line = true,
                    b'\r' => {}
                    _ => *empty_line = false,
                },
            }
            data = &data[1..];
        }
    }

    /// The digest of the decoded body, if the chunked encoding was well-formed.
    fn finish(self) -> Option<[u8; 32]> {
        // A missing final CRLF after the last chunk is common enough to forgive.
        matches!(self.state, Chunk::Done | Chunk::Trailer { .. }).then(|| self.hasher.finalize().into())
    }
}

/// Finds the payload of an `application/http` block (what follows the head's blank line) and
/// hashes it both as stored and, when the head says `chunked`, de-chunked.
struct HttpPayload {
    head: Vec<u8>,
    window: u32,
    in_head: bool,
    raw: Sha256,
    dechunk: Option<Dechunker>,
}

impl HttpPayload {
    fn new() -> Self {
        HttpPayload {
            head: Vec::new(),
            window: 0,
            in_head: true,
            raw: Sha256::new(),
            dechunk: None,
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        if self.in_head {
            let mut used = 0;
            for &b in data {
                used += 1;
                if self.head.len() < MAX_HTTP_HEAD {
                    self.head.push(b);
                }
                self.window = (self.window << 8) | u32::from(b);
                // The head ends at its first empty line; bare LF line ends are tolerated, as
                // warcio's parser does.
                if self.window == 0x0d0a_0d0a || self.window & 0xffff == 0x0a0a {
                    self.in_head = false;
                    self.start_payload();
                    break;
                }
            }
            data = &data[used..];
        }
        if !self.in_head && !data.is_empty() {
            self.raw.update(data);
            if let Some(d) = &mut self.dechunk {
                d.feed(data);
            }
        }
    }

    fn start_payload(&mut self) {
        let chunked = self.head.split(|&b| b == b'\n').skip(1).any(|line| {
            let line = String::from_utf8_lossy(line);
            line.split_once(':').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().contains("chunked")
            })
        });
        if chunked {
            self.dechunk = Some(Dechunker::new());
        }
    }

    /// Digests the payload may legitimately be checked against.
    fn finish(self) -> ([u8; 32], Option<[u8; 32]>) {
        (self.raw.finalize().into(), self.dechunk.and_then(Dechunker::finish))
    }
}

/// The header fields of a record, in order, names as written.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Shortens untrusted text for a one-line message.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end();
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    format!("{out:?}")
}

/// Reads the WARC header up to its blank line.
fn read_header(r: &mut impl BufRead) -> Result<(String, Fields), Failure> {
    let mut line = Vec::new();
    match read_line(r, &mut line, MAX_LINE)? {
        Line::Complete => {}
        Line::Eof if line.is_empty() => return Err(Failure::Empty),
        Line::Eof => return Err(Failure::Cut("the file ends inside the record header".into())),
        Line::TooLong => return Err(Failure::Bad("no WARC version line".into())),
    }
    let version = String::from_utf8_lossy(&line).trim_end().to_string();
    if !version.starts_with("WARC/") {
        return Err(Failure::Bad(format!(
            "not a WARC record: first line {}",
            excerpt(&line)
        )));
    }

    let mut fields: Vec<(String, String)> = Vec::new();
    let mut total = line.len();
    loop {
        match read_line(r, &mut line, MAX_LINE)? {
            Line::Complete => {}
            Line::Eof => return Err(Failure::Cut("the record ends inside its header".into())),
            Line::TooLong => return Err(Failure::Bad("a header line is longer than 64 KiB".into())),
        }
        total += line.len();
        if total > MAX_HEADER {
            return Err(Failure::Bad("the record header is longer than 1 MiB".into()));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.starts_with([' ', '\t']) {
            // A folded continuation line (allowed by WARC 1.0, deprecated in 1.1).
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(text.trim());
                }
                None => return Err(Failure::Bad(format!("malformed header line {}", excerpt(&line)))),
            }
            continue;
        }
        match text.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                fields.push((name.trim().to_string(), value.trim().to_string()));
            }
            _ => return Err(Failure::Bad(format!("malformed header line {}", excerpt(&line)))),
        }
    }
    Ok((version, Fields(fields)))
}

/// Compares a digest header with what the bytes hash to; `None` when it cannot be checked.
fn digest_problem(what: &str, header: &str, actual: &[[u8; 32]]) -> Option<String> {
    match parse_labelled(header) {
        ParsedDigest::Sha256(expected) if actual.contains(&expected) => None,
        ParsedDigest::Sha256(_) => Some(format!(
            "{what} digest mismatch: header says {header}, content hashes to {}",
            sha256_label(&actual[0])
        )),
        ParsedDigest::OtherAlgorithm(_) => None,
        ParsedDigest::Malformed => Some(format!("unreadable {what} digest {header:?}")),
    }
}

/// Reads one record: header, exactly `Content-Length` bytes of block, and the `\r\n\r\n` after it.
fn read_record(r: &mut impl BufRead, offset: u64) -> Result<Parsed, Failure> {
    let (version, fields) = read_header(r)?;
    let mut problems = Vec::new();
    if version != "WARC/1.1" && version != "WARC/1.0" {
        problems.push(format!("unsupported version {version:?}"));
    }
    let length: u64 = match fields.get("Content-Length").map(|v| v.parse()) {
        Some(Ok(length)) => length,
        Some(Err(_)) => return Err(Failure::Bad("invalid Content-Length".into())),
        None => return Err(Failure::Bad("no Content-Length".into())),
    };
    for name in ["WARC-Type", "WARC-Record-ID", "WARC-Date"] {
        if fields.get(name).is_none_or(str::is_empty) {
            problems.push(format!("missing mandatory field {name}"));
        }
    }
    let record_type = fields.get("WARC-Type").unwrap_or_default().to_string();
    let content_type = fields.get("Content-Type").unwrap_or_default().to_ascii_lowercase();
    let payload_header = fields.get("WARC-Payload-Digest");

    // A revisit's payload digest is that of the record it refers to, not of its own block.
    let http = content_type.starts_with("application/http")
        && matches!(record_type.as_str(), "response" | "request" | "revisit");
    let check_payload = payload_header.is_some() && record_type != "revisit";
    let mut http_payload = (check_payload && http).then(HttpPayload::new);
    let mut whole_payload = (check_payload && !http).then(Sha256::new);

    let mut block = Sha256::new();
    let mut remaining = length;
    while remaining > 0 {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(Failure::Cut(format!(
                "the block ends after {} of its {length} bytes",
                length - remaining
            )));
        }
        let n = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let chunk = &buf[..n];
        block.update(chunk);
        if let Some(p) = &mut http_payload {
            p.feed(chunk);
        }
        if let Some(p) = &mut whole_payload {
            p.update(chunk);
        }
        r.consume(n);
        remaining -= n as u64;
    }

    let mut end = [0u8; 4];
    let mut got = 0;
    while got < end.len() {
        let n = r.read(&mut end[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got < end.len() {
        return Err(Failure::Cut("the record ends without its closing CRLF CRLF".into()));
    }
    if &end != b"\r\n\r\n" {
        problems.push(format!(
            "the block is not followed by CRLF CRLF (Content-Length wrong?), found {}",
            excerpt(&end)
        ));
    }

    let block_digest: [u8; 32] = block.finalize().into();
    if let Some(header) = fields.get("WARC-Block-Digest") {
        problems.extend(digest_problem("block", header, &[block_digest]));
    }
    if let Some(header) = payload_header {
        // WARC 1.1 defines the payload as the entity body, i.e. de-chunked, but warcio and many
        // crawlers hash the bytes as stored; either is accepted.
        let candidates: Vec<[u8; 32]> = match (http_payload, whole_payload) {
            (Some(p), _) => {
                let (raw, dechunked) = p.finish();
                std::iter::once(raw).chain(dechunked).collect()
            }
            (None, Some(h)) => vec![h.finalize().into()],
            (None, None) => Vec::new(),
        };
        if !candidates.is_empty() {
            problems.extend(digest_problem("payload", header, &candidates));
        }
    }

    let info = RecordInfo {
        offset,
        length: 0,
        record_type,
        target_uri: fields.get("WARC-Target-URI").map(str::to_string),
        record_id: fields.get("WARC-Record-ID").unwrap_or_default().to_string(),
        date: fields.get("WARC-Date").unwrap_or_default().to_string(),
        payload_digest: payload_header.map(str::to_string),
        block_digest: fields.get("WARC-Block-Digest").map(str::to_string),
    };
    Ok(Parsed { info, problems })
}

/// Names a record in a message: its type and id when known.
fn describe(info: &RecordInfo) -> String {
    format!("{} record {}", info.record_type, info.record_id)
}

/// The problem of a gzip member the file ends inside.
fn truncated(offset: u64) -> String {
    format!("offset {offset}: truncated: the file ends inside this gzip member")
}

/// Where the walk goes after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// On to the next member.
    Next,
    /// Nowhere: where the next record starts is unknown.
    Stop,
    /// Nowhere: the file ends inside this gzip member (the decoder ran out of input).
    CutTail,
}

impl Walk {
    /// After a failed read of a gzip member: a file that ends too early is a cut tail, any
    /// other error corrupt data.
    fn after(e: &io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Walk::CutTail
        } else {
            Walk::Stop
        }
    }
}

/// Turns a stream failure into a message about the member or record at `offset`.
fn io_problem(offset: u64, e: &io::Error, gzip: bool) -> String {
    match (gzip, e.kind()) {
        (true, io::ErrorKind::UnexpectedEof) => truncated(offset),
        (true, _) => format!("offset {offset}: corrupt gzip member: {e}"),
        (false, _) => format!("offset {offset}: read error: {e}"),
    }
}

/// Validates every record of the WARC file at `path`, one gzip member at a time.
///
/// Each member must hold exactly one record: a `WARC/1.x` header with `Content-Length`, that
/// many block bytes, and `\r\n\r\n`. `WARC-Block-Digest` is checked against the block and
/// `WARC-Payload-Digest` against the payload (for `application/http` records, what follows the
/// HTTP head, as stored or de-chunked; not for revisits, whose payload digest describes the
/// record they refer to). SHA-256 digests are checked; other algorithms are skipped silently.
/// Reported: members or records cut short (also inside the very first record), corrupt gzip
/// data, digest mismatches, malformed headers, duplicate record ids, extra bytes inside a member
/// and trailing garbage after the last one. A corrupt or truncated member ends the walk, since
/// where the next member starts is then unknown. Uncompressed `.warc` files are read too.
///
/// Errors are only for failing to open or read the file itself; everything wrong with its
/// content is in [`WarcCheck::problems`].
pub fn check_warc(path: &Path) -> io::Result<WarcCheck> {
    let file = File::open(path)?;
    let file_len = file.metadata()?.len();
    check_stream(file, file_len)
}

/// [`check_warc`] on the bytes of a WARC file held in memory.
pub fn check_warc_bytes(bytes: &[u8]) -> WarcCheck {
    check_stream(bytes, bytes.len() as u64).expect("reading from memory cannot fail")
}

/// [`check_warc`] on `file`, `file_len` bytes long (for messages).
fn check_stream(file: impl Read, file_len: u64) -> io::Result<WarcCheck> {
    let mut source = Source::new(file);
    let mut check = WarcCheck::default();
    let mut ids = HashSet::new();

    let first = source.peek(5)?.to_vec();
    // A lone first byte of the gzip magic is a gzip file cut (or written) that far.
    let gzip = first.starts_with(&[0x1f, 0x8b]) || first == [0x1f];
    if !gzip && !first.is_empty() && !first.starts_with(b"WARC/") {
        check.problems.push(format!(
            "offset 0: neither a gzip member nor a WARC record: starts with {}",
            excerpt(&first)
        ));
        return Ok(check);
    }

    loop {
        let offset = source.consumed;
        let next = source.peek(2)?;
        if next.is_empty() {
            break;
        }
        let expected: &[u8] = if gzip { &[0x1f, 0x8b] } else { b"WA" };
        if gzip && next == [0x1f] {
            // The file ends one byte into a member.
            check.problems.push(truncated(offset));
            check.cut_tail = Some(offset);
            break;
        }
        if next != expected {
            check.problems.push(format!(
                "offset {offset}: {} bytes of trailing garbage after the last record",
                file_len.saturating_sub(offset)
            ));
            break;
        }

        let (parsed, walk) = if gzip {
            read_member(&mut source, offset)
        } else {
            read_plain(&mut source, offset)
        };
        let end = source.consumed;
        let stop = walk != Walk::Next;
        if walk == Walk::CutTail {
            check.cut_tail = Some(offset);
        }
        match parsed {
            Ok(mut parsed) => {
                parsed.info.length = end - offset;
                let name = describe(&parsed.info);
                if !parsed.info.record_id.is_empty() && !ids.insert(parsed.info.record_id.clone()) {
                    parsed.problems.push("duplicate WARC-Record-ID".into());
                }
                for p in parsed.problems {
                    check.problems.push(format!("offset {offset}: {name}: {p}"));
                }
                if !stop {
                    check.records.push(parsed.info);
                }
            }
            Err(message) => check.problems.push(message),
        }
        if stop {
            break;
        }
    }
    Ok(check)
}

/// Reads one gzip member holding one record. Returns the record (or a message), and where the
/// walk goes next: on, or nowhere when the member's end is unknown.
fn read_member<R: Read>(source: &mut Source<R>, offset: u64) -> (Result<Parsed, String>, Walk) {
    let mut member = BufReader::with_capacity(READ_BUFFER, GzDecoder::new(&mut *source));
    let broken = |e: io::Error| (Err(io_problem(offset, &e, true)), Walk::after(&e));
    let result = read_record(&mut member, offset);
    let mut parsed = match result {
        Ok(parsed) => parsed,
        Err(Failure::Io(e)) => return broken(e),
        Err(Failure::Empty) => {
            // An empty member is harmless in itself, but no writer of ours produces one.
            return match io::copy(&mut member, &mut io::sink()) {
                Ok(_) => (
                    Err(format!("offset {offset}: a gzip member with no record in it")),
                    Walk::Next,
                ),
                Err(e) => broken(e),
            };
        }
        Err(Failure::Cut(what)) => {
            return match io::copy(&mut member, &mut io::sink()) {
                Ok(_) => (Err(format!("offset {offset}: record cut short: {what}")), Walk::Next),
                Err(e) => broken(e),
            };
        }
        Err(Failure::Bad(what)) => {
            // The member is self-delimiting, so the walk can go on after a bad header.
            return match io::copy(&mut member, &mut io::sink()) {
                Ok(_) => (Err(format!("offset {offset}: bad record header: {what}")), Walk::Next),
                Err(e) => broken(e),
            };
        }
    };
    // Reading to the member's end is what checks its CRC and length trailer.
    match io::copy(&mut member, &mut io::sink()) {
        Ok(0) => (Ok(parsed), Walk::Next),
        Ok(extra) => {
            parsed.problems.push(format!(
                "{extra} bytes of extra data after the record inside its gzip member"
            ));
            (Ok(parsed), Walk::Next)
        }
        Err(e) => {
            let name = describe(&parsed.info);
            // A trailer that does not match (a flipped bit in a stored block) is found only once
            // the member was read to its end: the next member starts right after it, so the
            // records there are still checked, not written off with this one.
            let trailer = e.to_string().contains("does not have a matching");
            drop(member);
            let walk = match source.peek(2) {
                Ok(next) if trailer && (next.is_empty() || next == [0x1f, 0x8b]) => Walk::Next,
                _ => Walk::after(&e),
            };
            (Err(format!("{} ({name})", io_problem(offset, &e, true))), walk)
        }
    }
}

/// Reads one record of an uncompressed WARC. Any failure stops the walk: without gzip framing
/// there is no telling where the next record starts.
fn read_plain<R: Read>(source: &mut Source<R>, offset: u64) -> (Result<Parsed, String>, Walk) {
    match read_record(source, offset) {
        Ok(parsed) => {
            let misaligned = parsed.problems.iter().any(|p| p.contains("CRLF CRLF"));
            (Ok(parsed), if misaligned { Walk::Stop } else { Walk::Next })
        }
        Err(Failure::Io(e)) => (Err(io_problem(offset, &e, false)), Walk::Stop),
        Err(Failure::Empty) => (Err(format!("offset {offset}: empty record")), Walk::Stop),
        Err(Failure::Cut(what)) => (Err(format!("offset {offset}: truncated: {what}")), Walk::Stop),
        Err(Failure::Bad(what)) => (Err(format!("offset {offset}: bad record header: {what}")), Walk::Stop),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use flate2::Compression;
    use flate2::read::MultiGzDecoder;
    use flate2::write::GzEncoder;

    use super::super::digest::{base32, sha256};
    use super::super::*;
    use super::*;

    const URL: &str = "http://www.apig.ch/Gaps%20r9%20clean.pdf";
    const BODY: &[u8] = b"%PDF-1.4 pretend this is the document\n";

    /// What one written record looked like, for comparing with what the checker reads back.
    struct Written {
        kind: RecordType,
        offset: u64,
        length: u64,
        block: Vec<u8>,
        body: Vec<u8>,
    }

    /// Appends one record to `out`, checking the returned offset.
    fn append(out: &mut Vec<u8>, spec: &RecordSpec, head: &[u8], body: &[u8], precomputed: bool) -> Written {
        let start = out.len() as u64;
        let digest = precomputed.then(|| sha256(&[head, body].concat()));
        let (offset, length) = write_record(
            out,
            start,
            spec,
            head,
            &mut Cursor::new(body),
            body.len() as u64,
            digest,
        )
        .unwrap();
        assert_eq!(offset, start);
        assert_eq!(start + length, out.len() as u64);
        Written {
            kind: spec.kind,
            offset,
            length,
            block: [head, body].concat(),
            body: body.to_vec(),
        }
    }

    /// A warcinfo, a request, a response and a revisit of it, as one run would write them.
    fn sample() -> (Vec<u8>, Vec<Written>) {
        let date = warc_date(chrono::DateTime::from_timestamp(1_767_232_984, 0).unwrap());
        let mut out = Vec::new();
        let mut written = Vec::new();

        let mut info = RecordSpec::new(RecordType::Warcinfo, date.clone(), CONTENT_TYPE_WARC_FIELDS);
        info.extra.push(("WARC-Filename".into(), "sample.warc.gz".into()));
        let fields = warcinfo_fields("linkkeep/0.1.0", &[("isPartOf", "test-run".to_string())]);
        written.push(append(&mut out, &info, &fields, b"", false));

        let mut response = RecordSpec::new(RecordType::Response, date.clone(), CONTENT_TYPE_HTTP_RESPONSE);
        response.target_uri = Some(URL.into());
        response.warcinfo_id = Some(info.record_id.clone());
        response.extra.push(("WARC-IP-Address".into(), "127.0.0.1".into()));

        let url = url::Url::parse(URL).unwrap();
        let mut request = RecordSpec::new(RecordType::Request, date.clone(), CONTENT_TYPE_HTTP_REQUEST);
        request.target_uri = Some(URL.into());
        request.warcinfo_id = Some(info.record_id.clone());
        request.concurrent_to = Some(response.record_id.clone());
        let head = http_request_head("GET", &url, &[("User-Agent".into(), b"linkkeep/0.1.0".to_vec())]);
        written.push(append(&mut out, &request, &head, b"", false));

        let headers = vec![
            ("Content-Type".to_string(), b"application/pdf".to_vec()),
            ("Content-Length".to_string(), BODY.len().to_string().into_bytes()),
            ("Transfer-Encoding".to_string(), b"chunked".to_vec()),
        ];
        let head = http_response_head("HTTP/1.1", 200, "OK", &headers);
        written.push(append(&mut out, &response, &head, BODY, false));

        let mut revisit = RecordSpec::new(RecordType::Revisit, date.clone(), CONTENT_TYPE_HTTP_RESPONSE);
        revisit.target_uri = Some(URL.into());
        revisit.profile = Some(PROFILE_IDENTICAL_PAYLOAD_DIGEST.into());
        revisit.refers_to = Some(response.record_id.clone());
        revisit.refers_to_target_uri = Some(URL.into());
        revisit.refers_to_date = Some(date);
        revisit.payload_digest = Some(sha256_label(&sha256(BODY)));
        let head = http_response_head("HTTP/2.0", 200, "OK", &headers[..1]);
        written.push(append(&mut out, &revisit, &head, b"", true));

        (out, written)
    }

    fn check_bytes(bytes: &[u8]) -> WarcCheck {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.warc.gz");
        std::fs::write(&path, bytes).unwrap();
        let check = check_warc(&path).unwrap();
        assert_eq!(check_warc_bytes(bytes), check, "a file and its bytes read alike");
        check
    }

    /// The first bytes of the record whose gzip member starts at `offset`.
    fn member_start(file: &[u8], offset: u64) -> Vec<u8> {
        let mut text = Vec::new();
        let mut decoder = flate2::read::GzDecoder::new(&file[offset as usize..]);
        decoder.read_to_end(&mut text).unwrap();
        text
    }

    #[test]
    fn written_records_read_back_clean() {
        let (file, written) = sample();
        let check = check_bytes(&file);
        assert_eq!(check.problems, Vec::<String>::new());
        assert_eq!(check.records.len(), 4);
        for (record, w) in check.records.iter().zip(&written) {
            assert_eq!(record.record_type, w.kind.as_str());
            assert_eq!((record.offset, record.length), (w.offset, w.length));
            let text = member_start(&file, w.offset);
            assert!(
                text.starts_with(b"WARC/1.1\r\n"),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            assert!(text.ends_with(b"\r\n\r\n"));
        }
        assert_eq!(check.records[2].target_uri.as_deref(), Some(URL));
        assert!(check.records.iter().all(|r| r.record_id.starts_with("<urn:uuid:")));
    }

    #[test]
    fn digests_match_independent_computation() {
        let (file, written) = sample();
        let check = check_bytes(&file);
        for (record, w) in check.records.iter().zip(&written) {
            let block = format!("sha256:{}", base32(&sha256(&w.block)));
            assert_eq!(record.block_digest.as_deref(), Some(block.as_str()));
        }
        let payload = format!("sha256:{}", base32(&sha256(BODY)));
        let response = &check.records[2];
        assert_eq!(response.payload_digest.as_deref(), Some(payload.as_str()));
        assert_eq!(written[2].body, BODY);
        // The revisit carries the payload digest of the response it refers to.
        assert_eq!(check.records[3].payload_digest.as_deref(), Some(payload.as_str()));
        // The stored head is de-chunked and HTTP/1.x, whatever the response said.
        let text = String::from_utf8(member_start(&file, written[2].offset)).unwrap();
        assert!(!text.to_ascii_lowercase().contains("transfer-encoding"));
        assert!(String::from_utf8_lossy(&member_start(&file, written[3].offset)).contains("HTTP/1.1 200 OK\r\n"));
        let length = format!("Content-Length: {}\r\n", written[2].block.len());
        assert!(text.contains(&length), "{text}");
    }

    /// Recompresses the member at `index` after changing its uncompressed text.
    fn tamper(file: &[u8], written: &[Written], index: usize, change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let w = &written[index];
        let mut text = member_start(file, w.offset);
        change(&mut text);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&text).unwrap();
        let member = gz.finish().unwrap();
        let (start, end) = (w.offset as usize, (w.offset + w.length) as usize);
        [&file[..start], &member[..], &file[end..]].concat()
    }

    #[test]
    fn flipped_payload_byte_is_reported() {
        let (file, written) = sample();
        let bad = tamper(&file, &written, 2, |text| {
            let at = text.len() - 4 - 3;
            text[at] ^= 0x20;
        });
        let check = check_bytes(&bad);
        let offset = format!("offset {}:", written[2].offset);
        assert_eq!(check.problems.len(), 2, "{:?}", check.problems);
        assert!(check.problems.iter().all(|p| p.starts_with(&offset)));
        assert!(check.problems[0].contains("block digest mismatch"));
        assert!(check.problems[1].contains("payload digest mismatch"));
        // The damaged record is still listed, and so is everything after it.
        assert_eq!(check.records.len(), 4);
    }

    /// Issue #13: a bit flipped in a stored block fails the member's CRC, found at its very end:
    /// the records after it are still read and checked.
    #[test]
    fn a_crc_mismatch_in_a_stored_member_does_not_hide_the_records_after_it() {
        let (file, written) = sample();
        let w = &written[2];
        let mut gz = GzEncoder::new(Vec::new(), Compression::none());
        gz.write_all(&member_start(&file, w.offset)).unwrap();
        let mut member = gz.finish().unwrap();
        let at = member.windows(BODY.len()).position(|win| win == BODY).unwrap();
        member[at + 3] ^= 0x01;
        let (start, end) = (w.offset as usize, (w.offset + w.length) as usize);
        let bad = [&file[..start], &member[..], &file[end..]].concat();

        let check = check_bytes(&bad);
        let offset = format!("offset {}:", w.offset);
        assert!(!check.problems.is_empty());
        assert!(
            check.problems.iter().all(|p| p.starts_with(&offset)),
            "{:?}",
            check.problems
        );
        assert!(
            check.problems.iter().any(|p| p.contains("checksum")),
            "{:?}",
            check.problems
        );
        let types: Vec<&str> = check.records.iter().map(|r| r.record_type.as_str()).collect();
        assert_eq!(types, ["warcinfo", "request", "revisit"]);
        assert_eq!(check.cut_tail, None);
    }

    #[test]
    fn flipped_compressed_byte_is_reported() {
        let (file, written) = sample();
        let mut bad = file.clone();
        // The member's first deflate byte: flipped, its block type becomes the reserved 11, so
        // the member cannot be inflated at all (a flip further in may leave it inflatable with
        // only its CRC wrong, which the walk reports and reads past).
        let at = (written[2].offset + 10) as usize;
        bad[at] ^= 0xff;
        let check = check_bytes(&bad);
        assert!(!check.problems.is_empty());
        assert!(check.problems[0].starts_with(&format!("offset {}:", written[2].offset)));
        assert_eq!(check.records.len(), 2);
    }

    #[test]
    fn file_cut_inside_first_record_is_reported() {
        let (file, written) = sample();
        for cut in [1, 10, written[0].length as usize / 2, written[0].length as usize - 1] {
            let check = check_bytes(&file[..cut]);
            assert!(check.records.is_empty(), "cut at {cut}");
            assert_eq!(check.problems.len(), 1, "cut at {cut}: {:?}", check.problems);
            assert!(check.problems[0].starts_with("offset 0:"), "{:?}", check.problems);
        }
    }

    #[test]
    fn file_cut_between_records_keeps_earlier_ones() {
        let (file, written) = sample();
        let cut = (written[2].offset + written[2].length - 5) as usize;
        let check = check_bytes(&file[..cut]);
        assert_eq!(check.records.len(), 2);
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert!(check.problems[0].starts_with(&format!("offset {}: truncated", written[2].offset)));

        // A cut exactly at a member boundary leaves a shorter but valid file.
        let check = check_bytes(&file[..written[2].offset as usize]);
        assert!(check.is_ok());
        assert_eq!(check.records.len(), 2);
    }

    #[test]
    fn every_cut_point_is_either_a_boundary_or_reported() {
        let (file, written) = sample();
        let boundaries: Vec<usize> = written.iter().map(|w| w.offset as usize).collect();
        for cut in 1..file.len() {
            let check = check_bytes(&file[..cut]);
            assert_eq!(
                check.is_ok(),
                boundaries.contains(&cut),
                "cut at {cut}: {:?}",
                check.problems
            );
        }
    }

    /// A file still being written ends inside its last member at any byte: that member, and
    /// only it, is the cut tail (issue #12).
    #[test]
    fn every_cut_inside_a_member_is_a_cut_tail_at_that_member() {
        let (file, written) = sample();
        for cut in 1..file.len() {
            let mut check = check_bytes(&file[..cut]);
            let inside = written
                .iter()
                .find(|w| w.offset < cut as u64 && (cut as u64) < w.offset + w.length)
                .map(|w| w.offset);
            assert_eq!(check.cut_tail, inside, "cut at {cut}: {:?}", check.problems);
            assert_eq!(check.accept_cut_tail(), inside);
            assert!(check.is_ok(), "cut at {cut}: {:?}", check.problems);
            let whole = written.iter().filter(|w| w.offset + w.length <= cut as u64).count();
            assert_eq!(check.records.len(), whole, "cut at {cut}");
        }
    }

    #[test]
    fn damage_before_a_cut_tail_is_still_a_problem() {
        let (file, written) = sample();
        let bad = tamper(&file, &written, 1, |text| text[..8].copy_from_slice(b"XARC/1.1"));
        let cut = bad.len() - 10;
        let mut check = check_bytes(&bad[..cut]);
        // The tampered member is recompressed, and its length may change: the last member
        // starts where its own length before the end says.
        let last = bad.len() as u64 - written[3].length;
        assert_eq!(check.cut_tail, Some(last));
        assert_eq!(check.accept_cut_tail(), Some(last));
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert!(check.problems[0].starts_with(&format!("offset {}: bad record header", written[1].offset)));

        // Damage inside the last member is not a cut: its CRC fails with the whole file there.
        let mut bad = file.clone();
        let at = (written[3].offset + written[3].length / 2) as usize;
        bad[at] ^= 0xff;
        let check = check_bytes(&bad);
        assert!(!check.is_ok());
        assert_eq!(check.cut_tail, None, "{:?}", check.problems);
    }

    #[test]
    fn trailing_garbage_is_reported() {
        let (mut file, _) = sample();
        let len = file.len();
        file.extend_from_slice(b"\0\0garbage");
        let check = check_bytes(&file);
        assert_eq!(check.records.len(), 4);
        assert_eq!(
            check.problems,
            vec![format!(
                "offset {len}: 9 bytes of trailing garbage after the last record"
            )]
        );
    }

    #[test]
    fn bad_header_in_one_member_does_not_hide_the_others() {
        let (file, written) = sample();
        let bad = tamper(&file, &written, 1, |text| text[..8].copy_from_slice(b"XARC/1.1"));
        let check = check_bytes(&bad);
        assert_eq!(check.records.len(), 3);
        assert_eq!(check.problems.len(), 1);
        assert!(check.problems[0].contains("bad record header"), "{:?}", check.problems);
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = fastrand::Rng::with_seed(7);
        let (file, _) = sample();
        for _ in 0..300 {
            let mut bytes = file.clone();
            for _ in 0..rng.usize(1..8) {
                let at = rng.usize(..bytes.len());
                bytes[at] = rng.u8(..);
            }
            bytes.truncate(rng.usize(1..=bytes.len()));
            let _ = check_bytes(&bytes);
        }
        for len in [0, 1, 2, 5, 100] {
            let noise: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(len).collect();
            let check = check_bytes(&noise);
            assert_eq!(check.is_ok(), len == 0);
        }
    }

    #[test]
    fn chunked_payload_digest_is_accepted_raw_or_dechunked() {
        let chunked = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for digest in [sha256(b"hello world"), sha256(chunked)] {
            let mut spec = RecordSpec::new(
                RecordType::Response,
                "2026-01-01T00:00:00Z".into(),
                CONTENT_TYPE_HTTP_RESPONSE,
            );
            spec.target_uri = Some("http://example.com/".into());
            spec.payload_digest = Some(sha256_label(&digest));
            let mut out = Vec::new();
            append(&mut out, &spec, head, chunked, false);
            assert!(check_bytes(&out).is_ok());
        }
        let mut spec = RecordSpec::new(
            RecordType::Response,
            "2026-01-01T00:00:00Z".into(),
            CONTENT_TYPE_HTTP_RESPONSE,
        );
        spec.payload_digest = Some(sha256_label(&sha256(b"hello")));
        let mut out = Vec::new();
        append(&mut out, &spec, head, chunked, false);
        assert!(check_bytes(&out).problems[0].contains("payload digest mismatch"));
    }

    #[test]
    fn uncompressed_warc_is_read_too() {
        let (file, written) = sample();
        let mut plain = Vec::new();
        MultiGzDecoder::new(&file[..]).read_to_end(&mut plain).unwrap();
        let check = check_bytes(&plain);
        assert!(check.is_ok(), "{:?}", check.problems);
        assert_eq!(check.records.len(), written.len());
        assert_eq!(check.records[1].offset, check.records[0].length);
        let check = check_bytes(&plain[..plain.len() - 3]);
        assert_eq!(check.records.len(), 3);
        assert_eq!(check.problems.len(), 1);
    }

    /// Writes the sample to the temp directory for checking with the community tools:
    /// `cargo test --lib warc::reader::tests::sample_for_external_tools -- --ignored`, then
    /// `warcio check -v` and `warcio index` on the printed path.
    #[test]
    #[ignore = "writes outside a scratch directory; run by hand"]
    fn sample_for_external_tools() {
        let (file, _) = sample();
        let path = std::env::temp_dir().join("linkkeep-sample.warc.gz");
        std::fs::write(&path, &file).unwrap();
        println!("{}", path.display());
        // The index lines we would write, to compare with `cdx-indexer --cdxj`.
        for record in check_warc(&path).unwrap().records.iter().skip(2) {
            let entry = CdxjEntry {
                url: record.target_uri.clone().unwrap(),
                timestamp: record.date.chars().filter(char::is_ascii_digit).collect(),
                digest: record.payload_digest.clone().unwrap(),
                mime: "application/pdf".into(),
                status: "200".into(),
                filename: "linkkeep-sample.warc.gz".into(),
                offset: record.offset,
                length: record.length,
                record_type: Some(record.record_type.clone()).filter(|t| t == "revisit"),
            };
            println!("{}", cdxj_line(&entry));
        }
    }
}
