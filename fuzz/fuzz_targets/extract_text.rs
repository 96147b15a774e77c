//! Fuzzes the plain-text and Markdown URL finder (guards issue #6): any input, valid UTF-8 or
//! not, must neither panic nor yield a candidate outside the text or a note over the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linkkeep::extract::{self, Kind, Options, text};

fuzz_target!(|data: &[u8]| {
    let (decoded, _) = extract::decode_text(data);
    for candidate in text::extract(&decoded) {
        assert!(candidate.start <= candidate.end && candidate.end <= decoded.len());
        assert!(decoded.is_char_boundary(candidate.start) && decoded.is_char_boundary(candidate.end));
        assert!(candidate.note.chars().count() <= text::MAX_NOTE_CHARS + candidate.url.chars().count());
    }
    let _ = extract::extract(Kind::Markdown, data, &Options::default());
});
