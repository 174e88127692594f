//! A value as plain commands (`SET`, `RPUSH`, `SADD`, `ZADD`, `HSET`, `XADD` with its
//! groups...), for targets that cannot take its `RESTORE` payload: an older server,
//! another vendor's format, or a value over `proto-max-bulk-len`.
//!
//! Commands carry at most [`ELEMENTS_PER_COMMAND`] elements, so no command grows
//! with the value.

use bytes::Bytes;
use endpoint::{Flavor, ServerInfo};
use rdb_parser::{Element, Value};

use crate::error::{Error, Result, shown};

/// Most elements (members, fields, list items) in one command.
pub const ELEMENTS_PER_COMMAND: usize = 256;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn el(e: Element<'_>) -> Bytes {
    Bytes::from(e.to_vec())
}

/// The commands that give fields of the hash `key` their expiry times
/// (`HPEXPIREAT`, unix milliseconds). On a target that keeps no field TTLs:
/// none, counted in `dropped` when given (the caller may lose them), else
/// [`Error::Unsupported`].
pub(crate) fn field_expiries(
    key: &Bytes,
    shown_key: &[u8],
    ttls: Vec<(Bytes, i64)>,
    target: &ServerInfo,
    dropped: Option<&mut u64>,
) -> Result<Vec<Vec<Bytes>>> {
    if ttls.is_empty() || target.has_field_ttls() {
        return Ok(ttls
            .into_iter()
            .map(|(field, at)| {
                vec![
                    b("HPEXPIREAT"),
                    key.clone(),
                    b(&at.to_string()),
                    b("FIELDS"),
                    b("1"),
                    field,
                ]
            })
            .collect());
    }
    match dropped {
        Some(n) => {
            *n += ttls.len() as u64;
            Ok(Vec::new())
        }
        None => Err(Error::Unsupported {
            key: shown(shown_key),
            reason: "hash field TTLs, which the target does not keep".into(),
        }),
    }
}

/// Commands that rebuild `value` under the name `key` (which should not exist);
/// field TTLs the target cannot keep are counted in `dropped_ttls` when given
/// (see [`field_expiries`]).
pub(crate) fn render(
    key: &Bytes,
    shown_key: &[u8],
    value: &Value<'_>,
    target: &ServerInfo,
    dropped_ttls: Option<&mut u64>,
) -> Result<Vec<Vec<Bytes>>> {
    let mut out: Vec<Vec<Bytes>> = Vec::new();
    // Appends `item`'s arguments to the last command if it has room, else starts one.
    let batch = |out: &mut Vec<Vec<Bytes>>, head: &[Bytes], per: usize, item: Vec<Bytes>| match out
        .last_mut()
    {
        Some(cmd)
            if cmd.len() + item.len() <= head.len() + per * item.len() && cmd[0] == head[0] =>
        {
            cmd.extend(item)
        }
        _ => {
            let mut cmd = head.to_vec();
            cmd.extend(item);
            out.push(cmd);
        }
    };
    match value {
        Value::String(s) => out.push(vec![b("SET"), key.clone(), Bytes::from(s.to_vec()?)]),
        Value::List(list) => {
            let head = [b("RPUSH"), key.clone()];
            list.try_fold((), |(), e| {
                batch(&mut out, &head, ELEMENTS_PER_COMMAND, vec![el(e)]);
                Ok::<_, rdb_parser::Error>(())
            })?;
        }
        Value::Set(set) => {
            let head = [b("SADD"), key.clone()];
            set.try_fold((), |(), e| {
                batch(&mut out, &head, ELEMENTS_PER_COMMAND, vec![el(e)]);
                Ok::<_, rdb_parser::Error>(())
            })?;
        }
        Value::SortedSet(zset) => {
            let head = [b("ZADD"), key.clone()];
            zset.try_fold((), |(), m, score| {
                batch(
                    &mut out,
                    &head,
                    ELEMENTS_PER_COMMAND,
                    vec![b(&score.to_string()), el(m)],
                );
                Ok::<_, rdb_parser::Error>(())
            })?;
        }
        Value::Hash(hash) => {
            let head = [b("HSET"), key.clone()];
            let mut ttls = Vec::new();
            hash.try_fold((), |(), f| {
                let field = el(f.field);
                if let Some(at) = f.expire_ms {
                    ttls.push((field.clone(), at));
                }
                batch(
                    &mut out,
                    &head,
                    ELEMENTS_PER_COMMAND,
                    vec![field, el(f.value)],
                );
                Ok::<_, rdb_parser::Error>(())
            })?;
            out.extend(field_expiries(key, shown_key, ttls, target, dropped_ttls)?);
        }
        Value::Stream(stream) => render_stream(key, stream, target, &mut out)?,
        other => {
            return Err(Error::Unsupported {
                key: shown(shown_key),
                reason: format!(
                    "a {} value has no command form, and the target cannot RESTORE it",
                    other.value_type().as_str()
                ),
            });
        }
    }
    Ok(out)
}

fn render_stream(
    key: &Bytes,
    s: &rdb_parser::Stream<'_>,
    target: &ServerInfo,
    out: &mut Vec<Vec<Bytes>>,
) -> Result<()> {
    let any = render_stream_entries(key, &mut s.entries(), out)?;
    render_stream_meta(key, s, any, target, out)
}

/// `XADD`s for the entries of a cursor; whether there were any.
pub(crate) fn render_stream_entries(
    key: &Bytes,
    entries: &mut rdb_parser::StreamEntries<'_>,
    out: &mut Vec<Vec<Bytes>>,
) -> Result<bool> {
    let mut any = false;
    while let Some(e) = entries.next()? {
        any = true;
        let mut cmd = vec![b("XADD"), key.clone(), b(&e.id.to_string())];
        for (f, v) in e.fields() {
            cmd.push(el(f));
            cmd.push(el(v));
        }
        out.push(cmd);
    }
    Ok(any)
}

/// The stream's IDs, groups, consumers and pending entries, after its entries
/// (`any`: some were written; else the stream is created empty).
pub(crate) fn render_stream_meta(
    key: &Bytes,
    s: &rdb_parser::Stream<'_>,
    any: bool,
    target: &ServerInfo,
    out: &mut Vec<Vec<Bytes>>,
) -> Result<()> {
    let modern = target.version >= (7, 0, 0) || target.flavor == Flavor::Valkey;
    if !any {
        // An empty stream: add one entry at the last ID and trim it away.
        out.push(vec![
            b("XADD"),
            key.clone(),
            b("MAXLEN"),
            b("0"),
            b(&s.last_id.to_string()),
            b("_"),
            b("_"),
        ]);
    }
    let mut setid = vec![b("XSETID"), key.clone(), b(&s.last_id.to_string())];
    if modern {
        if let Some(n) = s.entries_added {
            setid.extend([b("ENTRIESADDED"), b(&n.to_string())]);
        }
        if let Some(id) = s.max_deleted_id {
            setid.extend([b("MAXDELETEDID"), b(&id.to_string())]);
        }
    }
    out.push(setid);
    for g in &s.groups {
        let name = Bytes::from(g.name.to_vec()?);
        let mut create = vec![
            b("XGROUP"),
            b("CREATE"),
            key.clone(),
            name.clone(),
            b(&g.last_id.to_string()),
        ];
        if modern && let Some(n) = g.entries_read {
            // The "unknown" counter is saved as -1.
            if n as i64 >= 0 {
                create.extend([b("ENTRIESREAD"), b(&n.to_string())]);
            }
        }
        out.push(create);
        for c in &g.consumers {
            let consumer = Bytes::from(c.name.to_vec()?);
            out.push(vec![
                b("XGROUP"),
                b("CREATECONSUMER"),
                key.clone(),
                name.clone(),
                consumer.clone(),
            ]);
            for id in &c.pending {
                let Some(p) = g.pending.iter().find(|p| p.id == *id) else {
                    continue;
                };
                out.push(vec![
                    b("XCLAIM"),
                    key.clone(),
                    name.clone(),
                    consumer.clone(),
                    b("0"),
                    b(&id.to_string()),
                    b("TIME"),
                    b(&p.delivery_time_ms.to_string()),
                    b("RETRYCOUNT"),
                    b(&p.delivery_count.to_string()),
                    b("FORCE"),
                    b("JUSTID"),
                ]);
            }
        }
    }
    Ok(())
}
