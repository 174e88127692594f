//! Which arguments of a command are keys, so a command can be routed by slot, split
//! across slots when its meaning allows, or refused with a clear reason.
//!
//! The table covers the commands a replication stream or an AOF carries (writes,
//! scripts and transactions); see each server's `src/commands/*.json` for the
//! authoritative key specs.

use std::collections::BTreeMap;

use bytes::Bytes;
use endpoint::slot;

/// An argument from text (command names, numbers).
pub(crate) fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Where a command's keys are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeySpec {
    /// No keys (PING, PUBLISH, FUNCTION...).
    None,
    /// Keys at `first`, `first + step`... up to the last argument (`last` = 0) or up
    /// to the argument at `last`.
    Range {
        first: usize,
        last: usize,
        step: usize,
    },
    /// A count of keys at `at`, the keys right after it (EVAL, FCALL, LMPOP...), and
    /// `extra` keys before the count (a destination, e.g. ZUNIONSTORE).
    Counted { at: usize, extra: usize },
}

/// What the writer must do with a command besides routing it by its keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An ordinary keyed (or keyless) command.
    Plain,
    /// `SELECT db`.
    Select,
    /// `MULTI` / `EXEC` / `DISCARD`.
    Transaction,
    /// Multi-key commands whose keys may be split by slot into several commands
    /// with the same effect (`DEL`, `UNLINK`, `EXISTS`, `TOUCH`, `MSET`).
    Splittable,
    /// Commands that change whole databases (`FLUSHDB`, `FLUSHALL`, `SWAPDB`).
    Database,
    /// Commands every master must receive (`FUNCTION LOAD`, `SCRIPT LOAD`...).
    EveryMaster,
    /// Commands the target must not receive from a stream: connection or server
    /// management (`REPLCONF`, `PING` is harmless and dropped too).
    Skip,
}

/// The key spec and kind of a command, by its upper-case name.
pub(crate) fn spec(name: &[u8]) -> (KeySpec, Kind) {
    use KeySpec::*;
    let one = Range {
        first: 1,
        last: 1,
        step: 1,
    };
    let two = Range {
        first: 1,
        last: 2,
        step: 1,
    };
    let all = Range {
        first: 1,
        last: 0,
        step: 1,
    };
    match name {
        b"SELECT" => (None, Kind::Select),
        b"MULTI" | b"EXEC" | b"DISCARD" => (None, Kind::Transaction),
        b"FLUSHDB" | b"FLUSHALL" | b"SWAPDB" => (None, Kind::Database),
        b"PING" | b"REPLCONF" => (None, Kind::Skip),
        b"PUBLISH" | b"SPUBLISH" => (None, Kind::Plain),
        b"FUNCTION" | b"SCRIPT" => (None, Kind::EveryMaster),
        b"DEL" | b"UNLINK" | b"EXISTS" | b"TOUCH" => (all, Kind::Splittable),
        b"MSET" => (
            Range {
                first: 1,
                last: 0,
                step: 2,
            },
            Kind::Splittable,
        ),
        b"MSETNX" => (
            Range {
                first: 1,
                last: 0,
                step: 2,
            },
            Kind::Plain,
        ),
        b"RENAME" | b"RENAMENX" | b"SMOVE" | b"LMOVE" | b"BLMOVE" | b"RPOPLPUSH"
        | b"BRPOPLPUSH" | b"COPY" | b"ZRANGESTORE" | b"GEOSEARCHSTORE" => (two, Kind::Plain),
        b"SINTERSTORE" | b"SUNIONSTORE" | b"SDIFFSTORE" | b"PFMERGE" | b"SINTERCARD" => {
            (all, Kind::Plain)
        }
        b"ZUNIONSTORE" | b"ZINTERSTORE" | b"ZDIFFSTORE" => {
            (Counted { at: 2, extra: 1 }, Kind::Plain)
        }
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" | b"FCALL" | b"FCALL_RO" | b"LMPOP"
        | b"ZMPOP" | b"BLMPOP" | b"BZMPOP" => (Counted { at: 2, extra: 0 }, Kind::Plain),
        b"BITOP" => (
            Range {
                first: 2,
                last: 0,
                step: 1,
            },
            Kind::Plain,
        ),
        b"XGROUP" | b"XINFO" => (
            Range {
                first: 2,
                last: 2,
                step: 1,
            },
            Kind::Plain,
        ),
        _ => (one, Kind::Plain),
    }
}

/// The indexes of `args`' keys under `spec`.
pub(crate) fn key_indexes(spec: KeySpec, args: &[Bytes]) -> Vec<usize> {
    match spec {
        KeySpec::None => Vec::new(),
        KeySpec::Range { first, last, step } => {
            let end = if last == 0 {
                args.len()
            } else {
                (last + 1).min(args.len())
            };
            (first..end).step_by(step).collect()
        }
        KeySpec::Counted { at, extra } => {
            let n: usize = args
                .get(at)
                .and_then(|n| std::str::from_utf8(n).ok()?.parse().ok())
                .unwrap_or(0);
            let before = (at - extra..at).collect::<Vec<_>>();
            before
                .into_iter()
                .chain((at + 1..at + 1 + n).take_while(|&i| i < args.len()))
                .collect()
        }
    }
}

/// The slot of each key at `indexes`, or `None` when they all share one slot.
pub(crate) fn slots_if_split(args: &[Bytes], indexes: &[usize]) -> Option<Vec<u16>> {
    let slots: Vec<u16> = indexes.iter().map(|&i| slot(&args[i])).collect();
    let first = *slots.first()?;
    slots.iter().any(|&s| s != first).then_some(slots)
}

/// A splittable command (`DEL`, `MSET`...) as one command per slot, keys in their
/// original order; each part paired with its first key. `step` is 2 for `MSET`
/// (key, value), else 1.
pub(crate) fn split_by_slot(
    args: &[Bytes],
    indexes: &[usize],
    slots: &[u16],
    step: usize,
) -> Vec<Vec<Bytes>> {
    let mut by_slot: BTreeMap<u16, Vec<Bytes>> = BTreeMap::new();
    for (&i, &s) in indexes.iter().zip(slots) {
        let part = by_slot.entry(s).or_insert_with(|| vec![args[0].clone()]);
        part.extend(args[i..(i + step).min(args.len())].iter().cloned());
    }
    by_slot.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(cmd: &str) -> Vec<String> {
        let args: Vec<Bytes> = cmd.split(' ').map(|a| Bytes::from(a.to_owned())).collect();
        let (spec, _) = spec(&args[0].to_ascii_uppercase());
        key_indexes(spec, &args)
            .into_iter()
            .map(|i| String::from_utf8(args[i].to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn key_positions() {
        assert_eq!(keys("SET a 1"), ["a"]);
        assert_eq!(keys("MSET a 1 b 2"), ["a", "b"]);
        assert_eq!(keys("DEL a b c"), ["a", "b", "c"]);
        assert_eq!(keys("RENAME a b"), ["a", "b"]);
        assert_eq!(keys("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), ["d", "a", "b"]);
        assert_eq!(keys("EVAL script 2 a b x"), ["a", "b"]);
        assert_eq!(keys("EVALSHA sha 0 x"), Vec::<String>::new());
        assert_eq!(keys("BITOP AND d a b"), ["d", "a", "b"]);
        assert_eq!(keys("XGROUP CREATE s g $"), ["s"]);
        assert_eq!(keys("PING"), Vec::<String>::new());
        assert_eq!(keys("EVAL s 9 a"), ["a"], "a count past the end is cut");
    }

    #[test]
    fn splits_keep_each_slot_together() {
        let args: Vec<Bytes> = "MSET {a}1 x {b}1 y {a}2 z"
            .split(' ')
            .map(|a| Bytes::from(a.to_owned()))
            .collect();
        let (spec, _) = spec(b"MSET");
        let indexes = key_indexes(spec, &args);
        let slots = slots_if_split(&args, &indexes).expect("two slots");
        let parts: Vec<Vec<Bytes>> = split_by_slot(&args, &indexes, &slots, 2);
        let text: Vec<String> = parts
            .iter()
            .map(|p| String::from_utf8(p.join(&b' ')).unwrap())
            .collect();
        assert_eq!(text.len(), 2);
        assert!(text.contains(&"MSET {a}1 x {a}2 z".to_owned()), "{text:?}");
        assert!(text.contains(&"MSET {b}1 y".to_owned()), "{text:?}");
        assert!(slots_if_split(&args, &indexes[..1]).is_none());
    }
}
