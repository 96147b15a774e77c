//! Fuzzes URL extraction from HTML (src/extract/html.rs), issue #15. The body and its
//! invariants are `linkkeep::fuzzing::html_extract`, which `tests/it/fuzz_props.rs` runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linkkeep::fuzzing::html_extract(data));
