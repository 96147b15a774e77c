//! Fuzzes manifest parsing (src/manifest/), issue #15. The body and its
//! invariants are `linkkeep::fuzzing::manifest`, which `tests/it/fuzz_props.rs` runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linkkeep::fuzzing::manifest(data));
