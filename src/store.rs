//! The archive directory's own housekeeping, and the 0.1.0 object store.
//!
//! Payloads live in WARC records now (issue #13, [`crate::warc::run`]); what stays here is
//! what every writer shares: the `tmp/` directory where files are written until whole
//! ([`TempPath`]), one flush of the archive's filesystem per checkpoint ([`Store::sync`]), the
//! [`PayloadSink`] a download's decoded bytes go to, and, for archives written by 0.1.0, the
//! content-addressed `objects/sha256/<2 hex>/<62 hex>` files they keep until
//! `repair --migrate` moves them into WARC.
//!
//! Durability comes in batches: rather than an fsync per file (a stall of half a millisecond
//! or more each, thousands of times a run), [`Store::sync`] flushes the archive's filesystem
//! once before every checkpoint, so the journal never points at a WARC record that a power
//! cut could take back.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where objects live, relative to the archive root.
pub const OBJECTS_DIR: &str = "objects/sha256";
/// Where downloads in progress live, relative to the archive root; emptied at each run's start.
pub const TMP_DIR: &str = "tmp";

/// Where a download's decoded payload goes: a hasher ([`HashSink`], `verify --live`), or what
/// `archive` keeps of it (size, hash, the bytes a title is read from). Writes are synchronous
/// and must not block: the archive's WARC record is written elsewhere ([`crate::warc::run`]).
pub trait PayloadSink {
    /// Appends bytes to the payload.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
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
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
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

impl TempPath {
    /// Takes charge of the file at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self(Some(path))
    }

    /// Renames the file to `to`, where it stays. Blocking.
    pub fn persist(mut self, to: &Path) -> io::Result<()> {
        let from = self.0.as_ref().expect("armed until persisted");
        std::fs::rename(from, to)?;
        self.0 = None;
        Ok(())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
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
}
