//! Issue #13: each payload is stored once, in its WARC record, written in one pass; a slow disk
//! slows the writes, not the downloads' timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::archive::{Scratch, random_bytes, sha256_hex};

/// Past the size kept in memory: a body with a WARC file of its own.
const LARGE: usize = linkkeep::warc::run::LARGE_BODY as usize;

/// Every byte under `dir`, as `du -sb` counts file contents.
fn bytes_under(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            bytes_under(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn distinct_incompressible_payloads_take_their_own_size_on_disk() {
    let server = MockServer::start().await;
    // Small ones into the run's file, large ones into files of their own.
    let sizes: Vec<usize> = (0..16)
        .map(|n| 40_000 + n * 17_000)
        .chain([LARGE + 1, 3 * LARGE])
        .collect();
    let mut links = Vec::new();
    let mut payloads = 0u64;
    for (n, size) in sizes.iter().enumerate() {
        Mock::given(path(format!("/doc/{n}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(random_bytes(n as u64 + 1, *size), "application/pdf"))
            .mount(&server)
            .await;
        links.push((format!("doc-{n}"), format!("{}/doc/{n}", server.uri())));
        payloads += *size as u64;
    }
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let scratch = Scratch::new(&links);

    let run = scratch.archive(&["--retries", "0"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(scratch.assert_payloads_intact(&scratch.manifest()), sizes.len());
    let on_disk = bytes_under(&scratch.archive);
    assert!(
        on_disk as f64 <= payloads as f64 * 1.03,
        "the archive takes {on_disk} bytes for {payloads} bytes of payloads"
    );
    // Two large bodies, two files of their own, beside the run's.
    assert_eq!(scratch.warc_files().len(), 3, "{:?}", scratch.warc_files());
    assert!(!scratch.archive.join("objects").exists());
    scratch.assert_tmp_empty();
}

/// A, then B, then A again: the third capture is a new snapshot whose payload is the record
/// of the first, reached through a revisit record, and `get --at` gives it back.
#[tokio::test(flavor = "multi_thread")]
async fn a_revisit_gives_back_its_payload_through_get_at() {
    let server = MockServer::start().await;
    let (a, b) = (random_bytes(7, 2 * LARGE), random_bytes(8, 30_000));
    let served = Arc::new(AtomicUsize::new(0));
    let bodies = [a.clone(), b.clone(), a.clone()];
    let count = Arc::clone(&served);
    Mock::given(path("/doc"))
        .respond_with(move |_: &Request| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_raw(bodies[n.min(2)].clone(), "application/pdf")
        })
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("doc", format!("{}/doc", server.uri()))]);
    for expected in ["new", "changed", "changed"] {
        let run = scratch.archive(&["--retries", "0"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.result("doc")["change"], expected, "{:#}", run.report);
        // Captures a second apart at least, so that each has its own time.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }

    let snapshots = scratch.snapshots("doc");
    assert_eq!(snapshots.len(), 3, "{snapshots:#?}");
    assert_eq!(snapshots[2]["sha256"], sha256_hex(&a));
    for field in ["warc", "offset", "length", "record_id"] {
        assert_eq!(
            snapshots[2][field], snapshots[0][field],
            "{field}: the first record holds it"
        );
    }
    assert_eq!(
        scratch.warc_files().len(),
        3 + 1,
        "A's own file, and each run's: {:?}",
        scratch.warc_files()
    );
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    assert_eq!(
        index.lines().filter(|l| l.contains("warc/revisit")).count(),
        1,
        "{index}"
    );

    for (snapshot, expected) in snapshots.iter().zip([&a, &b, &a]) {
        let at = snapshot["first_seen"].as_str().unwrap();
        let get = scratch.run(&["get", "doc", "--at", at]).await;
        assert_eq!(get.code, 0, "{}", get.stderr);
        assert!(get.stdout == *expected, "get --at {at} gives the capture's bytes");
    }
}

/// A writer stalled for two seconds (the debug build's slow-disk switch) slows its own
/// download, while links in flight meanwhile finish within their one-second timeout: no
/// runtime thread waits for the disk.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_disk_does_not_time_out_other_links() {
    let server = MockServer::start().await;
    let large = random_bytes(3, 3 * LARGE);
    Mock::given(path("/large"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(large.clone(), "application/pdf"))
        .mount(&server)
        .await;
    // In flight while the large bodies' writers stall (they stall at once, these answer later).
    Mock::given(path("/small"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(&b"a small page"[..], "text/plain")
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let mut links = Vec::new();
    for n in 0..4 {
        links.push((format!("large-{n}"), format!("{}/large?n={n}", server.uri())));
    }
    for n in 0..8 {
        links.push((format!("small-{n}"), format!("{}/small?n={n}", server.uri())));
    }
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let scratch = Scratch::new(&links);

    let mut cmd = scratch.cmd();
    cmd.args([
        "archive",
        "--format",
        "json",
        "--retries",
        "0",
        "--timeout",
        "1",
        "--per-host",
        "16",
    ])
    .env("LINKKEEP_TEST_STALL_WRITES_MS", "2000");
    let (code, report, stderr) = crate::support::archive::json_run(cmd).await;

    assert_eq!(code, 0, "{stderr}\n{report:#}");
    for result in report["results"].as_array().unwrap() {
        assert_eq!(result["outcome"], "ok", "{result:#}");
        let elapsed = result["elapsed_ms"].as_u64().unwrap();
        if result["id"].as_str().unwrap().starts_with("small") {
            assert!(elapsed < 2000, "a small link waited for the stalled disk: {result:#}");
        }
    }
    scratch.assert_payloads_intact(&scratch.manifest());
}

/// `verify` notices a large body's WARC file cut short.
#[tokio::test(flavor = "multi_thread")]
async fn verify_catches_a_truncated_file_of_a_large_body() {
    let server = MockServer::start().await;
    Mock::given(path("/large"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(random_bytes(5, 2 * LARGE), "application/pdf"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("large", format!("{}/large", server.uri()))]);
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let snapshot = &scratch.snapshots("large")[0];
    let file = scratch.archive.join(snapshot["warc"].as_str().unwrap());
    assert!(file.to_str().unwrap().ends_with("-1.warc.gz"), "{file:?}");
    let verify = scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);

    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let verify = scratch.run(&["verify", "--format", "json"]).await;
    assert_eq!(verify.code, 1, "{}", verify.stderr);
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    let outcome = report["results"][0]["outcome"].as_str().unwrap();
    assert!(["corrupt_object", "corrupt_warc"].contains(&outcome), "{report:#}");
}

/// pywb replays, byte for byte, a body past the large-body threshold (a WARC file of its own)
/// and a chunked body of unknown length that grew past it while it arrived.
#[tokio::test(flavor = "multi_thread")]
async fn pywb_replays_large_and_chunked_bodies_byte_for_byte() {
    use crate::support::pytools::{Wayback, run_tool, tools_or_skip, ts14};
    use std::ffi::OsStr;
    let Some([wb_manager, wayback]) = tools_or_skip(["wb-manager", "wayback"]) else {
        return;
    };
    let server = MockServer::start().await;
    let large = random_bytes(11, 2 * LARGE + 5);
    Mock::given(path("/large.pdf"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(large.clone(), "application/pdf"))
        .mount(&server)
        .await;
    let chunks: Vec<bytes::Bytes> = (0..24u64)
        .map(|n| bytes::Bytes::from(random_bytes(100 + n, 64 * 1024)))
        .collect();
    let chunked: Vec<u8> = chunks.concat();
    let chunked_url = crate::support::bodies::chunked_server("application/octet-stream", chunks).await;
    let scratch = Scratch::new(&[
        ("large", format!("{}/large.pdf", server.uri())),
        ("chunked", chunked_url.clone()),
    ]);
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        scratch.warc_files().len(),
        3,
        "two files of their own: {:?}",
        scratch.warc_files()
    );

    let dir = tempfile::tempdir().unwrap();
    let init = run_tool(&wb_manager, &[OsStr::new("init"), OsStr::new("coll")], dir.path()).await;
    assert_eq!(init.code, 0, "{}", init.output());
    let warcs = scratch.warc_files();
    let mut args = vec![OsStr::new("add"), OsStr::new("coll")];
    args.extend(warcs.iter().map(|w| w.as_os_str()));
    let add = run_tool(&wb_manager, &args, dir.path()).await;
    assert_eq!(add.code, 0, "{}", add.output());
    let pywb = Wayback::start(&wayback, dir.path()).await;
    for (id, url, body) in [
        ("large", format!("{}/large.pdf", server.uri()), &large),
        ("chunked", chunked_url, &chunked),
    ] {
        let snapshot = &scratch.snapshots(id)[0];
        assert_eq!(scratch.payload(snapshot), *body, "{id}: the record's payload");
        let ts = ts14(snapshot["record_date"].as_str().unwrap());
        let response = pywb.replay(&ts, &url, "identity").await;
        assert_eq!(response.status(), 200, "{id}: {}", pywb.log());
        let bytes = response.bytes().await.unwrap();
        assert!(
            bytes.as_ref() == body.as_slice(),
            "{id}: pywb replayed {} bytes, not the {} served",
            bytes.len(),
            body.len()
        );
    }
}
