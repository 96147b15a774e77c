//! Page requisites (issue #20): an HTML capture's stylesheets (and their imports, fonts and
//! background images), images, scripts and frames are fetched and recorded in the same run's
//! WARC file with CDXJ lines, conditionally on later runs, once per run however many pages
//! share them, within `--max-requisites`; they are not links, the snapshot summarises them,
//! and `verify` checks their records.

use std::collections::BTreeMap;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, mount_conditional};
use crate::support::verify::flip_byte;

const ARGS: &[&str] = &["--retries", "0", "--timeout", "5", "--no-soft-404"];

fn body(status: u16, bytes: &[u8], content_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(bytes.to_vec(), content_type)
}

const PAGE: &str = r#"<!doctype html><html><head><title>Cited</title>
<link rel="stylesheet" href="/css/main.css">
<script src="/js/app.js"></script>
</head><body><h1>Cited</h1>
<img src="/img/a.png" srcset="/img/a-2x.png 2x">
<iframe src="/frame.html"></iframe>
<a href="/other.html">followed by readers, not loaded</a>
</body></html>"#;

/// The requisites of [`PAGE`], as paths.
const REQUISITES: &[&str] = &[
    "/css/main.css",
    "/css/base.css",
    "/img/bg.png",
    "/fonts/f.woff2",
    "/js/app.js",
    "/img/a.png",
    "/img/a-2x.png",
    "/frame.html",
    "/img/frame.png",
];

async fn site() -> MockServer {
    let server = MockServer::start().await;
    mount_site(&server).await;
    server
}

async fn mount_site(server: &MockServer) {
    for (at, bytes, content_type) in site_resources() {
        mount_conditional(server, at, bytes, content_type, false).await;
    }
}

/// How many requests the server got for each path.
async fn requests(server: &MockServer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in server.received_requests().await.unwrap() {
        *counts.entry(request.url.path().to_owned()).or_default() += 1;
    }
    counts
}

/// The index's lines for `url`, as (status, mime) pairs.
fn index_entries(scratch: &Scratch, url: &str) -> Vec<(String, String)> {
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    index
        .lines()
        .filter_map(|line| {
            let json: serde_json::Value = serde_json::from_str(line.splitn(3, ' ').nth(2)?).ok()?;
            (json["url"] == url).then(|| {
                (
                    json["status"].as_str().unwrap_or("-").to_owned(),
                    json["mime"].as_str().unwrap_or("-").to_owned(),
                )
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_is_archived_with_what_it_needs_to_display_and_later_runs_ask_conditionally() {
    let server = site().await;
    let scratch = Scratch::new(&[("cited", format!("{}/page.html", server.uri()))]);

    let first = scratch.archive(ARGS).await;
    assert_eq!(first.code, 0, "{:#}\n{}", first.report, first.stderr);
    let counts = requests(&server).await;
    for at in REQUISITES {
        assert_eq!(counts.get(*at), Some(&1), "{at} fetched once: {counts:?}");
    }
    assert_eq!(counts.get("/other.html"), None, "a link is not a requisite");
    assert_eq!(counts.get("/deeper.html"), None, "frames are fetched one level deep");
    assert_eq!(counts.len(), REQUISITES.len() + 1, "{counts:?}");

    // Not links: the manifest has the page alone, its snapshot the summary.
    let manifest = scratch.manifest();
    assert_eq!(manifest["links"].as_object().unwrap().len(), 1);
    let summary = &scratch.snapshots("cited")[0]["requisites"];
    assert_eq!(summary["captured"], REQUISITES.len(), "{summary:#}");
    assert_eq!(summary["run"], first.report["run"]);
    assert_eq!(summary.get("failed"), None, "{summary:#}");
    assert_eq!(summary.get("limited"), None, "{summary:#}");
    let records: usize = summary["records"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().unwrap().len())
        .sum();
    assert_eq!(records, REQUISITES.len(), "each in a record of its own: {summary:#}");
    // Each in the index, for pywb and ReplayWeb.page.
    for at in REQUISITES {
        let entries = index_entries(&scratch, &format!("{}{at}", server.uri()));
        assert_eq!(entries.len(), 1, "{at}: {entries:?}");
        assert_eq!(entries[0].0, "200", "{at}");
    }

    // The next run asks for each conditionally; the 304s are revisits of the first records.
    server.reset().await;
    mount_site(&server).await;
    let second = scratch.archive(ARGS).await;
    assert_eq!(second.code, 0, "{:#}\n{}", second.report, second.stderr);
    assert_eq!(second.result("cited")["change"], "unchanged");
    let received = server.received_requests().await.unwrap();
    for request in &received {
        assert!(
            request.headers.get("if-none-match").is_some(),
            "{} asked unconditionally",
            request.url
        );
    }
    assert_eq!(received.len(), REQUISITES.len() + 1);
    for at in REQUISITES {
        let entries = index_entries(&scratch, &format!("{}{at}", server.uri()));
        assert_eq!(
            entries,
            [
                ("200".to_owned(), entries[0].1.clone()),
                // pywb's CDXJ gives a revisit no status.
                ("-".to_owned(), "warc/revisit".to_owned())
            ],
            "{at}"
        );
    }
    let summary = &scratch.snapshots("cited")[0]["requisites"];
    assert_eq!(summary["run"], second.report["run"], "the latest run's fetch");
    assert_eq!(summary["captured"], REQUISITES.len(), "{summary:#}");
    assert_eq!(summary["bytes"], 0, "nothing downloaded again: {summary:#}");

    // verify checks the records that hold them.
    let (code, out) = verify(&scratch).await;
    assert_eq!(code, 0, "{out}");
    let (file, offset) = summary["records"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(file, offsets)| (file.clone(), offsets[0].as_u64().unwrap()))
        .next()
        .unwrap();
    flip_byte(&scratch.archive.join(&file), offset as usize + 40);
    let (code, out) = verify(&scratch).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("a requisite of the capture of") && out.contains(&format!("{file} at offset {offset}")),
        "{out}"
    );
}

/// Every resource of [`site`], for mounting again.
fn site_resources() -> Vec<(&'static str, &'static [u8], &'static str)> {
    vec![
        ("/page.html", PAGE.as_bytes(), "text/html; charset=utf-8"),
        (
            "/css/main.css",
            b"@import \"base.css\"; body { background: url(/img/bg.png) } @font-face { font-family: F; src: url('../fonts/f.woff2') }",
            "text/css",
        ),
        ("/css/base.css", b"h1 { color: rgb(1, 2, 3) }", "text/css"),
        ("/js/app.js", b"console.log('app')", "text/javascript"),
        (
            "/frame.html",
            b"<img src=\"/img/frame.png\"><iframe src=\"/deeper.html\"></iframe>",
            "text/html",
        ),
        ("/img/a.png", b"png a", "application/octet-stream"),
        ("/img/a-2x.png", b"png a 2x", "application/octet-stream"),
        ("/img/bg.png", b"png bg", "application/octet-stream"),
        ("/img/frame.png", b"png frame", "application/octet-stream"),
        ("/fonts/f.woff2", b"woff2", "application/octet-stream"),
    ]
}

/// `verify --format json`: its exit code and its report.
async fn verify(scratch: &Scratch) -> (i32, String) {
    let run = scratch.run(&["verify", "--format", "json"]).await;
    (run.code, String::from_utf8_lossy(&run.stdout).into_owned())
}

const SHARED_CSS: &[u8] = b"@import \"/base-shared.css\"; body { color: red }";

#[tokio::test(flavor = "multi_thread")]
async fn requisites_shared_by_two_pages_are_fetched_and_stored_once() {
    let server = MockServer::start().await;
    let page = |n: u8| {
        format!(
            "<html><head><title>P{n}</title><link rel=stylesheet href=/shared.css></head><body><img src=/logo.png><p>page {n}</p></body></html>"
        )
    };
    for n in [1, 2] {
        Mock::given(path(format!("/p{n}.html")))
            .respond_with(body(200, page(n).as_bytes(), "text/html"))
            .mount(&server)
            .await;
    }
    Mock::given(path("/shared.css"))
        .respond_with(body(200, SHARED_CSS, "text/css"))
        .mount(&server)
        .await;
    Mock::given(path("/base-shared.css"))
        .respond_with(body(200, b"p { margin: 0 }", "text/css"))
        .mount(&server)
        .await;
    // The same image bytes under another URL too: stored once, by payload.
    Mock::given(path("/logo.png"))
        .respond_with(body(200, b"logo bytes", "image/png"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[
        ("p1", format!("{}/p1.html", server.uri())),
        ("p2", format!("{}/p2.html", server.uri())),
    ]);
    let run = scratch.archive(ARGS).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    let counts = requests(&server).await;
    assert_eq!(counts.get("/shared.css"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("/base-shared.css"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("/logo.png"), Some(&1), "{counts:?}");
    for id in ["p1", "p2"] {
        // The second page reads the shared stylesheet back from its record for its import.
        assert_eq!(scratch.snapshots(id)[0]["requisites"]["captured"], 3, "{id}");
    }
    // Both pages name the same records.
    assert_eq!(
        scratch.snapshots("p1")[0]["requisites"]["records"],
        scratch.snapshots("p2")[0]["requisites"]["records"]
    );
    assert_eq!(
        index_entries(&scratch, &format!("{}/shared.css", server.uri())).len(),
        1
    );

    // A page of a later run whose stylesheet has the same bytes under another URL: a revisit.
    Mock::given(path("/p3.html"))
        .respond_with(body(200, b"<link rel=stylesheet href=/copy.css>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(path("/copy.css"))
        .respond_with(body(200, SHARED_CSS, "text/css"))
        .mount(&server)
        .await;
    crate::support::links_file(
        scratch.dir.path(),
        &[
            ("p1", format!("{}/p1.html", server.uri())),
            ("p2", format!("{}/p2.html", server.uri())),
            ("p3", format!("{}/p3.html", server.uri())),
        ],
    );
    let run = scratch.archive(ARGS).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    assert_eq!(
        index_entries(&scratch, &format!("{}/copy.css", server.uri())),
        [("-".to_owned(), "warc/revisit".to_owned())]
    );
}

/// Serves a page of `images` (`<img>` elements) and a small image at every other path.
async fn gallery(server: &MockServer, images: &str) {
    server.reset().await;
    Mock::given(path("/gallery.html"))
        .respond_with(body(
            200,
            format!("<html><body>{images}</body></html>").as_bytes(),
            "text/html",
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .respond_with(body(200, b"img", "image/png"))
        .with_priority(10)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_with_a_thousand_images_stops_at_max_requisites_and_says_so() {
    let server = MockServer::start().await;
    let images: String = (0..1000).map(|n| format!("<img src=\"/i/{n}.png\">")).collect();
    gallery(&server, &images).await;
    let scratch = Scratch::new(&[("gallery", format!("{}/gallery.html", server.uri()))]);
    let run = scratch.archive(ARGS).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    let counts = requests(&server).await;
    assert_eq!(counts.len(), 301, "the page and 300 images");
    let summary = &scratch.snapshots("gallery")[0]["requisites"];
    assert_eq!(summary["captured"], 300);
    assert_eq!(
        summary["limited"], "stopped at --max-requisites 300: 700 more not fetched",
        "{summary:#}"
    );
    assert_eq!(
        run.report["warnings"],
        serde_json::json!(["gallery: page requisites stopped at --max-requisites 300: 700 more not fetched"])
    );

    // A byte budget stops it too; --no-requisites fetches none.
    let scratch = Scratch::new(&[("gallery", format!("{}/gallery.html", server.uri()))]);
    gallery(&server, &images).await;
    let mut args = ARGS.to_vec();
    args.extend(["--max-requisite-bytes", "30"]);
    let run = scratch.archive(&args).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    let summary = &scratch.snapshots("gallery")[0]["requisites"];
    let captured = summary["captured"].as_u64().unwrap();
    assert!(
        (10..=15).contains(&captured),
        "3 bytes each, 30 at most (6 at once): {summary:#}"
    );
    assert!(
        summary["limited"]
            .as_str()
            .unwrap()
            .starts_with("stopped at --max-requisite-bytes (30 bytes)"),
        "{summary:#}"
    );

    let scratch = Scratch::new(&[("gallery", format!("{}/gallery.html", server.uri()))]);
    server.reset().await;
    Mock::given(path("/gallery.html"))
        .respond_with(body(
            200,
            format!("<html><body>{images}</body></html>").as_bytes(),
            "text/html",
        ))
        .mount(&server)
        .await;
    let mut args = ARGS.to_vec();
    args.push("--no-requisites");
    let run = scratch.archive(&args).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    assert_eq!(requests(&server).await.len(), 1);
    assert_eq!(scratch.snapshots("gallery")[0].get("requisites"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_never_fetches_requisites() {
    let server = site().await;
    let dir = tempfile::tempdir().unwrap();
    let links = crate::support::links_file(dir.path(), &[("cited", format!("{}/page.html", server.uri()))]);
    let (code, _, stderr) = crate::support::run_check(&links, ARGS).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(requests(&server).await.keys().collect::<Vec<_>>(), ["/page.html"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_page_cannot_reach_a_more_private_network_or_take_the_users_credentials() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    let html = format!(
        "<img src=\"http://169.254.169.254/latest/meta-data.png\"><img src=\"/own.png\"><img src=\"{}/elsewhere.png\">",
        // Another origin (another port of the same address).
        other.uri()
    );
    Mock::given(path("/page.html"))
        .respond_with(body(200, html.as_bytes(), "text/html"))
        .mount(&server)
        .await;
    for s in [&server, &other] {
        Mock::given(method("GET"))
            .respond_with(body(200, b"img", "image/png"))
            .with_priority(10)
            .mount(s)
            .await;
    }
    let scratch = Scratch::new(&[("page", format!("{}/page.html", server.uri()))]);
    let mut args = ARGS.to_vec();
    args.extend(["-H", "Authorization: Bearer s3cret"]);
    let run = scratch.archive(&args).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    let summary = &scratch.snapshots("page")[0]["requisites"];
    assert_eq!(summary["captured"], 2, "{summary:#}");
    let failed = &summary["failed"][0];
    assert_eq!(failed["url"], "http://169.254.169.254/latest/meta-data.png");
    assert!(
        failed["error"].as_str().unwrap().starts_with("refused: "),
        "{summary:#}"
    );
    // The user's credentials went to the cited page's origin only.
    let own = server.received_requests().await.unwrap();
    let own_png = own.iter().find(|r| r.url.path() == "/own.png").unwrap();
    assert_eq!(own_png.headers.get("authorization").unwrap(), "Bearer s3cret");
    assert_eq!(
        own_png.headers.get("referer").unwrap().to_str().unwrap(),
        format!("{}/page.html", server.uri())
    );
    let elsewhere = other.received_requests().await.unwrap();
    assert_eq!(elsewhere.len(), 1);
    assert_eq!(elsewhere[0].headers.get("authorization"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_limits_come_from_the_config_file_too() {
    let server = MockServer::start().await;
    let images: String = (0..10).map(|n| format!("<img src=\"/i/{n}.png\">")).collect();
    Mock::given(path("/gallery.html"))
        .respond_with(body(200, images.as_bytes(), "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(body(200, b"img", "image/png"))
        .with_priority(10)
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("gallery", format!("{}/gallery.html", server.uri()))]);
    crate::support::write_file(scratch.dir.path(), "linkkeep.toml", "max_requisites = 4\n");
    let shown = scratch.run(&["config", "--explain"]).await;
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.lines().any(|l| l.starts_with("max_requisites = 4")), "{shown}");
    let run = scratch.archive(ARGS).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    let summary = &scratch.snapshots("gallery")[0]["requisites"];
    assert_eq!(summary["captured"], 4, "{summary:#}");
    assert_eq!(summary["limited"], "stopped at --max-requisites 4: 6 more not fetched");
}
