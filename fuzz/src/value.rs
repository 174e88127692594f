//! The checks of the RDB value targets; rdb-parser's corpus replay test includes
//! this file too, so both check the same way.

use rdb_parser::{
    Dialect, Dump, Header, Item, Rdb, RdbWriter, Result, Value, parse_dump, payload_for,
    valkey_payload_for, value_for,
};

/// Decodes `value` fully twice, with the cursors' `next` and with the views'
/// `try_fold` (which `validate` uses): both walks must see the same number of
/// entries, or fail with the same error.
pub fn check_value(value: &Value<'_>) {
    let each = value.validate();
    check_blobs(value, each.is_ok());
    let Some(stepped) = count_by_cursor(value) else {
        return;
    };
    match (each, stepped) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "entries: try_fold against next"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("try_fold gave {a:?}, next gave {b:?}"),
    }
}

/// The sizes of a value's compact blobs and stream nodes (what a memory
/// estimate reads) come without a panic, and without a fault where the whole
/// value decodes.
fn check_blobs(value: &Value<'_>, decodes: bool) {
    let mut blobs = 0u64;
    let walked = match value {
        Value::List(l) => l.blobs(|_| blobs += 1),
        Value::Set(s) => s.blobs(|_| blobs += 1),
        Value::SortedSet(z) => z.blobs(|_| blobs += 1),
        Value::Hash(h) => h.blobs(|_| blobs += 1),
        Value::Stream(s) => s.node_sizes(|_, _| blobs += 1),
        _ => return,
    };
    if decodes {
        assert!(walked.is_ok(), "blobs of a value that decodes: {walked:?}");
    }
}

/// The entries of a collection counted with its cursor's `next` (`None` for others).
fn count_by_cursor(value: &Value<'_>) -> Option<Result<u64>> {
    // The cursors are different types with the same `next`.
    macro_rules! count {
        ($cursor:expr) => {
            $cursor.and_then(|mut c| {
                let mut n = 0;
                while c.next()?.is_some() {
                    n += 1;
                }
                Ok(n)
            })
        };
    }
    Some(match value {
        Value::List(l) => count!(l.elements()),
        Value::Set(s) => count!(s.members()),
        Value::SortedSet(z) => count!(z.members()),
        Value::Hash(h) => count!(h.fields()),
        _ => return None,
    })
}

/// Re-encodes a decoded `DUMP` payload for servers reading RDB 9, 10 and 11:
/// never a panic; a payload given back decodes, with as many entries as the
/// original, and so does the value written into an RDB file of that version;
/// likewise for Valkey 9.
pub fn check_transcode(dump: &Dump<'_>) {
    let Ok(entries) = dump.value.validate() else {
        return;
    };
    for version in [9, 10, 11] {
        let out = payload_for(
            dump.type_byte,
            dump.raw_value,
            &dump.value,
            dump.header,
            version,
        );
        if let Ok(Some(payload)) = out {
            let back = parse_dump(&payload).expect("a re-encoded payload decodes");
            assert!(back.header.version <= version.max(dump.header.version));
            assert_eq!(back.value.validate().ok(), Some(entries), "entries kept");
        }
        let value = value_for(
            dump.type_byte,
            dump.raw_value,
            &dump.value,
            dump.header,
            version,
        );
        if let Ok(Some((type_byte, bytes))) = value {
            let header = Header {
                version,
                dialect: Dialect::Redis,
            };
            let file = (|| {
                let mut w = RdbWriter::new(Vec::new(), header)?;
                w.select_db(0)?;
                w.key(b"k", None, type_byte, &bytes)?;
                w.finish()
            })()
            .expect("writing into memory");
            let rdb = Rdb::new(&file).expect("a written header reads");
            let key = rdb.items().find_map(|item| match item {
                Ok(Item::Key(key)) => Some(key),
                Ok(_) => None,
                Err(e) => panic!("a written file decodes: {e}"),
            });
            let key = key.expect("the key written");
            assert_eq!(key.value.validate().ok(), Some(entries), "entries kept");
        }
    }
    let valkey = valkey_payload_for(dump.type_byte, dump.raw_value, &dump.value, dump.header);
    if let Ok(Some(payload)) = valkey {
        let back = parse_dump(&payload).expect("a payload for Valkey decodes");
        assert_eq!(back.value.validate().ok(), Some(entries), "entries kept");
    }
}
