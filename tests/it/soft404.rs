//! Soft-404s (issue #14): a removed page that a site answers with a 200 "not found" page, a deep
//! link redirected to the home page; no false alarm on a site that answers unknown paths with
//! a real 404; one probe per host and directory, within `--per-host`, never archived;
//! `--no-soft-404`; warnings for not-found titles and for links that lead elsewhere than at
//! their first capture.

use flate2::read::MultiGzDecoder;
use std::io::Read;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::archive_text::PARAGRAPHS;
use crate::support::archive::Scratch;
use crate::support::counting::Counting;
use crate::support::report::Outcome;
use crate::support::{links_file, run_check};

const ARGS: &[&str] = &["--retries", "0", "--timeout", "5"];

fn html(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8")
}

fn article(title: &str) -> String {
    let paragraphs: String = PARAGRAPHS.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        "<!doctype html><html><head><title>{title}</title></head><body><nav><a href=\"/\">Home</a></nav><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )
}

/// The page a "soft" site serves for any path it does not have, with status 200 (echoing the
/// path, as many do).
fn not_found_page(path: &str) -> String {
    format!(
        "<!doctype html><html><head><title>Example News</title></head><body><nav><a href=\"/\">Home</a> <a href=\"/news/\">News</a></nav>\
         <main><h1>Sorry, we could not find that page</h1><p>The page {path} may have moved or been removed. \
         Try the search box or go back to the front page.</p></main><footer>Example News 2026</footer></body></html>"
    )
}

/// Requests the server got for probe paths.
async fn probes(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| r.url.path().to_owned())
        .filter(|p| p.contains("linkkeep-probe-"))
        .collect()
}

/// A site with one live article under `/news/`, answering every other path with a 200 "not
/// found" page.
async fn soft_site() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/news/live-article.html"))
        .respond_with(html(article("Enhanced cooperation")))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(|request: &Request| html(not_found_page(request.url.path())))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// Everything the archive's WARC files and index say, as text.
fn archive_text_of(scratch: &Scratch) -> String {
    let mut all = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    for file in scratch.warc_files() {
        let mut text = String::new();
        MultiGzDecoder::new(std::fs::File::open(&file).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        all.push_str(&text);
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_page_answered_with_200_is_a_soft_404_and_a_live_page_stays_ok() {
    let server = soft_site().await;
    let base = server.uri();
    let links = [
        ("removed", format!("{base}/news/removed-article.html")),
        ("live", format!("{base}/news/live-article.html")),
    ];
    let dir = tempfile::tempdir().unwrap();
    let links_path = links_file(dir.path(), &links);

    let (code, report, stderr) = run_check(&links_path, ARGS).await;
    assert_eq!(code, 1, "a soft-404 is a failure: {stderr}");
    let removed = report.get("removed");
    assert_eq!(removed.outcome, Outcome::Soft404);
    assert_eq!(removed.http_status, Some(200));
    let why = removed.error.as_deref().unwrap();
    assert!(why.contains("random path beside it") && why.contains("gone"), "{why}");
    assert_eq!(report.get("live").outcome, Outcome::Ok);
    assert_eq!(probes(&server).await.len(), 1, "one probe for /news/");

    // archive: the same verdicts, no snapshot of the not-found page, and the probe nowhere.
    let scratch = Scratch::new(&links);
    let run = scratch.archive(ARGS).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.result("removed")["outcome"], "soft_404");
    assert_eq!(run.result("live")["outcome"], "ok");
    assert_eq!(run.result("live")["change"], "new");
    assert!(
        scratch.snapshots("removed").is_empty(),
        "the not-found page is no capture"
    );
    let last_check = &scratch.manifest()["links"]["removed"]["last_check"];
    assert_eq!(last_check["outcome"], "soft_404");
    assert!(last_check["error"].as_str().unwrap().contains("random path"));
    assert_eq!(probes(&server).await.len(), 2, "one more for the archive run");
    let archived = archive_text_of(&scratch);
    assert!(
        archived.contains("removed-article.html"),
        "the answer itself is recorded"
    );
    assert!(!archived.contains("linkkeep-probe-"), "probes are never archived");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_link_redirected_to_the_home_page_is_a_soft_404() {
    let server = MockServer::start().await;
    Mock::given(path("/reports/2018/wgec.pdf"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/"))
        .mount(&server)
        .await;
    Mock::given(path("/"))
        .respond_with(html(article("Welcome")))
        .mount(&server)
        .await;
    Mock::given(path("/about/"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/about/us.html"))
        .mount(&server)
        .await;
    Mock::given(path("/about/us.html"))
        .respond_with(html(article("About us")))
        .mount(&server)
        .await;
    let links = [
        ("report", format!("{}/reports/2018/wgec.pdf", server.uri())),
        ("home", format!("{}/", server.uri())),
        ("about", format!("{}/about/", server.uri())),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (code, report, stderr) = run_check(&links_file(dir.path(), &links), ARGS).await;
    assert_eq!(code, 1, "{stderr}");
    let gone = report.get("report");
    assert_eq!(gone.outcome, Outcome::Soft404);
    let why = gone.error.as_deref().unwrap();
    assert!(why.contains("redirected to the site's home page"), "{why}");
    assert_eq!(report.get("home").outcome, Outcome::Ok, "a cited root is a root");
    assert_eq!(
        report.get("about").outcome,
        Outcome::Ok,
        "an ordinary move is no soft-404"
    );

    let scratch = Scratch::new(&links);
    let run = scratch.archive(ARGS).await;
    assert_eq!(run.result("report")["outcome"], "soft_404", "{}", run.stderr);
    assert!(scratch.snapshots("report").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_that_answers_unknown_paths_with_404_raises_no_false_alarm() {
    let server = MockServer::start().await;
    Mock::given(path("/news/live-article.html"))
        .respond_with(html(article("Enhanced cooperation")))
        .mount(&server)
        .await;
    // A page about HTTP errors: its title alone is a warning, never a failure.
    Mock::given(path("/news/errors.html"))
        .respond_with(html(article("404 Not Found and other HTTP errors")))
        .mount(&server)
        .await;
    let links = [
        ("live", format!("{}/news/live-article.html", server.uri())),
        ("errors", format!("{}/news/errors.html", server.uri())),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (code, report, stderr) = run_check(&links_file(dir.path(), &links), ARGS).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.get("live").outcome, Outcome::Ok);
    assert_eq!(probes(&server).await.len(), 1, "the probe was sent, and answered 404");

    let scratch = Scratch::new(&links);
    let run = scratch.archive(ARGS).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.result("errors")["outcome"], "ok");
    let warnings = run.report["warnings"].to_string();
    assert!(
        warnings.contains("errors: its title") && warnings.contains("reads like a missing or parked page"),
        "{warnings}"
    );
    assert!(!warnings.contains("live:"), "{warnings}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_soft_404_sends_no_probe() {
    let server = soft_site().await;
    let links = [("removed", format!("{}/news/removed-article.html", server.uri()))];
    let dir = tempfile::tempdir().unwrap();
    let (code, report, stderr) = run_check(&links_file(dir.path(), &links), &[ARGS, &["--no-soft-404"]].concat()).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.get("removed").outcome, Outcome::Ok);
    assert!(probes(&server).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_go_once_per_directory_within_the_per_host_limit() {
    // Every path answers 200 (plain text: nothing to compare, so no verdict), each request held
    // long enough for concurrent ones to overlap.
    let server = Counting::start().await;
    let links: Vec<(String, String)> = (0..4)
        .map(|i| (format!("l{i}"), format!("{}/docs/page-{i}.html", server.base)))
        .chain([("other".to_owned(), format!("{}/other/page.html", server.base))])
        .collect();
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_check(&links_file(dir.path(), &links), &[ARGS, &["--per-host", "1"]].concat()).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.total(), 5 + 2, "five links and one probe per directory");
    assert_eq!(server.max_in_flight(), 1, "probes wait for the host like any request");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_that_now_leads_elsewhere_than_at_its_first_capture_is_reported() {
    let server = MockServer::start().await;
    let moved = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = moved.clone();
    Mock::given(path("/doc.html"))
        .respond_with(move |_: &Request| {
            if flag.load(std::sync::atomic::Ordering::SeqCst) {
                ResponseTemplate::new(301).insert_header("location", "/archive/doc-2026.html")
            } else {
                html(article("The document"))
            }
        })
        .mount(&server)
        .await;
    Mock::given(path("/archive/doc-2026.html"))
        .respond_with(html(article("The document")))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("doc", format!("{}/doc.html", server.uri()))]);
    let first = scratch.archive(ARGS).await;
    assert_eq!(first.report.get("warnings"), None, "{}", first.stderr);
    moved.store(true, std::sync::atomic::Ordering::SeqCst);
    let second = scratch.archive(ARGS).await;
    assert_eq!(second.result("doc")["outcome"], "ok");
    let warnings = second.report["warnings"].to_string();
    assert!(
        warnings.contains("doc now leads to") && warnings.contains("/archive/doc-2026.html"),
        "{warnings}"
    );
    assert!(warnings.contains("at its first capture"), "{warnings}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_live_reports_a_cited_page_the_site_removed_but_answers_with_200() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let server = MockServer::start().await;
    let removed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&removed);
    Mock::given(wiremock::matchers::any())
        .respond_with(move |request: &Request| {
            let path = request.url.path();
            if path == "/news/wgec.html" && !flag.load(Ordering::SeqCst) {
                html(article("Enhanced cooperation"))
            } else {
                html(not_found_page(path))
            }
        })
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("wgec", format!("{}/news/wgec.html", server.uri()))]);
    let archived = scratch.archive(ARGS).await;
    assert_eq!(archived.result("wgec")["outcome"], "ok", "{}", archived.stderr);
    assert_eq!(scratch.snapshots("wgec").len(), 1);

    removed.store(true, Ordering::SeqCst);
    let manifest = std::fs::read(scratch.archive.join("manifest.json")).unwrap();
    let mut cmd = scratch.cmd();
    cmd.args(["verify", "--live", "--format", "json"]).args(ARGS);
    let run = crate::support::archive::run_raw(cmd).await;
    let report: serde_json::Value =
        serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let result = &report["results"][0];
    assert_eq!(result["outcome"], "soft_404", "{result:#}");
    assert!(result["error"].as_str().unwrap().contains("random path"), "{result:#}");
    assert_eq!(
        std::fs::read(scratch.archive.join("manifest.json")).unwrap(),
        manifest,
        "verify writes nothing"
    );
}
