//! `linkkeep status`: every archived link at a glance: last outcome, when, snapshots, latest
//! hash and title. Reads the manifest without taking the lock: it is replaced atomically, so
//! a status during a run sees the last checkpoint.
//!
//! # Wire format (`--format json`)
//! ```json
//! {"tool": "linkkeep", "version": "0.1.0", "command": "status", "archive": "/abs/archive",
//!  "updated_at": "…", "summary": {"total": 7, "ok": 5, "failed": 1, "never_checked": 1, "snapshots": 9},
//!  "links": [{"id": "…", "url": "…", "in_links_json": true, "last_check": {…} | null,
//!             "snapshots": 2, "latest": {…snapshot…} | null}]}
//! ```

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{Exit, emit};
use crate::cli::StatusArgs;
use crate::config::{Environment, Format, GlobalConfig, OutputConfig};
use crate::links;
use crate::manifest::{LastCheck, Manifest, Snapshot};
use crate::outcome::Outcome;

/// The status report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Always `linkkeep`.
    pub tool: String,
    /// The linkkeep version that ran.
    pub version: String,
    /// Always `status`.
    pub command: String,
    /// The archive directory.
    pub archive: String,
    /// When the manifest was last written.
    pub updated_at: Option<String>,
    /// Counts over `links`.
    pub summary: StatusSummary,
    /// The manifest's links in order, then links of links.json never archived.
    pub links: Vec<LinkStatus>,
}

/// Counts over a status report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// The link's id.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// Whether the current links.json lists it.
    pub in_links_json: bool,
    /// Its last check, if any.
    pub last_check: Option<LastCheck>,
    /// How many snapshots it has.
    pub snapshots: usize,
    /// The latest snapshot, if any.
    pub latest: Option<Snapshot>,
}

/// Runs `linkkeep status`.
pub fn run(global: &GlobalConfig, args: &StatusArgs, env: &Environment) -> anyhow::Result<Exit> {
    let output = OutputConfig::new(&args.output, env);
    let manifest = Manifest::load(&global.archive_dir)?;
    // The links file is optional here: status describes the archive. When present it must be
    // valid, and links it lists that were never archived are shown too.
    let listed = if global.links_path.exists() {
        links::load(&global.links_path)?.links
    } else {
        Vec::new()
    };
    let report = build(&manifest, &listed, &global.archive_dir.display().to_string());
    let summary = summary_line(&report);
    emit(&output, global, "status", &summary, |color| {
        render(&report, output.format, color)
    })?;
    Ok(if report.summary.failed > 0 {
        Exit::Failures
    } else {
        Exit::Success
    })
}

/// The status of every link in `manifest`, then of links in `listed` it lacks.
pub fn build(manifest: &Manifest, listed: &[links::Link], archive: &str) -> StatusReport {
    let listed_ids: std::collections::HashSet<&str> = listed.iter().map(|l| l.id.as_str()).collect();
    let mut links: Vec<LinkStatus> = manifest
        .links
        .iter()
        .map(|(id, entry)| LinkStatus {
            id: id.clone(),
            url: entry.url.clone(),
            in_links_json: listed_ids.contains(id.as_str()),
            last_check: entry.last_check.clone(),
            snapshots: entry.snapshots.len(),
            latest: entry.snapshots.last().cloned(),
        })
        .collect();
    for link in listed.iter().filter(|l| !manifest.links.contains_key(&l.id)) {
        links.push(LinkStatus {
            id: link.id.clone(),
            url: link.url.clone(),
            in_links_json: true,
            last_check: None,
            snapshots: 0,
            latest: None,
        });
    }
    let mut summary = StatusSummary {
        total: links.len(),
        ..StatusSummary::default()
    };
    for link in &links {
        summary.snapshots += link.snapshots;
        match link.last_check.as_ref().map(|c| c.outcome) {
            None => summary.never_checked += 1,
            Some(outcome) if outcome.is_failure() => summary.failed += 1,
            Some(_) => summary.ok += 1,
        }
    }
    StatusReport {
        tool: "linkkeep".into(),
        version: crate::VERSION.into(),
        command: "status".into(),
        archive: archive.into(),
        updated_at: manifest.updated_at.clone(),
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

/// The report in `format`.
pub fn render(report: &StatusReport, format: Format, color: bool) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(report).expect("reports always serialize") + "\n",
        Format::Human => human(report, color),
        Format::Markdown => markdown(report),
        Format::Junit => junit(report),
    }
}

/// The columns every format shows for a link.
struct Row {
    last: String,
    when: String,
    snapshots: String,
    sha: String,
    title: String,
}

fn row(link: &LinkStatus) -> Row {
    let last = link.last_check.as_ref();
    Row {
        last: last.map_or("never".into(), |c| c.outcome.to_string()),
        when: last.map_or("-".into(), |c| c.at.clone()),
        snapshots: link.snapshots.to_string(),
        sha: link
            .latest
            .as_ref()
            .map_or("-".into(), |s| s.sha256[..12.min(s.sha256.len())].to_owned()),
        title: link.latest.as_ref().and_then(|s| s.title.clone()).unwrap_or_default(),
    }
}

fn human(report: &StatusReport, color: bool) -> String {
    let id_width = report
        .links
        .iter()
        .map(|l| l.id.chars().count().min(40))
        .max()
        .unwrap_or(0)
        .max(2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14}  {:<20}  {:>5}  {:<12}  {:<id_width$}  TITLE",
        "LAST", "WHEN", "SNAPS", "SHA256", "ID"
    );
    for link in &report.links {
        let r = row(link);
        let failed = link.last_check.as_ref().is_some_and(|c| c.outcome.is_failure());
        let last = format!("{:<14}", r.last);
        let last = match (color, failed, link.last_check.as_ref().map(|c| c.outcome)) {
            (true, true, _) => format!("\x1b[31m{last}\x1b[0m"),
            (true, false, Some(Outcome::Ok)) => format!("\x1b[32m{last}\x1b[0m"),
            _ => last,
        };
        let id: String = link.id.chars().take(40).collect();
        let title: String = r.title.chars().take(60).collect();
        let line = format!(
            "{last}  {:<20}  {:>5}  {:<12}  {id:<id_width$}  {title}",
            r.when, r.snapshots, r.sha
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}

fn markdown(report: &StatusReport) -> String {
    let cell = |t: &str| t.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut out = format!("### linkkeep status: {}\n\n", summary_line(report));
    out.push_str("| Last | When | Snapshots | SHA-256 | Link | Title |\n|---|---|---|---|---|---|\n");
    for link in &report.links {
        let r = row(link);
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | [{}](<{}>) | {} |",
            r.last,
            r.when,
            r.snapshots,
            r.sha,
            cell(&link.id),
            link.url.replace('>', "%3E"),
            cell(&r.title)
        );
    }
    out
}

fn junit(report: &StatusReport) -> String {
    use crate::markup::escape as xml;
    let s = &report.summary;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"linkkeep\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n  <testsuite name=\"linkkeep status\" tests=\"{0}\" failures=\"{1}\" skipped=\"{2}\">",
        s.total, s.failed, s.never_checked
    );
    for link in &report.links {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"linkkeep.status\"",
            xml(&link.id)
        );
        match &link.last_check {
            None => out.push_str(">\n      <skipped message=\"never archived\"/>\n    </testcase>\n"),
            Some(c) if c.outcome.is_failure() => {
                let error = c.error.as_deref().unwrap_or_default();
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{}\">URL: {}\nchecked at {}</failure>\n    </testcase>",
                    xml(&format!("{}: {error}", c.outcome)),
                    c.outcome,
                    xml(&link.url),
                    xml(&c.at)
                );
            }
            Some(_) => out.push_str("/>\n"),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
