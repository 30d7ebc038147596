//! See `checks/pattern_compile.rs`: the check lives there, shared with `tests/fuzz_regressions.rs`, which
//! replays this target's corpus (`corpus/pattern_compile/`) as a normal test.
#![no_main]

#[path = "../checks/dates.rs"]
mod dates;
#[path = "../checks/pattern_compile.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
