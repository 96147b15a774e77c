//! `links.json`: reading, validating and deriving stable ids for the list of cited URLs.
//!
//! Wire format (see SPEC.md): either an object
//! `{"version": 1, "source": {…}, "links": [{"id", "url", "title", "publisher", "note", …}]}`
//! or a bare array of URL strings. Only `url` is required; every other field is kept as written.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use url::Url;

/// The only `version` this build understands.
pub const LINKS_VERSION: u64 = 1;

/// Longest derived id, so that ids stay readable in tables.
const MAX_DERIVED_ID_LEN: usize = 60;

/// A parsed, validated links.json.
#[derive(Debug, Clone)]
pub struct LinksFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The citing document (`source`), kept as written.
    pub source: Option<Value>,
    /// The links, in file order.
    pub links: Vec<Link>,
}

/// One cited URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// A stable slug: as written, or derived from the URL when absent.
    pub id: String,
    /// Whether `id` was derived rather than written in the file.
    pub id_derived: bool,
    /// The URL exactly as written (an encoded `%20` stays `%20`).
    pub url: String,
    /// The URL parsed, for making requests.
    pub parsed: Url,
    /// The cited document's title, if given.
    pub title: Option<String>,
    /// Who published it, if given.
    pub publisher: Option<String>,
    /// Where and why it is cited, if given.
    pub note: Option<String>,
    /// Every other field of the entry, kept as written.
    pub extra: Map<String, Value>,
}

/// Why a links.json cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum LinksError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid JSON at line {line}, column {column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Shape { path: PathBuf, message: String },
    #[error("{}: entry {index}{}: {message}", path.display(), describe_id(id))]
    Entry {
        path: PathBuf,
        /// 1-based position in `links`.
        index: usize,
        id: Option<String>,
        message: String,
    },
}

fn describe_id(id: &Option<String>) -> String {
    id.as_ref().map(|id| format!(" (id \"{id}\")")).unwrap_or_default()
}

/// Reads and validates a links.json file.
pub fn load(path: &Path) -> Result<LinksFile, LinksError> {
    let text = std::fs::read_to_string(path).map_err(|source| LinksError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses and validates links.json text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<LinksFile, LinksError> {
    let value: Value = serde_json::from_str(text).map_err(|e| LinksError::Syntax {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    let shape = |message: &str| LinksError::Shape {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let (source, entries) = match value {
        Value::Array(entries) => (None, entries),
        Value::Object(mut top) => {
            match top.get("version") {
                None => {}
                Some(Value::Number(n)) if n.as_u64() == Some(LINKS_VERSION) => {}
                Some(other) => {
                    return Err(shape(&format!(
                        "unsupported \"version\" {other}: this linkkeep reads version {LINKS_VERSION}"
                    )));
                }
            }
            let entries = match top.remove("links") {
                Some(Value::Array(entries)) => entries,
                Some(_) => return Err(shape("\"links\" must be an array")),
                None => return Err(shape("no \"links\" array")),
            };
            (top.remove("source"), entries)
        }
        _ => return Err(shape("expected an object with a \"links\" array, or an array of URLs")),
    };

    let mut links = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        links.push(parse_entry(path, i + 1, entry)?);
    }
    check_unique(path, &links)?;
    assign_derived_ids(&mut links);
    Ok(LinksFile {
        path: path.to_owned(),
        source,
        links,
    })
}

/// serde_json appends " at line L column C" to its messages; we print the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn parse_entry(path: &Path, index: usize, entry: Value) -> Result<Link, LinksError> {
    let err = |id: Option<&str>, message: String| LinksError::Entry {
        path: path.to_owned(),
        index,
        id: id.map(str::to_owned),
        message,
    };
    let mut fields = match entry {
        Value::String(url) => Map::from_iter([("url".to_owned(), Value::String(url))]),
        Value::Object(fields) => fields,
        other => return Err(err(None, format!("expected an object or a URL string, found {other}"))),
    };
    let id = match fields.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.trim().is_empty() && id.trim() == id => Some(id),
        Some(other) => {
            return Err(err(
                None,
                format!("\"id\" must be a non-empty string without surrounding spaces, found {other}"),
            ));
        }
    };
    let url = match fields.remove("url") {
        Some(Value::String(url)) => url,
        None | Some(Value::Null) => return Err(err(id.as_deref(), "missing \"url\"".into())),
        Some(other) => return Err(err(id.as_deref(), format!("\"url\" must be a string, found {other}"))),
    };
    let parsed = parse_url(&url).map_err(|reason| err(id.as_deref(), format!("{url:?} {reason}")))?;
    let mut text_field = |name: &str| -> Result<Option<String>, LinksError> {
        match fields.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => {
                fields.insert(name.to_owned(), other);
                Err(err(id.as_deref(), format!("\"{name}\" must be a string")))
            }
        }
    };
    let title = text_field("title")?;
    let publisher = text_field("publisher")?;
    let note = text_field("note")?;
    Ok(Link {
        id_derived: id.is_none(),
        id: id.unwrap_or_default(),
        url,
        parsed,
        title,
        publisher,
        note,
        extra: fields,
    })
}

/// Parses a cited URL, accepting only absolute http(s) URLs with a host.
pub fn parse_url(url: &str) -> Result<Url, String> {
    if url.trim() != url || url.is_empty() {
        return Err("is not a URL (empty, or surrounded by spaces)".into());
    }
    let parsed = Url::parse(url).map_err(|e| format!("is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("is not an http(s) URL (scheme `{}`)", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(parsed)
}

fn check_unique(path: &Path, links: &[Link]) -> Result<(), LinksError> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut urls: HashMap<&str, usize> = HashMap::new();
    for (i, link) in links.iter().enumerate() {
        let err = |message: String| LinksError::Entry {
            path: path.to_owned(),
            index: i + 1,
            id: (!link.id_derived).then(|| link.id.clone()),
            message,
        };
        if !link.id_derived
            && let Some(first) = ids.insert(&link.id, i + 1)
        {
            return Err(err(format!(
                "duplicate id \"{}\" (first used by entry {first})",
                link.id
            )));
        }
        // Compare parsed URLs so that `HTTP://Example.org/` and `http://example.org/` collide.
        if let Some(first) = urls.insert(link.parsed.as_str(), i + 1) {
            return Err(err(format!(
                "duplicate url {} (first listed as entry {first})",
                link.url
            )));
        }
    }
    Ok(())
}

/// Gives every link without an id one derived from its URL: readable, deterministic for a given
/// file, and unique (a numeric suffix separates collisions, never reusing a written id).
fn assign_derived_ids(links: &mut [Link]) {
    let mut taken: HashSet<String> = links.iter().filter(|l| !l.id_derived).map(|l| l.id.clone()).collect();
    for link in links.iter_mut().filter(|l| l.id_derived) {
        link.id = unique_id(derive_id(&link.parsed), &mut taken);
    }
}

/// `base`, or `base-2`, `base-3`… whichever is not `taken` yet; it is then taken.
pub fn unique_id(base: String, taken: &mut HashSet<String>) -> String {
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
}

/// A readable slug from a URL: the host without `www.`, then the last path segment without its
/// extension, e.g. `unctad-org-wgec-m5-revrecom-richardhill-en`.
pub fn derive_id(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let last = url
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .map(percent_decode)
        .unwrap_or_default();
    let stem = match last.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 5 => stem.to_owned(),
        _ => last,
    };
    let mut slug = slugify(&format!("{host} {stem}"));
    if slug.len() > MAX_DERIVED_ID_LEN {
        slug.truncate(MAX_DERIVED_ID_LEN);
        slug = slug.trim_end_matches('-').to_owned();
    }
    if slug.is_empty() { "link".to_owned() } else { slug }
}

/// Lower-case ASCII letters and digits, every other run of characters becoming one `-`.
fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| segment.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<LinksFile, LinksError> {
        parse(Path::new("links.json"), text)
    }

    #[test]
    fn derived_ids_are_readable_and_unique() {
        let file = parse_str(
            r#"["http://www.apig.ch/Gaps%20r9%20clean.pdf", "https://example.org/",
                "https://example.org/?page=2", {"id": "example-org-2", "url": "https://example.org/x/"}]"#,
        )
        .unwrap();
        let ids: Vec<_> = file.links.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            ids,
            ["apig-ch-gaps-r9-clean", "example-org", "example-org-3", "example-org-2"]
        );
        assert_eq!(file.links[0].url, "http://www.apig.ch/Gaps%20r9%20clean.pdf");
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse_str("{\n  \"links\": [\n    \"http://a.example/\",,\n  ]\n}").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("line 3, column 25"), "{message}");
        assert!(message.starts_with("links.json: invalid JSON"), "{message}");
    }

    #[test]
    fn entries_are_validated() {
        let cases = [
            (r#"{"links": [{"id": "a"}]}"#, "entry 1 (id \"a\"): missing \"url\""),
            (r#"["ftp://example.org/file"]"#, "scheme `ftp`"),
            (r#"["not a url"]"#, "is not a valid URL"),
            (
                r#"["http://a.example/", "HTTP://A.example/"]"#,
                "entry 2: duplicate url",
            ),
            (
                r#"[{"id": "x", "url": "http://a.example/"}, {"id": "x", "url": "http://b.example/"}]"#,
                "duplicate id \"x\"",
            ),
            (r#"{"version": 2, "links": []}"#, "unsupported \"version\" 2"),
            (r#"{"links": {}}"#, "\"links\" must be an array"),
            (r#"[42]"#, "expected an object or a URL string"),
        ];
        for (text, expected) in cases {
            let message = parse_str(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn unknown_fields_are_kept() {
        let file =
            parse_str(r#"{"links": [{"url": "http://a.example/", "tags": ["x"]}], "source": {"title": "t"}}"#).unwrap();
        assert_eq!(file.links[0].extra["tags"], serde_json::json!(["x"]));
        assert_eq!(file.source, Some(serde_json::json!({"title": "t"})));
    }
}
