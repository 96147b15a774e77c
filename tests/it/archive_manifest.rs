//! The archive's files as SPEC.md lays them out: manifest fields, content-addressed read-only
//! objects, the run report in runs/, and unknown manifest fields kept across runs. Guards
//! issue #3; the entries of links outside a run kept byte for byte, issue #7.

use chrono::DateTime;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, sha256_hex};
use crate::support::links_file;

fn is_rfc3339_utc(text: &serde_json::Value) -> bool {
    text.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t.offset().local_minus_utc() == 0)
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_records_and_run_report_follow_the_spec() {
    let server = MockServer::start().await;
    let html = b"<html><head><title>Hello</title></head></html>";
    Mock::given(path("/ok"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(html.to_vec(), "text/html")
                .insert_header("etag", "\"e1\"")
                .insert_header("last-modified", "Mon, 05 Feb 2018 10:00:00 GMT"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/missing"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let ok_url = format!("{}/ok", server.uri());
    let scratch = Scratch::new(&[
        ("zeta-missing", format!("{}/missing", server.uri())),
        ("alpha-ok", ok_url.clone()),
    ]);

    let run = scratch.archive(&["--retries", "0"]).await;

    assert_eq!(run.code, 1, "a 404 fails the run: {}", run.stderr);
    let manifest = scratch.manifest();
    assert_eq!(manifest["schema_version"], 1);
    assert!(is_rfc3339_utc(&manifest["updated_at"]), "{manifest:#}");
    let ids: Vec<&String> = manifest["links"].as_object().unwrap().keys().collect();
    assert_eq!(ids, ["zeta-missing", "alpha-ok"], "links.json order");

    let missing = &manifest["links"]["zeta-missing"];
    assert_eq!(missing["last_check"]["outcome"], "http_error");
    assert_eq!(missing["last_check"]["http_status"], 404);
    assert!(
        missing["last_check"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("404"))
    );
    assert_eq!(missing["snapshots"], serde_json::json!([]));

    let ok = &manifest["links"]["alpha-ok"];
    assert_eq!(ok["url"], ok_url);
    let check = &ok["last_check"];
    assert_eq!(check["outcome"], "ok");
    assert_eq!(check["http_status"], 200);
    assert_eq!(check["error"], serde_json::Value::Null);
    assert_eq!(check["run"], run.report["run"]);
    assert!(is_rfc3339_utc(&check["at"]));
    let snapshot = &ok["snapshots"][0];
    let sha = sha256_hex(html);
    assert_eq!(snapshot["sha256"], sha);
    assert_eq!(snapshot["size"], html.len());
    assert_eq!(snapshot["content_type"], "text/html");
    assert_eq!(snapshot["http_status"], 200);
    assert_eq!(snapshot["final_url"], ok_url);
    assert_eq!(snapshot["etag"], "\"e1\"");
    assert_eq!(snapshot["last_modified"], "Mon, 05 Feb 2018 10:00:00 GMT");
    assert_eq!(snapshot["title"], "Hello");
    // Issue #13: the snapshot names the record that holds its payload, and nothing else.
    let run_id = run.report["run"].as_str().unwrap();
    assert!(snapshot.get("object").is_none(), "{snapshot:#}");
    assert_eq!(snapshot["warc"], format!("warc/{run_id}.warc.gz"));
    assert!(snapshot["offset"].as_u64().unwrap() > 0, "after the warcinfo record");
    assert!(snapshot["length"].as_u64().unwrap() > 0);
    assert!(snapshot["record_id"].as_str().unwrap().starts_with("<urn:uuid:"));
    assert!(snapshot["payload_digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(snapshot["record_date"], snapshot["first_seen"]);
    assert_eq!(scratch.payload(snapshot), html);
    assert_eq!(snapshot["run"], run.report["run"]);
    assert!(is_rfc3339_utc(&snapshot["first_seen"]) && is_rfc3339_utc(&snapshot["last_seen"]));

    // The run id is the UTC start time plus a suffix, and the run's report is kept under it.
    let run_id = run.report["run"].as_str().unwrap();
    assert!(
        run_id.len() > 16 && run_id.as_bytes()[8] == b'T' && run_id.as_bytes()[15] == b'Z',
        "{run_id}"
    );
    let saved = std::fs::read(scratch.archive.join("runs").join(format!("{run_id}.json"))).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    assert_eq!(saved["results"], run.report["results"]);
    assert_eq!(saved["command"], "archive");
    scratch.assert_tmp_empty();
    let mut written: Vec<String> = std::fs::read_dir(scratch.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["archive", "links.json"],
        "nothing is written outside --archive"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_manifest_fields_survive_a_run() {
    let server = MockServer::start().await;
    Mock::given(path("/p"))
        .respond_with(ResponseTemplate::new(200).set_body_string("p"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("p", format!("{}/p", server.uri()))]);
    scratch.archive(&["--retries", "0"]).await;

    let mut manifest = scratch.manifest();
    manifest["owner"] = "lab".into();
    manifest["links"]["p"]["tags"] = serde_json::json!(["cited"]);
    manifest["links"]["p"]["snapshots"][0]["reviewed"] = true.into();
    manifest["links"]["kept"] = serde_json::json!({"url": "http://gone.invalid/", "snapshots": []});
    std::fs::write(scratch.archive.join("manifest.json"), manifest.to_string()).unwrap();
    let run = scratch.archive(&["--retries", "0"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = scratch.manifest();
    assert_eq!(after["owner"], "lab");
    assert_eq!(after["links"]["p"]["tags"], serde_json::json!(["cited"]));
    assert_eq!(after["links"]["p"]["snapshots"][0]["reviewed"], true);
    assert_eq!(
        after["links"]["kept"]["url"], "http://gone.invalid/",
        "links no longer listed stay"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn links_outside_the_run_keep_their_lines_byte_for_byte() {
    let server = MockServer::start().await;
    for page in ["/p", "/q"] {
        Mock::given(path(page))
            .respond_with(ResponseTemplate::new(200).set_body_string(page))
            .mount(&server)
            .await;
    }
    let p = ("p", format!("{}/p", server.uri()));
    let scratch = Scratch::new(&[p.clone(), ("q", format!("{}/q", server.uri()))]);
    assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 0);
    // q's line as a hand edit might leave it: valid JSON that linkkeep itself would write
    // differently (an escaped id, spaces, a field of its own first).
    let manifest = scratch.archive.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let q_line = text.lines().find(|l| l.starts_with("\"q\": ")).unwrap();
    let edited = q_line.replacen("\"q\": {", "\"\\u0071\" :  {\"note\": \"hand-edited\", ", 1);
    std::fs::write(&manifest, text.replace(q_line, &edited)).unwrap();

    links_file(scratch.dir.path(), &[p]);
    let run = scratch.archive(&["--retries", "0"]).await;

    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = std::fs::read_to_string(&manifest).unwrap();
    assert!(after.lines().any(|l| l == edited), "q's line was rewritten:\n{after}");
    let after = scratch.manifest();
    assert_eq!(after["links"]["q"]["note"], "hand-edited");
    assert_eq!(
        after["links"]["p"]["last_check"]["run"], run.report["run"],
        "the run's own link is recorded"
    );
}
