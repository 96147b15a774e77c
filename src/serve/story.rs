//! Each citation's story (issue #20): the state of every link for the index (broken, soft-404,
//! changed since cited, ok), filtered and searched without a database, and the timeline of a
//! link's history (`super::history`) for its own page: one mark per capture or failed check.

use super::catalog::Catalog;
use super::target::capture_timestamp;
use crate::manifest::{LinkEntry, Snapshot};
use crate::outcome::Outcome;

/// Rows on one page of the index.
pub const PAGE_SIZE: usize = 50;

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

/// The timeline as an SVG picture: a mark per event, placed left to right in time order and
/// coloured by kind, each with a `<title>` (its date, kind and detail), the first and last
/// dates, and a legend.
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
    // An archive run daily for years has hundreds of marks: they shrink to fit, and the routine
    // ones (unchanged) are drawn first, so that a change or a failure among them stays in sight.
    let radius = (span as f64 / events.len().max(1) as f64 / 2.0).clamp(2.0, 7.0);
    let routine = |event: &&Event| event.kind == Kind::Unchanged;
    let placed = events.iter().enumerate().map(|(n, event)| {
        let x = if events.len() == 1 {
            WIDTH / 2
        } else {
            LEFT + n * span / (events.len() - 1)
        };
        (x, event)
    });
    let (first, then): (Vec<_>, Vec<_>) = placed.partition(|(_, event)| routine(event));
    for (x, event) in first.into_iter().chain(then) {
        let detail = if event.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", event.detail)
        };
        let _ = writeln!(
            svg,
            "<circle class=\"mark {kind}\" cx=\"{x}\" cy=\"30\" r=\"{radius:.1}\" fill=\"{colour}\">\
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

    /// The marks of an SVG timeline, left to right: (x, kind, radius).
    fn marks(svg: &str) -> Vec<(usize, String, f64)> {
        fn attribute<'a>(mark: &'a str, name: &str) -> &'a str {
            mark.split(&format!(" {name}=\""))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        }
        let mut marks: Vec<_> = svg
            .match_indices("<circle class=\"mark ")
            .map(|(at, open)| {
                let mark = svg[at..].split('>').next().unwrap();
                let kind = mark[open.len()..].split('"').next().unwrap().to_owned();
                (
                    attribute(mark, "cx").parse().unwrap(),
                    kind,
                    attribute(mark, "r").parse().unwrap(),
                )
            })
            .collect();
        marks.sort_by_key(|(x, _, _)| *x);
        marks
    }

    #[test]
    fn a_change_among_a_thousand_checks_is_drawn_last_and_every_check_has_its_mark() {
        let events: Vec<Event> = (0..1000)
            .map(|n| Event {
                at: format!("2026-01-01T00:00:{:02}Z", n % 60),
                kind: match n {
                    0 => Kind::New,
                    500 => Kind::Changed,
                    900 => Kind::Failure,
                    _ => Kind::Unchanged,
                },
                detail: String::new(),
            })
            .collect();
        let svg = timeline_svg(&events);
        let marks = marks(&svg);
        assert_eq!(marks.len(), 1000);
        assert_eq!(marks[500].1, "changed");
        assert_eq!(marks[900].1, "failure");
        assert!(marks.iter().all(|(_, _, r)| *r == 2.0), "shrunk to fit");
        // In document order (the order drawn), the unchanged marks come first.
        let drawn: Vec<&str> = svg
            .match_indices("<circle class=\"mark ")
            .map(|(at, _)| svg[at + 20..].split('"').next().unwrap())
            .collect();
        assert_eq!(&drawn[997..], ["new", "changed", "failure"]);
        assert!(drawn[..997].iter().all(|kind| *kind == "unchanged"));
        // A few marks keep their full size.
        let few = timeline_svg(&events[..5]);
        assert!(few.contains(" r=\"7.0\""), "{few}");
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
        let marks: Vec<String> = marks(&svg).into_iter().map(|(_, kind, _)| kind).collect();
        assert_eq!(marks, ["new", "unchanged", "cosmetic", "changed", "failure"]);
        assert!(svg.contains("&lt;b&gt;&amp;"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
    }
}
