//! Report formats: JSON (wire format and links.json order), JUnit, Markdown, human text with and
//! without colour, and `-o FILE`. Guards issue #2.

use std::path::PathBuf;
use std::time::Duration;

use quick_xml::events::{BytesStart, Event};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Outcome, Report, Run, check_plain, links_file, run, run_check};

/// Four links: `ok-page` and `also-ok` (200), `missing-page` (404) and `skipped-page` (excluded
/// by `ARGS`).
async fn fixture() -> (MockServer, tempfile::TempDir, PathBuf) {
    let server = MockServer::start().await;
    for (p, status) in [("/ok", 200), ("/missing", 404), ("/skip", 200), ("/ok2", 200)] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let u = |p: &str| format!("{}{p}", server.uri());
    let links = links_file(
        dir.path(),
        &[
            ("ok-page", u("/ok")),
            ("missing-page", u("/missing")),
            ("skipped-page", u("/skip")),
            ("also-ok", u("/ok2")),
        ],
    );
    (server, dir, links)
}

const IDS: [&str; 4] = ["ok-page", "missing-page", "skipped-page", "also-ok"];
const ARGS: [&str; 4] = ["--retries", "0", "--exclude", "/skip$"];

/// Runs `check` on the fixture in `format` with extra `args`.
async fn report_in(format: &str, args: &[&str]) -> Run {
    let (_server, _dir, links) = fixture().await;
    let mut cmd = check_plain(&links, &ARGS);
    cmd.args(["--format", format]).args(args);
    let run = run(cmd).await;
    assert_eq!(run.code, 1, "the 404 fails the run; stderr: {}", run.stderr);
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn json_results_follow_links_order() {
    let server = MockServer::start().await;
    // The first link answers last.
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(400)))
        .mount(&server)
        .await;
    Mock::given(path("/fast"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let u = |p: &str| format!("{}{p}", server.uri());
    let links = links_file(dir.path(), &[("slow", u("/slow")), ("fast", u("/fast"))]);

    let (code, report, _) = run_check(&links, &[]).await;

    assert_eq!(code, 0);
    assert_eq!(report.ids(), ["slow", "fast"]);
    assert_eq!(report.get("slow").url, u("/slow"));
    assert!(report.get("slow").elapsed_ms >= 400, "{:?}", report.get("slow"));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_report_has_every_field() {
    let run = report_in("json", &[]).await;
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let report: Report = serde_json::from_value(value.clone()).unwrap();

    assert_eq!(report.tool, "linkkeep");
    assert_eq!(report.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(report.command, "check");
    let started = chrono::DateTime::parse_from_rfc3339(&report.started_at).unwrap();
    let finished = chrono::DateTime::parse_from_rfc3339(&report.finished_at).unwrap();
    assert!(started <= finished);
    let stamp = report.run.get(..16).unwrap_or_default();
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").is_ok(),
        "run id {:?}",
        report.run
    );
    assert_eq!(report.ids(), IDS);
    let s = &report.summary;
    assert_eq!((s.total, s.ok, s.failed, s.excluded), (4, 2, 1, 1));
    // Optional values are present as null, not left out.
    const FIELDS: [&str; 13] = [
        "id",
        "url",
        "outcome",
        "http_status",
        "final_url",
        "redirects",
        "attempts",
        "elapsed_ms",
        "content_type",
        "size",
        "sha256",
        "change",
        "error",
    ];
    for result in value["results"].as_array().unwrap() {
        for field in FIELDS {
            assert!(result.get(field).is_some(), "{field} missing in {result}");
        }
    }
    assert_eq!(report.get("missing-page").outcome, Outcome::HttpError);
    assert_eq!(report.get("skipped-page").outcome, Outcome::Excluded);
}

/// One `<testcase>`: its name attributes and whether it holds a failure or a skip.
#[derive(Debug, Default)]
struct Case {
    label: String,
    failure: bool,
    skipped: bool,
}

fn attr(e: &BytesStart, name: &str) -> String {
    match e.try_get_attribute(name).unwrap() {
        Some(a) => a.unescape_value().unwrap().into_owned(),
        None => String::new(),
    }
}

fn junit_cases(xml: &str) -> Vec<Case> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases: Vec<Case> = Vec::new();
    loop {
        let event = reader.read_event().unwrap_or_else(|e| panic!("bad XML ({e}):\n{xml}"));
        let (Event::Start(e) | Event::Empty(e)) = &event else {
            if matches!(event, Event::Eof) {
                return cases;
            }
            continue;
        };
        match e.name().as_ref() {
            b"testcase" => cases.push(Case {
                label: format!("{} {}", attr(e, "classname"), attr(e, "name")),
                ..Case::default()
            }),
            b"failure" => cases.last_mut().unwrap().failure = true,
            b"skipped" => cases.last_mut().unwrap().skipped = true,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_has_one_testcase_per_link() {
    let run = report_in("junit", &[]).await;
    let cases = junit_cases(&run.stdout);

    assert_eq!(cases.len(), 4, "{cases:?}");
    let case = |id: &str| cases.iter().find(|c| c.label.contains(id)).unwrap();
    let (ok, missing, skipped) = (case("ok-page"), case("missing-page"), case("skipped-page"));
    assert!(!ok.failure && !ok.skipped, "{ok:?}");
    assert!(missing.failure && !missing.skipped, "{missing:?}");
    assert!(skipped.skipped && !skipped.failure, "{skipped:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_is_a_table_with_a_row_per_link() {
    let run = report_in("markdown", &[]).await;
    let table: Vec<&str> = run
        .stdout
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();

    assert!(table.len() >= 2, "no table in:\n{}", run.stdout);
    let separator = table[1].replace([' ', '|', ':'], "");
    assert!(
        !separator.is_empty() && separator.chars().all(|c| c == '-'),
        "{}",
        table[1]
    );
    let rows = &table[2..];
    assert_eq!(rows.len(), 4, "{table:#?}");
    for (row, id) in rows.iter().zip(IDS) {
        assert!(row.contains(id), "{row} should be {id}");
    }
    assert!(rows[1].contains("404"), "{}", rows[1]);
}

/// The numbers in a line, e.g. "4 links: 2 ok, 1 failed" -> [4, 2, 1].
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn human_lists_each_link_and_a_summary() {
    let run = report_in("human", &["--color", "never"]).await;

    for id in IDS {
        assert!(run.stdout.contains(id), "{id} missing:\n{}", run.stdout);
    }
    let summary = run.stdout.lines().chain(run.stderr.lines()).find(|l| {
        let l = l.to_lowercase();
        l.contains("ok") && l.contains("fail")
    });
    let summary = summary.unwrap_or_else(|| panic!("no summary line in:\n{}", run.stdout));
    let n = numbers(summary);
    assert!(n.contains(&2) && n.contains(&1), "2 ok, 1 failed: {summary}");
}

fn has_ansi(run: &Run) -> bool {
    run.stdout.contains('\x1b') || run.stderr.contains('\x1b')
}

#[tokio::test(flavor = "multi_thread")]
async fn human_colour_follows_flags_and_no_color() {
    // Not a terminal: no colour by default.
    let plain = report_in("human", &[]).await;
    assert!(!has_ansi(&plain), "{:?}", plain.stdout);

    let never = report_in("human", &["--color", "never"]).await;
    assert!(!has_ansi(&never), "{:?}", never.stdout);

    let always = report_in("human", &["--color", "always"]).await;
    assert!(has_ansi(&always), "{:?}", always.stdout);

    let (_server, _dir, links) = fixture().await;
    let mut cmd = check_plain(&links, &ARGS);
    cmd.env("NO_COLOR", "1");
    let no_color = run(cmd).await;
    assert_eq!(no_color.code, 1);
    assert!(!has_ansi(&no_color), "{:?}", no_color.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn output_file_gets_the_report_and_stdout_stays_empty() {
    let (_server, dir, links) = fixture().await;
    let out = dir.path().join("report.json");
    let mut cmd = check_plain(&links, &ARGS);
    cmd.args(["--format", "json", "-o"]).arg(&out);

    let run = run(cmd).await;

    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "", "the report goes to the file");
    let report: Report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report.ids(), IDS);
    assert_eq!(
        run.stderr.trim().lines().count(),
        1,
        "one-line summary:\n{}",
        run.stderr
    );
}
