//! A response record written while its body arrives, into a WARC file of its own: the one pass
//! that stores a large or unknown-length body (issue #13). Synchronous: it runs on a blocking
//! thread fed by the downloading task (see [`super::run::RawBody`]).
//!
//! A WARC header has to carry the block's length and digests, which are known only once the
//! body has ended. So the record's gzip member starts with the header alone in a stored
//! deflate block, with those three values as fixed-width placeholders (the length padded with
//! zeros, which WARC's `1*DIGIT` allows), and when the body has ended the header is rewritten
//! in place with the same number of bytes. The gzip trailer's CRC-32 covers the final header:
//! the CRC of the rest, computed as the bytes went by, is combined with the header's.
//! The HTTP head and body follow in stored blocks, or deflated when they compress.
//!
//! ```text
//! gzip header | stored block: WARC header (rewritten at the end) | head ‖ body ‖ CRLF CRLF,
//! stored or deflated | CRC-32 | ISIZE    then the request record, a gzip member of its own
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Seek, Write};

use flate2::Compression;
use flate2::write::DeflateEncoder;
use sha2::{Digest, Sha256};

use super::record::{GZIP_HEADER, StoredBlocks, warc_header, write_stored_block};
use super::{RecordSpec, WarcError, sha256_label, write_record};

/// Width of the `Content-Length` value while the length is unknown: any `u64`.
const LENGTH_WIDTH: usize = 20;
/// Write buffer over the file.
const WRITE_BUFFER: usize = 256 * 1024;

/// How the head and body are encoded in the member.
enum Encoder {
    Stored(StoredBlocks<BufWriter<File>>),
    Deflate(DeflateEncoder<BufWriter<File>>),
}

impl Encoder {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Stored(blocks) => blocks.write_all(bytes),
            Self::Deflate(deflate) => deflate.write_all(bytes),
        }
    }

    fn finish(self) -> io::Result<BufWriter<File>> {
        match self {
            Self::Stored(blocks) => blocks.finish(),
            Self::Deflate(deflate) => deflate.finish(),
        }
    }
}

/// A response record being written at the start of its own file.
pub struct StreamedResponse {
    encoder: Encoder,
    spec: RecordSpec,
    /// Length of the WARC header, placeholders included.
    header_len: usize,
    /// CRC-32 of everything after the header.
    crc: crc32fast::Hasher,
    /// Bytes after the header: the HTTP head, the body so far.
    rest_len: u64,
    head_len: u64,
    /// SHA-256 of the body, when this writer computes it.
    payload: Option<Sha256>,
}

/// A finished record file.
#[derive(Debug)]
pub struct Streamed {
    /// The response record's length (it starts at offset 0).
    pub length: u64,
    /// The whole file's length, request record included.
    pub file_length: u64,
    /// `WARC-Payload-Digest` as written.
    pub payload_digest: [u8; 32],
}

impl StreamedResponse {
    /// Starts the record in `file` (new and empty): `spec` is its header (`payload_digest` is
    /// filled in at the end), `head` the HTTP head. `payload` continues the body's SHA-256 when
    /// the caller hashed the first bytes already (see [`StreamedResponse::write_body`]).
    pub fn create(file: File, spec: RecordSpec, head: &[u8], compress: bool) -> Result<Self, WarcError> {
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let header = placeholder_header(&spec)?;
        out.write_all(&GZIP_HEADER)?;
        write_stored_block(&mut out, header.as_bytes(), false)?;
        let mut encoder = if compress {
            Encoder::Deflate(DeflateEncoder::new(out, Compression::default()))
        } else {
            Encoder::Stored(StoredBlocks::new(out))
        };
        encoder.write_all(head)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(head);
        Ok(Self {
            encoder,
            spec,
            header_len: header.len(),
            crc,
            rest_len: head.len() as u64,
            head_len: head.len() as u64,
            payload: None,
        })
    }

    /// Hashes the body from here on: `hasher` holds the SHA-256 of the bytes written before.
    pub fn hash_payload(&mut self, hasher: Sha256) {
        self.payload = Some(hasher);
    }

    /// Appends body bytes.
    pub fn write_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(payload) = &mut self.payload {
            payload.update(bytes);
        }
        self.crc.update(bytes);
        self.rest_len += bytes.len() as u64;
        self.encoder.write_all(bytes)
    }

    /// Ends the record: `block_digest` is the SHA-256 of head ‖ body, computed by the caller as
    /// the bytes arrived, and `payload_digest` the body's when this writer did not hash it.
    /// Rewrites the header with the real values, then appends `request` (spec and head) as a
    /// record of its own. Nothing is synced: the run's next checkpoint does that.
    pub fn finish(
        mut self,
        block_digest: [u8; 32],
        payload_digest: Option<[u8; 32]>,
        request: (RecordSpec, Vec<u8>),
    ) -> Result<Streamed, WarcError> {
        let payload_digest = match (self.payload.take(), payload_digest) {
            (Some(hasher), _) => hasher.finalize().into(),
            (None, Some(digest)) => digest,
            (None, None) => return Err(io::Error::other("the payload digest was neither computed nor given").into()),
        };
        self.encoder.write_all(b"\r\n\r\n")?;
        self.crc.update(b"\r\n\r\n");
        self.rest_len += 4;
        let mut out = self.encoder.finish()?;

        let block_length = self.rest_len - 4;
        let body_length = block_length - self.head_len;
        debug_assert!(body_length <= block_length);
        self.spec.payload_digest = Some(sha256_label(&payload_digest));
        let length = format!("{block_length:0LENGTH_WIDTH$}");
        let header = warc_header(&self.spec, self.spec.payload_digest.as_deref(), &block_digest, &length)?;
        if header.len() != self.header_len {
            return Err(io::Error::other("the final WARC header is not as long as its placeholder").into());
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(header.as_bytes());
        crc.combine(&self.crc);
        let isize = (self.header_len as u64 + self.rest_len) as u32;
        out.write_all(&crc.finalize().to_le_bytes())?;
        out.write_all(&isize.to_le_bytes())?;
        out.flush()?;
        let file = out.get_mut();
        let response_length = file.stream_position()?;
        // The header sits right after the gzip header and its stored block's 5-byte head.
        write_at(file, header.as_bytes(), (GZIP_HEADER.len() + 5) as u64)?;

        let (request_spec, request_head) = request;
        let (_, request_length) = write_record(
            &mut *file,
            response_length,
            &request_spec,
            &request_head,
            &mut Cursor::new([]),
            0,
            None,
        )?;
        file.flush()?;
        Ok(Streamed {
            length: response_length,
            file_length: response_length + request_length,
            payload_digest,
        })
    }
}

/// The header with zeros for the length and digests not known yet.
fn placeholder_header(spec: &RecordSpec) -> Result<String, WarcError> {
    let unknown = sha256_label(&[0; 32]);
    warc_header(spec, Some(&unknown), &[0; 32], &"0".repeat(LENGTH_WIDTH))
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(not(unix))]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    use std::io::SeekFrom;
    let mut file = file;
    let end = file.stream_position()?;
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)?;
    file.seek(SeekFrom::Start(end)).map(drop)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::warc::{CONTENT_TYPE_HTTP_REQUEST, CONTENT_TYPE_HTTP_RESPONSE, RecordType, check_warc};

    fn streamed(body: &[u8], compress: bool, pieces: usize) -> (tempfile::TempDir, std::path::PathBuf, Streamed) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("R-1.warc.gz");
        let file = File::create(&path).unwrap();
        let mut spec = RecordSpec::new(
            RecordType::Response,
            "2026-01-01T00:00:00Z".into(),
            CONTENT_TYPE_HTTP_RESPONSE,
        );
        spec.target_uri = Some("http://example.com/big".into());
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n";
        let mut record = StreamedResponse::create(file, spec.clone(), head, compress).unwrap();
        // The first piece is hashed by "the caller", as RawBody does before it moves here.
        let split = body.len() / pieces.max(1);
        let mut payload = Sha256::new();
        payload.update(&body[..split]);
        record.write_body(&body[..split]).unwrap();
        record.hash_payload(payload);
        for chunk in body[split..].chunks(7919) {
            record.write_body(chunk).unwrap();
        }
        let mut block = Sha256::new();
        block.update(head);
        block.update(body);
        let mut request = RecordSpec::new(RecordType::Request, spec.date.clone(), CONTENT_TYPE_HTTP_REQUEST);
        request.target_uri = spec.target_uri.clone();
        request.concurrent_to = Some(spec.record_id.clone());
        let done = record
            .finish(
                block.finalize().into(),
                None,
                (request, b"GET /big HTTP/1.1\r\n\r\n".to_vec()),
            )
            .unwrap();
        (dir, path, done)
    }

    #[test]
    fn a_streamed_record_is_valid_warc_with_true_digests_in_both_encodings() {
        let mut random = vec![0u8; 300_000];
        fastrand::Rng::with_seed(7).fill(&mut random);
        let text = b"<p>a paragraph of text, again and again</p>\n".repeat(9000);
        for (body, compress) in [(&random, false), (&text, true)] {
            let (_dir, path, done) = streamed(body, compress, 3);
            let check = check_warc(&path).unwrap();
            assert!(check.is_ok(), "{:?}", check.problems);
            assert_eq!(check.records.len(), 2);
            assert_eq!(check.records[0].offset, 0);
            assert_eq!(check.records[0].length, done.length);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), done.file_length);
            assert_eq!(done.payload_digest, <[u8; 32]>::from(Sha256::digest(body)));
            let on_disk = std::fs::metadata(&path).unwrap().len();
            if compress {
                assert!(on_disk < body.len() as u64 / 5, "text should be deflated: {on_disk}");
            } else {
                assert!(
                    on_disk < body.len() as u64 + 4096,
                    "stored blocks cost little: {on_disk}"
                );
            }
            // Any gzip reader inflates the member to header ‖ head ‖ body ‖ CRLF CRLF.
            let mut member = Vec::new();
            let bytes = std::fs::read(&path).unwrap();
            flate2::read::GzDecoder::new(&bytes[..done.length as usize])
                .read_to_end(&mut member)
                .unwrap();
            assert!(member.ends_with(b"\r\n\r\n"));
            assert!(member.windows(body.len()).any(|w| w == &body[..]));
        }
    }

    #[test]
    fn an_empty_body_is_a_valid_record() {
        let (_dir, path, _) = streamed(b"", false, 1);
        let check = check_warc(&path).unwrap();
        assert!(check.is_ok(), "{:?}", check.problems);
    }
}
