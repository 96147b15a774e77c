//! `linkkeep serve` in a real browser: headless Chromium renders the index and replayed pages
//! served by the real binary, and the rendered DOM shows the titles and the rewritten links (and
//! the unarchived link untouched). Skipped, visibly, only where Chromium is not installed, and
//! never under CI (`support::skip_or_fail`).
//! Guards issue #4.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::serve::{ServeProcess, Site, timestamp};

/// The longest Chromium may take to render one page.
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// Debian's Chromium, or `chromium` on PATH.
fn chromium() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file())
}

/// The DOM of `url` after Chromium loaded it, serialized.
fn dump_dom(chromium: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let start = Instant::now();
    let output = loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(output) => break output.unwrap(),
            Err(_) if start.elapsed() > BROWSER_LIMIT => {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                panic!("chromium did not render {url} within {BROWSER_LIMIT:?}");
            }
            Err(_) => {}
        }
    };
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && dom.contains("</html>"),
        "chromium failed on {url} ({:?}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_renders_the_index_and_replayed_pages() {
    let Some(chromium) = chromium() else {
        crate::support::skip_or_fail(
            "chromium not found (/usr/bin/chromium or chromium on PATH); .ci/run installs Debian's chromium",
        );
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
        tokio::task::spawn_blocking(move || dump_dom(&chromium, &url))
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

    // Page A at its capture's timestamp: links to B and to the PDF point into the archive, the
    // unarchived link still points to the live web.
    let page_a = {
        let chromium = chromium.clone();
        let url = server.url(&format!("/web/{ts_a}/{a_url}"));
        tokio::task::spawn_blocking(move || dump_dom(&chromium, &url))
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
        page_a.contains(&format!("id=\"elsewhere\" href=\"{}/unarchived.html\"", site.base)),
        "{page_a}"
    );

    // Page B through the TimeGate: Chromium follows the redirect to the latest capture.
    let page_b = {
        let chromium = chromium.clone();
        let url = server.url(&format!("/web/{b_url}"));
        tokio::task::spawn_blocking(move || dump_dom(&chromium, &url))
            .await
            .unwrap()
    };
    assert!(page_b.contains("<title>Page B</title>"), "{page_b}");
    assert!(
        page_b.contains(&format!("href=\"/web/{ts_b}/{a_url}#top\"")),
        "{page_b}"
    );
    assert!(page_b.contains("href=\"/unarchived.html?x=1&amp;y=2\""), "{page_b}");
    drop(server);
}
