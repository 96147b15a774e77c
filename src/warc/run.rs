//! The WARC files of one archive run: `warc/<run-id>.warc.gz`, a warcinfo record first, then
//! each small capture's records appended as whole gzip members under a lock; and
//! `warc/<run-id>-<n>.warc.gz`, one per large capture, written while its body arrives
//! ([`RawBody`]). Either way the body is written once, as received (before content decoding),
//! and that record is the archive's only copy of the payload (issue #13).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::stream::{Streamed, StreamedResponse};
use super::{CONTENT_TYPE_WARC_FIELDS, RecordSpec, RecordType, WarcError, warcinfo_fields, write_record};
use crate::manifest::WarcRecordRef;
use crate::store::{TMP_DIR, TempPath};

/// Where WARC files live, relative to the archive.
pub const WARC_DIR: &str = "warc";
/// Bodies up to this size are kept in memory while they arrive and then appended to the run's
/// shared WARC file; a larger one (or one that grows past it) moves to a file of its own. At
/// the default concurrency that is at most 32 MiB of bodies in memory.
pub const LARGE_BODY: u64 = 512 * 1024;
/// Bytes gathered before they are handed to a large body's writer thread in one batch: every
/// hand-over can wake a sleeping thread, which costs more than hashing a 64 KiB chunk.
const BATCH: usize = 128 * 1024;
/// Batches queued for the writer: enough to ride out a short hiccup on either side, few enough
/// that memory stays flat for any body size. The chunks of a batch hold on to hyper's read
/// buffers, which are larger than the chunks: 4 batches of 256 KiB made a 4 GiB download peak
/// at 25–36 MiB, 2 of 128 KiB at 21–23 MiB, at the same speed (BENCHMARKS.md).
const QUEUE: usize = 2;

/// One record waiting to be appended: its header fields, its head (HTTP head or warc-fields)
/// and the rest of its block, if any.
pub struct PendingRecord<'a> {
    /// Header fields.
    pub spec: RecordSpec,
    /// The block's first part.
    pub head: Vec<u8>,
    /// The block's rest (a body), with its digests when the caller computed them while it
    /// arrived: SHA-256 of head ‖ body, then of the body.
    pub body: Option<(&'a [u8], Option<[u8; 32]>)>,
}

/// The file small captures are appended to: `warc/<run-id>.warc.gz`, or after a seal
/// ([`RunWarc::seal`]) the next `warc/<run-id>-<n>.warc.gz`.
#[derive(Debug)]
struct Shared {
    file: File,
    /// Relative to the archive.
    name: String,
    /// Its length: where the next member starts.
    end: u64,
    /// Where its warcinfo record ends: a file holding nothing more need not be sealed.
    info_end: u64,
    /// Its warcinfo record's id.
    warcinfo_id: String,
}

/// The WARC files a run writes.
#[derive(Debug)]
pub struct RunWarc {
    /// The archive directory.
    archive: PathBuf,
    run_id: String,
    /// The shared file small captures are appended to.
    shared: Mutex<Shared>,
    /// The run's first warcinfo record's id, for `WARC-Warcinfo-ID`.
    warcinfo_id: String,
    /// The warcinfo fields, repeated at the start of each shared file after a seal.
    info: Vec<u8>,
    /// The `<n>` of the next file of its own.
    next_part: AtomicU32,
    /// Files of their own finished and in place, with their lengths.
    parts: Mutex<BTreeMap<String, u64>>,
}

impl RunWarc {
    /// Creates `warc/<run-id>.warc.gz` with its warcinfo record.
    pub fn create(archive: &Path, run_id: &str, date: String, info: &[(&str, String)]) -> Result<Self, WarcError> {
        let dir = archive.join(WARC_DIR);
        std::fs::create_dir_all(&dir)?;
        let software = format!("linkkeep/{}", crate::VERSION);
        let info = warcinfo_fields(&software, info);
        let name = format!("{WARC_DIR}/{run_id}.warc.gz");
        let shared = Shared::create(archive, name, date, &info)?;
        Ok(Self {
            archive: archive.to_owned(),
            run_id: run_id.to_owned(),
            warcinfo_id: shared.warcinfo_id.clone(),
            shared: Mutex::new(shared),
            info,
            next_part: AtomicU32::new(1),
            parts: Mutex::new(BTreeMap::new()),
        })
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().expect("no panics while the WARC lock is held")
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The shared file now: `warc/<run-id>.warc.gz` until the first seal.
    pub fn name(&self) -> String {
        self.shared().name.clone()
    }

    /// How long each of the run's WARC files in place is: everything before is whole records.
    pub fn lengths(&self) -> BTreeMap<String, u64> {
        let (name, end) = {
            let shared = self.shared();
            (shared.name.clone(), shared.end)
        };
        let mut lengths = self
            .parts
            .lock()
            .expect("no panics while the parts lock is held")
            .clone();
        lengths.insert(name, end);
        lengths
    }

    /// The run's WARC files that are whole and will not grow: every one but the shared file.
    pub fn finished(&self) -> Vec<String> {
        self.parts
            .lock()
            .expect("no panics while the parts lock is held")
            .keys()
            .cloned()
            .collect()
    }

    /// Closes the shared file, if it holds more than its warcinfo record, and starts the next
    /// (`warc/<run-id>-<n>.warc.gz`, with a warcinfo record of its own): an archive in object
    /// storage uploads whole files at each checkpoint, and an object cannot be appended to.
    pub fn seal(&self) -> Result<(), WarcError> {
        let mut shared = self.shared();
        if shared.end == shared.info_end {
            return Ok(());
        }
        let n = self.next_part.fetch_add(1, Ordering::Relaxed);
        let name = format!("{WARC_DIR}/{}-{n}.warc.gz", self.run_id);
        let next = Shared::create(&self.archive, name, super::warc_date(chrono::Utc::now()), &self.info)?;
        let sealed = std::mem::replace(&mut *shared, next);
        self.parts
            .lock()
            .expect("no panics while the parts lock is held")
            .insert(sealed.name, sealed.end);
        Ok(())
    }

    /// Removes the shared file when it holds nothing but its warcinfo record: what a seal at
    /// a run's last checkpoint leaves behind.
    pub fn remove_if_empty(&self) -> io::Result<()> {
        let shared = self.shared();
        if shared.end == shared.info_end {
            std::fs::remove_file(self.archive.join(&shared.name))?;
        }
        Ok(())
    }

    /// Appends records back to back to the shared file, each as one gzip member, and returns
    /// the file's name and where each landed (offset, length). A failure truncates the file
    /// back to where it was, so a half-written member never stays behind.
    pub fn append(&self, records: Vec<PendingRecord<'_>>) -> Result<(String, Vec<(u64, u64)>), WarcError> {
        let mut shared = self.shared();
        let placed = shared.append(records)?;
        Ok((shared.name.clone(), placed))
    }

    /// A name for the next file of its own, and where it is written until it is whole.
    fn new_part(&self) -> (String, PathBuf) {
        let n = self.next_part.fetch_add(1, Ordering::Relaxed);
        let file = format!("{}-{n}.warc.gz", self.run_id);
        let tmp = self.archive.join(TMP_DIR).join(format!("{file}.part"));
        (format!("{WARC_DIR}/{file}"), tmp)
    }
}

impl Shared {
    /// Creates the file `name` with a warcinfo record holding `info`.
    fn create(archive: &Path, name: String, date: String, info: &[u8]) -> Result<Self, WarcError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(archive.join(&name))?;
        let mut spec = RecordSpec::new(RecordType::Warcinfo, date, CONTENT_TYPE_WARC_FIELDS);
        let file_name = name.rsplit('/').next().unwrap_or(&name).to_owned();
        spec.extra.push(("WARC-Filename".into(), file_name));
        let warcinfo_id = spec.record_id.clone();
        let mut shared = Self {
            file,
            name,
            end: 0,
            info_end: 0,
            warcinfo_id,
        };
        shared.append(vec![PendingRecord {
            spec,
            head: info.to_vec(),
            body: None,
        }])?;
        shared.info_end = shared.end;
        Ok(shared)
    }

    fn append(&mut self, records: Vec<PendingRecord<'_>>) -> Result<Vec<(u64, u64)>, WarcError> {
        let Self {
            file, end, warcinfo_id, ..
        } = self;
        let start = *end;
        let mut placed = Vec::with_capacity(records.len());
        let result = (|| -> Result<(), WarcError> {
            for mut record in records {
                // Each record names the warcinfo record of the file it is in.
                record.spec.warcinfo_id = match record.spec.kind {
                    RecordType::Warcinfo => None,
                    _ => Some(warcinfo_id.clone()),
                };
                let mut out = io::BufWriter::with_capacity(256 * 1024, &mut *file);
                let (body, block) = record.body.unwrap_or((&[], None));
                let (offset, length) = write_record(
                    &mut out,
                    *end,
                    &record.spec,
                    &record.head,
                    &mut Cursor::new(body),
                    body.len() as u64,
                    block,
                )?;
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

/// In debug builds, `LINKKEEP_TEST_STALL_WRITES_MS` makes the writer of each large body wait
/// that long before its first write: how the tests stand in for a slow disk (issue #13).
fn test_stall() {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("LINKKEEP_TEST_STALL_WRITES_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// In debug builds, `LINKKEEP_TEST_FULL_DISK_FOR_LARGE_BODIES` makes the file of a large body
/// fail as a full disk would: how the tests stop a run with a local error mid-way. (As root,
/// permissions cannot; and the file's name holds the run id, which a test cannot know.)
fn test_full_disk() -> io::Result<()> {
    #[cfg(debug_assertions)]
    if std::env::var_os("LINKKEEP_TEST_FULL_DISK_FOR_LARGE_BODIES").is_some() {
        return Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "no space left on device (test)",
        ));
    }
    Ok(())
}

/// A response body as received on the wire (Content-Encoding still applied), on its way into
/// its WARC record, with the digests the record needs: SHA-256 of head ‖ body (the block) and
/// of the body (the payload). A body up to [`LARGE_BODY`] is kept in memory; past it, the
/// record is started in a file of its own on a blocking thread, which takes the bytes in
/// batches through a bounded channel: a slow disk slows the download, never the runtime's
/// worker threads. Dropping the body unfinished (a failed download) makes the thread remove
/// its file.
pub struct RawBody {
    warc: Arc<RunWarc>,
    exchange: Arc<Exchange>,
    /// The response record's id, chosen now so that a streamed record can carry it.
    record_id: String,
    block: Sha256,
    size: u64,
    state: State,
}

enum State {
    Memory {
        bytes: Vec<u8>,
        payload: Sha256,
    },
    Streaming {
        batch: Vec<Bytes>,
        batch_size: usize,
        batches: mpsc::Sender<Vec<Bytes>>,
        /// The block digest, sent when the body has ended; dropped unsent, it cancels.
        end: oneshot::Sender<[u8; 32]>,
        writer: tokio::task::JoinHandle<Result<StreamedFile, WarcError>>,
    },
    /// After a failure to start or feed the writer.
    Failed,
}

impl std::fmt::Debug for RawBody {
    // By hand: a derived Debug would print the body.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Memory { .. } => "memory",
            State::Streaming { .. } => "streaming",
            State::Failed => "failed",
        };
        f.debug_struct("RawBody")
            .field("size", &self.size)
            .field("state", &state)
            .finish()
    }
}

/// A whole record in a file of its own, not yet in `warc/`: dropped, the file is removed.
#[derive(Debug)]
pub struct StreamedFile {
    /// `warc/<run-id>-<n>.warc.gz`, where it goes once kept.
    part: String,
    tmp: TempPath,
    streamed: Streamed,
}

/// A body received whole.
#[derive(Debug)]
pub enum ReceivedBody {
    /// Small: its bytes and digests, to be appended to the run's shared file.
    Memory {
        bytes: Vec<u8>,
        block: [u8; 32],
        payload: [u8; 32],
    },
    /// Large: its record written in a file of its own.
    Streamed(RawBodyRecord),
}

impl ReceivedBody {
    /// SHA-256 of the body as received: the record's `WARC-Payload-Digest`.
    pub fn payload_digest(&self) -> [u8; 32] {
        match self {
            Self::Memory { payload, .. } => *payload,
            Self::Streamed(record) => record.file.streamed.payload_digest,
        }
    }
}

impl RawBody {
    /// An empty body for the response of `exchange`.
    pub fn new(warc: Arc<RunWarc>, exchange: Arc<Exchange>) -> Self {
        let mut block = Sha256::new();
        block.update(&exchange.response_head);
        Self {
            warc,
            exchange,
            record_id: super::new_record_id(),
            block,
            size: 0,
            state: State::Memory {
                bytes: Vec::new(),
                payload: Sha256::new(),
            },
        }
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a chunk as received. Waits while the writer of a large body is behind.
    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.block.update(&chunk);
        self.size += chunk.len() as u64;
        match &mut self.state {
            State::Memory { bytes, payload } => {
                payload.update(&chunk);
                bytes.extend_from_slice(&chunk);
                if self.size > LARGE_BODY {
                    self.start_streaming();
                }
                Ok(())
            }
            State::Streaming { batch, batch_size, .. } => {
                *batch_size += chunk.len();
                batch.push(chunk);
                if *batch_size >= BATCH {
                    self.hand_over().await?;
                }
                Ok(())
            }
            State::Failed => Err(io::Error::other("the body's record could not be written")),
        }
    }

    /// Moves the body to a file of its own, written on a blocking thread.
    fn start_streaming(&mut self) {
        let State::Memory { bytes, payload } = std::mem::replace(&mut self.state, State::Failed) else {
            return;
        };
        let (part, tmp_path) = self.warc.new_part();
        let (batches, mut queued) = mpsc::channel::<Vec<Bytes>>(QUEUE);
        let (end, ended) = oneshot::channel::<[u8; 32]>();
        let spec = self.warc.response_spec(&self.exchange, &self.record_id);
        let request = self.warc.request_spec(&self.exchange, &self.record_id);
        let head = self.exchange.response_head.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<StreamedFile, WarcError> {
            let compress = super::record::is_compressible_sample(&bytes)?;
            std::fs::create_dir_all(tmp_path.parent().expect("tmp/ is a directory"))?;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp_path)?;
            // Removed when dropped: on any error below, and when the download is cancelled.
            let tmp = TempPath::new(tmp_path);
            let mut record = StreamedResponse::create(file, spec, &head, compress)?;
            test_full_disk()?;
            test_stall();
            record.write_body(&bytes)?;
            drop(bytes);
            record.hash_payload(payload);
            while let Some(batch) = queued.blocking_recv() {
                for chunk in batch {
                    record.write_body(&chunk)?;
                }
            }
            // The queue is closed: either the body ended (its block digest follows) or the
            // download failed and `end` was dropped.
            let Ok(block_digest) = ended.blocking_recv() else {
                return Err(io::Error::other("the download was cancelled").into());
            };
            let streamed = record.finish(block_digest, None, request)?;
            Ok(StreamedFile { part, tmp, streamed })
        });
        self.state = State::Streaming {
            batch: Vec::new(),
            batch_size: 0,
            batches,
            end,
            writer,
        };
    }

    /// Sends the gathered chunks to the writer, or returns the error that stopped it.
    async fn hand_over(&mut self) -> io::Result<()> {
        let State::Streaming {
            batch,
            batch_size,
            batches,
            ..
        } = &mut self.state
        else {
            return Ok(());
        };
        *batch_size = 0;
        if batches.send(std::mem::take(batch)).await.is_ok() {
            return Ok(());
        }
        // The writer stopped early: it failed, and says why.
        let State::Streaming { writer, .. } = std::mem::replace(&mut self.state, State::Failed) else {
            unreachable!("matched above");
        };
        Err(writer_error(writer.await))
    }

    /// The body has ended: returns it with its digests, its record finished if it has a file of
    /// its own.
    pub async fn finish(mut self) -> io::Result<ReceivedBody> {
        let block: [u8; 32] = self.block.clone().finalize().into();
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Memory { bytes, payload } => Ok(ReceivedBody::Memory {
                bytes,
                block,
                payload: payload.finalize().into(),
            }),
            State::Streaming {
                batch,
                batches,
                end,
                writer,
                ..
            } => {
                let sent = batches.send(batch).await.is_ok();
                drop(batches);
                if sent {
                    let _ = end.send(block);
                }
                match writer.await {
                    Ok(Ok(file)) => Ok(ReceivedBody::Streamed(RawBodyRecord {
                        record_id: self.record_id.clone(),
                        file,
                    })),
                    other => Err(writer_error(other)),
                }
            }
            State::Failed => Err(io::Error::other("the body's record could not be written")),
        }
    }
}

/// The error a writer thread ended with.
fn writer_error(ended: Result<Result<StreamedFile, WarcError>, tokio::task::JoinError>) -> io::Error {
    match ended {
        Ok(Ok(_)) => io::Error::other("the record's writer ended before the body did"),
        Ok(Err(WarcError::Io(e))) => e,
        Ok(Err(e)) => io::Error::other(e),
        Err(e) => io::Error::other(e),
    }
}

/// One HTTP exchange to record: what was asked and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The URL requested (the final one, after redirects).
    pub url: url::Url,
    /// When the response's head arrived: the records' `WARC-Date`.
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

/// The capture a revisit record refers to: the response record holding the payload.
#[derive(Debug, Clone)]
pub struct Original {
    /// The WARC file it is in, relative to the archive.
    pub file: String,
    /// The record.
    pub record: WarcRecordRef,
    /// Its URL.
    pub url: String,
}

impl RunWarc {
    /// The header of the response record `record_id` for `exchange` (the payload digest is
    /// filled in when the body is known).
    fn response_spec(&self, exchange: &Exchange, record_id: &str) -> RecordSpec {
        let mut spec = RecordSpec::new(
            RecordType::Response,
            super::warc_date(exchange.date),
            super::CONTENT_TYPE_HTTP_RESPONSE,
        );
        spec.record_id = record_id.to_owned();
        spec.target_uri = Some(exchange.url.to_string());
        spec.warcinfo_id = Some(self.warcinfo_id.clone());
        spec
    }

    /// The request record of `exchange`, concurrent to the record `answer_id`, with its head.
    fn request_spec(&self, exchange: &Exchange, answer_id: &str) -> (RecordSpec, Vec<u8>) {
        let mut request = RecordSpec::new(
            RecordType::Request,
            super::warc_date(exchange.date),
            super::CONTENT_TYPE_HTTP_REQUEST,
        );
        request.target_uri = Some(exchange.url.to_string());
        request.concurrent_to = Some(answer_id.to_owned());
        request.warcinfo_id = Some(self.warcinfo_id.clone());
        (request, exchange.request_head.clone())
    }

    /// Writes a request and a response record carrying `body` as received (in memory) to the
    /// shared file. `digests` are SHA-256 of head ‖ body and of the body, when computed while
    /// it arrived; `truncated` is the `WARC-Truncated` reason when `body` is only part of the
    /// body (`length`, `time`, `disconnect`). Returns the response record's file, place and
    /// identity, and its CDXJ line.
    pub fn write_response(
        &self,
        exchange: &Exchange,
        body: &[u8],
        digests: Option<([u8; 32], [u8; 32])>,
        truncated: Option<&str>,
    ) -> Result<(Original, String), WarcError> {
        let payload = digests.map_or_else(|| super::digest::sha256(body), |(_, payload)| payload);
        let payload_digest = super::sha256_label(&payload);
        let mut response = self.response_spec(exchange, &super::new_record_id());
        response.payload_digest = Some(payload_digest.clone());
        if let Some(reason) = truncated {
            response.extra.push(("WARC-Truncated".into(), reason.to_owned()));
        }
        let response_id = response.record_id.clone();
        let date = response.date.clone();
        let (request, request_head) = self.request_spec(exchange, &response_id);
        let (file, placed) = self.append(vec![
            PendingRecord {
                spec: request,
                head: request_head,
                body: None,
            },
            PendingRecord {
                spec: response,
                head: exchange.response_head.clone(),
                body: Some((body, digests.map(|(block, _)| block))),
            },
        ])?;
        let (offset, length) = placed[1];
        let line = self.cdxj(exchange, file_name(&file), &payload_digest, offset, length, None);
        let original = Original {
            file,
            record: WarcRecordRef {
                offset,
                length,
                record_id: response_id,
                date,
                payload_digest,
            },
            url: exchange.url.to_string(),
        };
        Ok((original, line))
    }

    /// Puts a body's record, written in a file of its own, in place in `warc/`, and returns
    /// the record and its CDXJ line. The file is durable after the next checkpoint's flush.
    pub fn keep(&self, exchange: &Exchange, body: RawBodyRecord) -> Result<(Original, String), WarcError> {
        let RawBodyRecord { record_id, file } = body;
        let StreamedFile {
            part, tmp, streamed, ..
        } = file;
        let path = self.archive.join(&part);
        tmp.persist(&path)?;
        self.parts
            .lock()
            .expect("no panics while the parts lock is held")
            .insert(part.clone(), streamed.file_length);
        let payload_digest = super::sha256_label(&streamed.payload_digest);
        let line = self.cdxj(exchange, file_name(&part), &payload_digest, 0, streamed.length, None);
        let original = Original {
            file: part,
            record: WarcRecordRef {
                offset: 0,
                length: streamed.length,
                record_id,
                date: super::warc_date(exchange.date),
                payload_digest,
            },
            url: exchange.url.to_string(),
        };
        Ok((original, line))
    }

    /// Writes a request and a revisit record: the payload is the one `original` holds, because
    /// the bytes were identical (`profile` identical-payload-digest) or the server said 304
    /// (server-not-modified). The revisit's block is an HTTP response head alone: for
    /// identical-payload-digest the response's own, for server-not-modified the original's
    /// head brought up to date by the 304 ([`revalidated_head`], which says why). Returns its
    /// CDXJ line.
    pub fn write_revisit(
        &self,
        exchange: &Exchange,
        profile: &str,
        original: Option<&Original>,
    ) -> Result<String, WarcError> {
        let head = match original {
            Some(original) if profile == super::PROFILE_SERVER_NOT_MODIFIED => {
                // An original whose head cannot be read (a damaged record of an earlier run)
                // leaves the 304 as received: still a valid revisit, which pywb and our own
                // `serve` resolve through the original, but not one ReplayWeb.page replays.
                crate::payload::record_http_head(
                    &self.archive,
                    &original.file,
                    original.record.offset,
                    original.record.length,
                )
                .map_or_else(
                    |_| exchange.response_head.clone(),
                    |head| revalidated_head(&head, &exchange.response_head),
                )
            }
            _ => exchange.response_head.clone(),
        };
        let mut revisit = self.response_spec(exchange, &super::new_record_id());
        revisit.kind = RecordType::Revisit;
        revisit.profile = Some(profile.to_owned());
        if let Some(original) = original {
            revisit.refers_to = Some(original.record.record_id.clone());
            revisit.refers_to_target_uri = Some(original.url.clone());
            revisit.refers_to_date = Some(original.record.date.clone());
            revisit.payload_digest = Some(original.record.payload_digest.clone());
        }
        let digest = revisit.payload_digest.clone().unwrap_or_default();
        let (request, request_head) = self.request_spec(exchange, &revisit.record_id);
        let (file, placed) = self.append(vec![
            PendingRecord {
                spec: request,
                head: request_head,
                body: None,
            },
            PendingRecord {
                spec: revisit,
                head,
                body: None,
            },
        ])?;
        let (offset, length) = placed[1];
        Ok(self.cdxj(exchange, file_name(&file), &digest, offset, length, Some("revisit")))
    }

    fn cdxj(
        &self,
        exchange: &Exchange,
        file_name: &str,
        digest: &str,
        offset: u64,
        length: u64,
        kind: Option<&str>,
    ) -> String {
        super::cdxj_line(&super::CdxjEntry {
            url: exchange.url.to_string(),
            timestamp: super::timestamp14(exchange.date),
            digest: digest.to_owned(),
            mime: exchange.mime.clone(),
            status: exchange.status.to_string(),
            filename: file_name.to_owned(),
            offset,
            length,
            record_type: kind.map(str::to_owned),
        })
    }
}

/// Header fields a 304 does not update in the head of a server-not-modified revisit: those
/// that describe the stored payload's bytes (which are the original's, as received), and the
/// connection-specific ones, which describe neither response's representation.
const NOT_REVALIDATED: &[&str] = &[
    "content-length",
    "content-encoding",
    "content-type",
    "content-range",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// The HTTP head of a `server-not-modified` revisit: the original response's head (its status
/// line and fields), each field the 304 also sent replaced by the 304's, and the 304's other
/// fields added; the fields in `NOT_REVALIDATED` stay the original's.
///
/// Why not the 304 as received: replay tools serve a revisit's payload (the original's bytes)
/// under the revisit's own HTTP head whenever it has one.
/// - wabac.js (ReplayWeb.page), `src/remotearchivedb.ts`, `loadPayload`: "if revisit record has
///   header, use those, otherwise use headers from original" — it copies only Content-Length
///   from the original, so a 304's head without `Content-Encoding: gzip` and `Content-Type`
///   serves a gzip body as a raw script or stylesheet ("Invalid or unexpected token").
/// - pywb 2.10, `warcserver/resource/responseloader.py`: `http_headers = headers.http_headers or
///   payload.http_headers` (the revisit's head first), and `apps/wbrequestresponse.py` sends no
///   body at all for a status line starting with 304. So the status line must be the
///   original's.
///
/// The WARC 1.1 specification allows this block: a server-not-modified revisit "may have no
/// content body"; "if a content body is present, it should be interpreted the same as a
/// 'response' record type for the same URI, truncated if desired", and its payload "is defined
/// as the original payload content". The head written is the one an HTTP cache holds after the
/// same revalidation (RFC 9111 §4.3.4: a 304's fields update the stored response's, except
/// Content-Length, and a cache that stored a decoded body keeps its Content-Encoding). The
/// record still says it was a 304: its `WARC-Profile` is server-not-modified, and its ETag,
/// Last-Modified, Date and Cache-Control are the 304's where it sent them.
pub fn revalidated_head(original: &[u8], not_modified: &[u8]) -> Vec<u8> {
    let original = split_head(original);
    let update = split_head(not_modified);
    let updatable = |name: &str| !NOT_REVALIDATED.iter().any(|n| n.eq_ignore_ascii_case(name));
    let updated = |name: &str| updatable(name) && update.fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut out = original.status_line.to_vec();
    let mut placed: Vec<&str> = Vec::new();
    for (name, line) in &original.fields {
        if !updated(name) {
            out.extend_from_slice(line);
            continue;
        }
        // A field the 304 sent takes the original's place, all its lines at once.
        if !placed.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            placed.push(name);
            for (_, line) in update.fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
                out.extend_from_slice(line);
            }
        }
    }
    for (name, line) in &update.fields {
        let in_original = original.fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if updatable(name) && !in_original {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// An HTTP head split into its status line and its field lines (each with its line end), as
/// [`super::http_response_head`] writes them.
struct SplitHead<'a> {
    status_line: &'a [u8],
    fields: Vec<(&'a str, &'a [u8])>,
}

fn split_head(head: &[u8]) -> SplitHead<'_> {
    let mut lines = head.split_inclusive(|&b| b == b'\n');
    let status_line = lines.next().unwrap_or_default();
    let fields = lines
        .take_while(|line| !matches!(*line, b"\r\n" | b"\n"))
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = std::str::from_utf8(&line[..colon]).ok()?.trim();
            Some((name, line))
        })
        .collect();
    SplitHead { status_line, fields }
}

/// The file name alone of a WARC file relative to the archive, as CDXJ lines name it.
fn file_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A large body's finished record, with the id its response record carries.
#[derive(Debug)]
pub struct RawBodyRecord {
    record_id: String,
    file: StreamedFile,
}

#[cfg(test)]
mod tests {
    use super::super::index::index_warc;
    use super::super::{PROFILE_IDENTICAL_PAYLOAD_DIGEST, PROFILE_SERVER_NOT_MODIFIED, http_response_head, warc_date};
    use super::*;

    fn head(status: u16, fields: &[(&str, &str)]) -> Vec<u8> {
        let fields: Vec<(String, Vec<u8>)> = fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        let reason = if status == 304 { "Not Modified" } else { "OK" };
        http_response_head("HTTP/1.1", status, reason, &fields)
    }

    fn exchange(status: u16, fields: &[(&str, &str)], second: i64) -> Exchange {
        Exchange {
            url: url::Url::parse("http://example.com/style.css").unwrap(),
            date: chrono::DateTime::from_timestamp(1_767_232_984 + second, 0).unwrap(),
            request_head: b"GET /style.css HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
            response_head: head(status, fields),
            status,
            mime: "text/css".into(),
        }
    }

    /// The original's head, updated by the 304's fields except those describing the bytes.
    #[test]
    fn a_304_updates_the_original_head_but_not_what_describes_the_payload() {
        let original = head(
            200,
            &[
                ("Content-Type", "text/css"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", "120"),
                ("ETag", "\"v1\""),
                ("Cache-Control", "max-age=60"),
                ("Vary", "Accept-Encoding"),
                ("Date", "Mon, 01 Jun 2026 10:00:00 GMT"),
            ],
        );
        let not_modified = head(
            304,
            &[
                ("date", "Tue, 02 Jun 2026 10:00:00 GMT"),
                ("etag", "\"v1b\""),
                ("content-length", "0"),
                ("content-type", "text/plain"),
                ("connection", "keep-alive"),
                ("Expires", "Tue, 02 Jun 2026 10:01:00 GMT"),
                ("cache-control", "no-cache"),
                ("cache-control", "private"),
            ],
        );
        let merged = String::from_utf8(revalidated_head(&original, &not_modified)).unwrap();
        assert_eq!(
            merged,
            "HTTP/1.1 200 OK\r\n\
             Content-Type: text/css\r\n\
             Content-Encoding: gzip\r\n\
             Content-Length: 120\r\n\
             etag: \"v1b\"\r\n\
             cache-control: no-cache\r\n\
             cache-control: private\r\n\
             Vary: Accept-Encoding\r\n\
             date: Tue, 02 Jun 2026 10:00:00 GMT\r\n\
             Expires: Tue, 02 Jun 2026 10:01:00 GMT\r\n\
             \r\n"
        );
    }

    /// The records a second run writes: a server-not-modified revisit whose block is the
    /// original's head brought up to date, with no body, and an identical-payload-digest
    /// revisit whose block is the response's own head.
    #[test]
    fn revisit_records_carry_the_head_replay_tools_serve_the_payload_under() {
        let dir = tempfile::tempdir().unwrap();
        let at = chrono::DateTime::from_timestamp(1_767_232_984, 0).unwrap();
        let warc = RunWarc::create(dir.path(), "20260101T020304Z-abcd", warc_date(at), &[]).unwrap();
        let ok = exchange(
            200,
            &[
                ("content-type", "text/css"),
                ("content-encoding", "gzip"),
                ("etag", "\"v1\""),
                ("last-modified", "Mon, 01 Jun 2026 10:00:00 GMT"),
            ],
            0,
        );
        let body = b"\x1f\x8b not really gzip, but bytes as received";
        let (original, _) = warc.write_response(&ok, body, None, None).unwrap();
        let not_modified = exchange(304, &[("etag", "\"v1\""), ("date", "Tue, 02 Jun 2026 10:00:00 GMT")], 5);
        let line = warc
            .write_revisit(&not_modified, PROFILE_SERVER_NOT_MODIFIED, Some(&original))
            .unwrap();
        let same = exchange(200, &[("content-type", "text/css"), ("etag", "\"v1\"")], 9);
        warc.write_revisit(&same, PROFILE_IDENTICAL_PAYLOAD_DIGEST, Some(&original))
            .unwrap();

        let index = index_warc(&dir.path().join(warc.name())).unwrap();
        assert!(index.problems.is_empty(), "{:?}", index.problems);
        let [response, revisit, identical] = &index.records[..] else {
            panic!("{:#?}", index.records);
        };
        assert!(!response.is_revisit() && revisit.is_revisit() && identical.is_revisit());
        assert_eq!(revisit.profile.as_deref(), Some(PROFILE_SERVER_NOT_MODIFIED));
        assert_eq!(revisit.refers_to.as_ref(), Some(&response.info.record_id));
        assert_eq!(revisit.info.payload_digest, response.info.payload_digest);
        let http = revisit.http.as_ref().unwrap();
        assert_eq!(
            http.status, 304,
            "what the server answered, though the block says 200 (below)"
        );
        assert_eq!(http.header("content-type").as_deref(), Some("text/css"));
        assert_eq!(http.header("content-encoding").as_deref(), Some("gzip"));
        assert_eq!(http.header("etag").as_deref(), Some("\"v1\""));
        assert_eq!(
            http.header("last-modified").as_deref(),
            Some("Mon, 01 Jun 2026 10:00:00 GMT")
        );
        assert_eq!(
            http.header("date").as_deref(),
            Some("Tue, 02 Jun 2026 10:00:00 GMT"),
            "the 304's"
        );
        // The block is the head alone: the payload stays in the original's record.
        let bytes = std::fs::read(dir.path().join(warc.name())).unwrap();
        let member = &bytes[revisit.info.offset as usize..(revisit.info.offset + revisit.info.length) as usize];
        let mut record = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(member), &mut record).unwrap();
        let record = String::from_utf8_lossy(&record);
        let (_, block) = record.split_once("\r\n\r\n").unwrap();
        assert!(block.starts_with("HTTP/1.1 200 OK\r\n"), "{record}");
        assert!(
            block.ends_with("\r\n\r\n\r\n\r\n"),
            "a head, then the record's end: {record}"
        );
        assert!(!block.contains("not really gzip"), "{record}");
        // The index line is pywb's revisit line, as before.
        assert!(line.contains("\"mime\": \"warc/revisit\""), "{line}");

        let http = identical.http.as_ref().unwrap();
        assert_eq!(http.header("content-encoding"), None, "the response's own head");
        assert_eq!(http.status, 200);
    }

    /// An original that cannot be read leaves the 304's head as received.
    #[test]
    fn an_unreadable_original_leaves_the_304_as_received() {
        let dir = tempfile::tempdir().unwrap();
        let at = chrono::DateTime::from_timestamp(1_767_232_984, 0).unwrap();
        let warc = RunWarc::create(dir.path(), "20260101T020304Z-abcd", warc_date(at), &[]).unwrap();
        let original = Original {
            file: "warc/gone.warc.gz".into(),
            record: WarcRecordRef {
                offset: 0,
                length: 100,
                record_id: "<urn:uuid:gone>".into(),
                date: "2026-01-01T00:00:00Z".into(),
                payload_digest: "sha256:AAAA".into(),
            },
            url: "http://example.com/style.css".into(),
        };
        let not_modified = exchange(304, &[("etag", "\"v1\"")], 5);
        warc.write_revisit(&not_modified, PROFILE_SERVER_NOT_MODIFIED, Some(&original))
            .unwrap();
        let index = index_warc(&dir.path().join(warc.name())).unwrap();
        let http = index.records[0].http.as_ref().unwrap();
        assert_eq!(http.status, 304);
        assert_eq!(http.header("etag").as_deref(), Some("\"v1\""));
    }
}
