//! RDB items as JSON lines: one object per key, aux field and function.
//!
//! Byte strings become JSON strings when they are valid UTF-8, otherwise
//! `{"base64":"..."}`. Values: string -> byte string; list and set -> array;
//! sorted set -> `[[member, score], ...]` (score a number, or `"inf"`, `"-inf"`,
//! `"nan"`); hash -> `[[field, value], ...]` (`[field, value, expire_ms]` for fields
//! with a TTL); stream -> object with `entries`, `length`, IDs and `groups`; module ->
//! `{"module":name,"encver":n,"raw":{"base64":...}}`.

use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rdb_parser::{ArrayValue, Element, Function, Item, Key, RdbString, Stream, StreamId, Value};

/// Writes JSON lines, reusing its buffers across items.
#[derive(Debug, Default)]
pub struct JsonWriter {
    scratch: Vec<u8>,
}

impl JsonWriter {
    /// A writer with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `item` as one JSON line; items without a JSON form (db changes, size
    /// hints, the end) write nothing.
    ///
    /// # Errors
    /// I/O errors, and corrupt values (as `InvalidData`).
    pub fn write_item(&mut self, out: &mut impl Write, item: &Item<'_>) -> io::Result<()> {
        match item {
            Item::Key(k) => self.write_key(out, k)?,
            Item::Aux { key, value } => {
                out.write_all(b"{\"aux\":")?;
                self.write_rdb_string(out, key)?;
                out.write_all(b",\"value\":")?;
                self.write_rdb_string(out, value)?;
                out.write_all(b"}\n")?;
            }
            Item::Function(Function::Library { code }) => {
                out.write_all(b"{\"function\":")?;
                self.write_rdb_string(out, code)?;
                out.write_all(b"}\n")?;
            }
            Item::Function(Function::PreGa { name, code, .. }) => {
                out.write_all(b"{\"function\":")?;
                self.write_rdb_string(out, code)?;
                out.write_all(b",\"name\":")?;
                self.write_rdb_string(out, name)?;
                out.write_all(b"}\n")?;
            }
            Item::ModuleAux { when, module } => {
                write!(
                    out,
                    "{{\"module_aux\":\"{}\",\"when\":{when},\"encver\":{},\"raw\":",
                    module.name(),
                    module.encoding_version()
                )?;
                write_bytes(out, module.raw_fields(), true)?;
                out.write_all(b"}\n")?;
            }
            _ => {}
        }
        Ok(())
    }

    fn write_key(&mut self, out: &mut impl Write, k: &Key<'_>) -> io::Result<()> {
        write!(out, "{{\"db\":{},\"key\":", k.db)?;
        self.write_rdb_string(out, &k.key)?;
        write!(
            out,
            ",\"type\":\"{}\",\"encoding\":\"{}\",\"expire_ms\":",
            k.value.value_type().as_str(),
            k.value.encoding().as_str()
        )?;
        match k.expire_ms {
            Some(ms) => write!(out, "{ms}")?,
            None => out.write_all(b"null")?,
        }
        if let Some(idle) = k.idle {
            write!(out, ",\"idle\":{idle}")?;
        }
        if let Some(freq) = k.freq {
            write!(out, ",\"freq\":{freq}")?;
        }
        out.write_all(b",\"value\":")?;
        self.write_value(out, &k.value)?;
        out.write_all(b"}\n")
    }

    fn write_value(&mut self, out: &mut impl Write, value: &Value<'_>) -> io::Result<()> {
        match value {
            Value::String(s) => self.write_rdb_string(out, s),
            Value::List(l) => {
                out.write_all(b"[")?;
                l.try_fold((), elements(out))?;
                out.write_all(b"]")
            }
            Value::Set(s) => {
                out.write_all(b"[")?;
                s.try_fold((), elements(out))?;
                out.write_all(b"]")
            }
            Value::SortedSet(z) => {
                out.write_all(b"[")?;
                let mut first = true;
                z.try_fold((), |(), member, score| {
                    out.write_all(if first { b"[" } else { b",[" })?;
                    first = false;
                    write_element(out, member)?;
                    out.write_all(b",")?;
                    write_score(out, score)?;
                    out.write_all(b"]")
                })?;
                out.write_all(b"]")
            }
            Value::Hash(h) => {
                out.write_all(b"[")?;
                let mut first = true;
                h.try_fold((), |(), f| {
                    out.write_all(if first { b"[" } else { b",[" })?;
                    first = false;
                    write_element(out, f.field)?;
                    out.write_all(b",")?;
                    write_element(out, f.value)?;
                    if let Some(ms) = f.expire_ms {
                        write!(out, ",{ms}")?;
                    }
                    out.write_all(b"]")
                })?;
                out.write_all(b"]")
            }
            Value::Stream(s) => self.write_stream(out, s),
            Value::Module(m) => {
                write!(
                    out,
                    "{{\"module\":\"{}\",\"encver\":{},\"raw\":",
                    m.name(),
                    m.encoding_version()
                )?;
                write_bytes(out, m.raw_fields(), true)?;
                out.write_all(b"}")
            }
            Value::Array(a) => {
                out.write_all(b"[")?;
                for (i, slot) in a.slots().enumerate() {
                    let (index, v) = slot?;
                    write!(out, "{}[{index},", if i == 0 { "" } else { "," })?;
                    match v {
                        ArrayValue::String(s) => self.write_rdb_string(out, &s)?,
                        ArrayValue::Int(n) => write!(out, "{n}")?,
                        ArrayValue::Float(f) => write_score(out, f)?,
                        _ => out.write_all(b"null")?,
                    }
                    out.write_all(b"]")?;
                }
                out.write_all(b"]")
            }
            _ => out.write_all(b"null"),
        }
    }

    fn write_stream(&mut self, out: &mut impl Write, s: &Stream<'_>) -> io::Result<()> {
        out.write_all(b"{\"entries\":[")?;
        let mut entries = s.entries();
        let mut first = true;
        while let Some(e) = entries.next()? {
            write!(out, "{}[\"{}\",[", if first { "" } else { "," }, e.id)?;
            first = false;
            for (i, (f, v)) in e.fields().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_element(out, f)?;
                out.write_all(b",")?;
                write_element(out, v)?;
            }
            out.write_all(b"]]")?;
        }
        write!(
            out,
            "],\"length\":{},\"last_id\":\"{}\"",
            s.length, s.last_id
        )?;
        let opt_id = |id: Option<StreamId>| id.map_or("null".to_owned(), |id| format!("\"{id}\""));
        write!(out, ",\"first_id\":{}", opt_id(s.first_id))?;
        write!(out, ",\"max_deleted_id\":{}", opt_id(s.max_deleted_id))?;
        match s.entries_added {
            Some(n) => write!(out, ",\"entries_added\":{n}")?,
            None => out.write_all(b",\"entries_added\":null")?,
        }
        out.write_all(b",\"groups\":[")?;
        for (gi, g) in s.groups.iter().enumerate() {
            out.write_all(if gi == 0 {
                b"{\"name\":"
            } else {
                b",{\"name\":"
            })?;
            self.write_rdb_string(out, &g.name)?;
            write!(out, ",\"last_id\":\"{}\",\"entries_read\":", g.last_id)?;
            match g.entries_read {
                Some(n) => write!(out, "{n}")?,
                None => out.write_all(b"null")?,
            }
            out.write_all(b",\"pending\":[")?;
            for (i, p) in g.pending.iter().enumerate() {
                write!(
                    out,
                    "{}[\"{}\",{},{}]",
                    if i == 0 { "" } else { "," },
                    p.id,
                    p.delivery_time_ms,
                    p.delivery_count
                )?;
            }
            out.write_all(b"],\"consumers\":[")?;
            for (ci, c) in g.consumers.iter().enumerate() {
                out.write_all(if ci == 0 {
                    b"{\"name\":"
                } else {
                    b",{\"name\":"
                })?;
                self.write_rdb_string(out, &c.name)?;
                write!(out, ",\"seen_time_ms\":{}", c.seen_time_ms)?;
                if let Some(t) = c.active_time_ms {
                    write!(out, ",\"active_time_ms\":{t}")?;
                }
                out.write_all(b",\"pending\":[")?;
                for (i, id) in c.pending.iter().enumerate() {
                    write!(out, "{}\"{id}\"", if i == 0 { "" } else { "," })?;
                }
                out.write_all(b"]}")?;
            }
            out.write_all(b"]")?;
            if !g.nacked.is_empty() {
                out.write_all(b",\"nacked\":[")?;
                for (i, id) in g.nacked.iter().enumerate() {
                    write!(out, "{}\"{id}\"", if i == 0 { "" } else { "," })?;
                }
                out.write_all(b"]")?;
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"]}")
    }

    fn write_rdb_string(&mut self, out: &mut impl Write, s: &RdbString<'_>) -> io::Result<()> {
        let bytes = s.bytes(&mut self.scratch)?;
        write_bytes(out, bytes, false)
    }
}

/// Writes the elements handed to it as the items of a JSON array (the caller writes
/// the brackets): the closure for a list's or a set's `try_fold`.
fn elements<W: Write>(out: &mut W) -> impl FnMut((), Element<'_>) -> io::Result<()> + '_ {
    let mut first = true;
    move |(), e| {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        write_element(out, e)
    }
}

fn write_element(out: &mut impl Write, e: Element<'_>) -> io::Result<()> {
    match e {
        Element::Bytes(b) => write_bytes(out, b, false),
        Element::Int(i) => write!(out, "\"{i}\""),
    }
}

/// A score as a JSON number, or a string for the values JSON cannot hold.
fn write_score(out: &mut impl Write, score: f64) -> io::Result<()> {
    if score.is_nan() {
        out.write_all(b"\"nan\"")
    } else if score.is_infinite() {
        out.write_all(if score > 0.0 { b"\"inf\"" } else { b"\"-inf\"" })
    } else {
        serde_json::to_writer(&mut *out, &score).map_err(io::Error::other)
    }
}

/// A byte string: a JSON string when UTF-8 (unless `force_base64`), else base64.
pub(crate) fn write_bytes(out: &mut impl Write, b: &[u8], force_base64: bool) -> io::Result<()> {
    match std::str::from_utf8(b) {
        Ok(s) if !force_base64 => serde_json::to_writer(&mut *out, s).map_err(io::Error::other),
        _ => write!(out, "{{\"base64\":\"{}\"}}", BASE64.encode(b)),
    }
}
