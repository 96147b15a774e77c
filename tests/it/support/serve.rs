//! Helpers for the `serve` tests (issue #4): a small site on wiremock archived by the real binary,
//! the replay router driven in-process, and `linkkeep serve` run as a child process.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::archive::Scratch;
use super::write_file;

/// The Host header of in-process requests.
pub const HOST: &str = "archive.test";

/// The longest a `linkkeep serve` child may take to announce its address or to stop.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// The PDF of the site: a title in its Info dictionary and binary bytes a rewriter must not touch.
pub fn pdf_bytes() -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n1 0 obj\n<< /Title (Annual report) >>\nendobj\n".to_vec();
    pdf.extend((0..=255u8).cycle().take(4096));
    pdf.extend_from_slice(b"\n<a href=\"/a.html\">not HTML</a>\ntrailer\n<< /Info 1 0 R >>\n%%EOF\n");
    pdf
}

/// A page that links only to URLs the archive does not hold, in markup a re-serializer would
/// change (upper-case tags, single and missing quotes, entities, a comment, a script).
pub fn plain_page(base: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<HTML><head><meta charset=utf-8><TITLE>Plain page</TITLE></head>\n\
         <body class=x><A HREF={base}/unarchived.html>elsewhere</A> <img src='missing.png' alt=\"&amp; &eacute;\">\n\
         <!-- <a href=\"{base}/a.html\">commented out</a> -->\n\
         <script>var s = \"<a href='{base}/a.html'>\";</script>\n<p>caf\u{e9} &mdash; done</p></body></HTML>\n"
    )
}

/// A transparent 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x54, 0xa2, 0x4f, 0x5d, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A site of two HTML pages linking to each other, one linking to an unarchived URL, a page with
/// no archived links, a PDF, a text file without a title, a URL with a query, and a link that
/// is gone; all archived once by `linkkeep archive`.
pub struct Site {
    /// Keeps the site up for as long as the test runs.
    _server: MockServer,
    pub scratch: Scratch,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Site {
    pub async fn archived() -> Self {
        let server = MockServer::start().await;
        let base = server.uri();
        let html =
            |body: String| ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8");
        let pages = [
            (
                "/a.html",
                html(format!(
                    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Page A</title></head>\n<body id=\"top\">\
                     <h1>Page A</h1>\n<p><a id=\"to-b\" href=\"b.html\">Page B</a></p>\n\
                     <p><a id=\"to-pdf\" href=\"/doc.pdf\">The report</a></p>\n\
                     <p><a id=\"to-query\" href=\"search?q=a%20b&amp;lang=en\">A search</a></p>\n\
                     <p><a id=\"elsewhere\" href=\"{base}/unarchived.html\">Not archived</a></p>\n</body></html>\n"
                )),
            ),
            (
                "/b.html",
                html(format!(
                    "<!DOCTYPE html>\n<html><head><title>Page B</title></head>\n<body>\
                     <p><a id=\"to-a\" href=\"{base}/a.html#top\">Back to A</a></p>\n\
                     <p><a id=\"elsewhere\" href=\"/unarchived.html?x=1&amp;y=2\">Not archived</a></p>\n</body></html>\n"
                )),
            ),
            ("/plain.html", html(plain_page(&base))),
            (
                "/doc.pdf",
                ResponseTemplate::new(200).set_body_raw(pdf_bytes(), "application/pdf"),
            ),
            (
                "/notes.txt",
                ResponseTemplate::new(200).set_body_raw(b"just notes\n".to_vec(), "text/plain"),
            ),
            (
                "/search",
                ResponseTemplate::new(200).set_body_raw(b"search results\n".to_vec(), "text/plain"),
            ),
            ("/gone.html", ResponseTemplate::new(404)),
        ];
        for (at, response) in pages {
            Mock::given(path(at)).respond_with(response).mount(&server).await;
        }
        let scratch = Scratch::new(&[]);
        let links = serde_json::json!({"version": 1, "links": [
            {"id": "a", "url": format!("{base}/a.html"), "title": "A from links.json", "publisher": "Smith & <Sons>"},
            {"id": "b", "url": format!("{base}/b.html"), "publisher": "B Press"},
            {"id": "plain", "url": format!("{base}/plain.html")},
            {"id": "pdf", "url": format!("{base}/doc.pdf"), "title": "Report from links.json"},
            {"id": "notes", "url": format!("{base}/notes.txt"), "title": "Notes from links.json"},
            {"id": "search", "url": format!("{base}/search?q=a%20b&lang=en")},
            {"id": "gone", "url": format!("{base}/gone.html")},
        ]});
        write_file(
            scratch.dir.path(),
            "links.json",
            &serde_json::to_string_pretty(&links).unwrap(),
        );
        let run = scratch.archive(&["--retries", "0"]).await;
        assert_eq!(run.code, 1, "only gone.html fails: {}", run.stderr);
        Site {
            _server: server,
            scratch,
            base,
        }
    }

    /// The URL of `path` on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The Wayback timestamp (`first_seen` as `YYYYMMDDhhmmss`) of snapshot `index` of link `id`.
pub fn timestamp(scratch: &Scratch, id: &str, index: usize) -> String {
    let first_seen = scratch.snapshots(id)[index]["first_seen"].as_str().unwrap().to_owned();
    chrono::DateTime::parse_from_rfc3339(&first_seen)
        .unwrap()
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// Rewrites the manifest so that link `id`'s snapshots were seen at exactly `times` (RFC 3339),
/// one per snapshot: captures a known distance apart, whatever the clock did during the runs.
pub fn set_capture_times(scratch: &Scratch, id: &str, times: &[&str]) {
    let mut manifest = scratch.manifest();
    let snapshots = manifest["links"][id]["snapshots"].as_array_mut().unwrap();
    assert_eq!(snapshots.len(), times.len(), "{snapshots:#?}");
    for (snapshot, time) in snapshots.iter_mut().zip(times) {
        snapshot["first_seen"] = Value::from(*time);
        snapshot["last_seen"] = Value::from(*time);
    }
    std::fs::write(
        scratch.archive.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

/// The row of link `id` in the replay index's HTML, from `<tr id="…">` to its `</tr>`.
pub fn index_row(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("<tr id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no row for {id}:\n{html}"));
    let end = start + html[start..].find("</tr>").unwrap();
    html[start..end].to_owned()
}

/// The replay server for `scratch`, in-process.
pub fn router(scratch: &Scratch) -> axum::Router {
    linkkeep::serve::router(linkkeep::serve::Archive::new(
        &scratch.archive,
        Some(scratch.links.clone()),
    ))
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text; panics if absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }
}

/// GETs the raw request target `target` (not normalized in any way) from `router`, with `Host`
/// set and extra `headers`.
pub async fn get(router: &axum::Router, target: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(target).header("host", HOST);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply { status, headers, body }
}

/// `linkkeep serve --addr 127.0.0.1:0` on a scratch archive, as a child process; killed on drop.
pub struct ServeProcess {
    child: Child,
    /// The address it announced.
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl ServeProcess {
    /// Starts the server and waits for the line announcing its address.
    pub fn start(scratch: &Scratch) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_linkkeep"))
            .current_dir(scratch.dir.path())
            .env("CI", "true")
            .env_remove("RUST_LOG")
            .envs(scratch.env.iter().map(|(k, v)| (k, v)))
            .arg("--links")
            .arg(&scratch.links)
            .arg("--archive")
            .arg(&scratch.archive)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut reader = BufReader::new(child.stderr.take().unwrap());
        let collected = Arc::clone(&stderr);
        // Keep draining stderr after the announcement, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some(addr) = line
                    .trim()
                    .strip_prefix("linkkeep serve: browse the archive at http://")
                    .and_then(|rest| rest.strip_suffix('/'))
                {
                    let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
                }
                collected.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let addr = match rx.recv_timeout(CHILD_LIMIT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "linkkeep serve announced no address; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        ServeProcess { child, addr, stderr }
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGINT (what Ctrl-C sends) and waits for the exit code.
    pub fn interrupt(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                start.elapsed() < CHILD_LIMIT,
                "linkkeep serve did not stop on SIGINT; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `target` as the raw request target of a GET over TCP (no client normalizes it) and
/// returns the status code and the whole response.
pub fn raw_get(addr: SocketAddr, target: &str) -> (u16, String) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(CHILD_LIMIT)).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    (status, response)
}

/// The replay server run in-process on a 127.0.0.1 port with `limits`; stops when dropped.
pub struct InProcess {
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl InProcess {
    /// Serves `scratch`'s archive within `limits`.
    pub async fn start(scratch: &Scratch, limits: linkkeep::serve::Limits) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let archive = linkkeep::serve::Archive::new(&scratch.archive, Some(scratch.links.clone()));
        tokio::spawn(linkkeep::serve::run_with(listener, archive, limits, async {
            let _ = stopped.await;
        }));
        InProcess { addr, _stop: stop }
    }
}

/// The whole response to a `method` request for `target`, as bytes, until the server closes
/// the connection (a reset ends it too: what arrived before it counts). Blocking.
pub fn raw_response(addr: std::net::SocketAddr, method: &str, target: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    response
}
