//! Save Page Now jobs still running when a run ended (`archive/submissions.jsonl`), so that the
//! next `archive --submit` run polls them and records their results.
//!
//! A job goes into the file as soon as Save Page Now answers with its id, and leaves it once
//! its result is in the manifest. The file is small (a run adds at most `--submit-max` jobs)
//! and rewritten whole through a temporary file, an fsync and a rename, then an fsync of the
//! archive directory: a kill at any moment leaves either the old list or the new one, never a
//! torn line, and no append-and-compact scheme is needed for removing the jobs that finished.
//! A job whose result reached the manifest just before a kill stays listed; the next run polls
//! it again and finds its result recorded already.
//!
//! # Wire format
//! One JSON object per line:
//! ```json
//! {"archive":"wayback","link":"<id>","url":"<url submitted>","sha256":"<the capture's hash>",
//!  "first_seen":"<the capture's first_seen>","job_id":"spn2-…","submitted_at":"2026-11-29T02:00:00Z"}
//! ```
//! No credential is ever written here: a job is polled with the keys of the run that polls it.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The pending jobs' file, relative to the archive.
pub const PENDING_FILE: &str = "submissions.jsonl";

/// A submission Save Page Now accepted and has not finished, as far as the archive knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingJob {
    /// Which archive runs the job (`"wayback"`).
    pub archive: String,
    /// The link's id.
    pub link: String,
    /// The URL submitted (the link's URL in links.json).
    pub url: String,
    /// The SHA-256 of the capture the submission copies…
    pub sha256: String,
    /// …and when it was first seen: together they name the snapshot the result belongs to.
    pub first_seen: String,
    /// The archive's id for the job.
    pub job_id: String,
    /// When the archive accepted it (RFC 3339 UTC).
    pub submitted_at: String,
    /// Fields this build does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why the pending jobs' file cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the pending submissions {}", path.display())]
pub struct PendingWriteError {
    path: PathBuf,
    #[source]
    source: io::Error,
}

/// The pending jobs' file of the archive at `archive`.
pub fn pending_path(archive: &Path) -> PathBuf {
    archive.join(PENDING_FILE)
}

/// Reads the pending jobs of `archive` (none when the file is missing), and a warning for each
/// line that is not a job: such a line is dropped when the file is next written.
pub fn read(archive: &Path) -> io::Result<(Vec<PendingJob>, Vec<String>)> {
    let path = pending_path(archive);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let (mut jobs, mut warnings) = (Vec::new(), Vec::new());
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<PendingJob>(line) {
            Ok(job) => jobs.push(job),
            Err(e) => warnings.push(format!(
                "{} line {} is not a pending submission and is ignored: {e}",
                path.display(),
                index + 1
            )),
        }
    }
    Ok((jobs, warnings))
}

/// Replaces the pending jobs of `archive` with `jobs`, durably; no jobs removes the file.
pub fn write(archive: &Path, jobs: &[PendingJob]) -> Result<(), PendingWriteError> {
    let path = pending_path(archive);
    let write = || -> io::Result<()> {
        if jobs.is_empty() {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                other => other?,
            }
        } else {
            let mut text = String::new();
            for job in jobs {
                text.push_str(&serde_json::to_string(job).map_err(io::Error::other)?);
                text.push('\n');
            }
            crate::output::write_text(&path, &text)?;
        }
        // The rename (or the removal) is durable only once the directory is.
        std::fs::File::open(archive)?.sync_all()
    };
    write().map_err(|source| PendingWriteError { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(link: &str) -> PendingJob {
        PendingJob {
            archive: "wayback".into(),
            link: link.into(),
            url: format!("https://{link}.example/"),
            sha256: "ab".repeat(32),
            first_seen: "2026-11-29T02:00:00Z".into(),
            job_id: format!("spn2-{link}"),
            submitted_at: "2026-11-29T02:01:00Z".into(),
            extra: Map::new(),
        }
    }

    #[test]
    fn jobs_are_written_read_back_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), (Vec::new(), Vec::new()));
        let jobs = vec![job("a"), job("b")];
        write(dir.path(), &jobs).unwrap();
        assert_eq!(read(dir.path()).unwrap(), (jobs, Vec::new()));
        write(dir.path(), &[]).unwrap();
        assert!(!pending_path(dir.path()).exists());
        // Removing what is not there is fine.
        write(dir.path(), &[]).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temporary file left"
        );
    }

    #[test]
    fn a_damaged_line_is_a_warning_and_unknown_fields_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut kept = job("a");
        kept.extra.insert("note".into(), Value::from("later build"));
        let text = format!("{}\nnot json\n\n", serde_json::to_string(&kept).unwrap());
        std::fs::write(pending_path(dir.path()), text).unwrap();
        let (jobs, warnings) = read(dir.path()).unwrap();
        assert_eq!(jobs, [kept]);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("submissions.jsonl line 2 is not a pending submission"),
            "{warnings:?}"
        );
    }
}
