//! links.json out of extracted URLs: a fresh document for stdout, or a merge into an existing
//! file that keeps every hand-written entry, field and key order as it was.
//!
//! New entries are `{"id", "url", "note"}`, with the id derived from the URL as links.json
//! derives it for an entry without one ([`crate::links::derive_ids`]), so writing it down
//! changes nothing; it avoids every id already in use, written or derived. Existing entries are
//! matched by URL, as written or in parsed form, and never edited.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::{Map, Value};
use url::Url;

use super::Found;
use crate::links::{self, IdCollision, LINKS_VERSION, LinksError, derive_ids, parse_url};

/// A fresh links.json for the documents `documents` (paths as given) citing `found` (URLs that
/// [`parse_url`] accepts, as extraction yields them).
pub fn fresh(found: &[Found], documents: &[String]) -> Result<Value, IdCollision> {
    let links = new_entries(&found.iter().collect::<Vec<_>>(), &HashSet::new())?;
    let mut doc = Map::new();
    doc.insert("version".into(), LINKS_VERSION.into());
    doc.insert("source".into(), source(documents));
    doc.insert("links".into(), Value::Array(links));
    Ok(Value::Object(doc))
}

/// `{"document": "<path>"}`, plus `"documents": [...]` when there were several.
fn source(documents: &[String]) -> Value {
    let mut source = Map::new();
    if let Some(first) = documents.first() {
        source.insert("document".into(), first.clone().into());
    }
    if documents.len() > 1 {
        source.insert("documents".into(), documents.to_vec().into());
    }
    Value::Object(source)
}

/// Entries for `found`, with ids derived from their URLs that avoid `taken`.
fn new_entries(found: &[&Found], taken: &HashSet<&str>) -> Result<Vec<Value>, IdCollision> {
    let parsed: Vec<Url> = found
        .iter()
        .map(|f| parse_url(&f.url).expect("extraction keeps only URLs that parse_url accepts"))
        .collect();
    let ids = derive_ids(&parsed.iter().collect::<Vec<_>>(), taken)?;
    Ok(found
        .iter()
        .zip(ids)
        .map(|(found, id)| {
            let mut entry = Map::new();
            entry.insert("id".into(), id.into());
            entry.insert("url".into(), found.url.clone().into());
            if !found.note.is_empty() {
                entry.insert("note".into(), found.note.clone().into());
            }
            Value::Object(entry)
        })
        .collect())
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// The links.json to write.
    pub document: Value,
    /// Whether it differs from what was there (a missing file always does).
    pub changed: bool,
    /// How many URLs were appended.
    pub appended: usize,
    /// How many found URLs were already listed.
    pub already_listed: usize,
    /// Entries (id, url) whose URLs the documents no longer cite.
    pub stale: Vec<(String, String)>,
    /// Whether the stale entries were removed (`--prune`).
    pub pruned: bool,
}

/// Merges `found` (URLs that [`parse_url`] accepts) into the links.json text `existing`
/// (`None`: no file yet), read from `path`. An invalid existing file is an error and nothing is
/// merged.
pub fn merge(
    path: &Path,
    existing: Option<&str>,
    found: &[Found],
    documents: &[String],
    prune: bool,
) -> Result<Merged, LinksError> {
    let collision = |at: usize, e: IdCollision| LinksError::Entry {
        path: path.to_owned(),
        index: at + e.index + 1,
        id: None,
        message: e.to_string(),
    };
    let Some(text) = existing else {
        return Ok(Merged {
            document: fresh(found, documents).map_err(|e| collision(0, e))?,
            changed: true,
            appended: found.len(),
            pruned: prune,
            ..Merged::default()
        });
    };
    let parsed = links::parse(path, text)?;
    let original: Value = serde_json::from_str(text).expect("links::parse accepted it as JSON");
    let mut document = original.clone();
    let entries = match &mut document {
        Value::Array(entries) => entries,
        Value::Object(top) => match top.get_mut("links") {
            Some(Value::Array(entries)) => entries,
            _ => unreachable!("links::parse checked the shape"),
        },
        _ => unreachable!("links::parse checked the shape"),
    };

    // Existing entries by URL as written and in parsed form.
    let mut listed: HashMap<&str, usize> = HashMap::new();
    for (i, link) in parsed.links.iter().enumerate() {
        listed.insert(&link.url, i);
        listed.insert(link.parsed.as_str(), i);
    }
    let mut cited = vec![false; parsed.links.len()];
    let mut merged = Merged {
        pruned: prune,
        ..Merged::default()
    };
    let mut new = Vec::new();
    for f in found {
        let normal = parse_url(&f.url).map(|u| u.as_str().to_owned()).unwrap_or_default();
        match listed.get(f.url.as_str()).or_else(|| listed.get(normal.as_str())) {
            Some(&i) => {
                cited[i] = true;
                merged.already_listed += 1;
            }
            None => new.push(f),
        }
    }
    // Every id of the file is taken, derived ones too: they are what its links are known by.
    let taken: HashSet<&str> = parsed.links.iter().map(|l| l.id.as_str()).collect();
    let listed_before = entries.len();
    entries.extend(new_entries(&new, &taken).map_err(|e| collision(listed_before, e))?);
    merged.appended = new.len();
    merged.stale = parsed
        .links
        .iter()
        .zip(&cited)
        .filter(|(_, cited)| !**cited)
        .map(|(link, _)| (link.id.clone(), link.url.clone()))
        .collect();
    if prune {
        let mut index = 0;
        entries.retain(|_| {
            let keep = index >= cited.len() || cited[index];
            index += 1;
            keep
        });
    }
    merged.changed = document != original;
    merged.document = document;
    Ok(merged)
}

/// links.json text as linkkeep writes it: pretty-printed, with a final newline.
pub fn to_text(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document).expect("JSON values serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(urls: &[&str]) -> Vec<Found> {
        urls.iter()
            .map(|u| Found {
                url: (*u).to_owned(),
                note: format!("cites {u}"),
            })
            .collect()
    }

    #[test]
    fn fresh_documents_get_ids_derived_from_their_urls() {
        let doc = fresh(
            &found(&["https://a.example/x", "https://a.example/x?y", "https://b.example/"]),
            &["d.md".into()],
        )
        .unwrap();
        let ids: Vec<_> = doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a-example-x-390213", "a-example-x-069ff5", "b-example-5d1dd9"]);
        assert_eq!(doc["source"], serde_json::json!({"document": "d.md"}));
    }

    #[test]
    fn merging_keeps_entries_appends_new_and_prunes_on_request() {
        let existing = r#"{"links": [
            {"url": "HTTP://A.example/x", "zzz": 1, "id": "mine", "title": "T"},
            {"url": "https://gone.example/"},
            "https://b.example/"
        ], "version": 1}"#;
        let path = Path::new("links.json");
        let urls = found(&["http://a.example/x", "https://b.example/", "https://c.example/"]);
        let merged = merge(path, Some(existing), &urls, &[], false).unwrap();
        assert!(merged.changed);
        assert_eq!((merged.appended, merged.already_listed), (1, 2));
        assert_eq!(
            merged.stale,
            [("gone-example-39234c".to_owned(), "https://gone.example/".to_owned())]
        );
        let text = to_text(&merged.document);
        assert!(
            text.find("\"zzz\"").unwrap() < text.find("\"id\": \"mine\"").unwrap(),
            "{text}"
        );
        let links = merged.document["links"].as_array().unwrap();
        assert_eq!(links.len(), 4);
        assert_eq!(links[3]["url"], "https://c.example/");

        let merged = merge(path, Some(existing), &urls, &[], true).unwrap();
        let links = merged.document["links"].as_array().unwrap();
        assert_eq!(links.len(), 3);
        assert_eq!(links[1], "https://b.example/");

        let unchanged = merge(path, Some(existing), &urls[..2], &[], false).unwrap();
        assert!(!unchanged.changed);
    }

    /// Issue #12: `extract --write` writes down the id links.json would derive anyway, and
    /// entries already listed without an id keep theirs.
    #[test]
    fn merged_ids_are_the_ids_links_json_derives() {
        let path = Path::new("links.json");
        let existing = r#"["https://b.example/", {"id": "a-example-x-390213", "url": "https://other.example/"}]"#;
        let before = links::parse(path, existing).unwrap();
        let urls = found(&["https://c.example/new", "https://a.example/x", "https://b.example/"]);
        let merged = merge(path, Some(existing), &urls, &[], false).unwrap();
        let text = to_text(&merged.document);
        let after = links::parse(path, &text).unwrap();
        let ids: Vec<&str> = after.links.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                before.links[0].id.as_str(),
                "a-example-x-390213",
                // What the bare URL gets in links.json.
                links::parse(path, r#"["https://c.example/new"]"#).unwrap().links[0]
                    .id
                    .as_str(),
                // Its short form is taken by the hand-written id above: the long hash.
                "a-example-x-39021306bfa34811",
            ]
        );
        assert_eq!(ids[2], "c-example-new-6d7453");
    }

    #[test]
    fn invalid_existing_files_are_errors() {
        let err = merge(Path::new("l.json"), Some("{"), &[], &[], false).unwrap_err();
        assert!(err.to_string().starts_with("l.json: invalid JSON"), "{err}");
    }
}
