//! What a replica delivers, in order.

use bytes::Bytes;
use resp_codec::DbCommand;

/// What the replica delivers, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The master starts a full resync: an RDB follows, then commands from `offset`.
    /// After a reconnection this means the partial resync was refused (the backlog
    /// no longer holds the missing bytes): discard what was built from the stream
    /// before and load the new RDB.
    FullResync {
        /// The master's replication id.
        replid: String,
        /// The offset the RDB corresponds to.
        offset: u64,
    },
    /// A partial resync: commands continue right after `offset`, nothing missing or
    /// repeated. `replid` changes after a failover of the master.
    Continue {
        /// The replication id to resume with next time.
        replid: String,
        /// The offset the stream continues after.
        offset: u64,
    },
    /// The RDB payload starts; `len` is `None` for a diskless transfer.
    RdbStart {
        /// The payload's length, when the master sent it.
        len: Option<u64>,
    },
    /// The next bytes of the RDB (feed them to `rdb_parser::Reader`).
    RdbChunk(Bytes),
    /// The RDB is complete; commands follow (none in RDB-only mode). Once it is
    /// loaded, confirm the full resync's offset with [`Replica::ack`](crate::Replica::ack).
    RdbEnd,
    /// A command of the stream, in its database. Its [`DbCommand::offset`] is the replication offset just after it: acknowledge
    /// it with [`Replica::ack`](crate::Replica::ack) once applied, and resume from it
    /// ([`ReplicaOptions::resume`](crate::ReplicaOptions::resume)).
    Command(DbCommand),
}
