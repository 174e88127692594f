//! Checkpoints: where a source shard's stream stands on each target node, written
//! in the same `MULTI`/`EXEC` as the writes they cover. After a crash, a lost reply
//! or a failover of the target, each node says exactly which commands it holds, so
//! that none is applied twice and none is lost.
//!
//! A checkpoint is a string key in database 0 of a standalone target, named
//! `<name>:<shard>` (a cluster runs a transaction only on keys of one slot, so a
//! cluster target keeps none for now). Its value is
//! `1 <replid> <offset> <db> <state>`: the source's replication id, the offset just
//! after the last command the node holds, the database the stream had selected
//! there, and `loaded` or `loading` (a full resync's RDB was being written).

use std::fmt;

use bytes::Bytes;

/// The default first part of the checkpoint keys' names.
pub const DEFAULT_CHECKPOINT_NAME: &str = "redis-replication:checkpoint";

/// Checkpoints for the stream of one source shard.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointOptions {
    /// The first part of the keys' names (default
    /// [`DEFAULT_CHECKPOINT_NAME`]).
    pub name: String,
    /// Which source shard the checkpoints belong to: the same name on every run of
    /// the same sync (e.g. the source's address, or its slot range).
    pub shard: String,
}

impl CheckpointOptions {
    /// Checkpoints of `shard` under the default name.
    pub fn new(shard: impl Into<String>) -> Self {
        CheckpointOptions {
            name: DEFAULT_CHECKPOINT_NAME.to_owned(),
            shard: shard.into(),
        }
    }

    /// The key on a standalone target.
    pub(crate) fn key(&self) -> Bytes {
        Bytes::from(format!("{}:{}", self.name, self.shard))
    }
}

/// A source shard's position as one node's checkpoint records it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The source's replication id.
    pub replid: String,
    /// The replication offset just after the last command the node holds.
    pub offset: u64,
    /// The database the source's stream had selected at `offset`.
    pub db: u64,
    /// Whether a full resync's RDB was being written (the node holds part of it).
    pub loading: bool,
}

impl Checkpoint {
    /// A position in the stream of `replid`.
    pub fn new(replid: impl Into<String>, offset: u64, db: u64) -> Self {
        Checkpoint {
            replid: replid.into(),
            offset,
            db,
            loading: false,
        }
    }

    /// The value stored.
    pub(crate) fn encode(&self) -> Bytes {
        Bytes::from(self.to_string())
    }

    /// A stored value; `None` when it is not a checkpoint this crate wrote.
    pub fn decode(value: &[u8]) -> Option<Checkpoint> {
        let text = std::str::from_utf8(value).ok()?;
        let mut words = text.split(' ');
        if words.next()? != "1" {
            return None;
        }
        let replid = words.next()?.to_owned();
        let offset = words.next()?.parse().ok()?;
        let db = words.next()?.parse().ok()?;
        let loading = match words.next()? {
            "loading" => true,
            "loaded" => false,
            _ => return None,
        };
        if words.next().is_some() || replid.is_empty() {
            return None;
        }
        Some(Checkpoint {
            replid,
            offset,
            db,
            loading,
        })
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.loading { "loading" } else { "loaded" };
        write!(f, "1 {} {} {} {state}", self.replid, self.offset, self.db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_strangers_are_refused() {
        let mut c = Checkpoint::new("8f1c", 1234, 3);
        assert_eq!(Checkpoint::decode(&c.encode()), Some(c.clone()));
        c.loading = true;
        assert_eq!(Checkpoint::decode(&c.encode()), Some(c));
        for bad in [
            &b"2 a 1 0 loaded"[..],
            b"1 a x 0 loaded",
            b"1 a 1 0 done",
            b"1 a 1 0 loaded x",
            b"\xff",
        ] {
            assert_eq!(Checkpoint::decode(bad), None, "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn keys_name_the_shard() {
        let options = CheckpointOptions::new("10.0.0.5:6379");
        assert_eq!(options.key(), "redis-replication:checkpoint:10.0.0.5:6379");
    }
}
