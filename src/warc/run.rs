//! The WARC file of one archive run (`warc/<run-id>.warc.gz`): a warcinfo record first, then
//! each fetch's records appended as whole gzip members under a lock, and the raw-body spool that
//! lets a response record carry the bytes exactly as received (before content decoding).

use std::fs::File;
use std::io::{self, Cursor, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{CONTENT_TYPE_WARC_FIELDS, RecordSpec, RecordType, WarcError, warcinfo_fields, write_record};
use crate::store::{PayloadSink, Store, TempPath};

/// Where WARC files live, relative to the archive.
pub const WARC_DIR: &str = "warc";

/// One record waiting to be appended: its header fields, its head (HTTP head or warc-fields)
/// and, for responses, the spooled body.
pub struct PendingRecord<'a> {
    /// Header fields.
    pub spec: RecordSpec,
    /// The block's first part.
    pub head: Vec<u8>,
    /// The block's rest: a spooled body, if any.
    pub body: Option<&'a mut RawSpool>,
}

/// The WARC file a run appends to.
#[derive(Debug)]
pub struct RunWarc {
    /// Relative to the archive: `warc/<run-id>.warc.gz`.
    name: String,
    /// The open file and its length (where the next member starts).
    file: Mutex<(File, u64)>,
    /// The warcinfo record's id, for `WARC-Warcinfo-ID`.
    warcinfo_id: String,
}

impl RunWarc {
    /// Creates `warc/<run-id>.warc.gz` with its warcinfo record.
    pub fn create(archive: &Path, run_id: &str, date: String, info: &[(&str, String)]) -> Result<Self, WarcError> {
        let dir = archive.join(WARC_DIR);
        std::fs::create_dir_all(&dir)?;
        let name = format!("{WARC_DIR}/{run_id}.warc.gz");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(archive.join(&name))?;
        let software = format!("linkkeep/{}", crate::VERSION);
        let mut spec = RecordSpec::new(RecordType::Warcinfo, date, CONTENT_TYPE_WARC_FIELDS);
        spec.extra.push(("WARC-Filename".into(), format!("{run_id}.warc.gz")));
        let warcinfo_id = spec.record_id.clone();
        let warc = Self {
            name,
            file: Mutex::new((file, 0)),
            warcinfo_id,
        };
        warc.append(vec![PendingRecord {
            spec,
            head: warcinfo_fields(&software, info),
            body: None,
        }])?;
        Ok(warc)
    }

    /// `warc/<run-id>.warc.gz`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long each of the run's WARC files is: everything before is whole records.
    pub fn lengths(&self) -> std::collections::BTreeMap<String, u64> {
        let end = self.file.lock().expect("no panics while the WARC lock is held").1;
        std::collections::BTreeMap::from([(self.name.clone(), end)])
    }

    /// The file name alone, as CDXJ lines name it.
    pub fn file_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// Appends records back to back, each as one gzip member, and returns where each landed
    /// (offset, length). A failure truncates the file back to where it was, so a half-written
    /// member never stays behind.
    pub fn append(&self, records: Vec<PendingRecord<'_>>) -> Result<Vec<(u64, u64)>, WarcError> {
        let mut guard = self.file.lock().expect("no panics while the WARC lock is held");
        let (file, end) = &mut *guard;
        let start = *end;
        let mut placed = Vec::with_capacity(records.len());
        let result = (|| -> Result<(), WarcError> {
            for mut record in records {
                record.spec.warcinfo_id.get_or_insert_with(|| self.warcinfo_id.clone());
                if record.spec.kind == RecordType::Warcinfo {
                    record.spec.warcinfo_id = None;
                }
                let mut out = io::BufWriter::with_capacity(256 * 1024, &mut *file);
                let (offset, length) = match record.body {
                    Some(spool) => {
                        let block = spool.block_digest();
                        let len = spool.size;
                        let body = spool
                            .body
                            .as_mut()
                            .ok_or_else(|| io::Error::other("a spooled body was never attached"))?;
                        body.seek(SeekFrom::Start(0))?;
                        write_record(&mut out, *end, &record.spec, &record.head, body, len, Some(block))?
                    }
                    None => write_record(
                        &mut out,
                        *end,
                        &record.spec,
                        &record.head,
                        &mut Cursor::new([]),
                        0,
                        None,
                    )?,
                };
                out.flush()?;
                *end = offset + length;
                placed.push((offset, length));
            }
            Ok(())
        })();
        if let Err(e) = result {
            *end = start;
            let _ = file
                .set_len(start)
                .and_then(|()| file.seek(SeekFrom::Start(start)).map(|_| ()));
            return Err(e);
        }
        Ok(placed)
    }
}

/// A response body as received on the wire (Content-Encoding still applied), kept for its WARC
/// record while it is decoded into its object, with the digests the record needs.
///
/// An encoded body is copied to a temporary file. A body without Content-Encoding *is* its
/// object, so [`RawSpool::for_identity`] keeps no copy and computes no payload hash: the record
/// reads the object and takes its hash, which spares a write and a hashing pass per capture.
#[derive(Debug)]
pub struct RawSpool {
    /// Where the body can be read back: the temporary copy, or the attached object.
    body: Option<File>,
    /// The temporary copy's path, removed with the spool.
    _tmp: Option<TempPath>,
    /// Hashes the payload while it arrives, for encoded bodies.
    payload: Option<Sha256>,
    /// The payload digest when it comes from the object.
    known_payload: Option<[u8; 32]>,
    block: Sha256,
    size: u64,
    /// The first write error, reported after the download (the spool cannot fail mid-stream).
    error: Option<io::Error>,
}

impl RawSpool {
    /// A spool copying the body into the archive's `tmp/`, for a response whose HTTP head is
    /// `head`.
    pub fn new(store: &Store, head: &[u8]) -> io::Result<Self> {
        let (file, tmp) = store.temp_file()?;
        Ok(Self {
            body: Some(file),
            _tmp: Some(tmp),
            payload: Some(Sha256::new()),
            ..Self::for_identity(head)
        })
    }

    /// A spool for a body without Content-Encoding: only the record's block digest is computed;
    /// call [`RawSpool::attach_object`] once the object is stored.
    pub fn for_identity(head: &[u8]) -> Self {
        let mut block = Sha256::new();
        block.update(head);
        Self {
            body: None,
            _tmp: None,
            payload: None,
            known_payload: None,
            block,
            size: 0,
            error: None,
        }
    }

    /// Makes the stored object the record's body: `file` open for reading, `sha256` its hash.
    pub fn attach_object(&mut self, file: File, sha256: [u8; 32]) {
        self.body = Some(file);
        self.known_payload = Some(sha256);
    }

    /// The payload digest: SHA-256 of the body as received.
    ///
    /// # Panics
    /// For an identity spool before [`RawSpool::attach_object`].
    pub fn payload_digest(&self) -> [u8; 32] {
        match (&self.payload, self.known_payload) {
            (_, Some(known)) => known,
            (Some(hasher), None) => hasher.clone().finalize().into(),
            (None, None) => panic!("the payload digest was neither computed nor set"),
        }
    }

    fn block_digest(&self) -> [u8; 32] {
        self.block.clone().finalize().into()
    }

    /// The first write error, if any.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

impl PayloadSink for RawSpool {
    fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        if let Some(payload) = &mut self.payload {
            payload.update(&bytes);
        }
        self.block.update(&bytes);
        self.size += bytes.len() as u64;
        if self.error.is_none()
            && let Some(file) = &mut self.body
            && let Err(e) = file.write_all(&bytes)
        {
            self.error = Some(e);
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// One HTTP exchange to record: what was asked and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The URL requested (the final one, after redirects).
    pub url: url::Url,
    /// When the response finished.
    pub date: chrono::DateTime<chrono::Utc>,
    /// The request head, as [`super::http_request_head`] renders it.
    pub request_head: Vec<u8>,
    /// The response head, as [`super::http_response_head`] renders it.
    pub response_head: Vec<u8>,
    /// The response status.
    pub status: u16,
    /// The response's media type without parameters, for the index.
    pub mime: String,
}

/// The capture a revisit record refers to.
#[derive(Debug, Clone)]
pub struct Original {
    /// Its response record.
    pub record: crate::manifest::WarcRecordRef,
    /// Its URL.
    pub url: String,
}

impl RunWarc {
    /// Writes a request and a response record carrying the spooled body as received. Returns
    /// the response record's place and identity, and its CDXJ line. `truncated` is the
    /// `WARC-Truncated` reason when the spool holds only part of the body (`length`, `time`,
    /// `disconnect`).
    pub fn write_response(
        &self,
        exchange: &Exchange,
        spool: &mut RawSpool,
        truncated: Option<&str>,
    ) -> Result<(crate::manifest::WarcRecordRef, String), WarcError> {
        if let Some(e) = spool.take_error() {
            return Err(WarcError::Io(e));
        }
        let date = super::warc_date(exchange.date);
        let payload_digest = super::sha256_label(&spool.payload_digest());
        let mut response = RecordSpec::new(RecordType::Response, date.clone(), super::CONTENT_TYPE_HTTP_RESPONSE);
        response.target_uri = Some(exchange.url.to_string());
        response.payload_digest = Some(payload_digest.clone());
        if let Some(reason) = truncated {
            response.extra.push(("WARC-Truncated".into(), reason.to_owned()));
        }
        let response_id = response.record_id.clone();
        let (offset, length) = self.append_exchange(exchange, response, Some(spool))?;
        let line = self.cdxj(exchange, &payload_digest, offset, length, None);
        let record = crate::manifest::WarcRecordRef {
            offset,
            length,
            record_id: response_id,
            date,
            payload_digest,
        };
        Ok((record, line))
    }

    /// Writes a request and a revisit record: the payload is the one `original` holds, because
    /// the bytes were identical (`profile` identical-payload-digest) or the server said 304
    /// (server-not-modified). The revisit's block is the response head alone. Returns its CDXJ
    /// line.
    pub fn write_revisit(
        &self,
        exchange: &Exchange,
        profile: &str,
        original: Option<&Original>,
    ) -> Result<String, WarcError> {
        let date = super::warc_date(exchange.date);
        let mut revisit = RecordSpec::new(RecordType::Revisit, date.clone(), super::CONTENT_TYPE_HTTP_RESPONSE);
        revisit.target_uri = Some(exchange.url.to_string());
        revisit.profile = Some(profile.to_owned());
        if let Some(original) = original {
            revisit.refers_to = Some(original.record.record_id.clone());
            revisit.refers_to_target_uri = Some(original.url.clone());
            revisit.refers_to_date = Some(original.record.date.clone());
            revisit.payload_digest = Some(original.record.payload_digest.clone());
        }
        let digest = revisit.payload_digest.clone().unwrap_or_default();
        let (offset, length) = self.append_exchange(exchange, revisit, None)?;
        Ok(self.cdxj(exchange, &digest, offset, length, Some("revisit")))
    }

    /// Appends the request record of `exchange` and then `answer` (its response or revisit
    /// record, with the response head and `body`); returns where `answer` landed.
    fn append_exchange(
        &self,
        exchange: &Exchange,
        answer: RecordSpec,
        body: Option<&mut RawSpool>,
    ) -> Result<(u64, u64), WarcError> {
        let mut request = RecordSpec::new(
            RecordType::Request,
            answer.date.clone(),
            super::CONTENT_TYPE_HTTP_REQUEST,
        );
        request.target_uri = Some(exchange.url.to_string());
        request.concurrent_to = Some(answer.record_id.clone());
        let placed = self.append(vec![
            PendingRecord {
                spec: request,
                head: exchange.request_head.clone(),
                body: None,
            },
            PendingRecord {
                spec: answer,
                head: exchange.response_head.clone(),
                body,
            },
        ])?;
        Ok(placed[1])
    }

    fn cdxj(&self, exchange: &Exchange, digest: &str, offset: u64, length: u64, kind: Option<&str>) -> String {
        super::cdxj_line(&super::CdxjEntry {
            url: exchange.url.to_string(),
            timestamp: super::timestamp14(exchange.date),
            digest: digest.to_owned(),
            mime: exchange.mime.clone(),
            status: exchange.status.to_string(),
            filename: self.file_name().to_owned(),
            offset,
            length,
            record_type: kind.map(str::to_owned),
        })
    }
}
