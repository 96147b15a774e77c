//! Bodies that are all encoding (issue #15): `--max-size` caps the bytes as received, not only
//! the payload decoded from them, and `--max-time` every body read. A flood of empty gzip
//! members or zstd skippable frames ends as `too_large`, one that trickles as `timeout`, with
//! flat memory and nothing left behind, in `archive`, `verify --live`, `diff --to live` and the
//! soft-404 probes of `check`. A decompression bomb is still `too_large` by its decoded size.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::archive_limits::assert_failed_cleanly;
use crate::support::archive::{ArchiveRun, Scratch};
use crate::support::floods::{Flood, dripping_redirect_server, empty_gzip_member, zstd_skippable_frame};
use crate::support::links_file;
use crate::support::peak::{Measured, run_measured};
use crate::support::verify::{Archived, NET};

/// What the flood servers offer: 300 MB of units that decode to nothing.
const FLOOD: u64 = 300_000_000;
/// The `--max-size` of these runs.
const MAX_SIZE: &str = "10MB";
/// The most the server may have handed over when the client stops at [`MAX_SIZE`]: the limit,
/// plus what the loopback socket buffers and hyper's write buffer hold.
const MOST_SENT: u64 = 24_000_000;
/// The most memory a run may hold. A run that kept the 10 MB it received, or decoded state per
/// member, would go past it; the binary alone, its runtime and its buffers stay well under.
const MOST_MEMORY: u64 = 48 << 20;
/// How long a run stopped by the size limit may take in a debug build on a busy machine; one
/// that read the whole flood would take minutes.
const QUICKLY: Duration = Duration::from_secs(30);

/// Flags for a run that only the size limit can end.
fn size_limited() -> Vec<&'static str> {
    vec![
        "--max-size",
        MAX_SIZE,
        "--retries",
        "0",
        "--timeout",
        "10",
        "--max-time",
        "60",
    ]
}

/// Flags for a run that only `--max-time` (1 s) can end: the body never stalls for long.
fn time_limited() -> Vec<&'static str> {
    vec!["--max-time", "1", "--timeout", "5", "--retries", "0"]
}

/// Archives a flood of `unit` with `Content-Encoding: coding` under [`MAX_SIZE`].
async fn archive_flood(coding: &'static str, unit: Bytes) {
    let flood = Flood::start(coding, unit, FLOOD, None).await;
    let scratch = Scratch::new(&[("flood", flood.url.clone())]);
    let args = [&["archive", "--format", "json"][..], &size_limited()].concat();
    let run = run_measured(scratch.process(&args), scratch.dir.path()).await;

    let archived = as_archive_run(&run);
    assert_failed_cleanly(&scratch, &archived, "flood", "too_large");
    let error = archived.result("flood")["error"].as_str().unwrap().to_owned();
    assert!(error.contains("max-size"), "{error}");
    assert_flat(&run, &flood);
    assert_only_run_files(&scratch);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_empty_gzip_members_is_too_large_at_max_size() {
    archive_flood("gzip", empty_gzip_member()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_zstd_skippable_frames_is_too_large_at_max_size() {
    archive_flood("zstd", zstd_skippable_frame()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_gzip_members_trickling_in_time_out_at_max_time() {
    let flood = Flood::start("gzip", empty_gzip_member(), FLOOD, Some(Duration::from_millis(5))).await;
    let scratch = Scratch::new(&[("trickle", flood.url.clone())]);
    let args = [&["archive", "--format", "json"][..], &time_limited()].concat();
    let run = run_measured(scratch.process(&args), scratch.dir.path()).await;

    let archived = as_archive_run(&run);
    assert_failed_cleanly(&scratch, &archived, "trickle", "timeout");
    let error = archived.result("trickle")["error"].as_str().unwrap().to_owned();
    assert!(error.contains("max-time"), "the deadline, not a stall: {error}");
    assert!(run.elapsed < Duration::from_secs(10), "took {:?}", run.elapsed);
    assert!(flood.sent() > 0, "the body was being read");
    assert_only_run_files(&scratch);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zstd_bomb_is_too_large_by_its_decoded_size() {
    // 64 MiB of zeros in one frame: a few kilobytes on the wire.
    let bomb = zstd::stream::encode_all(std::io::Read::take(std::io::repeat(0), 64 << 20), 19).unwrap();
    assert!(bomb.len() < 100_000, "small on the wire: {}", bomb.len());
    let server = MockServer::start().await;
    Mock::given(path("/bomb"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "zstd")
                .set_body_raw(bomb, "application/octet-stream"),
        )
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("bomb", format!("{}/bomb", server.uri()))]);
    let args = [&["archive", "--format", "json"][..], &size_limited()].concat();
    let run = run_measured(scratch.process(&args), scratch.dir.path()).await;

    assert_failed_cleanly(&scratch, &as_archive_run(&run), "bomb", "too_large");
    assert!(run.peak_rss < MOST_MEMORY, "peak memory {} MiB", run.peak_rss >> 20);
}

/// A redirect's body is recorded as received, so it is read too: a body that drips forever
/// is cut at `--max-time`, and the redirect is followed.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_body_that_drips_forever_is_cut_at_max_time() {
    let server = MockServer::start().await;
    Mock::given(path("/target"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<title>Arrived</title>", "text/html"))
        .mount(&server)
        .await;
    let url = dripping_redirect_server(format!("{}/target", server.uri()), Duration::from_millis(20)).await;
    let scratch = Scratch::new(&[("dripping", url)]);
    // No soft-404 probe: this server redirects every path to the same page.
    let args = [&["archive", "--format", "json", "--no-soft-404"][..], &time_limited()].concat();
    let run = run_measured(scratch.process(&args), scratch.dir.path()).await;

    let archived = as_archive_run(&run);
    let result = archived.result("dripping");
    assert_eq!(archived.code, 0, "{result:#}\n{}", archived.stderr);
    assert_eq!(result["outcome"], "ok", "{result:#}");
    assert!(run.elapsed < Duration::from_secs(10), "took {:?}", run.elapsed);
    // The redirect is in the WARC file, marked as cut short by time.
    let warcs = scratch.warc_files();
    let mut text = String::new();
    for warc in &warcs {
        use std::io::Read;
        let file = std::fs::File::open(warc).unwrap();
        flate2::read::MultiGzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    }
    assert!(text.contains("HTTP/1.1 302"), "the redirect was recorded");
    assert!(text.contains("WARC-Truncated: time"), "its body cut short by time");
}

/// `verify --live` with `id` of [`Archived::build`] now served by `url`.
async fn verify_live_of(archived: &Archived, url: &str, args: &[&str]) -> Measured {
    links_file(archived.scratch.dir.path(), &[("page", url.to_owned())]);
    let all = [&["verify", "--format", "json", "--live"][..], NET, args].concat();
    run_measured(archived.scratch.process(&all), archived.scratch.dir.path()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_live_stops_a_flood_at_max_size_and_a_trickle_at_max_time() {
    let archived = Archived::build().await;
    let tree_before = archived.tree();

    let flood = Flood::start("gzip", empty_gzip_member(), FLOOD, None).await;
    let run = verify_live_of(&archived, &flood.url, &["--max-size", MAX_SIZE]).await;
    assert_eq!(live_result(&run)["outcome"], "too_large", "{}", run.stderr);
    assert_flat(&run, &flood);

    let trickle = Flood::start("zstd", zstd_skippable_frame(), FLOOD, Some(Duration::from_millis(5))).await;
    let run = verify_live_of(&archived, &trickle.url, &["--max-time", "1"]).await;
    assert_eq!(live_result(&run)["outcome"], "timeout", "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(10), "took {:?}", run.elapsed);

    assert_eq!(archived.tree(), tree_before, "verify --live wrote to the archive");
}

/// `diff --to live` fetches the URL the archive holds: a page that turns into a flood.
#[tokio::test(flavor = "multi_thread")]
async fn diff_to_live_stops_a_flood_at_max_size_and_a_trickle_at_max_time() {
    let diff_live = async |pace: Option<Duration>, args: &[&str]| {
        let page = "<html><head><title>Cited</title></head><body><p>The cited words.</p></body></html>";
        let flood = Flood::after_page(page, "gzip", empty_gzip_member(), FLOOD, pace).await;
        let scratch = Scratch::new(&[("page", flood.url.clone())]);
        let archived = scratch.archive(NET).await;
        assert_eq!(archived.code, 0, "{}", archived.stderr);
        let (files, manifest) = (
            scratch.files(),
            std::fs::read(scratch.archive.join("manifest.json")).unwrap(),
        );

        let all = [&["diff", "page", "--to", "live"][..], NET, args].concat();
        let run = run_measured(scratch.process(&all), scratch.dir.path()).await;
        assert_eq!(run.code, 2, "{}\n{}", String::from_utf8_lossy(&run.stdout), run.stderr);
        assert_eq!(scratch.files(), files, "diff --to live wrote to the archive");
        assert_eq!(std::fs::read(scratch.archive.join("manifest.json")).unwrap(), manifest);
        (flood, run)
    };

    let (flood, run) = diff_live(None, &["--max-size", MAX_SIZE]).await;
    assert!(run.stderr.contains("too_large"), "{}", run.stderr);
    assert_flat(&run, &flood);

    let (_, run) = diff_live(Some(Duration::from_millis(5)), &["--max-time", "1"]).await;
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(10), "took {:?}", run.elapsed);
}

/// `check` reads no body, but its soft-404 probe of a random path beside the link reads the
/// probe's text: the flood server answers the probe with the flood too.
#[tokio::test(flavor = "multi_thread")]
async fn soft_404_probes_stop_a_flood_at_max_size_and_a_trickle_at_max_time() {
    let dir = tempfile::tempdir().unwrap();
    let check = async |url: &str, args: &[&str]| {
        let links = links_file(dir.path(), &[("deep", url.to_owned())]);
        let mut cmd = crate::support::linkkeep_process();
        cmd.current_dir(dir.path())
            .arg("--links")
            .arg(&links)
            .args([
                "check",
                "--no-progress",
                "--format",
                "json",
                "--retries",
                "0",
                "--timeout",
                "10",
            ])
            .args(args);
        run_measured(cmd, dir.path()).await
    };
    let outcome = |run: &Measured| -> Value {
        let report: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
        report["results"][0]["outcome"].clone()
    };

    let flood = Flood::start("gzip", empty_gzip_member(), FLOOD, None).await;
    let run = check(&flood.url, &["--max-size", MAX_SIZE]).await;
    assert_eq!(outcome(&run), "ok", "the probe's failure is no verdict: {}", run.stderr);
    assert_eq!(flood.requests(), 2, "the link, then its probe");
    assert_flat(&run, &flood);

    let trickle = Flood::start("gzip", empty_gzip_member(), FLOOD, Some(Duration::from_millis(5))).await;
    let run = check(&trickle.url, &["--max-time", "1"]).await;
    assert_eq!(outcome(&run), "ok", "{}", run.stderr);
    assert_eq!(trickle.requests(), 2, "the link, then its probe");
    assert!(run.elapsed < Duration::from_secs(10), "took {:?}", run.elapsed);
}

/// The JSON report of a measured `archive` run.
fn as_archive_run(run: &Measured) -> ArchiveRun {
    let report = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}); exit {}\nstderr:\n{}",
            run.code, run.stderr
        )
    });
    ArchiveRun {
        code: run.code,
        report,
        stderr: run.stderr.clone(),
    }
}

/// The only result of a measured `verify --live` run.
fn live_result(run: &Measured) -> Value {
    let report: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a JSON report ({e}); exit {}\n{}", run.code, run.stderr));
    report["results"][0].clone()
}

/// Asserts that a run stopped reading `flood` soon after the limit, quickly, with flat memory.
fn assert_flat(run: &Measured, flood: &Flood) {
    eprintln!(
        "sent {} MB, peak {} MiB, {:?}",
        flood.sent() / 1_000_000,
        run.peak_rss >> 20,
        run.elapsed
    );
    assert!(flood.sent() < MOST_SENT, "the server sent {} bytes", flood.sent());
    assert!(run.peak_rss < MOST_MEMORY, "peak memory {} MiB", run.peak_rss >> 20);
    assert!(run.elapsed < QUICKLY, "took {:?}", run.elapsed);
}

/// Asserts that the archive holds what any run leaves and nothing else: no spooled body, no
/// temporary file anywhere, not only in tmp/.
fn assert_only_run_files(scratch: &Scratch) {
    let files = scratch.files();
    let expected = |f: &std::path::Path| {
        let name = f.to_string_lossy();
        matches!(name.as_ref(), "manifest.json" | "index.cdxj" | ".lock")
            || (name.starts_with("runs/") && name.ends_with(".json"))
            || (name.starts_with("warc/") && name.ends_with(".warc.gz"))
    };
    assert!(files.iter().all(|f| expected(f)), "{files:?}");
}
