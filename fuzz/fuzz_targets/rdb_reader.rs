//! The streaming reader: a whole RDB fed in chunks (the first byte picks the chunk
//! size) with a small record limit, so long values come in pieces; every item and
//! piece is decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdb_parser::{Event, Item, ParseOptions, Piece, Reader};

fuzz_target!(|data: &[u8]| {
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
});
