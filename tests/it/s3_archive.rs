//! Archives in S3-compatible object storage (issue #18), against moto's server on 127.0.0.1:
//! the round trip (archive, status, get, verify, serve, export, a second run), a flipped byte
//! caught by `verify`, two runs at once, SIGKILL and recovery, a lease taken over after its TTL
//! and not before, four shard runs at once equal to one run, a conflicting manifest write
//! retried, and no credential in any object. The round trip, the crash test and the lock test
//! run against a local directory too, with the same assertions.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{Scratch, gzip, random_bytes, run_raw, sha256_hex, wait_child, wait_until};
use crate::support::bodies::Gate;
use crate::support::http::{bind, spawn_server};
use crate::support::s3::{ACCESS_KEY_ID, Bucket, S3Server};
use crate::support::serve::ServeProcess;

/// Network flags for every run: no retries, a short timeout, no soft-404 probes.
const NET: &[&str] = &["--retries", "0", "--timeout", "10", "--no-soft-404"];
/// The prefix of the archive inside the test bucket.
const PREFIX: &str = "cites/2018";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Local,
    Bucket,
}

/// An archive under test, in a directory or a bucket, asked the same questions either way.
struct Subject {
    scratch: Scratch,
    bucket: Option<Bucket>,
    /// Kept alive for the bucket's sake; its log shows the requests.
    server: Option<S3Server>,
}

impl Subject {
    /// An archive of `links` on `backend`; `None` when the S3 server is missing (outside CI).
    fn new(backend: Backend, links: &[(&str, String)]) -> Option<Self> {
        let mut scratch = Scratch::new(links);
        let (bucket, server) = match backend {
            Backend::Local => (None, None),
            Backend::Bucket => {
                let server = S3Server::start()?;
                let bucket = server.bucket("linkkeep-test");
                scratch.archive = PathBuf::from(bucket.url(PREFIX));
                scratch.env = bucket.env();
                // Short leases and quick checkpoints, so that the tests wait seconds, not minutes.
                scratch.env.push(("LINKKEEP_LEASE_TTL".into(), "4".into()));
                scratch.env.push(("LINKKEEP_TEST_CHECKPOINT_SCALE".into(), "1".into()));
                (Some(bucket), Some(server))
            }
        };
        Some(Self {
            scratch,
            bucket,
            server,
        })
    }

    /// The archive file or object `name` (relative to the archive), if it exists.
    fn read(&self, name: &str) -> Option<Vec<u8>> {
        match &self.bucket {
            Some(bucket) => bucket.try_get(&format!("{PREFIX}/{name}")),
            None => std::fs::read(self.scratch.archive.join(name)).ok(),
        }
    }

    /// Replaces the archive file or object `name`.
    fn write(&self, name: &str, bytes: Vec<u8>) {
        match &self.bucket {
            Some(bucket) => bucket.put(&format!("{PREFIX}/{name}"), bytes),
            None => std::fs::write(self.scratch.archive.join(name), bytes).unwrap(),
        }
    }

    /// Every file or object of the archive, relative to it.
    fn names(&self) -> Vec<String> {
        match &self.bucket {
            Some(bucket) => bucket
                .list(PREFIX)
                .into_iter()
                .map(|(key, _)| key.strip_prefix(&format!("{PREFIX}/")).unwrap().to_owned())
                .collect(),
            None => {
                let mut names = Vec::new();
                let mut stack = vec![self.scratch.archive.clone()];
                while let Some(dir) = stack.pop() {
                    for entry in std::fs::read_dir(&dir).unwrap() {
                        let path = entry.unwrap().path();
                        if path.is_dir() {
                            stack.push(path);
                        } else {
                            let name = path.strip_prefix(&self.scratch.archive).unwrap();
                            names.push(name.to_str().unwrap().to_owned());
                        }
                    }
                }
                names.sort();
                names
            }
        }
    }

    fn manifest(&self) -> Value {
        let bytes = self.read("manifest.json").expect("a manifest");
        serde_json::from_slice(&bytes).unwrap()
    }

    /// `(file, offset)` of every index line, and the lines' count.
    fn indexed(&self) -> (BTreeSet<(String, u64)>, usize) {
        let text = String::from_utf8(self.read("index.cdxj").unwrap_or_default()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        assert_eq!(lines, sorted, "the index is sorted");
        let records = lines
            .iter()
            .map(|line| {
                let json: Value = serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap();
                (
                    json["filename"].as_str().unwrap().to_owned(),
                    json["offset"].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect();
        (records, lines.len())
    }

    /// Asserts that every snapshot's record is indexed and is a whole gzip member holding a
    /// WARC record, and that every index line names an existing WARC file.
    fn assert_manifest_and_index_agree(&self) {
        let manifest = self.manifest();
        let (indexed, _) = self.indexed();
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        for (id, entry) in manifest["links"].as_object().unwrap() {
            for snapshot in entry["snapshots"].as_array().unwrap() {
                let warc = snapshot["warc"].as_str().unwrap().to_owned();
                let offset = snapshot["offset"].as_u64().unwrap();
                let length = snapshot["length"].as_u64().unwrap() as usize;
                let file = warc.strip_prefix("warc/").unwrap().to_owned();
                assert!(
                    indexed.contains(&(file, offset)),
                    "{id}: {warc}@{offset} is not in the index"
                );
                let bytes = files
                    .entry(warc.clone())
                    .or_insert_with(|| self.read(&warc).unwrap_or_else(|| panic!("{id}: {warc} is missing")));
                let member = &bytes[offset as usize..offset as usize + length];
                let mut record = Vec::new();
                flate2::read::GzDecoder::new(member).read_to_end(&mut record).unwrap();
                assert!(record.starts_with(b"WARC/1.1\r\n"), "{id}: {warc}@{offset}");
            }
        }
        let names: BTreeSet<String> = self.names().into_iter().collect();
        for (file, offset) in &indexed {
            assert!(
                names.contains(&format!("warc/{file}")),
                "the index names {file}@{offset}, which is missing"
            );
        }
    }
}

/// A site of three documents: an HTML page, a gzip-encoded page and a 9 MiB PDF (past the
/// upload part size: a multipart upload).
async fn site() -> (MockServer, Vec<(&'static str, Vec<u8>)>) {
    let server = MockServer::start().await;
    let page =
        b"<!doctype html><html><head><title>WGEC</title></head><body>Enhanced cooperation</body></html>".to_vec();
    let gz_page = b"<!doctype html><html><head><title>IP-Watch</title></head><body>A report</body></html>".to_vec();
    let pdf = random_bytes(18, 9 * 1024 * 1024 + 4321);
    Mock::given(method("GET"))
        .and(path("/page.html"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page.clone(), "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/gz.html"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gzip(&gz_page).await, "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/report.pdf"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_raw(pdf.clone(), "application/pdf"),
        )
        .mount(&server)
        .await;
    let docs = vec![("page", page), ("gz", gz_page), ("report", pdf)];
    (server, docs)
}

fn site_links(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("page", format!("{}/page.html", server.uri())),
        ("gz", format!("{}/gz.html", server.uri())),
        ("report", format!("{}/report.pdf", server.uri())),
    ]
}

async fn round_trip(backend: Backend) {
    let (server, docs) = site().await;
    let Some(subject) = Subject::new(backend, &site_links(&server)) else {
        return;
    };
    let scratch = &subject.scratch;

    let run = scratch.archive(NET).await;
    assert_eq!(run.code, 0, "{}\n{:#}", run.stderr, run.report);
    for (id, body) in &docs {
        assert_eq!(run.result(id)["change"], "new", "{:#}", run.report);
        assert_eq!(run.result(id)["sha256"], sha256_hex(body));
    }
    let names = subject.names();
    assert!(names.contains(&"manifest.json".to_owned()), "{names:?}");
    assert!(names.contains(&"index.cdxj".to_owned()), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("runs/") && n.ends_with(".json")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("journal/") || n.starts_with("tmp/")),
        "a finished run leaves no journal or download behind: {names:?}"
    );
    // No lease object in a bucket; a directory keeps its lock file, without a holder.
    match backend {
        Backend::Bucket => assert!(!names.iter().any(|n| n.starts_with(".lock")), "{names:?}"),
        Backend::Local => assert_eq!(subject.read(".lock").unwrap_or_default(), b""),
    }
    subject.assert_manifest_and_index_agree();

    let status = scratch.run(&["status", "--format", "json"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["summary"]["total"], 3, "{status:#}");

    for (id, body) in &docs {
        let get = scratch.run(&["get", id]).await;
        assert_eq!(get.code, 0, "{id}: {}", get.stderr);
        assert!(get.stdout == *body, "{id}: get gave {} bytes", get.stdout.len());
    }

    let verify = scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);

    let wacz = scratch.dir.path().join("out.wacz");
    let export = scratch.run(&["export", "--wacz", wacz.to_str().unwrap()]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&wacz).unwrap()).unwrap();
    let entries: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    let warcs_in_archive = names.iter().filter(|n| n.starts_with("warc/")).count();
    let warcs_in_wacz = entries.iter().filter(|n| n.starts_with("archive/")).count();
    assert_eq!(warcs_in_wacz, warcs_in_archive, "{entries:?} vs {names:?}");
    assert!(
        entries.iter().any(|e| e.starts_with("indexes/index.cdx")),
        "{entries:?}"
    );

    let serve = ServeProcess::start(scratch);
    let client = reqwest::Client::new();
    let index = client.get(serve.url("/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let html = index.text().await.unwrap();
    assert!(html.contains("report"), "{html}");
    let snapshot = &subject.manifest()["links"]["report"]["snapshots"][0];
    let stamp: String = snapshot["first_seen"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let replay = client
        .get(serve.url(&format!("/web/{stamp}id_/{}/report.pdf", server.uri())))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200, "{}", serve.stderr());
    assert!(replay.bytes().await.unwrap() == docs[2].1, "the replayed PDF differs");
    drop(serve);

    // A second run: nothing new; the next job sees the previous one's captures.
    let again = scratch.archive(NET).await;
    assert_eq!(again.code, 0, "{}\n{:#}", again.stderr, again.report);
    for (id, _) in &docs {
        assert_eq!(again.result(id)["change"], "unchanged", "{:#}", again.report);
    }
    let manifest = subject.manifest();
    for (id, _) in &docs {
        assert_eq!(manifest["links"][id]["snapshots"].as_array().unwrap().len(), 1, "{id}");
    }
    subject.assert_manifest_and_index_agree();

    // A link's page tells both runs from their reports, which a bucket's are fetched for.
    let serve = ServeProcess::start(scratch);
    let svg = client
        .get(serve.url("/link/report/timeline.svg"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut marks: Vec<(usize, &str)> = svg
        .match_indices("<circle class=\"mark ")
        .map(|(at, open)| {
            let mark = svg[at..].split('>').next().unwrap();
            let x = mark.split(" cx=\"").nth(1).unwrap().split('"').next().unwrap();
            (x.parse().unwrap(), mark[open.len()..].split('"').next().unwrap())
        })
        .collect();
    marks.sort();
    let kinds: Vec<&str> = marks.into_iter().map(|(_, kind)| kind).collect();
    assert_eq!(kinds, ["new", "unchanged"], "{svg}\n{}", serve.stderr());
    assert!(!svg.contains("no run report"), "{svg}");
    drop(serve);

    // One flipped byte in the PDF's record, in the middle of its payload, is caught.
    let snapshot = manifest["links"]["report"]["snapshots"][0].clone();
    let warc = snapshot["warc"].as_str().unwrap();
    let mut bytes = subject.read(warc).unwrap();
    let pdf = &docs[2].1;
    let needle = &pdf[pdf.len() / 2..pdf.len() / 2 + 64];
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the PDF lies verbatim in its record");
    bytes[at + 32] ^= 0x01;
    subject.write(warc, bytes);
    let verify = scratch.run(&["verify", "--format", "json"]).await;
    assert_eq!(verify.code, 1, "{}", verify.stderr);
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    let failed: Vec<&Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] != "ok")
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["id"], "report");
    assert_eq!(failed[0]["outcome"], "corrupt_object", "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_round_trip_in_a_bucket() {
    round_trip(Backend::Bucket).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_round_trip_in_a_directory_with_the_same_assertions() {
    round_trip(Backend::Local).await;
}

async fn second_run_is_locked_out(backend: Backend) {
    let gate = Gate::start().await;
    let Some(subject) = Subject::new(backend, &[("gated", gate.url.clone())]) else {
        return;
    };
    let scratch = &subject.scratch;
    let first = scratch.spawn_archive(&["--retries", "0", "--timeout", "30", "--no-soft-404"]);
    let pid = first.id();
    wait_until("the first run's request", || gate.requests() >= 1).await;

    let second = run_raw(scratch.archive_cmd(NET)).await;
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(second.stderr.contains("locked by another run"), "{}", second.stderr);
    assert!(second.stderr.contains(&format!("pid {pid}")), "{}", second.stderr);
    assert!(second.stderr.contains("command archive"), "{}", second.stderr);
    assert_eq!(gate.requests(), 1, "the locked-out run fetched nothing");

    gate.open();
    let (code, stderr) = wait_child(first).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        subject.manifest()["links"]["gated"]["snapshots"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let again = scratch.archive(NET).await;
    assert_eq!(again.code, 0, "the lock went with the first run: {}", again.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_second_run_on_a_bucket_exits_2_naming_the_holder() {
    second_run_is_locked_out(Backend::Bucket).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_second_run_on_a_directory_exits_2_naming_the_holder() {
    second_run_is_locked_out(Backend::Local).await;
}

/// Links that answer at once, and one that never does until the run is killed.
async fn crash_site() -> (MockServer, Gate, Vec<(String, String)>) {
    let server = MockServer::start().await;
    let mut links = Vec::new();
    for n in 0..8 {
        // Two of them past the size kept in memory: WARC files of their own.
        let size = if n % 4 == 1 { 700_000 } else { 2_000 + n * 100 };
        Mock::given(method("GET"))
            .and(path(format!("/doc/{n}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(random_bytes(n as u64, size), "application/pdf"))
            .mount(&server)
            .await;
        links.push((format!("doc{n}"), format!("{}/doc/{n}", server.uri())));
    }
    let gate = Gate::start().await;
    links.push(("stalled".to_owned(), gate.url.clone()));
    (server, gate, links)
}

/// The ids whose lines a checkpoint of the run promises: in a local journal, or in the
/// bucket's journal segments (each ends with a checkpoint line).
fn promised_ids(subject: &Subject) -> BTreeSet<String> {
    let text = match &subject.bucket {
        Some(bucket) => bucket
            .list(&format!("{PREFIX}/journal"))
            .into_iter()
            .map(|(key, _)| String::from_utf8(bucket.get(&key)).unwrap())
            .collect::<String>(),
        None => std::fs::read_dir(subject.scratch.archive.join("journal"))
            .map(|entries| {
                entries
                    .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
                    .collect::<String>()
            })
            .unwrap_or_default(),
    };
    let promised = text.rfind("\"checkpoint\"").map_or("", |end| &text[..end]);
    promised
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| line["link"].as_str().map(str::to_owned))
        .collect()
}

async fn killed_run_is_recovered(backend: Backend) {
    let (_server, gate, links) = crash_site().await;
    let borrowed: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let Some(subject) = Subject::new(backend, &borrowed) else {
        return;
    };
    let scratch = &subject.scratch;
    let finished: BTreeSet<String> = links
        .iter()
        .map(|(id, _)| id.clone())
        .filter(|id| id != "stalled")
        .collect();
    let mut first = scratch.spawn_archive(&["--retries", "0", "--timeout", "30", "--no-soft-404"]);
    wait_until("a checkpoint of every finished link", || {
        promised_ids(&subject) == finished
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    drop(first);

    // Before any recovery, a reader sees the checkpoint.
    let status = scratch.run(&["status", "--format", "json"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let listed: BTreeSet<String> = status["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["snapshots"].as_u64() == Some(1))
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, finished, "{status:#}");

    // The next run (once the killed run's lease has lapsed) recovers, then archives.
    gate.open();
    let mut args = NET.to_vec();
    args.push("--wait-lock");
    let recovered = scratch.archive(&args).await;
    assert_eq!(recovered.code, 0, "{}\n{:#}", recovered.stderr, recovered.report);
    let warnings = recovered.report["warnings"].to_string() + &recovered.stderr;
    assert!(warnings.contains("recovered the killed run"), "{warnings}");
    let manifest = subject.manifest();
    for id in &finished {
        let snapshots = manifest["links"][id]["snapshots"].as_array().unwrap();
        assert_eq!(snapshots.len(), 1, "{id}: {manifest:#}");
        assert_eq!(
            recovered.result(id)["change"],
            "unchanged",
            "{id} was kept from the killed run"
        );
    }
    assert_eq!(manifest["links"]["stalled"]["snapshots"].as_array().unwrap().len(), 1);
    subject.assert_manifest_and_index_agree();
    let names = subject.names();
    assert!(
        !names.iter().any(|n| n.starts_with("journal/")),
        "every journal was compacted: {names:?}"
    );
    let verify = scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_sigkill_during_a_bucket_run_then_recovery() {
    killed_run_is_recovered(Backend::Bucket).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_sigkill_during_a_directory_run_then_recovery() {
    killed_run_is_recovered(Backend::Local).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_killed_runs_lease_is_taken_over_after_its_ttl_and_not_before() {
    let gate = Gate::start().await;
    let Some(subject) = Subject::new(Backend::Bucket, &[("gated", gate.url.clone())]) else {
        return;
    };
    let scratch = &subject.scratch;
    let mut first = scratch.spawn_archive(&["--retries", "0", "--timeout", "30", "--no-soft-404"]);
    let pid = first.id();
    wait_until("the first run's request", || gate.requests() >= 1).await;
    let lease: Value = serde_json::from_slice(&subject.read(".lock").expect("a lease object")).unwrap();
    assert_eq!(lease["pid"], pid, "{lease:#}");
    assert_eq!(lease["command"], "archive", "{lease:#}");
    assert_eq!(lease["ttl_seconds"], 4, "{lease:#}");
    first.kill().unwrap();
    first.wait().unwrap();
    drop(first);

    // Within its TTL, the dead run's lease still holds.
    let early = run_raw(scratch.archive_cmd(NET)).await;
    assert_eq!(early.code, 2, "{}", early.stderr);
    assert!(early.stderr.contains(&format!("pid {pid}")), "{}", early.stderr);

    gate.open();
    let started = std::time::Instant::now();
    let mut args = NET.to_vec();
    args.push("--wait-lock");
    let late = scratch.archive(&args).await;
    assert_eq!(late.code, 0, "{}\n{:#}", late.stderr, late.report);
    assert!(
        late.stderr.contains("took over the lease") && late.stderr.contains(&format!("pid {pid}")),
        "{}",
        late.stderr
    );
    let warnings = late.report["warnings"].to_string();
    assert!(
        warnings.contains("took over the lease"),
        "the report says so too: {warnings}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the takeover took too long"
    );
    assert!(subject.read(".lock").is_none(), "the lease is released at the end");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_conflicting_manifest_write_is_retried_not_lost() {
    let (server, docs) = site().await;
    let Some(mut subject) = Subject::new(Backend::Bucket, &site_links(&server)) else {
        return;
    };
    let first = subject.scratch.archive(NET).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Another writer replaces the manifest between this run's read and write.
    subject
        .scratch
        .env
        .push(("LINKKEEP_TEST_COMPACT_CONFLICT".into(), "1".into()));
    let links = site_links(&server)
        .into_iter()
        .chain([("extra", format!("{}/page.html?again", server.uri()))])
        .collect::<Vec<_>>();
    crate::support::links_file(subject.scratch.dir.path(), &links);
    let mut args = NET.to_vec();
    args.push("-v");
    let second = subject.scratch.archive(&args).await;
    assert_eq!(second.code, 0, "{}\n{:#}", second.stderr, second.report);
    assert!(second.stderr.contains("compacting again"), "{}", second.stderr);
    let manifest = subject.manifest();
    assert_eq!(
        manifest["links"]["extra"]["snapshots"].as_array().unwrap().len(),
        1,
        "{manifest:#}"
    );
    for (id, _) in &docs {
        assert_eq!(manifest["links"][id]["snapshots"].as_array().unwrap().len(), 1, "{id}");
    }
    subject.assert_manifest_and_index_agree();
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_no_credential_appears_in_any_object() {
    let (server, _docs) = site().await;
    let Some(subject) = Subject::new(Backend::Bucket, &site_links(&server)) else {
        return;
    };
    let run = subject.scratch.archive(NET).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bucket = subject.bucket.as_ref().unwrap();
    let objects = bucket.list("");
    assert!(objects.len() >= 5, "{objects:?}");
    for (key, _) in objects {
        let raw = bucket.get(&key);
        let mut text = raw.clone();
        if key.ends_with(".gz") {
            text.clear();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut text)
                .unwrap();
        }
        for secret in [bucket.secret(), ACCESS_KEY_ID] {
            assert!(
                !text.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{key} holds {secret}"
            );
        }
    }
}

/// A server for many hosts (by `Host`) that holds each response briefly and records the most
/// requests each host ever had in flight at once.
struct PerHost {
    port: u16,
    max: Arc<Mutex<BTreeMap<String, (usize, usize)>>>,
}

impl PerHost {
    async fn start() -> Self {
        let (listener, port) = bind().await;
        let max: Arc<Mutex<BTreeMap<String, (usize, usize)>>> = Arc::default();
        let shared = Arc::clone(&max);
        spawn_server(listener, move |req| {
            let shared = Arc::clone(&shared);
            async move {
                let host = req
                    .headers()
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                {
                    let mut counts = shared.lock().unwrap();
                    let (now, max) = counts.entry(host.clone()).or_default();
                    *now += 1;
                    *max = (*max).max(*now);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                shared.lock().unwrap().get_mut(&host).unwrap().0 -= 1;
                // A body of its own per path, so every capture has its own hash.
                let body = format!(
                    "<html><title>{}</title><body>page {}</body></html>",
                    req.uri(),
                    req.uri()
                );
                hyper::Response::builder()
                    .status(200)
                    .header("content-type", "text/html")
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .unwrap()
            }
        });
        Self { port, max }
    }
}

/// The manifest's links as `id → (url, sha256s of the snapshots)`.
fn captures(manifest: &Value) -> BTreeMap<String, (String, Vec<String>)> {
    manifest["links"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, entry)| {
            let hashes = entry["snapshots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["sha256"].as_str().unwrap().to_owned())
                .collect();
            (id.clone(), (entry["url"].as_str().unwrap().to_owned(), hashes))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_four_shard_runs_at_once_equal_one_run_and_keep_per_host() {
    let site = PerHost::start().await;
    let hosts: Vec<String> = (0..12).map(|h| format!("site{h}.test")).collect();
    let links: Vec<(String, String)> = (0..400)
        .map(|n| {
            // In clumps, as reference lists are: runs of links to one host.
            let host = &hosts[(n / 7) % hosts.len()];
            (format!("l{n}"), format!("http://{host}:{}/doc/{n}", site.port))
        })
        .collect();
    let borrowed: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let Some(sharded) = Subject::new(Backend::Bucket, &borrowed) else {
        return;
    };
    let mut flags: Vec<String> = NET.iter().map(|s| (*s).to_owned()).collect();
    flags.extend(["--per-host", "2", "--concurrency", "16"].map(str::to_owned));
    for host in &hosts {
        flags.extend(["--resolve".to_owned(), format!("{host}:{}:127.0.0.1", site.port)]);
    }
    let flag_refs: Vec<&str> = flags.iter().map(String::as_str).collect();

    let runs: Vec<_> = (0..4)
        .map(|k| {
            let mut args = flag_refs.clone();
            let shard = format!("{k}/4");
            args.extend(["--shard", shard.as_str(), "--wait-lock"]);
            sharded.scratch.spawn_archive(&args)
        })
        .collect();
    for run in runs {
        let (code, stderr) = wait_child(run).await;
        assert_eq!(code, 0, "{stderr}");
    }
    let per_host = site.max.lock().unwrap().clone();
    assert_eq!(per_host.len(), hosts.len(), "{per_host:?}");
    for (host, (_, max)) in &per_host {
        assert!(*max <= 2, "{host} had {max} requests in flight at once");
    }
    let sharded_manifest = sharded.manifest();
    sharded.assert_manifest_and_index_agree();

    // One unsharded run over the same links, into another prefix of the same server.
    let mut whole = Scratch::new(&borrowed);
    whole.archive = PathBuf::from(sharded.bucket.as_ref().unwrap().url("whole"));
    whole.env = sharded.scratch.env.clone();
    let run = whole.archive(&flag_refs).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let whole_manifest: Value =
        serde_json::from_slice(&sharded.bucket.as_ref().unwrap().get("whole/manifest.json")).unwrap();
    let (sharded_captures, whole_captures) = (captures(&sharded_manifest), captures(&whole_manifest));
    assert_eq!(sharded_captures.len(), 400);
    assert_eq!(sharded_captures, whole_captures);
    // The same index too, but for the runs' own file names and times.
    let index_of = |text: Vec<u8>| -> BTreeSet<(String, String, String)> {
        String::from_utf8(text)
            .unwrap()
            .lines()
            .map(|line| {
                let json: Value = serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap();
                let field = |name: &str| json[name].as_str().unwrap_or_default().to_owned();
                (field("url"), field("digest"), field("status"))
            })
            .collect()
    };
    let bucket = sharded.bucket.as_ref().unwrap();
    let sharded_index = sharded.read("index.cdxj").unwrap();
    let whole_index = bucket.get("whole/index.cdxj");
    assert_eq!(
        String::from_utf8_lossy(&sharded_index).lines().count(),
        String::from_utf8_lossy(&whole_index).lines().count()
    );
    assert_eq!(index_of(sharded_index), index_of(whole_index));

    // The archive the four shards made together replays.
    let serve = ServeProcess::start(&sharded.scratch);
    let stamp: String = sharded_manifest["links"]["l123"]["snapshots"][0]["first_seen"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let url = sharded_manifest["links"]["l123"]["url"].as_str().unwrap();
    let replay = reqwest::get(serve.url(&format!("/web/{stamp}id_/{url}")))
        .await
        .unwrap();
    assert_eq!(replay.status(), 200, "{}", serve.stderr());
    assert!(replay.text().await.unwrap().contains("page /doc/123"));
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_repair_and_gc_work_on_a_bucket() {
    let (server, _docs) = site().await;
    let Some(subject) = Subject::new(Backend::Bucket, &site_links(&server)) else {
        return;
    };
    let run = subject.scratch.archive(NET).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let index = subject.read("index.cdxj").unwrap();
    let bucket = subject.bucket.as_ref().unwrap();
    bucket.delete(&format!("{PREFIX}/index.cdxj"));

    let dry = subject.scratch.run(&["repair", "--dry-run"]).await;
    assert!(dry.code <= 1, "{}", dry.stderr);
    assert!(subject.read("index.cdxj").is_none(), "a dry run writes nothing");
    assert!(subject.read(".lock").is_none(), "a dry run takes no lease");

    let repair = subject.scratch.run(&["repair", "--format", "json"]).await;
    assert!(repair.code <= 1, "{}", repair.stderr);
    let report: Value = serde_json::from_slice(&repair.stdout).unwrap();
    assert_eq!(report["index"]["action"], "rebuilt", "{report:#}");
    assert!(
        subject.read("index.cdxj").unwrap() == index,
        "the rebuilt index is the one the run wrote"
    );
    subject.assert_manifest_and_index_agree();

    let before = subject.names();
    let gc = subject.scratch.run(&["gc"]).await;
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert_eq!(subject.names(), before, "nothing to collect in a fresh archive");
    let verify = subject.scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_submit_with_shards_on_a_bucket_is_refused_before_anything_is_written() {
    let (server, _docs) = site().await;
    let Some(subject) = Subject::new(Backend::Bucket, &site_links(&server)) else {
        return;
    };
    let refused = subject
        .scratch
        .run(&["archive", "--shard", "0/2", "--submit", "wayback"])
        .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--submit cannot be combined with --shard"),
        "{}",
        refused.stderr
    );
    assert!(subject.names().is_empty(), "{:?}", subject.names());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_run_whose_lease_was_taken_over_stops_before_compacting() {
    let gate = Gate::start().await;
    let Some(subject) = Subject::new(Backend::Bucket, &[("gated", gate.url.clone())]) else {
        return;
    };
    let scratch = &subject.scratch;
    let first = scratch.spawn_archive(&["--retries", "0", "--timeout", "30", "--no-soft-404"]);
    wait_until("the first run's request", || gate.requests() >= 1).await;
    // Another run takes the lease over behind the first one's back (as after a stall past
    // its TTL): the first one's next renewal is refused.
    let usurper = serde_json::json!({
        "host": "elsewhere", "pid": 4242, "command": "archive", "started": "2026-12-06T00:00:00Z",
        "renewed": "2026-12-06T00:00:00Z", "ttl_seconds": 4
    });
    let bucket = subject.bucket.as_ref().unwrap();
    bucket.put(&format!("{PREFIX}/.lock"), serde_json::to_vec(&usurper).unwrap());
    let server = subject.server.as_ref().unwrap();
    wait_until("the first run's renewal to be refused", || {
        server
            .log()
            .lines()
            .any(|line| line.contains("PUT /linkkeep-test/cites/2018/.lock") && line.contains(" 412 "))
    })
    .await;
    gate.open();
    let (code, stderr) = wait_child(first).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was taken over") && stderr.contains("pid 4242"),
        "{stderr}"
    );
    assert!(subject.read("manifest.json").is_none(), "nothing was compacted");
    assert!(
        subject.names().iter().any(|n| n.starts_with("journal/")),
        "the journal is left for the next run: {:?}",
        subject.names()
    );
    assert_eq!(
        subject
            .read(".lock")
            .map(|b| serde_json::from_slice::<Value>(&b).unwrap()),
        Some(usurper),
        "the lease it lost is not released"
    );

    // Once the usurper's lease lapses, the next run recovers what the first one finished.
    let mut args = NET.to_vec();
    args.push("--wait-lock");
    let next = scratch.archive(&args).await;
    assert_eq!(next.code, 0, "{}\n{:#}", next.stderr, next.report);
    assert_eq!(next.result("gated")["change"], "unchanged", "{:#}", next.report);
    subject.assert_manifest_and_index_agree();
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_bad_url_or_a_missing_bucket_exits_2_naming_it() {
    let mut scratch = Scratch::new(&[("a", "http://127.0.0.1:9/a".to_owned())]);
    for bad in ["s3://Bad_Bucket/x", "s3://ab", "s3://cites/a/../b"] {
        scratch.archive = PathBuf::from(bad);
        let run = scratch.run(&["status"]).await;
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(run.stderr.contains(bad), "{bad}: {}", run.stderr);
    }

    let Some(subject) = Subject::new(Backend::Bucket, &[("a", "http://127.0.0.1:9/a".to_owned())]) else {
        return;
    };
    let mut scratch = subject.scratch;
    scratch.archive = PathBuf::from("s3://no-such-bucket/cites");
    for command in [&["status"][..], &["archive", "--retries", "0"][..]] {
        let run = scratch.run(command).await;
        assert_eq!(run.code, 2, "{command:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("s3://no-such-bucket/cites"),
            "{command:?}: {}",
            run.stderr
        );
    }
}
