//! Commands that only read run while `archive` writes (guards issue #12): they see its last
//! checkpoint, write nothing, and `verify` passes on the intact archive.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, run_raw, wait_for_checkpoint};

#[tokio::test(flavor = "multi_thread")]
async fn readers_see_a_running_runs_last_checkpoint() {
    let server = MockServer::start().await;
    for (at, body) in [("/a", "first a"), ("/b", "first b")] {
        Mock::given(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/plain"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    let scratch = Scratch::new(&[
        ("a", format!("{}/a", server.uri())),
        ("b", format!("{}/b", server.uri())),
        ("stalled", format!("{}/stalled", server.uri())),
    ]);
    // The first run: a and b archived, the third link not yet there.
    Mock::given(path("/stalled"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 1);

    // The second run: a changed, b the same, and the third link hangs until the run is killed.
    Mock::given(path("/a"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("second a", "text/plain"))
        .mount(&server)
        .await;
    Mock::given(path("/b"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("first b", "text/plain"))
        .mount(&server)
        .await;
    Mock::given(path("/stalled"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .mount(&server)
        .await;
    let mut running = scratch.spawn_archive(&["--retries", "0", "--timeout", "300"]);
    wait_for_checkpoint(&scratch.archive, &["a", "b"]).await;
    let manifest_before = std::fs::read(scratch.archive.join("manifest.json")).unwrap();
    let index_before = std::fs::read(scratch.archive.join("index.cdxj")).unwrap();

    // status: a's new capture, from the journal.
    let status = scratch.run(&["status", "--format", "json"]).await;
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let a = status["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "a")
        .unwrap();
    assert_eq!(a["snapshots"], 2, "{a:#}");
    // get: a's new bytes.
    let get = scratch.run(&["get", "a"]).await;
    assert_eq!(
        (get.code, get.stdout.as_slice()),
        (0, &b"second a"[..]),
        "{}",
        get.stderr
    );
    // verify: every snapshot, the new one included, and the WARC file being written.
    let verify = scratch.run(&["verify", "--format", "json"]).await;
    assert_eq!(
        verify.code,
        0,
        "{}\n{}",
        verify.stderr,
        String::from_utf8_lossy(&verify.stdout)
    );
    // export: the WACZ holds a's new capture in its index.
    let wacz = scratch.dir.path().join("during.wacz");
    let mut export = scratch.cmd();
    export.arg("export").arg("--wacz").arg(&wacz);
    let export = run_raw(export).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&wacz).unwrap()).unwrap();
    let mut index = String::new();
    zip.by_name("indexes/index.cdx")
        .unwrap()
        .read_to_string(&mut index)
        .unwrap();
    let a_lines = index.lines().filter(|l| l.contains("/a\"")).count();
    assert_eq!(a_lines, 2, "both captures of a:\n{index}");

    assert!(running.try_wait().unwrap().is_none(), "the run is still going");
    assert_eq!(
        std::fs::read(scratch.archive.join("manifest.json")).unwrap(),
        manifest_before
    );
    assert_eq!(std::fs::read(scratch.archive.join("index.cdxj")).unwrap(), index_before);
}
