//! `linkkeep status`: every archived link at a glance: last outcome, when, snapshots, how much
//! of the cited version's text the latest capture keeps, latest hash and title. Reads the
//! manifest without taking the lock: it is replaced atomically, so a status during a run sees
//! the last checkpoint.
//!
//! # Wire format (`--format json`)
//! ```json
//! {"tool": "linkkeep", "version": "0.1.0", "command": "status", "archive": "/abs/archive",
//!  "updated_at": "…", "summary": {"total": 7, "ok": 5, "failed": 1, "never_checked": 1, "snapshots": 9},
//!  "links": [{"id": "…", "url": "…", "in_links_json": true, "last_check": {…} | null,
//!             "snapshots": 2, "latest": {…snapshot…} | null, "similarity_to_first": 0.87 | null,
//!             "public_copies": [{"archive": "wayback", "url": "…", "timestamp": "…"}]}]}
//! ```
//! `last_check` and `latest` are the manifest's own JSON for them, on one line each.
//! `similarity_to_first` is how much of the first snapshot's text (the cited version) the
//! latest keeps, 0–1: the latest snapshot's own `similarity_to_first`, 1 when the latest is the
//! first and has text, null when unknown (no snapshot, no text, or snapshots written before
//! linkkeep read text). `public_copies` lists what public archives made (or refused to make) of
//! any of the link's snapshots (`archive --submit`), oldest snapshot first.

use std::io::{self, Write};

use serde::Serialize;

use super::{Exit, emit, release_at_exit};
use crate::cli::StatusArgs;
use crate::config::{Environment, Format, GlobalConfig, OutputConfig};
use crate::links;
use crate::manifest::{CheckFields, Json, ManifestSummary, SnapshotFields, SummarySources};
use crate::outcome::Outcome;
use crate::public_archive::PublicCopy;
use crate::report::terminal_safe;

/// The status report. It borrows from the manifest's text, and writes each link's last check
/// and latest snapshot as the manifest has them: at 100,000 links, reading them into structs
/// and writing them out again took most of the time (issue #7).
#[derive(Debug, Serialize)]
pub struct StatusReport<'a> {
    /// Always `linkkeep`.
    pub tool: &'static str,
    /// The linkkeep version that ran.
    pub version: &'static str,
    /// Always `status`.
    pub command: &'static str,
    /// The archive directory.
    pub archive: String,
    /// When the manifest was last written.
    pub updated_at: Option<&'a str>,
    /// Counts over `links`.
    pub summary: StatusSummary,
    /// The manifest's links in order, then links of links.json never archived.
    pub links: Vec<LinkStatus<'a>>,
}

/// Counts over a status report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusSummary {
    /// Links listed.
    pub total: usize,
    /// Links whose last check was ok.
    pub ok: usize,
    /// Links whose last check failed.
    pub failed: usize,
    /// Links never fetched by `archive`.
    pub never_checked: usize,
    /// Snapshots over all links.
    pub snapshots: usize,
}

/// One link's state.
#[derive(Debug, Serialize)]
pub struct LinkStatus<'a> {
    /// The link's id.
    pub id: &'a str,
    /// Its URL.
    pub url: &'a str,
    /// Whether the current links.json lists it.
    pub in_links_json: bool,
    /// Its last check, if any, as the manifest has it.
    pub last_check: Option<&'a Json<'a, CheckFields<'a>>>,
    /// How many snapshots it has.
    pub snapshots: usize,
    /// The latest snapshot, if any, as the manifest has it.
    pub latest: Option<&'a Json<'a, SnapshotFields<'a>>>,
    /// How much of the first snapshot's text (the cited version) the latest keeps, 0–1; `None`
    /// (null) when unknown.
    pub similarity_to_first: Option<f64>,
    /// Copies of its captures that public archives made, or refused to make (`archive
    /// --submit`), oldest capture first.
    pub public_copies: &'a [PublicCopy],
}

/// The drift from the cited version of a link with `snapshots` snapshots, the last `latest`.
fn similarity_to_first(snapshots: usize, latest: Option<&SnapshotFields>) -> Option<f64> {
    let latest = latest?;
    if snapshots == 1 {
        // The latest is the cited version itself.
        latest.text_sha256.is_some().then_some(1.0)
    } else {
        latest.similarity_to_first
    }
}

/// Runs `linkkeep status`.
pub fn run(global: &GlobalConfig, args: &StatusArgs, env: &Environment) -> anyhow::Result<Exit> {
    let output = OutputConfig::new(&args.output, env);
    let mut sources = SummarySources::default();
    let manifest = ManifestSummary::load(&global.archive_dir, &mut sources)?;
    // The links file is optional here: status describes the archive. When present it must be
    // valid, and links it lists that were never archived are shown too.
    let listed = if global.links_path.exists() {
        links::load(&global.links_path)?.links
    } else {
        Vec::new()
    };
    let report = build(&manifest, &listed, &global.archive_name());
    let summary = summary_line(&report);
    emit(&output, global, "status", &summary, |color, out| {
        render(&report, output.format, color, out)
    })?;
    let exit = if report.summary.failed > 0 {
        Exit::Failures
    } else {
        Exit::Success
    };
    release_at_exit(report);
    release_at_exit(manifest);
    release_at_exit(sources);
    Ok(exit)
}

/// The status of every link in `manifest`, then of links in `listed` it lacks.
pub fn build<'a>(manifest: &'a ManifestSummary<'a>, listed: &'a [links::Link], archive: &str) -> StatusReport<'a> {
    let listed_ids: std::collections::HashSet<&str> = listed.iter().map(|l| l.id.as_str()).collect();
    let mut links: Vec<LinkStatus> = manifest
        .links
        .iter()
        .map(|(id, entry)| LinkStatus {
            id,
            url: entry.url.as_ref(),
            in_links_json: listed_ids.contains(id.as_str()),
            last_check: entry.last_check.as_ref(),
            snapshots: entry.snapshots.count,
            latest: entry.snapshots.latest.as_ref(),
            similarity_to_first: similarity_to_first(
                entry.snapshots.count,
                entry.snapshots.latest.as_ref().map(|s| &s.fields),
            ),
            public_copies: &entry.snapshots.public_copies,
        })
        .collect();
    for link in listed.iter().filter(|l| !manifest.links.contains_key(&l.id)) {
        links.push(LinkStatus {
            id: &link.id,
            url: &link.url,
            in_links_json: true,
            last_check: None,
            snapshots: 0,
            latest: None,
            similarity_to_first: None,
            public_copies: &[],
        });
    }
    let mut summary = StatusSummary {
        total: links.len(),
        ..StatusSummary::default()
    };
    for link in &links {
        summary.snapshots += link.snapshots;
        match link.last_check.map(|c| c.fields.outcome) {
            None => summary.never_checked += 1,
            Some(outcome) if outcome.is_failure() => summary.failed += 1,
            Some(_) => summary.ok += 1,
        }
    }
    StatusReport {
        tool: "linkkeep",
        version: crate::VERSION,
        command: "status",
        archive: archive.into(),
        updated_at: manifest.updated_at.as_deref(),
        summary,
        links,
    }
}

fn summary_line(report: &StatusReport) -> String {
    let s = &report.summary;
    format!(
        "{} links: {} ok, {} failed, {} never checked; {} snapshots",
        s.total, s.ok, s.failed, s.never_checked, s.snapshots
    )
}

/// Writes the report in `format` to `out`.
pub fn render(report: &StatusReport, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => {
            // serde_json writes token by token: buffer here, where the writer's type is known.
            let mut out = io::BufWriter::with_capacity(1 << 16, out);
            serde_json::to_writer_pretty(&mut out, report)?;
            out.write_all(b"\n")?;
            out.flush()
        }
        Format::Human => human(report, color, out),
        Format::Markdown => markdown(report, out),
        Format::Junit => junit(report, out),
    }
}

/// The columns every format shows for a link.
struct Row<'a> {
    last: String,
    when: &'a str,
    /// The drift from the cited version: `cited` when the latest capture is the first, else
    /// the share of its text the latest keeps, `-` when unknown.
    cited: String,
    sha: &'a str,
    title: &'a str,
}

fn row<'a>(link: &LinkStatus<'a>) -> Row<'a> {
    let last = link.last_check;
    let latest = link.latest.map(|s| &s.fields);
    let cited = match (link.snapshots, link.similarity_to_first) {
        (1, _) => "cited".into(),
        (2.., Some(similarity)) => crate::report::percent(similarity),
        _ => "-".into(),
    };
    Row {
        last: last.map_or("never".into(), |c| c.fields.outcome.to_string()),
        when: last.map_or("-", |c| c.fields.at.as_ref()),
        cited,
        sha: latest.map_or("-", |s| s.sha256.get(..12).unwrap_or(&s.sha256)),
        title: latest.and_then(|s| s.title.as_deref()).unwrap_or_default(),
    }
}

/// For JUnit: what a link's drift from the cited version says, when it has more than one
/// capture and the drift is known.
fn drift_note(link: &LinkStatus) -> Option<String> {
    let similarity = link.similarity_to_first.filter(|_| link.snapshots > 1)?;
    Some(if similarity >= 1.0 {
        "the latest capture has the text of the cited version".into()
    } else {
        format!(
            "the latest capture keeps {} of the text of the cited version",
            crate::report::percent(similarity)
        )
    })
}

/// A link's id as the table shows it: escaped ([`terminal_safe`]) and cut to 40 characters.
fn shown_id(id: &str) -> String {
    terminal_safe(id).chars().take(40).collect()
}

/// A title as the table shows it: its first 60 characters, escaped ([`terminal_safe`]): the
/// page's author wrote it.
fn shown_title(title: &str) -> String {
    terminal_safe(&title.chars().take(60).collect::<String>())
}

fn human(report: &StatusReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let id_width = report
        .links
        .iter()
        .map(|l| shown_id(l.id).chars().count())
        .max()
        .unwrap_or(0)
        .max(2);
    writeln!(
        out,
        "{:<14}  {:<20}  {:>5}  {:>8}  {:<12}  {:<id_width$}  TITLE",
        "LAST", "WHEN", "SNAPS", "AS CITED", "SHA256", "ID"
    )?;
    for link in &report.links {
        let r = row(link);
        let outcome = link.last_check.map(|c| c.fields.outcome);
        let failed = outcome.is_some_and(|o| o.is_failure());
        let last = format!("{:<14}", r.last);
        let last = match (color, failed, outcome) {
            (true, true, _) => format!("\x1b[31m{last}\x1b[0m"),
            (true, false, Some(Outcome::Ok)) => format!("\x1b[32m{last}\x1b[0m"),
            _ => last,
        };
        let id = shown_id(link.id);
        let title = shown_title(r.title);
        let line = format!(
            "{last}  {:<20}  {:>5}  {:>8}  {:<12}  {id:<id_width$}  {title}",
            terminal_safe(r.when),
            link.snapshots,
            r.cited,
            terminal_safe(r.sha)
        );
        writeln!(out, "{}", line.trim_end())?;
        let newest_copy = link.public_copies.iter().rev().find(|c| c.is_copy());
        if let Some(copy) = newest_copy.or(link.public_copies.last()) {
            writeln!(out, "{:16}{}", "", public_copy_line(copy))?;
        }
    }
    writeln!(out, "\n{}", summary_line(report))
}

/// A link's newest public copy (or, with none, its newest refusal) as a line under its row: the
/// archive's answer is remote text, so it is escaped.
fn public_copy_line(copy: &PublicCopy) -> String {
    let when = copy.timestamp.as_deref().unwrap_or("-");
    match (&copy.url, &copy.error) {
        (Some(url), None) => format!(
            "public copy: {} ({}, {})",
            terminal_safe(url),
            terminal_safe(&copy.archive),
            terminal_safe(when)
        ),
        (_, error) => format!(
            "public copy refused by {} at {}: {}",
            terminal_safe(&copy.archive),
            terminal_safe(when),
            terminal_safe(error.as_deref().unwrap_or("no copy"))
        ),
    }
}

fn markdown(report: &StatusReport, out: &mut dyn Write) -> io::Result<()> {
    use crate::report::markdown::cell;
    write!(out, "### linkkeep status: {}\n\n", summary_line(report))?;
    out.write_all(b"| Last | When | Snapshots | As cited | SHA-256 | Link | Title |\n|---|---|---|---|---|---|---|\n")?;
    for link in &report.links {
        let r = row(link);
        // The hash sits in a code span, where escapes do not work: only its hex digits (or
        // the `-` of no snapshot).
        let sha: String = r.sha.chars().filter(|c| c.is_ascii_hexdigit() || *c == '-').collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | `{sha}` | {} | {} |",
            r.last,
            cell(r.when),
            link.snapshots,
            r.cited,
            link_cell(link),
            cell(r.title)
        )?;
    }
    Ok(())
}

/// The Markdown cell naming a link, with its newest public copy beside it.
fn link_cell(link: &LinkStatus) -> String {
    use crate::report::markdown::link as markdown_link;
    let mut cell = markdown_link(link.id, link.url);
    if let Some(copy) = link.public_copies.iter().rev().find(|c| c.is_copy()) {
        let when = copy.timestamp.as_deref().and_then(|t| t.get(..10)).unwrap_or("copy");
        let text = format!("{} {when}", copy.archive);
        cell.push_str(" · ");
        cell.push_str(&markdown_link(&text, copy.url.as_deref().unwrap_or_default()));
    }
    cell
}

fn junit(report: &StatusReport, out: &mut dyn Write) -> io::Result<()> {
    use crate::markup::escape as xml;
    let s = &report.summary;
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    writeln!(
        out,
        "<testsuites name=\"linkkeep\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n  <testsuite name=\"linkkeep status\" tests=\"{0}\" failures=\"{1}\" skipped=\"{2}\">",
        s.total, s.failed, s.never_checked
    )?;
    for link in &report.links {
        write!(
            out,
            "    <testcase name=\"{}\" classname=\"linkkeep.status\"",
            xml(link.id)
        )?;
        let note = drift_note(link).map(|note| format!("      <system-out>{}</system-out>\n", xml(&note)));
        match link.last_check.map(|c| &c.fields) {
            None => out.write_all(b">\n      <skipped message=\"never archived\"/>\n    </testcase>\n")?,
            Some(c) if c.outcome.is_failure() => {
                let error = c.error.as_deref().unwrap_or_default();
                writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{}\">URL: {}\nchecked at {}</failure>\n{}    </testcase>",
                    xml(&format!("{}: {error}", c.outcome)),
                    c.outcome,
                    xml(link.url),
                    xml(&c.at),
                    note.unwrap_or_default()
                )?;
            }
            Some(_) => match note {
                Some(note) => write!(out, ">\n{note}    </testcase>\n")?,
                None => out.write_all(b"/>\n")?,
            },
        }
    }
    out.write_all(b"  </testsuite>\n</testsuites>\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SummarySources;

    /// A snapshot's JSON, with the text fields when `text` is given (similarity to the first).
    fn snapshot(sha: char, text: Option<Option<f64>>) -> serde_json::Value {
        let mut s = serde_json::json!({
            "sha256": sha.to_string().repeat(64), "size": 1, "content_type": "text/html",
            "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z",
            "http_status": 200, "final_url": "http://a.example/", "etag": null,
            "last_modified": null, "title": "A <title>", "run": "r"
        });
        if let Some(similarity_to_first) = text {
            s["text_sha256"] = "c".repeat(64).into();
            s["text_simhash"] = "0123456789abcdef".into();
            s["text_words"] = 12.into();
            s["cosmetic"] = false.into();
            if let Some(value) = similarity_to_first {
                s["similarity_to_first"] = value.into();
            }
        }
        s
    }

    /// Renders `format` for a manifest of a drifted link, a link with only its cited capture,
    /// and one whose snapshots have no text fields.
    fn rendered(format: Format) -> String {
        let check = serde_json::json!({"at": "2026-01-02T00:00:00Z", "outcome": "ok", "http_status": 200,
            "final_url": "http://a.example/", "error": null, "run": "r"});
        let manifest = serde_json::json!({"schema_version": 1, "links": {
            "drifted": {"url": "http://a.example/d", "last_check": check,
                        "snapshots": [snapshot('a', Some(None)), snapshot('b', Some(Some(0.62)))]},
            "cited": {"url": "http://a.example/c", "last_check": check, "snapshots": [snapshot('a', Some(None))]},
            "old": {"url": "http://a.example/o", "last_check": check, "snapshots": [snapshot('a', None), snapshot('b', None)]}
        }});
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
        let mut sources = SummarySources::default();
        let summary = ManifestSummary::load(dir.path(), &mut sources).unwrap();
        let report = build(&summary, &[], "archive");
        let drift: Vec<Option<f64>> = report.links.iter().map(|l| l.similarity_to_first).collect();
        assert_eq!(drift, [Some(0.62), Some(1.0), None]);
        let mut out = Vec::new();
        render(&report, format, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn markdown_has_a_column_of_drift_from_the_cited_version() {
        let text = rendered(Format::Markdown);
        assert!(text.contains("| Snapshots | As cited |"), "{text}");
        let row = |id: &str| text.lines().find(|l| l.contains(&format!("[{id}]"))).unwrap();
        assert!(row("drifted").contains("| 2 | 62% |"), "{text}");
        assert!(row("cited").contains("| 1 | cited |"), "{text}");
        assert!(row("old").contains("| 2 | - |"), "{text}");
    }

    #[test]
    fn junit_tells_the_drift_of_links_captured_more_than_once() {
        let text = rendered(Format::Junit);
        assert!(
            text.contains(
                "<testcase name=\"drifted\" classname=\"linkkeep.status\">\n      \
                 <system-out>the latest capture keeps 62% of the text of the cited version</system-out>\n    </testcase>"
            ),
            "{text}"
        );
        assert!(
            text.contains("<testcase name=\"cited\" classname=\"linkkeep.status\"/>"),
            "{text}"
        );
        assert!(
            text.contains("<testcase name=\"old\" classname=\"linkkeep.status\"/>"),
            "{text}"
        );
    }

    /// Renders `format` for one link whose id, URL and title were written by an attacker.
    fn rendered_hostile(format: Format) -> String {
        let mut latest = snapshot('a', None);
        latest["title"] = "\u{1b}]0;pwned\u{7}\u{1b}[31mred\u{202e}txt.exe | x](http://evil.example) <script>alert(1)</script>\nrow \u{9b}2J".into();
        let check = serde_json::json!({"at": "2026-01-02T00:00:00Z", "outcome": "ok", "http_status": 200,
            "final_url": "http://a.example/", "error": null, "run": "r"});
        let manifest = serde_json::json!({"schema_version": 1, "links": {
            "id\u{1b}[2J|](x)": {"url": "http://a.example/a|b](c)<script>\u{202e}", "last_check": check, "snapshots": [latest]}
        }});
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
        let mut sources = SummarySources::default();
        let summary = ManifestSummary::load(dir.path(), &mut sources).unwrap();
        let report = build(&summary, &[], "archive");
        let mut out = Vec::new();
        render(&report, format, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_table_shows_hostile_titles_escaped() {
        let text = rendered_hostile(Format::Human);
        assert!(
            text.chars()
                .all(|c| c == '\n' || !crate::report::is_unsafe_on_terminal(c)),
            "{text:?}"
        );
        assert!(
            text.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[31mred\\u{202e}txt.exe"),
            "{text}"
        );
        assert!(text.contains("id\\u{1b}[2J|](x)"), "{text}");
    }

    #[test]
    fn markdown_keeps_its_shape_whatever_the_title() {
        let text = rendered_hostile(Format::Markdown);
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 3, "{text}");
        for row in &rows {
            assert_eq!(row.replace("\\|", "").matches('|').count(), 8, "{row}");
        }
        assert!(!text.contains("<script>"), "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text}");
        assert_eq!(
            rows[2].matches("](").count(),
            1,
            "only the link column links: {}",
            rows[2]
        );
    }

    #[test]
    fn json_keeps_the_title_exact() {
        let text = rendered_hostile(Format::Json);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["links"][0]["latest"]["title"],
            "\u{1b}]0;pwned\u{7}\u{1b}[31mred\u{202e}txt.exe | x](http://evil.example) <script>alert(1)</script>\nrow \u{9b}2J"
        );
    }

    #[test]
    fn the_table_has_an_as_cited_column() {
        let text = rendered(Format::Human);
        let lines: Vec<&str> = text.lines().collect();
        let column = lines[0].find("AS CITED").unwrap() + "AS CITED".len();
        let row = |id: &str| *lines.iter().find(|l| l.contains(id)).unwrap();
        assert_eq!(row("drifted").find("62%").unwrap() + 3, column, "{text}");
        assert_eq!(row("cited").find("cited").unwrap() + 5, column, "{text}");
        assert_eq!(row("old").find(" - ").unwrap() + 2, column, "{text}");
    }
}
