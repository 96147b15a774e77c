//! An archive of linkkeep 0.1.0 (`tests/fixtures/archive-0.1.0`) opens as it is, and
//! `repair --migrate` moves it to the layout where a WARC record is each payload's only copy:
//! every hash unchanged, every byte read back the same, `objects/` gone, nothing done twice,
//! nothing changed by a dry run, and an archive that still reads when the migration stops
//! half way. Guards issue #13.

use std::collections::BTreeMap;
use std::ffi::OsStr;

use serde_json::Value;

use crate::support::archive::sha256_hex;
use crate::support::old_archive::{CHUNKED, EARLY, GZIPPED, IDS, OldArchive, PDF, SNAPSHOTS, Snap};
use crate::support::pytools::{read_all, run_tool, tools_or_skip};

/// The `migration` part of a repair report.
fn migration(report: &Value) -> &Value {
    let m = &report["migration"];
    assert!(m.is_object(), "no migration in the report: {report:#}");
    m
}

/// How each snapshot (`<id>[<index>]`) was moved, from a repair report.
fn how(report: &Value) -> BTreeMap<String, String> {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    migration(report)["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let id = m["link"].as_str().unwrap().to_owned();
            let n = index.entry(id.clone()).or_default();
            *n += 1;
            (format!("{id}[{}]", *n - 1), m["how"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// What the migration of the fixture does to each snapshot.
fn expected_moves() -> BTreeMap<String, String> {
    [
        (format!("{GZIPPED}[0]"), "own_record"),
        (format!("{PDF}[0]"), "own_record"),
        (format!("{CHUNKED}[0]"), "own_record"),
        (format!("{CHUNKED}[1]"), "own_record"),
        (format!("{EARLY}[0]"), "new_record"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// Asserts the migrated layout: no snapshot names an object, each names its record flat (no
/// nested `warc_record`), hash and size are those of `before`, and the record decodes to the
/// bytes of `payloads`; no `objects/` left.
fn assert_migrated(old: &OldArchive, before: &[Snap], payloads: &BTreeMap<String, Vec<u8>>) {
    assert!(!old.archive().join("objects").exists(), "objects/ is gone");
    let after = old.snapshots();
    assert_eq!(after.len(), SNAPSHOTS);
    for (snap, was) in after.iter().zip(before) {
        assert_eq!(snap.name(), was.name());
        let s = &snap.json;
        assert_eq!(s.get("object"), None, "{}: {s:#}", snap.name());
        assert_eq!(s.get("warc_record"), None, "{}: written flat: {s:#}", snap.name());
        for field in [
            "sha256",
            "size",
            "content_type",
            "first_seen",
            "last_seen",
            "final_url",
            "title",
            "etag",
        ] {
            assert_eq!(s[field], was.json[field], "{}: {field} unchanged", snap.name());
        }
        let bytes = old.record_payload(snap);
        assert!(
            bytes == payloads[&snap.name()],
            "{}: the record holds other bytes",
            snap.name()
        );
        assert_eq!(sha256_hex(&bytes), snap.sha256(), "{}", snap.name());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0_1_0_archive_opens_as_it_is() {
    let old = OldArchive::copy();
    let status = old.scratch.run(&["status"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let table = String::from_utf8(status.stdout).unwrap();
    for id in IDS {
        assert!(table.contains(id), "status lists {id}:\n{table}");
    }
    assert!(table.contains("5 snapshots"), "{table}");

    // `get` gives each object's bytes, which hash to the snapshot's sha256.
    let payloads = old.payloads().await;
    assert_eq!(payloads.len(), SNAPSHOTS);
    for snap in old.snapshots() {
        let object = std::fs::read(old.object_path(snap.sha256())).unwrap();
        assert!(
            payloads[&snap.name()] == object,
            "{}: get gives the object's bytes",
            snap.name()
        );
    }
    // The gzip page's record keeps the wire bytes; the object, and `get`, the page.
    let gzipped = old.snapshots().into_iter().find(|s| s.id == GZIPPED).unwrap();
    assert!(payloads[&gzipped.name()].starts_with(b"<!doctype html>"));

    let (code, report) = old.verify().await;
    assert_eq!(code, 0, "{report:#}");
    for result in report["results"].as_array().unwrap() {
        assert_eq!(result["outcome"], "ok", "{result:#}");
    }

    // Plain repair keeps it as it is: nothing to rebuild, nothing to report.
    let tree = old.tree();
    let (code, report, stderr) = old.repair(&[]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["manifest"]["action"], "kept");
    assert_eq!(report["index"]["action"], "kept");
    assert_eq!(report.get("migration"), None, "only with --migrate");
    assert!(old.tree() == tree, "plain repair changed the 0.1.0 archive");
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_moves_every_payload_into_warc_with_every_hash_unchanged() {
    let old = OldArchive::copy();
    let payloads = old.payloads().await;
    let before = old.snapshots();
    let warcs_before = old.warc_files();

    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["problems"], serde_json::json!([]));
    let m = migration(&report);
    assert_eq!(m["snapshots"], SNAPSHOTS);
    assert_eq!(how(&report), expected_moves());
    assert_eq!(m["records_written"], 1, "the early capture alone had no record");
    assert_eq!(m["index_lines_added"], 1);
    assert_eq!(
        m["objects_removed"].as_array().unwrap().len(),
        5,
        "one per distinct payload"
    );
    assert_eq!(m["objects_dir_removed"], true);
    assert_eq!(m["objects_left"], serde_json::json!([]));

    assert_migrated(&old, &before, &payloads);
    let status = old.scratch.run(&["status"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(String::from_utf8(status.stdout).unwrap().contains("5 snapshots"));

    // The migration's WARC file: a warcinfo record, then the early capture's payload as a
    // resource record, under its URL, content type and capture date.
    let file = m["warc_file"].as_str().unwrap();
    let mut warcs = warcs_before.clone();
    warcs.push(file.strip_prefix("warc/").unwrap().to_owned());
    warcs.sort();
    assert_eq!(old.warc_files(), warcs, "one new WARC file");
    let records = read_all(&old.archive().join(file));
    let kinds: Vec<&str> = records.iter().map(|r| r.kind()).collect();
    assert_eq!(kinds, ["warcinfo", "resource"]);
    let early = old.snapshots().into_iter().find(|s| s.id == EARLY).unwrap();
    let resource = &records[1];
    assert_eq!(early.json["warc"], file);
    assert_eq!(early.json["offset"], resource.offset);
    assert_eq!(resource.field("WARC-Target-URI"), early.json["final_url"].as_str());
    assert_eq!(resource.field("Content-Type"), Some("text/html"));
    assert_eq!(resource.field("WARC-Date"), early.json["first_seen"].as_str());
    assert_eq!(
        resource.field("WARC-Payload-Digest"),
        early.json["payload_digest"].as_str(),
        "the snapshot names the record's digest"
    );

    // The index has the new record; a plain repair finds the archive whole and changes nothing.
    let index = std::fs::read_to_string(old.archive().join("index.cdxj")).unwrap();
    assert_eq!(
        index
            .lines()
            .filter(|l| l.contains(file.strip_prefix("warc/").unwrap()))
            .count(),
        1
    );
    let tree = old.tree();
    let (code, report, stderr) = old.repair(&[]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(
        (&report["manifest"]["action"], &report["index"]["action"]),
        (&"kept".into(), &"kept".into())
    );
    assert!(old.tree() == tree, "plain repair changed the migrated archive");
}

/// `get` and `verify` read the migrated archive from its records alone.
#[tokio::test(flavor = "multi_thread")]
async fn the_migrated_archive_reads_through_get_and_verify() {
    let old = OldArchive::copy();
    let payloads = old.payloads().await;
    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert!(
        old.payloads().await == payloads,
        "get gives back every snapshot's bytes"
    );
    let (code, report) = old.verify().await;
    assert_eq!(code, 0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_changes_nothing_and_a_second_migration_does_nothing() {
    let old = OldArchive::copy();
    let untouched = crate::support::repair::tree_bytes(old.archive());
    let (code, report, stderr) = old.repair(&["--migrate", "--dry-run"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert!(
        crate::support::repair::tree_bytes(old.archive()) == untouched,
        "a dry run wrote something"
    );
    assert_eq!(report["dry_run"], true);
    let m = migration(&report);
    assert_eq!(how(&report), expected_moves(), "what it would do");
    assert_eq!(m["records_written"], 1);
    assert_eq!(m["objects_removed"].as_array().unwrap().len(), 5);
    assert_eq!(m["objects_dir_removed"], true);
    assert!(m["warc_file"].as_str().is_some());

    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let migrated = old.tree();
    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert!(old.tree() == migrated, "a second migration wrote something");
    let m = migration(&report);
    assert_eq!(m["snapshots"], 0);
    assert_eq!(m["moved"], serde_json::json!([]));
    assert_eq!(m["warc_file"], Value::Null);
    assert_eq!(m["objects_removed"], serde_json::json!([]));
    assert!(stderr.contains("nothing to migrate"), "the summary line: {stderr}");

    let human = old.scratch.run(&["repair", "--migrate"]).await;
    assert_eq!(human.code, 0, "{}", human.stderr);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("migration: no snapshot names a 0.1.0 object"), "{text}");
}

/// The migration writes its WARC file and index lines, then fails to save the manifest (its
/// temporary file's path is taken by a directory): the archive reads as before, every object
/// still there; run again, it finds the record it wrote instead of writing another.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_migration_leaves_an_archive_that_reads_and_resumes() {
    let old = OldArchive::copy();
    let payloads = old.payloads().await;
    let before = old.snapshots();
    let manifest = std::fs::read(old.archive().join("manifest.json")).unwrap();
    let objects = old.object_files();
    let blocker = old.archive().join(".manifest.json.tmp");
    std::fs::create_dir(&blocker).unwrap();

    let run = old.scratch.run(&["repair", "--migrate"]).await;
    assert_eq!(run.code, 2, "the manifest cannot be saved: {}", run.stderr);
    assert!(run.stderr.contains("manifest.json"), "{}", run.stderr);
    assert_eq!(std::fs::read(old.archive().join("manifest.json")).unwrap(), manifest);
    assert_eq!(old.object_files(), objects, "no object removed");
    let warcs = old.warc_files();
    assert_eq!(warcs.len(), 3, "the migration's WARC file was written: {warcs:?}");

    // Still an archive of 0.1.0 that reads: every snapshot's bytes, and a clean verify.
    assert!(old.payloads().await == payloads, "get after the interrupted migration");
    let (code, report) = old.verify().await;
    assert_eq!(code, 0, "{report:#}");

    std::fs::remove_dir(&blocker).unwrap();
    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let mut moves = expected_moves();
    moves.insert(format!("{EARLY}[0]"), "same_payload".into());
    assert_eq!(
        how(&report),
        moves,
        "the record the first run wrote holds the early payload"
    );
    let m = migration(&report);
    assert_eq!((&m["records_written"], &m["warc_file"]), (&0.into(), &Value::Null));
    assert_eq!(old.warc_files(), warcs, "no second WARC file");
    assert_migrated(&old, &before, &payloads);
}

/// A snapshot whose own record holds other bytes points at the record that holds its payload
/// (found by its digest); an object that no record holds and that does not hash to its
/// snapshot stays, named, and is reported.
#[tokio::test(flavor = "multi_thread")]
async fn only_records_that_hold_the_payload_replace_an_object() {
    let old = OldArchive::copy();
    let path = old.archive().join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let page_record = manifest["links"][GZIPPED]["snapshots"][0]["warc_record"].clone();
    let pdf = &mut manifest["links"][PDF]["snapshots"][0];
    let pdf_offset = pdf["warc_record"]["offset"].clone();
    pdf["warc_record"] = page_record;
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let early_sha = manifest["links"][EARLY]["snapshots"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let early_object = old.object_path(&early_sha);
    let mut bytes = std::fs::read(&early_object).unwrap();
    bytes[10] ^= 1;
    std::fs::remove_file(&early_object).unwrap();
    std::fs::write(&early_object, &bytes).unwrap();

    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 1, "a payload could not be moved: {report:#}\n{stderr}");
    let mut moves = expected_moves();
    moves.insert(format!("{PDF}[0]"), "same_payload".into());
    moves.insert(format!("{EARLY}[0]"), "not_moved".into());
    assert_eq!(how(&report), moves);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].as_str().unwrap().contains("link early"), "{problems:#?}");

    let snaps = old.snapshots();
    let pdf = snaps.iter().find(|s| s.id == PDF).unwrap();
    assert_eq!(pdf.json["offset"], pdf_offset, "the PDF's own response record");
    assert_eq!(sha256_hex(&old.record_payload(pdf)), pdf.sha256());
    let early = snaps.iter().find(|s| s.id == EARLY).unwrap();
    assert!(
        early.json["object"].is_string(),
        "still names its object: {:#}",
        early.json
    );
    assert_eq!(old.object_files(), [early_object], "only the early object is left");
    assert_eq!(migration(&report)["objects_dir_removed"], false);
}

/// A manifest of 0.1.0 rebuilt by plain repair points each snapshot at its record, with the
/// decoded payload's hash, and names an object only where the file is there; it then migrates.
#[tokio::test(flavor = "multi_thread")]
async fn a_rebuilt_manifest_points_at_records_and_names_only_objects_that_are_there() {
    let old = OldArchive::copy();
    let payloads = old.payloads().await;
    let before = old.snapshots();
    std::fs::remove_file(old.archive().join("manifest.json")).unwrap();
    let gzipped = before.iter().find(|s| s.id == GZIPPED).unwrap();
    std::fs::remove_file(old.object_path(gzipped.sha256())).unwrap();

    let (code, report, stderr) = old.repair(&[]).await;
    // The early run's WARC file is gone: its capture is rebuilt from its report alone.
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    assert_eq!(report["manifest"]["action"], "rebuilt");
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.iter().all(|p| p.as_str().unwrap().contains("b2ii")),
        "only the early run's missing WARC file: {problems:#?}"
    );
    let after = old.snapshots();
    assert_eq!(after.len(), SNAPSHOTS);
    for (snap, was) in after.iter().zip(&before) {
        assert_eq!(snap.name(), was.name());
        for field in ["sha256", "size", "title", "first_seen", "final_url"] {
            assert_eq!(snap.json[field], was.json[field], "{}: {field}", snap.name());
        }
        let has_object = snap.id != GZIPPED;
        assert_eq!(
            snap.json["object"].is_string(),
            has_object,
            "{}: {:#}",
            snap.name(),
            snap.json
        );
        if snap.id != EARLY {
            assert_eq!(
                snap.json["offset"],
                was.json["warc_record"]["offset"],
                "{}",
                snap.name()
            );
            assert!(old.record_payload(snap) == payloads[&snap.name()], "{}", snap.name());
        }
    }

    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let mut moves = expected_moves();
    moves.remove(&format!("{GZIPPED}[0]"));
    assert_eq!(how(&report), moves, "the gzip page named no object");
    assert_migrated(&old, &before, &payloads);
}

/// warcio checks both digests of every record of the migration's WARC file, and pywb's own
/// indexer gives the very lines linkkeep added to `index.cdxj`.
#[tokio::test(flavor = "multi_thread")]
async fn the_migration_warc_passes_warcio_and_pywb_indexes_it_as_we_do() {
    let Some([warcio, indexer]) = tools_or_skip(["warcio", "cdx-indexer"]) else {
        return;
    };
    let old = OldArchive::copy();
    let (code, report, stderr) = old.repair(&["--migrate"]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let file = old.archive().join(migration(&report)["warc_file"].as_str().unwrap());
    let dir = old.scratch.dir.path();
    let check = run_tool(&warcio, &[OsStr::new("check"), OsStr::new("-v"), file.as_os_str()], dir).await;
    assert_eq!(check.code, 0, "{}", check.output());
    assert_eq!(check.output().matches("digest pass").count(), 2, "{}", check.output());
    assert!(!check.output().contains("digest failed"), "{}", check.output());

    let indexed = run_tool(&indexer, &[OsStr::new("--cdxj"), file.as_os_str()], dir).await;
    assert_eq!(indexed.code, 0, "{}", indexed.output());
    let name = file.file_name().unwrap().to_str().unwrap();
    let ours: Vec<String> = std::fs::read_to_string(old.archive().join("index.cdxj"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(name))
        .map(str::to_owned)
        .collect();
    let theirs: Vec<String> = indexed
        .stdout
        .lines()
        .filter(|l| !l.starts_with(" CDX"))
        .map(str::to_owned)
        .collect();
    assert_eq!(ours, theirs);
}
