//! Transport failures: a server that never answers (timeout), a refused connection, and a reset
//! in the middle of a response. Guards issue #2.

use std::time::{Duration, Instant};

use crate::support::raw::{dead_url, reset_server, stall_server};
use crate::support::{Outcome, assert_error_line, links_file, run_check};

#[tokio::test(flavor = "multi_thread")]
async fn stalled_server_times_out() {
    let url = stall_server().await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("stall", url)]);

    let start = Instant::now();
    let (code, report, _) = run_check(&links, &["--timeout", "0.5", "--retries", "0"]).await;
    let took = start.elapsed();

    assert_eq!(code, 1);
    let r = report.get("stall");
    assert_eq!(r.outcome, Outcome::Timeout, "{r:?}");
    assert_eq!(r.attempts, 1, "{r:?}");
    assert_error_line(r);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_connection_is_a_network_error_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("dead", dead_url())]);

    let (code, report, _) = run_check(&links, &["--retries", "2", "--retry-wait", "0.01"]).await;

    assert_eq!(code, 1);
    let r = report.get("dead");
    assert_eq!(r.outcome, Outcome::NetworkError, "{r:?}");
    assert_eq!(r.attempts, 3, "connection errors are retried: {r:?}");
    assert_error_line(r);
    let error = r.error.as_deref().unwrap().to_lowercase();
    assert!(error.contains("refused"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_mid_response_is_a_network_error() {
    let url = reset_server().await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("reset", url)]);

    let (code, report, _) = run_check(&links, &["--retries", "0", "--timeout", "5"]).await;

    assert_eq!(code, 1);
    let r = report.get("reset");
    assert_eq!(r.outcome, Outcome::NetworkError, "{r:?}");
    assert_eq!(r.attempts, 1, "{r:?}");
    assert_error_line(r);
}
