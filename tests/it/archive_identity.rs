//! A link's history follows its URL (guards issue #12): an entry found by URL under another id
//! takes the link's id (with a warning in the run report), an explicit id whose URL was edited
//! keeps its history with the URL of each snapshot, a 0.1.0 manifest with positional ids is
//! re-keyed by URL with nothing lost, and two links never write into one entry.

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::archive::Scratch;
use crate::support::write_file;

/// Serves `/p/<name>?<query>` with a body naming both, for every name.
async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path_regex("^/p/"))
        .respond_with(|request: &wiremock::Request| {
            let body = format!(
                "page {} {}",
                request.url.path(),
                request.url.query().unwrap_or_default()
            );
            ResponseTemplate::new(200).set_body_raw(body, "text/plain")
        })
        .mount(&server)
        .await;
    server
}

fn write_links(scratch: &Scratch, links: Value) {
    write_file(scratch.dir.path(), "links.json", &links.to_string());
}

/// The URLs of an entry's snapshots, oldest first.
fn snapshot_urls(manifest: &Value, id: &str) -> Vec<String> {
    manifest["links"][id]["snapshots"]
        .as_array()
        .unwrap_or_else(|| panic!("no entry {id} in {manifest:#}"))
        .iter()
        .map(|s| s["url"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_changed_in_links_json_keeps_its_history() {
    let server = server().await;
    let url = format!("{}/p/a", server.uri());
    let scratch = Scratch::new(&[("old-name", url.clone())]);
    assert_eq!(scratch.archive(&[]).await.code, 0);

    write_links(&scratch, json!({"links": [{"id": "new-name", "url": url}]}));
    let run = scratch.archive(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.result("new-name")["change"],
        "unchanged",
        "the same history, not a new link"
    );
    let warnings = run.report["warnings"].as_array().expect("a warning names the rename");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("\"old-name\"") && w.as_str().unwrap().contains("\"new-name\"")),
        "{warnings:?}"
    );
    let manifest = scratch.manifest();
    assert!(manifest["links"].get("old-name").is_none(), "{manifest:#}");
    let entry = &manifest["links"]["new-name"];
    assert_eq!(entry["snapshots"].as_array().unwrap().len(), 1);
    assert_ne!(
        entry["snapshots"][0]["run"], entry["last_check"]["run"],
        "the first capture is the first run's"
    );
    // Nothing else is renamed on the next run.
    let again = scratch.archive(&[]).await;
    assert!(again.report.get("warnings").is_none(), "{:#}", again.report);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_id_whose_url_was_edited_keeps_its_history_with_each_url() {
    let server = server().await;
    let (first, second) = (
        format!("{}/p/first", server.uri()),
        format!("{}/p/second", server.uri()),
    );
    let scratch = Scratch::new(&[("cited", first.clone())]);
    assert_eq!(scratch.archive(&[]).await.code, 0);

    // The cited URL is edited, and the old URL is now cited by a link without an id: the
    // entry stays with its id, and the old URL starts a history of its own.
    write_links(&scratch, json!([{"id": "cited", "url": second}, first]));
    let run = scratch.archive(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.result("cited")["change"], "changed");
    let manifest = scratch.manifest();
    assert_eq!(snapshot_urls(&manifest, "cited"), [first.clone(), second.clone()]);
    assert_eq!(manifest["links"]["cited"]["url"], second.as_str());
    let other: Vec<&String> = manifest["links"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|id| *id != "cited")
        .collect();
    assert_eq!(other.len(), 1, "{manifest:#}");
    assert_eq!(snapshot_urls(&manifest, other[0]), [first]);
    assert!(
        run.report.get("warnings").is_none(),
        "no entry was renamed: {:#}",
        run.report
    );
}

/// A manifest written by linkkeep 0.1.0 for a bare list of URLs: positional ids (`-2`, `-3` in
/// list order) and no `url` in its snapshots.
#[tokio::test(flavor = "multi_thread")]
async fn positional_ids_of_0_1_0_are_rekeyed_by_url_with_nothing_lost() {
    let server = server().await;
    // One slug for all: 0.1.0 told them apart by their position in the list.
    let urls: Vec<String> = ["x", "y", "z"]
        .iter()
        .map(|n| format!("{}/p/doc?n={n}", server.uri()))
        .collect();
    let positional = ["127-0-0-1-doc", "127-0-0-1-doc-2", "127-0-0-1-doc-3"];
    let scratch = Scratch::new(&[
        (positional[0], urls[0].clone()),
        (positional[1], urls[1].clone()),
        (positional[2], urls[2].clone()),
    ]);
    assert_eq!(scratch.archive(&[]).await.code, 0);
    // As 0.1.0 wrote it: snapshots without the URL requested.
    let mut old = scratch.manifest();
    for id in positional {
        for snapshot in old["links"][id]["snapshots"].as_array_mut().unwrap() {
            snapshot.as_object_mut().unwrap().remove("url");
        }
    }
    std::fs::write(scratch.archive.join("manifest.json"), old.to_string()).unwrap();

    // The same URLs as a bare array, reordered, with a new one inserted at the top.
    let inserted = format!("{}/p/doc?n=w", server.uri());
    write_links(&scratch, json!([inserted, urls[2], urls[0], urls[1]]));
    let run = scratch.archive(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest = scratch.manifest();
    let entries = manifest["links"].as_object().unwrap();
    assert_eq!(entries.len(), 4, "{manifest:#}");
    for (position, url) in urls.iter().enumerate() {
        let (id, entry) = entries.iter().find(|(_, e)| e["url"] == url.as_str()).unwrap();
        assert!(!positional.contains(&id.as_str()), "{id} was re-keyed");
        let before = &old["links"][positional[position]];
        assert_eq!(entry["snapshots"].as_array().unwrap().len(), 1, "{id}");
        for field in ["sha256", "first_seen", "object", "warc", "offset", "record_id"] {
            assert_eq!(
                entry["snapshots"][0][field], before["snapshots"][0][field],
                "{id}: {field}"
            );
        }
        assert_eq!(run.result(id)["change"], "unchanged", "{id}");
        assert_eq!(run.result(id)["url"], url.as_str());
    }
    let warnings = run.report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 3, "one rename per entry: {warnings:?}");
    let verify = scratch.run(&["verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);

    // Reordered once more: every id stays, nothing is renamed.
    write_links(&scratch, json!([urls[1], inserted, urls[0], urls[2]]));
    let again = scratch.archive(&[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.report.get("warnings").is_none(), "{:#}", again.report);
    let ids_after: Vec<String> = scratch.manifest()["links"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut ids_before: Vec<String> = entries.keys().cloned().collect();
    ids_before.sort();
    let mut ids_after_sorted = ids_after.clone();
    ids_after_sorted.sort();
    assert_eq!(ids_after_sorted, ids_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_url_in_two_entries_goes_to_one_link_only() {
    let server = server().await;
    let url = format!("{}/p/shared", server.uri());
    // Two old entries with one URL (an id renamed by hand in an old manifest, say).
    let scratch = Scratch::new(&[("first", url.clone())]);
    assert_eq!(scratch.archive(&[]).await.code, 0);
    let mut manifest = scratch.manifest();
    let entry = manifest["links"]["first"].clone();
    manifest["links"]["second"] = entry;
    std::fs::write(scratch.archive.join("manifest.json"), manifest.to_string()).unwrap();

    write_links(&scratch, json!({"links": [{"id": "renamed", "url": url}]}));
    let run = scratch.archive(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = scratch.manifest();
    let ids: Vec<&String> = after["links"].as_object().unwrap().keys().collect();
    assert_eq!(
        ids,
        ["renamed", "second"],
        "the first entry with the URL is taken, once"
    );
    assert_eq!(run.result("renamed")["change"], "unchanged");
}

/// The object form, links without ids: inserting and reordering keeps each URL's id and
/// history (the ids no longer depend on the list).
#[tokio::test(flavor = "multi_thread")]
async fn id_less_links_keep_their_history_when_the_list_changes() {
    let server = server().await;
    let url = |n: &str| format!("{}/p/doc?n={n}", server.uri());
    let entry = |n: &str| json!({"url": url(n), "title": format!("Document {n}")});
    let scratch = Scratch::new(&[]);
    write_links(&scratch, json!({"version": 1, "links": [entry("x"), entry("y")]}));
    assert_eq!(scratch.archive(&[]).await.code, 0);
    let first = scratch.manifest();
    let id_of = |manifest: &Value, n: &str| -> String {
        let entries = manifest["links"].as_object().unwrap();
        let (id, _) = entries.iter().find(|(_, e)| e["url"] == url(n).as_str()).unwrap();
        id.clone()
    };

    write_links(
        &scratch,
        json!({"version": 1, "links": [entry("w"), entry("y"), entry("x")]}),
    );
    let run = scratch.archive(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.report.get("warnings").is_none(),
        "nothing renamed: {:#}",
        run.report
    );
    let second = scratch.manifest();
    for n in ["x", "y"] {
        let id = id_of(&first, n);
        assert_eq!(id_of(&second, n), id, "{n} keeps its id");
        assert_eq!(run.result(&id)["change"], "unchanged", "{n}");
        assert_eq!(second["links"][&id]["snapshots"].as_array().unwrap().len(), 1, "{n}");
        assert_eq!(snapshot_urls(&second, &id), [url(n)]);
    }
    assert_eq!(run.result(&id_of(&second, "w"))["change"], "new");
}
