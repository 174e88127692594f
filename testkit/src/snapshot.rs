//! Every key of a deployment read back through commands, to prove that two
//! deployments (a source and the target a program wrote) hold the same data,
//! whatever their versions, encodings or topologies.

use std::collections::BTreeMap;
use std::fmt;

use redis::{Connection, Value};

use crate::{Cluster, Server};

/// A value as commands return it, in a canonical order.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// `GET`.
    String(Vec<u8>),
    /// `LRANGE 0 -1`.
    List(Vec<Vec<u8>>),
    /// `SMEMBERS`, sorted.
    Set(Vec<Vec<u8>>),
    /// `ZRANGE 0 -1 WITHSCORES`, scores as the server prints them.
    SortedSet(Vec<(Vec<u8>, Vec<u8>)>),
    /// `HGETALL`, sorted by field.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// `XRANGE - +` and `XINFO GROUPS` (name, last delivered ID, pending count),
    /// sorted by group name.
    Stream {
        /// (ID, fields and values).
        entries: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
        /// (name, last delivered ID, pending count).
        groups: Vec<(Vec<u8>, Vec<u8>, i64)>,
    },
    /// A type this kit does not read (modules).
    Other(String),
}

/// One key: its value and expiry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The value.
    pub data: Data,
    /// When it expires (unix ms, from `PTTL` at the time it was read), or `None`.
    pub expire_at_ms: Option<i64>,
}

/// Every key of a deployment, by (db, key).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The keys.
    pub keys: BTreeMap<(u64, Vec<u8>), Entry>,
}

impl Snapshot {
    /// Reads every key of databases `dbs` of a standalone server.
    ///
    /// # Panics
    /// When a command fails.
    pub fn of_server(server: &Server, dbs: &[u64]) -> Snapshot {
        let mut snap = Snapshot::default();
        let mut con = server.client();
        for &db in dbs {
            redis::cmd("SELECT")
                .arg(db)
                .query::<()>(&mut con)
                .expect("SELECT");
            snap.read(&mut con, db);
        }
        snap
    }

    /// Reads every key of a cluster (db 0 of every master).
    ///
    /// # Panics
    /// When a command fails.
    pub fn of_cluster(cluster: &Cluster) -> Snapshot {
        let mut snap = Snapshot::default();
        for m in cluster.masters() {
            snap.read(&mut m.client(), 0);
        }
        snap
    }

    fn read(&mut self, con: &mut Connection, db: u64) {
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query(con)
                .expect("SCAN");
            for key in keys {
                if let Some(entry) = read_key(con, &key) {
                    self.keys.insert((db, key), entry);
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }

    /// Leaves out the keys whose names start with `prefix` (a sync's checkpoints,
    /// say), in every database.
    pub fn without(mut self, prefix: &[u8]) -> Snapshot {
        self.keys.retain(|(_, key), _| !key.starts_with(prefix));
        self
    }

    /// Where `self` and `other` differ, ignoring keys that expire within
    /// `ttl_slack_ms` of now (they may expire between the two reads) and expiry
    /// times that differ by less than `ttl_slack_ms`.
    pub fn diff(&self, other: &Snapshot, ttl_slack_ms: i64) -> Vec<String> {
        let now = now_ms();
        let expiring = |e: &Entry| e.expire_at_ms.is_some_and(|at| at - now < ttl_slack_ms);
        let mut out = Vec::new();
        for (key, a) in &self.keys {
            match other.keys.get(key) {
                None if expiring(a) => {}
                None => out.push(format!("{}: missing on the other side", Shown(key))),
                Some(b) if expiring(a) || expiring(b) => {}
                Some(b) if a.data != b.data => out.push(format!(
                    "{}: {:?} vs {:?}",
                    Shown(key),
                    Short(&a.data),
                    Short(&b.data)
                )),
                Some(b)
                    if match (a.expire_at_ms, b.expire_at_ms) {
                        (Some(x), Some(y)) => (x - y).abs() > ttl_slack_ms,
                        (x, y) => x.is_some() != y.is_some(),
                    } =>
                {
                    out.push(format!(
                        "{}: expiry {:?} vs {:?}",
                        Shown(key),
                        a.expire_at_ms,
                        b.expire_at_ms
                    ))
                }
                Some(_) => {}
            }
        }
        for (key, b) in &other.keys {
            if !self.keys.contains_key(key) && !expiring(b) {
                out.push(format!("{}: only on the other side", Shown(key)));
            }
        }
        out
    }
}

/// A (db, key) for messages.
struct Shown<'a>(&'a (u64, Vec<u8>));

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "db {} key \"{}\"", self.0.0, self.0.1.escape_ascii())
    }
}

/// A value for messages, cut short.
struct Short<'a>(&'a Data);

impl fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:?}", self.0);
        if text.len() > 300 {
            write!(f, "{}... ({} chars)", &text[..300], text.len())
        } else {
            f.write_str(&text)
        }
    }
}

fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Double(d) => d.to_string().into_bytes(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        Value::Nil => Vec::new(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// Reads one key, or `None` if it vanished meanwhile (expired or deleted).
fn read_key(con: &mut Connection, key: &[u8]) -> Option<Entry> {
    let q = |con: &mut Connection, name: &str, args: &[&[u8]]| -> Value {
        let mut cmd = redis::cmd(name);
        cmd.arg(key);
        for a in args {
            cmd.arg(*a);
        }
        cmd.query(con)
            .unwrap_or_else(|e| panic!("{name} {}: {e}", key.escape_ascii()))
    };
    let kind: String = redis::cmd("TYPE").arg(key).query(con).expect("TYPE");
    let data = match kind.as_str() {
        "none" => return None,
        "string" => match q(con, "GET", &[]) {
            Value::Nil => return None,
            v => Data::String(bytes(&v)),
        },
        "list" => Data::List(
            array(q(con, "LRANGE", &[b"0", b"-1"]))
                .iter()
                .map(bytes)
                .collect(),
        ),
        "set" => {
            let mut m: Vec<Vec<u8>> = array(q(con, "SMEMBERS", &[])).iter().map(bytes).collect();
            m.sort();
            Data::Set(m)
        }
        "zset" => {
            let flat: Vec<Vec<u8>> = array(q(con, "ZRANGE", &[b"0", b"-1", b"WITHSCORES"]))
                .iter()
                .map(bytes)
                .collect();
            Data::SortedSet(
                flat.chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect(),
            )
        }
        "hash" => {
            let flat: Vec<Vec<u8>> = array(q(con, "HGETALL", &[])).iter().map(bytes).collect();
            let mut pairs: Vec<_> = flat
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect();
            pairs.sort();
            Data::Hash(pairs)
        }
        "stream" => {
            let entries = array(q(con, "XRANGE", &[b"-", b"+"]))
                .into_iter()
                .map(|e| {
                    let mut parts = array(e).into_iter();
                    let id = bytes(&parts.next().expect("entry id"));
                    let fields = parts.next().map(array).unwrap_or_default();
                    (id, fields.iter().map(bytes).collect())
                })
                .collect();
            let mut groups: Vec<(Vec<u8>, Vec<u8>, i64)> = array(
                redis::cmd("XINFO")
                    .arg("GROUPS")
                    .arg(key)
                    .query(con)
                    .expect("XINFO GROUPS"),
            )
            .into_iter()
            .map(|g| {
                let map: BTreeMap<String, Value> = array(g)
                    .chunks(2)
                    .map(|kv| {
                        (
                            String::from_utf8_lossy(&bytes(&kv[0])).into_owned(),
                            kv[1].clone(),
                        )
                    })
                    .collect();
                let pending = match map.get("pending") {
                    Some(Value::Int(n)) => *n,
                    other => panic!("XINFO GROUPS pending: {other:?}"),
                };
                (
                    bytes(&map["name"]),
                    bytes(&map["last-delivered-id"]),
                    pending,
                )
            })
            .collect();
            groups.sort();
            Data::Stream { entries, groups }
        }
        other => Data::Other(other.to_owned()),
    };
    let ttl_ms: i64 = redis::cmd("PTTL").arg(key).query(con).expect("PTTL");
    let expire_at_ms = match ttl_ms {
        -2 => return None,
        -1 => None,
        ttl => Some(now_ms() + ttl),
    };
    Some(Entry { data, expire_at_ms })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
