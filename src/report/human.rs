//! The human report: an aligned table, one row per link, errors on the line below, and a
//! summary line. Colour only when asked for. Runs that compare captures (archive, `verify
//! --live`) add a change column (`changed (71% same text)`), and `verify --live` how much of
//! the cited version's text each live page keeps.
//!
//! Ids, URLs, errors and warnings come from outside (links.json, servers): they are shown
//! through [`terminal_safe`], so none can send control sequences or bidirectional overrides to
//! the terminal.

use std::fmt::Write;

use super::{Report, change_label, ellipsize, percent, public_copy, terminal_safe};
use crate::outcome::{Change, LinkResult, Outcome};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Ids longer than this are cut in the table (the JSON report has them whole).
const MAX_ID_WIDTH: usize = 40;

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.on {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

fn outcome_style(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => GREEN,
        Outcome::Excluded => YELLOW,
        _ => RED,
    }
}

/// Renders the table.
pub fn render(report: &Report, color: bool) -> String {
    let p = Paint { on: color };
    let id_width = report
        .results
        .iter()
        .map(|r| shown_id(&r.id).chars().count())
        .max()
        .unwrap_or(0)
        .max("ID".len());
    let outcome_width = "redirect_error".len();
    // Archive runs also say how each capture compares with the latest snapshot…
    let change_width = if report.results.iter().any(|r| r.change.is_some()) {
        report
            .results
            .iter()
            .map(|r| change_label(r).chars().count())
            .max()
            .unwrap_or(0)
            .max("unchanged".len())
    } else {
        0
    };
    // …and `verify --live` how much of the cited version's text the live page keeps.
    let cited_width = if report.results.iter().any(|r| r.similarity_to_first.is_some()) {
        CITED_HEADER.len()
    } else {
        0
    };
    let widths = Widths {
        outcome: outcome_width,
        change: change_width,
        cited: cited_width,
        id: id_width,
    };
    let mut out = String::new();
    let change_header = if change_width > 0 {
        format!("{:<change_width$}  ", "CHANGE")
    } else {
        String::new()
    };
    let cited_header = if cited_width > 0 {
        format!("{CITED_HEADER}  ")
    } else {
        String::new()
    };
    let header = format!(
        "{:<outcome_width$}  {:>4}  {change_header}{cited_header}{:<id_width$}  URL",
        "RESULT", "HTTP", "ID"
    );
    let _ = writeln!(out, "{}", p.paint(BOLD, header.trim_end()));
    for r in &report.results {
        row(&mut out, &p, r, &widths);
    }
    for warning in &report.warnings {
        let warning = terminal_safe(warning);
        let _ = writeln!(out, "{}", p.paint(YELLOW, &format!("warning: {warning}")));
    }
    let mut summary = report.summary_line();
    let _ = write!(summary, " in {}", report.duration_text());
    let style = if report.has_failures() { RED } else { GREEN };
    let _ = writeln!(out, "\n{}", p.paint(style, &summary));
    out
}

/// A link's id as the table shows it: escaped, and cut at [`MAX_ID_WIDTH`].
fn shown_id(id: &str) -> String {
    ellipsize(&terminal_safe(id), MAX_ID_WIDTH)
}

/// The header of the column of similarities to the cited version.
const CITED_HEADER: &str = "AS CITED";

struct Widths {
    outcome: usize,
    change: usize,
    cited: usize,
    id: usize,
}

fn row(out: &mut String, p: &Paint, r: &LinkResult, w: &Widths) {
    let outcome = format!("{:<width$}", r.outcome.as_str(), width = w.outcome);
    let status = r.http_status.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    let change = if w.change > 0 {
        let text = format!("{:<width$}", change_label(r), width = w.change);
        let style = if r.change == Some(Change::Changed) { YELLOW } else { DIM };
        format!("{}  ", p.paint(style, &text))
    } else {
        String::new()
    };
    let cited = if w.cited > 0 {
        let text = r.similarity_to_first.map_or("-".into(), percent);
        let style = if r.similarity_to_first.is_some_and(|s| s < 1.0) {
            YELLOW
        } else {
            DIM
        };
        format!("{}  ", p.paint(style, &format!("{text:>width$}", width = w.cited)))
    } else {
        String::new()
    };
    let id = format!("{:<width$}", shown_id(&r.id), width = w.id);
    let _ = writeln!(
        out,
        "{}  {status:>4}  {change}{cited}{id}  {}",
        p.paint(outcome_style(r.outcome), &outcome),
        terminal_safe(&r.url)
    );
    let indent = " ".repeat(w.outcome + 2 + 4 + 2);
    if let Some(error) = &r.error {
        let _ = writeln!(
            out,
            "{indent}{}",
            p.paint(outcome_style(r.outcome), &format!("↳ {}", terminal_safe(error)))
        );
    } else if !r.redirects.is_empty()
        && let Some(final_url) = &r.final_url
    {
        let hops = r.redirects.len();
        let text = format!(
            "↳ {hops} redirect{} to {}",
            if hops == 1 { "" } else { "s" },
            terminal_safe(final_url)
        );
        let _ = writeln!(out, "{indent}{}", p.paint(DIM, &text));
    }
    // Where a reader can still see the page, under what became of it. The archive's answer is
    // remote text too.
    if let Some((url, day)) = public_copy(r) {
        let text = format!("public copy: {} ({})", terminal_safe(url), terminal_safe(day));
        let _ = writeln!(out, "{indent}  {}", p.paint(GREEN, &text));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Format;

    #[test]
    fn table_is_aligned_and_plain_without_colour() {
        let text = crate::report::tests::sample().render(Format::Human, false);
        assert!(!text.contains('\x1b'));
        let lines: Vec<&str> = text.lines().collect();
        // The URL column starts at the same place on the header and on every row.
        let url_col = lines[0].find("URL").unwrap();
        assert_eq!(lines[1].find("http://a.example").unwrap(), url_col, "{text}");
        assert_eq!(lines[2].find("http://b.example").unwrap(), url_col, "{text}");
        assert!(text.contains("↳ tcp connect error: Connection refused"));
        assert!(
            text.trim_end()
                .ends_with("3 links: 1 ok, 1 failed, 1 excluded in 0.00 s"),
            "{text}"
        );
    }

    #[test]
    fn text_changes_say_how_much_is_left_and_how_much_as_cited() {
        use crate::outcome::Change;
        let mut report = crate::report::tests::sample();
        report.results[0].change = Some(Change::Changed);
        report.results[0].similarity = Some(0.71);
        report.results[0].similarity_to_first = Some(0.62);
        report.results[1].change = Some(Change::Cosmetic);
        report.results[1].similarity_to_first = Some(1.0);
        let text = report.render(Format::Human, false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("CHANGE") && lines[0].contains("AS CITED"), "{text}");
        assert!(lines[1].contains("changed (71% same text)"), "{text}");
        assert!(lines[1].contains(" 62% "), "{text}");
        assert!(lines[2].contains("cosmetic (same text)"), "{text}");
        assert!(lines[2].contains(" 100% "), "{text}");
        // Columns stay aligned whatever the cells hold.
        let url_col = lines[0].find("URL").unwrap();
        assert_eq!(lines[1].find("http://a.example").unwrap(), url_col, "{text}");
        assert_eq!(lines[2].find("http://b.example").unwrap(), url_col, "{text}");
        let cited_end = lines[0].find("AS CITED").unwrap() + "AS CITED".len();
        assert_eq!(lines[1].find("62%").unwrap() + 3, cited_end, "{text}");
    }

    #[test]
    fn no_cited_column_without_similarities() {
        let mut report = crate::report::tests::sample();
        report.results[0].change = Some(crate::outcome::Change::Changed);
        let text = report.render(Format::Human, false);
        assert!(!text.contains("AS CITED"), "{text}");
        assert!(text.lines().nth(1).unwrap().contains("changed  "), "{text}");
    }

    #[test]
    fn remote_text_reaches_the_table_escaped() {
        let mut report = crate::report::tests::sample();
        report.results[0].id = "id\x1b]0;pwned\x07".into();
        report.results[0].url = "http://a.example/\u{202e}fdp.exe".into();
        report.results[1].error = Some("HTTP 500 \x1b[31m\u{9b}2J\u{2066}".into());
        report.results[0].final_url = Some("http://a.example/\u{200f}".into());
        report.results[0].redirects = vec![crate::outcome::RedirectHop {
            status: 301,
            url: "http://a.example/".into(),
            location: "\u{202e}".into(),
        }];
        report.warnings.push("title \u{1b}[2J\u{61c}".into());
        let text = report.render(Format::Human, false);
        assert!(
            text.chars()
                .all(|c| c == '\n' || !crate::report::is_unsafe_on_terminal(c)),
            "{text:?}"
        );
        assert!(text.contains("id\\u{1b}]0;pwned\\u{7}"), "{text}");
        assert!(text.contains("http://a.example/\\u{202e}fdp.exe"), "{text}");
        assert!(text.contains("HTTP 500 \\u{1b}[31m\\u{9b}2J\\u{2066}"), "{text}");
        assert!(text.contains("redirect to http://a.example/\\u{200f}"), "{text}");
        assert!(text.contains("warning: title \\u{1b}[2J\\u{61c}"), "{text}");
        // The escaped id is what the column is as wide as.
        let lines: Vec<&str> = text.lines().collect();
        let url_col = lines[0].find("URL").unwrap();
        assert_eq!(lines[1].find("http://a.example").unwrap(), url_col, "{text}");
    }

    #[test]
    fn public_copies_show_under_their_link() {
        let mut report = crate::report::tests::sample_with_public_copy();
        let text = report.render(Format::Human, false);
        let lines: Vec<&str> = text.lines().collect();
        let failed = lines.iter().position(|l| l.contains("http://b.example/x")).unwrap();
        assert!(lines[failed + 1].contains("↳ tcp connect error"), "{text}");
        assert_eq!(
            lines[failed + 2].trim(),
            "public copy: https://web.archive.org/web/20180302040506/http://b.example/x?a=1&b=2 (2018-03-02)",
            "{text}"
        );
        // Sought and not found: nothing to show.
        assert_eq!(text.matches("public copy").count(), 1, "{text}");
        // Whatever the archive answered reaches the terminal escaped.
        if let Some(Some(copy)) = &mut report.results[1].public_copy {
            copy.url = Some("https://web.archive.org/\x1b]0;x\x07\u{202e}".into());
        }
        let text = report.render(Format::Human, false);
        assert!(
            text.chars()
                .all(|c| c == '\n' || !crate::report::is_unsafe_on_terminal(c)),
            "{text:?}"
        );
        assert!(
            text.contains("public copy: https://web.archive.org/\\u{1b}]0;x\\u{7}\\u{202e}"),
            "{text}"
        );
    }

    #[test]
    fn colour_when_asked() {
        let text = crate::report::tests::sample().render(Format::Human, true);
        assert!(text.contains("\x1b[31m"));
    }
}
