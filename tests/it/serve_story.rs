//! The replay index tells each citation's story (issue #20): it starts with the citing
//! document, filters links by state, searches titles and URLs, pages through 100,000 links, and
//! each link has a page with a timeline of its captures and checks, its cited capture, its drift,
//! diffs between captures and its citation. Every remote text is escaped.

use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, after_the_latest_capture};
use crate::support::serve::{get, router, timestamp};
use crate::support::write_file;

/// A snapshot as the manifest holds it; `text` is `(similarity_to_first, cosmetic)`.
fn snapshot(n: usize, title: &str, run: &str, text: Option<(f64, bool)>) -> Value {
    let mut snapshot = json!({
        "sha256": format!("{n:064x}"), "size": 10, "content_type": "text/html",
        "first_seen": format!("2026-0{}-01T00:00:00Z", n + 1), "last_seen": format!("2026-0{}-01T00:00:00Z", n + 1),
        "http_status": 200, "final_url": "http://example.org/", "etag": null, "last_modified": null,
        "title": title, "run": run,
    });
    if let Some((similarity, cosmetic)) = text {
        for (key, value) in [
            ("text_sha256", json!(format!("{n:064x}"))),
            ("text_simhash", json!("0000000000000000")),
            ("text_words", json!(100)),
            ("cosmetic", json!(cosmetic)),
            ("similarity_to_first", json!(similarity)),
        ] {
            snapshot[key] = value;
        }
    }
    snapshot
}

fn check(outcome: &str, error: Option<&str>, run: &str) -> Value {
    json!({"at": "2026-06-01T00:00:00Z", "outcome": outcome, "http_status": 200,
           "final_url": "http://example.org/", "error": error, "run": run})
}

/// Writes `links.json` (with its `source`) and a manifest of `entries` (id, url, title, entry).
fn archive_of(entries: &[(String, String, String, Value)]) -> Scratch {
    let scratch = Scratch::new(&[]);
    let links: Vec<Value> = entries
        .iter()
        .map(|(id, url, title, _)| json!({"id": id, "url": url, "title": title}))
        .collect();
    let file = json!({"version": 1,
        "source": {"title": "Enhanced cooperation <a contribution>", "author": "R. Hill",
                   "date": "2018-03-01", "document": "https://unctad.org/cstd/contribution.pdf"},
        "links": links});
    write_file(scratch.dir.path(), "links.json", &file.to_string());
    let mut manifest = String::from("{\"schema_version\": 1, \"updated_at\": \"2026-06-01T00:00:00Z\", \"links\": {\n");
    for (n, (id, url, _, entry)) in entries.iter().enumerate() {
        let mut entry = entry.clone();
        entry["url"] = json!(url);
        let comma = if n + 1 < entries.len() { "," } else { "" };
        manifest.push_str(&format!("{}: {entry}{comma}\n", json!(id)));
    }
    manifest.push_str("}}\n");
    std::fs::create_dir_all(&scratch.archive).unwrap();
    std::fs::write(scratch.archive.join("manifest.json"), manifest).unwrap();
    scratch
}

fn rows(html: &str) -> Vec<String> {
    html.match_indices("<tr id=\"")
        .map(|(at, _)| html[at + 8..].split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_starts_with_the_citing_document_and_filters_searches_and_pages() {
    let ok = |n: usize| json!({"last_check": check("ok", None, "r1"), "snapshots": [snapshot(n % 5, "t", "r1", None)]});
    let mut entries: Vec<(String, String, String, Value)> = (0..118)
        .map(|n| {
            (
                format!("l{n:03}"),
                format!("http://example.org/{n}"),
                format!("Report {n}"),
                ok(n),
            )
        })
        .collect();
    let special = [
        ("broken-a", "http_error", Some("HTTP 404 Not Found")),
        ("broken-b", "timeout", Some("no response within 30 s")),
        ("gone-quietly", "soft_404", Some("redirected to the site's root")),
    ];
    for (id, outcome, error) in special {
        let entry = json!({"last_check": check(outcome, error, "r1"), "snapshots": [snapshot(0, "t", "r1", None)]});
        entries.push((id.into(), format!("http://example.org/{id}"), id.into(), entry));
    }
    let drifted = json!({"last_check": check("ok", None, "r2"), "snapshots": [
        snapshot(0, "t", "r1", Some((1.0, false))), snapshot(1, "t", "r2", Some((0.4, false)))]});
    entries.push((
        "unctad-wgec".into(),
        "https://unctad.org/meetings/en/wgec-report.pdf".into(),
        "Report of the Working Group".into(),
        drifted,
    ));
    let hostile = json!({"last_check": check("ok", None, "r1"), "snapshots": [snapshot(0, "<script>alert(1)</script>", "r1", None)]});
    entries.push((
        "hostile".into(),
        "http://example.org/h".into(),
        "<img src=x onerror=alert(1)>".into(),
        hostile,
    ));
    entries.push((
        "never".into(),
        "http://example.org/never".into(),
        "Never checked".into(),
        json!({"snapshots": []}),
    ));
    let scratch = archive_of(&entries);
    let server = router(&scratch);

    let index = get(&server, "/", &[]).await.text();
    assert!(
        index.contains("<h1>Enhanced cooperation &lt;a contribution&gt;</h1>"),
        "{index}"
    );
    assert!(index.contains("R. Hill · 2018-03-01"), "{index}");
    assert!(
        index.contains("href=\"https://unctad.org/cstd/contribution.pdf\""),
        "{index}"
    );
    for filter in [
        "all (124)",
        "broken (2)",
        "soft 404 (1)",
        "changed since cited (1)",
        "ok (119)",
        "not checked (1)",
    ] {
        assert!(index.contains(filter), "{filter}: {index}");
    }
    assert!(index.contains("Links 1–50 of 124."), "{index}");
    assert_eq!(rows(&index).len(), 50);
    assert!(index.contains("<a rel=\"next\" href=\"/?page=2\">"), "{index}");
    assert!(
        !index.contains("<script>alert") && !index.contains("<img src=x"),
        "escaped"
    );

    let third = get(&server, "/?page=3", &[]).await.text();
    assert_eq!(rows(&third).len(), 24, "{third}");
    assert!(third.contains("<a rel=\"prev\" href=\"/?page=2\">") && !third.contains("rel=\"next\""));

    let broken = get(&server, "/?state=broken", &[]).await.text();
    assert_eq!(rows(&broken), ["broken-a", "broken-b"]);
    assert!(broken.contains("broken (timeout)"), "the outcome is named: {broken}");
    assert_eq!(
        rows(&get(&server, "/?state=soft-404", &[]).await.text()),
        ["gone-quietly"]
    );
    assert_eq!(
        rows(&get(&server, "/?state=changed", &[]).await.text()),
        ["unctad-wgec"]
    );
    assert_eq!(rows(&get(&server, "/?state=unchecked", &[]).await.text()), ["never"]);

    // Search: titles and URLs, any case, within a state too.
    assert_eq!(
        rows(&get(&server, "/?q=working%20group", &[]).await.text()),
        ["unctad-wgec"]
    );
    assert_eq!(
        rows(&get(&server, "/?q=WGEC-REPORT.PDF", &[]).await.text()),
        ["unctad-wgec"]
    );
    assert_eq!(
        rows(&get(&server, "/?q=unctad&state=ok", &[]).await.text()),
        Vec::<String>::new()
    );
    let searched = get(&server, "/?q=report%201&state=ok", &[]).await.text();
    assert_eq!(rows(&searched).len(), 29, "Report 1, 10–19, 100–117: {searched}");
    assert!(searched.contains("value=\"report 1\""), "the search stays in its box");
    let none = get(&server, "/?q=%3Cnothing%3E", &[]).await.text();
    assert!(none.contains("No link matches") && none.contains("value=\"&lt;nothing&gt;\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100000_link_archive_answers_its_first_page_with_one_page_of_rows() {
    let entry = json!({"last_check": check("ok", None, "r1"), "snapshots": [snapshot(0, "A cited page", "r1", None)]});
    let entries: Vec<(String, String, String, Value)> = (0..100_000)
        .map(|n| {
            (
                format!("link-{n:06}"),
                format!("https://site{}.example/doc/{n}", n % 997),
                format!("Document {n}"),
                entry.clone(),
            )
        })
        .collect();
    let scratch = archive_of(&entries);
    let server = router(&scratch);
    let first = get(&server, "/", &[]).await;
    assert_eq!(first.status, 200);
    let html = first.text();
    assert!(
        html.contains("Links 1–50 of 100000."),
        "{}",
        &html[..2000.min(html.len())]
    );
    assert_eq!(rows(&html).len(), 50);
    // One page, not the archive: what a browser gets stays small however large the archive.
    assert!(html.len() < 64 * 1024, "{} bytes", html.len());
    let last = get(&server, "/?page=2000", &[]).await.text();
    assert_eq!(rows(&last).first().map(String::as_str), Some("link-099950"));
    let found = get(&server, "/?q=document%2099999", &[]).await.text();
    assert_eq!(rows(&found), ["link-099999"]);
}

/// Writes a run report of `results` (id, outcome, change).
fn run_report(scratch: &Scratch, run: &str, finished: &str, results: &[(&str, &str, Option<&str>)]) {
    let results: Vec<Value> = results
        .iter()
        .map(|(id, outcome, change)| {
            json!({"id": id, "url": "http://example.org/", "outcome": outcome, "change": change,
                   "error": (*outcome != "ok").then_some("HTTP 503 Service Unavailable"), "similarity": 0.5})
        })
        .collect();
    let report = json!({"tool": "linkkeep", "version": "0", "command": "archive", "run": run,
        "started_at": finished, "finished_at": finished, "summary": {}, "results": results});
    let runs = scratch.archive.join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(runs.join(format!("{run}.json")), report.to_string()).unwrap();
}

/// The kinds of the marks of an SVG timeline, left to right (the routine ones are drawn first,
/// so the document's order is not the timeline's).
fn marks(svg: &str) -> Vec<String> {
    let mut marks: Vec<(usize, String)> = svg
        .match_indices("class=\"mark ")
        .map(|(at, open)| {
            let mark = svg[at..].split('>').next().unwrap();
            let kind = mark[open.len()..].split('"').next().unwrap().to_owned();
            let x = mark.split(" cx=\"").nth(1).unwrap().split('"').next().unwrap();
            (x.parse().unwrap(), kind)
        })
        .collect();
    marks.sort_by_key(|(x, _)| *x);
    marks.into_iter().map(|(_, kind)| kind).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_links_timeline_has_a_mark_per_capture_and_failed_check_of_the_right_kind() {
    let entry = json!({"last_check": check("http_error", Some("HTTP 503"), "r5"), "snapshots": [
        snapshot(0, "Five", "r1", Some((1.0, false))),
        snapshot(1, "Five", "r3", Some((0.99, true))),
        snapshot(2, "Five", "r4", Some((0.5, false)))]});
    let scratch = archive_of(&[("five".into(), "http://example.org/five".into(), "Five".into(), entry)]);
    let runs = [
        ("20260101T000000Z-aaaa", "2026-01-01T00:00:00Z", "ok", Some("new")),
        ("20260201T000000Z-aaaa", "2026-02-01T00:00:00Z", "ok", Some("unchanged")),
        ("20260301T000000Z-aaaa", "2026-03-01T00:00:00Z", "ok", Some("cosmetic")),
        ("20260401T000000Z-aaaa", "2026-04-01T00:00:00Z", "ok", Some("changed")),
        ("20260501T000000Z-aaaa", "2026-05-01T00:00:00Z", "http_error", None),
    ];
    for (run, at, outcome, change) in runs {
        run_report(
            &scratch,
            run,
            at,
            &[("five", outcome, change), ("other", "ok", Some("new"))],
        );
    }
    // The manifest's snapshots name those runs by their ids.
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(scratch.archive.join("manifest.json")).unwrap()).unwrap();
    for (n, run) in [
        "20260101T000000Z-aaaa",
        "20260301T000000Z-aaaa",
        "20260401T000000Z-aaaa",
    ]
    .iter()
    .enumerate()
    {
        manifest["links"]["five"]["snapshots"][n]["run"] = json!(run);
    }
    manifest["links"]["five"]["last_check"]["run"] = json!("20260501T000000Z-aaaa");
    std::fs::write(scratch.archive.join("manifest.json"), manifest.to_string()).unwrap();
    let server = router(&scratch);

    let svg = get(&server, "/link/five/timeline.svg", &[]).await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.header("content-type"), "image/svg+xml; charset=utf-8");
    let svg = svg.text();
    assert_eq!(
        marks(&svg),
        ["new", "unchanged", "cosmetic", "changed", "failure"],
        "{svg}"
    );
    assert!(
        svg.contains("<title>2026-05-01T00:00:00Z failure: http_error: HTTP 503 Service Unavailable</title>"),
        "{svg}"
    );
    // The link's page shows the same picture.
    let page = get(&server, "/link/five", &[]).await.text();
    assert_eq!(marks(&page), marks(&svg));

    // A run that finishes while the server runs is on the next look (the server keeps what the
    // reports say and reads only the new ones).
    run_report(
        &scratch,
        "20260601T000000Z-aaaa",
        "2026-06-01T00:00:00Z",
        &[("five", "http_error", None)],
    );
    let svg = get(&server, "/link/five/timeline.svg", &[]).await.text();
    assert_eq!(
        marks(&svg),
        ["new", "unchanged", "cosmetic", "changed", "failure", "failure"],
        "{svg}"
    );

    // Without the run reports, the manifest still tells the captures and the last failure.
    std::fs::remove_dir_all(scratch.archive.join("runs")).unwrap();
    let svg = get(&server, "/link/five/timeline.svg", &[]).await.text();
    assert_eq!(marks(&svg), ["new", "cosmetic", "changed", "failure"], "{svg}");
    assert_eq!(get(&server, "/link/nope/timeline.svg", &[]).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_links_page_shows_its_cited_capture_its_drift_diffs_and_its_citation() {
    let site = MockServer::start().await;
    let page = |words: &str| {
        ResponseTemplate::new(200).set_body_raw(
            format!("<html><head><title>Cited &lt;page&gt;</title></head><body><article><h1>The cited page</h1><p>{words}</p></article></body></html>").into_bytes(),
            "text/html",
        )
    };
    Mock::given(path("/cited.html"))
        .respond_with(page(
            "The working group met twice and agreed on nothing at all in the end.",
        ))
        .mount(&site)
        .await;
    let scratch = Scratch::new(&[("cited", format!("{}/cited.html", site.uri()))]);
    let first = scratch.archive(&["--retries", "0", "--no-soft-404"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    after_the_latest_capture(&scratch).await;
    site.reset().await;
    Mock::given(path("/cited.html"))
        .respond_with(page(
            "The working group met four times and agreed on a long list of recommendations.",
        ))
        .mount(&site)
        .await;
    let second = scratch.archive(&["--retries", "0", "--no-soft-404"]).await;
    assert_eq!(second.result("cited")["change"], "changed", "{:#}", second.report);

    let server = router(&scratch);
    let (cited, latest) = (timestamp(&scratch, "cited", 0), timestamp(&scratch, "cited", 1));
    let url = format!("{}/cited.html", site.uri());
    let html = get(&server, "/link/cited", &[]).await.text();
    assert!(html.contains("<h1>Cited &lt;page&gt;</h1>"), "{html}");
    assert!(
        html.contains(&format!("href=\"/web/{cited}/{url}\">The cited capture of")),
        "{html}"
    );
    assert!(html.contains("text changed since cited"), "{html}");
    let sha = scratch.snapshots("cited")[1]["sha256"].as_str().unwrap().to_owned();
    assert!(html.contains(&format!("Latest SHA-256 <code>{sha}</code>")), "{html}");
    let diff_href = format!("/link/cited/diff?from={cited}&amp;to={latest}");
    assert!(html.contains(&diff_href), "{html}");
    assert!(html.contains("<pre class=\"citation\">"), "{html}");
    assert_eq!(marks(&html), ["new", "changed"], "{html}");

    let diff = get(&server, &diff_href.replace("&amp;", "&"), &[]).await;
    assert_eq!(diff.status, 200);
    let diff = diff.text();
    assert!(diff.contains("cited: similarity"), "{diff}");
    assert!(diff.contains("twice") && diff.contains("four times"), "{diff}");
    assert_eq!(get(&server, "/link/cited/diff?from=1&to=2", &[]).await.status, 404);
    assert_eq!(get(&server, "/link/unknown", &[]).await.status, 404);
}
