//! Change detection across runs: same bytes are `unchanged`, a 304 to `If-None-Match` or
//! `If-Modified-Since` is `unchanged`, new bytes are `changed` with a second snapshot, and
//! `--fail-on-change` turns drift into exit 1. Guards issue #3.

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, sha256_hex};

// Sibling probes (tests/it/soft404.rs) would add requests these tests count.
const ARGS: &[&str] = &["--retries", "0", "--timeout", "5", "--no-soft-404"];

fn page(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/plain")
}

/// The value of request header `name` in the `n`th request the server got.
async fn request_header(server: &MockServer, n: usize, name: &str) -> Option<String> {
    let requests = server.received_requests().await.unwrap();
    requests[n].headers.get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn same_bytes_twice_is_unchanged_with_one_snapshot() {
    let server = MockServer::start().await;
    Mock::given(path("/same"))
        .respond_with(page("steady"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("same", format!("{}/same", server.uri()))]);

    let first = scratch.archive(ARGS).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.result("same")["change"], "new");
    let second = scratch.archive(ARGS).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.result("same")["change"], "unchanged");
    assert_eq!(second.result("same")["sha256"], sha256_hex(b"steady"));
    assert_eq!(second.report["summary"]["unchanged"], 1);

    let snapshots = scratch.snapshots("same");
    assert_eq!(snapshots.len(), 1, "{snapshots:#?}");
    assert!(snapshots[0]["last_seen"].as_str() >= snapshots[0]["first_seen"].as_str());
    assert_eq!(
        snapshots[0]["run"], first.report["run"],
        "the snapshot keeps the run that captured it"
    );
    let last_check = &scratch.manifest()["links"]["same"]["last_check"];
    assert_eq!(last_check["run"], second.report["run"]);
    assert_eq!(
        snapshots[0]["last_seen"], last_check["at"],
        "the same bytes move last_seen to the check"
    );
    // Without validators there is nothing to make conditional.
    assert_eq!(request_header(&server, 1, "if-none-match").await, None);
    assert_eq!(scratch.payload_records().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn etag_gets_a_conditional_request_and_304_is_unchanged_then_new_bytes_are_changed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/doc"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"v1\""))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/doc"))
        .respond_with(page("version one").insert_header("etag", "\"v1\""))
        .with_priority(5)
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("doc", format!("{}/doc", server.uri()))]);

    let first = scratch.archive(ARGS).await;
    assert_eq!(first.result("doc")["change"], "new", "{}", first.stderr);
    assert_eq!(scratch.snapshots("doc")[0]["etag"], "\"v1\"");
    assert_eq!(request_header(&server, 0, "if-none-match").await, None);

    let second = scratch.archive(&[ARGS, &["--fail-on-change"]].concat()).await;
    assert_eq!(
        request_header(&server, 1, "if-none-match").await.as_deref(),
        Some("\"v1\"")
    );
    assert_eq!(second.code, 0, "a 304 is not drift: {}", second.stderr);
    let result = second.result("doc");
    assert_eq!(result["outcome"], "ok", "{result:#}");
    assert_eq!(result["http_status"], 304, "{result:#}");
    assert_eq!(result["change"], "unchanged", "{result:#}");
    assert_eq!(result["sha256"], sha256_hex(b"version one"), "{result:#}");
    let snapshots = scratch.snapshots("doc");
    assert_eq!(snapshots.len(), 1, "{snapshots:#?}");
    assert!(snapshots[0]["last_seen"].as_str() >= snapshots[0]["first_seen"].as_str());
    let confirmed_at = &scratch.manifest()["links"]["doc"]["last_check"]["at"];
    assert_eq!(
        &snapshots[0]["last_seen"], confirmed_at,
        "the 304 moves last_seen to its check"
    );

    server.reset().await;
    Mock::given(path("/doc"))
        .respond_with(page("version two").insert_header("etag", "\"v2\""))
        .mount(&server)
        .await;
    let third = scratch.archive(&[ARGS, &["--fail-on-change"]].concat()).await;
    assert_eq!(
        request_header(&server, 0, "if-none-match").await.as_deref(),
        Some("\"v1\"")
    );
    assert_eq!(third.code, 1, "--fail-on-change exits 1 on drift: {}", third.stderr);
    let result = third.result("doc");
    assert_eq!(result["outcome"], "ok", "{result:#}");
    assert_eq!(result["change"], "changed", "{result:#}");
    assert_eq!(third.report["summary"]["changed"], 1);
    let snapshots = scratch.snapshots("doc");
    assert_eq!(snapshots.len(), 2, "{snapshots:#?}");
    assert_eq!(snapshots[0]["sha256"], sha256_hex(b"version one"));
    assert_eq!(snapshots[1]["sha256"], sha256_hex(b"version two"));
    assert_eq!(snapshots[1]["etag"], "\"v2\"");
    assert_eq!(scratch.assert_payloads_intact(&scratch.manifest()), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn last_modified_gets_if_modified_since_and_304_is_unchanged() {
    let server = MockServer::start().await;
    let date = "Mon, 05 Feb 2018 10:00:00 GMT";
    Mock::given(path("/dated"))
        .and(header("if-modified-since", date))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/dated"))
        .respond_with(page("dated").insert_header("last-modified", date))
        .with_priority(5)
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("dated", format!("{}/dated", server.uri()))]);

    scratch.archive(ARGS).await;
    let second = scratch.archive(ARGS).await;

    assert_eq!(
        request_header(&server, 1, "if-modified-since").await.as_deref(),
        Some(date)
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.result("dated")["change"], "unchanged");
    assert_eq!(scratch.snapshots("dated").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_on_change_exits_0_when_new_or_unchanged_and_1_on_change() {
    let server = MockServer::start().await;
    Mock::given(path("/p")).respond_with(page("one")).mount(&server).await;
    let scratch = Scratch::new(&[("p", format!("{}/p", server.uri()))]);
    let args = [ARGS, &["--fail-on-change"]].concat();

    let new = scratch.archive(&args).await;
    assert_eq!(
        (new.code, new.result("p")["change"].as_str()),
        (0, Some("new")),
        "{}",
        new.stderr
    );
    let same = scratch.archive(&args).await;
    assert_eq!((same.code, same.result("p")["change"].as_str()), (0, Some("unchanged")));

    server.reset().await;
    Mock::given(path("/p")).respond_with(page("two")).mount(&server).await;
    let changed = scratch.archive(&args).await;
    assert_eq!(
        (changed.code, changed.result("p")["change"].as_str()),
        (1, Some("changed"))
    );
    // Without the flag, drift alone is not a failure.
    server.reset().await;
    Mock::given(path("/p")).respond_with(page("three")).mount(&server).await;
    let plain = scratch.archive(ARGS).await;
    assert_eq!((plain.code, plain.result("p")["change"].as_str()), (0, Some("changed")));
    assert_eq!(scratch.snapshots("p").len(), 3);
}
