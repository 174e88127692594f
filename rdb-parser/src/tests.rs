//! Whole-file fixtures built from the format description, for the encodings and
//! records no server available to the test suite writes (old layouts, pre-GA types,
//! Redis 7.4 to 8.8 types, modules, Valkey 9 records), plus corrupt-input checks.

use crate::element::Element;
use crate::length::write_len;
use crate::module::module_name;
use crate::string::write_string;
use crate::value::code;
use crate::*;

/// Assembles RDB files record by record.
struct Builder {
    out: Vec<u8>,
}

impl Builder {
    fn new(magic: &str) -> Self {
        Builder {
            out: magic.as_bytes().to_vec(),
        }
    }
    fn aux(mut self, k: &str, v: &str) -> Self {
        self.out.push(250);
        write_string(&mut self.out, k.as_bytes());
        write_string(&mut self.out, v.as_bytes());
        self
    }
    fn select(mut self, db: u64) -> Self {
        self.out.push(254);
        write_len(&mut self.out, db);
        self
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.out.extend_from_slice(bytes);
        self
    }
    fn key(mut self, ty: u8, key: &str, value: &[u8]) -> Self {
        self.out.push(ty);
        write_string(&mut self.out, key.as_bytes());
        self.out.extend_from_slice(value);
        self
    }
    /// EOF, then the CRC64 (`Some(true)`), a zero checksum (`Some(false)`) or none.
    fn finish(mut self, checksum: Option<bool>) -> Vec<u8> {
        self.out.push(255);
        match checksum {
            Some(true) => {
                let crc = crc64(&self.out);
                self.out.extend_from_slice(&crc.to_le_bytes());
            }
            Some(false) => self.out.extend_from_slice(&[0; 8]),
            None => {}
        }
        self.out
    }
}

fn len(n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    write_len(&mut v, n);
    v
}

fn string(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    write_string(&mut v, b);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A parsed key: (db, name, encoding, expiry, value).
type ParsedKey = (u64, Vec<u8>, Encoding, Option<i64>, Owned);

/// A value decoded into owned data, for comparisons.
#[derive(Debug, PartialEq)]
enum Owned {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Zset(Vec<(Vec<u8>, String)>),
    Hash(Vec<(Vec<u8>, Vec<u8>, Option<i64>)>),
    Stream(Vec<(String, Pairs)>),
    Module(String, u16, usize),
    Array(Vec<(u64, String)>),
}

/// [`owned_by_cursor`], checked against the same value walked with the cursors'
/// `try_for_each` / `try_fold` and with the views' `try_fold`: every walk must give
/// the same entries, or fail with the same error.
fn owned(v: &Value<'_>) -> Result<Owned> {
    let by_cursor = owned_by_cursor(v);
    for (how, other) in [
        ("cursor try_for_each", owned_by_for_each(v)),
        ("view try_fold", owned_by_view_fold(v)),
    ] {
        let Some(other) = other else { continue };
        match (&by_cursor, &other) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{how} against next"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{how}"),
            (a, b) => panic!("next gave {a:?}, {how} gave {b:?}"),
        }
    }
    by_cursor
}

/// The accumulators the fold walks below build their owned values with.
fn push_element(mut all: Vec<Vec<u8>>, e: Element<'_>) -> Result<Vec<Vec<u8>>> {
    all.push(e.to_vec());
    Ok(all)
}

fn push_member(
    mut pairs: Vec<(Vec<u8>, String)>,
    m: Element<'_>,
    score: f64,
) -> Result<Vec<(Vec<u8>, String)>> {
    pairs.push((m.to_vec(), format!("{score}")));
    Ok(pairs)
}

type OwnedFields = Vec<(Vec<u8>, Vec<u8>, Option<i64>)>;

fn push_field(mut fields: OwnedFields, f: Field<'_>) -> Result<OwnedFields> {
    fields.push((f.field.to_vec(), f.value.to_vec(), f.expire_ms));
    Ok(fields)
}

/// A collection walked with its view's `try_fold`; `None` for other types.
fn owned_by_view_fold(v: &Value<'_>) -> Option<Result<Owned>> {
    Some(match v {
        Value::List(l) => l.try_fold(Vec::new(), push_element).map(Owned::List),
        Value::Set(s) => s.try_fold(Vec::new(), push_element).map(Owned::Set),
        Value::SortedSet(z) => z.try_fold(Vec::new(), push_member).map(Owned::Zset),
        Value::Hash(h) => h.try_fold(Vec::new(), push_field).map(Owned::Hash),
        _ => return None,
    })
}

/// A collection walked with the cursors' `try_for_each` (lists, sets) and
/// `try_fold` (sorted sets, hashes, the list's again); `None` for other types.
fn owned_by_for_each(v: &Value<'_>) -> Option<Result<Owned>> {
    let mut out = Vec::new();
    let mut push = |e: Element<'_>| {
        out.push(e.to_vec());
        Ok::<_, Error>(())
    };
    Some(match v {
        Value::List(l) => {
            let folded = l
                .elements()
                .and_then(|c| c.try_fold(Vec::new(), push_element));
            let each = l.elements().and_then(|c| c.try_for_each(&mut push));
            match (folded, each) {
                (Ok(folded), Ok(())) => {
                    assert_eq!(folded, out, "try_fold against try_for_each");
                    Ok(Owned::List(folded))
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string());
                    Err(a)
                }
                (a, b) => panic!("try_fold gave {a:?}, try_for_each gave {b:?}"),
            }
        }
        Value::Set(s) => s
            .members()
            .and_then(|c| c.try_for_each(&mut push))
            .map(|()| Owned::Set(out)),
        Value::SortedSet(z) => z
            .members()
            .and_then(|c| c.try_fold(Vec::new(), push_member))
            .map(Owned::Zset),
        Value::Hash(h) => h
            .fields()
            .and_then(|c| c.try_fold(Vec::new(), push_field))
            .map(Owned::Hash),
        _ => return None,
    })
}

fn owned_by_cursor(v: &Value<'_>) -> Result<Owned> {
    Ok(match v {
        Value::String(s) => Owned::Str(s.to_vec()?),
        Value::List(l) => {
            let mut c = l.elements()?;
            let mut out = Vec::new();
            while let Some(e) = c.next()? {
                out.push(e.to_vec());
            }
            Owned::List(out)
        }
        Value::Set(s) => {
            let mut c = s.members()?;
            let mut out = Vec::new();
            while let Some(e) = c.next()? {
                out.push(e.to_vec());
            }
            Owned::Set(out)
        }
        Value::SortedSet(z) => {
            let mut c = z.members()?;
            let mut out = Vec::new();
            while let Some((m, s)) = c.next()? {
                out.push((m.to_vec(), format!("{s}")));
            }
            Owned::Zset(out)
        }
        Value::Hash(h) => {
            let mut c = h.fields()?;
            let mut out = Vec::new();
            while let Some(f) = c.next()? {
                out.push((f.field.to_vec(), f.value.to_vec(), f.expire_ms));
            }
            Owned::Hash(out)
        }
        Value::Stream(s) => {
            let mut c = s.entries();
            let mut out = Vec::new();
            while let Some(e) = c.next()? {
                out.push((
                    e.id.to_string(),
                    e.fields().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
                ));
            }
            Owned::Stream(out)
        }
        Value::Module(m) => Owned::Module(m.name(), m.encoding_version(), m.raw_fields().len()),
        Value::Array(a) => Owned::Array(
            a.slots()
                .map(|s| {
                    s.map(|(i, v)| {
                        let text = match v {
                            ArrayValue::String(s) => {
                                String::from_utf8_lossy(&s.to_vec().unwrap()).into_owned()
                            }
                            ArrayValue::Int(n) => format!("int {n}"),
                            ArrayValue::Float(f) => format!("float {f}"),
                        };
                        (i, text)
                    })
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// Parses a whole file; returns its keys as (db, key, encoding, expire, owned value).
///
/// Every file is also read with the streaming [`Reader`], fed in small chunks with
/// a small record limit so that long values come in pieces: it must find the same
/// keys with the same stored bytes, or fail where the slice API fails.
fn keys(file: &[u8]) -> Result<Vec<ParsedKey>> {
    let sliced = slice_keys(file);
    let streamed = streamed_keys(file, MIN_RECORD, 7, 13);
    match (&sliced, &streamed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "the streaming reader disagrees");
            let whole = streamed_keys(file, DEFAULT_MAX_RECORD, DEFAULT_PIECE_SIZE, file.len());
            assert_eq!(a, &whole.unwrap(), "the streaming reader disagrees");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("slice API: {sliced:?}, streaming reader: {streamed:?}"),
    }
    sliced.map(|keys| keys.into_iter().map(|(k, _)| k).collect())
}

/// The streaming reader's smallest record limit.
const MIN_RECORD: usize = 1024;

/// The keys of a file read with the slice API, with their stored value bytes.
fn slice_keys(file: &[u8]) -> Result<Vec<(ParsedKey, Vec<u8>)>> {
    let rdb = Rdb::new(file)?;
    let mut out = Vec::new();
    let mut ended = false;
    for item in rdb.items() {
        match item? {
            Item::Key(k) => out.push((
                (
                    k.db,
                    k.key.to_vec()?,
                    k.value.encoding(),
                    k.expire_ms,
                    owned(&k.value)?,
                ),
                k.raw_value.to_vec(),
            )),
            Item::End { len, .. } => {
                assert_eq!(len as usize, file.len());
                ended = true;
            }
            _ => {}
        }
    }
    assert!(ended, "no End item");
    Ok(out)
}

/// The keys of a file read with the streaming reader, fed `chunk` bytes at a time,
/// values above `max_record` assembled from their pieces.
fn streamed_keys(
    file: &[u8],
    max_record: usize,
    piece: usize,
    chunk: usize,
) -> Result<Vec<(ParsedKey, Vec<u8>)>> {
    let mut reader = Reader::new().max_record(max_record).piece_size(piece);
    let mut chunks = file.chunks(chunk.max(1));
    let mut out = Vec::new();
    let mut big: Option<(ParsedKey, Vec<u8>)> = None;
    let mut ended = false;
    loop {
        while let Some(event) = reader.next_event()? {
            match event {
                Event::Item(Item::Key(k)) => out.push((
                    (
                        k.db,
                        k.key.to_vec()?,
                        k.value.encoding(),
                        k.expire_ms,
                        owned(&k.value)?,
                    ),
                    k.raw_value.to_vec(),
                )),
                // Trailing bytes are an error on the next call: check the length then.
                Event::Item(Item::End { len, .. }) => ended = len as usize == file.len(),
                Event::Item(_) => {}
                Event::ValueStart(s) => {
                    let empty = match s.value_type {
                        Type::String => Owned::Str(Vec::new()),
                        Type::List => Owned::List(Vec::new()),
                        Type::Set => Owned::Set(Vec::new()),
                        Type::SortedSet => Owned::Zset(Vec::new()),
                        Type::Hash => Owned::Hash(Vec::new()),
                        Type::Stream => Owned::Stream(Vec::new()),
                        Type::Module => {
                            let id = s.module_id.unwrap();
                            Owned::Module(module_name(id), (id & 1023) as u16, 0)
                        }
                        other => panic!("{other:?} in pieces"),
                    };
                    let key = (s.db, s.key.to_vec()?, s.encoding, s.expire_ms, empty);
                    assert!(big.replace((key, s.raw.to_vec())).is_none());
                }
                Event::Piece { piece, raw } => {
                    let (key, stored) = big.as_mut().expect("a piece outside a value");
                    stored.extend_from_slice(raw);
                    match (&mut key.4, piece) {
                        (Owned::Str(v), Piece::Bytes(b)) => v.extend_from_slice(b),
                        (Owned::Module(_, _, n), Piece::ModuleBytes(b)) => *n += b.len(),
                        (Owned::Stream(v), Piece::StreamEntries(mut entries)) => {
                            while let Some(e) = entries.next()? {
                                v.push((
                                    e.id.to_string(),
                                    e.fields().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
                                ));
                            }
                        }
                        (Owned::Stream(_), Piece::StreamMeta(meta)) => {
                            assert!(meta.entries().next()?.is_none());
                        }
                        (all, Piece::Entries(value)) => match (all, owned(&value)?) {
                            (Owned::List(a), Owned::List(b)) | (Owned::Set(a), Owned::Set(b)) => {
                                a.extend(b)
                            }
                            (Owned::Zset(a), Owned::Zset(b)) => a.extend(b),
                            (Owned::Hash(a), Owned::Hash(b)) => a.extend(b),
                            (a, b) => panic!("entries {b:?} in {a:?}"),
                        },
                        (a, b) => panic!("piece {b:?} in {a:?}"),
                    }
                }
                Event::ValueEnd => out.push(big.take().expect("an end outside a value")),
            }
        }
        match chunks.next() {
            Some(c) => reader.feed(c),
            None if !reader.is_input_ended() => reader.end_input(),
            None => break,
        }
    }
    assert!(ended && reader.is_finished(), "no End item");
    Ok(out)
}

fn one(file: &[u8]) -> (Encoding, Owned) {
    let mut k = keys(file).unwrap();
    assert_eq!(k.len(), 1);
    let (_, _, enc, _, v) = k.remove(0);
    (enc, v)
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn strs(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| b(s)).collect()
}

fn els<'a>(items: &[&'a str]) -> Vec<Element<'a>> {
    items
        .iter()
        .map(|s| match s.parse::<i64>() {
            Ok(i) => Element::Int(i),
            Err(_) => Element::Bytes(s.as_bytes()),
        })
        .collect()
}

#[test]
fn old_file_without_checksum() {
    // RDB 3: no CRC footer, seconds expiry, plain types.
    let file = Builder::new("REDIS0003")
        .select(0)
        .raw(&[253])
        .raw(&1_700_000_000i32.to_le_bytes())
        .key(code::STRING, "k", &string(b"v"))
        .finish(None);
    let k = keys(&file).unwrap();
    assert_eq!(k[0].3, Some(1_700_000_000_000));
    assert_eq!(k[0].4, Owned::Str(b("v")));
}

#[test]
fn zero_checksum_is_not_verified_and_bad_checksum_is_reported() {
    let file = Builder::new("REDIS0009")
        .key(code::STRING, "k", &string(b"v"))
        .finish(Some(false));
    keys(&file).unwrap();
    let mut file = Builder::new("REDIS0009")
        .key(code::STRING, "k", &string(b"v"))
        .finish(Some(true));
    let last = file.len() - 1;
    file[last] ^= 1;
    let e = keys(&file).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{e}"
    );
}

#[test]
fn int_and_lzf_strings() {
    let text = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(10);
    let compressed = lzf::compress(&text).unwrap();
    let mut lzf_value = vec![0xC3];
    lzf_value.extend(len(compressed.len() as u64));
    lzf_value.extend(len(text.len() as u64));
    lzf_value.extend(&compressed);
    let file = Builder::new("REDIS0009")
        .key(code::STRING, "i8", &[0xC0, 0xFB])
        .key(code::STRING, "i16", &[0xC1, 0x39, 0x30])
        .key(code::STRING, "i32", &[0xC2, 0x15, 0xCD, 0x5B, 0x07])
        .key(code::STRING, "lzf", &lzf_value)
        .finish(Some(true));
    let k = keys(&file).unwrap();
    assert_eq!(k[0].4, Owned::Str(b("-5")));
    assert_eq!(k[1].4, Owned::Str(b("12345")));
    assert_eq!(k[2].4, Owned::Str(b("123456789")));
    assert_eq!(k[3].2, Encoding::Lzf);
    assert_eq!(k[3].4, Owned::Str(text));
}

#[test]
fn linked_list_set_hash_and_string_double_zset() {
    let list = cat(&[&len(3), &string(b"a"), &string(b"b"), &string(b"c")]);
    let set = cat(&[&len(2), &string(b"x"), &string(b"y")]);
    let hash = cat(&[&len(1), &string(b"f"), &string(b"v")]);
    let mut zset = cat(&[&len(5), &string(b"m1")]);
    zset.extend([3, b'1', b'.', b'5']);
    zset.extend(string(b"m2"));
    zset.push(253);
    zset.extend(string(b"m3"));
    zset.push(254);
    zset.extend(string(b"m4"));
    zset.push(255);
    zset.extend(string(b"m5"));
    zset.extend([2, b'-', b'2']);
    let file = Builder::new("REDIS0006")
        .key(code::LIST, "l", &list)
        .key(code::SET, "s", &set)
        .key(code::HASH, "h", &hash)
        .key(code::ZSET, "z", &zset)
        .finish(Some(true));
    let k = keys(&file).unwrap();
    assert_eq!(
        (k[0].2, &k[0].4),
        (Encoding::LinkedList, &Owned::List(strs(&["a", "b", "c"])))
    );
    assert_eq!(
        (k[1].2, &k[1].4),
        (Encoding::Hashtable, &Owned::Set(strs(&["x", "y"])))
    );
    assert_eq!(k[2].4, Owned::Hash(vec![(b("f"), b("v"), None)]));
    assert_eq!(
        k[3].4,
        Owned::Zset(vec![
            (b("m1"), "1.5".into()),
            (b("m2"), "NaN".into()),
            (b("m3"), "inf".into()),
            (b("m4"), "-inf".into()),
            (b("m5"), "-2".into()),
        ])
    );
}

#[test]
fn binary_double_zset() {
    let mut zset = cat(&[&len(2), &string(b"big")]);
    zset.extend(1e10f64.to_le_bytes());
    zset.extend(string(b"neg"));
    zset.extend((-0.25f64).to_le_bytes());
    let (enc, v) = one(&Builder::new("REDIS0009")
        .key(code::ZSET_2, "z", &zset)
        .finish(Some(true)));
    assert_eq!(enc, Encoding::Skiplist);
    assert_eq!(
        v,
        Owned::Zset(vec![
            (b("big"), "10000000000".into()),
            (b("neg"), "-0.25".into())
        ])
    );
}

#[test]
fn compact_encodings_of_old_servers() {
    let zipmap = zipmap::encode(&[(b"f1", b"v1"), (b"f2", b"")]);
    let zl_list = ziplist::encode(&els(&["a", "7", "-300", "hello"]));
    let zl_zset = ziplist::encode(&els(&["m", "1", "n", "2.5"]));
    let zl_hash = ziplist::encode(&els(&["f", "v", "n", "42"]));
    let intset = intset::encode(&[3, -1, 70000]);
    let file = Builder::new("REDIS0006")
        .key(code::HASH_ZIPMAP, "zm", &string(&zipmap))
        .key(code::LIST_ZIPLIST, "zl", &string(&zl_list))
        .key(code::ZSET_ZIPLIST, "zz", &string(&zl_zset))
        .key(code::HASH_ZIPLIST, "zh", &string(&zl_hash))
        .key(code::SET_INTSET, "is", &string(&intset))
        .finish(Some(true));
    let k = keys(&file).unwrap();
    assert_eq!(
        (k[0].2, &k[0].4),
        (
            Encoding::Zipmap,
            &Owned::Hash(vec![(b("f1"), b("v1"), None), (b("f2"), b(""), None)])
        )
    );
    assert_eq!(
        (k[1].2, &k[1].4),
        (
            Encoding::Ziplist,
            &Owned::List(strs(&["a", "7", "-300", "hello"]))
        )
    );
    assert_eq!(
        k[2].4,
        Owned::Zset(vec![(b("m"), "1".into()), (b("n"), "2.5".into())])
    );
    assert_eq!(
        k[3].4,
        Owned::Hash(vec![(b("f"), b("v"), None), (b("n"), b("42"), None)])
    );
    assert_eq!(
        (k[4].2, &k[4].4),
        (Encoding::Intset, &Owned::Set(strs(&["-1", "3", "70000"])))
    );
}

#[test]
fn quicklist_v1_with_compressed_node() {
    let node1 = ziplist::encode(&els(&["a", "b"]));
    let node2 = ziplist::encode(&vec![
        Element::Bytes(
            b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        );
        20
    ]);
    let compressed = lzf::compress(&node2).unwrap();
    let mut value = cat(&[&len(2), &string(&node1), &[0xC3]]);
    value.extend(len(compressed.len() as u64));
    value.extend(len(node2.len() as u64));
    value.extend(&compressed);
    let (enc, v) = one(&Builder::new("REDIS0007")
        .key(code::LIST_QUICKLIST, "q", &value)
        .finish(Some(true)));
    assert_eq!(enc, Encoding::Quicklist);
    let mut want = strs(&["a", "b"]);
    want.extend(vec![b("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"); 20]);
    assert_eq!(v, Owned::List(want));
}

#[test]
fn quicklist_v2_plain_and_packed_nodes() {
    let packed = listpack::encode(&els(&["1", "two", "-3"]));
    let big = vec![b'p'; 100];
    let value = cat(&[
        &len(3),
        &len(2),
        &string(&packed),
        &len(1),
        &string(&big),
        &len(2),
        &string(&listpack::encode(&els(&["end"]))),
    ]);
    let (enc, v) = one(&Builder::new("REDIS0010")
        .key(code::LIST_QUICKLIST_2, "q", &value)
        .finish(Some(true)));
    assert_eq!(enc, Encoding::Quicklist2);
    assert_eq!(
        v,
        Owned::List(vec![b("1"), b("two"), b("-3"), big, b("end")])
    );
    // An unknown container kind is an error, not a guess.
    let bad = cat(&[&len(1), &len(3), &string(&packed)]);
    let e = keys(
        &Builder::new("REDIS0010")
            .key(code::LIST_QUICKLIST_2, "q", &bad)
            .finish(Some(true)),
    )
    .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Invalid("quicklist container"));
    assert_eq!(e.key(), Some(&b"q"[..]));
}

#[test]
fn listpack_types_of_redis_7() {
    let set = listpack::encode(&els(&["a", "b", "100"]));
    let zset = listpack::encode(&els(&["m", "1", "n", "-2.5"]));
    let hash = listpack::encode(&els(&["f", "v"]));
    let file = Builder::new("REDIS0011")
        .key(code::SET_LISTPACK, "s", &string(&set))
        .key(code::ZSET_LISTPACK, "z", &string(&zset))
        .key(code::HASH_LISTPACK, "h", &string(&hash))
        .finish(Some(true));
    let k = keys(&file).unwrap();
    assert_eq!(
        (k[0].2, &k[0].4),
        (Encoding::Listpack, &Owned::Set(strs(&["a", "b", "100"])))
    );
    assert_eq!(
        k[1].4,
        Owned::Zset(vec![(b("m"), "1".into()), (b("n"), "-2.5".into())])
    );
    assert_eq!(k[2].4, Owned::Hash(vec![(b("f"), b("v"), None)]));
}

#[test]
fn hash_field_ttl_types() {
    let t = 1_900_000_000_000i64;
    // 24 HASH_METADATA: min expiry, then (ttl - min + 1 or 0, field, value).
    let meta = cat(&[
        &t.to_le_bytes(),
        &len(2),
        &len(0),
        &string(b"keep"),
        &string(b"1"),
        &len(11),
        &string(b"f"),
        &string(b"2"),
    ]);
    // 25 HASH_LISTPACK_EX: min expiry, then a listpack of triplets (ttl 0 = none).
    let lpex = listpack::encode(&[
        Element::Bytes(b"a"),
        Element::Bytes(b"1"),
        Element::Int(t),
        Element::Bytes(b"b"),
        Element::Bytes(b"2"),
        Element::Int(0),
    ]);
    let lpex = cat(&[&t.to_le_bytes(), &string(&lpex)]);
    // 22 pre-GA (Redis): (absolute ttl or 0, field, value).
    let pre = cat(&[&len(1), &len(t as u64), &string(b"p"), &string(b"v")]);
    // 23 pre-GA: a listpack of triplets.
    let pre_lp = listpack::encode(&[Element::Bytes(b"q"), Element::Bytes(b"v"), Element::Int(0)]);
    let file = Builder::new("REDIS0012")
        .key(code::HASH_METADATA, "m", &meta)
        .key(code::HASH_LISTPACK_EX, "x", &lpex)
        .key(22, "p", &pre)
        .key(23, "q", &string(&pre_lp))
        .finish(Some(true));
    let k = keys(&file).unwrap();
    assert_eq!(
        (k[0].2, &k[0].4),
        (
            Encoding::HashMetadata,
            &Owned::Hash(vec![
                (b("keep"), b("1"), None),
                (b("f"), b("2"), Some(t + 10))
            ])
        )
    );
    assert_eq!(
        (k[1].2, &k[1].4),
        (
            Encoding::ListpackEx,
            &Owned::Hash(vec![(b("a"), b("1"), Some(t)), (b("b"), b("2"), None)])
        )
    );
    assert_eq!(
        (k[2].2, &k[2].4),
        (
            Encoding::HashMetadataPreGa,
            &Owned::Hash(vec![(b("p"), b("v"), Some(t))])
        )
    );
    assert_eq!(
        (k[3].2, &k[3].4),
        (
            Encoding::ListpackExPreGa,
            &Owned::Hash(vec![(b("q"), b("v"), None)])
        )
    );

    // Without their field TTLs, as plain hashes any version reads: the fields
    // expired by `now` left out, the others kept without an expiry.
    let now = t + 5;
    let mut plain = Builder::new("REDIS0009");
    for (type_byte, name, value) in [
        (code::HASH_METADATA, "m", &meta),
        (code::HASH_LISTPACK_EX, "x", &lpex),
    ] {
        let file = Builder::new("REDIS0012")
            .key(type_byte, name, value)
            .finish(Some(true));
        let rdb = crate::Rdb::new(&file).unwrap();
        let Some(Ok(crate::Item::Key(parsed))) = rdb.items().next() else {
            panic!("no key")
        };
        let crate::Value::Hash(hash) = &parsed.value else {
            panic!("not a hash")
        };
        let (type_byte, bytes) = crate::hash_without_field_ttls(hash, now).unwrap();
        plain = plain.key(type_byte, name, &bytes);
    }
    let k = keys(&plain.finish(Some(true))).unwrap();
    assert_eq!(
        k[0].4,
        Owned::Hash(vec![(b("keep"), b("1"), None), (b("f"), b("2"), None)])
    );
    assert_eq!(k[1].4, Owned::Hash(vec![(b("b"), b("2"), None)]));
}

#[test]
fn type_22_and_opcode_243_follow_the_dialect() {
    let t = 1_900_000_000_000i64;
    // Valkey HASH_2: (field, value, expiry or -1).
    let hash2 = cat(&[
        &len(2),
        &string(b"f"),
        &string(b"v"),
        &t.to_le_bytes(),
        &string(b"g"),
        &string(b"w"),
        &(-1i64).to_le_bytes(),
    ]);
    // Valkey SLOT_IMPORT: job name, ranges.
    let import = cat(&[
        &[243],
        &string(&[b'j'; 40]),
        &len(2),
        &len(0),
        &len(100),
        &len(200),
        &len(16383),
    ]);
    let file = Builder::new("VALKEY080")
        .raw(&import)
        .select(0)
        .key(22, "h", &hash2)
        .finish(Some(true));
    let rdb = Rdb::new(&file).unwrap();
    assert_eq!(rdb.header().dialect, Dialect::Valkey);
    let items: Vec<_> = rdb.items().collect::<Result<_>>().unwrap();
    match &items[0] {
        Item::SlotImport(s) => assert_eq!(s.ranges, vec![(0, 100), (200, 16383)]),
        other => panic!("{other:?}"),
    }
    let k = keys(&file).unwrap();
    assert_eq!(
        (k[0].2, &k[0].4),
        (
            Encoding::Hash2,
            &Owned::Hash(vec![(b("f"), b("v"), Some(t)), (b("g"), b("w"), None)])
        )
    );

    // Redis KEY_META before a key: one record of class spec + opcode series.
    let meta = cat(&[&[243], &len(1), b"abcd", &[2, 7, 0]]);
    let file = Builder::new("REDIS0013")
        .raw(&meta)
        .key(code::STRING, "k", &string(b"v"))
        .finish(Some(true));
    let rdb = Rdb::new(&file).unwrap();
    let key = rdb.items().find_map(|i| match i.unwrap() {
        Item::Key(k) => Some(k),
        _ => None,
    });
    let key = key.unwrap();
    assert_eq!(key.meta.unwrap().count, 1);
    assert_eq!(key.offset, 9);
}

#[test]
fn opcodes_aux_functions_slot_info_idle_freq() {
    let pre_ga = cat(&[
        &[246],
        &string(b"fn"),
        &string(b"LUA"),
        &len(1),
        &string(b"desc"),
        &string(b"return 1"),
    ]);
    let file = Builder::new("REDIS0012")
        .aux("redis-ver", "7.4.0")
        .raw(&cat(&[
            &[245],
            &string(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
        ]))
        .raw(&pre_ga)
        .select(3)
        .raw(&cat(&[&[251], &len(1), &len(1)]))
        .raw(&cat(&[&[244], &len(866), &len(1), &len(1)]))
        .raw(&[252])
        .raw(&1_900_000_000_123i64.to_le_bytes())
        .raw(&cat(&[&[248], &len(99)]))
        .raw(&[249, 5])
        .key(code::STRING, "k", &string(b"v"))
        .finish(Some(true));
    let items: Vec<_> = Rdb::new(&file)
        .unwrap()
        .items()
        .collect::<Result<_>>()
        .unwrap();
    assert!(
        matches!(&items[0], Item::Aux { key, value } if key.to_vec().unwrap() == b"redis-ver" && value.to_vec().unwrap() == b"7.4.0")
    );
    assert!(matches!(
        &items[1],
        Item::Function(Function::Library { .. })
    ));
    assert!(matches!(
        &items[2],
        Item::Function(Function::PreGa {
            description: Some(_),
            ..
        })
    ));
    assert!(matches!(items[3], Item::SelectDb { db: 3 }));
    assert!(matches!(
        items[4],
        Item::ResizeDb {
            db_size: 1,
            expires_size: 1
        }
    ));
    assert!(matches!(
        items[5],
        Item::SlotInfo {
            slot: 866,
            keys: 1,
            expires: 1
        }
    ));
    match &items[6] {
        Item::Key(k) => {
            assert_eq!(
                (k.db, k.expire_ms, k.idle, k.freq),
                (3, Some(1_900_000_000_123), Some(99), Some(5))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        items[7],
        Item::End {
            checksum: Some(_),
            ..
        }
    ));
}

/// The id a module registers: 9 name characters of 6 bits, then a 10-bit encver.
fn module_id(name: &str, encver: u64) -> u64 {
    let cs = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let id = name.bytes().fold(0u64, |id, c| {
        (id << 6) | cs.iter().position(|&x| x == c).unwrap() as u64
    });
    (id << 10) | encver
}

#[test]
fn module_values_and_module_aux() {
    let body = cat(&[
        &len(module_id("ReJSON-RL", 3)),
        &[5],
        &string(b"{\"a\":1}"),
        &[2, 9, 0],
    ]);
    let aux = cat(&[
        &[247],
        &len(module_id("MBbloom--", 1)),
        &[2, 2, 4],
        &1.5f64.to_le_bytes(),
        &[0],
    ]);
    let file = Builder::new("REDIS0009")
        .raw(&aux)
        .key(code::MODULE_2, "j", &body)
        .finish(Some(true));
    let items: Vec<_> = Rdb::new(&file)
        .unwrap()
        .items()
        .collect::<Result<_>>()
        .unwrap();
    match &items[0] {
        Item::ModuleAux { when, module } => {
            assert_eq!(
                (*when, module.name().as_str(), module.encoding_version()),
                (2, "MBbloom--", 1)
            );
        }
        other => panic!("{other:?}"),
    }
    let (enc, v) = one(&file);
    assert_eq!(enc, Encoding::Module);
    assert_eq!(
        v,
        Owned::Module(
            "ReJSON-RL".into(),
            3,
            body.len() - len(module_id("ReJSON-RL", 3)).len()
        )
    );

    let e = keys(
        &Builder::new("REDIS0008")
            .key(code::MODULE_PRE_GA, "m", &[1, 2, 3])
            .finish(Some(true)),
    )
    .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Unsupported(_)), "{e}");
    assert_eq!(e.key(), Some(&b"m"[..]));
}

#[test]
fn array_type() {
    let value = cat(&[
        &len(3),
        &len(1),
        &len(7),
        &len(0),
        &len(0),
        &string(b"zero"),
        &len(5),
        &len(1),
        &(-9i64).to_le_bytes(),
        &len(9),
        &len(2),
        &0.5f64.to_le_bytes(),
    ]);
    let (enc, v) = one(&Builder::new("REDIS0014")
        .key(code::ARRAY, "a", &value)
        .finish(Some(true)));
    assert_eq!(enc, Encoding::Array);
    assert_eq!(
        v,
        Owned::Array(vec![
            (0, "zero".into()),
            (5, "int -9".into()),
            (9, "float 0.5".into())
        ])
    );
}

/// A stream node listpack: master entry with fields (f1, f2), an entry with the same
/// fields, a deleted entry, and one with its own fields.
fn stream_node() -> Vec<u8> {
    let e = |s: &'static str| Element::Bytes(s.as_bytes());
    listpack::encode(&[
        // master: count, deleted, #fields, fields..., 0
        Element::Int(2),
        Element::Int(1),
        Element::Int(2),
        e("f1"),
        e("f2"),
        Element::Int(0),
        // same fields (flag 2): ms diff 0, seq diff 0, values, lp-count
        Element::Int(2),
        Element::Int(0),
        Element::Int(0),
        e("a"),
        e("b"),
        Element::Int(5),
        // deleted + same fields
        Element::Int(3),
        Element::Int(0),
        Element::Int(1),
        e("c"),
        e("d"),
        Element::Int(5),
        // own fields: #fields, field, value
        Element::Int(0),
        Element::Int(5),
        Element::Int(0),
        Element::Int(1),
        e("g"),
        e("h"),
        Element::Int(6),
    ])
}

fn stream_value(format: u8) -> Vec<u8> {
    let mut id = Vec::new();
    id.extend(1000u64.to_be_bytes());
    id.extend(0u64.to_be_bytes());
    let mut v = cat(&[
        &len(1),
        &string(&id),
        &string(&stream_node()),
        &len(2),
        &len(1005),
        &len(0),
    ]);
    if format >= 2 {
        v.extend(cat(&[&len(1000), &len(0), &len(1000), &len(1), &len(3)]));
    }
    v.extend(len(1)); // one group
    v.extend(string(b"g1"));
    v.extend(cat(&[&len(1000), &len(0)]));
    if format >= 2 {
        v.extend(len(1));
    }
    let mut pel_id = Vec::new();
    pel_id.extend(1000u64.to_be_bytes());
    pel_id.extend(0u64.to_be_bytes());
    v.extend(len(1));
    v.extend(&pel_id);
    v.extend(1_700_000_000_000i64.to_le_bytes());
    v.extend(len(2));
    v.extend(len(1)); // one consumer
    v.extend(string(b"alice"));
    v.extend(1_700_000_000_001i64.to_le_bytes());
    if format >= 3 {
        v.extend(1_700_000_000_002i64.to_le_bytes());
    }
    v.extend(len(1));
    v.extend(&pel_id);
    if format >= 5 {
        v.extend(len(1));
        v.extend(&pel_id);
    }
    if format >= 4 {
        v.extend(cat(&[
            &len(60),
            &len(100),
            &len(1),
            &string(b"p1"),
            &len(1),
            &string(b"i1"),
            &len(1000),
            &len(0),
            &len(7),
            &len(1),
        ]));
    }
    v
}

#[test]
fn streams_of_every_format() {
    for (format, ty) in [(1, 15), (2, 19), (3, 21), (4, 26), (5, 27)] {
        let file = Builder::new("REDIS0014")
            .key(ty, "s", &stream_value(format))
            .finish(Some(true));
        let rdb = Rdb::new(&file).unwrap();
        let Some(Ok(Item::Key(k))) = rdb.items().next() else {
            panic!("format {format}: no key");
        };
        let Value::Stream(s) = &k.value else {
            panic!("not a stream")
        };
        assert_eq!(s.format(), format);
        assert_eq!(
            owned(&k.value).unwrap(),
            Owned::Stream(vec![
                ("1000-0".into(), vec![(b("f1"), b("a")), (b("f2"), b("b"))]),
                ("1005-0".into(), vec![(b("g"), b("h"))]),
            ]),
            "format {format}"
        );
        assert_eq!((s.length, s.last_id), (2, StreamId { ms: 1005, seq: 0 }));
        assert_eq!(s.entries_added, (format >= 2).then_some(3));
        let g = &s.groups[0];
        assert_eq!(g.name.to_vec().unwrap(), b"g1");
        assert_eq!(g.entries_read, (format >= 2).then_some(1));
        assert_eq!(g.pending[0].delivery_count, 2);
        assert_eq!(
            g.consumers[0].active_time_ms,
            (format >= 3).then_some(1_700_000_000_002)
        );
        assert_eq!(g.nacked.len(), usize::from(format >= 5));
        assert_eq!(
            s.idempotency.as_ref().map(|i| i.producers.len()),
            (format >= 4).then_some(1)
        );
    }
}

#[test]
fn unknown_type_trailing_bytes_and_dump_payloads() {
    let e = keys(
        &Builder::new("REDIS0009")
            .key(8, "k", &[])
            .finish(Some(true)),
    )
    .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::UnknownType(8));
    let mut file = Builder::new("REDIS0009")
        .key(code::STRING, "k", &string(b"v"))
        .finish(Some(true));
    assert_eq!(measure(&file).unwrap(), file.len());
    file.push(b'*');
    assert_eq!(keys(&file).unwrap_err().kind(), &ErrorKind::TrailingBytes);
    assert_eq!(measure(&file).unwrap(), file.len() - 1);

    // A key's dump payload parses back to the same value.
    let file = Builder::new("REDIS0010")
        .key(
            code::LIST_QUICKLIST_2,
            "q",
            &cat(&[
                &len(1),
                &len(2),
                &string(&listpack::encode(&els(&["x", "9"]))),
            ]),
        )
        .finish(Some(true));
    let rdb = Rdb::new(&file).unwrap();
    let Some(Ok(Item::Key(k))) = rdb.items().next() else {
        panic!()
    };
    let payload = k.dump_payload();
    let dump = parse_dump(&payload).unwrap();
    assert_eq!(dump.header.version, 10);
    assert_eq!(owned(&dump.value).unwrap(), Owned::List(strs(&["x", "9"])));
    let mut bad = payload.clone();
    bad[1] ^= 0x40;
    assert!(matches!(
        parse_dump(&bad).unwrap_err().kind(),
        ErrorKind::ChecksumMismatch { .. }
    ));
}

/// A file with one key of many kinds, for the corruption tests.
fn mixed_file() -> Vec<u8> {
    let mut b = Builder::new("REDIS0011")
        .aux("redis-ver", "7.2.0")
        .select(0);
    b = b.key(
        code::LIST_QUICKLIST_2,
        "q",
        &cat(&[
            &len(1),
            &len(2),
            &string(&listpack::encode(&els(&["x", "9", "yy"]))),
        ]),
    );
    b = b.key(
        code::ZSET_2,
        "z",
        &cat(&[&len(1), &string(b"m"), &1.0f64.to_le_bytes()]),
    );
    b = b.key(
        code::HASH_ZIPLIST,
        "h",
        &string(&ziplist::encode(&els(&["f", "v"]))),
    );
    b = b.key(code::SET_INTSET, "i", &string(&intset::encode(&[1, 2, 3])));
    b = b.key(21, "s", &stream_value(3));
    b.finish(Some(true))
}

/// Parses everything and walks every value; any error is fine, a panic is not.
fn walk(file: &[u8]) -> Result<()> {
    same_items_by_ref(file);
    keys(file).map(|_| ())
}

/// `Items::try_for_each_ref` must see the items the iterator yields, and stop at
/// the same error.
fn same_items_by_ref(file: &[u8]) {
    let options = ParseOptions::default().verify_checksum(false);
    let Ok(rdb) = Rdb::with_options(file, options) else {
        return;
    };
    let mut by_iter = Vec::new();
    let iter_end = rdb.items().try_for_each(|item| {
        by_iter.push(format!("{:?}", item?));
        Ok::<_, Error>(())
    });
    let mut by_ref = Vec::new();
    let ref_end = rdb.items().try_for_each_ref(|item| {
        by_ref.push(format!("{item:?}"));
        Ok::<_, Error>(())
    });
    assert_eq!(by_iter, by_ref);
    assert_eq!(format!("{iter_end:?}"), format!("{ref_end:?}"));
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let file = mixed_file();
    walk(&file).unwrap();
    for cut in 0..file.len() {
        let e = walk(&file[..cut]).expect_err("a truncated file must not parse");
        assert!(
            e.offset() <= cut as u64,
            "offset {} beyond cut {cut}",
            e.offset()
        );
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let file = mixed_file();
    for i in 9..file.len() {
        for bit in [0x01, 0x10, 0x80, 0xff] {
            let mut f = file.clone();
            f[i] ^= bit;
            let _ = walk(&f);
            // Without the checksum the corrupt values themselves are decoded.
            if let Ok(rdb) = Rdb::with_options(&f, ParseOptions::default().verify_checksum(false)) {
                for item in rdb.items() {
                    match item {
                        Ok(Item::Key(k)) => {
                            let _ = owned(&k.value);
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
        }
    }
}

#[test]
fn hostile_lengths_are_refused_before_allocation() {
    // A set claiming 2^32 members in a tiny file.
    let file = Builder::new("REDIS0009")
        .key(code::SET, "s", &[0x80, 0xff, 0xff, 0xff, 0xff, 1, b'a'])
        .finish(Some(true));
    assert!(walk(&file).is_err());
    // An LZF string claiming to expand to 4 GB from 3 bytes.
    let file = Builder::new("REDIS0009")
        .key(
            code::STRING,
            "s",
            &[0xC3, 3, 0x80, 0xff, 0xff, 0xff, 0xff, 0, b'a', b'b'],
        )
        .finish(Some(true));
    let e = walk(&file).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadLength { .. }), "{e}");
    // A stream claiming a billion consumer groups.
    let v = cat(&[&len(0), &len(0), &len(0), &len(0), &[0x80, 0x40, 0, 0, 0]]);
    let file = Builder::new("REDIS0009")
        .key(15, "s", &v)
        .finish(Some(true));
    assert!(matches!(
        walk(&file).unwrap_err().kind(),
        ErrorKind::BadLength { .. }
    ));
}

/// A file with one long value of every kind that can come in pieces.
fn long_values_file() -> Vec<u8> {
    let words: Vec<u8> = (0..6000)
        .flat_map(|i| format!("word{} ", i * 7919 % 1000).into_bytes())
        .collect();
    let noise: Vec<u8> = (0u32..5000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let member = |i: usize| format!("member-{i:05}").into_bytes();
    let entries = |n: usize, per: &dyn Fn(usize) -> Vec<u8>| {
        let mut v = len(n as u64);
        for i in 0..n {
            v.extend(per(i));
        }
        v
    };
    let compressed = lzf::compress(&words).unwrap();
    let lzf_string = cat(&[
        &[0xc3],
        &len(compressed.len() as u64),
        &len(words.len() as u64),
        &compressed,
    ]);
    let node = stream_value(3);
    let mut id = Vec::new();
    id.extend(1000u64.to_be_bytes());
    id.extend(0u64.to_be_bytes());
    let one_node = cat(&[&string(&id), &string(&stream_node())]);
    let rest = &node[len(1).len() + one_node.len()..];
    let stream = cat(&[&entries(200, &|_| one_node.clone()), rest]);
    let module = cat(&[
        &len(module_id("MBbloom--", 2)),
        &[2, 7, 5],
        &string(&noise),
        &[4],
        &2.5f64.to_le_bytes(),
        &[5],
        &string(&noise[..3000]),
        &[0],
    ]);
    Builder::new("REDIS0011")
        .aux("redis-ver", "7.2.0")
        .select(0)
        .key(code::STRING, "raw", &string(&noise))
        .key(code::STRING, "lzf", &lzf_string)
        .key(code::LIST, "linked", &entries(400, &|i| string(&member(i))))
        .key(code::SET, "set", &entries(400, &|i| string(&member(i))))
        .key(
            code::ZSET,
            "zset-ascii",
            &entries(300, &|i| cat(&[&string(&member(i)), &[3], b"1.5"])),
        )
        .key(
            code::ZSET_2,
            "zset-binary",
            &entries(300, &|i| {
                cat(&[&string(&member(i)), &(i as f64).to_le_bytes()])
            }),
        )
        .key(
            code::HASH,
            "hash",
            &entries(300, &|i| cat(&[&string(&member(i)), &string(b"value")])),
        )
        .key(
            code::HASH_METADATA,
            "hash-ttl",
            &cat(&[
                &1_900_000_000_000i64.to_le_bytes(),
                &entries(300, &|i| {
                    cat(&[&len(i as u64 % 3), &string(&member(i)), &string(b"v")])
                }),
            ]),
        )
        .key(
            code::LIST_QUICKLIST,
            "quicklist",
            &entries(60, &|i| {
                let els: Vec<Vec<u8>> = (0..20).map(|j| member(i * 20 + j)).collect();
                let refs: Vec<Element<'_>> = els.iter().map(|e| Element::Bytes(e)).collect();
                string(&ziplist::encode(&refs))
            }),
        )
        .key(
            code::LIST_QUICKLIST_2,
            "quicklist2",
            &entries(60, &|i| {
                let els: Vec<Vec<u8>> = (0..20).map(|j| member(i * 20 + j)).collect();
                let refs: Vec<Element<'_>> = els.iter().map(|e| Element::Bytes(e)).collect();
                cat(&[&len(2), &string(&listpack::encode(&refs))])
            }),
        )
        .key(code::STREAM_LISTPACKS_3, "stream", &stream)
        .key(code::MODULE_2, "module", &module)
        .finish(Some(true))
}

/// How many keys a streaming read with the smallest record limit splits.
fn split_keys(file: &[u8]) -> Result<usize> {
    let mut reader = Reader::new().max_record(MIN_RECORD).piece_size(100);
    reader.feed(file);
    reader.end_input();
    let mut splits = 0;
    while let Some(event) = reader.next_event()? {
        splits += usize::from(matches!(event, Event::ValueStart(_)));
    }
    Ok(splits)
}

#[test]
fn streaming_reader_delivers_long_values_in_pieces() {
    let file = long_values_file();
    // `keys` compares the streamed keys, their pieces and stored bytes with the
    // slice API's.
    assert_eq!(keys(&file).unwrap().len(), 12);
    assert_eq!(split_keys(&file).unwrap(), 12, "every key comes in pieces");
    let valkey = Builder::new("VALKEY080")
        .key(
            22,
            "hash2",
            &cat(&[&len(300), &{
                let mut v = Vec::new();
                for i in 0..300i64 {
                    v.extend(string(format!("field-{i:04}").as_bytes()));
                    v.extend(string(b"value"));
                    v.extend(
                        (if i % 2 == 0 {
                            -1
                        } else {
                            1_900_000_000_000 + i
                        })
                        .to_le_bytes(),
                    );
                }
                v
            }]),
        )
        .finish(Some(true));
    assert_eq!(keys(&valkey).unwrap().len(), 1);
    assert_eq!(split_keys(&valkey).unwrap(), 1);
}

#[test]
fn streaming_reader_refuses_what_it_cannot_split() {
    let big: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("member-{i:05}").into_bytes())
        .collect();
    let refs: Vec<Element<'_>> = big.iter().map(|e| Element::Bytes(e)).collect();
    let file = Builder::new("REDIS0011")
        .key(
            code::SET_LISTPACK,
            "packed",
            &string(&listpack::encode(&refs)),
        )
        .finish(Some(true));
    let e = split_keys(&file).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::TooLarge {
                what: "compact encoded value",
                limit: 1024
            }
        ),
        "{e}"
    );
    assert_eq!(e.key(), Some(&b"packed"[..]));
    // A long element inside a collection.
    let file = Builder::new("REDIS0011")
        .key(code::LIST, "l", &cat(&[&len(1), &string(&[7; 5000])]))
        .finish(Some(true));
    let e = split_keys(&file).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::TooLarge {
                what: "collection entry",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.key(), Some(&b"l"[..]));
    // Both read whole with a larger limit.
    let mut reader = Reader::new().max_record(1 << 20);
    reader.feed(&file);
    reader.end_input();
    while reader.next_event().unwrap().is_some() {}
    assert!(reader.is_finished());
}

#[test]
fn streaming_reader_reports_bad_checksum_truncation_and_trailing_bytes() {
    let file = mixed_file();
    // Cut anywhere: an error once the input ends, never an early one.
    for cut in 0..file.len() {
        let mut reader = Reader::new().max_record(MIN_RECORD).piece_size(3);
        reader.feed(&file[..cut]);
        while reader.next_event().unwrap().is_some() {}
        reader.end_input();
        let e = loop {
            match reader.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("cut at {cut}: no error"),
                Err(e) => break e,
            }
        };
        assert!(e.offset() <= cut as u64, "cut at {cut}: {e}");
    }
    let mut bad = file.clone();
    *bad.last_mut().unwrap() ^= 1;
    let mut reader = Reader::new();
    reader.feed(&bad);
    let e = loop {
        match reader.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no checksum error"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(e.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{e}"
    );
    // The error sticks.
    assert!(reader.next_event().is_err());
    // Trailing bytes: an error by default, kept for the caller when allowed.
    let mut extra = file.clone();
    extra.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let mut reader = Reader::with_options(ParseOptions::default().allow_trailing_bytes(true));
    reader.feed(&extra);
    while reader.next_event().unwrap().is_some() {}
    assert!(reader.is_finished());
    assert_eq!(reader.remaining(), b"*1\r\n$4\r\nPING\r\n");
    let mut reader = Reader::new();
    reader.feed(&extra);
    let e = loop {
        match reader.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no trailing bytes error"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), &ErrorKind::TrailingBytes);
}

/// Feeds a generated RDB to a reader in 64 KiB chunks without ever holding it whole;
/// returns the reader's largest buffer and the bytes of string pieces seen.
fn feed_generated(
    parts: &mut dyn Iterator<Item = Vec<u8>>,
    reader: &mut Reader,
) -> (usize, u64, u64) {
    let (mut largest, mut bytes, mut entries) = (0, 0u64, 0u64);
    for part in parts {
        for chunk in part.chunks(64 << 10) {
            reader.feed(chunk);
            while let Some(event) = reader.next_event().unwrap() {
                match event {
                    Event::Piece {
                        piece: Piece::Bytes(b),
                        ..
                    } => bytes += b.len() as u64,
                    Event::Piece {
                        piece: Piece::Entries(v),
                        ..
                    } => entries += v.validate().unwrap(),
                    _ => {}
                }
            }
            largest = largest.max(reader.buffer_capacity());
        }
    }
    reader.end_input();
    while reader.next_event().unwrap().is_some() {}
    assert!(reader.is_finished());
    (largest, bytes, entries)
}

#[test]
fn streaming_reader_memory_stays_bounded_for_huge_values() {
    const STRING: usize = 300 << 20;
    const MEMBERS: u64 = 1_000_000;
    let head = Builder::new("REDIS0011").out;
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i * 31 + i / 7) as u8).collect();
    let mut string_key = vec![code::STRING];
    string_key.extend(string(b"huge-string"));
    // A 32-bit length prefix.
    string_key.push(0x80);
    string_key.extend((STRING as u32).to_be_bytes());
    let mut set_key = vec![code::SET];
    set_key.extend(string(b"huge-set"));
    set_key.extend(len(MEMBERS));
    let mut parts = std::iter::once(head)
        .chain(std::iter::once(string_key))
        .chain((0..STRING >> 20).map(|_| block.clone()))
        .chain(std::iter::once(set_key))
        .chain((0..MEMBERS / 10_000).map(|batch| {
            (batch * 10_000..(batch + 1) * 10_000)
                .flat_map(|i| string(format!("member:{i}").as_bytes()))
                .collect()
        }))
        .chain(std::iter::once(vec![0xff]));
    // Generated as it is fed: the checksum follows the last part.
    let mut digest = Some(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Redis));
    let mut all = std::iter::from_fn(move || match parts.next() {
        Some(part) => {
            digest.as_mut()?.update(&part);
            Some(part)
        }
        None => digest.take().map(|d| d.finalize().to_le_bytes().to_vec()),
    });
    let limit = 1 << 20;
    let mut reader = Reader::new().max_record(limit);
    let (largest, bytes, entries) = feed_generated(&mut all, &mut reader);
    assert_eq!(bytes, STRING as u64);
    assert_eq!(entries, MEMBERS);
    assert!(
        largest <= 4 * (limit + (64 << 10)),
        "buffer grew to {largest}"
    );
}
