//! Public copies for broken links (issue #16): `--public-archive wayback` looks links up in a
//! fixture of the Wayback Machine's CDX API on 127.0.0.1 (`--public-archive-endpoint`), and
//! `check`, `archive` and `verify --live` report the copy found as `public_copy`.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::archive::{Scratch, json_run};
use crate::support::{links_file, run};

/// The CDX API's path.
const CDX: &str = "/cdx/search/cdx";

/// A CDX API answer listing `captures` as (timestamp, original) with status 200.
fn cdx_answer(captures: &[(&str, &str)]) -> ResponseTemplate {
    let mut rows = vec![json!(["timestamp", "original", "statuscode"])];
    rows.extend(captures.iter().map(|(ts, url)| json!([ts, url, "200"])));
    ResponseTemplate::new(200).set_body_json(Value::Array(rows))
}

/// Answers the query for `url` (without `to`: the latest capture) with `captures`.
async fn latest(cdx: &MockServer, url: &str, captures: &[(&str, &str)]) {
    Mock::given(method("GET"))
        .and(path(CDX))
        .and(query_param("url", url))
        .and(query_param_is_missing("to"))
        .respond_with(cdx_answer(captures))
        .mount(cdx)
        .await;
}

/// A server whose `/ok` answers 200 and whose every other path answers 404.
async fn site() -> MockServer {
    let site = MockServer::start().await;
    Mock::given(path("/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<title>fine</title>here"))
        .mount(&site)
        .await;
    site
}

/// The queries the CDX fixture received.
async fn queries(cdx: &MockServer) -> Vec<Request> {
    cdx.received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == CDX)
        .collect()
}

/// A query's parameter, if it has it.
fn param(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The result of link `id` in a JSON report.
fn result<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}: {report:#}"))
}

/// The flags that look links up in the fixture at `cdx`.
fn lookup_flags(cdx: &MockServer) -> Vec<String> {
    vec![
        "--public-archive".into(),
        "wayback".into(),
        "--public-archive-endpoint".into(),
        cdx.uri(),
    ]
}

/// Runs `check --format json` on `links` with `args`.
async fn check_json(links: &std::path::Path, args: &[String]) -> (i32, Value, String) {
    let mut cmd = crate::support::check_cmd(links, &["--no-soft-404"]);
    cmd.args(args);
    json_run(cmd).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_link_gets_the_latest_capture_and_ok_links_are_not_looked_up() {
    let (site, cdx) = (site().await, MockServer::start().await);
    let gone = format!("{}/gone", site.uri());
    let never = format!("{}/never-archived", site.uri());
    latest(&cdx, &gone, &[("20170101000000", &gone), ("20190102030405", &gone)]).await;
    latest(&cdx, &never, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(
        dir.path(),
        &[
            ("fine", format!("{}/ok", site.uri())),
            ("gone", gone.clone()),
            ("never", never.clone()),
        ],
    );

    let (code, report, stderr) = check_json(&links, &lookup_flags(&cdx)).await;

    assert_eq!(code, 1, "a failed link fails the run as ever; stderr: {stderr}");
    assert_eq!(
        result(&report, "gone")["public_copy"],
        json!({
            "archive": "wayback",
            "url": format!("{}/web/20190102030405/{gone}", cdx.uri()),
            "timestamp": "2019-01-02T03:04:05Z",
        })
    );
    // Looked up, none found: null. Not looked up: no field at all.
    assert_eq!(result(&report, "never")["public_copy"], Value::Null);
    assert!(
        result(&report, "never")
            .as_object()
            .unwrap()
            .contains_key("public_copy")
    );
    assert!(!result(&report, "fine").as_object().unwrap().contains_key("public_copy"));
    assert!(report.get("warnings").is_none(), "{report:#}");
    let queries = queries(&cdx).await;
    let asked: Vec<String> = queries.iter().filter_map(|q| param(q, "url")).collect();
    assert_eq!(
        asked.len(),
        2,
        "one query per failed link, none for the ok one: {asked:?}"
    );
    assert!(asked.contains(&gone) && asked.contains(&never), "{asked:?}");
    for query in &queries {
        assert_eq!(param(query, "filter").as_deref(), Some("statuscode:200"));
        assert_eq!(param(query, "output").as_deref(), Some("json"));
        assert_eq!(param(query, "limit").as_deref(), Some("-1"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_seeks_the_copy_at_or_before_the_cited_capture() {
    let (site, cdx) = (MockServer::start().await, MockServer::start().await);
    // Both pages are fine at the first run and gone at the second.
    for page in ["/a", "/b"] {
        Mock::given(path(page))
            .respond_with(ResponseTemplate::new(200).set_body_string(format!("page {page}")))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&site)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(410))
        .with_priority(2)
        .mount(&site)
        .await;
    let (a, b) = (format!("{}/a", site.uri()), format!("{}/b", site.uri()));
    let scratch = Scratch::new(&[("a", a.clone()), ("b", b.clone())]);
    let first = scratch.archive(&["--no-soft-404"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let cited = |id: &str| {
        let first_seen = scratch.snapshots(id)[0]["first_seen"].as_str().unwrap().to_owned();
        first_seen.replace(['-', ':', 'T', 'Z'], "")
    };
    let (cited_a, cited_b) = (cited("a"), cited("b"));
    assert_eq!(cited_a.len(), 14, "{cited_a}");
    // `a` has a copy from before its cited capture; `b` only later ones.
    Mock::given(path(CDX))
        .and(query_param("url", a.as_str()))
        .and(query_param("to", cited_a.as_str()))
        .respond_with(cdx_answer(&[("20180302040506", &a), ("20150101000000", &a)]))
        .mount(&cdx)
        .await;
    latest(&cdx, &a, &[("29990101000000", &a)]).await;
    Mock::given(path(CDX))
        .and(query_param("url", b.as_str()))
        .and(query_param("to", cited_b.as_str()))
        .respond_with(cdx_answer(&[]))
        .mount(&cdx)
        .await;
    latest(&cdx, &b, &[("29990101000000", &b)]).await;

    let mut args = vec!["--no-soft-404".to_owned()];
    args.extend(lookup_flags(&cdx));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let second = scratch.archive(&args).await;

    assert_eq!(second.code, 1, "{}", second.stderr);
    let copy_a = &second.result("a")["public_copy"];
    assert_eq!(copy_a["url"], format!("{}/web/20180302040506/{a}", cdx.uri()));
    assert_eq!(copy_a["timestamp"], "2018-03-02T04:05:06Z");
    // Nothing at or before the cited capture: the latest there is.
    assert_eq!(second.result("b")["public_copy"]["timestamp"], "2999-01-01T00:00:00Z");
    let queries = queries(&cdx).await;
    let of = |url: &str| -> Vec<(Option<String>, Option<String>)> {
        queries
            .iter()
            .filter(|q| param(q, "url").as_deref() == Some(url))
            .map(|q| (param(q, "to"), param(q, "limit")))
            .collect()
    };
    assert_eq!(of(&a), [(Some(cited_a), Some("-2".to_owned()))]);
    assert_eq!(
        of(&b),
        [(Some(cited_b), Some("-2".to_owned())), (None, Some("-1".to_owned()))]
    );
    // The run's own record keeps what the report said.
    let run_report: Value = serde_json::from_str(
        &std::fs::read_to_string(
            scratch
                .archive
                .join("runs")
                .join(format!("{}.json", second.report["run"].as_str().unwrap())),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(result(&run_report, "a")["public_copy"], *copy_a);
}

#[tokio::test(flavor = "multi_thread")]
async fn all_looks_up_ok_links_too() {
    let (site, cdx) = (site().await, MockServer::start().await);
    let fine = format!("{}/ok", site.uri());
    latest(&cdx, &fine, &[("20200101000000", &fine)]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("fine", fine.clone())]);
    let mut args = lookup_flags(&cdx);
    args.push("--public-archive-all".into());

    let (code, report, stderr) = check_json(&links, &args).await;

    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        result(&report, "fine")["public_copy"]["timestamp"],
        "2020-01-01T00:00:00Z"
    );
    assert_eq!(queries(&cdx).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_archive_is_a_warning_and_leaves_the_exit_code_alone() {
    let (site, cdx) = (site().await, MockServer::start().await);
    Mock::given(path(CDX))
        .respond_with(ResponseTemplate::new(503))
        .mount(&cdx)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let ok_links: Vec<(String, String)> = (0..6)
        .map(|i| (format!("ok{i}"), format!("{}/ok?{i}", site.uri())))
        .collect();
    let ok_links: Vec<(&str, String)> = ok_links.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let mut args = lookup_flags(&cdx);
    args.extend(["--public-archive-all", "--retries", "0"].map(String::from));

    // Every link ok: exit 0, however the archive fares.
    let all_ok = links_file(dir.path(), &ok_links);
    let (code, report, stderr) = check_json(&all_ok, &args).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("WARN") && stderr.contains("HTTP 503"), "{stderr}");
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w.as_str().unwrap().contains("cannot look up")),
        "{warnings:?}"
    );
    for (id, _) in &ok_links {
        assert_eq!(result(&report, id)["public_copy"], Value::Null);
    }
    // The archive failed: the links after it are not looked up (at most one query per slot
    // was already under way), and a warning says how many.
    let asked = queries(&cdx).await.len();
    assert!((1..=2).contains(&asked), "{asked} queries");
    let skipped = format!("{} more link(s) not looked up", ok_links.len() - asked);
    assert!(
        warnings.iter().any(|w| w.as_str().unwrap().contains(&skipped)),
        "{warnings:?}"
    );

    // A failed link: exit 1, as without the flag.
    let mut with_failure = ok_links.clone();
    with_failure.push(("gone", format!("{}/gone", site.uri())));
    let failing = links_file(dir.path(), &with_failure);
    let (code, report, stderr) = check_json(&failing, &args).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(result(&report, "gone")["outcome"], "http_error");
    assert_eq!(result(&report, "gone")["public_copy"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_archive_is_asked_again_as_it_says() {
    let (site, cdx) = (site().await, MockServer::start().await);
    let gone = format!("{}/gone", site.uri());
    Mock::given(path(CDX))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&cdx)
        .await;
    latest(&cdx, &gone, &[("20190102030405", &gone)]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("gone", gone)]);
    let mut args = lookup_flags(&cdx);
    // A backoff of its own would outlast the run's time limit: only the archive's
    // `Retry-After: 0` lets the test pass.
    args.extend(["--retry-wait", "120"].map(String::from));

    let (code, report, stderr) = check_json(&links, &args).await;

    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        result(&report, "gone")["public_copy"]["timestamp"],
        "2019-01-02T03:04:05Z"
    );
    assert_eq!(queries(&cdx).await.len(), 2);
    assert!(report.get("warnings").is_none(), "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_is_looked_up_once_per_run() {
    let (site, cdx) = (site().await, MockServer::start().await);
    let gone = format!("{}/gone", site.uri());
    latest(&cdx, &gone, &[("20190102030405", &gone)]).await;
    let dir = tempfile::tempdir().unwrap();
    // Two sections of one page: two links, one URL for the archive.
    let links = links_file(
        dir.path(),
        &[
            ("intro", format!("{gone}#intro")),
            ("methods", format!("{gone}#methods")),
        ],
    );

    let (code, report, stderr) = check_json(&links, &lookup_flags(&cdx)).await;

    assert_eq!(code, 1, "{stderr}");
    assert_eq!(queries(&cdx).await.len(), 1);
    let copy = &result(&report, "intro")["public_copy"];
    assert_eq!(copy["url"], format!("{}/web/20190102030405/{gone}", cdx.uri()));
    assert_eq!(result(&report, "methods")["public_copy"], *copy);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_users_headers_never_reach_the_archive() {
    let (site, cdx) = (site().await, MockServer::start().await);
    let gone = format!("{}/gone", site.uri());
    latest(&cdx, &gone, &[("20190102030405", &gone)]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("gone", gone)]);
    let mut args = lookup_flags(&cdx);
    args.extend(
        [
            "-H",
            "Authorization: Bearer s3cret-token",
            "-H",
            "Cookie: session=s3cret-cookie",
            "-H",
            "X-Team: citations",
        ]
        .map(String::from),
    );

    let (code, report, stderr) = check_json(&links, &args).await;

    assert_eq!(code, 1, "{stderr}");
    assert!(result(&report, "gone")["public_copy"]["url"].is_string(), "{report:#}");
    // The cited site got them…
    let sent = site.received_requests().await.unwrap();
    assert_eq!(sent[0].headers.get("authorization").unwrap(), "Bearer s3cret-token");
    // …the archive none of them.
    let queries = queries(&cdx).await;
    assert_eq!(queries.len(), 1);
    for name in ["authorization", "cookie", "x-team"] {
        assert!(queries[0].headers.get(name).is_none(), "{name} reached the archive");
    }
    let all_headers = format!("{:?}", queries[0].headers);
    assert!(!all_headers.contains("s3cret"), "{all_headers}");
}

#[tokio::test(flavor = "multi_thread")]
async fn human_and_markdown_reports_show_the_copy_beside_the_failure() {
    let (site, cdx) = (site().await, MockServer::start().await);
    let gone = format!("{}/gone", site.uri());
    latest(&cdx, &gone, &[("20190102030405", &gone)]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("gone", gone.clone())]);
    let copy = format!("{}/web/20190102030405/{gone}", cdx.uri());

    let mut human = crate::support::check_plain(&links, &["--no-soft-404", "--format", "human"]);
    human.args(lookup_flags(&cdx));
    let human = run(human).await;
    assert_eq!(human.code, 1, "{}", human.stderr);
    let lines: Vec<&str> = human.stdout.lines().collect();
    let row = lines.iter().position(|l| l.contains(&gone)).unwrap();
    assert!(lines[row + 1].contains("HTTP 404"), "{}", human.stdout);
    assert_eq!(
        lines[row + 2].trim(),
        format!("public copy: {copy} (2019-01-02)"),
        "{}",
        human.stdout
    );

    let mut markdown = crate::support::check_plain(&links, &["--no-soft-404", "--format", "markdown"]);
    markdown.args(lookup_flags(&cdx));
    let markdown = run(markdown).await;
    assert_eq!(markdown.code, 1, "{}", markdown.stderr);
    let row = markdown.stdout.lines().find(|l| l.contains("HTTP 404")).unwrap();
    assert!(
        row.ends_with(&format!("; public copy: [2019-01-02](<{copy}>) |")),
        "{}",
        markdown.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_answers_are_refused() {
    let (site, cdx) = (site().await, MockServer::start().await);
    let script = format!("{}/script", site.uri());
    let escapes = format!("{}/escapes", site.uri());
    let elsewhere = format!("{}/elsewhere", site.uri());
    latest(
        &cdx,
        &script,
        &[("20190102030405", "javascript:alert(document.cookie)")],
    )
    .await;
    let hostile = format!("{escapes}/\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}");
    latest(&cdx, &escapes, &[("20190102030405", &hostile)]).await;
    latest(&cdx, &elsewhere, &[("20190102030405", "https://phish.example/login")]).await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(
        dir.path(),
        &[("script", script), ("escapes", escapes), ("elsewhere", elsewhere)],
    );

    let (code, report, stderr) = check_json(&links, &lookup_flags(&cdx)).await;

    assert_eq!(code, 1, "{stderr}");
    for id in ["script", "escapes", "elsewhere"] {
        assert_eq!(result(&report, id)["public_copy"], Value::Null, "{id}");
    }
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        warnings.iter().filter(|w| w.contains("was refused")).count(),
        3,
        "{warnings:?}"
    );
    let stdout = serde_json::to_string(&report).unwrap();
    assert!(!stdout.contains("javascript:") && !stdout.contains("phish"), "{stdout}");
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'), "{stderr:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_looks_links_up_only_with_live() {
    let (site, cdx) = (MockServer::start().await, MockServer::start().await);
    Mock::given(path("/a"))
        .respond_with(ResponseTemplate::new(200).set_body_string("page a"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&site)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .with_priority(2)
        .mount(&site)
        .await;
    let a = format!("{}/a", site.uri());
    let scratch = Scratch::new(&[("a", a.clone())]);
    assert_eq!(scratch.archive(&["--no-soft-404"]).await.code, 0);
    let cited = scratch.snapshots("a")[0]["first_seen"]
        .as_str()
        .unwrap()
        .replace(['-', ':', 'T', 'Z'], "");
    Mock::given(path(CDX))
        .and(query_param("url", a.as_str()))
        .and(query_param("to", cited.as_str()))
        .respond_with(cdx_answer(&[("20180302040506", &a)]))
        .mount(&cdx)
        .await;

    // Without --live nothing is fetched, so nothing can fail for a public copy to make up for.
    let mut offline = scratch.cmd();
    offline.arg("verify").args(lookup_flags(&cdx));
    let offline = run(offline).await;
    assert_eq!(offline.code, 2, "{}", offline.stderr);
    assert!(
        offline.stderr.contains("--public-archive needs --live"),
        "{}",
        offline.stderr
    );

    let mut live = scratch.cmd();
    live.args(["verify", "--live", "--no-soft-404", "--format", "json"])
        .args(lookup_flags(&cdx));
    let (code, report, stderr) = json_run(live).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(result(&report, "a")["outcome"], "http_error");
    assert_eq!(
        result(&report, "a")["public_copy"]["url"],
        format!("{}/web/20180302040506/{a}", cdx.uri())
    );
}
