//! `linkkeep diff` (issue #14, item 5): the text a reader sees, compared between two captures
//! (or a capture and the live page), without the noise that changes on every fetch; `--from`
//! and `--to` pick captures by time; the errors exit 2 naming what is wrong; remote text can
//! neither break out of the Markdown nor reach the terminal as escape sequences.

use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{RawRun, Scratch, json_run};
use crate::support::payloads::flip_in_record;
use crate::support::repair::tree_bytes;
use crate::support::serve::set_capture_times;

/// Network flags for every run: no retries, so a failure shows at once.
const NET: &[&str] = &["--retries", "0", "--timeout", "5"];

/// The paragraph as cited.
const AGREED: &str = "Delegates agreed on a set of twelve recommendations for the commission, including a standing forum that would meet once a year with all stakeholders invited.";
/// The paragraph as rewritten later.
const REJECTED: &str = "Delegates rejected the draft recommendations after a long debate, and asked the secretariat to prepare a shorter text for a further session next year.";
/// The paragraph as the live page has it now, never archived.
const POSTPONED: &str = "Delegates postponed any decision on the recommendations until the commission has heard from the member states that were absent from the meeting.";

/// What changes on every fetch of the page, and the paragraph that may change for real.
struct Version {
    nonce: &'static str,
    ad: &'static str,
    generated: &'static str,
    updated: &'static str,
    related: [&'static str; 3],
    paragraph: &'static str,
}

const V1: Version = Version {
    nonce: "n0nce-AAAA-1111",
    ad: "Cheap flights to Geneva with SkyDealAlpha",
    generated: "2024-03-12T09:15:02Z",
    updated: "12 March 2024, 09:15",
    related: ["Alpha", "Beta", "Gamma"],
    paragraph: AGREED,
};

/// [`V1`] with the paragraph rewritten and every piece of noise changed.
const V2: Version = Version {
    nonce: "n0nce-BBBB-2222",
    ad: "Luxury hotels by the lake with MegaHotelsBeta",
    generated: "2024-03-13T10:20:45Z",
    updated: "13 March 2024, 10:20",
    related: ["Gamma", "Alpha", "Beta"],
    paragraph: REJECTED,
};

/// [`V2`]'s noise, with the paragraph rewritten once more.
const V3: Version = Version {
    nonce: "n0nce-CCCC-3333",
    ad: "Watches for every wrist at TimeShopGamma",
    generated: "2024-03-14T11:30:59Z",
    updated: "14 March 2024, 11:30",
    related: ["Beta", "Gamma", "Alpha"],
    paragraph: POSTPONED,
};

/// A news page: the article, and around it a script with a nonce, an ad, "related" links and a
/// footer with the time the page was generated.
fn page(v: &Version) -> String {
    let related: String = v
        .related
        .iter()
        .map(|r| format!("<li><a href=\"/{r}\">Related story {r}</a></li>"))
        .collect();
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Working group report</title>
<script nonce="{nonce}">window.csrf = "{nonce}";</script>
<style>body {{ font-family: serif }}</style></head>
<body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<div class="ad">{ad}</div>
<main><article>
<h1>Working group report</h1>
<p>Last updated {updated} UTC.</p>
<p>The working group on enhanced cooperation met in Geneva to discuss how governments should take part in internet policy on an equal footing with other stakeholders.</p>
<p>{paragraph}</p>
<p>The chair closed the meeting by thanking the secretariat for its support during a long and sometimes difficult negotiation over the final text.</p>
</article></main>
<aside class="related"><h2>Related</h2><ul>{related}</ul></aside>
<footer>Page generated {generated}</footer>
</body></html>
"#,
        nonce = v.nonce,
        ad = v.ad,
        updated = v.updated,
        paragraph = v.paragraph,
        generated = v.generated,
    )
}

fn html(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8")
}

/// Serves `response` at `/report` from now on, instead of whatever was served before.
async fn serve(server: &MockServer, response: ResponseTemplate) {
    server.reset().await;
    Mock::given(path("/report")).respond_with(response).mount(server).await;
}

/// Link `report`, archived once for each of `pages`, served in turn; panics unless each run
/// adds a snapshot.
async fn archived(pages: &[String]) -> (MockServer, Scratch) {
    let server = MockServer::start().await;
    let scratch = Scratch::new(&[("report", format!("{}/report", server.uri()))]);
    for (n, body) in pages.iter().enumerate() {
        serve(&server, html(body.clone())).await;
        let run = scratch.archive(NET).await;
        assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
        assert_eq!(scratch.snapshots("report").len(), n + 1, "{:#}", run.report);
    }
    (server, scratch)
}

/// `linkkeep diff <args>` with its output as text.
async fn diff(scratch: &Scratch, args: &[&str]) -> (i32, String, String) {
    let RawRun { code, stdout, stderr } = scratch.run(&[&["diff"], args].concat()).await;
    (code, String::from_utf8(stdout).expect("the output is UTF-8"), stderr)
}

/// `linkkeep diff <args> --format json`, parsed; panics unless it exits 0.
async fn diff_json(scratch: &Scratch, args: &[&str]) -> Value {
    let mut cmd = scratch.cmd();
    cmd.arg("diff").args(args).args(["--format", "json"]);
    let (code, report, stderr) = json_run(cmd).await;
    assert_eq!(code, 0, "{stderr}");
    report
}

/// The passage of `report` that removed `old`.
fn passage_removing<'a>(report: &'a Value, old: &str) -> &'a Value {
    report["passages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["removed"].as_array().unwrap().iter().any(|l| l == old))
        .unwrap_or_else(|| panic!("no passage removes {old:?}: {report:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rewritten_paragraph_shows_and_the_noise_does_not() {
    let (_server, scratch) = archived(&[page(&V1), page(&V2)]).await;
    let snapshots = scratch.snapshots("report");

    let (code, text, stderr) = diff(&scratch, &["report"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains(&format!("\n-{AGREED}\n")), "{text}");
    assert!(text.contains(&format!("\n+{REJECTED}\n")), "{text}");
    // A line of context on either side of the rewritten paragraph.
    assert!(text.contains("\n The working group on enhanced cooperation"), "{text}");
    assert!(text.contains("\n The chair closed the meeting"), "{text}");
    for noise in [
        V1.nonce,
        V2.nonce,
        "SkyDealAlpha",
        "MegaHotelsBeta",
        V1.generated,
        V2.generated,
        "Related story",
        "Home",
    ] {
        assert!(!text.contains(noise), "{noise:?} shows:\n{text}");
    }
    // The in-article timestamp differs only in its date and time: hidden, and said so.
    assert!(!text.contains("Last updated"), "{text}");
    assert!(
        text.contains("1 passage that differs only in dates, times or numbers not shown (--all shows them)"),
        "{text}"
    );
    let sha = |n: usize| snapshots[n]["sha256"].as_str().unwrap()[..12].to_owned();
    assert!(text.contains(&format!(
        "--- first capture {}",
        snapshots[0]["first_seen"].as_str().unwrap()
    )));
    assert!(text.contains(&format!("sha256 {}", sha(0))), "{text}");
    assert!(text.contains(&format!("sha256 {}", sha(1))), "{text}");
    assert!(text.contains("similarity 0."), "{text}");
    assert!(!text.contains('\x1b'), "no colour off a terminal:\n{text}");

    let (code, all, _) = diff(&scratch, &["report", "--all"]).await;
    assert_eq!(code, 0);
    assert!(all.contains(&format!("-Last updated {} UTC.", V1.updated)), "{all}");
    assert!(all.contains(&format!("+Last updated {} UTC.", V2.updated)), "{all}");
    assert!(all.contains("dates, times or numbers only"), "{all}");

    let report = diff_json(&scratch, &["report"]).await;
    assert_eq!(report["command"], "diff");
    assert_eq!(report["id"], "report");
    let similarity = report["similarity"].as_f64().unwrap();
    assert!(similarity > 0.5 && similarity < 1.0, "{report:#}");
    assert_eq!(report["cosmetic"], false);
    let rewritten = passage_removing(&report, AGREED);
    assert_eq!(rewritten["added"], serde_json::json!([REJECTED]));
    assert_eq!(rewritten["cosmetic"], false);
    let dated = passage_removing(&report, &format!("Last updated {} UTC.", V1.updated));
    assert_eq!(dated["cosmetic"], true, "listed in JSON, flagged");
    for (side, snapshot) in [("from", &snapshots[0]), ("to", &snapshots[1])] {
        let side = &report[side];
        assert_eq!(side["live"], false);
        assert_eq!(side["sha256"], snapshot["sha256"]);
        assert_eq!(side["first_seen"], snapshot["first_seen"]);
        assert_eq!(side["final_url"], snapshot["final_url"]);
        assert_eq!(side["text_sha256"].as_str().unwrap().len(), 64);
        assert!(side["text_words"].as_u64().unwrap() > 50, "{side:#}");
    }
    let json = report.to_string();
    assert!(!json.contains("SkyDealAlpha") && !json.contains(V2.nonce), "{json}");

    let (code, markdown, _) = diff(&scratch, &["report", "--format", "markdown"]).await;
    assert_eq!(code, 0);
    assert!(markdown.starts_with("### linkkeep diff: [report]("), "{markdown}");
    assert!(markdown.contains("\n```diff\n"), "{markdown}");
    assert!(markdown.contains(&format!("\n-{AGREED}\n")), "{markdown}");
    assert!(markdown.contains("| Similarity | 0."), "{markdown}");

    let (code, coloured, _) = diff(&scratch, &["--color", "always", "report"]).await;
    assert_eq!(code, 0);
    assert!(coloured.contains(&format!("\x1b[31m-{AGREED}\x1b[0m")), "{coloured}");
    assert!(coloured.contains(&format!("\x1b[32m+{REJECTED}\x1b[0m")), "{coloured}");

    // To a file: the same text, uncoloured, and the summary on stderr.
    let out = scratch.dir.path().join("diff.txt");
    let (code, stdout, stderr) = diff(&scratch, &["--color", "always", "report", "-o", out.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    assert!(stderr.contains("linkkeep diff: report: similarity 0."), "{stderr}");
    assert!(stderr.contains("1 changed passage, 1 cosmetic"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn from_and_to_pick_the_captures_nearest_their_times() {
    let (server, scratch) = archived(&[page(&V1), page(&V2), page(&V3)]).await;
    set_capture_times(
        &scratch,
        "report",
        &["2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"],
    );
    let snapshots = scratch.snapshots("report");
    let sha = |n: usize| snapshots[n]["sha256"].clone();

    let first_vs_second = diff_json(&scratch, &["report", "--from", "2023-12-20", "--to", "20240520"]).await;
    assert_eq!(first_vs_second["from"]["sha256"], sha(0));
    assert_eq!(first_vs_second["to"]["sha256"], sha(1));
    assert_eq!(
        passage_removing(&first_vs_second, AGREED)["added"],
        serde_json::json!([REJECTED])
    );

    // By default: the first capture (the cited version) and the latest; by URL as by id.
    let url = format!("{}/report", server.uri());
    let cited_vs_latest = diff_json(&scratch, &[&url]).await;
    assert_eq!(cited_vs_latest["id"], "report");
    assert_eq!(cited_vs_latest["from"]["sha256"], sha(0));
    assert_eq!(cited_vs_latest["to"]["sha256"], sha(2));
    assert_eq!(
        passage_removing(&cited_vs_latest, AGREED)["added"],
        serde_json::json!([POSTPONED])
    );

    let second_vs_latest = diff_json(&scratch, &["report", "--from", "2024-07-01T12:00:00Z"]).await;
    assert_eq!(second_vs_latest["from"]["sha256"], sha(1));
    assert_eq!(second_vs_latest["to"]["sha256"], sha(2));

    // The same capture on both sides: no differences, and said so.
    let same = diff_json(&scratch, &["report", "--from", "2024-06-01", "--to", "2024-06-01"]).await;
    assert_eq!(same["from"]["sha256"], same["to"]["sha256"]);
    assert_eq!(same["similarity"], 1.0);
    assert_eq!(same["passages"], serde_json::json!([]));
    let (code, text, _) = diff(&scratch, &["report", "--from", "2024-06-01", "--to", "2024-06-01"]).await;
    assert_eq!(code, 0);
    assert!(text.contains("the two sides are the same bytes"), "{text}");

    let (code, _, stderr) = diff(&scratch, &["report", "--from", "last tuesday"]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid value for --from"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn to_live_compares_with_the_page_served_now_and_writes_nothing() {
    let (server, scratch) = archived(&[page(&V1), page(&V2)]).await;
    serve(&server, html(page(&V3))).await;
    let before = tree_bytes(&scratch.archive);

    let report = diff_json(&scratch, &[&["report", "--to", "live"], NET].concat()).await;
    assert_eq!(report["to"]["live"], true);
    assert_eq!(report["to"]["http_status"], 200);
    assert!(report["to"]["fetched_at"].is_string(), "{report:#}");
    assert_eq!(
        report["to"]["sha256"],
        crate::support::archive::sha256_hex(page(&V3).as_bytes())
    );
    assert_eq!(report["from"]["sha256"], scratch.snapshots("report")[0]["sha256"]);
    assert_eq!(
        passage_removing(&report, AGREED)["added"],
        serde_json::json!([POSTPONED])
    );

    let (code, text, stderr) = diff(&scratch, &[&["report", "--to", "live"], NET].concat()).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("+++ live page fetched "), "{text}");
    assert!(text.contains(&format!("+{POSTPONED}")), "{text}");
    assert!(!text.contains(V3.nonce) && !text.contains("TimeShopGamma"), "{text}");

    assert!(
        tree_bytes(&scratch.archive) == before,
        "diff --to live wrote to the archive"
    );

    // A live page that is gone: exit 2 naming the outcome and the error.
    serve(&server, ResponseTemplate::new(404)).await;
    let (code, _, stderr) = diff(&scratch, &[&["report", "--to", "live"], NET].concat()).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("report") && stderr.contains("http_error"), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert!(tree_bytes(&scratch.archive) == before);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_cannot_be_compared_exits_2_saying_why() {
    let server = MockServer::start().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    Mock::given(path("/logo.png"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(png, "image/png"))
        .mount(&server)
        .await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    // Under 2 KiB: its record is stored, not deflated, so a flipped byte damages the payload.
    let small = "<!doctype html><html><head><title>Small</title></head><body><p>A small page whose only paragraph is long enough to be found in its WARC record, byte for byte, as it was served.</p></body></html>";
    Mock::given(path("/small"))
        .respond_with(html(small.to_owned()))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[
        ("logo", format!("{}/logo.png", server.uri())),
        ("gone", format!("{}/gone", server.uri())),
        ("small", format!("{}/small", server.uri())),
    ]);
    let run = scratch.archive(NET).await;
    assert_eq!(run.code, 1, "the gone link fails: {:#}", run.report);

    let (code, stdout, stderr) = diff(&scratch, &["nope"]).await;
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.contains("no link \"nope\" in the archive"), "{stderr}");

    let (code, _, stderr) = diff(&scratch, &["logo"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("logo"), "{stderr}");
    assert!(
        stderr.contains("is image/png; diff compares the text of HTML and PDF captures"),
        "{stderr}"
    );

    let (code, _, stderr) = diff(&scratch, &["gone"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("gone has no capture to compare yet"), "{stderr}");
    assert!(stderr.contains("404"), "the last check says why: {stderr}");

    // A small page compares with itself; once its record is damaged, the error names the file.
    let (code, text, stderr) = diff(&scratch, &["small"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("the two sides are the same bytes"), "{text}");
    let snapshot = scratch.snapshots("small").remove(0);
    flip_in_record(&scratch.archive, &snapshot, small.as_bytes());
    let (code, stdout, stderr) = diff(&scratch, &["small"]).await;
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    let warc = snapshot["warc"].as_str().unwrap();
    assert!(stderr.contains(warc), "{warc} not named: {stderr}");
    assert!(stderr.contains("small"), "{stderr}");
}

/// The page of [`markdown_cannot_be_broken_out_of`]: a paragraph full of Markdown and HTML.
fn hostile(paragraph: &str) -> String {
    format!(
        "<!doctype html><html><head><title>Hostile</title></head><body><article>\
         <p>The first paragraph is plain prose about enhanced cooperation and the working group, long enough to be an article.</p>\
         <p>{paragraph}</p>\
         <p>The last paragraph is plain prose too, about the commission and the secretariat, and the documents they publish.</p>\
         </article></body></html>"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_cannot_be_broken_out_of() {
    let server = MockServer::start().await;
    // The page moved to a URL with table and link syntax in it: it shows in the table.
    let moved = "/moved|col|[x](javascript:alert(1))";
    Mock::given(path("/report"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", moved))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("report", format!("{}/report", server.uri()))]);
    let quiet = "A quiet paragraph that says nothing in particular about anything at all.";
    let loud = "Run ```` ``` ```` then | col | and &lt;script&gt;alert(1)&lt;/script&gt; and [click](https://evil.example/) now.";
    for paragraph in [quiet, loud] {
        Mock::given(path("/moved|col|[x](javascript:alert(1))"))
            .respond_with(html(hostile(paragraph)))
            .with_priority(1)
            .mount(&server)
            .await;
        let run = scratch.archive(NET).await;
        assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
        server.reset().await;
        Mock::given(path("/report"))
            .respond_with(ResponseTemplate::new(301).insert_header("location", moved))
            .mount(&server)
            .await;
    }
    assert_eq!(scratch.snapshots("report").len(), 2);

    let (code, markdown, stderr) = diff(&scratch, &["report", "--format", "markdown"]).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = markdown.lines().collect();
    // One code block, opened with a fence longer than the longest run of backticks inside,
    // and closed by the same fence; nothing inside can close it.
    let open = lines
        .iter()
        .position(|l| l.starts_with("```") && l.ends_with("diff"))
        .unwrap_or_else(|| panic!("no diff block:\n{markdown}"));
    let fence = lines[open].trim_end_matches("diff");
    assert!(fence.len() >= 5 && fence.chars().all(|c| c == '`'), "{markdown}");
    let close = open
        + 1
        + lines[open + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with('`') && l.trim().chars().all(|c| c == '`'))
            .unwrap_or_else(|| panic!("the block is never closed:\n{markdown}"));
    assert_eq!(lines[close], fence, "closed by anything but its own fence:\n{markdown}");
    let inside = &lines[open + 1..close];
    assert!(
        inside.iter().any(|l| l.starts_with('+') && l.contains("``` ````")),
        "the hostile paragraph is inside the block:\n{markdown}"
    );
    assert!(
        inside.iter().any(|l| l.contains("<script>alert(1)</script>")),
        "verbatim inside the code block, where it is inert:\n{markdown}"
    );
    // Outside the block: the table keeps its two columns, and no HTML or link gets through.
    let outside: Vec<&str> = lines[..open].iter().chain(&lines[close + 1..]).copied().collect();
    for row in outside.iter().filter(|l| l.starts_with('|')) {
        assert_eq!(row.replace("\\|", "").matches('|').count(), 3, "{row}\n{markdown}");
    }
    let table = outside.join("\n");
    assert!(table.contains(r"served by http://127.0.0.1:"), "{table}");
    assert!(
        table.contains(r"/moved\|col\|\[x\]\(javascript:alert\(1\)\)"),
        "{table}"
    );
    assert!(
        !table.contains("<script") && !table.contains("](https://evil"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_the_page_never_reach_the_terminal() {
    let calm = "The secretariat published the summary of the contributions received before the end of the year.";
    let loud = "The secretariat published \u{1b}[31mthe summary\u{1b}[0m of the contributions \u{9b}2J received \u{7}before the end.";
    let (_server, scratch) = archived(&[hostile(calm), hostile(loud)]).await;

    let (code, text, stderr) = diff(&scratch, &["report"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached the output:\n{text:?}"
    );
    assert!(
        text.contains(r"+The secretariat published \u{1b}[31mthe summary\u{1b}[0m"),
        "{text}"
    );
    let (code, text, _) = diff(&scratch, &["--color", "always", "report"]).await;
    assert_eq!(code, 0);
    assert!(!text.contains("\u{1b}[31mthe summary"), "{text:?}");

    // JSON carries the text as it is, escaped by JSON itself.
    let report = diff_json(&scratch, &["report"]).await;
    let added = &report["passages"][0]["added"][0];
    assert!(added.as_str().unwrap().contains("\u{1b}[31mthe summary"), "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn noise_alone_leaves_the_same_text_with_other_bytes() {
    let noisy = Version {
        paragraph: AGREED,
        updated: V1.updated,
        ..V2
    };
    let (_server, scratch) = archived(&[page(&V1), page(&noisy)]).await;

    let (code, text, stderr) = diff(&scratch, &["report"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("the text a reader sees is the same; the bytes differ"),
        "{text}"
    );
    assert!(!text.contains("@@"), "{text}");
    let report = diff_json(&scratch, &["report"]).await;
    assert_eq!(report["similarity"], 1.0);
    assert_eq!(report["cosmetic"], true);
    assert_eq!(report["passages"], serde_json::json!([]));
    assert_ne!(report["from"]["sha256"], report["to"]["sha256"]);
    assert_eq!(report["from"]["text_sha256"], report["to"]["text_sha256"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pdfs_compare_by_their_text_layer() {
    let server = MockServer::start().await;
    let scratch = Scratch::new(&[("paper", format!("{}/paper.pdf", server.uri()))]);
    let cited = [
        "Recommendations of the working group",
        "The forum meets once a year.",
        "Annex",
    ];
    let revised = [
        "Recommendations of the working group",
        "The forum meets twice a year.",
        "Annex",
    ];
    for lines in [cited, revised] {
        server.reset().await;
        Mock::given(path("/paper.pdf"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(crate::extract_pdf::pdf_with(&lines, &[]), "application/pdf"),
            )
            .mount(&server)
            .await;
        let run = scratch.archive(NET).await;
        assert_eq!(run.code, 0, "{:#}\n{}", run.report, run.stderr);
    }
    let report = diff_json(&scratch, &["paper"]).await;
    assert_eq!(report["from"]["content_type"], "application/pdf");
    let passage = passage_removing(&report, "The forum meets once a year.");
    assert_eq!(passage["added"], serde_json::json!(["The forum meets twice a year."]));
    assert_eq!(passage["cosmetic"], false);
}
