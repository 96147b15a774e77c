//! Run reports: the JSON wire format shared by every command, and its renderings.
//!
//! # Wire format (`--format json`, and `archive/runs/<run-id>.json`)
//! ```json
//! {"tool": "linkkeep", "version": "0.1.0", "command": "check", "run": "<run-id>",
//!  "started_at": "…", "finished_at": "…",
//!  "summary": {"total": 7, "ok": 5, "failed": 2, "excluded": 0, "new": 0, "changed": 0, "unchanged": 0},
//!  "results": [ … one [`LinkResult`] per link, in links.json order … ]}
//! ```
//! A run with `--shard K/N` adds `"shard": "K/N"` after `run`; its summary and results then
//! hold the shard's links alone.
//! Field by field: see [`Report`], [`Summary`] and [`LinkResult`].

mod human;
mod junit;
pub mod markdown;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Format;
use crate::outcome::{Change, LinkResult, Outcome};

/// One run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always `linkkeep`.
    pub tool: String,
    /// The linkkeep version that ran.
    pub version: String,
    /// The subcommand: `check`, `archive`, ….
    pub command: String,
    /// The run id: UTC start time `YYYYMMDDTHHMMSSZ` and a short random suffix.
    pub run: String,
    /// With `--shard K/N`: the shard that ran, `"K/N"`; `summary` and `results` then count
    /// and list the links of that shard alone. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::Shard>,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC.
    pub finished_at: String,
    /// How long the run took, in milliseconds: `started_at` and `finished_at` are to the
    /// second, too coarse for a run of under a few seconds (issue #20). Absent in reports
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// Counts over `results`.
    pub summary: Summary,
    /// One result per link, in links.json order.
    pub results: Vec<LinkResult>,
    /// Problems that fail no link, e.g. objects no snapshot references (`verify`), or a damaged
    /// object a fresh capture replaced (`archive`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Counts over a report's results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Every link in links.json.
    pub total: usize,
    /// Links whose outcome is `ok`.
    pub ok: usize,
    /// Links that failed (any outcome but `ok` and `excluded`).
    pub failed: usize,
    /// Links skipped by `--include`/`--exclude`.
    pub excluded: usize,
    /// First captures.
    pub new: usize,
    /// Captures that differ from the latest snapshot.
    pub changed: usize,
    /// Captures identical to the latest snapshot (or a 304).
    pub unchanged: usize,
    /// Captures whose bytes differ from the latest snapshot but whose text does not.
    #[serde(default)]
    pub cosmetic: usize,
}

impl Summary {
    /// Counts `results`.
    pub fn of(results: &[LinkResult]) -> Self {
        let mut s = Self {
            total: results.len(),
            ..Self::default()
        };
        for r in results {
            match r.outcome {
                Outcome::Ok => s.ok += 1,
                Outcome::Excluded => s.excluded += 1,
                _ => s.failed += 1,
            }
            match r.change {
                Some(Change::New) => s.new += 1,
                Some(Change::Changed) => s.changed += 1,
                Some(Change::Unchanged) => s.unchanged += 1,
                Some(Change::Cosmetic) => s.cosmetic += 1,
                None => {}
            }
        }
        s
    }
}

/// RFC 3339 UTC with whole seconds, as every timestamp linkkeep writes.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A new run id: `YYYYMMDDTHHMMSSZ-xxxx`, sortable by time, unique in practice.
pub fn new_run_id(started_at: DateTime<Utc>) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let suffix: String = (0..4)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect();
    format!("{}-{suffix}", started_at.format("%Y%m%dT%H%M%SZ"))
}

impl Report {
    /// A report for `command`, with its summary counted from `results`.
    pub fn new(
        command: &str,
        run: String,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        results: Vec<LinkResult>,
    ) -> Self {
        Self {
            tool: "linkkeep".into(),
            version: crate::VERSION.into(),
            command: command.into(),
            run,
            shard: None,
            started_at: timestamp(started_at),
            finished_at: timestamp(finished_at),
            elapsed_ms: u64::try_from((finished_at - started_at).num_milliseconds()).ok(),
            summary: Summary::of(&results),
            results,
            warnings: Vec::new(),
        }
    }

    /// Whether the run fails (exit code 1): a link failed.
    pub fn has_failures(&self) -> bool {
        self.summary.failed > 0
    }

    /// Seconds between start and finish, for summaries.
    pub fn duration_secs(&self) -> f64 {
        if let Some(ms) = self.elapsed_ms {
            return ms as f64 / 1000.0;
        }
        let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok();
        match (parse(&self.started_at), parse(&self.finished_at)) {
            (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// How long the run took, for people: to the hundredth of a second under ten seconds.
    pub fn duration_text(&self) -> String {
        match self.duration_secs() {
            secs if secs < 10.0 => format!("{secs:.2} s"),
            secs => format!("{secs:.1} s"),
        }
    }

    /// The one-line summary: `7 links: 5 ok, 2 failed, 0 excluded` (`7 links of shard 1/4: …`
    /// for a sharded run).
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let shard = self.shard.map(|shard| format!(" of shard {shard}")).unwrap_or_default();
        let mut line = format!(
            "{} {}{shard}: {} ok, {} failed, {} excluded",
            s.total,
            if s.total == 1 { "link" } else { "links" },
            s.ok,
            s.failed,
            s.excluded
        );
        if s.new + s.changed + s.unchanged + s.cosmetic > 0 {
            line.push_str(&format!("; {} new, {} changed, ", s.new, s.changed));
            if s.cosmetic > 0 {
                line.push_str(&format!("{} cosmetic, ", s.cosmetic));
            }
            line.push_str(&format!("{} unchanged", s.unchanged));
        }
        line
    }

    /// The report in `format`. `color` applies to the human format only.
    pub fn render(&self, format: Format, color: bool) -> String {
        match format {
            Format::Human => human::render(self, color),
            Format::Json => {
                let mut json = serde_json::to_string_pretty(self).expect("reports always serialize");
                json.push('\n');
                json
            }
            Format::Markdown => markdown::render(self),
            Format::Junit => junit::render(self),
        }
    }
}

/// A similarity (0–1) as people read it: a whole percentage, rounded down so that `100%` means
/// the same text (0.996 is `99%`).
pub fn percent(similarity: f64) -> String {
    if similarity >= 1.0 {
        "100%".into()
    } else {
        // The nudge keeps binary fractions from rounding down a whole percent (0.58 × 100 is
        // 57.999…).
        format!("{}%", (similarity.max(0.0) * 100.0 + 1e-9).floor().min(99.0) as u32)
    }
}

/// How a result's capture compares with the latest snapshot, in words: the change, and for a
/// text change how much of the latest snapshot's text is left (`changed (71% same text)`); `-`
/// when nothing was compared.
fn change_label(r: &LinkResult) -> String {
    match (r.change, r.similarity) {
        (None, _) => "-".into(),
        (Some(Change::Cosmetic), _) => "cosmetic (same text)".into(),
        (Some(Change::Changed), Some(similarity)) => format!("changed ({} same text)", percent(similarity)),
        (Some(change), _) => change.as_str().into(),
    }
}

/// The public copy of a result's link, as the reports show it: its address and the day it
/// was captured (`2018-03-02`); `None` when none was found or none sought.
fn public_copy(r: &LinkResult) -> Option<(&str, &str)> {
    let copy = r.public_copy.as_ref()?.as_ref().filter(|c| c.is_copy())?;
    let url = copy.url.as_deref()?;
    let day = copy
        .timestamp
        .as_deref()
        .map_or("", |t| t.split('T').next().unwrap_or(t));
    Some((url, day))
}

/// `text` with control characters (C0, DEL and C1: escape sequences among them) and
/// bidirectional formatting characters written as Rust escapes (`\u{1b}`, `\u{202e}`): ids,
/// URLs, titles, error texts and page texts come from outside, and must neither drive the
/// user's terminal nor reorder what it shows (a right-to-left override makes `exe.txt` read
/// `txt.exe`).
pub fn terminal_safe(text: &str) -> String {
    if !text.chars().any(is_unsafe_on_terminal) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_on_terminal(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`terminal_safe`] line by line: the line breaks of a message written on several lines
/// (a configuration error quoting the file, a list) are kept, everything else is escaped.
pub fn terminal_safe_lines(text: &str) -> String {
    text.split('\n').map(terminal_safe).collect::<Vec<_>>().join("\n")
}

/// Whether `c` must not reach a terminal as it is: a control character, or one of Unicode's
/// bidirectional formatting characters (embeddings and overrides U+202A–U+202E, isolates
/// U+2066–U+2069, the marks U+200E, U+200F and U+061C).
pub fn is_unsafe_on_terminal(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Whether `c` is one of Unicode's bidirectional formatting characters.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Shortens `text` to at most `max` characters, marking the cut with `…`.
fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_under_a_second_says_how_long_it_took() {
        // Issue #20: the times are written to the second; a run of 0.35 s said "in 0.0 s".
        let started = DateTime::parse_from_rfc3339("2026-12-06T10:00:00.900Z")
            .unwrap()
            .to_utc();
        let finished = started + chrono::Duration::milliseconds(350);
        let report = Report::new("archive", "r".into(), started, finished, Vec::new());
        assert_eq!(
            (report.started_at.as_str(), report.finished_at.as_str()),
            ("2026-12-06T10:00:00Z", "2026-12-06T10:00:01Z")
        );
        assert_eq!(report.elapsed_ms, Some(350));
        assert_eq!(report.duration_text(), "0.35 s");
        // A report written before `elapsed_ms` falls back to the timestamps.
        let old = Report {
            elapsed_ms: None,
            ..report
        };
        assert_eq!(old.duration_secs(), 1.0);
    }

    pub(crate) fn sample() -> Report {
        let ok = LinkResult {
            id: "ok-link".into(),
            url: "http://a.example/doc.pdf".into(),
            outcome: Outcome::Ok,
            http_status: Some(200),
            final_url: Some("http://a.example/doc.pdf".into()),
            redirects: Vec::new(),
            attempts: 1,
            elapsed_ms: 12,
            content_type: Some("application/pdf".into()),
            size: Some(1234),
            sha256: None,
            change: None,
            similarity: None,
            similarity_to_first: None,
            error: None,
            public_copy: None,
            submission: None,
            requisites: None,
        };
        let failed = LinkResult {
            outcome: Outcome::NetworkError,
            id: "broken | <link> & co".into(),
            url: "http://b.example/x?a=1&b=2".into(),
            http_status: None,
            error: Some("tcp connect error: Connection refused (os error 111)".into()),
            public_copy: None,
            ..ok.clone()
        };
        let excluded = LinkResult::excluded("skipped", "http://c.example/", "matches --exclude c.example".into());
        let at = DateTime::parse_from_rfc3339("2026-11-29T02:00:00Z").unwrap().to_utc();
        Report::new(
            "check",
            "20261129T020000Z-abcd".into(),
            at,
            at,
            vec![ok, failed, excluded],
        )
    }

    /// [`sample`] with a public copy found for its failed link.
    pub(crate) fn sample_with_public_copy() -> Report {
        let mut report = sample();
        report.results[1].public_copy = Some(Some(crate::public_archive::PublicCopy::found(
            crate::public_archive::PublicArchive::Wayback,
            "https://web.archive.org/web/20180302040506/http://b.example/x?a=1&b=2".into(),
            "2018-03-02T04:05:06Z".into(),
        )));
        report.results[0].public_copy = Some(None);
        report
    }

    #[test]
    fn summary_counts_outcomes() {
        let r = sample();
        assert_eq!(
            (r.summary.total, r.summary.ok, r.summary.failed, r.summary.excluded),
            (3, 1, 1, 1)
        );
        assert!(r.has_failures());
        assert_eq!(r.summary_line(), "3 links: 1 ok, 1 failed, 1 excluded");
    }

    #[test]
    fn json_round_trips() {
        let r = sample();
        let back: Report = serde_json::from_str(&r.render(Format::Json, false)).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn a_sharded_run_says_which_shard_ran() {
        let unsharded = sample().render(Format::Json, false);
        assert!(!unsharded.contains("\"shard\""), "{unsharded}");
        let mut r = sample();
        r.shard = Some("1/4".parse().unwrap());
        let json = r.render(Format::Json, false);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["shard"], "1/4");
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[3..5], ["run", "shard"], "{json}");
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), r);
        assert_eq!(r.summary_line(), "3 links of shard 1/4: 1 ok, 1 failed, 1 excluded");
        assert!(
            r.render(Format::Junit, false)
                .contains("<property name=\"shard\" value=\"1/4\"/>")
        );
    }

    #[test]
    fn percentages_say_100_only_for_the_same_text() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.996), "99%");
        assert_eq!(percent(0.62), "62%");
        assert_eq!(percent(0.58), "58%");
        assert_eq!(percent(0.29), "29%");
        assert_eq!(percent(0.004), "0%");
        assert_eq!(percent(-1.0), "0%");
    }

    #[test]
    fn control_characters_are_escaped_for_terminals() {
        assert_eq!(terminal_safe("plain – text"), "plain – text");
        assert_eq!(
            terminal_safe("a\x1b[31mred\u{9b}2J\x7f"),
            "a\\u{1b}[31mred\\u{9b}2J\\u{7f}"
        );
        assert_eq!(terminal_safe("tab\tand\nline"), "tab\\tand\\nline");
    }

    #[test]
    fn bidirectional_overrides_and_isolates_are_escaped_for_terminals() {
        assert_eq!(terminal_safe("report\u{202e}fdp.exe"), "report\\u{202e}fdp.exe");
        for c in [
            '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
        ] {
            let shown = terminal_safe(&format!("a{c}b"));
            assert!(!shown.contains(c) && shown.contains("\\u{"), "{c:?}: {shown}");
        }
        // Right-to-left text itself is not touched.
        assert_eq!(terminal_safe("שלום عربي"), "שלום عربي");
    }

    #[test]
    fn line_by_line_keeps_the_line_breaks_only() {
        assert_eq!(
            terminal_safe_lines("line one\x1b[2J\nline two\r\u{202e}"),
            "line one\\u{1b}[2J\nline two\\r\\u{202e}"
        );
    }

    #[test]
    fn run_ids_sort_by_time() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T02:03:04Z").unwrap().to_utc();
        let id = new_run_id(at);
        assert!(id.starts_with("20261129T020304Z-"), "{id}");
        assert_eq!(id.len(), "20261129T020304Z-".len() + 4);
    }
}
