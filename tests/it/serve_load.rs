//! `linkkeep serve` under load (issue #15): 200 clients that read a large replayed page one byte
//! a second, and 1,000 ordinary requests at the same time. Every ordinary request is answered in
//! full, and the server's memory grows by far less than what buffering each slow client's page
//! would take. Before #15 a replay held a blocking thread until its client read it all, so 16 slow
//! clients froze the server.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::serve::{ServeProcess, timestamp};
use crate::support::write_file;

const SLOW_CLIENTS: usize = 200;
const ORDINARY_REQUESTS: usize = 1_000;
/// Ordinary requests in flight at once.
const ORDINARY_CONCURRENCY: usize = 50;
/// The longest the ordinary requests may take, all together.
const LIMIT: Duration = Duration::from_secs(60);

/// An HTML page of about `size` bytes, with links to rewrite in every paragraph.
fn large_page(base: &str, size: usize) -> String {
    let mut html = String::from("<!DOCTYPE html>\n<html><head><title>Large page</title></head><body>\n");
    let text = "Some text to read, sentence after sentence, as long pages have. ".repeat(12);
    let mut i = 0;
    while html.len() < size {
        html.push_str(&format!(
            "<p id=\"p{i}\">{text}<a href=\"{base}/small.html\">archived</a> and \
             <a href=\"/elsewhere/{i}.html\">elsewhere</a>.</p>\n"
        ));
        i += 1;
    }
    html.push_str("</body></html>\n");
    html
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"));
    kb * 1024
}

/// A client that asks for `target` with a small receive window, waits for the response's head,
/// and from then on reads one byte a second.
async fn slow_client(addr: SocketAddr, target: String) -> tokio::task::JoinHandle<usize> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream: TcpStream = socket.connect(addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(LIMIT, stream.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "closed before the head: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    tokio::spawn(async move {
        let mut read = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match stream.read(&mut byte).await {
                Ok(1) => read += 1,
                _ => return read,
            }
        }
    })
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn slow_readers_starve_no_one_and_memory_stays_bounded() {
    let site = MockServer::start().await;
    let base = site.uri();
    let page_size = 4 * 1024 * 1024;
    let html = |body: String| ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8");
    let small = format!("<!DOCTYPE html><title>Small</title><p><a href=\"{base}/large.html\">large</a></p>");
    for (at, response) in [
        ("/large.html", html(large_page(&base, page_size))),
        ("/small.html", html(small)),
        (
            "/notes.txt",
            ResponseTemplate::new(200).set_body_raw(b"plain notes\n".repeat(1000), "text/plain"),
        ),
    ] {
        Mock::given(path(at)).respond_with(response).mount(&site).await;
    }
    let scratch = Scratch::new(&[]);
    let links = serde_json::json!({"version": 1, "links": [
        {"id": "large", "url": format!("{base}/large.html")},
        {"id": "small", "url": format!("{base}/small.html")},
        {"id": "notes", "url": format!("{base}/notes.txt")},
    ]});
    write_file(scratch.dir.path(), "links.json", &links.to_string());
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let server = ServeProcess::start(&scratch);
    let capture = |id: &str, raw: &str, path: &str| format!("/web/{}{raw}/{base}{path}", timestamp(&scratch, id, 0));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let fetch = |target: String| {
        let (client, url) = (client.clone(), server.url(&target));
        async move {
            let response = client.get(&url).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            (target, status, body)
        }
    };
    // What each ordinary request must get in full, fetched before the load (which also warms up
    // the server: its catalog read, its allocator).
    let mut expected = Vec::new();
    for target in [
        "/".to_owned(),
        "/api/links".to_owned(),
        capture("small", "", "/small.html"),
        capture("small", "id_", "/small.html"),
        capture("notes", "", "/notes.txt"),
        format!("/timemap/link/{base}/notes.txt"),
    ] {
        let (target, status, body) = fetch(target).await;
        assert_eq!(status, 200, "{target}");
        expected.push((target, body));
    }
    let before = rss(server.pid());

    // The slow clients: half on the rewritten page, half on its stored bytes.
    let slow_targets = [
        capture("large", "", "/large.html"),
        capture("large", "id_", "/large.html"),
    ];
    let slow: Vec<_> = futures_util::future::join_all(
        (0..SLOW_CLIENTS).map(|i| slow_client(server.addr, slow_targets[i % 2].clone())),
    )
    .await;

    // Meanwhile, the ordinary requests, every one answered in full.
    let ordinary = futures_util::stream::iter(0..ORDINARY_REQUESTS)
        .map(|i| fetch(expected[i % expected.len()].0.clone()))
        .buffer_unordered(ORDINARY_CONCURRENCY)
        .collect::<Vec<_>>();
    let answered = tokio::time::timeout(LIMIT, ordinary)
        .await
        .unwrap_or_else(|_| panic!("the ordinary requests did not finish within {LIMIT:?}"));
    assert_eq!(answered.len(), ORDINARY_REQUESTS);
    for (target, status, body) in &answered {
        assert_eq!(*status, 200, "{target}");
        let whole = &expected.iter().find(|(t, _)| t == target).unwrap().1;
        assert!(
            body == whole,
            "{target}: {} bytes, not the {} expected",
            body.len(),
            whole.len()
        );
    }

    // The slow clients still hold their responses. What the server holds for each is a few
    // buffers (its open payload's, a couple of chunks, hyper's write buffer: about 100 MiB in
    // all), not its page: buffering those would take SLOW_CLIENTS × 4 MiB = 800 MiB. The bound
    // is a quarter of that.
    let grown = rss(server.pid()).saturating_sub(before);
    let bound = (SLOW_CLIENTS * page_size / 4) as u64;
    eprintln!(
        "serve_load: {ORDINARY_REQUESTS} requests answered beside {SLOW_CLIENTS} slow clients; \
         the server grew by {} KiB",
        grown >> 10
    );
    assert!(
        grown < bound,
        "the server grew by {} MiB with {SLOW_CLIENTS} slow clients (bound {} MiB)",
        grown >> 20,
        bound >> 20
    );
    for client in slow {
        client.abort();
    }
    drop(server);
}
