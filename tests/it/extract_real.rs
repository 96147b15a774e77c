//! `linkkeep extract` on real documents nobody here wrote (issue #21): Debian's packaged
//! specification and manual as PDF and HTML, and two chapters of the Rust book, committed under
//! `tests/fixtures/real/` with their sources and licences (`SOURCES.md` there). Each has a list
//! written by reading the document (`*.expected`); `extract` must list exactly those URLs, in
//! that order, each with a note holding the words given, leave out the identifiers named, and
//! count the other schemes and relative links given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::extract_text::{extract_in, urls_of};

/// What a reader expects of one document.
#[derive(Debug, Default)]
struct Expected {
    /// (URL, words its note holds), in document order.
    links: Vec<(String, String)>,
    left_out: Vec<String>,
    skipped: BTreeMap<String, usize>,
    relative: usize,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}

fn expected(document: &str) -> Expected {
    let path = corpus().join(format!("{document}.expected"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut expected = Expected::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        let bad = format!("{}:{}: cannot read {line:?}", path.display(), number + 1);
        match kind {
            "link" => {
                let (url, words) = rest.split_once(" | ").expect(&bad);
                expected.links.push((url.to_owned(), words.to_owned()));
            }
            "left-out" => expected.left_out.push(rest.to_owned()),
            "skipped" => {
                let (scheme, count) = rest.split_once(' ').expect(&bad);
                expected.skipped.insert(scheme.to_owned(), count.parse().expect(&bad));
            }
            "relative" => expected.relative = rest.parse().expect(&bad),
            _ => panic!("{bad}"),
        }
    }
    expected
}

/// Runs `extract` on `document` and compares with its expected list.
fn check(document: &str) {
    let expected = expected(document);
    let (code, stdout, stderr) = extract_in(&corpus(), &[document], None);
    assert_eq!(code, 0, "{document}: {stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let urls = urls_of(&listed);
    let want: Vec<&str> = expected.links.iter().map(|(url, _)| url.as_str()).collect();
    assert_eq!(
        urls, want,
        "{document}: every URL a reader lists, and nothing else\n{stderr}"
    );
    for (link, (url, words)) in listed["links"].as_array().unwrap().iter().zip(&expected.links) {
        let note = link["note"].as_str().unwrap_or_default();
        assert!(
            note.contains(words.as_str()),
            "{document}: the note of {url} is the sentence citing it, holding {words:?}; it is {note:?}"
        );
    }

    // Identifiers: named on stderr, and listed by --all where the reader's list has them not.
    let left_out = stderr
        .lines()
        .filter(|line| line.starts_with("  ") && line.contains(" ("))
        .map(|line| line.trim().split_once(" (").unwrap().0.to_owned())
        .collect::<Vec<_>>();
    assert_eq!(
        left_out, expected.left_out,
        "{document}: identifiers left out\n{stderr}"
    );
    let (code, stdout, stderr_all) = extract_in(&corpus(), &["--all", document], None);
    assert_eq!(code, 0, "{document} --all: {stderr_all}");
    let all = urls_of(&serde_json::from_str(&stdout).unwrap());
    for url in expected.left_out.iter().map(String::as_str).chain(want.iter().copied()) {
        assert!(all.iter().any(|u| u == url), "{document} --all lists {url}: {all:#?}");
    }
    assert_eq!(
        all.len(),
        want.len() + expected.left_out.len(),
        "{document} --all: {all:#?}"
    );

    let skipped = if expected.skipped.is_empty() {
        None
    } else {
        let total: usize = expected.skipped.values().sum();
        let parts: Vec<String> = expected.skipped.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        Some(format!("skipped {total} non-http(s) links ({})", parts.join(", ")))
    };
    match skipped {
        Some(line) => assert!(stderr.contains(&line), "{document}: {line:?} in\n{stderr}"),
        None => assert!(!stderr.contains("non-http(s)"), "{document}: nothing skipped\n{stderr}"),
    }
    let relative = stderr
        .lines()
        .filter(|l| l.contains(": skipped relative link "))
        .count();
    assert_eq!(relative, expected.relative, "{document}: relative links\n{stderr}");
}

#[test]
fn a_specification_pdf_lists_its_references_and_not_its_namespaces() {
    check("shared-mime-info-spec.pdf");
}

#[test]
fn a_manual_pdf_lists_urls_with_their_sentences_not_glued_to_words() {
    check("libtasn1.pdf");
}

#[test]
fn a_browser_printed_pdf_lists_its_links_where_their_anchor_text_stands() {
    check("rust-book-ch01-01-installation.pdf");
}

#[test]
fn a_specification_chapter_in_html_names_its_namespaces_but_cites_nothing() {
    check("shared-mime-info-spec-x34.html");
}

#[test]
fn a_book_chapter_lists_what_a_reader_follows_not_what_the_page_loads() {
    check("rust-book-ch01-01-installation.html");
    check("rust-book-ch14-02-publishing-to-crates-io.html");
}

/// Every document of the corpus has its list, and every list its document.
#[test]
fn every_real_document_is_checked() {
    let mut documents = Vec::new();
    let mut lists = Vec::new();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(document) = name.strip_suffix(".expected") {
            lists.push(document.to_owned());
        } else if name.ends_with(".pdf") || name.ends_with(".html") {
            documents.push(name);
        }
    }
    documents.sort();
    lists.sort();
    assert_eq!(documents, lists);
    let tested = [
        "libtasn1.pdf",
        "rust-book-ch01-01-installation.html",
        "rust-book-ch01-01-installation.pdf",
        "rust-book-ch14-02-publishing-to-crates-io.html",
        "shared-mime-info-spec-x34.html",
        "shared-mime-info-spec.pdf",
    ];
    assert_eq!(lists, tested, "a new document needs its test above");
}
