//! A capture whose payload is stored already: the stored copy is reused only while it still
//! hashes to its name; a damaged one is replaced by the fresh bytes, and the run says so.
//! Guards issue #12.

use crate::support::archive::sha256_hex;
use crate::support::verify::{Archived, NET, flip_byte};

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_object_is_replaced_by_a_fresh_capture_of_the_same_bytes() {
    let archived = Archived::build().await;
    let snapshot = archived.latest("report-pdf");
    let sha256 = snapshot["sha256"].as_str().unwrap();
    let object = archived.object_path(&snapshot);
    // One bit off, same size: what a size check cannot see.
    flip_byte(&object, 20_000);
    let (code, _, _) = archived.verify(&[]).await;
    assert_eq!(code, 1, "the damage is real");

    // The same bytes are served again.
    let run = archived.scratch.archive(NET).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);

    assert_eq!(sha256_hex(&std::fs::read(&object).unwrap()), sha256);
    assert!(std::fs::metadata(&object).unwrap().permissions().readonly());
    let expected = format!("object {sha256} was damaged and has been replaced by a fresh capture of report-pdf");
    assert_eq!(
        run.report["warnings"],
        serde_json::json!([expected]),
        "{:#}",
        run.report
    );
    // The run's own report on disk says it too.
    let saved = archived
        .scratch
        .archive
        .join(format!("runs/{}.json", run.report["run"].as_str().unwrap()));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(saved).unwrap()).unwrap();
    assert_eq!(saved["warnings"], run.report["warnings"]);
    assert_eq!(
        archived.scratch.snapshots("report-pdf").len(),
        1,
        "the same bytes: no new snapshot"
    );

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");

    // Intact now: the next run reuses it and warns of nothing.
    let run = archived.scratch.archive(NET).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    assert_eq!(run.report.get("warnings"), None, "{:#}", run.report);
}
