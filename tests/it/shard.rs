//! `--shard K/N` (issue #18): the shards of check, archive and `verify --live` partition
//! links.json by registrable domain, so that every site is fetched by one run alone; the links
//! of other shards are neither fetched nor reported, and their manifest entries are left as
//! they are; a bad shard is refused before anything runs.
//!
//! Sites are names under `.test` (a TLD the Public Suffix List does not know, so `site3.test`
//! is a registrable domain and `www.site3.test` one of its hosts), sent to a server on
//! 127.0.0.1 with `--resolve`.

use std::collections::{BTreeMap, BTreeSet};

use linkkeep::shard::Shard;
use serde_json::Value;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::{Report, linkkeep, links_file, run, write_file};

/// Serves every path with a body naming it, so that each link has its own payload.
async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(|request: &Request| {
            ResponseTemplate::new(200).set_body_raw(format!("page {}", request.url.path()), "text/plain")
        })
        .mount(&server)
        .await;
    server
}

/// A link of the fixture: its id, URL and the site (registrable domain) it belongs to, as this
/// test names it without asking linkkeep.
struct Fixture {
    id: String,
    url: String,
    site: String,
}

/// 40 links over 14 sites: 12 sites under `.test`, each with links on the site's own name,
/// `www.` and a deeper subdomain, plus an IP address and `localhost`. Returns the links and
/// the `--resolve` flags that send every name to 127.0.0.1.
fn fixture(port: u16) -> (Vec<Fixture>, Vec<String>) {
    let mut links = Vec::new();
    let mut names = BTreeSet::new();
    for site in 0..12 {
        let site_name = format!("site{site}.test");
        let hosts = [
            site_name.clone(),
            format!("www.{site_name}"),
            format!("a.b.{site_name}"),
        ];
        // One more link on two of the sites, to make 40.
        let count = if site < 2 { 4 } else { 3 };
        for n in 0..count {
            let host = &hosts[n % hosts.len()];
            names.insert(host.clone());
            links.push(Fixture {
                id: format!("s{site}-{n}"),
                url: format!("http://{host}:{port}/s{site}/{n}"),
                site: site_name.clone(),
            });
        }
    }
    for host in ["127.0.0.1", "localhost"] {
        links.push(Fixture {
            id: format!("{host}-only"),
            url: format!("http://{host}:{port}/{host}/page"),
            site: host.to_owned(),
        });
    }
    assert_eq!(links.len(), 40);
    let resolve = names
        .iter()
        .flat_map(|name| ["--resolve".to_owned(), format!("{name}:{port}:127.0.0.1")])
        .collect();
    (links, resolve)
}

/// The paths the server was asked for, sorted.
async fn requested_paths(server: &MockServer) -> Vec<String> {
    let mut paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    paths.sort();
    paths
}

fn path_of(url: &str) -> String {
    url::Url::parse(url).unwrap().path().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_shards_partition_the_links_and_keep_each_site_on_one_shard() {
    let server = server().await;
    let (fixture, resolve) = fixture(server.address().port());
    let dir = tempfile::tempdir().unwrap();
    let pairs: Vec<(&str, String)> = fixture.iter().map(|l| (l.id.as_str(), l.url.clone())).collect();
    let links = links_file(dir.path(), &pairs);

    let mut shard_of_id: BTreeMap<String, u32> = BTreeMap::new();
    for k in 0..3 {
        server.reset().await;
        Mock::given(wiremock::matchers::method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let shard = format!("{k}/3");
        let mut cmd = linkkeep();
        cmd.arg("--links")
            .arg(&links)
            .args([
                "check",
                "--no-progress",
                "--no-soft-404",
                "--format",
                "json",
                "--shard",
                &shard,
            ])
            .args(&resolve);
        let done = run(cmd).await;
        assert_eq!(done.code, 0, "shard {shard}: {}{}", done.stdout, done.stderr);
        let report: Report = serde_json::from_str(&done.stdout).unwrap();
        assert_eq!(
            report.shard.as_deref(),
            Some(shard.as_str()),
            "the report names its shard"
        );
        assert_eq!(report.summary.total as usize, report.results.len(), "shard {shard}");
        assert_eq!(report.summary.ok, report.summary.total, "shard {shard}");

        // The shard is the one linkkeep's own hash gives each host…
        let expected = Shard::new(k, 3).unwrap();
        let ids: Vec<&str> = report.results.iter().map(|r| r.id.as_str()).collect();
        let wanted: Vec<&str> = fixture
            .iter()
            .filter(|l| expected.holds(&url::Url::parse(&l.url).unwrap()))
            .map(|l| l.id.as_str())
            .collect();
        assert_eq!(ids, wanted, "shard {shard}: its links, in links.json order");
        // …and the links of other shards were not even requested.
        let mut paths: Vec<String> = report.results.iter().map(|r| path_of(&r.url)).collect();
        paths.sort();
        assert_eq!(requested_paths(&server).await, paths, "shard {shard}: requests");

        for id in ids {
            assert!(shard_of_id.insert(id.to_owned(), k).is_none(), "{id} is in two shards");
        }
    }

    // Together the shards are the whole list, each link once.
    let all: BTreeSet<&str> = fixture.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(shard_of_id.keys().map(String::as_str).collect::<BTreeSet<_>>(), all);
    // Every site (its own name, www. and deeper subdomains alike) is on exactly one shard.
    let mut shards_of_site: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for link in &fixture {
        shards_of_site
            .entry(&link.site)
            .or_default()
            .insert(shard_of_id[&link.id]);
    }
    for (site, shards) in &shards_of_site {
        assert_eq!(shards.len(), 1, "{site} is split over shards {shards:?}");
    }
    // And the split is a real one: no shard is empty, none holds everything.
    let sizes: Vec<usize> = (0..3)
        .map(|k| shard_of_id.values().filter(|&&s| s == k).count())
        .collect();
    assert!(sizes.iter().all(|&n| n > 0 && n < 40), "shard sizes {sizes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_shard_exits_2_naming_the_flag_before_any_request() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let links = links_file(dir.path(), &[("doc", format!("{}/doc", server.uri()))]);
    let cases: [(&[&str], &str); 6] = [
        (&["check", "--shard", "3/3"], "shard 3/3: K must be below N"),
        (&["check", "--shard", "0/0"], "shard 0/0: N must be at least 1"),
        (&["check", "--shard", "2"], "expected K/N"),
        (&["archive", "--shard", "-1/4"], "expected K/N"),
        (&["verify", "--live", "--shard", "1/x"], "expected K/N"),
        // Offline, verify fetches nothing and checks the whole archive.
        (&["verify", "--shard", "0/2"], "--live"),
    ];
    for (args, says) in cases {
        let mut cmd = linkkeep();
        cmd.current_dir(dir.path()).arg("--links").arg(&links).args(args);
        let done = run(cmd).await;
        assert_eq!(done.code, 2, "{args:?}: {}", done.stderr);
        assert!(
            done.stderr.contains("--shard") && done.stderr.contains(says),
            "{args:?}: expected `--shard` and `{says}` in\n{}",
            done.stderr
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
    assert!(!dir.path().join("archive").exists(), "an archive was created");

    // The same value from linkkeep.toml is refused at its place.
    write_file(dir.path(), "linkkeep.toml", "shard = \"4/4\"\n");
    let mut cmd = linkkeep();
    cmd.current_dir(dir.path()).arg("--links").arg(&links).arg("check");
    let done = run(cmd).await;
    assert_eq!(done.code, 2, "{}", done.stderr);
    assert!(
        done.stderr.contains("linkkeep.toml:1:9: shard 4/4: K must be below N"),
        "{}",
        done.stderr
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

/// `archive` with `args`, the fixture's `--resolve` flags and no sibling probes.
async fn archive(scratch: &Scratch, resolve: &[String], args: &[&str]) -> crate::support::archive::ArchiveRun {
    let mut all: Vec<&str> = vec!["--no-soft-404"];
    all.extend(resolve.iter().map(String::as_str));
    all.extend_from_slice(args);
    let done = scratch.archive(&all).await;
    assert_eq!(done.code, 0, "archive {args:?}: {:#}\n{}", done.report, done.stderr);
    done
}

fn result_ids(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_shards_fill_one_manifest_and_leave_each_others_entries_alone() {
    let server = server().await;
    let (fixture, resolve) = fixture(server.address().port());
    // Two links of each site (on different hosts of it) and the two bare hosts.
    let fixture: Vec<&Fixture> = fixture
        .iter()
        .filter(|l| l.id.ends_with("-0") || l.id.ends_with("-1") || l.id.ends_with("-only"))
        .collect();
    let pairs: Vec<(&str, String)> = fixture.iter().map(|l| (l.id.as_str(), l.url.clone())).collect();
    let scratch = Scratch::new(&pairs);
    let all: BTreeSet<String> = fixture.iter().map(|l| l.id.clone()).collect();

    let first = archive(&scratch, &resolve, &["--shard", "0/2"]).await;
    assert_eq!(first.report["shard"], "0/2");
    let after_first = scratch.manifest();
    let first_ids = result_ids(&first.report);
    let entries =
        |manifest: &Value| -> BTreeSet<String> { manifest["links"].as_object().unwrap().keys().cloned().collect() };
    // Only the shard's links were fetched, and only they have entries: none, not even an
    // empty one, for the other shard's links.
    assert_eq!(
        entries(&after_first),
        first_ids.iter().cloned().collect::<BTreeSet<_>>()
    );
    assert!(!first_ids.is_empty() && first_ids.len() < all.len(), "{first_ids:?}");

    let second = archive(&scratch, &resolve, &["--shard", "1/2"]).await;
    assert_eq!(second.report["shard"], "1/2");
    let second_ids = result_ids(&second.report);
    let after_second = scratch.manifest();

    // The two reports: the whole list, no link twice.
    let union: BTreeSet<String> = first_ids.iter().chain(&second_ids).cloned().collect();
    assert_eq!(
        union.len(),
        first_ids.len() + second_ids.len(),
        "a link ran in both shards"
    );
    assert_eq!(union, all);
    for run in [&first, &second] {
        assert_eq!(
            run.report["summary"]["total"],
            run.report["results"].as_array().unwrap().len()
        );
        assert_eq!(run.report["summary"]["new"], run.report["summary"]["total"]);
    }

    // The manifest holds every link once, each with its one snapshot, intact…
    assert_eq!(entries(&after_second), all);
    for id in &all {
        assert_eq!(scratch.snapshots(id).len(), 1, "{id}");
    }
    assert_eq!(scratch.assert_payloads_intact(&after_second), all.len());
    // …and the first shard's entries are exactly as that shard left them.
    for id in &first_ids {
        assert_eq!(after_second["links"][id], after_first["links"][id], "{id}");
    }

    // verify --live over one shard fetches and reports that shard's links alone.
    let mut cmd = scratch.cmd();
    cmd.args([
        "verify",
        "--live",
        "--no-soft-404",
        "--format",
        "json",
        "--shard",
        "1/2",
    ])
    .args(&resolve);
    let (code, report, stderr) = crate::support::archive::json_run(cmd).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["shard"], "1/2");
    assert_eq!(result_ids(&report), second_ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shard_never_takes_over_the_entry_of_a_link_in_another_shard() {
    let server = server().await;
    let port = server.address().port();
    // Two sites on different shards of 2.
    let sites: Vec<String> = (0..40).map(|i| format!("site{i}.test")).collect();
    let on = |k: u32| {
        sites
            .iter()
            .find(|s| Shard::new(k, 2).unwrap().holds_host(s))
            .unwrap()
            .clone()
    };
    let (a, b) = (on(0), on(1));
    let resolve: Vec<String> = [&a, &b]
        .iter()
        .flat_map(|name| ["--resolve".to_owned(), format!("{name}:{port}:127.0.0.1")])
        .collect();
    let old_url = format!("http://{a}:{port}/p/old");
    let scratch = Scratch::new(&[("x", old_url.clone())]);
    archive(&scratch, &resolve, &[]).await;
    let before = scratch.manifest()["links"]["x"].clone();

    // Link x now cites a page of site b (shard 1); a new link y cites x's old URL (shard 0). A
    // run over the whole list keeps x's entry for x (it claims it by id): y starts its own. So
    // must shard 0's run, which does not run x.
    let links = serde_json::json!({"version": 1, "links": [
        {"id": "x", "url": format!("http://{b}:{port}/p/moved")},
        {"id": "y", "url": old_url},
    ]});
    write_file(scratch.dir.path(), "links.json", &links.to_string());
    let run = archive(&scratch, &resolve, &["--shard", "0/2"]).await;
    assert_eq!(result_ids(&run.report), ["y"]);
    assert_eq!(run.result("y")["change"], "new", "{:#}", run.report);
    assert!(
        run.report
            .get("warnings")
            .is_none_or(|w| !w.to_string().contains("renamed")),
        "{:#}",
        run.report
    );
    let manifest = scratch.manifest();
    assert_eq!(manifest["links"]["x"], before, "x's entry is shard 1's to change");
    assert_eq!(scratch.snapshots("y").len(), 1);

    // Shard 1 then records x's new page in x's own history.
    let run = archive(&scratch, &resolve, &["--shard", "1/2"]).await;
    assert_eq!(result_ids(&run.report), ["x"]);
    let urls: Vec<Value> = scratch.snapshots("x").iter().map(|s| s["url"].clone()).collect();
    assert_eq!(
        urls,
        [Value::from(old_url), Value::from(format!("http://{b}:{port}/p/moved"))]
    );
}
