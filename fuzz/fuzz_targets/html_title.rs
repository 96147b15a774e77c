//! Fuzzes page titles, HTML and PDF (src/title.rs), issue #15. The body and its
//! invariants are `linkkeep::fuzzing::html_title`, which `tests/it/fuzz_props.rs` runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linkkeep::fuzzing::html_title(data));
