//! `linkkeep extract` on HTML: links and citations of every element kind, entities decoded,
//! relative links resolved against `<base href>` or `--base-url` or reported, scripts ignored.
//! Guards issue #6; since issue #21 only what a reader follows is listed, not what the page
//! loads (stylesheets, images, frames, media).

use std::path::Path;

use super::extract_text::{extract_in, urls_of};

#[test]
fn every_link_and_citation_in_document_order() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract");
    let (code, stdout, stderr) = extract_in(&dir, &["tricky.html"], None);
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        urls_of(&doc),
        [
            "https://a.example/report?a=1&b=2",
            "https://docs.example/guide/chapter/2.html",
            "https://quotes.example/source",
            "https://quotes.example/q",
            "https://changes.example/ins",
            "https://changes.example/del",
            "https://prose.example/page",
            "https://prose.example/x",
        ]
    );
    assert_eq!(doc["links"][0]["note"], "Read the report first.");
    assert!(
        stderr.contains("skipped 2 non-http(s) links (javascript: 1, mailto: 1)"),
        "{stderr}"
    );
}

#[test]
fn relative_links_without_a_base_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("page.htm"),
        r#"<p><a href="other.html">o</a> <a href="https://a.example/abs">a</a> <a href="//cdn.example/i.png">i</a></p>"#,
    )
    .unwrap();
    let (code, stdout, stderr) = extract_in(dir.path(), &["page.htm"], None);
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(urls_of(&doc), ["https://a.example/abs"]);
    assert!(stderr.contains("skipped relative link other.html"), "{stderr}");
    assert!(stderr.contains("skipped relative link //cdn.example/i.png"), "{stderr}");

    let (code, stdout, stderr) = extract_in(
        dir.path(),
        &["--base-url", "https://site.example/a/b", "page.htm"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        urls_of(&doc),
        [
            "https://site.example/a/other.html",
            "https://a.example/abs",
            "https://cdn.example/i.png"
        ]
    );
}
