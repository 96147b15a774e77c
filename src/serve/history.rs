//! Every link's history for its page (issue #20): an event per run that captured it or failed
//! to, from the run reports, plus what the manifest remembers of runs whose reports are gone.
//!
//! A run report lists every link of its run, so an archive of 100,000 links run daily from cron
//! holds gigabytes of them, and reading them again for each link page took seconds (1.7 s with
//! 30 reports of 100,000 links; see BENCHMARKS.md). They are read once instead, on a thread of
//! their own as the server starts (the latest [`MAX_REPORTS`]), and afterwards only the reports
//! written since. Until the first reading is done a link page shows the captures the manifest
//! holds and says the rest is coming. In memory, a link's runs in a row with the same outcome
//! (a page unchanged for a year) are one [`Span`], so the cost grows with what happened to the
//! links, not with how often they were checked.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;

use super::story::{Event, Kind};
use crate::manifest::LinkEntry;
use crate::outcome::Outcome;

/// Run reports read as the server starts, the latest ones: the server is ready within minutes
/// even for an archive of 100,000 links run daily for years. Captures of older runs come from
/// the manifest.
pub const MAX_REPORTS: usize = 1000;

/// How long a link page waits for the first reading of the reports before it answers with the
/// manifest's captures alone: a few seconds of a server just started on a large archive.
const WAIT_FOR_READING: Duration = Duration::from_secs(5);

/// The histories of every link, shared by the server's requests.
#[derive(Debug)]
pub struct Histories {
    runs_dir: PathBuf,
    /// What the reports say, once they have been read.
    read: Mutex<Option<Reports>>,
    /// Notified when a reading is done.
    read_done: Condvar,
    /// How long a request waits for it.
    wait: Duration,
    /// Whether a thread is reading every report (the first time, or after a report went away).
    reading: AtomicBool,
    /// Reports read so far by that thread, and how many it reads in all.
    done: AtomicUsize,
    total: AtomicUsize,
}

/// A link's history as a page shows it.
#[derive(Debug, Default)]
pub struct History {
    /// Oldest first.
    pub events: Vec<Event>,
    /// While the reports are still being read: how many have been and how many there are. The
    /// events are then the manifest's captures and last failed check only.
    pub pending: Option<(usize, usize)>,
}

impl Histories {
    /// The histories of the archive at `archive`, read when [`Histories::start`] is called.
    pub fn new(archive: &Path) -> Self {
        Self {
            runs_dir: archive.join(crate::commands::archive::RUNS_DIR),
            read: Mutex::new(None),
            read_done: Condvar::new(),
            wait: WAIT_FOR_READING,
            reading: AtomicBool::new(false),
            done: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }

    /// Starts reading every report on a thread of its own, unless that is done or under way.
    pub fn start(self: &Arc<Self>) {
        if self.reading.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.read.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
            self.reading.store(false, Ordering::SeqCst);
            return;
        }
        let this = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("linkkeep-history".to_owned())
            .spawn(move || {
                let reports = Reports::read_all(&this.runs_dir, &this.done, &this.total);
                *this.read.lock().unwrap_or_else(PoisonError::into_inner) = Some(reports);
                this.reading.store(false, Ordering::SeqCst);
                this.read_done.notify_all();
            });
        if spawned.is_err() {
            // No thread to be had: the next request tries again.
            self.reading.store(false, Ordering::SeqCst);
        }
    }

    /// Link `id`'s history (`entry` is its manifest entry), with any report written since the
    /// last look read first. While the reports are being read, waits for that up to a few
    /// seconds. Blocking: call it on the blocking pool.
    pub fn of(self: &Arc<Self>, id: &str, entry: &LinkEntry) -> History {
        // A second round when a report that was read has gone away (pruned by hand): the spans
        // no longer say what the reports do, so they are read again.
        for _ in 0..2 {
            self.start();
            let read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut read, _) = self
                .read_done
                .wait_timeout_while(read, self.wait, |read| {
                    read.is_none() && self.reading.load(Ordering::SeqCst)
                })
                .unwrap_or_else(PoisonError::into_inner);
            let Some(reports) = read.as_mut() else {
                break;
            };
            if reports.catch_up(&self.runs_dir) {
                let mut events = reports.events(id);
                events.extend(from_manifest(
                    entry,
                    &reports.covered,
                    "from the manifest (no run report)",
                ));
                events.sort_by(|a, b| a.at.cmp(&b.at));
                return History { events, pending: None };
            }
            *read = None;
        }
        let mut events = from_manifest(
            entry,
            &HashSet::new(),
            "from the manifest (run reports still being read)",
        );
        events.sort_by(|a, b| a.at.cmp(&b.at));
        History {
            events,
            pending: Some((self.done.load(Ordering::SeqCst), self.total.load(Ordering::SeqCst))),
        }
    }
}

/// What the run reports read so far say of every link.
#[derive(Debug, Default)]
struct Reports {
    /// The reports' file names, and, when there were more than [`MAX_REPORTS`], the oldest one
    /// read: older ones are never read, even if they appear later.
    files: HashSet<String>,
    floor: Option<String>,
    /// When each run read finished, in the order read: a [`Span`] names runs by their place here.
    finished: Vec<String>,
    /// The run ids of `runs`: the manifest's captures by these runs are in a report.
    covered: HashSet<String>,
    /// The details events repeat (an error, "dates and numbers only"), each kept once.
    details: Vec<String>,
    detail_ids: HashMap<String, u32>,
    /// Every link's spans, in the order read.
    spans: HashMap<String, Vec<Span>>,
}

/// A link's events in `count` runs read one after another, from the `first`th, all of the same
/// kind and detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    first: u32,
    count: u32,
    kind: Kind,
    detail: u32,
}

/// A run report, as much of it as a timeline needs, borrowed from the file's bytes.
#[derive(Deserialize)]
struct RunReport<'a> {
    #[serde(borrow)]
    run: Cow<'a, str>,
    #[serde(borrow)]
    finished_at: Cow<'a, str>,
    #[serde(default, borrow)]
    results: Vec<RunResult<'a>>,
}

#[derive(Deserialize)]
struct RunResult<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    outcome: Outcome,
    #[serde(default, borrow)]
    change: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(default)]
    similarity: Option<f64>,
}

impl Reports {
    /// The latest [`MAX_REPORTS`] reports in `runs_dir`, counting them in `done` of `total`.
    fn read_all(runs_dir: &Path, done: &AtomicUsize, total: &AtomicUsize) -> Self {
        // An archive in object storage: its reports are fetched into the working copy first.
        crate::storage::fetch_run_reports(MAX_REPORTS);
        let mut names = report_names(runs_dir);
        names.sort();
        let skip = names.len().saturating_sub(MAX_REPORTS);
        done.store(0, Ordering::SeqCst);
        total.store(names.len() - skip, Ordering::SeqCst);
        let mut reports = Reports {
            floor: (skip > 0).then(|| names[skip].clone()),
            ..Reports::default()
        };
        for name in &names[skip..] {
            reports.add(runs_dir, name);
            done.fetch_add(1, Ordering::SeqCst);
        }
        reports
    }

    /// Reads the reports written since the last look. `false` when one that was read is gone,
    /// and these spans no longer say what the reports do.
    fn catch_up(&mut self, runs_dir: &Path) -> bool {
        let names = report_names(runs_dir);
        let listed: HashSet<&String> = names.iter().collect();
        if self.files.iter().any(|name| !listed.contains(name)) {
            return false;
        }
        let mut new: Vec<&String> = names
            .iter()
            .filter(|name| !self.files.contains(*name))
            .filter(|name| self.floor.as_ref().is_none_or(|floor| *name >= floor))
            .collect();
        new.sort();
        for name in new {
            self.add(runs_dir, name);
        }
        true
    }

    /// Reads report `name`, one more run. One that cannot be read or parsed is left out, as
    /// `repair` leaves it out of the manifest.
    fn add(&mut self, runs_dir: &Path, name: &str) {
        self.files.insert(name.to_owned());
        let Ok(bytes) = std::fs::read(runs_dir.join(name)) else {
            return;
        };
        let Ok(report) = serde_json::from_slice::<RunReport>(&bytes) else {
            return;
        };
        let index = self.finished.len() as u32;
        self.finished.push(report.finished_at.into_owned());
        self.covered.insert(report.run.into_owned());
        for result in report.results {
            let Some((kind, detail)) = event_of(&result) else {
                continue;
            };
            let detail = self.detail_id(detail);
            let spans = match self.spans.get_mut(result.id.as_ref()) {
                Some(spans) => spans,
                None => self.spans.entry(result.id.into_owned()).or_default(),
            };
            match spans.last_mut() {
                Some(last) if last.first + last.count == index && last.kind == kind && last.detail == detail => {
                    last.count += 1;
                }
                _ => spans.push(Span {
                    first: index,
                    count: 1,
                    kind,
                    detail,
                }),
            }
        }
    }

    fn detail_id(&mut self, detail: Cow<'_, str>) -> u32 {
        if let Some(&id) = self.detail_ids.get(detail.as_ref()) {
            return id;
        }
        let id = self.details.len() as u32;
        self.details.push(detail.clone().into_owned());
        self.detail_ids.insert(detail.into_owned(), id);
        id
    }

    /// Link `id`'s events from the reports, in the order read.
    fn events(&self, id: &str) -> Vec<Event> {
        let Some(spans) = self.spans.get(id) else {
            return Vec::new();
        };
        spans
            .iter()
            .flat_map(|span| {
                (span.first..span.first + span.count).map(move |run| Event {
                    at: self.finished[run as usize].clone(),
                    kind: span.kind,
                    detail: self.details[span.detail as usize].clone(),
                })
            })
            .collect()
    }
}

/// The `*.json` file names in `runs_dir` (none when there is no such directory).
fn report_names(runs_dir: &Path) -> Vec<String> {
    std::fs::read_dir(runs_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect()
}

/// A run's result as a mark: its kind and detail, or `None` for a result that is neither a
/// capture nor a failure (a link `check` found ok, or one excluded).
fn event_of<'a>(result: &RunResult<'a>) -> Option<(Kind, Cow<'a, str>)> {
    if result.outcome.is_failure() {
        let error = result.error.as_deref().unwrap_or_default();
        return Some((Kind::Failure, format!("{}: {error}", result.outcome.as_str()).into()));
    }
    Some(match result.change.as_deref()? {
        "new" => (Kind::New, "".into()),
        "unchanged" => (Kind::Unchanged, "".into()),
        "cosmetic" => (Kind::Cosmetic, "dates and numbers only".into()),
        "changed" => (
            Kind::Changed,
            result
                .similarity
                .map(|s| format!("{} of the text the same", crate::report::percent(s)))
                .unwrap_or_default()
                .into(),
        ),
        _ => return None,
    })
}

/// What the manifest remembers of runs not in `covered` (whose reports are gone, or not read
/// yet, as `why` says): their captures, and the last check when it failed.
fn from_manifest(entry: &LinkEntry, covered: &HashSet<String>, why: &str) -> Vec<Event> {
    let mut events = Vec::new();
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
            detail: why.to_owned(),
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
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Writes run report `run` (finished at `at`) with `results`: (link id, outcome, change,
    /// error).
    fn report(dir: &Path, run: &str, at: &str, results: &[(&str, &str, Option<&str>, Option<&str>)]) {
        let results: Vec<_> = results
            .iter()
            .map(|(id, outcome, change, error)| {
                json!({"id": id, "url": format!("http://example.org/{id}"), "outcome": outcome,
                       "change": change, "error": error, "similarity": change.filter(|c| *c == "changed").map(|_| 0.5)})
            })
            .collect();
        let body = json!({"tool": "linkkeep", "command": "archive", "run": run, "started_at": at,
                          "finished_at": at, "summary": {}, "results": results});
        std::fs::create_dir_all(dir.join("runs")).unwrap();
        std::fs::write(dir.join("runs").join(format!("{run}.json")), body.to_string()).unwrap();
    }

    fn entry(snapshot_runs: &[(&str, &str)], last_check: Option<(&str, &str, &str)>) -> LinkEntry {
        let snapshots: Vec<_> = snapshot_runs
            .iter()
            .enumerate()
            .map(|(n, (run, at))| {
                json!({"sha256": format!("{n}").repeat(64), "size": 1, "content_type": "text/html",
                       "first_seen": at, "last_seen": at, "http_status": 200,
                       "final_url": "http://example.org/a", "run": run})
            })
            .collect();
        let last_check = last_check.map(|(run, at, outcome)| {
            json!({"at": at, "outcome": outcome, "http_status": 404, "url": "http://example.org/a",
                   "final_url": "http://example.org/a", "error": "HTTP 404 Not Found", "run": run})
        });
        serde_json::from_value(json!({"url": "http://example.org/a", "snapshots": snapshots,
                                      "last_check": last_check}))
        .unwrap()
    }

    fn marks(history: &History) -> Vec<(String, &'static str, String)> {
        history
            .events
            .iter()
            .map(|e| (e.at[..10].to_owned(), e.kind.key(), e.detail.clone()))
            .collect()
    }

    fn ready(dir: &Path) -> Arc<Histories> {
        let histories = Arc::new(Histories::new(dir));
        histories.start();
        histories
    }

    fn day(n: u32) -> String {
        format!("2026-01-{n:02}T00:00:00Z")
    }

    fn run(n: u32) -> String {
        format!("202601{n:02}T000000Z-r")
    }

    #[test]
    fn runs_in_a_row_with_one_outcome_are_one_span_and_every_run_is_a_mark() {
        let dir = tempfile::tempdir().unwrap();
        let kinds: [(&str, Option<&str>, Option<&str>); 9] = [
            ("ok", Some("new"), None),
            ("ok", Some("unchanged"), None),
            ("ok", Some("unchanged"), None),
            ("ok", Some("changed"), None),
            ("ok", Some("unchanged"), None),
            ("http_error", None, Some("HTTP 404 Not Found")),
            ("http_error", None, Some("HTTP 404 Not Found")),
            ("ok", Some("cosmetic"), None),
            ("ok", Some("unchanged"), None),
        ];
        for (n, (outcome, change, error)) in kinds.iter().enumerate() {
            let n = n as u32 + 1;
            // Link b is in every run but the third: a gap in its runs breaks its span.
            let mut results = vec![("a", *outcome, *change, *error)];
            if n != 3 {
                results.push(("b", "ok", Some("unchanged"), None));
            }
            report(dir.path(), &run(n), &day(n), &results);
        }
        let histories = ready(dir.path());
        let a = histories.of("a", &entry(&[], None));
        assert_eq!(a.pending, None);
        let kinds: Vec<_> = marks(&a).into_iter().map(|(_, kind, _)| kind).collect();
        assert_eq!(
            kinds,
            [
                "new",
                "unchanged",
                "unchanged",
                "changed",
                "unchanged",
                "failure",
                "failure",
                "cosmetic",
                "unchanged"
            ]
        );
        assert_eq!(marks(&a)[3].2, "50% of the text the same");
        assert_eq!(marks(&a)[5].2, "http_error: HTTP 404 Not Found");
        assert_eq!(marks(&a)[6].0, "2026-01-07");
        let b = histories.of("b", &entry(&[], None));
        let days: Vec<_> = marks(&b).into_iter().map(|(at, _, _)| at).collect();
        assert_eq!(days.len(), 8);
        assert!(!days.contains(&"2026-01-03".to_owned()), "{days:?}");
        // Kept as spans: a's two unchanged in a row are one, as are its two failures; b's runs
        // are two spans around the gap.
        let read = histories.read.lock().unwrap();
        let reports = read.as_ref().unwrap();
        assert_eq!(reports.spans["a"].len(), 7, "{:?}", reports.spans["a"]);
        assert_eq!(reports.spans["b"].len(), 2, "{:?}", reports.spans["b"]);
    }

    #[test]
    fn reports_written_later_are_read_at_the_next_look_and_a_removed_one_means_reading_again() {
        let dir = tempfile::tempdir().unwrap();
        report(dir.path(), &run(2), &day(2), &[("a", "ok", Some("new"), None)]);
        let histories = ready(dir.path());
        assert_eq!(histories.of("a", &entry(&[], None)).events.len(), 1);
        report(dir.path(), &run(4), &day(4), &[("a", "ok", Some("unchanged"), None)]);
        // A run that started earlier and finished later (a shard, a long run) sorts earlier.
        report(
            dir.path(),
            &run(3),
            &day(5),
            &[("a", "timeout", None, Some("timed out"))],
        );
        // Even one that sorts before every report read: there were fewer than MAX_REPORTS.
        report(
            dir.path(),
            &run(1),
            &day(6),
            &[("a", "timeout", None, Some("timed out"))],
        );
        let a = histories.of("a", &entry(&[], None));
        let kinds: Vec<_> = marks(&a).into_iter().map(|(at, kind, _)| (at, kind)).collect();
        assert_eq!(
            kinds,
            [
                ("2026-01-02".to_owned(), "new"),
                ("2026-01-04".to_owned(), "unchanged"),
                ("2026-01-05".to_owned(), "failure"),
                ("2026-01-06".to_owned(), "failure")
            ]
        );
        std::fs::remove_file(dir.path().join("runs").join(format!("{}.json", run(4)))).unwrap();
        let a = histories.of("a", &entry(&[], None));
        assert_eq!(a.pending, None, "read again within the wait");
        assert_eq!(a.events.len(), 3, "{:?}", marks(&a));
    }

    #[test]
    fn a_report_that_is_not_json_is_left_out_and_the_others_still_tell_the_history() {
        let dir = tempfile::tempdir().unwrap();
        report(dir.path(), &run(1), &day(1), &[("a", "ok", Some("new"), None)]);
        std::fs::write(
            dir.path().join("runs").join(format!("{}.json", run(2))),
            b"{\"run\": tru",
        )
        .unwrap();
        report(dir.path(), &run(3), &day(3), &[("a", "ok", Some("unchanged"), None)]);
        let histories = ready(dir.path());
        let a = histories.of("a", &entry(&[], None));
        assert_eq!(a.pending, None);
        let kinds: Vec<_> = marks(&a).into_iter().map(|(_, kind, _)| kind).collect();
        assert_eq!(kinds, ["new", "unchanged"]);
        // Counted as read: the next look does not read it again, nor read everything again.
        let read = histories.read.lock().unwrap();
        assert_eq!(read.as_ref().unwrap().files.len(), 3);
        assert_eq!(read.as_ref().unwrap().finished.len(), 2);
    }

    #[test]
    fn captures_of_runs_without_a_report_come_from_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        report(dir.path(), &run(3), &day(3), &[("a", "ok", Some("unchanged"), None)]);
        let histories = ready(dir.path());
        // Run 1's report is gone; run 3's is there; run 5's last check failed, unreported.
        let entry = entry(
            &[(run(1).as_str(), day(1).as_str()), (run(3).as_str(), day(3).as_str())],
            Some((run(5).as_str(), day(5).as_str(), "http_error")),
        );
        let a = histories.of("a", &entry);
        assert_eq!(
            marks(&a),
            [
                (
                    "2026-01-01".to_owned(),
                    "new",
                    "from the manifest (no run report)".to_owned()
                ),
                ("2026-01-03".to_owned(), "unchanged", String::new()),
                (
                    "2026-01-05".to_owned(),
                    "failure",
                    "http_error: HTTP 404 Not Found".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn only_the_latest_reports_are_read_and_older_ones_never_later() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("runs")).unwrap();
        for n in 0..MAX_REPORTS + 2 {
            let run = format!("2026{n:010}-r");
            report(
                dir.path(),
                &run,
                &format!("2026-02-01T00:00:{:02}Z", n % 60),
                &[("a", "ok", Some("unchanged"), None)],
            );
        }
        let histories = ready(dir.path());
        assert_eq!(histories.of("a", &entry(&[], None)).events.len(), MAX_REPORTS);
        // A report older than those read, appearing later, stays unread.
        report(
            dir.path(),
            "2025-old-r",
            "2025-01-01T00:00:00Z",
            &[("a", "ok", Some("new"), None)],
        );
        assert_eq!(histories.of("a", &entry(&[], None)).events.len(), MAX_REPORTS);
    }

    #[test]
    fn while_the_reports_are_read_a_page_shows_the_manifests_captures_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        report(dir.path(), &run(1), &day(1), &[("a", "ok", Some("new"), None)]);
        let mut histories = Histories::new(dir.path());
        histories.wait = Duration::ZERO;
        // As if a reading were under way on another thread.
        histories.reading.store(true, Ordering::SeqCst);
        histories.total.store(7, Ordering::SeqCst);
        histories.done.store(3, Ordering::SeqCst);
        let histories = Arc::new(histories);
        let a = histories.of("a", &entry(&[(run(1).as_str(), day(1).as_str())], None));
        assert_eq!(a.pending, Some((3, 7)));
        assert_eq!(
            marks(&a),
            [(
                "2026-01-01".to_owned(),
                "new",
                "from the manifest (run reports still being read)".to_owned()
            )]
        );
    }
}
