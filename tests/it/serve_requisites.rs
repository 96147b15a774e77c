//! `linkkeep serve` replays a cited page from requisites no link names, found only in
//! `index.cdxj` (issue #20): its stylesheet (gzip-encoded, a 304's revisit at its latest
//! capture), the stylesheet it `@import`s, a background image it names by a root-relative URL,
//! an image and a script. In headless Chromium the computed style applies, every image
//! decodes, the script runs, and the site sees no request after archiving.
//!
//! The requisites are archived as links of a second, scratch archive (twice, so that the
//! stylesheet's latest capture is a server-not-modified revisit) whose WARC files and index
//! lines are then moved into the page's archive: records written by `archive` itself, named by
//! index lines and by no manifest link, as `archive` will write requisites.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::support::archive::Scratch;
use crate::support::browser::{chromium_or_skip, dump_dom};
use crate::support::serve::{ServeProcess, timestamp};
use crate::support::write_file;

/// A 2×1 PNG (opaque), so a decoded image has a natural width of 2.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x54, 0xa2, 0x4f, 0x5d, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

const PAGE: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Cited article</title>\n\
<link rel=\"stylesheet\" href=\"css/style.css\"></head>\n\
<body><h1>Cited article</h1><p id=\"styled\">Styled text</p><div id=\"backdrop\">backdrop</div>\n\
<img id=\"figure\" src=\"/img/figure.png\" alt=\"figure\"><pre id=\"result\">not run</pre>\n\
<script src=\"js/app.js\"></script></body></html>\n";

const STYLE: &str = "@import 'base.css';\n#styled { color: rgb(10, 20, 30); }\n\
#backdrop { background-image: url(/img/bg.png); width: 10px; height: 10px; }\n";

const BASE: &str = "body { border-top: 3px solid rgb(40, 50, 60); }\n";

/// Runs at `load` (after stylesheets and images) and reports what the page shows; the
/// background image is loaded again by its computed URL to see it decode.
const SCRIPT: &str = "window.addEventListener('load', function () {\n\
  var styled = getComputedStyle(document.getElementById('styled')).color;\n\
  var border = getComputedStyle(document.body).borderTopColor;\n\
  var images = Array.prototype.map.call(document.images, function (i) { return i.naturalWidth; });\n\
  var bg = getComputedStyle(document.getElementById('backdrop')).backgroundImage;\n\
  var probe = new Image();\n\
  var report = function (decoded) {\n\
    document.getElementById('result').textContent = 'RESULT ' + JSON.stringify({styled: styled, border: border,\n\
      images: images, bg: bg, bgDecoded: decoded}) + ' END';\n\
  };\n\
  probe.onload = function () { report(probe.naturalWidth); };\n\
  probe.onerror = function () { report(0); };\n\
  probe.src = bg.replace(/^url\\(\"?/, '').replace(/\"?\\)$/, '');\n\
});\n";

#[derive(Default)]
struct Site {
    requests: AtomicUsize,
}

async fn resource(State(site): State<Arc<Site>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    site.requests.fetch_add(1, Ordering::SeqCst);
    let (content_type, body, text): (&str, Vec<u8>, bool) = match path.as_str() {
        "article.html" => ("text/html; charset=utf-8", PAGE.into(), true),
        "css/style.css" => ("text/css", STYLE.into(), true),
        "css/base.css" => ("text/css", BASE.into(), true),
        "js/app.js" => ("application/javascript", SCRIPT.into(), true),
        "img/figure.png" | "img/bg.png" => ("image/png", PNG.to_vec(), false),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let etag = format!("\"{}\"", path.replace('/', "-"));
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    if text {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).unwrap();
        let headers = [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_ENCODING, "gzip".to_owned()),
        ];
        return (headers, gz.finish().unwrap()).into_response();
    }
    (
        [(header::ETAG, etag), (header::CONTENT_TYPE, content_type.to_owned())],
        body,
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_replays_a_page_from_requisites_only_the_index_names() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let site = Arc::new(Site::default());
    let app = axum::Router::new()
        .route("/{*path}", axum::routing::get(resource))
        .with_state(Arc::clone(&site));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The cited page, alone, in the archive under test.
    let scratch = Scratch::new(&[]);
    let links = serde_json::json!({"version": 1, "links": [{"id": "article", "url": format!("{base}/article.html")}]});
    write_file(scratch.dir.path(), "links.json", &links.to_string());
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Its requisites, archived twice in a scratch archive (the second time as 304s).
    let requisites = Scratch::new(&[]);
    let links = serde_json::json!({"version": 1, "links": [
        {"id": "style", "url": format!("{base}/css/style.css")},
        {"id": "base", "url": format!("{base}/css/base.css")},
        {"id": "script", "url": format!("{base}/js/app.js")},
        {"id": "figure", "url": format!("{base}/img/figure.png")},
        {"id": "bg", "url": format!("{base}/img/bg.png")},
    ]});
    write_file(requisites.dir.path(), "links.json", &links.to_string());
    for round in 0..2 {
        let run = requisites.archive(&["--retries", "0"]).await;
        assert_eq!(run.code, 0, "requisites, run {}: {}", round + 1, run.stderr);
    }
    let moved = std::fs::read_to_string(requisites.archive.join("index.cdxj")).unwrap();
    // Five 304s' revisits, and in the first run the second of the two images (the same bytes)
    // an identical-payload-digest revisit of the other: replayed from another URL's record.
    assert_eq!(
        moved.lines().filter(|l| l.contains("warc/revisit")).count(),
        6,
        "the second run's captures are revisits:\n{moved}"
    );
    for entry in std::fs::read_dir(requisites.archive.join("warc")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), scratch.archive.join("warc").join(entry.file_name())).unwrap();
    }
    let index = scratch.archive.join("index.cdxj");
    let mut lines: Vec<String> = std::fs::read_to_string(&index)
        .unwrap()
        .lines()
        .chain(moved.lines())
        .map(str::to_owned)
        .collect();
    lines.sort();
    std::fs::write(&index, lines.join("\n") + "\n").unwrap();
    let archived = site.requests.load(Ordering::SeqCst);

    let serve = ServeProcess::start(&scratch);
    let ts = timestamp(&scratch, "article", 0);
    let url = serve.url(&format!("/web/{ts}/{base}/article.html"));
    let dom = tokio::task::spawn_blocking(move || dump_dom(&chromium, &url, &["--virtual-time-budget=10000"]))
        .await
        .unwrap();
    let result = dom
        .split_once("RESULT ")
        .and_then(|(_, rest)| rest.split_once(" END"))
        .map(|(json, _)| json.replace("&quot;", "\""))
        .unwrap_or_else(|| panic!("the archived script did not run:\n{dom}\n{}", serve.stderr()));
    let result: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["styled"], "rgb(10, 20, 30)", "the stylesheet applies: {result}");
    assert_eq!(result["border"], "rgb(40, 50, 60)", "its @import too: {result}");
    assert_eq!(result["images"], serde_json::json!([1]), "the image decodes: {result}");
    let bg = result["bg"].as_str().unwrap();
    assert!(bg.contains("/web/") && bg.contains("/img/bg.png"), "{result}");
    assert_eq!(result["bgDecoded"], 1, "the background image decodes: {result}");
    assert_eq!(
        site.requests.load(Ordering::SeqCst),
        archived,
        "no request left the archive"
    );
    server.abort();
}
