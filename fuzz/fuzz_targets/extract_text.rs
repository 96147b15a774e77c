//! Fuzzes the plain-text and Markdown URL finder (guards issue #6): any input must neither panic
//! nor yield a candidate outside the text or a note over the limit.
//!
//! The finder (`src/extract/text.rs`) depends on nothing else in the crate, so it is compiled in
//! directly: the instrumented build then takes seconds instead of rebuilding every dependency of
//! linkkeep (HTTP, TLS, HTML parsing) under the sanitizer.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/extract/text.rs"]
#[allow(dead_code)]
mod text;

fuzz_target!(|data: &[u8]| {
    // Documents that are not UTF-8 reach the finder decoded; lossy decoding stands in for that.
    let decoded = String::from_utf8_lossy(data);
    for candidate in text::extract(&decoded) {
        assert!(candidate.start <= candidate.end && candidate.end <= decoded.len());
        assert!(decoded.is_char_boundary(candidate.start) && decoded.is_char_boundary(candidate.end));
        assert!(candidate.note.chars().count() <= text::MAX_NOTE_CHARS + candidate.url.chars().count());
    }
});
