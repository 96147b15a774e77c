//! Change that means something (issue #14): a page whose nonce, timestamp and ad change on
//! every request is `cosmetic`, a rewritten paragraph is `changed` with a similarity, a PDF
//! rebuilt with a new `/ID` is `cosmetic`; `--fail-on-change` fails on `changed` only,
//! `--fail-on-change=bytes` on `cosmetic` too; `--skip-cosmetic` keeps no bytes; `--no-text`
//! compares bytes. Snapshots carry `text_sha256`, `text_simhash`, `text_words`, `cosmetic`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lopdf::{Document, Object, dictionary};
use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::extract_pdf::pdf_with;
use crate::support::archive::Scratch;

const ARGS: &[&str] = &["--retries", "0", "--timeout", "5"];

pub const PARAGRAPHS: [&str; 4] = [
    "The working group on enhanced cooperation met in Geneva to discuss the public policy issues \
     pertaining to the Internet, and the delegates agreed that the commission should consider a \
     set of recommendations at its next session.",
    "Several contributions stressed the role of developing countries and asked for a follow-up \
     process that includes all stakeholders on an equal footing, with clear terms of reference \
     and a timetable for the work ahead of the group.",
    "The chair noted that the group could not reach consensus on the institutional arrangements, \
     although many members supported a light mechanism hosted by an existing organisation of the \
     United Nations system.",
    "The secretariat will publish a summary of the contributions received before the end of the \
     year, together with the list of participants and the documents that were presented during \
     the two days of discussion.",
];

/// The rewrite of the third paragraph in the edited version of the article.
pub const REWRITTEN: &str = "The chair announced that the group had reached consensus on a new \
    forum for enhanced cooperation, to be hosted by the International Telecommunication Union and \
    reviewed by the commission after three years of operation.";

/// The article as served on request `n`: the same text with a fresh nonce, CSRF token,
/// timestamp, ad and "related" order each time; `edited` rewrites its third paragraph.
pub fn noisy_page(n: usize, edited: bool) -> String {
    let ads = [
        "Sponsored: save 40% on cloud backup this week only",
        "Advertisement: the policy conference returns to Geneva",
        "Sponsored: learn data science online before the deadline",
    ];
    let mut related = [
        "<li><a href=\"/a\">Broadband in 2030</a></li>",
        "<li><a href=\"/b\">Spectrum auctions explained</a></li>",
        "<li><a href=\"/c\">A new treaty on data</a></li>",
    ];
    related.rotate_left(n % 3);
    let paragraphs: String = PARAGRAPHS
        .iter()
        .enumerate()
        .map(|(i, p)| format!("<p>{}</p>\n", if edited && i == 2 { REWRITTEN } else { p }))
        .collect();
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Enhanced cooperation</title>
<meta name="csrf-token" content="tok{n:08x}{n:08x}">
<script nonce="n{n:016x}">window.__STATE__ = {{"rid": "{n:x}", "t": {t}}};</script></head>
<body><header><nav><ul><li><a href="/">Home</a></li><li><a href="/news/">News</a></li></ul></nav></header>
<div class="ad ad-banner" id="ad-{n}"><a href="https://ads.example.net/c?{n}">{ad}</a></div>
<main><article><h1>Enhanced cooperation</h1>
<p class="byline">By Ana Author · Updated {day} March 2026, 1{hour}:0{n} UTC</p>
{paragraphs}</article>
<aside class="related"><h3>Related</h3><ul>{related}</ul></aside>
<form class="comment" method="post"><input type="hidden" name="csrf" value="tok{n:08x}"><button>Post</button></form>
</main><footer><p>Page generated in {ms} ms, request {n:x}.</p></footer></body></html>"#,
        t = 1_700_000_000 + n * 7919,
        ad = ads[n % ads.len()],
        day = 1 + n % 28,
        hour = n % 10,
        related = related.concat(),
        ms = 10 + n * 13,
    )
}

/// A server whose `/article` serves `page(n)` on its `n`th request (from 0).
async fn serving(page: impl Fn(usize) -> (Vec<u8>, &'static str) + Send + Sync + 'static) -> (MockServer, String) {
    let server = MockServer::start().await;
    let count = Arc::new(AtomicUsize::new(0));
    Mock::given(path("/article"))
        .respond_with(move |_: &Request| {
            let (body, content_type) = page(count.fetch_add(1, Ordering::SeqCst));
            ResponseTemplate::new(200).set_body_raw(body, content_type)
        })
        .mount(&server)
        .await;
    let url = format!("{}/article", server.uri());
    (server, url)
}

fn html(body: String) -> (Vec<u8>, &'static str) {
    (body.into_bytes(), "text/html; charset=utf-8")
}

fn text_fields(snapshot: &Value) -> (String, String, u64) {
    let sha = snapshot["text_sha256"].as_str().expect("text_sha256").to_owned();
    let simhash = snapshot["text_simhash"].as_str().expect("text_simhash").to_owned();
    assert_eq!(sha.len(), 64, "{snapshot:#}");
    assert_eq!(simhash.len(), 16, "{snapshot:#}");
    assert!(simhash.bytes().all(|b| b.is_ascii_hexdigit()), "{snapshot:#}");
    (sha, simhash, snapshot["text_words"].as_u64().expect("text_words"))
}

#[tokio::test(flavor = "multi_thread")]
async fn noise_is_cosmetic_three_times_over_and_does_not_fail_the_run() {
    let (_server, url) = serving(|n| html(noisy_page(n, false))).await;
    let scratch = Scratch::new(&[("wgec", url)]);

    let first = scratch.archive(&[ARGS, &["--fail-on-change"]].concat()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.result("wgec")["change"], "new");
    for run in 0..2 {
        let next = scratch.archive(&[ARGS, &["--fail-on-change"]].concat()).await;
        assert_eq!(next.code, 0, "run {run}: {}", next.stderr);
        assert_eq!(next.result("wgec")["change"], "cosmetic", "run {run}");
        assert_eq!(
            next.result("wgec")["similarity"],
            Value::Null,
            "only changed carries it"
        );
        assert_eq!(next.report["summary"]["cosmetic"], 1);
        assert_eq!(next.report["summary"]["changed"], 0);
    }

    // The bytes are the record: three snapshots, the later two marked cosmetic, one text.
    let snapshots = scratch.snapshots("wgec");
    assert_eq!(snapshots.len(), 3, "{snapshots:#?}");
    let cosmetic: Vec<&Value> = snapshots.iter().map(|s| &s["cosmetic"]).collect();
    assert_eq!(cosmetic, [false, true, true]);
    let (sha, simhash, words) = text_fields(&snapshots[0]);
    assert!(words > 120, "the four paragraphs: {words}");
    for later in &snapshots[1..] {
        assert_ne!(later["sha256"], snapshots[0]["sha256"], "the bytes differ");
        assert_eq!(
            text_fields(later),
            (sha.clone(), simhash.clone(), words),
            "the text does not"
        );
        assert_eq!(later["similarity_to_first"], 1.0);
    }
    assert_eq!(
        snapshots[0].get("similarity_to_first"),
        None,
        "the first is the cited version"
    );

    // `bytes` keeps the byte-level rule.
    let strict = scratch.archive(&[ARGS, &["--fail-on-change=bytes"]].concat()).await;
    assert_eq!(strict.result("wgec")["change"], "cosmetic");
    assert_eq!(strict.code, 1, "--fail-on-change=bytes fails on a cosmetic change");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewritten_paragraph_is_changed_with_a_similarity_and_fails_the_run() {
    let (_server, url) = serving(|n| html(noisy_page(n, n >= 1))).await;
    let scratch = Scratch::new(&[("wgec", url)]);

    let first = scratch.archive(ARGS).await;
    assert_eq!(first.result("wgec")["change"], "new", "{}", first.stderr);
    let second = scratch.archive(&[ARGS, &["--fail-on-change"]].concat()).await;
    assert_eq!(second.code, 1, "{}", second.stderr);
    let result = second.result("wgec");
    assert_eq!(result["change"], "changed");
    let similarity = result["similarity"]
        .as_f64()
        .expect("a changed capture carries its similarity");
    assert!(similarity > 0.5 && similarity < 1.0, "{similarity}");
    assert_eq!(
        result["similarity_to_first"], similarity,
        "the report says how far from the cited version"
    );
    assert_eq!(second.report["summary"]["changed"], 1);

    let snapshots = scratch.snapshots("wgec");
    assert_eq!(snapshots.len(), 2);
    assert_eq!(snapshots[1]["cosmetic"], false);
    assert_eq!(snapshots[1]["similarity"], similarity);
    assert_eq!(snapshots[1]["similarity_to_first"], similarity);
    assert_ne!(text_fields(&snapshots[1]).0, text_fields(&snapshots[0]).0);

    // Noise on top of the edited text: cosmetic against the edited snapshot, and its drift
    // from the cited version is still there.
    let third = scratch.archive(&[ARGS, &["--fail-on-change"]].concat()).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(third.result("wgec")["change"], "cosmetic");
    assert_eq!(third.result("wgec")["similarity_to_first"], similarity);
    let snapshots = scratch.snapshots("wgec");
    assert_eq!(snapshots[2]["similarity_to_first"], similarity);
}

/// `pdf_with(lines)` saved again with a new document `/ID` and creation date, as a PDF
/// generator run again on the same source writes it.
fn rebuilt_pdf(lines: &[&str], build: usize) -> Vec<u8> {
    let mut document = Document::load_mem(&pdf_with(lines, &[])).unwrap();
    let id = Object::string_literal(format!("{build:032x}"));
    document.trailer.set("ID", vec![id.clone(), id]);
    let info = document.add_object(dictionary! {
        "CreationDate" => Object::string_literal(format!("D:2026120{}120000Z", build % 10)),
        "Producer" => Object::string_literal(format!("generator build {build}")),
    });
    document.trailer.set("Info", info);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap();
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pdf_rebuilt_with_a_new_id_is_cosmetic_and_new_text_is_changed() {
    const LINES: [&str; 3] = [
        "Contribution to the Commission on Science and Technology for Development",
        "The working group on enhanced cooperation met five times.",
        "It could not agree on recommendations.",
    ];
    let (_server, url) = serving(|n| {
        let mut lines = LINES.to_vec();
        if n >= 2 {
            lines[2] = "It agreed on twelve recommendations to the General Assembly.";
        }
        (rebuilt_pdf(&lines, n), "application/pdf")
    })
    .await;
    let scratch = Scratch::new(&[("cstd", url)]);

    assert_eq!(scratch.archive(ARGS).await.result("cstd")["change"], "new");
    let rebuilt = scratch.archive(ARGS).await;
    assert_eq!(rebuilt.result("cstd")["change"], "cosmetic", "{}", rebuilt.stderr);
    let edited = scratch.archive(ARGS).await;
    assert_eq!(edited.result("cstd")["change"], "changed", "{}", edited.stderr);

    let snapshots = scratch.snapshots("cstd");
    assert_eq!(snapshots.len(), 3);
    assert_ne!(snapshots[0]["sha256"], snapshots[1]["sha256"]);
    assert_eq!(text_fields(&snapshots[0]), text_fields(&snapshots[1]));
    assert_ne!(text_fields(&snapshots[1]).0, text_fields(&snapshots[2]).0);
    assert_eq!(text_fields(&snapshots[0]).2, 25, "the words of the three lines");
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_cosmetic_records_a_sighting_and_keeps_no_bytes() {
    let (_server, url) = serving(|n| html(noisy_page(n, false))).await;
    let scratch = Scratch::new(&[("wgec", url)]);

    scratch.archive(ARGS).await;
    let records_before = scratch.payload_records().len();
    let second = scratch.archive(&[ARGS, &["--skip-cosmetic"]].concat()).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.result("wgec")["change"], "cosmetic");

    let snapshots = scratch.snapshots("wgec");
    assert_eq!(snapshots.len(), 1, "a sighting, not a snapshot: {snapshots:#?}");
    let last_check = &scratch.manifest()["links"]["wgec"]["last_check"];
    assert_eq!(
        snapshots[0]["last_seen"], last_check["at"],
        "the sighting moves last_seen"
    );
    assert_eq!(scratch.payload_records().len(), records_before, "no bytes were kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_text_compares_bytes_and_writes_no_text_fields() {
    let (_server, url) = serving(|n| html(noisy_page(n, false))).await;
    let scratch = Scratch::new(&[("wgec", url)]);

    scratch.archive(&[ARGS, &["--no-text"]].concat()).await;
    let second = scratch
        .archive(&[ARGS, &["--no-text", "--fail-on-change"]].concat())
        .await;
    assert_eq!(second.result("wgec")["change"], "changed");
    assert_eq!(second.result("wgec")["similarity"], Value::Null);
    assert_eq!(second.code, 1);
    for snapshot in scratch.snapshots("wgec") {
        assert_eq!(snapshot.get("text_sha256"), None, "{snapshot:#}");
        assert_eq!(snapshot.get("cosmetic"), None, "{snapshot:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_without_text_fields_are_compared_by_their_payload() {
    // An archive written before linkkeep read text: its snapshots have no text fields, and
    // the next capture's text is compared with the payload read back from its record.
    let (_server, url) = serving(|n| html(noisy_page(n, false))).await;
    let scratch = Scratch::new(&[("wgec", url)]);
    scratch.archive(ARGS).await;
    let path = scratch.archive.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let snapshot = manifest["links"]["wgec"]["snapshots"][0].as_object_mut().unwrap();
    for field in ["text_sha256", "text_simhash", "text_words", "cosmetic"] {
        assert!(snapshot.remove(field).is_some(), "{field}");
    }
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();

    let second = scratch.archive(ARGS).await;
    assert_eq!(second.result("wgec")["change"], "cosmetic", "{}", second.stderr);
    let snapshots = scratch.snapshots("wgec");
    assert_eq!(snapshots[0].get("text_sha256"), None, "history is not rewritten");
    assert_eq!(snapshots[1]["similarity_to_first"], 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_types_change_by_their_bytes() {
    let (_server, url) = serving(|n| (format!("plain text, version {}", n / 2).into_bytes(), "text/plain")).await;
    let scratch = Scratch::new(&[("txt", url)]);
    assert_eq!(scratch.archive(ARGS).await.result("txt")["change"], "new");
    assert_eq!(scratch.archive(ARGS).await.result("txt")["change"], "unchanged");
    let third = scratch.archive(ARGS).await;
    assert_eq!(third.result("txt")["change"], "changed", "text/plain has no main text");
    for snapshot in scratch.snapshots("txt") {
        assert_eq!(snapshot.get("text_sha256"), None, "{snapshot:#}");
    }
}
