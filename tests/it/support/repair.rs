//! The archive the `repair` tests damage and rebuild (issue #12): two `archive` runs against a
//! wiremock server on 127.0.0.1 that leave every kind of record and manifest entry an archive
//! has. Run 1: a redirect to a page, an error response (404), a gzip-encoded page, a text with
//! validators, a page that will change, and a refused connection (no record at all). Run 2: the
//! same, except that the text answers 304 (a server-not-modified revisit), the changing page
//! serves new bytes (a second snapshot), and the others serve identical bytes
//! (identical-payload-digest revisits).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::archive::{Scratch, gzip, json_run};
use super::raw::dead_url;

/// Network flags for the archive runs: no retries, so a failure shows at once.
const NET: &[&str] = &["--retries", "0", "--timeout", "10"];

/// The links: ids.
pub const MOVED: &str = "moved";
pub const MISSING: &str = "missing";
pub const GZIPPED: &str = "gzipped";
pub const VALIDATED: &str = "validated";
pub const CHANGING: &str = "changing";
pub const OFFLINE: &str = "offline";

/// Links whose checks fail in both runs: their `last_check.at` is approximated by a rebuild.
pub const FAILING: [&str; 2] = [MISSING, OFFLINE];

/// The two-run archive and what its server served.
pub struct TwoRuns {
    pub server: MockServer,
    pub scratch: Scratch,
    /// The page the redirect leads to.
    pub moved_page: Vec<u8>,
    /// The gzip page decoded, and as sent.
    pub gz_plain: Vec<u8>,
    pub gz_wire: Vec<u8>,
    /// The changing page in run 1 and run 2.
    pub changing: [Vec<u8>; 2],
    /// The run ids, oldest first.
    pub runs: [String; 2],
}

fn html(title: &str, text: &str) -> Vec<u8> {
    format!("<!doctype html><html><head><title>{title}</title></head><body><p>{text}</p></body></html>\n").into_bytes()
}

impl TwoRuns {
    /// Serves the links and runs `archive` twice, checking each run reported what it should.
    pub async fn build() -> Self {
        let gz_plain: Vec<u8> = html(
            "Compressed",
            &"Enhanced cooperation on public policy issues. ".repeat(40),
        );
        let gz_wire = gzip(&gz_plain).await;
        let server = MockServer::start().await;
        let at = |p: &str| format!("{}{p}", server.uri());
        let links = [
            (MOVED, at("/old")),
            (MISSING, at("/missing")),
            (GZIPPED, at("/gz.html")),
            (VALIDATED, at("/validated.txt")),
            (CHANGING, at("/changing.html")),
            (OFFLINE, dead_url()),
        ];
        let scratch = Scratch::new(&links);
        let mut built = TwoRuns {
            server,
            scratch,
            moved_page: html("Moved here", "The page that moved"),
            gz_plain,
            gz_wire,
            changing: [html("Draft", "Version one"), html("Final", "Version two, revised")],
            runs: Default::default(),
        };
        let mut runs = Vec::new();
        for run in [1, 2] {
            built.server.reset().await;
            built.mount(run).await;
            let done = built.scratch.archive(NET).await;
            assert_eq!(
                done.code, 1,
                "run {run} (two links fail): {:#}\n{}",
                done.report, done.stderr
            );
            for id in FAILING {
                assert_ne!(done.result(id)["outcome"], "ok", "run {run}: {id}");
            }
            let expected = |id: &str| match (run, id) {
                (1, _) => "new",
                (_, CHANGING) => "changed",
                _ => "unchanged",
            };
            for id in [MOVED, GZIPPED, VALIDATED, CHANGING] {
                assert_eq!(done.result(id)["change"], expected(id), "run {run}: {id}");
            }
            runs.push(done.report["run"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            built.scratch.manifest()["links"][VALIDATED]["last_check"]["http_status"],
            304,
            "run 2 revalidated the text"
        );
        built.runs = [runs[0].clone(), runs[1].clone()];
        built
    }

    /// Mounts what the server answers in run `run` (1 or 2).
    async fn mount(&self, run: usize) {
        let server = &self.server;
        Mock::given(path("/old"))
            .respond_with(ResponseTemplate::new(301).insert_header("location", "/new.html"))
            .mount(server)
            .await;
        Mock::given(path("/new.html"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(self.moved_page.clone(), "text/html"))
            .mount(server)
            .await;
        Mock::given(path("/missing"))
            .respond_with(ResponseTemplate::new(404).set_body_raw(b"<h1>Not found</h1>".to_vec(), "text/html"))
            .mount(server)
            .await;
        Mock::given(path("/gz.html"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(self.gz_wire.clone(), "text/html; charset=utf-8")
                    .insert_header("content-encoding", "gzip"),
            )
            .mount(server)
            .await;
        Mock::given(path("/changing.html"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(self.changing[run - 1].clone(), "text/html; charset=utf-8"),
            )
            .mount(server)
            .await;
        let validators = |template: ResponseTemplate| {
            template
                .insert_header("etag", "\"v1\"")
                .insert_header("last-modified", "Mon, 05 Feb 2018 10:00:00 GMT")
        };
        if run == 1 {
            Mock::given(path("/validated.txt"))
                .respond_with(validators(
                    ResponseTemplate::new(200).set_body_raw(b"a text with validators\n".to_vec(), "text/plain"),
                ))
                .mount(server)
                .await;
        } else {
            Mock::given(method("GET"))
                .and(path("/validated.txt"))
                .and(header("if-none-match", "\"v1\""))
                .respond_with(validators(ResponseTemplate::new(304)))
                .mount(server)
                .await;
        }
    }

    /// The archive directory.
    pub fn archive(&self) -> &Path {
        &self.scratch.archive
    }

    /// The WARC file of run `n` (0 or 1).
    pub fn warc(&self, n: usize) -> PathBuf {
        self.archive().join(format!("warc/{}.warc.gz", self.runs[n]))
    }

    /// The index's text.
    pub fn index(&self) -> String {
        std::fs::read_to_string(self.archive().join("index.cdxj")).unwrap()
    }

    /// Runs `repair` with `args` and `--format json`; returns its exit code, the parsed report
    /// and stderr.
    pub async fn repair(&self, args: &[&str]) -> (i32, Value, String) {
        let mut cmd = self.scratch.cmd();
        cmd.args(["repair", "--format", "json"]).args(args);
        json_run(cmd).await
    }
}

/// Every file under `dir` (relative path → bytes), for telling whether anything changed.
pub fn tree_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The manifest with what a rebuild may change blanked out, so that the rest compares equal:
/// `updated_at` (the time the manifest is written, which for a rebuild is the repair's), and
/// `last_check.at` of the links in [`FAILING`] (a failed check leaves no record of its own
/// time: the rebuild takes the error response's `WARC-Date`, or the run's `finished_at`).
pub fn comparable(manifest: &Value) -> Value {
    let mut manifest = manifest.clone();
    manifest["updated_at"] = Value::Null;
    for id in FAILING {
        manifest["links"][id]["last_check"]["at"] = Value::Null;
    }
    manifest
}
