//! Citations as CSL-JSON, the citation data Zotero, pandoc (`--citeproc`) and other CSL
//! processors import: an array of items with the variable names of the CSL 1.0.2 data schema
//! (`csl-data.json`), which allows no others:
//!
//! ```json
//! [{"id": "ID", "type": "webpage", "title": "…", "container-title": "Publisher",
//!   "URL": "https://…", "accessed": {"date-parts": [[2018, 3, 1]]},
//!   "archive": "Wayback Machine", "archive_location": "https://web.archive.org/web/…",
//!   "note": "SHA-256: …"}]
//! ```
//!
//! `container-title` is the website, as Zotero writes a web page's "Website Title";
//! `accessed` is the date of the cited capture; `archive` (the archive's name) and
//! `archive_location` (the copy's URL, Zotero's "Loc. in Archive") name one copy, a public
//! archive's when there is one, else this archive's, since the schema has no list of copies
//! and no URL field for one; `note` carries the cited version's SHA-256. JSON escaping makes any text
//! safe.

use chrono::Datelike;
use serde_json::{Map, Value, json};

use crate::cite::{ArchivedCopy, Citation, Holder};

/// Renders the array, pretty-printed.
pub fn render(citations: &[Citation]) -> String {
    let items: Vec<Value> = citations.iter().map(item).collect();
    let mut out = serde_json::to_string_pretty(&items).expect("JSON values serialise");
    out.push('\n');
    out
}

/// The name of the archive holding `copy`, as a bibliography prints it: a public archive's
/// ("Wayback Machine"), or for this archive the host (and port) of its replay URL, since "this
/// archive" means nothing in a bibliography.
fn archive_name(copy: &ArchivedCopy) -> String {
    match copy.holder {
        Holder::ThisArchive => url::Url::parse(&copy.url)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_owned();
                Some(u.port().map_or_else(|| host.clone(), |port| format!("{host}:{port}")))
            })
            .unwrap_or_else(|| copy.holder.label().to_owned()),
        Holder::Public(_) => copy.holder.label().to_owned(),
    }
}

/// One citation as a CSL item.
fn item(citation: &Citation) -> Value {
    let mut item = Map::new();
    item.insert("id".into(), citation.id.clone().into());
    item.insert("type".into(), "webpage".into());
    item.insert("title".into(), citation.title.clone().into());
    item.insert("container-title".into(), citation.publisher.clone().into());
    item.insert("URL".into(), citation.url.clone().into());
    if let Some(version) = &citation.version {
        let at = version.captured;
        item.insert(
            "accessed".into(),
            json!({"date-parts": [[at.year(), at.month(), at.day()]]}),
        );
        if let Some(copy) = citation.preferred_copy() {
            item.insert("archive".into(), archive_name(copy).into());
            item.insert("archive_location".into(), copy.url.clone().into());
        }
        item.insert("note".into(), format!("SHA-256: {}", version.sha256).into());
    }
    Value::Object(item)
}
