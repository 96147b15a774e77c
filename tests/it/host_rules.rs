//! `[[hosts]]` rules in the fetch engine: a rule's settings apply to the requests to the hosts
//! it matches (a link's own, each redirect hop's, each retry), and to no other. The library's
//! `Fetcher` is driven directly with rules built in code; the configuration file that fills
//! them in is tested on its own. Distinct ports of 127.0.0.1 are distinct hosts. Issue #17.

use std::sync::Arc;
use std::time::Duration;

use linkkeep::config::hosts::{HostExclusion, HostPattern, HostRule, HostRules};
use linkkeep::config::{AcceptSet, NetworkConfig};
use linkkeep::fetch::{BodyError, Fetched, Fetcher};
use linkkeep::outcome::Outcome;
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::gate::Gate;
use crate::support::proxy::Proxy;
use crate::support::tls::TlsServer;

/// Loopback jitter allowed between a request's start in the engine and its arrival here.
const JITTER: Duration = Duration::from_millis(10);
/// How long a test waits for what should happen at once before it fails instead of hanging.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// A rule for the hosts (`127.0.0.1:<port>`, or a name) in `hosts`, and nothing set.
fn rule_for(hosts: &[&str]) -> HostRule {
    HostRule {
        origin: "test rule".into(),
        patterns: hosts.iter().map(|h| HostPattern::parse(h).unwrap()).collect(),
        ..HostRule::default()
    }
}

/// `127.0.0.1:<port>` of a base URL.
fn host_of(base: &str) -> String {
    let url = Url::parse(base).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

/// A fetcher with `rules`, the run's settings changed by `tweak`.
fn fetcher(rules: Vec<HostRule>, tweak: impl FnOnce(&mut NetworkConfig)) -> Arc<Fetcher> {
    let mut config = NetworkConfig {
        retry_wait: Duration::ZERO,
        hosts: HostRules(rules),
        ..NetworkConfig::default()
    };
    tweak(&mut config);
    Arc::new(Fetcher::new(config).unwrap())
}

/// Fetches `url`, reading no body.
async fn get(fetcher: &Fetcher, url: &str) -> Fetched<()> {
    let url = Url::parse(url).unwrap();
    fetcher
        .fetch(&url, &HeaderMap::new(), |_response, _deadline| async {
            Ok::<(), BodyError>(())
        })
        .await
}

/// Fetches every URL at once, each on its own task, and returns what became of each.
async fn get_all(fetcher: &Arc<Fetcher>, urls: Vec<String>) -> Vec<Fetched<()>> {
    let mut tasks = tokio::task::JoinSet::new();
    for url in urls {
        let fetcher = Arc::clone(fetcher);
        tasks.spawn(async move { get(&fetcher, &url).await });
    }
    tasks.join_all().await
}

fn assert_all_ok(fetched: &[Fetched<()>]) {
    for f in fetched {
        assert_eq!(f.outcome, Outcome::Ok, "{}: {:?}", f.final_url, f.error);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_interval_spaces_the_requests_to_its_host() {
    let ruled = Gate::start(1).await;
    let interval = Duration::from_millis(300);
    let fetcher = fetcher(
        vec![HostRule {
            interval: Some(interval),
            ..rule_for(&[&host_of(&ruled.base)])
        }],
        |_| {},
    );

    let urls = (0..4).map(|i| format!("{}/doc/{i}", ruled.base)).collect();
    assert_all_ok(&get_all(&fetcher, urls).await);

    let arrivals = ruled.arrivals();
    assert_eq!(arrivals.len(), 4);
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|gap| *gap + JITTER >= interval),
        "requests arrived {gaps:?} apart, under the interval of {interval:?}"
    );
}

/// While a request to a host with a long interval waits for its turn, the other hosts' requests
/// go on: three to another host are in flight at once, under a global limit of three, which
/// could not happen if the waiting request held a global slot, or if the interval applied to
/// other hosts.
#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_a_rules_interval_holds_back_no_other_host() {
    let ruled = Gate::start(1).await;
    let plain = Gate::start(3).await;
    let fetcher = fetcher(
        vec![HostRule {
            interval: Some(Duration::from_secs(600)),
            ..rule_for(&[&host_of(&ruled.base)])
        }],
        |config| config.concurrency = std::num::NonZeroUsize::new(3).unwrap(),
    );
    assert_all_ok(&[get(&fetcher, &format!("{}/first", ruled.base)).await]);
    let waiting = {
        let (fetcher, url) = (Arc::clone(&fetcher), format!("{}/second", ruled.base));
        tokio::spawn(async move { get(&fetcher, &url).await })
    };
    // Gives the second request time to reach its wait, so that a slot it wrongly held would
    // show; the test cannot fail by this wait being too short, only miss a fault.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let urls = (0..3).map(|i| format!("{}/doc/{i}", plain.base)).collect();
    // A bound against hanging for the interval, should it apply to this host too.
    let fetched = tokio::time::timeout(HANG_LIMIT, get_all(&fetcher, urls))
        .await
        .expect("the other host was held back for the interval");
    assert_all_ok(&fetched);

    assert!(
        plain.opened(),
        "the other host never had three requests in flight at once"
    );
    assert_eq!(
        ruled.arrivals().len(),
        1,
        "the second request did not wait for its turn"
    );
    waiting.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_per_host_replaces_the_runs_for_its_host_only() {
    let hold = Duration::from_millis(50);
    let ruled = Gate::holding(2, hold).await;
    let plain = Gate::holding(5, hold).await;
    let fetcher = fetcher(
        vec![HostRule {
            per_host: std::num::NonZeroUsize::new(2),
            ..rule_for(&[&host_of(&ruled.base)])
        }],
        |config| config.per_host = std::num::NonZeroUsize::new(5).unwrap(),
    );

    let urls = (0..12)
        .flat_map(|i| [format!("{}/doc/{i}", ruled.base), format!("{}/doc/{i}", plain.base)])
        .collect();
    assert_all_ok(&get_all(&fetcher, urls).await);

    assert!(ruled.opened(), "the ruled host never had two requests in flight");
    assert_eq!(
        ruled.max_in_flight(),
        2,
        "requests in flight to the host with per_host 2"
    );
    assert!(
        plain.opened(),
        "the other host never had --per-host 5 requests in flight"
    );
    assert_eq!(plain.max_in_flight(), 5);
}

/// A server answering 200 to every GET but `redirects` (path, target), which answer 302.
async fn server_with_redirects(redirects: &[(&str, String)]) -> MockServer {
    let server = MockServer::start().await;
    for (from, to) in redirects {
        Mock::given(method("GET"))
            .and(path(*from))
            .respond_with(ResponseTemplate::new(302).insert_header("location", to.as_str()))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// The value of `name` in each request `server` received, by path.
async fn seen(server: &MockServer, name: &str) -> Vec<(String, Option<String>)> {
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| {
            let value = r.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
            (r.url.path().to_owned(), value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_headers_reach_its_hosts_only_and_follow_redirects_there() {
    let other = server_with_redirects(&[]).await;
    let sibling = server_with_redirects(&[]).await;
    let ruled = server_with_redirects(&[
        ("/to-other", format!("{}/landing", other.uri())),
        ("/to-sibling", format!("{}/landing", sibling.uri())),
    ])
    .await;
    let mut token = HeaderValue::from_static("s3cret");
    token.set_sensitive(true);
    let fetcher = fetcher(
        vec![HostRule {
            headers: vec![(HeaderName::from_static("x-token"), token)],
            user_agent: Some(HeaderValue::from_static("ruled-agent/1")),
            ..rule_for(&[&host_of(&ruled.uri()), &host_of(&sibling.uri())])
        }],
        |config| config.headers = vec![(HeaderName::from_static("x-run"), HeaderValue::from_static("1"))],
    );

    let urls = vec![
        format!("{}/doc", ruled.uri()),
        format!("{}/doc", other.uri()),
        format!("{}/to-other", ruled.uri()),
        format!("{}/to-sibling", ruled.uri()),
    ];
    for url in urls {
        assert_all_ok(&[get(&fetcher, &url).await]);
    }

    let token = |path: &str| (path.to_owned(), Some("s3cret".to_owned()));
    let none = |path: &str| (path.to_owned(), None);
    assert_eq!(
        seen(&ruled, "x-token").await,
        [token("/doc"), token("/to-other"), token("/to-sibling")]
    );
    assert_eq!(seen(&other, "x-token").await, [none("/doc"), none("/landing")]);
    assert_eq!(seen(&sibling, "x-token").await, [token("/landing")]);
    // The rule's user agent likewise; the run's own headers go everywhere.
    let agents = seen(&other, "user-agent").await;
    assert!(
        agents
            .iter()
            .all(|(_, ua)| ua.as_deref().is_some_and(|ua| ua.starts_with("linkkeep/"))),
        "{agents:?}"
    );
    let agents = seen(&ruled, "user-agent").await;
    assert!(
        agents.iter().all(|(_, ua)| ua.as_deref() == Some("ruled-agent/1")),
        "{agents:?}"
    );
    for server in [&ruled, &other, &sibling] {
        assert!(
            seen(server, "x-run")
                .await
                .iter()
                .all(|(_, v)| v.as_deref() == Some("1"))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_accept_retries_and_timeout_apply_to_its_host_only() {
    let mut servers = Vec::new();
    for _ in 0..2 {
        let server = MockServer::start().await;
        let at = |p: &'static str, response: ResponseTemplate| {
            Mock::given(method("GET")).and(path(p)).respond_with(response)
        };
        at("/forbidden", ResponseTemplate::new(403)).mount(&server).await;
        at("/unavailable", ResponseTemplate::new(503)).mount(&server).await;
        at("/slow", ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .mount(&server)
            .await;
        servers.push(server);
    }
    let (ruled, plain) = (&servers[0], &servers[1]);
    let fetcher = fetcher(
        vec![HostRule {
            accept: Some(AcceptSet::parse("200..=299,403").unwrap()),
            retries: Some(0),
            timeout: Some(Duration::from_millis(300)),
            ..rule_for(&[&host_of(&ruled.uri())])
        }],
        |config| config.retries = 2,
    );

    let forbidden = get(&fetcher, &format!("{}/forbidden", ruled.uri())).await;
    assert_eq!(forbidden.outcome, Outcome::Ok, "the rule's accept");
    let forbidden = get(&fetcher, &format!("{}/forbidden", plain.uri())).await;
    assert_eq!(forbidden.outcome, Outcome::HttpError, "the run's accept");

    let unavailable = get(&fetcher, &format!("{}/unavailable", ruled.uri())).await;
    assert_eq!(
        (unavailable.outcome, unavailable.attempts),
        (Outcome::HttpError, 1),
        "the rule's retries"
    );
    let unavailable = get(&fetcher, &format!("{}/unavailable", plain.uri())).await;
    assert_eq!(
        (unavailable.outcome, unavailable.attempts),
        (Outcome::HttpError, 3),
        "the run's retries"
    );

    let slow = get(&fetcher, &format!("{}/slow", ruled.uri())).await;
    assert_eq!(slow.outcome, Outcome::Timeout, "the rule's timeout: {:?}", slow.error);
    let slow = get(&fetcher, &format!("{}/slow", plain.uri())).await;
    assert_eq!(slow.outcome, Outcome::Ok, "the run's timeout (30 s): {:?}", slow.error);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_exclude_skips_links_and_redirects_to_its_hosts() {
    let partly = server_with_redirects(&[]).await;
    let wholly = server_with_redirects(&[]).await;
    let plain = server_with_redirects(&[
        ("/to-private", format!("{}/private/page", partly.uri())),
        ("/to-public", format!("{}/public/page", partly.uri())),
        ("/to-wholly", format!("{}/page", wholly.uri())),
    ])
    .await;
    let fetcher = fetcher(
        vec![
            HostRule {
                exclude: Some(HostExclusion::Matching(vec![Regex::new("/private/").unwrap()])),
                ..rule_for(&[&host_of(&partly.uri())])
            },
            HostRule {
                exclude: Some(HostExclusion::All),
                ..rule_for(&[&host_of(&wholly.uri())])
            },
        ],
        |_| {},
    );

    let why = fetcher.exclusion(&format!("{}/private/x", partly.uri())).unwrap();
    let partly_rule = format!("the [[hosts]] rule for {} (test rule)", host_of(&partly.uri()));
    assert!(why.contains(&partly_rule) && why.contains("/private/"), "{why}");
    assert_eq!(fetcher.exclusion(&format!("{}/public/x", partly.uri())), None);
    assert!(fetcher.exclusion(&format!("{}/any", wholly.uri())).is_some());
    assert_eq!(fetcher.exclusion(&format!("{}/private/x", plain.uri())), None);

    let refused = get(&fetcher, &format!("{}/to-private", plain.uri())).await;
    assert_eq!(refused.outcome, Outcome::RedirectError);
    assert!(
        refused.error.as_deref().unwrap().contains(&partly_rule),
        "{:?}",
        refused.error
    );
    let refused = get(&fetcher, &format!("{}/to-wholly", plain.uri())).await;
    assert_eq!(refused.outcome, Outcome::RedirectError, "{:?}", refused.error);
    assert_all_ok(&[get(&fetcher, &format!("{}/to-public", plain.uri())).await]);

    assert_eq!(
        seen(&partly, "host").await.len(),
        1,
        "only the public page was asked for"
    );
    assert!(wholly.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_proxy_carries_its_hosts_requests_only() {
    let proxy = Proxy::start().await;
    let direct = server_with_redirects(&[]).await;
    let fetcher = fetcher(
        vec![HostRule {
            proxy: Some(Url::parse(&proxy.url).unwrap()),
            ..rule_for(&["behind.proxy.test"])
        }],
        |_| {},
    );

    assert_all_ok(&[get(&fetcher, "http://behind.proxy.test/doc").await]);
    assert_all_ok(&[get(&fetcher, &format!("{}/doc", direct.uri())).await]);

    assert_eq!(proxy.seen(), ["http://behind.proxy.test/doc"]);
    assert_eq!(direct.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_ca_cert_is_trusted_for_its_host_only() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let trusted = TlsServer::start(dir_a.path()).await;
    let untrusted = TlsServer::start(dir_b.path()).await;
    let fetcher = fetcher(
        vec![HostRule {
            ca_cert: vec![trusted.ca_pem.clone()],
            ..rule_for(&[&host_of(&trusted.url)])
        }],
        |_| {},
    );

    assert_all_ok(&[get(&fetcher, &trusted.url).await]);
    let refused = get(&fetcher, &untrusted.url).await;
    assert_ne!(
        refused.outcome,
        Outcome::Ok,
        "a certificate trusted by another host's rule"
    );
}
