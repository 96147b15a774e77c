//! A capture whose payload is stored already: the record holding it is reused only while it
//! still holds the bytes; a damaged one is stood in for by a record of the fresh bytes, and the
//! run says so. Guards issues #12 and #13.

use crate::support::archive::sha256_hex;
use crate::support::verify::{Archived, NET, flip_byte};

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_record_is_replaced_by_a_fresh_capture_of_the_same_bytes() {
    let archived = Archived::build().await;
    let snapshot = archived.latest("report-pdf");
    let sha256 = snapshot["sha256"].as_str().unwrap().to_owned();
    let warc = archived.scratch.archive.join(snapshot["warc"].as_str().unwrap());
    let (offset, length) = (
        snapshot["offset"].as_u64().unwrap(),
        snapshot["length"].as_u64().unwrap(),
    );
    // One bit off inside the payload (random bytes, in stored blocks): same size, same place.
    flip_byte(&warc, (offset + length / 2) as usize);
    let (code, _, _) = archived.verify(&[]).await;
    assert_eq!(code, 1, "the damage is real");

    // The same bytes are served again.
    let run = archived.scratch.archive(NET).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    let expected = format!(
        "the WARC record {} at offset {offset} no longer held the payload of report-pdf; a fresh capture holds it now",
        snapshot["warc"].as_str().unwrap()
    );
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
    let snapshots = archived.scratch.snapshots("report-pdf");
    assert_eq!(snapshots.len(), 1, "the same bytes: no new snapshot");
    assert_ne!(
        (&snapshots[0]["warc"], &snapshots[0]["offset"]),
        (&snapshot["warc"], &snapshot["offset"]),
        "the snapshot names the fresh record"
    );
    assert_eq!(sha256_hex(&archived.scratch.payload(&snapshots[0])), sha256);

    // Intact now: the next run reuses it and warns of nothing.
    let run = archived.scratch.archive(NET).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    assert_eq!(run.report.get("warnings"), None, "{:#}", run.report);
    assert_eq!(
        archived.scratch.snapshots("report-pdf")[0]["offset"],
        snapshots[0]["offset"]
    );
}
