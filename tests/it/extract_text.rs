//! `linkkeep extract` on plain text and Markdown: the seed document reproduces the shipped
//! links.json's URLs in order, the tricky Markdown cases, standard input, and malformed input
//! (binary garbage, invalid UTF-8, empty and missing files). Guards issue #6.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::linkkeep;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Runs `linkkeep extract <args>` in `dir`; returns (exit code, stdout, stderr).
pub fn extract_in(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> (i32, String, String) {
    let mut cmd = linkkeep();
    cmd.current_dir(dir).arg("extract").args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let output = cmd.output().unwrap();
    (
        output.status.code().expect("linkkeep was killed"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The `url`s of a links.json document, in order.
pub fn urls_of(doc: &Value) -> Vec<String> {
    doc["links"]
        .as_array()
        .expect("a links array")
        .iter()
        .map(|l| l["url"].as_str().or(l.as_str()).expect("a url").to_owned())
        .collect()
}

fn parse(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}

#[test]
fn the_seed_document_reproduces_the_shipped_links_json() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped: Value = serde_json::from_str(&std::fs::read_to_string(root.join("links.json")).unwrap()).unwrap();
    let (code, stdout, stderr) = extract_in(root, &["tests/fixtures/wgec-cstd-2018-contribution.txt"], None);
    assert_eq!(code, 0, "{stderr}");
    let doc = parse(&stdout);
    assert_eq!(urls_of(&doc), urls_of(&shipped));
    assert_eq!(doc["version"], 1);
    assert_eq!(
        doc["source"]["document"],
        "tests/fixtures/wgec-cstd-2018-contribution.txt"
    );
    // The footnote's URL stays percent-encoded and the e-mail address of footnote 1 is no URL.
    assert!(urls_of(&doc).contains(&"http://www.apig.ch/Gaps%20r9%20clean.pdf".to_owned()));
    assert!(!stdout.contains("\"url\": \"mailto") && !urls_of(&doc).iter().any(|u| u.contains("alum.mit.edu")));
    let links = doc["links"].as_array().unwrap();
    assert_eq!(
        links[3]["note"],
        "2 An updated version is found at: http://www.apig.ch/Gaps%20r9%20clean.pdf"
    );
    assert_eq!(
        links[0]["note"],
        "My submission to WGEC lists and analyses many of those issues, see2: \
         http://unctad.org/meetings/en/Contribution/WGEC_m5_RevRecom_RichardHill_en.pdf"
    );
    // Every id is unique and every link derives a readable one.
    let ids: std::collections::HashSet<_> = links.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), links.len());
    // The output is itself a valid links.json.
    linkkeep::links::parse(Path::new("stdout"), &stdout).unwrap();
}

#[test]
fn markdown_tricky_cases() {
    let dir = fixture("extract");
    let (code, stdout, stderr) = extract_in(&dir, &["tricky.md"], None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        urls_of(&parse(&stdout)),
        [
            "https://en.wikipedia.org/wiki/Foo_(bar)",
            "https://a.example/x",
            "https://a.example/end",
            "https://a.example/angle?q=1&r=2",
            "https://a.example/bold",
            "https://a.example/inline",
            "https://a.example/diagram%20v2.png",
            "http://www.example.org/page?x=1",
            "http://www.apig.ch/Gaps%20r9%20clean.pdf",
            "https://a.example/reference",
            "https://a.example/other",
        ]
    );
    assert!(
        stderr.contains("skipped 2 non-http(s) links (ftp: 1, mailto: 1)"),
        "{stderr}"
    );
    assert!(stderr.contains("skipped relative link docs/guide.md"), "{stderr}");
    assert!(!stderr.contains("#top"), "{stderr}");
}

#[test]
fn markdown_relative_links_resolve_against_base_url() {
    let dir = fixture("extract");
    let (code, stdout, stderr) = extract_in(&dir, &["--base-url", "https://site.example/docs/", "tricky.md"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(urls_of(&parse(&stdout)).contains(&"https://site.example/docs/docs/guide.md".to_owned()));

    let (code, _, stderr) = extract_in(&dir, &["--base-url", "not a url", "tricky.md"], None);
    assert_eq!(code, 2);
    assert!(stderr.contains("--base-url"), "{stderr}");
}

#[test]
fn stdin_is_read_with_a_dash_and_sniffed() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"See https://a.example/one, and <https://a.example/two>.\n".to_vec();
    let (code, stdout, stderr) = extract_in(dir.path(), &["-"], Some(text));
    assert_eq!(code, 0, "{stderr}");
    let doc = parse(&stdout);
    assert_eq!(urls_of(&doc), ["https://a.example/one", "https://a.example/two"]);
    assert_eq!(doc["source"]["document"], "-");

    let html = b"<!doctype html><p><a href=\"https://a.example/html\">x</a></p>".to_vec();
    let (code, stdout, _) = extract_in(dir.path(), &["-"], Some(html));
    assert_eq!(code, 0);
    assert_eq!(urls_of(&parse(&stdout)), ["https://a.example/html"]);
}

#[test]
fn urls_are_deduplicated_across_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "https://a.example/1 https://a.example/2").unwrap();
    std::fs::write(dir.path().join("b.md"), "[x](https://a.example/2) https://a.example/3").unwrap();
    let (code, stdout, stderr) = extract_in(dir.path(), &["a.txt", "b.md"], None);
    assert_eq!(code, 0, "{stderr}");
    let doc = parse(&stdout);
    assert_eq!(
        urls_of(&doc),
        ["https://a.example/1", "https://a.example/2", "https://a.example/3"]
    );
    assert_eq!(doc["source"]["documents"], serde_json::json!(["a.txt", "b.md"]));
}

#[test]
fn malformed_input_gives_a_clear_message_and_no_crash() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("garbage.bin"), &garbage).unwrap();
    std::fs::write(
        dir.path().join("latin1.txt"),
        b"caf\xe9: https://a.example/caf\xe9 \xff\xfe",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.txt"), b"").unwrap();

    let (code, stdout, stderr) = extract_in(dir.path(), &["garbage.bin"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("garbage.bin"), "{stderr}");
    parse(&stdout);

    let (code, stdout, stderr) = extract_in(dir.path(), &["latin1.txt"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("latin1.txt: not valid UTF-8; read as windows-1252"),
        "{stderr}"
    );
    assert_eq!(urls_of(&parse(&stdout)), ["https://a.example/café"]);

    let (code, stdout, stderr) = extract_in(dir.path(), &["empty.txt"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(urls_of(&parse(&stdout)).is_empty());
    assert!(stderr.contains("empty.txt: no http(s) URLs found"), "{stderr}");

    let (code, stdout, stderr) = extract_in(dir.path(), &["empty.txt", "missing.md"], None);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("cannot read missing.md"), "{stderr}");

    std::fs::write(dir.path().join("broken.pdf"), b"%PDF-1.4\nnot really a pdf").unwrap();
    let (code, stdout, stderr) = extract_in(dir.path(), &["broken.pdf"], None);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("broken.pdf") && stderr.contains("not a readable PDF"),
        "{stderr}"
    );
}
