//! Citations as Wikipedia `{{cite web}}` templates, one a line:
//!
//! ```text
//! {{cite web |url=… |title=… |publisher=… |archive-url=… |archive-date=2018-03-02 |url-status=dead |access-date=2018-03-01}}
//! ```
//!
//! `access-date` is the date of the cited capture (when the page was read as cited);
//! `archive-url` and `archive-date` name one copy, a public archive's when there is one (which
//! every reader can open), else this archive's. `url-status` comes with `archive-url` only, as
//! Wikipedia's templates read it: `dead` when the last check failed, `usurped` when it was a
//! soft 404 or the page's text changed since the cited capture, else `live`.
//!
//! Values are escaped so that nothing in them can end a parameter or the template, start a
//! link, a template, a tag or a signature: [`wikitext_escape`] for text, percent-encoding for
//! URLs.

use std::fmt::Write;

use crate::cite::{Citation, UrlStatus, date};

/// Renders one template a line.
pub fn render(citations: &[Citation]) -> String {
    let mut out = String::new();
    for citation in citations {
        let _ = write!(
            out,
            "{{{{cite web |url={} |title={} |publisher={}",
            url_value(&citation.url),
            wikitext_escape(&citation.title),
            wikitext_escape(&citation.publisher)
        );
        if let Some(copy) = citation.preferred_copy() {
            let _ = write!(out, " |archive-url={}", url_value(&copy.url));
            if let Some(at) = copy.captured {
                let _ = write!(out, " |archive-date={}", date(at));
            }
            if let Some(status) = citation.status {
                let _ = write!(out, " |url-status={}", status.as_str());
            }
        }
        if let Some(version) = &citation.version {
            let _ = write!(out, " |access-date={}", date(version.captured));
        }
        out.push_str("}}");
        // `url-status` means nothing to the template without an `archive-url`: a link that is
        // gone and has no copy gets Wikipedia's own tag instead, which puts it in the queue of
        // dead links editors and bots work through.
        if citation.preferred_copy().is_none() && citation.status.is_some_and(|s| s != UrlStatus::Live) {
            out.push_str("{{dead link}}");
        }
        out.push('\n');
    }
    out
}

/// Escapes text for a template parameter's value, as Wikipedia editors do: `|` becomes the
/// `{{!}}` magic word, braces, brackets, angle brackets and `~` become character references
/// (so no `{{`, `}}`, `[[`, `[`, `<ref>`, `<!--` or `~~~~` survives), and line breaks, which
/// would end the line-per-citation layout, are already gone ([`crate::cite::one_line`]).
pub fn wikitext_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("{{!}}"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '~' => out.push_str("&#126;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URL for a template parameter: every character that wikitext would read (or that a URL
/// cannot hold) percent-encoded, which names the same resource.
fn url_value(url: &str) -> String {
    crate::markup::percent_encode(url, |c| {
        c.is_whitespace() || c.is_control() || matches!(c, '|' | '[' | ']' | '{' | '}' | '<' | '>' | '"' | '\'' | '~')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_end_the_template_or_start_markup() {
        assert_eq!(wikitext_escape("a | b"), "a {{!}} b");
        assert_eq!(wikitext_escape("}}{{x}}"), "&#125;&#125;&#123;&#123;x&#125;&#125;");
        assert_eq!(
            wikitext_escape("[[Page]] [http://x y]"),
            "&#91;&#91;Page&#93;&#93; &#91;http://x y&#93;"
        );
        assert_eq!(
            wikitext_escape("<ref>x</ref> ~~~~"),
            "&lt;ref&gt;x&lt;/ref&gt; &#126;&#126;&#126;&#126;"
        );
        assert_eq!(wikitext_escape("a\nb\u{1b}[31m"), "a b&#91;31m");
        assert_eq!(wikitext_escape("Café — 2018"), "Café — 2018");
    }

    #[test]
    fn urls_are_percent_encoded() {
        assert_eq!(url_value("http://a.example/x?q=1&r=2"), "http://a.example/x?q=1&r=2");
        assert_eq!(
            url_value("http://a.example/a|b}}[c] d"),
            "http://a.example/a%7Cb%7D%7D%5Bc%5D%20d"
        );
    }
}
