//! Two-way sync: the other direction's writes coming back, and keys written on
//! both sides before either write crossed (conflicts).
//!
//! # Returning writes
//! Two syncs run in opposite directions between deployments A and B; each writes
//! its batches as `MULTI`/`EXEC` with its checkpoint, so on the side it writes
//! to, every one of its batches carries a key under its checkpoint name. The sync
//! reading that side's stream drops the transactions (and single commands) that
//! write such a key: they are the peer's writes, already on the other side, and
//! applying them again would send them back and forth for ever.
//!
//! Why that is safe: a client's own transaction, script (replicated as its
//! effects) or command never writes the peer's checkpoint keys, so nothing but
//! the peer's batches is dropped; and each batch is atomic, so none of its
//! commands reaches the stream outside it. Redis 7 and Valkey send a transaction
//! whose effects come down to one command without `MULTI`/`EXEC`: then that one
//! command is the checkpoint itself, dropped by its key.
//!
//! # Conflicts
//! Each side's stream shows, key by key, the order in which that side saw its
//! clients' writes and the other side's writes arrive. Both directions note it in
//! one table ([`Crossings`]): for each key, each side's writes not yet arrived on
//! the other side and its last one (each with its offset in that side's stream,
//! and how far the other side's writes to the key had arrived then), and how far
//! the other side's writes have arrived. A write `x` on side X and a write `y` on
//! side Y to the same key conflict when each was made before the other arrived:
//! X applied `x` then `y`, Y applied `y` then `x`, and they would end apart. An
//! arrival is judged by the last write it carries: a later one may arrive unseen
//! (a `DEL` of a key the other side no longer holds leaves no trace in its
//! stream).
//!
//! The direction reading the loser's stream finds it when the winner's batch
//! arrives there (the loser applied its own write, then the winner's: the order
//! the policy wants), and applies the batch's commands on those keys on the
//! winner's side once more, after the loser's write that overwrote them there.
//! Those commands write other keys too (an `MSET`), so the batch's commands on
//! those follow them. Applied again, they count as writes of the loser's side at
//! that point of its stream: should the winner's side have written the key again
//! meanwhile, that newer write meets them as a conflict in turn, and is applied
//! again after them. So, once the writes stop, both sides hold the winner's.
//!
//! What this cannot do: a command whose effect depends on the value it finds
//! (`INCR`, `APPEND`, `LPUSH`...) applied again counts twice; a key written with
//! such commands on both sides at once ends apart. Conflicts are found between
//! writes that cross within [`REMEMBERED_FOR`] (beyond about a million keys
//! written), and within one run: a write made while the sync is stopped meets
//! the other side's as a conflict, but not one whose crossing a restart split.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::checkpoint::Checkpoint;
use crate::command::{key_indexes, spec};

/// Keys remembered before the table is pruned of keys not written for
/// [`REMEMBERED_FOR`].
const REMEMBERED_KEYS: usize = 1 << 20;

/// How long a key's writes are remembered (beyond about a million keys): a
/// conflict is found when both writes cross within it.
pub const REMEMBERED_FOR: Duration = Duration::from_secs(60);

/// One of the two deployments of a two-way sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first (a two-way sync's source).
    #[default]
    A,
    /// The second (a two-way sync's target).
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// `a` or `b`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::A => "a",
            Side::B => "b",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A key written on both sides before either write crossed, settled for
/// `winner`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conflict {
    /// The key's database.
    pub db: u64,
    /// The key.
    pub key: Bytes,
    /// The side whose write both sides end with.
    pub winner: Side,
}

/// A two-way sync's writer: which side its source is, the checkpoint name of the
/// sync writing the other way, and the table both directions share.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PeerOptions {
    /// The side this writer's source is.
    pub side: Side,
    /// The checkpoint name of the sync writing the other way (into this writer's
    /// source): the source's transactions and commands that write a key under it
    /// are that sync's batches coming back, dropped whole (counted in
    /// [`Stats::returned`](crate::Stats::returned)), and so are such keys in an
    /// RDB.
    pub checkpoint: String,
    /// Where both directions note each key's writes, to find conflicts.
    pub crossings: Crossings,
}

impl PeerOptions {
    /// The writer of side `side`'s stream, whose peer keeps its checkpoints under
    /// `checkpoint`.
    pub fn new(side: Side, checkpoint: impl Into<String>, crossings: Crossings) -> Self {
        PeerOptions {
            side,
            checkpoint: checkpoint.into(),
            crossings,
        }
    }
}

/// The table both directions of a two-way sync share to find conflicts (see the
/// module docs), and where the conflicts found go. Clones share it.
///
/// Bounded: up to about a million keys are remembered; beyond, keys not written
/// for [`REMEMBERED_FOR`] are forgotten, and all of them when that is not enough.
#[derive(Clone, Debug)]
pub struct Crossings {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    winner: Side,
    table: Mutex<HashMap<(u64, Bytes), Crossing>>,
    report: Option<mpsc::UnboundedSender<Conflict>>,
}

/// One key's writes, by side.
#[derive(Debug)]
struct Crossing {
    /// Each side's last client write.
    written: [Option<Write>; 2],
    /// Each side's writes that have not arrived on the other side yet, oldest
    /// first: an arrival is judged by the last write it carries (a later one may
    /// arrive unseen: a `DEL` of a key the other side no longer holds is not in
    /// its stream).
    pending: [VecDeque<Write>; 2],
    /// How far (in the other side's stream) the other side's writes to the key
    /// have arrived on each side.
    arrived: [u64; 2],
    touched: Instant,
}

/// A client's write: its offset in its side's stream, and how far the other
/// side's writes to the key had arrived on its side then.
#[derive(Clone, Copy, Debug)]
struct Write {
    offset: u64,
    seen: u64,
}

impl Crossings {
    /// A table whose conflicts `winner` wins, and where the conflicts found go
    /// (none: only counted and logged).
    pub fn new(winner: Side, report: Option<mpsc::UnboundedSender<Conflict>>) -> Self {
        Crossings {
            shared: Arc::new(Shared {
                winner,
                table: Mutex::new(HashMap::new()),
                report,
            }),
        }
    }

    /// A client of `side` wrote `key` of `db`, at `offset` of `side`'s stream.
    pub(crate) fn wrote(&self, side: Side, db: u64, key: &Bytes, offset: u64) {
        let mut table = self.shared.table.lock().expect("not poisoned");
        prune(&mut table);
        let c = table.entry((db, key.clone())).or_insert_with(|| Crossing {
            written: [None, None],
            pending: [VecDeque::new(), VecDeque::new()],
            arrived: [0, 0],
            touched: Instant::now(),
        });
        let seen = c.arrived[side.index()];
        let write = Write { offset, seen };
        c.written[side.index()] = Some(write);
        c.pending[side.index()].push_back(write);
        c.touched = Instant::now();
    }

    /// The other side's writes to `key` of `db`, up to `offset` of the other
    /// side's stream, arrived on `side` (seen in `side`'s stream). Returns
    /// whether they must be applied on the other side once more: a conflict the
    /// other side wins.
    pub(crate) fn arrived(&self, side: Side, db: u64, key: &Bytes, offset: u64) -> bool {
        let mut table = self.shared.table.lock().expect("not poisoned");
        let Some(c) = table.get_mut(&(db, key.clone())) else {
            return false;
        };
        let (here, there) = (side.index(), side.other().index());
        c.arrived[here] = c.arrived[here].max(offset);
        // The last of their writes this arrival carries.
        let mut theirs = None;
        while let Some(w) = c.pending[there].front().filter(|w| w.offset <= offset) {
            theirs = Some(*w);
            c.pending[there].pop_front();
        }
        let (Some(own), Some(theirs)) = (c.written[here], theirs) else {
            return false;
        };
        // Their write arrives now; ours was made before it arrived, and theirs
        // before ours arrived there.
        let conflict = own.seen < theirs.offset && theirs.seen < own.offset;
        if !conflict || self.shared.winner == side {
            return false;
        }
        drop(table);
        let winner = side.other();
        tracing::warn!(db, key = %key.escape_ascii(), winner = winner.as_str(), "conflict: the key was written on both sides at once");
        if let Some(report) = &self.shared.report {
            let _ = report.send(Conflict {
                db,
                key: key.clone(),
                winner,
            });
        }
        true
    }
}

/// Forgets keys not written for [`REMEMBERED_FOR`] once the table is full.
fn prune(table: &mut HashMap<(u64, Bytes), Crossing>) {
    if table.len() < REMEMBERED_KEYS {
        return;
    }
    table.retain(|_, c| c.touched.elapsed() < REMEMBERED_FOR);
    if table.len() >= REMEMBERED_KEYS {
        tracing::warn!(
            keys = table.len(),
            "two-way: more keys written within a minute than remembered; conflicts of those written so far are no longer found"
        );
        // Forgetting them all keeps each write's cost bounded: a table still full
        // would be scanned at every write.
        table.clear();
    }
}

/// A writer's peer: the checkpoint keys of the sync writing the other way, and
/// the shared table.
#[derive(Debug)]
pub(crate) struct Peer {
    /// `<name>:`: every checkpoint key starts with it.
    prefix: Bytes,
    pub(crate) side: Side,
    pub(crate) crossings: Crossings,
}

impl Peer {
    pub(crate) fn new(options: &PeerOptions) -> Peer {
        Peer {
            prefix: Bytes::from(format!("{}:", options.checkpoint)),
            side: options.side,
            crossings: options.crossings.clone(),
        }
    }

    /// Whether `key` is one of the peer's checkpoint keys.
    pub(crate) fn owns(&self, key: &[u8]) -> bool {
        key.starts_with(&self.prefix)
    }

    /// Whether the command `args` (its name upper-cased in `name`) writes one of
    /// the peer's checkpoint keys.
    pub(crate) fn wrote(&self, name: &[u8], args: &[Bytes]) -> bool {
        keys_of(name, args).any(|key| self.owns(key))
    }

    /// The offset of the peer's stream a returning checkpoint write covers.
    pub(crate) fn covered(&self, name: &[u8], args: &[Bytes]) -> Option<u64> {
        if name != b"SET" || args.len() < 3 || !self.owns(&args[1]) {
            return None;
        }
        Checkpoint::decode(&args[2]).map(|c| c.offset)
    }
}

/// The keys `args` (a command named `name`, upper-cased) writes.
pub(crate) fn keys_of<'a>(name: &[u8], args: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> {
    let (keys, _) = spec(name);
    key_indexes(keys, args).into_iter().map(move |i| &args[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<Bytes> {
        text.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
    }

    fn peer() -> Peer {
        let crossings = Crossings::new(Side::A, None);
        Peer::new(&PeerOptions::new(Side::B, "cp:a-to-b", crossings))
    }

    #[test]
    fn the_peers_checkpoints_and_nothing_else() {
        let peer = peer();
        assert!(peer.wrote(b"SET", &args("SET cp:a-to-b:host:1 v")));
        assert!(peer.wrote(b"SET", &args("SET cp:a-to-b:host:1:{06S} v")));
        assert!(peer.wrote(b"DEL", &args("DEL x cp:a-to-b:host:1")));
        // Another direction's, a longer name, a value that looks like one.
        assert!(!peer.wrote(b"SET", &args("SET cp:b-to-a:host:1 v")));
        assert!(!peer.wrote(b"SET", &args("SET cp:a-to-bb:host:1 v")));
        assert!(!peer.wrote(b"SET", &args("SET user:1 cp:a-to-b:host:1")));
        assert!(!peer.wrote(b"PING", &args("PING")));
        let value = "1 0123456789012345678901234567890123456789 4711 0 loaded";
        let set = [args("SET cp:a-to-b:host:1"), vec![Bytes::from(value)]].concat();
        assert_eq!(peer.covered(b"SET", &set), Some(4711));
    }

    /// Offsets: A's stream and B's each count from 0 here.
    #[test]
    fn writes_made_before_the_others_arrived_conflict() {
        let k = Bytes::from("k");
        let (tx, mut reported) = mpsc::unbounded_channel();
        let c = Crossings::new(Side::A, Some(tx));
        // A writes k at 10, B at 20; each arrives on the other side afterwards.
        c.wrote(Side::A, 0, &k, 10);
        c.wrote(Side::B, 0, &k, 20);
        // B's write arrives on A (seen in A's stream): A wins, nothing to do there.
        assert!(!c.arrived(Side::A, 0, &k, 25));
        // A's arrives on B: applied on A once more, after B's.
        assert!(c.arrived(Side::B, 0, &k, 12));
        let conflict = reported.try_recv().expect("reported");
        assert_eq!(
            (conflict.db, &conflict.key[..], conflict.winner),
            (0, &b"k"[..], Side::A)
        );
        // The same batch seen again (a restart) is not a new conflict.
        assert!(!c.arrived(Side::B, 0, &k, 12));
        assert!(reported.try_recv().is_err(), "one report");
    }

    #[test]
    fn a_write_made_after_the_other_arrived_does_not_conflict() {
        let k = Bytes::from("k");
        let (tx, mut reported) = mpsc::unbounded_channel();
        let c = Crossings::new(Side::A, Some(tx));
        // B writes k at 20, it arrives on A; then A writes k at 30, which arrives
        // on B after B's write: A's came later, everyone agrees.
        c.wrote(Side::B, 0, &k, 20);
        assert!(!c.arrived(Side::A, 0, &k, 22));
        c.wrote(Side::A, 0, &k, 30);
        assert!(!c.arrived(Side::B, 0, &k, 31));
        // Another key, another database: no conflict either.
        c.wrote(Side::A, 1, &k, 40);
        c.wrote(Side::B, 0, &Bytes::from("other"), 41);
        assert!(!c.arrived(Side::B, 1, &k, 45));
        assert!(reported.try_recv().is_err(), "no report");
    }
}
