//! Redirects: followed hop by hop and recorded; relative `Location`; loops, too many hops,
//! non-http targets and a missing `Location` fail as `redirect_error`. Guards issue #2.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::report::Hop;
use crate::support::{Outcome, Report, assert_error_line, links_file, run_check};

/// Mounts `from` answering `status` with `Location: location`.
async fn redirect(server: &MockServer, from: &str, status: u16, location: &str) {
    Mock::given(method("GET"))
        .and(path(from))
        .respond_with(ResponseTemplate::new(status).insert_header("Location", location))
        .mount(server)
        .await;
}

async fn ok_at(server: &MockServer, at: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
        .mount(server)
        .await;
}

/// Checks the single link `start` on `server` and returns the exit code and report.
async fn check_one(server: &MockServer, start: &str, args: &[&str]) -> (i32, Report) {
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("link", format!("{}{start}", server.uri()))]);
    let (code, report, _) = run_check(&links, args).await;
    (code, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn chain_is_recorded_hop_by_hop() {
    let server = MockServer::start().await;
    let base = server.uri();
    redirect(&server, "/a", 301, &format!("{base}/b")).await;
    redirect(&server, "/b", 302, &format!("{base}/c")).await;
    ok_at(&server, "/c").await;

    let (code, report) = check_one(&server, "/a", &[]).await;

    assert_eq!(code, 0);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.http_status, Some(200));
    assert_eq!(r.final_url.as_deref(), Some(format!("{base}/c").as_str()));
    let expected = vec![
        Hop {
            status: 301,
            url: format!("{base}/a"),
            location: format!("{base}/b"),
        },
        Hop {
            status: 302,
            url: format!("{base}/b"),
            location: format!("{base}/c"),
        },
    ];
    assert_eq!(r.redirects, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn relative_location_is_resolved_and_recorded_raw() {
    let server = MockServer::start().await;
    let base = server.uri();
    redirect(&server, "/docs/old/page", 301, "../new/page?x=1").await;
    ok_at(&server, "/docs/new/page").await;

    let (code, report) = check_one(&server, "/docs/old/page", &[]).await;

    assert_eq!(code, 0);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(
        r.final_url.as_deref(),
        Some(format!("{base}/docs/new/page?x=1").as_str())
    );
    assert_eq!(
        r.redirects,
        vec![Hop {
            status: 301,
            url: format!("{base}/docs/old/page"),
            location: "../new/page?x=1".into(),
        }]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn loop_fails_as_redirect_error() {
    let server = MockServer::start().await;
    redirect(&server, "/x", 302, "/y").await;
    redirect(&server, "/y", 302, "/x").await;

    let (code, report) = check_one(&server, "/x", &[]).await;

    assert_eq!(code, 1);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::RedirectError, "{r:?}");
    assert_error_line(r);
    let error = r.error.as_deref().unwrap().to_lowercase();
    assert!(error.contains("loop"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn more_hops_than_max_redirects_fail() {
    let server = MockServer::start().await;
    // /long: three hops; /short: two hops, exactly the limit.
    redirect(&server, "/long/1", 301, "/long/2").await;
    redirect(&server, "/long/2", 301, "/long/3").await;
    redirect(&server, "/long/3", 301, "/long/4").await;
    ok_at(&server, "/long/4").await;
    redirect(&server, "/short/1", 301, "/short/2").await;
    redirect(&server, "/short/2", 301, "/short/3").await;
    ok_at(&server, "/short/3").await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(
        dir.path(),
        &[
            ("long", format!("{}/long/1", server.uri())),
            ("short", format!("{}/short/1", server.uri())),
        ],
    );

    let (code, report, _) = run_check(&links, &["--max-redirects", "2"]).await;

    assert_eq!(code, 1);
    let long = report.get("long");
    assert_eq!(long.outcome, Outcome::RedirectError, "{long:?}");
    assert_error_line(long);
    let error = long.error.as_deref().unwrap().to_lowercase();
    assert!(error.contains("too many redirects"), "{error}");
    let short = report.get("short");
    assert_eq!(
        short.outcome,
        Outcome::Ok,
        "two hops are within --max-redirects 2: {short:?}"
    );
    assert_eq!(short.redirects.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_to_non_http_scheme_fails() {
    let server = MockServer::start().await;
    redirect(&server, "/download", 302, "ftp://files.example.org/paper.pdf").await;

    let (code, report) = check_one(&server, "/download", &[]).await;

    assert_eq!(code, 1);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::RedirectError, "{r:?}");
    assert_error_line(r);
    assert!(r.error.as_deref().unwrap().contains("ftp"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_without_location_fails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/nowhere"))
        .respond_with(ResponseTemplate::new(302))
        .mount(&server)
        .await;

    let (code, report) = check_one(&server, "/nowhere", &[]).await;

    assert_eq!(code, 1);
    let r = report.get("link");
    assert_eq!(r.outcome, Outcome::RedirectError, "{r:?}");
    assert_error_line(r);
    assert!(r.error.as_deref().unwrap().contains("Location"), "{r:?}");
}
