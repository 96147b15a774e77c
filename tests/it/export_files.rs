//! `linkkeep export --files DIR` (issue #13): every snapshot's payload as a plain file,
//! `DIR/<id>/<timestamp>.<ext>`, byte for byte what the server sent (gzip removed, chunks joined),
//! read from the WARC records alone, with a `SHA256SUMS` the real `sha256sum -c` accepts; a
//! repeated export keeps what is there and never overwrites other bytes; a damaged record is
//! left out and fails the export; ids that are not plain names stay inside DIR; and a run
//! writing meanwhile is seen as of its last checkpoint.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{RawRun, Scratch, sha256_hex, wait_for_checkpoint};
use crate::support::payloads::{Served, flip_in_record, strip_objects};
use crate::support::serve::timestamp;

/// Runs `linkkeep … export --files <dir>`.
async fn export(scratch: &Scratch, dir: &Path) -> RawRun {
    scratch.run(&["export", "--files", dir.to_str().unwrap()]).await
}

/// Runs the real `sha256sum -c SHA256SUMS` in `dir`; returns its exit code and output.
fn sha256sum_check(dir: &Path) -> (i32, String) {
    let out = std::process::Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .expect("sha256sum (coreutils) runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The file link `id`'s first snapshot is exported to, with extension `ext`.
fn exported(served: &Served, dir: &Path, id: &str, ext: &str) -> PathBuf {
    dir.join(id)
        .join(format!("{}.{ext}", timestamp(&served.scratch, id, 0)))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_payload_is_a_file_that_sha256sum_checks() {
    let served = Served::archived().await;
    let dir = served.scratch.dir.path().join("cited");
    let run = export(&served.scratch, &dir).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("3 file(s)"), "{}", run.stderr);

    let expected = [("page", "html"), ("pdf", "pdf"), ("stream", "bin")];
    let mut names = vec!["SHA256SUMS".to_owned()];
    for (id, ext) in expected {
        let file = exported(&served, &dir, id, ext);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(bytes == served.payload(id), "{id}: not the bytes served");
        names.push(file.strip_prefix(&dir).unwrap().to_str().unwrap().to_owned());
    }
    names.sort();
    assert_eq!(files_under(&dir), names, "nothing else, no temporary file");

    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let lines: Vec<&str> = sums.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "sorted by name");
    for (id, ext) in expected {
        let rel = exported(&served, &dir, id, ext);
        let rel = rel.strip_prefix(&dir).unwrap().to_str().unwrap();
        let line = format!("{}  {rel}", sha256_hex(served.payload(id)));
        assert!(lines.contains(&line.as_str()), "{line:?} in\n{sums}");
    }
    let (code, output) = sha256sum_check(&dir);
    assert_eq!(code, 0, "{output}");
    assert_eq!(output.lines().filter(|l| l.ends_with(": OK")).count(), 3, "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_export_keeps_its_files_and_never_overwrites_other_bytes() {
    let served = Served::archived().await;
    let dir = served.scratch.dir.path().join("cited");
    assert_eq!(export(&served.scratch, &dir).await.code, 0);
    let again = export(&served.scratch, &dir).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("0 written, 3 already there"), "{}", again.stderr);

    // A hand-edited copy is in the way, and another file is gone.
    let edited = exported(&served, &dir, "page", "html");
    std::fs::write(&edited, b"my notes").unwrap();
    let gone = exported(&served, &dir, "pdf", "pdf");
    std::fs::remove_file(&gone).unwrap();
    let sums_before = std::fs::read(dir.join("SHA256SUMS")).unwrap();

    let refused = export(&served.scratch, &dir).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains(edited.to_str().unwrap()), "{}", refused.stderr);
    assert!(refused.stderr.contains("never overwrites"), "{}", refused.stderr);
    assert_eq!(std::fs::read(&edited).unwrap(), b"my notes");
    assert!(!gone.exists(), "a refused export wrote a file");
    assert_eq!(std::fs::read(dir.join("SHA256SUMS")).unwrap(), sums_before);

    std::fs::remove_file(&edited).unwrap();
    let fixed = export(&served.scratch, &dir).await;
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert!(fixed.stderr.contains("2 written, 1 already there"), "{}", fixed.stderr);
    let (code, output) = sha256sum_check(&dir);
    assert_eq!(code, 0, "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_record_is_left_out_and_fails_the_export() {
    let served = Served::archived().await;
    let snapshot = served.latest("pdf");
    flip_in_record(&served.scratch.archive, &snapshot, served.payload("pdf"));
    let dir = served.scratch.dir.path().join("cited");

    let run = export(&served.scratch, &dir).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("not exported: pdf"), "{}", run.stderr);
    assert!(run.stderr.contains("SHA-256"), "{}", run.stderr);
    assert!(!exported(&served, &dir, "pdf", "pdf").exists());
    assert_eq!(
        files_under(&dir).len(),
        3,
        "the two intact payloads and SHA256SUMS, no temporary file: {:?}",
        files_under(&dir)
    );
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    let (code, output) = sha256sum_check(&dir);
    assert_eq!(code, 0, "{output}");
}

/// Ids are the user's (or a hand-edited manifest's) text: none of them may name a place
/// outside DIR, or a hidden file.
#[tokio::test(flavor = "multi_thread")]
async fn ids_that_are_not_plain_names_stay_inside_the_directory() {
    let server = MockServer::start().await;
    Mock::given(path("/doc.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("cited text\n", "text/plain"))
        .mount(&server)
        .await;
    let ids = ["../escaped", "a/b", ".hidden", "plain"];
    let links: Vec<(&str, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, format!("{}/doc.txt?n={i}", server.uri())))
        .collect();
    let scratch = Scratch::new(&links);
    let run = scratch.archive(&["--retries", "0"]).await;
    assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    strip_objects(&scratch.archive);

    let top = scratch.dir.path().join("export");
    let dir = top.join("cited");
    let out = export(&scratch, &dir).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_dir(&top).unwrap().count(),
        1,
        "only DIR itself in its parent"
    );
    let files = files_under(&dir);
    let folders: Vec<&str> = files.iter().filter_map(|f| f.split_once('/')).map(|(d, _)| d).collect();
    assert_eq!(folders, ["%2E.%2Fescaped", "%2Ehidden", "a%2Fb", "plain"], "{files:?}");
    for file in files.iter().filter(|f| f.as_str() != "SHA256SUMS") {
        assert!(file.ends_with(".txt"), "{file}");
        assert_eq!(std::fs::read(dir.join(file)).unwrap(), b"cited text\n");
    }
    let (code, output) = sha256sum_check(&dir);
    assert_eq!(code, 0, "{output}");
}

/// Like every command that only reads, export takes no lock: while a run writes, it exports
/// what the run's last checkpoint holds.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_run_is_exported_as_of_its_last_checkpoint() {
    let server = MockServer::start().await;
    Mock::given(path("/a"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("archived while running", "text/plain"))
        .mount(&server)
        .await;
    Mock::given(path("/stalled"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[
        ("a", format!("{}/a", server.uri())),
        ("stalled", format!("{}/stalled", server.uri())),
    ]);
    let running = scratch.spawn_archive(&["--retries", "0", "--timeout", "300"]);
    wait_for_checkpoint(&scratch.archive, &["a"]).await;

    let dir = scratch.dir.path().join("cited");
    let out = export(&scratch, &dir).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let files = files_under(&dir);
    assert_eq!(files.len(), 2, "a's payload and SHA256SUMS: {files:?}");
    let a = files.iter().find(|f| f.starts_with("a/")).unwrap();
    assert!(a.ends_with(".txt"), "{a}");
    assert_eq!(std::fs::read(dir.join(a)).unwrap(), b"archived while running");
    let (code, output) = sha256sum_check(&dir);
    assert_eq!(code, 0, "{output}");
    drop(running);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_without_an_archive_exits_2_and_without_a_format_is_a_usage_error() {
    let scratch = Scratch::new(&[("page", "http://127.0.0.1:9/page".to_owned())]);
    let dir = scratch.dir.path().join("cited");
    let run = export(&scratch, &dir).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no manifest"), "{}", run.stderr);
    assert!(!scratch.archive.exists(), "export created the archive");

    let run = scratch.run(&["export"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--files"), "{}", run.stderr);
}
