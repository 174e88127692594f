//! A `MULTI` whose `EXEC` has not arrived yet: its commands are held, already
//! judged by the hooks, and written together at `EXEC` so the target applies them
//! atomically (or not at all, when the stream ends inside the transaction).

use bytes::Bytes;
use endpoint::slot;

use crate::command::{key_indexes, spec};

/// One held command: its target database and arguments.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) db: u64,
    pub(crate) args: Vec<Bytes>,
}

/// The commands of an open transaction.
#[derive(Debug, Default)]
pub(crate) struct Transaction {
    pub(crate) held: Vec<Held>,
    /// A two-way sync's peer wrote it (see `crate::peer`): dropped at `EXEC`.
    pub(crate) returning: bool,
    /// The offset of the peer's stream its checkpoint covers.
    pub(crate) covered: Option<u64>,
}

impl Transaction {
    /// Holds a command until `EXEC`.
    pub(crate) fn hold(&mut self, db: u64, args: Vec<Bytes>) {
        self.held.push(Held { db, args });
    }

    /// The first key of the transaction (its commands go to that key's node), and
    /// whether all its keys share one slot.
    pub(crate) fn first_key(&self) -> (Option<Bytes>, bool) {
        let mut first: Option<(Bytes, u16)> = None;
        let mut one_slot = true;
        for held in &self.held {
            let (keys, _) = spec(&held.args[0].to_ascii_uppercase());
            for i in key_indexes(keys, &held.args) {
                let s = slot(&held.args[i]);
                match &first {
                    None => first = Some((held.args[i].clone(), s)),
                    Some((_, f)) if *f != s => one_slot = false,
                    Some(_) => {}
                }
            }
        }
        (first.map(|(key, _)| key), one_slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<Bytes> {
        text.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
    }

    #[test]
    fn slots_of_held_commands() {
        let mut t = Transaction::default();
        t.hold(0, args("INCR {a}x"));
        t.hold(1, args("LPUSH {a}y 1"));
        assert_eq!(t.first_key(), (Some(Bytes::from("{a}x")), true));
        t.hold(0, args("DEL {b}z"));
        assert_eq!(t.first_key(), (Some(Bytes::from("{a}x")), false));
        assert_eq!(Transaction::default().first_key(), (None, true));
    }
}
