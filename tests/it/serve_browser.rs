//! `linkkeep serve` in a real browser: headless Chromium renders the index and replayed pages
//! served by the real binary, and the rendered DOM shows the titles and the rewritten links (and
//! the unarchived link pointed at the "not archived" page). Skipped, visibly, only where Chromium
//! is not installed, and never under CI (`support::skip_or_fail`).
//! Guards issue #4.

use crate::support::browser::{chromium_or_skip, dump_dom};
use crate::support::serve::{ServeProcess, Site, timestamp};

#[tokio::test(flavor = "multi_thread")]
async fn chromium_renders_the_index_and_replayed_pages() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let site = Site::archived().await;
    let server = ServeProcess::start(&site.scratch);
    let ts_a = timestamp(&site.scratch, "a", 0);
    let ts_b = timestamp(&site.scratch, "b", 0);
    let (a_url, b_url, pdf_url) = (site.url("/a.html"), site.url("/b.html"), site.url("/doc.pdf"));

    let index = {
        let chromium = chromium.clone();
        let url = server.url("/");
        tokio::task::spawn_blocking(move || dump_dom(&chromium, &url, &[]))
            .await
            .unwrap()
    };
    for text in [
        "Page A",
        "Page B",
        "Annual report",
        "Notes from links.json",
        "Smith &amp; &lt;Sons&gt;",
    ] {
        assert!(index.contains(text), "index lacks {text:?}:\n{index}");
    }
    assert!(index.contains(&format!("href=\"/web/{ts_a}/{a_url}\"")), "{index}");

    // Page A at its capture's timestamp: links to B and to the PDF point into the archive, and
    // so does the unarchived link (to the "not archived" page, issue #15).
    let page_a = {
        let chromium = chromium.clone();
        let url = server.url(&format!("/web/{ts_a}/{a_url}"));
        tokio::task::spawn_blocking(move || dump_dom(&chromium, &url, &[]))
            .await
            .unwrap()
    };
    assert!(page_a.contains("<title>Page A</title>"), "{page_a}");
    assert!(
        page_a.contains(&format!("id=\"to-b\" href=\"/web/{ts_a}/{b_url}\"")),
        "{page_a}"
    );
    assert!(
        page_a.contains(&format!("id=\"to-pdf\" href=\"/web/{ts_a}/{pdf_url}\"")),
        "{page_a}"
    );
    assert!(
        page_a.contains(&format!(
            "id=\"elsewhere\" href=\"/web/{ts_a}/{}/unarchived.html\"",
            site.base
        )),
        "{page_a}"
    );

    // Page B through the TimeGate: Chromium follows the redirect to the latest capture.
    let page_b = {
        let chromium = chromium.clone();
        let url = server.url(&format!("/web/{b_url}"));
        tokio::task::spawn_blocking(move || dump_dom(&chromium, &url, &[]))
            .await
            .unwrap()
    };
    assert!(page_b.contains("<title>Page B</title>"), "{page_b}");
    assert!(
        page_b.contains(&format!("href=\"/web/{ts_b}/{a_url}#top\"")),
        "{page_b}"
    );
    assert!(
        page_b.contains(&format!(
            "href=\"/web/{ts_b}/{}/unarchived.html?x=1&amp;y=2\"",
            site.base
        )),
        "{page_b}"
    );
    drop(server);
}
