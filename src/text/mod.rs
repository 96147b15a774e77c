//! The text a reader sees (issue #14): the main text of an HTML capture (navigation, scripts,
//! styles, forms, comments, ads and "related" boxes removed by a readability-style extractor)
//! or the text layer of a PDF, normalised (Unicode NFKC, whitespace collapsed, one line per
//! paragraph), and what two such texts have in common.
//!
//! Two captures whose bytes differ are told apart here: `cosmetic` when the text is the same or
//! differs only in tokens that change by themselves (dates, times, counters), `changed`
//! otherwise, with a similarity from a word-level diff.
//!
//! - [`main_text`]: the normalised text of a payload, or `None` for other types.
//! - [`Fingerprint`]: what a snapshot records of it (`text_sha256`, `text_simhash`,
//!   `text_words`).
//! - [`compare`]: similarity and the cosmetic rule; [`diff`] the changed passages.
//! - [`Sample`]: the payload's bytes gathered while it streams by, for [`main_text`].

mod compare;
mod history;
mod html;
mod live;

use std::borrow::Cow;

use sha2::{Digest, Sha256};
use unicode_normalization::{IsNormalized, UnicodeNormalization};

pub use self::compare::{Comparison, Passage, compare, diff};
pub use self::history::{Judged, fill_history, judge, snapshot_text};
pub use self::live::{LiveBody, LiveSink};
pub use crate::title::Kind;

/// The largest HTML payload whose text is read: bigger pages are compared by bytes only.
pub const MAX_HTML: usize = 8 << 20;
/// The largest PDF whose text layer is read.
pub const MAX_PDF: usize = 32 << 20;
/// How many bytes [`Sample`] looks at before deciding whether a payload has text.
const SNIFF_LEN: usize = 512;

/// The normalised main text of a payload served as `content_type`, or `None` when it is
/// neither HTML nor PDF, too large ([`MAX_HTML`], [`MAX_PDF`]), or a PDF that cannot be read.
/// Blocking, and CPU-bound: a 44 KB page takes about 2 ms.
pub fn main_text(content_type: Option<&str>, bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    let raw = match crate::title::classify(content_type, head)? {
        Kind::Html if bytes.len() <= MAX_HTML => html::main_text(content_type, bytes),
        Kind::Pdf if bytes.len() <= MAX_PDF => crate::extract::pdf::document_text(bytes).ok()?,
        _ => return None,
    };
    Some(normalize(&raw))
}

/// NFKC, every run of white space within a line made one space, blank lines dropped: one line
/// per paragraph (or PDF text line), so that re-indented markup reads the same.
pub fn normalize(raw: &str) -> String {
    // Most text is already NFKC (all ASCII text is): the quick check saves the copy.
    let nfkc: Cow<'_, str> = match unicode_normalization::is_nfkc_quick(raw.chars()) {
        IsNormalized::Yes => Cow::Borrowed(raw),
        _ => Cow::Owned(raw.nfkc().collect()),
    };
    let mut out = String::with_capacity(nfkc.len());
    for line in nfkc.lines() {
        let mut words = line.split_whitespace().peekable();
        if words.peek().is_none() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        for (i, word) in words.enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// What a snapshot records of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 of the normalised text (UTF-8), lower-case hex.
    pub sha256: String,
    /// [`simhash`] of the text.
    pub simhash: u64,
    /// How many words it has.
    pub words: u64,
}

impl Fingerprint {
    /// The fingerprint of a normalised text.
    pub fn of(text: &str) -> Self {
        let words: Vec<u64> = text.split_whitespace().map(word_hash).collect();
        Self {
            sha256: crate::store::hex(Sha256::digest(text.as_bytes()).as_slice()),
            simhash: simhash_of_words(&words),
            words: words.len() as u64,
        }
    }

    /// The simhash as the manifest writes it: 16 lower-case hex digits.
    pub fn simhash_hex(&self) -> String {
        format!("{:016x}", self.simhash)
    }
}

/// Parses a `text_simhash` value (16 hex digits).
pub fn parse_simhash(hex: &str) -> Option<u64> {
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok()).flatten()
}

/// Words per shingle of [`simhash`].
const SHINGLE: usize = 3;

/// A 64-bit simhash (Charikar) over the text's word 3-shingles, words lower-cased: texts that
/// share most of their shingles have hashes a few bits apart ([`hamming`]). Each word is
/// hashed with 64-bit FNV-1a (its lower-case UTF-8), each shingle is its words' hashes
/// rotated apart, xored and mixed by SplitMix64's finaliser: fixed by definition, so that the
/// values in manifests stay comparable across builds and platforms.
pub fn simhash(text: &str) -> u64 {
    let words: Vec<u64> = text.split_whitespace().map(word_hash).collect();
    simhash_of_words(&words)
}

/// [`simhash`] of a text's words, each already hashed by [`word_hash`].
fn simhash_of_words(words: &[u64]) -> u64 {
    if words.is_empty() {
        return 0;
    }
    // A text shorter than a shingle has its words for shingles.
    let shingles: Box<dyn Iterator<Item = &[u64]>> = if words.len() < SHINGLE {
        Box::new(words.chunks(1))
    } else {
        Box::new(words.windows(SHINGLE))
    };
    // Per bit, how many shingle hashes have it set; the simhash has the bits set by more than
    // half. (Counting, rather than adding ±1, lets the compiler vectorise the inner loop.)
    let mut set = [0u32; 64];
    let mut count = 0u32;
    for shingle in shingles {
        let hash = mix(shingle
            .iter()
            .enumerate()
            .fold(0, |acc, (i, word)| acc ^ word.rotate_left(21 * i as u32)));
        for (bit, set) in set.iter_mut().enumerate() {
            *set += (hash >> bit & 1) as u32;
        }
        count += 1;
    }
    set.iter()
        .enumerate()
        .filter(|(_, set)| 2 * **set > count)
        .fold(0, |acc, (bit, _)| acc | 1 << bit)
}

/// SplitMix64's finaliser: every input bit moves about half of the output bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of a word's lower-case UTF-8, without building the lower-case word.
fn word_hash(word: &str) -> u64 {
    let mut hash = Fnv1a::new();
    if word.is_ascii() {
        for byte in word.bytes() {
            hash.write(&[byte.to_ascii_lowercase()]);
        }
    } else {
        let mut buffer = [0u8; 4];
        for c in word.chars().flat_map(char::to_lowercase) {
            hash.write(c.encode_utf8(&mut buffer).as_bytes());
        }
    }
    hash.0
}

/// How many bits two simhashes differ in: 0 for the same text, about 32 for unrelated ones.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// 64-bit FNV-1a: tiny, and its values are fixed by its definition (unlike std's hasher).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A payload's bytes gathered while it streams by, when it may have text: once the first
/// bytes show it is HTML or PDF, everything up to [`MAX_HTML`] or [`MAX_PDF`]; otherwise (or
/// past the limit) nothing.
#[derive(Debug)]
pub struct Sample {
    content_type: Option<String>,
    bytes: Vec<u8>,
    /// Decided after [`SNIFF_LEN`] bytes: the limit for this payload, or `None` when its text
    /// is not read.
    limit: Option<Option<usize>>,
    /// More bytes came than the limit allows.
    overflowed: bool,
    /// Bytes pushed, kept or not.
    seen: u64,
}

impl Sample {
    /// An empty sample of a payload served as `content_type`.
    pub fn new(content_type: Option<&str>) -> Self {
        Self {
            content_type: content_type.map(str::to_owned),
            bytes: Vec::new(),
            limit: None,
            overflowed: false,
            seen: 0,
        }
    }

    /// Takes the next bytes of the payload.
    pub fn push(&mut self, bytes: &[u8]) {
        self.seen += bytes.len() as u64;
        if self.overflowed || self.limit == Some(None) {
            return;
        }
        self.bytes.extend_from_slice(bytes);
        if self.limit.is_none() && self.bytes.len() >= SNIFF_LEN {
            self.decide();
        }
        if let Some(Some(limit)) = self.limit
            && self.bytes.len() > limit
        {
            self.overflowed = true;
            self.bytes = Vec::new();
        }
    }

    fn decide(&mut self) {
        let head = &self.bytes[..self.bytes.len().min(SNIFF_LEN)];
        let limit = match crate::title::classify(self.content_type.as_deref(), head) {
            Some(Kind::Html) => Some(MAX_HTML),
            Some(Kind::Pdf) => Some(MAX_PDF),
            None => None,
        };
        if limit.is_none() {
            self.bytes = Vec::new();
        }
        self.limit = Some(limit);
    }

    /// The whole payload, if it may have text and was not too large; and its content type.
    pub fn into_payload(mut self) -> Option<(Option<String>, Vec<u8>)> {
        if self.limit.is_none() {
            self.decide();
        }
        (self.limit.flatten().is_some() && !self.overflowed).then_some((self.content_type, self.bytes))
    }
}

/// A sample is a download's whole sink when only the text matters (a soft-404 probe).
impl crate::store::PayloadSink for Sample {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.push(bytes);
        Ok(())
    }

    fn size(&self) -> u64 {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_collapses_white_space_and_folds_compatibility_forms() {
        let raw = "  Hello\u{00a0}\tworld \n\n\n  ﬁne   ｆｕｌｌwidth\r\n  \n";
        assert_eq!(normalize(raw), "Hello world\nfine fullwidth");
        assert_eq!(normalize(" \n\t"), "");
    }

    /// The simhash of the text in the test below, as this definition gives it on any machine.
    const PINNED_SIMHASH: &str = "60f2509cb3461384";

    #[test]
    fn simhash_is_fixed_and_close_for_close_texts() {
        let text = "the quick brown fox jumps over the lazy dog and runs far away into the woods";
        // A fixed value: manifests written by any build compare with each other.
        assert_eq!(Fingerprint::of(text).simhash_hex(), PINNED_SIMHASH);
        assert_eq!(simhash(text), simhash(&text.to_uppercase()), "case does not count");
        let close = text.replace("lazy", "sleepy");
        let far = "an entirely different sentence about policy documents cited in a report to the commission";
        assert!(hamming(simhash(text), simhash(&close)) < hamming(simhash(text), simhash(far)));
        assert_eq!(simhash(""), 0);
        assert_eq!(parse_simhash(&format!("{:016x}", simhash(text))), Some(simhash(text)));
        assert_eq!(parse_simhash("xyz"), None);
    }

    #[test]
    fn fingerprints_count_words_and_hash_the_normalised_text() {
        let fp = Fingerprint::of("one two\nthree");
        assert_eq!(fp.words, 3);
        assert_eq!(fp.sha256.len(), 64);
        assert_ne!(fp.sha256, Fingerprint::of("one two three").sha256);
    }

    #[test]
    fn samples_keep_html_and_pdf_and_drop_the_rest() {
        let mut html = Sample::new(Some("text/html; charset=utf-8"));
        html.push(b"<!doctype html><p>hi</p>");
        assert_eq!(html.into_payload().unwrap().1, b"<!doctype html><p>hi</p>");

        let mut image = Sample::new(Some("image/png"));
        image.push(&[0u8; 2000]);
        assert!(image.into_payload().is_none());

        let mut pdf = Sample::new(None);
        pdf.push(b"%PDF-1.4\n");
        pdf.push(&[b'x'; 1000]);
        assert_eq!(pdf.into_payload().unwrap().1.len(), 1009);
    }

    #[test]
    fn samples_past_the_limit_have_no_text() {
        let mut big = Sample::new(Some("text/html"));
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..=(MAX_HTML >> 20) {
            big.push(&chunk);
        }
        assert!(big.into_payload().is_none());
    }

    #[test]
    fn main_text_reads_html_and_leaves_other_types() {
        let page = b"<!doctype html><html><head><title>T</title><script>var x=1;</script></head>\
            <body><nav><a href=/>Home</a></nav><p>A short page that says one thing.</p></body></html>";
        let text = main_text(Some("text/html"), page).unwrap();
        assert!(text.contains("A short page that says one thing."), "{text}");
        assert!(!text.contains("var x"), "{text}");
        assert_eq!(main_text(Some("image/png"), b"\x89PNG...."), None);
    }
}
