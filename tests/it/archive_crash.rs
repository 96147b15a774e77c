//! SIGKILL at several moments of a long run: after each kill the manifest parses and every
//! snapshot's object is whole, and a final uninterrupted run completes cleanly with one
//! snapshot per link. Guards issue #3.

use std::time::{Duration, Instant};

use wiremock::{MockServer, Request, ResponseTemplate};

use crate::support::archive::{Scratch, random_bytes, wait_child};

const LINKS: usize = 150;

/// The body of `/doc/<n>`: every tenth document is the same, the rest distinct and up to ~200 KB.
fn body(n: usize) -> Vec<u8> {
    if n.is_multiple_of(10) {
        return b"shared payload".to_vec();
    }
    random_bytes(n as u64, 1000 + (n % 7) * 30_000)
}

fn doc_number(request: &Request) -> usize {
    request.url.path().rsplit('/').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_any_moment_leaves_a_consistent_archive() {
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(|request: &Request| {
            let n = doc_number(request);
            ResponseTemplate::new(200)
                .set_body_raw(body(n), "application/octet-stream")
                .set_delay(Duration::from_millis(20 + (n as u64 * 7) % 31))
        })
        .mount(&server)
        .await;
    let links: Vec<(String, String)> = (0..LINKS)
        .map(|n| (format!("doc-{n}"), format!("{}/doc/{n}", server.uri())))
        .collect();
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let scratch = Scratch::new(&links);
    let args = ["--per-host", "8", "--retries", "0", "--timeout", "10"];

    for after_ms in [100, 300, 500, 700, 1000, 1500] {
        let mut child = scratch.spawn_archive(&args);
        let start = Instant::now();
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        if after_ms <= 300 {
            // 150 links at 8 at a time and >= 20 ms each cannot finish this soon.
            assert!(still_running, "the run ended before the kill at {after_ms} ms");
        }
        let killed_at = start.elapsed();

        if scratch.archive.join("manifest.json").exists() {
            let manifest = scratch.manifest();
            assert_eq!(manifest["schema_version"], 1);
            let snapshots = scratch.assert_objects_intact(&manifest);
            eprintln!("killed after {killed_at:?}: {snapshots} snapshots saved");
        } else {
            eprintln!("killed after {killed_at:?}: no manifest yet");
        }
    }

    let run = scratch.spawn_archive(&args);
    let (code, stderr) = wait_child(run).await;
    assert_eq!(code, 0, "{stderr}");
    let manifest = scratch.manifest();
    assert_eq!(manifest["links"].as_object().unwrap().len(), LINKS);
    for (id, entry) in manifest["links"].as_object().unwrap() {
        assert_eq!(entry["last_check"]["outcome"], "ok", "{id}: {entry:#}");
        assert_eq!(entry["snapshots"].as_array().unwrap().len(), 1, "{id}: {entry:#}");
    }
    assert_eq!(scratch.assert_objects_intact(&manifest), LINKS);
    let distinct = LINKS - LINKS / 10 + 1;
    assert_eq!(scratch.object_files().len(), distinct, "one file per distinct payload");
    scratch.assert_tmp_empty();
}
