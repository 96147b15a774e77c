//! Unit tests of gathering a citation, and citations for the tests of the formats.

use chrono::{DateTime, Utc};
use serde_json::Map;

use super::*;
use crate::manifest::{LastCheck, SnapshotText};

/// A time from RFC 3339.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A citation of `url` captured on 2018-03-01 with a copy in this archive and one in the
/// Wayback Machine.
pub fn cited(id: &str, url: &str) -> Citation {
    Citation {
        id: id.into(),
        url: url.into(),
        title: format!("Title of {id}"),
        publisher: "Publisher".into(),
        version: Some(CitedVersion {
            captured: at("2018-03-01T10:20:30Z"),
            sha256: "ab".repeat(32),
            copies: vec![
                ArchivedCopy {
                    holder: Holder::ThisArchive,
                    url: format!("http://127.0.0.1:8080/web/20180301102030/{url}"),
                    captured: Some(at("2018-03-01T10:20:30Z")),
                },
                ArchivedCopy {
                    holder: Holder::Public("wayback".into()),
                    url: format!("https://web.archive.org/web/20180302000000/{url}"),
                    captured: Some(at("2018-03-02T00:00:00Z")),
                },
            ],
        }),
        status: Some(UrlStatus::Live),
    }
}

/// A citation of `url` that has a capture but no copy to point to.
pub fn without_copies(id: &str, url: &str) -> Citation {
    let mut citation = cited(id, url);
    citation.version.as_mut().unwrap().copies.clear();
    citation
}

fn snapshot(first_seen: &str, cosmetic: bool) -> Snapshot {
    Snapshot {
        sha256: "cd".repeat(32),
        size: 1,
        content_type: Some("text/html".into()),
        first_seen: first_seen.into(),
        last_seen: first_seen.into(),
        http_status: 200,
        url: None,
        final_url: "http://a.example/page".into(),
        etag: None,
        last_modified: None,
        title: Some("Captured\n\ttitle\u{1b}[31m".into()),
        object: None,
        warc: None,
        warc_record: None,
        run: "r".into(),
        text: Some(SnapshotText {
            text_sha256: "00".repeat(32),
            text_simhash: "0".repeat(16),
            text_words: 10,
            cosmetic,
            similarity: None,
            similarity_to_first: None,
        }),
        public_copies: Vec::new(),
        requisites: None,
        extra: Map::new(),
    }
}

fn entry(outcome: Outcome, snapshots: Vec<Snapshot>) -> LinkEntry {
    LinkEntry {
        url: "http://a.example/page".into(),
        last_check: Some(LastCheck {
            at: "2018-04-01T00:00:00Z".into(),
            outcome,
            http_status: Some(200),
            final_url: None,
            error: None,
            run: "r".into(),
            extra: Map::new(),
        }),
        snapshots,
        extra: Map::new(),
    }
}

#[test]
fn title_and_publisher_fall_back_to_the_capture_and_the_host() {
    let entry = entry(Outcome::Ok, vec![snapshot("2018-03-01T10:20:30Z", false)]);
    let citation = Citation::new(
        "a",
        "http://www.a.example/page",
        None,
        Some(&entry),
        &Options::default(),
    );
    assert_eq!(citation.title, "Captured title[31m");
    assert_eq!(citation.publisher, "a.example");
    let version = citation.version.unwrap();
    assert_eq!(version.captured, at("2018-03-01T10:20:30Z"));
    assert!(version.copies.is_empty());

    let bare = Citation::new("b", "http://b.example/x", None, None, &Options::default());
    assert_eq!(
        (bare.title.as_str(), bare.version, bare.status),
        ("http://b.example/x", None, None)
    );
}

#[test]
fn copies_are_this_archives_and_the_public_ones_of_the_cited_capture() {
    let mut first = snapshot("2018-03-01T10:20:30Z", false);
    first.public_copies = vec![
        PublicCopy::found(
            PublicArchive::Wayback,
            "https://web.archive.org/web/20180302000000/http://a.example/page".into(),
            "2018-03-02T00:00:00Z".into(),
        ),
        PublicCopy::refused(
            PublicArchive::Wayback,
            "error:too-many-daily-captures".into(),
            "2018-03-02T00:00:00Z".into(),
        ),
    ];
    let mut later = snapshot("2019-01-01T00:00:00Z", false);
    later.public_copies = vec![PublicCopy::found(
        PublicArchive::Wayback,
        "https://web.archive.org/web/20190101000000/http://a.example/page".into(),
        "2019-01-01T00:00:00Z".into(),
    )];
    let entry = entry(Outcome::Ok, vec![first, later]);
    let options = Options {
        at: None,
        replay_base: Some(Url::parse("http://127.0.0.1:8080/").unwrap()),
    };
    let citation = Citation::new("a", "http://a.example/page", None, Some(&entry), &options);
    let copies: Vec<(&str, &str)> = citation
        .copies()
        .iter()
        .map(|c| (c.holder.label(), c.url.as_str()))
        .collect();
    assert_eq!(
        copies,
        [
            (
                "this archive",
                "http://127.0.0.1:8080/web/20180301102030/http://a.example/page"
            ),
            (
                "Wayback Machine",
                "https://web.archive.org/web/20180302000000/http://a.example/page"
            ),
        ]
    );
    assert_eq!(citation.preferred_copy().unwrap().holder.label(), "Wayback Machine");

    // --at picks the later capture, and with it the later copy.
    let later = Options {
        at: Some(at("2019-06-01T00:00:00Z")),
        replay_base: None,
    };
    let citation = Citation::new("a", "http://a.example/page", None, Some(&entry), &later);
    assert_eq!(citation.version.as_ref().unwrap().captured, at("2019-01-01T00:00:00Z"));
    assert_eq!(citation.copies().len(), 1);
    assert!(citation.copies()[0].url.contains("20190101000000"));
}

#[test]
fn url_status_follows_the_last_check_and_drift_since_the_cited_capture() {
    let status = |outcome, snapshots| {
        let entry = entry(outcome, snapshots);
        Citation::new("a", "http://a.example/page", None, Some(&entry), &Options::default()).status
    };
    let one = || vec![snapshot("2018-03-01T00:00:00Z", false)];
    assert_eq!(status(Outcome::Ok, one()), Some(UrlStatus::Live));
    assert_eq!(status(Outcome::HttpError, one()), Some(UrlStatus::Dead));
    assert_eq!(status(Outcome::Timeout, one()), Some(UrlStatus::Dead));
    assert_eq!(status(Outcome::Soft404, one()), Some(UrlStatus::Usurped));
    assert_eq!(status(Outcome::Excluded, one()), None);
    // A later capture that only changed dates and numbers is no drift; one whose text changed is.
    let cosmetic = vec![
        snapshot("2018-03-01T00:00:00Z", false),
        snapshot("2018-04-01T00:00:00Z", true),
    ];
    assert_eq!(status(Outcome::Ok, cosmetic), Some(UrlStatus::Live));
    let changed = vec![
        snapshot("2018-03-01T00:00:00Z", false),
        snapshot("2018-04-01T00:00:00Z", false),
    ];
    assert_eq!(status(Outcome::Ok, changed), Some(UrlStatus::Usurped));
}

#[test]
fn one_line_collapses_whitespace_and_drops_controls() {
    assert_eq!(one_line("  a\n\tb \u{1b}[0m c\u{9b}d  "), "a b [0m cd");
    assert_eq!(one_line("\u{202e}rtl"), "\u{202e}rtl");
}

#[test]
fn replay_urls_are_what_serve_answers() {
    let base = Url::parse("https://archive.example.org/linkkeep/").unwrap();
    assert_eq!(
        replay_url(&base, "http://a.example/a b?q=1", at("2018-03-01T10:20:30Z")).unwrap(),
        "https://archive.example.org/linkkeep/web/20180301102030/http://a.example/a%20b?q=1"
    );
}
