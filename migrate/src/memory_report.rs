//! A memory report over an RDB file's keys (`decode --memory`): totals per
//! database, type and key prefix, the biggest keys, and how they are printed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::json::write_bytes;
use crate::memory::{KeyMemory, MemoryLayout};

/// Totals over some keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryTotal {
    /// Keys.
    pub keys: u64,
    /// Their estimated memory, bytes.
    pub memory: u64,
    /// Their elements.
    pub elements: u64,
}

impl MemoryTotal {
    fn add(&mut self, k: &KeyMemory) {
        self.keys += 1;
        self.memory += k.memory;
        self.elements += k.elements;
    }

    fn merge(&mut self, other: &MemoryTotal) {
        self.keys += other.keys;
        self.memory += other.memory;
        self.elements += other.elements;
    }
}

/// What [`memory`](crate::decode::memory) gathers besides each key's line.
#[derive(Debug, Default)]
pub struct MemoryReport {
    /// The layout the estimates follow.
    pub layout: Option<MemoryLayout>,
    /// All keys.
    pub total: MemoryTotal,
    /// Per database.
    pub by_db: BTreeMap<u64, MemoryTotal>,
    /// Per type.
    pub by_type: BTreeMap<&'static str, MemoryTotal>,
    /// The biggest keys, biggest first (as many as asked).
    pub top: Vec<KeyMemory>,
    /// Per key prefix (when asked), biggest first.
    pub by_prefix: Vec<(Vec<u8>, MemoryTotal)>,
}

/// Gathers a [`MemoryReport`] key by key; the parts of a file gathered apart
/// are merged.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    report: MemoryReport,
    top: usize,
    /// The biggest keys so far, the smallest of them on top.
    heap: BinaryHeap<Reverse<Ranked>>,
    separator: Option<Vec<u8>>,
    prefixes: HashMap<Vec<u8>, MemoryTotal>,
}

/// A key ranked by memory, then by database and name (the first first), so that
/// the biggest keys are the same however the file's keys were shared out.
#[derive(Debug, PartialEq, Eq)]
struct Ranked(KeyMemory);

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (&self.0, &other.0);
        a.memory
            .cmp(&b.memory)
            .then_with(|| b.db.cmp(&a.db))
            .then_with(|| b.key.cmp(&a.key))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Collector {
    pub(crate) fn new(top: usize, separator: Option<Vec<u8>>) -> Self {
        Collector {
            top,
            separator,
            ..Collector::default()
        }
    }

    pub(crate) fn add(&mut self, k: &KeyMemory) {
        let r = &mut self.report;
        r.total.add(k);
        r.by_db.entry(k.db).or_default().add(k);
        r.by_type.entry(k.value_type.as_str()).or_default().add(k);
        if let Some(sep) = &self.separator {
            let prefix = match find(&k.key, sep) {
                Some(at) => &k.key[..at],
                None => &k.key[..],
            };
            match self.prefixes.get_mut(prefix) {
                Some(t) => t.add(k),
                None => {
                    let mut t = MemoryTotal::default();
                    t.add(k);
                    self.prefixes.insert(prefix.to_vec(), t);
                }
            }
        }
        if self.top > 0 {
            self.keep(Ranked(k.clone()));
        }
    }

    fn keep(&mut self, k: Ranked) {
        if self.heap.len() < self.top {
            self.heap.push(Reverse(k));
        } else if self.heap.peek().is_some_and(|Reverse(least)| k > *least) {
            self.heap.pop();
            self.heap.push(Reverse(k));
        }
    }

    /// Adds what another part of the file gathered.
    pub(crate) fn merge(&mut self, other: Collector) {
        let (r, o) = (&mut self.report, other.report);
        r.total.merge(&o.total);
        for (db, t) in &o.by_db {
            r.by_db.entry(*db).or_default().merge(t);
        }
        for (ty, t) in &o.by_type {
            r.by_type.entry(ty).or_default().merge(t);
        }
        for (prefix, t) in other.prefixes {
            self.prefixes.entry(prefix).or_default().merge(&t);
        }
        for Reverse(k) in other.heap {
            if self.top > 0 {
                self.keep(k);
            }
        }
    }

    pub(crate) fn finish(mut self, layout: MemoryLayout) -> MemoryReport {
        let mut top: Vec<Ranked> = self.heap.into_iter().map(|Reverse(k)| k).collect();
        top.sort_by(|a, b| b.cmp(a));
        self.report.top = top.into_iter().map(|Ranked(k)| k).collect();
        let mut prefixes: Vec<_> = self.prefixes.into_iter().collect();
        prefixes.sort_by(|a, b| b.1.memory.cmp(&a.1.memory).then_with(|| a.0.cmp(&b.0)));
        self.report.by_prefix = prefixes;
        self.report.layout = Some(layout);
        self.report
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How a memory report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryFormat {
    /// JSON lines: `{"db":0,"key":"...","type":"hash","encoding":"listpack",
    /// "memory":120,"elements":3,"largest":21}` per key (names as in `decode`:
    /// a string when UTF-8, else `{"base64":"..."}`), `{"prefix":...,"keys":...,
    /// "memory":...,"elements":...}` per prefix, then the totals:
    /// `{"total":"db","db":0,...}`, `{"total":"type","type":"hash",...}`,
    /// `{"total":"all",...}`.
    Json,
    /// CSV with a header row: `db,key,type,encoding,memory,elements,largest`, or
    /// `prefix,keys,memory,elements`; names that are not UTF-8 as `base64:...`.
    /// The totals are left to the summary.
    Csv,
}

impl MemoryFormat {
    /// The header row of key rows (CSV only).
    ///
    /// # Errors
    /// When `out` fails.
    pub fn key_header(self, out: &mut impl Write) -> io::Result<()> {
        match self {
            MemoryFormat::Json => Ok(()),
            MemoryFormat::Csv => out.write_all(b"db,key,type,encoding,memory,elements,largest\n"),
        }
    }

    /// One key's line.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn key(self, out: &mut impl Write, k: &KeyMemory) -> io::Result<()> {
        // Numbers through `itoa`: `write!` costs more than the estimate.
        let mut n = itoa::Buffer::new();
        let (ty, enc) = (k.value_type.as_str(), k.encoding.as_str());
        let figures = [k.memory, k.elements, k.largest];
        match self {
            MemoryFormat::Json => {
                out.write_all(b"{\"db\":")?;
                out.write_all(n.format(k.db).as_bytes())?;
                out.write_all(b",\"key\":")?;
                write_bytes(out, &k.key, false)?;
                for (name, text) in [(&b",\"type\":\""[..], ty), (b"\",\"encoding\":\"", enc)] {
                    out.write_all(name)?;
                    out.write_all(text.as_bytes())?;
                }
                let names: [&[u8]; 3] = [b"\",\"memory\":", b",\"elements\":", b",\"largest\":"];
                for (name, figure) in names.into_iter().zip(figures) {
                    out.write_all(name)?;
                    out.write_all(n.format(figure).as_bytes())?;
                }
                out.write_all(b"}\n")
            }
            MemoryFormat::Csv => {
                out.write_all(n.format(k.db).as_bytes())?;
                out.write_all(b",")?;
                csv_field(out, &k.key)?;
                for text in [ty, enc] {
                    out.write_all(b",")?;
                    out.write_all(text.as_bytes())?;
                }
                for figure in figures {
                    out.write_all(b",")?;
                    out.write_all(n.format(figure).as_bytes())?;
                }
                out.write_all(b"\n")
            }
        }
    }

    /// What follows the keys: the biggest keys and the prefixes when gathered,
    /// then (JSON only) the totals.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn report(self, out: &mut impl Write, report: &MemoryReport) -> io::Result<()> {
        if !report.top.is_empty() {
            self.key_header(out)?;
            for k in &report.top {
                self.key(out, k)?;
            }
        }
        if !report.by_prefix.is_empty() && self == MemoryFormat::Csv {
            out.write_all(b"prefix,keys,memory,elements\n")?;
        }
        for (prefix, t) in &report.by_prefix {
            match self {
                MemoryFormat::Json => {
                    out.write_all(b"{\"prefix\":")?;
                    write_bytes(out, prefix, false)?;
                    out.write_all(b",")?;
                    t.write_fields(out)?;
                }
                MemoryFormat::Csv => {
                    csv_field(out, prefix)?;
                    writeln!(out, ",{},{},{}", t.keys, t.memory, t.elements)?;
                }
            }
        }
        if self == MemoryFormat::Json {
            for (db, t) in &report.by_db {
                write!(out, "{{\"total\":\"db\",\"db\":{db},")?;
                t.write_fields(out)?;
            }
            for (ty, t) in &report.by_type {
                write!(out, "{{\"total\":\"type\",\"type\":\"{ty}\",")?;
                t.write_fields(out)?;
            }
            out.write_all(b"{\"total\":\"all\",")?;
            report.total.write_fields(out)?;
        }
        Ok(())
    }
}

impl MemoryTotal {
    /// `"keys":..,"memory":..,"elements":..}` and the line's end.
    fn write_fields(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "\"keys\":{},\"memory\":{},\"elements\":{}}}",
            self.keys, self.memory, self.elements
        )
    }
}

/// A CSV field: quoted when it holds a comma, quote or line break; `base64:...`
/// when not UTF-8.
fn csv_field(out: &mut impl Write, b: &[u8]) -> io::Result<()> {
    match std::str::from_utf8(b) {
        Ok(s) if s.contains([',', '"', '\n', '\r']) => {
            write!(out, "\"{}\"", s.replace('"', "\"\""))
        }
        Ok(s) => out.write_all(s.as_bytes()),
        Err(_) => write!(out, "base64:{}", BASE64.encode(b)),
    }
}

impl fmt::Display for MemoryReport {
    /// The summary: totals in all, per database and per type, one line each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = self.layout.map_or("no keys", MemoryLayout::as_str);
        let line = |f: &mut fmt::Formatter<'_>, what: &str, t: &MemoryTotal| {
            writeln!(
                f,
                "memory {what}: {} keys, {} bytes, {} elements",
                t.keys, t.memory, t.elements
            )
        };
        line(f, &format!("total ({layout} layout)"), &self.total)?;
        for (db, t) in &self.by_db {
            line(f, &format!("db {db}"), t)?;
        }
        for (ty, t) in &self.by_type {
            line(f, &format!("type {ty}"), t)?;
        }
        Ok(())
    }
}
