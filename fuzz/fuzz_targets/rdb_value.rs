//! One value of any type: the first byte picks the type byte, the rest is the value.
//! Reaches every compact decoder (ziplist, listpack, intset, zipmap, LZF) directly,
//! since a blob-typed value is one RDB string holding the blob; and re-encodes
//! it for older servers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&ty, value)) = data.split_first() else {
        return;
    };
    // A DUMP payload: type byte, value, RDB version 11, CRC64.
    let mut payload = Vec::with_capacity(value.len() + 11);
    payload.push(ty % 29);
    payload.extend_from_slice(value);
    payload.extend_from_slice(&11u16.to_le_bytes());
    let crc = rdb_parser::crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    if let Ok(dump) = rdb_parser::parse_dump(&payload) {
        fuzz::check_value(&dump.value);
        fuzz::check_transcode(&dump);
    }
});
