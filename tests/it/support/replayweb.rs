//! ReplayWeb.page in headless Chromium, for the interop test of issue #20: where the test tools
//! are (`.ci/run` installs them into `target/web-tools`; `LINKKEEP_WEB_TOOLS` names another
//! place), a small server on `localhost` that hosts ReplayWeb.page's `ui.js` and `sw.js` next to
//! a WACZ (answering `Range` requests, as ReplayWeb.page reads a WACZ in pieces), and the node
//! script `tests/replayweb/drive.cjs` that opens it with puppeteer-core. ReplayWeb.page is
//! AGPL-3.0: a test tool only, never shipped with linkkeep.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

/// The longest the node script may take for all its captures.
const DRIVE_LIMIT: Duration = Duration::from_secs(240);

/// What the test drives: node, Chromium, and the directory holding `replaywebpage/ui.js`,
/// `replaywebpage/sw.js` and `node_modules/puppeteer-core`.
#[derive(Debug, Clone)]
pub struct WebTools {
    pub node: PathBuf,
    pub chromium: PathBuf,
    pub dir: PathBuf,
}

impl WebTools {
    fn replaywebpage(&self, file: &str) -> PathBuf {
        self.dir.join("replaywebpage").join(file)
    }

    fn puppeteer(&self) -> PathBuf {
        self.dir.join("node_modules/puppeteer-core")
    }
}

/// Where the web test tools are: `LINKKEEP_WEB_TOOLS`, else `target/web-tools` of the checkout.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("LINKKEEP_WEB_TOOLS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-tools"))
}

/// The web test tools, or `None` after [`super::skip_or_fail`] named what is missing: a skip
/// outside CI, a failure under it (`.ci/run` installs them all).
#[track_caller]
pub fn web_tools_or_skip() -> Option<WebTools> {
    let chromium = super::browser::chromium_or_skip()?;
    let node = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("node"))
        .find(|p| p.is_file());
    let Some(node) = node else {
        super::skip_or_fail("node not found on PATH; .ci/run installs Debian's nodejs");
        return None;
    };
    let tools = WebTools {
        node,
        chromium,
        dir: tools_dir(),
    };
    let needed = [
        tools.replaywebpage("ui.js"),
        tools.replaywebpage("sw.js"),
        tools.puppeteer().join("package.json"),
    ];
    if let Some(missing) = needed.iter().find(|p| !p.is_file()) {
        super::skip_or_fail(&format!(
            "{} is missing: run .ci/run (its \"web tools\" step), or set LINKKEEP_WEB_TOOLS",
            missing.display()
        ));
        return None;
    }
    Some(tools)
}

/// The host page: ReplayWeb.page's `<replay-web-page>` on the WACZ, at the `ts` and `url` of
/// its query string, with none of the viewer's own interface around the replayed page.
const INDEX_HTML: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>replay host</title><script src="/ui.js"></script></head>
<body><script>
const query = new URLSearchParams(location.search);
const viewer = document.createElement("replay-web-page");
viewer.setAttribute("source", new URL("/archive.wacz", location.href).href);
viewer.setAttribute("url", query.get("url"));
viewer.setAttribute("ts", query.get("ts"));
viewer.setAttribute("embed", "replayonly");
viewer.style.cssText = "display: block; width: 1000px; height: 700px";
document.body.appendChild(viewer);
</script></body></html>
"#;

/// What `/replay/` answers from the network. ReplayWeb.page 2.4.6 opens its replay frame at
/// `replay/?source=…` as soon as `navigator.serviceWorker.register()` resolves, before the new
/// worker is active (its `registered` callback, not `ready`), so on a loaded machine the frame's
/// navigation can reach the network first; a plain static host answers 404 there and the reader
/// reloads. This page does what that reader does: it waits until the worker is active, then
/// reloads, and the worker (which serves the frame with `serveIndex=1`) answers from then on.
/// It never replays anything itself.
const REPLAY_FRAME_FALLBACK_HTML: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>waiting for the service worker</title></head>
<body><script>navigator.serviceWorker.ready.then(() => location.reload());</script></body></html>
"#;

struct Files {
    ui: Vec<u8>,
    sw: Vec<u8>,
    wacz: Vec<u8>,
}

/// ReplayWeb.page and a WACZ served on `localhost` (a secure context, where a service worker
/// may register), until dropped.
pub struct ReplayHost {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayHost {
    /// Serves `/index.html`, `/ui.js`, `/replay/ui.js`, `/replay/sw.js` (where ReplayWeb.page
    /// registers its service worker by default), `/replay/` (see
    /// [`REPLAY_FRAME_FALLBACK_HTML`]) and `/archive.wacz` (the file `wacz`).
    pub async fn start(tools: &WebTools, wacz: &Path) -> Self {
        let files = Arc::new(Files {
            ui: std::fs::read(tools.replaywebpage("ui.js")).unwrap(),
            sw: std::fs::read(tools.replaywebpage("sw.js")).unwrap(),
            wacz: std::fs::read(wacz).unwrap(),
        });
        let script = |pick: fn(&Files) -> &[u8]| {
            move |State(files): State<Arc<Files>>| async move {
                (
                    [(header::CONTENT_TYPE, "application/javascript")],
                    pick(&files).to_vec(),
                )
            }
        };
        let app = axum::Router::new()
            .route(
                "/index.html",
                get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX_HTML) }),
            )
            .route(
                "/replay/",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        REPLAY_FRAME_FALLBACK_HTML,
                    )
                }),
            )
            .route("/ui.js", get(script(|f| &f.ui)))
            .route("/replay/ui.js", get(script(|f| &f.ui)))
            .route("/replay/sw.js", get(script(|f| &f.sw)))
            .route("/archive.wacz", get(wacz_range))
            .with_state(files);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        ReplayHost { addr, task }
    }

    /// `http://localhost:PORT`: a name Chromium treats as a secure context.
    pub fn base(&self) -> String {
        format!("http://localhost:{}", self.addr.port())
    }
}

/// The WACZ, whole or the one byte range asked for (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
async fn wacz_range(State(files): State<Arc<Files>>, headers: HeaderMap) -> Response {
    let total = files.wacz.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .and_then(|(start, end)| match (start.trim(), end.trim()) {
            ("", suffix) => {
                let n: u64 = suffix.parse().ok()?;
                Some((total.saturating_sub(n), total.checked_sub(1)?))
            }
            (start, "") => Some((start.parse().ok()?, total.checked_sub(1)?)),
            (start, end) => Some((start.parse().ok()?, end.parse::<u64>().ok()?.min(total.checked_sub(1)?))),
        });
    let common = [
        (header::CONTENT_TYPE, "application/wacz".to_owned()),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
    ];
    match range {
        None if headers.contains_key(header::RANGE) => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{total}"))],
        )
            .into_response(),
        None => (common, files.wacz.clone()).into_response(),
        Some((start, end)) if start > end || start >= total => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{total}"))],
        )
            .into_response(),
        Some((start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            common,
            [(header::CONTENT_RANGE, format!("bytes {start}-{end}/{total}"))],
            Body::from(files.wacz[start as usize..=end as usize].to_vec()),
        )
            .into_response(),
    }
}

/// Runs `tests/replayweb/drive.cjs`: opens `page` in ReplayWeb.page at each of `timestamps`
/// and returns what the script found at each (see the script), within [`DRIVE_LIMIT`].
pub async fn drive(tools: &WebTools, host: &ReplayHost, page: &str, timestamps: &[String], styled: &str) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replayweb/drive.cjs");
    let config = serde_json::json!({
        "puppeteer": tools.puppeteer(),
        "chromium": tools.chromium,
        "host": host.base(),
        "page": page,
        "timestamps": timestamps,
        "styled": styled,
        // Each capture's own deadline, well inside the script's.
        "deadlineMs": 60_000,
    });
    let mut command = Command::new(&tools.node);
    command
        .arg(script)
        .arg(config.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        let child = command.spawn().unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let start = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(output) => break output.unwrap(),
                Err(_) if start.elapsed() > DRIVE_LIMIT => {
                    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                    panic!("the ReplayWeb.page driver did not finish within {DRIVE_LIMIT:?}");
                }
                Err(_) => {}
            }
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the ReplayWeb.page driver failed ({:?}):\n{}\n{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("driver output is not JSON ({e}): {stdout}"))
}
