//! URLs in PDF: link annotations (`/Annots` with `/A << /S /URI /URI (…) >>`) and URLs written in
//! each page's text layer, including URLs the layout broke across two lines.
//!
//! The text layer is read operator by operator (`Tj`, `TJ`, `'`, `"`), starting a new line when
//! the text position moves vertically (`Td`, `TD`, `Tm`, `T*`): lopdf's own `extract_text` does
//! not break lines on `Td`, which would glue a URL to the next line's first word.

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};

use super::{Collector, ExtractError, Options, text};

/// The most decompressed content one page may have; bigger pages are skipped with a warning.
const MAX_PAGE_CONTENT: usize = 64 * 1024 * 1024;

/// Finds the URLs of a PDF document: per page, those of its text, then those of its link
/// annotations (an annotation usually repeats a URL of the text, whose sentence makes the
/// better note).
pub fn extract(bytes: &[u8], options: &Options, collector: &mut Collector) -> Result<(), ExtractError> {
    let document = Document::load_mem(bytes).map_err(|e| ExtractError::Pdf(e.to_string()))?;
    for (number, page) in document.get_pages() {
        match page_text(&document, page) {
            Ok(text) => {
                let text = join_broken_urls(&text);
                for candidate in text::extract_prose(&text) {
                    collector.offer(&candidate.url, candidate.note, options.base_url.as_ref());
                }
            }
            Err(e) => collector.warn(format!("page {number}: cannot read its text: {e}")),
        }
        for annotation in document.get_page_annotations(page).unwrap_or_default() {
            if let Some(uri) = link_uri(&document, annotation) {
                let note = format!("link on page {number}");
                collector.offer(&uri, note, options.base_url.as_ref());
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
        if let Ok(page_text) = page_text(&document, page) {
            text.push_str(&page_text);
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

/// The text of one page, a line per text line.
fn page_text(document: &Document, page: ObjectId) -> lopdf::Result<String> {
    let fonts = document.get_page_fonts(page).unwrap_or_default();
    let encodings: Vec<(Vec<u8>, Encoding<'_>)> = fonts
        .into_iter()
        .filter_map(|(name, font)| font.get_font_encoding(document).ok().map(|e| (name, e)))
        .collect();
    let content = Content::decode(&document.get_page_content_with_limit(page, MAX_PAGE_CONTENT)?)?;

    let mut text = String::new();
    let mut encoding: Option<&Encoding<'_>> = None;
    // The vertical position of the current text line, and of the last text shown.
    let mut line_y = 0.0_f32;
    let mut shown_y: Option<f32> = None;
    let number = |o: Option<&Object>| o.and_then(|o| o.as_float().ok()).unwrap_or(0.0);
    for op in &content.operations {
        let operands = &op.operands;
        match op.operator.as_str() {
            "Tf" => {
                let name = operands.first().and_then(|o| o.as_name().ok());
                encoding = name
                    .and_then(|n| encodings.iter().find(|(k, _)| k == n))
                    .map(|(_, e)| e);
            }
            "BT" => line_y = 0.0,
            "Td" | "TD" => line_y += number(operands.get(1)),
            "Tm" => line_y = number(operands.get(5)),
            "T*" => line_y -= 1.0,
            "'" | "\"" => line_y -= 1.0,
            _ => {}
        }
        let shown: &[Object] = match op.operator.as_str() {
            "Tj" | "TJ" | "'" => operands,
            "\"" => operands.get(2..).unwrap_or_default(),
            _ => continue,
        };
        if shown_y.is_some_and(|y| (y - line_y).abs() > 0.01) && !text.ends_with('\n') {
            text.push('\n');
        }
        shown_y = Some(line_y);
        collect(&mut text, encoding, shown);
    }
    Ok(text)
}

/// Appends the strings of a text-showing operator; a large negative kerning in `TJ` is a space.
fn collect(text: &mut String, encoding: Option<&Encoding<'_>>, operands: &[Object]) {
    for operand in operands {
        match operand {
            Object::String(bytes, _) => match encoding.and_then(|e| Document::decode_text(e, bytes).ok()) {
                Some(decoded) => text.push_str(&decoded),
                None => text.push_str(&String::from_utf8_lossy(bytes)),
            },
            Object::Array(items) => collect(text, encoding, items),
            Object::Integer(_) | Object::Real(_)
                if operand.as_float().is_ok_and(|n| n < -200.0) && !text.ends_with(' ') =>
            {
                text.push(' ');
            }
            _ => {}
        }
    }
}

/// Characters after which a line break inside a URL is a typesetter's break, not the URL's end.
const BREAK_AFTER: [char; 7] = ['/', '-', '_', '.', '=', '&', '?'];

/// Rejoins URLs that a PDF broke across lines, where that is unambiguous: the line ends inside
/// a URL (after `/ - _ . = & ?`, or in the middle of a token) and the next line starts with a
/// URL-like token (no spaces, only URL characters, not a URL of its own).
///
/// When that token is the whole next line, it continues the URL after a break character unless
/// it ends a sentence ("here."), and after a letter or digit only if it looks like a URL part
/// itself (has `/ . _ - = & ? % #` inside it). When prose follows the token on its line, the
/// token must always look like a URL part: "x.\nNext sentence" is a sentence end, not a URL.
pub fn join_broken_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let mut line = line.to_owned();
        while let Some(next) = lines.peek() {
            if !continues_url(&line, next) {
                break;
            }
            let trimmed = line.trim_end().len();
            line.truncate(trimmed);
            line.push_str(next.trim());
            lines.next();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.pop();
    out
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
    let Some(last) = last_token.chars().last() else {
        return false;
    };
    let inner_separator = token
        .char_indices()
        .any(|(i, c)| "/._-=&?%#".contains(c) && token[i + c.len_utf8()..].starts_with(|n: char| n.is_alphanumeric()));
    if inner_separator {
        BREAK_AFTER.contains(&last) || last.is_alphanumeric() || last == '%'
    } else {
        alone && BREAK_AFTER.contains(&last) && !token.ends_with(['.', ',', ';', ':', '!', '?', ')'])
    }
}

/// Characters that may appear in a URL as written (RFC 3986 plus `%`).
fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            (
                "http://a.example/long_na\nme_of.pdf",
                "http://a.example/long_name_of.pdf",
            ),
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
        ] {
            assert_eq!(join_broken_urls(input), input, "{input:?}");
        }
    }
}
