//! Raw TCP misbehaviour that no HTTP library will produce for us: a dead port, a server that
//! never answers, and a connection reset in the middle of a response.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A URL on a port nothing listens on: bind, note the port, close.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/gone")
}

/// Accepts connections and reads the request, but never sends a byte back.
pub async fn stall_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            // Keep the socket open (and drained) until the client gives up.
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    format!("http://127.0.0.1:{port}/stall")
}

/// Answers every request with half a header block, then resets the connection (RST, not FIN).
pub async fn reset_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(reset_after_partial_headers(stream));
        }
    });
    format!("http://127.0.0.1:{port}/reset")
}

async fn reset_after_partial_headers(mut stream: TcpStream) {
    read_request_head(&mut stream).await;
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/ht").await;
    let _ = stream.flush().await;
    // Let the partial block reach the client first; the outcome is a reset either way.
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.set_zero_linger().unwrap();
    drop(stream);
}

/// Reads until the end of the request head (`\r\n\r\n`) or EOF.
pub async fn read_request_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}
