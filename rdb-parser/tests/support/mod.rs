//! A canonical, owned form of a value that both sides of a comparison can produce:
#![allow(dead_code)] // Shared by several test files, each using a part.
//! the parser (from a [`Value`] in an RDB or a DUMP payload) and a real server (from
//! the replies of `GET`, `LRANGE`, `SMEMBERS`, `ZRANGE`, `HGETALL`, `XRANGE`,
//! `XINFO STREAM FULL`...). Equal canonical forms mean equal values, whatever the
//! encoding; [`diff`] says where two forms part.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use rdb_parser::{StreamId, Value};
use testkit::Version;
use testkit::redis::{self, Connection, FromRedisValue};

/// Owned bytes whose `Debug` is escaped and bounded, so failure messages stay readable.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 48;
        let b = &self.0;
        write!(f, "b\"{}\"", b[..b.len().min(SHOWN)].escape_ascii())?;
        if b.len() > SHOWN {
            write!(f, "...({} bytes)", b.len())?;
        }
        Ok(())
    }
}

/// A value in canonical form.
#[derive(Clone, Debug, PartialEq)]
pub enum Canon {
    /// A string.
    String(Bytes),
    /// A list, head to tail.
    List(Vec<Bytes>),
    /// A set's members, sorted (duplicates kept, so a repeated member shows).
    Set(Vec<Bytes>),
    /// A sorted set in `ZRANGE` order: by score, then by member.
    SortedSet(Vec<(Bytes, f64)>),
    /// A hash's (field, value, field expiry ms), sorted by field.
    Hash(Vec<(Bytes, Bytes, Option<i64>)>),
    /// A stream with its metadata and groups.
    Stream(Box<CanonStream>),
    /// A type these servers never write (module, array): named, not compared.
    Other(&'static str),
}

/// A stream in canonical form. The `Option` fields are `None` where the format (or
/// the server's `XINFO`) has no such field: both sides must agree on that too.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CanonStream {
    /// Live entries in ID order, with their (field, value) pairs in order.
    pub entries: Vec<(StreamId, Vec<(Bytes, Bytes)>)>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: Option<StreamId>,
    pub max_deleted_id: Option<StreamId>,
    pub entries_added: Option<u64>,
    /// Sorted by name.
    pub groups: Vec<CanonGroup>,
}

/// A consumer group in canonical form.
#[derive(Clone, Debug, PartialEq)]
pub struct CanonGroup {
    pub name: Bytes,
    pub last_id: StreamId,
    /// `Some(-1)` for the "invalid" counter (`XINFO` shows nil), `None` before 7.0.
    pub entries_read: Option<i64>,
    /// The group PEL in ID order.
    pub pending: Vec<CanonPending>,
    /// Sorted by name.
    pub consumers: Vec<CanonConsumer>,
}

/// A group PEL entry with its owner.
#[derive(Clone, Debug, PartialEq)]
pub struct CanonPending {
    pub id: StreamId,
    /// The consumer whose PEL holds the entry.
    pub owner: Bytes,
    pub delivery_time_ms: i64,
    pub delivery_count: u64,
}

/// A consumer in canonical form.
#[derive(Clone, Debug, PartialEq)]
pub struct CanonConsumer {
    pub name: Bytes,
    pub seen_time_ms: i64,
    /// Stream format 3 (Redis 7.2+ / Valkey) only.
    pub active_time_ms: Option<i64>,
    /// The consumer PEL in ID order.
    pub pending: Vec<StreamId>,
}

impl Canon {
    /// The name `TYPE` gives this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Canon::String(_) => "string",
            Canon::List(_) => "list",
            Canon::Set(_) => "set",
            Canon::SortedSet(_) => "zset",
            Canon::Hash(_) => "hash",
            Canon::Stream(_) => "stream",
            Canon::Other(name) => name,
        }
    }

    /// The number of elements `Value::validate` counts (1 for a string, entries for
    /// a stream).
    pub fn len(&self) -> u64 {
        (match self {
            Canon::String(_) => 1,
            Canon::List(v) | Canon::Set(v) => v.len(),
            Canon::SortedSet(v) => v.len(),
            Canon::Hash(v) => v.len(),
            Canon::Stream(s) => s.entries.len(),
            Canon::Other(_) => 0,
        }) as u64
    }
}

/// `ZRANGE` order: by score (-0 equals 0; scores are never NaN), then by member.
fn by_score(a: &(Bytes, f64), b: &(Bytes, f64)) -> std::cmp::Ordering {
    a.1.partial_cmp(&b.1)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then_with(|| a.0.cmp(&b.0))
}

/// The canonical form of a parsed value, walking every entry.
///
/// # Errors
/// The parser's error when the value does not decode.
pub fn from_parsed(value: &Value<'_>) -> rdb_parser::Result<Canon> {
    Ok(match value {
        Value::String(s) => Canon::String(Bytes(s.to_vec()?)),
        Value::List(list) => {
            let mut out = Vec::new();
            let mut c = list.elements()?;
            while let Some(e) = c.next()? {
                out.push(Bytes(e.to_vec()));
            }
            Canon::List(out)
        }
        Value::Set(set) => {
            let mut out = Vec::new();
            let mut c = set.members()?;
            while let Some(e) = c.next()? {
                out.push(Bytes(e.to_vec()));
            }
            out.sort();
            Canon::Set(out)
        }
        Value::SortedSet(zset) => {
            let mut out = Vec::new();
            let mut c = zset.members()?;
            while let Some((m, score)) = c.next()? {
                out.push((Bytes(m.to_vec()), score));
            }
            out.sort_by(by_score);
            Canon::SortedSet(out)
        }
        Value::Hash(hash) => {
            let mut out = Vec::new();
            let mut c = hash.fields()?;
            while let Some(f) = c.next()? {
                out.push((
                    Bytes(f.field.to_vec()),
                    Bytes(f.value.to_vec()),
                    f.expire_ms,
                ));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Canon::Hash(out)
        }
        Value::Stream(s) => {
            let mut entries = Vec::new();
            let mut c = s.entries();
            while let Some(e) = c.next()? {
                let fields = e
                    .fields()
                    .map(|(f, v)| (Bytes(f.to_vec()), Bytes(v.to_vec())))
                    .collect();
                entries.push((e.id, fields));
            }
            let mut groups = Vec::new();
            for g in &s.groups {
                let mut consumers = Vec::new();
                let mut owners = Vec::new();
                for c in &g.consumers {
                    let name = Bytes(c.name.to_vec()?);
                    owners.extend(c.pending.iter().map(|id| (*id, name.clone())));
                    consumers.push(CanonConsumer {
                        name,
                        seen_time_ms: c.seen_time_ms,
                        active_time_ms: c.active_time_ms,
                        pending: c.pending.clone(),
                    });
                }
                consumers.sort_by(|a, b| a.name.cmp(&b.name));
                let pending = g
                    .pending
                    .iter()
                    .map(|p| CanonPending {
                        id: p.id,
                        owner: owners
                            .iter()
                            .find(|(id, _)| *id == p.id)
                            .map_or_else(|| Bytes(b"<no consumer>".to_vec()), |o| o.1.clone()),
                        delivery_time_ms: p.delivery_time_ms,
                        delivery_count: p.delivery_count,
                    })
                    .collect();
                groups.push(CanonGroup {
                    name: Bytes(g.name.to_vec()?),
                    last_id: g.last_id,
                    // The invalid counter is saved as (u64) -1.
                    entries_read: g.entries_read.map(|n| n as i64),
                    pending,
                    consumers,
                });
            }
            groups.sort_by(|a, b| a.name.cmp(&b.name));
            Canon::Stream(Box::new(CanonStream {
                entries,
                length: s.length,
                last_id: s.last_id,
                first_id: s.first_id,
                max_deleted_id: s.max_deleted_id,
                entries_added: s.entries_added,
                groups,
            }))
        }
        other => Canon::Other(other.value_type().as_str()),
    })
}

/// Sends a command with binary arguments and converts the reply.
///
/// # Panics
/// When the server answers with an error or the reply does not convert.
pub fn query<T: FromRedisValue>(con: &mut Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| {
        let shown: Vec<String> = args
            .iter()
            .take(6)
            .map(|a| format!("{:?}", Bytes(a.to_vec())))
            .collect();
        panic!("{} -> {e}", shown.join(" "))
    })
}

/// Selects database `db` on the connection.
pub fn select(con: &mut Connection, db: u64) {
    let _: () = query(con, &[b"SELECT", db.to_string().as_bytes()]);
}

fn bytes_of(v: &redis::Value) -> Vec<u8> {
    match v {
        redis::Value::BulkString(b) => b.clone(),
        redis::Value::SimpleString(s) => s.clone().into_bytes(),
        redis::Value::Int(i) => i.to_string().into_bytes(),
        other => panic!("expected a string in the reply, got {other:?}"),
    }
}

fn int_of(v: &redis::Value) -> i64 {
    match v {
        redis::Value::Int(i) => *i,
        other => String::from_utf8(bytes_of(other))
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("expected an integer in the reply, got {other:?}")),
    }
}

fn array_of(v: &redis::Value) -> &[redis::Value] {
    match v {
        redis::Value::Array(items) => items,
        other => panic!("expected an array in the reply, got {other:?}"),
    }
}

/// Parses `ms-seq`.
fn stream_id(text: &[u8]) -> StreamId {
    let text = std::str::from_utf8(text).expect("stream ID is text");
    let (ms, seq) = text.split_once('-').expect("stream ID has a dash");
    StreamId {
        ms: ms.parse().expect("stream ID ms"),
        seq: seq.parse().expect("stream ID seq"),
    }
}

fn id_of(v: &redis::Value) -> StreamId {
    stream_id(&bytes_of(v))
}

/// A RESP2 "map" (flat array of name, value pairs) as a lookup.
struct Reply<'r>(Vec<(String, &'r redis::Value)>);

impl<'r> Reply<'r> {
    fn new(v: &'r redis::Value) -> Self {
        let items = array_of(v);
        Reply(
            items
                .chunks(2)
                .map(|p| (String::from_utf8(bytes_of(&p[0])).expect("name"), &p[1]))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&'r redis::Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    fn field(&self, name: &str) -> &'r redis::Value {
        self.get(name)
            .unwrap_or_else(|| panic!("no {name} in the reply {:?}", self.0))
    }
}

/// The canonical form of the value the server holds at `key` in the selected db.
///
/// # Panics
/// When the key does not exist or a command fails.
pub fn from_server(con: &mut Connection, version: Version, key: &[u8]) -> Canon {
    let ty: String = query(con, &[b"TYPE", key]);
    match ty.as_str() {
        "string" => Canon::String(Bytes(query(con, &[b"GET", key]))),
        "list" => {
            let items: Vec<Vec<u8>> = query(con, &[b"LRANGE", key, b"0", b"-1"]);
            Canon::List(items.into_iter().map(Bytes).collect())
        }
        "set" => {
            let mut items: Vec<Bytes> = query::<Vec<Vec<u8>>>(con, &[b"SMEMBERS", key])
                .into_iter()
                .map(Bytes)
                .collect();
            items.sort();
            Canon::Set(items)
        }
        "zset" => {
            let flat: Vec<Vec<u8>> = query(con, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]);
            let mut out: Vec<(Bytes, f64)> = flat
                .chunks(2)
                .map(|p| {
                    let score = std::str::from_utf8(&p[1])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| panic!("score {:?}", Bytes(p[1].clone())));
                    (Bytes(p[0].clone()), score)
                })
                .collect();
            // ZRANGE's own order, which the sort must not change.
            let server_order = out.clone();
            out.sort_by(by_score);
            assert_eq!(out, server_order, "ZRANGE order is by score, then member");
            Canon::SortedSet(out)
        }
        "hash" => {
            let flat: Vec<Vec<u8>> = query(con, &[b"HGETALL", key]);
            let mut out: Vec<(Bytes, Bytes, Option<i64>)> = flat
                .chunks(2)
                .map(|p| (Bytes(p[0].clone()), Bytes(p[1].clone()), None))
                .collect();
            if version.is_valkey() && !out.is_empty() {
                // Field expiries: -1 for none.
                let n = out.len().to_string();
                let mut args: Vec<&[u8]> = vec![b"HPEXPIRETIME", key, b"FIELDS", n.as_bytes()];
                args.extend(out.iter().map(|f| &f.0.0[..]));
                let times: Vec<i64> = query(con, &args);
                for (f, t) in out.iter_mut().zip(times) {
                    assert_ne!(t, -2, "field {:?} vanished", f.0);
                    f.2 = (t != -1).then_some(t);
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Canon::Hash(out)
        }
        "stream" => Canon::Stream(Box::new(stream_from_server(con, key))),
        other => panic!("key {:?} has type {other:?}", Bytes(key.to_vec())),
    }
}

fn stream_from_server(con: &mut Connection, key: &[u8]) -> CanonStream {
    let range: redis::Value = query(con, &[b"XRANGE", key, b"-", b"+"]);
    let entries = array_of(&range)
        .iter()
        .map(|e| {
            let e = array_of(e);
            let fields = array_of(&e[1])
                .chunks(2)
                .map(|p| (Bytes(bytes_of(&p[0])), Bytes(bytes_of(&p[1]))))
                .collect();
            (id_of(&e[0]), fields)
        })
        .collect();
    let info: redis::Value = query(con, &[b"XINFO", b"STREAM", key, b"FULL", b"COUNT", b"0"]);
    let info = Reply::new(&info);
    let mut groups: Vec<CanonGroup> = array_of(info.field("groups"))
        .iter()
        .map(|g| {
            let g = Reply::new(g);
            let pending = array_of(g.field("pending"))
                .iter()
                .map(|p| {
                    let p = array_of(p);
                    CanonPending {
                        id: id_of(&p[0]),
                        owner: Bytes(bytes_of(&p[1])),
                        delivery_time_ms: int_of(&p[2]),
                        delivery_count: int_of(&p[3]) as u64,
                    }
                })
                .collect();
            let mut consumers: Vec<CanonConsumer> = array_of(g.field("consumers"))
                .iter()
                .map(|c| {
                    let c = Reply::new(c);
                    CanonConsumer {
                        name: Bytes(bytes_of(c.field("name"))),
                        seen_time_ms: int_of(c.field("seen-time")),
                        active_time_ms: c.get("active-time").map(int_of),
                        pending: array_of(c.field("pending"))
                            .iter()
                            .map(|p| id_of(&array_of(p)[0]))
                            .collect(),
                    }
                })
                .collect();
            consumers.sort_by(|a, b| a.name.cmp(&b.name));
            CanonGroup {
                name: Bytes(bytes_of(g.field("name"))),
                last_id: id_of(g.field("last-delivered-id")),
                entries_read: g.get("entries-read").map(|v| match v {
                    redis::Value::Nil => -1,
                    v => int_of(v),
                }),
                pending,
                consumers,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    CanonStream {
        entries,
        length: int_of(info.field("length")) as u64,
        last_id: id_of(info.field("last-generated-id")),
        first_id: info.get("recorded-first-entry-id").map(id_of),
        max_deleted_id: info.get("max-deleted-entry-id").map(id_of),
        entries_added: info.get("entries-added").map(|v| int_of(v) as u64),
        groups,
    }
}

/// Unix time in milliseconds, from this machine's clock (the servers share it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// What the server says about a key's expiry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expiry {
    /// No expiry.
    None,
    /// The absolute expiry (`PEXPIRETIME`, 7.0+).
    At(i64),
    /// Bounds on the absolute expiry, from `PTTL` and the clock around it (6.2).
    Between(i64, i64),
}

impl Expiry {
    /// Whether a parsed expiry agrees with the server.
    pub fn matches(self, parsed: Option<i64>) -> bool {
        match (self, parsed) {
            (Expiry::None, None) => true,
            (Expiry::At(at), Some(p)) => at == p,
            (Expiry::Between(lo, hi), Some(p)) => (lo..=hi).contains(&p),
            _ => false,
        }
    }
}

/// The expiry of `key` in the selected db.
pub fn server_expiry(con: &mut Connection, version: Version, key: &[u8]) -> Expiry {
    if version == Version::Redis6_2 {
        let before = now_ms();
        let pttl: i64 = query(con, &[b"PTTL", key]);
        let after = now_ms();
        match pttl {
            -1 => Expiry::None,
            -2 => panic!("key {:?} vanished", Bytes(key.to_vec())),
            // The server computed expire - its now, with its now in [before, after].
            ttl => Expiry::Between(before + ttl - 1, after + ttl + 1),
        }
    } else {
        match query::<i64>(con, &[b"PEXPIRETIME", key]) {
            -1 => Expiry::None,
            -2 => panic!("key {:?} vanished", Bytes(key.to_vec())),
            at => Expiry::At(at),
        }
    }
}

fn first_difference<T: PartialEq + fmt::Debug>(what: &str, parsed: &[T], server: &[T]) -> String {
    match parsed.iter().zip(server).position(|(a, b)| a != b) {
        Some(i) => format!(
            "{what}[{i}]: parsed {:?}, server {:?} (parsed {} items, server {})",
            parsed[i],
            server[i],
            parsed.len(),
            server.len()
        ),
        None => {
            let n = parsed.len().min(server.len());
            format!(
                "{what}: parsed {} items, server {}; first extra: parsed {:?}, server {:?}",
                parsed.len(),
                server.len(),
                parsed.get(n),
                server.get(n)
            )
        }
    }
}

/// Where two canonical forms differ, or `None` when they are equal.
pub fn diff(parsed: &Canon, server: &Canon) -> Option<String> {
    if parsed == server {
        return None;
    }
    Some(match (parsed, server) {
        (Canon::String(a), Canon::String(b)) => {
            let at = a.0.iter().zip(&b.0).position(|(x, y)| x != y);
            format!(
                "string: parsed {a:?} ({} bytes), server {b:?} ({} bytes), first different byte {at:?}",
                a.0.len(),
                b.0.len()
            )
        }
        (Canon::List(a), Canon::List(b)) => first_difference("list", a, b),
        (Canon::Set(a), Canon::Set(b)) => first_difference("sorted members", a, b),
        (Canon::SortedSet(a), Canon::SortedSet(b)) => first_difference("zset", a, b),
        (Canon::Hash(a), Canon::Hash(b)) => first_difference("hash fields", a, b),
        (Canon::Stream(a), Canon::Stream(b)) => stream_diff(a, b),
        (a, b) => format!("parsed a {}, server a {}", a.type_name(), b.type_name()),
    })
}

fn stream_diff(a: &CanonStream, b: &CanonStream) -> String {
    let mut out = Vec::new();
    if a.entries != b.entries {
        out.push(first_difference("entries", &a.entries, &b.entries));
    }
    let meta = |s: &CanonStream| {
        format!(
            "length {} last_id {} first_id {:?} max_deleted_id {:?} entries_added {:?}",
            s.length, s.last_id, s.first_id, s.max_deleted_id, s.entries_added
        )
    };
    if meta(a) != meta(b) {
        out.push(format!("metadata: parsed {}, server {}", meta(a), meta(b)));
    }
    if a.groups.len() != b.groups.len() {
        out.push(format!(
            "groups: parsed {:?}, server {:?}",
            a.groups.iter().map(|g| &g.name).collect::<Vec<_>>(),
            b.groups.iter().map(|g| &g.name).collect::<Vec<_>>()
        ));
    }
    for (ga, gb) in a.groups.iter().zip(&b.groups) {
        let g = format!("group {:?}", gb.name);
        if (&ga.name, ga.last_id, ga.entries_read) != (&gb.name, gb.last_id, gb.entries_read) {
            out.push(format!(
                "{g}: parsed name {:?} last_id {} entries_read {:?}, server last_id {} entries_read {:?}",
                ga.name, ga.last_id, ga.entries_read, gb.last_id, gb.entries_read
            ));
        }
        if ga.pending != gb.pending {
            out.push(first_difference(
                &format!("{g} PEL"),
                &ga.pending,
                &gb.pending,
            ));
        }
        if ga.consumers != gb.consumers {
            out.push(first_difference(
                &format!("{g} consumers"),
                &ga.consumers,
                &gb.consumers,
            ));
        }
    }
    out.join("; ")
}
