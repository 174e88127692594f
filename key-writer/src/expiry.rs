//! Expiries that have passed by the time a key or command is written. A file is
//! copied as its moment saw it: an expired key is skipped. A live source decides
//! for itself (its `DEL` follows in the stream, or the key is extended): the
//! target keeps such keys for a grace period instead, as a real replica keeps keys
//! until its master deletes them.

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

    /// A forwarded command (upper-case `name`) with absolute expiry times already
    /// past moved into the grace period; `None` when nothing changes.
    pub(crate) fn command(&self, name: &[u8], args: &[Bytes]) -> Option<Vec<Bytes>> {
        let grace = self.grace?.as_millis() as i64;
        let floor = now_ms() + grace;
        let number = |a: &Bytes| std::str::from_utf8(a).ok()?.parse::<i64>().ok();
        let mut out = args.to_vec();
        let mut changed = false;
        let mut set_ms = |out: &mut Vec<Bytes>, i: usize, ms: i64| {
            if ms < floor {
                out[i] = b(&floor.to_string());
                changed = true;
                true
            } else {
                false
            }
        };
        match name {
            b"PEXPIREAT" => {
                if let Some(ms) = out.get(2).and_then(number) {
                    set_ms(&mut out, 2, ms);
                }
            }
            b"EXPIREAT" => {
                if let Some(s) = out.get(2).and_then(number)
                    && set_ms(&mut out, 2, s.saturating_mul(1000))
                {
                    out[0] = b("PEXPIREAT");
                }
            }
            b"SET" | b"GETEX" => {
                for i in 2..out.len().saturating_sub(1) {
                    let unit = out[i].to_ascii_uppercase();
                    if (unit == b"PXAT" || unit == b"EXAT")
                        && let Some(t) = number(&out[i + 1])
                    {
                        let ms = if unit == b"EXAT" {
                            t.saturating_mul(1000)
                        } else {
                            t
                        };
                        if set_ms(&mut out, i + 1, ms) {
                            out[i] = b("PXAT");
                        }
                    }
                }
            }
            _ => {}
        }
        changed.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<Bytes> {
        text.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
    }

    #[test]
    fn past_expiries_move_into_the_grace_period() {
        let none = Expiry::default();
        assert_eq!(none.key(Some(1)), None, "skipped without a grace");
        assert_eq!(none.key(None), Some(None));
        assert_eq!(none.command(b"PEXPIREAT", &args("PEXPIREAT k 1")), None);
        let grace = Expiry {
            grace: Some(Duration::from_secs(5)),
        };
        let later = now_ms() + 60_000;
        assert_eq!(grace.key(Some(later)), Some(Some(later)));
        assert!(grace.key(Some(1)).unwrap().unwrap() >= now_ms() + 4_000);
        let moved = grace.command(b"EXPIREAT", &args("EXPIREAT k 1")).unwrap();
        assert_eq!(&moved[0][..], b"PEXPIREAT");
        let moved = grace.command(b"SET", &args("SET k v exat 1")).unwrap();
        assert_eq!(&moved[3][..], b"PXAT");
        assert!(
            grace
                .command(b"SET", &args(&format!("SET k v PXAT {later}")))
                .is_none()
        );
    }
}
