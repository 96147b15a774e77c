//! Every fetch of an archive run lands in its WARC file: redirect hops and error responses as
//! response records with their bodies, next to the capture itself. Guards issue #5.

use std::collections::BTreeMap;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::pytools::{WarcRecord, read_all};

/// Every record of the run's WARC files, in file order; each file must pass our own reader.
fn records(scratch: &Scratch) -> Vec<WarcRecord> {
    let mut files: Vec<_> = std::fs::read_dir(scratch.archive.join("warc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let check = linkkeep::warc::check_warc(&file).unwrap();
        assert!(check.is_ok(), "{}: {:?}", file.display(), check.problems);
        records.extend(read_all(&file));
    }
    records
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_hops_and_error_responses_are_recorded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/old"))
        .respond_with(
            ResponseTemplate::new(301)
                .insert_header("Location", "/new")
                .set_body_string("moved"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/new"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<title>New</title>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/gone"))
        .respond_with(ResponseTemplate::new(410).set_body_string("gone for good"))
        .mount(&server)
        .await;
    let base = server.uri();
    let scratch = Scratch::new(&[("moved", format!("{base}/old")), ("gone", format!("{base}/gone"))]);
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 1, "the 410 fails the run: {}", run.stderr);

    let records = records(&scratch);
    assert_eq!(records[0].kind(), "warcinfo");
    let mut responses: Vec<&str> = records
        .iter()
        .filter(|r| r.kind() == "response")
        .map(|r| r.field("WARC-Target-URI").unwrap().strip_prefix(&base).unwrap())
        .collect();
    responses.sort();
    assert_eq!(responses, ["/gone", "/new", "/old"]);
    let requests = records.iter().filter(|r| r.kind() == "request").count();
    assert_eq!(requests, 3, "one request record per fetch: {records:?}");

    // The index has a line per response, with the status each one had.
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    let statuses: BTreeMap<String, String> = index
        .lines()
        .map(|line| {
            let json_start = line.find('{').expect("a CDXJ line ends in JSON");
            let json: serde_json::Value = serde_json::from_str(&line[json_start..]).unwrap();
            let url = json["url"].as_str().unwrap().strip_prefix(&base).unwrap().to_owned();
            (url, json["status"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let expected: BTreeMap<String, String> = [("/gone", "410"), ("/new", "200"), ("/old", "301")]
        .into_iter()
        .map(|(u, s)| (u.to_owned(), s.to_owned()))
        .collect();
    assert_eq!(statuses, expected);

    // The manifest's snapshot points at the capture's own response record, not at the redirect.
    let snapshot = &scratch.snapshots("moved")[0];
    assert_eq!(snapshot["final_url"], format!("{base}/new"));
    assert!(snapshot["offset"].as_u64().is_some(), "{snapshot:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_error_page_is_cut_and_marked_truncated() {
    // Past the 1 MiB kept of a body that is not the capture.
    let page = vec![b'x'; 1536 * 1024];
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/huge-404"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("huge", format!("{}/huge-404", server.uri()))]);
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);

    let records = records(&scratch);
    let response = records
        .iter()
        .find(|r| r.kind() == "response")
        .expect("a response record");
    assert_eq!(response.field("WARC-Truncated"), Some("length"));
    let (_, payload) = response.http();
    assert_eq!(payload.len(), 1024 * 1024, "exactly the first MiB is kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_redacted_in_request_records() {
    // A WARC file is shared (WACZ, CI artifacts): the token given with -H must not be in it.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/doc"))
        .respond_with(ResponseTemplate::new(200).set_body_string("members only"))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("doc", format!("{}/doc", server.uri()))]);
    let args = [
        "-H",
        "Authorization: Bearer s3cret-token",
        "-H",
        "X-Trace: 7",
        "--no-soft-404",
    ];
    let run = scratch.archive(&args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(sent.headers.get("authorization").unwrap(), "Bearer s3cret-token");

    let records = records(&scratch);
    let request = records
        .iter()
        .find(|r| r.kind() == "request")
        .expect("a request record");
    let head = String::from_utf8_lossy(&request.block);
    assert!(head.contains("authorization: [redacted]\r\n"), "{head}");
    assert!(head.contains("x-trace: 7\r\n"), "{head}");
    for file in scratch.warc_files() {
        let mut bytes = Vec::new();
        let mut reader = flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap());
        std::io::Read::read_to_end(&mut reader, &mut bytes).unwrap();
        assert!(!bytes.windows(5).any(|w| w == b"s3cre"), "the secret is in a WARC file");
    }
}
