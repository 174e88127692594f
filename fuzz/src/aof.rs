//! The checks of the `aof_read` target; the aof crate's corpus replay test includes
//! this file too, so both check the same way.

use aof::{AofDecoder, AofItem, Manifest};
use bytes::BytesMut;

/// Items as comparable text, or the error's offset, for `data` fed in two parts
/// split at `split`.
pub fn aof_items(data: &[u8], split: usize) -> Vec<String> {
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
                Ok(Some(other)) => out.push(format!("{other:?}")),
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

/// `data` decodes the same whole and split at each of `splits`; the manifest
/// parser takes it without panicking.
pub fn check_aof(data: &[u8], splits: impl IntoIterator<Item = usize>) {
    let whole = aof_items(data, data.len());
    for split in splits {
        assert_eq!(whole, aof_items(data, split), "split at {split}");
    }
    let _ = Manifest::parse(data);
}
