//! Text from outside, shown safely (issue #15): a page title, links.json ids and URLs, and a
//! redirect's `Location` holding terminal escape sequences, bidirectional overrides and
//! Markdown syntax. The human output of `status` and `check` (stdout and stderr, logs included)
//! carries no control character and no override; their Markdown tables keep their shape and
//! start no link or HTML of their own; the JSON reports and the manifest keep every text
//! exactly as received.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderValue, LOCATION};
use serde_json::Value;

use crate::support::archive::{RawRun, Scratch};
use crate::support::http::{Reply, bind, reply, spawn_server};

/// A title that sets the terminal's window title (OSC … BEL), paints red (CSI), flips what
/// follows right to left (U+202E) and clears the screen with a C1 CSI (U+009B).
const TITLE: &str = "\x1b]0;pwned\x07\x1b[31mred\u{202e}txt.exe\u{9b}2J";
/// How `status` shows [`TITLE`].
const TITLE_SHOWN: &str = r"\u{1b}]0;pwned\u{7}\u{1b}[31mred\u{202e}txt.exe\u{9b}2J";
/// A title that would break a Markdown table, link elsewhere and run a script.
const MARKDOWN_TITLE: &str = "a | b](http://evil.example) <script>alert(1)</script> ![i](x) <http://evil.example>";
/// A `Location` no URL parser takes, quoted in the redirect error: a bidi override, a C1
/// control, a pipe, `](` and a script tag, as raw UTF-8 bytes.
const BAD_LOCATION: &str = "http://[\u{202e}\u{9b}|](x)<script>]/";
/// A links.json id with an escape sequence and an override.
const HOSTILE_ID: &str = "moved\x1b[2J\u{202e}";
/// A links.json id with Markdown syntax and a line break.
const MARKDOWN_ID: &str = "away | x](y) <script>\nz";

/// Every link: the two titled pages, the redirect to an unusable `Location`, and a link whose
/// id and URL (with raw overrides, controls, a line break and Markdown syntax in its query)
/// come from a hostile links.json, redirected to the first page.
async fn hostile_site() -> Scratch {
    let (listener, port) = bind().await;
    spawn_server(listener, |request| async move {
        let page = |title: &str| -> Reply {
            let body =
                format!("<!doctype html><html><head><title>{title}</title></head><body><p>{title}</p></body></html>");
            Response::builder()
                .header(CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        };
        let redirect = |location: &str| -> Reply {
            Response::builder()
                .status(302)
                // Raw bytes past ASCII are allowed in a header value (obs-text).
                .header(LOCATION, HeaderValue::from_bytes(location.as_bytes()).unwrap())
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        match request.uri().path() {
            "/hostile" => page(TITLE),
            "/markdown" => page(&MARKDOWN_TITLE.replace('&', "&amp;").replace('<', "&lt;")),
            "/moved" => redirect(BAD_LOCATION),
            "/away" => redirect("/hostile?\u{202e}"),
            _ => reply(404, "not here"),
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    Scratch::new(&[
        ("page", format!("{base}/hostile")),
        ("md", format!("{base}/markdown")),
        (HOSTILE_ID, format!("{base}/moved")),
        (MARKDOWN_ID, format!("{base}/away?\u{202e}\u{9b}|](q)<script>\nx")),
    ])
}

const NET: &[&str] = &["--retries", "0", "--timeout", "10", "--no-soft-404"];

/// Asserts that `bytes`, shown on a terminal, can neither drive it nor reorder its text: no
/// ESC, no BEL, no other C0 control but the line break, no DEL or C1 control, no bidirectional
/// formatting character.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    assert!(
        !bytes.contains(&0x1b),
        "{what}: ESC in {:?}",
        String::from_utf8_lossy(bytes)
    );
    assert!(
        !bytes.contains(&0x07),
        "{what}: BEL in {:?}",
        String::from_utf8_lossy(bytes)
    );
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    let bidi =
        |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
    if let Some(c) = text.chars().find(|&c| (c.is_control() && c != '\n') || bidi(c)) {
        panic!("{what}: {c:?} in {text:?}");
    }
}

fn assert_run_terminal_safe(what: &str, run: &RawRun) {
    assert_terminal_safe(&format!("{what} stdout"), &run.stdout);
    assert_terminal_safe(&format!("{what} stderr"), run.stderr.as_bytes());
}

fn json(run: &RawRun) -> Value {
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&run.stdout),
            run.stderr
        )
    })
}

fn result<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id:?} in {report:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_check_show_no_escape_sequence_and_no_override() {
    let scratch = hostile_site().await;
    let archive = scratch.archive(NET).await;
    assert_eq!(archive.code, 1, "the unusable redirect fails: {:#}", archive.report);
    // The manifest keeps the title as received.
    assert_eq!(scratch.snapshots("page")[0]["title"], TITLE);

    let status = scratch.run(&["status"]).await;
    assert_eq!(status.code, 1, "{}", status.stderr);
    assert_run_terminal_safe("status", &status);
    let shown = String::from_utf8(status.stdout).unwrap();
    assert!(shown.contains(TITLE_SHOWN), "the title is shown, escaped:\n{shown}");
    assert!(shown.contains(r"moved\u{1b}[2J\u{202e}"), "{shown}");

    let status = scratch.run(&["status", "--format", "json"]).await;
    let links = json(&status)["links"].as_array().unwrap().clone();
    let page = links.iter().find(|l| l["id"] == "page").unwrap();
    assert_eq!(page["latest"]["title"], TITLE, "JSON keeps the title exact");
    assert!(links.iter().any(|l| l["id"] == HOSTILE_ID), "JSON keeps the id exact");

    // `check` shows ids, URLs and errors; `-vv` logs every link under its id too.
    let check = scratch
        .run(&["-vv", "check"].iter().chain(NET).copied().collect::<Vec<_>>())
        .await;
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert_run_terminal_safe("check", &check);
    let shown = String::from_utf8(check.stdout).unwrap();
    assert!(shown.contains(r"moved\u{1b}[2J\u{202e}"), "{shown}");
    assert!(shown.contains(r"invalid Location"), "{shown}");
    assert!(shown.contains(r"away?\u{202e}\u{9b}|](q)<script>\nx"), "{shown}");
    assert!(
        check.stderr.contains(r"id=moved\u{1b}[2J\u{202e}"),
        "the logs name the link, escaped:\n{}",
        check.stderr
    );

    let check = scratch
        .run(
            &["check", "--format", "json"]
                .iter()
                .chain(NET)
                .copied()
                .collect::<Vec<_>>(),
        )
        .await;
    let report = json(&check);
    let moved = result(&report, HOSTILE_ID);
    assert_eq!(moved["outcome"], "redirect_error", "{moved:#}");
    assert_eq!(
        moved["redirects"][0]["location"], BAD_LOCATION,
        "JSON keeps the Location exact"
    );
    let away = result(&report, MARKDOWN_ID);
    assert!(
        away["url"]
            .as_str()
            .unwrap()
            .ends_with("/away?\u{202e}\u{9b}|](q)<script>\nx"),
        "{away:#}"
    );
    assert_eq!(away["redirects"][0]["location"], "/hostile?\u{202e}");
}

/// The cells of a Markdown table row: split at its unescaped pipes, the outer two dropped.
fn cells(row: &str) -> Vec<String> {
    let (mut cells, mut cell, mut chars) = (Vec::new(), String::new(), row.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cell.push(c);
                cell.extend(chars.next());
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    assert!(cell.trim().is_empty(), "the row ends with a pipe: {row}");
    assert!(
        cells.first().is_some_and(|c| c.is_empty()),
        "the row starts with a pipe: {row}"
    );
    cells.remove(0);
    cells
}

/// `text` less its backslash escapes (`\[` and the like): what Markdown reads as syntax.
fn syntax(text: &str) -> String {
    let (mut out, mut chars) = (String::new(), text.chars());
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// Asserts that `markdown` holds one table whose rows all have as many cells as its header,
/// where only the cell `link_column` of each row holds a link (`[text](<destination>)`, and no
/// other syntax), no other cell holds link, image, HTML or autolink syntax, and no raw
/// `<script>` appears anywhere.
fn assert_table_keeps_its_shape(what: &str, markdown: &str, rows: usize, link_column: usize) {
    assert!(!markdown.contains("<script>"), "{what}: raw <script> in\n{markdown}");
    let table: Vec<&str> = markdown.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 2 + rows, "{what}: one row per link in\n{markdown}");
    let columns = cells(table[0]).len();
    for row in &table {
        assert_eq!(cells(row).len(), columns, "{what}: {row}");
    }
    for row in &table[2..] {
        for (i, cell) in cells(row).iter().enumerate() {
            let cell = cell.trim();
            if i == link_column {
                let (text, destination) = cell
                    .strip_prefix('[')
                    .and_then(|c| c.strip_suffix(">)"))
                    .and_then(|c| c.split_once("](<"))
                    .unwrap_or_else(|| panic!("{what}: not a link: {cell}"));
                let text = syntax(text);
                assert!(
                    !text.contains(['[', ']', '<', '>', '(', ')']),
                    "{what}: link text {text:?} in {row}"
                );
                assert!(
                    !destination.contains(['<', '>', '\\', ' ', '|']) && !destination.contains("]("),
                    "{what}: destination {destination:?} in {row}"
                );
            } else {
                let syntax = syntax(cell);
                assert!(
                    !syntax.contains(['[', ']', '<', '>', '(', ')', '!', '&']),
                    "{what}: cell {i} reads as Markdown syntax: {syntax:?} in {row}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_tables_keep_their_shape_whatever_the_titles_ids_and_errors() {
    let scratch = hostile_site().await;
    let archive = scratch.archive(NET).await;
    assert_eq!(archive.code, 1, "{:#}", archive.report);
    assert_eq!(scratch.snapshots("md")[0]["title"], MARKDOWN_TITLE);

    let status = scratch.run(&["status", "--format", "markdown"]).await;
    let status = String::from_utf8(status.stdout).unwrap();
    // Last, When, Snapshots, As cited, SHA-256, Link, Title.
    assert_table_keeps_its_shape("status", &status, 4, 5);
    assert!(
        status.contains(r"a \| b\]\(http://evil.example\) \<script\>"),
        "{status}"
    );
    assert_terminal_safe("status markdown", status.as_bytes());

    let check = scratch
        .run(
            &["check", "--format", "markdown"]
                .iter()
                .chain(NET)
                .copied()
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(check.code, 1, "{}", check.stderr);
    let check = String::from_utf8(check.stdout).unwrap();
    // Result, HTTP, Link, Detail.
    assert_table_keeps_its_shape("check", &check, 4, 2);
    assert!(
        check.contains(r"invalid Location"),
        "the error is in the table: {check}"
    );
    assert_terminal_safe("check markdown", check.as_bytes());
}
