//! Which target database a source database goes to: a [`Hook`] that moves keys and
//! commands, and refuses those of a database it has no counterpart for.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::hook::{CommandEdit, Hook, KeyEdit, Verdict};

/// Which target database a source database goes to. Add it to
/// [`WriterOptions::hooks`](crate::WriterOptions::hooks) after any filter (a filter
/// sees the source's database numbers).
///
/// ```
/// use key_writer::DbMap;
///
/// assert_eq!("all:0".parse::<DbMap>()?, DbMap::AllTo(0));
/// let map: DbMap = "0:1,3:3".parse()?;
/// assert_eq!(map.target(3), Some(3));
/// assert_eq!(map.target(2), None);
/// # Ok::<(), key_writer::DbMapError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbMap {
    /// The same number.
    #[default]
    Same,
    /// Every database into this one.
    AllTo(u64),
    /// These databases to these; the others are refused.
    Map(BTreeMap<u64, u64>),
}

impl DbMap {
    /// The target database for source database `db`; `None` when the map has none.
    pub fn target(&self, db: u64) -> Option<u64> {
        match self {
            DbMap::Same => Some(db),
            DbMap::AllTo(to) => Some(*to),
            DbMap::Map(map) => map.get(&db).copied(),
        }
    }

    fn apply(&self, db: &mut u64) -> Verdict {
        match self.target(*db) {
            Some(to) => {
                *db = to;
                Verdict::Keep
            }
            None => Verdict::Refuse(format!(
                "database {db} is not in the database mapping: map it or filter it out"
            )),
        }
    }
}

impl Hook for DbMap {
    fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
        self.apply(&mut key.db)
    }

    fn command(&self, command: &mut CommandEdit) -> Verdict {
        self.apply(&mut command.db)
    }

    /// The databases mapped to `db` (for [`DbMap::AllTo`], every database a
    /// server has by default, 0 to 15).
    fn source_dbs(&self, db: u64) -> Option<Vec<u64>> {
        Some(match self {
            DbMap::Same => vec![db],
            DbMap::AllTo(to) if *to == db => (0..16).collect(),
            DbMap::AllTo(_) => Vec::new(),
            DbMap::Map(map) => map
                .iter()
                .filter(|(_, to)| **to == db)
                .map(|(from, _)| *from)
                .collect(),
        })
    }
}

/// A database mapping that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbMapError(String);

impl fmt::Display for DbMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a database mapping is `all:N` or `A:B,C:D` with database numbers: {:?}",
            self.0
        )
    }
}

impl std::error::Error for DbMapError {}

impl FromStr for DbMap {
    type Err = DbMapError;

    /// `all:N` (every database into N) or `A:B,C:D` (A into B, C into D).
    fn from_str(text: &str) -> Result<DbMap, DbMapError> {
        let bad = || DbMapError(text.to_owned());
        if let Some(to) = text.strip_prefix("all:") {
            return Ok(DbMap::AllTo(to.parse().map_err(|_| bad())?));
        }
        let mut map = BTreeMap::new();
        for pair in text.split(',') {
            let (a, b) = pair.split_once(':').ok_or_else(bad)?;
            map.insert(a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        }
        Ok(DbMap::Map(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rdb_parser::Type;

    #[test]
    fn moves_and_refuses() {
        let map: DbMap = "1:2".parse().unwrap();
        let mut key = KeyEdit::new(1, Bytes::from("k"), Type::String, None, None);
        assert_eq!(map.key(&mut key), Verdict::Keep);
        assert_eq!(key.db, 2);
        let mut cmd = CommandEdit::new(0, vec![Bytes::from("SET")]);
        assert!(matches!(map.command(&mut cmd), Verdict::Refuse(r) if r.contains("database 0")));
        assert!("x:1".parse::<DbMap>().is_err());
        assert!("all:".parse::<DbMap>().is_err());
    }
}
