//! What one client can hold of the replay server (issue #15): a connection beyond the limit
//! waits until one closes; a request head that does not arrive, or a kept-alive connection left
//! idle, is closed after the header timeout; a response nobody reads is cut off after the stall
//! timeout. Run in-process with short limits.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use linkkeep::serve::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, random_bytes};
use crate::support::serve::{InProcess, timestamp};

/// The longest any step may take before the test fails instead of hanging.
const GUARD: Duration = Duration::from_secs(20);

fn limits(max_connections: usize, header_timeout: Duration, stall_timeout: Duration) -> Limits {
    Limits {
        max_connections: NonZeroUsize::new(max_connections).unwrap(),
        header_timeout,
        stall_timeout,
    }
}

/// Reads one response with a `Content-Length` from `stream`; returns its head and body.
async fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap_or_else(|| panic!("no content-length: {head}"))
                .trim()
                .parse()
                .unwrap();
            if received.len() >= end + 4 + length {
                return (head, received[end + 4..end + 4 + length].to_vec());
            }
        }
        let n = tokio::time::timeout(GUARD, stream.read(&mut buf))
            .await
            .expect("no response in time")
            .unwrap();
        assert!(n > 0, "closed mid-response: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buf[..n]);
    }
}

/// Sends a kept-alive `GET path`.
async fn send_get(stream: &mut TcpStream, path: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: archive.test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
}

/// Reads until the server closes the connection; returns what arrived.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(GUARD, stream.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {GUARD:?}"),
            // A reset counts as closed too: the server dropped a connection with data unread.
            Ok(Ok(0) | Err(_)) => return received,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_beyond_the_limit_waits_for_a_free_slot() {
    let scratch = Scratch::new(&[]);
    let long = Duration::from_secs(60);
    let server = InProcess::start(&scratch, limits(2, long, long)).await;
    // Two kept-alive connections, each answered once, hold both slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        send_get(&mut stream, "/").await;
        let (head, _) = read_response(&mut stream).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        held.push(stream);
    }
    // A third connects (the kernel's backlog takes it) but is not served...
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    send_get(&mut third, "/").await;
    let mut buf = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the limit of 2 connections");
    // ... until one of the two closes.
    drop(held.pop());
    let (head, body) = read_response(&mut third).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("The archive is empty"));
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_request_heads_and_idle_connections_are_closed_after_the_header_timeout() {
    let scratch = Scratch::new(&[]);
    let server = InProcess::start(
        &scratch,
        limits(16, Duration::from_millis(300), Duration::from_secs(60)),
    )
    .await;

    // Half a request head, and then nothing.
    let started = Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: archive.test\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut slow).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("archive is empty"),
        "an incomplete request was answered"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "closed before the timeout"
    );

    // A kept-alive connection, answered, then left idle.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    send_get(&mut idle, "/").await;
    let (head, _) = read_response(&mut idle).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(read_until_closed(&mut idle).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_nobody_reads_is_cut_off_after_the_stall_timeout() {
    // Larger than any buffer the kernel could hold for the connection (Linux grows a socket's
    // send buffer to 4 MiB at most), so the server must wait for the client.
    let size = 8 << 20;
    let site = MockServer::start().await;
    Mock::given(path("/large.bin"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(random_bytes(15, size), "application/octet-stream"))
        .mount(&site)
        .await;
    let url = format!("{}/large.bin", site.uri());
    let scratch = Scratch::new(&[("large", url.clone())]);
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let server = InProcess::start(
        &scratch,
        limits(16, Duration::from_secs(60), Duration::from_millis(300)),
    )
    .await;
    let ts = timestamp(&scratch, "large", 0);

    // A client with a small receive window that takes the head and then stops reading.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    let request = format!("GET /web/{ts}id_/{url} HTTP/1.1\r\nHost: archive.test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(GUARD, stream.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "closed before the head: {}", String::from_utf8_lossy(&received));
        received.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&received).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains(&format!("content-length: {size}")), "{head}");

    // Well past the stall timeout, the rest is whatever the buffers held, not the payload.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let body = read_until_closed(&mut stream).await;
    assert!(
        body.len() < size,
        "the client got all {size} bytes after stalling past the limit"
    );
}
