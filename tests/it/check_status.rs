//! Status codes: which answers count as ok, which fail, the exit code, and `--accept`.
//! Guards issue #2.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Outcome, assert_error_line, links_file, run_check};

async fn server_with(statuses: &[(&str, u16)]) -> MockServer {
    let server = MockServer::start().await;
    for (p, status) in statuses {
        Mock::given(method("GET"))
            .and(path(*p))
            .respond_with(ResponseTemplate::new(*status))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn all_ok_exits_zero() {
    let server = server_with(&[("/a", 200), ("/b", 204)]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(
        dir.path(),
        &[
            ("a", format!("{}/a", server.uri())),
            ("b", format!("{}/b", server.uri())),
        ],
    );

    // A sibling probe would be a third request.
    let (code, report, stderr) = run_check(&links, &["--no-soft-404"]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report.command, "check");
    for id in ["a", "b"] {
        let r = report.get(id);
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        assert_eq!(r.error, None, "{r:?}");
        assert_eq!(r.attempts, 1, "{r:?}");
        // `check` downloads nothing, so there is no hash and no change to report.
        assert_eq!((r.sha256.as_deref(), r.change.as_deref()), (None, None), "{r:?}");
    }
    assert_eq!(report.get("a").http_status, Some(200));
    assert_eq!(report.get("b").http_status, Some(204));
    assert_eq!((report.summary.total, report.summary.ok), (2, 2));
    assert_eq!(report.summary.failed, 0);
    // `check` sends GET (HEAD is unreliable on real sites).
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
}

#[tokio::test(flavor = "multi_thread")]
async fn error_statuses_fail_with_exit_one() {
    let server = server_with(&[("/ok", 200), ("/nf", 404), ("/gone", 410), ("/boom", 500)]).await;
    let dir = tempfile::tempdir().unwrap();
    let u = |p: &str| format!("{}{p}", server.uri());
    let links = links_file(
        dir.path(),
        &[
            ("ok", u("/ok")),
            ("not-found", u("/nf")),
            ("gone", u("/gone")),
            ("boom", u("/boom")),
        ],
    );

    let (code, report, stderr) = run_check(&links, &["--retries", "0"]).await;

    assert_eq!(code, 1, "stderr: {stderr}");
    assert_eq!(report.get("ok").outcome, Outcome::Ok);
    for (id, status) in [("not-found", 404), ("gone", 410), ("boom", 500)] {
        let r = report.get(id);
        assert_eq!(r.outcome, Outcome::HttpError, "{r:?}");
        assert_eq!(r.http_status, Some(status), "{r:?}");
        assert_error_line(r);
    }
    let s = &report.summary;
    assert_eq!((s.total, s.ok, s.failed, s.excluded), (4, 1, 3, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_are_not_retried() {
    let server = server_with(&[("/nf", 404)]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("nf", format!("{}/nf", server.uri()))]);

    let (code, report, _) = run_check(&links, &["--retries", "3", "--retry-wait", "0.01"]).await;

    assert_eq!(code, 1);
    assert_eq!(report.get("nf").attempts, 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_makes_403_ok() {
    let server = server_with(&[("/forbidden", 403), ("/nf", 404)]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(
        dir.path(),
        &[
            ("forbidden", format!("{}/forbidden", server.uri())),
            ("nf", format!("{}/nf", server.uri())),
        ],
    );

    // By default a 403 fails.
    let (_, report, _) = run_check(&links, &[]).await;
    assert_eq!(report.get("forbidden").outcome, Outcome::HttpError);

    let (code, report, stderr) = run_check(&links, &["--accept", "200..=299,403"]).await;
    let forbidden = report.get("forbidden");
    assert_eq!(forbidden.outcome, Outcome::Ok, "{forbidden:?}");
    assert_eq!(forbidden.http_status, Some(403));
    assert_eq!(report.get("nf").outcome, Outcome::HttpError);
    assert_eq!(code, 1, "the 404 still fails; stderr: {stderr}");

    // With only the accepted link, the run succeeds.
    let only = links_file(dir.path(), &[("forbidden", format!("{}/forbidden", server.uri()))]);
    let (code, _, stderr) = run_check(&only, &["--accept", "200..=299,403"]).await;
    assert_eq!(code, 0, "stderr: {stderr}");
}
