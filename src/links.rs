//! `links.json`: reading, validating and deriving stable ids for the list of cited URLs.
//!
//! Wire format (see SPEC.md): either an object
//! `{"version": 1, "source": {…}, "links": [{"id", "url", "title", "publisher", "note", …}]}`
//! or a bare array of URL strings. Only `url` is required; every other field is kept as written.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

/// The only `version` this build understands.
pub const LINKS_VERSION: u64 = 1;

/// Hex digits of the URL's hash in a derived id: enough that URLs sharing a slug rarely meet.
const SHORT_HASH: usize = 6;
/// Hex digits of the URL's hash in a derived id whose short form is taken.
const LONG_HASH: usize = 16;
/// Longest slug in a derived id, so that the usual id (slug, `-`, short hash) stays within 60
/// characters and readable in tables.
const MAX_SLUG_LEN: usize = 60 - 1 - SHORT_HASH;

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
    assign_derived_ids(path, &mut links)?;
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

/// Gives every link without an id one derived from its URL alone ([`derive_ids`]).
fn assign_derived_ids(path: &Path, links: &mut [Link]) -> Result<(), LinksError> {
    let written: HashSet<&str> = links.iter().filter(|l| !l.id_derived).map(|l| l.id.as_str()).collect();
    let derived: Vec<usize> = (0..links.len()).filter(|&i| links[i].id_derived).collect();
    let urls: Vec<&Url> = derived.iter().map(|&i| &links[i].parsed).collect();
    let ids = derive_ids(&urls, &written).map_err(|collision| LinksError::Entry {
        path: path.to_owned(),
        index: derived[collision.index] + 1,
        id: None,
        message: collision.to_string(),
    })?;
    for (i, id) in derived.into_iter().zip(ids) {
        links[i].id = id;
    }
    Ok(())
}

/// Why [`derive_ids`] could not give a URL an id of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no id of its own can be derived for {url}: {id:?} is taken; give this link an \"id\"")]
pub struct IdCollision {
    /// The URL's position in the list given to [`derive_ids`].
    pub index: usize,
    /// The URL, parsed.
    pub url: String,
    /// The id it would have had, which is taken.
    pub id: String,
}

/// Ids for the links of `urls`, which were written without one: a readable slug of the URL,
/// `-`, and the first six hex digits of the SHA-256 of the parsed URL
/// (`unctad-org-wgec-m5-revrecom-richardhill-en-3fa2c1`). An id depends on its URL alone, so a
/// link keeps it however the list is reordered or grows, and the work per link is constant.
///
/// Where that short form is an id in `taken` (ids already in use: written ones, or for
/// `extract --write` every id of the file) or the short form of another URL here, those URLs
/// get sixteen hex digits instead: still from the URL alone, never a position. Where even that
/// meets another id, the first URL (in list order) whose id is already taken is an error.
pub fn derive_ids(urls: &[&Url], taken: &HashSet<&str>) -> Result<Vec<String>, IdCollision> {
    let forms: Vec<(String, String)> = urls
        .iter()
        .map(|url| {
            let slug = slug(url);
            let digest = crate::store::hex(&Sha256::digest(url.as_str().as_bytes()));
            (
                format!("{slug}-{}", &digest[..SHORT_HASH]),
                format!("{slug}-{}", &digest[..LONG_HASH]),
            )
        })
        .collect();
    let mut short_uses: HashMap<&str, usize> = HashMap::with_capacity(forms.len());
    for (short, _) in &forms {
        *short_uses.entry(short.as_str()).or_default() += 1;
    }
    let ids: Vec<String> = forms
        .iter()
        .map(|(short, long)| {
            let clash = short_uses[short.as_str()] > 1 || taken.contains(short.as_str());
            if clash { long.clone() } else { short.clone() }
        })
        .collect();
    // A long form can still meet a taken id or another URL's id (a slug that ends like a
    // hash): an error rather than a positional suffix, which would depend on list order.
    let mut seen: HashSet<&str> = HashSet::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        if taken.contains(id.as_str()) || !seen.insert(id.as_str()) {
            return Err(IdCollision {
                index,
                url: urls[index].to_string(),
                id: id.clone(),
            });
        }
    }
    Ok(ids)
}

/// The readable part of a derived id: the host without `www.`, then the last path segment
/// without its extension, e.g. `unctad-org-wgec-m5-revrecom-richardhill-en`.
fn slug(url: &Url) -> String {
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
    if slug.len() > MAX_SLUG_LEN {
        slug.truncate(MAX_SLUG_LEN);
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

    fn ids(file: &LinksFile) -> Vec<&str> {
        file.links.iter().map(|l| l.id.as_str()).collect()
    }

    /// The `digits` first hex digits of the SHA-256 of `url` as the url crate writes it.
    fn hash(url: &str, digits: usize) -> String {
        let parsed = Url::parse(url).unwrap();
        crate::store::hex(&Sha256::digest(parsed.as_str().as_bytes()))[..digits].to_owned()
    }

    #[test]
    fn derived_ids_are_a_slug_and_a_hash_of_the_parsed_url() {
        let file = parse_str(
            r#"["http://www.apig.ch/Gaps%20r9%20clean.pdf", "https://example.org/",
                "HTTPS://Example.org/?page=2", {"id": "example-org", "url": "https://example.org/x/"}]"#,
        )
        .unwrap();
        assert_eq!(
            ids(&file),
            [
                "apig-ch-gaps-r9-clean-15a38f",
                "example-org-8198d1",
                // Hashed as parsed: the same id as `https://example.org/?page=2` would get.
                "example-org-ab8773",
                "example-org"
            ]
        );
        assert!(file.links[..3].iter().all(|l| l.id_derived) && !file.links[3].id_derived);
        assert_eq!(file.links[0].url, "http://www.apig.ch/Gaps%20r9%20clean.pdf");

        // Long slugs are cut so that the usual id stays within 60 characters.
        let long = format!("https://example.org/{}", "word-".repeat(30));
        let file = parse_str(&serde_json::to_string(&[&long]).unwrap()).unwrap();
        let id = &file.links[0].id;
        assert!(id.len() <= 60, "{id}");
        assert!(
            id.starts_with("example-org-word-word-") && id.ends_with(&hash(&long, 6)),
            "{id}"
        );
    }

    /// Issue #12: an id follows its URL, not its place in the list or what else is listed.
    #[test]
    fn derived_ids_survive_reordering_and_insertions() {
        let urls = [
            "https://example.org/a",
            "https://example.org/b",
            "https://example.org/",
            "https://example.org/?page=2",
            "http://other.example/a",
        ];
        let by_url = |file: &LinksFile| -> HashMap<String, String> {
            file.links.iter().map(|l| (l.url.clone(), l.id.clone())).collect()
        };
        let first = by_url(&parse_str(&serde_json::to_string(&urls).unwrap()).unwrap());

        let mut reordered: Vec<&str> = urls.iter().rev().copied().collect();
        reordered.insert(2, "https://example.org/inserted");
        reordered.insert(0, "https://example.org/?page=1");
        let bare = serde_json::to_string(&reordered).unwrap();
        let object = serde_json::json!({
            "version": 1,
            "links": reordered.iter().enumerate().map(|(i, url)| if i % 2 == 0 {
                serde_json::json!({"url": url, "note": "object form"})
            } else {
                serde_json::json!(url)
            }).collect::<Vec<_>>(),
        })
        .to_string();
        for text in [bare, object] {
            let again = by_url(&parse_str(&text).unwrap());
            for url in urls {
                assert_eq!(again[url], first[url], "{url} in {text}");
            }
        }
    }

    #[test]
    fn an_explicit_id_equal_to_a_derived_one_forces_the_long_hash() {
        let url = "https://example.org/report.pdf";
        let short = format!("example-org-report-{}", hash(url, 6));
        let long = format!("example-org-report-{}", hash(url, 16));
        let text = serde_json::json!([url, {"id": short, "url": "https://elsewhere.example/"}]).to_string();
        let file = parse_str(&text).unwrap();
        assert_eq!(ids(&file), [long.as_str(), short.as_str()]);

        // Both forms taken by written ids: an error naming the entry, not a positional suffix.
        let text = serde_json::json!([
            {"id": short, "url": "https://elsewhere.example/1"},
            {"id": long, "url": "https://elsewhere.example/2"},
            url,
        ])
        .to_string();
        let err = parse_str(&text).unwrap_err();
        assert!(matches!(err, LinksError::Entry { index: 3, .. }), "{err:?}");
        assert!(err.to_string().contains(url), "{err}");
    }

    #[test]
    fn derived_ids_that_meet_each_other_both_take_the_long_hash() {
        let (a, b) = (
            Url::parse("https://example.org/a").unwrap(),
            Url::parse("https://example.org/b").unwrap(),
        );
        // a's short form is someone else's id; b's is free.
        let taken_short = format!("example-org-a-{}", hash(a.as_str(), 6));
        let taken = HashSet::from([taken_short.as_str()]);
        let ids = derive_ids(&[&a, &b], &taken).unwrap();
        assert_eq!(
            ids,
            [
                format!("example-org-a-{}", hash(a.as_str(), 16)),
                format!("example-org-b-{}", hash(b.as_str(), 6))
            ]
        );
        // The same URL twice has nowhere to go: the second one is the error.
        let err = derive_ids(&[&a, &b, &a], &HashSet::new()).unwrap_err();
        assert_eq!(err.index, 2);
        assert_eq!(err.id, format!("example-org-a-{}", hash(a.as_str(), 16)));
    }

    /// Issue #12: 20,000 URLs sharing one slug each get an id of their own, the same whatever the
    /// order (the old positional suffixes took quadratic time here).
    #[test]
    fn many_urls_sharing_a_slug_get_distinct_stable_ids() {
        let urls: Vec<String> = (0..20_000)
            .map(|i| format!("https://example.org/doc?page={i}"))
            .collect();
        let file = parse_str(&serde_json::to_string(&urls).unwrap()).unwrap();
        let first: HashMap<&str, &str> = file.links.iter().map(|l| (l.url.as_str(), l.id.as_str())).collect();
        assert_eq!(first.values().collect::<HashSet<_>>().len(), urls.len());
        assert!(first.values().all(|id| id.starts_with("example-org-doc-")));

        let reversed: Vec<&String> = urls.iter().rev().collect();
        let again = parse_str(&serde_json::to_string(&reversed).unwrap()).unwrap();
        for link in &again.links {
            assert_eq!(first[link.url.as_str()], link.id, "{}", link.url);
        }
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
