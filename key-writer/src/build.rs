//! A value written as commands: built in a temporary key in the same slot and
//! renamed into place at the end, so a half-written value is never visible, the
//! existing-key policy holds (the rename says whether the key exists), and a batch
//! sent again never adds an element twice.

use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use endpoint::{slot, slot_tag};

use crate::command::b;
use crate::op::{Expect, Op};
use crate::options::ExistingKeys;

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
        }
    }

    /// The key the value's commands write.
    pub(crate) fn key(&self) -> &Bytes {
        &self.temp
    }

    /// A request on the key being built.
    pub(crate) fn op(&self, args: Vec<Bytes>) -> Op {
        Op::new(args, Some(self.key().clone()), Expect::Ok)
    }

    /// The first request: nothing left from an earlier attempt.
    pub(crate) fn start(&self) -> Op {
        self.op(vec![b("DEL"), self.key().clone()])
    }

    /// The last requests: the expiry, then the rename into place under `existing`.
    pub(crate) fn finish(self, existing: ExistingKeys) -> Vec<Op> {
        let mut ops = Vec::new();
        if let Some(at) = self.expire_ms {
            ops.push(self.op(vec![b("PEXPIREAT"), self.key().clone(), b(&at.to_string())]));
        }
        let (command, expect) = match existing {
            ExistingKeys::Rewrite => ("RENAME", Expect::Ok),
            _ => ("RENAMENX", Expect::RenameNx),
        };
        ops.push(Op::new(
            vec![b(command), self.temp.clone(), self.name.clone()],
            Some(self.name.clone()),
            expect,
        ));
        if expect == Expect::RenameNx {
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
}
