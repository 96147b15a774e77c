//! URLs in PDF: those written in each page's text layer, including URLs the layout broke
//! across two lines, and the targets of link annotations (`/Annots` with
//! `/A << /S /URI /URI (…) >>`), each with the sentence that cites it.
//!
//! The text layer is laid out by [`layout`] from the content stream's positioning, so that a
//! line ends where the page ends it and words are as far apart as the reader sees them. An
//! annotation's note is the sentence of the text drawn under its `/Rect`.

pub mod layout;

use lopdf::{Dictionary, Document, Object};

use super::{Collector, ExtractError, Options, text};
use layout::{Page, Rect};

/// Finds the URLs of a PDF document, page by page in reading order: those of its text and of
/// its link annotations (an annotation usually repeats a URL of the text, listed once).
pub fn extract(bytes: &[u8], options: &Options, collector: &mut Collector) -> Result<(), ExtractError> {
    let document = Document::load_mem(bytes).map_err(|e| ExtractError::Pdf(e.to_string()))?;
    let base = options.base_url.as_ref();
    for (number, page_id) in document.get_pages() {
        let page = match layout::page(&document, page_id) {
            Ok(page) => page,
            Err(e) => {
                collector.warn(format!("page {number}: cannot read its text: {e}"));
                Page::default()
            }
        };
        let joined = Joined::new(&page);
        // The page's URLs in reading order: those of its text, and its link annotations where
        // their anchor text stands (an annotation drawn over no text comes last). At one place,
        // the text's URL comes first: its sentence is the better note.
        let mut found: Vec<(usize, PageUrl)> = text::extract_prose(&joined.text)
            .into_iter()
            .map(|candidate| {
                let found = PageUrl::Text {
                    before: text::context_before(&joined.text, candidate.start).to_owned(),
                    note: text::note_for_wrapped(&joined.text, candidate.start, candidate.end),
                    url: candidate.url,
                };
                (candidate.start, found)
            })
            .collect();
        for annotation in document.get_page_annotations(page_id).unwrap_or_default() {
            if let Some(url) = link_uri(&document, annotation) {
                let anchored = anchor(&document, annotation, &page, &joined);
                // A link whose anchor text is its own URL is judged as a URL of the text.
                if let Some((start, end)) = anchored
                    && joined.text[start..end].trim() == url
                {
                    let item = PageUrl::Text {
                        before: text::context_before(&joined.text, start).to_owned(),
                        note: text::note_for_wrapped(&joined.text, start, end),
                        url,
                    };
                    found.push((start, item));
                    continue;
                }
                let (at, note) = match anchored {
                    Some((start, end)) => (start, text::note_for_wrapped(&joined.text, start, end)),
                    None => (usize::MAX, String::new()),
                };
                let note = if note.is_empty() {
                    format!("link on page {number}")
                } else {
                    note
                };
                found.push((at, PageUrl::Link { url, note }));
            }
        }
        found.sort_by_key(|(at, found)| (*at, matches!(found, PageUrl::Link { .. })));
        for (_, found) in found {
            match found {
                PageUrl::Text { url, note, before } => collector.offer_text(&url, note, base, &before),
                PageUrl::Link { url, note } => collector.offer(&url, note, base),
            }
        }
    }
    Ok(())
}

/// The text layer of a whole PDF document, page after page, a line per text line (the text
/// `linkkeep archive` compares between captures, issue #14). Pages whose text cannot be read
/// are left out.
pub fn document_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let document = Document::load_mem(bytes).map_err(|e| ExtractError::Pdf(e.to_string()))?;
    let mut text = String::new();
    for page in document.get_pages().into_values() {
        if let Ok(page) = layout::page(&document, page) {
            text.push_str(&page.text());
            text.push('\n');
        }
    }
    Ok(text)
}

/// The target of a `/Link` annotation whose action is `/URI`.
fn link_uri(document: &Document, annotation: &Dictionary) -> Option<String> {
    let resolve = |object: &Object| document.dereference(object).ok().map(|(_, o)| o.clone());
    if annotation.get(b"Subtype").ok()?.as_name().ok()? != b"Link" {
        return None;
    }
    let action = resolve(annotation.get(b"A").ok()?)?;
    let action = action.as_dict().ok()?;
    if action.get(b"S").ok()?.as_name().ok()? != b"URI" {
        return None;
    }
    let uri = resolve(action.get(b"URI").ok()?)?;
    // URIs are 7-bit ASCII by the standard; be lenient with what producers write.
    Some(String::from_utf8_lossy(uri.as_str().ok()?).into_owned())
}

/// A URL of a page: written in its text (judged by the text before it), or a link annotation's.
enum PageUrl {
    Text { url: String, note: String, before: String },
    Link { url: String, note: String },
}

/// Where in the joined text of the page the text drawn under an annotation's `/Rect` (the
/// link's anchor text) starts and ends.
fn anchor(document: &Document, annotation: &Dictionary, page: &Page, joined: &Joined) -> Option<(usize, usize)> {
    let rect = annotation.get(b"Rect").ok()?;
    let rect = document.dereference(rect).ok()?.1.as_array().ok()?;
    let rect = Rect::from_array(rect)?;
    let spans = page.spans_in(&rect);
    let (first, last) = (spans.first()?, spans.last()?);
    let start = joined.offset(first.0, first.1);
    let end = joined.offset(last.0, last.2).max(start);
    Some((start, end))
}

/// A page's text with its broken URLs joined ([`join_lines`]), and where each of the
/// page's lines went in it.
struct Joined {
    text: String,
    /// Per line of the page: the offset in `text` of its first byte.
    starts: Vec<isize>,
}

impl Joined {
    fn new(page: &Page) -> Self {
        let lines: Vec<&str> = page.lines.iter().map(|l| l.text.as_str()).collect();
        let (text, starts) = join_lines(&lines);
        Joined { text, starts }
    }

    /// The offset in the joined text of byte `at` of line `line`.
    fn offset(&self, line: usize, at: usize) -> usize {
        let start = self.starts.get(line).copied().unwrap_or(0);
        let offset = usize::try_from(start + at as isize).unwrap_or(0).min(self.text.len());
        // Back to a character boundary, should a trimmed line have shifted it into one.
        (0..=offset).rev().find(|&i| self.text.is_char_boundary(i)).unwrap_or(0)
    }
}

/// Characters after which a line break inside a URL is a typesetter's break, not the URL's end.
const BREAK_AFTER: [char; 8] = ['/', '-', '_', '.', '=', '&', '?', '#'];

/// Rejoins URLs that a PDF broke across lines, where that is unambiguous: the line ends inside
/// a URL just after a break character (`/ - . _ = & ? #`, or an encoded space `%20`, where
/// typesetters break URLs) and the next line starts with a URL-like token (no spaces, only URL
/// characters, not a URL of its own). A URL ending in a letter or digit ends with its line.
///
/// When that token is the whole next line, it continues the URL unless it ends a sentence
/// ("here."); when prose follows the token on its line, the token must look like a URL part
/// itself (a `/ . _ - = & ? % #` inside it): "x.\nNext sentence" is a sentence end, not a URL.
///
/// Also gives, per input line, the offset in the result of where its first byte would be (a
/// joined line's leading spaces are trimmed, so its offset may lie before its first kept byte).
fn join_lines(lines: &[&str]) -> (String, Vec<isize>) {
    let mut out = String::new();
    let mut starts = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if i > 0 {
            out.push('\n');
        }
        let line_start = out.len();
        starts.push(line_start as isize);
        let mut line = lines[i].to_owned();
        i += 1;
        while let Some(next) = lines.get(i) {
            if !continues_url(&line, next) {
                break;
            }
            line.truncate(line.trim_end().len());
            let leading = next.len() - next.trim_start().len();
            starts.push((line_start + line.len()) as isize - leading as isize);
            line.push_str(next.trim());
            i += 1;
        }
        out.push_str(&line);
    }
    (out, starts)
}

fn continues_url(line: &str, next: &str) -> bool {
    let Some(last_token) = line.split_whitespace().last() else {
        return false;
    };
    let Some(found) = text::extract_prose(last_token).pop() else {
        return false;
    };
    // The URL must run to the end of the line: nothing trimmed after it but a break character.
    let tail = &last_token[found.end..];
    if !tail.chars().all(|c| BREAK_AFTER.contains(&c)) {
        return false;
    }
    let mut tokens = next.split_whitespace();
    let Some(token) = tokens.next() else { return false };
    let alone = tokens.next().is_none();
    if !next.starts_with(token) || !token.chars().all(is_url_char) || !text::extract_prose(token).is_empty() {
        return false;
    }
    // Broken where typesetters break URLs: after a break character or an encoded space.
    let escaped_end = last_token.len() >= 3
        && last_token.is_char_boundary(last_token.len() - 3)
        && last_token[last_token.len() - 3..].starts_with('%')
        && last_token[last_token.len() - 2..]
            .chars()
            .all(|c| c.is_ascii_hexdigit());
    if !(last_token.ends_with(BREAK_AFTER) || escaped_end) {
        return false;
    }
    // "…/spec.html." then "RFC-2119 …": a full stop and a capital start a new sentence.
    if last_token.ends_with('.') && token.starts_with(char::is_uppercase) {
        return false;
    }
    let inner_separator = token
        .char_indices()
        .any(|(i, c)| "/._-=&?%#".contains(c) && token[i + c.len_utf8()..].starts_with(|n: char| n.is_alphanumeric()));
    inner_separator || (alone && !token.ends_with(['.', ',', ';', ':', '!', '?', ')']))
}

/// Characters that may appear in a URL as written (RFC 3986 plus `%`).
fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join_broken_urls(text: &str) -> String {
        let lines: Vec<&str> = text.split('\n').collect();
        join_lines(&lines).0
    }

    #[test]
    fn broken_urls_are_joined_when_unambiguous() {
        let cases = [
            (
                "see http://www.apig.ch/Gaps%20r9%20\nclean.pdf for it",
                "see http://www.apig.ch/Gaps%20r9%20clean.pdf for it",
            ),
            (
                "at: http://a.example/meetings/\nWGEC_m5_en.pdf",
                "at: http://a.example/meetings/WGEC_m5_en.pdf",
            ),
            ("http://a.example/x-\ny.htm", "http://a.example/x-y.htm"),
            ("http://a.example/report.\npdf", "http://a.example/report.pdf"),
            ("http://a.example/?a=1&\nb=2", "http://a.example/?a=1&b=2"),
            ("http://a.example/a/\nb/\nc.htm", "http://a.example/a/b/c.htm"),
            ("http://a.example/x/\nindex", "http://a.example/x/index"),
        ];
        for (input, joined) in cases {
            assert_eq!(join_broken_urls(input), joined, "{input:?}");
        }
    }

    #[test]
    fn ambiguous_breaks_are_left_alone() {
        for input in [
            "see http://a.example/x.\nNext sentence here.",
            "http://a.example/x\nThanks",
            "http://a.example/\nhere.",
            "http://a.example/x\nhttp://b.example/y",
            "http://a.example/x\nwww.b.example",
            "(http://a.example/x)\nfoo/bar",
            "http://a.example/x\n\nfoo.pdf",
            "see http://a.example/x.\nNow this",
            "see http://a.example/x/\nthen more",
            "see http://a.example/x.\npdf and more",
            " http://a.example/x/\n  indented.pdf",
            "no url here/\nfoo.pdf",
            // Issue #21: a URL ending in a letter ends with its line.
            "http://a.example/long_na\nme_of.pdf",
            "http://a.example/spec.html\nRFC-2119 Key words for use in RFCs",
            "see http://a.example/spec.html.\nRFC-2119 Key words",
        ] {
            assert_eq!(join_broken_urls(input), input, "{input:?}");
        }
    }
}
