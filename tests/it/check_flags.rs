//! Command-line flags: invalid values exit 2 before any request; global flags may follow the
//! subcommand. Guards issue #2.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Outcome, Report, check_plain, linkkeep, links_file, run};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_exit_2_without_requests() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("doc", format!("{}/doc", server.uri()))]);

    for bad in [
        &["--concurrency", "0"][..],
        &["--per-host", "0"],
        &["--accept", "abc"],
        &["--timeout", "-1"],
        &["--timeout", "soon"],
        &["--format", "yaml"],
        &["--max-size", "lots"],
    ] {
        let run = run(check_plain(&links, bad)).await;
        assert_eq!(run.code, 2, "{bad:?}: stderr {}", run.stderr);
        assert!(!run.stderr.trim().is_empty(), "{bad:?}: no message");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn global_flags_may_follow_the_subcommand() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("doc", format!("{}/doc", server.uri()))]);
    let mut cmd = linkkeep();
    cmd.current_dir(dir.path())
        .args([
            "check",
            "--format",
            "json",
            "--no-progress",
            "--color",
            "never",
            "--links",
        ])
        .arg(&links);

    let run = run(cmd).await;

    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let report: Report = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report.get("doc").outcome, Outcome::Ok);
}
