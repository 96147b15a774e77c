//! `status` (human table and JSON) and `get` (`--at` between two captures, `--info`, unknown
//! links and links without a snapshot) on an archive built by real runs, and both writing into
//! a pipe whose reader has gone. Guards issue #3.

use chrono::{DateTime, Utc};
use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, sha256_hex};
use crate::support::links_file;

fn html(title: &str) -> ResponseTemplate {
    let body = format!("<html><head><title>{title}</title></head><body>{title}</body></html>");
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html")
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_every_link_as_a_table_and_as_json() {
    let server = MockServer::start().await;
    Mock::given(path("/wgec"))
        .respond_with(html("WGEC report"))
        .mount(&server)
        .await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[
        ("wgec-report", format!("{}/wgec", server.uri())),
        ("gone-page", format!("{}/gone", server.uri())),
    ]);
    assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 1);
    // A link added to links.json after the run has never been checked.
    links_file(
        scratch.dir.path(),
        &[
            ("wgec-report", format!("{}/wgec", server.uri())),
            ("gone-page", format!("{}/gone", server.uri())),
            ("added-later", format!("{}/later", server.uri())),
        ],
    );

    // Like every report, status exits 1 while a link's last check is a failure.
    let table = scratch.run(&["status", "--color", "never"]).await;
    assert_eq!(table.code, 1, "{}", table.stderr);
    let table = String::from_utf8(table.stdout).unwrap();
    let line = |id: &str| {
        table
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id}:\n{table}"))
    };
    assert!(line("wgec-report").contains("WGEC report"), "{table}");
    assert!(line("wgec-report").contains("ok"), "{table}");
    assert!(line("gone-page").contains("http_error"), "{table}");
    assert!(line("added-later").contains("never"), "{table}");

    let json = scratch.run(&["status", "--format", "json"]).await;
    assert_eq!(json.code, 1, "{}", json.stderr);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["command"], "status");
    let summary = &json["summary"];
    assert_eq!(
        (&summary["total"], &summary["ok"], &summary["failed"]),
        (&Value::from(3), &Value::from(1), &Value::from(1)),
        "{json:#}"
    );
    assert_eq!(summary["never_checked"], 1, "{json:#}");
    assert_eq!(summary["snapshots"], 1, "{json:#}");
    let ids: Vec<&str> = json["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["wgec-report", "gone-page", "added-later"]);
    assert_eq!(json["links"][0]["latest"]["title"], "WGEC report");
    assert_eq!(json["links"][0]["snapshots"], 1);
}

/// Waits (at most a second) until the wall clock has passed the whole second of `stamp`, so
/// that the next capture's second-resolution timestamp is strictly later.
async fn wait_past(stamp: &str) {
    let stamp = DateTime::parse_from_rfc3339(stamp).unwrap().timestamp();
    while Utc::now().timestamp() <= stamp {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_at_picks_the_capture_nearest_in_time() {
    let server = MockServer::start().await;
    Mock::given(path("/doc"))
        .respond_with(html("first"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("doc", format!("{}/doc", server.uri()))]);
    assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 0);
    wait_past(scratch.snapshots("doc")[0]["last_seen"].as_str().unwrap()).await;
    server.reset().await;
    Mock::given(path("/doc"))
        .respond_with(html("second"))
        .mount(&server)
        .await;
    assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 0);

    let snapshots = scratch.snapshots("doc");
    assert_eq!(snapshots.len(), 2, "{snapshots:#?}");
    let (first, second) = (&snapshots[0], &snapshots[1]);
    let first_bytes = b"<html><head><title>first</title></head><body>first</body></html>";
    let second_bytes = b"<html><head><title>second</title></head><body>second</body></html>";
    assert_eq!(first["sha256"], sha256_hex(first_bytes));
    assert!(
        first["last_seen"].as_str() < second["first_seen"].as_str(),
        "{snapshots:#?}"
    );

    let latest = scratch.run(&["get", "doc"]).await;
    assert_eq!(latest.code, 0, "{}", latest.stderr);
    assert!(latest.stdout == second_bytes, "without --at, the latest capture");
    let at_first = first["first_seen"].as_str().unwrap();
    let old = scratch.run(&["get", "doc", "--at", at_first]).await;
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert!(old.stdout == first_bytes, "--at {at_first} picks the first capture");
    let at_second = second["first_seen"].as_str().unwrap();
    let new = scratch.run(&["get", "doc", "--at", at_second]).await;
    assert!(new.stdout == second_bytes, "--at {at_second} picks the second capture");
    let long_ago = scratch.run(&["get", "doc", "--at", "2018-02-05"]).await;
    assert!(
        long_ago.stdout == first_bytes,
        "a time before every capture picks the oldest"
    );

    let info = scratch.run(&["get", "doc", "--at", at_first, "--info"]).await;
    assert_eq!(info.code, 0, "{}", info.stderr);
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["id"], "doc");
    assert_eq!(info["url"], format!("{}/doc", server.uri()));
    for field in [
        "sha256",
        "size",
        "first_seen",
        "last_seen",
        "object",
        "title",
        "run",
        "content_type",
    ] {
        assert_eq!(info[field], first[field], "--info {field}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_of_an_unknown_link_or_one_without_snapshot_exits_1() {
    let server = MockServer::start().await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("gone", format!("{}/gone", server.uri()))]);
    assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 1);

    let unknown = scratch.run(&["get", "no-such-id"]).await;
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(unknown.stdout.is_empty());
    assert!(unknown.stderr.contains("no-such-id"), "{}", unknown.stderr);

    let bare = scratch.run(&["get", "gone"]).await;
    assert_eq!(bare.code, 1, "{}", bare.stderr);
    assert!(bare.stdout.is_empty());
    assert!(bare.stderr.contains("gone"), "{}", bare.stderr);
    let info = scratch.run(&["get", "gone", "--info"]).await;
    assert_eq!(info.code, 1, "{}", info.stderr);

    let out = scratch.dir.path().join("never.bin");
    let to_file = scratch.run(&["get", "gone", "-o", out.to_str().unwrap()]).await;
    assert_eq!(to_file.code, 1);
    assert!(!out.exists(), "no file for a link without a snapshot");
}

/// Runs linkkeep with `args` on `scratch`, its stdout a pipe whose reader has already gone, as
/// in `linkkeep status | head` once `head` has exited.
fn run_into_a_closed_pipe(scratch: &Scratch, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(env!("CARGO_BIN_EXE_linkkeep"))
        .current_dir(scratch.dir.path())
        .env("CI", "true")
        .arg("--links")
        .arg(&scratch.links)
        .arg("--archive")
        .arg(&scratch.archive)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_reader_that_went_away_is_not_an_error() {
    let scratch = Scratch::new(&[("doc", "http://a.example/doc".into())]);
    std::fs::create_dir_all(&scratch.archive).unwrap();
    let snapshot = serde_json::json!({"sha256": "a".repeat(64), "size": 1, "content_type": null,
        "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z", "http_status": 200,
        "final_url": "http://a.example/doc", "etag": null, "last_modified": null, "title": "Doc",
        "object": "objects/sha256/aa/x", "run": "r"});
    let manifest = serde_json::json!({"schema_version": 1, "links": {"doc": {"url": "http://a.example/doc",
        "last_check": {"at": "2026-01-01T00:00:00Z", "outcome": "ok", "http_status": 200,
            "final_url": null, "error": null, "run": "r"}, "snapshots": [snapshot]}}});
    std::fs::write(scratch.archive.join("manifest.json"), manifest.to_string()).unwrap();

    // A report through `emit`, and bytes through `write_stdout`.
    for args in [
        &["status", "--format", "json"][..],
        &["status"],
        &["get", "doc", "--info"],
    ] {
        let run = run_into_a_closed_pipe(&scratch, args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("cannot write"), "{args:?}: {stderr}");
    }
}
