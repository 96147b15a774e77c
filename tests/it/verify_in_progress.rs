//! `linkkeep verify` on a WARC file whose run is still writing it, or was killed before
//! recovery: while the run's journal (`journal/<run>.jsonl`) exists, a last record cut short is
//! work in progress, not damage; without the journal, or before the tail, it is damage as
//! ever. Guards issue #12.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::verify::{Archived, VerifyOutcome, make_writable};

/// The WARC file of `snapshot`, and the id of the run that wrote it.
fn warc_of(archived: &Archived, snapshot: &Value) -> (PathBuf, String) {
    let run = snapshot["run"].as_str().unwrap().to_owned();
    let warc = snapshot["warc"].as_str().unwrap();
    assert_eq!(warc, format!("warc/{run}.warc.gz"), "{snapshot:#}");
    (archived.scratch.archive.join(warc), run)
}

/// Appends the first half of `snapshot`'s gzip member to its WARC file, as a run would leave
/// it halfway through writing its next record.
fn append_half_a_record(archived: &Archived, snapshot: &Value) -> PathBuf {
    let (file, _) = warc_of(archived, snapshot);
    let at = snapshot;
    let (offset, length) = (at["offset"].as_u64().unwrap(), at["length"].as_u64().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let half = bytes[offset as usize..(offset + length / 2) as usize].to_vec();
    bytes.extend_from_slice(&half);
    make_writable(&file);
    std::fs::write(&file, bytes).unwrap();
    file
}

/// Writes the journal of `run`, as a run that has finished a link but not compacted writes it.
fn write_journal(archived: &Archived, run: &str) {
    let dir = archived.scratch.archive.join("journal");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{run}.jsonl")), "{\"link\": \"page\"}\n").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_last_record_is_in_progress_while_its_run_has_a_journal() {
    let archived = Archived::build().await;
    let snapshot = archived.latest("report-pdf");
    let (_, run) = warc_of(&archived, &snapshot);
    append_half_a_record(&archived, &snapshot);

    // No journal: nothing is writing this file, so its cut tail is damage.
    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    assert!(
        report.warnings.iter().any(|w| w.contains("truncated")),
        "{:?}",
        report.warnings
    );

    write_journal(&archived, &run);
    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    for result in &report.results {
        assert_eq!(result.outcome, VerifyOutcome::Ok, "{result:#?}");
    }
    // Said only as a note, at -v.
    let run_v = archived.verify_raw(&["-v"]).await;
    assert_eq!(run_v.code, 0, "{}", run_v.stderr);
    assert!(run_v.stderr.contains("still writing"), "{}", run_v.stderr);
    let quiet = archived.verify_raw(&[]).await;
    assert!(!quiet.stderr.contains("still writing"), "{}", quiet.stderr);

    // Another run's journal does not cover this file.
    std::fs::remove_dir_all(archived.scratch.archive.join("journal")).unwrap();
    write_journal(&archived, "20000101T000000Z-zzzz");
    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_record_before_the_tail_is_damage_even_with_a_journal() {
    let archived = Archived::build().await;
    let snapshot = archived.latest("report-pdf");
    let (_, run) = warc_of(&archived, &snapshot);
    let file = append_half_a_record(&archived, &snapshot);
    write_journal(&archived, &run);
    // A byte in the middle of `data`'s record (random bytes, stored as they are).
    let data = archived.latest("data");
    let at = &data;
    let middle = at["offset"].as_u64().unwrap() + at["length"].as_u64().unwrap() / 2;
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[middle as usize] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    let result = report.get("data");
    // The record is the payload's only copy (issue #13): its damage is the payload's.
    assert_eq!(result.outcome, VerifyOutcome::CorruptObject, "{result:#?}");
    let offset = format!("offset {}", at["offset"]);
    assert!(result.error.as_deref().unwrap().contains(&offset), "{result:#?}");
}
