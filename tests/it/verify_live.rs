//! `linkkeep verify --live`: each link of links.json is re-fetched and compared with its latest
//! snapshot (`unchanged`, `changed`, `new`, null when the fetch failed), a 304 to the ETag is
//! unchanged, `--fail-on-change` turns drift into exit 1, and nothing is written. Guards issue #4;
//! links start through the same window as in `check` (issue #12).

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, random_bytes, run_raw, sha256_hex};
use crate::support::links_file;
use crate::support::raw::held_until_other_asked;
use crate::support::verify::{Archived, NET, VerifyOutcome, bodies, mount, parse_report};

/// `verify --live` with the network flags and `args`.
fn live<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--live"];
    all.extend_from_slice(NET);
    all.extend_from_slice(args);
    all
}

/// Serves [`bodies`] again, with `changed` (path, new body) in place of the archived one.
async fn serve_again(archived: &Archived, changed: Option<(&str, Vec<u8>)>) {
    archived.server.reset().await;
    for (_, at, body, content_type) in bodies() {
        let body = match &changed {
            Some((which, new)) if *which == at => new.clone(),
            _ => body,
        };
        mount(&archived.server, at, body, content_type).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn live_reports_drift_against_the_latest_snapshot_and_writes_nothing() {
    let archived = Archived::build().await;
    let new_page = b"<html><head><title>Moved on</title></head><body>rewritten</body></html>".to_vec();
    serve_again(&archived, Some(("/page.html", new_page.clone()))).await;
    mount(&archived.server, "/fresh", b"never archived".to_vec(), "text/plain").await;
    // links.json gains a link the archive has never seen.
    let mut links: Vec<(&str, String)> = bodies()
        .iter()
        .map(|(id, at, _, _)| (*id, format!("{}{at}", archived.server.uri())))
        .collect();
    links.push(("fresh", format!("{}/fresh", archived.server.uri())));
    links_file(archived.scratch.dir.path(), &links);

    let manifest_before = std::fs::read(archived.scratch.archive.join("manifest.json")).unwrap();
    let tree_before = archived.tree();
    let (code, report, stderr) = archived.verify(&live(&[])).await;
    assert_eq!(
        code, 0,
        "drift without --fail-on-change is not a failure: {report:#?}\n{stderr}"
    );

    assert_eq!(report.ids(), ["page", "report-pdf", "data", "fresh"]);
    for result in &report.results {
        assert_eq!(result.outcome, VerifyOutcome::Ok, "{result:#?}");
        assert_eq!(result.http_status, Some(200), "{result:#?}");
    }
    let page = report.get("page");
    assert_eq!(page.change.as_deref(), Some("changed"), "{page:#?}");
    assert_eq!(
        page.sha256.as_deref(),
        Some(sha256_hex(&new_page).as_str()),
        "the live hash"
    );
    assert_eq!(page.size, Some(new_page.len() as u64));
    for (id, _, body, _) in &bodies()[1..] {
        let result = report.get(id);
        assert_eq!(result.change.as_deref(), Some("unchanged"), "{result:#?}");
        assert_eq!(result.sha256.as_deref(), Some(sha256_hex(body).as_str()), "{id}");
    }
    assert_eq!(report.get("fresh").change.as_deref(), Some("new"));
    let s = &report.summary;
    assert_eq!((s.total, s.changed, s.unchanged, s.new), (4, 1, 2, 1), "{s:?}");

    let requests = archived.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4, "every link is fetched once");
    assert_eq!(
        std::fs::read(archived.scratch.archive.join("manifest.json")).unwrap(),
        manifest_before,
        "verify --live rewrote the manifest"
    );
    let tree_after = archived.tree();
    assert_eq!(
        tree_after.keys().collect::<Vec<_>>(),
        tree_before.keys().collect::<Vec<_>>(),
        "verify --live added or removed files"
    );
    assert!(tree_after == tree_before, "verify --live changed a file of the archive");
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_on_change_exits_1_on_drift() {
    let archived = Archived::build().await;
    serve_again(&archived, Some(("/data.bin", random_bytes(1234, 3_000)))).await;

    let (code, report, stderr) = archived.verify(&live(&["--fail-on-change"])).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    assert_eq!(report.get("data").change.as_deref(), Some("changed"));
    assert_eq!(report.get("page").change.as_deref(), Some("unchanged"));
    assert_eq!(report.get("report-pdf").change.as_deref(), Some("unchanged"));
    // Drift is not damage: the archive itself is fine.
    assert!(
        report.results.iter().all(|r| r.outcome == VerifyOutcome::Ok),
        "{report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_on_change_exits_0_when_nothing_changed() {
    let archived = Archived::build().await;
    let manifest_before = std::fs::read(archived.scratch.archive.join("manifest.json")).unwrap();

    let (code, report, stderr) = archived.verify(&live(&["--fail-on-change"])).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");
    for result in &report.results {
        assert_eq!(result.outcome, VerifyOutcome::Ok, "{result:#?}");
        assert_eq!(result.change.as_deref(), Some("unchanged"), "{result:#?}");
    }
    assert_eq!(report.summary.unchanged, 3);
    assert_eq!(
        archived.server.received_requests().await.unwrap().len(),
        6,
        "3 fetches by archive, 3 by verify --live"
    );
    assert_eq!(
        std::fs::read(archived.scratch.archive.join("manifest.json")).unwrap(),
        manifest_before,
        "verify --live rewrote the manifest"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_304_to_the_etag_counts_as_unchanged() {
    let server = MockServer::start().await;
    let v1 = b"%PDF-1.4 first version".to_vec();
    Mock::given(path("/doc.pdf"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_raw(v1.clone(), "application/pdf"),
        )
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("doc", format!("{}/doc.pdf", server.uri()))]);
    let archived = scratch.archive(NET).await;
    assert_eq!(archived.code, 0, "{}", archived.stderr);
    assert_eq!(scratch.snapshots("doc")[0]["etag"], "\"v1\"");

    // Now only a conditional request gets the 304; a plain GET would see different bytes.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/doc.pdf"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"v1\""))
        .mount(&server)
        .await;
    Mock::given(path("/doc.pdf"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v2\"")
                .set_body_raw(b"%PDF-1.4 second version".to_vec(), "application/pdf"),
        )
        .mount(&server)
        .await;
    let holder = Archived { server, scratch };

    let (code, report, stderr) = holder.verify(&live(&["--fail-on-change"])).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");
    let doc = report.get("doc");
    assert_eq!(doc.outcome, VerifyOutcome::Ok, "{doc:#?}");
    assert_eq!(doc.http_status, Some(304), "{doc:#?}");
    assert_eq!(doc.change.as_deref(), Some("unchanged"), "{doc:#?}");
    assert_eq!(
        doc.sha256.as_deref(),
        Some(sha256_hex(&v1).as_str()),
        "the snapshot's hash"
    );
    let requests = holder.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].headers.get("if-none-match").map(|v| v.to_str().unwrap()),
        Some("\"v1\"")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_fetch_has_no_change_and_fails_the_run() {
    let archived = Archived::build().await;
    archived.server.reset().await;
    for (_, at, body, content_type) in bodies() {
        if at == "/report.pdf" {
            Mock::given(path(at))
                .respond_with(ResponseTemplate::new(404))
                .mount(&archived.server)
                .await;
        } else {
            mount(&archived.server, at, body, content_type).await;
        }
    }

    let (code, report, stderr) = archived.verify(&live(&[])).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    let gone = report.get("report-pdf");
    assert_eq!(gone.outcome, VerifyOutcome::HttpError, "{gone:#?}");
    assert_eq!(gone.http_status, Some(404));
    assert_eq!(gone.change, None, "nothing was fetched to compare: {gone:#?}");
    assert!(gone.error.as_deref().is_some_and(|e| !e.is_empty()), "{gone:#?}");
    assert_eq!(report.get("page").change.as_deref(), Some("unchanged"));
    assert_eq!(report.get("data").change.as_deref(), Some("unchanged"));
}

/// Issue #12: `verify --live` starts links through the same window as `check`, where a host
/// runs no more links than its `--per-host`. Host a answers only once host b has been asked;
/// started in list order (six links of a, then b) with a window of two, b would wait until a's
/// first links timed out.
#[tokio::test(flavor = "multi_thread")]
async fn live_a_host_cited_many_times_in_a_row_does_not_hold_back_the_others() {
    let (a, b) = held_until_other_asked().await;
    let mut links: Vec<(String, String)> = (0..6).map(|i| (format!("a-{i}"), format!("{a}/doc/{i}"))).collect();
    links.push(("b".into(), format!("{b}/doc")));
    let entries: Vec<(&str, String)> = links.iter().map(|(id, u)| (id.as_str(), u.clone())).collect();
    let scratch = Scratch::new(&entries);
    // An archive that has captured nothing yet: every link is `new`.
    std::fs::create_dir_all(&scratch.archive).unwrap();
    std::fs::write(
        scratch.archive.join("manifest.json"),
        r#"{"schema_version": 1, "links": {}}"#,
    )
    .unwrap();

    let mut cmd = scratch.cmd();
    cmd.args(["verify", "--live", "--format", "json"]).args([
        "--no-soft-404",
        "--concurrency",
        "2",
        "--per-host",
        "1",
        "--retries",
        "0",
        "--timeout",
        "3",
    ]);
    let run = run_raw(cmd).await;
    let report = parse_report(&run);

    assert_eq!(run.code, 0, "{report:#?}\n{}", run.stderr);
    let ids: Vec<&str> = links.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(report.ids(), ids, "results in links.json order");
    for result in &report.results {
        assert_eq!(result.outcome, VerifyOutcome::Ok, "{result:#?}");
        assert_eq!(result.change.as_deref(), Some("new"), "{result:#?}");
    }
}

/// Issue #12: `--live` adds drift to fixity, it does not narrow it: a link taken off links.json
/// is not fetched, but its damaged snapshot still fails the run, after the listed links.
#[tokio::test(flavor = "multi_thread")]
async fn live_still_checks_the_fixity_of_links_no_longer_listed() {
    let archived = Archived::build().await;
    let snapshot = archived.unlist_and_damage("data");
    archived.server.reset().await;
    for (_, at, body, content_type) in bodies() {
        mount(&archived.server, at, body, content_type).await;
    }

    let (code, report, stderr) = archived.verify(&live(&[])).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    assert_eq!(report.ids(), ["page", "report-pdf", "data"]);
    let data = report.get("data");
    assert_eq!(data.outcome, VerifyOutcome::CorruptObject, "{data:#?}");
    assert!(
        data.error
            .as_deref()
            .unwrap()
            .contains(snapshot["warc"].as_str().unwrap()),
        "{data:#?}"
    );
    assert_eq!(data.change, None, "a link no longer listed is not fetched: {data:#?}");
    for id in ["page", "report-pdf"] {
        assert_eq!(report.get(id).outcome, VerifyOutcome::Ok);
        assert_eq!(report.get(id).change.as_deref(), Some("unchanged"));
    }
    let requests = archived.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "only the listed links are fetched");
}
