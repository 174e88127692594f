//! How a replica replicates: where it resumes, how long it waits and retries,
//! which nodes it may follow after a failover.

use std::time::Duration;

use endpoint::{ConnectOptions, Endpoint};

/// Where a stream resumes: replication id, offset of the last byte applied, and
/// the stream's database there.
pub(crate) type Resume = (String, u64, u64);

/// How long a replica keeps trying to reconnect by default: managed services
/// restart and fail over for maintenance, and may stay away for hours.
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(4 * 3600);

/// How to replicate; see [`Replica::start`](crate::Replica::start).
#[derive(Clone, Debug)]
pub struct ReplicaOptions {
    pub(crate) connect: ConnectOptions,
    pub(crate) resume: Option<Resume>,
    pub(crate) rdb_only: bool,
    pub(crate) failover: Vec<Endpoint>,
    pub(crate) give_up_after: Duration,
    pub(crate) backoff: (Duration, Duration),
    pub(crate) link_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) ack_interval: Duration,
    pub(crate) queue: usize,
    pub(crate) listening_port: u16,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        ReplicaOptions {
            connect: ConnectOptions::default(),
            resume: None,
            rdb_only: false,
            failover: Vec::new(),
            give_up_after: DEFAULT_GIVE_UP_AFTER,
            backoff: (Duration::from_millis(100), Duration::from_secs(30)),
            link_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(30),
            ack_interval: Duration::from_secs(1),
            queue: 64,
            listening_port: 0,
        }
    }
}

impl ReplicaOptions {
    /// Defaults: full resync; a lost link retried for up to
    /// [`DEFAULT_GIVE_UP_AFTER`] (4 hours), 100 ms to 30 s apart; ACK every
    /// second.
    pub fn new() -> Self {
        ReplicaOptions::default()
    }

    /// Connection settings (TLS, timeouts, credentials).
    pub fn connect(mut self, options: ConnectOptions) -> Self {
        self.connect = options;
        self
    }

    /// Resumes a stream the caller stopped at `offset` (the [`DbCommand::offset`](crate::DbCommand::offset) of the
    /// last command it applied) in database `db` (that command's [`DbCommand::db`](crate::DbCommand::db), or
    /// the RDB's `repl-stream-db` aux field): asks for `PSYNC replid offset+1`.
    /// [`Event::Continue`](crate::Event::Continue) or [`Event::FullResync`](crate::Event::FullResync) says whether the master agreed.
    pub fn resume(mut self, replid: impl Into<String>, offset: u64, db: u64) -> Self {
        self.resume = Some((replid.into(), offset, db));
        self
    }

    /// Asks only for the RDB (`REPLCONF rdb-only 1` where the master knows it) and
    /// ends after it: a dump.
    pub fn rdb_only(mut self, yes: bool) -> Self {
        self.rdb_only = yes;
        self
    }

    /// The other nodes of the master's shard (its replicas, with credentials and
    /// TLS as for the master), to follow a failover. With them, the replica
    /// starts from, and after a lost link reconnects to, whichever known node is
    /// master now: each is asked `INFO replication`; a node that is still a
    /// replica names its master, which is asked next; a master whose history holds
    /// the stream where it stopped is preferred. A promoted replica keeps the old
    /// replication id as its second one, so `PSYNC <old id> <offset+1>` continues:
    /// [`Event::Continue`](crate::Event::Continue) with the new id, offsets going on. When no node can
    /// continue, the master found sends [`Event::FullResync`](crate::Event::FullResync).
    ///
    /// Without them (the default), the replica reconnects to the address it was
    /// started with, whatever its role.
    pub fn failover(mut self, nodes: impl IntoIterator<Item = Endpoint>) -> Self {
        self.failover = nodes.into_iter().collect();
        self
    }

    /// How long to keep trying to reconnect after the link drops (default
    /// [`DEFAULT_GIVE_UP_AFTER`], 4 hours); then [`Error::GaveUp`](crate::Error::GaveUp).
    pub fn give_up_after(mut self, after: Duration) -> Self {
        self.give_up_after = after;
        self
    }

    /// The delays between reconnection attempts: `first`, doubling up to `max`
    /// (default 100 ms up to 30 s).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max);
        self
    }

    /// How long the master may stay silent before the link is deemed lost (default
    /// 60 s; masters ping every 10 s). Also bounds the wait for the `PSYNC` reply,
    /// during which a master preparing a full resync sends newlines.
    pub fn link_timeout(mut self, after: Duration) -> Self {
        self.link_timeout = after;
        self
    }

    /// How long each handshake command (`PING`, `REPLCONF`, `INFO`) may wait for
    /// its reply (default 30 s); connecting is bounded by the connect timeout of
    /// [`ReplicaOptions::connect`]. A node that accepts connections and never
    /// answers fails with [`Error::HandshakeTimeout`](crate::Error::HandshakeTimeout), retried like a lost link.
    pub fn handshake_timeout(mut self, after: Duration) -> Self {
        self.handshake_timeout = after;
        self
    }

    /// How often `REPLCONF ACK` is sent (default 1 s).
    pub fn ack_interval(mut self, every: Duration) -> Self {
        self.ack_interval = every;
        self
    }

    /// Events decoded ahead of the consumer (default 64; an RDB chunk is at most
    /// 64 KiB). When they are all waiting, the replica stops reading the socket.
    pub fn queue(mut self, events: usize) -> Self {
        self.queue = events.max(1);
        self
    }

    /// The port announced with `REPLCONF listening-port` (default 0: none).
    pub fn listening_port(mut self, port: u16) -> Self {
        self.listening_port = port;
        self
    }
}
