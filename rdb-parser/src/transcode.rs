//! `RESTORE` payloads for older servers: a value re-encoded in a form a server
//! reading RDB versions up to `version` loads, where its own form is newer.
//!
//! Most types kept their bytes from one RDB version to the next; a payload of
//! those needs only the older version in its footer (a Redis 7.4 listpack hash
//! is read by Valkey 9 once its footer says 11). The listpack encodings of RDB 10
//! and 11 are re-encoded in their older forms: hash and sorted set listpacks as
//! ziplists, quicklist 2 lists as quicklists of ziplists, set listpacks as plain
//! sets; the server converts them to its preferred encoding as it loads them.
//! Streams newer than the target, hashes with field TTLs and module values have
//! no older form here: `None`, and the caller writes them as commands.
//!
//! Source: redis `src/rdb.h` (type numbers and the version each appeared in),
//! `rdbLoadObject` in `src/rdb.c` (what each version loads).

use std::borrow::Cow;

use crate::collection::Hash;
use crate::dump::build_payload;
use crate::element::Element;
use crate::error::Result;
use crate::header::{Dialect, Header};
use crate::length::write_len;
use crate::stream::{Stream, StreamId};
use crate::string::write_string;
use crate::value::{Value, code};
use crate::ziplist::ZiplistWriter;

/// Entries per quicklist node written: Redis's default node size
/// (`list-max-ziplist-size -2`) holds about this many short elements.
const NODE_ENTRIES: usize = 128;

/// Bytes per quicklist node written, as `list-max-ziplist-size -2` (8 KiB).
const NODE_BYTES: usize = 8 << 10;

/// The first RDB version that has type `type_byte` in the Redis numbering; `None`
/// for the types handled as commands only (modules, field TTLs, newer types).
fn first_version(type_byte: u8) -> Option<u32> {
    Some(match type_byte {
        code::STRING | code::LIST | code::SET | code::ZSET | code::HASH => 1,
        code::HASH_ZIPMAP | code::LIST_ZIPLIST | code::SET_INTSET => 2,
        code::ZSET_ZIPLIST | code::HASH_ZIPLIST => 2,
        code::LIST_QUICKLIST => 7,
        code::ZSET_2 => 8,
        code::STREAM_LISTPACKS => 9,
        code::HASH_LISTPACK
        | code::ZSET_LISTPACK
        | code::LIST_QUICKLIST_2
        | code::STREAM_LISTPACKS_2 => 10,
        code::SET_LISTPACK | code::STREAM_LISTPACKS_3 => 11,
        _ => return None,
    })
}

/// A `RESTORE` payload of the value (`type_byte` and `raw_value` as stored, with
/// its `header`, decoded as `value`) for a server that reads Redis RDB versions
/// up to `version`; `None` when the value has no such form here (see the module
/// documentation). A payload already of `version` or older is returned as it is.
///
/// # Errors
/// A corrupt value.
pub fn payload_for(
    type_byte: u8,
    raw_value: &[u8],
    value: &Value<'_>,
    header: Header,
    version: u32,
) -> Result<Option<Vec<u8>>> {
    let footer = match header.dialect {
        Dialect::Redis if header.version <= version => header.version,
        _ => version,
    };
    Ok(value_for(type_byte, raw_value, value, header, version)?
        .map(|(type_byte, bytes)| build_payload(type_byte, &bytes, footer as u16)))
}

/// The value (`type_byte` and `raw_value` as stored, with its `header`, decoded
/// as `value`) as a type byte and value bytes that a server reading Redis RDB
/// versions up to `version` loads, in an RDB file or a payload: the stored bytes
/// where they are of such a version (borrowed), else re-encoded; `None` when the
/// value has no such form here (see the module documentation).
///
/// # Errors
/// A corrupt value.
pub fn value_for<'r>(
    type_byte: u8,
    raw_value: &'r [u8],
    value: &Value<'_>,
    header: Header,
    version: u32,
) -> Result<Option<(u8, Cow<'r, [u8]>)>> {
    // Valkey 9's own types (22 and on) mean other things than Redis's.
    if header.dialect == Dialect::Valkey && type_byte > code::STREAM_LISTPACKS_3 {
        return Ok(None);
    }
    if header.dialect == Dialect::Redis && header.version <= version {
        return Ok(Some((type_byte, Cow::Borrowed(raw_value))));
    }
    let Some(first) = first_version(type_byte) else {
        return Ok(None);
    };
    if first <= version {
        return Ok(Some((type_byte, Cow::Borrowed(raw_value))));
    }
    let mut out = Vec::with_capacity(raw_value.len() + 16);
    let type_byte = match value {
        Value::Hash(hash) if type_byte == code::HASH_LISTPACK => {
            let mut z = ZiplistWriter::new();
            hash.try_fold((), |(), f| {
                z.push(f.field);
                z.push(f.value);
                Ok::<_, crate::Error>(())
            })?;
            write_string(&mut out, &z.finish());
            code::HASH_ZIPLIST
        }
        Value::SortedSet(zset) if type_byte == code::ZSET_LISTPACK => {
            let mut z = ZiplistWriter::new();
            let mut score = String::new();
            zset.try_fold((), |(), m, s| {
                z.push(m);
                z.push(score_element(s, &mut score));
                Ok::<_, crate::Error>(())
            })?;
            write_string(&mut out, &z.finish());
            code::ZSET_ZIPLIST
        }
        Value::List(list) if type_byte == code::LIST_QUICKLIST_2 && version >= 7 => {
            let mut nodes: Vec<Vec<u8>> = Vec::new();
            let mut z = ZiplistWriter::new();
            list.try_fold((), |(), e| {
                if z.len() >= NODE_ENTRIES || z.bytes() >= NODE_BYTES {
                    nodes.push(std::mem::replace(&mut z, ZiplistWriter::new()).finish());
                }
                z.push(e);
                Ok::<_, crate::Error>(())
            })?;
            if z.len() > 0 {
                nodes.push(z.finish());
            }
            write_len(&mut out, nodes.len() as u64);
            for node in &nodes {
                write_string(&mut out, node);
            }
            code::LIST_QUICKLIST
        }
        Value::Set(set) if type_byte == code::SET_LISTPACK => {
            let mut members = Vec::new();
            let mut n = 0u64;
            let mut bytes = Vec::new();
            set.try_fold((), |(), e| {
                bytes.clear();
                e.write_to(&mut bytes);
                write_string(&mut members, &bytes);
                n += 1;
                Ok::<_, crate::Error>(())
            })?;
            write_len(&mut out, n);
            out.extend_from_slice(&members);
            code::SET
        }
        Value::Stream(stream) => match stream_for(stream, version, &mut out)? {
            Some(type_byte) => type_byte,
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some((type_byte, Cow::Owned(out))))
}

/// The value (as for [`value_for`]) as a type byte and value bytes for Valkey 9,
/// which reads Redis RDB up to version 11 and its own format (`VALKEY080`): those
/// of [`value_for`] for version 11 where it has a form; a Valkey value as it is;
/// a Redis 7.4+ hash with field TTLs (types 22 to 25 of Redis) as Valkey's
/// `HASH_2`, each field with its expiry. `None` for what has no such form
/// (module values, Redis 8's newer streams and arrays). The bytes belong in a
/// `VALKEY080` file or under a footer of version 80 ([`valkey_payload_for`]).
///
/// # Errors
/// A corrupt value.
pub fn valkey_value_for<'r>(
    type_byte: u8,
    raw_value: &'r [u8],
    value: &Value<'_>,
    header: Header,
) -> Result<Option<(u8, Cow<'r, [u8]>)>> {
    if header.dialect == Dialect::Valkey {
        return Ok(Some((type_byte, Cow::Borrowed(raw_value))));
    }
    // Types 22 and on mean other things to Valkey, even at versions up to 11.
    if let Some(found) = value_for(type_byte, raw_value, value, header, 11)?
        && found.0 <= code::STREAM_LISTPACKS_3
    {
        return Ok(Some(found));
    }
    let field_ttls = (code::HASH_22..=code::HASH_LISTPACK_EX).contains(&type_byte);
    let Value::Hash(hash) = value else {
        return Ok(None);
    };
    if !field_ttls {
        return Ok(None);
    }
    let out = hash_fields(hash, HashLayout::ExpiryLast)?;
    Ok(Some((code::HASH_22, Cow::Owned(out))))
}

/// A `RESTORE` payload of the value for Valkey 9 ([`valkey_value_for`]'s bytes
/// under a footer of version 80).
///
/// # Errors
/// A corrupt value.
pub fn valkey_payload_for(
    type_byte: u8,
    raw_value: &[u8],
    value: &Value<'_>,
    header: Header,
) -> Result<Option<Vec<u8>>> {
    Ok(valkey_value_for(type_byte, raw_value, value, header)?
        .map(|(t, bytes)| build_payload(t, &bytes, crate::VALKEY_VERSION as u16)))
}

/// A hash as a plain hash (`RDB_TYPE_HASH`, read by every version; the server
/// picks its encoding as it loads it) without its fields' expiries: its type byte
/// and value bytes. Fields already expired at `now_ms` are left out, as the
/// server would have removed them; the others are kept without an expiry.
///
/// # Errors
/// A corrupt value.
pub fn hash_without_field_ttls(hash: &Hash<'_>, now_ms: i64) -> Result<(u8, Vec<u8>)> {
    Ok((
        code::HASH,
        hash_fields(hash, HashLayout::Unexpired(now_ms))?,
    ))
}

/// How [`hash_fields`] writes each field.
enum HashLayout {
    /// (field, value) for each field not expired by then (unix ms): a plain hash.
    Unexpired(i64),
    /// (field, value, expiry in ms as 8 bytes LE, -1 for none): Valkey's `HASH_2`.
    ExpiryLast,
}

/// A count, then each field of `hash` in `layout`.
fn hash_fields(hash: &Hash<'_>, layout: HashLayout) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut n = 0u64;
    let mut bytes = Vec::new();
    hash.try_fold((), |(), f| {
        if let HashLayout::Unexpired(now_ms) = layout
            && f.expire_ms.is_some_and(|at| at <= now_ms)
        {
            return Ok::<_, crate::Error>(());
        }
        for e in [f.field, f.value] {
            bytes.clear();
            e.write_to(&mut bytes);
            write_string(&mut body, &bytes);
        }
        if let HashLayout::ExpiryLast = layout {
            body.extend_from_slice(&f.expire_ms.unwrap_or(-1).to_le_bytes());
        }
        n += 1;
        Ok(())
    })?;
    let mut out = Vec::with_capacity(body.len() + 9);
    write_len(&mut out, n);
    out.extend_from_slice(&body);
    Ok(out)
}

/// A stream in the newest format a server reading up to `version` loads, into
/// `out`: its type byte, or `None` when it holds what that format cannot
/// (idempotent producers, negatively acknowledged entries of Redis 8). The nodes
/// keep their bytes; what the older format lacks is left out, as that server
/// would not have it: the first and greatest deleted IDs and the entries added
/// (format 2), each group's entries read (2), each consumer's active time (3).
fn stream_for(stream: &Stream<'_>, version: u32, out: &mut Vec<u8>) -> Result<Option<u8>> {
    let (format, type_byte) = match version {
        0..=8 => return Ok(None),
        9 => (1, code::STREAM_LISTPACKS),
        10 => (2, code::STREAM_LISTPACKS_2),
        _ => (3, code::STREAM_LISTPACKS_3),
    };
    let unsupported =
        stream.idempotency.is_some() || stream.groups.iter().any(|g| !g.nacked.is_empty());
    if unsupported || stream.format() <= format {
        return Ok(None);
    }
    let id = |out: &mut Vec<u8>, id: StreamId| {
        write_len(out, id.ms);
        write_len(out, id.seq);
    };
    let raw_id = |out: &mut Vec<u8>, id: StreamId| {
        out.extend_from_slice(&id.ms.to_be_bytes());
        out.extend_from_slice(&id.seq.to_be_bytes());
    };
    write_len(out, stream.node_count());
    out.extend_from_slice(stream.raw_nodes());
    write_len(out, stream.length);
    id(out, stream.last_id);
    if format >= 2 {
        id(out, stream.first_id.unwrap_or_default());
        id(out, stream.max_deleted_id.unwrap_or_default());
        write_len(out, stream.entries_added.unwrap_or(stream.length));
    }
    write_len(out, stream.groups.len() as u64);
    for g in &stream.groups {
        write_string(out, &g.name.to_vec()?);
        id(out, g.last_id);
        if format >= 2 {
            write_len(out, g.entries_read.unwrap_or(u64::MAX));
        }
        write_len(out, g.pending.len() as u64);
        for p in &g.pending {
            raw_id(out, p.id);
            out.extend_from_slice(&p.delivery_time_ms.to_le_bytes());
            write_len(out, p.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for c in &g.consumers {
            write_string(out, &c.name.to_vec()?);
            out.extend_from_slice(&c.seen_time_ms.to_le_bytes());
            if format >= 3 {
                out.extend_from_slice(&c.active_time_ms.unwrap_or(c.seen_time_ms).to_le_bytes());
            }
            write_len(out, c.pending.len() as u64);
            for p in &c.pending {
                raw_id(out, *p);
            }
        }
    }
    Ok(Some(type_byte))
}

/// A score as a ziplist stores it: an integer when it is one (as Redis's
/// `ziplistInsert` stores `d2string`'s digits), else its shortest form with an
/// exponent (`1.5e0`, `inf`, `-inf`): `strtod` reads it back exactly, and it stays
/// far below the 127 bytes Redis's `zzlStrtod` reads of a score.
fn score_element(score: f64, buf: &mut String) -> Element<'_> {
    if score.fract() == 0.0 && score.abs() < (1u64 << 53) as f64 {
        return Element::Int(score as i64);
    }
    buf.clear();
    use std::fmt::Write;
    let _ = write!(buf, "{score:e}");
    Element::Bytes(buf.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{listpack, parse_dump};
    use proptest::prelude::*;

    /// An element as a test holds it: bytes or an integer.
    #[derive(Clone, Debug)]
    enum Owned {
        Bytes(Vec<u8>),
        Int(i64),
    }

    impl Owned {
        fn element(&self) -> Element<'_> {
            match self {
                Owned::Bytes(b) => Element::Bytes(b),
                Owned::Int(i) => Element::Int(*i),
            }
        }
    }

    fn owned() -> impl Strategy<Value = Owned> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300).prop_map(Owned::Bytes),
            any::<i64>().prop_map(Owned::Int),
            (-5000i64..5000).prop_map(Owned::Int),
        ]
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::INFINITE,
            (-1000i64..1000).prop_map(|i| i as f64),
            (-1000i64..1000).prop_map(|i| i as f64 / 8.0),
        ]
    }

    /// A payload of `type_byte` holding `body`, at `from`, re-encoded for `to`
    /// and decoded again.
    fn through(type_byte: u8, body: &[u8], from: u16, to: u32) -> (u8, u32, Vec<u8>) {
        let payload = build_payload(type_byte, body, from);
        let d = parse_dump(&payload).unwrap();
        let out = payload_for(d.type_byte, d.raw_value, &d.value, d.header, to)
            .unwrap()
            .expect("a form for the older version");
        let back = parse_dump(&out).unwrap();
        (back.type_byte, back.header.version, out)
    }

    fn lp(elements: &[Element<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        write_string(&mut body, &listpack::encode(elements));
        body
    }

    proptest! {
        #[test]
        fn listpack_hashes_become_ziplists(fields in prop::collection::vec((owned(), owned()), 1..200)) {
            let elements: Vec<Element<'_>> =
                fields.iter().flat_map(|(f, v)| [f.element(), v.element()]).collect();
            let (t, v, out) = through(code::HASH_LISTPACK, &lp(&elements), 10, 9);
            prop_assert_eq!((t, v), (code::HASH_ZIPLIST, 9));
            let Value::Hash(h) = parse_dump(&out).unwrap().value else { panic!("a hash") };
            let mut got = Vec::new();
            h.try_fold((), |(), f| { got.push((f.field.to_vec(), f.value.to_vec())); Ok::<_, crate::Error>(()) }).unwrap();
            let want: Vec<_> = fields.iter().map(|(f, v)| (f.element().to_vec(), v.element().to_vec())).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn listpack_sorted_sets_become_ziplists(members in prop::collection::vec((owned(), score()), 1..200)) {
            let mut text = Vec::new();
            for (_, s) in &members {
                text.push(if s.is_infinite() { format!("{s}") } else { format!("{s:e}") });
            }
            let elements: Vec<Element<'_>> = members
                .iter()
                .zip(&text)
                .flat_map(|((m, _), s)| [m.element(), Element::Bytes(s.as_bytes())])
                .collect();
            let (t, _, out) = through(code::ZSET_LISTPACK, &lp(&elements), 10, 9);
            prop_assert_eq!(t, code::ZSET_ZIPLIST);
            let Value::SortedSet(z) = parse_dump(&out).unwrap().value else { panic!("a zset") };
            let mut got = Vec::new();
            z.try_fold((), |(), m, s| { got.push((m.to_vec(), s)); Ok::<_, crate::Error>(()) }).unwrap();
            let want: Vec<_> = members.iter().map(|(m, s)| (m.element().to_vec(), *s)).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn quicklists_2_become_quicklists_and_set_listpacks_sets(items in prop::collection::vec(owned(), 1..700)) {
            let elements: Vec<Element<'_>> = items.iter().map(Owned::element).collect();
            // One packed node per 100 elements.
            let mut body = Vec::new();
            let chunks: Vec<&[Element<'_>]> = elements.chunks(100).collect();
            write_len(&mut body, chunks.len() as u64);
            for c in &chunks {
                write_len(&mut body, 2);
                write_string(&mut body, &listpack::encode(c));
            }
            let want: Vec<Vec<u8>> = items.iter().map(|e| e.element().to_vec()).collect();
            let (t, _, out) = through(code::LIST_QUICKLIST_2, &body, 10, 9);
            prop_assert_eq!(t, code::LIST_QUICKLIST);
            let Value::List(l) = parse_dump(&out).unwrap().value else { panic!("a list") };
            let mut got = Vec::new();
            l.try_fold((), |(), e| { got.push(e.to_vec()); Ok::<_, crate::Error>(()) }).unwrap();
            prop_assert_eq!(&got, &want);

            let (t, v, out) = through(code::SET_LISTPACK, &lp(&elements), 11, 10);
            prop_assert_eq!((t, v), (code::SET, 10));
            let Value::Set(s) = parse_dump(&out).unwrap().value else { panic!("a set") };
            let mut got = Vec::new();
            s.try_fold((), |(), e| { got.push(e.to_vec()); Ok::<_, crate::Error>(()) }).unwrap();
            prop_assert_eq!(got, want);
        }
    }

    /// Types whose bytes did not change keep them, under the older footer; what
    /// has no older form here is `None`.
    #[test]
    fn unchanged_types_keep_their_bytes() {
        let mut body = Vec::new();
        write_string(&mut body, b"hello");
        let (t, v, out) = through(code::STRING, &body, 12, 11);
        assert_eq!((t, v), (code::STRING, 11));
        assert_eq!(&out[1..out.len() - 10], &body[..]);
        let hash = lp(&[Element::Bytes(b"f"), Element::Bytes(b"v")]);
        // A Redis 7.4 listpack hash for Valkey (11): the same bytes.
        let (t, v, _) = through(code::HASH_LISTPACK, &hash, 12, 11);
        assert_eq!((t, v), (code::HASH_LISTPACK, 11));
        let payload = build_payload(code::HASH_LISTPACK, &hash, 12);
        let d = parse_dump(&payload).unwrap();
        let none = payload_for(code::HASH_LISTPACK_EX, d.raw_value, &d.value, d.header, 11);
        assert!(none.unwrap().is_none());
    }

    /// The fields of a decoded hash: (field, value, expiry).
    fn fields(value: &Value<'_>) -> Vec<(Vec<u8>, Vec<u8>, Option<i64>)> {
        let Value::Hash(h) = value else {
            panic!("not a hash")
        };
        let mut out = Vec::new();
        h.try_fold((), |(), f| {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            f.field.write_to(&mut a);
            f.value.write_to(&mut b);
            out.push((a, b, f.expire_ms));
            Ok::<_, crate::Error>(())
        })
        .unwrap();
        out
    }

    /// Redis 7.4's hashes with field TTLs, for Valkey 9 as its `HASH_2` under
    /// footer 80: every field with its expiry.
    #[test]
    fn field_ttl_hashes_for_valkey() {
        let t = 1_900_000_000_000i64;
        // HASH_METADATA: min expiry, then (expiry - min + 1 or 0, field, value).
        let mut meta = t.to_le_bytes().to_vec();
        write_len(&mut meta, 2);
        write_len(&mut meta, 0);
        write_string(&mut meta, b"keep");
        write_string(&mut meta, b"1");
        write_len(&mut meta, 11);
        write_string(&mut meta, b"f");
        write_string(&mut meta, b"2");
        // HASH_LISTPACK_EX: min expiry, then a listpack of triplets (0: none).
        let triplets = listpack::encode(&[
            Element::Bytes(b"a"),
            Element::Int(7),
            Element::Int(t),
            Element::Bytes(b"b"),
            Element::Bytes(b"2"),
            Element::Int(0),
        ]);
        let mut lpex = t.to_le_bytes().to_vec();
        write_string(&mut lpex, &triplets);
        for (type_byte, body) in [(code::HASH_METADATA, meta), (code::HASH_LISTPACK_EX, lpex)] {
            let payload = build_payload(type_byte, &body, 12);
            let d = parse_dump(&payload).unwrap();
            let expected = fields(&d.value);
            assert!(expected.iter().any(|f| f.2.is_some()));
            let none = payload_for(type_byte, d.raw_value, &d.value, d.header, 11).unwrap();
            assert!(none.is_none());
            let payload = valkey_payload_for(type_byte, d.raw_value, &d.value, d.header)
                .unwrap()
                .expect("a Valkey form");
            let back = parse_dump(&payload).unwrap();
            assert_eq!(
                (back.header.dialect, back.type_byte),
                (Dialect::Valkey, code::HASH_22)
            );
            assert_eq!(fields(&back.value), expected);
        }
        // Redis's pre-GA type 22 under a footer of 11 is no Valkey HASH_2.
        let mut pre = Vec::new();
        write_len(&mut pre, 1);
        write_len(&mut pre, t as u64);
        write_string(&mut pre, b"p");
        write_string(&mut pre, b"v");
        let payload = build_payload(code::HASH_22, &pre, 11);
        let d = parse_dump(&payload).unwrap();
        let out = valkey_payload_for(d.type_byte, d.raw_value, &d.value, d.header)
            .unwrap()
            .unwrap();
        assert_ne!(&out[1..out.len() - 10], &pre[..]);
        let back = parse_dump(&out).unwrap();
        assert_eq!(
            fields(&back.value),
            [(b"p".to_vec(), b"v".to_vec(), Some(t))]
        );
        // What Valkey reads already stays as it is.
        let hash = lp(&[Element::Bytes(b"f"), Element::Bytes(b"v")]);
        let payload = build_payload(code::HASH_LISTPACK, &hash, 12);
        let d = parse_dump(&payload).unwrap();
        let (t, bytes) = valkey_value_for(d.type_byte, d.raw_value, &d.value, d.header)
            .unwrap()
            .unwrap();
        assert_eq!((t, &bytes[..]), (code::HASH_LISTPACK, &hash[..]));
    }
}
