//! The Markdown report: a heading and a table, fit for a CI job summary or an issue body; and
//! the escaping every Markdown output uses for text from outside ([`cell`], [`fence`]).

use std::fmt::Write;

use super::{Report, change_label, percent};
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
        let detail = details.join("; ");
        let _ = writeln!(
            out,
            "| {mark} {} | {status} | [{}](<{}>) | {} |",
            r.outcome,
            cell(&r.id),
            r.url.replace('>', "%3E"),
            cell(&detail)
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\n> **Warning:** {}", cell(warning));
    }
    out
}

/// Escapes text for a table cell (or any inline Markdown): pipes, brackets and line breaks
/// would break the table, `<` would open HTML, backticks and emphasis marks would run on.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '[' | ']' | '<' | '>' | '*' | '_' | '`' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
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
        assert!(text.contains(r"broken \| \<link\> & co"), "{text}");
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
            row.ends_with("| changed (71% same text); 62% of the text as cited |"),
            "{text}"
        );
    }

    #[test]
    fn fences_are_longer_than_any_backticks_inside() {
        assert_eq!(super::fence("no ticks"), "```");
        assert_eq!(super::fence("a ``` b"), "````");
        assert_eq!(super::fence("`````\n``"), "``````");
    }
}
