//! ReplayWeb.page, the WACZ viewer of the web-archiving community, replays our WACZ at every
//! capture (issue #20): a page with a gzip-encoded stylesheet and script and an image, archived
//! three times (fresh, then answered by 304s to our conditional requests, then changed),
//! exported with `export --wacz`, and opened in headless Chromium at each run's capture. At
//! each, the stylesheet of that capture applies (a computed colour it sets), the image decodes
//! and the script runs (it parsed). The second run's captures are `server-not-modified`
//! revisits: ReplayWeb.page serves their original's payload under the revisit's own HTTP
//! head, so a head without the original's `Content-Encoding` broke every text resource.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::support::archive::{Scratch, after_the_latest_capture, run_raw};
use crate::support::replayweb::{ReplayHost, drive, web_tools_or_skip};
use crate::support::serve::PNG;
use crate::support::write_file;

/// The colour each version's stylesheet gives `#styled`, as `getComputedStyle` reports it.
const COLOURS: [&str; 2] = ["rgb(10, 20, 30)", "rgb(40, 50, 60)"];

/// The cited site: one page, its stylesheet and script (gzip-encoded, as most servers send
/// text), and its image. Each resource has an ETag per version; a request naming the current
/// one gets a 304. Version 0 serves runs 1 and 2, version 1 changes the page and its stylesheet.
#[derive(Default)]
struct Site {
    version: AtomicU8,
}

impl Site {
    fn body(&self, name: &str) -> Option<(&'static str, Vec<u8>, bool)> {
        let v = self.version.load(Ordering::SeqCst);
        let colour = ["rgb(10, 20, 30)", "rgb(40, 50, 60)"][usize::from(v)];
        Some(match name {
            "page.html" => (
                "text/html; charset=utf-8",
                format!(
                    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Cited page, version {v}</title>\n\
                     <link rel=\"stylesheet\" href=\"style.css\"></head>\n\
                     <body><h1>Cited page</h1><p id=\"styled\">Styled by the stylesheet of version {v}.</p>\n\
                     <p><img id=\"pic\" src=\"pic.png\" alt=\"a figure\" width=\"20\" height=\"20\"></p>\n\
                     <script src=\"app.js\"></script></body></html>\n"
                )
                .into_bytes(),
                true,
            ),
            "style.css" => (
                "text/css",
                format!(
                    "/* version {v} */\nbody {{ margin: 2em; }}\n#styled {{ color: {colour}; font-weight: bold; }}\n"
                )
                .into_bytes(),
                true,
            ),
            "app.js" => (
                "application/javascript",
                b"// The page's script: leaves a mark when it parsed and ran.\n\
                  (function () { var mark = 'ran'; document.body.setAttribute('data-script', mark); })();\n"
                    .to_vec(),
                true,
            ),
            "pic.png" => ("image/png", PNG.to_vec(), false),
            _ => return None,
        })
    }
}

async fn resource(State(site): State<Arc<Site>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((content_type, body, text)) = site.body(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let v = site.version.load(Ordering::SeqCst);
    // The page and its stylesheet change in version 1; the script and the image do not.
    let changes = matches!(name.as_str(), "page.html" | "style.css");
    let etag = format!("\"{name}-{}\"", if changes { v } else { 0 });
    let last_modified = if changes && v == 1 {
        "Tue, 02 Jun 2026 10:00:00 GMT"
    } else {
        "Mon, 01 Jun 2026 10:00:00 GMT"
    };
    let validators = [
        (header::ETAG, etag.clone()),
        (header::LAST_MODIFIED, last_modified.to_owned()),
        (header::CACHE_CONTROL, "max-age=60".to_owned()),
    ];
    let asked = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if asked == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    let gzip = text
        && headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&body).unwrap();
        let body = encoder.finish().unwrap();
        return (
            validators,
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "Accept-Encoding"),
            ],
            body,
        )
            .into_response();
    }
    (validators, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The timestamps of `index.cdxj`'s lines.
fn index_timestamps(scratch: &Scratch) -> BTreeSet<(String, String)> {
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    index
        .lines()
        .map(|line| {
            let mut fields = line.splitn(3, ' ');
            let _key = fields.next();
            let ts = fields.next().unwrap().to_owned();
            (ts, line.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn replaywebpage_replays_every_capture_of_a_page_archived_three_times() {
    let Some(tools) = web_tools_or_skip() else {
        return;
    };
    let site = Arc::new(Site::default());
    let app = axum::Router::new()
        .route("/{name}", axum::routing::get(resource))
        .with_state(Arc::clone(&site));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let scratch = Scratch::new(&[]);
    // The page alone: `archive` captures its stylesheet, script and image as its requisites.
    let links = serde_json::json!({"version": 1, "links": [
        {"id": "page", "url": format!("{base}/page.html")},
    ]});
    write_file(scratch.dir.path(), "links.json", &links.to_string());

    // Three runs: fresh; unchanged, every resource answered 304; then a new page and stylesheet.
    let mut seen = BTreeSet::new();
    let mut run_ts = Vec::new();
    for run in 0..3 {
        if run == 2 {
            site.version.store(1, Ordering::SeqCst);
        }
        let archived = scratch.archive(&["--retries", "0"]).await;
        assert_eq!(archived.code, 0, "run {}: {}", run + 1, archived.stderr);
        let lines = index_timestamps(&scratch);
        let new: Vec<_> = lines.difference(&seen).cloned().collect();
        assert_eq!(
            new.len(),
            4,
            "run {}: a line for the page and each requisite: {new:#?}",
            run + 1
        );
        if run == 1 {
            assert!(
                new.iter().all(|(_, line)| line.contains("warc/revisit")),
                "run 2 holds only the 304s' revisits: {new:#?}"
            );
        }
        // Each run's earliest capture: from there, every resource's nearest capture at or
        // after it is this run's (ReplayWeb.page looks forward first).
        run_ts.push(new.iter().map(|(ts, _)| ts.clone()).min().unwrap());
        after_the_latest_capture(&scratch).await;
        seen = lines;
    }
    server.abort();

    let wacz = scratch.dir.path().join("archive.wacz");
    let mut export = scratch.cmd();
    export.arg("export").arg("--wacz").arg(&wacz);
    let exported = run_raw(export).await;
    assert_eq!(exported.code, 0, "export --wacz: {}", exported.stderr);

    let host = ReplayHost::start(&tools, &wacz).await;
    let page = format!("{base}/page.html");
    let results = drive(&tools, &host, &page, &run_ts, "styled").await;
    assert_eq!(results.len(), 3, "{results:#?}");
    for (run, result) in results.iter().enumerate() {
        let what = format!("run {} at {}: {result:#}", run + 1, run_ts[run]);
        let state = &result["state"];
        assert!(result["frame"].is_string(), "no replay frame for the page, {what}");
        assert_eq!(state["readyState"], "complete", "{what}");
        let expected = COLOURS[if run == 2 { 1 } else { 0 }];
        assert_eq!(
            state["color"], expected,
            "the stylesheet of that capture applies, {what}"
        );
        let images = state["images"].as_array().unwrap();
        assert_eq!(images.len(), 1, "{what}");
        assert!(
            images.iter().all(|img| img["naturalWidth"].as_u64() > Some(0)),
            "every image decodes, {what}"
        );
        assert_eq!(state["script"], "ran", "the script parsed and ran, {what}");
        let errors: Vec<&str> = result["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.as_str())
            .filter(|e| {
                e.contains("SyntaxError") || e.contains("Invalid or unexpected token") || e.contains("pageerror")
            })
            .collect();
        assert!(errors.is_empty(), "no script failed, {what}");
    }
}
