//! `verify --live` compares the text a reader sees (issue #14): the same bytes are `unchanged`;
//! a new script nonce and ad are `cosmetic` and do not fail `--fail-on-change`; a rewritten
//! paragraph is `changed` with a similarity below 1, as is its similarity to the first
//! snapshot (the cited version), and fails it. Nothing is written in any case. Snapshots
//! without text fields (written before linkkeep read text) are read back from their payloads.

use wiremock::MockServer;

use crate::support::archive::Scratch;
use crate::support::verify::{Archived, NET, VerifyOutcome, mount};

const THIRD: &str = "The secretariat will publish a summary of the contributions received before the \
    end of the year, together with the list of participants and the documents that were presented \
    during the two days of discussion.";

const REWRITTEN: &str = "The chair closed the meeting without any agreement: the delegations could \
    not settle their differences on the mandate, and no further session of the group has been \
    scheduled by the commission so far.";

/// An article with a script nonce, an ad and `third` as its last paragraph.
fn article(nonce: &str, ad: &str, third: &str) -> Vec<u8> {
    format!(
        r#"<!doctype html><html><head><title>The report</title>
        <script nonce="{nonce}">window.csrf = "{nonce}";</script></head>
        <body><header><nav><a href="/">Home</a> <a href="/news/">News</a></nav></header>
        <div class="ad ad-banner"><a href="https://ads.example/{ad}">Sponsored: {ad}</a></div>
        <main><article><h1>The report</h1>
        <p>The working group met in Geneva to discuss enhanced cooperation on public policy
        issues pertaining to the Internet, and the delegates agreed on a set of recommendations
        that the commission will consider at its next session in May.</p>
        <p>Several contributions stressed the role of developing countries and asked for a
        follow-up process that includes all stakeholders on an equal footing, with clear terms
        of reference and a timetable for the work ahead.</p>
        <p>{third}</p>
        </article></main><footer><p>Page generated in 12 ms</p></footer></body></html>"#
    )
    .into_bytes()
}

/// The article as first served.
fn cited() -> Vec<u8> {
    article("n0nce-1", "cheap hosting", THIRD)
}

/// An archive of the article (one snapshot), with the server then serving `now` instead.
async fn archived_then_serving(now: Vec<u8>) -> Archived {
    let server = MockServer::start().await;
    mount(&server, "/report.html", cited(), "text/html; charset=utf-8").await;
    let scratch = Scratch::new(&[("report", format!("{}/report.html", server.uri()))]);
    let archived = Archived { server, scratch };
    archived.archive().await;
    archived.server.reset().await;
    mount(&archived.server, "/report.html", now, "text/html; charset=utf-8").await;
    archived
}

/// `verify --live --fail-on-change --format json`; asserts that the archive is left as it was.
async fn verify_live(archived: &Archived) -> (i32, crate::support::Report) {
    let manifest = archived.scratch.archive.join("manifest.json");
    let (manifest_before, tree_before) = (std::fs::read(&manifest).unwrap(), archived.tree());
    let mut args = vec!["--live", "--fail-on-change"];
    args.extend_from_slice(NET);
    let (code, report, stderr) = archived.verify(&args).await;
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        manifest_before,
        "verify --live rewrote the manifest\n{stderr}"
    );
    assert!(archived.tree() == tree_before, "verify --live changed the archive");
    (code, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_bytes_are_unchanged_and_say_what_was_cited() {
    let archived = archived_then_serving(cited()).await;
    let (code, report) = verify_live(&archived).await;
    assert_eq!(code, 0, "{report:#?}");
    let result = report.get("report");
    assert_eq!(result.outcome, VerifyOutcome::Ok, "{result:#?}");
    assert_eq!(result.change.as_deref(), Some("unchanged"), "{result:#?}");
    assert_eq!(result.similarity, None, "{result:#?}");
    assert_eq!(result.similarity_to_first, Some(1.0), "{result:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_nonce_and_ad_are_cosmetic_and_do_not_fail() {
    let archived = archived_then_serving(article("n0nce-2", "fast domains", THIRD)).await;
    let (code, report) = verify_live(&archived).await;
    assert_eq!(code, 0, "a cosmetic change passes --fail-on-change: {report:#?}");
    let result = report.get("report");
    assert_eq!(result.change.as_deref(), Some("cosmetic"), "{result:#?}");
    assert_ne!(
        result.sha256.as_deref(),
        Some(archived.latest("report")["sha256"].as_str().unwrap()),
        "the bytes did change"
    );
    assert_eq!(result.similarity, None, "{result:#?}");
    assert_eq!(result.similarity_to_first, Some(1.0), "{result:#?}");
    assert_eq!((report.summary.cosmetic, report.summary.changed), (1, 0));

    // The byte-level rule still fails it.
    let mut args = vec!["--live", "--fail-on-change=bytes"];
    args.extend_from_slice(NET);
    let (code, report, stderr) = archived.verify(&args).await;
    assert_eq!(code, 1, "{report:#?}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewritten_paragraph_is_changed_and_fails() {
    let archived = archived_then_serving(article("n0nce-1", "cheap hosting", REWRITTEN)).await;
    let (code, report) = verify_live(&archived).await;
    assert_eq!(code, 1, "a text change fails --fail-on-change: {report:#?}");
    let result = report.get("report");
    assert_eq!(result.outcome, VerifyOutcome::Ok, "drift is not damage: {result:#?}");
    assert_eq!(result.change.as_deref(), Some("changed"), "{result:#?}");
    let similarity = result.similarity.expect("a text change has a similarity");
    assert!((0.3..1.0).contains(&similarity), "{result:#?}");
    let to_first = result.similarity_to_first.expect("the cited version has text");
    assert!((0.3..1.0).contains(&to_first), "{result:#?}");

    // The human report says it in words.
    let mut args = vec!["--live", "--color", "never"];
    args.extend_from_slice(NET);
    let human = archived.verify_raw(&args).await;
    let table = String::from_utf8(human.stdout).unwrap();
    let percent = format!("{}%", (similarity * 100.0 + 1e-9).floor() as u32);
    let row = table.lines().find(|l| l.contains("report")).unwrap();
    assert!(row.contains(&format!("changed ({percent} same text)")), "{table}");
    assert!(table.lines().next().unwrap().contains("AS CITED"), "{table}");
}

/// The live page is the latest snapshot, which is not the cited one: unchanged, and as far
/// from the cited version as that snapshot is, whether `archive` recorded it (and `status`
/// shows it) or the snapshots predate text fields and their payloads are read back.
#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_page_still_shows_its_drift_from_the_first_capture() {
    let rewritten = article("n0nce-1", "cheap hosting", REWRITTEN);
    let archived = archived_then_serving(rewritten).await;
    archived.archive().await;
    assert_eq!(archived.scratch.snapshots("report").len(), 2);

    let (code, report) = verify_live(&archived).await;
    assert_eq!(code, 0, "{report:#?}");
    let result = report.get("report");
    assert_eq!(result.change.as_deref(), Some("unchanged"), "{result:#?}");
    let to_first = result.similarity_to_first.expect("both captures have text");
    assert!((0.3..1.0).contains(&to_first), "{result:#?}");

    let status = archived.scratch.run(&["status", "--format", "json"]).await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["links"][0]["similarity_to_first"], to_first, "{status:#}");

    // As an archive written before issue #14 would have them: no text fields at all.
    let mut manifest = archived.scratch.manifest();
    for snapshot in manifest["links"]["report"]["snapshots"].as_array_mut().unwrap() {
        let fields = snapshot.as_object_mut().unwrap();
        fields.retain(|name, _| !name.starts_with("text_") && !name.starts_with("similarity") && name != "cosmetic");
    }
    std::fs::write(
        archived.scratch.archive.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let (code, report) = verify_live(&archived).await;
    assert_eq!(code, 0, "{report:#?}");
    let result = report.get("report");
    assert_eq!(result.change.as_deref(), Some("unchanged"), "{result:#?}");
    assert_eq!(
        result.similarity_to_first,
        Some(to_first),
        "read back from the payloads"
    );
}
