//! WARC files read back into CDXJ lines: each file walked with [`check_warc`], then the head of
//! every whole response, revisit and resource record read again, for the facts its index line
//! and its manifest snapshot need (HTTP status and headers, revisit profile, a resource's
//! content type). Resource records are the payloads `repair --migrate` moved out of 0.1.0's
//! `objects/`. `linkkeep repair` rebuilds
//! `index.cdxj` and the manifest from this; the lines are the very ones an archive run writes
//! for the same records, since both go through [`cdxj_line`].

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::bufread::GzDecoder;

use super::reader::{RecordInfo, check_warc};
use super::run::WARC_DIR;
use super::{CdxjEntry, cdxj_line, media_type, timestamp14};

/// Longest WARC header read back, as the validator allows.
const MAX_HEADER: u64 = 1024 * 1024;
/// Longest HTTP head read back; heads we write are a few hundred bytes.
const MAX_HTTP_HEAD: u64 = 256 * 1024;

/// The HTTP head at the start of a response or revisit record's block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHead {
    /// The status code the server answered: the status line's, except for a server-not-modified
    /// revisit, where it is 304. Since issue #20 that revisit's block carries its original's
    /// status line (see [`super::run::revalidated_head`]), but what the server sent was a 304,
    /// and that is what the run's report said and what `repair` looks for.
    pub status: u16,
    /// Header fields in order, names as written, values as bytes (trimmed).
    pub headers: Vec<(String, Vec<u8>)>,
}

impl HttpHead {
    /// The first value of header `name` (case-insensitive) as text, when it is printable ASCII:
    /// the same rule as `reqwest`'s `HeaderValue::to_str`, which is how an archive run read the
    /// header it recorded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (_, value) = self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        let printable = value.iter().all(|&b| b == b'\t' || (32..127).contains(&b));
        printable.then(|| String::from_utf8_lossy(value).into_owned())
    }
}

/// A whole response, revisit or resource record, with what its index line and snapshot need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedRecord {
    /// Place, type, target, id, date and payload digest, as the validator read them.
    pub info: RecordInfo,
    /// The record's own `Content-Type` (of its block): for a resource record, the payload's.
    pub content_type: Option<String>,
    /// `WARC-Profile` of a revisit.
    pub profile: Option<String>,
    /// `WARC-Refers-To` of a revisit: the record holding its payload.
    pub refers_to: Option<String>,
    /// The HTTP head of an `application/http` block; `None` for other blocks, or a head that
    /// cannot be parsed.
    pub http: Option<HttpHead>,
}

impl IndexedRecord {
    /// Whether this is a revisit record.
    pub fn is_revisit(&self) -> bool {
        self.info.record_type == "revisit"
    }

    /// Whether this is a resource record: a payload alone, without an HTTP head.
    pub fn is_resource(&self) -> bool {
        self.info.record_type == "resource"
    }

    /// The record's CDXJ line, naming the WARC file `filename` (relative to `warc/`); `None`
    /// for a record without a target URI, which no lookup could find. A resource record's line
    /// is pywb's: the media type of its own `Content-Type`, and no status.
    pub fn cdxj_line(&self, filename: &str) -> Option<String> {
        let url = self.info.target_uri.clone()?;
        let (mime, status) = match &self.http {
            Some(head) => (
                media_type(head.header("content-type").as_deref()),
                head.status.to_string(),
            ),
            None if self.is_resource() => (media_type(self.content_type.as_deref()), String::new()),
            None => (media_type(None), String::new()),
        };
        Some(cdxj_line(&CdxjEntry {
            url,
            timestamp: timestamp_of(&self.info.date),
            digest: self.info.payload_digest.clone().unwrap_or_default(),
            mime,
            status,
            filename: filename.to_owned(),
            offset: self.info.offset,
            length: self.info.length,
            record_type: self.is_revisit().then(|| "revisit".to_owned()),
        }))
    }
}

/// What [`index_warc`] found in one WARC file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarcIndex {
    /// The file's name, as CDXJ lines name it (`<run-id>.warc.gz`).
    pub filename: String,
    /// Every whole response, revisit and resource record, in file order.
    pub records: Vec<IndexedRecord>,
    /// Records the validator read whole, of every type (warcinfo and requests included).
    pub whole_records: usize,
    /// What could not be read, one line each naming its offset (see [`super::WarcCheck`]).
    pub problems: Vec<String>,
}

impl WarcIndex {
    /// The CDXJ lines of the file's records, in file order (not yet sorted).
    pub fn lines(&self) -> Vec<String> {
        self.records
            .iter()
            .filter_map(|r| r.cdxj_line(&self.filename))
            .collect()
    }

    /// Whether nothing at all could be read from the file although it is not empty.
    pub fn unreadable(&self) -> bool {
        self.whole_records == 0 && !self.problems.is_empty()
    }

    /// The record whose gzip member starts at `offset`.
    pub fn record_at(&self, offset: u64) -> Option<&IndexedRecord> {
        self.records.iter().find(|r| r.info.offset == offset)
    }
}

/// Reads the WARC file at `path` for its index: every record the validator finds whole (even
/// one whose digests do not match: the problem is listed, the capture stays findable) and
/// everything it could not read. Errors are for failing to open or read the file itself.
pub fn index_warc(path: &Path) -> io::Result<WarcIndex> {
    let check = check_warc(path)?;
    let filename = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    let mut records = Vec::new();
    for info in &check.records {
        if !matches!(info.record_type.as_str(), "response" | "revisit" | "resource") {
            continue;
        }
        file.seek(SeekFrom::Start(info.offset))?;
        let member = BufReader::new((&mut file).take(info.length));
        let heads = if gzip {
            read_heads(&mut BufReader::new(GzDecoder::new(member)))?
        } else {
            read_heads(&mut { member })?
        };
        let mut http = heads.http;
        if heads.profile.as_deref().is_some_and(is_not_modified_profile)
            && let Some(head) = &mut http
        {
            head.status = 304;
        }
        records.push(IndexedRecord {
            info: info.clone(),
            content_type: heads.content_type,
            profile: heads.profile,
            refers_to: heads.refers_to,
            http,
        });
    }
    Ok(WarcIndex {
        filename,
        records,
        whole_records: check.records.len(),
        problems: check.problems,
    })
}

/// The WARC files of the archive at `archive`, as paths relative to it (`warc/<name>`), sorted.
pub fn list_warc_files(archive: &Path) -> io::Result<Vec<String>> {
    // An archive in object storage: every WARC file is fetched first, for the commands that
    // read them all.
    crate::storage::fetch_all_warcs()?;
    let dir = archive.join(WARC_DIR);
    let mut files: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".warc.gz") || name.ends_with(".warc"))
            .map(|name| format!("{WARC_DIR}/{name}"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    files.sort();
    Ok(files)
}

/// Whether `profile` is server-not-modified, in WARC 1.1's spelling or 1.0's.
fn is_not_modified_profile(profile: &str) -> bool {
    profile.ends_with("/revisit/server-not-modified")
}

/// The 14-digit timestamp of a `WARC-Date`, as an archive run computes it from the same time.
fn timestamp_of(date: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(date) {
        Ok(at) => timestamp14(at.to_utc()),
        // Not ours: keep what digits there are, as pywb does.
        Err(_) => date.chars().filter(char::is_ascii_digit).take(14).collect(),
    }
}

/// What a record's WARC header and HTTP head say, as [`IndexedRecord`] keeps it.
#[derive(Default)]
struct Heads {
    content_type: Option<String>,
    profile: Option<String>,
    refers_to: Option<String>,
    http: Option<HttpHead>,
}

/// Reads the WARC header of the record `r` starts with, then the HTTP head of its block.
fn read_heads(r: &mut impl BufRead) -> io::Result<Heads> {
    let mut header = r.take(MAX_HEADER);
    let mut line = Vec::new();
    let mut heads = Heads::default();
    // The version line; the validator has read it already.
    header.read_until(b'\n', &mut line)?;
    loop {
        line.clear();
        if header.read_until(b'\n', &mut line)? == 0 || line == b"\r\n" || line == b"\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let Some((name, value)) = text.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "warc-profile" => heads.profile = Some(value.to_owned()),
            "warc-refers-to" => heads.refers_to = Some(value.to_owned()),
            "content-type" => heads.content_type = Some(value.to_owned()),
            _ => {}
        }
    }
    let http = heads
        .content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/http"));
    if http {
        heads.http = read_http_head(r)?;
    }
    Ok(heads)
}

/// Parses `HTTP/1.1 200 OK` and the header fields up to the blank line; `None` if the head is
/// not one.
pub(crate) fn read_http_head(r: &mut impl BufRead) -> io::Result<Option<HttpHead>> {
    let mut head = r.take(MAX_HTTP_HEAD);
    let mut line = Vec::new();
    head.read_until(b'\n', &mut line)?;
    let status_line = String::from_utf8_lossy(&line);
    let mut parts = status_line.split_whitespace();
    let status = match (parts.next(), parts.next().and_then(|s| s.parse().ok())) {
        (Some(version), Some(status)) if version.starts_with("HTTP/") => status,
        _ => return Ok(None),
    };
    let mut headers = Vec::new();
    loop {
        line.clear();
        if head.read_until(b'\n', &mut line)? == 0 {
            // The head never ended: not something we wrote.
            return Ok(None);
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
        let value = line[colon + 1..].trim_ascii().to_vec();
        headers.push((name, value));
    }
    Ok(Some(HttpHead { status, headers }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::run::{Exchange, RunWarc};
    use super::super::{PROFILE_IDENTICAL_PAYLOAD_DIGEST, PROFILE_SERVER_NOT_MODIFIED, http_response_head, warc_date};
    use super::*;

    /// A run's WARC file with a response, an identical-payload revisit of it, a 304 revisit and
    /// a redirect, written by [`RunWarc`] as `archive` writes them; returns their lines.
    fn written() -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let at = chrono::DateTime::from_timestamp(1_767_232_984, 0).unwrap();
        let warc = Arc::new(RunWarc::create(dir.path(), "20260101T020304Z-abcd", warc_date(at), &[]).unwrap());
        let url = url::Url::parse("http://example.com/a?b=1").unwrap();
        let exchange = |status: u16, headers: &[(&str, &str)]| {
            let headers: Vec<(String, Vec<u8>)> = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect();
            // As reqwest's `HeaderValue::to_str` reads it: printable ASCII or nothing.
            let mime = headers
                .iter()
                .find(|(n, _)| n == "content-type")
                .and_then(|(_, v)| std::str::from_utf8(v).ok().filter(|v| v.is_ascii()));
            Exchange {
                url: url.clone(),
                date: at,
                request_head: b"GET /a?b=1 HTTP/1.1\r\n\r\n".to_vec(),
                response_head: http_response_head("HTTP/1.1", status, "", &headers),
                status,
                mime: media_type(mime),
            }
        };
        let mut lines = Vec::new();
        let ok = exchange(200, &[("content-type", "text/HTML; charset=utf-8"), ("etag", "\"v1\"")]);
        let (original, line) = warc.write_response(&ok, b"<title>x</title>", None, None).unwrap();
        lines.push(line);
        lines.push(
            warc.write_revisit(&ok, PROFILE_IDENTICAL_PAYLOAD_DIGEST, Some(&original))
                .unwrap(),
        );
        let not_modified = exchange(304, &[("etag", "\"v1\"")]);
        lines.push(
            warc.write_revisit(&not_modified, PROFILE_SERVER_NOT_MODIFIED, Some(&original))
                .unwrap(),
        );
        let moved = exchange(301, &[("location", "/b"), ("content-type", "\u{e9}t\u{e9}")]);
        lines.push(warc.write_response(&moved, b"", None, None).unwrap().1);
        let path = dir.path().join(warc.name());
        (dir, path, lines)
    }

    #[test]
    fn lines_are_the_ones_the_run_wrote() {
        let (_dir, path, lines) = written();
        let index = index_warc(&path).unwrap();
        assert!(index.problems.is_empty(), "{:?}", index.problems);
        assert_eq!(index.whole_records, 9, "warcinfo, and a request before each of the 4");
        assert_eq!(index.lines(), lines);
        let kinds: Vec<_> = index
            .records
            .iter()
            .map(|r| (r.is_revisit(), r.http.as_ref().map(|h| h.status)))
            .collect();
        assert_eq!(
            kinds,
            [
                (false, Some(200)),
                (true, Some(200)),
                // The server's 304, though the block carries the original's status line.
                (true, Some(304)),
                (false, Some(301))
            ]
        );
        let revisit = &index.records[2];
        assert_eq!(revisit.profile.as_deref(), Some(PROFILE_SERVER_NOT_MODIFIED));
        assert_eq!(revisit.refers_to.as_ref(), Some(&index.records[0].info.record_id));
        let head = index.records[0].http.as_ref().unwrap();
        assert_eq!(head.header("ETag").as_deref(), Some("\"v1\""));
        // Not printable ASCII: unreadable as text, as for the run that recorded it.
        assert_eq!(index.records[3].http.as_ref().unwrap().header("content-type"), None);
    }

    #[test]
    fn a_cut_tail_keeps_the_whole_records_and_names_the_offset() {
        let (_dir, path, lines) = written();
        let index = index_warc(&path).unwrap();
        let last = index.records.last().unwrap().info.clone();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..(last.offset + last.length / 2) as usize]).unwrap();
        let cut = index_warc(&path).unwrap();
        assert_eq!(cut.lines(), lines[..3]);
        assert_eq!(cut.problems.len(), 1, "{:?}", cut.problems);
        assert!(cut.problems[0].starts_with(&format!("offset {}:", last.offset)));
        assert!(!cut.unreadable());

        std::fs::write(&path, b"not a WARC file at all").unwrap();
        let garbage = index_warc(&path).unwrap();
        assert!(garbage.unreadable() && garbage.records.is_empty());
        std::fs::write(&path, b"").unwrap();
        assert!(!index_warc(&path).unwrap().unreadable(), "an empty file is only empty");
    }

    /// Issue #13: the resource records `repair --migrate` writes are indexed as pywb's
    /// `cdx-indexer` does: the media type of the record's own `Content-Type`, no status.
    #[test]
    fn resource_records_are_indexed_by_their_own_content_type() {
        use super::super::{RecordSpec, RecordType, write_record};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.warc.gz");
        let mut out = Vec::new();
        let info = RecordSpec::new(
            RecordType::Warcinfo,
            "2026-01-01T00:00:00Z".into(),
            "application/warc-fields",
        );
        let (_, end) = write_record(
            &mut out,
            0,
            &info,
            b"software: x\r\n",
            &mut io::Cursor::new([]),
            0,
            None,
        )
        .unwrap();
        let mut spec = RecordSpec::new(
            RecordType::Resource,
            "2026-01-01T02:03:04Z".into(),
            "text/html; charset=utf-8",
        );
        spec.target_uri = Some("http://example.com/a".into());
        let body = b"<title>x</title>";
        let digest = super::super::sha256_label(&super::super::digest::sha256(body));
        spec.payload_digest = Some(digest.clone());
        let (offset, length) = write_record(
            &mut out,
            end,
            &spec,
            &[],
            &mut io::Cursor::new(body),
            body.len() as u64,
            None,
        )
        .unwrap();
        std::fs::write(&path, &out).unwrap();

        let index = index_warc(&path).unwrap();
        assert!(index.problems.is_empty(), "{:?}", index.problems);
        assert_eq!(index.records.len(), 1);
        let record = &index.records[0];
        assert!(record.is_resource() && !record.is_revisit() && record.http.is_none());
        assert_eq!(record.content_type.as_deref(), Some("text/html; charset=utf-8"));
        assert_eq!(
            index.lines(),
            [format!(
                "com,example)/a 20260101020304 {{\"url\": \"http://example.com/a\", \"mime\": \"text/html\", \"digest\": \"{digest}\", \"length\": \"{length}\", \"offset\": \"{offset}\", \"filename\": \"m.warc.gz\"}}"
            )]
        );
    }

    #[test]
    fn timestamps_of_foreign_dates_keep_their_digits() {
        assert_eq!(timestamp_of("2026-01-01T02:03:04Z"), "20260101020304");
        assert_eq!(timestamp_of("2026-01-01T02:03:04.123456Z"), "20260101020304");
        assert_eq!(timestamp_of("2026-01-01T03:03:04+01:00"), "20260101020304");
        assert_eq!(timestamp_of("20260101"), "20260101");
    }
}
