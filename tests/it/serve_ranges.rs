//! `HEAD` and `Range` on captures (issue #15: PDF viewers and WACZ clients need them): one byte
//! range of a capture served untouched gets a 206 with its `Content-Range`, a range past the end a
//! 416, a range of a damaged payload is cut short like a whole one; `HEAD` answers the headers of
//! a `GET` without a body, in-process and over the wire.

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use crate::support::payloads::{Served, flip_in_record};
use crate::support::serve::{HOST, ServeProcess, Site, get, pdf_bytes, raw_response, router, timestamp};

/// The `/web/<ts>id_/<url>` and `/web/<ts>/<url>` targets of link `id`'s first capture.
fn targets(served: &Served, id: &str) -> (String, String) {
    let url = served.scratch.snapshots(id)[0]["url"].as_str().unwrap().to_owned();
    let ts = timestamp(&served.scratch, id, 0);
    (format!("/web/{ts}id_/{url}"), format!("/web/{ts}/{url}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn one_range_of_a_capture_is_a_206() {
    let served = Served::archived().await;
    let router = router(&served.scratch);
    // 2.5 MiB, read in many chunks: ranges inside one chunk, across several, at either end.
    let stream = served.payload("stream");
    let size = stream.len();
    let (raw, _) = targets(&served, "stream");
    for (range, start, end) in [
        ("bytes=0-0", 0, 1),
        ("bytes=0-99", 0, 100),
        ("bytes=100000-1500000", 100_000, 1_500_001),
        (&format!("bytes={}-", size - 10) as &str, size - 10, size),
        ("bytes=-4096", size - 4096, size),
        (&format!("bytes=5-{}", size * 2), 5, size),
    ] {
        // Twice: the second time the payload is known whole and the read stops at the range.
        for attempt in 0..2 {
            let reply = get(&router, &raw, &[("range", range)]).await;
            assert_eq!(reply.status, 206, "{range} ({attempt}): {}", reply.text());
            assert_eq!(
                reply.header("content-range"),
                format!("bytes {start}-{}/{size}", end - 1),
                "{range}"
            );
            assert_eq!(reply.header("content-length"), (end - start).to_string(), "{range}");
            assert_eq!(reply.header("accept-ranges"), "bytes");
            assert!(reply.body == stream[start..end], "{range} ({attempt}): not those bytes");
        }
    }
    // The whole, when asked without a range, says ranges are welcome and names its validator.
    let whole = get(&router, &raw, &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("accept-ranges"), "bytes");
    let etag = format!("\"{}\"", served.latest("stream")["sha256"].as_str().unwrap());
    assert_eq!(whole.header("etag"), etag);
    // If-Range with that validator keeps the range; with another, the whole comes back.
    let kept = get(&router, &raw, &[("range", "bytes=0-9"), ("if-range", &etag)]).await;
    assert_eq!((kept.status.as_u16(), kept.body.len()), (206, 10));
    let stale = get(&router, &raw, &[("range", "bytes=0-9"), ("if-range", "\"other\"")]).await;
    assert_eq!((stale.status.as_u16(), stale.body.len()), (200, size));
    // Several ranges at once are answered with the whole.
    let several = get(&router, &raw, &[("range", "bytes=0-9,20-29")]).await;
    assert_eq!((several.status.as_u16(), several.body.len()), (200, size));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_range_past_the_end_is_a_416() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let ts = timestamp(&site.scratch, "pdf", 0);
    let size = pdf_bytes().len();
    // A PDF is served untouched without `id_` too.
    let target = format!("/web/{ts}/{}", site.url("/doc.pdf"));
    for range in [
        format!("bytes={size}-"),
        format!("bytes={}-{}", size + 10, size + 20),
        "bytes=-0".into(),
    ] {
        let reply = get(&router, &target, &[("range", &range)]).await;
        assert_eq!(reply.status, 416, "{range}");
        assert_eq!(reply.header("content-range"), format!("bytes */{size}"), "{range}");
        assert!(reply.body.is_empty(), "{range}");
    }
    let last = get(&router, &target, &[("range", &format!("bytes={}-", size - 1))]).await;
    assert_eq!(last.status, 206);
    assert_eq!(last.body, pdf_bytes()[size - 1..]);
}

/// Rewritten HTML has no fixed bytes to take a range of: it comes whole.
#[tokio::test(flavor = "multi_thread")]
async fn rewritten_html_ignores_ranges() {
    let site = Site::archived().await;
    let router = router(&site.scratch);
    let ts = timestamp(&site.scratch, "a", 0);
    let target = format!("/web/{ts}/{}", site.url("/a.html"));
    let whole = get(&router, &target, &[]).await;
    let ranged = get(&router, &target, &[("range", "bytes=0-9")]).await;
    assert_eq!(ranged.status, 200);
    assert!(ranged.headers.get("content-range").is_none());
    assert!(ranged.headers.get("accept-ranges").is_none());
    assert_eq!(ranged.text(), whole.text());
}

/// A range of a payload not yet read whole is only completed once the payload proved intact:
/// a damaged one cuts even a range of its first bytes short.
#[tokio::test(flavor = "multi_thread")]
async fn a_range_of_a_damaged_payload_is_cut_short() {
    let served = Served::archived().await;
    let snapshot = served.latest("pdf");
    flip_in_record(&served.scratch.archive, &snapshot, served.payload("pdf"));
    let (raw, _) = targets(&served, "pdf");
    let request = Request::get(&raw)
        .header("host", HOST)
        .header("range", "bytes=0-9")
        .body(Body::empty())
        .unwrap();
    let response = router(&served.scratch).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 206, "the damage shows only at the end");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    assert!(body.is_err(), "a range of a damaged payload completed its response");
}

#[tokio::test(flavor = "multi_thread")]
async fn head_answers_the_headers_of_a_get_without_a_body() {
    let served = Served::archived().await;
    let router = router(&served.scratch);
    for id in ["page", "pdf"] {
        let (raw, rewritten) = targets(&served, id);
        for target in [raw, rewritten] {
            let request = |method: &str| {
                Request::builder()
                    .method(method)
                    .uri(&target)
                    .header("host", HOST)
                    .body(Body::empty())
                    .unwrap()
            };
            let got = router.clone().oneshot(request("GET")).await.unwrap();
            let head = router.clone().oneshot(request("HEAD")).await.unwrap();
            assert_eq!(head.status(), got.status(), "{target}");
            for name in [
                "content-type",
                "content-length",
                "content-security-policy",
                "memento-datetime",
                "link",
                "etag",
                "accept-ranges",
            ] {
                assert_eq!(head.headers().get(name), got.headers().get(name), "{target}: {name}");
            }
            let body = axum::body::to_bytes(head.into_body(), usize::MAX).await.unwrap();
            assert!(body.is_empty(), "{target}: HEAD has a body");
        }
    }

    // Over the wire: the length of the payload, no body bytes after the head.
    let server = ServeProcess::start(&served.scratch);
    let (raw, _) = targets(&served, "pdf");
    let addr = server.addr;
    let response = tokio::task::spawn_blocking(move || raw_response(addr, "HEAD", &raw))
        .await
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let length = format!("content-length: {}", served.payload("pdf").len());
    assert!(head.contains(&length), "{head}");
    assert!(head.contains("accept-ranges: bytes"), "{head}");
    assert!(body.is_empty(), "HEAD sent a body: {} bytes", body.len());
}
