//! A value written as commands: built in a temporary key in the same slot and
//! renamed into place at the end, so a half-written value is never visible and a
//! batch sent again never adds an element twice.

use bytes::Bytes;
use endpoint::hash_tag;

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
    /// The temporary key, when the name allows one in its slot.
    temp: Option<Bytes>,
    expire_ms: Option<i64>,
}

impl Build {
    /// A build of `name` in `db`; `serial` makes the temporary name unique.
    pub(crate) fn new(db: u64, name: Bytes, expire_ms: Option<i64>, serial: u64) -> Build {
        let temp = temp_key(&name, serial);
        Build {
            db,
            name,
            temp,
            expire_ms,
        }
    }

    /// The key the value's commands write.
    pub(crate) fn key(&self) -> &Bytes {
        self.temp.as_ref().unwrap_or(&self.name)
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
        if let Some(temp) = self.temp {
            let (command, expect) = match existing {
                ExistingKeys::Rewrite => ("RENAME", Expect::Ok),
                _ => ("RENAMENX", Expect::RenameNx),
            };
            ops.push(Op::new(
                vec![b(command), temp.clone(), self.name.clone()],
                Some(self.name.clone()),
                expect,
            ));
            if expect == Expect::RenameNx {
                // Whatever RENAMENX did, no temporary key stays behind.
                ops.push(Op::new(
                    vec![b("DEL"), temp.clone()],
                    Some(temp),
                    Expect::Ok,
                ));
            }
        }
        ops
    }
}

/// A temporary key in the same slot as `name`, or `None` if `name` has a brace
/// that makes that impossible.
fn temp_key(name: &[u8], serial: u64) -> Option<Bytes> {
    let tag = hash_tag(name);
    let tagged = if tag.len() < name.len() {
        tag
    } else if !name.contains(&b'}') {
        name
    } else {
        return None;
    };
    let mut key = b"{".to_vec();
    key.extend_from_slice(tagged);
    key.extend_from_slice(format!("}}:key-writer-tmp:{serial}").as_bytes());
    Some(Bytes::from(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use endpoint::slot;

    #[test]
    fn temporary_keys_share_the_slot() {
        for name in [&b"plain"[..], b"{tag}rest", b"a{b}c{d}", b"x{y"] {
            let temp = temp_key(name, 7).expect("a temporary key");
            assert_eq!(slot(&temp), slot(name), "{}", name.escape_ascii());
        }
        assert_eq!(temp_key(b"odd}name", 1), None);
        assert_eq!(temp_key(b"{}x", 1), None);
    }
}
