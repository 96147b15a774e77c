//! Headless Chromium for the replay tests: where it is, and the DOM of a page after it loaded.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest Chromium may take to render one page.
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// Debian's Chromium, or `chromium` on PATH.
pub fn chromium() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file())
}

/// [`chromium`], or `None` after [`super::skip_or_fail`]: a skip outside CI, a failure under it.
#[track_caller]
pub fn chromium_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        super::skip_or_fail(
            "chromium not found (/usr/bin/chromium or chromium on PATH); .ci/run installs Debian's chromium",
        );
    }
    found
}

/// The DOM of `url` after Chromium loaded it, serialized; `extra` flags go before the URL.
pub fn dump_dom(chromium: &Path, url: &str, extra: &[&str]) -> String {
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
        .args(extra)
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
