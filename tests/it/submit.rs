//! `archive --submit wayback` against a fixture Save Page Now 2 API (issue #16): copies and
//! refusals recorded in the captures' snapshots, 429 and `Retry-After`, the caps on jobs and
//! submissions, only new and changed captures submitted, pending jobs carried over a killed or
//! impatient run, missing keys, and keys written nowhere.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::archive::{ArchiveRun, Scratch, json_run, wait_until};

const ACCESS: &str = "AKlinkkeepAccess7q";
const SECRET: &str = "SKlinkkeepSecret9z";
/// The Wayback timestamp of every capture the fixture makes, and the same time in RFC 3339.
const STAMP: &str = "20261205160432";
const STAMP_RFC3339: &str = "2026-12-05T16:04:32Z";

/// A job of the fixture.
struct Job {
    url: String,
    polls: usize,
    done: bool,
}

/// What the fixture does and what it saw.
#[derive(Default)]
struct State {
    /// Answers to the next capture requests, before any job is started.
    post_script: VecDeque<ResponseTemplate>,
    /// Answers to the next status requests, before the job is looked at.
    status_script: VecDeque<ResponseTemplate>,
    /// URLs whose capture request is refused, with the refusal's `status_ext`.
    refuse: HashMap<String, &'static str>,
    /// URLs whose job ends in an error, with its `status_ext`.
    fail: HashMap<String, &'static str>,
    /// How many times each job answers `pending` before it ends (`usize::MAX`: never).
    pending_polls: usize,
    /// The `Retry-After` sent with `pending`.
    pending_retry_after: Option<&'static str>,
    /// Every job answers 404, as one the archive no longer knows.
    forget_jobs: bool,
    jobs: HashMap<String, Job>,
    /// When each capture request came, and its URL.
    posts: Vec<(Instant, String)>,
    /// When each status request came, and its job.
    polls: Vec<(Instant, String)>,
    in_flight: usize,
    max_in_flight: usize,
    /// Requests without the keys, or without `Accept: application/json`.
    bad_requests: usize,
}

/// A fixture Save Page Now 2 API on 127.0.0.1.
struct Spn {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl Spn {
    async fn start(configure: impl FnOnce(&mut State)) -> Self {
        let mut state = State::default();
        configure(&mut state);
        let state = Arc::new(Mutex::new(state));
        let server = MockServer::start().await;
        let for_posts = Arc::clone(&state);
        Mock::given(method("POST"))
            .and(path("/save"))
            .respond_with(move |request: &Request| capture_request(&mut for_posts.lock().unwrap(), request))
            .mount(&server)
            .await;
        let for_polls = Arc::clone(&state);
        Mock::given(method("GET"))
            .and(path_regex("^/save/status/[^/]+$"))
            .respond_with(move |request: &Request| status_request(&mut for_polls.lock().unwrap(), request))
            .mount(&server)
            .await;
        Spn { server, state }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn posted_urls(&self) -> Vec<String> {
        self.state().posts.iter().map(|(_, url)| url.clone()).collect()
    }

    /// `<fixture>/web/<STAMP>/<url>`.
    fn memento(&self, url: &str) -> String {
        format!("{}/web/{STAMP}/{url}", self.server.uri())
    }
}

/// Whether `request` carries the keys and asks for JSON, as every call must.
fn well_formed(request: &Request) -> bool {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    header("authorization") == Some(&format!("LOW {ACCESS}:{SECRET}")) && header("accept") == Some("application/json")
}

fn capture_request(state: &mut State, request: &Request) -> ResponseTemplate {
    if !well_formed(request) {
        state.bad_requests += 1;
        return ResponseTemplate::new(401).set_body_json(json!({"status": "error", "message": "no keys"}));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
    let url = form.get("url").cloned().unwrap_or_default();
    state.posts.push((Instant::now(), url.clone()));
    if let Some(answer) = state.post_script.pop_front() {
        return answer;
    }
    if let Some(ext) = state.refuse.get(&url) {
        return ResponseTemplate::new(200).set_body_json(json!({
            "status": "error", "status_ext": ext,
            "message": "This URL has been already captured 10 times today. Please try again tomorrow.",
        }));
    }
    let job_id = format!("spn2-{:04}", state.jobs.len() + 1);
    state.jobs.insert(
        job_id.clone(),
        Job {
            url: url.clone(),
            polls: 0,
            done: false,
        },
    );
    state.in_flight += 1;
    state.max_in_flight = state.max_in_flight.max(state.in_flight);
    ResponseTemplate::new(200).set_body_json(json!({"url": url, "job_id": job_id}))
}

fn status_request(state: &mut State, request: &Request) -> ResponseTemplate {
    if !well_formed(request) {
        state.bad_requests += 1;
        return ResponseTemplate::new(401);
    }
    let job_id = request.url.path().rsplit('/').next().unwrap().to_owned();
    state.polls.push((Instant::now(), job_id.clone()));
    if let Some(answer) = state.status_script.pop_front() {
        return answer;
    }
    let (pending_polls, retry_after) = (state.pending_polls, state.pending_retry_after);
    let Some(job) = state.jobs.get_mut(&job_id).filter(|_| !state.forget_jobs) else {
        return ResponseTemplate::new(404).set_body_json(json!({"status": "error", "message": "unknown job"}));
    };
    job.polls += 1;
    if job.polls <= pending_polls {
        let answer = ResponseTemplate::new(200).set_body_json(json!({"status": "pending", "job_id": job_id}));
        return match retry_after {
            Some(after) => answer.insert_header("Retry-After", after),
            None => answer,
        };
    }
    let url = job.url.clone();
    if !std::mem::replace(&mut job.done, true) {
        state.in_flight -= 1;
    }
    match state.fail.get(&url) {
        Some(ext) => ResponseTemplate::new(200).set_body_json(json!({
            "status": "error", "status_ext": ext, "message": "The URL is blocked.", "job_id": job_id,
        })),
        None => ResponseTemplate::new(200).set_body_json(json!({
            "status": "success", "timestamp": STAMP, "original_url": url, "job_id": job_id,
        })),
    }
}

/// A site with a page per link id, `/page/<id>`.
async fn site() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("^/page/"))
        .respond_with(|request: &Request| {
            ResponseTemplate::new(200).set_body_raw(format!("the page {}", request.url.path()), "text/plain")
        })
        .mount(&server)
        .await;
    server
}

/// A scratch archive whose links are `ids`, each a page of `site`.
fn scratch(site: &MockServer, ids: &[&str]) -> Scratch {
    let links: Vec<(&str, String)> = ids
        .iter()
        .map(|id| (*id, format!("{}/page/{id}", site.uri())))
        .collect();
    Scratch::new(&links)
}

/// `archive --format json --submit wayback --submit-endpoint <spn> <extra>` with the keys.
fn submit_cmd(scratch: &Scratch, spn: &Spn, extra: &[&str]) -> assert_cmd::Command {
    submit_cmd_as(scratch, spn, "json", extra)
}

/// [`submit_cmd`] with the report in `format`.
fn submit_cmd_as(scratch: &Scratch, spn: &Spn, format: &str, extra: &[&str]) -> assert_cmd::Command {
    let endpoint = spn.server.uri();
    let mut cmd = scratch.cmd();
    cmd.args([
        "archive",
        "--format",
        format,
        "--no-soft-404",
        "--retries",
        "0",
        "--timeout",
        "5",
    ])
    .args(["--submit", "wayback", "--submit-endpoint", &endpoint])
    .args(extra)
    .env("WAYBACK_ACCESS_KEY", ACCESS)
    .env("WAYBACK_SECRET_KEY", SECRET);
    cmd
}

async fn archive_submitting(scratch: &Scratch, spn: &Spn, extra: &[&str]) -> ArchiveRun {
    let (code, report, stderr) = json_run(submit_cmd(scratch, spn, extra)).await;
    ArchiveRun { code, report, stderr }
}

fn warnings(run: &ArchiveRun) -> Vec<String> {
    run.report["warnings"]
        .as_array()
        .map(|w| w.iter().map(|w| w.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The pending jobs' file, as JSON lines.
fn pending_jobs(archive: &Path) -> Vec<Value> {
    match std::fs::read_to_string(archive.join("submissions.jsonl")) {
        Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn pending_pending_success_records_the_memento_in_the_snapshot() {
    let site = site().await;
    // No Retry-After: the run's own schedule (1 s, then 2 s) paces the polls.
    let spn = Spn::start(|s| s.pending_polls = 2).await;
    let scratch = scratch(&site, &["a"]);
    let url = format!("{}/page/a", site.uri());

    let run = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(warnings(&run), Vec::<String>::new());
    let submission = &run.result("a")["submission"];
    assert_eq!(submission["archive"], "wayback");
    assert_eq!(submission["status"], "captured");
    assert_eq!(submission["url"], spn.memento(&url));
    assert_eq!(submission["timestamp"], STAMP_RFC3339);
    assert_eq!(submission["job_id"], "spn2-0001");

    let snapshots = scratch.snapshots("a");
    assert_eq!(snapshots.len(), 1);
    assert_eq!(
        snapshots[0]["public_copies"],
        json!([{"archive": "wayback", "url": spn.memento(&url), "timestamp": STAMP_RFC3339}])
    );
    assert_eq!(spn.posted_urls(), [url]);
    let state = spn.state();
    assert_eq!(state.bad_requests, 0);
    let polls: Vec<Instant> = state.polls.iter().map(|(at, _)| *at).collect();
    assert_eq!(polls.len(), 3, "pending, pending, success");
    // Lower bounds of the schedule, measured where the requests arrived.
    assert!(polls[0] - state.posts[0].0 >= Duration::from_secs(1));
    assert!(polls[1] - polls[0] >= Duration::from_secs(1));
    assert!(polls[2] - polls[1] >= Duration::from_secs(2));
    assert!(pending_jobs(&scratch.archive).is_empty());
    assert!(!scratch.archive.join("submissions.jsonl").exists());
}

#[tokio::test]
async fn refusals_are_recorded_as_such_with_a_warning_and_the_exit_code_unchanged() {
    let site = site().await;
    let (daily, blocked) = (
        format!("{}/page/daily", site.uri()),
        format!("{}/page/blocked", site.uri()),
    );
    let spn = Spn::start(|s| {
        s.refuse.insert(daily.clone(), "error:too-many-daily-captures");
        s.fail.insert(blocked.clone(), "error:blocked-url");
        s.pending_retry_after = Some("0");
    })
    .await;
    let scratch = scratch(&site, &["daily", "blocked"]);

    let run = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(run.code, 0, "a refusal fails no link: {}", run.stderr);
    // Refused at once, when asked.
    let submission = &run.result("daily")["submission"];
    assert_eq!(submission["status"], "refused");
    let error = submission["error"].as_str().unwrap();
    assert!(
        error.starts_with("error:too-many-daily-captures: This URL has been already captured"),
        "{error}"
    );
    let copies = &scratch.snapshots("daily")[0]["public_copies"];
    assert_eq!(copies.as_array().unwrap().len(), 1);
    assert_eq!(copies[0]["archive"], "wayback");
    assert_eq!(copies[0]["error"], error);
    assert!(
        copies[0]["timestamp"].is_string() && copies[0].get("url").is_none(),
        "{copies}"
    );
    // Refused by the job.
    let copies = &scratch.snapshots("blocked")[0]["public_copies"];
    assert_eq!(copies[0]["error"], "error:blocked-url: The URL is blocked.");
    assert_eq!(run.result("blocked")["submission"]["status"], "refused");

    let warnings = warnings(&run);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("did not capture daily") && w.contains("error:too-many-daily-captures")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("did not capture blocked")),
        "{warnings:?}"
    );
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("error:"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_429_and_its_retry_after_are_honoured_on_both_calls() {
    let site = site().await;
    let spn = Spn::start(|s| {
        // Two seconds: longer than the run's own first backoff (1 s), so that a run ignoring
        // Retry-After would come back too soon.
        s.post_script
            .push_back(ResponseTemplate::new(429).insert_header("Retry-After", "2"));
        s.status_script
            .push_back(ResponseTemplate::new(429).insert_header("Retry-After", "2"));
        s.pending_polls = 0;
    })
    .await;
    let scratch = scratch(&site, &["a"]);

    let run = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.result("a")["submission"]["status"], "captured");
    let state = spn.state();
    assert_eq!(state.posts.len(), 2, "the capture request is sent again");
    assert!(
        state.posts[1].0 - state.posts[0].0 >= Duration::from_secs(2),
        "not before Retry-After"
    );
    assert_eq!(state.polls.len(), 2, "the status request is sent again");
    assert!(
        state.polls[1].0 - state.polls[0].0 >= Duration::from_secs(2),
        "not before Retry-After"
    );
    assert!(scratch.snapshots("a")[0]["public_copies"][0]["url"].is_string());
}

#[tokio::test]
async fn submit_jobs_1_never_has_two_jobs_in_flight() {
    let site = site().await;
    let spn = Spn::start(|s| {
        s.pending_polls = 1;
        s.pending_retry_after = Some("0");
    })
    .await;
    let scratch = scratch(&site, &["a", "b", "c"]);

    let run = archive_submitting(&scratch, &spn, &["--submit-jobs", "1"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for id in ["a", "b", "c"] {
        assert_eq!(run.result(id)["submission"]["status"], "captured", "{id}");
        assert!(scratch.snapshots(id)[0]["public_copies"][0]["url"].is_string(), "{id}");
    }
    let state = spn.state();
    assert_eq!(state.posts.len(), 3);
    assert_eq!(state.max_in_flight, 1, "a job started before the last one ended");
}

#[tokio::test]
async fn submit_max_1_submits_one_and_warns_about_the_rest() {
    let site = site().await;
    let spn = Spn::start(|s| s.pending_retry_after = Some("0")).await;
    let scratch = scratch(&site, &["a", "b", "c"]);

    let run = archive_submitting(&scratch, &spn, &["--submit-max", "1"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        spn.posted_urls(),
        [format!("{}/page/a", site.uri())],
        "links.json order"
    );
    assert_eq!(run.result("a")["submission"]["status"], "captured");
    for id in ["b", "c"] {
        let submission = &run.result(id)["submission"];
        assert_eq!(submission["status"], "skipped", "{id}");
        assert_eq!(submission["error"], "over --submit-max 1");
        assert!(scratch.snapshots(id)[0].get("public_copies").is_none(), "{id}");
    }
    let warnings = warnings(&run);
    assert!(
        warnings.iter().any(
            |w| w.starts_with("2 link(s) with a new or changed capture were not submitted")
                && w.contains("(b, c)")
                && w.ends_with("over --submit-max 1")
        ),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn only_new_and_changed_captures_are_submitted() {
    let site = site().await;
    // A page whose every answer is new text: changed at every run.
    let served = Arc::new(Mutex::new(0));
    let count = Arc::clone(&served);
    Mock::given(method("GET"))
        .and(path("/news"))
        .respond_with(move |_: &Request| {
            let mut n = count.lock().unwrap();
            *n += 1;
            let words = ["river", "mountain", "harbour"][*n % 3];
            ResponseTemplate::new(200).set_body_raw(format!("issue {n}: a story about the {words}"), "text/plain")
        })
        .mount(&site)
        .await;
    let spn = Spn::start(|s| s.pending_retry_after = Some("0")).await;
    let news = format!("{}/news", site.uri());
    let scratch = Scratch::new(&[("same", format!("{}/page/same", site.uri())), ("news", news.clone())]);

    let first = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(spn.posted_urls().len(), 2, "both captures are new");

    let second = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.result("same")["change"], "unchanged");
    assert!(second.result("same").get("submission").is_none());
    assert_eq!(second.result("news")["change"], "changed");
    assert_eq!(second.result("news")["submission"]["status"], "captured");
    assert_eq!(spn.posted_urls()[2..], [news], "only the changed capture");
    // Each capture has its own copy.
    let snapshots = scratch.snapshots("news");
    assert_eq!(snapshots.len(), 2);
    assert!(
        snapshots
            .iter()
            .all(|s| s["public_copies"].as_array().unwrap().len() == 1)
    );
    assert_eq!(
        scratch.snapshots("same")[0]["public_copies"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn jobs_left_pending_by_submit_wait_0_are_recorded_by_the_next_run_with_keys() {
    let site = site().await;
    let spn = Spn::start(|s| s.pending_polls = usize::MAX).await;
    let scratch = scratch(&site, &["a"]);
    let url = format!("{}/page/a", site.uri());

    let first = archive_submitting(&scratch, &spn, &["--submit-wait", "0"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let submission = &first.result("a")["submission"];
    assert_eq!(submission["status"], "pending");
    assert_eq!(submission["job_id"], "spn2-0001");
    assert!(
        warnings(&first)
            .iter()
            .any(|w| w.starts_with("1 Save Page Now job(s) still running") && w.contains("(a)")),
        "{:?}",
        warnings(&first)
    );
    let jobs = pending_jobs(&scratch.archive);
    assert_eq!(jobs.len(), 1);
    let snapshot = &scratch.snapshots("a")[0];
    assert_eq!(jobs[0]["link"], "a");
    assert_eq!(jobs[0]["url"], url);
    assert_eq!(jobs[0]["job_id"], "spn2-0001");
    assert_eq!(jobs[0]["sha256"], snapshot["sha256"]);
    assert_eq!(jobs[0]["first_seen"], snapshot["first_seen"]);
    assert!(snapshot.get("public_copies").is_none());

    // Without --submit there are no keys to ask with: the job stays, and the run says so.
    let mut cmd = scratch.archive_cmd(&["--no-soft-404"]);
    cmd.env_remove("WAYBACK_ACCESS_KEY").env_remove("WAYBACK_SECRET_KEY");
    let (code, report, stderr) = json_run(cmd).await;
    assert_eq!(code, 0, "{stderr}");
    let without = ArchiveRun { code, report, stderr };
    assert!(
        warnings(&without)
            .iter()
            .any(|w| w.contains("1 Save Page Now job(s) of earlier runs are pending (a)")),
        "{:?}",
        warnings(&without)
    );
    assert_eq!(pending_jobs(&scratch.archive), jobs);
    let polls_so_far = spn.state().polls.len();

    spn.state().pending_polls = 0;
    let third = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(warnings(&third), Vec::<String>::new());
    let state = spn.state();
    assert_eq!(state.posts.len(), 1, "nothing new to submit");
    assert_eq!(
        state.polls[polls_so_far..]
            .iter()
            .map(|(_, j)| j.as_str())
            .collect::<Vec<_>>(),
        ["spn2-0001"]
    );
    drop(state);
    assert_eq!(
        scratch.snapshots("a")[0]["public_copies"],
        json!([{"archive": "wayback", "url": spn.memento(&url), "timestamp": STAMP_RFC3339}])
    );
    assert!(!scratch.archive.join("submissions.jsonl").exists());
}

#[tokio::test]
async fn a_job_the_archive_no_longer_knows_is_recorded_as_an_error() {
    let site = site().await;
    let spn = Spn::start(|s| s.pending_polls = usize::MAX).await;
    let scratch = scratch(&site, &["a"]);
    let first = archive_submitting(&scratch, &spn, &["--submit-wait", "0"]).await;
    assert_eq!(first.result("a")["submission"]["status"], "pending");

    spn.state().forget_jobs = true;
    let second = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let copies = &scratch.snapshots("a")[0]["public_copies"];
    let error = copies[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("error:unknown-job:") && error.contains("spn2-0001"),
        "{error}"
    );
    assert!(warnings(&second).iter().any(|w| w.contains("error:unknown-job")));
    assert!(pending_jobs(&scratch.archive).is_empty());
}

/// Kills the process when dropped (a failed assertion must not leave a run behind).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runs_pending_jobs_are_polled_by_the_next_run() {
    let site = site().await;
    let spn = Spn::start(|s| {
        s.pending_polls = usize::MAX;
        s.pending_retry_after = Some("0");
    })
    .await;
    let scratch = scratch(&site, &["a", "b"]);
    let endpoint = spn.server.uri();
    let mut running = KillOnDrop(
        scratch
            .process(&[
                "-q",
                "archive",
                "--no-soft-404",
                "--submit",
                "wayback",
                "--submit-endpoint",
                &endpoint,
            ])
            .env("WAYBACK_ACCESS_KEY", ACCESS)
            .env("WAYBACK_SECRET_KEY", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Both jobs listed, and each asked about once: the run is waiting for them.
    wait_until("both jobs pending", || {
        let state = spn.state();
        pending_jobs(&scratch.archive).len() == 2
            && ["spn2-0001", "spn2-0002"]
                .iter()
                .all(|job| state.polls.iter().any(|(_, j)| j == job))
    })
    .await;
    assert!(running.0.try_wait().unwrap().is_none(), "the run ended before the kill");
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    let listed = pending_jobs(&scratch.archive);
    // The run's captures were compacted before anything was submitted.
    for job in &listed {
        let snapshots = scratch.snapshots(job["link"].as_str().unwrap());
        assert_eq!(job["sha256"], snapshots[0]["sha256"]);
        assert!(snapshots[0].get("public_copies").is_none());
    }

    spn.state().pending_polls = 0;
    let next = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert_eq!(
        spn.state().posts.len(),
        2,
        "the pages are unchanged: nothing new is submitted"
    );
    for id in ["a", "b"] {
        let url = format!("{}/page/{id}", site.uri());
        let copies = &scratch.snapshots(id)[0]["public_copies"];
        assert_eq!(
            copies,
            &json!([{"archive": "wayback", "url": spn.memento(&url), "timestamp": STAMP_RFC3339}]),
            "{id}"
        );
    }
    assert!(!scratch.archive.join("submissions.jsonl").exists());
}

#[tokio::test]
async fn missing_keys_exit_2_before_any_request() {
    let site = site().await;
    let spn = Spn::start(|_| {}).await;
    let scratch = scratch(&site, &["a"]);
    for (set, missing) in [
        (Some("WAYBACK_ACCESS_KEY"), "WAYBACK_SECRET_KEY"),
        (None, "WAYBACK_ACCESS_KEY"),
    ] {
        let mut cmd = submit_cmd(&scratch, &spn, &[]);
        cmd.env_remove("WAYBACK_ACCESS_KEY").env_remove("WAYBACK_SECRET_KEY");
        if let Some(var) = set {
            cmd.env(var, "x");
        }
        let run = crate::support::run(cmd).await;
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(missing), "{}", run.stderr);
    }
    assert!(
        site.received_requests().await.unwrap().is_empty(),
        "no link was fetched"
    );
    assert!(spn.server.received_requests().await.unwrap().is_empty());
    assert!(!scratch.archive.exists(), "nothing was written");
}

#[tokio::test]
async fn refused_keys_are_one_failure_and_nothing_is_recorded() {
    let site = site().await;
    let spn = Spn::start(|_| {}).await;
    let scratch = scratch(&site, &["a", "b"]);
    let mut cmd = submit_cmd(&scratch, &spn, &["--submit-jobs", "1"]);
    cmd.env("WAYBACK_SECRET_KEY", "wrong");
    let (code, report, stderr) = json_run(cmd).await;
    let run = ArchiveRun { code, report, stderr };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(spn.state().bad_requests, 1, "asked once, not once per link");
    for id in ["a", "b"] {
        assert_eq!(run.result(id)["submission"]["status"], "failed");
        assert!(scratch.snapshots(id)[0].get("public_copies").is_none());
    }
    let warnings = warnings(&run);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("could not submit 2 link(s) to Save Page Now (a, b)")
            && warnings[0].contains("refused the keys in WAYBACK_ACCESS_KEY and WAYBACK_SECRET_KEY (HTTP 401)"),
        "{warnings:?}"
    );
    assert!(!run.stderr.contains("wrong"));
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, files);
        } else {
            files.push(path);
        }
    }
}

#[tokio::test]
async fn the_keys_are_written_nowhere() {
    let site = site().await;
    let refused = format!("{}/page/refused", site.uri());
    let spn = Spn::start(|s| {
        s.pending_polls = usize::MAX;
        s.refuse.insert(refused.clone(), "error:too-many-daily-captures");
    })
    .await;
    let scratch = scratch(&site, &["a", "refused"]);
    let mut outputs = Vec::new();

    // A run that leaves a job pending (the pending file holds it), then one that records it,
    // each with a report file, the most verbose logs and every format.
    for (format, extra) in [("json", "--submit-wait=0"), ("markdown", "--submit-wait=30")] {
        let report = scratch.dir.path().join(format!("report.{format}"));
        let cmd = submit_cmd_as(&scratch, &spn, format, &[extra, "-vv", "-o", report.to_str().unwrap()]);
        let run = crate::support::run(cmd).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        outputs.push(run.stdout);
        outputs.push(run.stderr.clone());
        if format == "json" {
            assert!(
                run.stderr.contains("submitted to Save Page Now"),
                "-vv logs the submission"
            );
            assert_eq!(pending_jobs(&scratch.archive).len(), 1, "a job was left pending");
            let mut files = Vec::new();
            files_under(&scratch.archive, &mut files);
            for file in files {
                outputs.push(String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned());
            }
        }
        spn.state().pending_polls = 0;
    }
    assert!(!scratch.archive.join("submissions.jsonl").exists());
    let state = spn.state();
    assert_eq!(state.bad_requests, 0, "every call carried the keys");
    assert_eq!(state.posts.len(), 2);
    drop(state);
    assert!(scratch.snapshots("a")[0]["public_copies"][0]["url"].is_string());

    let mut files = Vec::new();
    files_under(scratch.dir.path(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("report.markdown")));
    assert!(files.iter().any(|f| f.to_string_lossy().contains("/warc/")));
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        // WARC records are gzip members: read them decoded too.
        let mut decoded = Vec::new();
        let _ = std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut decoded);
        for text in [&bytes, &decoded] {
            let text = String::from_utf8_lossy(text);
            for key in [ACCESS, SECRET] {
                assert!(!text.contains(key), "{} holds a key", file.display());
            }
        }
    }
    for output in &outputs {
        for key in [ACCESS, SECRET] {
            assert!(!output.contains(key), "an output holds a key:\n{output}");
        }
    }
}

#[tokio::test]
async fn repair_rebuilds_the_copies_and_refusals_from_the_run_report() {
    let site = site().await;
    let daily = format!("{}/page/daily", site.uri());
    let spn = Spn::start(|s| {
        s.refuse.insert(daily.clone(), "error:too-many-daily-captures");
        s.pending_retry_after = Some("0");
    })
    .await;
    let scratch = scratch(&site, &["a", "daily"]);
    let run = archive_submitting(&scratch, &spn, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = scratch.manifest();
    let copies_of = |manifest: &Value, id: &str| manifest["links"][id]["snapshots"][0]["public_copies"].clone();
    assert_eq!(copies_of(&before, "a").as_array().unwrap().len(), 1, "{before:#}");
    assert_eq!(copies_of(&before, "daily").as_array().unwrap().len(), 1, "{before:#}");

    std::fs::remove_file(scratch.archive.join("manifest.json")).unwrap();
    let repair = scratch.run(&["repair"]).await;
    assert!(repair.code <= 1, "{}", repair.stderr);
    let after = scratch.manifest();
    for id in ["a", "daily"] {
        assert_eq!(copies_of(&after, id), copies_of(&before, id), "{id}: {after:#}");
    }
}
