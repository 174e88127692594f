//! Compact encodings fed raw: the first byte picks the encoding, the rest is the blob,
//! wrapped as the one string of a value of that encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Type bytes whose value is a single blob string: zipmap hash, ziplist list, intset,
/// ziplist zset, ziplist hash, listpack hash, listpack zset, listpack set.
const BLOB_TYPES: [u8; 8] = [9, 10, 11, 12, 13, 16, 17, 20];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, blob)) = data.split_first() else {
        return;
    };
    let ty = BLOB_TYPES[usize::from(pick) % BLOB_TYPES.len()];
    let mut payload = vec![ty];
    // The blob as an RDB string: 32-bit length prefix, then the bytes.
    payload.push(0x80);
    payload.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    payload.extend_from_slice(blob);
    payload.extend_from_slice(&11u16.to_le_bytes());
    let crc = rdb_parser::crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    if let Ok(dump) = rdb_parser::parse_dump(&payload) {
        fuzz::check_value(&dump.value);
    }
});
