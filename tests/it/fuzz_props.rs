//! The fuzz targets of `linkkeep::fuzzing` on every `cargo test` (issue #15): a fixed-seed
//! proptest run per target, [`CASES`] cases each, over real inputs (the fixtures, among them a
//! PDF of links written by lopdf, and a WARC written here with the crate's own writer) changed
//! by a few mutations each: bit
//! flips, bytes set, removed, duplicated or cut, and tokens of the format inserted, so that the
//! deep paths of each parser are reached, not only its first check. A failure is shrunk to the
//! fewest mutations and shown as bytes.
//!
//! The same targets run unbounded under cargo-fuzz (`fuzz/`, nightly only).

use std::io::{Cursor, Read, Write};
use std::path::Path;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

use linkkeep::fuzzing;

use crate::extract_pdf::{laid_out_pdf, pdf_with};

/// Cases per target: together, a few seconds in a debug build. `LINKKEEP_FUZZ_CASES` sets
/// another count, for a longer hunt by hand.
const CASES: u32 = 1024;
/// The one seed of every run: the same cases every time, on every machine.
const SEED: &[u8; 32] = b"linkkeep issue 15 fuzz props 001";
/// The most mutations applied to one input.
const MAX_MUTATIONS: usize = 8;

/// One change to an input. Positions are fractions of the input's length at that moment.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Remove(Index, usize),
    Duplicate { from: Index, len: usize, to: Index },
    InsertToken(Index, Index),
    InsertBytes(Index, Vec<u8>),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove(at, len)),
        1 => (any::<Index>(), 1usize..256, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(at, token)| Mutation::InsertToken(at, token)),
        1 => (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| Mutation::InsertBytes(at, bytes)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// `input` with `mutations` applied, tokens taken from `tokens`.
fn mutate(input: &[u8], mutations: &[Mutation], tokens: &[&[u8]]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    // A position in `bytes` (one past the end allowed when inserting).
    let at = |index: &Index, len: usize| index.index(len + 1);
    for mutation in mutations {
        let len = bytes.len();
        match mutation {
            Mutation::FlipBit(i, bit) if len > 0 => bytes[i.index(len)] ^= 1 << bit,
            Mutation::SetByte(i, byte) if len > 0 => bytes[i.index(len)] = *byte,
            Mutation::Remove(i, n) => {
                let start = at(i, len).min(len);
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::Duplicate { from, len: n, to } if len > 0 => {
                let start = from.index(len);
                let piece = bytes[start..(start + n).min(len)].to_vec();
                let to = at(to, len);
                bytes.splice(to..to, piece);
            }
            Mutation::InsertToken(i, token) if !tokens.is_empty() => {
                let to = at(i, len);
                bytes.splice(to..to, tokens[token.index(tokens.len())].iter().copied());
            }
            Mutation::InsertBytes(i, inserted) => {
                let to = at(i, len);
                bytes.splice(to..to, inserted.iter().copied());
            }
            Mutation::Truncate(i) => bytes.truncate(at(i, len)),
            _ => {}
        }
    }
    bytes
}

/// Runs `target` on [`CASES`] mutations of `seeds`, each turned into the target's input by
/// `prepare` (given a flag the run chooses at random); panics with the smallest failing input.
fn fuzz(
    name: &str,
    target: fn(&[u8]),
    seeds: &[Vec<u8>],
    tokens: &[&[u8]],
    prepare: impl Fn(Vec<u8>, bool) -> Vec<u8>,
) {
    assert!(!seeds.is_empty());
    // Each target's own stream of cases, from the one seed.
    let mut seed = *SEED;
    for (i, b) in name.bytes().enumerate() {
        seed[i % seed.len()] ^= b;
    }
    let wanted = std::env::var("LINKKEEP_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    let config = Config {
        cases: wanted,
        failure_persistence: None,
        max_shrink_iters: 1024,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let strategy = (0..seeds.len(), vec(mutation(), 0..=MAX_MUTATIONS), any::<bool>());
    let input = |(seed, mutations, flag): &(usize, Vec<Mutation>, bool)| {
        prepare(mutate(&seeds[*seed], mutations, tokens), *flag)
    };
    // The seeds as they are, first: they must pass before any mutation means anything.
    for (i, seed) in seeds.iter().enumerate() {
        for flag in [false, true] {
            let bytes = prepare(seed.clone(), flag);
            if std::panic::catch_unwind(|| target(&bytes)).is_err() {
                panic!("{name}: seed {i} ({flag}) fails unmutated: {}", show(&bytes));
            }
        }
    }
    let cases = std::cell::Cell::new(0);
    let result = quietly(|| {
        runner.run(&strategy, |case| {
            cases.set(cases.get() + 1);
            target(&input(&case));
            Ok(())
        })
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!(
                "{name}: {reason}\nsmallest case: {case:?}\ninput: {}",
                show(&input(&case))
            )
        }
        Err(e) => panic!("{name}: {e}"),
    }
    assert_eq!(cases.get(), wanted, "{name}: every case ran");
}

thread_local! {
    /// Set while this thread runs fuzz cases: their panics are expected, caught and reported
    /// once, shrunk, rather than printed by the hundred while proptest shrinks.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this thread's panics kept quiet; other threads' still print.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = f();
    QUIET.with(|q| q.set(false));
    result
}

/// Bytes as a Rust byte-string literal would show them.
fn show(bytes: &[u8]) -> String {
    format!("b\"{}\" ({} bytes)", bytes.escape_ascii(), bytes.len())
}

fn fixture(path: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .unwrap();
    plain
}

/// A plain WARC gzipped record by record (a member per `WARC/1.`-started piece), as
/// `linkkeep` writes them, so that mutations of the plain text reach the record parser.
fn gzip_records(plain: Vec<u8>) -> Vec<u8> {
    let mut starts: Vec<usize> = plain
        .windows(7)
        .enumerate()
        .filter(|(i, w)| *w == b"WARC/1." && (*i == 0 || plain[i - 1] == b'\n'))
        .map(|(i, _)| i)
        .collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts.push(plain.len());
    let mut out = Vec::new();
    for piece in starts.windows(2) {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&plain[piece[0]..piece[1]]).unwrap();
        out.extend(encoder.finish().unwrap());
    }
    out
}

/// A WARC of a warcinfo, a request, a chunked response and a revisit, written with the crate's
/// own record writer, uncompressed.
fn written_warc() -> Vec<u8> {
    use linkkeep::warc::{
        CONTENT_TYPE_HTTP_REQUEST, CONTENT_TYPE_HTTP_RESPONSE, CONTENT_TYPE_WARC_FIELDS,
        PROFILE_IDENTICAL_PAYLOAD_DIGEST, RecordSpec, RecordType, http_request_head, http_response_head, sha256_label,
        warc_date, warcinfo_fields, write_record,
    };
    use sha2::Digest;
    const URL: &str = "https://example.org/report.pdf";
    let chunked: &[u8] = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
    let date = warc_date(chrono::DateTime::from_timestamp(1_767_232_984, 0).unwrap());
    let mut warc = Vec::new();
    let mut append = |spec: &RecordSpec, head: &[u8], body: &[u8]| {
        let mut member = Vec::new();
        let offset = warc.len() as u64;
        write_record(
            &mut member,
            offset,
            spec,
            head,
            &mut Cursor::new(body),
            body.len() as u64,
            None,
        )
        .unwrap();
        warc.extend(gunzip(&member));
    };
    let info = RecordSpec::new(RecordType::Warcinfo, date.clone(), CONTENT_TYPE_WARC_FIELDS);
    append(
        &info,
        &warcinfo_fields("linkkeep/fuzz", &[("isPartOf", "fuzz".to_string())]),
        b"",
    );

    let url = url::Url::parse(URL).unwrap();
    let mut response = RecordSpec::new(RecordType::Response, date.clone(), CONTENT_TYPE_HTTP_RESPONSE);
    response.target_uri = Some(URL.into());
    let mut request = RecordSpec::new(RecordType::Request, date.clone(), CONTENT_TYPE_HTTP_REQUEST);
    request.target_uri = Some(URL.into());
    request.concurrent_to = Some(response.record_id.clone());
    append(
        &request,
        &http_request_head("GET", &url, &[("Accept".into(), b"*/*".to_vec())]),
        b"",
    );

    let headers = vec![
        ("Content-Type".to_string(), b"application/pdf".to_vec()),
        ("Transfer-Encoding".to_string(), b"chunked".to_vec()),
    ];
    let digest: [u8; 32] = sha2::Sha256::digest(b"hello world").into();
    let payload = sha256_label(&digest);
    response.payload_digest = Some(payload.clone());
    append(&response, &http_response_head("HTTP/1.1", 200, "OK", &headers), chunked);

    let mut revisit = RecordSpec::new(RecordType::Revisit, date.clone(), CONTENT_TYPE_HTTP_RESPONSE);
    revisit.target_uri = Some(URL.into());
    revisit.profile = Some(PROFILE_IDENTICAL_PAYLOAD_DIGEST.into());
    revisit.refers_to = Some(response.record_id.clone());
    revisit.refers_to_date = Some(date);
    revisit.payload_digest = Some(payload);
    append(&revisit, &http_response_head("HTTP/1.1", 200, "OK", &headers[..1]), b"");
    warc
}

#[test]
fn warc_reader() {
    let mut plain = vec![written_warc()];
    let mut seeds = Vec::new();
    for file in ["20261204T182027Z-mgrv.warc.gz", "20261204T182028Z-b44g.warc.gz"] {
        let gz = fixture(&format!("archive-0.1.0/archive/warc/{file}"));
        plain.push(gunzip(&gz));
        seeds.push(gz);
    }
    // Half the cases gzip a mutated plain WARC record by record; the gzipped seeds are mutated
    // as they are (and are left as they are by `prepare`).
    seeds.splice(0..0, plain);
    let tokens: &[&[u8]] = &[
        b"\r\n",
        b"\r\n\r\n",
        b"WARC/1.1\r\n",
        b"WARC/1.0\r\n",
        b"Content-Length: 0\r\n",
        b"Content-Length: 18446744073709551615\r\n",
        b"WARC-Type: response\r\n",
        b"WARC-Type: revisit\r\n",
        b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000000>\r\n",
        b"WARC-Block-Digest: sha256:AAAA\r\n",
        b"WARC-Payload-Digest: sha1:AAAA\r\n",
        b"Content-Type: application/http; msgtype=response\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"ffffffffffffffff\r\n",
        b"0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
        b":",
        b"\0",
    ];
    let regzip = |bytes: Vec<u8>, flag: bool| {
        let is_gzip = bytes.starts_with(&[0x1f, 0x8b]);
        if flag && !is_gzip { gzip_records(bytes) } else { bytes }
    };
    fuzz("warc_reader", fuzzing::warc_reader, &seeds, tokens, regzip);
}

#[test]
fn links_json() {
    let hand_written = br#"{
  "version": 1,
  "source": {"document": "paper.md", "commit": "abc123"},
  "links": [
    {"id": "report", "url": "https://example.org/report?a=1&b=%20", "title": "A report", "publisher": "Example", "note": "cited in 2.1", "pages": [1, 2]},
    {"url": "http://[::1]:8080/path/../x"},
    "https://xn--caf-dma.example/caf%C3%A9",
    {"id": null, "url": "https://example.org/report?a=1&b=%20#part"}
  ]
}"#;
    let seeds = vec![
        fixture("archive-0.1.0/links.json"),
        hand_written.to_vec(),
        br#"["https://a.example/", "https://b.example/x"]"#.to_vec(),
    ];
    let tokens: &[&[u8]] = &[
        b"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"null",
        b"\"id\": \"x\",",
        b"\"url\": \"https://u.example/\",",
        b"\"version\": 2,",
        b"\"title\": 7,",
        b" \"https://a.example/\",",
        b"\\u0000",
        b"\\ud800",
        b"1e999",
        b"\n",
        "\u{202e}".as_bytes(),
    ];
    fuzz("links_json", fuzzing::links_json, &seeds, tokens, |bytes, _| bytes);
}

#[test]
fn manifest() {
    let current = fixture("archive-0.1.0/archive/manifest.json");
    let value: serde_json::Value = serde_json::from_slice(&current).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let seeds = vec![current, pretty, br#"{"schema_version":1,"links":{}}"#.to_vec()];
    let tokens: &[&[u8]] = &[
        b"\"",
        b"{",
        b"}",
        b",",
        b":",
        b"\n",
        b"null",
        b"\"schema_version\":2,",
        b"\"snapshots\":[],",
        b"\"similarity\":0.30000000000000004,",
        b"\"size\":18446744073709551616,",
        b"\"url\":\"https://a.example/\"",
        b"\"x\": {\"url\":\"https://a.example/\"},\n",
        b"\"links\": {",
        b"\\u0000",
        b"-0",
    ];
    fuzz("manifest", fuzzing::manifest, &seeds, tokens, |bytes, _| bytes);
}

/// Seeds for the title target: a Content-Type pick (see `fuzzing::html_title`), then a page.
fn title_seeds() -> Vec<Vec<u8>> {
    let with = |pick: u8, body: &[u8]| [&[pick][..], body].concat();
    vec![
        with(1, &fixture("extract/tricky.html")),
        with(2, b"<html><head><title>Caf\xe9 \x96 r\xe9sum\xe9</title></head></html>"),
        with(0, b"<!doctype html><meta charset=\"koi8-r\"><svg><title>drawing</title></svg><title>\xf0\xd2\xc9\xd7\xc5\xd4</title>"),
        with(3, b"\xff\xfe<\0t\0i\0t\0l\0e\0>\0h\0i\0<\0/\0t\0i\0t\0l\0e\0>\0"),
        with(1, b"<title>\x1b[31mred\x1b[0m \xe2\x80\xae evil\t\n  spaced </title>"),
        with(4, &pdf_with_title()),
        with(4, &fixture("extract/links.pdf")),
    ]
}

/// A PDF whose information dictionary names its title.
fn pdf_with_title() -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(&pdf_with(&["Some text"], &[])).unwrap();
    let info = doc.add_object(lopdf::dictionary! { "Title" => lopdf::Object::string_literal("A (titled) PDF") });
    doc.trailer.set("Info", info);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

const HTML_TOKENS: &[&[u8]] = &[
    b"<title>",
    b"</title>",
    b"<svg>",
    b"<script>",
    b"<!--",
    b"-->",
    b"<meta charset=\"windows-1252\">",
    b"<meta http-equiv=content-type content=\"text/html; charset=utf-16\">",
    b"<base href=\"//other.example/\">",
    b"<a href=\"",
    b"\">",
    b"https://",
    b"http://[::1",
    b"&amp;",
    b"&#0;",
    b"\x1b]8;;",
    b"\xef\xbb\xbf",
    b"\xe2\x80\xae",
    b"\0",
];

#[test]
fn html_title() {
    let mut tokens = HTML_TOKENS.to_vec();
    tokens.extend_from_slice(&[b"/Title (", b")", b"/Info 9 0 R", b"<?xpacket", b"<dc:title>"]);
    fuzz(
        "html_title",
        fuzzing::html_title,
        &title_seeds(),
        &tokens,
        |bytes, _| bytes,
    );
}

#[test]
fn replay_rewrite() {
    let mut seeds = vec![
        fixture("extract/tricky.html"),
        b"<html><head><base href=\"/dir/\"></head><body><a href=\"https://example.org/b.html\">b</a> \
          <img srcset=\"http://cdn.example/i.png 2x, o.png\"><form action=\"http://x.example/f\"></form></body></html>"
            .to_vec(),
    ];
    // The first byte is the size of the pieces the page arrives in.
    for seed in &mut seeds {
        seed.insert(0, 7);
    }
    fuzz(
        "replay_rewrite",
        fuzzing::replay_rewrite,
        &seeds,
        HTML_TOKENS,
        |bytes, _| bytes,
    );
}

#[test]
fn html_extract() {
    let seeds = vec![
        fixture("extract/tricky.html"),
        b"<html><body><p>See https://a.example/x and <a href=\"rel/y\">y</a>.</p></body></html>".to_vec(),
    ];
    fuzz(
        "html_extract",
        fuzzing::html_extract,
        &seeds,
        HTML_TOKENS,
        |bytes, _| bytes,
    );
}

#[test]
fn pdf_extract() {
    let seeds = vec![fixture("extract/links.pdf"), pdf_with_title(), laid_out_pdf()];
    let tokens: &[&[u8]] = &[
        // The positioning and fonts the text layout follows (issue #21).
        b" Tm\n",
        b" cm\n",
        b"q\n",
        b"Q\n",
        b"T*\n",
        b" TL\n",
        b" Tz\n",
        b" Ts\n",
        b" Tf\n",
        b" '\n",
        b"-1e38 ",
        b"4294967295 ",
        b"/Widths [",
        b"/FirstChar 4294967295",
        b"/Subtype /Type0",
        b"/DescendantFonts [",
        b"/W [0 65535 ",
        b" obj\n",
        b"endobj\n",
        b"stream\n",
        b"\nendstream",
        b"<<",
        b">>",
        b"/Length 0",
        b"/Length 99999999",
        b"/Filter /FlateDecode",
        b"/URI (https://d.example/)",
        b"/Annots [",
        b"/Kids [",
        b"]",
        b"1 0 R",
        b"(",
        b")",
        b"Tj\n",
        b"TJ\n",
        b"Td\n",
        b"xref\n0 1\n",
        b"trailer\n",
        b"startxref\n",
    ];
    fuzz("pdf_extract", fuzzing::pdf_extract, &seeds, tokens, |bytes, _| bytes);
}
