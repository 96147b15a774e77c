//! The human report: an aligned table, one row per link, errors on the line below, and a
//! summary line. Colour only when asked for.

use std::fmt::Write;

use super::{Report, ellipsize};
use crate::outcome::{LinkResult, Outcome};

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
        .map(|r| r.id.chars().count().min(MAX_ID_WIDTH))
        .max()
        .unwrap_or(0)
        .max("ID".len());
    let outcome_width = "redirect_error".len();
    // Archive runs also say how each capture compares with the latest snapshot.
    let change_width = if report.results.iter().any(|r| r.change.is_some()) {
        "unchanged".len()
    } else {
        0
    };
    let widths = Widths {
        outcome: outcome_width,
        change: change_width,
        id: id_width,
    };
    let mut out = String::new();
    let change_header = if change_width > 0 {
        format!("{:<change_width$}  ", "CHANGE")
    } else {
        String::new()
    };
    let header = format!(
        "{:<outcome_width$}  {:>4}  {change_header}{:<id_width$}  URL",
        "RESULT", "HTTP", "ID"
    );
    let _ = writeln!(out, "{}", p.paint(BOLD, header.trim_end()));
    for r in &report.results {
        row(&mut out, &p, r, &widths);
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "{}", p.paint(YELLOW, &format!("warning: {warning}")));
    }
    let mut summary = report.summary_line();
    let _ = write!(summary, " in {:.1} s", report.duration_secs());
    let style = if report.has_failures() { RED } else { GREEN };
    let _ = writeln!(out, "\n{}", p.paint(style, &summary));
    out
}

struct Widths {
    outcome: usize,
    change: usize,
    id: usize,
}

fn row(out: &mut String, p: &Paint, r: &LinkResult, w: &Widths) {
    let outcome = format!("{:<width$}", r.outcome.as_str(), width = w.outcome);
    let status = r.http_status.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    let change = if w.change > 0 {
        let text = format!("{:<width$}", r.change.map_or("-", |c| c.as_str()), width = w.change);
        let style = if r.change == Some(crate::outcome::Change::Changed) {
            YELLOW
        } else {
            DIM
        };
        format!("{}  ", p.paint(style, &text))
    } else {
        String::new()
    };
    let id = format!("{:<width$}", ellipsize(&r.id, MAX_ID_WIDTH), width = w.id);
    let _ = writeln!(
        out,
        "{}  {status:>4}  {change}{id}  {}",
        p.paint(outcome_style(r.outcome), &outcome),
        r.url
    );
    let indent = " ".repeat(w.outcome + 2 + 4 + 2);
    if let Some(error) = &r.error {
        let _ = writeln!(
            out,
            "{indent}{}",
            p.paint(outcome_style(r.outcome), &format!("↳ {error}"))
        );
    } else if !r.redirects.is_empty()
        && let Some(final_url) = &r.final_url
    {
        let hops = r.redirects.len();
        let text = format!("↳ {hops} redirect{} to {final_url}", if hops == 1 { "" } else { "s" });
        let _ = writeln!(out, "{indent}{}", p.paint(DIM, &text));
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
                .ends_with("3 links: 1 ok, 1 failed, 1 excluded in 0.0 s"),
            "{text}"
        );
    }

    #[test]
    fn colour_when_asked() {
        let text = crate::report::tests::sample().render(Format::Human, true);
        assert!(text.contains("\x1b[31m"));
    }
}
