//! A cited page replays as its readers saw it (issue #20): a page with a stylesheet that
//! imports another and uses a web font and a background image, an `<img srcset>`, a script and
//! an iframe is archived (its requisites fetched by `archive`, not listed in links.json), its
//! site then answers nothing, and `linkkeep serve` replays it in headless Chromium: the imported
//! stylesheet's rule applies, every image decodes, the font and background image load from the
//! archive, and no request leaves the archive. Then a run of 304s and a run of new content:
//! each capture replays with its own stylesheet.
//! Skipped, visibly, only where Chromium is missing, and never under CI.

use wiremock::MockServer;

use crate::support::archive::{Scratch, after_the_latest_capture, mount_conditional};
use crate::support::browser::{chromium_or_skip, dump_dom};
use crate::support::serve::{PNG, ServeProcess, timestamp};
use crate::support::write_file;

const ARGS: &[&str] = &["--retries", "0", "--timeout", "5"];

const ARTICLE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Cited article</title>
<link rel="stylesheet" href="/css/main.css">
<script src="/js/app.js"></script>
</head><body><h1 id="headline">Cited article</h1>
<div id="hero"></div>
<img id="figure" src="/img/fig.png" srcset="/img/fig.png 1x, /img/fig-2x.png 2x" alt="figure">
<iframe id="frame" src="/frame.html"></iframe>
<pre id="results">not run</pre>
</body></html>"#;

/// Writes what the replayed page shows into `#results` once everything has loaded (and the
/// frame has said how its own image did).
const APP: &str = r#"
let frame = 'frame: no word';
window.addEventListener('message', e => { frame = 'frame: ' + e.data; });
window.addEventListener('load', () => {
  // The background image the stylesheet names, loaded again to see it decode.
  const background = getComputedStyle(document.getElementById('hero')).backgroundImage;
  const probe = new Image();
  const report = () => setTimeout(() => done(background, probe), 200);
  probe.onload = report;
  probe.onerror = report;
  probe.src = (background.match(/url\("?([^")]*)"?\)/) || [])[1] || '';
});
function done(background, probe) {
  const lines = [];
  lines.push('background decoded: ' + (probe.naturalWidth > 0) + ' from ' + background);
  lines.push('color: ' + getComputedStyle(document.getElementById('headline')).color);
  const images = Array.from(document.images);
  lines.push('images: ' + images.length + ' decoded: ' + images.filter(i => i.complete && i.naturalWidth > 0).length);
  lines.push(frame);
  // The sandboxed page has an opaque origin: it sees each load's URL, not its status.
  for (const entry of performance.getEntriesByType('resource')) {
    lines.push('loaded: ' + entry.name);
  }
  document.getElementById('results').textContent = lines.join('\n');
}
"#;

const FRAME: &str = r#"<!doctype html><html><body><img id="inner" src="/img/frame.png">
<script>window.addEventListener('load', () => {
  const i = document.getElementById('inner');
  parent.postMessage('decoded ' + (i.complete && i.naturalWidth > 0), '*');
});</script></body></html>"#;

/// The site's resources: path, body, Content-Type, gzip-encoded.
fn resources(color: &str, headline: &str) -> Vec<(&'static str, Vec<u8>, &'static str, bool)> {
    let article = ARTICLE.replace(">Cited article</h1>", &format!(">{headline}</h1>"));
    vec![
        ("/article.html", article.into_bytes(), "text/html; charset=utf-8", false),
        (
            "/css/main.css",
            b"@import \"base.css\";\n@font-face { font-family: Cited; src: url(/fonts/cited.woff2) format(\"woff2\"); }\n#hero { width: 10px; height: 10px; background-image: url(/img/bg.png); }\nh1 { font-family: Cited, serif; }\n".to_vec(),
            "text/css",
            true,
        ),
        ("/css/base.css", format!("h1 {{ color: {color}; }}\n").into_bytes(), "text/css", true),
        ("/js/app.js", APP.as_bytes().to_vec(), "text/javascript", true),
        ("/frame.html", FRAME.as_bytes().to_vec(), "text/html", false),
        ("/img/fig.png", PNG.to_vec(), "image/png", false),
        ("/img/fig-2x.png", PNG.to_vec(), "image/png", false),
        ("/img/bg.png", PNG.to_vec(), "image/png", false),
        ("/img/frame.png", PNG.to_vec(), "image/png", false),
        ("/fonts/cited.woff2", b"wOF2 not really a font".to_vec(), "font/woff2", false),
    ]
}

/// Serves the site, `color` in the imported stylesheet and `headline` in the article, each
/// resource with an ETag of its bytes and a 304 to a request that has it.
async fn mount(server: &MockServer, color: &str, headline: &str) {
    server.reset().await;
    for (at, bytes, content_type, gzipped) in resources(color, headline) {
        mount_conditional(server, at, &bytes, content_type, gzipped).await;
    }
}

/// What the page at `/web/<ts>/<article>` showed in Chromium, served by `server`.
async fn replayed(chromium: &std::path::Path, server: &ServeProcess, ts: &str, article: &str) -> String {
    let (chromium, url) = (chromium.to_owned(), server.url(&format!("/web/{ts}/{article}")));
    let dom = tokio::task::spawn_blocking(move || dump_dom(&chromium, &url, &["--virtual-time-budget=10000"]))
        .await
        .unwrap();
    let results = &dom[dom.find("<pre id=\"results\">").expect("the page") + 18..];
    results[..results.find("</pre>").unwrap()].to_owned()
}

/// Checks one replay: `color` applied, every image decoded (the frame's and the background
/// too), every resource asked of the archive, and nothing of anywhere else.
fn assert_replayed(shown: &str, color: &str, serve_origin: &str) {
    assert!(shown.contains(&format!("color: {color}")), "{shown}");
    assert!(shown.contains("images: 1 decoded: 1"), "{shown}");
    assert!(shown.contains("frame: decoded true"), "{shown}");
    assert!(
        shown.contains(&format!("background decoded: true from url(\"{serve_origin}/web/")),
        "{shown}"
    );
    // What the page itself loads (Chromium lists no loads a cross-origin stylesheet makes:
    // the imported stylesheet shows in the colour, the background image in its decoding).
    for wanted in ["/css/main.css", "/img/fig.png", "/js/app.js", "/frame.html"] {
        assert!(
            shown
                .lines()
                .any(|l| l.starts_with(&format!("loaded: {serve_origin}/web/")) && l.ends_with(wanted)),
            "{wanted} was not asked of the archive:\n{shown}"
        );
    }
    for line in shown.lines().filter(|l| l.starts_with("loaded: ")) {
        assert!(
            line.starts_with(&format!("loaded: {serve_origin}/")),
            "left the archive: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cited_page_replays_styled_with_its_images_at_each_capture_from_the_archive_alone() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let site = MockServer::start().await;
    mount(&site, "rgb(1, 2, 3)", "Cited article").await;
    let article = format!("{}/article.html", site.uri());
    let scratch = Scratch::new(&[]);
    let links = serde_json::json!({"version": 1, "links": [{"id": "article", "url": article}]});
    write_file(scratch.dir.path(), "links.json", &links.to_string());

    let first = scratch.archive(ARGS).await;
    assert_eq!(first.code, 0, "{:#}\n{}", first.report, first.stderr);
    assert_eq!(
        first.result("article")["requisites"]["captured"],
        9,
        "{:#}",
        first.report
    );
    // A second run: everything answers 304.
    after_the_latest_capture(&scratch).await;
    let second = scratch.archive(ARGS).await;
    assert_eq!(second.code, 0, "{:#}\n{}", second.report, second.stderr);
    assert_eq!(second.result("article")["change"], "unchanged");
    assert_eq!(second.result("article")["requisites"]["bytes"], 0, "all 304s");
    // A third: the imported stylesheet says another colour, and the article another word.
    mount(&site, "rgb(4, 5, 6)", "Cited article, revised").await;
    after_the_latest_capture(&scratch).await;
    let third = scratch.archive(ARGS).await;
    assert_eq!(third.code, 0, "{:#}\n{}", third.report, third.stderr);
    assert_eq!(scratch.snapshots("article").len(), 2);

    // The site is gone: it answers nothing but 404s, and counts what it is asked.
    site.reset().await;
    let server = ServeProcess::start(&scratch);
    let origin = server.url("");
    let (cited, latest) = (timestamp(&scratch, "article", 0), timestamp(&scratch, "article", 1));
    let shown = replayed(&chromium, &server, &cited, &article).await;
    assert_replayed(&shown, "rgb(1, 2, 3)", &origin);
    let shown = replayed(&chromium, &server, &latest, &article).await;
    assert_replayed(&shown, "rgb(4, 5, 6)", &origin);
    // The web font the stylesheet names replays too, at each capture.
    for ts in [&cited, &latest] {
        let font = reqwest::get(server.url(&format!("/web/{ts}/{}/fonts/cited.woff2", site.uri())))
            .await
            .unwrap();
        assert_eq!(font.status(), 200, "{ts}");
        assert_eq!(font.bytes().await.unwrap().as_ref(), b"wOF2 not really a font");
    }
    assert_eq!(
        site.received_requests().await.unwrap().len(),
        0,
        "the replay reached the site"
    );
    drop(server);
}
