//! Helpers for the `verify` and `gc` tests (guards issues #4 and #13): an archive of several
//! links built by the real binary, damaging its records and objects the way a disk or a careless
//! user would, planting orphans, and `verify`'s JSON report (its own outcomes and `warnings`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::archive::{RawRun, Scratch, random_bytes, run_raw};
use super::payloads::{flip_in_record, strip_objects};

/// Network flags for every run: no retries, so a failure shows at once, and no soft-404 probes
/// (tests/it/soft404.rs), which would be requests beyond the ones these tests count.
pub const NET: &[&str] = &["--retries", "0", "--timeout", "5", "--no-soft-404"];

/// An orphan's hash: referenced by no snapshot, and in the `ab` fan-out folder.
pub const ORPHAN_SHA: &str = "ab00112233445566778899aabbccddeeff00112233445566778899aabbccddee";

/// The links of [`Archived::build`]: id, path on the server, body, content type.
pub fn bodies() -> Vec<(&'static str, &'static str, Vec<u8>, &'static str)> {
    vec![
        (
            "page",
            "/page.html",
            b"<!doctype html><html><head><title>Cited page</title></head><body><p>Enhanced cooperation</p></body></html>"
                .to_vec(),
            "text/html; charset=utf-8",
        ),
        // Past 64 KiB of incompressible bytes, so their records are in stored blocks, where a
        // flipped bit damages the payload alone (issue #13).
        ("report-pdf", "/report.pdf", random_bytes(4, 100_000), "application/pdf"),
        ("data", "/data.bin", random_bytes(9, 70_000), "application/octet-stream"),
    ]
}

/// A wiremock server serving [`bodies`], and an archive of them built by `linkkeep archive`.
pub struct Archived {
    pub server: MockServer,
    pub scratch: Scratch,
}

impl Archived {
    /// Serves [`bodies`] on 127.0.0.1 and archives them once; panics unless the run succeeds.
    pub async fn build() -> Self {
        let server = MockServer::start().await;
        for (_, at, body, content_type) in bodies() {
            mount(&server, at, body, content_type).await;
        }
        let links: Vec<(&str, String)> = bodies()
            .iter()
            .map(|(id, at, _, _)| (*id, format!("{}{at}", server.uri())))
            .collect();
        let scratch = Scratch::new(&links);
        let archived = Archived { server, scratch };
        archived.archive().await;
        archived
    }

    /// [`Archived::build`], then each payload left only in its WARC record (issue #13): no
    /// `objects/`, no `object` fields, whichever layout the writer produced.
    pub async fn one_copy() -> Self {
        let archived = Self::build().await;
        strip_objects(&archived.scratch.archive);
        archived
    }

    /// The payload link `id` is served with.
    pub fn payload(&self, id: &str) -> Vec<u8> {
        bodies().into_iter().find(|(i, ..)| *i == id).unwrap().2
    }

    /// Runs `archive` once more; panics unless it exits 0.
    pub async fn archive(&self) {
        let run = self.scratch.archive(NET).await;
        assert_eq!(run.code, 0, "archive failed: {:#}\n{}", run.report, run.stderr);
    }

    /// The manifest's latest snapshot of `id`.
    pub fn latest(&self, id: &str) -> Value {
        self.scratch.snapshots(id).last().cloned().unwrap()
    }

    /// Takes link `id` off links.json, leaves every payload in its WARC record only, and flips
    /// a byte of the latest snapshot's payload there; returns that snapshot (issue #12: fixity
    /// still covers a link no longer listed).
    pub fn unlist_and_damage(&self, id: &str) -> Value {
        let kept: Vec<(&str, String)> = bodies()
            .iter()
            .filter(|(listed, ..)| *listed != id)
            .map(|(listed, at, _, _)| (*listed, format!("{}{at}", self.server.uri())))
            .collect();
        super::links_file(self.scratch.dir.path(), &kept);
        strip_objects(&self.scratch.archive);
        let snapshot = self.latest(id);
        flip_in_record(&self.scratch.archive, &snapshot, &self.payload(id));
        snapshot
    }

    /// Runs `linkkeep … verify <args>` and returns its raw output.
    pub async fn verify_raw(&self, args: &[&str]) -> RawRun {
        let mut cmd = self.scratch.cmd();
        cmd.arg("verify").args(args);
        run_raw(cmd).await
    }

    /// Runs `verify --format json <args>` and parses the report on stdout.
    pub async fn verify(&self, args: &[&str]) -> (i32, VerifyReport, String) {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let run = self.verify_raw(&all).await;
        (run.code, parse_report(&run), run.stderr)
    }

    /// Runs `linkkeep … gc <args>`.
    pub async fn gc(&self, args: &[&str]) -> RawRun {
        let mut cmd = self.scratch.cmd();
        cmd.arg("gc").args(args);
        run_raw(cmd).await
    }

    /// Writes an object file at [`ORPHAN_SHA`]'s address (read-only, as the store makes
    /// them) and returns its path. Its bytes do not hash to its name; no snapshot refers to it.
    pub fn plant_orphan(&self) -> PathBuf {
        let path = self
            .scratch
            .archive
            .join(format!("objects/sha256/{}/{}", &ORPHAN_SHA[..2], &ORPHAN_SHA[2..]));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"left behind by an older snapshot that is gone").unwrap();
        set_mode(&path, 0o444);
        path
    }

    /// Every file of the archive with its bytes, to show that a command wrote nothing.
    pub fn tree(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        collect(&self.scratch.archive, &self.scratch.archive, &mut files);
        files
    }
}

/// Serves `body` with `content_type` at `at`.
pub async fn mount(server: &MockServer, at: &str, body: Vec<u8>, content_type: &str) {
    Mock::given(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, content_type))
        .mount(server)
        .await;
}

/// Parses a JSON report from `run`'s stdout, showing the run when it is not one.
pub fn parse_report(run: &RawRun) -> VerifyReport {
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
            run.code,
            String::from_utf8_lossy(&run.stdout),
            run.stderr
        )
    })
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Makes a read-only object writable (chmod u+w) so a test can damage it.
pub fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    set_mode(path, mode | 0o200);
}

/// Flips one bit of the byte at `offset` of the file at `path`; the size stays the same.
pub fn flip_byte(path: &Path, offset: usize) {
    make_writable(path);
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// Cuts the file at `path` to half its size.
pub fn truncate_half(path: &Path) {
    make_writable(path);
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len / 2).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.insert(path.strip_prefix(root).unwrap().join(""), Vec::new());
            collect(root, &path, files);
        } else {
            files.insert(
                path.strip_prefix(root).unwrap().to_owned(),
                std::fs::read(&path).unwrap(),
            );
        }
    }
}

/// `verify`'s JSON report is the common report (its outcomes include `missing_object`,
/// `corrupt_object` and `corrupt_warc`, and it may carry `warnings`).
pub use super::report::{Outcome as VerifyOutcome, Report as VerifyReport};
