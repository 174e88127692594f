//! Which keys and commands are written: databases, key prefixes or patterns, types,
//! command names, or any rule given as a closure. A [`Filter`] is a [`Hook`] that
//! keeps or drops; add it to [`WriterOptions::hooks`](crate::WriterOptions::hooks).

use std::fmt;
use std::sync::Arc;

use rdb_parser::Type;
use regex::bytes::Regex;

use crate::hook::{CommandEdit, Hook, KeyEdit, Verdict};

/// A rule given as code: `(db, key) -> keep?`.
pub type KeyRule = Arc<dyn Fn(u64, &[u8]) -> bool + Send + Sync>;

/// What is written; the default keeps everything. A key must pass every rule set;
/// a command passes when its database and name pass and each of its keys does.
#[derive(Clone, Default)]
pub struct Filter {
    /// Only these source databases (empty: all).
    pub dbs: Vec<u64>,
    /// Not these source databases.
    pub skip_dbs: Vec<u64>,
    /// Only keys starting with one of these (empty: all).
    pub prefixes: Vec<Vec<u8>>,
    /// Only keys matching this pattern.
    pub pattern: Option<Regex>,
    /// Only values of these types (empty: all); applies to keys, not commands.
    pub types: Vec<Type>,
    /// Not values of these types; applies to keys, not commands.
    pub skip_types: Vec<Type>,
    /// Not these commands (upper case), e.g. `PUBLISH`.
    pub skip_commands: Vec<String>,
    /// Any other rule.
    pub custom: Option<KeyRule>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("dbs", &self.dbs)
            .field("skip_dbs", &self.skip_dbs)
            .field("prefixes", &self.prefixes.len())
            .field("pattern", &self.pattern.as_ref().map(Regex::as_str))
            .field("types", &self.types)
            .field("skip_types", &self.skip_types)
            .field("skip_commands", &self.skip_commands)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

impl Filter {
    fn allows_db(&self, db: u64) -> bool {
        (self.dbs.is_empty() || self.dbs.contains(&db)) && !self.skip_dbs.contains(&db)
    }

    fn allows_name(&self, db: u64, key: &[u8]) -> bool {
        (self.prefixes.is_empty() || self.prefixes.iter().any(|p| key.starts_with(p)))
            && self.pattern.as_ref().is_none_or(|r| r.is_match(key))
            && self.custom.as_ref().is_none_or(|rule| rule(db, key))
    }

    /// Whether a key of an RDB is written.
    pub fn allows_key(&self, db: u64, key: &[u8], value_type: Type) -> bool {
        self.allows_db(db)
            && (self.types.is_empty() || self.types.contains(&value_type))
            && !self.skip_types.contains(&value_type)
            && self.allows_name(db, key)
    }

    /// Whether a forwarded command (upper-case `name`, its `keys`) is written.
    pub fn allows_command(&self, db: u64, name: &[u8], keys: &[&[u8]]) -> bool {
        self.allows_db(db)
            && !self.skip_commands.iter().any(|c| c.as_bytes() == name)
            && keys.iter().all(|k| self.allows_name(db, k))
    }
}

impl Hook for Filter {
    fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
        match self.allows_key(key.db, &key.name, key.value_type()) {
            true => Verdict::Keep,
            false => Verdict::Drop,
        }
    }

    fn command(&self, command: &mut CommandEdit) -> Verdict {
        let keys: Vec<&[u8]> = command
            .key_indexes()
            .into_iter()
            .map(|i| &command.args[i][..])
            .collect();
        match self.allows_command(command.db, &command.name(), &keys) {
            true => Verdict::Keep,
            false => Verdict::Drop,
        }
    }

    /// A filter keeps names and databases.
    fn source_dbs(&self, db: u64) -> Option<Vec<u64>> {
        Some(vec![db])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_combine() {
        let f = Filter {
            dbs: vec![0, 1],
            prefixes: vec![b"user:".to_vec()],
            pattern: Some(Regex::new("^user:[0-9]+$").unwrap()),
            types: vec![Type::Hash],
            skip_commands: vec!["PUBLISH".into()],
            custom: Some(Arc::new(|_, k| !k.ends_with(b"0"))),
            ..Filter::default()
        };
        assert!(f.allows_key(1, b"user:12", Type::Hash));
        assert!(!f.allows_key(2, b"user:12", Type::Hash));
        assert!(!f.allows_key(1, b"user:12", Type::String));
        assert!(!f.allows_key(1, b"user:x", Type::Hash));
        assert!(!f.allows_key(1, b"user:10", Type::Hash));
        assert!(f.allows_command(0, b"DEL", &[b"user:1", b"user:2"]));
        assert!(!f.allows_command(0, b"DEL", &[b"user:1", b"other"]));
        assert!(!f.allows_command(0, b"PUBLISH", &[]));
        assert!(Filter::default().allows_key(9, b"anything", Type::Stream));
        let no_modules = Filter {
            skip_types: vec![Type::Module],
            ..Filter::default()
        };
        assert!(!no_modules.allows_key(0, b"m", Type::Module));
        assert!(no_modules.allows_key(0, b"s", Type::Stream));
        assert!(no_modules.allows_command(0, b"SET", &[b"m"]));
    }
}
