//! Raw TCP misbehaviour that no HTTP library will produce for us: a dead port, a server that
//! never answers, a connection reset in the middle of a response, and a pair of servers where
//! one answers only once the other has been asked.

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

/// Two servers on 127.0.0.1 (base URLs `(a, b)`) answering `200 ok`: `a` holds every request
/// until `b` has been asked something. A client that starts one host's links in a row, with
/// too few slots to reach `b`, waits on `a` until it times out.
pub async fn held_until_other_asked() -> (String, String) {
    let (asked, waiting) = tokio::sync::watch::channel(false);
    let a = gated_server(move || {
        let mut waiting = waiting.clone();
        async move {
            let _ = waiting.wait_for(|asked| *asked).await;
        }
    })
    .await;
    let asked = std::sync::Arc::new(asked);
    let b = gated_server(move || {
        let asked = std::sync::Arc::clone(&asked);
        async move {
            let _ = asked.send(true);
        }
    })
    .await;
    (a, b)
}

/// Serves `200 ok` on 127.0.0.1, one request per connection, after `ready` resolves; returns
/// the base URL.
async fn gated_server<F, Fut>(ready: F) -> String
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ready = std::sync::Arc::new(ready);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let ready = std::sync::Arc::clone(&ready);
            tokio::spawn(async move {
                read_request_head(&mut stream).await;
                ready().await;
                let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    base
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
