//! The fuzz corpus of `aof_read` (`fuzz/corpus/aof_read`) replayed with the fuzz
//! target's checks, and the fuzzer's findings as named regressions.

use std::path::Path;

use aof::{AofDecoder, AofItem, Manifest};
use bytes::BytesMut;

/// Items as comparable text, or the error's offset, for `data` fed in two parts.
fn aof_items(data: &[u8], split: usize) -> Vec<String> {
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

fn check_aof(data: &[u8]) {
    let whole = aof_items(data, data.len());
    for split in 0..=data.len() {
        assert_eq!(whole, aof_items(data, split), "split at {split}");
    }
    let _ = Manifest::parse(data);
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn aof_read_corpus() {
    for (name, data) in corpus("aof_read") {
        eprintln!("{name}");
        check_aof(&data);
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
