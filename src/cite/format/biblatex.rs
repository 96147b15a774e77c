//! Citations as BibLaTeX `@online` entries:
//!
//! ```bibtex
//! @online{ID,
//!   title = {…},
//!   organization = {Publisher},
//!   url = {https://…},
//!   urldate = {2018-03-01},
//!   addendum = {Archived at \url{…} on 2018-03-01. SHA-256 of the cited version: …},
//! }
//! ```
//!
//! `urldate` is the date of the cited capture. Text is escaped with [`bibtex_escape`] (every
//! brace balanced, every special character a command), URLs so that they stay one balanced
//! argument, and keys are link ids reduced to the characters a key may hold
//! ([`bibtex_key`]).

use std::collections::HashSet;
use std::fmt::Write;

use crate::cite::{Citation, date};

/// Renders one entry per citation.
pub fn render(citations: &[Citation]) -> String {
    let mut out = String::new();
    let mut keys = HashSet::new();
    for citation in citations {
        let key = unique(bibtex_key(&citation.id), &mut keys);
        let _ = writeln!(out, "@online{{{key},");
        let _ = writeln!(out, "  title = {{{}}},", bibtex_escape(&citation.title));
        let _ = writeln!(out, "  organization = {{{}}},", bibtex_escape(&citation.publisher));
        let _ = writeln!(out, "  url = {{{}}},", url_field(&citation.url));
        if let Some(version) = &citation.version {
            let _ = writeln!(out, "  urldate = {{{}}},", date(version.captured));
            let copies: Vec<String> = version
                .copies
                .iter()
                .map(|copy| {
                    let on = copy.captured.map(|t| format!(" on {}", date(t))).unwrap_or_default();
                    format!("\\url{{{}}}{on}", url_argument(&copy.url))
                })
                .collect();
            let archived = if copies.is_empty() {
                String::new()
            } else {
                format!("Archived at {}. ", copies.join(" and at "))
            };
            let _ = writeln!(
                out,
                "  addendum = {{{archived}SHA-256 of the cited version: {}}},",
                bibtex_escape(&version.sha256)
            );
        }
        out.push_str("}\n\n");
    }
    out
}

/// Escapes text for a BibTeX field: `\ { } % & $ # _ ^ ~` become the commands that print
/// them. Braces are written as `\textbraceleft{}`/`\textbraceright{}` rather than `\{`, because
/// BibTeX and biber count `\{` as a brace too, and one unbalanced brace ends the entry.
pub fn bibtex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' => out.push_str("\\textbraceleft{}"),
            '}' => out.push_str("\\textbraceright{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '~' => out.push_str("\\textasciitilde{}"),
            '%' | '&' | '$' | '#' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A citation key for link `id`: letters, digits and `-_:.` kept, anything else a `-`
/// (a key cannot hold spaces, commas, braces, quotes, `#`, `%` or `=`).
pub fn bibtex_key(id: &str) -> String {
    let key: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if key.is_empty() { "link".to_owned() } else { key }
}

/// `key`, or `key-2`, `key-3`… when an earlier entry took it (two ids can reduce to one key).
fn unique(key: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = key.clone();
    let mut n = 1;
    while !taken.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{key}-{n}");
    }
    candidate
}

/// A URL for the verbatim `url` field: whitespace, braces and backslashes, which would end or
/// unbalance the field, percent-encoded (the same resource).
fn url_field(url: &str) -> String {
    crate::markup::percent_encode(url, |c| {
        c.is_whitespace() || c.is_control() || matches!(c, '{' | '}' | '\\' | '^')
    })
}

/// A URL for `\url{…}` inside another field: as [`url_field`], then `%` and `#` escaped, as
/// `\url` needs them to be within another command's argument.
fn url_argument(url: &str) -> String {
    url_field(url).replace('%', "\\%").replace('#', "\\#")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_become_commands_and_braces_stay_balanced() {
        assert_eq!(
            bibtex_escape("A & B: 50% {x}"),
            r"A \& B: 50\% \textbraceleft{}x\textbraceright{}"
        );
        assert_eq!(
            bibtex_escape(r"$1 #2 a_b ^ ~ \"),
            r"\$1 \#2 a\_b \textasciicircum{} \textasciitilde{} \textbackslash{}"
        );
        for hostile in ["}", "{", "}}} @misc{x,", r"\}", "a\u{1b}[0m"] {
            let escaped = bibtex_escape(hostile);
            let opened = escaped.matches('{').count();
            assert_eq!(opened, escaped.matches('}').count(), "{escaped}");
            assert!(!escaped.contains('\u{1b}'));
        }
    }

    #[test]
    fn keys_hold_only_key_characters() {
        assert_eq!(bibtex_key("ip-watch-wgec_2018:a.b"), "ip-watch-wgec_2018:a.b");
        assert_eq!(bibtex_key("a b,c{d}%#=\"é"), "a-b-c-d------");
        assert_eq!(bibtex_key(""), "link");
        let mut taken = HashSet::new();
        assert_eq!(unique("a".into(), &mut taken), "a");
        assert_eq!(unique("a".into(), &mut taken), "a-2");
        assert_eq!(unique("a".into(), &mut taken), "a-3");
    }

    #[test]
    fn urls_stay_one_balanced_argument() {
        assert_eq!(url_field("http://a.example/{x} y"), "http://a.example/%7Bx%7D%20y");
        assert_eq!(url_argument("http://a.example/p%20q#f"), r"http://a.example/p\%20q\#f");
    }
}
