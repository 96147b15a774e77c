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

use sha2::{Digest, Sha256};

use crate::manifest::Snapshot;
use crate::store::{hex, is_sha256_hex, object_rel_path};
use crate::warc::run::WARC_DIR;

/// The longest WARC header read before a record is called damaged.
const MAX_WARC_HEADER: u64 = 1024 * 1024;
/// Read buffer over the WARC file.
const READ_BUFFER: usize = 64 * 1024;

/// Where a snapshot's payload is.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    plain.then(|| archive.join(WARC_DIR).join(name))
}

/// A payload being read: the decoded bytes of a record's body, or an object file. At most the
/// snapshot's `size` bytes plus one come out, so a damaged record cannot make a reader
/// inflate without end; [`Payload::finish`] says whether the bytes were the recorded ones.
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
        let n = self.reader.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if self.read > self.expected_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} holds more than the {} bytes recorded",
                    self.location, self.expected_size
                ),
            ));
        }
        Ok(n)
    }
}

impl Payload {
    /// Where the bytes come from.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// After reading to the end: an error unless the bytes read were the recorded size and hash.
    pub fn finish(self) -> Result<(), PayloadError> {
        let sha256 = hex(&self.hasher.finalize());
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

    /// Reads the rest into `out` and checks it, as [`Payload::finish`] does.
    pub fn copy_to(mut self, out: &mut impl io::Write) -> Result<u64, PayloadError> {
        let location = self.location.to_string();
        let copied = io::copy(&mut self, out).map_err(|source| PayloadError::Io { location, source })?;
        self.finish()?;
        Ok(copied)
    }
}

/// Opens `snapshot`'s payload in `archive`. Blocking.
pub fn open(archive: &Path, snapshot: &Snapshot) -> Result<Payload, PayloadError> {
    let location = location(snapshot).ok_or(PayloadError::NoLocation)?;
    let reader: Box<dyn Read + Send> = match &location {
        Location::Object(object) => Box::new(open_file(&archive.join(object), &location)?),
        Location::Record { file, offset, length } => {
            let path = warc_path(archive, file)
                .ok_or_else(|| PayloadError::damaged(&location, "is not a WARC file of the archive"))?;
            let (body, coding) = open_record_body(&path, *offset, *length, &location)?;
            decoder(&coding, body).ok_or_else(|| {
                PayloadError::damaged(
                    &location,
                    format!("the body has an unknown Content-Encoding {coding:?}"),
                )
            })?
        }
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
    /// Whether the block is an HTTP message (a response record) or the payload alone (a
    /// resource record).
    http: bool,
}

/// The SHA-256 of the body of the record at `offset` in WARC file `file` (relative to the
/// archive), as received: what its `WARC-Payload-Digest` says when it is intact. Blocking.
pub fn record_payload_digest(archive: &Path, file: &str, offset: u64, length: u64) -> Result<[u8; 32], PayloadError> {
    let location = Location::Record {
        file: file.to_owned(),
        offset,
        length,
    };
    let path = warc_path(archive, file)
        .ok_or_else(|| PayloadError::damaged(&location, "is not a WARC file of the archive"))?;
    let (mut body, _) = open_record_body(&path, offset, length, &location)?;
    let mut hasher = Sha256::new();
    io::copy(&mut body, &mut HashWriter(&mut hasher)).map_err(|e| PayloadError::damaged(&location, e.to_string()))?;
    Ok(hasher.finalize().into())
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

/// A record's body as received.
type RecordBody = io::Take<BufReader<flate2::bufread::GzDecoder<BufReader<io::Take<File>>>>>;

/// Opens the record at `offset` and returns a reader of its body as received, and the body's
/// Content-Encoding (empty for none).
fn open_record_body(
    path: &Path,
    offset: u64,
    length: u64,
    location: &Location,
) -> Result<(RecordBody, String), PayloadError> {
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
    let mut block = block.take(framing.block_length);
    let mut coding = String::new();
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
        coding = head
            .header("content-encoding")
            .map(|c| c.trim().to_ascii_lowercase())
            .unwrap_or_default();
    }
    Ok((block, coding))
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
pub fn decoder<R: BufRead + Send + 'static>(coding: &str, mut body: R) -> Option<Box<dyn Read + Send>> {
    Some(match coding {
        "" | "identity" => Box::new(body),
        "gzip" | "x-gzip" => Box::new(flate2::bufread::MultiGzDecoder::new(body)),
        "br" => Box::new(brotli_decompressor::Decompressor::new(body, READ_BUFFER)),
        "zstd" => Box::new(zstd::stream::read::Decoder::with_buffer(body).ok()?),
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
    use super::*;

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
