//! The user's say over every key and command before it is written: keep it, drop it,
//! rename the key, move it to another database, rewrite the command, or stop the
//! copy. Filters ([`Filter`](crate::Filter)) and database mapping
//! ([`DbMap`](crate::DbMap)) are hooks too; [`Hooks`] runs several in order.
//!
//! This is what other tools do with filter scripts, as a typed Rust API: a hook runs
//! in the writer, on keys from RDB files, `DUMP` payloads and values in pieces, and
//! on commands from replication streams and AOF files alike.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use rdb_parser::{Type, Value};

use crate::command::{key_indexes, spec};

/// What becomes of a key or command.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Write it (as the hook may have changed it).
    Keep,
    /// Leave it out (counted in [`Stats::filtered`](crate::Stats::filtered)).
    Drop,
    /// Stop the copy with [`Error::Hook`](crate::Error::Hook) and this reason.
    Refuse(String),
}

/// A key about to be written. The hook may change its name and database.
#[derive(Debug)]
#[non_exhaustive]
pub struct KeyEdit<'a> {
    /// The database: the source's, or where an earlier hook moved it.
    pub db: u64,
    /// The key's name: the source's, or as an earlier hook renamed it.
    pub name: Bytes,
    value_type: Type,
    expire_ms: Option<i64>,
    value: Option<&'a Value<'a>>,
}

impl<'a> KeyEdit<'a> {
    /// A key for the hooks to judge; `value` is `None` for a value that arrives in
    /// pieces.
    pub fn new(
        db: u64,
        name: Bytes,
        value_type: Type,
        expire_ms: Option<i64>,
        value: Option<&'a Value<'a>>,
    ) -> Self {
        KeyEdit {
            db,
            name,
            value_type,
            expire_ms,
            value,
        }
    }

    /// The value's type.
    pub fn value_type(&self) -> Type {
        self.value_type
    }

    /// The key's expiry, unix time in milliseconds.
    pub fn expire_ms(&self) -> Option<i64> {
        self.expire_ms
    }

    /// The value, to look into; `None` for a value that arrives in pieces (longer
    /// than the RDB reader's record limit).
    pub fn value(&self) -> Option<&'a Value<'a>> {
        self.value
    }
}

/// A command about to be forwarded (from a replication stream or an AOF). The hook
/// may change its database and any argument, the name included. `MULTI`, `EXEC`,
/// `SELECT` and the stream's own `PING` / `REPLCONF` are the writer's and never
/// reach a hook; each command inside a transaction does.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandEdit {
    /// The database: the source's, or where an earlier hook moved it.
    pub db: u64,
    /// The command name and arguments.
    pub args: Vec<Bytes>,
}

impl CommandEdit {
    /// A command for the hooks to judge.
    pub fn new(db: u64, args: Vec<Bytes>) -> Self {
        CommandEdit { db, args }
    }

    /// The command name, upper-cased.
    pub fn name(&self) -> Vec<u8> {
        self.args
            .first()
            .map(|n| n.to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// Which arguments are keys (indexes into [`CommandEdit::args`]), from the
    /// writer's table of the commands streams and AOF files carry; e.g. `[1, 3]`
    /// for `MSET a 1 b 2`.
    pub fn key_indexes(&self) -> Vec<usize> {
        key_indexes(spec(&self.name()).0, &self.args)
    }
}

/// Judges keys and commands before they are written; see the module documentation.
/// Both methods keep everything by default.
///
/// ```
/// use bytes::Bytes;
/// use key_writer::{CommandEdit, Hook, KeyEdit, Verdict};
///
/// /// Moves `tmp:*` keys out of the copy and `user:*` keys to db 2 under `u:`.
/// struct Users;
///
/// fn renamed(name: &[u8]) -> Option<Bytes> {
///     let rest = name.strip_prefix(b"user:")?;
///     Some(Bytes::from([&b"u:"[..], rest].concat()))
/// }
///
/// impl Hook for Users {
///     fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
///         if key.name.starts_with(b"tmp:") {
///             return Verdict::Drop;
///         }
///         if let Some(name) = renamed(&key.name) {
///             (key.db, key.name) = (2, name);
///         }
///         Verdict::Keep
///     }
///
///     fn command(&self, command: &mut CommandEdit) -> Verdict {
///         let keys = command.key_indexes();
///         if keys.iter().any(|&i| command.args[i].starts_with(b"tmp:")) {
///             return Verdict::Drop;
///         }
///         let mut moved = false;
///         for i in keys {
///             if let Some(name) = renamed(&command.args[i]) {
///                 command.args[i] = name;
///                 moved = true;
///             }
///         }
///         if moved {
///             command.db = 2;
///         }
///         Verdict::Keep
///     }
/// }
///
/// let mut cmd = CommandEdit::new(0, ["SET", "user:7", "x"].map(Bytes::from).to_vec());
/// assert_eq!(Users.command(&mut cmd), Verdict::Keep);
/// assert_eq!((cmd.db, &cmd.args[1][..]), (2, &b"u:7"[..]));
/// ```
pub trait Hook: Send + Sync {
    /// Judges a key from an RDB, a `DUMP` payload or a value in pieces.
    fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
        let _ = key;
        Verdict::Keep
    }

    /// Judges a command from a replication stream or an AOF.
    fn command(&self, command: &mut CommandEdit) -> Verdict {
        let _ = command;
        Verdict::Keep
    }

    /// The source databases whose keys this hook may write into target database
    /// `db`, under their own names; `None` (the default) when it cannot say, e.g.
    /// because it renames keys. A caller going from a target key back to the
    /// source keys it may come from (to delete what a new snapshot lacks, or to
    /// find extra keys) then judges each candidate with [`Hook::key`]; without an
    /// answer it does not guess.
    fn source_dbs(&self, db: u64) -> Option<Vec<u64>> {
        let _ = db;
        None
    }
}

/// A hook that judges keys with a closure and keeps every command; see [`on_keys`].
pub struct KeyFn<F>(F);

/// A hook that judges commands with a closure and keeps every key; see
/// [`on_commands`].
pub struct CommandFn<F>(F);

/// A hook from a closure over keys.
///
/// ```
/// use key_writer::{Hooks, Verdict, hook};
///
/// let hooks = Hooks::new().with(hook::on_keys(|k| {
///     if k.name.starts_with(b"session:") { Verdict::Drop } else { Verdict::Keep }
/// }));
/// assert_eq!(hooks.len(), 1);
/// ```
pub fn on_keys<F>(f: F) -> KeyFn<F>
where
    F: Fn(&mut KeyEdit<'_>) -> Verdict + Send + Sync,
{
    KeyFn(f)
}

/// A hook from a closure over commands.
pub fn on_commands<F>(f: F) -> CommandFn<F>
where
    F: Fn(&mut CommandEdit) -> Verdict + Send + Sync,
{
    CommandFn(f)
}

impl<F> Hook for KeyFn<F>
where
    F: Fn(&mut KeyEdit<'_>) -> Verdict + Send + Sync,
{
    fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
        (self.0)(key)
    }
}

impl<F> Hook for CommandFn<F>
where
    F: Fn(&mut CommandEdit) -> Verdict + Send + Sync,
{
    fn command(&self, command: &mut CommandEdit) -> Verdict {
        (self.0)(command)
    }
}

/// Hooks run in order: each sees what the ones before it changed, and the first
/// that does not keep a key or command decides.
#[derive(Clone, Default)]
pub struct Hooks(Vec<Arc<dyn Hook>>);

impl Hooks {
    /// No hook: everything is kept as it is.
    pub fn new() -> Self {
        Hooks::default()
    }

    /// Adds `hook` after the others.
    pub fn with(mut self, hook: impl Hook + 'static) -> Self {
        self.push(hook);
        self
    }

    /// Adds `hook` after the others.
    pub fn push(&mut self, hook: impl Hook + 'static) {
        self.0.push(Arc::new(hook));
    }

    /// How many hooks there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hooks({})", self.0.len())
    }
}

impl Hook for Hooks {
    fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
        for hook in &self.0 {
            match hook.key(key) {
                Verdict::Keep => {}
                other => return other,
            }
        }
        Verdict::Keep
    }

    fn command(&self, command: &mut CommandEdit) -> Verdict {
        for hook in &self.0 {
            match hook.command(command) {
                Verdict::Keep => {}
                other => return other,
            }
        }
        Verdict::Keep
    }

    /// Back through every hook, the last first (no hook: `db` itself).
    fn source_dbs(&self, db: u64) -> Option<Vec<u64>> {
        let mut dbs = vec![db];
        for hook in self.0.iter().rev() {
            let mut before = Vec::new();
            for db in dbs {
                before.extend(hook.source_dbs(db)?);
            }
            before.sort_unstable();
            before.dedup();
            dbs = before;
        }
        Some(dbs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_run_in_order_and_the_first_refusal_decides() {
        let hooks = Hooks::new()
            .with(on_keys(|k| {
                k.db += 1;
                Verdict::Keep
            }))
            .with(on_keys(|k| {
                if k.db > 1 {
                    Verdict::Drop
                } else {
                    Verdict::Keep
                }
            }))
            .with(on_keys(|_| Verdict::Refuse("never reached".into())));
        let mut key = KeyEdit::new(1, Bytes::from("k"), Type::String, None, None);
        assert_eq!(hooks.key(&mut key), Verdict::Drop);
        assert_eq!(key.db, 2);
        let mut key = KeyEdit::new(0, Bytes::from("k"), Type::String, None, None);
        assert_eq!(hooks.key(&mut key), Verdict::Refuse("never reached".into()));
        let mut cmd = CommandEdit::new(5, vec![Bytes::from("del"), Bytes::from("a")]);
        assert_eq!(
            hooks.command(&mut cmd),
            Verdict::Keep,
            "key hooks keep commands"
        );
        assert_eq!((cmd.name(), cmd.key_indexes()), (b"DEL".to_vec(), vec![1]));
    }
}
