//! Fuzzes URL and text extraction from PDF (src/extract/pdf.rs), issue #15. The body and its
//! invariants are `linkkeep::fuzzing::pdf_extract`, which `tests/it/fuzz_props.rs` runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linkkeep::fuzzing::pdf_extract(data));
