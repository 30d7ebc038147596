//! See `checks/date_parse.rs`: the check lives there, shared with `tests/fuzz_regressions.rs`, which
//! replays this target's corpus (`corpus/date_parse/`) as a normal test.
#![no_main]

#[path = "../checks/dates.rs"]
mod dates;
#[path = "../checks/date_parse.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
