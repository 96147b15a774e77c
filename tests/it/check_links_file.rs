//! links.json: every kind of invalid input is rejected with exit 2 before any request and
//! without writing anything; bare URL arrays and derived ids work. Guards issue #2.

use std::collections::HashSet;
use std::path::Path;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Outcome, check_plain, run, run_check, write_file};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// Runs `check -o report.json` on `links` and asserts the rejection contract: exit 2, the file
/// path named on stderr, no request to `server`, no report file. Returns stderr.
async fn assert_rejected(server: &MockServer, links: &Path) -> String {
    let dir = links.parent().unwrap();
    let out = dir.join("report.json");
    let mut cmd = check_plain(links, &["--format", "json", "--retries", "0", "-o"]);
    cmd.arg(&out);

    let run = run(cmd).await;

    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let shown = links.to_str().unwrap();
    assert!(run.stderr.contains(shown), "{shown} not named in: {}", run.stderr);
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
    assert!(!out.exists(), "report written for invalid input");
    assert_eq!(run.stdout, "");
    run.stderr
}

/// Writes `doc` (a JSON text with `BASE` standing for the server) as `input.json`, and checks
/// it is rejected; returns stderr.
async fn reject(doc: &str) -> String {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let links = write_file(dir.path(), "input.json", &doc.replace("BASE", &server.uri()));
    assert_rejected(&server, &links).await
}

/// Whether `stderr` points at entry `index` (1-based) or at the entry's `id`.
fn names_entry(stderr: &str, index: usize, id: &str) -> bool {
    let entry = regex::Regex::new(&format!(r"(?i)\bentr(y|ies)\b[^\n]*\b{index}\b")).unwrap();
    entry.is_match(stderr) || stderr.contains(id)
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_names_line_and_column() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let doc = format!(
        "{{\n  \"links\": [\n    {{\"id\": \"a\", \"url\": \"{}/a\"}},,\n  ]\n}}\n",
        server.uri()
    );
    let links = write_file(dir.path(), "input.json", &doc);
    // The position serde_json itself reports for this text.
    let err = serde_json::from_str::<serde_json::Value>(&doc).unwrap_err();
    assert_eq!(err.line(), 3);

    let stderr = assert_rejected(&server, &links).await;

    assert!(stderr.contains(&format!("line {}", err.line())), "{stderr}");
    assert!(stderr.contains(&format!("column {}", err.column())), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn links_must_be_an_array() {
    reject(r#"{"version": 1, "links": {"a": "BASE/a"}}"#).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_without_url() {
    let stderr = reject(
        r#"{"links": [{"id": "a", "url": "BASE/a"}, {"id": "b", "url": "BASE/b"},
            {"id": "no-url-here", "title": "forgot the url"}]}"#,
    )
    .await;
    assert!(names_entry(&stderr, 3, "no-url-here"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn non_http_url() {
    let stderr = reject(
        r#"{"links": [{"id": "a", "url": "BASE/a"}, {"id": "ftp-paper", "url": "ftp://files.example.org/p.pdf"}]}"#,
    )
    .await;
    assert!(names_entry(&stderr, 2, "ftp-paper"), "{stderr}");
    assert!(stderr.contains("ftp"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unparsable_url() {
    let stderr =
        reject(r#"{"links": [{"id": "a", "url": "BASE/a"}, {"id": "broken-url", "url": "http://exa mple.org/"}]}"#)
            .await;
    assert!(names_entry(&stderr, 2, "broken-url"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_ids() {
    let stderr = reject(
        r#"{"links": [{"id": "same-id", "url": "BASE/a"}, {"id": "b", "url": "BASE/b"},
            {"id": "same-id", "url": "BASE/c"}]}"#,
    )
    .await;
    assert!(names_entry(&stderr, 3, "same-id"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_urls() {
    let stderr =
        reject(r#"{"links": [{"id": "first", "url": "BASE/same"}, {"id": "second", "url": "BASE/same"}]}"#).await;
    assert!(names_entry(&stderr, 2, "second"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_version() {
    let stderr = reject(r#"{"version": 2, "links": [{"id": "a", "url": "BASE/a"}]}"#).await;
    assert!(stderr.contains("version"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_file() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    assert_rejected(&server, &dir.path().join("absent.json")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bare_array_of_urls_is_accepted() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let urls = [format!("{}/a", server.uri()), format!("{}/b", server.uri())];
    let links = write_file(dir.path(), "links.json", &serde_json::to_string(&urls).unwrap());

    // A sibling probe would be a third request.
    let (code, report, stderr) = run_check(&links, &["--no-soft-404"]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    let got: Vec<&str> = report.results.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(got, urls);
    assert!(report.results.iter().all(|r| r.outcome == Outcome::Ok));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn derived_ids_are_present_unique_and_stable() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let base = server.uri();
    // URLs that a naive slug would collapse into one id.
    let urls = [
        format!("{base}/a/doc"),
        format!("{base}/a-doc"),
        format!("{base}/a/doc?x=1"),
        format!("{base}/A/Doc"),
    ];
    let entries: Vec<_> = urls.iter().map(|u| serde_json::json!({ "url": u })).collect();
    let doc = serde_json::json!({ "links": entries }).to_string();
    let links = write_file(dir.path(), "links.json", &doc);

    let (code, first, stderr) = run_check(&links, &[]).await;
    let (_, second, _) = run_check(&links, &[]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    let ids = first.ids();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|id| !id.trim().is_empty()), "{ids:?}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 4, "{ids:?}");
    assert_eq!(ids, second.ids(), "derived ids are deterministic");

    // Issue #12: reordered, as a bare array, with a URL inserted before them, every URL keeps
    // its id: it follows the URL, not the list.
    let mut reordered: Vec<String> = urls.iter().rev().cloned().collect();
    reordered.insert(0, format!("{base}/a/doc?x=0"));
    let links = write_file(dir.path(), "links.json", &serde_json::to_string(&reordered).unwrap());
    let (code, third, stderr) = run_check(&links, &[]).await;
    assert_eq!(code, 0, "stderr: {stderr}");
    for (url, id) in urls.iter().zip(&ids) {
        let result = third.results.iter().find(|r| &r.url == url).unwrap();
        assert_eq!(result.id, *id, "{url}");
    }
}
