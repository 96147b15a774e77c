//! Reading a snapshot's payload back: from the WARC response record the snapshot names (the
//! body as received, its `Content-Encoding` removed on the fly), or, in archives of 0.1.0, from
//! its `objects/sha256/…` file. `get`, `serve`, `verify`, `export` and `repair` all read
//! payloads through [`open`], so each holds one rule for where the bytes are.
//!
//! Nothing here trusts the manifest with a path: a WARC file name must be a plain name under
//! `warc/`, and an object path is derived from the snapshot's hash alone.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use crate::manifest::Snapshot;
use crate::store::{hex, is_sha256_hex, object_rel_path};
use crate::warc::run::WARC_DIR;

/// The longest WARC header read before a record is called damaged.
const MAX_WARC_HEADER: u64 = 1024 * 1024;
/// Read buffer over the WARC file.
const READ_BUFFER: usize = 64 * 1024;

/// Where a snapshot's payload is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// A response (or resource) record: `file` relative to the archive, the gzip member at
    /// `offset`, `length` bytes long.
    Record { file: String, offset: u64, length: u64 },
    /// An object file of 0.1.0, relative to the archive.
    Object(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Record { file, offset, .. } => write!(f, "{file} at offset {offset}"),
            Self::Object(object) => f.write_str(object),
        }
    }
}

/// Why a payload cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The snapshot names no record and no object.
    #[error("the snapshot names no WARC record that holds its payload")]
    NoLocation,
    /// The file the snapshot names is not there.
    #[error("{0} is missing")]
    Missing(String),
    /// The file is there but does not hold a readable payload where the snapshot says.
    #[error("{location}: {why}")]
    Damaged { location: String, why: String },
    /// Reading failed.
    #[error("cannot read {location}")]
    Io {
        location: String,
        #[source]
        source: io::Error,
    },
    /// Writing the payload where it was asked for failed ([`Payload::copy_to`]).
    #[error("cannot write the payload")]
    Write(#[source] io::Error),
}

impl PayloadError {
    fn damaged(location: &Location, why: impl Into<String>) -> Self {
        Self::Damaged {
            location: location.to_string(),
            why: why.into(),
        }
    }
}

/// Where `snapshot`'s payload is: its 0.1.0 object while it names one, else its record.
pub fn location(snapshot: &Snapshot) -> Option<Location> {
    if snapshot.object.is_some() && is_sha256_hex(&snapshot.sha256) {
        // Derived from the hash, not taken from the field: no manifest chooses a local path.
        return Some(Location::Object(object_rel_path(&snapshot.sha256)));
    }
    record_location(snapshot)
}

/// The response (or resource) record `snapshot` names, whether or not it also names an object.
fn record_location(snapshot: &Snapshot) -> Option<Location> {
    let record = snapshot.warc_record.as_ref()?;
    Some(Location::Record {
        file: snapshot.warc.clone()?,
        offset: record.offset,
        length: record.length,
    })
}

/// The path of a WARC file named in a manifest or index, if it is a plain file name under
/// `warc/` (with or without that prefix): nothing else is ever opened.
pub fn warc_path(archive: &Path, file: &str) -> Option<PathBuf> {
    let name = file.strip_prefix(&format!("{WARC_DIR}/")).unwrap_or(file);
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && (name.ends_with(".warc.gz") || name.ends_with(".warc"));
    let path = plain.then(|| archive.join(WARC_DIR).join(name))?;
    // An archive in object storage: fetched into the working copy when first read.
    if crate::storage::remote().is_some() && !path.exists() {
        crate::storage::fetch_warc(&format!("{WARC_DIR}/{name}"));
    }
    Some(path)
}

/// A payload being read: the decoded bytes of a record's body, or an object file, hashed on
/// the way. At most the snapshot's `size` bytes plus one come out, so a damaged record cannot
/// make a reader inflate without end. The end of the payload is only reported (`Ok(0)`) when
/// the bytes read were the recorded size and SHA-256; otherwise the last read fails, so no
/// consumer (a file being written, a replayed response) takes damaged bytes for a whole payload.
pub struct Payload {
    reader: Box<dyn Read + Send>,
    location: Location,
    hasher: Sha256,
    read: u64,
    expected_size: u64,
    expected_sha256: String,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("location", &self.location)
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl Read for Payload {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.reader.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return Err(self.as_io(self.read_error(e))),
        };
        if n == 0 && !buf.is_empty() {
            return match self.check_end() {
                Ok(()) => Ok(0),
                Err(damage) => Err(self.as_io(damage)),
            };
        }
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if self.read > self.expected_size {
            let damage = PayloadError::damaged(
                &self.location,
                format!("holds more than the {} bytes recorded", self.expected_size),
            );
            return Err(self.as_io(damage));
        }
        Ok(n)
    }
}

impl Payload {
    /// Where the bytes come from.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The payload's size as recorded: how many bytes a whole read yields.
    pub fn size(&self) -> u64 {
        self.expected_size
    }

    /// Reads what is left and checks the whole: an error unless the bytes were the recorded
    /// size and hash.
    pub fn finish(self) -> Result<(), PayloadError> {
        self.copy_to(&mut io::sink()).map(|_| ())
    }

    /// Reads the rest into `out`; an error unless the whole payload was the recorded size and
    /// hash (the bytes already written are then not the payload). Returns the bytes written.
    pub fn copy_to(mut self, out: &mut impl io::Write) -> Result<u64, PayloadError> {
        let mut buf = vec![0; READ_BUFFER];
        let mut copied = 0;
        loop {
            let n = match self.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.error_from(e)),
            };
            out.write_all(&buf[..n]).map_err(PayloadError::Write)?;
            copied += n as u64;
        }
        out.flush().map_err(PayloadError::Write)?;
        Ok(copied)
    }

    /// Turns an error of [`Read::read`] on a payload back into what went wrong.
    pub fn error_from(&self, e: io::Error) -> PayloadError {
        if e.get_ref().is_some_and(|inner| inner.is::<PayloadError>()) {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<PayloadError>().expect("checked above");
        }
        self.read_error(e)
    }

    /// The error for a failed read of the underlying file or decoder: the data cannot be
    /// decoded (damaged), or the file cannot be read (I/O).
    fn read_error(&self, e: io::Error) -> PayloadError {
        match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
                PayloadError::damaged(&self.location, format!("cannot be decoded: {e}"))
            }
            _ => PayloadError::Io {
                location: self.location.to_string(),
                source: e,
            },
        }
    }

    /// Wraps `error` into an `io::Error` that [`Payload::error_from`] unwraps again.
    fn as_io(&self, error: PayloadError) -> io::Error {
        let kind = match &error {
            PayloadError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, error)
    }

    /// At the end of the payload: whether it was the recorded size and hash.
    fn check_end(&self) -> Result<(), PayloadError> {
        let sha256 = hex(&self.hasher.clone().finalize());
        if self.read != self.expected_size || sha256 != self.expected_sha256 {
            return Err(PayloadError::damaged(
                &self.location,
                format!(
                    "holds {} bytes with SHA-256 {sha256}, not the {} bytes with SHA-256 {} recorded",
                    self.read, self.expected_size, self.expected_sha256
                ),
            ));
        }
        Ok(())
    }
}

/// Opens `snapshot`'s payload in `archive`. Blocking.
///
/// A snapshot of 0.1.0 whose object file is gone is read from its WARC record when it names
/// one: that record holds the same payload (as received), so the capture is not lost.
pub fn open(archive: &Path, snapshot: &Snapshot) -> Result<Payload, PayloadError> {
    let location = location(snapshot).ok_or(PayloadError::NoLocation)?;
    let (reader, location) = match open_at(archive, &location) {
        Err(PayloadError::Missing(missing)) if matches!(location, Location::Object(_)) => {
            let Some(record) = record_location(snapshot) else {
                return Err(PayloadError::Missing(missing));
            };
            (open_at(archive, &record)?, record)
        }
        opened => (opened?, location),
    };
    Ok(Payload {
        reader,
        location,
        hasher: Sha256::new(),
        read: 0,
        expected_size: snapshot.size,
        expected_sha256: snapshot.sha256.clone(),
    })
}

/// A reader of the (decoded) payload at `location`.
fn open_at(archive: &Path, location: &Location) -> Result<Box<dyn Read + Send>, PayloadError> {
    Ok(match location {
        Location::Object(object) => Box::new(BufReader::with_capacity(
            READ_BUFFER,
            open_file(&archive.join(object), location)?,
        )),
        Location::Record { file, offset, length } => {
            let path = warc_path(archive, file)
                .ok_or_else(|| PayloadError::damaged(location, "is not a WARC file of the archive"))?;
            let (body, coding, _) = open_record_body(&path, *offset, *length, location)?;
            decoder(&coding, body).ok_or_else(|| {
                PayloadError::damaged(location, format!("the body has an unknown Content-Encoding {coding:?}"))
            })?
        }
    })
}

/// A response record read through: its identity and the SHA-256 of its body as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDigest {
    /// `WARC-Record-ID`.
    pub record_id: String,
    /// `WARC-Date`.
    pub date: String,
    /// SHA-256 of the body as received: what `WARC-Payload-Digest` says when it is intact.
    pub payload: [u8; 32],
}

/// The record at `offset` in WARC file `file` (relative to the archive): its location, for
/// messages, and its file's path, if `file` is a plain WARC file name under `warc/`.
fn record_at(archive: &Path, file: &str, offset: u64, length: u64) -> Result<(Location, PathBuf), PayloadError> {
    let location = Location::Record {
        file: file.to_owned(),
        offset,
        length,
    };
    let path = warc_path(archive, file)
        .ok_or_else(|| PayloadError::damaged(&location, "is not a WARC file of the archive"))?;
    Ok((location, path))
}

/// Reads the record at `offset` in WARC file `file` (relative to the archive) through and
/// hashes its body as received. Blocking.
pub fn record_payload_digest(
    archive: &Path,
    file: &str,
    offset: u64,
    length: u64,
) -> Result<RecordDigest, PayloadError> {
    let (location, path) = record_at(archive, file, offset, length)?;
    let (mut body, _, framing) = open_record_body(&path, offset, length, &location)?;
    let mut hasher = Sha256::new();
    io::copy(&mut body, &mut HashWriter(&mut hasher)).map_err(|e| PayloadError::damaged(&location, e.to_string()))?;
    Ok(RecordDigest {
        record_id: framing.record_id,
        date: framing.date,
        payload: hasher.finalize().into(),
    })
}

/// The most decoded bytes [`open_indexed`] reads to learn a record's payload: a record that
/// inflates past it is not replayed.
const MAX_INDEXED_PAYLOAD: u64 = 4 << 30;

/// Opens the payload of the response record an index line names (`file`, `offset`, `length`,
/// and `payload_digest`, the `WARC-Payload-Digest` of the body as received), for a capture no
/// manifest snapshot names (a page requisite). Returns it with the response's `Content-Type`.
/// Blocking.
///
/// The record is read twice: first through, to check its body against `payload_digest` and to
/// learn the decoded payload's size and SHA-256; then as a [`Payload`] holding those, which
/// checks them again as it is read, as every payload read is. Memory stays bounded either way.
pub fn open_indexed(
    archive: &Path,
    file: &str,
    offset: u64,
    length: u64,
    payload_digest: &str,
) -> Result<(Payload, Option<String>), PayloadError> {
    let (location, path) = record_at(archive, file, offset, length)?;
    let (body, coding, _, content_type) = open_record_body_typed(&path, offset, length, &location)?;
    let mut raw = Sha256::new();
    let hashed = BufReader::with_capacity(
        READ_BUFFER,
        HashReader {
            inner: body,
            hasher: &mut raw,
        },
    );
    let decoded = decoder(&coding, hashed).ok_or_else(|| {
        PayloadError::damaged(
            &location,
            format!("the body has an unknown Content-Encoding {coding:?}"),
        )
    })?;
    let mut payload = Sha256::new();
    let size = io::copy(
        &mut decoded.take(MAX_INDEXED_PAYLOAD + 1),
        &mut HashWriter(&mut payload),
    )
    .map_err(|e| PayloadError::damaged(&location, format!("cannot be decoded: {e}")))?;
    if size > MAX_INDEXED_PAYLOAD {
        return Err(PayloadError::damaged(&location, "inflates past 4 GiB"));
    }
    let received = crate::warc::sha256_label(&raw.finalize().into());
    if !payload_digest.eq_ignore_ascii_case(&received) {
        return Err(PayloadError::damaged(
            &location,
            format!("holds a body with digest {received}, not the {payload_digest} its index line names"),
        ));
    }
    let reader = open_at(archive, &location)?;
    let payload = Payload {
        reader,
        location,
        hasher: Sha256::new(),
        read: 0,
        expected_size: size,
        expected_sha256: hex(&payload.finalize()),
    };
    Ok((payload, content_type))
}

/// `WARC-Refers-To-Target-URI` and `WARC-Refers-To-Date` of the revisit record at `offset`:
/// where pywb looks for the record holding its payload. Blocking.
pub fn revisit_refers_to(
    archive: &Path,
    file: &str,
    offset: u64,
    length: u64,
) -> Result<(Option<String>, Option<String>), PayloadError> {
    let (location, path) = record_at(archive, file, offset, length)?;
    let file = open_file(&path, &location)?;
    let mut file = file;
    file.seek(SeekFrom::Start(offset)).map_err(|source| PayloadError::Io {
        location: location.to_string(),
        source,
    })?;
    let member = flate2::bufread::GzDecoder::new(BufReader::with_capacity(READ_BUFFER, file.take(length)));
    let mut header = BufReader::new(member).take(MAX_WARC_HEADER);
    let (mut uri, mut date) = (None, None);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = header
            .read_until(b'\n', &mut line)
            .map_err(|e| PayloadError::damaged(&location, format!("cannot read the record: {e}")))?;
        if read == 0 || line == b"\r\n" || line == b"\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some((name, value)) = text.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "warc-refers-to-target-uri" => uri = Some(value.trim().to_owned()),
                "warc-refers-to-date" => date = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    Ok((uri, date))
}

/// Feeds what is read through it to a hasher.
struct HashReader<'a, R> {
    inner: R,
    hasher: &'a mut Sha256,
}

impl<R: Read> Read for HashReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The longest HTTP head read back by [`record_http_head`]; heads we write are a few hundred bytes.
const MAX_HTTP_HEAD: u64 = 256 * 1024;

/// The HTTP head (status line, header fields, blank line) of the response record at `offset` in
/// WARC file `file` (relative to the archive), as recorded. Blocking.
pub fn record_http_head(archive: &Path, file: &str, offset: u64, length: u64) -> Result<Vec<u8>, PayloadError> {
    let (location, path) = record_at(archive, file, offset, length)?;
    let mut block = open_record_block(&path, offset, length, &location)?.0;
    let mut head = Vec::new();
    let mut limited = (&mut block).take(MAX_HTTP_HEAD);
    loop {
        let start = head.len();
        let read = limited
            .read_until(b'\n', &mut head)
            .map_err(|e| PayloadError::damaged(&location, format!("cannot read the HTTP head: {e}")))?;
        if read == 0 {
            return Err(PayloadError::damaged(&location, "the record's HTTP head never ends"));
        }
        if start > 0 && matches!(&head[start..], b"\r\n" | b"\n") {
            return Ok(head);
        }
    }
}

/// A response record's payload, decoded, and what its head says: how a page's requisites
/// are read back (a stylesheet's imports, the validators of the next conditional request).
pub struct RecordPayload {
    /// The payload, with any Content-Encoding removed. Not checked against a digest: the
    /// caller reads what the record holds.
    pub reader: Box<dyn Read + Send>,
    /// The response head's `ETag`, `Last-Modified` and `Content-Type`.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
}

/// Opens the response record at `offset` in WARC file `file` (relative to the archive, a plain
/// name under `warc/` only). Blocking.
pub fn open_response(archive: &Path, file: &str, offset: u64, length: u64) -> Result<RecordPayload, PayloadError> {
    let (location, path) = record_at(archive, file, offset, length)?;
    let (body, head, _) = open_record(&path, offset, length, &location)?;
    let header = |name: &str| head.as_ref().and_then(|head| head.header(name));
    let coding = header("content-encoding")
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let reader = decoder(&coding, body).ok_or_else(|| {
        PayloadError::damaged(
            &location,
            format!("the body has an unknown Content-Encoding {coding:?}"),
        )
    })?;
    Ok(RecordPayload {
        reader,
        etag: header("etag"),
        last_modified: header("last-modified"),
        content_type: header("content-type"),
    })
}

/// Feeds what is written to a hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `work` on every item on up to `threads` threads and returns the results in the order
/// of `items`. Threads take the next item as they finish one, so large and small payloads
/// balance across them. Blocking: call from a blocking context.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, items.len().max(1));
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, work(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut results: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (i, result) in done.into_iter().flatten() {
        results[i] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.expect("every item was taken by a thread"))
        .collect()
}

fn open_file(path: &Path, location: &Location) -> Result<File, PayloadError> {
    File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => PayloadError::Missing(location.to_string()),
        _ => PayloadError::Io {
            location: location.to_string(),
            source,
        },
    })
}

/// What a record's header and HTTP head say about its body.
#[derive(Debug, Default)]
struct BodyFraming {
    /// The record's `Content-Length`: the block's size.
    block_length: u64,
    /// `WARC-Record-ID` and `WARC-Date`.
    record_id: String,
    date: String,
    /// Whether the block is an HTTP message (a response record) or the payload alone (a
    /// resource record).
    http: bool,
}

/// A record's body as received.
type RecordBody = io::Take<BufReader<flate2::bufread::GzDecoder<BufReader<io::Take<File>>>>>;

/// Opens the record at `offset` and returns a reader of its block (for a response record, the
/// HTTP head, then the body as received) and what its WARC header says about it.
fn open_record_block(
    path: &Path,
    offset: u64,
    length: u64,
    location: &Location,
) -> Result<(RecordBody, BodyFraming), PayloadError> {
    let io_error = |source| PayloadError::Io {
        location: location.to_string(),
        source,
    };
    let mut file = open_file(path, location)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    if offset.checked_add(length).is_none_or(|end| end > file_len) {
        return Err(PayloadError::damaged(
            location,
            format!("the record would end past the end of the file ({file_len} bytes)"),
        ));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
    let member = flate2::bufread::GzDecoder::new(BufReader::with_capacity(READ_BUFFER, file.take(length)));
    let mut block = BufReader::with_capacity(READ_BUFFER, member);
    let framing = read_warc_header(&mut block).map_err(|why| PayloadError::damaged(location, why))?;
    Ok((block.take(framing.block_length), framing))
}

/// Opens the record at `offset` and returns a reader of its body as received, and the body's
/// Content-Encoding (empty for none).
fn open_record_body(
    path: &Path,
    offset: u64,
    length: u64,
    location: &Location,
) -> Result<(RecordBody, String, BodyFraming), PayloadError> {
    let (body, coding, framing, _) = open_record_body_typed(path, offset, length, location)?;
    Ok((body, coding, framing))
}

/// [`open_record_body`], and the response's `Content-Type` as text.
fn open_record_body_typed(
    path: &Path,
    offset: u64,
    length: u64,
    location: &Location,
) -> Result<(RecordBody, String, BodyFraming, Option<String>), PayloadError> {
    let (block, head, framing) = open_record(path, offset, length, location)?;
    let header = |name: &str| head.as_ref().and_then(|head| head.header(name));
    let coding = header("content-encoding")
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    Ok((block, coding, framing, header("content-type")))
}

/// The record at `offset`, read up to its body: the body as received, the HTTP head of a
/// response (or revisit) record, and the record's framing.
fn open_record(
    path: &Path,
    offset: u64,
    length: u64,
    location: &Location,
) -> Result<(RecordBody, Option<crate::warc::index::HttpHead>, BodyFraming), PayloadError> {
    let (mut block, framing) = open_record_block(path, offset, length, location)?;
    let mut http_head = None;
    if framing.http {
        let head = crate::warc::index::read_http_head(&mut block)
            .map_err(|e| PayloadError::damaged(location, format!("cannot read the HTTP head: {e}")))?
            .ok_or_else(|| PayloadError::damaged(location, "the record's HTTP head cannot be read"))?;
        if let Some(te) = head.header("transfer-encoding")
            && te.to_ascii_lowercase().contains("chunked")
        {
            return Err(PayloadError::damaged(
                location,
                "the record's body is chunked, which linkkeep never writes",
            ));
        }
        http_head = Some(head);
    }
    Ok((block, http_head, framing))
}

/// Reads the WARC header up to its blank line: the block's length and kind.
fn read_warc_header(r: &mut impl BufRead) -> Result<BodyFraming, String> {
    let mut header = r.take(MAX_WARC_HEADER);
    let mut line = Vec::new();
    let read_line = |header: &mut io::Take<&mut _>, line: &mut Vec<u8>| {
        line.clear();
        header
            .read_until(b'\n', line)
            .map_err(|e| format!("cannot read the record: {e}"))
    };
    read_line(&mut header, &mut line)?;
    if !line.starts_with(b"WARC/") {
        return Err("no WARC record starts there".into());
    }
    let mut framing = BodyFraming::default();
    let mut kind = String::new();
    let mut length = None;
    loop {
        if read_line(&mut header, &mut line)? == 0 {
            return Err("the record's header never ends".into());
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let Some((name, value)) = text.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "warc-type" => kind = value.to_ascii_lowercase(),
            "warc-record-id" => framing.record_id = value.to_owned(),
            "warc-date" => framing.date = value.to_owned(),
            "content-length" => length = value.parse::<u64>().ok(),
            "content-type" => framing.http = value.to_ascii_lowercase().starts_with("application/http"),
            _ => {}
        }
    }
    framing.block_length = length.ok_or("the record has no valid Content-Length")?;
    match kind.as_str() {
        "response" if framing.http => Ok(framing),
        "resource" => Ok(BodyFraming { http: false, ..framing }),
        other => Err(format!("the record there is a {other:?} record, not a response")),
    }
}

/// A reader that removes `coding` from `body`, or `None` for a coding it cannot remove.
pub fn decoder<'a, R: BufRead + Send + 'a>(coding: &str, mut body: R) -> Option<Box<dyn Read + Send + 'a>> {
    Some(match coding {
        "" | "identity" => Box::new(body),
        "gzip" | "x-gzip" => Box::new(flate2::bufread::MultiGzDecoder::new(body)),
        "br" => Box::new(brotli_decompressor::Decompressor::new(body, READ_BUFFER)),
        // One frame, as the download's decoder reads it: bytes after it were not in the payload.
        "zstd" => Box::new(zstd::stream::read::Decoder::with_buffer(body).ok()?.single_frame()),
        "deflate" => {
            // HTTP's "deflate" is zlib-wrapped (RFC 9110), but some servers send raw deflate,
            // as the download also allows: look at the first two bytes for a zlib header.
            let head = body.fill_buf().ok()?;
            let zlib =
                head.len() >= 2 && head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
            if zlib {
                Box::new(flate2::bufread::ZlibDecoder::new(body))
            } else {
                Box::new(flate2::bufread::DeflateDecoder::new(body))
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// One gzip member of `data`, deflated or (with `level` 0) in stored blocks.
    fn member(data: &[u8], level: u32) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    /// A response record's WARC record (not yet in its gzip member): an HTTP head with
    /// `fields`, then `body` as received.
    fn response(fields: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut http = b"HTTP/1.1 200 OK\r\n".to_vec();
        for (name, value) in fields {
            http.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        http.extend_from_slice(b"\r\n");
        http.extend_from_slice(body);
        record("response", "application/http; msgtype=response", &http)
    }

    fn record(kind: &str, content_type: &str, block: &[u8]) -> Vec<u8> {
        let mut record = format!(
            "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{kind}>\r\n\
             WARC-Date: 2026-01-01T00:00:00Z\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            block.len()
        )
        .into_bytes();
        record.extend_from_slice(block);
        record.extend_from_slice(b"\r\n\r\n");
        record
    }

    /// An archive whose `warc/R.warc.gz` holds a warcinfo record and then `member`; returns
    /// the archive and a snapshot of `payload` naming that member.
    fn archive_with(member: &[u8], payload: &[u8]) -> (tempfile::TempDir, Snapshot) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("warc")).unwrap();
        let mut file = self::member(&record("warcinfo", "application/warc-fields", b"software: test\r\n"), 6);
        let offset = file.len();
        file.extend_from_slice(member);
        std::fs::write(dir.path().join("warc/R.warc.gz"), file).unwrap();
        let snapshot = snapshot(payload, offset as u64, member.len() as u64);
        (dir, snapshot)
    }

    fn snapshot(payload: &[u8], offset: u64, length: u64) -> Snapshot {
        serde_json::from_value(serde_json::json!({
            "sha256": hex(&Sha256::digest(payload)), "size": payload.len(),
            "content_type": "text/html", "first_seen": "2026-01-01T00:00:00Z",
            "last_seen": "2026-01-01T00:00:00Z", "http_status": 200, "final_url": "http://x.test/",
            "etag": null, "last_modified": null, "title": null, "warc": "warc/R.warc.gz",
            "offset": offset, "length": length, "record_id": "<urn:uuid:response>",
            "record_date": "2026-01-01T00:00:00Z", "payload_digest": "sha256:x", "run": "R"
        }))
        .unwrap()
    }

    fn read_all(archive: &Path, snapshot: &Snapshot) -> Result<Vec<u8>, PayloadError> {
        let mut out = Vec::new();
        open(archive, snapshot)?.copy_to(&mut out)?;
        Ok(out)
    }

    /// A page of text that compresses, long enough to span several reads.
    fn page() -> Vec<u8> {
        (0..4000)
            .flat_map(|i| format!("<p>paragraph {i} of the cited page</p>\n").into_bytes())
            .collect()
    }

    async fn encoded(coding: &str, data: &[u8]) -> Vec<u8> {
        use async_compression::tokio::write::{BrotliEncoder, DeflateEncoder, ZlibEncoder, ZstdEncoder};
        use tokio::io::AsyncWriteExt;
        async fn run<W: tokio::io::AsyncWrite + Unpin>(mut w: W, data: &[u8]) -> W {
            w.write_all(data).await.unwrap();
            w.shutdown().await.unwrap();
            w
        }
        match coding {
            "gzip" => member(data, 6),
            "br" => run(BrotliEncoder::new(Vec::new()), data).await.into_inner(),
            "zstd" => run(ZstdEncoder::new(Vec::new()), data).await.into_inner(),
            "deflate" => run(ZlibEncoder::new(Vec::new()), data).await.into_inner(),
            "raw-deflate" => run(DeflateEncoder::new(Vec::new()), data).await.into_inner(),
            _ => data.to_vec(),
        }
    }

    /// Issue #13: a record holds the body as received; the payload comes back decoded, for
    /// every coding the download removes.
    #[tokio::test]
    async fn every_content_encoding_is_removed_on_the_way_out() {
        let payload = page();
        for coding in ["gzip", "br", "zstd", "deflate", "raw-deflate", "identity", ""] {
            let body = encoded(coding, &payload).await;
            let header = match coding {
                "raw-deflate" => "deflate",
                other => other,
            };
            let mut fields = vec![("Content-Type", "text/html")];
            if !header.is_empty() {
                fields.push(("Content-Encoding", header));
            }
            // Compressed bodies sit in stored blocks, as the writer stores them.
            let level = if header.is_empty() || header == "identity" {
                6
            } else {
                0
            };
            let (dir, snapshot) = archive_with(&member(&response(&fields, &body), level), &payload);
            let read = read_all(dir.path(), &snapshot).unwrap_or_else(|e| panic!("{coding:?}: {e}"));
            assert!(read == payload, "{coding:?}: the bytes differ");
        }
    }

    #[test]
    fn a_resource_record_holds_the_payload_alone() {
        let payload = b"%PDF-1.4 a migrated object".to_vec();
        let (dir, snapshot) = archive_with(&member(&record("resource", "application/pdf", &payload), 0), &payload);
        assert_eq!(read_all(dir.path(), &snapshot).unwrap(), payload);
    }

    #[test]
    fn a_truncated_file_is_damage_not_a_short_payload() {
        let payload = page();
        let (dir, snapshot) = archive_with(&member(&response(&[], &payload), 0), &payload);
        let path = dir.path().join("warc/R.warc.gz");
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 100)
            .unwrap();
        let error = open(dir.path(), &snapshot).unwrap_err();
        assert!(matches!(error, PayloadError::Damaged { .. }), "{error}");
        assert!(error.to_string().contains("past the end of the file"), "{error}");
    }

    #[test]
    fn a_wrong_offset_finds_no_response() {
        let payload = page();
        let (dir, mut snapshot) = archive_with(&member(&response(&[], &payload), 6), &payload);
        // At the warcinfo record before it, and inside the member.
        for offset in [0, snapshot.warc_record.as_ref().unwrap().offset + 7] {
            snapshot.warc_record.as_mut().unwrap().offset = offset;
            let error = read_all(dir.path(), &snapshot).unwrap_err();
            assert!(matches!(error, PayloadError::Damaged { .. }), "{offset}: {error}");
        }
    }

    /// Issue #13: a flipped bit in a stored block keeps every size and every gzip header; only
    /// the hash shows it, and the reader fails at its end instead of reporting a whole payload.
    #[test]
    fn a_flipped_byte_in_the_body_fails_the_read_at_its_end() {
        let payload: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let stored = member(&response(&[("Content-Type", "application/pdf")], &payload), 0);
        let (dir, snapshot) = archive_with(&stored, &payload);
        let path = dir.path().join("warc/R.warc.gz");
        let mut bytes = std::fs::read(&path).unwrap();
        let needle = &payload[25_000..25_032];
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("stored verbatim");
        bytes[at + 10] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();

        let mut reader = open(dir.path(), &snapshot).unwrap();
        let mut out = Vec::new();
        let error = reader.read_to_end(&mut out).unwrap_err();
        assert_eq!(out.len(), payload.len(), "every byte came out before the check");
        let error = reader.error_from(error);
        assert!(matches!(error, PayloadError::Damaged { .. }), "{error}");
        assert!(error.to_string().contains("SHA-256"), "{error}");
        assert!(read_all(dir.path(), &snapshot).is_err());
    }

    #[test]
    fn more_bytes_than_recorded_stop_the_read() {
        let payload = page();
        let (dir, mut snapshot) = archive_with(&member(&response(&[], &payload), 6), &payload);
        snapshot.size = 10;
        let error = read_all(dir.path(), &snapshot).unwrap_err();
        assert!(error.to_string().contains("more than the 10 bytes"), "{error}");
    }

    #[test]
    fn a_missing_warc_file_is_missing() {
        let payload = page();
        let (dir, snapshot) = archive_with(&member(&response(&[], &payload), 6), &payload);
        std::fs::remove_file(dir.path().join("warc/R.warc.gz")).unwrap();
        assert!(matches!(open(dir.path(), &snapshot), Err(PayloadError::Missing(_))));
    }

    /// 0.1.0: the object is read while it is there; once gone, the record that holds the same
    /// payload is.
    #[test]
    fn an_object_of_0_1_0_is_read_first_and_its_record_after_it_is_gone() {
        let payload = page();
        let (dir, mut snapshot) = archive_with(&member(&response(&[], &payload), 6), &payload);
        let object = object_rel_path(&snapshot.sha256);
        snapshot.object = Some(object.clone());
        std::fs::create_dir_all(dir.path().join(&object).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(&object), &payload).unwrap();
        let reader = open(dir.path(), &snapshot).unwrap();
        assert_eq!(reader.location(), &Location::Object(object.clone()));
        reader.finish().unwrap();

        std::fs::remove_file(dir.path().join(&object)).unwrap();
        let reader = open(dir.path(), &snapshot).unwrap();
        assert!(
            matches!(reader.location(), Location::Record { .. }),
            "{:?}",
            reader.location()
        );
        reader.finish().unwrap();

        // Neither there: the object is what is missing.
        std::fs::remove_file(dir.path().join("warc/R.warc.gz")).unwrap();
        snapshot.warc = None;
        let error = open(dir.path(), &snapshot).unwrap_err();
        assert_eq!(error.to_string(), format!("{object} is missing"));
    }

    #[test]
    fn in_parallel_keeps_the_order_of_its_items() {
        let items: Vec<u64> = (0..1000).collect();
        assert_eq!(
            in_parallel(&items, 7, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(in_parallel(&[] as &[u64], 4, |i| *i).is_empty());
    }

    #[test]
    fn warc_paths_are_plain_names_under_warc() {
        let archive = Path::new("/a");
        assert_eq!(
            warc_path(archive, "warc/20260101T000000Z-ab12.warc.gz"),
            Some(PathBuf::from("/a/warc/20260101T000000Z-ab12.warc.gz"))
        );
        assert_eq!(
            warc_path(archive, "R-3.warc.gz"),
            Some(PathBuf::from("/a/warc/R-3.warc.gz"))
        );
        for bad in [
            "../x.warc.gz",
            "warc/../../etc/passwd",
            "/etc/x.warc.gz",
            "warc/a/b.warc.gz",
            "x.txt",
            "",
        ] {
            assert_eq!(warc_path(archive, bad), None, "{bad}");
        }
    }
}
