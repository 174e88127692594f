//! The AOF decoder on arbitrary bytes, whole and fed in two parts (the result must
//! not depend on the split), and the multi-part manifest parser.
#![no_main]

use aof::{AofDecoder, AofItem, Manifest};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

/// Items as comparable text, or the error's offset, for `data` fed in two parts.
fn read(data: &[u8], split: usize) -> Vec<String> {
    let mut aof = AofDecoder::new();
    let mut buf = BytesMut::from(&data[..split]);
    let mut out = Vec::new();
    for eof in [false, true] {
        if eof {
            buf.extend_from_slice(&data[split..]);
        }
        loop {
            match aof.decode(&mut buf, eof) {
                Ok(Some(AofItem::Rdb(b))) => out.push(format!("rdb {}", b.len())),
                Ok(Some(AofItem::Command(c))) => {
                    out.push(format!("cmd {} {:?} {}", c.db, c.args, c.offset))
                }
                Ok(Some(AofItem::Truncated(t))) => out.push(format!("cut {} {}", t.offset, t.len)),
                Ok(Some(_)) => out.push("other".into()),
                Ok(None) => break,
                Err(e) => {
                    out.push(format!("error at {:?}", e.offset()));
                    return out;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let whole = read(data, data.len());
    let parts = read(data, split);
    assert_eq!(whole, parts);
    let _ = Manifest::parse(data);
});
