//! Politeness: `--per-host` caps the requests in flight to one host, whatever `--concurrency`
//! allows. Guards issue #2.

use crate::support::counting::Counting;
use crate::support::{Outcome, links_file, run_check};

/// Checks twelve distinct URLs on `server` with `--per-host per_host --concurrency 64`.
async fn check_twelve(server: &Counting, per_host: &str) {
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<(String, String)> = (0..12)
        .map(|i| (format!("doc-{i}"), format!("{}/doc/{i}", server.base)))
        .collect();
    let entries: Vec<(&str, String)> = urls.iter().map(|(id, u)| (id.as_str(), u.clone())).collect();
    let links = links_file(dir.path(), &entries);

    let (code, report, stderr) = run_check(&links, &["--per-host", per_host, "--concurrency", "64"]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report.results.len(), 12);
    assert!(report.results.iter().all(|r| r.outcome == Outcome::Ok));
    assert_eq!(server.total(), 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_host_limit_is_held() {
    let server = Counting::start().await;
    check_twelve(&server, "2").await;
    let max = server.max_in_flight();
    assert!((1..=2).contains(&max), "saw {max} requests in flight at once");
}

#[tokio::test(flavor = "multi_thread")]
async fn higher_per_host_limit_allows_more() {
    // Proves the counter can see more than two, so the test above can fail.
    let server = Counting::start().await;
    check_twelve(&server, "6").await;
    let max = server.max_in_flight();
    assert!((3..=6).contains(&max), "saw {max} requests in flight at once");
}

/// Serves `200 ok` on 127.0.0.1, one request per connection, after `ready` resolves; returns
/// the base URL.
async fn gated_server<F, Fut>(ready: F) -> String
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ready = std::sync::Arc::new(ready);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let ready = std::sync::Arc::clone(&ready);
            tokio::spawn(async move {
                crate::support::raw::read_request_head(&mut stream).await;
                ready().await;
                let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    base
}

/// Links start one host at a time in turn, not in list order: otherwise a site cited many
/// times in a row fills the window of running links, and its `--per-host` limit idles every
/// other host. Host A here answers only once host B has been asked; in list order (six links
/// of A, then B) with a window of four, B would not start until A's first links timed out.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_cited_many_times_in_a_row_does_not_hold_back_the_others() {
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
    let dir = tempfile::tempdir().unwrap();
    let mut urls: Vec<(String, String)> = (0..6).map(|i| (format!("a-{i}"), format!("{a}/doc/{i}"))).collect();
    urls.push(("b".into(), format!("{b}/doc")));
    let entries: Vec<(&str, String)> = urls.iter().map(|(id, u)| (id.as_str(), u.clone())).collect();
    let links = links_file(dir.path(), &entries);

    // A window of 2 × --concurrency = 4 links.
    let args = [
        "--concurrency",
        "2",
        "--per-host",
        "1",
        "--retries",
        "0",
        "--timeout",
        "3",
    ];
    let (code, report, stderr) = run_check(&links, &args).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    let outcomes: Vec<_> = report.results.iter().map(|r| (r.id.as_str(), r.outcome)).collect();
    assert!(outcomes.iter().all(|(_, o)| *o == Outcome::Ok), "{outcomes:?}");
}
