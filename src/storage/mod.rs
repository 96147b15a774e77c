//! Where an archive lives: a local directory, or a bucket of S3-compatible object storage
//! (`--archive s3://bucket/prefix`, issue #18).
//!
//! Every command works on an archive directory. For a bucket, that directory is a working copy
//! that [`Remote`] keeps in step with the bucket at the points the archive's design makes
//! durable (opening, checkpoints, compaction, the end of a command); the lock becomes a lease
//! object ([`lease`]). The working copy is process-wide ([`remote`]) because the readers that
//! fetch a WARC file on first use sit deep in synchronous code (`payload`, `verify`, `export`)
//! that every command shares.

pub mod bucket;
pub mod lease;
pub mod profile;
mod remote;

use std::sync::OnceLock;

pub use lease::Scope;
pub use remote::{Needs, Remote};

static REMOTE: OnceLock<Remote> = OnceLock::new();

/// Whether `--archive` names an archive in object storage rather than a directory.
pub fn is_bucket_url(archive: &str) -> bool {
    archive.starts_with("s3://")
}

/// The archive in object storage this process works on, if it works on one.
pub fn remote() -> Option<&'static Remote> {
    REMOTE.get()
}

/// Makes `remote` the archive this process works on. Only once per process.
pub fn set_remote(remote: Remote) -> &'static Remote {
    if REMOTE.set(remote).is_err() {
        panic!("one process works on one archive in object storage");
    }
    REMOTE.get().expect("just set")
}

/// Makes the WARC file `name` (relative to the archive) local when the archive is in a
/// bucket; a failure is logged, and the reader then finds the file missing.
pub fn fetch_warc(name: &str) {
    if let Some(remote) = remote()
        && let Err(e) = remote.fetch_missing(name)
    {
        tracing::error!("cannot fetch {}: {e:#}", remote.bucket().url_of(name));
    }
}

/// Makes the latest `latest` run reports local when the archive is in a bucket; a failure is
/// logged, and the reader then goes without the reports it could not have.
pub fn fetch_run_reports(latest: usize) {
    if let Some(remote) = remote()
        && let Err(e) = remote.fetch_run_reports(latest)
    {
        tracing::error!("cannot fetch the run reports of {}: {e:#}", remote.bucket().url());
    }
}

/// Makes every WARC file local when the archive is in a bucket.
pub fn fetch_all_warcs() -> std::io::Result<()> {
    match remote() {
        Some(remote) => remote
            .fetch_all_warcs()
            .map_err(|e| std::io::Error::other(format!("{e:#}"))),
        None => Ok(()),
    }
}
