//! Counts per type and encoding, from decoding every value fully (`decode --stats`).

use std::collections::BTreeMap;
use std::fmt;

use rdb_parser::{ArrayValue, Encoding, Error, Item, Key, ModuleField, Type, Value};

/// Totals over an RDB: keys, elements and bytes per type and encoding.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Keys seen.
    pub keys: u64,
    /// Keys with an expiry.
    pub expiring: u64,
    /// Aux fields seen.
    pub aux: u64,
    /// Function libraries seen.
    pub functions: u64,
    /// Per (type, encoding): keys, elements, and decoded bytes of keys and elements,
    /// in the order first seen (a short list: a linear scan beats a map here).
    pub by_encoding: Vec<((Type, Encoding), Tally)>,
}

/// Counts for one (type, encoding).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Keys.
    pub keys: u64,
    /// Elements (list elements, set members, hash fields, stream entries...; 1 for a string).
    pub elements: u64,
    /// Decoded bytes of the keys' names and elements.
    pub bytes: u64,
}

impl Stats {
    /// Accounts for one item, decoding its value fully.
    ///
    /// # Errors
    /// When the value is corrupt.
    pub fn add(&mut self, item: &Item<'_>, scratch: &mut Vec<u8>) -> rdb_parser::Result<()> {
        match item {
            Item::Aux { .. } => self.aux += 1,
            Item::Function(_) => self.functions += 1,
            Item::Key(k) => self.add_key(k, scratch)?,
            _ => {}
        }
        Ok(())
    }

    /// Accounts for one key, decoding its value fully.
    ///
    /// # Errors
    /// When the value is corrupt.
    pub fn add_key(&mut self, k: &Key<'_>, scratch: &mut Vec<u8>) -> rdb_parser::Result<()> {
        self.keys += 1;
        if k.expire_ms.is_some() {
            self.expiring += 1;
        }
        let (elements, bytes) = decode_fully(&k.value, scratch)?;
        let kind = (k.value.value_type(), k.value.encoding());
        let at = match self.by_encoding.iter().position(|(seen, _)| *seen == kind) {
            Some(at) => at,
            None => {
                self.by_encoding.push((kind, Tally::default()));
                self.by_encoding.len() - 1
            }
        };
        let tally = &mut self.by_encoding[at].1;
        tally.keys += 1;
        tally.elements += elements;
        tally.bytes += bytes + k.key.len();
        Ok(())
    }

    /// Adds another's counts to these (the tallies of a file's parts).
    pub fn merge(&mut self, other: &Stats) {
        self.keys += other.keys;
        self.expiring += other.expiring;
        self.aux += other.aux;
        self.functions += other.functions;
        for (kind, t) in &other.by_encoding {
            match self.by_encoding.iter_mut().find(|(seen, _)| seen == kind) {
                Some((_, mine)) => {
                    mine.keys += t.keys;
                    mine.elements += t.elements;
                    mine.bytes += t.bytes;
                }
                None => self.by_encoding.push((*kind, *t)),
            }
        }
    }
}

/// Walks every element of a value; returns (elements, decoded bytes).
fn decode_fully(value: &Value<'_>, scratch: &mut Vec<u8>) -> rdb_parser::Result<(u64, u64)> {
    let size = |e: rdb_parser::Element<'_>| match e {
        rdb_parser::Element::Bytes(b) => b.len() as u64,
        rdb_parser::Element::Int(_) => 8,
    };
    // Counts are folded through the collection walks as values, not captured by
    // reference: they stay in registers.
    let count = |(n, b): (u64, u64), more: u64| Ok::<_, Error>((n + 1, b + more));
    Ok(match value {
        Value::String(s) => (1, s.bytes(scratch)?.len() as u64),
        Value::List(l) => l.try_fold((0, 0), |t, e| count(t, size(e)))?,
        Value::Set(s) => s.try_fold((0, 0), |t, e| count(t, size(e)))?,
        Value::SortedSet(z) => z.try_fold((0, 0), |t, m, _| count(t, size(m) + 8))?,
        Value::Hash(h) => h.try_fold((0, 0), |t, f| count(t, size(f.field) + size(f.value)))?,
        Value::Stream(s) => {
            let (mut n, mut bytes) = (0, 0);
            let mut c = s.entries();
            while let Some(e) = c.next()? {
                n += 1;
                bytes += e.fields().map(|(f, v)| size(f) + size(v)).sum::<u64>();
            }
            (n, bytes)
        }
        Value::Module(m) => {
            let (mut n, mut bytes) = (0, 0);
            for f in m.fields() {
                n += 1;
                bytes += match f? {
                    ModuleField::String(s) => s.bytes(scratch)?.len() as u64,
                    _ => 8,
                };
            }
            (n, bytes)
        }
        Value::Array(a) => {
            let (mut n, mut bytes) = (0, 0);
            for slot in a.slots() {
                n += 1;
                bytes += match slot?.1 {
                    ArrayValue::String(s) => s.bytes(scratch)?.len() as u64,
                    _ => 8,
                };
            }
            (n, bytes)
        }
        _ => (0, 0),
    })
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "keys {} (expiring {}), aux {}, functions {}",
            self.keys, self.expiring, self.aux, self.functions
        )?;
        writeln!(
            f,
            "{:<8} {:<22} {:>12} {:>14} {:>16}",
            "type", "encoding", "keys", "elements", "bytes"
        )?;
        let sorted: BTreeMap<_, _> = self
            .by_encoding
            .iter()
            .map(|((ty, enc), t)| ((ty.as_str(), enc.as_str()), *t))
            .collect();
        for ((ty, enc), t) in &sorted {
            writeln!(
                f,
                "{ty:<8} {enc:<22} {:>12} {:>14} {:>16}",
                t.keys, t.elements, t.bytes
            )?;
        }
        Ok(())
    }
}
