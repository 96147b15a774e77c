//! The manifest's JSON, read and written fast enough for archives of 100,000 links (issue #7:
//! load + save under a second).
//!
//! Reading is two passes. The first parses the top level and keeps each link's entry as a
//! borrowed slice of the text (`RawValue`: syntax is checked, nothing is allocated). The second
//! turns those slices into [`LinkEntry`] values on every core, in contiguous chunks so the
//! links keep their order. The structs keep unknown fields through
//! [`deserialize_keeping_unknown_fields!`] instead of `#[serde(flatten)]`.
//!
//! Writing puts one link per line: the file stays close to compact JSON in size and speed,
//! and a run that changes three links changes three lines, which keeps an archive under
//! version control diffable.

use std::io::Write;

use indexmap::IndexMap;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{LinkEntry, Manifest, SCHEMA_VERSION};

/// Implements `Deserialize` for a manifest struct that keeps the fields it does not know in
/// its `extra` map, as `#[serde(flatten)]` would.
///
/// flatten buffers every field of the struct in serde's private `Content` tree before
/// deserializing it; that was a quarter of the time to load a 100k-link manifest. This visitor
/// sends each known field straight to its type and only unknown ones into `extra`.
///
/// A field marked `= default` may be absent and then takes `Default::default()`; an absent
/// `Option` field is `None`; any other absent field is a "missing field" error, like derive's.
macro_rules! deserialize_keeping_unknown_fields {
    ($ty:ident { $($field:ident $(= $default:ident)?),* $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // Named after the fields themselves, so the macro needs no second list.
                #[allow(non_camel_case_types)]
                enum Field {
                    $($field,)*
                    Unknown(String),
                }

                struct FieldVisitor;

                impl serde::de::Visitor<'_> for FieldVisitor {
                    type Value = Field;

                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a field name")
                    }

                    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Field, E> {
                        Ok(match name {
                            $(stringify!($field) => Field::$field,)*
                            other => Field::Unknown(other.to_owned()),
                        })
                    }
                }

                impl<'de> serde::Deserialize<'de> for Field {
                    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                        deserializer.deserialize_identifier(FieldVisitor)
                    }
                }

                struct StructVisitor;

                impl<'de> serde::de::Visitor<'de> for StructVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("struct ", stringify!($ty)))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        $(let mut $field = None;)*
                        let mut extra = serde_json::Map::new();
                        while let Some(key) = map.next_key::<Field>()? {
                            match key {
                                $(Field::$field => {
                                    if $field.is_some() {
                                        return Err(serde::de::Error::duplicate_field(stringify!($field)));
                                    }
                                    $field = Some(map.next_value()?);
                                })*
                                Field::Unknown(name) => {
                                    extra.insert(name, map.next_value()?);
                                }
                            }
                        }
                        Ok($ty {
                            $($field: deserialize_keeping_unknown_fields!(@absent $field $(, $default)?),)*
                            extra,
                        })
                    }
                }

                deserializer.deserialize_map(StructVisitor)
            }
        }
    };
    (@absent $field:ident) => {
        $crate::manifest::json::required_or_none($field, stringify!($field))?
    };
    (@absent $field:ident, default) => {
        $field.unwrap_or_default()
    };
}

pub(crate) use deserialize_keeping_unknown_fields;

/// A field's value, or for an absent field `None` if it is an `Option`, else an error naming it.
pub(crate) fn required_or_none<'de, T: serde::Deserialize<'de>, E: de::Error>(
    value: Option<T>,
    name: &'static str,
) -> Result<T, E> {
    match value {
        Some(value) => Ok(value),
        // Only `Option`'s visitor accepts "nothing here" from the unit deserializer.
        None => T::deserialize(de::value::UnitDeserializer::<E>::new()).map_err(|_| E::missing_field(name)),
    }
}

/// Why a text is not a manifest this build can use.
#[derive(Debug, thiserror::Error)]
pub enum ParseFailure {
    /// Not JSON, or not a manifest, at this position of the whole text.
    #[error("line {line}, column {column}: {message}")]
    Invalid {
        line: usize,
        column: usize,
        message: String,
    },
    /// A manifest of a newer schema.
    #[error("schema_version {0} is newer than this linkkeep understands ({SCHEMA_VERSION})")]
    NewerSchema(u32),
}
/// The manifest's top level with the links still unparsed.
struct TopLevel<'a> {
    schema_version: u32,
    updated_at: Option<String>,
    links: Vec<(String, &'a RawValue)>,
    extra: Map<String, Value>,
}

/// A manifest's parts, with each link's entry read as `T`: a whole [`LinkEntry`], or a
/// [`super::LinkSummary`] for `status`.
pub(crate) struct Parsed<T> {
    pub schema_version: u32,
    pub updated_at: Option<String>,
    pub links: IndexMap<String, T>,
    pub extra: Map<String, Value>,
}

/// Parses a whole manifest. The schema version is checked before any link is parsed, so a
/// newer manifest is reported as such rather than as a type error in one of its links.
pub(crate) fn parse<T: DeserializeOwned + Send>(bytes: &[u8]) -> Result<Parsed<T>, ParseFailure> {
    // One check of the whole file is cheaper than serde_json's check of every string.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = position_of(bytes, e.valid_up_to());
        ParseFailure::Invalid {
            line,
            column: column + 1,
            message: "the file is not UTF-8".into(),
        }
    })?;
    let top: TopLevel = serde_json::from_str(text).map_err(|e| invalid(&e, (1, 0)))?;
    if top.schema_version > SCHEMA_VERSION {
        return Err(ParseFailure::NewerSchema(top.schema_version));
    }
    let entries = parse_entries(&top.links).map_err(|(raw, e)| {
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        invalid(&e, position_of(bytes, offset))
    })?;
    let mut links = IndexMap::with_capacity(top.links.len());
    for ((id, _), entry) in top.links.into_iter().zip(entries.into_iter().flatten()) {
        // A repeated id keeps its first place and its last value, as a map parsed in one pass does.
        links.insert(id, entry);
    }
    Ok(Parsed {
        schema_version: top.schema_version,
        updated_at: top.updated_at,
        links,
        extra: top.extra,
    })
}

/// Below this many links per thread, another thread costs more than it saves.
const MIN_LINKS_PER_THREAD: usize = 2_000;

/// A failing entry and its error.
type EntryError<'a> = (&'a RawValue, serde_json::Error);

/// Parses the raw entries on up to one thread per core, into one vector per thread, in
/// order. On failure, the first failing entry in document order.
fn parse_entries<'a, T: DeserializeOwned + Send>(
    raw: &[(String, &'a RawValue)],
) -> Result<Vec<Vec<T>>, EntryError<'a>> {
    let parse_chunk = |chunk: &[(String, &'a RawValue)]| -> Result<Vec<T>, EntryError<'a>> {
        // Sized up front: entries are large, and each reallocation would copy them all again.
        let mut entries = Vec::with_capacity(chunk.len());
        for (_, value) in chunk {
            entries.push(serde_json::from_str(value.get()).map_err(|e| (*value, e))?);
        }
        Ok(entries)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(raw.len() / MIN_LINKS_PER_THREAD).max(1);
    if threads == 1 {
        return Ok(vec![parse_chunk(raw)?]);
    }
    let chunk_len = raw.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = raw
            .chunks(chunk_len)
            .map(|chunk| scope.spawn(move || parse_chunk(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("parsing a manifest entry does not panic"))
            .collect()
    })
}

/// `error` in a part of the manifest that starts at `start`: the line (from 1) of the part's
/// first byte and the number of bytes before it on that line.
fn invalid(error: &serde_json::Error, start: (usize, usize)) -> ParseFailure {
    let (line, column) = if error.line() <= 1 {
        (start.0, start.1 + error.column())
    } else {
        (start.0 + error.line() - 1, error.column())
    };
    ParseFailure::Invalid {
        line,
        column,
        message: strip_position(&error.to_string()),
    }
}

/// The line (from 1) of byte `offset` of `text`, and the number of bytes before it on that line.
fn position_of(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (1 + before.iter().filter(|&&b| b == b'\n').count(), offset - line_start)
}

/// serde_json appends " at line L column C"; the message prints the position itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for TopLevel<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopLevelVisitor(std::marker::PhantomData))
    }
}

struct TopLevelVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TopLevelVisitor<'a> {
    type Value = TopLevel<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a manifest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel<'a>, A::Error> {
        let (mut schema_version, mut updated_at, mut links) = (None, None, None);
        let mut extra = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schema_version" => schema_version = Some(map.next_value()?),
                "updated_at" => updated_at = map.next_value()?,
                "links" => links = Some(map.next_value::<RawLinks>()?.0),
                _ => {
                    extra.insert(key, map.next_value()?);
                }
            }
        }
        Ok(TopLevel {
            schema_version: schema_version.ok_or_else(|| de::Error::missing_field("schema_version"))?,
            updated_at,
            links: links.unwrap_or_default(),
            extra,
        })
    }
}

/// The `links` object as (id, unparsed entry) pairs, in order.
struct RawLinks<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawLinks<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LinksVisitor<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for LinksVisitor<'a> {
            type Value = RawLinks<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of links by id")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLinks<'a>, A::Error> {
                let mut links = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    links.push(entry);
                }
                Ok(RawLinks(links))
            }
        }

        deserializer.deserialize_map(LinksVisitor(std::marker::PhantomData))
    }
}

/// Links serialized by one thread at a time when saving.
const LINKS_PER_BLOCK: usize = 2_000;

/// Writes `manifest` as JSON with one link per line. Blocks of links are serialized on every
/// core and written in order.
pub(crate) fn write(manifest: &Manifest, out: &mut impl Write) -> std::io::Result<()> {
    let header = serde_json::json!({
        "schema_version": manifest.schema_version,
        "updated_at": manifest.updated_at,
    });
    let mut header = serde_json::to_string(&header)?;
    header.pop(); // the closing brace: links and unknown fields follow
    out.write_all(header.as_bytes())?;
    for (key, value) in &manifest.extra {
        write!(out, ",\n{}:", serde_json::to_string(key)?)?;
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(b",\n\"links\": {")?;
    let links: Vec<(&String, &LinkEntry)> = manifest.links.iter().collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(links.len() / LINKS_PER_BLOCK).max(1);
    let mut first = true;
    for group in links.chunks(LINKS_PER_BLOCK * threads) {
        let blocks: Vec<std::io::Result<Vec<u8>>> = if threads == 1 {
            vec![serialize_links(group, first)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = group
                    .chunks(LINKS_PER_BLOCK)
                    .enumerate()
                    .map(|(i, block)| scope.spawn(move || serialize_links(block, first && i == 0)))
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().expect("serializing a manifest entry does not panic"))
                    .collect()
            })
        };
        for block in blocks {
            out.write_all(&block?)?;
        }
        first = false;
    }
    out.write_all(b"\n}}\n")
}

/// `links` as lines of the `links` object, each after its separator from the previous entry
/// (none before the object's first).
fn serialize_links(links: &[(&String, &LinkEntry)], starts_object: bool) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(links.len() * 2048);
    for (i, (id, entry)) in links.iter().enumerate() {
        out.extend_from_slice(if starts_object && i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut out, id)?;
        out.extend_from_slice(b": ");
        serde_json::to_writer(&mut out, entry)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LastCheck, LinkEntry};

    fn parse(bytes: &[u8]) -> Result<Manifest, ParseFailure> {
        super::parse(bytes).map(Manifest::from_parsed)
    }

    /// A manifest text of `n` links, one per line like [`write`] puts them, with `broken`'s
    /// entry replaced by `bad_entry`.
    fn text(n: usize, broken: Option<(usize, &str)>) -> String {
        let mut text = String::from("{\"schema_version\": 1,\n\"links\": {\n");
        for i in 0..n {
            let entry = match broken {
                Some((at, bad)) if at == i => bad.to_owned(),
                _ => format!(r#"{{"url": "http://a.example/{i}", "snapshots": []}}"#),
            };
            let comma = if i + 1 < n { "," } else { "" };
            text.push_str(&format!("\"l{i}\": {entry}{comma}\n"));
        }
        text + "}}\n"
    }

    /// Where serde_json reports `text`'s first error when it parses it in one pass.
    fn one_pass_position(text: &str) -> (usize, usize) {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct OnePass {
            schema_version: u32,
            links: IndexMap<String, LinkEntry>,
        }
        let e = serde_json::from_str::<OnePass>(text).err().expect("the text is broken");
        (e.line(), e.column())
    }

    fn position(failure: ParseFailure) -> (usize, usize) {
        match failure {
            ParseFailure::Invalid { line, column, .. } => (line, column),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn errors_inside_links_are_placed_in_the_whole_file() {
        let bad = r#"{"url": "http://a.example/", "snapshots": 7}"#;
        // Small enough for one thread, and large enough for every core.
        for (n, at) in [(10, 7), (3 * MIN_LINKS_PER_THREAD, 2 * MIN_LINKS_PER_THREAD + 17)] {
            let text = text(n, Some((at, bad)));
            let position = position(parse(text.as_bytes()).unwrap_err());
            assert_eq!(position, one_pass_position(&text), "{n} links");
            assert_eq!(position.0, 3 + at, "{n} links");
        }
        // An error on the line where its entry starts, and one lines below it.
        let compact = r#"{"schema_version": 1, "links": {"a": {"url": "u"}, "b": {"url": 5}}}"#;
        assert_eq!(
            position(parse(compact.as_bytes()).unwrap_err()),
            one_pass_position(compact)
        );
        let multiline = "{\"schema_version\": 1, \"links\": {\"a\": {\n\"url\": \"u\",\n  \"snapshots\": {}}}}";
        assert_eq!(
            position(parse(multiline.as_bytes()).unwrap_err()),
            one_pass_position(multiline)
        );
        assert_eq!(one_pass_position(multiline).0, 3);
    }

    #[test]
    fn the_first_broken_link_is_the_one_reported() {
        let n = 4 * MIN_LINKS_PER_THREAD;
        let mut text = text(n, Some((n - 5, r#"{"url": 1}"#)));
        text = text.replacen(
            r#""l3": {"url": "http://a.example/3", "snapshots": []}"#,
            r#""l3": {"snapshots": []}"#,
            1,
        );
        match parse(text.as_bytes()).unwrap_err() {
            ParseFailure::Invalid { line, message, .. } => {
                assert_eq!(line, 6);
                assert_eq!(message, "missing field `url`");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_newer_schema_is_reported_before_its_links_are_read() {
        let text =
            text(3, Some((1, r#"{"url": ["not", "ours"]}"#))).replace("\"schema_version\": 1", "\"schema_version\": 2");
        assert!(matches!(parse(text.as_bytes()), Err(ParseFailure::NewerSchema(2))));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_placed() {
        let mut bytes = b"{\"schema_version\": 1,\n\"links\": {\"a\": {\"url\": \"".to_vec();
        bytes.extend_from_slice(b"caf\xe9\"}}}");
        match parse(&bytes).unwrap_err() {
            ParseFailure::Invalid { line, column, message } => {
                // 24 bytes of JSON and `caf` come before the é on its line.
                assert_eq!((line, column), (2, 28));
                assert_eq!(message, "the file is not UTF-8");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn absent_duplicate_and_unknown_fields() {
        let entry: LinkEntry = serde_json::from_str(r#"{"url": "u", "tags": ["x"]}"#).unwrap();
        assert_eq!((entry.last_check, entry.snapshots.len()), (None, 0));
        assert_eq!(entry.extra["tags"], serde_json::json!(["x"]));
        let duplicate = serde_json::from_str::<LinkEntry>(r#"{"url": "u", "url": "v"}"#).unwrap_err();
        assert!(
            duplicate.to_string().starts_with("duplicate field `url`"),
            "{duplicate}"
        );
        let missing = serde_json::from_str::<LastCheck>(r#"{"at": "t", "run": "r"}"#).unwrap_err();
        assert!(missing.to_string().starts_with("missing field `outcome`"), "{missing}");
        let not_an_object = serde_json::from_str::<LinkEntry>("[]").unwrap_err();
        assert!(
            not_an_object.to_string().contains("expected struct LinkEntry"),
            "{not_an_object}"
        );
    }

    #[test]
    fn written_one_link_per_line_and_read_back_the_same() {
        let text = r#"{"schema_version": 1, "updated_at": "2026-01-01T00:00:00Z", "owner": {"name": "lab"},
            "links": {"b": {"url": "http://b.example/", "last_check": null, "snapshots": [{"sha256": "aa", "size": 2,
            "content_type": null, "first_seen": "t", "last_seen": "t", "http_status": 200,
            "final_url": "http://b.example/", "etag": null, "last_modified": null, "title": "B\n",
            "object": "o", "warc": "w", "warc_record": {"offset": 0, "length": 9, "record_id": "<urn:x>",
            "date": "t", "payload_digest": "sha256:x", "segment": 1}, "run": "r", "pinned": true}]},
            "a": {"url": "http://a.example/", "snapshots": [], "last_check": {"at": "t", "outcome": "http_error",
            "http_status": 404, "final_url": null, "error": "404", "run": "r", "via": "cron"}}}}"#;
        let manifest = parse(text.as_bytes()).unwrap();
        let mut written = Vec::new();
        write(&manifest, &mut written).unwrap();
        let written = String::from_utf8(written).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 6, "{written}");
        assert!(lines[3].starts_with(r#""b": {"url":"http://b.example/""#), "{written}");
        assert!(lines[4].starts_with(r#""a": {"url":"http://a.example/""#), "{written}");
        assert_eq!(parse(written.as_bytes()).unwrap(), manifest);
        // The same as any JSON reader sees it, unknown fields included.
        let original: Value = serde_json::from_str(text).unwrap();
        let rewritten: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(rewritten, original);
    }

    #[test]
    fn a_manifest_written_in_blocks_reads_back_the_same() {
        let n = 2 * LINKS_PER_BLOCK + 7;
        let manifest = parse(text(n, None).as_bytes()).unwrap();
        let mut written = Vec::new();
        write(&manifest, &mut written).unwrap();
        let written = String::from_utf8(written).unwrap();
        assert_eq!(written.lines().count(), n + 3);
        let back = parse(written.as_bytes()).unwrap();
        assert_eq!(back, manifest);
        // IndexMap's equality ignores order; the links' order is part of the format.
        assert!(back.links.keys().eq(manifest.links.keys()));
        assert!(back.links.keys().enumerate().all(|(i, id)| *id == format!("l{i}")));
    }

    #[test]
    fn an_empty_manifest_is_valid_json() {
        let mut written = Vec::new();
        write(&Manifest::new(), &mut written).unwrap();
        assert_eq!(parse(&written).unwrap(), Manifest::new());
        let _: Value = serde_json::from_slice(&written).unwrap();
    }
}
