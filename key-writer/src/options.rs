//! The writer's settings and counters.

use std::time::Duration;

use endpoint::ConnectOptions;

use crate::checkpoint::CheckpointOptions;
use crate::hook::Hooks;
use crate::peer::PeerOptions;

/// How long a reply is awaited by default before its connection counts as lost
/// (a blackholed node must not hang the writer).
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(60);

/// What to do when a key being written already exists on the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExistingKeys {
    /// Replace it (`RESTORE ... REPLACE`).
    #[default]
    Rewrite,
    /// Keep the target's value and count the key as ignored.
    Ignore,
    /// Stop with an error naming the key.
    Fail,
}

/// How the target is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetMode {
    /// A cluster if the target says so (`cluster_enabled:1`), else standalone.
    #[default]
    Auto,
    /// One address that routes by itself (a proxy: no cluster commands, db 0 only).
    Proxy,
}

/// How commands that change whole databases (`FLUSHDB`, `FLUSHALL`, `SWAPDB`) in a
/// forwarded stream are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseCommands {
    /// Stop with [`Error::Refused`](crate::Error::Refused).
    #[default]
    Refuse,
    /// Skip them, counted in [`Stats::commands_skipped`].
    Skip,
    /// Apply them (on every master of a cluster).
    Apply,
}

/// Settings of a [`Writer`](crate::Writer).
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// How to connect to the target's nodes (default: replies awaited 60 s at
    /// most, then the connection counts as lost and is retried).
    pub connect: ConnectOptions,
    /// Existing-key policy.
    pub existing: ExistingKeys,
    /// Cluster detection or proxy mode.
    pub mode: TargetMode,
    /// What each key and command becomes before it is written, in order: filters
    /// ([`Filter`](crate::Filter)), database mapping ([`DbMap`](crate::DbMap)), the
    /// caller's own [`Hook`](crate::Hook)s. Dropped keys and commands are counted in
    /// [`Stats::filtered`].
    pub hooks: Hooks,
    /// `FLUSHDB`, `FLUSHALL`, `SWAPDB` in forwarded streams.
    pub database_commands: DatabaseCommands,
    /// Apply a `MULTI`/`EXEC` whose keys span slots command by command (not atomic)
    /// instead of failing with [`Error::CrossSlot`](crate::Error::CrossSlot).
    pub split_transactions: bool,
    /// Write every key with commands even when `RESTORE` would do.
    pub force_commands: bool,
    /// Values whose stored form is larger than this are written in bounded pieces
    /// (commands into a temporary key renamed at the end) rather than one `RESTORE`.
    pub large_value: usize,
    /// Most commands in flight per node.
    pub max_batch_commands: usize,
    /// Most bytes in flight per node.
    pub max_batch_bytes: usize,
    /// How long a target in trouble is retried before the writer gives up
    /// ([`Error::GaveUp`](crate::Error::GaveUp)): unreachable or lost nodes, and
    /// `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN` (default 30 s; a sync's
    /// default is hours). Rounds are spaced out from 100 ms up to 10 s;
    /// [`Writer::retrying`](crate::Writer::retrying) says what is being retried.
    pub retry_for: Duration,
    /// Keep checkpoints of a source's stream on the target (`None`, the default:
    /// none). A stream's commands then reach the target in `MULTI`/`EXEC` batches
    /// with a checkpoint (on a cluster, one batch per slot with the slot's), which
    /// says exactly what the target holds after a crash, a lost reply or a
    /// failover; see [`Writer::read_checkpoints`](crate::Writer::read_checkpoints).
    /// Not through a proxy, which rarely passes transactions through (a warning
    /// says so).
    pub checkpoint: Option<CheckpointOptions>,
    /// For a live sync: instead of skipping keys that have expired, and applying
    /// absolute expiries already past (which makes the target delete a key the
    /// source may still extend), move them this far into the future and let the
    /// source's `DEL` decide, as a real replica does. Relative expiries of
    /// forwarded commands (`EXPIRE`, `SET ... PX`, `SETEX`, `HEXPIRE`...) are
    /// then written as unix times counted from when
    /// [`Writer::write_command`](crate::Writer::write_command) receives them, so a
    /// lagging target does not keep keys longer than the source. `None` (the
    /// default, for files): expired keys are skipped.
    pub expiry_grace: Option<Duration>,
    /// Leave out function libraries a target without functions (Redis before
    /// 7.0) cannot hold: an RDB's libraries and a stream's `FUNCTION` commands,
    /// counted in [`Stats::functions_dropped`]. Off by default: such a target
    /// stops the writer with [`Error::Unsupported`](crate::Error::Unsupported).
    pub drop_functions: bool,
    /// Leave out hash field TTLs a target without them (Redis before 7.4, Valkey
    /// before 9.0) cannot keep, the fields kept without one: in values written as
    /// commands, and a stream's `HEXPIRE`, `HPEXPIRE`, `HEXPIREAT`, `HPEXPIREAT`
    /// and `HPERSIST` (`HSETEX` is written as `HSET`); counted in
    /// [`Stats::field_ttls_dropped`]. Off by default: such a value stops the
    /// writer with [`Error::Unsupported`](crate::Error::Unsupported).
    pub drop_field_ttls: bool,
    /// Two-way sync: this writer's side, the checkpoint name of the sync writing
    /// the other way, whose batches coming back in this writer's source are
    /// dropped, and the table where both directions find conflicts (see
    /// [`PeerOptions`]).
    pub peer: Option<PeerOptions>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            connect: ConnectOptions::default().io_timeout(Some(DEFAULT_IO_TIMEOUT)),
            existing: ExistingKeys::default(),
            mode: TargetMode::default(),
            hooks: Hooks::default(),
            database_commands: DatabaseCommands::default(),
            split_transactions: false,
            force_commands: false,
            large_value: 16 << 20,
            max_batch_commands: 1024,
            max_batch_bytes: 8 << 20,
            retry_for: Duration::from_secs(30),
            checkpoint: None,
            expiry_grace: None,
            drop_functions: false,
            drop_field_ttls: false,
            peer: None,
        }
    }
}

/// What a writer did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Keys written with `RESTORE`.
    pub keys_restored: u64,
    /// Of those, keys whose payload was re-encoded for a target that reads only
    /// older RDB versions (see `rdb_parser::payload_for`).
    pub keys_transcoded: u64,
    /// Keys written with commands.
    pub keys_as_commands: u64,
    /// Keys skipped because they had already expired (or whose expiry passed while
    /// they were being written in pieces).
    pub keys_expired: u64,
    /// Empty collections skipped (a server skips them when it loads an RDB).
    pub keys_empty: u64,
    /// Keys that existed on the target and were kept (policy `ignore`).
    pub keys_existing: u64,
    /// Keys and commands a hook left out (filters included).
    pub filtered: u64,
    /// Commands forwarded.
    pub commands: u64,
    /// Commands skipped (connection commands, database commands under `Skip`).
    pub commands_skipped: u64,
    /// Function libraries loaded.
    pub functions: u64,
    /// Function libraries and `FUNCTION` commands left out
    /// ([`WriterOptions::drop_functions`]).
    pub functions_dropped: u64,
    /// Hash field TTLs and field-expiry commands left out
    /// ([`WriterOptions::drop_field_ttls`]).
    pub field_ttls_dropped: u64,
    /// Bytes of commands sent.
    pub bytes: u64,
    /// `MOVED` and `ASK` redirections followed.
    pub redirections: u64,
    /// Commands sent again after `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` or a lost node.
    pub retries: u64,
    /// Stream commands not sent because a node's checkpoint says it holds them
    /// (after a restart, or a batch whose reply was lost).
    pub already_applied: u64,
    /// Commands of a two-way sync's peer dropped on their way back
    /// ([`WriterOptions::peer`]), the commands of its transactions included.
    pub returned: u64,
    /// Two-way sync: the peer's commands applied once more on its side, to
    /// settle a conflict its side wins.
    pub settled: u64,
    /// Two-way sync: conflicts this writer settled (keys written on both sides
    /// before either write crossed, which the peer's side wins).
    pub conflicts: u64,
}

impl std::ops::AddAssign<&Stats> for Stats {
    /// Adds another writer's counts (several writers restoring in parallel).
    fn add_assign(&mut self, other: &Stats) {
        self.keys_restored += other.keys_restored;
        self.keys_transcoded += other.keys_transcoded;
        self.keys_as_commands += other.keys_as_commands;
        self.keys_expired += other.keys_expired;
        self.keys_empty += other.keys_empty;
        self.keys_existing += other.keys_existing;
        self.filtered += other.filtered;
        self.commands += other.commands;
        self.commands_skipped += other.commands_skipped;
        self.functions += other.functions;
        self.functions_dropped += other.functions_dropped;
        self.field_ttls_dropped += other.field_ttls_dropped;
        self.bytes += other.bytes;
        self.redirections += other.redirections;
        self.retries += other.retries;
        self.already_applied += other.already_applied;
        self.returned += other.returned;
        self.settled += other.settled;
        self.conflicts += other.conflicts;
    }
}
