//! Fuzzes the replay server's HTML rewrite (src/serve/rewrite.rs), issue #15. The body and its
//! invariants are `linkkeep::fuzzing::replay_rewrite`, which `tests/it/fuzz_props.rs` runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| linkkeep::fuzzing::replay_rewrite(data));
