//! Two runs on one archive never interleave: while a run is held busy by a slow server, a second
//! exits 2 naming the holder's pid, and with `--wait-lock` it waits, then succeeds. Guards
//! issue #3.

use std::time::Duration;

use crate::support::archive::{Scratch, wait_child, wait_until};
use crate::support::bodies::Gate;

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_exits_2_naming_the_holder() {
    let gate = Gate::start().await;
    let scratch = Scratch::new(&[("gated", gate.url.clone())]);
    let first = scratch.spawn_archive(&["--retries", "0", "--timeout", "30", "--no-soft-404"]);
    let pid = first.id();
    wait_until("the first run's request", || gate.requests() >= 1).await;

    let lock_text = std::fs::read_to_string(scratch.archive.join(".lock")).unwrap();
    assert!(lock_text.starts_with(&format!("pid {pid} started ")), "{lock_text:?}");
    assert!(lock_text.contains("command archive"), "{lock_text:?}");

    let second = scratch.archive_cmd(&["--retries", "0"]);
    let second = crate::support::archive::run_raw(second).await;
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(second.stderr.contains("locked"), "{}", second.stderr);
    assert!(second.stderr.contains(&format!("pid {pid}")), "{}", second.stderr);
    assert_eq!(gate.requests(), 1, "the locked-out run must not fetch anything");

    gate.open();
    let (code, stderr) = wait_child(first).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(scratch.snapshots("gated").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_lock_waits_for_the_holder_then_succeeds() {
    let gate = Gate::start().await;
    let scratch = Scratch::new(&[("gated", gate.url.clone())]);
    let first = scratch.spawn_archive(&["--retries", "0", "--timeout", "30", "--no-soft-404"]);
    wait_until("the first run's request", || gate.requests() >= 1).await;

    let mut waiter = scratch.spawn_archive(&["--retries", "0", "--timeout", "30", "--wait-lock", "--no-soft-404"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "the waiter gave up while the lock was held"
    );
    assert_eq!(
        gate.requests(),
        1,
        "the waiter fetched while the first run held the lock"
    );

    gate.open();
    let (code, stderr) = wait_child(first).await;
    assert_eq!(code, 0, "first run: {stderr}");
    let (code, stderr) = wait_child(waiter).await;
    assert_eq!(code, 0, "waiting run: {stderr}");
    assert_eq!(gate.requests(), 2);
    let manifest = scratch.manifest();
    let snapshots = manifest["links"]["gated"]["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 1, "same bytes twice: {manifest:#}");
    let runs = std::fs::read_dir(scratch.archive.join("runs")).unwrap().count();
    assert_eq!(runs, 2, "both runs wrote their report");
}
