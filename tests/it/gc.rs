//! `linkkeep gc`: a dry run lists the orphan and deletes nothing, a real run removes only the
//! orphan (verify is clean afterwards), an archive without `objects/` (each payload in its WARC
//! record) has nothing to collect, and gc refuses to run while another run holds the archive
//! lock. Guards issues #4 and #13.

use std::io::Write;

use crate::support::payloads::as_0_1_0;
use crate::support::verify::{Archived, ORPHAN_SHA, VerifyOutcome, bodies};

/// An archive of [`bodies`] in the layout of 0.1.0: an object file per distinct payload.
async fn archived_0_1_0() -> Archived {
    let archived = Archived::build().await;
    let payloads: Vec<Vec<u8>> = bodies().into_iter().map(|(_, _, body, _)| body).collect();
    let payloads: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    as_0_1_0(&archived.scratch.archive, &payloads);
    archived
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_lists_the_orphan_and_deletes_nothing() {
    let archived = archived_0_1_0().await;
    let orphan = archived.plant_orphan();
    let before = archived.tree();

    let run = archived.gc(&["--dry-run"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stdout = String::from_utf8(run.stdout).unwrap();
    let object = format!("objects/sha256/ab/{}", &ORPHAN_SHA[2..]);
    let listed: Vec<&str> = stdout.lines().filter(|l| l.contains("would remove")).collect();
    assert_eq!(listed.len(), 1, "exactly the orphan is listed:\n{stdout}");
    assert!(listed[0].contains(&object), "{stdout}");
    for snapshot in archived.scratch.snapshots("page") {
        assert!(!stdout.contains(snapshot["object"].as_str().unwrap()), "{stdout}");
    }

    assert!(orphan.is_file(), "the dry run removed the orphan");
    let mut after = archived.tree();
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the dry run added or removed files"
    );
    // The lock file records whoever holds it; everything else must be byte-identical.
    let (mut before, lock) = (before, std::path::Path::new(".lock"));
    before.remove(lock);
    after.remove(lock);
    assert!(after == before, "the dry run changed a file of the archive");
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_removes_the_orphan_keeps_every_referenced_object_and_verify_is_clean() {
    let archived = archived_0_1_0().await;
    let orphan = archived.plant_orphan();
    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.warnings.len(), 1, "the orphan is seen before gc: {report:#?}");
    let manifest_before = std::fs::read(archived.scratch.archive.join("manifest.json")).unwrap();

    let run = archived.gc(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!orphan.exists(), "gc left the orphan");

    let manifest = archived.scratch.manifest();
    assert_eq!(
        archived.scratch.assert_payloads_intact(&manifest),
        3,
        "every referenced object is still there and intact"
    );
    assert_eq!(
        archived.scratch.payload_records().len(),
        3,
        "{:?}",
        archived.scratch.payload_records()
    );
    assert_eq!(
        std::fs::read(archived.scratch.archive.join("manifest.json")).unwrap(),
        manifest_before,
        "gc changed the manifest"
    );

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(
        report.results.iter().all(|r| r.outcome == VerifyOutcome::Ok),
        "{report:#?}"
    );

    // Nothing left to collect: a second gc removes nothing.
    let again = archived.gc(&[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(archived.scratch.payload_records().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_exits_2_while_another_run_holds_the_lock() {
    let archived = Archived::build().await;
    let orphan = archived.plant_orphan();

    // Hold the archive lock the way a running `archive` does: flock on `.lock`, holder named.
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(archived.scratch.archive.join(".lock"))
        .unwrap();
    lock.try_lock().expect("the test takes the free lock");
    writeln!(lock, "pid {} started now command archive", std::process::id()).unwrap();

    let run = archived.gc(&[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("locked"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        run.stderr
    );
    assert!(orphan.is_file(), "gc removed an object without the lock");

    drop(lock);
    let run = archived.gc(&[]).await;
    assert_eq!(run.code, 0, "once the lock is free gc runs: {}", run.stderr);
    assert!(!orphan.exists());
}

/// Issue #13: where every payload is in its WARC record there is no `objects/` at all; gc has
/// nothing to remove, touches nothing, and verify stays clean.
#[tokio::test(flavor = "multi_thread")]
async fn an_archive_without_objects_has_nothing_to_collect() {
    let archived = Archived::one_copy().await;
    assert!(!archived.scratch.archive.join("objects").exists());
    let mut before = archived.tree();

    for args in [&["--dry-run"][..], &[]] {
        let run = archived.gc(args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&run.stdout)
        );
        assert!(
            run.stderr.contains("0 unreferenced object(s)"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let mut after = archived.tree();
    let lock = std::path::Path::new(".lock");
    before.remove(lock);
    after.remove(lock);
    assert!(after == before, "gc changed the archive");
    assert!(
        !archived.scratch.archive.join("objects").exists(),
        "gc created objects/"
    );

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");
}
