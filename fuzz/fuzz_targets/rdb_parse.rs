//! Whole RDB files: every item parsed and every value decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdb_parser::{Item, ParseOptions, Rdb};

fuzz_target!(|data: &[u8]| {
    // Without the checksum, corrupt values reach the value decoders.
    let Ok(rdb) = Rdb::with_options(data, ParseOptions::default().verify_checksum(false)) else {
        return;
    };
    for item in rdb.items() {
        match item {
            Ok(Item::Key(k)) => {
                let _ = k.value.validate();
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = rdb_parser::measure(data);
});
