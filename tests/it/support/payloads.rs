//! Helpers for the readers of payloads (issue #13): a site whose bodies come gzip-encoded, plain
//! and chunked, archived by the real binary and then made to hold each payload once, in its WARC
//! record only (no `objects/`, no `object` fields), whichever writer produced it; and the ways
//! a test finds, damages or turns back into 0.1.0 layout a snapshot's record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::archive::{Scratch, gzip, random_bytes, sha256_hex};
use super::bodies::chunked_server;
use super::verify::make_writable;

/// A page with no link to anything archived, so its rewritten replay is its bytes unchanged.
pub fn page_html() -> Vec<u8> {
    let mut html =
        b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Gzipped page</title></head><body>\n".to_vec();
    for i in 0..2_000 {
        html.extend_from_slice(format!("<p>Paragraph {i} about enhanced cooperation &amp; the WGEC.</p>\n").as_bytes());
    }
    html.extend_from_slice(b"<a href=\"http://127.0.0.1:9/elsewhere.html\">not archived</a></body></html>\n");
    html
}

/// A PDF-like body of incompressible bytes, larger than one read of any reader.
pub fn pdf() -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend(random_bytes(13, 300_000));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

/// The chunks of the body sent without a length: 2.5 MiB in 64 KiB chunks, above the size a
/// download is written beside rather than inline.
pub fn stream_chunks() -> Vec<Bytes> {
    random_bytes(21, 2_560 * 1024)
        .chunks(64 * 1024)
        .map(Bytes::copy_from_slice)
        .collect()
}

/// A site of three bodies archived once: `page` (HTML sent with `Content-Encoding: gzip`),
/// `pdf` (no encoding, with a length) and `stream` (chunked, no length); every payload is then
/// only in its WARC record.
pub struct Served {
    /// Keeps the site up for as long as the test runs.
    _server: MockServer,
    pub scratch: Scratch,
    /// The payload of each link as a browser would save it (the gzip removed).
    pub payloads: Vec<(&'static str, Vec<u8>)>,
}

impl Served {
    pub async fn archived() -> Self {
        let server = MockServer::start().await;
        Mock::given(path("/page.html"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(gzip(&page_html()).await, "text/html; charset=utf-8")
                    .insert_header("content-encoding", "gzip"),
            )
            .mount(&server)
            .await;
        Mock::given(path("/report.pdf"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(pdf(), "application/pdf"))
            .mount(&server)
            .await;
        let stream = chunked_server("application/octet-stream", stream_chunks()).await;
        let scratch = Scratch::new(&[
            ("page", format!("{}/page.html", server.uri())),
            ("pdf", format!("{}/report.pdf", server.uri())),
            ("stream", stream),
        ]);
        let run = scratch.archive(&["--retries", "0"]).await;
        assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
        strip_objects(&scratch.archive);
        let stream: Vec<u8> = stream_chunks().concat();
        let served = Served {
            _server: server,
            scratch,
            payloads: vec![("page", page_html()), ("pdf", pdf()), ("stream", stream)],
        };
        for (id, payload) in &served.payloads {
            let snapshot = served.latest(id);
            assert_eq!(snapshot["sha256"], sha256_hex(payload), "{id}");
            assert!(snapshot.get("object").is_none(), "{id}: {snapshot:#}");
            record_range(&served.scratch.archive, &snapshot);
        }
        served
    }

    /// The manifest's latest snapshot of `id`.
    pub fn latest(&self, id: &str) -> Value {
        self.scratch.snapshots(id).last().cloned().unwrap()
    }

    /// The payload `id` was served with.
    pub fn payload(&self, id: &str) -> &[u8] {
        &self.payloads.iter().find(|(i, _)| *i == id).unwrap().1
    }
}

/// Makes an archive hold each payload only in its WARC record: removes `objects/` and every
/// snapshot's `object` field, as an archive of the one-copy layout has neither.
pub fn strip_objects(archive: &Path) {
    let objects = archive.join("objects");
    if objects.exists() {
        make_tree_writable(&objects);
        std::fs::remove_dir_all(&objects).unwrap();
    }
    edit_snapshots(archive, |snapshot| {
        snapshot.as_object_mut().unwrap().remove("object");
    });
}

/// Turns the archive into the 0.1.0 layout: every snapshot names an object file holding its
/// payload, written from `payloads` (looked up by SHA-256), besides its record.
pub fn as_0_1_0(archive: &Path, payloads: &[&[u8]]) {
    let by_sha: HashMap<String, &[u8]> = payloads.iter().map(|p| (sha256_hex(p), *p)).collect();
    strip_objects(archive);
    edit_snapshots(archive, |snapshot| {
        let sha = snapshot["sha256"].as_str().unwrap().to_owned();
        let payload = by_sha.get(&sha).unwrap_or_else(|| panic!("no payload given for {sha}"));
        let object = format!("objects/sha256/{}/{}", &sha[..2], &sha[2..]);
        let path = archive.join(&object);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, payload).unwrap();
        snapshot["object"] = Value::from(object);
    });
}

/// Rewrites `archive/manifest.json` with `edit` applied to every snapshot.
pub fn edit_snapshots(archive: &Path, mut edit: impl FnMut(&mut Value)) {
    let path = archive.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for entry in manifest["links"].as_object_mut().unwrap().values_mut() {
        for snapshot in entry["snapshots"].as_array_mut().unwrap() {
            edit(snapshot);
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// The WARC file, offset and length of the record `snapshot` names; panics unless it names one
/// inside a file of the archive.
pub fn record_range(archive: &Path, snapshot: &Value) -> (PathBuf, u64, u64) {
    let file = snapshot["warc"]
        .as_str()
        .unwrap_or_else(|| panic!("no warc: {snapshot:#}"));
    let offset = snapshot["offset"]
        .as_u64()
        .unwrap_or_else(|| panic!("no offset: {snapshot:#}"));
    let length = snapshot["length"]
        .as_u64()
        .unwrap_or_else(|| panic!("no length: {snapshot:#}"));
    let path = archive.join(file);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(offset + length <= size, "{file} is {size} bytes: {snapshot:#}");
    (path, offset, length)
}

/// Flips one bit inside the record of `snapshot`, in the middle of `payload` as it lies there
/// verbatim (a record in stored blocks: every gzip and WARC boundary stays where it was, only
/// the payload is wrong); panics if the payload is not stored verbatim. A bit flipped in a
/// deflated record could break the gzip stream and with it the walk over the records after it.
pub fn flip_in_record(archive: &Path, snapshot: &Value, payload: &[u8]) {
    let (path, offset, length) = record_range(archive, snapshot);
    make_writable(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = payload.len() / 2;
    let needle = &payload[middle..middle + 64];
    let record = &bytes[offset as usize..(offset + length) as usize];
    let at = record
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the payload lies verbatim in its record (stored blocks)");
    bytes[offset as usize + at + 32] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
}

fn make_tree_writable(dir: &Path) {
    make_writable(dir);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            make_tree_writable(&path);
        } else {
            make_writable(&path);
        }
    }
}
