//! SIGKILL at many moments of a long run, each only once the run's journal holds a checkpoint
//! on disk (guards issues #3, #12 and #15). Before recovery, `status` shows every link the
//! journal's last checkpoint holds and writes nothing; after recovery by the next writing
//! command, the manifest and the index agree record by record, every link finished before the
//! last checkpoint is there with the bytes the server sent (`get` gives them back), every link
//! an earlier run finished is as it was, the WARC tail is whole and `verify` passes. A final
//! uninterrupted run completes cleanly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use wiremock::{MockServer, Request, ResponseTemplate};

use crate::support::archive::{Scratch, random_bytes, sha256_hex, wait_child, wait_until};

const LINKS: usize = 150;
/// Links that answer only after [`SLOW`]: every run is still going when it is killed.
const SLOW_FROM: usize = 145;
const SLOW: Duration = Duration::from_secs(2);
/// Past the size kept in memory: a body with a WARC file of its own.
const LARGE: usize = linkkeep::warc::run::LARGE_BODY as usize;

/// The body of `/doc/<n>`: every tenth document is the same, some are large (a WARC file of
/// their own each), the rest distinct and up to ~200 KB.
fn body(n: usize) -> Vec<u8> {
    if n.is_multiple_of(10) {
        return b"shared payload".to_vec();
    }
    if n % 13 == 5 {
        return random_bytes(n as u64, LARGE + n * 1000);
    }
    random_bytes(n as u64, 1000 + (n % 7) * 30_000)
}

fn doc_number(request: &Request) -> usize {
    request.url.path().rsplit('/').next().unwrap().parse().unwrap()
}

/// The journal of the run in progress, if there is one.
fn journal_file(archive: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(archive.join("journal")).ok()?;
    entries
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
}

/// The links a journal's last checkpoint holds (id → the run's entry), and how many
/// checkpoints it has.
fn promised(journal: &Path) -> (BTreeMap<String, Value>, usize) {
    let text = std::fs::read_to_string(journal).unwrap();
    let (mut promised, mut pending, mut checkpoints) = (BTreeMap::new(), BTreeMap::new(), 0);
    for line in text.lines() {
        // A torn last line is not promised.
        let Ok(line) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if line.get("checkpoint").is_some() {
            promised.append(&mut pending);
            checkpoints += 1;
        } else {
            pending.insert(line["link"].as_str().unwrap().to_owned(), line["entry"].clone());
        }
    }
    (promised, checkpoints)
}

/// `(filename, offset, length, url)` of every index line.
fn index_records(archive: &Path) -> Vec<(String, u64, u64, String)> {
    let text = std::fs::read_to_string(archive.join("index.cdxj")).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().collect();
    let sorted = {
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        sorted
    };
    assert_eq!(lines, sorted, "the index is sorted byte-wise");
    lines.dedup();
    lines
        .iter()
        .map(|line| {
            let json: Value = serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap();
            let field = |name: &str| json[name].as_str().unwrap().to_owned();
            (
                field("filename"),
                field("offset").parse().unwrap(),
                field("length").parse().unwrap(),
                field("url"),
            )
        })
        .collect()
}

/// Asserts that the manifest and the index agree: every snapshot's record is indexed, every
/// index line is a whole gzip member of its WARC file, and the index lines of `run`'s WARC file
/// are exactly the records of the links whose last check was `run`.
fn assert_manifest_and_index_agree(archive: &Path, manifest: &Value, run: &str) {
    let records = index_records(archive);
    let indexed: BTreeSet<(String, u64)> = records.iter().map(|(f, o, _, _)| (f.clone(), *o)).collect();
    for (id, entry) in manifest["links"].as_object().unwrap() {
        for snapshot in entry["snapshots"].as_array().unwrap() {
            let warc = snapshot["warc"].as_str().unwrap();
            let offset = snapshot["offset"].as_u64().unwrap();
            let file = warc.strip_prefix("warc/").unwrap().to_owned();
            assert!(
                indexed.contains(&(file, offset)),
                "{id}: snapshot record {warc}@{offset} is not indexed"
            );
        }
    }
    for (file, offset, length, url) in &records {
        let bytes = std::fs::read(archive.join("warc").join(file)).unwrap();
        let member = &bytes[*offset as usize..(*offset + *length) as usize];
        let mut record = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(member), &mut record)
            .unwrap_or_else(|e| panic!("{file}@{offset}+{length} ({url}) is not a whole gzip member: {e}"));
        assert!(record.starts_with(b"WARC/1.1\r\n"), "{file}@{offset}");
    }
    // The run's own file, and the files of its large bodies (`<run>-<n>.warc.gz`).
    let of_run = |f: &str| {
        f.strip_suffix(".warc.gz")
            .and_then(|stem| stem.strip_prefix(run))
            .is_some_and(|rest| {
                rest.is_empty()
                    || rest
                        .strip_prefix('-')
                        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
    };
    let urls_indexed: BTreeSet<&str> = records
        .iter()
        .filter(|(f, ..)| of_run(f))
        .map(|(.., url)| url.as_str())
        .collect();
    let urls_checked: BTreeSet<&str> = manifest["links"]
        .as_object()
        .unwrap()
        .values()
        .filter(|entry| entry["last_check"]["run"] == run)
        .map(|entry| entry["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls_indexed, urls_checked,
        "the killed run's index lines and checked links"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_any_moment_leaves_a_consistent_archive() {
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(|request: &Request| {
            let n = doc_number(request);
            let delay = match n {
                n if n >= SLOW_FROM => SLOW,
                n => Duration::from_millis(20 + (n as u64 * 7) % 31),
            };
            ResponseTemplate::new(200)
                .set_body_raw(body(n), "application/octet-stream")
                .set_delay(delay)
        })
        .mount(&server)
        .await;
    let links: Vec<(String, String)> = (0..LINKS)
        .map(|n| (format!("doc-{n}"), format!("{}/doc/{n}", server.uri())))
        .collect();
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let scratch = Scratch::new(&links);
    // Sibling probes would ask the server for paths that are no document.
    let args = ["--per-host", "8", "--retries", "0", "--timeout", "10", "--no-soft-404"];

    // The manifest after the last recovery: what every later kill must leave alone.
    let mut previous: Option<Value> = None;
    // (checkpoints to wait for, then a little longer): kills early and late, right after a
    // checkpoint and between two. No kill comes before a checkpoint is on disk.
    for (checkpoints, extra_ms) in [(1, 0), (1, 40), (2, 0), (2, 90), (3, 10), (1, 150)] {
        let mut child = scratch.spawn_archive(&args);
        let mut journal = None;
        wait_until("a checkpoint in the run's journal", || {
            journal = journal_file(&scratch.archive).filter(|j| promised(j).1 >= checkpoints);
            journal.is_some()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(extra_ms)).await;
        assert!(child.try_wait().unwrap().is_none(), "the run ended before the kill");
        child.kill().unwrap();
        child.wait().unwrap();
        let journal = journal.unwrap();
        let run = journal.file_stem().unwrap().to_str().unwrap().to_owned();
        let (promised, _) = promised(&journal);
        assert!(!promised.is_empty(), "a checkpoint holds links");

        // A reader sees the checkpoint without writing anything.
        let manifest_before = std::fs::read(scratch.archive.join("manifest.json")).ok();
        let status = scratch.run(&["status", "--format", "json"]).await;
        assert!(status.code <= 1, "{}", status.stderr);
        let status: Value = serde_json::from_slice(&status.stdout).unwrap();
        let status_links = status["links"].as_array().unwrap();
        for id in promised.keys() {
            let link = status_links.iter().find(|l| l["id"] == id.as_str()).unwrap();
            assert_eq!(
                link["last_check"]["run"],
                run.as_str(),
                "status shows {id} from the journal"
            );
        }
        assert!(journal.exists(), "status leaves the journal alone");
        assert_eq!(
            std::fs::read(scratch.archive.join("manifest.json")).ok(),
            manifest_before
        );

        // The next writing command recovers the run.
        let recover = scratch.run(&["gc"]).await;
        assert_eq!(recover.code, 0, "{}", recover.stderr);
        assert!(
            recover.stderr.contains(&format!("recovered the killed run {run}")),
            "{}",
            recover.stderr
        );
        assert!(!journal.exists(), "the journal is compacted");
        let manifest = scratch.manifest();
        for (id, entry) in &promised {
            assert_eq!(&manifest["links"][id], entry, "{id} as its checkpoint had it");
            // …with the bytes the server sent.
            let n: usize = id.strip_prefix("doc-").unwrap().parse().unwrap();
            let latest = entry["snapshots"].as_array().unwrap().last().unwrap();
            assert_eq!(latest["sha256"], sha256_hex(&body(n)), "{id}");
        }
        // What earlier runs finished survives a kill of this one: a link this run did not
        // promise is as the last recovery left it.
        if let Some(previous) = &previous {
            for (id, entry) in previous["links"].as_object().unwrap() {
                if !promised.contains_key(id) {
                    assert_eq!(&manifest["links"][id], entry, "{id} survives the kill of {run}");
                }
            }
        }
        // And it reads back as it was archived, through the command a user would run.
        let (id, _) = promised.iter().next().unwrap();
        let n: usize = id.strip_prefix("doc-").unwrap().parse().unwrap();
        let got = scratch.run(&["get", id]).await;
        assert_eq!(got.code, 0, "get {id}: {}", got.stderr);
        assert!(got.stdout == body(n), "get {id} gives the bytes the server sent");
        assert_manifest_and_index_agree(&scratch.archive, &manifest, &run);
        scratch.assert_payloads_intact(&manifest);
        // A large body's file finished after the last checkpoint went with the kill.
        let named: BTreeSet<String> = scratch.payload_records().into_iter().map(|(warc, _)| warc).collect();
        for file in scratch.warc_files() {
            let name = format!("warc/{}", file.file_name().unwrap().to_str().unwrap());
            if name.trim_end_matches(".warc.gz") != format!("warc/{run}") && name.contains(&run) {
                assert!(named.contains(&name), "{name} is named by no snapshot");
            }
        }
        let verify = scratch.run(&["verify"]).await;
        assert_eq!(verify.code, 0, "verify after recovering {run}: {}", verify.stderr);
        previous = Some(manifest);
    }

    let run = scratch.spawn_archive(&args);
    let (code, stderr) = wait_child(run).await;
    assert_eq!(code, 0, "{stderr}");
    let manifest = scratch.manifest();
    assert_eq!(manifest["links"].as_object().unwrap().len(), LINKS);
    for (id, entry) in manifest["links"].as_object().unwrap() {
        assert_eq!(entry["last_check"]["outcome"], "ok", "{id}: {entry:#}");
        assert_eq!(entry["snapshots"].as_array().unwrap().len(), 1, "{id}: {entry:#}");
    }
    assert_eq!(scratch.assert_payloads_intact(&manifest), LINKS);
    let distinct = LINKS - LINKS / 10 + 1;
    assert_eq!(
        scratch.payload_records().len(),
        distinct,
        "one file per distinct payload"
    );
    scratch.assert_tmp_empty();
    assert!(
        journal_file(&scratch.archive).is_none(),
        "a finished run leaves no journal"
    );
}

/// A run that stops on a local error (here: the disk is full for the one large body, through
/// the debug build's fault switch) keeps the links finished before it, and leaves a manifest
/// and an index that agree, no journal, and nothing of the failed body.
#[tokio::test(flavor = "multi_thread")]
async fn an_error_exit_mid_run_leaves_the_index_consistent() {
    const DOOMED: usize = 19;
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(move |request: &Request| match doc_number(request) {
            DOOMED => ResponseTemplate::new(200).set_body_raw(vec![7u8; 2 * LARGE], "application/octet-stream"),
            n => ResponseTemplate::new(200).set_body_raw(random_bytes(n as u64, 1000), "application/octet-stream"),
        })
        .mount(&server)
        .await;
    let links: Vec<(String, String)> = (0..=DOOMED)
        .map(|n| (format!("doc-{n}"), format!("{}/doc/{n}", server.uri())))
        .collect();
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let scratch = Scratch::new(&links);

    // One request at a time in list order (one host): the doomed link, last, starts only once
    // the link before it is recorded (the window holds one task per request slot).
    let mut cmd = scratch.cmd();
    cmd.args(["archive", "--retries", "0", "--concurrency", "1", "--no-soft-404"])
        .env("LINKKEEP_TEST_FULL_DISK_FOR_LARGE_BODIES", "1");
    let run = crate::support::archive::run_raw(cmd).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot store a download"), "{}", run.stderr);
    assert!(
        journal_file(&scratch.archive).is_none(),
        "the run compacted its journal"
    );
    let manifest = scratch.manifest();
    let entries = manifest["links"].as_object().unwrap();
    let recorded: Vec<&str> = entries
        .iter()
        .filter(|(_, entry)| !entry["last_check"].is_null())
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(recorded.len(), DOOMED, "the links before the error: {recorded:?}");
    assert!(!recorded.contains(&"doc-19"), "the doomed link is not recorded");
    for id in recorded {
        assert_eq!(entries[id]["last_check"]["outcome"], "ok", "{id}");
    }
    let warc = std::fs::read_dir(scratch.archive.join("warc"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let run_id = warc
        .file_name()
        .to_str()
        .unwrap()
        .trim_end_matches(".warc.gz")
        .to_owned();
    assert_manifest_and_index_agree(&scratch.archive, &manifest, &run_id);
    scratch.assert_payloads_intact(&manifest);
    scratch.assert_tmp_empty();
    let warcs = std::fs::read_dir(scratch.archive.join("warc")).unwrap().count();
    assert_eq!(warcs, 1, "the failed body left no file of its own");
}
