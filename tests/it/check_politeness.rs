//! Politeness: `--per-host` caps the requests in flight to one host, whatever `--concurrency`
//! allows. Guards issue #2.

use crate::support::counting::Counting;
use crate::support::raw::held_until_other_asked;
use crate::support::{Outcome, links_file, run_check};

/// Checks twelve distinct URLs on `server` with `--per-host per_host --concurrency 64`.
async fn check_twelve(server: &Counting, per_host: &str) {
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<(String, String)> = (0..12)
        .map(|i| (format!("doc-{i}"), format!("{}/doc/{i}", server.base)))
        .collect();
    let entries: Vec<(&str, String)> = urls.iter().map(|(id, u)| (id.as_str(), u.clone())).collect();
    let links = links_file(dir.path(), &entries);

    // Sibling probes would be requests beyond the twelve counted (tests/it/soft404.rs counts them).
    let args = ["--per-host", per_host, "--concurrency", "64", "--no-soft-404"];
    let (code, report, stderr) = run_check(&links, &args).await;

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

/// Links do not start in list order, and a host runs no more of them than its `--per-host`:
/// otherwise a site cited many times in a row fills the window of running links, and its
/// `--per-host` limit idles every other host. Host A here answers only once host B has been
/// asked; in list order (six links of A, then B) with a window of two, B would not start until
/// A's first links timed out. A, with the most links left, goes first, but only one at a time.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_cited_many_times_in_a_row_does_not_hold_back_the_others() {
    let (a, b) = held_until_other_asked().await;
    let dir = tempfile::tempdir().unwrap();
    let mut urls: Vec<(String, String)> = (0..6).map(|i| (format!("a-{i}"), format!("{a}/doc/{i}"))).collect();
    urls.push(("b".into(), format!("{b}/doc")));
    let entries: Vec<(&str, String)> = urls.iter().map(|(id, u)| (id.as_str(), u.clone())).collect();
    let links = links_file(dir.path(), &entries);

    // A window of --concurrency = 2 links.
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
