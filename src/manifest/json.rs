//! The manifest's JSON, read and written fast enough for archives of 100,000 links (issue #7:
//! load + save under a second).
//!
//! Writing puts one link per line: the file stays close to compact JSON in size and speed,
//! a run that changes three links changes three lines, which keeps an archive under version
//! control diffable, and a reader can cut the file into its links without parsing it.
//!
//! Reading checks the text as UTF-8 once, then finds the link lines ([`LinkLines`]) and parses
//! blocks of them on every core. A text in any other layout is parsed in one pass of
//! serde_json, and so is one whose lines do not parse, since that pass places the error
//! exactly. (An earlier attempt at reading on both cores split the links with a first JSON
//! pass, which cost what the second core saved; finding newlines costs next to nothing.) The
//! structs keep unknown fields through [`deserialize_keeping_unknown_fields!`] instead of
//! `#[serde(flatten)]`.

use std::io::Write;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{LinkEntry, SCHEMA_VERSION};

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

/// A manifest's parts, with each link's entry read as `T`: a whole [`LinkEntry`](super::LinkEntry), or a
/// [`super::LinkSummary`] for `status`.
pub(crate) struct Parsed<T> {
    pub schema_version: u32,
    pub updated_at: Option<String>,
    pub links: IndexMap<String, T>,
    pub extra: Map<String, Value>,
}

/// Parses a whole manifest. One of a newer schema is reported as such, even when its links do
/// not parse as this build's.
pub(crate) fn parse<T: DeserializeOwned + Send>(bytes: &[u8]) -> Result<Parsed<T>, ParseFailure> {
    parse_text(utf8(bytes)?)
}

/// [`parse`] for a text already checked as UTF-8, whose links may borrow from it.
pub(crate) fn parse_text<'a, T: Deserialize<'a> + Send>(text: &'a str) -> Result<Parsed<T>, ParseFailure> {
    if let Some(lines) = LinkLines::split(text)
        && let Ok(frame) = lines.frame()
        && let Some(entries) = lines.map(|line| Ok((line.id()?, serde_json::from_str::<T>(line.entry)?)))
    {
        return Ok(frame.with_links(entries.into_iter().collect()));
    }
    parse_whole(text)
}

/// The text of a manifest file, or where it stops being UTF-8.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, ParseFailure> {
    // One check of the whole file is cheaper than serde_json's check of every string.
    std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        ParseFailure::Invalid {
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: 1 + before.len() - line_start,
            message: "the file is not UTF-8".into(),
        }
    })
}

/// The text of a manifest file, taking its bytes over.
pub(crate) fn into_text(bytes: Vec<u8>) -> Result<String, ParseFailure> {
    String::from_utf8(bytes).map_err(|e| utf8(e.as_bytes()).expect_err("from_utf8 found an error"))
}

/// Parses a manifest in one pass of serde_json, whatever its layout: the way for files not
/// laid out as [`write`] writes them, and for errors, which it places exactly.
pub(crate) fn parse_whole<'a, T: Deserialize<'a>>(text: &'a str) -> Result<Parsed<T>, ParseFailure> {
    match serde_json::from_str::<Parsed<T>>(text) {
        Ok(parsed) if parsed.schema_version > SCHEMA_VERSION => Err(ParseFailure::NewerSchema(parsed.schema_version)),
        Ok(parsed) => Ok(parsed),
        Err(error) => Err(match newer_schema(text) {
            Some(found) => ParseFailure::NewerSchema(found),
            None => ParseFailure::Invalid {
                line: error.line(),
                column: error.column(),
                message: strip_position(&error.to_string()),
            },
        }),
    }
}

/// A manifest text laid out as [`write`] writes it, cut into its link lines so that they can
/// be read on every core (at 100,000 links, one core takes most of a second).
///
/// The layout is recognized, not trusted: the text outside the links must parse as a manifest
/// with no links, and every line between must be one `"id": {…}` member with a comma after
/// all but the last. Any other text (pretty-printed by hand, say) is read by
/// [`parse_whole`], which is also what places an error, so both ways give the same manifest
/// or the same error.
pub(crate) struct LinkLines<'a> {
    text: &'a str,
    /// Up to `"links": {`, the text before the link lines.
    head: &'a str,
    /// The link lines, without the newlines before the first and after the last.
    links: &'a str,
    /// From `}}`, the text after them.
    tail: &'a str,
}

/// One `"id": {…}` line of a [`LinkLines`].
pub(crate) struct LinkLine<'a> {
    /// The whole member, without the comma after it.
    pub member: &'a str,
    /// The id as JSON, quotes and escapes included.
    id: &'a str,
    /// The entry's JSON text.
    pub entry: &'a str,
    /// The line's number in the file, from 1.
    pub line: usize,
    /// The entry's column on that line, from 1.
    pub column: usize,
}

/// What [`write`] puts before the first link line, and after the last one.
const LINKS_OPEN: &str = ",\n\"links\": {\n";
const LINKS_CLOSE: &str = "\n}}\n";
/// Below this many links per thread, fewer threads read them sooner.
const LINES_PER_THREAD: usize = 2_000;

impl<'a> LinkLines<'a> {
    /// The link lines of `text`, if it has [`write`]'s layout around them.
    pub fn split(text: &'a str) -> Option<Self> {
        // A compact JSON value has no raw newline, so this cannot occur inside a field
        // written before the links.
        let open = text.find(LINKS_OPEN)? + LINKS_OPEN.len() - 1;
        let close = text.strip_suffix(LINKS_CLOSE)?.len();
        // With no links, the newline after `{` is also the one before `}}`.
        let links = text.get(open + 1..close).unwrap_or_default();
        Some(Self {
            text,
            head: &text[..open],
            links,
            tail: &text[close.max(open) + 1..],
        })
    }

    /// The manifest without its links: schema version, `updated_at` and unknown fields.
    pub fn frame(&self) -> Result<Parsed<de::IgnoredAny>, ParseFailure> {
        parse_whole(&[self.head, self.tail].concat())
    }

    /// `read` applied to every link line, on every core when there are many; `None` when a
    /// line is not a link member or `read` fails on one (then [`parse_whole`] says where).
    pub fn map<V: Send>(&self, read: impl Fn(LinkLine<'a>) -> Result<V, serde_json::Error> + Sync) -> Option<Vec<V>> {
        let lines = self.lines();
        let first_line = 2 + self.head.bytes().filter(|&b| b == b'\n').count();
        let last = lines.len().saturating_sub(1);
        let read_line = |i: usize, line: &'a str| -> Option<V> {
            // Every line but the last ends with the comma before the next member.
            let member = if i == last { Some(line) } else { line.strip_suffix(',') }?;
            read(LinkLine::split(member, first_line + i)?).ok()
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(lines.len() / LINES_PER_THREAD)
            .max(1);
        let chunk = lines.len().div_ceil(threads).max(1);
        let read_chunk = |c: usize, lines: &[&'a str]| -> Option<Vec<V>> {
            let first = c * chunk;
            lines
                .iter()
                .enumerate()
                .map(|(i, line)| read_line(first + i, line))
                .collect()
        };
        if threads == 1 {
            return read_chunk(0, &lines);
        }
        std::thread::scope(|scope| {
            let read_chunk = &read_chunk;
            let workers: Vec<_> = lines
                .chunks(chunk)
                .enumerate()
                .map(|(c, lines)| scope.spawn(move || read_chunk(c, lines)))
                .collect();
            let mut all = Vec::with_capacity(lines.len());
            for worker in workers {
                all.extend(worker.join().expect("a manifest reader thread panicked")?);
            }
            Some(all)
        })
    }

    /// The link lines. (memchr's search is several times faster than `str::split`'s here.)
    fn lines(&self) -> Vec<&'a str> {
        if self.links.is_empty() {
            return Vec::new();
        }
        let mut lines = Vec::new();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', self.links.as_bytes()) {
            lines.push(&self.links[start..end]);
            start = end + 1;
        }
        lines.push(&self.links[start..]);
        lines
    }

    /// Where `part`, a piece of a line, is in the file: its byte range.
    pub fn span(&self, part: &str) -> std::ops::Range<usize> {
        let start = part.as_ptr() as usize - self.text.as_ptr() as usize;
        start..start + part.len()
    }
}

impl<'a> LinkLine<'a> {
    /// Cuts `"id": {…}` (no comma) into its id and entry.
    fn split(member: &'a str, line: usize) -> Option<Self> {
        let rest = member.strip_prefix('"')?;
        // The id's closing quote is the first one not escaped by a backslash.
        let mut escaped = false;
        let close = rest.bytes().position(|b| {
            let closes = b == b'"' && !escaped;
            escaped = b == b'\\' && !escaped;
            closes
        })?;
        let (id, rest) = member.split_at(close + 2);
        let entry = rest.trim_start().strip_prefix(':')?.trim();
        let column = 1 + entry.as_ptr() as usize - member.as_ptr() as usize;
        Some(Self {
            member,
            id,
            entry,
            line,
            column,
        })
    }

    /// The id, unescaped.
    pub fn id(&self) -> Result<String, serde_json::Error> {
        serde_json::from_str(self.id)
    }
}

/// The schema version of a text that is not a manifest of this build, if it is newer.
fn newer_schema(text: &str) -> Option<u32> {
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: u32,
    }
    let found = serde_json::from_str::<Version>(text).ok()?.schema_version;
    (found > SCHEMA_VERSION).then_some(found)
}

/// serde_json appends " at line L column C"; the message prints the position itself.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

impl Parsed<de::IgnoredAny> {
    /// The same manifest with `links`, for the frame of [`LinkLines`].
    pub fn with_links<T>(self, links: IndexMap<String, T>) -> Parsed<T> {
        Parsed {
            schema_version: self.schema_version,
            updated_at: self.updated_at,
            links,
            extra: self.extra,
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Parsed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ParsedVisitor(std::marker::PhantomData))
    }
}

struct ParsedVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for ParsedVisitor<T> {
    type Value = Parsed<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a manifest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<T>, A::Error> {
        let (mut schema_version, mut updated_at, mut links) = (None, None, None);
        let mut extra = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schema_version" => schema_version = Some(map.next_value()?),
                "updated_at" => updated_at = map.next_value()?,
                "links" => links = Some(map.next_value()?),
                _ => {
                    extra.insert(key, map.next_value()?);
                }
            }
        }
        Ok(Parsed {
            schema_version: schema_version.ok_or_else(|| de::Error::missing_field("schema_version"))?,
            updated_at,
            links: links.unwrap_or_default(),
            extra,
        })
    }
}

/// The parts of a manifest around its links, as [`write`] writes them.
pub(crate) struct Header<'a> {
    pub schema_version: u32,
    pub updated_at: Option<&'a str>,
    pub extra: &'a Map<String, Value>,
}

/// Writes a manifest as JSON with one link per line: the header, then what `links` writes.
pub(crate) fn write<W: Write>(
    header: Header,
    out: &mut W,
    links: impl FnOnce(&mut LinkWriter<W>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let head = serde_json::json!({
        "schema_version": header.schema_version,
        "updated_at": header.updated_at,
    });
    let mut head = serde_json::to_string(&head)?;
    head.pop(); // the closing brace: links and unknown fields follow
    out.write_all(head.as_bytes())?;
    for (key, value) in header.extra {
        write!(out, ",\n{}:", serde_json::to_string(key)?)?;
        serde_json::to_writer(&mut *out, value)?;
    }
    // Without its newline: that comes with the first link, or is the one before `}}`.
    out.write_all(&LINKS_OPEN.as_bytes()[..LINKS_OPEN.len() - 1])?;
    links(&mut LinkWriter { out, first: true })?;
    out.write_all(LINKS_CLOSE.as_bytes())
}

/// Writes the link lines of a manifest, for [`write`].
pub(crate) struct LinkWriter<'w, W> {
    out: &'w mut W,
    first: bool,
}

impl<W: Write> LinkWriter<'_, W> {
    /// Writes link `id`'s entry on a line of its own.
    pub fn entry(&mut self, id: &str, entry: &LinkEntry) -> std::io::Result<()> {
        self.next_line()?;
        serde_json::to_writer(&mut *self.out, id)?;
        self.out.write_all(b": ")?;
        serde_json::to_writer(&mut *self.out, entry)?;
        Ok(())
    }

    /// Writes link lines as they were read: `"id": {…}` members, each but the last followed
    /// by a comma and a newline (consecutive lines of a [`LinkLines`]).
    pub fn lines(&mut self, lines: &str) -> std::io::Result<()> {
        self.next_line()?;
        self.out.write_all(lines.as_bytes())
    }

    fn next_line(&mut self) -> std::io::Result<()> {
        self.out.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LastCheck, LinkEntry, Manifest};

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

    #[test]
    fn errors_inside_links_name_their_line_and_column() {
        let text = text(10, Some((7, r#"{"url": "http://a.example/", "snapshots": 7}"#)));
        match parse(text.as_bytes()).unwrap_err() {
            ParseFailure::Invalid { line, column, message } => {
                // Two header lines and l0 to l6 come first; 48 bytes of l7's line precede the 7.
                assert_eq!((line, column), (10, 49));
                assert_eq!(message, "invalid type: integer `7`, expected a sequence");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn the_first_broken_link_is_the_one_reported() {
        let n = 100;
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
    fn a_newer_schema_is_reported_even_when_its_links_do_not_parse() {
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
            "object": "o", "warc": "w", "offset": 0, "length": 9, "record_id": "<urn:x>",
            "record_date": "t", "payload_digest": "sha256:x", "run": "r", "pinned": true}]},
            "a": {"url": "http://a.example/", "snapshots": [], "last_check": {"at": "t", "outcome": "http_error",
            "http_status": 404, "final_url": null, "error": "404", "run": "r", "via": "cron"}}}}"#;
        let manifest = parse(text.as_bytes()).unwrap();
        let mut written = Vec::new();
        manifest.write(&mut written).unwrap();
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

    /// Issue #13: 0.1.0 nested the record's place in `warc_record`; it is read, and written
    /// flat into the snapshot.
    #[test]
    fn a_nested_record_reference_of_0_1_0_is_written_flat() {
        let snapshot = r#"{"sha256": "aa", "size": 2, "content_type": null, "first_seen": "t", "last_seen": "t",
            "http_status": 200, "final_url": "u", "etag": null, "last_modified": null, "title": null,
            "object": "objects/sha256/aa/x", "warc": "warc/w.warc.gz", "warc_record": {"offset": 5, "length": 9,
            "record_id": "<urn:x>", "date": "d", "payload_digest": "sha256:x"}, "run": "r"}"#;
        let snapshot: crate::manifest::Snapshot = serde_json::from_str(snapshot).unwrap();
        let record = snapshot.warc_record.as_ref().unwrap();
        assert_eq!((record.offset, record.length, record.date.as_str()), (5, 9, "d"));
        let written = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(written["offset"], 5);
        assert_eq!(written["length"], 9);
        assert_eq!(written["record_date"], "d");
        assert_eq!(written["object"], "objects/sha256/aa/x");
        assert!(written.get("warc_record").is_none(), "{written}");
    }

    #[test]
    fn a_large_manifest_reads_back_the_same_in_order() {
        let n = 5_000;
        let manifest = parse(text(n, None).as_bytes()).unwrap();
        let mut written = Vec::new();
        manifest.write(&mut written).unwrap();
        let written = String::from_utf8(written).unwrap();
        assert_eq!(written.lines().count(), n + 3);
        let back = parse(written.as_bytes()).unwrap();
        assert_eq!(back, manifest);
        // IndexMap's equality ignores order; the links' order is part of the format.
        assert!(back.links.keys().eq(manifest.links.keys()));
        assert!(back.links.keys().enumerate().all(|(i, id)| *id == format!("l{i}")));
    }

    #[test]
    fn link_lines_read_the_same_as_a_whole_parse() {
        // Ids with escapes, an unknown field before the links whose string holds what the
        // links line looks like, and enough links for several threads.
        let mut text = String::from(
            "{\"schema_version\":1,\"updated_at\":null,\n\"note\":\",\\n\\\"links\\\": {\\n\",\n\"links\": {\n",
        );
        let n = 3 * LINES_PER_THREAD;
        for i in 0..n {
            let comma = if i + 1 < n { "," } else { "" };
            text.push_str(&format!(
                "\"l{i}\\\"\\\\\": {{\"url\": \"http://a.example/{i}\", \"snapshots\": []}}{comma}\n"
            ));
        }
        text.push_str("}}\n");
        let lines = LinkLines::split(&text).expect("the layout is recognized");
        let read = lines
            .map(|line| Ok((line.id()?, line.line)))
            .expect("every line is a member");
        assert_eq!(read[7], ("l7\"\\".to_owned(), 11));
        let whole = parse_whole::<LinkEntry>(&text).unwrap();
        let by_lines = super::parse::<LinkEntry>(text.as_bytes()).unwrap();
        assert_eq!(by_lines.links, whole.links);
        assert!(by_lines.links.keys().eq(whole.links.keys()));
        assert_eq!(by_lines.extra, whole.extra);
        assert_eq!(whole.extra["note"], ",\n\"links\": {\n");
    }

    #[test]
    fn random_manifests_read_the_same_by_lines_and_whole() {
        // Ids and values with quotes, backslashes, control characters and non-ASCII text,
        // unknown fields at every level, links written by `write` and then edited by hand.
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet = [
            'a', 'Z', '0', '"', '\\', '\n', '\t', '\u{1}', 'é', '€', '𝄞', ' ', ':', ',', '{', '}',
        ];
        let word = |rng: &mut fastrand::Rng| -> String {
            (0..rng.usize(0..8))
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect()
        };
        let mut read_by_lines = 0;
        for round in 0..200 {
            let mut manifest = serde_json::json!({"schema_version": 1, "updated_at": null});
            if rng.bool() {
                manifest[word(&mut rng) + "x"] = serde_json::json!({"k": word(&mut rng)});
            }
            let mut links = Map::new();
            for _ in 0..rng.usize(0..6) {
                let mut entry = serde_json::json!({"url": word(&mut rng), "snapshots": []});
                if rng.bool() {
                    entry["tag"] = word(&mut rng).into();
                }
                links.insert(word(&mut rng), entry);
            }
            manifest["links"] = links.into();
            let parsed = super::parse_whole::<LinkEntry>(&manifest.to_string()).unwrap();
            let mut written = Vec::new();
            Manifest::from_parsed(parsed).write(&mut written).unwrap();
            let mut text = String::from_utf8(written).unwrap();
            if rng.bool() {
                // A hand edit: spaces around a member's colon, or a line broken in two.
                text = if rng.bool() {
                    text.replacen("\": {\"url\"", "\" :  {\"url\"", 1)
                } else {
                    text.replacen(",\"snapshots\"", ",\n\"snapshots\"", 1)
                };
            }
            let lines = LinkLines::split(&text);
            if lines
                .and_then(|lines| lines.map(|line| serde_json::from_str::<LinkEntry>(line.entry)))
                .is_some()
            {
                read_by_lines += 1;
            }
            let whole = parse_whole::<LinkEntry>(&text).map(Manifest::from_parsed);
            let by_lines = parse(text.as_bytes());
            match (by_lines, whole) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "round {round}:\n{text}");
                    assert!(a.links.keys().eq(b.links.keys()), "round {round}:\n{text}");
                }
                (a, b) => panic!("round {round}: {:?} vs {:?}\n{text}", a.err(), b.err()),
            }
        }
        assert!(read_by_lines > 120, "only {read_by_lines} of 200 went by lines");
    }

    #[test]
    fn lines_that_are_not_one_member_each_are_read_whole() {
        let two_on_a_line = text(3, None).replace("},\n\"l1\"", "}, \"l1\"");
        let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&text(3, None)).unwrap()).unwrap();
        for text in [two_on_a_line, pretty] {
            let lines = LinkLines::split(&text);
            let entries = lines.and_then(|lines| lines.map(|line| serde_json::from_str::<LinkEntry>(line.entry)));
            assert!(entries.is_none(), "{text}");
            assert_eq!(parse(text.as_bytes()).unwrap().links.len(), 3, "{text}");
        }
    }

    #[test]
    fn an_empty_manifest_is_valid_json() {
        let mut written = Vec::new();
        Manifest::new().write(&mut written).unwrap();
        assert_eq!(parse(&written).unwrap(), Manifest::new());
        let _: Value = serde_json::from_slice(&written).unwrap();
    }
}
