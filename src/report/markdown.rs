//! The Markdown report: a heading and a table, fit for a CI job summary or an issue body; and
//! the escaping every Markdown output uses for text from outside ([`cell`], [`link`],
//! [`fence`]).
//!
//! A title, an id, a URL or an error may have been written by whoever controls a cited page or
//! links.json. Rendered in a GitHub job summary, none of them may break the table, start a link
//! or an image, or open an HTML tag; what a reader sees of a link is the escaped id, and where it
//! leads is the URL, percent-encoded where Markdown would read it otherwise.

use std::fmt::Write;

use super::{Report, change_label, percent, public_copy};
use crate::outcome::{Change, Outcome};

/// Renders the table.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let icon = if report.has_failures() { "❌" } else { "✅" };
    let _ = writeln!(
        out,
        "### {icon} linkkeep {}: {}\n",
        report.command,
        report.summary_line()
    );
    let _ = writeln!(out, "| Result | HTTP | Link | Detail |");
    let _ = writeln!(out, "|---|---|---|---|");
    for r in &report.results {
        let mark = match r.outcome {
            Outcome::Ok => "✅",
            Outcome::Excluded => "➖",
            _ => "❌",
        };
        let status = r.http_status.map(|s| s.to_string()).unwrap_or_default();
        let mut details = Vec::new();
        match (&r.error, r.redirects.len(), &r.final_url) {
            (Some(error), _, _) => details.push(error.clone()),
            (None, n, Some(final_url)) if n > 0 => details.push(format!("{n} redirect(s) to {final_url}")),
            _ => {}
        }
        // Drift in words: a text change, and how much of the cited version is left.
        if matches!(r.change, Some(Change::Cosmetic | Change::Changed)) {
            details.push(change_label(r));
        }
        if let Some(similarity) = r.similarity_to_first {
            details.push(format!("{} of the text as cited", percent(similarity)));
        }
        let mut detail = cell(&details.join("; "));
        // A link a reader can follow to the page as the public archive keeps it.
        if let Some((url, day)) = public_copy(r) {
            let separator = if detail.is_empty() { "" } else { "; " };
            let _ = write!(detail, "{separator}public copy: {}", link(day, url));
        }
        let _ = writeln!(
            out,
            "| {mark} {} | {status} | {} | {detail} |",
            r.outcome,
            link(&r.id, &r.url),
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\n> **Warning:** {}", cell(warning));
    }
    out
}

/// Escapes text for a table cell (or any inline Markdown), so that it shows as written:
/// pipes would end the cell, brackets and parentheses make links and images (`![`), `<` opens
/// HTML and autolinks, `&` character references (`&#x202e;`), backticks code spans, `*`, `_`
/// and `~` emphasis. Line breaks and tabs become spaces (a line break ends the table row);
/// other control characters and bidirectional overrides are shown as escapes (`\u{1b}`), as on
/// a terminal.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '[' | ']' | '(' | ')' | '<' | '>' | '*' | '_' | '~' | '`' | '!' | '&' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if super::is_unsafe_on_terminal(c) => {
                // The backslash of the escape, escaped so that Markdown shows it.
                out.push('\\');
                out.extend(c.escape_unicode());
            }
            _ => out.push(c),
        }
    }
    out
}

/// An inline link showing `text` (escaped by [`cell`]) and leading to `url`, written as a
/// pointy-bracketed destination (`[text](<url>)`) in which every character Markdown or a table
/// would read otherwise is percent-encoded: spaces and controls, `<`, `>`, `|`, `\\`, the
/// backtick, parentheses, bidirectional overrides, and brackets after the host (an IPv6 host
/// keeps its own). So no `](` or `<` of the URL can start anything; the link's target is the
/// same resource.
pub fn link(text: &str, url: &str) -> String {
    // The scheme and authority: up to the first `/`, `?` or `#` after `://`.
    let authority_end = url.find("://").map_or(0, |at| {
        let rest = &url[at + 3..];
        at + 3 + rest.find(['/', '?', '#']).unwrap_or(rest.len())
    });
    let mut destination = String::with_capacity(url.len());
    for (at, c) in url.char_indices() {
        let encode = c.is_whitespace()
            || super::is_unsafe_on_terminal(c)
            || matches!(c, '<' | '>' | '|' | '\\' | '`' | '(' | ')')
            || (at >= authority_end && matches!(c, '[' | ']'));
        if encode {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(destination, "%{b:02X}");
            }
        } else {
            destination.push(c);
        }
    }
    format!("[{}](<{destination}>)", cell(text))
}

/// A code fence for a block holding `content`: backticks, one more than the longest run of
/// backticks in it (at least three), so that no line of the content can close the block.
pub fn fence(content: &str) -> String {
    let longest = content.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use crate::config::Format;

    #[test]
    fn one_row_per_link_and_cells_escaped() {
        let text = crate::report::tests::sample().render(Format::Markdown, false);
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 2 + 3, "{text}");
        // Every row has the same number of unescaped separators.
        for row in &rows {
            assert_eq!(row.replace("\\|", "").matches('|').count(), 5, "{row}");
        }
        assert!(text.contains(r"broken \| \<link\> \& co"), "{text}");
    }

    #[test]
    fn cells_show_remote_text_as_written() {
        assert_eq!(super::cell("a | b"), r"a \| b");
        assert_eq!(
            super::cell("[x](http://evil.example) ![i](y)"),
            r"\[x\]\(http://evil.example\) \!\[i\]\(y\)"
        );
        assert_eq!(
            super::cell("<script>alert(1)</script>"),
            r"\<script\>alert\(1\)\</script\>"
        );
        assert_eq!(super::cell("<http://evil.example>"), r"\<http://evil.example\>");
        assert_eq!(
            super::cell("&#x202e; `x` *b* _i_ ~s~"),
            r"\&#x202e; \`x\` \*b\* \_i\_ \~s\~"
        );
        assert_eq!(super::cell("one\ntwo\r\tthree"), "one two  three");
        assert_eq!(super::cell("a\x1b[31m\u{202e}"), r"a\\u{1b}\[31m\\u{202e}");
        assert_eq!(super::cell(r"back\slash"), r"back\\slash");
    }

    #[test]
    fn links_lead_where_the_url_says_and_show_the_escaped_text() {
        assert_eq!(
            super::link("id", "http://a.example/x?q=1"),
            "[id](<http://a.example/x?q=1>)"
        );
        assert_eq!(
            super::link("a](b", "http://a.example/a|b>c<d e\n`f\\\u{202e}"),
            r"[a\]\(b](<http://a.example/a%7Cb%3Ec%3Cd%20e%0A%60f%5C%E2%80%AE>)"
        );
        assert_eq!(
            super::link("v6", "http://[::1]:8080/a](b)[c]"),
            "[v6](<http://[::1]:8080/a%5D%28b%29%5Bc%5D>)"
        );
    }

    #[test]
    fn hostile_ids_urls_and_errors_keep_the_table_whole() {
        let mut report = crate::report::tests::sample();
        report.results[0].id = "x | y](http://evil.example) <script>alert(1)</script>\nrow".into();
        report.results[0].url = "http://a.example/p|q](r)<script>\n".into();
        report.results[1].error = Some("invalid Location \"http://[a|b](c)<script>\": \nbad".into());
        let text = report.render(Format::Markdown, false);
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 2 + 3, "{text}");
        for row in &rows {
            assert_eq!(row.replace("\\|", "").matches('|').count(), 5, "{row}");
        }
        assert!(!text.contains("<script>"), "{text}");
        // The one link of a row is the link column's own.
        for row in &rows[2..] {
            assert!(row.matches("](").count() <= 1, "{row}");
        }
    }

    #[test]
    fn text_changes_and_drift_from_the_cited_version_are_in_the_detail() {
        let mut report = crate::report::tests::sample();
        report.results[0].change = Some(crate::outcome::Change::Changed);
        report.results[0].similarity = Some(0.71);
        report.results[0].similarity_to_first = Some(0.62);
        let text = report.render(Format::Markdown, false);
        let row = text.lines().find(|l| l.contains("ok-link")).unwrap();
        assert!(
            row.ends_with(r"| changed \(71% same text\); 62% of the text as cited |"),
            "{text}"
        );
    }

    #[test]
    fn public_copies_are_links_in_the_detail() {
        let mut report = crate::report::tests::sample_with_public_copy();
        let text = report.render(Format::Markdown, false);
        let row = text.lines().find(|l| l.contains("b.example")).unwrap();
        assert!(
            row.ends_with(
                "| tcp connect error: Connection refused \\(os error 111\\); public copy: \
                 [2018-03-02](<https://web.archive.org/web/20180302040506/http://b.example/x?a=1&b=2>) |"
            ),
            "{text}"
        );
        assert_eq!(text.matches("public copy").count(), 1, "{text}");
        // An archive's answer cannot break the table or add links of its own.
        if let Some(Some(copy)) = &mut report.results[1].public_copy {
            copy.url = Some("https://web.archive.org/a|b](javascript:x)<script>\n".into());
            copy.timestamp = Some("[x](y)|".into());
        }
        let text = report.render(Format::Markdown, false);
        let row = text.lines().find(|l| l.contains("b.example")).unwrap();
        assert_eq!(row.replace("\\|", "").matches('|').count(), 5, "{row}");
        assert!(!text.contains("<script>") && !text.contains("](javascript"), "{text}");
    }

    #[test]
    fn fences_are_longer_than_any_backticks_inside() {
        assert_eq!(super::fence("no ticks"), "```");
        assert_eq!(super::fence("a ``` b"), "````");
        assert_eq!(super::fence("`````\n``"), "``````");
    }
}
