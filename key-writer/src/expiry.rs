//! Expiries as the writer writes them. A file is copied as its moment saw it: an
//! expired key is skipped. A live source decides for itself (its `DEL` follows in
//! the stream, or the key is extended): the target keeps such keys for a grace
//! period instead, as a real replica keeps keys until its master deletes them.
//!
//! With a grace (a live sync), forwarded commands also get their expiries as unix
//! times. Redis 7.0 and later propagate every expiry as one (`PEXPIREAT`,
//! `SET ... PXAT`); Redis 6.2 propagates relative ones as typed (`EXPIRE`,
//! `PEXPIRE`, `RESTORE`) or as `SET ... PX` (`SET ... EX`, `SETEX`, `PSETEX`) and
//! `PEXPIRE` (`GETEX`) (`src/expire.c`, `src/t_string.c`). A time to live applied
//! when the command reaches the target would be late by the sync's lag, so it is
//! counted from when the writer receives the command: the moment
//! [`Writer::write_command`](crate::Writer::write_command) is called, which in a
//! sync is right after the command arrives (a `DbCommand` carries no time of its
//! own). An AOF replayed with a grace gets what a server loading it does: times to
//! live counted from the replay.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::command::b;

/// Unix time now, in milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How expiries already past are written.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Expiry {
    /// `None`: skip expired keys; else move past expiries this far into the future.
    pub(crate) grace: Option<Duration>,
}

impl Expiry {
    /// The expiry to write for a key: `None` for a key to skip (expired, no grace),
    /// else its expiry (moved into the grace period when past).
    pub(crate) fn key(&self, expire_ms: Option<i64>) -> Option<Option<i64>> {
        match (expire_ms, self.grace) {
            (Some(at), None) if at <= now_ms() => None,
            (Some(at), Some(grace)) => Some(Some(at.max(now_ms() + grace.as_millis() as i64))),
            (other, _) => Some(other),
        }
    }

    /// A forwarded command (upper-case `name`) with its expiry fixed for a live
    /// sync: relative expiries turned into unix times counted from now, the moment
    /// the writer receives the command, and times before the grace's end moved to
    /// it; `None` when nothing changes, when there is no grace, or when the
    /// arguments are not understood (the target then judges them as the source
    /// did).
    pub(crate) fn command(&self, name: &[u8], args: &[Bytes]) -> Option<Vec<Bytes>> {
        let grace = i64::try_from(self.grace?.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        rewrite(name, args, now, now.saturating_add(grace))
    }
}

/// An expiry as a command gives it, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Time {
    /// A time to live, from when the command runs.
    In(i64),
    /// A unix time.
    At(i64),
}

impl Time {
    /// `arg` as a number of `unit_ms` milliseconds: a unix time when `absolute`,
    /// else a time to live; `None` when it is not an integer or overflows.
    fn read(arg: &[u8], unit_ms: i64, absolute: bool) -> Option<Time> {
        let n: i64 = std::str::from_utf8(arg).ok()?.parse().ok()?;
        let ms = n.checked_mul(unit_ms)?;
        Some(if absolute { Time::At(ms) } else { Time::In(ms) })
    }

    /// The value of the option `token` (`EX`, `PX`, `EXAT` or `PXAT`).
    fn option(token: &[u8], arg: &[u8]) -> Option<Time> {
        match token.to_ascii_uppercase().as_slice() {
            b"EX" => Time::read(arg, 1000, false),
            b"PX" => Time::read(arg, 1, false),
            b"EXAT" => Time::read(arg, 1000, true),
            b"PXAT" => Time::read(arg, 1, true),
            _ => None,
        }
    }

    /// The unix time to write instead, given the time `now` and the grace's end
    /// `floor`; `None` when the time stays as written: an absolute one not before
    /// the floor, and a relative one that is not positive or overflows. Servers
    /// refuse a non-positive time to live (`SET`, `SETEX`, `GETEX`, `HSETEX`,
    /// `HGETEX`, `RESTORE`) or delete the key or fields at once (`EXPIRE`,
    /// `HEXPIRE`): the target does as the source did, which is no lag's doing. (A
    /// Redis 6.2 master sends `DEL` for such an `EXPIRE`, so a stream rarely has
    /// one.)
    fn moved(self, now: i64, floor: i64) -> Option<i64> {
        match self {
            Time::In(ms) if ms > 0 => Some(now.checked_add(ms)?.max(floor)),
            Time::In(_) => None,
            Time::At(at) => (at < floor).then_some(floor),
        }
    }
}

/// Whether `arg` is one of `words` (upper case), in any case.
fn is_one_of(arg: &[u8], words: &[&[u8]]) -> bool {
    words.iter().any(|w| arg.eq_ignore_ascii_case(w))
}

/// The options of a command, from `args[from]` to its end or to a `FIELDS` block:
/// the indexes of the options, and where they end. `flags` stand alone, `valued`
/// options take one argument. `None` for any other word or a missing value.
fn options(
    args: &[Bytes],
    from: usize,
    flags: &[&[u8]],
    valued: &[&[u8]],
) -> Option<(Vec<usize>, usize)> {
    let mut found = Vec::new();
    let mut i = from;
    while let Some(arg) = args.get(i) {
        if arg.eq_ignore_ascii_case(b"FIELDS") {
            break;
        }
        found.push(i);
        i += if is_one_of(arg, flags) {
            1
        } else if is_one_of(arg, valued) && i + 1 < args.len() {
            2
        } else {
            return None;
        };
    }
    Some((found, i))
}

/// The expiry options a command's `SET`-like options may hold.
const EXPIRY_OPTIONS: [&[u8]; 4] = [b"EX", b"PX", b"EXAT", b"PXAT"];

/// The index of the one expiry option (`EX`, `PX`, `EXAT`, `PXAT`) among `found`;
/// `None` when there is none or more than one (a syntax error for the server).
fn expiry_option(args: &[Bytes], found: &[usize]) -> Option<usize> {
    let mut expiry = found
        .iter()
        .filter(|&&i| is_one_of(&args[i], &EXPIRY_OPTIONS));
    let first = *expiry.next()?;
    expiry.next().is_none().then_some(first)
}

/// Whether `args[at..]` is exactly `FIELDS n` and `n` fields of `per_field`
/// arguments each.
fn fields_block(args: &[Bytes], at: usize, per_field: usize) -> bool {
    let (Some(word), Some(n)) = (args.get(at), args.get(at + 1)) else {
        return false;
    };
    let n = std::str::from_utf8(n)
        .ok()
        .and_then(|n| n.parse::<usize>().ok());
    word.eq_ignore_ascii_case(b"FIELDS")
        && n.is_some_and(|n| {
            n > 0
                && n.checked_mul(per_field).and_then(|a| a.checked_add(at + 2)) == Some(args.len())
        })
}

/// `args` with the expiry option at `i` written as `PXAT`, or `None`.
fn with_pxat(args: &[Bytes], i: usize, now: i64, floor: i64) -> Option<Vec<Bytes>> {
    let at = Time::option(&args[i], args.get(i + 1)?)?.moved(now, floor)?;
    let mut out = args.to_vec();
    out[i] = b("PXAT");
    out[i + 1] = b(&at.to_string());
    Some(out)
}

/// The rewriting of [`Expiry::command`], at time `now` with the grace ending at
/// `floor`.
///
/// # Wire format
/// The forms read, as the servers define them (Redis `src/expire.c`,
/// `src/t_string.c`, `src/cluster.c`; Valkey `src/t_hash.c`):
/// ```text
/// EXPIRE|PEXPIRE|EXPIREAT|PEXPIREAT key time [NX|XX|GT|LT]   -> PEXPIREAT key ms [flags]
/// SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT time|KEEPTTL] -> ... PXAT ms
/// GETEX key [EX|PX|EXAT|PXAT time|PERSIST]                  -> ... PXAT ms
/// SETEX|PSETEX key time value                               -> SET key value PXAT ms
/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] -> ... ABSTTL
/// HEXPIRE|HPEXPIRE|HEXPIREAT|HPEXPIREAT key time [NX|XX|GT|LT] FIELDS n field...
///                                                           -> HPEXPIREAT key ms ...
/// HSETEX key [NX|XX] [FNX|FXX] [EX|PX|EXAT|PXAT time|KEEPTTL] FIELDS n (field value)...
/// HGETEX key [EX|PX|EXAT|PXAT time|PERSIST] FIELDS n field...
/// ```
fn rewrite(name: &[u8], args: &[Bytes], now: i64, floor: i64) -> Option<Vec<Bytes>> {
    const CONDITIONS: [&[u8]; 4] = [b"NX", b"XX", b"GT", b"LT"];
    match name {
        b"EXPIRE" | b"PEXPIRE" | b"EXPIREAT" | b"PEXPIREAT" => {
            let (unit, absolute) = match name {
                b"EXPIRE" => (1000, false),
                b"PEXPIRE" => (1, false),
                b"EXPIREAT" => (1000, true),
                _ => (1, true),
            };
            let flags = args.get(3..)?;
            if !flags.iter().all(|f| is_one_of(f, &CONDITIONS)) {
                return None;
            }
            let at = Time::read(&args[2], unit, absolute)?.moved(now, floor)?;
            let mut out = args.to_vec();
            out[0] = b("PEXPIREAT");
            out[2] = b(&at.to_string());
            Some(out)
        }
        b"HEXPIRE" | b"HPEXPIRE" | b"HEXPIREAT" | b"HPEXPIREAT" => {
            let (unit, absolute) = match name {
                b"HEXPIRE" => (1000, false),
                b"HPEXPIRE" => (1, false),
                b"HEXPIREAT" => (1000, true),
                _ => (1, true),
            };
            let (_, end) = options(args, 3, &CONDITIONS, &[])?;
            if !fields_block(args, end, 1) {
                return None;
            }
            let at = Time::read(&args[2], unit, absolute)?.moved(now, floor)?;
            let mut out = args.to_vec();
            out[0] = b("HPEXPIREAT");
            out[2] = b(&at.to_string());
            Some(out)
        }
        b"SET" | b"GETEX" => {
            let (from, flags): (usize, &[&[u8]]) = if name == b"SET" {
                (3, &[b"NX", b"XX", b"GET", b"KEEPTTL"])
            } else {
                (2, &[b"PERSIST"])
            };
            let (found, end) = options(args, from, flags, &EXPIRY_OPTIONS)?;
            if end != args.len() {
                return None;
            }
            with_pxat(args, expiry_option(args, &found)?, now, floor)
        }
        b"HSETEX" | b"HGETEX" => {
            let (flags, per_field): (&[&[u8]], usize) = if name == b"HSETEX" {
                (&[b"NX", b"XX", b"FNX", b"FXX", b"KEEPTTL"], 2)
            } else {
                (&[b"PERSIST"], 1)
            };
            let (found, end) = options(args, 2, flags, &EXPIRY_OPTIONS)?;
            if !fields_block(args, end, per_field) {
                return None;
            }
            with_pxat(args, expiry_option(args, &found)?, now, floor)
        }
        b"SETEX" | b"PSETEX" => {
            let [_, key, ttl, value] = args else {
                return None;
            };
            let unit = if name == b"SETEX" { 1000 } else { 1 };
            let at = Time::read(ttl, unit, false)?.moved(now, floor)?;
            Some(vec![
                b("SET"),
                key.clone(),
                value.clone(),
                b("PXAT"),
                b(&at.to_string()),
            ])
        }
        b"RESTORE" => {
            let (found, end) = options(args, 4, &[b"REPLACE", b"ABSTTL"], &[b"IDLETIME", b"FREQ"])?;
            if end != args.len() {
                return None;
            }
            let absolute = found
                .iter()
                .any(|&i| args[i].eq_ignore_ascii_case(b"ABSTTL"));
            // 0 is no expiry; a negative one is refused.
            let time = Time::read(&args[2], 1, absolute)?;
            let (Time::In(ttl) | Time::At(ttl)) = time;
            if ttl <= 0 {
                return None;
            }
            let at = time.moved(now, floor)?;
            let mut out = args.to_vec();
            out[2] = b(&at.to_string());
            if !absolute {
                out.push(b("ABSTTL"));
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000_000;
    const FLOOR: i64 = NOW + 5_000;
    /// `NOW` plus the 100 s of every relative expiry below.
    const T: i64 = NOW + 100_000;

    fn args(text: &str) -> Vec<Bytes> {
        text.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
    }

    /// `text` rewritten at `NOW`, as text.
    fn rewritten(text: &str) -> Option<String> {
        let args = args(text);
        let out = rewrite(&args[0].to_ascii_uppercase(), &args, NOW, FLOOR)?;
        Some(String::from_utf8(out.join(&b' ')).unwrap())
    }

    #[test]
    fn past_expiries_move_into_the_grace_period() {
        let none = Expiry::default();
        assert_eq!(none.key(Some(1)), None, "skipped without a grace");
        assert_eq!(none.key(None), Some(None));
        assert_eq!(none.command(b"PEXPIREAT", &args("PEXPIREAT k 1")), None);
        assert_eq!(none.command(b"EXPIRE", &args("EXPIRE k 100")), None);
        let grace = Expiry {
            grace: Some(Duration::from_secs(5)),
        };
        let later = now_ms() + 60_000;
        assert_eq!(grace.key(Some(later)), Some(Some(later)));
        assert!(grace.key(Some(1)).unwrap().unwrap() >= now_ms() + 4_000);
        for (text, want) in [
            ("EXPIREAT k 1", format!("PEXPIREAT k {FLOOR}")),
            ("PEXPIREAT k 1 GT", format!("PEXPIREAT k {FLOOR} GT")),
            ("SET k v exat 1", format!("SET k v PXAT {FLOOR}")),
            ("GETEX k PXAT 1", format!("GETEX k PXAT {FLOOR}")),
            (
                "RESTORE k 1 p ABSTTL",
                format!("RESTORE k {FLOOR} p ABSTTL"),
            ),
            (
                "HEXPIREAT h 1 FIELDS 1 a",
                format!("HPEXPIREAT h {FLOOR} FIELDS 1 a"),
            ),
            (
                "HPEXPIREAT h 1 LT FIELDS 1 a",
                format!("HPEXPIREAT h {FLOOR} LT FIELDS 1 a"),
            ),
            (
                "HSETEX h EXAT 1 FIELDS 1 f v",
                format!("HSETEX h PXAT {FLOOR} FIELDS 1 f v"),
            ),
        ] {
            assert_eq!(rewritten(text).as_deref(), Some(&want[..]), "{text}");
        }
        let later = NOW + 60_000;
        for text in [
            format!("PEXPIREAT k {later}"),
            format!("EXPIREAT k {}", later / 1000),
            format!("SET k v PXAT {later}"),
            format!("HPEXPIREAT h {later} FIELDS 1 a"),
            format!("RESTORE k {later} p ABSTTL"),
        ] {
            assert_eq!(rewritten(&text), None, "{text}: not past, kept");
        }
    }

    #[test]
    fn relative_expiries_become_unix_times_with_their_flags() {
        for (text, want) in [
            ("EXPIRE k 100", format!("PEXPIREAT k {T}")),
            ("expire k 100 nx", format!("PEXPIREAT k {T} nx")),
            ("PEXPIRE k 100000 GT", format!("PEXPIREAT k {T} GT")),
            ("EXPIRE k 1", format!("PEXPIREAT k {FLOOR}")),
            ("SET k v EX 100", format!("SET k v PXAT {T}")),
            ("SET k v PX 100000", format!("SET k v PXAT {T}")),
            (
                "SET k v NX GET PX 100000",
                format!("SET k v NX GET PXAT {T}"),
            ),
            ("set k v xx ex 100 get", format!("set k v xx PXAT {T} get")),
            ("GETEX k EX 100", format!("GETEX k PXAT {T}")),
            ("GETEX k px 100000", format!("GETEX k PXAT {T}")),
            ("SETEX k 100 v", format!("SET k v PXAT {T}")),
            ("PSETEX k 100000 v", format!("SET k v PXAT {T}")),
            ("RESTORE k 100000 p", format!("RESTORE k {T} p ABSTTL")),
            (
                "RESTORE k 100000 p REPLACE IDLETIME 5",
                format!("RESTORE k {T} p REPLACE IDLETIME 5 ABSTTL"),
            ),
            (
                "HEXPIRE h 100 FIELDS 2 a b",
                format!("HPEXPIREAT h {T} FIELDS 2 a b"),
            ),
            (
                "HPEXPIRE h 100000 XX FIELDS 1 EX",
                format!("HPEXPIREAT h {T} XX FIELDS 1 EX"),
            ),
            (
                "HSETEX h EX 100 FIELDS 1 f v",
                format!("HSETEX h PXAT {T} FIELDS 1 f v"),
            ),
            (
                "HSETEX h NX FXX PX 100000 FIELDS 2 EX 1 PX 2",
                format!("HSETEX h NX FXX PXAT {T} FIELDS 2 EX 1 PX 2"),
            ),
            (
                "HGETEX h PX 100000 FIELDS 1 f",
                format!("HGETEX h PXAT {T} FIELDS 1 f"),
            ),
        ] {
            assert_eq!(rewritten(text).as_deref(), Some(&want[..]), "{text}");
        }
    }

    #[test]
    fn what_is_not_understood_or_not_positive_stays_as_written() {
        for text in [
            // The server deletes the key (EXPIRE) or refuses the command.
            "EXPIRE k 0",
            "PEXPIRE k -5",
            "SET k v EX 0",
            "SETEX k -1 v",
            "GETEX k PX 0",
            "RESTORE k 0 p",
            "RESTORE k -1 p ABSTTL",
            "HEXPIRE h 0 FIELDS 1 a",
            "HSETEX h EX 0 FIELDS 1 f v",
            // Nothing to do.
            "SET k v",
            "SET k v KEEPTTL",
            "GETEX k PERSIST",
            "HSETEX h KEEPTTL FIELDS 1 f v",
            "HGETEX h PERSIST FIELDS 1 f",
            "DEL k",
            // Malformed: the target answers as the source did.
            "EXPIRE k",
            "EXPIRE k x",
            "EXPIRE k 100 SOON",
            "EXPIRE k 9223372036854775807",
            "EXPIREAT k 9223372036854775807",
            "SET k v EX",
            "SET k v EX 1 PX 2",
            "SET k v EX ten",
            "SET k EX 100",
            "SET k v SOON EX 100",
            "GETEX k EX 1 EX 2",
            "SETEX k 100",
            "SETEX k 100 v w",
            "RESTORE k 100",
            "RESTORE k 100 p IDLETIME",
            "RESTORE k 100 p SOON",
            "HEXPIRE h 100 a",
            "HEXPIRE h 100 FIELDS 0",
            "HEXPIRE h 100 FIELDS 2 a",
            "HEXPIRE h 100 FIELDS x a",
            "HEXPIRE h 100 SOON FIELDS 1 a",
            "HSETEX h EX 100 FIELDS 1 f",
            "HSETEX h EX 100",
            "HGETEX h EX 100 FIELDS 1",
        ] {
            assert_eq!(rewritten(text), None, "{text}");
        }
    }

    #[test]
    fn the_grace_counts_from_now() {
        let grace = Expiry {
            grace: Some(Duration::from_secs(5)),
        };
        let before = now_ms();
        let out = grace.command(b"EXPIRE", &args("EXPIRE k 100")).unwrap();
        let after = now_ms();
        let at: i64 = std::str::from_utf8(&out[2]).unwrap().parse().unwrap();
        assert!((before + 100_000..=after + 100_000).contains(&at), "{at}");
    }

    proptest! {
        #[test]
        fn never_panics(
            name in prop::sample::select(vec![
                "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "SET", "GETEX", "SETEX",
                "PSETEX", "RESTORE", "HEXPIRE", "HPEXPIRE", "HEXPIREAT", "HPEXPIREAT",
                "HSETEX", "HGETEX",
            ]),
            rest in prop::collection::vec(
                prop_oneof![
                    prop::sample::select(vec![
                        "EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "GET",
                        "KEEPTTL", "PERSIST", "FIELDS", "FNX", "FXX", "ABSTTL",
                        "REPLACE", "IDLETIME", "FREQ", "0", "1", "2", "-1",
                        "9223372036854775807", "-9223372036854775808",
                    ]).prop_map(String::from),
                    any::<i64>().prop_map(|n| n.to_string()),
                    ".{0,3}",
                ],
                0..9,
            ),
        ) {
            let mut args = vec![b(name)];
            args.extend(rest.iter().map(|a| b(a)));
            for now in [NOW, i64::MAX - 1, i64::MIN] {
                if let Some(out) = rewrite(name.as_bytes(), &args, now, now.saturating_add(5_000)) {
                    prop_assert!(out.len() + 1 >= args.len() && out.len() <= args.len() + 1);
                }
            }
        }
    }
}
