//! The fuzz corpus of `aof_read` (`fuzz/corpus/aof_read`) replayed with the fuzz
//! target's checks, and the fuzzer's findings as named regressions.

use testkit::fuzz_corpus;

/// The fuzz target's own checks (the fuzz crate is a separate workspace).
#[path = "../../fuzz/src/aof.rs"]
mod fuzz_checks;

use fuzz_checks::{aof_items, check_aof};

#[test]
fn aof_read_corpus() {
    for (name, data) in fuzz_corpus("aof_read") {
        eprintln!("{name}");
        check_aof(&data, 0..=data.len());
    }
}

/// Found by `aof_read`: a prefix of a valid RDB preamble can fail as "length too
/// large for the input" rather than "incomplete"; before the end of the file that
/// must mean "wait for more", as the whole file decodes.
#[test]
fn regression_preamble_prefix_fails_before_eof() {
    let input = b"VALKEY080\xfe\x00\x1b\x00\x00\x00\x00\x00\x00\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\xc3\x00\x00\x1b\x00\x00\x00\xc3\x00\x00EDIk\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3\x00\x00EDIk\r\n";
    let whole = aof_items(input, input.len());
    assert_eq!(whole[0], "rdb 153");
    assert_eq!(aof_items(input, 86), whole);
}
