//! Byte-exact round trips through `archive` and `get` (served bytes, object file, `get` stdout
//! and `get -o`) for HTML, a binary PDF, gzip, br, zstd and deflate encoded pages, a chunked
//! body and bodies large enough to be stored from a thread of their own, plus dedupe of
//! identical payloads. Guards issues #3 and #7.

use bytes::Bytes;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, gzip, random_bytes, sha256_hex};
use crate::support::bodies::chunked_server;

/// Archives `url` as link `id`, then checks that the object, `get` and `get -o` all hold
/// exactly `expected`, and that the report and manifest agree on its hash and size.
async fn assert_round_trip(id: &str, url: String, expected: &[u8]) -> Scratch {
    let scratch = Scratch::new(&[(id, url)]);
    let run = scratch.archive(&["--retries", "0", "--timeout", "5"]).await;
    assert_eq!(run.code, 0, "{}\n{:#}", run.stderr, run.report);
    let result = run.result(id);
    assert_eq!(result["outcome"], "ok", "{result:#}");
    assert_eq!(result["change"], "new", "{result:#}");
    assert_eq!(result["sha256"], sha256_hex(expected), "{result:#}");
    assert_eq!(result["size"], expected.len() as u64, "{result:#}");

    let snapshots = scratch.snapshots(id);
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0]["sha256"], sha256_hex(expected));
    // Issue #13: the WARC record is the one copy; nothing else holds the payload.
    assert!(snapshots[0].get("object").is_none(), "{:#}", snapshots[0]);
    assert!(!scratch.archive.join("objects").exists());
    assert!(
        scratch.payload(&snapshots[0]) == expected,
        "the record's payload differs from what was served"
    );

    let get = scratch.run(&["get", id]).await;
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert!(
        get.stdout == expected,
        "get stdout differs ({} bytes)",
        get.stdout.len()
    );

    let out = scratch.dir.path().join("out.bin");
    let get = scratch.run(&["get", id, "-o", out.to_str().unwrap()]).await;
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert!(get.stdout.is_empty(), "get -o writes nothing to stdout");
    assert!(std::fs::read(&out).unwrap() == expected, "get -o file differs");
    scratch.assert_tmp_empty();
    scratch
}

#[tokio::test(flavor = "multi_thread")]
async fn html_page_round_trips_byte_for_byte() {
    let server = MockServer::start().await;
    let html = b"<!doctype html>\n<html><head><title>Enhanced cooperation</title></head>\n<body>WGEC</body></html>\n";
    Mock::given(method("GET"))
        .and(path("/page"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(html.to_vec(), "text/html; charset=utf-8"))
        .mount(&server)
        .await;

    let url = format!("{}/page", server.uri());
    let scratch = assert_round_trip("page", url.clone(), html).await;

    let snapshot = &scratch.snapshots("page")[0];
    assert_eq!(snapshot["title"], "Enhanced cooperation");
    assert_eq!(snapshot["content_type"], "text/html; charset=utf-8");
    // `get` also finds a link by its URL.
    let by_url = scratch.run(&["get", &url]).await;
    assert_eq!(by_url.code, 0, "{}", by_url.stderr);
    assert!(by_url.stdout == html);
    // Archive asks for every coding it can remove.
    let requests = server.received_requests().await.unwrap();
    let accept = requests[0].headers.get("accept-encoding").unwrap().to_str().unwrap();
    assert_eq!(accept, "gzip, deflate, br, zstd");
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_pdf_round_trips_byte_for_byte() {
    let server = MockServer::start().await;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend(random_bytes(7, 300_000));
    Mock::given(path("/paper.pdf"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(pdf.clone(), "application/pdf"))
        .mount(&server)
        .await;

    assert_round_trip("paper", format!("{}/paper.pdf", server.uri()), &pdf).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_encoded_page_is_stored_decoded() {
    let server = MockServer::start().await;
    let html = b"<html><head><title>Compressed</title></head><body>".repeat(200);
    let encoded = gzip(&html).await;
    assert_ne!(encoded, html);
    Mock::given(path("/gz"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(encoded.clone(), "text/html"),
        )
        .mount(&server)
        .await;

    let scratch = assert_round_trip("gz", format!("{}/gz", server.uri()), &html).await;
    assert_ne!(scratch.snapshots("gz")[0]["sha256"], sha256_hex(&encoded));
}

/// `data` encoded with the HTTP content coding `coding`.
async fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    use async_compression::tokio::write::{BrotliEncoder, DeflateEncoder, ZlibEncoder, ZstdEncoder};
    use tokio::io::{AsyncWrite, AsyncWriteExt};
    async fn run<W: AsyncWrite + Unpin>(mut encoder: W, data: &[u8]) -> W {
        encoder.write_all(data).await.unwrap();
        encoder.shutdown().await.unwrap();
        encoder
    }
    match coding {
        "br" => run(BrotliEncoder::new(Vec::new()), data).await.into_inner(),
        "zstd" => run(ZstdEncoder::new(Vec::new()), data).await.into_inner(),
        // HTTP's deflate is zlib-wrapped; some servers send raw deflate, which browsers accept.
        "deflate" => run(ZlibEncoder::new(Vec::new()), data).await.into_inner(),
        "raw-deflate" => run(DeflateEncoder::new(Vec::new()), data).await.into_inner(),
        other => panic!("unknown coding {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_accepted_coding_is_removed() {
    let server = MockServer::start().await;
    let text = b"<html><head><title>Codings</title></head><body>".repeat(100);
    for coding in ["br", "zstd", "deflate", "raw-deflate"] {
        let header = coding.trim_start_matches("raw-");
        Mock::given(path(format!("/{coding}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-encoding", header)
                    .set_body_raw(encode(coding, &text).await, "text/html"),
            )
            .mount(&server)
            .await;
    }
    for coding in ["br", "zstd", "deflate", "raw-deflate"] {
        assert_round_trip(coding, format!("{}/{coding}", server.uri()), &text).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_body_round_trips_byte_for_byte() {
    let chunks: Vec<Bytes> = (0..6u64)
        .map(|i| Bytes::from(random_bytes(i + 1, 10_000 + i as usize)))
        .collect();
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let url = chunked_server("application/octet-stream", chunks).await;

    assert_round_trip("chunked", url, &expected).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_past_the_worker_threshold_round_trip_with_valid_warc_records() {
    // Issue #7: past `WORKER_THRESHOLD` the object is hashed and written on its own thread
    // while the download task computes the WARC digests; both must still see every byte.
    let past = 3 * linkkeep::warc::run::LARGE_BODY as usize;
    let plain = random_bytes(11, past + 12_345);
    let encoded = random_bytes(12, past + 678);
    let server = MockServer::start().await;
    Mock::given(path("/plain"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(plain.clone(), "application/octet-stream"))
        .mount(&server)
        .await;
    Mock::given(path("/gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gzip(&encoded).await, "application/octet-stream"),
        )
        .mount(&server)
        .await;

    for (id, expected) in [("plain", &plain), ("gzip", &encoded)] {
        let scratch = assert_round_trip(id, format!("{}/{id}", server.uri()), expected).await;
        let warc = scratch.archive.join(scratch.snapshots(id)[0]["warc"].as_str().unwrap());
        let check = linkkeep::warc::check_warc(&warc).unwrap();
        assert!(check.is_ok(), "{id}: {:?}", check.problems);
        let responses = check.records.iter().filter(|r| r.record_type == "response").count();
        assert_eq!(responses, 1, "{id}: {:?}", check.records);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_payloads_are_stored_once() {
    let server = MockServer::start().await;
    let body = random_bytes(42, 50_000);
    for p in ["/a", "/b"] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), "application/octet-stream"))
            .mount(&server)
            .await;
    }
    let scratch = Scratch::new(&[
        ("a", format!("{}/a", server.uri())),
        ("b", format!("{}/b", server.uri())),
    ]);

    let run = scratch.archive(&["--retries", "0"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let (a, b) = (&scratch.snapshots("a")[0], &scratch.snapshots("b")[0]);
    assert_eq!(a["sha256"], sha256_hex(&body));
    assert_eq!(
        (&a["warc"], &a["offset"]),
        (&b["warc"], &b["offset"]),
        "one record holds both"
    );
    assert_eq!(scratch.payload_records().len(), 1, "{:?}", scratch.payload_records());
    assert_eq!(scratch.assert_payloads_intact(&scratch.manifest()), 2);
    scratch.assert_tmp_empty();
}
