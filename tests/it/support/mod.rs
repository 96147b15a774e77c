//! Shared test helpers: links files, running the binary hermetically, the report's wire format,
//! and the hand-built servers (raw TCP, concurrency counting, proxy, TLS).

pub mod archive;
pub mod bodies;
pub mod browser;
pub mod counting;
pub mod floods;
pub mod gate;
pub mod http;
pub mod old_archive;
pub mod payloads;
pub mod peak;
pub mod proxy;
pub mod pytools;
pub mod raw;
pub mod repair;
pub mod replayweb;
pub mod report;
pub mod s3;
pub mod serve;
pub mod tls;
pub mod verify;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

pub use report::{LinkResult, Outcome, Report};

/// The longest any single run of the binary may take before the test fails instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Whether the tests run under CI: `CI` set and not empty, as GitHub Actions and `.ci/run` set
/// it (and as linkkeep itself reads it).
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// The one way a test skips: it cannot run here because `why` (a tool it drives is missing,
/// say). Outside CI it says so on the terminal (`SKIPPED <test>: <why>`) and the caller
/// returns; under CI it fails, since `.ci/run` installs everything the tests need, and a skip
/// there would let CI pass with the test never run.
#[track_caller]
pub fn skip_or_fail(why: &str) {
    // Straight to the process's stderr, not through `eprintln!`: libtest captures what the print
    // macros write and shows it only for a failing test, so a skip would pass unseen.
    skip_or_fail_under(under_ci(), why, &mut std::io::stderr());
}

/// [`skip_or_fail`], as if `CI` were set when `ci`, saying so to `out`.
#[track_caller]
pub fn skip_or_fail_under(ci: bool, why: &str, out: &mut dyn std::io::Write) {
    // libtest runs each test on a thread named after it.
    let current = std::thread::current();
    let test = current.name().unwrap_or("this test");
    assert!(
        !ci,
        "{test} cannot run: {why}; CI is set, where no test may skip (.ci/run installs what the tests need)"
    );
    let _ = writeln!(out, "SKIPPED {test}: {why}");
}

#[test]
#[should_panic(expected = "CI is set, where no test may skip")]
fn skipping_under_ci_fails_the_test() {
    skip_or_fail_under(true, "chromium not found", &mut Vec::new());
}

#[test]
fn skipping_outside_ci_says_so_naming_the_test_and_the_reason() {
    let mut said = Vec::new();
    skip_or_fail_under(false, "chromium not found", &mut said);
    assert_eq!(
        String::from_utf8(said).unwrap(),
        "SKIPPED support::skipping_outside_ci_says_so_naming_the_test_and_the_reason: chromium not found\n"
    );
}

/// A skip outside CI reaches the terminal of whoever runs `cargo test`: run in a test binary
/// whose output libtest captures, the line is still on the process's stderr.
#[test]
fn a_skip_outside_ci_is_seen_though_libtest_captures_the_tests_output() {
    if std::env::var_os("LINKKEEP_TEST_SKIP_PROBE").is_some() {
        skip_or_fail("the probe skips");
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "support::a_skip_outside_ci_is_seen_though_libtest_captures_the_tests_output",
        ])
        .env("LINKKEEP_TEST_SKIP_PROBE", "1")
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "SKIPPED support::a_skip_outside_ci_is_seen_though_libtest_captures_the_tests_output: the probe skips"
        ),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Writes a version-1 `links.json` with the given `(id, url)` entries and returns its path.
pub fn links_file(dir: &Path, links: &[(&str, String)]) -> PathBuf {
    let entries: Vec<_> = links
        .iter()
        .map(|(id, url)| serde_json::json!({ "id": id, "url": url }))
        .collect();
    let doc = serde_json::json!({ "version": 1, "links": entries });
    write_file(dir, "links.json", &serde_json::to_string_pretty(&doc).unwrap())
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Variables of the machine running the tests that would change what the binary does.
const LEAKY_ENV: [&str; 13] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "RUST_LOG",
];

/// A configuration directory that does not exist, so that the user configuration of the
/// machine running the tests (`~/.config/linkkeep/config.toml`) is never read.
pub const NO_USER_CONFIG: &str = "/nonexistent/linkkeep-tests/config";

/// The binary with an environment that cannot leak in from the machine running the tests:
/// no proxies, no extra CA bundles, no colour preference, and `CI=true` so no progress bar.
pub fn linkkeep() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("linkkeep").unwrap();
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    cmd.env("CI", "true")
        .env("XDG_CONFIG_HOME", NO_USER_CONFIG)
        .timeout(RUN_LIMIT);
    cmd
}

/// [`linkkeep`] as a plain process, for tests that watch it while it runs.
pub fn linkkeep_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_linkkeep"));
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    cmd.env("CI", "true").env("XDG_CONFIG_HOME", NO_USER_CONFIG);
    cmd
}

/// A finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` off the async runtime, so servers in this test process keep serving meanwhile.
pub async fn run(mut cmd: assert_cmd::Command) -> Run {
    let output: Output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let Some(code) = output.status.code() else {
        panic!("linkkeep was killed (hung past {RUN_LIMIT:?}?)\nstderr:\n{stderr}");
    };
    Run { code, stdout, stderr }
}

/// `linkkeep --links <links> check --no-progress <args>`, run from the links file's directory.
pub fn check_plain(links: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = linkkeep();
    cmd.current_dir(links.parent().unwrap())
        .arg("--links")
        .arg(links)
        .args(["check", "--no-progress"])
        .args(args);
    cmd
}

/// [`check_plain`] with `--format json`, ready for [`run_check_cmd`].
pub fn check_cmd(links: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = check_plain(links, &["--format", "json"]);
    cmd.args(args);
    cmd
}

/// Runs `check` with a JSON report on stdout and returns (exit code, parsed report, stderr).
pub async fn run_check(links: &Path, args: &[&str]) -> (i32, Report, String) {
    run_check_cmd(check_cmd(links, args)).await
}

/// Like [`run_check`] for a command prepared with [`check_cmd`] (e.g. with extra env vars).
pub async fn run_check_cmd(cmd: assert_cmd::Command) -> (i32, Report, String) {
    let run = run(cmd).await;
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
            run.code, run.stdout, run.stderr
        )
    });
    (run.code, report, run.stderr)
}

/// Asserts the contract for a failed link: a one-line, non-empty `error`.
pub fn assert_error_line(result: &LinkResult) {
    let error = result
        .error
        .as_deref()
        .unwrap_or_else(|| panic!("{}: outcome {:?} without error", result.id, result.outcome));
    assert!(!error.trim().is_empty(), "{}: empty error", result.id);
    assert!(!error.contains('\n'), "{}: multi-line error {error:?}", result.id);
}
