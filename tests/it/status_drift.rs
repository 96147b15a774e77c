//! `status` shows per link how much of the cited version's text (the first snapshot's) the
//! latest capture keeps (issue #14): the latest snapshot's `similarity_to_first`, the cited
//! version itself for a link captured once, and unknown for snapshots without text fields.

use serde_json::{Value, json};

use crate::support::archive::Scratch;

/// A snapshot's JSON; with `text`, the text fields and that similarity to the first.
fn snapshot(sha: char, text: Option<Option<f64>>) -> Value {
    let mut s = json!({
        "sha256": sha.to_string().repeat(64), "size": 100, "content_type": "text/html",
        "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z",
        "http_status": 200, "final_url": "http://a.example/", "etag": null,
        "last_modified": null, "title": "A page", "run": "20260101T000000Z-abcd"
    });
    if let Some(similarity_to_first) = text {
        s["text_sha256"] = sha.to_string().repeat(64).into();
        s["text_simhash"] = "0123456789abcdef".into();
        s["text_words"] = 120.into();
        s["cosmetic"] = false.into();
        if let Some(value) = similarity_to_first {
            s["similarity"] = value.into();
            s["similarity_to_first"] = value.into();
        }
    }
    s
}

/// A scratch archive whose manifest holds a drifted link, a link captured once, and a link
/// whose snapshots were written before linkkeep read text.
fn archive() -> Scratch {
    let scratch = Scratch::new(&[]);
    let check = json!({"at": "2026-01-02T00:00:00Z", "outcome": "ok", "http_status": 200,
        "final_url": "http://a.example/", "error": null, "run": "20260102T000000Z-abcd"});
    let manifest = json!({"schema_version": 1, "updated_at": "2026-01-02T00:00:00Z", "links": {
        "drifted": {"url": "http://a.example/drifted", "last_check": check,
                    "snapshots": [snapshot('a', Some(None)), snapshot('b', Some(Some(0.62)))]},
        "cited-only": {"url": "http://a.example/cited", "last_check": check,
                       "snapshots": [snapshot('c', Some(None))]},
        "no-text": {"url": "http://a.example/old", "last_check": check,
                    "snapshots": [snapshot('d', None), snapshot('e', None)]}
    }});
    std::fs::create_dir_all(&scratch.archive).unwrap();
    std::fs::write(scratch.archive.join("manifest.json"), manifest.to_string()).unwrap();
    scratch
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_drift_from_the_cited_version() {
    let scratch = archive();

    let json = scratch.run(&["status", "--format", "json"]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    let link = |id: &str| {
        json["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {json:#}"))
            .clone()
    };
    assert_eq!(link("drifted")["similarity_to_first"], 0.62, "{json:#}");
    assert_eq!(link("cited-only")["similarity_to_first"], 1.0, "{json:#}");
    // Present, and null: unknown is not the same as absent from an older linkkeep.
    assert_eq!(
        link("no-text").get("similarity_to_first"),
        Some(&Value::Null),
        "{json:#}"
    );

    let table = scratch.run(&["status", "--color", "never"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let table = String::from_utf8(table.stdout).unwrap();
    let header = table.lines().next().unwrap();
    let column = header.find("AS CITED").unwrap_or_else(|| panic!("{table}"));
    let cell = |id: &str| {
        let row = table.lines().find(|l| l.contains(id)).unwrap();
        row[column..column + "AS CITED".len()].trim().to_owned()
    };
    assert_eq!(cell("drifted"), "62%", "{table}");
    assert_eq!(cell("cited-only"), "cited", "{table}");
    assert_eq!(cell("no-text"), "-", "{table}");
}
