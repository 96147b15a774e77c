//! `linkkeep repair` (issue #12): the index and the manifest rebuilt from the WARC files and
//! the run reports of a real two-run archive (redirect, error response, gzip-encoded page,
//! revisits of both kinds, a changed page, a link that never connects), compared with what
//! the archive runs themselves wrote; damaged files moved aside, never deleted; a dry run that
//! writes nothing; the lock; and pywb replaying the repaired archive.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

use crate::support::archive::{Scratch, json_run, run_raw, wait_child, wait_for_checkpoint, wait_until};
use crate::support::bodies::Gate;
use crate::support::pytools::{Wayback, run_tool, tools_or_skip, ts14};
use crate::support::repair::{CHANGING, FAILING, GZIPPED, MOVED, TwoRuns, VALIDATED, comparable, tree_bytes};

/// The snapshot fields a rebuild must give back exactly, as the archive runs wrote them.
const SNAPSHOT_FIELDS: [&str; 19] = [
    "sha256",
    "size",
    "content_type",
    "first_seen",
    "last_seen",
    "http_status",
    "url",
    "final_url",
    "etag",
    "last_modified",
    "title",
    "object",
    "warc",
    "offset",
    "length",
    "record_id",
    "record_date",
    "payload_digest",
    "run",
];

/// The JSON part of a CDXJ line.
fn cdxj_json(line: &str) -> Value {
    serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_index_is_rebuilt_line_for_line() {
    let two = TwoRuns::build().await;
    let original = two.index();
    // The index holds every kind of line a run writes, so the comparison covers them all.
    let lines: Vec<Value> = original.lines().map(cdxj_json).collect();
    let count = |f: &dyn Fn(&Value) -> bool| lines.iter().filter(|l| f(l)).count();
    assert_eq!(count(&|l| l["mime"] == "warc/revisit"), 3, "{original}");
    assert_eq!(count(&|l| l["status"] == "301"), 2, "{original}");
    assert_eq!(count(&|l| l["status"] == "404"), 2, "{original}");
    assert_eq!(count(&|l| l["status"] == "200"), 5, "{original}");
    let manifest = two.scratch.manifest();

    std::fs::remove_file(two.archive().join("index.cdxj")).unwrap();
    let (code, report, stderr) = two.repair(&[]).await;

    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let rebuilt = two.index();
    let (old, new): (Vec<&str>, Vec<&str>) = (original.lines().collect(), rebuilt.lines().collect());
    assert_eq!(new.len(), old.len(), "{rebuilt}");
    for (n, (old, new)) in old.iter().zip(&new).enumerate() {
        assert_eq!(new, old, "line {}", n + 1);
    }
    assert_eq!(rebuilt, original, "byte for byte");
    assert_eq!(report["index"]["action"], "rebuilt");
    assert_eq!(report["index"]["lines"], old.len());
    assert_eq!(report["index"]["added"], old.len());
    // A manifest that parses is left as it is.
    assert_eq!(report["manifest"]["state"], "ok");
    assert_eq!(report["manifest"]["action"], "kept");
    assert_eq!(two.scratch.manifest(), manifest);
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_manifest_is_rebuilt_field_by_field() {
    let two = TwoRuns::build().await;
    let original = two.scratch.manifest();
    let index = two.index();

    std::fs::remove_file(two.archive().join("manifest.json")).unwrap();
    let (code, report, stderr) = two.repair(&[]).await;

    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["manifest"]["state"], "missing");
    assert_eq!(report["manifest"]["action"], "rebuilt");
    assert_eq!(report["manifest"]["runs"], 2);
    assert_eq!(report["index"]["action"], "kept", "the index was whole");
    assert_eq!(two.index(), index);
    let rebuilt = two.scratch.manifest();

    // Links in the same order, each field as the runs wrote it, except what `comparable`
    // blanks out: updated_at, and last_check.at of the failed checks.
    let ids = |m: &Value| m["links"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(ids(&rebuilt), ids(&original));
    for (id, entry) in original["links"].as_object().unwrap() {
        let got = &rebuilt["links"][id];
        assert_eq!(got["url"], entry["url"], "{id}: url");
        for field in ["outcome", "http_status", "final_url", "error", "run"] {
            assert_eq!(
                got["last_check"][field], entry["last_check"][field],
                "{id}: last_check.{field}"
            );
        }
        if !FAILING.contains(&id.as_str()) {
            // A check that captured something ended at its record's WARC-Date, exactly.
            assert_eq!(
                got["last_check"]["at"], entry["last_check"]["at"],
                "{id}: last_check.at"
            );
        }
        let (old, new) = (
            entry["snapshots"].as_array().unwrap(),
            got["snapshots"].as_array().unwrap(),
        );
        assert_eq!(new.len(), old.len(), "{id}: snapshots");
        for (n, (old, new)) in old.iter().zip(new).enumerate() {
            for field in SNAPSHOT_FIELDS {
                assert_eq!(new.get(field), old.get(field), "{id}: snapshots[{n}].{field}");
            }
        }
    }
    assert_eq!(comparable(&rebuilt), comparable(&original), "nothing else differs");
    // The snapshots really carry what this test compares.
    let snapshots = |id: &str| original["links"][id]["snapshots"].as_array().unwrap().clone();
    assert_eq!(snapshots(CHANGING).len(), 2);
    assert_eq!(snapshots(CHANGING)[1]["title"], "Final");
    assert_eq!(snapshots(GZIPPED)[0]["title"], "Compressed");
    assert_eq!(snapshots(VALIDATED)[0]["etag"], "\"v1\"");
    assert_ne!(snapshots(MOVED)[0]["final_url"], snapshots(MOVED)[0]["url"]);
    assert_eq!(snapshots(MOVED)[0]["run"], two.runs[0].as_str());

    // What could only be approximated is said, and nothing more.
    let inexact = report["inexact"].as_array().unwrap();
    for id in FAILING {
        assert!(
            inexact
                .iter()
                .any(|x| x["link"] == id && x["field"] == "last_check.at" && x["run"] == two.runs[1].as_str()),
            "{id}: {inexact:#?}"
        );
    }
    // Run 1's approximations were replaced by run 2's checks: only the final ones are listed.
    assert_eq!(inexact.len(), FAILING.len(), "{inexact:#?}");
    assert_eq!(report["problems"], serde_json::json!([]));

    let verify = two.scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "verify on the repaired archive:\n{}", verify.stderr);
    // `serve` replays the latest capture of every link of the rebuilt manifest, byte for byte
    // (the two runs may share a second, so an earlier one cannot be picked by its time).
    let router = crate::support::serve::router(&two.scratch);
    for (id, entry) in rebuilt["links"].as_object().unwrap() {
        let Some(latest) = entry["snapshots"].as_array().unwrap().last() else {
            continue;
        };
        // Replayed under the cited URL, as readers look it up.
        let url = entry["url"].as_str().unwrap();
        let mut reply = crate::support::serve::get(&router, &format!("/web/29991231235959id_/{url}"), &[]).await;
        if reply.status == 302 {
            // To the capture's own timestamp, as Wayback machines do.
            let location = reply.header("location").to_owned();
            assert!(location.starts_with("/web/"), "{id}: redirected to {location}");
            reply = crate::support::serve::get(&router, &location, &[]).await;
        }
        assert_eq!(reply.status, 200, "{id} ({url}): {}", reply.text());
        let object = std::fs::read(two.archive().join(latest["object"].as_str().unwrap())).unwrap();
        assert_eq!(reply.body, object, "{id}: the payload");
    }

    // Once repaired, there is nothing left to do.
    let (code, again, _) = two.repair(&[]).await;
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["manifest"]["action"], "kept");
    assert_eq!(again["index"]["action"], "kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_manifest_is_moved_aside_named_and_rebuilt() {
    let two = TwoRuns::build().await;
    let original = two.scratch.manifest();
    let corrupt = b"{\"schema_version\": 1,\n \"links\": {\"moved\": {\"url\": ";
    std::fs::write(two.archive().join("manifest.json"), corrupt).unwrap();

    let run = two.scratch.run(&["repair"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let stdout = String::from_utf8(run.stdout).unwrap();
    let aside: Vec<String> = std::fs::read_dir(two.archive())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("manifest.json.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read(two.archive().join(&aside[0])).unwrap(),
        corrupt,
        "moved, not changed"
    );
    assert!(stdout.contains(&aside[0]), "the damaged copy is named:\n{stdout}");
    assert!(stdout.contains("does not parse (line 2"), "{stdout}");
    assert_eq!(comparable(&two.scratch.manifest()), comparable(&original));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_warc_file_keeps_its_whole_records_and_an_unreadable_one_is_moved_aside() {
    let two = TwoRuns::build().await;
    let original = two.index();
    let name = |n: usize| format!("{}.warc.gz", two.runs[n]);
    // The last member of run 2's file is a response or revisit: an index line.
    let last = original
        .lines()
        .map(cdxj_json)
        .filter(|l| l["filename"] == name(1).as_str())
        .max_by_key(|l| l["offset"].as_str().unwrap().parse::<u64>().unwrap())
        .unwrap();
    let offset: u64 = last["offset"].as_str().unwrap().parse().unwrap();
    let length: u64 = last["length"].as_str().unwrap().parse().unwrap();
    let bytes = std::fs::read(two.warc(1)).unwrap();
    assert_eq!(bytes.len() as u64, offset + length);
    std::fs::write(two.warc(1), &bytes[..(offset + length / 2) as usize]).unwrap();
    let garbage = b"this was never a WARC file".to_vec();
    let stray = two.archive().join("warc/20200101T000000Z-zzzz.warc.gz");
    std::fs::write(&stray, &garbage).unwrap();
    let manifest = two.scratch.manifest();

    let (code, report, stderr) = two.repair(&[]).await;

    assert_eq!(code, 1, "something could not be recovered: {report:#}\n{stderr}");
    let expected: Vec<&str> = original
        .lines()
        .filter(|l| {
            let l = cdxj_json(l);
            !(l["filename"] == name(1).as_str() && l["offset"] == offset.to_string().as_str())
        })
        .collect();
    assert_eq!(expected.len(), original.lines().count() - 1);
    assert_eq!(two.index().lines().collect::<Vec<_>>(), expected);
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let cut = format!("warc/{}: offset {offset}:", name(1));
    assert!(problems.iter().any(|p| p.starts_with(&cut)), "{problems:#?}");
    // Moved aside whole, and named.
    assert!(!stray.exists());
    let moved = two.archive().join("damaged/20200101T000000Z-zzzz.warc.gz");
    assert_eq!(std::fs::read(&moved).unwrap(), garbage);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("warc/20200101T000000Z-zzzz.warc.gz:") && p.contains("damaged/")),
        "{problems:#?}"
    );
    // The manifest parses: it is kept, and a snapshot whose record was cut off is named.
    assert_eq!(two.scratch.manifest(), manifest);
    for (id, entry) in manifest["links"].as_object().unwrap() {
        for snapshot in entry["snapshots"].as_array().unwrap() {
            if snapshot["offset"] == offset && snapshot["warc"] == format!("warc/{}", name(1)).as_str() {
                assert!(
                    problems.iter().any(|p| p.starts_with(&format!("link {id}:"))),
                    "{id}: {problems:#?}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_changes_no_byte_and_says_what_it_would_do() {
    let two = TwoRuns::build().await;
    let original_index = two.index();
    std::fs::remove_file(two.archive().join("index.cdxj")).unwrap();
    std::fs::write(two.archive().join("manifest.json"), "not JSON at all").unwrap();
    std::fs::write(two.archive().join("warc/20200101T000000Z-zzzz.warc.gz"), "garbage").unwrap();
    let before = tree_bytes(two.archive());

    let (code, planned, stderr) = two.repair(&["--dry-run"]).await;

    assert_eq!(code, 1, "the garbage file cannot be recovered: {planned:#}\n{stderr}");
    assert_eq!(tree_bytes(two.archive()), before, "a dry run wrote something");
    assert!(!two.archive().join("damaged").exists());
    assert_eq!(planned["dry_run"], true);
    assert_eq!(planned["index"]["action"], "would_rebuild");
    assert_eq!(planned["manifest"]["state"], "damaged");
    assert_eq!(planned["manifest"]["action"], "would_rebuild");
    let stray = planned["warc_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["file"] == "warc/20200101T000000Z-zzzz.warc.gz")
        .unwrap()
        .clone();
    assert_eq!(stray["moved_to"], "damaged/20200101T000000Z-zzzz.warc.gz");

    // The real run does what the dry run said.
    let (code, done, _) = two.repair(&[]).await;
    assert_eq!(code, 1, "{done:#}");
    assert_eq!(done["index"]["action"], "rebuilt");
    assert_eq!(done["manifest"]["action"], "rebuilt");
    for step in ["index", "manifest"] {
        for field in ["lines", "added", "removed", "links", "snapshots"] {
            assert_eq!(done[step].get(field), planned[step].get(field), "{step}.{field}");
        }
    }
    let aside = done["manifest"]["moved_to"].as_str().unwrap();
    assert!(aside.starts_with("manifest.json.damaged-"), "{aside}");
    assert_eq!(std::fs::read(two.archive().join(aside)).unwrap(), b"not JSON at all");
    assert_eq!(done["warc_files"], planned["warc_files"]);
    let said = planned["problems"]
        .to_string()
        .replace("would move it to", "moved it to");
    assert_eq!(done["problems"].to_string(), said);
    assert_eq!(done["inexact"], planned["inexact"]);
    assert_eq!(two.index(), original_index);
    assert!(two.archive().join("damaged/20200101T000000Z-zzzz.warc.gz").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn repair_exits_2_naming_the_holder_while_a_run_holds_the_lock() {
    let gate = Gate::start().await;
    let scratch = Scratch::new(&[("gated", gate.url.clone())]);
    let first = scratch.spawn_archive(&["--retries", "0", "--timeout", "30"]);
    let pid = first.id();
    wait_until("the run's request", || gate.requests() >= 1).await;

    let mut repair = scratch.cmd();
    repair.arg("repair");
    let refused = run_raw(repair).await;

    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("locked"), "{}", refused.stderr);
    assert!(refused.stderr.contains(&format!("pid {pid}")), "{}", refused.stderr);
    assert!(refused.stderr.contains("command archive"), "{}", refused.stderr);
    assert!(
        !scratch.archive.join("index.cdxj").exists(),
        "the refused repair wrote an index"
    );

    gate.open();
    let (code, stderr) = wait_child(first).await;
    assert_eq!(code, 0, "{stderr}");
    let mut repair = scratch.cmd();
    repair.arg("repair");
    let after = run_raw(repair).await;
    assert_eq!(after.code, 0, "once the run is done: {}", after.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_repaired_archive_replays_in_pywb() {
    let Some([wb_manager, wayback]) = tools_or_skip(["wb-manager", "wayback"]) else {
        return;
    };
    let two = TwoRuns::build().await;
    std::fs::remove_file(two.archive().join("index.cdxj")).unwrap();
    std::fs::remove_file(two.archive().join("manifest.json")).unwrap();
    let (code, report, stderr) = two.repair(&[]).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let warcs = [two.warc(0), two.warc(1)];

    let dir = tempfile::tempdir().unwrap();
    // pywb's own index of the WARC files is the rebuilt one.
    wb(&wb_manager, dir.path(), &[OsStr::new("init"), OsStr::new("theirs")]).await;
    let mut add = vec![OsStr::new("add"), OsStr::new("theirs")];
    add.extend(warcs.iter().map(|w| w.as_os_str()));
    wb(&wb_manager, dir.path(), &add).await;
    let theirs = std::fs::read_to_string(dir.path().join("collections/theirs/indexes/index.cdxj")).unwrap();
    let ours = two.index();
    assert_eq!(
        theirs.lines().collect::<BTreeSet<_>>(),
        ours.lines().collect::<BTreeSet<_>>(),
        "pywb's index of our WARC files vs the repaired index.cdxj"
    );
    // And pywb replays through the repaired index itself, not one of its own making.
    wb(&wb_manager, dir.path(), &[OsStr::new("init"), OsStr::new("ours")]).await;
    let collection = dir.path().join("collections/ours");
    for warc in &warcs {
        std::fs::copy(warc, collection.join("archive").join(warc.file_name().unwrap())).unwrap();
    }
    std::fs::copy(two.archive().join("index.cdxj"), collection.join("indexes/index.cdxj")).unwrap();

    let server = Wayback::start(&wayback, dir.path()).await;
    let manifest = two.scratch.manifest();
    let snapshot = |id: &str, n: usize| manifest["links"][id]["snapshots"][n].clone();
    let mut cases = vec![
        (snapshot(MOVED, 0), &two.moved_page),
        (snapshot(GZIPPED, 0), &two.gz_plain),
        (snapshot(CHANGING, 1), &two.changing[1]),
    ];
    // Timestamps have whole seconds: when both runs fell within one, a replay by time cannot
    // reach the first version, but pywb's CDX API must still list both captures from our index.
    let changed_url = snapshot(CHANGING, 0)["final_url"].as_str().unwrap().to_owned();
    let date = |n: usize| snapshot(CHANGING, n)["record_date"].clone();
    if date(0) != date(1) {
        cases.push((snapshot(CHANGING, 0), &two.changing[0]));
    }
    for (snapshot, body) in cases {
        let ts = ts14(snapshot["record_date"].as_str().unwrap());
        let url = snapshot["final_url"].as_str().unwrap();
        let response = server.replay_in("ours", &ts, url, "identity").await;
        assert_eq!(response.status(), 200, "{url} at {ts}: {}", server.log());
        let bytes = response.bytes().await.unwrap();
        assert!(
            bytes.as_ref() == body.as_slice(),
            "{url} at {ts}: pywb replayed {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let listed = server.cdx("ours", &changed_url).await;
    let digests: BTreeSet<String> = listed.lines().map(|l| cdxj_json(l)["digest"].to_string()).collect();
    assert_eq!(
        digests.len(),
        2,
        "both versions of {changed_url} in pywb's lookup:\n{listed}"
    );
}

/// Runs `wb-manager args…` in `dir`, which must succeed.
async fn wb(wb_manager: &Path, dir: &Path, args: &[&OsStr]) {
    let run = run_tool(wb_manager, args, dir).await;
    assert_eq!(run.code, 0, "wb-manager {args:?}:\n{}", run.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_run_report_is_named_and_what_it_held_is_approximated() {
    let two = TwoRuns::build().await;
    let original = two.scratch.manifest();
    std::fs::remove_file(two.archive().join(format!("runs/{}.json", two.runs[0]))).unwrap();
    std::fs::remove_file(two.archive().join("manifest.json")).unwrap();

    let (code, report, stderr) = two.repair(&[]).await;

    assert_eq!(
        code, 1,
        "run 1's captures are not in the manifest: {report:#}\n{stderr}"
    );
    let problems = report["problems"].to_string();
    assert!(
        problems.contains(&format!("warc/{}.warc.gz: no run report names it", two.runs[0])),
        "{problems}"
    );
    let rebuilt = two.scratch.manifest();
    let old = &original["links"][MOVED]["snapshots"][0];
    let new = &rebuilt["links"][MOVED]["snapshots"][0];
    // Run 2's revisit names the record run 1 wrote: the payload is still found there...
    assert_eq!(new["warc"], old["warc"]);
    for field in ["offset", "length", "record_id", "record_date", "payload_digest"] {
        assert_eq!(new[field], old[field], "{field}");
    }
    assert_eq!(new["sha256"], old["sha256"]);
    assert_eq!(new["title"], old["title"]);
    // ...but when it was first seen is run 2's time, and the report says so.
    assert_eq!(new["first_seen"], old["last_seen"]);
    let inexact = report["inexact"].as_array().unwrap();
    let listed = |link: &str, field: &str| inexact.iter().any(|x| x["link"] == link && x["field"] == field);
    assert!(listed(MOVED, "snapshots[0].first_seen"), "{inexact:#?}");
    // The changed page has only its second version; the report's "changed" is flagged.
    assert_eq!(rebuilt["links"][CHANGING]["snapshots"].as_array().unwrap().len(), 1);
    assert!(listed(CHANGING, "snapshots"), "{inexact:#?}");
    let verify = two.scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "what is in the manifest is intact:\n{}", verify.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_archive_is_an_error_and_creates_none() {
    let scratch = Scratch::new(&[("a", "http://127.0.0.1:9/a".to_owned())]);
    let missing = scratch.run(&["repair"]).await;
    assert_eq!(missing.code, 2, "no archive to repair: {}", missing.stderr);
    assert!(missing.stderr.contains("no archive"), "{}", missing.stderr);
    assert!(
        !scratch.archive.exists(),
        "repair created the archive it was pointed at"
    );
}

/// A run killed after a checkpoint, then its manifest and index lost: repair cuts the run's
/// WARC file, rebuilds what the run reports hold, and lays the killed run's journal over it.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runs_journal_is_recovered_into_a_rebuilt_manifest() {
    use std::time::Duration;
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    for (at, body) in [("/a", "page a"), ("/b", "page b")] {
        Mock::given(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/plain"))
            .mount(&server)
            .await;
    }
    Mock::given(path("/stalled"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[
        ("a", format!("{}/a", server.uri())),
        ("b", format!("{}/b", server.uri())),
        ("stalled", format!("{}/stalled", server.uri())),
    ]);
    let mut running = scratch.spawn_archive(&["--retries", "0", "--timeout", "300"]);
    let journal = wait_for_checkpoint(&scratch.archive, &["a", "b"]).await;
    running.kill().unwrap();
    running.wait().unwrap();
    let run = journal.file_stem().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(scratch.archive.join("manifest.json")).ok();
    std::fs::remove_file(scratch.archive.join("index.cdxj")).ok();

    let mut cmd = scratch.cmd();
    cmd.args(["repair", "--format", "json"]);
    let (code, report, stderr) = json_run(cmd).await;
    // Everything came back: the killed run's captures from its journal, not a run report.
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report:#}");
    assert_eq!(
        report["journal"]["files"],
        serde_json::json!([format!("journal/{run}.jsonl")])
    );
    assert_eq!(report["journal"]["recovered"], 1, "{report:#}");
    assert!(!journal.exists(), "the journal is compacted");

    let manifest = scratch.manifest();
    for id in ["a", "b"] {
        let entry = &manifest["links"][id];
        assert_eq!(entry["last_check"]["run"], run.as_str(), "{id}: {manifest:#}");
        assert_eq!(entry["snapshots"].as_array().unwrap().len(), 1, "{id}");
    }
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    for at in ["/a\"", "/b\""] {
        assert_eq!(index.lines().filter(|l| l.contains(at)).count(), 1, "{at} in\n{index}");
    }
    let verify = scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);
}
