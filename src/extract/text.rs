//! URLs in plain text and Markdown: prose, parentheses, angle brackets, inline links and
//! reference definitions, with trailing punctuation trimmed the way GitHub's autolinker does.
//!
//! Candidates come back exactly as written (no percent-decoding, no normalisation); the caller
//! classifies them (http(s), other scheme, relative) and validates them.

/// A URL-like string found in text, with where it was found and the sentence citing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// As written, except that a bare `www.` host gets an `http://` prefix.
    pub url: String,
    /// Byte offset of the first character in the text.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// The sentence or line citing it: whitespace collapsed, at most [`MAX_NOTE_CHARS`] characters.
    pub note: String,
    /// Whether it is a link's destination (Markdown), rather than a URL written in the text.
    pub linked: bool,
}

/// The longest note, in characters; longer contexts are cut at word boundaries around the URL.
pub const MAX_NOTE_CHARS: usize = 300;

/// Finds every URL-like string in `text`, in document order.
///
/// Markdown inline links and images (`[t](url "title")`, `[t](<url>)`) and reference definitions
/// (`[id]: url`) give their destinations, which may be relative or use any scheme. Prose gives
/// absolute URLs (`scheme://…`, `mailto:…`) and bare `www.` hosts, written as `http://www.…`.
/// An e-mail address such as `someone@example.org` is not a URL and is not reported.
pub fn extract(text: &str) -> Vec<Candidate> {
    let mut found = markdown_destinations(text);
    let covered: Vec<(usize, usize)> = found.iter().map(|c| (c.start, c.end)).collect();
    found.extend(prose(text, &covered));
    found.sort_by_key(|c| c.start);
    found
}

/// Only the absolute URLs and bare `www.` hosts of prose, ignoring Markdown syntax: for text that
/// is not Markdown (HTML text nodes, PDF text layers).
pub fn extract_prose(text: &str) -> Vec<Candidate> {
    prose(text, &[])
}

// ---------------------------------------------------------------------------------------------
// Markdown

fn markdown_destinations(text: &str) -> Vec<Candidate> {
    let mut found = Vec::new();
    // Inline links and images: `](destination "title")`.
    let mut from = 0;
    while let Some(at) = text[from..].find("](") {
        let open = from + at + 2;
        from = open;
        if let Some((start, end)) = inline_destination(text, open) {
            push_destination(text, start, end, &mut found);
            from = end;
        }
    }
    // Reference definitions: up to three spaces, `[label]:`, the destination.
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if let Some((start, end)) = reference_destination(line) {
            push_destination(text, line_start + start, line_start + end, &mut found);
        }
        line_start += line.len();
    }
    found
}

fn push_destination(text: &str, start: usize, end: usize, found: &mut Vec<Candidate>) {
    let url = &text[start..end];
    if !url.is_empty() {
        found.push(Candidate {
            url: url.to_owned(),
            start,
            end,
            note: note_for(text, start, end),
            linked: true,
        });
    }
}

/// The span of an inline link destination starting at `open` (just after `](`).
fn inline_destination(text: &str, open: usize) -> Option<(usize, usize)> {
    let rest = &text[open..];
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let start = open + skipped;
    let rest = &text[start..];
    if let Some(inner) = rest.strip_prefix('<') {
        let close = inner.find(['>', '\n'])?;
        return (inner.as_bytes()[close] == b'>').then_some((start + 1, start + 1 + close));
    }
    // A bare destination ends at whitespace or at the `)` that closes the link; balanced
    // parentheses inside it (`Foo_(bar)`) belong to it.
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some((start, start + i)),
            ')' => depth -= 1,
            c if c.is_whitespace() => return Some((start, start + i)),
            _ => {}
        }
    }
    None
}

/// The span (within `line`) of a reference definition's destination, `[label]: destination`.
fn reference_destination(line: &str) -> Option<(usize, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = line[indent..].strip_prefix('[')?;
    let close = rest.find(']')?;
    let label = &rest[..close];
    // `[^1]: …` is a footnote, whose text prose scanning covers.
    if label.trim().is_empty() || label.starts_with('^') || label.contains('[') {
        return None;
    }
    let after = rest[close + 1..].strip_prefix(':')?;
    let dest_offset = indent + 1 + close + 2;
    let trimmed = after.trim_start_matches([' ', '\t']);
    let start = dest_offset + (after.len() - trimmed.len());
    if let Some(inner) = trimmed.strip_prefix('<') {
        let close = inner.find(['>', '\n'])?;
        return (inner.as_bytes()[close] == b'>').then_some((start + 1, start + 1 + close));
    }
    let len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    (len > 0).then_some((start, start + len))
}

// ---------------------------------------------------------------------------------------------
// Prose

/// Characters that end a URL in prose: they cannot appear unencoded in one.
fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '<' | '>' | '"' | '`' | '“' | '”' | '‘' | '’' | '«' | '»' | '\u{200b}'
        )
}

fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

fn prose(text: &str, covered: &[(usize, usize)]) -> Vec<Candidate> {
    let bytes = text.as_bytes();
    let mut covered = covered.to_vec();
    covered.sort_unstable();
    let mut next_covered = 0;
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while next_covered < covered.len() && covered[next_covered].1 <= i {
            next_covered += 1;
        }
        if let Some(&(s, e)) = covered.get(next_covered)
            && s <= i
        {
            i = e;
            continue;
        }
        let Some((start, prefix)) = url_start(text, i) else {
            i += 1;
            continue;
        };
        let run_end = text[start..].find(ends_url).map_or(text.len(), |n| start + n);
        let end = start + trim_trailing(&text[start..run_end]).len();
        let raw = &text[start..end];
        let url = match prefix {
            Start::Scheme if raw.find("://").is_some_and(|at| raw.len() > at + 3) => raw.to_owned(),
            Start::Mailto if raw.len() > "mailto:".len() => raw.to_owned(),
            Start::Www if is_www_host(raw) => format!("http://{raw}"),
            _ => {
                i = start + 1;
                continue;
            }
        };
        found.push(Candidate {
            url,
            start,
            end,
            note: note_for(text, start, end),
            linked: false,
        });
        i = end.max(start + 1);
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Scheme,
    Mailto,
    Www,
}

/// Whether a URL starts at byte `i`: a scheme followed by `://`, `mailto:`, or `www.`, each at a
/// word boundary (so the `www.` of `someone@www.example.org` does not count).
fn url_start(text: &str, i: usize) -> Option<(usize, Start)> {
    let bytes = text.as_bytes();
    if !bytes[i].is_ascii_alphabetic() {
        return None;
    }
    if i > 0 {
        let prev = bytes[i - 1];
        if is_scheme_char(prev) || matches!(prev, b'@' | b'/' | b':' | b'_' | b'%' | b'=' | b'&' | b'?' | b'#') {
            return None;
        }
    }
    let scheme_len = bytes[i..].iter().take_while(|&&b| is_scheme_char(b)).count();
    let after = &text[i + scheme_len..];
    if after.starts_with("://") {
        return Some((i, Start::Scheme));
    }
    let scheme = &text[i..i + scheme_len];
    if after.starts_with(':') && scheme.eq_ignore_ascii_case("mailto") {
        return Some((i, Start::Mailto));
    }
    if text[i..].get(..4).is_some_and(|w| w.eq_ignore_ascii_case("www.")) {
        return Some((i, Start::Www));
    }
    None
}

/// Whether `raw` (without scheme) starts with a plausible `www.` host name: at least three
/// labels of letters, digits and hyphens, the last one alphabetic. `www.` alone, `www.x` or
/// `www.example.` are not hosts.
fn is_www_host(raw: &str) -> bool {
    let host_end = raw.find(['/', '?', '#', ':']).unwrap_or(raw.len());
    let labels: Vec<&str> = raw[..host_end].split('.').collect();
    labels.len() >= 3
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// Drops what prose puts after a URL: sentence punctuation, emphasis markers, and closing
/// brackets that have no opening partner inside the URL (`(see http://a.example/x).`), while a
/// balanced pair (`Foo_(bar)`) stays.
pub fn trim_trailing(url: &str) -> &str {
    let mut url = url;
    loop {
        let Some(last) = url.chars().last() else { return url };
        let unbalanced = |open: char, close: char| {
            url.chars().filter(|&c| c == close).count() > url.chars().filter(|&c| c == open).count()
        };
        let strip = match last {
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '_' | '~' => true,
            ')' => unbalanced('(', ')'),
            ']' => unbalanced('[', ']'),
            '}' => unbalanced('{', '}'),
            _ => false,
        };
        if !strip {
            return url;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
}

// ---------------------------------------------------------------------------------------------
// Notes

/// How much of the text before a URL [`context_before`] gives: enough for an attribute name and
/// its opening quote, or for "whose namespace URI is".
const CONTEXT_CHARS: usize = 120;

/// The text just before byte `start`: at most `CONTEXT_CHARS` characters, from the start of
/// its line or of the line before it (a sentence may run over a line break).
pub fn context_before(text: &str, start: usize) -> &str {
    let before = &text[..start];
    let line_start = before.rfind('\n').unwrap_or(0);
    let from = before[..line_start].rfind('\n').map_or(0, |i| i + 1);
    let near = before.char_indices().rev().nth(CONTEXT_CHARS - 1).map_or(0, |(i, _)| i);
    &before[from.max(near)..]
}

/// The sentence citing the URL at `start..end` of `text`: from the start of its sentence (which
/// may lie a few lines up, as when a line ends "see:" and the URL stands on the next one) to the
/// end of the sentence or line. Whitespace is collapsed and the result clipped around the URL.
pub fn note_for(text: &str, start: usize, end: usize) -> String {
    note(text, start, end, false)
}

/// [`note_for`] for text laid out in lines that wrap a paragraph, blocks apart by blank lines
/// (a PDF page): the sentence is followed past the end of the URL's line onto the next ones,
/// and never across a blank line.
pub fn note_for_wrapped(text: &str, start: usize, end: usize) -> String {
    note(text, start, end, true)
}

fn note(text: &str, start: usize, end: usize, wrapped: bool) -> String {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let from = sentence_start(text, line_start, start).unwrap_or_else(|| earlier_lines(text, line_start, wrapped));
    let to = match sentence_end(&text[end..line_end]) {
        Some(n) => end + n,
        None if wrapped => later_lines(text, line_end),
        None => line_end,
    };
    let before_raw = strip_markers(&text[from..start]);
    let after_raw = &text[end..to];
    let spaced = (
        before_raw.ends_with(char::is_whitespace),
        after_raw.starts_with(char::is_whitespace),
    );
    clip(
        &collapse(&before_raw),
        &collapse(&text[start..end]),
        &collapse(after_raw),
        spaced,
    )
}

/// Where the sentence around the URL starts when it began on an earlier line: walks up over
/// blank lines while the line above neither ends a sentence, nor is a separator, nor cites a URL
/// of its own, nor opens a list item that the URL's line does not continue. In `wrapped` text a
/// blank line ends a block, and the walk.
fn earlier_lines(text: &str, line_start: usize, wrapped: bool) -> usize {
    let mut from = line_start;
    let mut current = line_of(text, line_start);
    for _ in 0..4 {
        if starts_block(current) || from == 0 {
            break;
        }
        // The previous non-blank line.
        let mut prev_end = from - 1;
        let (prev_start, prev) = loop {
            let s = text[..prev_end].rfind('\n').map_or(0, |i| i + 1);
            let line = &text[s..prev_end];
            if !line.trim().is_empty() || s == 0 || wrapped {
                break (s, line);
            }
            prev_end = s - 1;
        };
        if prev.trim().is_empty() {
            break;
        }
        let trimmed = prev.trim_end();
        let ends_sentence = trimmed.ends_with(['.', '!', '?']);
        let separator = !trimmed.chars().any(char::is_alphanumeric);
        let list_item = starts_block(prev) && !current.starts_with([' ', '\t']);
        if ends_sentence || separator || list_item || trimmed.contains("://") || from - prev_start > MAX_NOTE_CHARS {
            break;
        }
        if let Some(s) = sentence_start(text, prev_start, prev_start + prev.len()) {
            return s;
        }
        from = prev_start;
        current = prev;
    }
    from
}

/// Where a sentence that runs past the end of its line (at `line_end`) ends in wrapped text: at
/// its full stop on one of the next few lines, or where a blank line, a new block or another
/// URL comes first.
fn later_lines(text: &str, line_end: usize) -> usize {
    let mut to = line_end;
    for _ in 0..3 {
        let next_start = to + 1;
        if next_start >= text.len() {
            break;
        }
        let next = line_of(text, next_start);
        if next.trim().is_empty()
            || starts_block(next)
            || next.contains("://")
            || next_start - line_end > MAX_NOTE_CHARS
        {
            break;
        }
        match sentence_end(next) {
            Some(n) => return next_start + n,
            None => to = next_start + next.len(),
        }
    }
    to
}

fn line_of(text: &str, start: usize) -> &str {
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    &text[start..end]
}

/// Whether a line opens a block of its own: a heading, quote, list item or numbered note.
fn starts_block(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with(['#', '>']) || t.starts_with("- ") || t.starts_with("* ") || t.starts_with("+ ") {
        return true;
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && digits <= 3 && t[digits..].starts_with(['.', ')', ' '])
}

/// Removes Markdown block markers (`#`, `>`, list bullets) from the starts of lines.
fn strip_markers(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let t = line.trim_start();
            let t = t.trim_start_matches(['#', '>']);
            let t = t.trim_start();
            for bullet in ["- ", "* ", "+ "] {
                if let Some(rest) = t.strip_prefix(bullet) {
                    return rest;
                }
            }
            t
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The byte offset (in `text`) of the last sentence start in `lo..hi`: an upper-case letter after
/// `.`, `!` or `?` and whitespace. "pp. 5" and "e.g. the" do not start sentences.
fn sentence_start(text: &str, lo: usize, hi: usize) -> Option<usize> {
    let segment = &text[lo..hi];
    let chars: Vec<(usize, char)> = segment.char_indices().collect();
    for k in (1..chars.len()).rev() {
        let (pos, c) = chars[k];
        if !c.is_uppercase() || !chars[k - 1].1.is_whitespace() {
            continue;
        }
        let mut j = k - 1;
        while j > 0 && chars[j].1.is_whitespace() {
            j -= 1;
        }
        if matches!(chars[j].1, '.' | '!' | '?') {
            return Some(lo + pos);
        }
    }
    None
}

/// Offset just past the sentence's closing `.`, `!` or `?` in `rest` (the text after the URL), if
/// the sentence ends on this line.
fn sentence_end(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|&(_, n)| n.is_whitespace()) {
            return Some(i + c.len_utf8());
        }
    }
    None
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Joins `before url after`, cutting `before` from the front and `after` from the back at word
/// boundaries (marked `…`) so that the whole stays within [`MAX_NOTE_CHARS`] where it can.
fn clip(before: &str, url: &str, after: &str, (space_before, space_after): (bool, bool)) -> String {
    let len = |s: &str| s.chars().count();
    let mut budget = MAX_NOTE_CHARS.saturating_sub(len(url) + 2);
    let after_budget = (budget / 3).max(budget.saturating_sub(len(before)));
    let after = cut_back(after, after_budget);
    budget = budget.saturating_sub(len(&after));
    let before = cut_front(before, budget);
    let mut note = before;
    if !note.is_empty() && space_before {
        note.push(' ');
    }
    note.push_str(url);
    if !after.is_empty() {
        if space_after {
            note.push(' ');
        }
        note.push_str(&after);
    }
    note
}

fn cut_front(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_owned();
    }
    if max < 2 {
        return String::new();
    }
    let skip = n - (max - 1);
    let tail: String = text.chars().skip(skip).collect();
    let tail = match tail.find(' ') {
        Some(space) if space + 1 < tail.len() => tail[space + 1..].to_owned(),
        _ => tail,
    };
    format!("…{tail}")
}

fn cut_back(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max < 2 {
        return String::new();
    }
    let head: String = text.chars().take(max - 1).collect();
    let head = match head.rfind(' ') {
        Some(space) if space > 0 => head[..space].to_owned(),
        _ => head,
    };
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<String> {
        extract(text).into_iter().map(|c| c.url).collect()
    }

    #[test]
    fn trailing_punctuation_and_unbalanced_brackets_are_trimmed() {
        assert_eq!(urls("(see https://a.example/x)."), ["https://a.example/x"]);
        assert_eq!(urls("Go to https://a.example/x, then."), ["https://a.example/x"]);
        assert_eq!(urls("**https://a.example/x**"), ["https://a.example/x"]);
        assert_eq!(urls("'https://a.example/x'"), ["https://a.example/x"]);
        assert_eq!(urls("[https://a.example/x]"), ["https://a.example/x"]);
        assert_eq!(urls("“https://a.example/x”"), ["https://a.example/x"]);
        assert_eq!(urls("at: https://a.example/?q=1&r=2."), ["https://a.example/?q=1&r=2"]);
    }

    #[test]
    fn balanced_parentheses_stay_in_the_url() {
        let wiki = "https://en.wikipedia.org/wiki/Foo_(bar)";
        assert_eq!(urls(&format!("See {wiki}.")), [wiki]);
        assert_eq!(urls(&format!("(See {wiki}.)")), [wiki]);
        assert_eq!(urls(&format!("(See {wiki})")), [wiki]);
        assert_eq!(urls(&format!("[Foo]({wiki})")), [wiki]);
        assert_eq!(urls(&format!("[Foo]({wiki} \"Foo\")")), [wiki]);
    }

    #[test]
    fn markdown_links_and_reference_definitions() {
        let text = "A [link](https://a.example/1 \"Title\"), an ![image](<https://a.example/2 x>) and\n\
                    [ref]: https://a.example/3 'T'\n  [other]: <https://a.example/4>\n[^1]: footnote https://a.example/5.\n\
                    [rel](docs/x.md) [mail](mailto:a@b.example)";
        assert_eq!(
            urls(text),
            [
                "https://a.example/1",
                "https://a.example/2 x",
                "https://a.example/3",
                "https://a.example/4",
                "https://a.example/5",
                "docs/x.md",
                "mailto:a@b.example"
            ]
        );
    }

    #[test]
    fn angle_brackets_and_percent_encoding_are_kept() {
        assert_eq!(
            urls("found at: <http://www.apig.ch/Gaps%20r9%20clean.pdf>"),
            ["http://www.apig.ch/Gaps%20r9%20clean.pdf"]
        );
    }

    #[test]
    fn e_mail_addresses_are_not_urls_but_mailto_is_found() {
        assert!(urls("1 rhill@alum.mit.edu and someone@www.example.org").is_empty());
        assert_eq!(urls("write to mailto:x@a.example."), ["mailto:x@a.example"]);
    }

    #[test]
    fn bare_www_hosts_become_http_urls() {
        assert_eq!(urls("see www.example.org/a?b=1."), ["http://www.example.org/a?b=1"]);
        assert!(urls("www. or www.x or wwwx.example.org").is_empty());
        assert_eq!(urls("http://www.example.org/"), ["http://www.example.org/"]);
    }

    #[test]
    fn other_schemes_are_found_for_counting() {
        assert_eq!(urls("ftp://a.example/f and http:// alone"), ["ftp://a.example/f"]);
    }

    #[test]
    fn notes_reach_back_to_the_sentence_start() {
        let text =
            "power, etc.  My submission lists many issues, \n\nsee2: \n\n  http://a.example/x.pdf    \n\nIt is also.";
        let found = extract(text);
        assert_eq!(
            found[0].note,
            "My submission lists many issues, see2: http://a.example/x.pdf"
        );
        let text = "section 3, pp. 5 and 6, of the following: \n\n http://a.example/y  \n";
        assert_eq!(
            extract(text)[0].note,
            "section 3, pp. 5 and 6, of the following: http://a.example/y"
        );
        let text = "4. A list item  \n\nThese are at: \n\n  http://a.example/z\n";
        assert_eq!(extract(text)[0].note, "These are at: http://a.example/z");
    }

    #[test]
    fn notes_end_with_the_sentence_and_are_clipped() {
        let text = "First. See https://a.example/x for more. Second sentence.";
        assert_eq!(extract(text)[0].note, "See https://a.example/x for more.");
        let long = format!("{} https://a.example/x {}", "word ".repeat(200), "tail ".repeat(200));
        let note = &extract(&long)[0].note;
        assert!(note.chars().count() <= MAX_NOTE_CHARS, "{note}");
        assert!(note.contains("https://a.example/x") && note.starts_with('…') && note.ends_with('…'));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "",
            "](",
            "](<",
            "[a]:",
            "[a]: <x",
            "http://",
            "www.",
            "é](é",
            "mailto:",
            "\u{0}http://a.b",
        ] {
            let _ = extract(text);
        }
    }
}
