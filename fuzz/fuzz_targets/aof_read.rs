//! The AOF decoder on arbitrary bytes, whole and fed in two parts (the result must
//! not depend on the split), and the multi-part manifest parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    fuzz::check_aof(data, [split]);
});
