//! WARC files and the CDXJ index as the community reads them: `warcio check` and `warcio index`
//! accept every file, each index line leads to its record, revisits point at their originals
//! with the right profile, gzip bodies are kept as sent, and damaged WARC files fail
//! `linkkeep verify`. Guards issue #5.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

use crate::support::archive::{run_raw, sha256_hex};
use crate::support::pytools::{
    ETAG, GZIPPED, IDS, Interop, PAGE, PDF, STEADY, WarcRecord, copy_tree, read_all, read_member, run_tool,
    tools_or_skip, ts14, warc_sha256,
};

const IDENTICAL: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

#[tokio::test(flavor = "multi_thread")]
async fn every_warc_file_passes_warcio_check() {
    let Some([warcio]) = tools_or_skip(["warcio"]) else {
        return;
    };
    let interop = Interop::build().await;
    for file in interop.warcs() {
        let run = run_tool(
            &warcio,
            &[OsStr::new("check"), OsStr::new("-v"), file.as_os_str()],
            interop.scratch.dir.path(),
        )
        .await;
        let output = run.output();
        assert_eq!(run.code, 0, "warcio check -v {}:\n{output}", file.display());
        assert!(
            !output.to_ascii_lowercase().contains("digest failed"),
            "warcio check -v {}:\n{output}",
            file.display()
        );
        // warcio prints an error and still exits 0 on a corrupt gzip member, so require that it
        // really walked every record and checked the digests of every non-revisit.
        let records = read_all(&file);
        let checked = records.iter().filter(|r| r.kind() != "revisit").count();
        assert_eq!(
            output.matches("digest pass").count(),
            checked,
            "warcio check -v {} should pass the digests of every record but the revisits:\n{output}",
            file.display()
        );
        // warcio reports a corrupt gzip member only as "Error …" on stderr (and still exits 0).
        assert!(
            !run.stderr.contains("Error"),
            "warcio check -v {}: stderr:\n{}",
            file.display(),
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn warcio_index_lists_every_record() {
    let Some([warcio]) = tools_or_skip(["warcio"]) else {
        return;
    };
    let interop = Interop::build().await;
    for (n, file) in interop.warcs().iter().enumerate() {
        let run = run_tool(
            &warcio,
            &[
                OsStr::new("index"),
                OsStr::new("-f"),
                OsStr::new("warc-type,warc-target-uri,warc-record-id,offset,length"),
                file.as_os_str(),
            ],
            interop.scratch.dir.path(),
        )
        .await;
        assert_eq!(run.code, 0, "warcio index {}:\n{}", file.display(), run.output());
        let listed: Vec<(String, Option<String>, String, u64, u64)> = run
            .stdout
            .lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                (
                    v["warc-type"].as_str().unwrap().to_owned(),
                    v["warc-target-uri"].as_str().map(str::to_owned),
                    v["warc-record-id"].as_str().unwrap().to_owned(),
                    v["offset"].as_str().unwrap().parse().unwrap(),
                    v["length"].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect();
        let ours: Vec<_> = read_all(file)
            .into_iter()
            .map(|r| {
                (
                    r.kind().to_owned(),
                    r.field("WARC-Target-URI").map(str::to_owned),
                    r.field("WARC-Record-ID").unwrap().to_owned(),
                    r.offset,
                    r.length,
                )
            })
            .collect();
        assert_eq!(listed, ours, "warcio index {} vs the file's members", file.display());

        // A warcinfo record, then a request and a response or revisit for each of the 5 links.
        assert_eq!(listed.len(), 1 + 2 * IDS.len(), "{listed:#?}");
        assert_eq!(listed[0].0, "warcinfo");
        let kinds: Vec<&str> = listed.iter().map(|l| l.0.as_str()).collect();
        let responses = kinds.iter().filter(|k| **k == "response").count();
        let revisits = kinds.iter().filter(|k| **k == "revisit").count();
        assert_eq!(kinds.iter().filter(|k| **k == "request").count(), IDS.len());
        // Run 1 captures everything; run 2 only the changed page, the rest are revisits.
        let expected = if n == 0 { (5, 0) } else { (1, 4) };
        assert_eq!((responses, revisits), expected, "run {}: {kinds:?}", n + 1);
        let uris: BTreeSet<_> = listed.iter().filter_map(|l| l.1.clone()).collect();
        let wanted: BTreeSet<_> = IDS.iter().map(|id| interop.url(id)).collect();
        assert_eq!(uris, wanted, "every link is in run {}'s WARC", n + 1);
    }
}

/// One parsed line of `archive/index.cdxj`.
struct CdxjLine {
    surt: String,
    timestamp: String,
    json: Value,
}

fn cdxj(archive: &Path) -> (String, Vec<CdxjLine>) {
    let text = std::fs::read_to_string(archive.join("index.cdxj")).unwrap();
    let lines = text
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let surt = parts.next().unwrap().to_owned();
            let timestamp = parts.next().unwrap().to_owned();
            let json = serde_json::from_str(parts.next().unwrap_or_else(|| panic!("no JSON in {line:?}")))
                .unwrap_or_else(|e| panic!("{e}: {line}"));
            CdxjLine { surt, timestamp, json }
        })
        .collect();
    (text, lines)
}

#[tokio::test(flavor = "multi_thread")]
async fn cdxj_lists_every_capture_sorted_and_each_line_leads_to_its_record() {
    let interop = Interop::build().await;
    let archive = &interop.scratch.archive;
    let (text, lines) = cdxj(archive);

    // Sorted byte-wise, as pywb's binary search over the index needs.
    let raw: Vec<&str> = text.lines().collect();
    for pair in raw.windows(2) {
        assert!(
            pair[0].as_bytes() <= pair[1].as_bytes(),
            "not sorted:\n{}\n{}",
            pair[0],
            pair[1]
        );
    }
    assert!(text.ends_with('\n'));

    // One line per response or revisit record of every WARC file, and nothing else.
    let mut captures = BTreeSet::new();
    for file in interop.warcs() {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        for record in read_all(&file) {
            if matches!(record.kind(), "response" | "revisit") {
                captures.insert((name.clone(), record.offset, record.length));
            }
        }
    }
    let indexed: BTreeSet<(String, u64, u64)> = lines
        .iter()
        .map(|l| {
            (
                l.json["filename"].as_str().unwrap().to_owned(),
                l.json["offset"].as_str().unwrap().parse().unwrap(),
                l.json["length"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(indexed.len(), lines.len(), "no capture is indexed twice:\n{text}");
    assert_eq!(indexed, captures, "index lines vs response/revisit records:\n{text}");
    assert_eq!(lines.len(), 2 * IDS.len());

    for line in &lines {
        let (file, offset, length) = (
            line.json["filename"].as_str().unwrap(),
            line.json["offset"].as_str().unwrap().parse().unwrap(),
            line.json["length"].as_str().unwrap().parse().unwrap(),
        );
        let record = read_member(&archive.join("warc").join(file), offset, length);
        let what = format!("{} {} ({file} at {offset})", line.surt, line.timestamp);
        assert_eq!(record.field("WARC-Target-URI"), line.json["url"].as_str(), "{what}");
        let revisit = line.json["mime"] == "warc/revisit";
        assert_eq!(record.kind(), if revisit { "revisit" } else { "response" }, "{what}");
        assert_eq!(line.timestamp, ts14(record.field("WARC-Date").unwrap()), "{what}");
        assert_eq!(
            record.field("WARC-Payload-Digest"),
            line.json["digest"].as_str(),
            "{what}"
        );
        if !revisit {
            assert_eq!(line.json["status"], record.http_status().to_string(), "{what}");
        }
        let host_port = line.json["url"].as_str().unwrap().split('/').nth(2).unwrap().to_owned();
        let port = host_port.rsplit(':').next().unwrap();
        assert!(line.surt.starts_with(&format!("1,0,0,127:{port})/")), "{what}");
    }
}

/// The revisit record run 2 wrote for link `id`, with the request before it.
fn revisit_of(interop: &Interop, id: &str) -> WarcRecord {
    let url = interop.url(id);
    let records = read_all(&interop.warc(1));
    let mut found: Vec<_> = records
        .into_iter()
        .filter(|r| r.field("WARC-Target-URI") == Some(url.as_str()) && r.kind() != "request")
        .collect();
    assert_eq!(found.len(), 1, "{id}: one capture record in run 2: {found:#?}");
    found.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn revisits_refer_to_the_original_response_with_the_right_profile() {
    let interop = Interop::build().await;
    for (id, profile) in [
        (PDF, IDENTICAL),
        (GZIPPED, IDENTICAL),
        (STEADY, IDENTICAL),
        (ETAG, NOT_MODIFIED),
    ] {
        let snapshots = interop.snapshots(id);
        assert_eq!(snapshots.len(), 1, "{id}: an unchanged link keeps one snapshot");
        let original = &snapshots[0];
        assert_eq!(original["warc"], format!("warc/{}.warc.gz", interop.runs[0]), "{id}");
        let response = interop.snapshot_record(original);
        assert_eq!(response.kind(), "response", "{id}");
        assert_eq!(response.field("WARC-Record-ID"), original["record_id"].as_str(), "{id}");

        let revisit = revisit_of(&interop, id);
        assert_eq!(revisit.kind(), "revisit", "{id}");
        assert_eq!(revisit.field("WARC-Profile"), Some(profile), "{id}");
        assert_eq!(
            revisit.field("WARC-Refers-To"),
            original["record_id"].as_str(),
            "{id}: refers to the original response"
        );
        assert_eq!(
            revisit.field("WARC-Refers-To-Target-URI"),
            Some(interop.url(id).as_str()),
            "{id}"
        );
        assert_eq!(
            revisit.field("WARC-Refers-To-Date"),
            response.field("WARC-Date"),
            "{id}"
        );
        assert_eq!(
            revisit.field("WARC-Payload-Digest"),
            response.field("WARC-Payload-Digest"),
            "{id}: a revisit names the payload it stands for"
        );
        // A revisit's block is a response head alone: the response's own, or for a 304 its
        // original's brought up to date (issue #20), which replay tools serve the payload under.
        let (head, payload) = revisit.http();
        assert!(payload.is_empty(), "{id}: revisit carries a payload");
        assert_eq!(head.len(), revisit.block.len(), "{id}");
        assert_eq!(revisit.http_status(), 200, "{id}");
        assert_eq!(
            revisit.http_header("content-type"),
            response.http_header("content-type"),
            "{id}"
        );
    }

    // The changed page got a full response in run 2, and a second snapshot pointing at it.
    let snapshots = interop.snapshots(PAGE);
    assert_eq!(snapshots.len(), 2);
    for (n, (snapshot, body)) in snapshots.iter().zip([&interop.page_v1, &interop.page_v2]).enumerate() {
        assert_eq!(snapshot["warc"], format!("warc/{}.warc.gz", interop.runs[n]));
        let record = interop.snapshot_record(snapshot);
        assert_eq!(record.kind(), "response");
        assert_eq!(record.field("WARC-Record-ID"), snapshot["record_id"].as_str());
        assert_eq!(record.field("WARC-Date"), snapshot["record_date"].as_str());
        assert_eq!(record.http().1, body.as_slice(), "page, run {}", n + 1);
        assert_eq!(record.field("WARC-Payload-Digest"), Some(warc_sha256(body).as_str()));
        assert_eq!(snapshot["payload_digest"], warc_sha256(body));
    }
    assert_eq!(revisit_of(&interop, PAGE).kind(), "response");
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_response_record_keeps_the_wire_bytes_and_gives_back_the_decoded_ones() {
    let interop = Interop::build().await;
    let snapshot = &interop.snapshots(GZIPPED)[0];
    let record = interop.snapshot_record(snapshot);
    assert_eq!(record.kind(), "response");
    assert_eq!(record.http_header("content-encoding").as_deref(), Some("gzip"));
    let (_, payload) = record.http();
    assert_eq!(
        payload,
        interop.gz_wire.as_slice(),
        "the record holds the body as sent (gzip)"
    );
    assert_eq!(
        record.field("WARC-Payload-Digest"),
        Some(warc_sha256(&interop.gz_wire).as_str())
    );
    assert_eq!(snapshot["payload_digest"], warc_sha256(&interop.gz_wire));

    // The record is the one copy: the decoded page comes from it, the encoding removed on the
    // way (issue #13).
    assert!(snapshot.get("object").is_none(), "{snapshot:#}");
    let decoded = interop.scratch.payload(snapshot);
    assert_eq!(decoded, interop.gz_plain, "the record gives back the decoded page");
    assert_eq!(snapshot["sha256"], sha256_hex(&interop.gz_plain));
    assert_eq!(snapshot["size"], interop.gz_plain.len());
    assert_ne!(interop.gz_wire, interop.gz_plain);
}

/// Runs `linkkeep --archive <archive> verify --format json` and parses its report.
async fn verify(interop: &Interop, archive: &Path) -> (i32, Value, String) {
    let mut cmd = crate::support::linkkeep();
    cmd.current_dir(interop.scratch.dir.path())
        .arg("--links")
        .arg(&interop.scratch.links)
        .arg("--archive")
        .arg(archive)
        .args(["--no-progress", "verify", "--format", "json"]);
    let run = run_raw(cmd).await;
    let report = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "verify: stdout is not a JSON report ({e}); exit {}\n{}\n{}",
            run.code,
            String::from_utf8_lossy(&run.stdout),
            run.stderr
        )
    });
    (run.code, report, run.stderr)
}

fn outcome<'a>(report: &'a Value, id: &str) -> &'a Value {
    &report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}: {report:#}"))["outcome"]
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_the_intact_archive() {
    let interop = Interop::build().await;
    let (code, report, stderr) = verify(&interop, &interop.scratch.archive).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    for id in IDS {
        assert_eq!(outcome(&report, id), "ok", "{id}");
    }
    assert_eq!(report["warnings"].as_array().map_or(0, Vec::len), 0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warc_cut_inside_its_first_record_fails_verify_though_warcio_check_passes_it() {
    let interop = Interop::build().await;
    let copy = tempfile::tempdir().unwrap();
    let archive = copy.path().join("archive");
    copy_tree(&interop.scratch.archive, &archive);
    let name = format!("warc/{}.warc.gz", interop.runs[0]);
    let file = archive.join(&name);
    let bytes = std::fs::read(&file).unwrap();
    let first = read_all(&interop.warc(0))[0].length;
    assert!(first > 100, "the warcinfo member is longer than the cut");
    std::fs::write(&file, &bytes[..100]).unwrap();

    let (code, report, stderr) = verify(&interop, &archive).await;
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with(&format!("{name}: offset 0:"))),
        "the cut is named in warnings: {warnings:#?}"
    );
    // Every link's first capture was in that file, and its record is its payload's only copy
    // (issue #13): the payload is lost, which is what `corrupt_object` says.
    for id in IDS {
        assert_eq!(outcome(&report, id), "corrupt_object", "{id}: {report:#}");
    }

    // Why our own reader exists: warcio 1.8.1 reads the cut member as a whole (short) warcinfo
    // record, prints "no digest to check" and exits 0.
    let Some([warcio]) = tools_or_skip(["warcio"]) else {
        return;
    };
    let run = run_tool(
        &warcio,
        &[OsStr::new("check"), OsStr::new("-v"), file.as_os_str()],
        copy.path(),
    )
    .await;
    assert_eq!(
        run.code,
        0,
        "warcio check now notices the cut; update this test:\n{}",
        run.output()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_byte_in_a_response_payload_fails_verify_for_that_link() {
    let interop = Interop::build().await;
    let copy = tempfile::tempdir().unwrap();
    let archive = copy.path().join("archive");
    copy_tree(&interop.scratch.archive, &archive);
    let snapshot = &interop.snapshots(PDF)[0];
    let name = snapshot["warc"].as_str().unwrap().to_owned();
    let (offset, length) = (
        snapshot["offset"].as_u64().unwrap(),
        snapshot["length"].as_u64().unwrap(),
    );
    let file = archive.join(&name);
    let mut bytes = std::fs::read(&file).unwrap();
    // The middle of a 40 kB member is deep in the PDF's bytes.
    bytes[(offset + length / 2) as usize] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();

    let (code, report, stderr) = verify(&interop, &archive).await;
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    // Its payload is read from that record once no 0.1.0 object holds it (issue #13).
    let damaged = if snapshot.get("object").is_some() {
        "corrupt_warc"
    } else {
        "corrupt_object"
    };
    assert_eq!(outcome(&report, PDF), damaged, "{report:#}");
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with(&format!("{name}: offset {offset}:"))),
        "the damaged member is named in warnings: {warnings:#?}"
    );
    // A member whose deflate stream breaks ends the walk (where the next one starts is
    // unknown): links whose records come later in that file are damaged too. One that still
    // inflates, to other bytes, fails only its CRC at its very end, where the next member
    // starts: the walk goes on (issue #13). Everything else is ok.
    let walk_ended = !warnings.iter().any(|w| w.contains("does not have a matching checksum"));
    for id in IDS {
        let after = interop
            .snapshots(id)
            .iter()
            .any(|s| s["warc"].as_str() == Some(name.as_str()) && s["offset"].as_u64().unwrap() > offset);
        let expected = if id == PDF {
            damaged
        } else if after && walk_ended {
            "corrupt_warc"
        } else {
            "ok"
        };
        assert_eq!(outcome(&report, id), expected, "{id}: {report:#}");
    }
    // (warcio check 1.8.1 exits 0 on this file too, printing only a zlib error on stderr.)
}
