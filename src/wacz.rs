//! WACZ 1.1.1 export: the archive's WARC files, its CDXJ index, a page list and a data package
//! describing them, in one zip that ReplayWeb.page, pywb and `wacz validate` open as it is.
//!
//! Layout inside the zip (every entry stored, not deflated, so WARC offsets stay seekable):
//! ```text
//! archive/<run-id>.warc.gz     the WARC files, as written by `archive`
//! indexes/index.cdx            the CDXJ index (`archive/index.cdxj`)
//! pages/pages.jsonl            one page per archived link
//! datapackage.json             every entry above with its sha256 and size
//! datapackage-digest.json      the sha256 of datapackage.json
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::output::write_output;
use crate::store::hex;

/// The WACZ version written.
pub const WACZ_VERSION: &str = "1.1.1";

/// One page of `pages/pages.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// A stable id: the link's id.
    pub id: String,
    /// The URL as captured (the WARC record's target URI).
    pub url: String,
    /// The capture time, RFC 3339.
    pub ts: String,
    /// The page title, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Copies public archives made of the link's captures (linkkeep's own field; WACZ allows
    /// more fields on a page).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public_copies: Vec<crate::public_archive::PublicCopy>,
}

/// What goes into a WACZ.
#[derive(Debug, Clone)]
pub struct WaczContents {
    /// WARC files, each stored as `archive/<file name>`: whole, or only their first bytes
    /// (a run still writing one: what its last checkpoint made durable).
    pub warcs: Vec<(PathBuf, Option<u64>)>,
    /// The CDXJ index file.
    pub index: PathBuf,
    /// Index lines to merge into the index's (those of runs not yet compacted).
    pub more_index_lines: Vec<String>,
    /// The pages.
    pub pages: Vec<Page>,
    /// The package title.
    pub title: String,
    /// The `software` field.
    pub software: String,
    /// The `created` field, RFC 3339.
    pub created: String,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum WaczError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// An entry of `datapackage.json`'s `resources`.
#[derive(Debug, Serialize)]
struct Resource {
    name: String,
    path: String,
    hash: String,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct DataPackage<'a> {
    profile: &'static str,
    wacz_version: &'static str,
    title: &'a str,
    software: &'a str,
    created: &'a str,
    resources: Vec<Resource>,
}

/// Writes `contents` as a WACZ at `dest`, which only ever appears complete (see
/// [`write_output`]).
pub fn write_wacz(dest: &Path, contents: &WaczContents) -> Result<(), WaczError> {
    let mut failure = None;
    let written = write_output(dest, |file| {
        write_zip(file, dest, contents).map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            failure = Some(e);
            io
        })
    });
    match (written, failure) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(e)) => Err(e),
        (Err(source), None) => Err(WaczError::Write {
            path: dest.to_owned(),
            source,
        }),
    }
}

fn write_zip(file: &mut File, path: &Path, contents: &WaczContents) -> Result<(), WaczError> {
    let write_err = |source| WaczError::Write {
        path: path.to_owned(),
        source,
    };
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let modified = zip_time(&contents.created);
    let mut resources = Vec::new();

    for (warc, limit) in &contents.warcs {
        let file_name = warc.file_name().and_then(|n| n.to_str()).unwrap_or("archive.warc.gz");
        let entry = format!("archive/{file_name}");
        let source = File::open(warc).map_err(|source| WaczError::Read {
            path: warc.clone(),
            source,
        })?;
        let size = source.metadata().map(|m| m.len()).unwrap_or(0);
        let size = limit.map_or(size, |limit| size.min(limit));
        resources.push(add_entry(
            &mut zip,
            &entry,
            source.take(size),
            (size, modified),
            path,
            warc,
        )?);
    }
    let read_err = |source| WaczError::Read {
        path: contents.index.clone(),
        source,
    };
    let index = File::open(&contents.index).map_err(read_err)?;
    let resource = if contents.more_index_lines.is_empty() {
        let size = index.metadata().map(|m| m.len()).unwrap_or(0);
        add_entry(
            &mut zip,
            "indexes/index.cdx",
            index,
            (size, modified),
            path,
            &contents.index,
        )?
    } else {
        // A run is writing: its finished links' lines are merged in (a copy of the index,
        // since the package must not wait for the run to end).
        let text = io::read_to_string(index).map_err(read_err)?;
        let mut lines: Vec<&str> = text
            .lines()
            .chain(contents.more_index_lines.iter().map(String::as_str))
            .collect();
        lines.sort_unstable();
        lines.dedup();
        let merged: String = lines.iter().flat_map(|l| [*l, "\n"]).collect();
        let size = merged.len() as u64;
        add_entry(
            &mut zip,
            "indexes/index.cdx",
            merged.as_bytes(),
            (size, modified),
            path,
            &contents.index,
        )?
    };
    resources.push(resource);

    let mut pages = serde_json::to_string(&serde_json::json!({
        "format": "json-pages-1.0", "id": "pages", "title": "All Pages"
    }))
    .expect("static JSON serializes");
    pages.push('\n');
    for page in &contents.pages {
        pages.push_str(&serde_json::to_string(page).expect("pages serialize"));
        pages.push('\n');
    }
    let bytes = pages.into_bytes();
    let len = bytes.len() as u64;
    resources.push(add_entry(
        &mut zip,
        "pages/pages.jsonl",
        &bytes[..],
        (len, modified),
        path,
        Path::new("pages"),
    )?);

    let package = DataPackage {
        profile: "data-package",
        wacz_version: WACZ_VERSION,
        title: &contents.title,
        software: &contents.software,
        created: &contents.created,
        resources,
    };
    let package = serde_json::to_vec_pretty(&package).expect("the data package serializes");
    let digest = serde_json::to_vec_pretty(&serde_json::json!({
        "path": "datapackage.json",
        "hash": format!("sha256:{}", hex(&Sha256::digest(&package))),
    }))
    .expect("static JSON serializes");
    let options = stored(package.len() as u64, modified);
    zip.start_file("datapackage.json", options)
        .map_err(|e| write_err(io::Error::other(e)))?;
    zip.write_all(&package).map_err(write_err)?;
    zip.start_file("datapackage-digest.json", stored(digest.len() as u64, modified))
        .map_err(|e| write_err(io::Error::other(e)))?;
    zip.write_all(&digest).map_err(write_err)?;

    let file = zip.finish().map_err(|e| write_err(io::Error::other(e)))?;
    // Durability is write_output's business (fsync before the rename).
    file.into_inner().map(drop).map_err(|e| write_err(e.into_error()))
}

/// Zip entry options: stored, dated `modified`, and zip64 when the entry may pass 4 GiB.
fn stored(size: u64, modified: zip::DateTime) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(modified)
        .large_file(size >= u64::from(u32::MAX))
}

/// The zip timestamp of an RFC 3339 time (zip has no time zone: UTC is written as is).
fn zip_time(rfc3339: &str) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .and_then(|t| {
            let t = t.to_utc();
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default()
}

/// Streams `source` into a new zip entry, hashing it on the way.
fn add_entry<W: Write + io::Seek>(
    zip: &mut ZipWriter<W>,
    entry: &str,
    mut source: impl Read,
    (size, modified): (u64, zip::DateTime),
    zip_path: &Path,
    source_path: &Path,
) -> Result<Resource, WaczError> {
    let write_err = |source| WaczError::Write {
        path: zip_path.to_owned(),
        source,
    };
    zip.start_file(entry, stored(size, modified))
        .map_err(|e| write_err(io::Error::other(e)))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = source.read(&mut buf).map_err(|source| WaczError::Read {
            path: source_path.to_owned(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        zip.write_all(&buf[..n]).map_err(write_err)?;
        bytes += n as u64;
    }
    Ok(Resource {
        name: entry.rsplit('/').next().unwrap_or(entry).to_lowercase(),
        path: entry.to_owned(),
        hash: format!("sha256:{}", hex(&hasher.finalize())),
        bytes,
    })
}
