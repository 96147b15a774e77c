//! Helpers for the `archive`, `status` and `get` tests (issue #3): a scratch directory with a
//! links file and an archive, running the binary on it, and reading the manifest and the object
//! store back the way a user (or `verify`) would.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::{linkkeep, links_file};

/// The longest a spawned (not `assert_cmd`) run may take before the test gives up on it.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A finished run whose stdout may be binary (`get`).
pub struct RawRun {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `cmd` off the async runtime, keeping stdout as bytes.
pub async fn run_raw(mut cmd: assert_cmd::Command) -> RawRun {
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let Some(code) = output.status.code() else {
        panic!("linkkeep was killed (hung?)\nstderr:\n{stderr}");
    };
    RawRun {
        code,
        stdout: output.stdout,
        stderr,
    }
}

/// Runs `cmd`, which prints a JSON report on stdout; returns its exit code, the parsed report
/// and stderr. Panics, showing both outputs, when stdout is not JSON.
pub async fn json_run(cmd: assert_cmd::Command) -> (i32, Value, String) {
    let run = run_raw(cmd).await;
    let report = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
            run.code,
            String::from_utf8_lossy(&run.stdout),
            run.stderr
        )
    });
    (run.code, report, run.stderr)
}

/// A temporary directory holding `links.json` and the archive `archive/`.
pub struct Scratch {
    pub dir: TempDir,
    pub links: PathBuf,
    /// The archive directory, or `s3://bucket/prefix` for an archive in object storage.
    pub archive: PathBuf,
    /// Variables every run gets (an object store's endpoint and keys).
    pub env: Vec<(String, String)>,
}

/// A finished `archive` run with its JSON report parsed.
pub struct ArchiveRun {
    pub code: i32,
    pub report: Value,
    pub stderr: String,
}

impl ArchiveRun {
    /// The report entry of link `id`.
    pub fn result(&self, id: &str) -> &Value {
        self.report["results"]
            .as_array()
            .and_then(|results| results.iter().find(|r| r["id"] == id))
            .unwrap_or_else(|| panic!("no result for {id:?} in {:#}", self.report))
    }
}

impl Scratch {
    /// A scratch directory whose links.json lists `links` as `(id, url)`.
    pub fn new(links: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let links = links_file(dir.path(), links);
        let archive = dir.path().join("archive");
        Scratch {
            dir,
            links,
            archive,
            env: Vec::new(),
        }
    }

    /// `linkkeep --links … --archive … --no-progress`, run from the scratch directory.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = linkkeep();
        cmd.current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--links")
            .arg(&self.links)
            .arg("--archive")
            .arg(&self.archive)
            .arg("--no-progress");
        cmd
    }

    /// [`Scratch::cmd`] as a plain process running `args`, for tests that watch it while it runs.
    pub fn process(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = super::linkkeep_process();
        cmd.current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--links")
            .arg(&self.links)
            .arg("--archive")
            .arg(&self.archive)
            .arg("--no-progress")
            .args(args);
        cmd
    }

    /// `archive --format json` with `args`.
    pub fn archive_cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.cmd();
        cmd.args(["archive", "--format", "json"]).args(args);
        cmd
    }

    /// Runs `archive --format json` with `args` and parses the report on stdout.
    pub async fn archive(&self, args: &[&str]) -> ArchiveRun {
        let (code, report, stderr) = json_run(self.archive_cmd(args)).await;
        ArchiveRun { code, report, stderr }
    }

    /// Runs `linkkeep … <args>` (e.g. `get`, `status`) and returns its raw output.
    pub async fn run(&self, args: &[&str]) -> RawRun {
        let mut cmd = self.cmd();
        cmd.args(args);
        run_raw(cmd).await
    }

    /// Starts `archive` with `args` as a child process (for killing it, or holding it).
    pub fn spawn_archive(&self, args: &[&str]) -> Running {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_linkkeep"))
            .current_dir(self.dir.path())
            .env("CI", "true")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env("XDG_CONFIG_HOME", super::NO_USER_CONFIG)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--links")
            .arg(&self.links)
            .arg("--archive")
            .arg(&self.archive)
            .args(["--no-progress", "-q", "archive"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running(Some(child))
    }

    /// The manifest, parsed; panics if it is missing or not JSON.
    pub fn manifest(&self) -> Value {
        let path = self.archive.join("manifest.json");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
    }

    /// The snapshots of link `id` in the manifest.
    pub fn snapshots(&self, id: &str) -> Vec<Value> {
        self.manifest()["links"][id]["snapshots"]
            .as_array()
            .unwrap_or_else(|| panic!("no snapshots array for {id:?}"))
            .clone()
    }

    /// The distinct WARC records that hold the manifest's payloads, as `(file, offset)`: one
    /// per distinct payload when each is stored once (issue #13).
    pub fn payload_records(&self) -> Vec<(String, u64)> {
        let manifest = self.manifest();
        let mut records: Vec<(String, u64)> = manifest["links"]
            .as_object()
            .expect("links is an object")
            .values()
            .flat_map(|entry| entry["snapshots"].as_array().cloned().unwrap_or_default())
            .map(|s| (s["warc"].as_str().unwrap().to_owned(), s["offset"].as_u64().unwrap()))
            .collect();
        records.sort();
        records.dedup();
        records
    }

    /// The payload of `snapshot` (a manifest snapshot), read back from the record it names with
    /// its Content-Encoding removed, as `get` reads it.
    pub fn payload(&self, snapshot: &Value) -> Vec<u8> {
        let snapshot: ::linkkeep::manifest::Snapshot = serde_json::from_value(snapshot.clone()).unwrap();
        let mut bytes = Vec::new();
        ::linkkeep::payload::open(&self.archive, &snapshot)
            .unwrap_or_else(|e| panic!("cannot open the payload of {snapshot:?}: {e}"))
            .copy_to(&mut bytes)
            .unwrap_or_else(|e| panic!("the payload of {snapshot:?} is not the recorded one: {e}"));
        bytes
    }

    /// The archive's WARC files, sorted.
    pub fn warc_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        walk(&self.archive.join("warc"), &mut files);
        files.sort();
        files
    }

    /// Every file under the archive directory, relative to it, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        walk(&self.archive, &mut files);
        let mut files: Vec<PathBuf> = files
            .into_iter()
            .map(|f| f.strip_prefix(&self.archive).unwrap().to_owned())
            .collect();
        files.sort();
        files
    }

    /// Asserts that no download was left behind in `tmp/`.
    pub fn assert_tmp_empty(&self) {
        let tmp = self.archive.join("tmp");
        let mut left = Vec::new();
        walk(&tmp, &mut left);
        assert!(left.is_empty(), "downloads left behind in tmp/: {left:?}");
    }

    /// Asserts the fixity promise on `manifest`: every snapshot names the WARC record that
    /// holds its payload, and that record gives back bytes that hash to its `sha256` with its
    /// `size`. Returns the snapshot count.
    pub fn assert_payloads_intact(&self, manifest: &Value) -> usize {
        let mut count = 0;
        let links = manifest["links"].as_object().expect("links is an object");
        for (id, entry) in links {
            for snapshot in entry["snapshots"].as_array().expect("snapshots is an array") {
                assert!(
                    snapshot["warc"].as_str().is_some_and(|w| w.starts_with("warc/")),
                    "{id}: {snapshot}"
                );
                assert!(
                    snapshot["offset"].is_u64() && snapshot["length"].is_u64(),
                    "{id}: {snapshot}"
                );
                let bytes = self.payload(snapshot);
                assert_eq!(sha256_hex(&bytes), snapshot["sha256"], "{id}");
                assert_eq!(snapshot["size"], bytes.len() as u64, "{id}");
                count += 1;
            }
        }
        count
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// A spawned run, killed if the test ends (or fails) before waiting for it.
pub struct Running(Option<Child>);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("not yet waited for")
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("not yet waited for")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for `child` to exit (at most [`CHILD_LIMIT`]) and returns its exit code and stderr.
pub async fn wait_child(mut running: Running) -> (i32, String) {
    let mut child = running.0.take().expect("not yet waited for");
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > CHILD_LIMIT {
                let _ = child.kill();
                panic!("linkkeep did not finish within {CHILD_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code().expect("exited normally"), stderr)
    })
    .await
    .unwrap()
}

/// Polls `condition` every 10 ms for up to 20 s; panics with `what` if it never holds.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// gzip of `data` (one member), as a server would send it with `Content-Encoding: gzip`.
pub async fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_repeated(data, 1).await
}

/// gzip of `data` repeated `times` (one member), without holding the decoded whole in memory.
pub async fn gzip_repeated(data: &[u8], times: usize) -> Vec<u8> {
    use async_compression::tokio::write::GzipEncoder;
    use tokio::io::AsyncWriteExt;
    let mut encoder = GzipEncoder::new(Vec::new());
    for _ in 0..times {
        encoder.write_all(data).await.unwrap();
    }
    encoder.shutdown().await.unwrap();
    encoder.into_inner()
}

/// `size` pseudo-random bytes from `seed` (xorshift), reproducible and incompressible.
pub fn random_bytes(seed: u64, size: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Waits until the journal of the run writing `archive` holds a checkpoint after which every
/// link of `ids` is promised, and returns the journal's path.
pub async fn wait_for_checkpoint(archive: &Path, ids: &[&str]) -> PathBuf {
    let dir = archive.join("journal");
    let mut found = None;
    wait_until(&format!("a checkpoint holding {ids:?}"), || {
        let Some(Ok(entry)) = std::fs::read_dir(&dir).ok().and_then(|mut d| d.next()) else {
            return false;
        };
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        // Lines before the last checkpoint line are promised.
        let promised = text.rfind("\"checkpoint\"").map_or("", |end| &text[..end]);
        found = Some(entry.path());
        ids.iter()
            .all(|id| promised.contains(&format!("\"link\":{}", serde_json::json!(id))))
    })
    .await;
    found.expect("a journal was found")
}

/// Waits (within a bound) until the wall clock's second is past every capture `index.cdxj`
/// lists, so that the next run's captures sort after the last one's at the CDXJ's one-second
/// resolution (a replay at a capture's timestamp then finds that capture, not a later one).
pub async fn after_the_latest_capture(scratch: &Scratch) {
    let index = std::fs::read_to_string(scratch.archive.join("index.cdxj")).unwrap();
    let latest = index
        .lines()
        .filter_map(|line| line.split(' ').nth(1))
        .max()
        .unwrap_or_default()
        .to_owned();
    let start = std::time::Instant::now();
    while chrono::Utc::now().format("%Y%m%d%H%M%S").to_string() <= latest {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "the clock did not pass {latest}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Serves `at` on `server` with `bytes` (gzip-encoded on the wire when `gzipped`), an ETag of
/// its bytes, and a 304 to a request that names that ETag: a resource as real servers serve it
/// to conditional requests.
pub async fn mount_conditional(
    server: &wiremock::MockServer,
    at: &str,
    bytes: &[u8],
    content_type: &str,
    gzipped: bool,
) {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let etag = format!("\"{}\"", sha256_hex(bytes));
    Mock::given(method("GET"))
        .and(path(at))
        .and(header("if-none-match", etag.as_str()))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", etag.as_str()))
        .with_priority(1)
        .mount(server)
        .await;
    let response = ResponseTemplate::new(200).insert_header("etag", etag.as_str());
    let response = if gzipped {
        response
            .insert_header("content-encoding", "gzip")
            .set_body_raw(gzip(bytes).await, content_type)
    } else {
        response.set_body_raw(bytes.to_vec(), content_type)
    };
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .with_priority(2)
        .mount(server)
        .await;
}
