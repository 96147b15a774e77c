//! Content-addressed objects: `objects/sha256/<2 hex>/<62 hex>`, one read-only file per
//! distinct payload. Bodies stream through SHA-256 into a temporary file inside the archive,
//! which is renamed into place once whole, so an object either exists whole or not at all.
//! A large body does this on a thread of its own ([`WorkerSink`]), beside the download.
//!
//! Durability comes in batches: rather than an fsync per object (a stall of half a millisecond
//! or more each, thousands of times a run), [`Store::sync`] flushes the archive's filesystem
//! once before every manifest checkpoint, so the manifest never points at an object, or a WARC
//! record, that a power cut could take back.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Where objects live, relative to the archive root.
pub const OBJECTS_DIR: &str = "objects/sha256";
/// Where downloads in progress live, relative to the archive root; emptied at each run's start.
pub const TMP_DIR: &str = "tmp";
/// Write buffer for object files.
const WRITE_BUFFER: usize = 256 * 1024;

/// Where a downloaded payload goes: an object file, or only a hasher (`verify --live`).
/// Writes are synchronous: they land in the page cache and return at once; making them durable
/// is [`Store::sync`]'s job, once per manifest checkpoint.
pub trait PayloadSink {
    /// Appends bytes to the payload. The chunk is owned (a cheap reference-counted buffer) so
    /// that a sink can hand it to another thread without copying it, as [`WorkerSink`] does.
    fn write(&mut self, bytes: Bytes) -> io::Result<()>;
    /// Bytes written so far.
    fn size(&self) -> u64;
}

/// A sink that only hashes: for comparing a live payload with a snapshot.
#[derive(Debug, Default)]
pub struct HashSink {
    hasher: Sha256,
    size: u64,
}

impl HashSink {
    /// The SHA-256 (hex) and size of what was written.
    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.size)
    }
}

impl PayloadSink for HashSink {
    fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.hasher.update(&bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// A content-addressed object store rooted at an archive directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// An object now stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// SHA-256 of the payload, lower-case hex.
    pub sha256: String,
    /// Payload size in bytes.
    pub size: u64,
    /// The object's path relative to the archive root, `objects/sha256/ab/cdef…`.
    pub object: String,
    /// Whether a copy already stored under this hash no longer held these bytes and was
    /// replaced by this one.
    pub repaired: bool,
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The 32 bytes of a SHA-256 written in hex.
pub fn digest_bytes(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Whether `text` looks like a SHA-256 in lower-case hex.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The path of an object relative to the archive root. Derived from the hash alone, so that
/// no manifest entry or remote response can choose a local path.
pub fn object_rel_path(sha256: &str) -> String {
    format!("{OBJECTS_DIR}/{}/{}", &sha256[..2], &sha256[2..])
}

impl Store {
    /// A store rooted at `root` (the archive directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The archive directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path of the object with this hash, or `None` if `sha256` is not a hash.
    pub fn object_path(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256_hex(sha256).then(|| self.root.join(object_rel_path(sha256)))
    }

    /// Makes everything written to the archive so far durable: objects, their renames, WARC
    /// records. One `syncfs(2)` of the archive's filesystem where there is one (Linux), `sync(2)`
    /// elsewhere. Blocking.
    pub fn sync(&self) -> io::Result<()> {
        let dir = std::fs::File::open(&self.root)?;
        sync_filesystem(&dir)
    }

    /// Removes downloads left behind by a run that was killed. Call only while holding the
    /// archive lock, or another run's download could vanish under it.
    pub fn clean_tmp(&self) -> io::Result<usize> {
        let dir = self.root.join(TMP_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            std::fs::remove_file(entry?.path())?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Starts a new object: a temporary file that becomes an object when finished, and is
    /// removed if the writer is dropped first (a failed or cancelled download).
    pub fn create(&self) -> io::Result<ObjectWriter> {
        let (file, tmp) = self.temp_file()?;
        Ok(ObjectWriter {
            file: io::BufWriter::with_capacity(WRITE_BUFFER, file),
            hasher: Sha256::new(),
            size: 0,
            tmp,
            root: self.root.clone(),
        })
    }

    /// A new file in `tmp/`, removed when the returned [`TempPath`] is dropped.
    pub fn temp_file(&self) -> io::Result<(std::fs::File, TempPath)> {
        let dir = self.root.join(TMP_DIR);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}-{:016x}.part", std::process::id(), fastrand::u64(..)));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((file, TempPath(Some(path))))
    }
}

#[cfg(target_os = "linux")]
fn sync_filesystem(dir: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: syncfs only reads the descriptor, which `dir` keeps open for the call.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(dir: &std::fs::File) -> io::Result<()> {
    // No per-filesystem flush: flush the directory itself and everything else with it.
    dir.sync_all()?;
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    Ok(())
}

/// A temporary file's path: the file is removed when this is dropped, unless it was renamed
/// into place first.
#[derive(Debug)]
pub struct TempPath(Option<PathBuf>);

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// An object being written: bytes go through the hasher into a temporary file.
#[derive(Debug)]
pub struct ObjectWriter {
    file: io::BufWriter<std::fs::File>,
    hasher: Sha256,
    size: u64,
    tmp: TempPath,
    root: PathBuf,
}

impl PayloadSink for ObjectWriter {
    fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        use io::Write;
        self.hasher.update(&bytes);
        self.size += bytes.len() as u64;
        self.file.write_all(&bytes)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

impl ObjectWriter {
    /// Moves the payload to its content address, read-only. If an object with the same hash is
    /// there already and still hashes to it, the new copy is discarded: identical payloads are
    /// stored once. A stored copy that does not (a flipped bit keeps its size) is replaced by
    /// this one, atomically, and the object is marked `repaired`. The object is durable after
    /// the next [`Store::sync`].
    pub async fn finish(mut self) -> io::Result<StoredObject> {
        let file = self.file.into_inner().map_err(io::IntoInnerError::into_error)?;
        let sha256 = hex(&self.hasher.finalize());
        let object = object_rel_path(&sha256);
        let path = self.root.join(&object);
        let size = self.size;
        let tmp = self.tmp.0.clone().expect("armed until renamed");
        let expected = sha256.clone();
        let placed = tokio::task::spawn_blocking(move || -> io::Result<Placed> {
            let mut permissions = file.metadata()?.permissions();
            permissions.set_readonly(true);
            file.set_permissions(permissions)?;
            drop(file);
            let stored = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
            if stored && hash_file(&path).is_ok_and(|found| found == (expected, size)) {
                return Ok(Placed::Reused);
            }
            let dir = path.parent().expect("objects have a parent directory");
            std::fs::create_dir_all(dir)?;
            // Over a damaged copy too: rename replaces it in one step (the read-only mode
            // guards the file's bytes, not its name), so readers see one copy or the other.
            std::fs::rename(&tmp, &path)?;
            Ok(if stored { Placed::Repaired } else { Placed::New })
        })
        .await
        .map_err(io::Error::other)??;
        if placed != Placed::Reused {
            self.tmp.0 = None;
        }
        Ok(StoredObject {
            sha256,
            size,
            object,
            repaired: placed == Placed::Repaired,
        })
    }
}

/// What [`ObjectWriter::finish`] did with a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    /// Moved into place: no object had its hash.
    New,
    /// Discarded: the stored object holds the same bytes.
    Reused,
    /// Moved into place over a stored object that no longer held its bytes.
    Repaired,
}

/// Payloads up to this size are written on the downloading task itself: below it a thread
/// costs about what it saves, and an archive run fetches many small pages at once anyway.
pub const WORKER_THRESHOLD: u64 = 1024 * 1024;
/// Bytes gathered before they are handed to a [`WorkerSink`]'s thread in one batch. Every
/// hand-over can wake a sleeping thread, which costs far more than hashing a 64 KiB chunk
/// takes (the more so in a virtual machine); a batch wakes it once per 256 KiB.
const WORKER_BATCH: usize = 256 * 1024;
/// Batches queued for the thread: enough to ride out a short hiccup on either side, few
/// enough that memory stays flat (under 2 MiB with the batch being filled and the one being
/// written) for any body size.
const WORKER_QUEUE: usize = 4;

/// A payload sink that moves to a thread of its own once the payload passes a threshold, so
/// that a large download uses two cores: the task reading the socket computes the WARC block
/// digest while this thread hashes and writes the object.
///
/// Chunks reach the thread in batches, through a small bounded queue. When it is full, `write`
/// blocks until the thread catches up, which paces the socket reads to the disk and keeps
/// memory flat. The thread stops at its sink's first write error, which the next hand-over or
/// [`WorkerSink::into_inner`] returns. Dropping the sink unfinished (a failed or cancelled
/// download) closes the queue and waits for the thread, which drops the inner sink: for an
/// [`ObjectWriter`], its temporary file is gone when the drop returns, as without a thread.
pub struct WorkerSink<S> {
    state: WorkerState<S>,
    size: u64,
    threshold: u64,
}

enum WorkerState<S> {
    /// Still small: written on the caller's thread.
    Inline(S),
    /// On its thread, which gives the sink back once `batches` is closed.
    Threaded {
        /// Chunks not handed over yet, and their total size.
        batch: Vec<Bytes>,
        batch_size: usize,
        batches: mpsc::SyncSender<Vec<Bytes>>,
        thread: thread::JoinHandle<io::Result<S>>,
    },
    /// Given back by [`WorkerSink::into_inner`], or lost with a thread that failed.
    Ended,
}

impl<S: PayloadSink + Send + 'static> WorkerSink<S> {
    /// Wraps `sink`, which moves to its own thread once more than `threshold` bytes were
    /// written ([`WORKER_THRESHOLD`] for downloads).
    pub fn new(sink: S, threshold: u64) -> Self {
        Self {
            state: WorkerState::Inline(sink),
            size: 0,
            threshold,
        }
    }

    /// Hands the last batch over, waits until the thread has written what is queued (a short
    /// block of the caller's thread), and gives the sink back, or the first error it met.
    pub fn into_inner(mut self) -> io::Result<S> {
        self.hand_over()?;
        self.end()
    }

    /// Moves the sink to its thread.
    fn start_thread(&mut self) -> io::Result<()> {
        let WorkerState::Inline(mut sink) = std::mem::replace(&mut self.state, WorkerState::Ended) else {
            return Ok(());
        };
        let (batches, queued) = mpsc::sync_channel::<Vec<Bytes>>(WORKER_QUEUE);
        let thread = thread::Builder::new()
            .name("payload-writer".into())
            .spawn(move || {
                // Ends when the queue is closed: by `into_inner`, or by a drop mid-download.
                for batch in queued {
                    for chunk in batch {
                        sink.write(chunk)?;
                    }
                }
                Ok(sink)
            })
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start a thread for the payload: {e}")))?;
        self.state = WorkerState::Threaded {
            batch: Vec::new(),
            batch_size: 0,
            batches,
            thread,
        };
        Ok(())
    }

    /// Sends the gathered chunks to the thread, or returns the error that stopped it.
    fn hand_over(&mut self) -> io::Result<()> {
        let WorkerState::Threaded {
            batch,
            batch_size,
            batches,
            ..
        } = &mut self.state
        else {
            return Ok(());
        };
        *batch_size = 0;
        if batches.send(std::mem::take(batch)).is_ok() {
            return Ok(());
        }
        // The queue is only closed on the thread's side when its sink failed: return that error.
        match self.end() {
            Err(e) => Err(e),
            Ok(_) => Err(io::Error::other("the thread writing the payload ended early")),
        }
    }

    /// Closes the queue (dropping chunks not handed over), waits for the thread and returns
    /// what it returned.
    fn end(&mut self) -> io::Result<S> {
        match std::mem::replace(&mut self.state, WorkerState::Ended) {
            WorkerState::Inline(sink) => Ok(sink),
            WorkerState::Threaded { batches, thread, .. } => {
                drop(batches);
                thread
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the thread writing the payload panicked")))
            }
            WorkerState::Ended => Err(abandoned()),
        }
    }

    #[cfg(test)]
    fn is_threaded(&self) -> bool {
        matches!(self.state, WorkerState::Threaded { .. })
    }
}

impl<S: PayloadSink + Send + 'static> PayloadSink for WorkerSink<S> {
    fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.size += bytes.len() as u64;
        if let WorkerState::Inline(sink) = &mut self.state {
            if self.size <= self.threshold {
                return sink.write(bytes);
            }
            self.start_thread()?;
        }
        let WorkerState::Threaded { batch, batch_size, .. } = &mut self.state else {
            return Err(abandoned());
        };
        *batch_size += bytes.len();
        batch.push(bytes);
        if *batch_size < WORKER_BATCH {
            return Ok(());
        }
        self.hand_over()
    }

    fn size(&self) -> u64 {
        self.size
    }
}

impl<S> std::fmt::Debug for WorkerSink<S> {
    // By hand: a derived Debug would print the queued chunks, up to 256 KiB of payload.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            WorkerState::Inline(_) => "inline",
            WorkerState::Threaded { .. } => "threaded",
            WorkerState::Ended => "ended",
        };
        f.debug_struct("WorkerSink")
            .field("state", &state)
            .field("size", &self.size)
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// The error for a [`WorkerSink`] used after its thread failed (or could not start).
fn abandoned() -> io::Error {
    io::Error::other("the payload was abandoned after an earlier error")
}

impl<S> Drop for WorkerSink<S> {
    fn drop(&mut self) {
        // Wait for the thread, so that nothing it owns (a temporary file) outlives the sink.
        if let WorkerState::Threaded { batches, thread, .. } = std::mem::replace(&mut self.state, WorkerState::Ended) {
            drop(batches);
            let _ = thread.join();
        }
    }
}

/// What `verify` found for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectState {
    /// Present, with the expected size and hash.
    Intact,
    /// No file at its path.
    Missing,
    /// Present, but not the recorded bytes.
    Corrupt {
        /// What the file is now.
        size: u64,
        sha256: String,
    },
    /// Present but unreadable.
    Unreadable(String),
}

/// An object file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundObject {
    /// The hash its path names.
    pub sha256: String,
    /// Its path relative to the archive root.
    pub object: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Store {
    /// Checks that each `(sha256, size)` has an intact object, hashing files in parallel on
    /// `threads` threads, each streaming its file. Blocking: call from a blocking context.
    pub fn check_objects(&self, wanted: &[(String, u64)], threads: usize) -> Vec<ObjectState> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = threads.clamp(1, wanted.len().max(1));
        let checked: Vec<Vec<(usize, ObjectState)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        // Work-stealing by index: big and small files balance across threads.
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((sha256, size)) = wanted.get(i) else { break };
                            mine.push((i, self.check_object(sha256, *size)));
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("hashing threads do not panic"))
                .collect()
        });
        let mut states = vec![ObjectState::Missing; wanted.len()];
        for (i, state) in checked.into_iter().flatten() {
            states[i] = state;
        }
        states
    }

    fn check_object(&self, sha256: &str, size: u64) -> ObjectState {
        let Some(path) = self.object_path(sha256) else {
            return ObjectState::Unreadable(format!("{sha256:?} is not a SHA-256"));
        };
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return ObjectState::Missing,
            Err(e) => return ObjectState::Unreadable(e.to_string()),
            Ok(meta) if !meta.is_file() => return ObjectState::Unreadable("not a regular file".into()),
            Ok(meta) if meta.len() != size => {
                // No need to hash a file of the wrong size, but say what it hashes to anyway:
                // it helps tell truncation from replacement.
                let actual = hash_file(&path).map(|(h, _)| h).unwrap_or_default();
                return ObjectState::Corrupt {
                    size: meta.len(),
                    sha256: actual,
                };
            }
            Ok(_) => {}
        }
        match hash_file(&path) {
            Ok((actual, _)) if actual == sha256 => ObjectState::Intact,
            Ok((actual, actual_size)) => ObjectState::Corrupt {
                size: actual_size,
                sha256: actual,
            },
            Err(e) => ObjectState::Unreadable(e.to_string()),
        }
    }

    /// Every file under `objects/sha256/`, and the paths there that are not objects (files
    /// whose name is not a hash, or that sit in the wrong fan-out folder).
    pub fn list_objects(&self) -> io::Result<(Vec<FoundObject>, Vec<PathBuf>)> {
        let root = self.root.join(OBJECTS_DIR);
        let mut found = Vec::new();
        let mut strays = Vec::new();
        let fans = match std::fs::read_dir(&root) {
            Ok(fans) => fans,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((found, strays)),
            Err(e) => return Err(e),
        };
        for fan in fans {
            let fan = fan?;
            let fan_name = fan.file_name().to_string_lossy().into_owned();
            if !fan.file_type()?.is_dir() {
                strays.push(fan.path());
                continue;
            }
            for file in std::fs::read_dir(fan.path())? {
                let file = file?;
                let name = file.file_name().to_string_lossy().into_owned();
                let sha256 = format!("{fan_name}{name}");
                if file.file_type()?.is_file() && is_sha256_hex(&sha256) {
                    found.push(FoundObject {
                        object: object_rel_path(&sha256),
                        size: file.metadata()?.len(),
                        sha256,
                    });
                } else {
                    strays.push(file.path());
                }
            }
        }
        found.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        strays.sort();
        Ok((found, strays))
    }
}

/// Hashes a file by streaming it; returns the hex SHA-256 and the size.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn identical_payloads_are_stored_once_and_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut first = store.create().unwrap();
        first.write(Bytes::from_static(b"hello ")).unwrap();
        first.write(Bytes::from_static(b"world")).unwrap();
        let a = first.finish().await.unwrap();
        assert_eq!(
            a.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(a.object, format!("objects/sha256/b9/{}", &a.sha256[2..]));
        let mut second = store.create().unwrap();
        second.write(Bytes::from_static(b"hello world")).unwrap();
        let b = second.finish().await.unwrap();
        assert_eq!(a, b);
        let path = store.object_path(&a.sha256).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
        assert_eq!(hash_file(&path).unwrap(), (a.sha256.clone(), 11));
        // Nothing is left in tmp/.
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    }

    /// Issue #12: a stored copy is trusted for its hash, not its size.
    #[tokio::test]
    async fn a_damaged_copy_is_replaced_by_a_fresh_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let write = |bytes: &'static [u8]| {
            let mut writer = store.create().unwrap();
            writer.write(Bytes::from_static(bytes)).unwrap();
            writer.finish()
        };
        let first = write(b"hello world").await.unwrap();
        assert!(!first.repaired);
        let path = store.object_path(&first.sha256).unwrap();

        // Same size, one bit off: what a size check cannot see.
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&path, permissions).unwrap();
        std::fs::write(&path, b"hello wprld").unwrap();

        let again = write(b"hello world").await.unwrap();
        assert!(again.repaired);
        assert_eq!((&again.sha256, again.size), (&first.sha256, first.size));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);

        // Intact now: the next copy is dropped, and nothing is repaired.
        let third = write(b"hello world").await.unwrap();
        assert!(!third.repaired);
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_dropped_writer_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut writer = store.create().unwrap();
        writer.write(Bytes::from_static(b"partial")).unwrap();
        drop(writer);
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
        assert!(!dir.path().join(OBJECTS_DIR).exists());
    }

    #[test]
    fn hex_digests_round_trip() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 7) as u8);
        assert_eq!(digest_bytes(&hex(&bytes)), Some(bytes));
        assert_eq!(digest_bytes("zz"), None);
        assert_eq!(digest_bytes(&"g".repeat(64)), None);
    }

    #[test]
    fn object_paths_come_from_hashes_only() {
        let store = Store::new("/archive");
        assert_eq!(store.object_path("../../etc/passwd"), None);
        assert_eq!(store.object_path(&"A".repeat(64)), None);
        assert!(store.object_path(&"a".repeat(64)).is_some());
    }

    /// `count` chunks of pseudo-random bytes, of sizes from 1 byte to about 96 KiB.
    fn chunks(count: usize) -> Vec<Bytes> {
        let mut rng = fastrand::Rng::with_seed(3);
        (0..count)
            .map(|_| {
                let mut chunk = vec![0u8; rng.usize(1..96 * 1024)];
                rng.fill(&mut chunk);
                Bytes::from(chunk)
            })
            .collect()
    }

    #[tokio::test]
    async fn a_worker_sink_moves_to_its_thread_past_the_threshold_and_keeps_every_byte_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let chunks = chunks(40);
        let threshold = chunks[0].len() as u64;
        let mut sink = WorkerSink::new(store.create().unwrap(), threshold);

        sink.write(chunks[0].clone()).unwrap();
        assert!(!sink.is_threaded(), "up to the threshold, bytes are written inline");
        for chunk in &chunks[1..] {
            sink.write(chunk.clone()).unwrap();
        }
        assert!(sink.is_threaded());
        let object = sink.into_inner().unwrap().finish().await.unwrap();

        let payload = chunks.concat();
        assert_eq!(object.sha256, hex(&Sha256::digest(&payload)));
        assert_eq!(object.size, payload.len() as u64);
        assert_eq!(
            std::fs::read(store.object_path(&object.sha256).unwrap()).unwrap(),
            payload
        );
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    }

    #[test]
    fn dropping_a_threaded_worker_sink_ends_its_thread_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut sink = WorkerSink::new(store.create().unwrap(), 0);
        for chunk in chunks(20) {
            sink.write(chunk).unwrap();
        }
        assert!(sink.is_threaded());
        drop(sink);
        // The thread owned the object writer: its temporary file is gone only once the thread
        // has let go of it, so an empty tmp/ right after the drop shows the thread ended.
        assert_eq!(std::fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
        assert!(!dir.path().join(OBJECTS_DIR).exists());
    }

    /// A sink whose disk fills up after `room` bytes.
    #[derive(Debug)]
    struct FillingSink {
        room: u64,
        size: u64,
    }

    impl PayloadSink for FillingSink {
        fn write(&mut self, bytes: Bytes) -> io::Result<()> {
            if self.size + bytes.len() as u64 > self.room {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "the disk is full"));
            }
            self.size += bytes.len() as u64;
            Ok(())
        }

        fn size(&self) -> u64 {
            self.size
        }
    }

    #[test]
    fn a_write_error_on_the_thread_reaches_the_writer() {
        let mut sink = WorkerSink::new(FillingSink { room: 200_000, size: 0 }, 0);
        // The error comes back from a later write, or, if every chunk was queued before the
        // thread failed, from `into_inner`: either way it is the sink's error, not a hang.
        let from_write = chunks(40).into_iter().find_map(|chunk| sink.write(chunk).err());
        let error = match from_write {
            Some(e) => {
                assert!(sink.into_inner().is_err(), "a failed sink is not given back");
                e
            }
            None => sink.into_inner().unwrap_err(),
        };
        assert_eq!(error.kind(), io::ErrorKind::StorageFull, "{error}");
        assert_eq!(error.to_string(), "the disk is full");
    }
}
