//! `get` and `serve` read each payload from the WARC record that holds it (issue #13): byte for
//! byte what the server sent, its `Content-Encoding` removed, for an HTML page sent gzipped, a
//! PDF sent plain and a body sent chunked without a length; and a damaged record never passes
//! for the payload (get writes no file, serve cuts the response short).

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use crate::support::archive::sha256_hex;
use crate::support::payloads::{Served, flip_in_record};
use crate::support::serve::{HOST, ServeProcess, get, raw_response, router, timestamp};

#[tokio::test(flavor = "multi_thread")]
async fn get_returns_the_served_bytes_from_the_records() {
    let served = Served::archived().await;
    for (id, payload) in &served.payloads {
        let out = served.scratch.run(&["get", id]).await;
        assert_eq!(out.code, 0, "{id}: {}", out.stderr);
        assert!(out.stdout == *payload, "{id}: stdout is not the payload served");

        let file = served.scratch.dir.path().join(format!("{id}.out"));
        let out = served.scratch.run(&["get", id, "-o", file.to_str().unwrap()]).await;
        assert_eq!(out.code, 0, "{id}: {}", out.stderr);
        assert!(
            std::fs::read(&file).unwrap() == *payload,
            "{id}: -o is not the payload served"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_of_a_damaged_record_fails_and_leaves_no_file() {
    let served = Served::archived().await;
    let snapshot = served.latest("pdf");
    flip_in_record(&served.scratch.archive, &snapshot, served.payload("pdf"));

    let file = served.scratch.dir.path().join("damaged.pdf");
    let out = served.scratch.run(&["get", "pdf", "-o", file.to_str().unwrap()]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(snapshot["warc"].as_str().unwrap()),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("SHA-256"), "{}", out.stderr);
    assert!(!file.exists(), "a damaged payload was written to -o");
    let leftovers: Vec<_> = std::fs::read_dir(served.scratch.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.contains("damaged"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // To stdout the bytes stream before the check, so the exit code is what tells.
    let out = served.scratch.run(&["get", "pdf"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    // The other links are not affected.
    let page = served.scratch.run(&["get", "page"]).await;
    assert_eq!(page.code, 0, "{}", page.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_replays_the_served_bytes_from_the_records() {
    let served = Served::archived().await;
    let router = router(&served.scratch);
    for (id, payload) in &served.payloads {
        let url = served.scratch.snapshots(id)[0]["url"].as_str().unwrap().to_owned();
        let ts = timestamp(&served.scratch, id, 0);
        let raw = get(&router, &format!("/web/{ts}id_/{url}"), &[]).await;
        assert_eq!(raw.status, 200, "{id}: {}", raw.text());
        assert_eq!(raw.header("content-length"), payload.len().to_string(), "{id}");
        assert!(raw.body == *payload, "{id}: id_ is not the payload served");
        assert!(
            raw.headers.get("content-encoding").is_none(),
            "{id}: the payload is served decoded"
        );

        // Rewritten: the page's one link (to a URL the archive lacks) points into the archive
        // (issue #15); every other byte stays, and the other bodies are no HTML to rewrite.
        let replayed = get(&router, &format!("/web/{ts}/{url}"), &[]).await;
        assert_eq!(replayed.status, 200, "{id}: {}", replayed.text());
        let link = b"href=\"http://127.0.0.1:9/elsewhere.html\"";
        let expected = if *id == "page" {
            let at = payload
                .windows(link.len())
                .position(|w| w == link)
                .expect("the page's link");
            [
                &payload[..at],
                format!("href=\"/web/{ts}/http://127.0.0.1:9/elsewhere.html\"").as_bytes(),
                &payload[at + link.len()..],
            ]
            .concat()
        } else {
            payload.clone()
        };
        assert_eq!(
            sha256_hex(&replayed.body),
            sha256_hex(&expected),
            "{id}: the replay is not the payload served"
        );
    }
    let page = get(
        &router,
        &format!(
            "/web/{}/{}",
            timestamp(&served.scratch, "page", 0),
            served.scratch.snapshots("page")[0]["url"].as_str().unwrap()
        ),
        &[],
    )
    .await;
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
}

/// A flipped byte keeps every size: a response that completed would hand the client a damaged
/// payload as if whole. The body must end in an error instead, in both replay modes.
#[tokio::test(flavor = "multi_thread")]
async fn serve_cuts_a_damaged_payload_short() {
    let served = Served::archived().await;
    let snapshot = served.latest("pdf");
    flip_in_record(&served.scratch.archive, &snapshot, served.payload("pdf"));
    let router = router(&served.scratch);
    let url = snapshot["url"].as_str().unwrap();
    let ts = timestamp(&served.scratch, "pdf", 0);
    for target in [format!("/web/{ts}id_/{url}"), format!("/web/{ts}/{url}")] {
        let request = Request::get(&target).header("host", HOST).body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "{target}: the damage shows only at the end");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        assert!(body.is_err(), "{target}: a damaged payload completed its response");
    }
    // Over the wire, the raw replay declares the payload's length: the client must get fewer
    // bytes than that, never all of them.
    let server = ServeProcess::start(&served.scratch);
    let addr = server.addr;
    let target = format!("/web/{ts}id_/{url}");
    let response = tokio::task::spawn_blocking(move || raw_response(addr, "GET", &target))
        .await
        .unwrap();
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&response[..head_end]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let declared = format!("content-length: {}\r\n", served.payload("pdf").len());
    assert!(head.contains(&declared), "{head}");
    let body = response.len() - head_end;
    assert!(
        body < served.payload("pdf").len(),
        "the client got all {body} bytes of a damaged payload"
    );
    drop(server);

    // The other links still replay.
    let page_ts = timestamp(&served.scratch, "page", 0);
    let page_url = served.scratch.snapshots("page")[0]["url"].as_str().unwrap().to_owned();
    let page = get(&router, &format!("/web/{page_ts}id_/{page_url}"), &[]).await;
    assert!(page.body == served.payload("page"));
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_says_when_a_payloads_warc_file_is_gone() {
    let served = Served::archived().await;
    let snapshot = served.latest("stream");
    std::fs::remove_file(served.scratch.archive.join(snapshot["warc"].as_str().unwrap())).unwrap();
    let router = router(&served.scratch);
    let ts = timestamp(&served.scratch, "stream", 0);
    let reply = get(
        &router,
        &format!("/web/{ts}id_/{}", snapshot["url"].as_str().unwrap()),
        &[],
    )
    .await;
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert!(reply.text().contains("is missing"), "{}", reply.text());
    assert!(reply.text().contains("linkkeep verify"), "{}", reply.text());
}

/// Issue #13: a capture whose payload an earlier one stored names that earlier record (as a
/// revisit does): `get --at` its time, `serve` and `verify` read the payload there.
#[tokio::test(flavor = "multi_thread")]
async fn a_capture_naming_an_earlier_record_reads_its_payload_there() {
    let served = Served::archived().await;
    let first = served.latest("pdf");
    let mut revisit = first.clone();
    revisit["first_seen"] = "2030-01-01T00:00:00Z".into();
    revisit["last_seen"] = "2030-01-01T00:00:00Z".into();
    let mut manifest = served.scratch.manifest();
    let snapshots = manifest["links"]["pdf"]["snapshots"].as_array_mut().unwrap();
    // In between, other bytes, so that the revisit is a capture of its own.
    let mut other = served.latest("stream");
    other["first_seen"] = "2029-01-01T00:00:00Z".into();
    other["last_seen"] = "2029-01-01T00:00:00Z".into();
    snapshots.push(other);
    snapshots.push(revisit);
    std::fs::write(
        served.scratch.archive.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();

    let get = served.scratch.run(&["get", "pdf", "--at", "2030-01-01"]).await;
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert!(get.stdout == served.payload("pdf"));
    let get = served.scratch.run(&["get", "pdf", "--at", "2029-01-01"]).await;
    assert!(get.stdout == served.payload("stream"));

    let router = router(&served.scratch);
    let url = first["url"].as_str().unwrap();
    let raw = get_reply(&router, &format!("/web/20300101000000id_/{url}")).await;
    assert!(raw == served.payload("pdf"));

    let verify = served.scratch.run(&["verify", "--format", "json"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);
}

async fn get_reply(router: &axum::Router, target: &str) -> Vec<u8> {
    let reply = get(router, target, &[]).await;
    assert_eq!(reply.status, 200, "{target}: {}", reply.text());
    reply.body
}
