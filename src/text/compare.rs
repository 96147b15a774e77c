//! How two normalised texts differ: a word-level diff gives the similarity, the changed words
//! decide whether the change is cosmetic, and a line-level diff gives the changed passages.

use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, DiffTag, capture_diff_slices_deadline};

/// The longest a diff may search for the smallest set of changes; past it, a correct but
/// coarser diff (only ever for long texts with little in common).
const DIFF_BUDGET: Duration = Duration::from_secs(2);

/// Differing words tolerated in a cosmetic change: at least this many…
const COSMETIC_WORDS_MIN: usize = 8;
/// …or one in this many words of the longer text.
const COSMETIC_WORDS_PER: usize = 50;

/// Words that change by themselves on a page that did not: dates, times, relative ages.
const VOLATILE_WORDS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    "am",
    "pm",
    "utc",
    "gmt",
    "cet",
    "cest",
    "est",
    "edt",
    "pst",
    "pdt",
    "ago",
    "today",
    "yesterday",
    "tomorrow",
    "now",
    "second",
    "seconds",
    "sec",
    "secs",
    "minute",
    "minutes",
    "min",
    "mins",
    "hour",
    "hours",
    "hr",
    "hrs",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
];

/// How a later text compares with an earlier one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// 0–1: twice the words the texts share, over the words of both (1 for the same text).
    pub similarity: f64,
    /// The texts are the same, or differ only in a few volatile words (numbers, dates, times,
    /// "3 hours ago"): what a reader sees did not change.
    pub cosmetic: bool,
}

/// Compares an earlier normalised text with a later one.
pub fn compare(old: &str, new: &str) -> Comparison {
    if old == new {
        return Comparison {
            similarity: 1.0,
            cosmetic: true,
        };
    }
    let old: Vec<&str> = old.split_whitespace().collect();
    let new: Vec<&str> = new.split_whitespace().collect();
    if old.is_empty() || new.is_empty() {
        return Comparison {
            similarity: if old.len() == new.len() { 1.0 } else { 0.0 },
            cosmetic: old.len() == new.len(),
        };
    }
    let ops = word_diff(&old, &new);
    let mut shared = 0;
    let mut differing: Vec<&str> = Vec::new();
    for op in &ops {
        match op.tag() {
            DiffTag::Equal => shared += op.old_range().len(),
            _ => {
                differing.extend(&old[op.old_range()]);
                differing.extend(&new[op.new_range()]);
            }
        }
    }
    let similarity = (2 * shared) as f64 / (old.len() + new.len()) as f64;
    let allowed = COSMETIC_WORDS_MIN.max(old.len().max(new.len()) / COSMETIC_WORDS_PER);
    let cosmetic = differing.len() <= allowed && differing.iter().all(|w| is_volatile(w));
    Comparison { similarity, cosmetic }
}

/// The word-level edit script from `old` to `new`.
fn word_diff(old: &[&str], new: &[&str]) -> Vec<DiffOp> {
    capture_diff_slices_deadline(Algorithm::Myers, old, new, Some(Instant::now() + DIFF_BUDGET))
}

/// Whether a word is one that changes by itself: it has a digit, names a month, a weekday, a
/// time zone or a unit of age, or is only punctuation.
fn is_volatile(word: &str) -> bool {
    let core = word.trim_matches(|c: char| !c.is_alphanumeric());
    if core.is_empty() || core.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let lower = core.to_lowercase();
    VOLATILE_WORDS.contains(&lower.as_str())
}

/// One changed passage between two texts: lines (paragraphs) removed and added in their place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Passage {
    /// The first removed line's number in the earlier text (1-based), or the line it follows.
    pub old_line: usize,
    /// The first added line's number in the later text (1-based), or the line it follows.
    pub new_line: usize,
    /// The earlier text's lines.
    pub removed: Vec<String>,
    /// The later text's lines.
    pub added: Vec<String>,
    /// The lines differ only in volatile words (dates, times, numbers): noise, not an edit.
    pub cosmetic: bool,
}

/// The passages in which `new` differs from `old`, line by line, in order.
pub fn diff(old: &str, new: &str) -> Vec<Passage> {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let ops = capture_diff_slices_deadline(
        Algorithm::Myers,
        &old_lines,
        &new_lines,
        Some(Instant::now() + DIFF_BUDGET),
    );
    let mut passages: Vec<Passage> = Vec::new();
    for op in ops {
        if op.tag() == DiffTag::Equal {
            continue;
        }
        let (old_range, new_range) = (op.old_range(), op.new_range());
        let removed: Vec<String> = old_lines[old_range.clone()].iter().map(|l| l.to_string()).collect();
        let added: Vec<String> = new_lines[new_range.clone()].iter().map(|l| l.to_string()).collect();
        let cosmetic = !removed.is_empty() && compare(&removed.join("\n"), &added.join("\n")).cosmetic;
        passages.push(Passage {
            old_line: old_range.start + usize::from(!removed.is_empty()),
            new_line: new_range.start + usize::from(!added.is_empty()),
            removed,
            added,
            cosmetic,
        });
    }
    passages
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "The working group met in Geneva on 12 March 2018 to discuss enhanced cooperation.\n\
        Delegates agreed on a set of recommendations for the commission.\n\
        The next meeting is planned for the autumn, with all stakeholders invited.";

    #[test]
    fn the_same_text_is_cosmetic_with_similarity_one() {
        assert_eq!(
            compare(TEXT, TEXT),
            Comparison {
                similarity: 1.0,
                cosmetic: true
            }
        );
    }

    #[test]
    fn dates_times_and_counters_are_cosmetic() {
        let later = TEXT.replace("12 March 2018", "3 April 2019");
        let c = compare(TEXT, &later);
        assert!(c.cosmetic, "{c:?}");
        assert!(c.similarity < 1.0);
        let ago = format!("Updated 3 hours ago. {TEXT}");
        let ago_later = format!("Updated 25 minutes ago. {TEXT}");
        assert!(compare(&ago, &ago_later).cosmetic);
    }

    #[test]
    fn one_changed_word_is_a_change() {
        // "not" turns a statement around: a reader sees a different text.
        let later = TEXT.replace("Delegates agreed", "Delegates did not agree");
        let c = compare(TEXT, &later);
        assert!(!c.cosmetic, "{c:?}");
        assert!(c.similarity > 0.8 && c.similarity < 1.0, "{c:?}");
    }

    #[test]
    fn many_changed_numbers_are_a_change() {
        // A table of figures revised throughout is an edit, not a timestamp.
        let table: Vec<String> = (0..40).map(|i| format!("row {i}: {}", i * 7)).collect();
        let revised: Vec<String> = (0..40).map(|i| format!("row {i}: {}", i * 7 + 1)).collect();
        assert!(!compare(&table.join("\n"), &revised.join("\n")).cosmetic);
    }

    #[test]
    fn empty_texts() {
        assert!(compare("", "").cosmetic);
        let c = compare("", TEXT);
        assert!(!c.cosmetic);
        assert_eq!(c.similarity, 0.0);
    }

    #[test]
    fn similarity_falls_with_the_share_of_changed_words() {
        let half: String = TEXT.lines().take(1).collect();
        let c = compare(TEXT, &half);
        assert!(c.similarity > 0.3 && c.similarity < 0.7, "{c:?}");
    }

    #[test]
    fn passages_name_the_changed_lines() {
        let later = TEXT
            .replace(
                "Delegates agreed on a set of recommendations",
                "Delegates rejected the recommendations",
            )
            .replace("12 March", "13 March");
        let passages = diff(TEXT, &later);
        assert_eq!(passages.len(), 1, "{passages:?}");
        let p = &passages[0];
        assert_eq!((p.old_line, p.new_line), (1, 1));
        assert_eq!(p.removed.len(), 2);
        assert!(p.added[1].contains("rejected"));
        assert!(!p.cosmetic);

        let dated = TEXT.replace("12 March", "13 March");
        let passages = diff(TEXT, &dated);
        assert_eq!(passages.len(), 1);
        assert!(passages[0].cosmetic);

        let added = format!("{TEXT}\nA new closing paragraph.");
        let passages = diff(TEXT, &added);
        assert_eq!(passages[0].removed, Vec::<String>::new());
        assert_eq!(passages[0].added, vec!["A new closing paragraph.".to_owned()]);
        assert_eq!((passages[0].old_line, passages[0].new_line), (3, 4));
        assert!(!passages[0].cosmetic);
    }
}
