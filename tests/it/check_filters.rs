//! `--include` and `--exclude`: excluded links are reported as `excluded`, do not fail the run,
//! and are never requested. Guards issue #2.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Outcome, Report, assert_error_line, links_file, run_check};

/// A server where `/keep/*` answers 200 and `/skip/*` would fail (404) if it were ever asked.
async fn server() -> MockServer {
    let server = MockServer::start().await;
    for (p, status) in [("/keep/1", 200), ("/keep/3", 200), ("/skip/2", 404)] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    server
}

async fn check(server: &MockServer, args: &[&str]) -> (i32, Report) {
    let dir = tempfile::tempdir().unwrap();
    let u = |p: &str| format!("{}{p}", server.uri());
    let links = links_file(
        dir.path(),
        &[("alpha", u("/keep/1")), ("beta", u("/skip/2")), ("gamma", u("/keep/3"))],
    );
    // Sibling probes (tests/it/soft404.rs) would add requests these tests count.
    let args = [args, &["--no-soft-404"]].concat();
    let (code, report, stderr) = run_check(&links, &args).await;
    assert!(code == 0 || code == 1, "exit {code}; stderr: {stderr}");
    (code, report)
}

async fn requested_paths(server: &MockServer) -> Vec<String> {
    let mut paths: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    paths.sort();
    paths
}

fn assert_excluded(report: &Report, id: &str) {
    let r = report.get(id);
    assert_eq!(r.outcome, Outcome::Excluded, "{r:?}");
    assert_error_line(r);
}

#[tokio::test(flavor = "multi_thread")]
async fn exclude_skips_matching_links() {
    let server = server().await;

    let (code, report) = check(&server, &["--exclude", "/skip/"]).await;

    assert_eq!(code, 0, "excluded links are not failures");
    assert_eq!(report.ids(), ["alpha", "beta", "gamma"]);
    assert_excluded(&report, "beta");
    assert_eq!(report.get("alpha").outcome, Outcome::Ok);
    assert_eq!(report.get("gamma").outcome, Outcome::Ok);
    let s = &report.summary;
    assert_eq!((s.total, s.ok, s.failed, s.excluded), (3, 2, 0, 1));
    assert_eq!(requested_paths(&server).await, ["/keep/1", "/keep/3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn include_checks_only_matching_links() {
    let server = server().await;

    let (code, report) = check(&server, &["--include", "/keep/"]).await;

    assert_eq!(code, 0);
    assert_excluded(&report, "beta");
    assert_eq!(report.get("alpha").outcome, Outcome::Ok);
    assert_eq!(report.summary.excluded, 1);
    assert_eq!(requested_paths(&server).await, ["/keep/1", "/keep/3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_repeat() {
    let server = server().await;

    let (code, report) = check(&server, &["--exclude", "/skip/", "--exclude", "/3$"]).await;
    assert_eq!(code, 0);
    assert_eq!(report.get("alpha").outcome, Outcome::Ok);
    assert_excluded(&report, "beta");
    assert_excluded(&report, "gamma");
    assert_eq!(report.summary.excluded, 2);
    assert_eq!(requested_paths(&server).await, ["/keep/1"]);

    let server = self::server().await;
    let (_, report) = check(&server, &["--include", "/1$", "--include", "/3$"]).await;
    assert_excluded(&report, "beta");
    assert_eq!(report.summary.excluded, 1);
    assert_eq!(requested_paths(&server).await, ["/keep/1", "/keep/3"]);
}
