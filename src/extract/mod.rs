//! `extract`: the URLs a document cites, from plain text, Markdown, HTML and PDF.
//!
//! Each format has its own module that finds candidate URLs with the sentence citing them;
//! [`Collector`] then classifies every candidate the same way:
//! - an absolute http(s) URL is kept exactly as written (percent-encoding untouched) once
//!   [`crate::links::parse_url`] accepts it;
//! - another scheme (`mailto:`, `ftp:`, `javascript:` …) is skipped and counted;
//! - a relative reference is resolved against the document's base (HTML `<base href>`, else
//!   `--base-url`), or listed as unresolved when there is none; a bare `#fragment` is ignored;
//! - a bare `www.example.org/…` in prose is written as `http://www.example.org/…` (only when
//!   the host has at least three labels and an alphabetic top-level label); an e-mail address is
//!   never a URL.
//!
//! - a URL found in running text or code that names rather than cites (an XML namespace, a
//!   schema or DTD location; see [`identifiers`]) is left out and counted, unless `--all`.
//!
//! Within a document URLs are deduplicated in document order by their parsed form, so
//! `HTTP://A.example/` and `http://a.example/` are one link, listed as first written.
//! [`merge`] turns the result into links.json, or merges it into an existing one.

pub mod html;
pub mod identifiers;
pub mod merge;
pub mod pdf;
pub mod text;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use url::Url;

use crate::links::parse_url;

/// A document format `extract` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain text (Markdown syntax is understood too, harmlessly).
    Text,
    /// Markdown.
    Markdown,
    /// HTML or XHTML.
    Html,
    /// PDF.
    Pdf,
}

impl Kind {
    /// The format named by a file extension, if it is one `extract` knows.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" => Self::Text,
            "md" | "markdown" => Self::Markdown,
            "html" | "htm" | "xhtml" => Self::Html,
            "pdf" => Self::Pdf,
            _ => return None,
        })
    }

    /// The format of `bytes` by their start: `%PDF-`, `<!doctype html` or `<html`, else text.
    pub fn sniff(bytes: &[u8]) -> Self {
        let head = &bytes[..bytes.len().min(1024)];
        // PDF readers accept a header preceded by junk within the first KiB.
        if head.windows(5).any(|w| w == b"%PDF-") {
            return Self::Pdf;
        }
        let (text, _) = decode_text(head);
        let start = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
        let start = start.strip_prefix("<?xml").map_or(start.as_str(), |rest| {
            rest.split_once("?>").map_or("", |(_, after)| after).trim_start()
        });
        if start.starts_with("<!doctype html") || start.starts_with("<html") {
            Self::Html
        } else {
            Self::Text
        }
    }

    /// The format of a document: by its extension when it has a known one, else sniffed.
    pub fn detect(path: Option<&Path>, bytes: &[u8]) -> Self {
        path.and_then(Self::from_extension)
            .unwrap_or_else(|| Self::sniff(bytes))
    }
}

/// Why a document could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("not a readable PDF: {0}")]
    Pdf(String),
}

/// How relative references are resolved, and what is listed.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--base-url`: the base for relative links when the document names none.
    pub base_url: Option<Url>,
    /// `--all`: list identifiers (XML namespaces, schema and DTD locations) too.
    pub all: bool,
}

/// One cited URL and the sentence or line citing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The URL as written (or, for a resolved relative link, as resolved).
    pub url: String,
    /// The sentence or line citing it; may be empty.
    pub note: String,
}

/// What one document yielded.
#[derive(Debug, Clone, Default)]
pub struct Extraction {
    /// The http(s) URLs, deduplicated, in document order.
    pub links: Vec<Found>,
    /// URLs skipped for their scheme (`mailto`, `ftp` …), counted by scheme.
    pub skipped_schemes: BTreeMap<String, usize>,
    /// URLs of the text left out as identifiers, not citations (see [`identifiers`]): each
    /// with what it is. Empty with `--all`, which lists them as links.
    pub identifiers: Vec<(String, &'static str)>,
    /// Relative links that had no base to resolve against, as written.
    pub unresolved: Vec<String>,
    /// Candidates that are not valid URLs, as written, with the reason.
    pub invalid: Vec<(String, String)>,
    /// Things worth telling the user about the document itself (encoding, unreadable pages).
    pub warnings: Vec<String>,
}

/// Finds the URLs in one document of the given kind.
pub fn extract(kind: Kind, bytes: &[u8], options: &Options) -> Result<Extraction, ExtractError> {
    let mut collector = Collector::new(options);
    match kind {
        Kind::Text | Kind::Markdown => {
            let (text, warning) = decode_text(bytes);
            collector.extraction.warnings.extend(warning);
            if looks_binary(bytes) {
                collector
                    .extraction
                    .warnings
                    .push("looks like binary data, not text; searched for URLs anyway".into());
            }
            for candidate in text::extract(&text) {
                if candidate.linked {
                    collector.offer(&candidate.url, candidate.note, options.base_url.as_ref());
                } else {
                    let before = text::context_before(&text, candidate.start);
                    collector.offer_text(&candidate.url, candidate.note, options.base_url.as_ref(), before);
                }
            }
        }
        Kind::Html => html::extract(bytes, options, &mut collector),
        Kind::Pdf => pdf::extract(bytes, options, &mut collector)?,
    }
    Ok(collector.extraction)
}

/// Decodes text: a BOM wins; otherwise UTF-8 if valid, else windows-1252 (with a warning), the
/// usual encoding of legacy text files.
pub fn decode_text(bytes: &[u8]) -> (String, Option<String>) {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return (text.into_owned(), None);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), None),
        Err(_) => {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
            let warning = "not valid UTF-8; read as windows-1252".to_owned();
            (text.into_owned(), Some(warning))
        }
    }
}

/// Text files do not contain NUL bytes (UTF-16 ones are recognised by their BOM first).
fn looks_binary(bytes: &[u8]) -> bool {
    Encoding::for_bom(bytes).is_none_or(|(encoding, _)| encoding == UTF_8) && bytes.contains(&0)
}

/// Classifies candidate URLs into an [`Extraction`], deduplicating as it goes.
#[derive(Debug, Default)]
pub struct Collector {
    extraction: Extraction,
    seen: HashSet<String>,
    /// `--all`: identifiers are listed too.
    all: bool,
}

impl Collector {
    pub fn new(options: &Options) -> Self {
        Collector {
            all: options.all,
            ..Collector::default()
        }
    }

    /// Like [`Collector::offer`], for a URL found in running text or code rather than in a
    /// hyperlink: one that is an identifier by the rules of [`identifiers`] (judged with
    /// `before`, the text just before it) is left out, unless `--all`.
    pub fn offer_text(&mut self, raw: &str, note: String, base: Option<&Url>, before: &str) {
        if !self.all
            && let Some(what) = identifiers::identifier(raw, before)
        {
            if !self.extraction.identifiers.iter().any(|(url, _)| url == raw) {
                self.extraction.identifiers.push((raw.to_owned(), what));
            }
            return;
        }
        self.offer(raw, note, base);
    }

    /// Classifies one candidate `raw` (as written), cited by `note`, resolving a relative one
    /// against `base`.
    pub fn offer(&mut self, raw: &str, note: String, base: Option<&Url>) {
        // HTML strips leading and trailing ASCII whitespace from URL attributes.
        let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace());
        if raw.is_empty() || raw.starts_with('#') {
            return;
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.invalid(raw, "contains spaces or control characters");
            return;
        }
        // An absolute URL is kept as written; a relative one as resolved against the base.
        let (url, written) = match Url::parse(raw) {
            Ok(url) => (url, raw.to_owned()),
            Err(url::ParseError::RelativeUrlWithoutBase) => match base {
                Some(base) => match base.join(raw) {
                    Ok(url) => {
                        let resolved = url.to_string();
                        (url, resolved)
                    }
                    Err(e) => return self.invalid(raw, &format!("cannot be resolved against {base}: {e}")),
                },
                None => {
                    if !self.extraction.unresolved.iter().any(|u| u == raw) {
                        self.extraction.unresolved.push(raw.to_owned());
                    }
                    return;
                }
            },
            Err(e) => return self.invalid(raw, &format!("is not a valid URL: {e}")),
        };
        if !matches!(url.scheme(), "http" | "https") {
            *self
                .extraction
                .skipped_schemes
                .entry(url.scheme().to_owned())
                .or_default() += 1;
            return;
        }
        match parse_url(&written) {
            Ok(parsed) => self.keep(written, &parsed, note),
            Err(reason) => self.invalid(raw, &reason),
        }
    }

    /// Records a warning about the document.
    pub fn warn(&mut self, warning: String) {
        self.extraction.warnings.push(warning);
    }

    fn keep(&mut self, url: String, parsed: &Url, note: String) {
        if self.seen.insert(parsed.as_str().to_owned()) {
            self.extraction.links.push(Found { url, note });
        }
    }

    fn invalid(&mut self, raw: &str, reason: &str) {
        self.extraction.invalid.push((raw.to_owned(), reason.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(kind: Kind, text: &str, base: Option<&str>) -> Extraction {
        let options = Options {
            base_url: base.map(|b| Url::parse(b).unwrap()),
            all: false,
        };
        extract(kind, text.as_bytes(), &options).unwrap()
    }

    #[test]
    fn kinds_come_from_extensions_then_content() {
        assert_eq!(Kind::detect(Some(Path::new("a.MD")), b""), Kind::Markdown);
        assert_eq!(Kind::detect(Some(Path::new("a.xhtml")), b""), Kind::Html);
        assert_eq!(Kind::detect(Some(Path::new("a.bin")), b"%PDF-1.7"), Kind::Pdf);
        assert_eq!(Kind::detect(None, b"\xef\xbb\xbf  <!DOCTYPE html><p>"), Kind::Html);
        assert_eq!(
            Kind::detect(None, b"<?xml version='1.0'?>\n<html xmlns=''>"),
            Kind::Html
        );
        assert_eq!(Kind::detect(None, b"hello <html>"), Kind::Text);
    }

    #[test]
    fn schemes_relative_links_and_duplicates_are_classified() {
        let text = "[a](mailto:x@a.example) ftp://a.example/f [r](../x.md) [f](#top) \
                    http://A.example/p HTTP://a.example/p http://a.example/p";
        let found = urls(Kind::Markdown, text, None);
        assert_eq!(found.links.len(), 1);
        assert_eq!(found.links[0].url, "http://A.example/p");
        assert_eq!(found.skipped_schemes["mailto"], 1);
        assert_eq!(found.skipped_schemes["ftp"], 1);
        assert_eq!(found.unresolved, ["../x.md"]);

        let found = urls(Kind::Markdown, "[r](../x.md)", Some("https://a.example/docs/a/"));
        assert_eq!(found.links[0].url, "https://a.example/docs/x.md");
    }

    #[test]
    fn identifiers_in_text_are_left_out_unless_all_and_links_are_kept() {
        let text = "<html xmlns=\"http://www.w3.org/1999/xhtml\">\n\
                    The namespace URI is http://ns.example/shared. See http://docs.example/spec.\n\
                    [XHTML](http://www.w3.org/1999/xhtml)";
        let found = urls(Kind::Markdown, text, None);
        let listed: Vec<&str> = found.links.iter().map(|l| l.url.as_str()).collect();
        // The Markdown link is followed by readers; the attribute and the named namespace are not.
        assert_eq!(listed, ["http://docs.example/spec", "http://www.w3.org/1999/xhtml"]);
        let left_out: Vec<&str> = found.identifiers.iter().map(|(url, _)| url.as_str()).collect();
        assert_eq!(left_out, ["http://www.w3.org/1999/xhtml", "http://ns.example/shared"]);

        let options = Options {
            base_url: None,
            all: true,
        };
        let found = extract(Kind::Text, text.as_bytes(), &options).unwrap();
        let listed: Vec<&str> = found.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            listed,
            [
                "http://www.w3.org/1999/xhtml",
                "http://ns.example/shared",
                "http://docs.example/spec"
            ]
        );
        assert!(found.identifiers.is_empty());
    }

    #[test]
    fn invalid_utf8_is_read_as_windows_1252() {
        let found = extract(Kind::Text, b"caf\xe9 http://a.example/\xe9", &Options::default()).unwrap();
        assert_eq!(found.warnings, ["not valid UTF-8; read as windows-1252"]);
        assert_eq!(found.links[0].url, "http://a.example/é");
    }
}
