//! The fuzz targets (issue #15): one function per parser that reads what others wrote, taking
//! arbitrary bytes and panicking when the parser panics or breaks one of its promises.
//!
//! Two drivers call them, so that they cannot drift apart: the cargo-fuzz targets in `fuzz/`
//! (nightly, in CI where one is installed), and the fixed-seed property tests of
//! `tests/it/fuzz_props.rs`, which feed them mutated real files on every `cargo test`.
//!
//! Not here: the plain-text URL finder, fuzzed on its own by
//! `fuzz/fuzz_targets/extract_text.rs`.

use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::extract::{self, Extraction, Kind, Options};
use crate::manifest::json::{self, ParseFailure};
use crate::manifest::{LinkEntry, LinkSummary, Manifest, SCHEMA_VERSION};
use crate::title::{self, TitleSample};
use crate::warc::{WarcCheck, check_warc_bytes};

/// The path links.json errors are reported against.
const LINKS_PATH: &str = "fuzz/links.json";
/// The base relative links resolve against in half the extract runs.
const BASE_URL: &str = "https://example.org/papers/cited.html";

/// The WARC validator: whatever the bytes, it reads only them, lists records in file order
/// without overlap, and names the offset of every problem.
pub fn warc_reader(data: &[u8]) {
    let len = data.len() as u64;
    let check = check_warc_bytes(data);
    let mut end = 0;
    for record in &check.records {
        assert!(record.offset >= end, "records overlap or go backwards: {check:?}");
        assert!(record.length > 0, "an empty record: {check:?}");
        end = record.offset + record.length;
        assert!(end <= len, "a record past the end of the input: {check:?}");
    }
    for problem in &check.problems {
        let offset = WarcCheck::problem_offset(problem);
        assert!(
            offset.is_some_and(|o| o <= len),
            "a problem without a place: {problem:?}"
        );
        assert!(!problem.contains('\n'), "a problem on several lines: {problem:?}");
    }
    assert!(check.cut_tail.is_none_or(|tail| tail < len), "{check:?}");
    if data.is_empty() {
        assert!(check.is_ok() && check.records.is_empty(), "{check:?}");
    }
}

/// links.json: a file that parses has unique, non-empty ids and http(s) URLs with a host, and
/// written back with its ids it parses into the same links; a file that does not gets a
/// one-line error naming the file (and for bad JSON, a line of it).
pub fn links_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new(LINKS_PATH);
    let file = match crate::links::parse(path, &text) {
        Ok(file) => file,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.starts_with(LINKS_PATH),
                "an error that names no file: {message:?}"
            );
            if let crate::links::LinksError::Syntax { line, column, .. } = e {
                assert_place(&text, line, column, &message);
            }
            return;
        }
    };
    let mut ids = HashSet::new();
    for link in &file.links {
        assert!(!link.id.is_empty() && link.id.trim() == link.id, "{link:?}");
        assert!(ids.insert(link.id.as_str()), "a duplicate id: {link:?}");
        assert!(matches!(link.parsed.scheme(), "http" | "https"), "{link:?}");
        assert!(link.parsed.host().is_some(), "{link:?}");
        assert_eq!(crate::links::parse_url(&link.url).ok().as_ref(), Some(&link.parsed));
    }
    // Written back with every id spelled out, the file means the same.
    let entries: Vec<Value> = file
        .links
        .iter()
        .map(|link| {
            let mut entry = Map::new();
            entry.insert("id".into(), link.id.clone().into());
            entry.insert("url".into(), link.url.clone().into());
            for (name, value) in [
                ("title", &link.title),
                ("publisher", &link.publisher),
                ("note", &link.note),
            ] {
                if let Some(value) = value {
                    entry.insert(name.into(), value.clone().into());
                }
            }
            entry.extend(link.extra.clone());
            Value::Object(entry)
        })
        .collect();
    let mut doc = Map::new();
    doc.insert("version".into(), crate::links::LINKS_VERSION.into());
    if let Some(source) = &file.source {
        doc.insert("source".into(), source.clone());
    }
    doc.insert("links".into(), Value::Array(entries));
    let written = crate::extract::merge::to_text(&Value::Object(doc));
    let again = crate::links::parse(path, &written).unwrap_or_else(|e| panic!("written back, it fails: {e}"));
    assert_eq!(again.source, file.source);
    assert_eq!(again.links.len(), file.links.len());
    for (before, after) in file.links.iter().zip(&again.links) {
        assert!(!after.id_derived);
        let same = (
            &before.id,
            &before.url,
            &before.title,
            &before.publisher,
            &before.note,
            &before.extra,
        ) == (
            &after.id,
            &after.url,
            &after.title,
            &after.publisher,
            &after.note,
            &after.extra,
        );
        assert!(same, "{before:?} came back as {after:?}");
    }
}

/// The manifest: its fast reading (link lines on every core) and its one-pass reading agree;
/// one that parses is written and parsed back unchanged; one that does not gets a place in it.
/// `status`'s summary reading does not panic either.
pub fn manifest(data: &[u8]) {
    let Ok(text) = json::utf8(data) else {
        return;
    };
    let fast = json::parse_text::<LinkEntry>(text);
    let whole = json::parse_whole::<LinkEntry>(text);
    match (&fast, &whole) {
        (Ok(fast), Ok(whole)) => {
            assert_eq!(fast.links, whole.links, "the two readings disagree on the links");
            assert_eq!(
                (fast.schema_version, &fast.updated_at, &fast.extra),
                (whole.schema_version, &whole.updated_at, &whole.extra)
            );
        }
        (Err(_), Err(_)) => {}
        _ => panic!(
            "one reading fails, the other not: fast {:?}, whole {:?}",
            fast.as_ref().err(),
            whole.as_ref().err()
        ),
    }
    let _ = json::parse_text::<LinkSummary>(text);
    match Manifest::from_str(text) {
        Ok(manifest) => {
            let mut written = Vec::new();
            manifest.write(&mut written).expect("writing to memory cannot fail");
            let written = String::from_utf8(written).expect("a written manifest is UTF-8");
            let again = Manifest::from_str(&written).unwrap_or_else(|e| panic!("written back, it fails: {e}"));
            assert!(again == manifest, "written back, it changes:\n{text}\n---\n{written}");
        }
        Err(ParseFailure::Invalid { line, column, message }) => {
            assert_place(text, line, column, &message);
        }
        Err(ParseFailure::NewerSchema(found)) => assert!(found > SCHEMA_VERSION),
    }
}

/// Asserts that `line` and `column` (as serde_json counts them: 1-based lines, columns in
/// bytes) are a place in `text`: one of its lines, and at most one past that line's end.
fn assert_place(text: &str, line: usize, column: usize, message: &str) {
    assert!(!message.is_empty());
    let line_text = text.split('\n').nth(line.wrapping_sub(1));
    assert!(
        line_text.is_some(),
        "line {line} of {}: {message}",
        text.split('\n').count()
    );
    let line_len = line_text.map_or(0, str::len);
    assert!(column <= line_len + 1, "column {column} of {line_len}: {message}");
}

/// Page titles: the first byte picks the Content-Type, the rest is the payload. A title is
/// non-empty, trimmed, single-spaced and within [`title::MAX_TITLE_CHARS`]; read as it streams
/// by (in pieces whose size the second byte picks), the payload has the same title.
pub fn html_title(data: &[u8]) {
    let (content_type, body) = match data.split_first() {
        Some((pick, body)) => (content_type(*pick), body),
        None => (None, data),
    };
    let whole = title::title_of(content_type, body, body);
    if let Some(found) = &whole {
        // Trimmed and collapsed as `document.title` is: of ASCII whitespace only (a vertical
        // tab stays, as in browsers).
        let trimmed = found.trim_matches(|c: char| c.is_ascii_whitespace());
        assert!(!found.is_empty() && trimmed == found, "{found:?}");
        assert!(found.chars().count() <= title::MAX_TITLE_CHARS, "{found:?}");
        assert!(!found.contains("  "), "{found:?}");
        assert!(!found.contains(['\t', '\n', '\r', '\x0c']), "{found:?}");
    }
    if body.len() <= title::MAX_HEAD {
        let piece = usize::from(body.first().copied().unwrap_or(1)).max(1) * 7;
        let mut sample = TitleSample::new(content_type);
        for chunk in body.chunks(piece) {
            sample.push(chunk);
        }
        let streamed = sample.title();
        assert_eq!(
            streamed,
            title::title_of(content_type, body, &[]),
            "streamed in pieces of {piece}"
        );
    }
}

/// The Content-Types [`html_title`] tries.
fn content_type(pick: u8) -> Option<&'static str> {
    match pick % 5 {
        0 => None,
        1 => Some("text/html"),
        2 => Some("text/html; charset=windows-1252"),
        3 => Some("application/xhtml+xml; charset=utf-16"),
        _ => Some("application/pdf"),
    }
}

/// URLs in HTML: see `assert_extraction`; with and without a base URL.
pub fn html_extract(data: &[u8]) {
    for options in options() {
        let extraction = extract::extract(Kind::Html, data, &options).expect("HTML extraction cannot fail");
        assert_extraction(&extraction, &options);
    }
}

/// URLs in PDF: see `assert_extraction`; and the text layer `archive` compares is read
/// without a panic.
pub fn pdf_extract(data: &[u8]) {
    match extract::extract(Kind::Pdf, data, &Options::default()) {
        Ok(extraction) => assert_extraction(&extraction, &Options::default()),
        Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
    }
    let _ = extract::pdf::document_text(data);
}

/// The replay server's HTML rewrite: the first byte picks the size of the pieces the page
/// arrives in. Whatever the bytes, the rewriter does not panic; however the page is cut, the
/// result is the same; a page without markup comes back as it was; and no `href` or `src`
/// attribute the rewriter wrote leads to the live web (quoted http(s) URLs only appear after
/// `/web/<timestamp>/`).
pub fn replay_rewrite(data: &[u8]) {
    let (piece, page) = match data.split_first() {
        Some((pick, page)) => (usize::from(*pick).max(1), page),
        None => (1, data),
    };
    let mut manifest = Manifest::new();
    let entry = serde_json::json!({"url": "https://example.org/b.html", "snapshots": [{
        "sha256": "0".repeat(64), "size": 1, "content_type": "text/html",
        "first_seen": "2020-01-01T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z",
        "http_status": 200, "final_url": "https://example.org/b.html", "etag": null,
        "last_modified": null, "title": null, "object": "x", "run": "r"}]});
    manifest
        .links
        .insert("b".into(), serde_json::from_value(entry).expect("a valid entry"));
    let base = url::Url::parse(BASE_URL).expect("a valid URL");
    let rewrite =
        |piece: usize| crate::serve::rewrite_bytes(page, piece, manifest.clone(), base.clone(), "20200101000000");
    let (Ok(whole), Ok(pieces)) = (rewrite(page.len()), rewrite(piece)) else {
        return;
    };
    assert_eq!(whole, pieces, "the page rewritten in pieces of {piece} differs");
    if !page.contains(&b'<') {
        assert_eq!(whole, page, "a page without markup changed");
    }
    for attribute in [&b"href=\"http"[..], b"src=\"http", b"href='http", b"src='http"] {
        assert!(
            !whole
                .windows(attribute.len())
                .any(|w| w.eq_ignore_ascii_case(attribute))
                || page.windows(attribute.len()).any(|w| w.eq_ignore_ascii_case(attribute)),
            "the rewriter wrote a live URL: {}",
            String::from_utf8_lossy(&whole)
        );
    }
}

/// Extraction options with no base, and with [`BASE_URL`].
fn options() -> [Options; 2] {
    let base = url::Url::parse(BASE_URL).expect("a valid URL");
    [
        Options::default(),
        Options {
            base_url: Some(base),
            all: true,
        },
    ]
}

/// What any extraction promises: each URL found is one links.json accepts, found once; with a
/// base nothing is left unresolved; warnings are one line; and the links written as the
/// links.json `extract` writes parse back as the same URLs.
fn assert_extraction(extraction: &Extraction, options: &Options) {
    let mut seen = HashSet::new();
    for found in &extraction.links {
        let parsed = crate::links::parse_url(&found.url).unwrap_or_else(|e| panic!("{found:?}: {e}"));
        assert!(seen.insert(parsed.to_string()), "found twice: {found:?}");
    }
    if options.base_url.is_some() {
        assert!(extraction.unresolved.is_empty(), "{:?}", extraction.unresolved);
    }
    for warning in &extraction.warnings {
        assert!(!warning.contains('\n'), "{warning:?}");
    }
    let Ok(document) = extract::merge::fresh(&extraction.links, &["fuzzed.html".to_owned()]) else {
        // Two URLs whose derived ids collide: `extract` reports that, and writes nothing.
        return;
    };
    let written = extract::merge::to_text(&document);
    let parsed = crate::links::parse(Path::new(LINKS_PATH), &written).unwrap_or_else(|e| panic!("{e}\n{written}"));
    let urls: Vec<&str> = parsed.links.iter().map(|l| l.url.as_str()).collect();
    let found: Vec<&str> = extraction.links.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(urls, found);
}
