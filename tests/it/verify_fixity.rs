//! `linkkeep verify` offline fixity, each payload read back from the WARC record that holds it:
//! an intact archive passes; a flipped byte inside a payload's record, a truncated WARC file or a
//! deleted one (also in an older snapshot, or of a link no longer in links.json) fails its link;
//! an archive of 0.1.0 has its objects checked the same way; an orphan object only warns, JUnit
//! carries the failure, and no manifest is exit 2. Guards issues #4, #12 and #13.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::support::archive::{Scratch, random_bytes, sha256_hex};
use crate::support::payloads::{as_0_1_0, flip_in_record, record_range};
use crate::support::verify::{
    Archived, ORPHAN_SHA, VerifyOutcome, VerifyReport, bodies, flip_byte, mount, truncate_half,
};

/// Asserts that `damaged` is the one failed link, with `outcome` and an error naming
/// `object`, and that every other link is ok.
fn assert_only_failure(report: &VerifyReport, damaged: &str, outcome: VerifyOutcome, object: &str) {
    for result in &report.results {
        if result.id == damaged {
            assert_eq!(result.outcome, outcome, "{result:#?}");
            let error = result
                .error
                .as_deref()
                .unwrap_or_else(|| panic!("no error: {result:#?}"));
            assert!(error.contains(object), "error does not name {object}: {error}");
            assert!(!error.contains('\n'), "multi-line error: {error:?}");
        } else {
            assert_eq!(result.outcome, VerifyOutcome::Ok, "{result:#?}");
            assert_eq!(result.error, None, "{result:#?}");
        }
    }
    assert_eq!(report.summary.failed, 1, "{:?}", report.summary);
    assert_eq!(
        report.summary.ok,
        report.results.len() as u64 - 1,
        "{:?}",
        report.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_intact_archive_verifies_ok() {
    let archived = Archived::one_copy().await;
    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");
    assert_eq!(report.command, "verify");
    assert_eq!(report.ids(), ["page", "report-pdf", "data"]);
    for (id, _, body, _) in bodies() {
        let result = report.get(id);
        assert_eq!(result.outcome, VerifyOutcome::Ok, "{result:#?}");
        assert_eq!(result.error, None, "{result:#?}");
        assert_eq!(result.sha256.as_deref(), Some(sha256_hex(&body).as_str()), "{id}");
        assert_eq!(result.size, Some(body.len() as u64), "{id}");
        // Offline: nothing was fetched, so there is no drift to report.
        assert_eq!(result.change, None, "{id}");
    }
    assert_eq!(
        (report.summary.total, report.summary.ok, report.summary.failed),
        (3, 3, 0)
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let human = archived.verify_raw(&[]).await;
    assert_eq!(human.code, 0, "{}", human.stderr);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(!text.contains("warning:"), "{text}");
}

/// Issue #13: one bit off inside a payload's record, in a stored block, keeps every size and
/// every gzip header intact; reading the payload back and hashing it shows it.
#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_byte_inside_a_payload_record_is_a_corrupt_object() {
    let archived = Archived::one_copy().await;
    let snapshot = archived.latest("report-pdf");
    flip_in_record(&archived.scratch.archive, &snapshot, &archived.payload("report-pdf"));

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    let record = format!(
        "{} at offset {}",
        snapshot["warc"].as_str().unwrap(),
        snapshot["offset"]
    );
    assert_only_failure(&report, "report-pdf", VerifyOutcome::CorruptObject, &record);
    let error = report.get("report-pdf").error.clone().unwrap();
    assert!(error.contains(snapshot["sha256"].as_str().unwrap()), "{error}");
    // The result still describes the snapshot the manifest promises.
    assert_eq!(
        report.get("report-pdf").sha256.as_ref(),
        snapshot["sha256"].as_str().map(str::to_owned).as_ref()
    );
}

/// Issue #13: a WARC file cut in the middle of a payload's record (a disk that filled up, a
/// copy that stopped): that payload and every one recorded after the cut are gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_warc_file_is_a_corrupt_object_and_a_corrupt_warc() {
    let archived = Archived::one_copy().await;
    let snapshot = archived.latest("report-pdf");
    let (path, offset, length) = record_range(&archived.scratch.archive, &snapshot);
    let cut = offset + length / 2;
    crate::support::verify::make_writable(&path);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    for (id, ..) in bodies() {
        let latest = archived.latest(id);
        let (file, at, len) = record_range_unchecked(&latest);
        let lost = archived.scratch.archive.join(file) == path && at + len > cut;
        let result = report.get(id);
        if lost {
            assert_eq!(result.outcome, VerifyOutcome::CorruptObject, "{id}: {result:#?}");
            assert!(result.error.as_deref().unwrap().contains("past the end"), "{result:#?}");
        } else {
            assert_eq!(result.outcome, VerifyOutcome::Ok, "{id}: {result:#?}");
        }
    }
    assert_eq!(report.get("report-pdf").outcome, VerifyOutcome::CorruptObject);
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(name) && w.contains("truncated")),
        "{:?}",
        report.warnings
    );
}

/// Where a snapshot's record is said to be, without asking that it still is.
fn record_range_unchecked(snapshot: &serde_json::Value) -> (&str, u64, u64) {
    (
        snapshot["warc"].as_str().unwrap(),
        snapshot["offset"].as_u64().unwrap(),
        snapshot["length"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_warc_file_is_a_missing_object() {
    let archived = Archived::one_copy().await;
    let snapshot = archived.latest("data");
    let file = snapshot["warc"].as_str().unwrap().to_owned();
    std::fs::remove_file(archived.scratch.archive.join(&file)).unwrap();

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    for (id, ..) in bodies() {
        let result = report.get(id);
        if archived.latest(id)["warc"] == file.as_str() {
            assert_eq!(result.outcome, VerifyOutcome::MissingObject, "{id}: {result:#?}");
            let error = result.error.as_deref().unwrap();
            assert!(error.contains(&format!("{file} at offset")), "{error}");
            assert!(error.contains("is missing"), "{error}");
        } else {
            assert_eq!(result.outcome, VerifyOutcome::Ok, "{id}: {result:#?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn damage_in_an_older_snapshot_is_caught() {
    let archived = Archived::build().await;
    // Second capture of `report-pdf` with new bytes: the link now has two snapshots.
    archived.server.reset().await;
    let newer = random_bytes(77, 5_000);
    for (_, at, body, content_type) in bodies() {
        let body = if at == "/report.pdf" { newer.clone() } else { body };
        mount(&archived.server, at, body, content_type).await;
    }
    archived.archive().await;
    crate::support::payloads::strip_objects(&archived.scratch.archive);
    let snapshots = archived.scratch.snapshots("report-pdf");
    assert_eq!(snapshots.len(), 2, "{snapshots:#?}");
    let (older, latest) = (&snapshots[0], &snapshots[1]);
    assert_ne!(older["sha256"], latest["sha256"]);

    flip_in_record(&archived.scratch.archive, older, &archived.payload("report-pdf"));

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    let older_record = format!("{} at offset {}", older["warc"].as_str().unwrap(), older["offset"]);
    assert_only_failure(&report, "report-pdf", VerifyOutcome::CorruptObject, &older_record);
    let result = report.get("report-pdf");
    assert_eq!(
        result.sha256.as_deref(),
        latest["sha256"].as_str(),
        "the result shows the latest snapshot"
    );
    assert_eq!(result.size, latest["size"].as_u64());
    let error = result.error.as_deref().unwrap();
    let latest_record = format!("{} at offset {}", latest["warc"].as_str().unwrap(), latest["offset"]);
    assert!(
        !error.contains(&latest_record),
        "the intact latest record is blamed: {error}"
    );
}

/// Issue #12: fixity covers every entry of the manifest, not only the links links.json still
/// lists: the archive keeps promising what it captured of a link taken off the list.
#[tokio::test(flavor = "multi_thread")]
async fn damage_of_a_link_no_longer_listed_is_caught() {
    let archived = Archived::build().await;
    let snapshot = archived.unlist_and_damage("data");

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    assert_only_failure(
        &report,
        "data",
        VerifyOutcome::CorruptObject,
        snapshot["warc"].as_str().unwrap(),
    );
}

/// Issue #13: an archive of 0.1.0 names an object file per snapshot; verify reads those, a
/// damaged one fails its link, and one that is gone is read from its record instead.
#[tokio::test(flavor = "multi_thread")]
async fn the_objects_of_a_0_1_0_archive_are_checked() {
    let archived = Archived::build().await;
    let payloads: Vec<Vec<u8>> = bodies().into_iter().map(|(_, _, body, _)| body).collect();
    let payloads: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    as_0_1_0(&archived.scratch.archive, &payloads);
    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "{report:#?}\n{stderr}");

    let pdf = archived.latest("report-pdf");
    let object = pdf["object"].as_str().unwrap();
    flip_byte(&archived.scratch.archive.join(object), 20_000);
    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
    assert_only_failure(&report, "report-pdf", VerifyOutcome::CorruptObject, object);

    let page = archived.latest("page");
    truncate_half(&archived.scratch.archive.join(page["object"].as_str().unwrap()));
    let (_, report, _) = archived.verify(&[]).await;
    assert_eq!(report.get("page").outcome, VerifyOutcome::CorruptObject, "{report:#?}");

    // The object of `data` is gone, but its record holds the same payload: nothing is lost.
    let data = archived.latest("data");
    std::fs::remove_file(archived.scratch.archive.join(data["object"].as_str().unwrap())).unwrap();
    let (_, report, _) = archived.verify(&[]).await;
    assert_eq!(report.get("data").outcome, VerifyOutcome::Ok, "{report:#?}");
    let get = archived.scratch.run(&["get", "data"]).await;
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert!(get.stdout == archived.payload("data"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orphan_object_is_a_warning_not_a_failure() {
    let archived = Archived::one_copy().await;
    let orphan = archived.plant_orphan();
    let object = format!("objects/sha256/ab/{}", &ORPHAN_SHA[2..]);

    let (code, report, stderr) = archived.verify(&[]).await;
    assert_eq!(code, 0, "an orphan must not fail verify: {report:#?}\n{stderr}");
    assert!(
        report.results.iter().all(|r| r.outcome == VerifyOutcome::Ok),
        "{report:#?}"
    );
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains(&object), "{:?}", report.warnings);

    let human = archived.verify_raw(&[]).await;
    assert_eq!(human.code, 0, "{}", human.stderr);
    let text = String::from_utf8(human.stdout).unwrap();
    let warning = text
        .lines()
        .find(|l| l.starts_with("warning:"))
        .unwrap_or_else(|| panic!("no warning line in human output:\n{text}"));
    assert!(warning.contains(&object), "{warning}");
    assert!(orphan.is_file(), "verify must not remove anything");
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_report_carries_a_failure_for_the_corrupt_link() {
    let archived = Archived::one_copy().await;
    let snapshot = archived.latest("data");
    flip_in_record(&archived.scratch.archive, &snapshot, &archived.payload("data"));
    let out = archived.scratch.dir.path().join("verify.xml");

    let run = archived
        .verify_raw(&["--format", "junit", "-o", out.to_str().unwrap()])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the report goes to -o, not stdout");
    let xml = std::fs::read_to_string(&out).unwrap();

    // (testcase name, failure message) for every testcase, read with a real XML parser.
    let mut cases: Vec<(String, Option<String>)> = Vec::new();
    let mut failures_attr = None;
    let mut reader = Reader::from_str(&xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let attr = |name: &[u8]| {
                    e.try_get_attribute(name)
                        .unwrap()
                        .map(|a| a.unescape_value().unwrap().into_owned())
                };
                match e.name().as_ref() {
                    b"testsuite" => failures_attr = attr(b"failures"),
                    b"testcase" => cases.push((attr(b"name").unwrap(), None)),
                    b"failure" => cases.last_mut().expect("failure outside a testcase").1 = attr(b"message"),
                    _ => {}
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("invalid XML at {}: {e}\n{xml}", reader.buffer_position()),
        }
    }
    let names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["page", "report-pdf", "data"], "{xml}");
    assert_eq!(failures_attr.as_deref(), Some("1"), "{xml}");
    for (name, failure) in &cases {
        if name == "data" {
            let message = failure
                .as_deref()
                .unwrap_or_else(|| panic!("no <failure> for data:\n{xml}"));
            assert!(message.contains("corrupt_object"), "{message}");
            assert!(message.contains(snapshot["warc"].as_str().unwrap()), "{message}");
        } else {
            assert_eq!(failure, &None, "{name} failed:\n{xml}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_without_a_manifest_exits_2() {
    let scratch = Scratch::new(&[("page", "http://127.0.0.1:9/page".to_owned())]);
    let run = scratch.run(&["verify", "--format", "json"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("manifest"), "{}", run.stderr);
    assert!(
        !scratch.archive.exists(),
        "verify created {}",
        scratch.archive.display()
    );
}
