//! The archive lock (`archive/.lock`): one writing run at a time. It is an OS file lock
//! (`flock`), so the kernel releases it when its process dies, even by SIGKILL: a stale lock
//! file never blocks anyone. The file's text names the holder for the error message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file's name inside the archive.
pub const LOCK_FILE: &str = ".lock";
/// How often a run waiting with `--wait-lock` tries again.
const WAIT_POLL: Duration = Duration::from_millis(100);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the archive {} is locked by another run ({holder}); try again later or pass --wait-lock", archive.display())]
    Held { archive: PathBuf, holder: String },
    #[error("cannot lock {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held for a run; dropping it releases the archive.
#[derive(Debug)]
pub struct ArchiveLock {
    file: File,
}

impl ArchiveLock {
    /// Takes the lock of `archive` for `command`, or fails naming the holder. With `wait`,
    /// waits for the holder to finish instead.
    pub async fn acquire(archive: &Path, command: &str, wait: bool) -> Result<Self, LockError> {
        let path = archive.join(LOCK_FILE);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if wait => tokio::time::sleep(WAIT_POLL).await,
                Err(TryLockError::WouldBlock) => {
                    return Err(LockError::Held {
                        archive: archive.to_owned(),
                        holder: describe_holder(&mut file),
                    });
                }
                Err(TryLockError::Error(source)) => return Err(io_err(source)),
            }
        }
        let started = crate::report::timestamp(chrono::Utc::now());
        let text = format!("pid {} started {started} command {command}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(text.as_bytes()))
            .map_err(io_err)?;
        Ok(Self { file })
    }
}

impl Drop for ArchiveLock {
    fn drop(&mut self) {
        // Clear the holder's name so the file does not mislead; the kernel drops the lock
        // when the file is closed.
        let _ = self.file.set_len(0);
    }
}

fn describe_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    match text.trim() {
        "" => "holder unknown".to_owned(),
        holder => holder.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_lock_names_the_holder_and_waiters_get_it_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = ArchiveLock::acquire(dir.path(), "archive", false).await.unwrap();
        let err = ArchiveLock::acquire(dir.path(), "archive", false).await.unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("pid {}", std::process::id())), "{message}");
        assert!(message.contains("command archive"), "{message}");

        let dir_path = dir.path().to_owned();
        let waiter = tokio::spawn(async move { ArchiveLock::acquire(&dir_path, "archive", true).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "a waiter got a lock that was still held");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(second.is_ok());
    }
}
