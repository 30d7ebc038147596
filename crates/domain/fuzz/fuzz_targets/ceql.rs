//! See `checks/ceql.rs`: the check lives there, shared with `tests/fuzz_regressions.rs`, which
//! replays this target's corpus (`corpus/ceql/`) as a normal test.
#![no_main]

#[path = "../checks/ceql.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
