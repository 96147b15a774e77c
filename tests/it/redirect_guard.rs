//! Every redirect hop is checked (issue #15): a redirect into a more private address class
//! than the link's own fails as `redirect_error` naming the class, before any connection, by
//! literal, by every IPv6 spelling of an IPv4 address, and by the address a name resolves to
//! when connecting; `--exclude` applies to redirect targets; `--allow-private` turns the
//! address rule off.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::http::{reply, spawn_server};
use crate::support::{LinkResult, Outcome, assert_error_line, links_file, run_check};

/// `--timeout 2 --retries 0`: a connection attempt to an unroutable address would end as
/// `timeout` or `network_error` within this, not as `redirect_error`.
const QUICK: [&str; 5] = ["--timeout", "2", "--retries", "0", "--no-soft-404"];

/// A server on 127.0.0.1 whose `/start` redirects to `location`.
async fn redirecting_to(location: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", location))
        .mount(&server)
        .await;
    server
}

/// Checks `<server>/start` with `args` (after [`QUICK`]) and returns its result.
async fn check_start(server: &MockServer, args: &[&str]) -> LinkResult {
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("link", format!("{}/start", server.uri()))]);
    let args: Vec<&str> = QUICK.iter().chain(args).copied().collect();
    let (_, report, _) = run_check(&links, &args).await;
    report.get("link").clone()
}

/// Asserts a refused hop: `redirect_error`, naming the class and the link's own.
fn assert_refused(result: &LinkResult, class: &str, own: &str) {
    assert_eq!(result.outcome, Outcome::RedirectError, "{result:?}");
    assert_error_line(result);
    let error = result.error.as_deref().unwrap();
    assert!(
        error.contains(&format!("a {class} address")) && error.contains(&format!("the link's own ({own})")),
        "{error}"
    );
    assert!(
        error.contains("--allow-private"),
        "the error names the way out: {error}"
    );
    assert_eq!(result.redirects.len(), 1, "the hop is recorded: {result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let server = redirecting_to("http://169.254.169.254/latest/meta-data/iam/security-credentials/").await;
    let result = check_start(&server, &[]).await;
    assert_refused(&result, "link-local", "loopback");
    assert!(result.error.as_deref().unwrap().contains("169.254.169.254"));
    // The link stays where it was: the refused URL was never requested.
    assert_eq!(
        result.final_url.as_deref(),
        Some(format!("{}/start", server.uri()).as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn other_spellings_of_the_metadata_address_are_refused() {
    for spelling in [
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://0xA9FEA9FE/",
        "http://2852039166/",
        "http://169.254.43518/",
    ] {
        let server = redirecting_to(spelling).await;
        let result = check_start(&server, &[]).await;
        assert_refused(&result, "link-local", "loopback");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_that_resolves_to_a_link_local_address_is_refused_when_connecting() {
    // The name is checked where it is connected to (the resolver), not by looking at the URL:
    // nothing in `metadata.test` says link-local.
    let server = redirecting_to("http://metadata.test:9/").await;
    let resolve = ["--resolve", "metadata.test:9:169.254.169.254"];
    let result = check_start(&server, &resolve).await;
    assert_refused(&result, "link-local", "loopback");
    assert!(
        result
            .error
            .as_deref()
            .unwrap()
            .starts_with("redirect refused: metadata.test is")
    );

    // Without the rule, the same redirect is followed and a connection is tried: whatever
    // becomes of it (nothing answers there), it is not a refusal.
    let allowed = check_start(&server, &[&resolve[..], &["--allow-private"]].concat()).await;
    assert_ne!(allowed.outcome, Outcome::RedirectError, "{allowed:?}");
    assert_eq!(allowed.final_url.as_deref(), Some("http://metadata.test:9/"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_into_a_deeper_class_makes_no_connection() {
    // A link served from one of this machine's own non-loopback addresses is private (or
    // public) by class; a redirect from it to 127.0.0.1 goes deeper. A listener there sees
    // whether a connection was made.
    let Some(machine) = machine_address() else {
        crate::support::skip_or_fail("this machine has no non-loopback address to serve a link from");
        return;
    };
    let (target, connections) = counting_listener().await;
    let location = format!("http://127.0.0.1:{}/secret", target.port());
    let listener = TcpListener::bind(SocketAddr::new(machine, 0)).await.unwrap();
    let origin = listener.local_addr().unwrap();
    spawn_server(listener, move |_req| {
        let location = location.clone();
        async move {
            let mut response = reply(302, "moved");
            response.headers_mut().insert("location", location.parse().unwrap());
            response
        }
    });
    let host = match machine {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(
        dir.path(),
        &[("link", format!("http://{host}:{}/start", origin.port()))],
    );

    let (_, report, _) = run_check(&links, &QUICK).await;
    let result = report.get("link");
    let own = linkkeep::fetch::address::AddressClass::of(machine);
    assert_eq!(result.outcome, Outcome::RedirectError, "{result:?}");
    let error = result.error.as_deref().unwrap();
    assert!(error.contains("a loopback address (127.0.0.1)"), "{error}");
    assert!(error.contains(&format!("the link's own ({own})")), "{error}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no connection may reach the loopback target"
    );

    // With --allow-private the same chain is followed to the listener.
    let args: Vec<&str> = QUICK.iter().copied().chain(["--allow-private"]).collect();
    let (_, report, _) = run_check(&links, &args).await;
    assert_ne!(
        report.get("link").outcome,
        Outcome::RedirectError,
        "{:?}",
        report.get("link")
    );
    assert!(
        connections.load(Ordering::SeqCst) >= 1,
        "--allow-private follows the redirect"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_excluded_redirect_target_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", format!("{}/private/keys", server.uri())))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/private/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_string("secret"))
        .expect(0)
        .mount(&server)
        .await;

    let result = check_start(&server, &["--exclude", "/private/"]).await;

    assert_eq!(result.outcome, Outcome::RedirectError, "{result:?}");
    assert_error_line(&result);
    let error = result.error.as_deref().unwrap();
    assert!(
        error.contains("/private/keys") && error.contains("matches --exclude /private/"),
        "{error}"
    );
    // --include applies to hops as well: a target matching no pattern is refused.
    let result = check_start(&server, &["--include", "/start$"]).await;
    assert_eq!(result.outcome, Outcome::RedirectError, "{result:?}");
    assert!(
        result
            .error
            .as_deref()
            .unwrap()
            .contains("matches no --include pattern"),
        "{result:?}"
    );
    // The refused target was never requested (checked by `expect(0)` when the server drops).
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_private_lets_a_loopback_chain_through_as_before() {
    let server = MockServer::start().await;
    let port = server.address().port();
    // 127.0.0.1 → localhost → 127.0.0.1: loopback all the way, by literal and by name.
    Mock::given(method("GET"))
        .and(path("/start"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", format!("http://localhost:{port}/b")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/b"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", format!("http://127.0.0.1:{port}/c")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/c"))
        .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
        .mount(&server)
        .await;
    for args in [&[][..], &["--allow-private"][..]] {
        let result = check_start(&server, args).await;
        assert_eq!(result.outcome, Outcome::Ok, "{args:?}: {result:?}");
        assert_eq!(result.redirects.len(), 2);
    }
    // A link cited by a name that resolves to loopback is loopback too: it and its redirect
    // to 127.0.0.1 go through.
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("link", format!("http://localhost:{port}/b"))]);
    let (_, report, _) = run_check(&links, &QUICK).await;
    assert_eq!(report.get("link").outcome, Outcome::Ok, "{:?}", report.get("link"));
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_stores_nothing_from_a_refused_hop() {
    let server = redirecting_to("http://[::ffff:169.254.169.254]/latest/meta-data/").await;
    let scratch = Scratch::new(&[("link", format!("{}/start", server.uri()))]);
    let run = scratch.archive(&QUICK).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let result = run.result("link");
    assert_eq!(result["outcome"], "redirect_error", "{result:#}");
    assert!(result["error"].as_str().unwrap().contains("link-local"), "{result:#}");
    // The WARC files hold the redirect that was received, and nothing from the refused target.
    let mut warcs = Vec::new();
    for file in scratch.warc_files() {
        let mut reader = flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap());
        std::io::Read::read_to_end(&mut reader, &mut warcs).unwrap();
    }
    assert!(contains(&warcs, b"302 Found"), "the redirect itself is recorded");
    assert!(
        !contains(&warcs, b"WARC-Target-URI: http://[::ffff:a9fe:a9fe]")
            && !contains(&warcs, b"WARC-Target-URI: http://[::ffff:169.254.169.254]"),
        "no record of the refused target"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A listener on 127.0.0.1 that counts the connections made to it.
async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    spawn_server_counting(listener, counter);
    (addr, count)
}

fn spawn_server_counting(listener: TcpListener, counter: Arc<AtomicUsize>) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(crate::support::http::serve_connection(stream, |_req| async {
                reply(200, "secret")
            }));
        }
    });
}

/// One of this machine's own addresses that is neither loopback nor link-local, and can be
/// listened on: IPv4 preferred.
fn machine_address() -> Option<IpAddr> {
    let mut found: Vec<IpAddr> = Vec::new();
    // SAFETY: getifaddrs fills a linked list that stays valid until freeifaddrs; every node's
    // address is read according to its family.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return None;
        }
        let mut node = list;
        while !node.is_null() {
            let addr = (*node).ifa_addr;
            if !addr.is_null() {
                match i32::from((*addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(addr as *const libc::sockaddr_in);
                        found.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into());
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(addr as *const libc::sockaddr_in6);
                        found.push(Ipv6Addr::from(sin6.sin6_addr.s6_addr).into());
                    }
                    _ => {}
                }
            }
            node = (*node).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    use linkkeep::fetch::address::AddressClass;
    found.sort_by_key(IpAddr::is_ipv6);
    found.into_iter().find(|ip| {
        matches!(
            AddressClass::of(*ip),
            AddressClass::Public | AddressClass::Private | AddressClass::UniqueLocal
        ) && std::net::TcpListener::bind(SocketAddr::new(*ip, 0)).is_ok()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn through_a_proxy_names_are_looked_up_before_the_hop() {
    // A proxy resolves names itself, so the rule looks them up here before asking it: the
    // proxy (which answers every request itself) must never be asked for the metadata URL.
    let (listener, port) = crate::support::http::bind().await;
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    spawn_server(listener, move |req| {
        let uri = req.uri().to_string();
        record.lock().unwrap().push(uri.clone());
        async move {
            if uri.ends_with("/start") {
                let mut response = reply(302, "moved");
                response
                    .headers_mut()
                    .insert("location", "http://metadata.test/creds".parse().unwrap());
                response
            } else {
                reply(200, "secret")
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("link", "http://cited.test/start".to_owned())]);
    let proxy = format!("http://127.0.0.1:{port}");
    let args = [
        &QUICK[..],
        &["--proxy", &proxy, "--resolve", "cited.test:80:127.0.0.1"],
        &["--resolve", "metadata.test:80:169.254.169.254"],
    ]
    .concat();
    let (_, report, _) = run_check(&links, &args).await;
    let result = report.get("link");
    assert_refused(result, "link-local", "loopback");
    assert_eq!(*seen.lock().unwrap(), ["http://cited.test/start"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_within_the_links_class_reuses_its_connection() {
    // The first request and its redirect go through the same client (the one of the link's
    // class), so a redirect to the same host reuses the connection instead of opening another.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(crate::support::http::serve_connection(stream, |req| async move {
                if req.uri().path() == "/a" {
                    let mut response = reply(302, "");
                    response.headers_mut().insert("location", "/b".parse().unwrap());
                    response
                } else {
                    reply(200, "landed")
                }
            }));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("link", format!("http://127.0.0.1:{port}/a"))]);
    let (_, report, _) = run_check(&links, &QUICK).await;
    assert_eq!(report.get("link").outcome, Outcome::Ok, "{:?}", report.get("link"));
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}
