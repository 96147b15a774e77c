//! linkkeep.toml and the user's configuration file: precedence (flag > project file > user
//! file > default), errors that name file, line and column before any request, `${VAR}`
//! header values that are sent and written nowhere, `linkkeep config --explain`, and
//! `--resolve`/`resolve`. Guards issue #17.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::http::{bind, reply, spawn_server};
use crate::support::{linkkeep, links_file, run, write_file};

/// A project directory with links.json (one link to `url`) and a user configuration
/// directory beside it, for `XDG_CONFIG_HOME`.
struct Project {
    dir: tempfile::TempDir,
    links: PathBuf,
}

impl Project {
    fn new(url: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("project")).unwrap();
        let links = links_file(&dir.path().join("project"), &[("doc", url)]);
        Self { dir, links }
    }

    fn project_dir(&self) -> &Path {
        self.links.parent().unwrap()
    }

    fn xdg(&self) -> PathBuf {
        self.dir.path().join("xdg")
    }

    /// Writes the project file, linkkeep.toml beside links.json.
    fn project_file(&self, text: &str) -> PathBuf {
        write_file(self.project_dir(), "linkkeep.toml", text)
    }

    /// Writes the user file, `$XDG_CONFIG_HOME/linkkeep/config.toml`.
    fn user_file(&self, text: &str) -> PathBuf {
        let dir = self.xdg().join("linkkeep");
        std::fs::create_dir_all(&dir).unwrap();
        write_file(&dir, "config.toml", text)
    }

    /// `linkkeep --links links.json <args>`, run from the project directory with the user
    /// configuration directory of this project.
    fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = linkkeep();
        cmd.current_dir(self.project_dir())
            .env("XDG_CONFIG_HOME", self.xdg())
            .arg("--links")
            .arg(&self.links)
            .args(args);
        cmd
    }
}

/// A server whose `/doc` always answers 503, so that the requests it receives count the
/// attempts (1 + retries).
async fn failing_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    server
}

/// Runs `check` and returns the attempts the server saw and the report as printed.
async fn attempts_and_report(project: &Project, server: &MockServer, args: &[&str]) -> (usize, String) {
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(server)
        .await;
    let mut all = vec!["check", "--no-progress", "--no-soft-404"];
    all.extend_from_slice(args);
    let done = run(project.cmd(&all)).await;
    assert_eq!(done.code, 1, "the link fails; stderr: {}", done.stderr);
    (server.received_requests().await.unwrap().len(), done.stdout)
}

/// Which report format `stdout` is in.
fn format_of(stdout: &str) -> &'static str {
    let text = stdout.trim_start();
    if text.starts_with('{') {
        "json"
    } else if text.starts_with("<?xml") {
        "junit"
    } else if text.starts_with('|') || text.starts_with('#') {
        "markdown"
    } else {
        "human"
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_win_over_the_project_file_which_wins_over_the_user_file_which_wins_over_defaults() {
    let server = failing_server().await;
    let project = Project::new(format!("{}/doc", server.uri()));

    // Nothing configured: the default retries (3) and the human report.
    let (attempts, stdout) = attempts_and_report(&project, &server, &["--retry-wait", "0"]).await;
    assert_eq!((attempts, format_of(&stdout)), (4, "human"), "defaults\n{stdout}");

    // The user file alone.
    project.user_file("retries = 1\nretry_wait = 0\nformat = \"markdown\"\n");
    let (attempts, stdout) = attempts_and_report(&project, &server, &[]).await;
    assert_eq!((attempts, format_of(&stdout)), (2, "markdown"), "user file\n{stdout}");

    // The project file wins over the user file; what it leaves out (retry_wait) still comes
    // from the user file.
    project.project_file("retries = 2\nformat = \"json\"\n");
    let (attempts, stdout) = attempts_and_report(&project, &server, &[]).await;
    assert_eq!((attempts, format_of(&stdout)), (3, "json"), "project file\n{stdout}");

    // Flags win over both.
    let (attempts, stdout) = attempts_and_report(&project, &server, &["--retries", "0", "--format", "junit"]).await;
    assert_eq!((attempts, format_of(&stdout)), (1, "junit"), "flags\n{stdout}");

    // `config --explain` tells the same story, naming each value's source.
    let done = run(project.cmd(&["config", "--explain", "--format", "junit"])).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    let project_file = project.project_dir().join("linkkeep.toml");
    let user_file = project.xdg().join("linkkeep/config.toml");
    let line = |key: &str| {
        done.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no `{key}` in\n{}", done.stdout))
            .to_owned()
    };
    assert_eq!(line("format"), "format = \"junit\"  # flag");
    assert_eq!(
        line("retries"),
        format!("retries = 2  # {}:1:11", project_file.display())
    );
    assert_eq!(
        line("retry_wait"),
        format!("retry_wait = 0.0  # {}:2:14", user_file.display())
    );
    assert_eq!(line("timeout"), "timeout = 30.0  # default");
    assert!(
        done.stdout
            .lines()
            .next()
            .unwrap()
            .contains(&project_file.display().to_string()),
        "the files read are named first:\n{}",
        done.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_explain_names_the_source_of_every_value() {
    let project = Project::new("http://127.0.0.1:9/doc".into());
    project.user_file("concurrency = 8\n");
    project.project_file(
        "# comment\ntimeout = 12\n\n[[hosts]]\nhost = \"*.unctad.org\"\ninterval = 2.5\n\n\
         [[hosts]]\nhost_regex = '^(www\\.)?twn\\.my$'\nheaders = { Cookie = \"consent=yes\" }\n",
    );
    let done = run(project.cmd(&["config", "--explain", "--per-host", "1"])).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    let project_file = project.project_dir().join("linkkeep.toml").display().to_string();
    let user_file = project.xdg().join("linkkeep/config.toml").display().to_string();
    let mut keys = 0;
    for line in done.stdout.lines().skip(1) {
        if line.is_empty() || line.starts_with("[[hosts]]") || !line.contains(" = ") && !line.starts_with("# ") {
            continue;
        }
        if ["host = ", "interval = ", "host_regex = ", "headers = { \"cookie\""]
            .iter()
            .any(|k| line.starts_with(k))
        {
            continue; // Inside the rule, whose header names its place.
        }
        let (_, source) = line
            .rsplit_once("  # ")
            .unwrap_or_else(|| panic!("`{line}` names no source in\n{}", done.stdout));
        let expected = match line.split([' ', ':']).find(|w| !w.is_empty() && *w != "#").unwrap() {
            "per_host" | "links" => "flag".to_owned(),
            "timeout" => format!("{project_file}:2:11"),
            "concurrency" => format!("{user_file}:1:15"),
            _ => "default".to_owned(),
        };
        assert_eq!(source, expected, "the source of `{line}`");
        keys += 1;
    }
    assert!(keys >= 40, "every key is listed, {keys} were:\n{}", done.stdout);
    assert!(
        done.stdout.contains(&format!("[[hosts]]  # {project_file}:4")),
        "the rule names its place:\n{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("host = [\"*.unctad.org\"]\ninterval = 2.5\n"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout
            .contains("host_regex = ['^(www\\.)?twn\\.my$']\nheaders = { \"cookie\" = \"[redacted]\" }\n"),
        "{}",
        done.stdout
    );

    // Without --explain, the output is a configuration file linkkeep reads back as it is.
    let plain = run(project.cmd(&["config"])).await;
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains("default"), "{}", plain.stdout);
    let copy = write_file(project.dir.path(), "copy.toml", &plain.stdout);
    let again = run(project.cmd(&["--config", copy.to_str().unwrap(), "config"])).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout.lines().skip(1).collect::<Vec<_>>(),
        plain.stdout.lines().skip(1).collect::<Vec<_>>()
    );
}

/// Runs `check` against a server with `linkkeep.toml` holding `text`; asserts exit 2, an error
/// naming the file, `line` and `column`, and no request at the server.
async fn assert_refused(text: &str, line: usize, column: usize, says: &str) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let project = Project::new(format!("{}/doc", server.uri()));
    let file = project.project_file(text);
    let done = run(project.cmd(&["archive", "--no-progress"])).await;
    assert_eq!(done.code, 2, "{text:?}: stderr {}", done.stderr);
    let place = format!("{}:{line}:{column}: ", file.display());
    assert!(
        done.stderr.contains(&place) && done.stderr.contains(says),
        "{text:?}: expected `{place}` and `{says}` in\n{}",
        done.stderr
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        0,
        "{text:?}: a request was made"
    );
    assert!(
        !project.project_dir().join("archive").exists(),
        "{text:?}: the archive was created"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_exits_2_naming_file_line_and_column_before_any_request() {
    assert_refused("timeout = 5\nper_hots = 2\n", 2, 1, "unknown field `per_hots`").await;
    assert_refused(
        "[[hosts]]\nhost = \"example.org\"\nintervall = 2\n",
        3,
        1,
        "unknown field `intervall`",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_value_exits_2_naming_file_line_and_column_before_any_request() {
    assert_refused("\ntimeout = -1\n", 2, 11, "must be more than zero").await;
    assert_refused(
        "accept = \"200..=299,abc\"\n",
        1,
        10,
        "`abc` is not an HTTP status code",
    )
    .await;
    assert_refused("max_size = \"2 parsecs\"\n", 1, 12, "unknown size unit").await;
    assert_refused("format = \"xml\"\n", 1, 10, "`xml` is not one of").await;
    assert_refused("[[hosts]]\nhost = \"a.org/x\"\n", 2, 8, "is not a host pattern").await;
    assert_refused(
        "[[hosts]]\nhost = \"a.org\"\nper_host = 0\n",
        3,
        12,
        "must be at least 1",
    )
    .await;
    assert_refused("[[hosts]]\nper_host = 1\n", 1, 1, "needs `host`").await;
    assert_refused(
        "ca_cert = \"certs/missing.pem\"\n",
        1,
        11,
        "missing.pem is not a readable file",
    )
    .await;
    assert_refused("skip_cosmetic = true\nno_text = true\n", 2, 11, "cannot both be on").await;
    assert_refused("\nshard = \"2/2\"\n", 2, 9, "shard 2/2: K must be below N").await;
    assert_refused("shard = \"two of four\"\n", 1, 9, "expected K/N").await;
    assert_refused("shard = 1\n", 1, 9, "invalid type").await;
    // A wrong type, and broken TOML.
    assert_refused("retries = \"three\"\n", 1, 11, "invalid type").await;
    assert_refused("timeout = \n", 1, 11, "").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_variable_is_named_before_any_request() {
    let text = "[[hosts]]\nhost = \"127.0.0.1\"\nheaders = { Authorization = \"Bearer ${LINKKEEP_TEST_UNSET}\" }\n";
    assert_refused(text, 3, 29, "the environment variable LINKKEEP_TEST_UNSET is not set").await;
    assert_refused(
        "headers = { X-Key = \"${LINKKEEP_TEST_UNSET}\" }\n",
        1,
        21,
        "LINKKEEP_TEST_UNSET",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_config_file_given_by_flag_is_an_error() {
    let project = Project::new("http://127.0.0.1:9/doc".into());
    let done = run(project.cmd(&["--config", "nowhere.toml", "check"])).await;
    assert_eq!(done.code, 2);
    assert!(done.stderr.contains("nowhere.toml"), "{}", done.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_flag_replaces_the_project_file_and_its_paths_are_relative_to_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("cited"))
        .mount(&server)
        .await;
    let project = Project::new(format!("{}/doc", server.uri()));
    project.project_file("format = \"junit\"\n");
    let elsewhere = project.dir.path().join("ci");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let config = write_file(
        &elsewhere,
        "ci.toml",
        "archive = \"store\"\nformat = \"json\"\noutput = \"report.json\"\n",
    );
    let done = run(project.cmd(&["--config", config.to_str().unwrap(), "archive", "--no-progress"])).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(
        elsewhere.join("store/manifest.json").is_file(),
        "the archive is beside ci.toml"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(elsewhere.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["command"], "archive",
        "the project file's junit format was not used"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn header_values_from_the_environment_are_sent_and_written_nowhere() {
    const TOKEN: &str = "tok-5ecret-from-env-7f3a";
    const KEY: &str = "key-5ecret-from-env-91c2";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/doc"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string("<title>Cited</title>the cited text"))
        .mount(&server)
        .await;
    let project = Project::new(format!("{}/doc", server.uri()));
    project.project_file(
        "headers = { X-Api-Key = \"${LINKKEEP_TEST_KEY}\" }\n\n\
         [[hosts]]\nhost = \"127.0.0.1\"\nheaders = { Authorization = \"Bearer ${LINKKEEP_TEST_TOKEN}\" }\n",
    );
    let report = project.project_dir().join("report.json");
    let mut cmd = project.cmd(&[
        "-vv",
        "archive",
        "--no-progress",
        "--format",
        "json",
        "-o",
        "report.json",
    ]);
    cmd.env("LINKKEEP_TEST_TOKEN", TOKEN).env("LINKKEEP_TEST_KEY", KEY);
    let done = run(cmd).await;
    assert_eq!(done.code, 0, "the server wants both headers; stderr: {}", done.stderr);
    assert!(report.is_file());

    // The WARC request record says the headers were sent, without their values.
    let archive = project.project_dir().join("archive");
    let mut warc_text = String::new();
    for file in all_files(&archive) {
        let bytes = std::fs::read(&file).unwrap();
        let text = if file.extension().is_some_and(|e| e == "gz") {
            let mut out = String::new();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out).unwrap();
            out
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        if file.to_string_lossy().contains(".warc") {
            warc_text.push_str(&text);
        }
        for secret in [TOKEN, KEY] {
            assert!(!text.contains(secret), "{} holds a secret", file.display());
            let raw = String::from_utf8_lossy(&bytes);
            assert!(!raw.contains(secret), "{} holds a secret", file.display());
        }
    }
    assert!(warc_text.contains("authorization: [redacted]"), "{warc_text}");
    assert!(warc_text.contains("x-api-key: [redacted]"), "{warc_text}");
    for secret in [TOKEN, KEY] {
        assert!(
            !std::fs::read_to_string(&report).unwrap().contains(secret),
            "the report"
        );
        assert!(!done.stderr.contains(secret), "the log: {}", done.stderr);
        assert!(!done.stdout.contains(secret), "stdout");
    }

    // `linkkeep config` shows where the values come from, never the values.
    let mut cmd = project.cmd(&["config", "--explain"]);
    cmd.env("LINKKEEP_TEST_TOKEN", TOKEN).env("LINKKEEP_TEST_KEY", KEY);
    let shown = run(cmd).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("\"${LINKKEEP_TEST_KEY}\""), "{}", shown.stdout);
    assert!(
        !shown.stdout.contains(TOKEN) && !shown.stdout.contains(KEY),
        "{}",
        shown.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_sends_a_request_for_a_name_to_127_0_0_1() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/doc"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let port = server.address().port();
    let project = Project::new(format!("http://cited.invalid:{port}/doc"));

    // The name cannot be resolved (`.invalid` never is), so only --resolve makes it answer.
    let done = run(project.cmd(&["check", "--no-soft-404", "--format", "json"])).await;
    assert_eq!(done.code, 1, "{}", done.stdout);
    assert_eq!(server.received_requests().await.unwrap().len(), 0);

    let entry = format!("cited.invalid:{port}:127.0.0.1");
    let done = run(project.cmd(&["check", "--no-soft-404", "--resolve", &entry])).await;
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let host = requests[0].headers.get("host").unwrap().to_str().unwrap();
    assert_eq!(host, format!("cited.invalid:{port}"), "the request names the host");

    // The same from the `resolve` key.
    project.project_file(&format!("resolve = [\"{entry}\"]\n"));
    let done = run(project.cmd(&["check", "--no-soft-404"])).await;
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// Every file under `dir`.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(all_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_that_make_no_request_need_no_variables() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<title>Cited</title><p>the cited text</p>", "text/html"))
        .mount(&server)
        .await;
    let project = Project::new(format!("{}/doc", server.uri()));
    // Every path answers alike: no sibling probes, or the page would be a soft-404.
    project.project_file(
        "no_soft_404 = true\n[[hosts]]\nhost = \"127.0.0.1\"\nheaders = { X-Token = \"${LINKKEEP_TEST_TOKEN}\" }\n",
    );
    let mut archive = project.cmd(&["archive", "--no-progress"]);
    archive.env("LINKKEEP_TEST_TOKEN", "t");
    let done = run(archive).await;
    assert_eq!(done.code, 0, "{}", done.stderr);

    // A reader's machine without the token can still verify, list, read and compare.
    for args in [
        &["verify"][..],
        &["status"],
        &["get", "doc"],
        &["diff", "doc"],
        &["config", "--help"],
    ] {
        let done = run(project.cmd(args)).await;
        assert_eq!(done.code, 0, "{args:?}: {}", done.stderr);
    }
    // What would make a request needs it, and says so.
    for args in [&["verify", "--live"][..], &["check"], &["diff", "doc", "--to", "live"]] {
        let done = run(project.cmd(args)).await;
        assert_eq!(done.code, 2, "{args:?}: {}", done.stderr);
        assert!(
            done.stderr.contains("LINKKEEP_TEST_TOKEN is not set"),
            "{args:?}: {}",
            done.stderr
        );
    }
}

/// A server that records when each request arrived and the `Authorization` it carried, and
/// answers 200, or 401 to requests without `wants` as their `Authorization` when given.
struct Recorder {
    port: u16,
    seen: Arc<Mutex<Vec<Arrival>>>,
}

/// When a request arrived, and its `Authorization`.
type Arrival = (Instant, Option<String>);

impl Recorder {
    async fn start(wants: Option<String>) -> Self {
        let (listener, port) = bind().await;
        let seen: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let log = seen.clone();
        spawn_server(listener, move |request| {
            let (log, wants) = (log.clone(), wants.clone());
            async move {
                let auth = request
                    .headers()
                    .get("authorization")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                log.lock().unwrap().push((Instant::now(), auth.clone()));
                match wants {
                    Some(wants) if auth.as_deref() != Some(wants.as_str()) => reply(401, "who are you?"),
                    _ => reply(200, "the cited text"),
                }
            }
        });
        Self { port, seen }
    }

    fn seen(&self) -> Vec<Arrival> {
        self.seen.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn linkkeep_toml_makes_archive_polite_to_a_throttled_host_and_authorised_at_a_token_host() {
    const TOKEN: &str = "publisher-token-3b9d71";
    const INTERVAL: Duration = Duration::from_millis(300);
    let portal = Recorder::start(None).await;
    let publisher = Recorder::start(Some(format!("Bearer {TOKEN}"))).await;
    let dir = tempfile::tempdir().unwrap();
    let mut links: Vec<(String, String)> = (1..=4)
        .map(|n| {
            (
                format!("report-{n}"),
                format!("http://portal.test:{}/doc{n}.pdf", portal.port),
            )
        })
        .collect();
    links.push((
        "article".into(),
        format!("http://publisher.test:{}/article", publisher.port),
    ));
    links.push((
        "analysis".into(),
        format!("http://publisher.test:{}/analysis", publisher.port),
    ));
    let links: Vec<(&str, String)> = links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    links_file(dir.path(), &links);
    write_file(
        dir.path(),
        "linkkeep.toml",
        &format!(
            "resolve = [\"portal.test:{}:127.0.0.1\", \"publisher.test:{}:127.0.0.1\"]\n\
             no_soft_404 = true\n\n\
             [[hosts]]\nhost = \"portal.test\"\nper_host = 1\ninterval = {}\n\n\
             [[hosts]]\nhost = \"publisher.test\"\n\
             headers = {{ Authorization = \"Bearer ${{LINKKEEP_TEST_PUBLISHER_TOKEN}}\" }}\n",
            portal.port,
            publisher.port,
            INTERVAL.as_secs_f64()
        ),
    );

    let mut cmd = linkkeep();
    cmd.current_dir(dir.path())
        .args([
            "-vv",
            "archive",
            "--no-progress",
            "--format",
            "json",
            "-o",
            "report.json",
        ])
        .env("LINKKEEP_TEST_PUBLISHER_TOKEN", TOKEN);
    let done = run(cmd).await;
    assert_eq!(done.code, 0, "{}", done.stderr);

    // Polite to the portal: one request at a time, their starts at least the interval apart
    // (less a little loopback jitter between sending and arriving).
    let mut arrivals: Vec<Instant> = portal.seen().iter().map(|(at, _)| *at).collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), 4);
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= INTERVAL - Duration::from_millis(15),
            "requests to the portal {gap:?} apart"
        );
    }
    // Authorised at the publisher, and the token went nowhere else.
    let publisher_seen = publisher.seen();
    assert_eq!(publisher_seen.len(), 2);
    assert!(
        publisher_seen
            .iter()
            .all(|(_, auth)| auth.as_deref() == Some(&*format!("Bearer {TOKEN}")))
    );
    assert!(
        portal.seen().iter().all(|(_, auth)| auth.is_none()),
        "the portal got the token"
    );

    // The token is nowhere in the archive, the report or the log.
    for file in all_files(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if file.extension().is_some_and(|e| e == "gz") {
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut text).unwrap();
        }
        assert!(!text.contains(TOKEN), "{} holds the token", file.display());
    }
    assert!(!done.stderr.contains(TOKEN) && !done.stdout.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn shard_from_a_file_chooses_the_links_and_a_flag_wins_over_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let port = server.address().port();
    let project = Project::new(String::new());
    // One site on each shard of 2 (issue #18).
    let site_on = |k: u32| {
        (0..)
            .map(|i| format!("site{i}.test"))
            .find(|s| linkkeep::shard::Shard::new(k, 2).unwrap().holds_host(s))
            .unwrap()
    };
    let (zero, one) = (site_on(0), site_on(1));
    links_file(
        project.project_dir(),
        &[
            ("on-zero", format!("http://www.{zero}:{port}/zero")),
            ("on-one", format!("http://{one}:{port}/one")),
        ],
    );
    project.user_file("shard = \"0/2\"\n");
    let file = project.project_file(&format!(
        "no_soft_404 = true\nresolve = [\"www.{zero}:{port}:127.0.0.1\", \"{one}:{port}:127.0.0.1\"]\nshard = \"1/2\"\n"
    ));
    let ran = |done: &crate::support::Run| -> (Option<String>, Vec<String>) {
        let report: crate::support::Report = serde_json::from_str(&done.stdout).unwrap();
        (report.shard, report.results.into_iter().map(|r| r.id).collect())
    };

    // The project file's shard wins over the user file's.
    let done = run(project.cmd(&["check", "--format", "json"])).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(ran(&done), (Some("1/2".into()), vec!["on-one".into()]));
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/one"], "only the shard's link is fetched");

    // A flag wins over both.
    let done = run(project.cmd(&["check", "--format", "json", "--shard", "0/2"])).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(ran(&done), (Some("0/2".into()), vec!["on-zero".into()]));

    // `config --explain` names where the shard came from.
    let line = |stdout: &str| stdout.lines().find(|l| l.starts_with("shard")).map(str::to_owned);
    let done = run(project.cmd(&["config", "--explain"])).await;
    assert_eq!(
        line(&done.stdout),
        Some(format!("shard = \"1/2\"  # {}:3:9", file.display())),
        "{}",
        done.stdout
    );
    let done = run(project.cmd(&["config", "--explain", "--shard", "0/1"])).await;
    assert_eq!(line(&done.stdout).as_deref(), Some("shard = \"0/1\"  # flag"));

    // Without a shard anywhere, every link runs and the report has no `shard`.
    std::fs::remove_file(project.xdg().join("linkkeep/config.toml")).unwrap();
    project.project_file(&format!(
        "no_soft_404 = true\nresolve = [\"www.{zero}:{port}:127.0.0.1\", \"{one}:{port}:127.0.0.1\"]\n"
    ));
    let done = run(project.cmd(&["check", "--format", "json"])).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(!done.stdout.contains("\"shard\""), "{}", done.stdout);
    assert_eq!(ran(&done), (None, vec!["on-zero".into(), "on-one".into()]));
    let done = run(project.cmd(&["config", "--explain"])).await;
    assert!(
        done.stdout.contains("# shard: not set (every link)  # default"),
        "{}",
        done.stdout
    );
}
