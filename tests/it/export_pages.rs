//! The WACZ's `pages.jsonl` lists the cited links and nothing else (issue #20): each link of
//! links.json with a capture, at its cited (first) capture, titled as links.json titles it;
//! never a page requisite, a redirect or an error response, though the WARC files hold them.

use std::io::Read;

use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::write_file;

const ARGS: &[&str] = &["--retries", "0", "--timeout", "5", "--no-soft-404"];

fn html(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/html")
}

async fn serve(server: &MockServer, version: &str) {
    server.reset().await;
    let page = format!(
        "<html><head><title>Page as titled by itself</title><link rel=stylesheet href=/style.css></head>\
         <body><img src=/logo.png><p>{version}</p></body></html>"
    );
    Mock::given(path("/cited.html"))
        .respond_with(html(&page))
        .mount(server)
        .await;
    Mock::given(path("/untitled.html"))
        .respond_with(html(&format!("<title>Its own title</title><p>{version}</p>")))
        .mount(server)
        .await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/untitled.html"))
        .mount(server)
        .await;
    Mock::given(path("/style.css"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"p{color:red}".to_vec(), "text/css"))
        .mount(server)
        .await;
    Mock::given(path("/logo.png"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"png".to_vec(), "image/png"))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_jsonl_holds_exactly_the_cited_links_at_their_cited_captures() {
    let server = MockServer::start().await;
    serve(&server, "version one").await;
    let base = server.uri();
    let scratch = Scratch::new(&[]);
    let links = serde_json::json!({"version": 1, "links": [
        {"id": "cited", "url": format!("{base}/cited.html"), "title": "As cited"},
        {"id": "moved", "url": format!("{base}/moved")},
        {"id": "gone", "url": format!("{base}/gone.html"), "title": "Never captured"},
    ]});
    write_file(scratch.dir.path(), "links.json", &links.to_string());
    let first = scratch.archive(ARGS).await;
    assert_eq!(first.code, 1, "gone.html fails: {}", first.stderr);
    serve(&server, "version two").await;
    let second = scratch.archive(ARGS).await;
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert_eq!(scratch.snapshots("cited").len(), 2, "a second capture to not list");

    let wacz = scratch.dir.path().join("archive.wacz");
    let run = scratch.run(&["export", "--wacz", wacz.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&wacz).unwrap()).unwrap();
    let mut pages = String::new();
    zip.by_name("pages/pages.jsonl")
        .unwrap()
        .read_to_string(&mut pages)
        .unwrap();
    let pages: Vec<Value> = pages
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cited = &scratch.snapshots("cited")[0];
    let moved = &scratch.snapshots("moved")[0];
    let expected = [
        ("cited", format!("{base}/cited.html"), cited, "As cited"),
        ("moved", format!("{base}/untitled.html"), moved, "Its own title"),
    ];
    assert_eq!(pages.len(), expected.len(), "{pages:#?}");
    for (page, (id, url, snapshot, title)) in pages.iter().zip(expected) {
        assert_eq!(page["id"], id, "{page}");
        assert_eq!(page["url"], url, "{page}");
        assert_eq!(page["ts"], snapshot["record_date"], "at the cited capture: {page}");
        assert_eq!(page["title"], title, "{page}");
    }
    // The WARC files do hold what the pages are not: the requisites and the redirect.
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    for held in ["/style.css", "/logo.png", "/moved"] {
        assert!(index.contains(&format!("{base}{held}")), "{held} not in the index");
    }
}
