//! Robust links in a Markdown document: after each link to a URL the archive holds a copy of
//! (inline `[text](URL)`, reference `[text][ref]`, autolink `<URL>`, or a bare URL in prose), the
//! copies, as links GitHub and pandoc both render:
//!
//! ```markdown
//! [text](URL) (archived: [this archive, 2018-03-01](<…>); [Wayback Machine, 2018-03-02](<…>))
//! ```
//!
//! Links are found with pulldown-cmark's offsets, so those in code spans, code blocks, HTML and
//! metadata blocks are left alone, and the copies are spliced in by byte offset: every byte of
//! the document stays as it was. Copies written by an earlier run, right after the link, are
//! replaced rather than followed by more.

use std::ops::Range;
use std::sync::LazyLock;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeWithOffset};
use regex::Regex;

use super::{Found, Lookup, Robustified, note_without_copy};
use crate::cite::{ArchivedCopy, Citation, date};
use crate::report::markdown::link;

/// What this module writes after a link: ` (archived: [label](<url>); …)`. Labels are escaped by
/// `report::markdown::cell` (every `]` as `\]`) and destinations percent-encoded (no `>`), so
/// this finds exactly what it wrote.
static EARLIER_COPIES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ \(archived: \[(?:\\.|[^\]\\])*\]\(<[^>]*>\)(?:; \[(?:\\.|[^\]\\])*\]\(<[^>]*>\))*\)")
        .expect("a valid pattern")
});

/// Rewrites `text`.
pub fn robustify(text: &str, lookup: &Lookup) -> Robustified {
    let mut result = Robustified::default();
    // Where the copies go: the byte range to replace (empty, or copies an earlier run wrote),
    // and what goes there.
    let mut splices: Vec<(Range<usize>, String)> = Vec::new();
    let mut add = |end: usize, url: &str, result: &mut Robustified| match lookup.find(url) {
        Found::Robust(citation) => {
            let earlier = EARLIER_COPIES.find(&text[end..]).map_or(0, |m| m.end());
            splices.push((end..end + earlier, copies(citation)));
            result.robust += 1;
        }
        Found::NoCopy(citation) => note_without_copy(&mut result.without_copy, citation),
        Found::Unknown => {}
    };

    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_GFM;
    let events = TextMergeWithOffset::new(Parser::new_ext(text, options).into_offset_iter());
    // How deep inside links, images, code and metadata blocks the parser is: no bare URL is
    // looked for there (a link's text is the link's).
    let mut inside = 0usize;
    for (event, range) in events {
        match event {
            Event::Start(Tag::Link {
                link_type, dest_url, ..
            }) => {
                if inside == 0 && link_type != LinkType::Email {
                    add(range.end, &dest_url, &mut result);
                }
                inside += 1;
            }
            Event::Start(Tag::Image { .. } | Tag::CodeBlock(_) | Tag::MetadataBlock(_)) => inside += 1,
            Event::End(TagEnd::Link | TagEnd::Image | TagEnd::CodeBlock | TagEnd::MetadataBlock(_)) => {
                inside = inside.saturating_sub(1);
            }
            Event::Text(_) if inside == 0 => {
                // The source, not the event's text: offsets must be the document's.
                for found in crate::extract::text::extract_prose(&text[range.clone()]) {
                    add(range.start + found.end, &found.url, &mut result);
                }
            }
            _ => {}
        }
    }

    splices.sort_by_key(|(range, _)| range.start);
    let mut document = String::with_capacity(text.len() + splices.len() * 160);
    let mut at = 0;
    for (range, insert) in splices {
        if range.start < at {
            continue;
        }
        document.push_str(&text[at..range.start]);
        document.push_str(&insert);
        at = range.end;
    }
    document.push_str(&text[at..]);
    result.document = document.into_bytes();
    result
}

/// ` (archived: [this archive, 2018-03-01](<…>); [Wayback Machine, 2018-03-02](<…>))`.
fn copies(citation: &Citation) -> String {
    let links: Vec<String> = citation.copies().iter().map(copy_link).collect();
    format!(" (archived: {})", links.join("; "))
}

/// `[holder, date](<url>)`, or without the date when the copy's capture time is not known.
fn copy_link(copy: &ArchivedCopy) -> String {
    let label = match copy.captured {
        Some(at) => format!("{}, {}", copy.holder.label(), date(at)),
        None => copy.holder.label().to_owned(),
    };
    link(&label, &copy.url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cite::tests::{cited, without_copies};

    const COPIES: &str = " (archived: [this archive, 2018-03-01](<http://127.0.0.1:8080/web/20180301102030/http://a.example/p>); \
                          [Wayback Machine, 2018-03-02](<https://web.archive.org/web/20180302000000/http://a.example/p>))";

    fn run(document: &str) -> Robustified {
        let citations = [
            cited("a", "http://a.example/p"),
            without_copies("b", "http://b.example/"),
        ];
        robustify(document, &Lookup::new(&citations))
    }

    #[test]
    fn links_of_every_kind_get_their_copies_and_code_is_left_alone() {
        let document = "---\ntitle: http://a.example/p\n---\n\n# Notes\n\n\
             See [the page](http://a.example/p \"t\"), <http://a.example/p>, [ref][r] and http://a.example/p.\n\n\
             `http://a.example/p` and\n\n```\n[x](http://a.example/p)\n```\n\n    http://a.example/p\n\n\
             <a href=\"http://a.example/p\">html</a> [other](http://c.example/) ![img](http://a.example/p)\n\n\
             | a | b |\n|---|---|\n| [t](http://a.example/p) | x |\n\n[r]: http://a.example/p\n";
        let robust = run(document);
        let out = String::from_utf8(robust.document).unwrap();
        assert_eq!(robust.robust, 5, "{out}");
        assert_eq!(out.replace(COPIES, ""), document, "{out}");
        for expected in [
            "[the page](http://a.example/p \"t\")",
            "<http://a.example/p>",
            "[ref][r]",
            " http://a.example/p",
            "| [t](http://a.example/p)",
        ] {
            assert!(out.contains(&format!("{expected}{COPIES}")), "{expected}:\n{out}");
        }
    }

    #[test]
    fn a_second_run_replaces_the_copies_it_wrote() {
        let once = String::from_utf8(run("[p](http://a.example/p) and http://a.example/p.\n").document).unwrap();
        let twice = String::from_utf8(run(&once).document).unwrap();
        assert_eq!(twice, once);
        assert_eq!(once.matches("(archived:").count(), 2, "{once}");
    }

    #[test]
    fn links_without_a_copy_are_left_alone_and_reported() {
        let document = "[b](http://b.example/) and http://b.example/\n";
        let robust = run(document);
        assert_eq!(String::from_utf8(robust.document).unwrap(), document);
        assert_eq!(robust.without_copy, ["http://b.example/"]);
    }
}
