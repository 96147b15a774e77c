//! Forward proxies for http:// URLs: `HTTP_PROXY`, `--proxy`, and `NO_PROXY` bypassing them.
//! Guards issue #2.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::proxy::Proxy;
use crate::support::{Outcome, check_cmd, links_file, run_check, run_check_cmd};

/// A host that cannot resolve: only a proxy can answer for it.
const CITED: &str = "http://cited.invalid/doc";

#[tokio::test(flavor = "multi_thread")]
async fn http_proxy_env_is_used() {
    let proxy = Proxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("cited", CITED.into())]);
    let mut cmd = check_cmd(&links, &["--retries", "0"]);
    cmd.env("HTTP_PROXY", &proxy.url);

    let (code, report, stderr) = run_check_cmd(cmd).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report.get("cited").outcome, Outcome::Ok);
    assert_eq!(proxy.seen()[0], CITED, "the proxy gets the absolute-form URI");
    assert_only_cited_host(&proxy.seen());
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_flag_is_used() {
    let proxy = Proxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("cited", CITED.into())]);

    let (code, report, stderr) = run_check(&links, &["--retries", "0", "--proxy", &proxy.url]).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report.get("cited").outcome, Outcome::Ok);
    assert_eq!(proxy.seen()[0], CITED);
    assert_only_cited_host(&proxy.seen());
}

/// The proxy saw the cited URL and at most the soft-404 probe beside it: the probe goes
/// through the proxy too.
fn assert_only_cited_host(seen: &[String]) {
    assert!(seen.len() <= 2, "{seen:?}");
    assert!(
        seen[1..]
            .iter()
            .all(|u| u.starts_with("http://cited.invalid/linkkeep-probe-")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_goes_direct() {
    let proxy = Proxy::start().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("local", format!("{}/doc", server.uri()))]);
    let mut cmd = check_cmd(&links, &["--retries", "0"]);
    cmd.env("HTTP_PROXY", &proxy.url).env("NO_PROXY", "127.0.0.1");

    let (code, report, stderr) = run_check_cmd(cmd).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report.get("local").outcome, Outcome::Ok);
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.url.path() == "/doc" || r.url.path().starts_with("/linkkeep-probe-"))
    );
    assert!(proxy.seen().is_empty(), "proxy saw {:?}", proxy.seen());
}
