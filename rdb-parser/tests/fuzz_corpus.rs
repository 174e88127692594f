//! Replays the fuzz corpus (`fuzz/corpus/rdb_*`) through the same entry points as the
//! fuzz targets: every input must be decoded or refused with an error, never panic.

use rdb_parser::{Item, ParseOptions, Rdb, crc64, parse_dump};
use testkit::fuzz_corpus;

/// The fuzz targets' own checks (the fuzz crate is a separate workspace).
#[path = "../../fuzz/src/value.rs"]
mod fuzz_checks;

/// As the `rdb_parse` target.
fn parse_file(data: &[u8]) {
    if let Ok(rdb) = Rdb::with_options(data, ParseOptions::default().verify_checksum(false)) {
        for item in rdb.items() {
            match item {
                Ok(Item::Key(k)) => {
                    let _ = k.value.validate();
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    let _ = rdb_parser::measure(data);
}

/// A DUMP payload around `body` (type byte and value), RDB version 11.
fn dump_of(body: &[u8]) {
    let mut payload = body.to_vec();
    payload.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    if let Ok(dump) = parse_dump(&payload) {
        fuzz_checks::check_value(&dump.value);
        fuzz_checks::check_transcode(&dump);
    }
}

#[test]
fn rdb_parse_corpus() {
    for (_, data) in fuzz_corpus("rdb_parse") {
        parse_file(&data);
    }
}

#[test]
fn rdb_value_corpus() {
    for (_, data) in fuzz_corpus("rdb_value") {
        if let Some((&ty, value)) = data.split_first() {
            dump_of(&[&[ty % 29], value].concat());
        }
    }
}

#[test]
fn rdb_blob_corpus() {
    const BLOB_TYPES: [u8; 8] = [9, 10, 11, 12, 13, 16, 17, 20];
    for (_, data) in fuzz_corpus("rdb_blob") {
        if let Some((&pick, blob)) = data.split_first() {
            let ty = BLOB_TYPES[usize::from(pick) % BLOB_TYPES.len()];
            let mut body = vec![ty, 0x80];
            body.extend_from_slice(&(blob.len() as u32).to_be_bytes());
            body.extend_from_slice(blob);
            dump_of(&body);
        }
    }
}

/// As the `rdb_reader` target: the first byte picks the chunk size.
fn read_streamed(data: &[u8]) {
    use rdb_parser::{Event, Piece, Reader};
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let options = ParseOptions::default().verify_checksum(false);
    let mut reader = Reader::with_options(options)
        .max_record(1024)
        .piece_size(64);
    let mut chunks = file.chunks(usize::from(pick) + 1);
    loop {
        loop {
            match reader.next_event() {
                Ok(Some(Event::Item(Item::Key(k)))) => {
                    let _ = k.value.validate();
                }
                Ok(Some(Event::Piece {
                    piece: Piece::Entries(v),
                    ..
                })) => {
                    let _ = v.validate();
                }
                Ok(Some(Event::Piece {
                    piece: Piece::StreamEntries(mut e),
                    ..
                })) => while let Ok(Some(_)) = e.next() {},
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
        match chunks.next() {
            Some(c) => reader.feed(c),
            None if !reader.is_input_ended() => reader.end_input(),
            None => return,
        }
    }
}

#[test]
fn rdb_reader_corpus() {
    for (_, data) in fuzz_corpus("rdb_reader") {
        read_streamed(&data);
    }
    // The whole-file corpus too, fed a byte at a time.
    for (_, data) in fuzz_corpus("rdb_parse") {
        read_streamed(&[&[0], &data[..]].concat());
    }
}
