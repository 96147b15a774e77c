//! Robust Links in an HTML document: each `<a href>` whose URL the archive holds a copy of gets
//! `data-originalurl`, `data-versiondate` and `data-versionurl`; a tag that has them already
//! gets their values replaced, never a second copy.
//!
//! lol_html finds the start tags (so tags inside comments, scripts and other raw text are not
//! links) and where each lies in the document; the attributes are then spliced into the
//! document's own bytes. lol_html cannot do the splicing itself: a start tag it modifies is
//! written anew, its whitespace between attributes and before `/>` normalised. Here every byte
//! but the attributes written stays as it was: new attributes go right after the tag's last
//! attribute, and an existing one is replaced from its name to the end of its value.

use std::cell::RefCell;
use std::ops::Range;

use lol_html::html_content::Element;
use lol_html::{AsciiCompatibleEncoding, HtmlRewriter, Settings, element};

use super::{Found, Lookup, Robustified, RobustifyError, note_without_copy};
use crate::cite::robust_link::RobustLink;
use crate::markup::{decode_entities, escape};

/// Rewrites `document`, in the encoding it declares (UTF-8 by default). Everything written is
/// ASCII (URLs as the `url` crate serialises them), so it is the same in any encoding lol_html
/// reads.
pub fn robustify(document: &[u8], lookup: &Lookup) -> Result<Robustified, RobustifyError> {
    let (encoding, _bom) = crate::title::html_encoding(None, document);
    let encoding = AsciiCompatibleEncoding::new(encoding).ok_or(RobustifyError::Encoding(encoding.name()))?;
    let result = RefCell::new(Robustified::default());
    // The start tags to rewrite, by their place in `document`, with their attributes.
    let tags = RefCell::new(Vec::<(Range<usize>, RobustLink)>::new());
    {
        let handler = element!("a[href]", |el: &mut Element| {
            let Some(href) = el.get_attribute("href") else {
                return Ok(());
            };
            match lookup.find(&decode_entities(&href)) {
                Found::Robust(citation) => {
                    let robust = RobustLink::of(citation).expect("a citation with copies cites a capture");
                    tags.borrow_mut().push((el.source_location().bytes(), robust));
                }
                Found::NoCopy(citation) => note_without_copy(&mut result.borrow_mut().without_copy, citation),
                Found::Unknown => {}
            }
            Ok(())
        });
        let settings = Settings::new()
            .append_element_content_handler(handler)
            .with_encoding(encoding)
            // Not strict: a document that confuses the parser keeps its bytes, with fewer links
            // made robust, rather than failing.
            .with_strict(false);
        // Only the parse is wanted: the output is the document spliced below.
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        rewriter.write(document).map_err(RobustifyError::Html)?;
        rewriter.end().map_err(RobustifyError::Html)?;
    }

    let mut result = result.into_inner();
    let mut out = Vec::with_capacity(document.len() + document.len() / 4);
    let mut at = 0;
    for (range, robust) in tags.into_inner() {
        let Some(tag) = document.get(range.clone()).filter(|_| range.start >= at) else {
            continue;
        };
        out.extend_from_slice(&document[at..range.start]);
        out.extend_from_slice(&with_attributes(tag, &robust));
        at = range.end;
        result.robust += 1;
    }
    out.extend_from_slice(&document[at..]);
    result.document = out;
    Ok(result)
}

/// The start tag `tag` (`<a …>` as written) with the Robust Links attributes set: each one it
/// has replaced where it is, the others added after its last attribute.
fn with_attributes(tag: &[u8], robust: &RobustLink) -> Vec<u8> {
    let attributes = attributes(tag);
    let insert_at = attributes.last().map_or_else(|| tag_name_end(tag), |a| a.span.end);
    // (range in `tag` to replace, replacement), in tag order.
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut added = String::new();
    for (name, value) in robust.attributes() {
        let written = format!("{name}=\"{}\"", escape(value));
        let existing = attributes
            .iter()
            .find(|a| tag[a.name.clone()].eq_ignore_ascii_case(name.as_bytes()));
        match existing {
            Some(attribute) => edits.push((attribute.span.clone(), written)),
            None => {
                added.push(' ');
                added.push_str(&written);
            }
        }
    }
    edits.push((insert_at..insert_at, added));
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = Vec::with_capacity(tag.len() + 400);
    let mut at = 0;
    for (range, text) in edits {
        out.extend_from_slice(&tag[at..range.start]);
        out.extend_from_slice(text.as_bytes());
        at = range.end;
    }
    out.extend_from_slice(&tag[at..]);
    out
}

/// An attribute of a start tag as written: where its name is, and where it spans from its name
/// to the end of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attribute {
    name: Range<usize>,
    span: Range<usize>,
}

/// Where the tag name of `tag` (`<a …>`) ends.
fn tag_name_end(tag: &[u8]) -> usize {
    1 + tag[1..]
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        .unwrap_or(tag.len() - 1)
}

/// The attributes of the start tag `tag`, read as the HTML tokenizer reads them: names end at
/// whitespace, `/`, `>` or `=`; values are quoted (`"…"`, `'…'`) or run to whitespace or `>`.
fn attributes(tag: &[u8]) -> Vec<Attribute> {
    let mut found = Vec::new();
    let end = tag.len();
    let mut i = tag_name_end(tag);
    let skip_space = |mut i: usize| {
        while i < end && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        while i < end && (tag[i].is_ascii_whitespace() || tag[i] == b'/') {
            i += 1;
        }
        if i >= end || tag[i] == b'>' {
            break;
        }
        let name_start = i;
        // A name may start with `=`; after that, `=` ends it.
        i += 1;
        while i < end && !tag[i].is_ascii_whitespace() && !matches!(tag[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let name = name_start..i;
        let after_name = skip_space(i);
        let span_end = if after_name < end && tag[after_name] == b'=' {
            let value = skip_space(after_name + 1);
            match tag.get(value) {
                Some(&quote @ (b'"' | b'\'')) => tag[value + 1..]
                    .iter()
                    .position(|&b| b == quote)
                    .map_or(end, |close| value + 1 + close + 1),
                _ => {
                    let mut v = value;
                    while v < end && !tag[v].is_ascii_whitespace() && tag[v] != b'>' {
                        v += 1;
                    }
                    v
                }
            }
        } else {
            i
        };
        found.push(Attribute {
            name,
            span: name_start..span_end,
        });
        i = span_end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cite::tests::{cited, without_copies};

    fn run(document: &str, citations: &[crate::cite::Citation]) -> Robustified {
        robustify(document.as_bytes(), &Lookup::new(citations)).unwrap()
    }

    /// `document` with every ` data-…="…"` attribute this module writes removed.
    fn without_robust_attributes(document: &str) -> String {
        let pattern = regex::Regex::new(r#" data-(originalurl|versiondate|versionurl)="[^"]*""#).unwrap();
        pattern.replace_all(document, "").into_owned()
    }

    #[test]
    fn only_the_attributes_are_added_and_every_other_byte_kept() {
        let citations = [cited("a", "http://a.example/page?x=1&y=2")];
        let document = "<!DOCTYPE html>\n<HTML><body>\n<p>See <A HREF=http://a.example/page?x=1&amp;y=2 class='c'\n  title=\"t\">the page</A>,\
             <a href=\"http://a.example/page?x=1&y=2\"/>, <a href=\"http://elsewhere.example/\">not archived</a>,\
             <a href='http://a.example/page?x=1&amp;y=2#s' >a section</a>.</p>\n<!-- <a href=\"http://a.example/page?x=1&y=2\"> -->\
             <script>document.write('<a href=\"http://a.example/page?x=1&y=2\">')</script></body></HTML>\n";
        let robust = run(document, &citations);
        let out = String::from_utf8(robust.document).unwrap();
        assert_eq!(robust.robust, 3, "{out}");
        assert_eq!(without_robust_attributes(&out), document, "{out}");
        assert!(out.contains(
            "data-originalurl=\"http://a.example/page?x=1&amp;y=2\" data-versiondate=\"2018-03-01\" \
             data-versionurl=\"http://127.0.0.1:8080/web/20180301102030/http://a.example/page?x=1&amp;y=2 2018-03-01T10:20:30Z \
             https://web.archive.org/web/20180302000000/http://a.example/page?x=1&amp;y=2 2018-03-02T00:00:00Z\""
        ), "{out}");
    }

    #[test]
    fn attributes_are_read_as_the_tokenizer_reads_them() {
        let tag = b"<a href=x/ class = 'a b' data-versionurl=\"v\" hidden/>";
        let spans: Vec<&str> = attributes(tag)
            .iter()
            .map(|a| std::str::from_utf8(&tag[a.span.clone()]).unwrap())
            .collect();
        assert_eq!(spans, ["href=x/", "class = 'a b'", "data-versionurl=\"v\"", "hidden"]);
        assert_eq!(tag_name_end(b"<a>"), 2);
        assert!(attributes(b"<a>").is_empty());
    }

    #[test]
    fn existing_robust_attributes_are_updated_not_duplicated() {
        let citations = [cited("a", "http://a.example/")];
        let document = r#"<a href="http://a.example/" data-versionurl="http://old.example/ 2001-01-01" data-versiondate="2001-01-01">x</a>"#;
        let out = String::from_utf8(run(document, &citations).document).unwrap();
        assert_eq!(out.matches("data-versionurl=").count(), 1, "{out}");
        assert_eq!(out.matches("data-versiondate=\"2018-03-01\"").count(), 1, "{out}");
        assert!(!out.contains("old.example"), "{out}");
        // Robustifying again changes nothing.
        assert_eq!(String::from_utf8(run(&out, &citations).document).unwrap(), out);
    }

    #[test]
    fn links_without_a_copy_are_left_alone_and_reported() {
        let citations = [without_copies("a", "http://a.example/")];
        let document = r#"<a href="http://a.example/">x</a><a href="http://a.example/">y</a>"#;
        let robust = run(document, &citations);
        assert_eq!(String::from_utf8(robust.document).unwrap(), document);
        assert_eq!(robust.without_copy, ["http://a.example/"]);
    }
}
