//! Comparing one key's value on two sides. A value is walked in [`Piece`]s of at
//! most [`PIECE`] elements ([`PIECE_BYTES`] bytes of a string): small values are
//! gathered whole into a [`Canon`] (from a `DUMP` payload or an RDB file, decoded by
//! `rdb-parser`) and compared in memory; large ones are compared piece by piece,
//! each piece of the source looked up on the target (`LRANGE` / `GETRANGE` /
//! `XRANGE` ranges at the same place, `SMISMEMBER`, `ZMSCORE`, `HMGET` and
//! `HPEXPIRETIME` for the members and fields), so neither side is ever held whole.
//!
//! Sets, sorted sets and hashes have unique members: with equal lengths, every
//! source member found on the target with the same score or value means equal.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use rdb_parser::{
    Elements, Fields, RdbString, ScoredMembers, Stream, StreamEntries, StreamId, Value,
};
use resp_codec::Frame;

use crate::error::{Error, Result, show};
use crate::side::{Request, Side};

/// Elements per piece of a collection or stream.
pub const PIECE: usize = 512;

/// Bytes per piece of a string.
pub const PIECE_BYTES: usize = 64 << 10;

/// A hash field: name, value, expiry (unix ms).
pub(crate) type HashField = (Vec<u8>, Vec<u8>, Option<i64>);

/// A stream entry: its ID and its field-value list.
pub(crate) type Entry = (StreamId, Vec<Vec<u8>>);

/// A run of a value's content, owned.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    /// String bytes from `offset`.
    Bytes { offset: u64, bytes: Vec<u8> },
    /// List elements from index `start`.
    List { start: u64, items: Vec<Vec<u8>> },
    /// Set members.
    Members(Vec<Vec<u8>>),
    /// Sorted-set members and scores.
    Scored(Vec<(Vec<u8>, f64)>),
    /// Hash fields.
    Fields(Vec<HashField>),
    /// Stream entries after `after` (from the first when `None`).
    Entries {
        after: Option<StreamId>,
        entries: Vec<Entry>,
    },
}

/// The one walk over a value view: its content in pieces, whatever its type.
pub(crate) enum Walk<'a> {
    String {
        bytes: Cow<'a, [u8]>,
        offset: usize,
    },
    List {
        cursor: Elements<'a>,
        index: u64,
    },
    Set(Elements<'a>),
    SortedSet(ScoredMembers<'a>),
    Hash(Fields<'a>),
    Stream {
        cursor: StreamEntries<'a>,
        after: Option<StreamId>,
    },
    Done,
}

impl<'a> Walk<'a> {
    /// A walk over `value`; `None` for module values and arrays, which are not
    /// walked.
    pub(crate) fn new(value: &Value<'a>) -> rdb_parser::Result<Option<Walk<'a>>> {
        Ok(Some(match value {
            Value::String(s) => Walk::String {
                bytes: string_bytes(s)?,
                offset: 0,
            },
            Value::List(l) => Walk::List {
                cursor: l.elements()?,
                index: 0,
            },
            Value::Set(s) => Walk::Set(s.members()?),
            Value::SortedSet(z) => Walk::SortedSet(z.members()?),
            Value::Hash(h) => Walk::Hash(h.fields()?),
            Value::Stream(s) => Walk::Stream {
                cursor: s.entries(),
                after: None,
            },
            _ => return Ok(None),
        }))
    }

    /// The next piece, or `None` after the last.
    pub(crate) fn next_piece(&mut self) -> rdb_parser::Result<Option<Piece>> {
        let piece = match self {
            Walk::String { bytes, offset } => {
                let end = (*offset + PIECE_BYTES).min(bytes.len());
                if *offset >= bytes.len() && *offset > 0 {
                    None
                } else {
                    let piece = Piece::Bytes {
                        offset: *offset as u64,
                        bytes: bytes[*offset..end].to_vec(),
                    };
                    // An empty string still yields one (empty) piece.
                    *offset = end.max(1);
                    Some(piece)
                }
            }
            Walk::List { cursor, index } => {
                let mut items = Vec::new();
                while items.len() < PIECE {
                    match cursor.next()? {
                        Some(e) => items.push(e.to_vec()),
                        None => break,
                    }
                }
                let start = *index;
                *index += items.len() as u64;
                (!items.is_empty()).then_some(Piece::List { start, items })
            }
            Walk::Set(cursor) => {
                let mut items = Vec::new();
                while items.len() < PIECE {
                    match cursor.next()? {
                        Some(e) => items.push(e.to_vec()),
                        None => break,
                    }
                }
                (!items.is_empty()).then_some(Piece::Members(items))
            }
            Walk::SortedSet(cursor) => {
                let mut items = Vec::new();
                while items.len() < PIECE {
                    match cursor.next()? {
                        Some((m, score)) => items.push((m.to_vec(), score)),
                        None => break,
                    }
                }
                (!items.is_empty()).then_some(Piece::Scored(items))
            }
            Walk::Hash(cursor) => {
                let mut items = Vec::new();
                while items.len() < PIECE {
                    match cursor.next()? {
                        Some(f) => items.push((f.field.to_vec(), f.value.to_vec(), f.expire_ms)),
                        None => break,
                    }
                }
                (!items.is_empty()).then_some(Piece::Fields(items))
            }
            Walk::Stream { cursor, after } => {
                let mut entries = Vec::new();
                while entries.len() < PIECE {
                    match cursor.next()? {
                        Some(e) => {
                            let mut fields = Vec::with_capacity(e.len() * 2);
                            for (f, v) in e.fields() {
                                fields.push(f.to_vec());
                                fields.push(v.to_vec());
                            }
                            entries.push((e.id, fields));
                        }
                        None => break,
                    }
                }
                let start = *after;
                *after = entries.last().map(|e| e.0).or(start);
                (!entries.is_empty()).then_some(Piece::Entries {
                    after: start,
                    entries,
                })
            }
            Walk::Done => None,
        };
        if piece.is_none() {
            *self = Walk::Done;
        }
        Ok(piece)
    }
}

fn string_bytes<'a>(s: &RdbString<'a>) -> rdb_parser::Result<Cow<'a, [u8]>> {
    s.to_cow()
}

/// A consumer group as compared: last delivered ID, pending entries (owner and
/// delivery count; delivery times are left out) and consumer names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Group {
    last_id: StreamId,
    pending: BTreeMap<StreamId, (Vec<u8>, u64)>,
    consumers: BTreeSet<Vec<u8>>,
}

/// A stream's groups by name.
pub(crate) type Groups = BTreeMap<Vec<u8>, Group>;

/// The groups of a stream read from an RDB or a `DUMP` payload.
pub(crate) fn groups_of(stream: &Stream<'_>) -> rdb_parser::Result<Groups> {
    let mut groups = Groups::new();
    for g in &stream.groups {
        let mut group = Group {
            last_id: g.last_id,
            ..Group::default()
        };
        let mut owner = BTreeMap::new();
        for c in &g.consumers {
            let name = c.name.to_vec()?;
            for id in &c.pending {
                owner.insert(*id, name.clone());
            }
            group.consumers.insert(name);
        }
        for p in &g.pending {
            let who = owner.get(&p.id).cloned().unwrap_or_default();
            group.pending.insert(p.id, (who, p.delivery_count));
        }
        groups.insert(g.name.to_vec()?, group);
    }
    Ok(groups)
}

/// A value held whole, in a form that does not depend on its encoding.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Canon {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    SortedSet(BTreeMap<Vec<u8>, f64>),
    Hash(BTreeMap<Vec<u8>, (Vec<u8>, Option<i64>)>),
    Stream {
        entries: Vec<Entry>,
        last_id: StreamId,
        groups: Groups,
    },
}

impl Canon {
    /// Gathers `value` whole (call it on small values only); `None` for module
    /// values and arrays.
    pub(crate) fn of(value: &Value<'_>) -> rdb_parser::Result<Option<Canon>> {
        let Some(mut walk) = Walk::new(value)? else {
            return Ok(None);
        };
        let mut canon = match value {
            Value::String(_) => Canon::String(Vec::new()),
            Value::List(_) => Canon::List(Vec::new()),
            Value::Set(_) => Canon::Set(BTreeSet::new()),
            Value::SortedSet(_) => Canon::SortedSet(BTreeMap::new()),
            Value::Hash(_) => Canon::Hash(BTreeMap::new()),
            Value::Stream(s) => Canon::Stream {
                entries: Vec::new(),
                last_id: s.last_id,
                groups: groups_of(s)?,
            },
            _ => return Ok(None),
        };
        while let Some(piece) = walk.next_piece()? {
            match (&mut canon, piece) {
                (Canon::String(all), Piece::Bytes { bytes, .. }) => all.extend(bytes),
                (Canon::List(all), Piece::List { items, .. }) => all.extend(items),
                (Canon::Set(all), Piece::Members(items)) => all.extend(items),
                (Canon::SortedSet(all), Piece::Scored(items)) => all.extend(items),
                (Canon::Hash(all), Piece::Fields(items)) => {
                    all.extend(items.into_iter().map(|(f, v, t)| (f, (v, t))));
                }
                (Canon::Stream { entries: all, .. }, Piece::Entries { entries, .. }) => {
                    all.extend(entries);
                }
                _ => {}
            }
        }
        Ok(Some(canon))
    }

    /// The first difference between `self` (the source) and `target`, for a
    /// person; `None` when they are equal (hash field expiries within
    /// `tolerance_ms`).
    pub(crate) fn diff(&self, target: &Canon, tolerance_ms: i64) -> Option<String> {
        match (self, target) {
            (Canon::String(a), Canon::String(b)) => {
                (a != b).then(|| format!("source {}, target {}", show(a), show(b)))
            }
            (Canon::List(a), Canon::List(b)) => ordered(a, b, 0),
            (Canon::Set(a), Canon::Set(b)) => {
                if let Some(m) = a.difference(b).next() {
                    Some(format!("member {} missing on the target", show(m)))
                } else {
                    b.difference(a)
                        .next()
                        .map(|m| format!("member {} only on the target", show(m)))
                }
            }
            (Canon::SortedSet(a), Canon::SortedSet(b)) => {
                for (m, s) in a {
                    match b.get(m) {
                        None => return Some(format!("member {} missing on the target", show(m))),
                        Some(t) if !same_score(*s, *t) => {
                            return Some(format!(
                                "member {}: score {} on the source, {} on the target",
                                show(m),
                                s,
                                t
                            ));
                        }
                        _ => {}
                    }
                }
                b.keys()
                    .find(|m| !a.contains_key(*m))
                    .map(|m| format!("member {} only on the target", show(m)))
            }
            (Canon::Hash(a), Canon::Hash(b)) => {
                for (f, (v, t)) in a {
                    match b.get(f) {
                        None => return Some(format!("field {} missing on the target", show(f))),
                        Some((w, u)) => {
                            if let Some(d) = field_diff(f, v, *t, w, *u, tolerance_ms) {
                                return Some(d);
                            }
                        }
                    }
                }
                b.keys()
                    .find(|f| !a.contains_key(*f))
                    .map(|f| format!("field {} only on the target", show(f)))
            }
            (
                Canon::Stream {
                    entries: a,
                    last_id: la,
                    groups: ga,
                },
                Canon::Stream {
                    entries: b,
                    last_id: lb,
                    groups: gb,
                },
            ) => entries_diff(a, b)
                .or_else(|| {
                    (la != lb).then(|| format!("last ID {la} on the source, {lb} on the target"))
                })
                .or_else(|| groups_diff(ga, gb)),
            (a, b) => Some(format!("source {a:?}, target {b:?}")),
        }
    }
}

/// Scores are equal, NaN included.
fn same_score(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn field_diff(
    f: &[u8],
    v: &[u8],
    t: Option<i64>,
    w: &[u8],
    u: Option<i64>,
    tolerance_ms: i64,
) -> Option<String> {
    if v != w {
        return Some(format!(
            "field {}: {} on the source, {} on the target",
            show(f),
            show(v),
            show(w)
        ));
    }
    let close = match (t, u) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= tolerance_ms,
        _ => false,
    };
    (!close).then(|| {
        let ms = |t: Option<i64>| t.map_or("none".to_owned(), |t| format!("{t}"));
        format!(
            "field {}: expiry {} on the source, {} on the target",
            show(f),
            ms(t),
            ms(u)
        )
    })
}

fn ordered(a: &[Vec<u8>], b: &[Vec<u8>], start: u64) -> Option<String> {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x != y {
            return Some(format!(
                "element {}: {} on the source, {} on the target",
                start + i as u64,
                show(x),
                show(y)
            ));
        }
    }
    (a.len() != b.len()).then(|| {
        format!(
            "{} elements on the source, {} on the target from index {start}",
            a.len(),
            b.len()
        )
    })
}

fn entries_diff(a: &[Entry], b: &[Entry]) -> Option<String> {
    for (x, y) in a.iter().zip(b) {
        if x.0 != y.0 {
            return Some(format!(
                "entry {} on the source, {} on the target",
                x.0, y.0
            ));
        }
        if x.1 != y.1 {
            return Some(format!("entry {}: other fields on the target", x.0));
        }
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Greater => {
            Some(format!("entry {} missing on the target", a[b.len()].0))
        }
        std::cmp::Ordering::Less => Some(format!("entry {} only on the target", b[a.len()].0)),
        std::cmp::Ordering::Equal => None,
    }
}

fn groups_diff(a: &Groups, b: &Groups) -> Option<String> {
    for (name, g) in a {
        let Some(h) = b.get(name) else {
            return Some(format!("group {} missing on the target", show(name)));
        };
        if g.last_id != h.last_id {
            return Some(format!(
                "group {}: last delivered ID {} on the source, {} on the target",
                show(name),
                g.last_id,
                h.last_id
            ));
        }
        if g.pending != h.pending {
            let first = g
                .pending
                .iter()
                .find(|(id, p)| h.pending.get(*id) != Some(*p))
                .map(|(id, _)| *id)
                .or_else(|| {
                    h.pending
                        .keys()
                        .find(|id| !g.pending.contains_key(*id))
                        .copied()
                });
            return Some(format!(
                "group {}: pending entries differ ({} on the source, {} on the target; first at {})",
                show(name),
                g.pending.len(),
                h.pending.len(),
                first.map_or("?".to_owned(), |id| id.to_string())
            ));
        }
        if g.consumers != h.consumers {
            return Some(format!(
                "group {}: other consumers on the target",
                show(name)
            ));
        }
    }
    b.keys()
        .find(|n| !a.contains_key(*n))
        .map(|n| format!("group {} only on the target", show(n)))
}

/// A key being compared, for errors and queries.
pub(crate) struct At<'k> {
    pub(crate) db: u64,
    pub(crate) key: &'k Bytes,
}

impl At<'_> {
    /// An error about this key on `side`.
    pub(crate) fn error(&self, side: &Side, reason: impl Into<String>) -> Error {
        Error::Key {
            side: side.role,
            node: side.node_for(self.key),
            db: self.db,
            key: show(self.key),
            reason: reason.into(),
        }
    }
}

/// What a reply means for a comparison: an error reply from a missing permission
/// or command stops the run; any other unexpected reply (a key that changed type
/// or vanished while it was read) is a difference, compared again next round.
fn refused(side: &Side, at: &At<'_>, command: &str, reply: &Frame) -> Result<String> {
    let text = reply
        .as_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| reply.type_name().to_owned());
    if reply.is_error() && (text.starts_with("NOPERM") || text.contains("unknown command")) {
        return Err(at.error(side, format!("{command}: {text}")));
    }
    Ok(format!(
        "{} changed while read ({command}: {text})",
        side.role
    ))
}

fn bytes_list(frame: &Frame) -> Option<Vec<Vec<u8>>> {
    frame
        .as_elements()?
        .iter()
        .map(|f| f.as_bytes().map(|b| b.to_vec()))
        .collect()
}

/// A score as a reply gives it (a bulk string, or a RESP3 double).
fn score_of(frame: &Frame) -> Option<f64> {
    match frame {
        Frame::Double(d) => Some(*d),
        f => rdb_parser::Element::Bytes(f.as_bytes()?).to_f64(),
    }
}

/// A stream ID as text (`ms-seq`).
fn parse_id(b: &[u8]) -> Option<StreamId> {
    let s = std::str::from_utf8(b).ok()?;
    let (ms, seq) = s.split_once('-')?;
    Some(StreamId {
        ms: ms.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

/// Entries from an `XRANGE` reply.
fn entries_of(frame: &Frame) -> Option<Vec<Entry>> {
    frame
        .as_elements()?
        .iter()
        .map(|e| {
            let parts = e.as_elements()?;
            let id = parse_id(parts.first()?.as_bytes()?)?;
            Some((id, bytes_list(parts.get(1)?)?))
        })
        .collect()
}

/// The name-value pairs of a map reply (RESP3 map, or RESP2 flat array).
fn pairs(frame: &Frame) -> Option<Vec<(Vec<u8>, &Frame)>> {
    match frame {
        Frame::Map(m) => m
            .iter()
            .map(|(k, v)| Some((k.as_bytes()?.to_vec(), v)))
            .collect(),
        f => f
            .as_elements()?
            .chunks(2)
            .map(|p| Some((p.first()?.as_bytes()?.to_vec(), p.get(1)?)))
            .collect(),
    }
}

fn field<'f>(pairs: &[(Vec<u8>, &'f Frame)], name: &str) -> Option<&'f Frame> {
    pairs
        .iter()
        .find(|(k, _)| k == name.as_bytes())
        .map(|(_, v)| *v)
}

/// Checks one piece of the source against the target; the first difference, or
/// `None` when the target holds the same.
///
/// # Errors
/// Connection errors, refused commands.
pub(crate) async fn check_piece(
    target: &mut Side,
    at: &At<'_>,
    piece: &Piece,
    tolerance_ms: i64,
) -> Result<Option<String>> {
    let key = at.key;
    match piece {
        Piece::Bytes { offset, bytes } => {
            let (a, b) = (
                offset.to_string(),
                (offset + bytes.len() as u64).saturating_sub(1).to_string(),
            );
            if bytes.is_empty() {
                return Ok(None);
            }
            let reply = one(
                target,
                at,
                Request::new("GETRANGE", key, &[a.as_bytes(), b.as_bytes()]),
            )
            .await?;
            let Some(got) = reply.as_bytes() else {
                return refused(target, at, "GETRANGE", &reply).map(Some);
            };
            Ok((got[..] != bytes[..]).then(|| {
                let i = got
                    .iter()
                    .zip(bytes)
                    .position(|(x, y)| x != y)
                    .unwrap_or(got.len().min(bytes.len()));
                format!("strings differ from byte {}", offset + i as u64)
            }))
        }
        Piece::List { start, items } => {
            let (a, b) = (
                start.to_string(),
                (start + items.len() as u64 - 1).to_string(),
            );
            let reply = one(
                target,
                at,
                Request::new("LRANGE", key, &[a.as_bytes(), b.as_bytes()]),
            )
            .await?;
            let Some(got) = bytes_list(&reply) else {
                return refused(target, at, "LRANGE", &reply).map(Some);
            };
            Ok(ordered(items, &got, *start))
        }
        Piece::Members(items) => {
            let args: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            let reply = one(target, at, Request::new("SMISMEMBER", key, &args)).await?;
            let flags = reply
                .as_elements()
                .map(|f| f.iter().map(Frame::as_integer).collect::<Vec<_>>());
            match flags {
                Some(flags) if flags.len() == items.len() => Ok(items
                    .iter()
                    .zip(flags)
                    .find(|(_, f)| *f != Some(1))
                    .map(|(m, _)| format!("member {} missing on the target", show(m)))),
                _ => refused(target, at, "SMISMEMBER", &reply).map(Some),
            }
        }
        Piece::Scored(items) => {
            let args: Vec<&[u8]> = items.iter().map(|m| m.0.as_slice()).collect();
            let reply = one(target, at, Request::new("ZMSCORE", key, &args)).await?;
            match reply.as_elements() {
                Some(scores) if scores.len() == items.len() => {
                    for ((m, s), t) in items.iter().zip(scores) {
                        match score_of(t) {
                            None => {
                                return Ok(Some(format!(
                                    "member {} missing on the target",
                                    show(m)
                                )));
                            }
                            Some(t) if !same_score(*s, t) => {
                                return Ok(Some(format!(
                                    "member {}: score {s} on the source, {t} on the target",
                                    show(m)
                                )));
                            }
                            _ => {}
                        }
                    }
                    Ok(None)
                }
                _ => refused(target, at, "ZMSCORE", &reply).map(Some),
            }
        }
        Piece::Fields(items) => {
            let names: Vec<&[u8]> = items.iter().map(|f| f.0.as_slice()).collect();
            let mut requests = vec![Request::new("HMGET", key, &names)];
            let ttls = target.has_field_ttls();
            if ttls {
                requests.push(field_ttl_request(key, &names));
            } else if items.iter().any(|f| f.2.is_some()) {
                return Ok(Some("hash field expiries: the target has none".into()));
            }
            let replies = target.query(at.db, &requests).await?;
            let Some(values) = replies[0].as_elements().filter(|v| v.len() == items.len()) else {
                return refused(target, at, "HMGET", &replies[0]).map(Some);
            };
            let expiries = match ttls {
                true => match field_expiries(&replies[1], items.len()) {
                    Some(e) => e,
                    None => return refused(target, at, "HPEXPIRETIME", &replies[1]).map(Some),
                },
                false => vec![None; items.len()],
            };
            for (((f, v, t), w), u) in items.iter().zip(values).zip(expiries) {
                let Some(w) = w.as_bytes() else {
                    return Ok(Some(format!("field {} missing on the target", show(f))));
                };
                if let Some(d) = field_diff(f, v, *t, w, u, tolerance_ms) {
                    return Ok(Some(d));
                }
            }
            Ok(None)
        }
        Piece::Entries { after, entries } => {
            let from = after.map_or("-".to_owned(), |id| format!("({id}"));
            let count = entries.len().to_string();
            let reply = one(
                target,
                at,
                Request::new(
                    "XRANGE",
                    key,
                    &[from.as_bytes(), b"+", b"COUNT", count.as_bytes()],
                ),
            )
            .await?;
            let Some(got) = entries_of(&reply) else {
                return refused(target, at, "XRANGE", &reply).map(Some);
            };
            Ok(entries_diff(entries, &got))
        }
    }
}

fn field_ttl_request(key: &Bytes, names: &[&[u8]]) -> Request {
    let n = names.len().to_string();
    let mut args: Vec<&[u8]> = vec![b"FIELDS", n.as_bytes()];
    args.extend_from_slice(names);
    Request::new("HPEXPIRETIME", key, &args)
}

/// Field expiries from an `HPEXPIRETIME` reply (`-1`: none; `-2`: no such field).
fn field_expiries(reply: &Frame, n: usize) -> Option<Vec<Option<i64>>> {
    let v = reply.as_elements()?;
    (v.len() == n).then(|| {
        v.iter()
            .map(|t| t.as_integer().filter(|t| *t >= 0))
            .collect()
    })
}

async fn one(side: &mut Side, at: &At<'_>, request: Request) -> Result<Frame> {
    let mut replies = side.query(at.db, &[request]).await?;
    Ok(replies.pop().unwrap_or(Frame::Null))
}

/// Reads the pieces of a large value from a live side, as [`Walk`] reads them
/// from a view.
pub(crate) struct LiveWalk {
    kind: LiveKind,
    /// SCAN cursor, list index, string offset.
    position: u64,
    cursor: Vec<u8>,
    after: Option<StreamId>,
    len: u64,
    done: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LiveKind {
    String,
    List,
    Set,
    SortedSet,
    Hash,
    Stream,
}

impl LiveWalk {
    /// A walk over a value of type `value_type` (as `TYPE` names it) of `len`
    /// elements (bytes for a string); `None` for types it does not walk.
    pub(crate) fn new(value_type: &str, len: u64) -> Option<LiveWalk> {
        let kind = match value_type {
            "string" => LiveKind::String,
            "list" => LiveKind::List,
            "set" => LiveKind::Set,
            "zset" => LiveKind::SortedSet,
            "hash" => LiveKind::Hash,
            "stream" => LiveKind::Stream,
            _ => return None,
        };
        Some(LiveWalk {
            kind,
            position: 0,
            cursor: b"0".to_vec(),
            after: None,
            len,
            done: false,
        })
    }

    /// The next piece; `Err(detail)` inside `Ok` when the value changed under the
    /// walk.
    ///
    /// # Errors
    /// Connection errors, refused commands.
    pub(crate) async fn next_piece(
        &mut self,
        side: &mut Side,
        at: &At<'_>,
    ) -> Result<std::result::Result<Option<Piece>, String>> {
        if self.done {
            return Ok(Ok(None));
        }
        let key = at.key;
        let count = PIECE.to_string();
        match self.kind {
            LiveKind::String => {
                let end = (self.position + PIECE_BYTES as u64).min(self.len);
                let (a, b) = (self.position.to_string(), end.saturating_sub(1).to_string());
                let reply = one(
                    side,
                    at,
                    Request::new("GETRANGE", key, &[a.as_bytes(), b.as_bytes()]),
                )
                .await?;
                let Some(bytes) = reply.as_bytes() else {
                    return refused(side, at, "GETRANGE", &reply).map(Err);
                };
                let piece = Piece::Bytes {
                    offset: self.position,
                    bytes: bytes.to_vec(),
                };
                self.position = end;
                self.done = end >= self.len;
                Ok(Ok(Some(piece)))
            }
            LiveKind::List => {
                let (a, b) = (
                    self.position.to_string(),
                    (self.position + PIECE as u64 - 1).to_string(),
                );
                let reply = one(
                    side,
                    at,
                    Request::new("LRANGE", key, &[a.as_bytes(), b.as_bytes()]),
                )
                .await?;
                let Some(items) = bytes_list(&reply) else {
                    return refused(side, at, "LRANGE", &reply).map(Err);
                };
                let start = self.position;
                self.position += items.len() as u64;
                self.done = items.len() < PIECE;
                Ok(Ok(
                    (!items.is_empty()).then_some(Piece::List { start, items })
                ))
            }
            LiveKind::Set | LiveKind::SortedSet | LiveKind::Hash => {
                let name = match self.kind {
                    LiveKind::Set => "SSCAN",
                    LiveKind::SortedSet => "ZSCAN",
                    _ => "HSCAN",
                };
                let reply = one(
                    side,
                    at,
                    Request::new(name, key, &[&self.cursor, b"COUNT", count.as_bytes()]),
                )
                .await?;
                let parts = reply.as_elements();
                let (Some(next), Some(items)) = (
                    parts.and_then(|p| p.first()).and_then(Frame::as_bytes),
                    parts.and_then(|p| p.get(1)).and_then(bytes_list),
                ) else {
                    return refused(side, at, name, &reply).map(Err);
                };
                self.done = &next[..] == b"0";
                self.cursor = next.to_vec();
                let piece = match self.kind {
                    LiveKind::Set => Piece::Members(items),
                    LiveKind::SortedSet => {
                        let mut scored = Vec::with_capacity(items.len() / 2);
                        for pair in items.chunks(2) {
                            let score = pair
                                .get(1)
                                .and_then(|s| rdb_parser::Element::Bytes(s).to_f64())
                                .unwrap_or(f64::NAN);
                            scored.push((pair[0].clone(), score));
                        }
                        Piece::Scored(scored)
                    }
                    _ => {
                        let mut fields: Vec<HashField> = items
                            .chunks(2)
                            .map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default(), None))
                            .collect();
                        if side.has_field_ttls() && !fields.is_empty() {
                            let names: Vec<&[u8]> = fields.iter().map(|f| f.0.as_slice()).collect();
                            let reply = one(side, at, field_ttl_request(key, &names)).await?;
                            let Some(expiries) = field_expiries(&reply, fields.len()) else {
                                return refused(side, at, "HPEXPIRETIME", &reply).map(Err);
                            };
                            for (f, t) in fields.iter_mut().zip(expiries) {
                                f.2 = t;
                            }
                        }
                        Piece::Fields(fields)
                    }
                };
                Ok(Ok(Some(piece)))
            }
            LiveKind::Stream => {
                let from = self.after.map_or("-".to_owned(), |id| format!("({id}"));
                let reply = one(
                    side,
                    at,
                    Request::new(
                        "XRANGE",
                        key,
                        &[from.as_bytes(), b"+", b"COUNT", count.as_bytes()],
                    ),
                )
                .await?;
                let Some(entries) = entries_of(&reply) else {
                    return refused(side, at, "XRANGE", &reply).map(Err);
                };
                let after = self.after;
                self.after = entries.last().map(|e| e.0).or(after);
                self.done = entries.len() < PIECE;
                Ok(Ok(
                    (!entries.is_empty()).then_some(Piece::Entries { after, entries })
                ))
            }
        }
    }
}

/// A stream's last ID and groups, read with `XINFO STREAM`, `XINFO GROUPS`,
/// `XINFO CONSUMERS` and `XPENDING` (the pending entries of a group are held
/// whole); `Err(detail)` inside `Ok` when the stream changed under the reads.
///
/// # Errors
/// Connection errors, refused commands.
pub(crate) async fn live_stream_meta(
    side: &mut Side,
    at: &At<'_>,
) -> Result<std::result::Result<(StreamId, Groups), String>> {
    let key = at.key;
    let info = one(side, at, xinfo("STREAM", key, None)).await?;
    let Some(last_id) = pairs(&info).and_then(|p| {
        field(&p, "last-generated-id")
            .and_then(Frame::as_bytes)
            .and_then(|b| parse_id(b))
    }) else {
        return refused(side, at, "XINFO STREAM", &info).map(Err);
    };
    let reply = one(side, at, xinfo("GROUPS", key, None)).await?;
    let Some(list) = reply.as_elements() else {
        return refused(side, at, "XINFO GROUPS", &reply).map(Err);
    };
    let mut groups = Groups::new();
    for g in list {
        let Some(p) = pairs(g) else {
            return refused(side, at, "XINFO GROUPS", &reply).map(Err);
        };
        let (Some(name), Some(last)) = (
            field(&p, "name").and_then(Frame::as_bytes),
            field(&p, "last-delivered-id")
                .and_then(Frame::as_bytes)
                .and_then(|b| parse_id(b)),
        ) else {
            return refused(side, at, "XINFO GROUPS", &reply).map(Err);
        };
        let mut group = Group {
            last_id: last,
            ..Group::default()
        };
        let consumers = one(side, at, xinfo("CONSUMERS", key, Some(name))).await?;
        for c in consumers.as_elements().unwrap_or_default() {
            if let Some(n) = pairs(c).and_then(|p| {
                field(&p, "name")
                    .and_then(Frame::as_bytes)
                    .map(|b| b.to_vec())
            }) {
                group.consumers.insert(n);
            }
        }
        let mut from = "-".to_owned();
        loop {
            let count = (PIECE * 4).to_string();
            let reply = one(
                side,
                at,
                Request::new(
                    "XPENDING",
                    key,
                    &[name, from.as_bytes(), b"+", count.as_bytes()],
                ),
            )
            .await?;
            let Some(rows) = reply.as_elements() else {
                return refused(side, at, "XPENDING", &reply).map(Err);
            };
            let mut last = None;
            for row in rows {
                let r = row.as_elements().unwrap_or_default();
                let (Some(id), Some(owner), Some(n)) = (
                    r.first()
                        .and_then(Frame::as_bytes)
                        .and_then(|b| parse_id(b)),
                    r.get(1).and_then(Frame::as_bytes),
                    r.get(3).and_then(Frame::as_integer),
                ) else {
                    return refused(side, at, "XPENDING", &reply).map(Err);
                };
                group.pending.insert(id, (owner.to_vec(), n as u64));
                last = Some(id);
            }
            match last {
                Some(id) if rows.len() >= PIECE * 4 => from = format!("({id}"),
                _ => break,
            }
        }
        groups.insert(name.to_vec(), group);
    }
    Ok(Ok((last_id, groups)))
}

fn xinfo(what: &'static str, key: &Bytes, group: Option<&Bytes>) -> Request {
    let mut args = vec![
        Bytes::from_static(b"XINFO"),
        Bytes::from_static(what.as_bytes()),
        key.clone(),
    ];
    args.extend(group.cloned());
    Request {
        key: key.clone(),
        args,
    }
}

/// The groups and last ID of a stream in pieces compared: source against target.
pub(crate) fn stream_meta_diff(
    source: &(StreamId, Groups),
    target: &(StreamId, Groups),
) -> Option<String> {
    let ((la, ga), (lb, gb)) = (source, target);
    (la != lb)
        .then(|| format!("last ID {la} on the source, {lb} on the target"))
        .or_else(|| groups_diff(ga, gb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canons_compare_by_content_not_encoding() {
        let a =
            Canon::SortedSet([(b"a".to_vec(), f64::INFINITY), (b"b".to_vec(), f64::NAN)].into());
        let b =
            Canon::SortedSet([(b"a".to_vec(), f64::INFINITY), (b"b".to_vec(), f64::NAN)].into());
        assert_eq!(a.diff(&b, 0), None, "NaN equals NaN, inf equals inf");
        let c = Canon::SortedSet(
            [
                (b"a".to_vec(), f64::NEG_INFINITY),
                (b"b".to_vec(), f64::NAN),
            ]
            .into(),
        );
        assert!(
            a.diff(&c, 0)
                .unwrap()
                .contains("score inf on the source, -inf")
        );
        let h = |t| Canon::Hash([(b"f".to_vec(), (b"v".to_vec(), t))].into());
        assert_eq!(h(Some(1000)).diff(&h(Some(1500)), 500), None);
        assert!(
            h(Some(1000))
                .diff(&h(None), 500)
                .unwrap()
                .contains("expiry")
        );
        let l = |v: &[&str]| Canon::List(v.iter().map(|s| s.as_bytes().to_vec()).collect());
        assert!(
            l(&["a", "b"])
                .diff(&l(&["a", "c"]), 0)
                .unwrap()
                .contains("element 1")
        );
        assert_eq!(parse_id(b"12-3"), Some(StreamId { ms: 12, seq: 3 }));
        assert_eq!(show(b"\xff"), "\"\\\\xff\"");
    }
}
