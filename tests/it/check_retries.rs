//! Retries: 5xx and 429 are retried with backoff, `attempts` counts every request, and
//! `Retry-After` (seconds or HTTP-date) is honoured up to `--max-retry-after`. Guards issue #2.

use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Outcome, Report, assert_error_line, links_file, run_check};

/// `path` answers `first` for its first `times` requests, then 200.
async fn flaky(server: &MockServer, at: &str, first: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(server)
        .await;
}

/// Checks `server`'s `at` as the only link; returns exit code, report and wall time.
async fn check_timed(server: &MockServer, at: &str, args: &[&str]) -> (i32, Report, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("link", format!("{}{at}", server.uri()))]);
    let start = Instant::now();
    // A sibling probe would be a request the tests do not count.
    let args = [args, &["--no-soft-404"]].concat();
    let (code, report, _) = run_check(&links, &args).await;
    (code, report, start.elapsed())
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn service_unavailable_recovers_after_retries() {
    let server = MockServer::start().await;
    flaky(&server, "/flaky", ResponseTemplate::new(503), 2).await;

    let args = ["--retries", "3", "--retry-wait", "0.01"];
    let (code, report, _) = check_timed(&server, "/flaky", &args).await;

    assert_eq!(code, 0);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.http_status, Some(200));
    assert_eq!(r.attempts, 3, "{r:?}");
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_exhausted_reports_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;

    let args = ["--retries", "2", "--retry-wait", "0.01"];
    let (code, report, _) = check_timed(&server, "/down", &args).await;

    assert_eq!(code, 1);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::HttpError, "{r:?}");
    assert_eq!(r.http_status, Some(503));
    assert_eq!(r.attempts, 3, "retries + 1: {r:?}");
    assert_error_line(r);
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    let busy = ResponseTemplate::new(429).insert_header("Retry-After", "1");
    flaky(&server, "/busy", busy, 1).await;

    // The backoff alone (0.01 s) is far shorter than the 1 s the server asked for.
    let args = ["--retries", "2", "--retry-wait", "0.01"];
    let (code, report, took) = check_timed(&server, "/busy", &args).await;

    assert_eq!(code, 0);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.attempts, 2, "{r:?}");
    assert!(took >= Duration::from_millis(900), "waited only {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_beyond_the_maximum_fails_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "120"))
        .mount(&server)
        .await;

    let args = ["--retries", "3", "--retry-wait", "0.01", "--max-retry-after", "60"];
    let (code, report, took) = check_timed(&server, "/busy", &args).await;

    assert_eq!(code, 1);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::HttpError, "{r:?}");
    assert_eq!(r.http_status, Some(429));
    assert_eq!(r.attempts, 1, "{r:?}");
    assert_error_line(r);
    assert!(r.error.as_deref().unwrap().contains("120"), "{r:?}");
    assert_eq!(requests(&server).await, 1);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    // Whole seconds only, so the wait is between 1 and 2 s.
    let when = chrono::Utc::now() + chrono::Duration::seconds(2);
    let date = when.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let busy = ResponseTemplate::new(429).insert_header("Retry-After", date.as_str());
    flaky(&server, "/busy", busy, 1).await;

    let args = ["--retries", "2", "--retry-wait", "0.01"];
    let (code, report, took) = check_timed(&server, "/busy", &args).await;

    assert_eq!(code, 0, "Retry-After: {date}");
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.attempts, 2, "{r:?}");
    assert!(took >= Duration::from_millis(900), "waited only {took:?} for {date}");
}
