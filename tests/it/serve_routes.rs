//! `linkkeep serve`'s routes, driven in-process on archives built by real `archive` runs: the
//! index, captures and the nearest-capture choice, canonical redirects, Memento headers, the
//! TimeGate and TimeMap, link rewriting and otherwise byte-identical replay, `id_`,
//! `/api/links`, the 404 pages, reloading the manifest, and path traversal (also against the real
//! binary over raw TCP). Guards issue #4 (and #15 for links to what the archive lacks).

use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, sha256_hex};
use crate::support::serve::{
    HOST, ServeProcess, Site, get, index_row, pdf_bytes, plain_page, raw_get, router, set_capture_times, timestamp,
};

#[tokio::test(flavor = "multi_thread")]
async fn the_index_lists_every_link_with_title_publisher_outcome_and_captures() {
    let site = Site::archived().await;
    let reply = get(&router(&site.scratch), "/", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    let html = reply.text();
    let row = |id: &str| index_row(&html, id);
    // The capture's own title wins over links.json's; links.json's fills in when there is none.
    assert!(
        row("a").contains("Page A") && !row("a").contains("A from links.json"),
        "{}",
        row("a")
    );
    assert!(row("pdf").contains("Annual report"), "{}", row("pdf"));
    assert!(row("notes").contains("Notes from links.json"), "{}", row("notes"));
    // Publishers come from links.json, escaped like everything else.
    assert!(row("a").contains("Smith &amp; &lt;Sons&gt;"), "{}", row("a"));
    assert!(!html.contains("<Sons>"));
    assert!(row("b").contains("B Press"));
    // Outcome, when, how many captures, and where to find the latest and the original.
    let a_url = site.url("/a.html");
    let ts = timestamp(&site.scratch, "a", 0);
    let checked = site.scratch.manifest()["links"]["a"]["last_check"]["at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(row("a").contains(">ok<") && row("a").contains(&checked), "{}", row("a"));
    assert!(row("a").contains("<td>1</td>"), "{}", row("a"));
    assert!(
        row("a").contains(&format!("href=\"/web/{ts}/{a_url}\"")),
        "{}",
        row("a")
    );
    assert!(row("a").contains(&format!("href=\"{a_url}\"")), "{}", row("a"));
    assert!(
        row("gone").contains("http_error") && row("gone").contains("<td>0</td>"),
        "{}",
        row("gone")
    );
    assert!(!row("gone").contains("/web/"), "nothing to replay: {}", row("gone"));
    assert!(row("search").contains(&format!("{}/search?q=a%20b&amp;lang=en", site.base)));
    assert!(!html.contains("<script"), "no JavaScript");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archive_without_a_manifest_is_empty() {
    let scratch = Scratch::new(&[]);
    let router = router(&scratch);
    let index = get(&router, "/", &[]).await;
    assert_eq!(index.status, 200);
    assert!(index.text().contains("The archive is empty"), "{}", index.text());
    let api = get(&router, "/api/links", &[]).await;
    assert_eq!(api.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&api.body).unwrap(),
        serde_json::json!({})
    );
}

/// An archive of one link captured twice with different content, the captures set to
/// 2020-01-01 and 2021-06-01.
async fn two_captures() -> (MockServer, Scratch, String) {
    let server = MockServer::start().await;
    let url = format!("{}/v.html", server.uri());
    let scratch = Scratch::new(&[("v", url.clone())]);
    for version in ["first", "second"] {
        server.reset().await;
        Mock::given(path("/v.html"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(format!("<title>{version} version</title>").into_bytes(), "text/html"),
            )
            .mount(&server)
            .await;
        let run = scratch.archive(&["--retries", "0"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    set_capture_times(&scratch, "v", &["2020-01-01T00:00:00Z", "2021-06-01T00:00:00Z"]);
    (server, scratch, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nearest_capture_is_served_and_inexact_timestamps_redirect() {
    let (_server, scratch, url) = two_captures().await;
    let router = router(&scratch);
    let first = get(&router, &format!("/web/20200101000000/{url}"), &[]).await;
    assert_eq!(
        (first.status.as_u16(), first.text().as_str()),
        (200, "<title>first version</title>")
    );
    let second = get(&router, &format!("/web/20210601000000/{url}"), &[]).await;
    assert_eq!(
        (second.status.as_u16(), second.text().as_str()),
        (200, "<title>second version</title>")
    );

    for (asked, nearest) in [
        ("20200301000000", "20200101000000"),
        ("19990101000000", "20200101000000"),
        ("20210101000000", "20210601000000"),
        ("2030", "20210601000000"),
    ] {
        let reply = get(&router, &format!("/web/{asked}/{url}"), &[]).await;
        assert_eq!(reply.status, 302, "{asked}");
        assert_eq!(reply.header("location"), format!("/web/{nearest}/{url}"), "{asked}");
    }
    // The redirect keeps the `id_` modifier and goes to the URL as archived.
    let collapsed = url.replacen("http://", "http:/", 1);
    let reply = get(&router, &format!("/web/2020id_/{collapsed}"), &[]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), format!("/web/20200101000000id_/{url}"));
    // Not a date at all.
    assert_eq!(
        get(&router, &format!("/web/20201399000000/{url}"), &[]).await.status,
        400
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timegate_redirects_to_the_latest_or_the_accept_datetime_capture() {
    let (_server, scratch, url) = two_captures().await;
    let router = router(&scratch);
    let expected_link = format!(
        "<{url}>; rel=\"original\", </web/{url}>; rel=\"timegate\", \
         </timemap/link/{url}>; rel=\"timemap\"; type=\"application/link-format\""
    );

    let latest = get(&router, &format!("/web/{url}"), &[]).await;
    assert_eq!(latest.status, 302);
    assert_eq!(latest.header("location"), format!("/web/20210601000000/{url}"));
    assert_eq!(latest.header("vary"), "accept-datetime");
    assert_eq!(latest.header("link"), expected_link);

    let dated = get(
        &router,
        &format!("/web/{url}"),
        &[("accept-datetime", "Wed, 01 Apr 2020 00:00:00 GMT")],
    )
    .await;
    assert_eq!(dated.status, 302);
    assert_eq!(dated.header("location"), format!("/web/20200101000000/{url}"));
    assert_eq!(dated.header("vary"), "accept-datetime");

    let bad = get(&router, &format!("/web/{url}"), &[("accept-datetime", "last tuesday")]).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timemap_lists_every_memento() {
    let (_server, scratch, url) = two_captures().await;
    let reply = get(&router(&scratch), &format!("/timemap/link/{url}"), &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "application/link-format");
    let base = format!("http://{HOST}");
    let first = "Wed, 01 Jan 2020 00:00:00 GMT";
    let last = "Tue, 01 Jun 2021 00:00:00 GMT";
    let expected = [
        format!("<{url}>; rel=\"original\","),
        format!("<{base}/web/{url}>; rel=\"timegate\","),
        format!(
            "<{base}/timemap/link/{url}>; rel=\"self\"; type=\"application/link-format\"; \
             from=\"{first}\"; until=\"{last}\","
        ),
        format!("<{base}/web/20200101000000/{url}>; rel=\"first memento\"; datetime=\"{first}\","),
        format!("<{base}/web/20210601000000/{url}>; rel=\"last memento\"; datetime=\"{last}\""),
    ];
    assert_eq!(reply.text().lines().collect::<Vec<_>>(), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_server_sees_new_captures() {
    let server = MockServer::start().await;
    let url = format!("{}/v.html", server.uri());
    let scratch = Scratch::new(&[("v", url.clone())]);
    let router = router(&scratch);
    // Before the first run there is no manifest at all.
    assert!(get(&router, "/", &[]).await.text().contains("The archive is empty"));
    let mementos = |text: String| text.lines().filter(|l| l.contains("memento\"")).count();
    for (run, body) in [(1, "one"), (2, "two")] {
        server.reset().await;
        Mock::given(path("/v.html"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/plain"))
            .mount(&server)
            .await;
        assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 0);
        let timemap = get(&router, &format!("/timemap/link/{url}"), &[]).await;
        assert_eq!(timemap.status, 200, "run {run}: {}", timemap.text());
        assert_eq!(mementos(timemap.text()), run, "run {run}: {}", timemap.text());
        let latest = get(&router, &format!("/web/{url}"), &[]).await;
        let replay = get(&router, latest.header("location"), &[]).await;
        assert_eq!(replay.text(), body, "run {run}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn captures_carry_memento_headers_and_stored_bytes() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let pdf_url = site.url("/doc.pdf");
    let ts = timestamp(&site.scratch, "pdf", 0);
    let reply = get(&router, &format!("/web/{ts}/{pdf_url}"), &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "application/pdf");
    let first_seen = site.scratch.snapshots("pdf")[0]["first_seen"]
        .as_str()
        .unwrap()
        .to_owned();
    let at: std::time::SystemTime = chrono::DateTime::parse_from_rfc3339(&first_seen).unwrap().into();
    assert_eq!(reply.header("memento-datetime"), httpdate::fmt_http_date(at));
    assert_eq!(
        reply.header("link"),
        format!(
            "<{pdf_url}>; rel=\"original\", </web/{pdf_url}>; rel=\"timegate\", \
             </timemap/link/{pdf_url}>; rel=\"timemap\"; type=\"application/link-format\""
        )
    );
    assert_eq!(reply.header("content-length"), pdf_bytes().len().to_string());
    assert!(reply.body == pdf_bytes(), "the PDF replays byte for byte");

    // A URL with a query string is matched on the raw request target: `%20` stays `%20`.
    let search = site.url("/search?q=a%20b&lang=en");
    let ts = timestamp(&site.scratch, "search", 0);
    for target in [
        format!("/web/{ts}/{search}"),
        format!("/web/{ts}/{}", search.replacen("http://", "http:/", 1)),
    ] {
        let reply = get(&router, &target, &[]).await;
        assert_eq!(
            (reply.status.as_u16(), reply.text().as_str()),
            (200, "search results\n"),
            "{target}"
        );
    }
    let without_query = get(&router, &format!("/web/{ts}/{}", site.url("/search")), &[]).await;
    assert_eq!(without_query.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_html_points_archived_links_into_the_archive() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let ts = timestamp(&site.scratch, "a", 0);
    let a = get(&router, &format!("/web/{ts}/{}", site.url("/a.html")), &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
    let html = a.text();
    let archived = |path: &str| format!("href=\"/web/{ts}/{}\"", site.url(path));
    assert!(html.contains(&format!("id=\"to-b\" {}", archived("/b.html"))), "{html}");
    assert!(
        html.contains(&format!("id=\"to-pdf\" {}", archived("/doc.pdf"))),
        "{html}"
    );
    // Rewritten to the URL as archived, with its query (the `&` escaped in the attribute).
    assert!(
        html.contains(&format!(
            "id=\"to-query\" href=\"/web/{ts}/{}/search?q=a%20b&amp;lang=en\"",
            site.base
        )),
        "{html}"
    );
    // Issue #15: a link to a URL the archive lacks leads to the server's "not archived" page.
    assert!(
        html.contains(&format!("id=\"elsewhere\" {}", archived("/unarchived.html"))),
        "unarchived links point into the archive too: {html}"
    );

    // Fragments survive, and relative unarchived links resolve against the page first.
    let ts_b = timestamp(&site.scratch, "b", 0);
    let b = get(&router, &format!("/web/{ts_b}/{}", site.url("/b.html")), &[]).await;
    assert!(
        b.text()
            .contains(&format!("href=\"/web/{ts_b}/{}#top\"", site.url("/a.html"))),
        "{}",
        b.text()
    );
    assert!(
        b.text().contains(&format!(
            "href=\"/web/{ts_b}/{}/unarchived.html?x=1&amp;y=2\"",
            site.base
        )),
        "{}",
        b.text()
    );

    // Beyond its two URLs, a page replays byte for byte: markup, comments, scripts, entities.
    let ts_plain = timestamp(&site.scratch, "plain", 0);
    let plain = get(&router, &format!("/web/{ts_plain}/{}", site.url("/plain.html")), &[]).await;
    assert_eq!(plain.status, 200);
    let expected = plain_page(&site.base)
        .replacen(
            &format!("HREF={}/unarchived.html>", site.base),
            &format!("HREF=\"/web/{ts_plain}/{}/unarchived.html\">", site.base),
            1,
        )
        .replacen(
            "src='missing.png'",
            &format!("src=\"/web/{ts_plain}/{}/missing.png\"", site.base),
            1,
        );
    assert_ne!(expected, plain_page(&site.base));
    assert_eq!(plain.text(), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn id_mode_serves_the_stored_bytes() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let ts = timestamp(&site.scratch, "a", 0);
    let raw = get(&router, &format!("/web/{ts}id_/{}", site.url("/a.html")), &[]).await;
    assert_eq!(raw.status, 200);
    // Byte-identical to the payload the manifest recorded (issue #13: read from its record).
    let snapshot = &site.scratch.snapshots("a")[0];
    assert_eq!(raw.body.len() as u64, snapshot["size"].as_u64().unwrap());
    assert_eq!(
        sha256_hex(&raw.body),
        snapshot["sha256"].as_str().unwrap(),
        "{}",
        raw.text()
    );
    assert!(raw.text().contains("href=\"b.html\""));
    assert!(raw.headers.contains_key("memento-datetime"));
}

#[tokio::test(flavor = "multi_thread")]
async fn api_links_is_the_manifests_links_object() {
    let site = Site::archived().await;
    let reply = get(&router(&site.scratch), "/api/links", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "application/json");
    let links: Value = serde_json::from_slice(&reply.body).unwrap();
    let ids: Vec<&str> = links.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(ids, ["a", "b", "plain", "pdf", "notes", "search", "gone"]);
    assert_eq!(links, site.scratch.manifest()["links"]);
}

/// Issue #15: the page names the original URL as text to copy, never as a link: replayed pages
/// send every unarchived link here, and a click must not reach the live web.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_urls_get_a_404_page_naming_the_original() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let unknown = format!("{}/unarchived.html?x=1&y=2", site.base);
    for target in [format!("/web/20200101000000/{unknown}"), format!("/web/{unknown}")] {
        let reply = get(&router, &target, &[]).await;
        assert_eq!(reply.status, 404, "{target}");
        assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
        let escaped = unknown.replace('&', "&amp;");
        assert!(reply.text().contains(&format!(">{escaped}<")), "{}", reply.text());
        assert!(!reply.text().contains(&format!("href=\"{escaped}")), "{}", reply.text());
        assert!(
            !reply.text().contains(&format!("href=\"{}", site.base)),
            "{}",
            reply.text()
        );
    }
    // A link that was never captured says so.
    let gone = get(&router, &format!("/web/{}", site.url("/gone.html")), &[]).await;
    assert_eq!(gone.status, 404);
    assert!(gone.text().contains("never captured"), "{}", gone.text());
    // Only http(s) originals become links: nothing from a request runs on this origin.
    let script = get(&router, "/web/javascript:alert(1)", &[]).await;
    assert_eq!(script.status, 404);
    assert!(!script.text().contains("href=\"javascript"), "{}", script.text());
    let timemap = get(&router, &format!("/timemap/link/{unknown}"), &[]).await;
    assert_eq!(timemap.status, 404);
    assert_eq!(get(&router, "/nothing/here", &[]).await.status, 404);
}

const TRAVERSALS: &[&str] = &[
    "/web/20200101000000/../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/web/..%2f..%2fmanifest.json",
    "/web/20200101000000/..%2f..%2fmanifest.json",
    "/objects/sha256/..",
    "/objects/sha256/",
    "/manifest.json",
    "//etc/passwd",
    "/web/file:///etc/passwd",
    "/web/20200101000000id_/file:///etc/passwd",
    "/timemap/link/../../manifest.json",
];

/// What a leaked `/etc/passwd` or manifest would contain.
fn assert_no_file_content(target: &str, status: u16, body: &str) {
    assert!(matches!(status, 400 | 404), "{target}: status {status}\n{body}");
    for leak in ["root:", "schema_version", "sha256"] {
        assert!(!body.contains(leak), "{target} leaked {leak:?}:\n{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_request_reads_a_file_outside_the_manifest() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    for target in TRAVERSALS {
        let reply = get(&router, target, &[]).await;
        assert_no_file_content(target, reply.status.as_u16(), &reply.text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_server_refuses_traversal_over_raw_tcp() {
    let site = Site::archived().await;
    let server = ServeProcess::start(&site.scratch);
    // The server works, so the refusals below are refusals.
    let (status, index) = raw_get(server.addr, "/");
    assert_eq!(status, 200, "{index}");
    assert!(index.contains("Page A"));
    for target in TRAVERSALS {
        let (status, response) = raw_get(server.addr, target);
        assert_no_file_content(target, status, &response);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_announces_its_address_and_stops_gracefully_on_ctrl_c() {
    let scratch = Scratch::new(&[]);
    let server = ServeProcess::start(&scratch);
    assert_ne!(
        server.addr.port(),
        0,
        "the bound port is announced, not the requested 0"
    );
    let (status, index) = raw_get(server.addr, "/");
    assert_eq!(status, 200);
    assert!(index.contains("The archive is empty"), "{index}");
    let stderr = server.stderr();
    assert_eq!(server.interrupt(), Some(0), "stderr:\n{stderr}");
}
