//! `linkkeep.toml` as written: every key of the file, each value checked as it is read, so
//! that a bad one is reported with its file, line and column before anything runs.
//!
//! Keys are the flags' long names with `_` for `-` (`--per-host` is `per_host`), except
//! `-H/--header`, which is the `headers` table. Paths are relative to the file's directory.

use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::{AcceptSet, ResolveEntry, parse_size};
use crate::cli::{ChangeRule, ColorChoice, FormatChoice, PublicArchiveChoice};

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read the configuration file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A syntax error, an unknown key, a wrong type or a bad value, at its place, with the
    /// line quoted and the place marked under it.
    #[error("{}:{line}:{column}: {message}\n{excerpt}", path.display())]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        excerpt: String,
    },
}

/// Where a value was written: the file, and the line and column its value starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// A configuration file, read and checked.
#[derive(Debug)]
pub struct LoadedFile {
    /// The file's absolute path.
    pub path: PathBuf,
    /// Its text, to turn byte offsets into lines and columns.
    text: String,
    /// What it says.
    pub keys: FileKeys,
}

impl LoadedFile {
    /// Reads and checks `path` (absolute).
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, text)
    }

    /// Checks `text`, the contents of `path`.
    pub fn parse(path: &Path, text: String) -> Result<Self, FileError> {
        match toml::from_str::<FileKeys>(&text) {
            Ok(keys) => Ok(Self {
                path: path.to_owned(),
                text,
                keys,
            }),
            Err(e) => {
                let offset = e.span().map_or(0, |span| span.start);
                Err(error_in(path, &text, offset, e.message().trim_end().to_owned()))
            }
        }
    }

    /// The directory relative paths in the file are relative to.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    /// Where the value spanning `span` was written.
    pub fn place(&self, span: Range<usize>) -> Place {
        place_in(&self.path, &self.text, span.start)
    }

    /// An error about the value spanning `span`.
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> FileError {
        error_in(&self.path, &self.text, span.start, message.into())
    }

    /// A path written in the file, made absolute against the file's directory.
    pub fn path_value(&self, path: &Path) -> PathBuf {
        self.dir().join(path)
    }
}

/// An error at byte `offset` of `text`: its place, and its line quoted with a mark under the
/// place.
fn error_in(path: &Path, text: &str, offset: usize, message: String) -> FileError {
    let place = place_in(path, text, offset);
    let line_text = text.lines().nth(place.line - 1).unwrap_or_default();
    let gutter = place.line.to_string();
    let excerpt = format!(
        "{gutter} | {line_text}\n{} | {}^",
        " ".repeat(gutter.len()),
        " ".repeat(place.column - 1)
    );
    FileError::At {
        path: place.path,
        line: place.line,
        column: place.column,
        message,
        excerpt,
    }
}

/// The line and column (both from 1, columns in characters) of byte `offset` of `text`.
fn place_in(path: &Path, text: &str, offset: usize) -> Place {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    Place {
        path: path.to_owned(),
        line,
        column,
    }
}

/// Every key a configuration file may hold. Each is optional: what a file leaves out comes
/// from the next layer (flag > project file > user file > default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKeys {
    // Every command.
    pub links: Option<Spanned<PathBuf>>,
    pub archive: Option<Spanned<PathBuf>>,
    pub quiet: Option<Spanned<bool>>,
    pub verbose: Option<Spanned<u8>>,
    pub no_progress: Option<Spanned<bool>>,
    pub color: Option<Spanned<Choice<ColorChoice>>>,

    // Network (check, archive, verify --live, diff --to live).
    pub concurrency: Option<Spanned<AtLeastOne>>,
    pub per_host: Option<Spanned<AtLeastOne>>,
    pub timeout: Option<Spanned<Seconds>>,
    pub max_time: Option<Spanned<Seconds>>,
    pub retries: Option<Spanned<u32>>,
    pub retry_wait: Option<Spanned<SecondsOrZero>>,
    pub max_retry_after: Option<Spanned<SecondsOrZero>>,
    pub max_redirects: Option<Spanned<usize>>,
    pub max_size: Option<Spanned<Size>>,
    pub accept: Option<Spanned<Accept>>,
    pub user_agent: Option<Spanned<HeaderText>>,
    pub headers: Option<Spanned<Headers>>,
    pub include: Option<Spanned<Regexes>>,
    pub exclude: Option<Spanned<Regexes>>,
    pub ca_cert: Option<Spanned<OneOrMany<PathBuf>>>,
    pub insecure: Option<Spanned<bool>>,
    pub proxy: Option<Spanned<ProxyText>>,
    pub no_soft_404: Option<Spanned<bool>>,
    pub allow_private: Option<Spanned<bool>>,
    pub resolve: Option<Spanned<Resolves>>,
    /// `shard = "K/N"` (check, archive, verify --live).
    pub shard: Option<Spanned<crate::shard::Shard>>,

    // Public archives (check, archive, verify --live; submission: archive).
    pub public_archive: Option<Spanned<Choice<PublicArchiveChoice>>>,
    pub public_archive_all: Option<Spanned<bool>>,
    pub public_archive_endpoint: Option<Spanned<HttpUrl>>,
    pub submit: Option<Spanned<Choice<PublicArchiveChoice>>>,
    pub submit_endpoint: Option<Spanned<HttpUrl>>,
    pub submit_jobs: Option<Spanned<AtLeastOne>>,
    pub submit_max: Option<Spanned<usize>>,
    pub submit_wait: Option<Spanned<SecondsOrZero>>,

    // Reports (check, archive, verify, status).
    pub format: Option<Spanned<Choice<FormatChoice>>>,
    pub output: Option<Spanned<PathBuf>>,

    // archive (and verify --live for fail_on_change).
    pub fail_on_change: Option<Spanned<FailOnChange>>,
    pub skip_cosmetic: Option<Spanned<bool>>,
    pub no_text: Option<Spanned<bool>>,
    pub no_requisites: Option<Spanned<bool>>,
    pub max_requisites: Option<Spanned<usize>>,
    pub max_requisite_bytes: Option<Spanned<Size>>,
    pub wait_lock: Option<Spanned<bool>>,

    /// `[[hosts]]` rules, in the order written.
    #[serde(default)]
    pub hosts: Vec<Spanned<HostRuleKeys>>,
}

/// One `[[hosts]]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRuleKeys {
    /// Host patterns: `example.org`, `example.org:8080`, `*.example.org`.
    pub host: Option<Spanned<OneOrMany<String>>>,
    /// A regular expression matched against the host name.
    pub host_regex: Option<Spanned<Regexes>>,
    pub per_host: Option<Spanned<AtLeastOne>>,
    pub interval: Option<Spanned<SecondsOrZero>>,
    pub timeout: Option<Spanned<Seconds>>,
    pub max_time: Option<Spanned<Seconds>>,
    pub retries: Option<Spanned<u32>>,
    pub accept: Option<Spanned<Accept>>,
    pub user_agent: Option<Spanned<HeaderText>>,
    pub headers: Option<Spanned<Headers>>,
    pub proxy: Option<Spanned<ProxyText>>,
    pub insecure: Option<Spanned<bool>>,
    pub ca_cert: Option<Spanned<OneOrMany<PathBuf>>>,
    pub exclude: Option<Spanned<HostExcludeKeys>>,
}

/// A value a flag could take, by the flag's own names (`--color never` is `color = "never"`).
#[derive(Debug, Clone, Copy)]
pub struct Choice<T>(pub T);

impl<'de, T: ValueEnum> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        T::from_str(&text, false).map(Choice).map_err(|_| {
            let names: Vec<String> = T::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value().map(|p| format!("\"{}\"", p.get_name())))
                .collect();
            de::Error::custom(format!("`{text}` is not one of {}", names.join(", ")))
        })
    }
}

/// A count of at least 1.
#[derive(Debug, Clone, Copy)]
pub struct AtLeastOne(pub usize);

impl<'de> Deserialize<'de> for AtLeastOne {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match usize::deserialize(deserializer)? {
            0 => Err(de::Error::custom("must be at least 1")),
            n => Ok(Self(n)),
        }
    }
}

/// A number of seconds (integer or not), as the flags take them.
fn seconds<'de, D: Deserializer<'de>>(deserializer: D, allow_zero: bool) -> Result<f64, D::Error> {
    struct Number;
    impl Visitor<'_> for Number {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a number of seconds")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
    }
    let value = deserializer.deserialize_any(Number)?;
    super::seconds("", value, allow_zero).map_err(|_| {
        let need = if allow_zero { "zero or more" } else { "more than zero" };
        de::Error::custom(format!("{value} seconds: must be {need}"))
    })?;
    Ok(value)
}

/// Seconds, more than zero.
#[derive(Debug, Clone, Copy)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        seconds(deserializer, false).map(Self)
    }
}

/// Seconds, zero or more.
#[derive(Debug, Clone, Copy)]
pub struct SecondsOrZero(pub f64);

impl<'de> Deserialize<'de> for SecondsOrZero {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        seconds(deserializer, true).map(Self)
    }
}

/// A size: a number of bytes, or text such as `"500MB"` or `"1GiB"`; kept as text for the flag.
#[derive(Debug, Clone)]
pub struct Size(pub String);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = String;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of bytes or a size such as \"500MB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
                u64::try_from(v)
                    .map(|v| v.to_string())
                    .map_err(|_| E::custom(format!("{v} bytes: must be zero or more")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                parse_size(v).map_err(E::custom)?;
                Ok(v.to_owned())
            }
        }
        deserializer.deserialize_any(SizeVisitor).map(Self)
    }
}

/// Statuses counted as ok: `"200..=299,403"`, or a list of codes and ranges.
#[derive(Debug, Clone)]
pub struct Accept(pub String);

impl<'de> Deserialize<'de> for Accept {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Part {
            Code(u16),
            Text(String),
        }
        let parts = OneOrMany::<Part>::deserialize(deserializer)?;
        let text: Vec<String> = parts
            .0
            .into_iter()
            .map(|p| match p {
                Part::Code(c) => c.to_string(),
                Part::Text(t) => t,
            })
            .collect();
        let text = text.join(",");
        AcceptSet::parse(&text).map_err(de::Error::custom)?;
        Ok(Self(text))
    }
}

/// Text usable as a header value (checked after `${VAR}` references are filled in).
#[derive(Debug, Clone)]
pub struct HeaderText(pub String);

impl<'de> Deserialize<'de> for HeaderText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::secrets::check_template(&text).map_err(de::Error::custom)?;
        Ok(Self(text))
    }
}

/// A table of request headers, `{ Authorization = "Bearer ${TOKEN}" }`, in the order written.
#[derive(Debug, Clone, Default)]
pub struct Headers(pub Vec<(String, Spanned<String>)>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TableVisitor;
        impl<'de> Visitor<'de> for TableVisitor {
            type Value = Vec<(String, Spanned<String>)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of header names and values, e.g. { Accept-Language = \"en\" }")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut headers = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(de::Error::custom(format!("`{name}` is not a header name")));
                    }
                    let value: Spanned<String> = map.next_value()?;
                    if let Err(e) = super::secrets::check_template(value.get_ref()) {
                        return Err(de::Error::custom(format!("the value of `{name}`: {e}")));
                    }
                    headers.push((name, value));
                }
                Ok(headers)
            }
        }
        deserializer.deserialize_map(TableVisitor).map(Self)
    }
}

/// A list of regular expressions, or one.
#[derive(Debug, Clone)]
pub struct Regexes(pub Vec<String>);

impl<'de> Deserialize<'de> for Regexes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let patterns = OneOrMany::<String>::deserialize(deserializer)?.0;
        for pattern in &patterns {
            regex::Regex::new(pattern).map_err(|e| de::Error::custom(format!("`{pattern}`: {e}")))?;
        }
        Ok(Self(patterns))
    }
}

/// A proxy URL (`http://proxy:3128`, or `proxy:3128` for an HTTP proxy, as curl takes it).
#[derive(Debug, Clone)]
pub struct ProxyText(pub String);

impl<'de> Deserialize<'de> for ProxyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::proxy_url(&text).map_err(de::Error::custom)?;
        Ok(Self(text))
    }
}

/// An absolute http(s) URL (a public archive's endpoint).
#[derive(Debug, Clone)]
pub struct HttpUrl(pub String);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::endpoint("", &text).map_err(|_| de::Error::custom(format!("`{text}` is not an http(s) URL")))?;
        Ok(Self(text))
    }
}

/// `resolve = ["example.org:443:127.0.0.1"]`, as curl's `--resolve`.
#[derive(Debug, Clone)]
pub struct Resolves(pub Vec<String>);

impl<'de> Deserialize<'de> for Resolves {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = OneOrMany::<String>::deserialize(deserializer)?.0;
        for entry in &entries {
            ResolveEntry::parse(entry).map_err(de::Error::custom)?;
        }
        Ok(Self(entries))
    }
}

/// `fail_on_change = true` (the text), `"text"` or `"bytes"`, or `false`.
#[derive(Debug, Clone, Copy)]
pub struct FailOnChange(pub Option<ChangeRule>);

impl<'de> Deserialize<'de> for FailOnChange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Flag(bool),
            Rule(String),
        }
        match Written::deserialize(deserializer)
            .map_err(|_| de::Error::custom("expected true, false, \"text\" or \"bytes\""))?
        {
            Written::Flag(true) => Ok(Self(Some(ChangeRule::Text))),
            Written::Flag(false) => Ok(Self(None)),
            Written::Rule(text) => ChangeRule::from_str(&text, false)
                .map(|rule| Self(Some(rule)))
                .map_err(|_| de::Error::custom(format!("`{text}` is not one of \"text\", \"bytes\""))),
        }
    }
}

/// A rule's `exclude`: `true` for every URL of its hosts, or regular expressions for some.
#[derive(Debug, Clone)]
pub enum HostExcludeKeys {
    All(bool),
    Matching(Vec<String>),
}

impl<'de> Deserialize<'de> for HostExcludeKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExcludeVisitor;
        impl<'de> Visitor<'de> for ExcludeVisitor {
            type Value = HostExcludeKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false, or a list of regular expressions")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(HostExcludeKeys::All(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                self.visit_seq(de::value::SeqDeserializer::new(std::iter::once(v.to_owned())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut patterns = Vec::new();
                while let Some(pattern) = seq.next_element::<String>()? {
                    regex::Regex::new(&pattern).map_err(|e| de::Error::custom(format!("`{pattern}`: {e}")))?;
                    patterns.push(pattern);
                }
                Ok(HostExcludeKeys::Matching(patterns))
            }
        }
        deserializer.deserialize_any(ExcludeVisitor)
    }
}

/// One value or a list of them: `ca_cert = "a.pem"` or `ca_cert = ["a.pem", "b.pem"]`.
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(items)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
                T::deserialize(de::value::StrDeserializer::new(v)).map(|t| vec![t])
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<T>, E> {
                T::deserialize(de::value::U64Deserializer::new(v)).map(|t| vec![t])
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<T>, E> {
                T::deserialize(de::value::I64Deserializer::new(v)).map(|t| vec![t])
            }
        }
        deserializer.deserialize_any(ListVisitor(PhantomData)).map(Self)
    }
}
