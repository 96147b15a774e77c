//! The journal of runs in progress: where a run keeps the links it has finished but not yet
//! compacted into `manifest.json` and `index.cdxj` (SPEC, "The journal").
//!
//! A run with id R keeps its journal at `journal/R.jsonl` while it runs and removes it once
//! compacted; its WARC files are `warc/R.warc.gz` and `warc/R-<n>.warc.gz`. So a journal that
//! exists names a run that is still writing, or was killed and not yet recovered, and whose
//! last WARC file may end inside a record.

use std::path::{Path, PathBuf};

/// Where journals live, relative to the archive.
pub const JOURNAL_DIR: &str = "journal";

/// The journal of run `run_id` in the archive `archive`.
pub fn journal_path(archive: &Path, run_id: &str) -> PathBuf {
    archive.join(JOURNAL_DIR).join(format!("{run_id}.jsonl"))
}

/// The id of the run that wrote the WARC file named `name` (`R.warc.gz` or `R-<n>.warc.gz`,
/// R being `YYYYMMDDTHHMMSSZ-<suffix>`), or `None` for a name no run writes.
pub fn run_id_of_warc(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".warc.gz")?;
    // The run id's own `-` comes right after its timestamp; a second one starts `<n>`.
    let (time, rest) = stem.split_at_checked(16)?;
    let time_ok = time.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    let rest = rest.strip_prefix('-')?;
    let (suffix, n) = match rest.split_once('-') {
        Some((suffix, n)) => (suffix, Some(n)),
        None => (rest, None),
    };
    let suffix_ok = !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_alphanumeric());
    let n_ok = n.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    (time_ok && suffix_ok && n_ok).then(|| &stem[..16 + 1 + suffix.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_journal_sits_in_the_journal_folder() {
        assert_eq!(
            journal_path(Path::new("/a"), "20261129T020000Z-ab2c"),
            Path::new("/a/journal/20261129T020000Z-ab2c.jsonl")
        );
    }

    #[test]
    fn warc_files_name_their_run() {
        let run = Some("20261129T020000Z-ab2c");
        assert_eq!(run_id_of_warc("20261129T020000Z-ab2c.warc.gz"), run);
        assert_eq!(run_id_of_warc("20261129T020000Z-ab2c-2.warc.gz"), run);
        assert_eq!(run_id_of_warc("20261129T020000Z-ab2c-17.warc.gz"), run);
        // A suffix of digits is still the run's own.
        assert_eq!(
            run_id_of_warc("20261129T020000Z-2345.warc.gz"),
            Some("20261129T020000Z-2345")
        );
        for name in [
            "20261129T020000Z-ab2c.warc",
            "20261129T020000Z-ab2c.cdxj",
            "20261129T020000Z.warc.gz",
            "20261129T020000Z-.warc.gz",
            "20261129T020000Z-ab2c-.warc.gz",
            "20261129T020000Z-ab2c-x.warc.gz",
            "20261129T020000Z-ab2c-2-3.warc.gz",
            "20261129X020000Z-ab2c.warc.gz",
            "2026112T020000Z-ab2c.warc.gz",
            "../20261129T020000Z-ab2c.warc.gz",
            "20261129T020000Z-a/b.warc.gz",
            "sample.warc.gz",
            "",
        ] {
            assert_eq!(run_id_of_warc(name), None, "{name}");
        }
    }
}
