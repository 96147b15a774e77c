//! TLS trust: a certificate from an unknown CA fails; `--ca-cert`, `SSL_CERT_FILE` and
//! `--insecure` make it pass. Guards issue #2.

use assert_cmd::Command;

use crate::support::tls::TlsServer;
use crate::support::{Outcome, Report, assert_error_line, check_cmd, links_file, run_check_cmd};

/// Checks the TLS server's URL; `configure` adds flags or env given the CA's PEM path.
async fn check(configure: impl FnOnce(&mut Command, &str)) -> (i32, Report) {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start(dir.path()).await;
    let links = links_file(dir.path(), &[("secure", server.url.clone())]);
    let mut cmd = check_cmd(&links, &["--retries", "0"]);
    configure(&mut cmd, server.ca_pem.to_str().unwrap());
    let (code, report, _) = run_check_cmd(cmd).await;
    (code, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ca_is_rejected() {
    let (code, report) = check(|_, _| {}).await;

    assert_eq!(code, 1);
    let r = report.get("secure");
    assert_eq!(r.outcome, Outcome::NetworkError, "{r:?}");
    assert_error_line(r);
}

#[tokio::test(flavor = "multi_thread")]
async fn ca_cert_flag_adds_a_root() {
    let (code, report) = check(|cmd, ca| {
        cmd.args(["--ca-cert", ca]);
    })
    .await;

    assert_eq!(code, 0);
    let r = report.get("secure");
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.http_status, Some(200));
}

#[tokio::test(flavor = "multi_thread")]
async fn ssl_cert_file_env_adds_a_root() {
    let (code, report) = check(|cmd, ca| {
        cmd.env("SSL_CERT_FILE", ca);
    })
    .await;

    assert_eq!(code, 0);
    assert_eq!(report.get("secure").outcome, Outcome::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_skips_verification() {
    let (code, report) = check(|cmd, _| {
        cmd.arg("--insecure");
    })
    .await;

    assert_eq!(code, 0);
    assert_eq!(report.get("secure").outcome, Outcome::Ok);
}
