//! Inputs that once crashed a fuzz target, each replayed through the same entry point
//! as the target that found it. The same bytes are in `fuzz/corpus/<target>/crash-*`.

use rdb_parser::{ErrorKind, Value, crc64, parse_dump};

/// As the `rdb_value` target: the first byte picks the type, the rest is the value,
/// wrapped as a DUMP payload of RDB version 11.
fn rdb_value(data: &[u8]) -> rdb_parser::Result<u64> {
    let (&ty, value) = data.split_first().expect("a type byte");
    let mut payload = vec![ty % 29];
    payload.extend_from_slice(value);
    payload.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    parse_dump(&payload)?.value.validate()
}

/// `HASH_METADATA` (type 24) whose one field has the relative TTL 2^63: the expiry,
/// `min + ttl - 1`, overflowed `i64` (an arithmetic panic in debug builds).
/// Fix: `entries::Walker::next_plain` adds `ttl - 1` unsigned, saturating.
#[test]
fn hash_metadata_ttl_overflow() {
    const INPUT: &[u8] = b"\x18\x00\x00\x00\x00\x00\x00\x00\x00\x01\x81\x80\x00\x00\x00\
        \x00\x00\x00\x00\x01\x61\x01\x62";
    assert_eq!(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/corpus/rdb_value/crash-hash-metadata-ttl-overflow"
        ))
        .unwrap(),
        INPUT
    );
    assert_eq!(rdb_value(INPUT).unwrap(), 1);

    let mut payload = INPUT.to_vec();
    payload.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    let dump = parse_dump(&payload).unwrap();
    let Value::Hash(hash) = dump.value else {
        panic!("not a hash: {:?}", dump.value)
    };
    let mut fields = hash.fields().unwrap();
    let field = fields.next().unwrap().unwrap();
    assert_eq!(field.expire_ms, Some(i64::MAX));
}

/// A stream (type 15) whose one node holds an entry with the field count 2^40: the
/// count sized the entry's pair list before anything checked it against the node,
/// so it allocated far past the input (malloc limit / out of memory).
/// Fix: `stream::StreamEntries::next_entry` refuses a count the node cannot hold.
#[test]
fn stream_entry_field_count_oom() {
    const INPUT: &[u8] = b"\x0f\x01\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x1f\x1f\x00\x00\x00\x08\x00\x01\x01\x00\x01\x00\x01\x00\x01\x00\x01\
        \x00\x01\x00\x01\xf4\x00\x00\x00\x00\x00\x01\x00\x00\x09\xff\x01\x00\x00\x00";
    assert_eq!(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/corpus/rdb_value/crash-stream-entry-field-count-oom"
        ))
        .unwrap(),
        INPUT
    );
    let e = rdb_value(INPUT).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Invalid("stream entry field count"));
}
