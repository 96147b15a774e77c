//! `linkkeep extract --write`: merging into a links.json with hand-edited entries (titles, notes,
//! custom fields and ids and key order survive), appending new URLs, reporting and `--prune`-ing
//! URLs no longer cited, creating a missing file, and refusing an invalid one. Guards issue #6.

use std::path::Path;

use serde_json::{Value, json};

use super::extract_text::{extract_in, urls_of};

const HAND_WRITTEN: &str = r#"{
  "version": 1,
  "source": {"title": "My paper", "document": "paper.md", "custom": [1, 2]},
  "links": [
    {"url": "https://a.example/kept", "zeta": true, "id": "my-own-id", "title": "Kept, titled by hand",
     "note": "Written by hand.", "tags": ["x", {"y": null}]},
    {"id": "gone", "url": "https://gone.example/old", "publisher": "Nobody"},
    "HTTPS://B.example/bare"
  ]
}
"#;

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("links.json"), HAND_WRITTEN).unwrap();
    std::fs::write(
        dir.path().join("paper.md"),
        "We cite https://a.example/kept and https://b.example/bare.\nNew: [this](https://c.example/new).\n",
    )
    .unwrap();
    dir
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn merging_keeps_hand_written_entries_and_appends_new_urls() {
    let dir = setup();
    let (code, stdout, stderr) = extract_in(dir.path(), &["--write", "paper.md"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "--write prints nothing on stdout: {stdout}");
    let original: Value = serde_json::from_str(HAND_WRITTEN).unwrap();
    let merged = read(&dir.path().join("links.json"));

    // Everything that was there is there, value for value, in the same order.
    assert_eq!(merged["source"], original["source"]);
    let links = merged["links"].as_array().unwrap();
    assert_eq!(&links[..3], &original["links"].as_array().unwrap()[..]);
    let keys: Vec<&String> = links[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["url", "zeta", "id", "title", "note", "tags"]);
    // The new URL is appended with a derived id and its sentence.
    assert_eq!(
        links[3],
        json!({"id": "c-example-new-6d7453", "url": "https://c.example/new", "note": "New: [this](https://c.example/new)."})
    );
    // The stale entry is reported, and kept.
    assert!(
        stderr.contains("1 links are no longer cited, kept (--prune removes them)"),
        "{stderr}"
    );
    assert!(stderr.contains("gone https://gone.example/old"), "{stderr}");
    assert!(stderr.contains("1 new links appended, 2 already listed"), "{stderr}");

    // A second run changes nothing, not even the bytes.
    let before = std::fs::read(dir.path().join("links.json")).unwrap();
    let (code, _, stderr) = extract_in(dir.path(), &["--write", "paper.md"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("unchanged"), "{stderr}");
    assert_eq!(std::fs::read(dir.path().join("links.json")).unwrap(), before);

    // The result is a valid links.json.
    linkkeep::links::load(&dir.path().join("links.json")).unwrap();
}

#[test]
fn prune_removes_only_the_uncited_entries() {
    let dir = setup();
    let (code, _, stderr) = extract_in(dir.path(), &["--write", "--prune", "paper.md"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("removed (--prune)"), "{stderr}");
    let merged = read(&dir.path().join("links.json"));
    assert_eq!(
        urls_of(&merged),
        [
            "https://a.example/kept",
            "HTTPS://B.example/bare",
            "https://c.example/new"
        ]
    );
    let original: Value = serde_json::from_str(HAND_WRITTEN).unwrap();
    assert_eq!(merged["links"][0], original["links"][0]);
}

#[test]
fn a_missing_links_file_is_created_at_the_links_path() {
    let dir = setup();
    let (code, _, stderr) = extract_in(dir.path(), &["--links", "new.json", "--write", "paper.md"], None);
    assert_eq!(code, 0, "{stderr}");
    let created = read(&dir.path().join("new.json"));
    assert_eq!(created["version"], 1);
    assert_eq!(created["source"], json!({"document": "paper.md"}));
    assert_eq!(
        urls_of(&created),
        [
            "https://a.example/kept",
            "https://b.example/bare",
            "https://c.example/new"
        ]
    );
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().contains("tmp")), "{names:?}");
}

#[test]
fn an_invalid_links_file_is_exit_2_and_untouched() {
    let dir = setup();
    for bad in [
        "{\"links\": [\n  \"https://a.example/\",,\n]}",
        r#"["https://a.example/", "https://a.example/"]"#,
    ] {
        std::fs::write(dir.path().join("links.json"), bad).unwrap();
        let (code, stdout, stderr) = extract_in(dir.path(), &["--write", "paper.md"], None);
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("links.json"), "{stderr}");
        assert_eq!(std::fs::read_to_string(dir.path().join("links.json")).unwrap(), bad);
    }
}
