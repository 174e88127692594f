//! A value written as commands: built in a temporary key in the same slot and
//! renamed into place at the end, so a half-written value is never visible, the
//! existing-key policy holds (the rename says whether the key exists), and a batch
//! sent again never adds an element twice.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use endpoint::{slot, slot_tag};

use crate::command::b;
use crate::op::{Expect, Op};
use crate::options::ExistingKeys;

/// How long a temporary key lives once its TTL is set: far longer than any pause
/// between the writes of a build (a source link stalled that long has timed out),
/// so a slow build never loses it, while a build that a crash cut short leaves
/// nothing behind for long.
const TEMP_TTL: Duration = Duration::from_secs(60 * 60);

/// How long a build goes before it sets its temporary key's TTL again.
const TEMP_TTL_REFRESH: Duration = Duration::from_secs(15 * 60);

/// One value being built with commands.
#[derive(Debug)]
pub(crate) struct Build {
    /// The target database.
    pub(crate) db: u64,
    /// The key's final name.
    pub(crate) name: Bytes,
    /// The temporary key the value is built in.
    temp: Bytes,
    expire_ms: Option<i64>,
    /// When the temporary key's TTL was last set; `None` before its first write.
    ttl_set: Mutex<Option<Instant>>,
}

impl Build {
    /// A build of `name` in `db`.
    pub(crate) fn new(db: u64, name: Bytes, expire_ms: Option<i64>) -> Build {
        let temp = temp_key(&name);
        Build {
            db,
            name,
            temp,
            expire_ms,
            ttl_set: Mutex::new(None),
        }
    }

    /// The key the value's commands write.
    pub(crate) fn key(&self) -> &Bytes {
        &self.temp
    }

    /// A request on the key being built.
    fn op(&self, args: Vec<Bytes>) -> Op {
        Op::new(args, Some(self.key().clone()), Expect::Ok)
    }

    /// The requests of one write (`args`) on the key being built: the write, then
    /// the temporary key's TTL after the first write and every
    /// [`TEMP_TTL_REFRESH`] (not after each write: that would double the requests).
    pub(crate) fn ops(&self, args: Vec<Bytes>) -> Vec<Op> {
        self.ops_at(args, Instant::now())
    }

    fn ops_at(&self, args: Vec<Bytes>, now: Instant) -> Vec<Op> {
        let mut ops = vec![self.op(args)];
        let mut set = self.ttl_set.lock().unwrap_or_else(PoisonError::into_inner);
        if set.is_none_or(|at| now.saturating_duration_since(at) >= TEMP_TTL_REFRESH) {
            *set = Some(now);
            let ttl = TEMP_TTL.as_millis().to_string();
            ops.push(self.op(vec![b("PEXPIRE"), self.temp.clone(), b(&ttl)]));
        }
        ops
    }

    /// The first request: nothing left from an earlier attempt.
    pub(crate) fn start(&self) -> Op {
        self.op(vec![b("DEL"), self.key().clone()])
    }

    /// The last requests: the expiry, then the rename into place under `existing`.
    pub(crate) fn finish(self, existing: ExistingKeys) -> Vec<Op> {
        // The key's own expiry (or none) replaces the temporary TTL before the
        // rename, which keeps it: the key appears with exactly the source's expiry.
        let expiry = match self.expire_ms {
            Some(at) => vec![b("PEXPIREAT"), self.temp.clone(), b(&at.to_string())],
            None => vec![b("PERSIST"), self.temp.clone()],
        };
        let mut ops = vec![self.op(expiry)];
        let nx = existing != ExistingKeys::Rewrite;
        let command = if nx { "RENAMENX" } else { "RENAME" };
        let expect = Expect::Rename {
            nx,
            expiring: self.expire_ms.is_some(),
        };
        ops.push(Op::new(
            vec![b(command), self.temp.clone(), self.name.clone()],
            Some(self.name.clone()),
            expect,
        ));
        if nx {
            // Whatever RENAMENX did, no temporary key stays behind.
            ops.push(Op::new(
                vec![b("DEL"), self.temp.clone()],
                Some(self.temp),
                Expect::Ok,
            ));
        }
        ops
    }
}

/// A new temporary key in the same slot as `name`, whatever its braces:
/// `{tag}:key-writer-tmp:<process>:<n>`, with a tag of that slot. The process's
/// random number and a count make it unique among the writers of every process
/// that writes the target at once.
fn temp_key(name: &[u8]) -> Bytes {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let process = PROCESS.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let tag = slot_tag(slot(name));
    Bytes::from(format!("{{{tag}}}:key-writer-tmp:{process:016x}:{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use endpoint::slot;

    #[test]
    fn temporary_keys_share_the_slot() {
        for name in [
            &b"plain"[..],
            b"{tag}rest",
            b"a{b}c{d}",
            b"x{y",
            b"odd}name",
            b"{}x",
            b"}{",
            b"",
        ] {
            let temp = temp_key(name);
            assert_eq!(slot(&temp), slot(name), "{}", name.escape_ascii());
            assert_ne!(temp, temp_key(name), "each is new");
        }
    }

    fn text(ops: &[Op]) -> Vec<String> {
        ops.iter()
            .map(|op| String::from_utf8(op.args.join(&b' ')).unwrap())
            .collect()
    }

    #[test]
    fn temporary_keys_expire_until_the_key_has_its_own_expiry() {
        let build = Build::new(0, b("k"), None);
        let temp = String::from_utf8(build.key().to_vec()).unwrap();
        let start = Instant::now();
        let write = || vec![b("RPUSH"), build.key().clone(), b("x")];
        let ttl = format!("PEXPIRE {temp} 3600000");
        let rpush = format!("RPUSH {temp} x");
        let first = [rpush.clone(), ttl];
        assert_eq!(text(&build.ops_at(write(), start)), first);
        assert_eq!(text(&build.ops_at(write(), start)), [&rpush[..]]);
        let later = start + TEMP_TTL_REFRESH;
        assert_eq!(text(&build.ops_at(write(), later)), first, "refreshed");
        assert_eq!(text(&build.ops_at(write(), later)), [&rpush[..]]);
        assert_eq!(
            text(&build.finish(ExistingKeys::Rewrite)),
            [format!("PERSIST {temp}"), format!("RENAME {temp} k")]
        );
        let build = Build::new(0, b("k"), Some(1234));
        let temp = String::from_utf8(build.key().to_vec()).unwrap();
        assert_eq!(
            text(&build.finish(ExistingKeys::Ignore)),
            [
                format!("PEXPIREAT {temp} 1234"),
                format!("RENAMENX {temp} k"),
                format!("DEL {temp}")
            ]
        );
    }
}
