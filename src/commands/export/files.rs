//! `linkkeep export --files DIR`: every snapshot's payload as a plain file a person can open,
//! `DIR/<id>/<timestamp>.<ext>`, and `DIR/SHA256SUMS` in the format `sha256sum -c` reads.
//!
//! Names come from the manifest, never as they are: a link id becomes one path segment of
//! letters, digits, `-`, `_` and `.` (anything else percent-escaped, a leading dot too), the
//! timestamp is the capture's `first_seen` as 14 digits, and the extension comes from a fixed
//! table of content types (or, for a generic type, from the URL when it is a short run of
//! letters and digits). So no remote response or manifest text can name a path outside DIR.
//!
//! Every file is written beside its final name and renamed into place once whole and checked
//! against its SHA-256. A file already there with the same bytes is kept (an export can be
//! repeated after new captures); one with other bytes is never overwritten: the export then
//! writes nothing at all and says which.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::manifest::{MANIFEST_FILE, Manifest, Snapshot};
use crate::output::{write_output, write_text};
use crate::payload::{self, PayloadError};
use crate::store::{hash_file, hex};

/// The checksum file written into DIR.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// The longest path segment made of a link id; longer ones are cut and end in a hash of the id.
const MAX_SEGMENT: usize = 120;
/// How much of a long id's escaped form is kept before its hash.
const KEPT_OF_LONG_ID: usize = 100;

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Exported {
    /// Payload files in DIR now, as listed in `SHA256SUMS`.
    pub files: usize,
    /// Of those, files this export wrote.
    pub written: usize,
    /// Snapshots whose payload could not be read back intact, one line each: no file for them.
    pub failures: Vec<String>,
}

/// One snapshot's file: where it goes, relative to DIR.
#[derive(Debug)]
struct Planned<'m> {
    id: &'m str,
    snapshot: &'m Snapshot,
    /// `<segment>/<name>`, with `/` as separator as in `SHA256SUMS`.
    segment: String,
    name: String,
}

impl Planned<'_> {
    fn rel(&self) -> String {
        format!("{}/{}", self.segment, self.name)
    }

    fn path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.segment).join(&self.name)
    }
}

/// What is at a planned file's place before the export.
#[derive(Debug)]
enum Existing {
    Absent,
    /// A regular file with the payload's bytes already.
    Same,
    /// Something else, which the export must not replace.
    Other(String),
}

/// How writing one planned file went.
enum Written {
    Done,
    /// The payload could not be read back intact: no file, the export goes on.
    Unreadable(PayloadError),
    /// Writing into DIR failed: the export stops.
    Failed(anyhow::Error),
}

/// Exports the payload of every snapshot of the archive at `archive` into `dir`, as of the last
/// checkpoint of any run writing meanwhile (no lock is taken). Blocking.
pub fn export(archive: &Path, dir: &Path) -> anyhow::Result<Exported> {
    // The journals of running (or killed) runs are laid over the manifest: their finished
    // links' records are durable, so they are read like any other.
    let manifest = Manifest::load(archive)?;
    if manifest.links.is_empty() && !archive.join(MANIFEST_FILE).is_file() {
        bail!(
            "no manifest in {}: nothing to export (run `linkkeep archive` first)",
            archive.display()
        );
    }
    let planned = plan(&manifest);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    let existing = payload::in_parallel(&planned, threads, |p| existing(dir, p));
    let conflicts: Vec<String> = planned
        .iter()
        .zip(&existing)
        .filter_map(|(p, e)| match e {
            Existing::Other(why) => Some(format!("{} {why}", p.path(dir).display())),
            _ => None,
        })
        .collect();
    if !conflicts.is_empty() {
        bail!(
            "{} file(s) in the way hold something else, which an export never overwrites \
             (nothing was written; move them or export into another directory): {}",
            conflicts.len(),
            conflicts.join("; ")
        );
    }

    let work: Vec<(&Planned, &Existing)> = planned.iter().zip(&existing).collect();
    let written = payload::in_parallel(&work, threads, |(p, existing)| match existing {
        Existing::Absent => write_one(archive, dir, p),
        _ => Written::Done,
    });

    let mut exported = Exported::default();
    let mut sums = Vec::new();
    for ((p, existing), written) in work.into_iter().zip(written) {
        match written {
            Written::Done => {
                sums.push(format!("{}  {}\n", p.snapshot.sha256, p.rel()));
                exported.files += 1;
                if matches!(existing, Existing::Absent) {
                    exported.written += 1;
                }
            }
            Written::Unreadable(e) => exported
                .failures
                .push(format!("{} (captured {}): {e}", p.id, p.snapshot.first_seen)),
            Written::Failed(e) => return Err(e),
        }
    }
    sums.sort();
    let sums_path = dir.join(SUMS_FILE);
    write_text(&sums_path, &sums.concat()).with_context(|| format!("cannot write {}", sums_path.display()))?;
    Ok(exported)
}

/// Where each snapshot's file goes: names unique within each link, in snapshot order, so a
/// later export of the same archive names the same files.
fn plan(manifest: &Manifest) -> Vec<Planned<'_>> {
    let mut planned = Vec::new();
    for (id, entry) in &manifest.links {
        let segment = id_segment(id);
        let mut used = HashSet::new();
        for snapshot in &entry.snapshots {
            let stem = timestamp(&snapshot.first_seen);
            let ext = extension(snapshot.content_type.as_deref(), &snapshot.final_url);
            // Two captures of one link within a second share a timestamp.
            let name = (1..)
                .map(|n| match n {
                    1 => format!("{stem}.{ext}"),
                    n => format!("{stem}-{n}.{ext}"),
                })
                .find(|name| !used.contains(name))
                .expect("an unused name exists");
            used.insert(name.clone());
            planned.push(Planned {
                id,
                snapshot,
                segment: segment.clone(),
                name,
            });
        }
    }
    planned
}

/// What is at `p`'s place now. Only a real directory and a regular file are looked into: a
/// symbolic link (which could lead out of DIR) or anything else is in the way.
fn existing(dir: &Path, p: &Planned) -> Existing {
    let folder = dir.join(&p.segment);
    match std::fs::symlink_metadata(&folder) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Existing::Absent,
        Err(e) => return Existing::Other(format!("cannot be read ({e})")),
        Ok(meta) if !meta.is_dir() => return Existing::Other("is in the way (not a directory)".to_owned()),
        Ok(_) => {}
    }
    let path = p.path(dir);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Existing::Absent,
        Err(e) => Existing::Other(format!("cannot be read ({e})")),
        Ok(meta) if !meta.is_file() => Existing::Other("is not a regular file".to_owned()),
        Ok(meta) if meta.len() != p.snapshot.size => Existing::Other("holds other bytes".to_owned()),
        Ok(_) => match hash_file(&path) {
            Ok((sha256, _)) if sha256 == p.snapshot.sha256 => Existing::Same,
            Ok(_) => Existing::Other("holds other bytes".to_owned()),
            Err(e) => Existing::Other(format!("cannot be read ({e})")),
        },
    }
}

/// Writes `p`'s payload to its place: whole and checked, or not at all.
fn write_one(archive: &Path, dir: &Path, p: &Planned) -> Written {
    let payload = match payload::open(archive, p.snapshot) {
        Ok(payload) => payload,
        Err(e) => return Written::Unreadable(e),
    };
    let folder = dir.join(&p.segment);
    if let Err(e) = std::fs::create_dir_all(&folder) {
        return Written::Failed(anyhow::Error::new(e).context(format!("cannot create {}", folder.display())));
    }
    let path = p.path(dir);
    let mut unreadable = None;
    let result = write_output(&path, |file| {
        payload.copy_to(file).map(|_| ()).map_err(|e| match e {
            PayloadError::Write(io) => io,
            other => {
                let io = std::io::Error::other(other.to_string());
                unreadable = Some(other);
                io
            }
        })
    });
    match (result, unreadable) {
        (Ok(()), _) => Written::Done,
        (Err(_), Some(e)) => Written::Unreadable(e),
        (Err(e), None) => Written::Failed(anyhow::Error::new(e).context(format!("cannot write {}", path.display()))),
    }
}

/// A link id as one path segment: kept as it is when it is made of letters, digits, `-`, `_`
/// and `.` and does not start with a dot; otherwise each other byte (and a leading dot, and
/// `%` itself) is percent-escaped, so that two ids never share a segment. A very long id is
/// cut, and ends in a hash of the whole id instead.
fn id_segment(id: &str) -> String {
    if id.is_empty() {
        // No id escapes to a lone `%` (an escape is always followed by two hex digits).
        return "%".to_owned();
    }
    let mut segment = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if plain {
            segment.push(char::from(b));
        } else {
            segment.push_str(&format!("%{b:02X}"));
        }
    }
    if segment.len() <= MAX_SEGMENT {
        return segment;
    }
    // Cut where no escape is split: escapes are three ASCII bytes starting with `%`.
    let mut cut = KEPT_OF_LONG_ID;
    while let Some(at) = segment[..cut].rfind('%').filter(|&at| at + 3 > cut) {
        cut = at;
    }
    let hash = hex(&Sha256::digest(id.as_bytes()));
    format!("{}~{}", &segment[..cut], &hash[..16])
}

/// A capture's `first_seen` as the 14 digits `YYYYMMDDhhmmss` (UTC), as in Wayback URLs.
fn timestamp(first_seen: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(first_seen) {
        Ok(at) => at.to_utc().format("%Y%m%d%H%M%S").to_string(),
        // Not a time this version writes: a name that says so rather than a made-up time.
        Err(_) => "undated".to_owned(),
    }
}

/// The extension of a payload's file: from its content type by a fixed table (a well-known
/// extension per type; a general MIME crate lists several per type in no preferred order,
/// `jpe` before `jpg`), else from the URL's last path segment when the type says nothing
/// (none, `application/octet-stream`) and that ends in one to five letters and digits, else
/// `bin`.
fn extension(content_type: Option<&str>, final_url: &str) -> String {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let known = match essence.as_str() {
        "application/pdf" => "pdf",
        "text/html" => "html",
        "application/xhtml+xml" => "xhtml",
        "text/plain" => "txt",
        "text/markdown" => "md",
        "text/csv" => "csv",
        "text/css" => "css",
        "text/javascript" | "application/javascript" | "application/x-javascript" => "js",
        "application/json" | "application/ld+json" => "json",
        "application/xml" | "text/xml" => "xml",
        "application/rss+xml" => "rss",
        "application/atom+xml" => "atom",
        "image/png" => "png",
        "image/jpeg" | "image/pjpeg" => "jpg",
        "image/gif" => "gif",
        "image/svg+xml" => "svg",
        "image/webp" => "webp",
        "image/tiff" => "tif",
        "application/zip" => "zip",
        "application/gzip" | "application/x-gzip" => "gz",
        "application/epub+zip" => "epub",
        "application/rtf" | "text/rtf" => "rtf",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-powerpoint" => "ppt",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "audio/mpeg" => "mp3",
        "video/mp4" => "mp4",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let generic = essence.is_empty() || essence == "application/octet-stream";
    let from_url = url::Url::parse(final_url).ok().and_then(|url| {
        let last = url.path_segments()?.next_back()?.to_owned();
        let (_, ext) = last.rsplit_once('.')?;
        let short = (1..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric());
        short.then(|| ext.to_ascii_lowercase())
    });
    match from_url {
        Some(ext) if generic => ext,
        _ => "bin".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_one_safe_segment_and_never_share_one() {
        assert_eq!(id_segment("ip-watch-wgec_2018.analysis"), "ip-watch-wgec_2018.analysis");
        assert_eq!(id_segment("../etc"), "%2E.%2Fetc");
        assert_eq!(id_segment(".."), "%2E.");
        assert_eq!(id_segment("."), "%2E");
        assert_eq!(id_segment("a/b"), "a%2Fb");
        assert_eq!(id_segment("a%2Fb"), "a%252Fb");
        assert_eq!(id_segment("C:\\x y"), "C%3A%5Cx%20y");
        assert_eq!(id_segment("café"), "caf%C3%A9");
        assert_eq!(id_segment(""), "%");
        for id in [
            "../etc",
            "a/b",
            "a%2Fb",
            ".",
            "..",
            "",
            "x\ny",
            &"é".repeat(200),
            &"a".repeat(500),
        ] {
            let segment = id_segment(id);
            assert!(!segment.is_empty() && segment.len() <= MAX_SEGMENT, "{id:?}: {segment}");
            assert!(!segment.starts_with('.'), "{id:?}: {segment}");
            assert!(
                segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.%~".contains(&b)),
                "{id:?}: {segment}"
            );
        }
        // Long ids keep a readable start and differ by their hash.
        let (a, b) = (format!("{}a", "x".repeat(300)), format!("{}b", "x".repeat(300)));
        assert_ne!(id_segment(&a), id_segment(&b));
        assert!(id_segment(&a).starts_with(&"x".repeat(KEPT_OF_LONG_ID)));
        // A cut never splits an escape.
        let escaped = id_segment(&"é".repeat(200));
        let (kept, _) = escaped.split_once('~').unwrap();
        assert_eq!(kept.len() % 3, 0, "{escaped}");
    }

    #[test]
    fn timestamps_are_14_digits_in_utc() {
        assert_eq!(timestamp("2026-11-29T02:00:00Z"), "20261129020000");
        assert_eq!(timestamp("2026-11-29T03:00:07+01:00"), "20261129020007");
        assert_eq!(timestamp("yesterday/../.."), "undated");
    }

    #[test]
    fn extensions_come_from_the_type_then_a_plain_url_suffix() {
        let url = "http://example.org/doc";
        assert_eq!(extension(Some("application/pdf"), url), "pdf");
        assert_eq!(extension(Some("Text/HTML; charset=utf-8"), url), "html");
        assert_eq!(extension(Some("image/jpeg"), url), "jpg");
        assert_eq!(extension(Some("text/plain"), "http://x.test/a.pdf"), "txt");
        assert_eq!(
            extension(Some("application/octet-stream"), "http://x.test/Report.PDF?x=1"),
            "pdf"
        );
        assert_eq!(extension(None, "http://x.test/archive.tar.gz"), "gz");
        assert_eq!(extension(None, "http://x.test/a.b%2F..%2Fx"), "bin");
        assert_eq!(extension(None, "http://x.test/a.toolongext"), "bin");
        assert_eq!(extension(Some("application/x-unknown"), "http://x.test/a.pdf"), "bin");
        assert_eq!(extension(None, "http://x.test/"), "bin");
    }

    #[test]
    fn names_within_a_link_are_unique_and_stable() {
        let snapshot = |sha: char, at: &str| {
            serde_json::json!({"sha256": sha.to_string().repeat(64), "size": 1,
                "content_type": "application/pdf", "first_seen": at, "last_seen": at,
                "http_status": 200, "final_url": "http://x.test/a.pdf", "etag": null,
                "last_modified": null, "title": null, "run": "r"})
        };
        let mut manifest = Manifest::new();
        let entry = serde_json::json!({"url": "http://x.test/a.pdf", "snapshots": [
            snapshot('a', "2026-01-01T00:00:00Z"), snapshot('b', "2026-01-01T00:00:00Z"),
            snapshot('c', "2026-01-02T00:00:00Z")]});
        manifest
            .links
            .insert("../a".into(), serde_json::from_value(entry).unwrap());
        let names: Vec<String> = plan(&manifest).iter().map(Planned::rel).collect();
        assert_eq!(
            names,
            [
                "%2E.%2Fa/20260101000000.pdf",
                "%2E.%2Fa/20260101000000-2.pdf",
                "%2E.%2Fa/20260102000000.pdf"
            ]
        );
    }
}
