//! Each citation's story (issue #20): the state of every link for the index (broken, soft-404,
//! changed since cited, ok), filtered and searched without a database, and a link's history
//! for its own page: one event per capture or failed check, from the run reports and, where
//! those are gone, from the manifest.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::catalog::Catalog;
use super::target::capture_timestamp;
use crate::manifest::{LinkEntry, Snapshot};
use crate::outcome::Outcome;

/// Rows on one page of the index.
pub const PAGE_SIZE: usize = 50;
/// Run reports read for a link's history, the latest ones: a link page of an archive run daily
/// for years still answers quickly. Captures of older runs come from the manifest.
const MAX_REPORTS: usize = 1000;

/// What the index says of a link at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The last check failed (other than as a soft 404).
    Broken,
    /// The last check found the page gone though its site answered 200.
    Soft404,
    /// The latest capture's text (or, without text, its bytes) differs from the cited one's.
    Changed,
    /// Answers, and still says what was cited.
    Ok,
    /// Never checked.
    Unchecked,
}

impl State {
    /// Every state, in the order the index offers them as filters.
    pub const ALL: [State; 5] = [
        State::Broken,
        State::Soft404,
        State::Changed,
        State::Ok,
        State::Unchecked,
    ];

    /// The query parameter's value.
    pub fn key(self) -> &'static str {
        match self {
            State::Broken => "broken",
            State::Soft404 => "soft-404",
            State::Changed => "changed",
            State::Ok => "ok",
            State::Unchecked => "unchecked",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            State::Broken => "broken",
            State::Soft404 => "soft 404",
            State::Changed => "changed since cited",
            State::Ok => "ok",
            State::Unchecked => "not checked",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// A link's state from its manifest entry.
    pub fn of(entry: &LinkEntry) -> Self {
        match &entry.last_check {
            None => State::Unchecked,
            Some(check) if check.outcome == Outcome::Soft404 => State::Soft404,
            Some(check) if check.outcome.is_failure() => State::Broken,
            Some(_) if drifted(&entry.snapshots) => State::Changed,
            Some(_) => State::Ok,
        }
    }
}

/// Whether the latest capture no longer says what the first (the cited one) said: its text
/// differs beyond dates and numbers, or, for captures without text, its bytes differ.
pub fn drifted(snapshots: &[Snapshot]) -> bool {
    let (Some(first), Some(latest)) = (snapshots.first(), snapshots.last()) else {
        return false;
    };
    if snapshots.len() < 2 {
        return false;
    }
    match latest.text.as_ref().and_then(|t| t.similarity_to_first) {
        Some(similarity) => {
            let cosmetic_since = snapshots[1..]
                .iter()
                .all(|s| s.text.as_ref().is_some_and(|t| t.cosmetic));
            similarity < 1.0 && !cosmetic_since
        }
        None => latest.sha256 != first.sha256,
    }
}

/// One link as the index shows it.
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub url: String,
    /// links.json's publisher, else the URL's host.
    pub publisher: String,
    pub state: State,
    /// When it was last checked, its outcome and the error then.
    pub checked: Option<String>,
    pub outcome: Option<Outcome>,
    pub error: Option<String>,
    pub captures: usize,
    /// The latest capture's timestamp, for its replay link.
    pub latest: Option<String>,
    /// Title, URL, id and publisher in lower case: what a search looks in.
    search: String,
}

/// Every link of the archive as the index shows it, in manifest order, with counts by state.
#[derive(Debug, Default)]
pub struct Story {
    rows: Vec<Row>,
    counts: std::collections::HashMap<State, usize>,
}

/// One page of the index: its rows, and how many match in all.
pub struct Found<'a> {
    pub rows: Vec<&'a Row>,
    pub matching: usize,
}

impl Story {
    /// Reads every link of `catalog` once.
    pub fn new(catalog: &Catalog) -> Self {
        let mut counts = std::collections::HashMap::new();
        let rows: Vec<Row> = catalog
            .manifest
            .links
            .iter()
            .map(|(id, entry)| {
                let meta = catalog.meta(id);
                let latest = entry.snapshots.last();
                // The capture's own title first (what the page says it is), links.json's for a
                // capture without one; a search looks in both.
                let cited_title = meta.title.unwrap_or_default();
                let title = latest.and_then(|s| s.title.clone()).unwrap_or_else(|| {
                    if cited_title.is_empty() {
                        id.clone()
                    } else {
                        cited_title.clone()
                    }
                });
                let publisher = meta.publisher.unwrap_or_else(|| host_of(&entry.url));
                let state = State::of(entry);
                *counts.entry(state).or_default() += 1;
                let search = format!("{title}\n{cited_title}\n{}\n{id}\n{publisher}", entry.url).to_lowercase();
                Row {
                    id: id.clone(),
                    title,
                    url: entry.url.clone(),
                    publisher,
                    state,
                    checked: entry.last_check.as_ref().map(|c| c.at.clone()),
                    outcome: entry.last_check.as_ref().map(|c| c.outcome),
                    error: entry.last_check.as_ref().and_then(|c| c.error.clone()),
                    captures: entry.snapshots.len(),
                    latest: latest.and_then(capture_timestamp),
                    search,
                }
            })
            .collect();
        Self { rows, counts }
    }

    /// How many links are in `state`.
    pub fn count(&self, state: State) -> usize {
        self.counts.get(&state).copied().unwrap_or(0)
    }

    /// Every link.
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    /// Page `page` (from 1) of the links in `state` (any when `None`) whose title, URL, id or
    /// publisher contains `query` (any case).
    pub fn find(&self, state: Option<State>, query: &str, page: usize) -> Found<'_> {
        let query = query.trim().to_lowercase();
        let skip = page.saturating_sub(1).saturating_mul(PAGE_SIZE);
        let mut matching = 0;
        let mut rows = Vec::with_capacity(PAGE_SIZE);
        for row in &self.rows {
            if state.is_some_and(|s| s != row.state) || !row.search.contains(&query) {
                continue;
            }
            if matching >= skip && rows.len() < PAGE_SIZE {
                rows.push(row);
            }
            matching += 1;
        }
        Found { rows, matching }
    }
}

/// A URL's host, for a link links.json gives no publisher.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What happened to a link in one run, or at one capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    New,
    Unchanged,
    Cosmetic,
    Changed,
    Failure,
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Unchanged => "unchanged",
            Kind::Cosmetic => "cosmetic",
            Kind::Changed => "changed",
            Kind::Failure => "failure",
        }
    }

    /// Its colour on the timeline.
    fn colour(self) -> &'static str {
        match self {
            Kind::New => "#1f6fd1",
            Kind::Unchanged => "#9aa0a6",
            Kind::Cosmetic => "#52a447",
            Kind::Changed => "#e08a00",
            Kind::Failure => "#c62828",
        }
    }

    const ALL: [Kind; 5] = [Kind::New, Kind::Unchanged, Kind::Cosmetic, Kind::Changed, Kind::Failure];
}

/// One mark of a link's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// RFC 3339.
    pub at: String,
    pub kind: Kind,
    /// The outcome and error of a failure, the similarity of a change.
    pub detail: String,
}

/// A run report, as much of it as a timeline needs.
#[derive(Deserialize)]
struct RunReport {
    run: String,
    finished_at: String,
    #[serde(default)]
    results: Vec<RunResult>,
}

#[derive(Deserialize)]
struct RunResult {
    id: String,
    outcome: Outcome,
    #[serde(default)]
    change: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    similarity: Option<f64>,
}

/// Link `id`'s history, oldest first: an event per run that captured it or failed to (from
/// `runs/*.json`, the latest [`MAX_REPORTS`]), plus the captures and the last failed check of
/// runs whose reports are gone (from the manifest). Blocking.
pub fn history(archive: &Path, id: &str, entry: &LinkEntry) -> Vec<Event> {
    let mut events = Vec::new();
    let mut covered = HashSet::new();
    let runs = archive.join(crate::commands::archive::RUNS_DIR);
    let mut files: Vec<_> = std::fs::read_dir(&runs)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    // Run ids start with their UTC start time: names sort as the runs ran.
    files.sort();
    let skip = files.len().saturating_sub(MAX_REPORTS);
    for file in &files[skip..] {
        let Some(report) = std::fs::read(file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<RunReport>(&bytes).ok())
        else {
            continue;
        };
        covered.insert(report.run.clone());
        let Some(result) = report.results.iter().find(|r| r.id == id) else {
            continue;
        };
        let (kind, detail) = if result.outcome.is_failure() {
            let error = result.error.as_deref().unwrap_or_default();
            (Kind::Failure, format!("{}: {error}", result.outcome.as_str()))
        } else {
            match result.change.as_deref() {
                Some("new") => (Kind::New, String::new()),
                Some("unchanged") => (Kind::Unchanged, String::new()),
                Some("cosmetic") => (Kind::Cosmetic, "dates and numbers only".to_owned()),
                Some("changed") => (
                    Kind::Changed,
                    result
                        .similarity
                        .map(|s| format!("{} of the text the same", crate::report::percent(s)))
                        .unwrap_or_default(),
                ),
                _ => continue,
            }
        };
        events.push(Event {
            at: report.finished_at,
            kind,
            detail,
        });
    }
    // Runs whose reports are gone still left their captures, and the last check, behind.
    for (n, snapshot) in entry.snapshots.iter().enumerate() {
        if covered.contains(&snapshot.run) {
            continue;
        }
        let kind = match (n, snapshot.text.as_ref().is_some_and(|t| t.cosmetic)) {
            (0, _) => Kind::New,
            (_, true) => Kind::Cosmetic,
            (_, false) => Kind::Changed,
        };
        events.push(Event {
            at: snapshot.first_seen.clone(),
            kind,
            detail: "from the manifest (no run report)".to_owned(),
        });
    }
    if let Some(check) = entry.last_check.as_ref()
        && !covered.contains(&check.run)
        && check.outcome.is_failure()
    {
        let error = check.error.as_deref().unwrap_or_default();
        events.push(Event {
            at: check.at.clone(),
            kind: Kind::Failure,
            detail: format!("{}: {error}", check.outcome.as_str()),
        });
    }
    events.sort_by(|a, b| a.at.cmp(&b.at));
    events
}

/// The timeline as an SVG picture: a mark per event in time order, coloured by kind, each with
/// a `<title>` (its date, kind and detail), the first and last dates, and a legend.
pub fn timeline_svg(events: &[Event]) -> String {
    use crate::markup::escape;
    use std::fmt::Write;
    const WIDTH: usize = 720;
    const LEFT: usize = 20;
    let span = WIDTH - 2 * LEFT;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{WIDTH}\" height=\"110\" \
         viewBox=\"0 0 {WIDTH} 110\" role=\"img\" aria-label=\"captures and checks, oldest first\">\n\
         <line x1=\"{LEFT}\" y1=\"30\" x2=\"{}\" y2=\"30\" stroke=\"#ccc\" stroke-width=\"2\"/>\n",
        WIDTH - LEFT
    );
    // Evenly spaced in time order: runs an hour apart and runs a year apart are both legible.
    for (n, event) in events.iter().enumerate() {
        let x = if events.len() == 1 {
            WIDTH / 2
        } else {
            LEFT + n * span / (events.len() - 1)
        };
        let detail = if event.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", event.detail)
        };
        let _ = writeln!(
            svg,
            "<circle class=\"mark {kind}\" cx=\"{x}\" cy=\"30\" r=\"7\" fill=\"{colour}\">\
             <title>{at} {kind}{detail}</title></circle>",
            kind = event.kind.key(),
            colour = event.kind.colour(),
            at = escape(&event.at),
            detail = escape(&detail),
        );
    }
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        let date = |at: &str| escape(at.get(..10).unwrap_or(at));
        let _ = writeln!(
            svg,
            "<text x=\"{LEFT}\" y=\"58\" font-size=\"12\" fill=\"#555\">{}</text>\
             <text x=\"{}\" y=\"58\" font-size=\"12\" fill=\"#555\" text-anchor=\"end\">{}</text>",
            date(&first.at),
            WIDTH - LEFT,
            date(&last.at)
        );
    }
    for (n, kind) in Kind::ALL.into_iter().enumerate() {
        let x = LEFT + n * 130;
        let _ = writeln!(
            svg,
            "<g class=\"legend\"><rect x=\"{x}\" y=\"82\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"93\" font-size=\"12\" fill=\"#333\">{}</text></g>",
            kind.colour(),
            x + 16,
            kind.key()
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(sha: char, similarity_to_first: Option<f64>, cosmetic: bool) -> Snapshot {
        let mut snapshot: Snapshot = serde_json::from_value(serde_json::json!({
            "sha256": sha.to_string().repeat(64), "size": 1, "content_type": "text/html",
            "first_seen": "2020-01-01T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z",
            "http_status": 200, "final_url": "http://example.org/", "etag": null,
            "last_modified": null, "title": null, "run": "r"}))
        .unwrap();
        snapshot.text = Some(crate::manifest::SnapshotText {
            cosmetic,
            similarity_to_first,
            ..crate::manifest::SnapshotText::new(&crate::text::Fingerprint::of("some text"))
        });
        snapshot
    }

    #[test]
    fn changed_since_cited_means_the_text_a_reader_sees() {
        let first = snapshot('a', None, false);
        assert!(!drifted(std::slice::from_ref(&first)));
        assert!(drifted(&[first.clone(), snapshot('b', Some(0.6), false)]));
        assert!(!drifted(&[first.clone(), snapshot('b', Some(0.97), true)]), "cosmetic");
        assert!(!drifted(&[first.clone(), snapshot('b', Some(1.0), false)]));
        // Without text: the bytes.
        let mut bytes = snapshot('b', None, false);
        bytes.text = None;
        assert!(drifted(&[first.clone(), bytes.clone()]));
        bytes.sha256 = first.sha256.clone();
        assert!(!drifted(&[first, bytes]));
    }

    #[test]
    fn the_timeline_has_a_mark_per_event_of_its_kind_and_escapes_details() {
        let events: Vec<Event> = Kind::ALL
            .into_iter()
            .enumerate()
            .map(|(n, kind)| Event {
                at: format!("2026-0{}-01T00:00:00Z", n + 1),
                kind,
                detail: "<b>&".to_owned(),
            })
            .collect();
        let svg = timeline_svg(&events);
        let marks: Vec<&str> = svg
            .match_indices("class=\"mark ")
            .map(|(at, _)| svg[at + 12..].split('"').next().unwrap())
            .collect();
        assert_eq!(marks, ["new", "unchanged", "cosmetic", "changed", "failure"]);
        assert!(svg.contains("&lt;b&gt;&amp;"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
    }
}
