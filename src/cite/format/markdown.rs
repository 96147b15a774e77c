//! Citations as a numbered Markdown reference list, one item a link, to paste into a paper:
//!
//! ```markdown
//! 1. Title. Publisher. <https://…>. Cited version of 2018-03-01 (SHA-256 …), archived at
//!    [this archive](…) and [Wayback Machine, 2018-03-02](…).
//! ```
//!
//! Titles and publishers are escaped with the reports' [`cell`] (no link, image, HTML or
//! emphasis can start in them), plus what would start a block at the head of a list item (a
//! heading, a nested list); copies are written with [`link`], whose destination cannot break
//! out; the cited URL is an autolink with everything an autolink cannot hold percent-encoded.

use std::fmt::Write;

use crate::cite::{ArchivedCopy, Citation, Holder, date};
use crate::report::is_unsafe_on_terminal;
use crate::report::markdown::{cell, link};

/// Renders the list.
pub fn render(citations: &[Citation]) -> String {
    let mut out = String::new();
    for (n, citation) in citations.iter().enumerate() {
        let _ = write!(
            out,
            "{}. {}. {}. {}.",
            n + 1,
            item_start(&citation.title),
            cell(&citation.publisher),
            autolink(&citation.url)
        );
        match &citation.version {
            Some(version) => {
                let _ = write!(
                    out,
                    " Cited version of {} (SHA-256 {})",
                    date(version.captured),
                    cell(&version.sha256)
                );
                if !version.copies.is_empty() {
                    let copies: Vec<String> = version.copies.iter().map(copy_link).collect();
                    let _ = write!(out, ", archived at {}", and_list(&copies));
                }
                out.push('.');
            }
            None => out.push_str(" Not archived."),
        }
        out.push('\n');
    }
    out
}

/// A link to an archived copy: "this archive" (its date is the cited version's, given
/// already), or the public archive's name and the copy's date.
pub fn copy_link(copy: &ArchivedCopy) -> String {
    let text = match (&copy.holder, copy.captured) {
        (Holder::Public(_), Some(at)) => format!("{}, {}", copy.holder.label(), date(at)),
        _ => copy.holder.label().to_owned(),
    };
    link(&text, &copy.url)
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `text` escaped for the start of a list item: [`cell`], and a leading `#`, `-`, `+`, `=` or
/// `1.`/`1)` escaped, which would otherwise make the item a heading or a nested list.
fn item_start(text: &str) -> String {
    let escaped = cell(text);
    let digits = escaped.bytes().take_while(u8::is_ascii_digit).count();
    match escaped.as_bytes().get(digits) {
        Some(b'.' | b')') if digits > 0 => format!("{}\\{}", &escaped[..digits], &escaped[digits..]),
        Some(b'#' | b'-' | b'+' | b'=') if digits == 0 => format!("\\{escaped}"),
        _ => escaped,
    }
}

/// `url` as a Markdown autolink, `<url>`: whitespace, control characters, bidirectional
/// overrides and angle brackets, which an autolink cannot hold or would end it, are
/// percent-encoded (an autolink shows its characters literally, backslashes included).
pub fn autolink(url: &str) -> String {
    let mut out = String::with_capacity(url.len() + 2);
    out.push('<');
    for c in url.chars() {
        if c.is_whitespace() || is_unsafe_on_terminal(c) || matches!(c, '<' | '>') {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out.push('>');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_starts_cannot_open_blocks() {
        assert_eq!(item_start("# Heading"), r"\# Heading");
        assert_eq!(item_start("- item"), r"\- item");
        assert_eq!(item_start("2018. A year"), r"2018\. A year");
        assert_eq!(item_start("3) Three"), r"3\) Three");
        assert_eq!(item_start("2018 report"), "2018 report");
        assert_eq!(item_start("[x](y)"), r"\[x\]\(y\)");
    }

    #[test]
    fn autolinks_hold_no_space_or_bracket() {
        assert_eq!(autolink("http://a.example/x?q=1"), "<http://a.example/x?q=1>");
        assert_eq!(
            autolink("http://a.example/a b>c<\n"),
            "<http://a.example/a%20b%3Ec%3C%0A>"
        );
    }

    #[test]
    fn lists_of_copies_read_as_prose() {
        let items = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&items(1)), "0");
        assert_eq!(and_list(&items(2)), "0 and 1");
        assert_eq!(and_list(&items(3)), "0, 1 and 2");
    }
}
