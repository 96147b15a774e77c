//! Request headers: the default and a custom `--user-agent`, and repeatable `-H 'K: V'`.
//! Guards issue #2.

use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Outcome, links_file, run_check};

#[tokio::test(flavor = "multi_thread")]
async fn custom_user_agent_and_headers_reach_the_server() {
    let server = MockServer::start().await;
    // Only a request carrying all three headers gets a 200; anything else gets wiremock's 404.
    Mock::given(method("GET"))
        .and(header("user-agent", "citation-bot/2.0"))
        .and(header("x-test", "1"))
        .and(header("x-other", "two words"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("doc", format!("{}/doc", server.uri()))]);

    let args = [
        "--user-agent",
        "citation-bot/2.0",
        "-H",
        "X-Test: 1",
        "--header",
        "X-Other: two words",
        // A sibling probe would be a second request.
        "--no-soft-404",
    ];
    let (code, report, stderr) = run_check(&links, &args).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report.get("doc").outcome, Outcome::Ok);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let ua = requests[0].headers.get_all("user-agent").iter().count();
    assert_eq!(ua, 1, "exactly one User-Agent header");
}

#[tokio::test(flavor = "multi_thread")]
async fn default_user_agent_names_linkkeep_and_its_version() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("doc", format!("{}/doc", server.uri()))]);

    let (code, _, _) = run_check(&links, &[]).await;

    assert_eq!(code, 0);
    let requests = server.received_requests().await.unwrap();
    let ua = requests[0].headers.get("user-agent").unwrap().to_str().unwrap();
    let expected = format!("linkkeep/{}", env!("CARGO_PKG_VERSION"));
    assert!(ua.starts_with(&expected), "User-Agent {ua:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_given_with_h_stay_on_the_links_own_origin() {
    // The cited page redirects within its origin, then to another origin (`localhost` instead
    // of `127.0.0.1`, the same server): the token and cookie go only as far as the first.
    let server = MockServer::start().await;
    let port = server.address().port();
    let same = format!("http://127.0.0.1:{port}/same");
    let other = format!("http://localhost:{port}/other");
    Mock::given(wiremock::matchers::path("/doc"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", same.as_str()))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path("/same"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", other.as_str()))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path("/other"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("doc", format!("http://127.0.0.1:{port}/doc"))]);
    let args = [
        "-H",
        "Authorization: Bearer s3cret",
        "-H",
        "Cookie: session=s3cret",
        "-H",
        "X-Trace: 7",
        "--no-soft-404",
    ];

    let (code, report, stderr) = run_check(&links, &args).await;

    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report.get("doc").outcome, Outcome::Ok);
    let requests = server.received_requests().await.unwrap();
    let paths: Vec<&str> = requests.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, ["/doc", "/same", "/other"]);
    for request in &requests[..2] {
        assert_eq!(request.headers.get("authorization").unwrap(), "Bearer s3cret");
        assert_eq!(request.headers.get("cookie").unwrap(), "session=s3cret");
    }
    let elsewhere = &requests[2].headers;
    assert!(elsewhere.get("authorization").is_none() && elsewhere.get("cookie").is_none());
    assert_eq!(
        elsewhere.get("x-trace").unwrap(),
        "7",
        "other headers still go everywhere"
    );
}
