//! While `archive` makes a checkpoint (a flush of the disk, which takes seconds on a slow one),
//! its links go on finishing and new ones start (issue #19): the run loop collects them and
//! holds their results until the journal is back, instead of leaving their slots idle.

use std::time::Duration;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;

const LINKS: usize = 120;
/// Links collected while the first checkpoint is held (`LINKKEEP_TEST_CHECKPOINT_HOLD`).
const DURING: usize = 30;

#[tokio::test]
async fn links_finish_and_start_while_a_checkpoint_flushes() {
    let server = MockServer::start().await;
    // Slow enough that the run is still going at its first checkpoint (due once 25 links are
    // pending, 250 ms after the start at the earliest): 120 links, 4 at a time, 50 ms each.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/plain")
                .set_body_string("a cited page")
                .set_delay(Duration::from_millis(50)),
        )
        .mount(&server)
        .await;
    let links: Vec<(String, String)> = (0..LINKS)
        .map(|i| (format!("p{i}"), format!("{}/p/{i}", server.uri())))
        .collect();
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let mut scratch = Scratch::new(&links);
    scratch
        .env
        .push(("LINKKEEP_TEST_CHECKPOINT_HOLD".into(), DURING.to_string()));
    let run = scratch
        .archive(&[
            "-v",
            "--concurrency",
            "4",
            "--per-host",
            "4",
            "--retries",
            "0",
            "--no-soft-404",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The hook logs how many links the window gave back while it held the checkpoint; a loop
    // that waited for the checkpoint would give none and log 0 after 20 s.
    let held = run
        .stderr
        .lines()
        .find(|line| line.contains("links collected while the first checkpoint was held"))
        .unwrap_or_else(|| panic!("no checkpoint was held during the run:\n{}", run.stderr));
    let during: usize = held
        .split("during=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {held:?}"));
    assert!(
        during >= DURING,
        "only {during} links were collected during the checkpoint"
    );
    // Their results were held, not lost: every link is in the manifest with its capture.
    let manifest = scratch.manifest();
    let captured = manifest["links"]
        .as_object()
        .unwrap()
        .values()
        .filter(|entry| entry["snapshots"].as_array().is_some_and(|s| s.len() == 1))
        .count();
    assert_eq!(captured, LINKS);
    assert_eq!(run.report["summary"]["ok"], LINKS);
}
