//! Checkpoints: where a source shard's stream stands on each target node, written
//! in the same `MULTI`/`EXEC` as the writes they cover. After a crash, a lost reply
//! or a failover of the target, each node says exactly which commands it holds, so
//! that none is applied twice and none is lost.
//!
//! A checkpoint is a string key whose value is `1 <replid> <offset> <db> <state>`:
//! the source's replication id, the offset just after the last command covered,
//! the database the stream had selected there, and `loaded` or `loading` (a full
//! resync's RDB was being written).
//!
//! - A standalone target holds one, `<name>:<shard>` in database 0, written in
//!   every batch's `MULTI`/`EXEC`.
//! - A cluster runs a transaction only on keys of one slot, so a cluster target
//!   holds one per slot the stream wrote to, `<name>:<shard>:{<tag>}` (the tag puts
//!   it in that slot, see `endpoint::slot_tag`), written in the `MULTI`/`EXEC` of
//!   that slot's commands; and a floor, `<name>:<shard>`, written once every
//!   node has applied everything up to it. A restart resumes from the floor and
//!   skips, slot by slot, what the slots' checkpoints cover.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

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

    /// The key on a standalone target; the floor on a cluster.
    pub(crate) fn key(&self) -> Bytes {
        Bytes::from(format!("{}:{}", self.name, self.shard))
    }

    /// The key of `slot`'s checkpoint on a cluster.
    pub(crate) fn slot_key(&self, slot: u16) -> Bytes {
        let tag = endpoint::slot_tag(slot);
        Bytes::from(format!("{}:{}:{{{tag}}}", self.name, self.shard))
    }

    /// Why these keys cannot be kept on a cluster: a brace in the name or the
    /// shard would make another hash tag than the slot's count.
    pub(crate) fn unfit_for_cluster(&self) -> Option<String> {
        let braced = |s: &str| s.contains(['{', '}']);
        (braced(&self.name) || braced(&self.shard)).then(|| {
            format!(
                "checkpoint names with braces ({:?}, shard {:?}) cannot be placed in a cluster's slots",
                self.name, self.shard
            )
        })
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

    /// Whether this position is worth writing over `held`, written at
    /// `written_at`: it is ahead (or in another state) and `held` is older than a
    /// second, so that a node or floor without traffic catches up about once a
    /// second, not at every flush.
    pub(crate) fn supersedes(
        &self,
        held: Option<&Checkpoint>,
        written_at: Option<Instant>,
    ) -> bool {
        let behind = held.is_none_or(|c| c.offset < self.offset || c.loading != self.loading);
        let stale = written_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
        behind && stale
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

/// A cluster target's checkpoints as the pipeline keeps them: the floor it wrote
/// last (or is to write next), and, after a restart, what each slot's checkpoint
/// covers beyond the floor.
#[derive(Debug, Default)]
pub(crate) struct ClusterCheckpoints {
    /// The floor the target holds.
    pub(crate) floor: Option<Checkpoint>,
    /// A floor to write once every node is idle.
    pub(crate) due: Option<Checkpoint>,
    /// When the floor was last written.
    pub(crate) written_at: Option<Instant>,
    /// Per slot, the offset its checkpoint covers when it is beyond the floor read
    /// at the start (empty when none is).
    resumed: Vec<u64>,
}

impl ClusterCheckpoints {
    /// Takes in the checkpoints read from the target: the floor, and each slot's.
    pub(crate) fn resume(&mut self, floor: Option<Checkpoint>, slots: &[(u16, Checkpoint)]) {
        let base = floor.as_ref().map_or(0, |f| f.offset);
        self.resumed.clear();
        for (slot, c) in slots {
            if c.offset > base && !c.loading {
                if self.resumed.is_empty() {
                    self.resumed = vec![0; usize::from(endpoint::SLOTS)];
                }
                self.resumed[usize::from(*slot)] = c.offset;
            }
        }
        self.floor = floor;
    }

    /// Whether the slot's checkpoint read at the start covers a stream command
    /// at `offset` (it was applied before the restart).
    pub(crate) fn covers(&self, slot: u16, offset: u64) -> bool {
        self.resumed
            .get(usize::from(slot))
            .is_some_and(|&held| offset <= held)
    }

    /// What the target held of the old stream no longer counts (a full resync).
    pub(crate) fn forget(&mut self) {
        self.resumed = Vec::new();
        self.floor = None;
    }

    /// Writes `checkpoint` as the floor with the next flush (`only_stale`: only
    /// when the floor is behind it and older than a second).
    pub(crate) fn raise(&mut self, checkpoint: &Checkpoint, only_stale: bool) {
        if !only_stale || checkpoint.supersedes(self.floor.as_ref(), self.written_at) {
            self.due = Some(checkpoint.clone());
        }
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
        for slot in [0, 1, 9000, 16383] {
            let key = options.slot_key(slot);
            assert!(key.starts_with(b"redis-replication:checkpoint:10.0.0.5:6379:{"));
            assert_eq!(endpoint::slot(&key), slot);
        }
        assert_eq!(options.unfit_for_cluster(), None);
        assert!(CheckpointOptions::new("a{b}").unfit_for_cluster().is_some());
    }
}
