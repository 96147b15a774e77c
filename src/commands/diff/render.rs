//! The human and Markdown renderings of a [`DiffReport`]: a unified diff of the changed
//! paragraphs (one line of context on either side), after a header naming the two sides.
//!
//! Page text comes from outside: on a terminal its control characters are escaped
//! ([`terminal_safe`]), and in Markdown it sits in a code fence longer than any run of
//! backticks in it, or in table cells escaped by [`cell`] (and the link by [`link`]).

use std::fmt::Write;

use super::{DiffReport, Side};
use crate::report::markdown::{cell, fence, link};
use crate::report::terminal_safe;
use crate::text::Passage;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const REVERSE: &str = "\x1b[7m";
const NO_REVERSE: &str = "\x1b[27m";
const RESET: &str = "\x1b[0m";

/// How many hex digits of a SHA-256 the header shows.
const SHA_PREFIX: usize = 12;

/// A similarity as shown: three decimals, rounded down, so that texts that differ never show
/// as `1.000`.
pub fn similarity(value: f64) -> String {
    format!("{:.3}", (value * 1000.0).floor() / 1000.0)
}

/// One line of a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line<'a> {
    /// The same on both sides.
    Context(&'a str),
    /// Only in the earlier text.
    Removed(&'a str),
    /// Only in the later text.
    Added(&'a str),
}

/// A run of changed passages close enough to show together, with their context.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hunk<'a> {
    /// First line in the earlier text (1-based; the line before, when it has none there).
    old_start: usize,
    old_count: usize,
    /// First line in the later text, likewise.
    new_start: usize,
    new_count: usize,
    lines: Vec<Line<'a>>,
    /// Every passage in it differs only in dates, times or numbers.
    cosmetic: bool,
}

impl Hunk<'_> {
    /// The unified diff's hunk header, `@@ -3,3 +3,4 @@`.
    fn header(&self) -> String {
        let mut header = format!(
            "@@ -{},{} +{},{} @@",
            self.old_start, self.old_count, self.new_start, self.new_count
        );
        if self.cosmetic {
            header.push_str(" dates, times or numbers only");
        }
        header
    }
}

/// Where a passage lies: 0-based `[start, end)` in the earlier text, and its start in the later.
#[derive(Debug, Clone, Copy)]
struct Span {
    old_start: usize,
    old_end: usize,
    new_start: usize,
}

fn span(p: &Passage) -> Span {
    // `old_line` is the first removed line (1-based), or for an insertion the line it follows.
    let old_start = if p.removed.is_empty() {
        p.old_line
    } else {
        p.old_line - 1
    };
    let new_start = if p.added.is_empty() { p.new_line } else { p.new_line - 1 };
    Span {
        old_start,
        old_end: old_start + p.removed.len(),
        new_start,
    }
}

/// The hunks of the passages shown (all, or only those that are not cosmetic), with a line
/// of context before and after where the earlier text has an unchanged one. Passages shown
/// one after the other with at most two unchanged lines between them share a hunk, unless one
/// is cosmetic and the other not: a hunk says when it is only dates, times or numbers.
fn hunks<'a>(old: &'a str, passages: &'a [Passage], all: bool) -> Vec<Hunk<'a>> {
    let old_lines: Vec<&str> = old.lines().collect();
    let spans: Vec<Span> = passages.iter().map(span).collect();
    let shown = |i: usize| all || !passages[i].cosmetic;
    // Groups of passage indices, each a hunk.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in (0..passages.len()).filter(|&i| shown(i)) {
        match groups.last_mut() {
            Some(group)
                if *group.last().expect("groups are not empty") + 1 == i
                    && spans[i].old_start.saturating_sub(spans[i - 1].old_end) <= 2
                    && passages[i].cosmetic == passages[i - 1].cosmetic =>
            {
                group.push(i)
            }
            _ => groups.push(vec![i]),
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let (first, last) = (group[0], *group.last().expect("groups are not empty"));
            // A context line must be unchanged: not part of the passage before or after.
            let before =
                spans[first].old_start > 0 && (first == 0 || spans[first - 1].old_end < spans[first].old_start);
            let after = spans[last].old_end < old_lines.len()
                && spans
                    .get(last + 1)
                    .is_none_or(|next| next.old_start > spans[last].old_end);
            let mut lines = Vec::new();
            if before {
                lines.push(Line::Context(old_lines[spans[first].old_start - 1]));
            }
            for (k, &i) in group.iter().enumerate() {
                lines.extend(passages[i].removed.iter().map(|l| Line::Removed(l)));
                lines.extend(passages[i].added.iter().map(|l| Line::Added(l)));
                if let Some(&next) = group.get(k + 1) {
                    let gap = &old_lines[spans[i].old_end..spans[next].old_start];
                    lines.extend(gap.iter().map(|l| Line::Context(l)));
                }
            }
            if after {
                lines.push(Line::Context(old_lines[spans[last].old_end]));
            }
            let context = lines.iter().filter(|l| matches!(l, Line::Context(_))).count();
            let old_count = context + lines.iter().filter(|l| matches!(l, Line::Removed(_))).count();
            let new_count = context + lines.iter().filter(|l| matches!(l, Line::Added(_))).count();
            let old_first = spans[first].old_start - usize::from(before);
            let new_first = spans[first].new_start - usize::from(before);
            // As in `diff -u`: an empty side names the line before it.
            let start = |first: usize, count: usize| if count == 0 { first } else { first + 1 };
            Hunk {
                old_start: start(old_first, old_count),
                old_count,
                new_start: start(new_first, new_count),
                new_count,
                lines,
                cosmetic: group.iter().all(|&i| passages[i].cosmetic),
            }
        })
        .collect()
}

/// The unified diff of `hunks`, remote text made safe for a terminal. With `color`, removed
/// lines are red and added ones green, and where a paragraph was edited rather than replaced
/// (the same number of lines out and in, most of their words kept) the words that changed
/// are shown in reverse video, so that one changed word in a long paragraph can be found.
fn unified(hunks: &[Hunk], color: bool) -> String {
    let mut out = String::new();
    for hunk in hunks {
        let header = hunk.header();
        let _ = writeln!(out, "{}", if color { paint(CYAN, &header) } else { header });
        let mut k = 0;
        while k < hunk.lines.len() {
            let removed = run(&hunk.lines[k..], |l| matches!(l, Line::Removed(_)));
            let added = run(&hunk.lines[k + removed..], |l| matches!(l, Line::Added(_)));
            if color && removed > 0 && removed == added {
                let pairs: Vec<(String, String)> = (0..removed)
                    .map(|i| match (hunk.lines[k + i], hunk.lines[k + removed + i]) {
                        (Line::Removed(old), Line::Added(new)) => highlight_words(old, new),
                        _ => unreachable!("runs of removed and added lines"),
                    })
                    .collect();
                for (old, _) in &pairs {
                    let _ = writeln!(out, "{RED}-{old}{RESET}");
                }
                for (_, new) in &pairs {
                    let _ = writeln!(out, "{GREEN}+{new}{RESET}");
                }
                k += 2 * removed;
                continue;
            }
            let _ = match hunk.lines[k] {
                Line::Context(text) => writeln!(out, " {}", terminal_safe(text)),
                Line::Removed(text) if color => writeln!(out, "{}", paint(RED, &format!("-{}", terminal_safe(text)))),
                Line::Added(text) if color => writeln!(out, "{}", paint(GREEN, &format!("+{}", terminal_safe(text)))),
                Line::Removed(text) => writeln!(out, "-{}", terminal_safe(text)),
                Line::Added(text) => writeln!(out, "+{}", terminal_safe(text)),
            };
            k += 1;
        }
    }
    out
}

/// `text` in `style`.
fn paint(style: &str, text: &str) -> String {
    format!("{style}{text}{RESET}")
}

/// How many lines at the start of `lines` are `what`.
fn run(lines: &[Line], what: impl Fn(&Line) -> bool) -> usize {
    lines.iter().take_while(|l| what(l)).count()
}

/// The least share of words two lines must keep for their changed words to be highlighted:
/// below it the line was rewritten, and highlighting nearly all of it would say nothing.
const HIGHLIGHT_MIN_KEPT: f64 = 0.5;

/// An edited line before and after, made safe for a terminal, with the words that changed in
/// reverse video (when enough of the line stayed the same; otherwise plain).
fn highlight_words(old: &str, new: &str) -> (String, String) {
    let words = |text: &'_ str| -> Vec<String> { text.split_inclusive(' ').map(terminal_safe).collect() };
    let (old_words, new_words) = (words(old), words(new));
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &old_words, &new_words);
    let kept: usize = ops
        .iter()
        .filter(|op| op.tag() == similar::DiffTag::Equal)
        .map(|op| op.old_range().len())
        .sum();
    if (kept as f64) < HIGHLIGHT_MIN_KEPT * old_words.len().max(new_words.len()) as f64 {
        return (old_words.concat(), new_words.concat());
    }
    let mut marked = (String::new(), String::new());
    for op in &ops {
        let equal = op.tag() == similar::DiffTag::Equal;
        for (words, range, out) in [
            (&old_words, op.old_range(), &mut marked.0),
            (&new_words, op.new_range(), &mut marked.1),
        ] {
            let text = words[range].concat();
            if equal || text.is_empty() {
                out.push_str(&text);
            } else {
                // Reverse video on the words, not on the space after them.
                let trimmed = text.trim_end_matches(' ');
                let _ = write!(out, "{REVERSE}{trimmed}{NO_REVERSE}{}", &text[trimmed.len()..]);
            }
        }
    }
    marked
}

/// How a side is named in a header: `first capture 2024-01-01T00:00:00Z`, `live page fetched …`.
fn label(side: &Side) -> String {
    let info = &side.info;
    let when = match (&info.first_seen, &info.fetched_at) {
        (_, Some(fetched)) => format!("fetched {fetched}"),
        (Some(first_seen), None) => first_seen.clone(),
        (None, None) => String::new(),
    };
    let mut label = format!("{} {when}", side.role);
    if info.live
        && let Some(status) = info.http_status
    {
        let _ = write!(label, ", HTTP {status}");
    }
    // A redirect is worth knowing about: the page may have moved since it was cited.
    if info.url.as_deref().is_some_and(|url| url != info.final_url) {
        let _ = write!(label, ", served by {}", info.final_url);
    }
    terminal_safe(&label)
}

/// The first hex digits of a SHA-256, as shown.
fn sha_prefix(sha256: &str) -> String {
    sha256
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(SHA_PREFIX)
        .collect()
}

/// What to say besides the hunks: that nothing differs, or how many cosmetic passages are
/// hidden.
fn notes(report: &DiffReport, all: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if report.passages.is_empty() {
        notes.push(if report.from.sha256 == report.to.sha256 {
            "the two sides are the same bytes".to_owned()
        } else {
            "the text a reader sees is the same; the bytes differ".to_owned()
        });
    }
    let hidden = if all {
        0
    } else {
        report.passages.iter().filter(|p| p.cosmetic).count()
    };
    if hidden > 0 {
        let (passages, differ) = if hidden == 1 {
            ("passage", "differs")
        } else {
            ("passages", "differ")
        };
        let lead = if hidden == report.passages.len() {
            "the text differs only in dates, times or numbers: "
        } else {
            ""
        };
        notes.push(format!(
            "{lead}{hidden} {passages} that {differ} only in dates, times or numbers not shown (--all shows them)"
        ));
    }
    notes
}

/// The human rendering: a header, then a unified diff of the passages shown.
pub fn human(report: &DiffReport, color: bool, all: bool) -> String {
    let styled = |style: &str, text: String| {
        if color { format!("{style}{text}{RESET}") } else { text }
    };
    let [old, new] = &report.sides;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        styled(
            BOLD,
            format!(
                "linkkeep diff {}  {}",
                terminal_safe(&report.id),
                terminal_safe(&report.url)
            )
        )
    );
    for (mark, side) in [("---", old), ("+++", new)] {
        let line = format!(
            "{mark} {}  sha256 {}  {} words",
            label(side),
            sha_prefix(&side.info.sha256),
            side.info.text_words
        );
        let _ = writeln!(out, "{}", styled(BOLD, line));
    }
    let _ = writeln!(out, "similarity {}", similarity(report.similarity));
    let hunks = hunks(&old.text, &report.passages, all);
    if !hunks.is_empty() {
        out.push('\n');
        out.push_str(&unified(&hunks, color));
    }
    for note in notes(report, all) {
        let _ = writeln!(out, "\n{note}");
    }
    out
}

/// The Markdown rendering, for an issue or a job summary: a heading, a table of the two
/// sides and the similarity, and the passages in a `diff` code block.
pub fn markdown(report: &DiffReport, all: bool) -> String {
    let [old, new] = &report.sides;
    let mut out = String::new();
    let _ = writeln!(out, "### linkkeep diff: {}\n", link(&report.id, &report.url));
    out.push_str("| | |\n|---|---|\n");
    for (name, side) in [("From", old), ("To", new)] {
        let _ = writeln!(
            out,
            "| {name} | {}, SHA-256 `{}`, {} words |",
            cell(&label(side)),
            sha_prefix(&side.info.sha256),
            side.info.text_words
        );
    }
    let _ = writeln!(out, "| Similarity | {} |", similarity(report.similarity));
    let hunks = hunks(&old.text, &report.passages, all);
    if !hunks.is_empty() {
        let body = unified(&hunks, false);
        let fence = fence(&body);
        let _ = write!(out, "\n{fence}diff\n{body}{fence}\n");
    }
    for note in notes(report, all) {
        let _ = writeln!(out, "\n{}", cell(&note));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::diff;

    const OLD: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven";

    #[test]
    fn a_changed_line_has_a_line_of_context_each_side() {
        let new = OLD.replace("four", "FOUR");
        let passages = diff(OLD, &new);
        let hunks = hunks(OLD, &passages, false);
        assert_eq!(hunks.len(), 1);
        let h = &hunks[0];
        assert_eq!(h.header(), "@@ -3,3 +3,3 @@");
        assert_eq!(
            h.lines,
            vec![
                Line::Context("three"),
                Line::Removed("four"),
                Line::Added("FOUR"),
                Line::Context("five")
            ]
        );
    }

    #[test]
    fn changes_at_the_ends_have_context_on_one_side_only() {
        let new = OLD.replace("one", "ONE").replace("seven", "SEVEN");
        let passages = diff(OLD, &new);
        let hunks = hunks(OLD, &passages, false);
        assert_eq!(hunks.len(), 2, "{hunks:?}");
        assert_eq!(hunks[0].header(), "@@ -1,2 +1,2 @@");
        assert_eq!(hunks[0].lines.last(), Some(&Line::Context("two")));
        assert_eq!(hunks[1].header(), "@@ -6,2 +6,2 @@");
        assert_eq!(hunks[1].lines[0], Line::Context("six"));
    }

    #[test]
    fn close_passages_share_a_hunk_and_insertions_count_right() {
        let new = OLD.replace("two", "TWO").replace("four", "four\nfour and a half");
        let passages = diff(OLD, &new);
        assert_eq!(passages.len(), 2, "{passages:?}");
        let hunks = hunks(OLD, &passages, false);
        assert_eq!(hunks.len(), 1, "{hunks:?}");
        assert_eq!(hunks[0].header(), "@@ -1,5 +1,6 @@");
        assert_eq!(
            hunks[0].lines,
            vec![
                Line::Context("one"),
                Line::Removed("two"),
                Line::Added("TWO"),
                Line::Context("three"),
                Line::Context("four"),
                Line::Added("four and a half"),
                Line::Context("five"),
            ]
        );
        let only_added = diff("", "a new text");
        assert_eq!(hunks_of("", &only_added)[0].header(), "@@ -0,0 +1,1 @@");
    }

    fn hunks_of<'a>(old: &'a str, passages: &'a [Passage]) -> Vec<Hunk<'a>> {
        hunks(old, passages, true)
    }

    #[test]
    fn cosmetic_passages_are_hidden_unless_all() {
        let old = "Updated 12 March 2024\nThe delegates agreed.\nThe end.";
        let new = "Updated 13 March 2024\nThe delegates disagreed.\nThe end.";
        let passages = diff(old, new);
        // One passage of two lines: the changed lines are next to each other.
        assert_eq!(passages.len(), 1, "{passages:?}");
        let dated = "Updated 12 March 2024\nsame\nsame again\nThe delegates agreed.";
        let dated_new = "Updated 13 March 2024\nsame\nsame again\nThe delegates disagreed.";
        let passages = diff(dated, dated_new);
        assert_eq!(passages.len(), 2, "{passages:?}");
        assert!(passages[0].cosmetic && !passages[1].cosmetic);
        let shown = hunks(dated, &passages, false);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].lines[0], Line::Context("same again"));
        let all = hunks(dated, &passages, true);
        assert_eq!(all.len(), 2, "a cosmetic passage has a hunk of its own: {all:?}");
        assert!(all[0].cosmetic && !all[1].cosmetic);
        assert_eq!(all[0].header(), "@@ -1,2 +1,2 @@ dates, times or numbers only");
    }

    #[test]
    fn similarity_never_rounds_up_to_one() {
        assert_eq!(similarity(0.9996), "0.999");
        assert_eq!(similarity(1.0), "1.000");
        assert_eq!(similarity(0.5), "0.500");
    }

    #[test]
    fn page_text_cannot_drive_the_terminal() {
        let old = "calm words stay calm";
        let passages = diff(old, "calm words \x1b[31mred\x1b[0m \u{9b}2J stay calm");
        let text = unified(&hunks(old, &passages, true), false);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("\\u{1b}[31mred"), "{text}");
        let coloured = unified(&hunks(old, &passages, true), true);
        assert!(coloured.contains("\\u{1b}[31mred"), "{coloured}");
        assert!(!coloured.contains("\x1b[31mred"), "{coloured:?}");
    }

    #[test]
    fn edited_words_are_highlighted_and_rewritten_lines_are_not() {
        let (old, new) = highlight_words("the delegates agreed on it", "the delegates did not agree on it");
        assert_eq!(old, "the delegates \x1b[7magreed\x1b[27m on it");
        assert_eq!(new, "the delegates \x1b[7mdid not agree\x1b[27m on it");
        let (old, new) = highlight_words("one two three four", "five six seven four");
        assert_eq!(
            (old.as_str(), new.as_str()),
            ("one two three four", "five six seven four")
        );
        let old = "Some words here that stay.";
        let passages = diff(old, "Some words there that stay.");
        let text = unified(&hunks(old, &passages, true), true);
        assert!(
            text.contains("\x1b[31m-Some words \x1b[7mhere\x1b[27m that stay.\x1b[0m"),
            "{text:?}"
        );
        assert!(
            text.contains("\x1b[32m+Some words \x1b[7mthere\x1b[27m that stay.\x1b[0m"),
            "{text:?}"
        );
    }
}
