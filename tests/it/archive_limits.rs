//! Bodies that must not become snapshots: a decompression bomb, an endless body and a declared
//! length beyond `--max-size` (too_large), a truncated body and a reset (network_error), a slow
//! drip (timeout); each leaves no snapshot, no WARC record and nothing in tmp/. The endless body,
//! a reset, a stall and a truncation also happen past `LARGE_BODY`, where the record is written
//! into a file of its own from a thread of its own (issues #7, #13). Also the charset of a windows-1252 title. Guards issue #3.

use std::time::{Duration, Instant};

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{ArchiveRun, Scratch, gzip_repeated, sha256_hex};
use crate::support::bodies::{
    drip_server, endless_server, huge_declared_server, large_truncated_server, reset_after_server,
    reset_mid_body_server, stall_after_server, truncated_once_server, truncated_server,
};

/// Archives `url` with `args` and asserts link `id` failed with `outcome`, leaving nothing behind.
async fn assert_fails_cleanly(id: &str, url: String, args: &[&str], outcome: &str) -> Scratch {
    let scratch = Scratch::new(&[(id, url)]);
    let run = scratch.archive(args).await;
    assert_failed_cleanly(&scratch, &run, id, outcome);
    scratch
}

/// Asserts that `run` on `scratch` failed link `id` with `outcome` and left nothing of it
/// behind: no snapshot, no WARC record, no file in tmp/.
pub fn assert_failed_cleanly(scratch: &Scratch, run: &ArchiveRun, id: &str, outcome: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    let result = run.result(id);
    assert_eq!(result["outcome"], outcome, "{result:#}");
    let error = result["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty() && !error.contains('\n'), "{result:#}");
    assert_eq!(result["sha256"], serde_json::Value::Null, "{result:#}");
    assert_eq!(result["change"], serde_json::Value::Null, "{result:#}");

    let entry = &scratch.manifest()["links"][id];
    assert_eq!(entry["last_check"]["outcome"], outcome, "{entry:#}");
    assert_eq!(entry["snapshots"], serde_json::json!([]), "{entry:#}");
    // Issue #13: no WARC bytes and no file of the failed body: the run's file holds its
    // warcinfo record alone, and the index nothing.
    let warcs = scratch.warc_files();
    assert_eq!(warcs.len(), 1, "{warcs:?}");
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap_or_default();
    assert_eq!(index, "", "no record of the failed download");
    let records = linkkeep::warc::check_warc(&warcs[0]).unwrap().records;
    assert_eq!(records.len(), 1, "the warcinfo record alone: {records:?}");
    scratch.assert_tmp_empty();
}

/// Issue #13: a body that failed halfway after moving to a WARC file of its own leaves no file
/// and no WARC bytes behind.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_body_cut_halfway_leaves_no_file_behind() {
    let url = large_truncated_server().await;
    let args = ["--retries", "0", "--timeout", "5"];
    assert_fails_cleanly("large-truncated", url, &args, "network_error").await;
}

/// Flags limiting a download to `max_size`, with timeouts generous enough that only the size
/// can end the downloads of these tests.
fn size_limited(max_size: &str) -> [&str; 8] {
    [
        "--max-size",
        max_size,
        "--retries",
        "0",
        "--timeout",
        "5",
        "--max-time",
        "20",
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn decompression_bomb_is_too_large() {
    let server = MockServer::start().await;
    let zeros = vec![0u8; 1 << 20];
    let bomb = gzip_repeated(&zeros, 50).await;
    assert!(bomb.len() < 1_000_000, "the bomb is small on the wire: {}", bomb.len());
    Mock::given(path("/bomb"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(bomb, "application/octet-stream"),
        )
        .mount(&server)
        .await;

    assert_fails_cleanly(
        "bomb",
        format!("{}/bomb", server.uri()),
        &size_limited("1MB"),
        "too_large",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_body_is_too_large() {
    let url = endless_server().await;
    assert_fails_cleanly("endless", url, &size_limited("1MB"), "too_large").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_length_beyond_max_size_is_too_large_without_reading() {
    // The server sends only 10 of its declared 50 MB and then stalls: reading the body would
    // end in a timeout, so `too_large` proves the declared length was believed first.
    let url = huge_declared_server().await;
    let args = ["--max-size", "1MB", "--retries", "0", "--timeout", "0.5"];
    assert_fails_cleanly("huge", url, &args, "too_large").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_body_is_a_network_error() {
    let url = truncated_server().await;
    let args = ["--retries", "0", "--timeout", "5"];
    assert_fails_cleanly("truncated", url, &args, "network_error").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_a_truncated_body_stores_only_the_whole_payload() {
    const BODY: &[u8] = b"the whole payload, every byte of it, as served the second time";
    let url = truncated_once_server(BODY).await;
    let scratch = Scratch::new(&[("flaky", url)]);

    let run = scratch
        .archive(&["--retries", "1", "--retry-wait", "0.01", "--timeout", "5"])
        .await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = run.result("flaky");
    assert_eq!(result["attempts"], 2, "{result:#}");
    assert_eq!(result["sha256"], sha256_hex(BODY), "{result:#}");
    assert_eq!(scratch.payload_records().len(), 1, "{:?}", scratch.payload_records());
    assert_eq!(scratch.assert_payloads_intact(&scratch.manifest()), 1);
    scratch.assert_tmp_empty();
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_mid_body_is_a_network_error() {
    let url = reset_mid_body_server().await;
    let args = ["--retries", "0", "--timeout", "5"];
    assert_fails_cleanly("reset", url, &args, "network_error").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_drip_times_out_at_max_time() {
    let url = drip_server().await;
    let args = ["--max-time", "1", "--timeout", "0.5", "--retries", "0"];

    let start = Instant::now();
    let scratch = assert_fails_cleanly("drip", url, &args, "timeout").await;
    let took = start.elapsed();

    assert!(took < Duration::from_secs(15), "took {took:?}");
    let error = scratch.manifest()["links"]["drip"]["last_check"]["error"].clone();
    assert!(error.as_str().unwrap().contains("max-time"), "{error}");
}

/// A body size well past `WORKER_THRESHOLD`, and past what loopback socket buffers hold (a
/// few MiB), so that the client has read more than the threshold before a server can reset.
const PAST_THRESHOLD: usize = 16 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn endless_body_past_the_worker_threshold_is_too_large() {
    assert!(PAST_THRESHOLD as u64 > 4 * linkkeep::warc::run::LARGE_BODY);
    let url = endless_server().await;
    assert_fails_cleanly("endless", url, &size_limited("4MiB"), "too_large").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_past_the_worker_threshold_is_a_network_error() {
    let url = reset_after_server(PAST_THRESHOLD).await;
    let args = ["--retries", "0", "--timeout", "5", "--max-time", "20"];
    assert_fails_cleanly("reset", url, &args, "network_error").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stall_past_the_worker_threshold_times_out() {
    let url = stall_after_server(PAST_THRESHOLD).await;
    let args = ["--retries", "0", "--timeout", "0.5", "--max-time", "20"];
    let scratch = assert_fails_cleanly("stall", url, &args, "timeout").await;
    let error = scratch.manifest()["links"]["stall"]["last_check"]["error"].clone();
    assert!(
        error.as_str().unwrap().contains("stalled"),
        "a stall, not the deadline: {error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_1252_title_is_decoded() {
    let server = MockServer::start().await;
    let body = b"<html><head><title>Caf\xe9 \x96 r\xe9sum\xe9</title></head><body></body></html>".to_vec();
    Mock::given(path("/cafe"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/html; charset=windows-1252"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("cafe", format!("{}/cafe", server.uri()))]);

    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(scratch.snapshots("cafe")[0]["title"], "Café – résumé");

    let status = scratch.run(&["status", "--format", "json"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["links"][0]["id"], "cafe");
    assert_eq!(status["links"][0]["latest"]["title"], "Café – résumé", "{status:#}");
}
