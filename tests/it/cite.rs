//! `linkkeep cite` and `cite --robustify` (issue #16) on an archive built by real runs against a
//! local site: an HTML report whose text changed between the two runs, a PDF, a page that was
//! gone on the second run and one never captured; a Wayback Machine copy of the report's cited
//! capture is written into the manifest, as `archive --submit` records it.
//!
//! Robust Links as the spec has them, for every captured link; replay URLs `linkkeep serve`
//! answers; `url-status` from the last check; CSL-JSON that pandoc's citeproc reads; BibLaTeX
//! whose braces balance; hostile titles that break out of no format; `--at`; unknown links;
//! and documents whose every byte but the robust links stays as it was.

use regex::Regex;
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::{RawRun, Scratch, sha256_hex};
use crate::support::serve::{get, pdf_bytes, router, set_capture_times};
use crate::support::{skip_or_fail, write_file};

const REPLAY_BASE: &str = "http://127.0.0.1:8080";
const WAYBACK_COPY_TIME: &str = "2018-03-02T00:00:00Z";
/// A title that tries every format's way out: terminal escapes, a bidi override, Markdown link
/// syntax, wikitext pipes and braces, HTML, BibTeX braces and specials.
const HOSTILE_TITLE: &str = "Evil\u{1b}[31m\u{202e} ](http://evil.example) [x](y) | }} {{x}} ]] <script>alert(1)</script> } @misc{a, % & $ # _ ^ ~ \\";

/// A page of the report: the text a reader sees differs entirely between versions.
fn report_page(version: &str, paragraph: &str) -> ResponseTemplate {
    let body = format!(
        "<!doctype html><html><head><title>WGEC report {version}</title></head><body><article><h1>WGEC report</h1>\
         <p>{paragraph}</p><p>{paragraph}</p></article></body></html>"
    );
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8")
}

/// The archive: `report` (changed between runs), `paper` (a PDF, unchanged), `gone` (200, then
/// 404), `never` (always 404); archived twice. Keeps the site up while alive.
struct Archived {
    _server: MockServer,
    scratch: Scratch,
    base: String,
}

impl Archived {
    async fn new() -> Self {
        let server = MockServer::start().await;
        let base = server.uri();
        Mock::given(path("/report.html"))
            .respond_with(report_page(
                "v1",
                "The working group met in Geneva to discuss enhanced cooperation on public policy issues pertaining to the Internet.",
            ))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path("/report.html"))
            .respond_with(report_page(
                "v2",
                "This domain is for sale: contact our brokers today for premium names, hosting offers and marketing services.",
            ))
            .with_priority(5)
            .mount(&server)
            .await;
        Mock::given(path("/paper.pdf"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(pdf_bytes(), "application/pdf"))
            .mount(&server)
            .await;
        Mock::given(path("/gone.html"))
            .respond_with(report_page(
                "gone",
                "A page that is about to disappear from the web for good.",
            ))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let scratch = Scratch::new(&[]);
        let links = json!({"version": 1, "links": [
            {"id": "report", "url": format!("{base}/report.html"), "publisher": "IP-Watch"},
            {"id": "paper", "url": format!("{base}/paper.pdf"), "title": "R&D: 50% {draft} $x #1 a_b", "publisher": "UNCTAD"},
            {"id": "gone", "url": format!("{base}/gone.html")},
            {"id": "never", "url": format!("{base}/never.html")},
        ]});
        std::fs::write(&scratch.links, serde_json::to_vec_pretty(&links).unwrap()).unwrap();
        for run in 0..2 {
            let archived = scratch.archive(&["--retries", "0", "--timeout", "5"]).await;
            assert_eq!(archived.code, 1, "run {run}: {}", archived.stderr);
        }
        let archived = Self {
            _server: server,
            scratch,
            base,
        };
        assert_eq!(archived.scratch.snapshots("report").len(), 2);
        archived.edit_manifest(|manifest| {
            let url = manifest["links"]["report"]["url"].as_str().unwrap().to_owned();
            manifest["links"]["report"]["snapshots"][0]["public_copies"] = json!([
                {"archive": "wayback", "url": format!("https://web.archive.org/web/20180302000000/{url}"), "timestamp": WAYBACK_COPY_TIME},
                {"archive": "wayback", "error": "error:too-many-daily-captures: try tomorrow", "timestamp": WAYBACK_COPY_TIME},
            ]);
        });
        archived
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn edit_manifest(&self, edit: impl FnOnce(&mut Value)) {
        let mut manifest = self.scratch.manifest();
        edit(&mut manifest);
        std::fs::write(
            self.scratch.archive.join("manifest.json"),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
    }

    /// Runs `linkkeep cite <args>`, which must succeed; returns stdout and stderr.
    async fn cite(&self, args: &[&str]) -> (String, String) {
        let run = self.run(args).await;
        assert_eq!(run.code, 0, "cite {args:?}: {}", run.stderr);
        (String::from_utf8(run.stdout).unwrap(), run.stderr)
    }

    async fn run(&self, args: &[&str]) -> RawRun {
        let mut all = vec!["cite"];
        all.extend_from_slice(args);
        self.scratch.run(&all).await
    }
}

/// The attributes of an element whose names start with `data-`.
fn data_attributes(element: &scraper::ElementRef) -> Vec<String> {
    let mut names: Vec<String> = element
        .value()
        .attrs()
        .map(|(name, _)| name.to_owned())
        .filter(|name| name.starts_with("data-"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn html_citations_are_robust_links_in_the_specs_formats_and_serve_answers_them() {
    let site = Archived::new().await;
    let (html, stderr) = site.cite(&["--format", "html", "--replay-base", REPLAY_BASE]).await;
    assert!(stderr.contains("never has no capture"), "{stderr}");

    let date = Regex::new(r"^\d{4}-\d{2}-\d{2}$").unwrap();
    let datetime = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").unwrap();
    let uri = Regex::new(r"^https?://[^\s]+$").unwrap();
    let document = scraper::Html::parse_fragment(&html);
    let items = scraper::Selector::parse("li").unwrap();
    let first_link = scraper::Selector::parse("a").unwrap();
    let mut robust = Vec::new();
    for item in document.select(&items) {
        let link = item.select(&first_link).next().unwrap();
        let id = item.value().attr("id").unwrap();
        if id == "cite-never" {
            assert!(data_attributes(&link).is_empty(), "{html}");
            continue;
        }
        assert_eq!(
            data_attributes(&link),
            ["data-originalurl", "data-versiondate", "data-versionurl"],
            "{html}"
        );
        let attr = |name| link.value().attr(name).unwrap();
        assert_eq!(attr("data-originalurl"), link.value().attr("href").unwrap());
        assert!(date.is_match(attr("data-versiondate")), "{html}");
        let tokens: Vec<&str> = attr("data-versionurl").split(' ').collect();
        assert!(!tokens.is_empty() && tokens.len().is_multiple_of(2), "{tokens:?}");
        for pair in tokens.chunks(2) {
            assert!(uri.is_match(pair[0]), "{pair:?}");
            assert!(datetime.is_match(pair[1]), "{pair:?}");
        }
        robust.push((id.to_owned(), tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>()));
    }
    let ids: Vec<&str> = robust.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["cite-report", "cite-paper", "cite-gone"], "{html}");

    // The report's copies: this archive's of the cited (first) capture, then the Wayback
    // Machine's; the refused submission is no copy.
    let report = &robust[0].1;
    let first_seen = site.scratch.snapshots("report")[0]["first_seen"]
        .as_str()
        .unwrap()
        .to_owned();
    let stamp = first_seen.replace(['-', ':', 'T', 'Z'], "");
    assert_eq!(
        report,
        &[
            format!("{REPLAY_BASE}/web/{stamp}/{}", site.url("/report.html")),
            first_seen,
            format!(
                "https://web.archive.org/web/20180302000000/{}",
                site.url("/report.html")
            ),
            WAYBACK_COPY_TIME.to_owned(),
        ]
    );

    // `linkkeep serve` answers every replay URL with the capture itself, not a redirect.
    let server = router(&site.scratch);
    for (id, tokens) in &robust {
        let target = tokens[0].strip_prefix(REPLAY_BASE).unwrap();
        let reply = get(&server, target, &[]).await;
        assert_eq!(reply.status, 200, "{id} {target}: {}", reply.text());
        if id == "cite-paper" {
            assert_eq!(reply.body, pdf_bytes());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_is_a_reference_list_with_dates_hashes_and_copies() {
    let site = Archived::new().await;
    let (markdown, stderr) = site.cite(&["--replay-base", REPLAY_BASE]).await;
    let lines: Vec<&str> = markdown.lines().collect();
    assert_eq!(lines.len(), 4, "{markdown}");
    let sha = site.scratch.snapshots("report")[0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let day = site.scratch.snapshots("report")[0]["first_seen"].as_str().unwrap()[..10].to_owned();
    assert!(
        lines[0].starts_with(&format!(
            "1. WGEC report v1. IP-Watch. <{}>. Cited version of {day} (SHA-256 {sha}), archived at [this archive](<{REPLAY_BASE}/web/",
            site.url("/report.html")
        )),
        "{markdown}"
    );
    assert!(lines[0].ends_with(&format!(
        " and [Wayback Machine, 2018-03-02](<https://web.archive.org/web/20180302000000/{}>).",
        site.url("/report.html")
    )));
    assert!(
        lines[1].starts_with(r"2. R\&D: 50% {draft} $x #1 a\_b. UNCTAD. <"),
        "{markdown}"
    );
    // Without a title anywhere, the URL; without a publisher, the host.
    assert!(
        lines[3].starts_with(&format!("4. {}. 127.0.0.1. <", site.url("/never.html"))),
        "{markdown}"
    );
    assert!(lines[3].ends_with("Not archived."), "{markdown}");
    assert!(stderr.contains("never has no capture (last check: "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wikitext_url_status_is_live_dead_or_usurped() {
    let site = Archived::new().await;
    let status_of = |wikitext: &str, id: &str, url: &str| -> String {
        let line = wikitext
            .lines()
            .find(|l| l.contains(&format!("|url={url} ")))
            .unwrap_or_else(|| panic!("{id}:\n{wikitext}"));
        assert!(line.starts_with("{{cite web |") && line.ends_with("}}"), "{line}");
        line.split(" |")
            .find_map(|p| p.strip_prefix("url-status="))
            .unwrap_or("none")
            .to_owned()
    };
    let (wikitext, _) = site.cite(&["--format", "wikitext", "--replay-base", REPLAY_BASE]).await;
    assert_eq!(status_of(&wikitext, "paper", &site.url("/paper.pdf")), "live");
    assert_eq!(status_of(&wikitext, "gone", &site.url("/gone.html")), "dead");
    // The report's text is not what was cited any more.
    assert_eq!(status_of(&wikitext, "report", &site.url("/report.html")), "usurped");
    // A link without a capture has no archived copy, so no url-status either.
    assert_eq!(status_of(&wikitext, "never", &site.url("/never.html")), "none");
    let report = wikitext.lines().next().unwrap();
    assert!(
        report.contains(&format!(
            " |archive-url=https://web.archive.org/web/20180302000000/{} |archive-date=2018-03-02 |",
            site.url("/report.html")
        )),
        "{report}"
    );

    // Without a copy to point at, a gone link is tagged as Wikipedia tags dead links, and a
    // live one is not.
    let (wikitext, _) = site.cite(&["--format", "wikitext", "gone", "paper"]).await;
    let line = |url: &str| {
        wikitext
            .lines()
            .find(|l| l.contains(&format!("|url={url} ")))
            .unwrap_or_else(|| panic!("{url}:\n{wikitext}"))
    };
    assert!(line(&site.url("/gone.html")).ends_with("}}{{dead link}}"), "{wikitext}");
    assert!(!line(&site.url("/paper.pdf")).contains("dead link"), "{wikitext}");

    // A soft 404 is usurped too.
    site.edit_manifest(|manifest| manifest["links"]["paper"]["last_check"]["outcome"] = json!("soft_404"));
    let (wikitext, _) = site.cite(&["--format", "wikitext", "--replay-base", REPLAY_BASE]).await;
    assert_eq!(status_of(&wikitext, "paper", &site.url("/paper.pdf")), "usurped");
}

#[tokio::test(flavor = "multi_thread")]
async fn csl_json_is_read_by_pandoc_citeproc() {
    let site = Archived::new().await;
    let (json, _) = site.cite(&["--format", "csl-json", "--replay-base", REPLAY_BASE]).await;
    let items: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(items.len(), 4);
    let paper = &items[1];
    assert_eq!(paper["id"], "paper");
    assert_eq!(paper["type"], "webpage");
    assert_eq!(paper["title"], "R&D: 50% {draft} $x #1 a_b");
    assert_eq!(paper["container-title"], "UNCTAD");
    assert_eq!(paper["URL"], site.url("/paper.pdf"));
    let sha = site.scratch.snapshots("paper")[0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(paper["note"], format!("SHA-256: {sha}"));
    // This archive, named by its host where no "this" reads right.
    assert_eq!(paper["archive"], "127.0.0.1:8080");
    assert!(paper["archive_location"].as_str().unwrap().starts_with(REPLAY_BASE));
    assert_eq!(paper["accessed"]["date-parts"][0].as_array().unwrap().len(), 3);
    assert_eq!(items[0]["archive"], "Wayback Machine");

    let Ok(pandoc) = std::process::Command::new("pandoc").arg("--version").output() else {
        skip_or_fail("pandoc is not installed");
        return;
    };
    assert!(pandoc.status.success());
    let dir = site.scratch.dir.path();
    write_file(dir, "refs.json", &json);
    write_file(dir, "paper.md", "As argued in @paper and @report.\n");
    let rendered = std::process::Command::new("pandoc")
        .current_dir(dir)
        .args([
            "paper.md",
            "--bibliography",
            "refs.json",
            "--citeproc",
            "-t",
            "plain",
            "--wrap=none",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rendered.stdout);
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "{stderr}");
    assert!(!stderr.contains("not found"), "{stderr}");
    // The style title-cases titles.
    let lower = text.to_lowercase();
    assert!(lower.contains("“r&d: 50% {draft} $x #1 a_b.” n.d. unctad."), "{text}");
    assert!(lower.contains("“wgec report v1.” n.d. ip-watch."), "{text}");
    assert!(text.contains(&format!("{}.\n", site.url("/paper.pdf"))), "{text}");
    assert!(text.contains("Wayback Machine"), "{text}");
}

/// Checks that `entry` (one BibLaTeX entry) has balanced braces and fields that each end where
/// they should: counting as BibTeX does, escaped braces included.
fn assert_balanced(entry: &str) {
    let mut depth = 0i32;
    for c in entry.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        assert!(depth >= 0, "{entry}");
    }
    assert_eq!(depth, 0, "{entry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn biblatex_entries_parse_with_specials_escaped() {
    let site = Archived::new().await;
    let (bib, _) = site.cite(&["--format", "biblatex", "--replay-base", REPLAY_BASE]).await;
    let entries: Vec<&str> = bib.split("\n\n").filter(|e| !e.trim().is_empty()).collect();
    assert_eq!(entries.len(), 4, "{bib}");
    for entry in &entries {
        assert_balanced(entry);
        assert!(entry.starts_with("@online{"), "{entry}");
    }
    let paper = entries[1];
    assert!(paper.starts_with("@online{paper,\n"), "{paper}");
    assert!(
        paper.contains(r"  title = {R\&D: 50\% \textbraceleft{}draft\textbraceright{} \$x \#1 a\_b},"),
        "{paper}"
    );
    assert!(paper.contains("  organization = {UNCTAD},"), "{paper}");
    assert!(
        paper.contains(&format!("  url = {{{}}},", site.url("/paper.pdf"))),
        "{paper}"
    );
    assert!(
        Regex::new(r"  urldate = \{\d{4}-\d{2}-\d{2}\},")
            .unwrap()
            .is_match(paper),
        "{paper}"
    );
    assert!(
        paper.contains(&format!("  addendum = {{Archived at \\url{{{REPLAY_BASE}/web/")),
        "{paper}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_titles_break_out_of_no_format() {
    let server = MockServer::start().await;
    let title = HOSTILE_TITLE.replace('<', "&lt;").replace('>', "&gt;");
    Mock::given(path("/evil.html"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!("<html><head><title>{title}</title></head><body><p>x</p></body></html>").into_bytes(),
            "text/html",
        ))
        .mount(&server)
        .await;
    let scratch = Scratch::new(&[("evil", format!("{}/evil.html", server.uri()))]);
    assert_eq!(scratch.archive(&["--retries", "0"]).await.code, 0);
    let recorded = scratch.snapshots("evil")[0]["title"].as_str().unwrap().to_owned();
    assert!(recorded.contains('\u{1b}') && recorded.contains("}}"), "{recorded:?}");
    let cite = |format: &'static str| {
        let scratch = &scratch;
        async move {
            let run = scratch
                .run(&["cite", "--format", format, "--replay-base", REPLAY_BASE])
                .await;
            assert_eq!(run.code, 0, "{}", run.stderr);
            String::from_utf8(run.stdout).unwrap()
        }
    };

    for format in ["text", "markdown", "wikitext", "biblatex", "html", "csl-json"] {
        let out = cite(format).await;
        assert!(!out.contains('\u{1b}'), "{format}: {out:?}");
        if matches!(format, "text" | "markdown") {
            assert!(!out.chars().any(|c| c != '\n' && c.is_control()), "{format}: {out:?}");
            assert!(!out.contains('\u{202e}'), "{format}: {out:?}");
        }
    }

    let markdown = cite("markdown").await;
    assert_eq!(markdown.lines().count(), 1, "{markdown}");
    // The one link the title's text makes is none: only the URL's autolink and the copy.
    assert!(!markdown.contains("](http://evil.example)"), "{markdown}");
    assert!(!markdown.contains("<script>"), "{markdown}");
    assert_eq!(markdown.matches("](<").count(), 1, "{markdown}");

    let wikitext = cite("wikitext").await;
    assert_eq!(wikitext.lines().count(), 1, "{wikitext}");
    let line = wikitext.trim_end();
    let inner = line.strip_prefix("{{").unwrap().strip_suffix("}}").unwrap();
    assert!(
        !inner.replace("{{!}}", "").contains(['{', '}', '[', ']', '<', '>', '~']),
        "{line}"
    );
    // The title's pipes are `{{!}}`: the only separators are the template's own, one a parameter
    // (url, title, publisher, archive-url, archive-date, url-status, access-date).
    assert_eq!(inner.replace("{{!}}", "").matches('|').count(), 7, "{line}");

    let bib = cite("biblatex").await;
    assert_balanced(&bib);
    // The title's `@misc{` is inside the entry's braces, where it starts no entry.
    assert_eq!(bib.lines().filter(|l| l.starts_with('@')).count(), 1, "{bib}");
    assert_eq!(bib.lines().filter(|l| l.starts_with("  title = {")).count(), 1, "{bib}");

    let html = cite("html").await;
    let document = scraper::Html::parse_fragment(&html);
    assert_eq!(
        document.select(&scraper::Selector::parse("script").unwrap()).count(),
        0,
        "{html}"
    );
    let links: Vec<_> = document.select(&scraper::Selector::parse("a").unwrap()).collect();
    assert_eq!(links.len(), 2, "{html}");
    assert!(
        links[0]
            .text()
            .collect::<String>()
            .contains("<script>alert(1)</script>"),
        "{html}"
    );

    let json: Vec<Value> = serde_json::from_str(&cite("csl-json").await).unwrap();
    assert!(json[0]["title"].as_str().unwrap().contains("}} {{x}}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn at_picks_the_capture_and_targets_pick_the_links() {
    let site = Archived::new().await;
    // Captures a year apart, whatever the clock did during the runs.
    set_capture_times(
        &site.scratch,
        "report",
        &["2018-03-01T10:00:00Z", "2019-03-01T10:00:00Z"],
    );
    let snapshots = site.scratch.snapshots("report");
    let sha = |i: usize| snapshots[i]["sha256"].as_str().unwrap().to_owned();
    let second = "2019-03-01T10:00:00Z";

    let (first, _) = site.cite(&["--format", "text", "report"]).await;
    assert!(first.contains(&sha(0)) && !first.contains(&sha(1)), "{first}");
    let (later, _) = site.cite(&["--format", "text", "--at", "2019-02-01", "report"]).await;
    assert!(later.contains(&sha(1)) && !later.contains(&sha(0)), "{later}");
    assert!(later.contains(&format!("Cited version: {second}")), "{later}");
    let (early, _) = site.cite(&["--format", "text", "--at", "2000-01-01", "report"]).await;
    assert!(early.contains(&sha(0)), "{early}");

    // By id and by URL, in links.json order, each once.
    let (picked, _) = site
        .cite(&["--format", "csl-json", &site.url("/gone.html"), "paper", "gone"])
        .await;
    let ids: Vec<String> = serde_json::from_str::<Vec<Value>>(&picked)
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["paper", "gone"]);

    let unknown = site.run(&["nope\u{1b}[2J"]).await;
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains(r#"no link "nope\u{1b}[2J""#),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stdout.is_empty());
    let bad_at = site.run(&["--at", "yesterday"]).await;
    assert_eq!(bad_at.code, 2, "{}", bad_at.stderr);
    let bad_base = site.run(&["--replay-base", "ftp://x.example/"]).await;
    assert_eq!(bad_base.code, 2, "{}", bad_base.stderr);

    // -o writes the same citations, atomically, to a file.
    let out = site.scratch.dir.path().join("refs.md");
    let (stdout, _) = site.cite(&["-o", out.to_str().unwrap()]).await;
    assert!(stdout.is_empty());
    let (again, _) = site.cite(&[]).await;
    assert_eq!(std::fs::read_to_string(&out).unwrap(), again);
}

/// Removes what `--robustify` adds to Markdown: ` (archived: [label](<url>); …)`.
fn without_markdown_copies(text: &str) -> String {
    Regex::new(r" \(archived: \[[^\]]*\]\(<[^>]*>\)(?:; \[[^\]]*\]\(<[^>]*>\))*\)")
        .unwrap()
        .replace_all(text, "")
        .into_owned()
}

/// Removes what `--robustify` adds to HTML: the three attributes.
fn without_robust_attributes(text: &str) -> String {
    Regex::new(r#" data-(?:originalurl|versiondate|versionurl)="[^"]*""#)
        .unwrap()
        .replace_all(text, "")
        .into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn robustify_changes_only_the_links_of_a_markdown_document() {
    let site = Archived::new().await;
    let (report, paper, never) = (
        site.url("/report.html"),
        site.url("/paper.pdf"),
        site.url("/never.html"),
    );
    let document = format!(
        "# A paper\n\nAs [the report]({report} \"WGEC\") says, and <{paper}> shows (see also {report}).\n\
         An [unknown link](https://unknown.example/x), and [one never captured]({never}).\n\n\
         `{report}` in code, and:\n\n```\n[x]({report})\n```\n\n| source | note |\n|---|---|\n| [r]({report}) | a cell |\n"
    );
    let path = write_file(site.scratch.dir.path(), "paper.md", &document);
    let run = site
        .run(&["--robustify", "paper.md", "--replay-base", REPLAY_BASE])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = String::from_utf8(run.stdout).unwrap();
    assert_eq!(without_markdown_copies(&out), document, "{out}");
    assert_eq!(out.matches(" (archived: ").count(), 4, "{out}");
    assert!(
        out.contains(&format!(
            "[the report]({report} \"WGEC\") (archived: [this archive, {}](<{REPLAY_BASE}/web/",
            &site.scratch.snapshots("report")[0]["first_seen"].as_str().unwrap()[..10]
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "; [Wayback Machine, 2018-03-02](<https://web.archive.org/web/20180302000000/{report}>))"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("<{paper}> (archived: ")), "{out}");
    assert!(
        run.stderr
            .contains(&format!("{never} is in the archive without a copy")),
        "{}",
        run.stderr
    );
    // Without --in-place the document is untouched.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), document);

    // -o writes the same; --in-place replaces the document; a second run changes nothing.
    let written = site.scratch.dir.path().join("robust.md");
    let run = site
        .run(&[
            "--robustify",
            "paper.md",
            "--replay-base",
            REPLAY_BASE,
            "-o",
            written.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&written).unwrap(), out);
    let run = site
        .run(&["--robustify", "paper.md", "--replay-base", REPLAY_BASE, "--in-place"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), out);
    let run = site
        .run(&["--robustify", "paper.md", "--replay-base", REPLAY_BASE, "--in-place"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), out);

    // Without --replay-base, only the report has a copy (the Wayback Machine's).
    write_file(site.scratch.dir.path(), "plain.md", &document);
    let run = site.run(&["--robustify", "plain.md"]).await;
    let public_only = String::from_utf8(run.stdout).unwrap();
    assert!(
        public_only.contains(&format!(
            "[the report]({report} \"WGEC\") (archived: [Wayback Machine, 2018-03-02](<"
        )),
        "{public_only}"
    );
    assert!(!public_only.contains(REPLAY_BASE), "{public_only}");
    assert!(
        run.stderr
            .contains(&format!("{paper} is in the archive without a copy")),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn robustify_changes_only_the_links_of_an_html_document() {
    let site = Archived::new().await;
    let (report, paper, gone) = (site.url("/report.html"), site.url("/paper.pdf"), site.url("/gone.html"));
    let document = format!(
        "<!DOCTYPE html>\n<HTML><head><meta charset=utf-8><title>A paper</title></head>\n<body>\n\
         <p>As <A HREF={report} class=ref\n   title='the report'>the report</A> says, and <a href=\"{paper}\"/> shows.</p>\n\
         <p><a href=\"{gone}#section\" data-versionurl=\"http://old.example/ 2001-01-01\">gone</a>, \
         <a href=\"https://unknown.example/x\">unknown</a>, <a name=top>no href</a>.</p>\n\
         <!-- <a href=\"{report}\">commented out</a> -->\n<script>var a = '<a href=\"{report}\">';</script>\n\
         <pre>caf\u{e9} &amp; &eacute;</pre></body></HTML>\n"
    );
    let path = write_file(site.scratch.dir.path(), "paper.html", &document);
    let run = site
        .run(&["--robustify", "paper.html", "--replay-base", REPLAY_BASE])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = String::from_utf8(run.stdout).unwrap();
    assert!(run.stderr.contains("3 link(s) made robust"), "{}", run.stderr);
    assert_eq!(out.matches("data-originalurl=").count(), 3, "{out}");
    // The gone link's own data-versionurl was replaced, not repeated.
    assert_eq!(out.matches("data-versionurl=").count(), 3, "{out}");
    assert!(!out.contains("old.example"), "{out}");
    let original_without_own = document.replace(" data-versionurl=\"http://old.example/ 2001-01-01\"", "");
    assert_eq!(without_robust_attributes(&out), original_without_own, "{out}");
    assert!(
        out.contains(&format!(
            "<A HREF={report} class=ref\n   title='the report' data-originalurl=\"{report}\" data-versiondate=\""
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            " https://web.archive.org/web/20180302000000/{report} {WAYBACK_COPY_TIME}\">the report</A>"
        )),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), document);

    let run = site
        .run(&["--robustify", "paper.html", "--replay-base", REPLAY_BASE, "--in-place"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), out);
    assert_eq!(sha256_hex(out.as_bytes()), sha256_hex(&std::fs::read(&path).unwrap()));

    // --in-place needs --robustify; a PDF cannot be robustified.
    assert_eq!(site.run(&["--in-place"]).await.code, 2);
    let pdf = site.scratch.dir.path().join("doc.pdf");
    std::fs::write(&pdf, pdf_bytes()).unwrap();
    let run = site.run(&["--robustify", pdf.to_str().unwrap()]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
}
