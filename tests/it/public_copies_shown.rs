//! Public copies recorded in the manifest (`archive --submit`, issue #16) are shown wherever a
//! reader looks for a link's copies: `status` (table, JSON, Markdown), `get --info`, the replay
//! index and the WACZ's `pages.jsonl`. A copy whose text is hostile stays inert.

use std::io::Read;

use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::serve::{get, index_row, router};

const COPY: &str = "https://web.archive.org/web/20180302101500/https://example.org/cited";

/// An archive of two links, the first with a copy and a later refusal recorded in its cited
/// snapshot, as a submission would have left them.
async fn archive_with_copies() -> (MockServer, Scratch) {
    let server = MockServer::start().await;
    for (at, title) in [("/cited", "Cited page"), ("/other", "Other page")] {
        let body = format!("<html><head><title>{title}</title></head><body><p>{title}</p></body></html>");
        Mock::given(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html"))
            .mount(&server)
            .await;
    }
    let scratch = Scratch::new(&[
        ("cited", format!("{}/cited", server.uri())),
        ("other", format!("{}/other", server.uri())),
    ]);
    assert_eq!(scratch.archive(&[]).await.code, 0);
    let mut manifest = scratch.manifest();
    manifest["links"]["cited"]["snapshots"][0]["public_copies"] = json!([
        {"archive": "wayback", "url": COPY, "timestamp": "2018-03-02T10:15:00Z"},
        {"archive": "wayback", "error": "error:too-many-daily-captures: come back tomorrow",
         "timestamp": "2026-12-05T10:00:00Z"}
    ]);
    std::fs::write(
        scratch.archive.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    (server, scratch)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_newest_copy_in_every_format() {
    let (_server, scratch) = archive_with_copies().await;

    let table = scratch.run(&["status", "--color", "never"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let table = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    let row = lines.iter().position(|l| l.contains("cited")).unwrap();
    assert_eq!(
        lines[row + 1].trim(),
        format!("public copy: {COPY} (wayback, 2018-03-02T10:15:00Z)"),
        "the copy, not the later refusal, under its link's row:\n{table}"
    );
    let other = lines.iter().position(|l| l.contains("other")).unwrap();
    assert!(!lines[other + 1].contains("public copy"), "{table}");

    let report = scratch.run(&["status", "--format", "json"]).await;
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let links = report["links"].as_array().unwrap();
    let copies = &links.iter().find(|l| l["id"] == "cited").unwrap()["public_copies"];
    assert_eq!(copies.as_array().unwrap().len(), 2, "{report:#}");
    assert_eq!(copies[0]["url"], COPY);
    assert_eq!(copies[1]["error"], "error:too-many-daily-captures: come back tomorrow");
    assert_eq!(
        links.iter().find(|l| l["id"] == "other").unwrap()["public_copies"],
        json!([])
    );

    let markdown = scratch.run(&["status", "--format", "markdown"]).await;
    let markdown = String::from_utf8(markdown.stdout).unwrap();
    let row = markdown.lines().find(|l| l.contains("[cited]")).unwrap();
    assert!(row.contains(&format!(" · [wayback 2018-03-02](<{COPY}>)")), "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_alone_is_shown_as_such() {
    let (_server, scratch) = archive_with_copies().await;
    let mut manifest = scratch.manifest();
    let copies = manifest["links"]["cited"]["snapshots"][0]["public_copies"]
        .as_array_mut()
        .unwrap();
    copies.remove(0);
    std::fs::write(
        scratch.archive.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let table = scratch.run(&["status", "--color", "never"]).await;
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains(
            "public copy refused by wayback at 2026-12-05T10:00:00Z: error:too-many-daily-captures: come back tomorrow"
        ),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_info_serve_and_wacz_keep_the_copies() {
    let (_server, scratch) = archive_with_copies().await;

    let info = scratch.run(&["get", "cited", "--at", "2000-01-01", "--info"]).await;
    assert_eq!(info.code, 0, "{}", info.stderr);
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["public_copies"][0]["url"], COPY, "{info:#}");

    let index = get(&router(&scratch), "/", &[]).await.text();
    let row = index_row(&index, "cited");
    assert!(
        row.contains(&format!(
            "<a href=\"{COPY}\" rel=\"noreferrer\">wayback copy 2018-03-02</a>"
        )),
        "{row}"
    );
    assert!(
        !row.contains("too-many-daily-captures"),
        "a refusal is no copy to open: {row}"
    );
    assert!(!index_row(&index, "other").contains("wayback"), "{index}");

    let wacz = scratch.dir.path().join("out.wacz");
    let export = scratch.run(&["export", "--wacz", wacz.to_str().unwrap()]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
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
    let cited = pages.iter().find(|p| p["id"] == "cited").unwrap();
    assert_eq!(
        cited["public_copies"],
        json!([{"archive": "wayback", "url": COPY, "timestamp": "2018-03-02T10:15:00Z"}]),
        "copies only, no refusals: {cited:#}"
    );
    assert!(
        pages
            .iter()
            .find(|p| p["id"] == "other")
            .unwrap()
            .get("public_copies")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_copy_cannot_reach_the_terminal_or_become_a_script_link() {
    let (_server, scratch) = archive_with_copies().await;
    let mut manifest = scratch.manifest();
    manifest["links"]["cited"]["snapshots"][0]["public_copies"] = json!([
        {"archive": "way\u{1b}]0;owned\u{7}back", "url": "javascript:alert(1)//\u{1b}[2J", "timestamp": "2018\u{9b}31m"}
    ]);
    std::fs::write(
        scratch.archive.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();

    let table = scratch.run(&["status", "--color", "never"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        !table.stdout.iter().any(|b| *b == 0x1b || *b == 0x07)
            && !String::from_utf8_lossy(&table.stdout).contains('\u{9b}'),
        "{}",
        String::from_utf8_lossy(&table.stdout)
    );
    let index = get(&router(&scratch), "/", &[]).await.text();
    let row = index_row(&index, "cited");
    assert!(!row.contains("href=\"javascript:"), "{row}");
}
