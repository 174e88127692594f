//! Proving that a target holds what a source holds: every key in scope compared
//! in both directions (existence, type, time to live, and by [`VerifyMode`] the
//! values), in rounds so that a target kept in sync by a running sync is not
//! reported for writes still in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use endpoint::{ConnectOptions, Endpoint};
use key_writer::{
    DEFAULT_CHECKPOINT_NAME, DbMap, Filter, Hook, Hooks, KeyEdit, TargetMode, Verdict,
};
use rdb_parser::{Function, Item, Key, ParseOptions, Rdb, Type, Value, parse_dump};
use resp_codec::Frame;
use tokio::sync::watch;

use crate::compare::{
    At, Canon, LiveWalk, PIECE, Piece, Walk, check_piece, groups_of, live_stream_meta,
    stream_meta_diff,
};
use crate::difference::{Difference, DifferenceKind, Subject};
use crate::error::{Error, Result, show};
use crate::library::library_name;
use crate::rdb_file::map;
use crate::seen::Seen;
use crate::side::{Request, Side};

/// How much of each key is compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyMode {
    /// Existence, type, time to live and every value.
    #[default]
    Full,
    /// Existence, type, time to live and element counts.
    Length,
    /// Existence and type only.
    Keys,
}

/// Where the source's keys come from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum VerifySource {
    /// A live deployment, standalone or cluster.
    Live(Endpoint),
    /// An RDB file (a backup, or what a restore was made from).
    File(PathBuf),
}

/// Settings of a [`Verify`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// How to connect to a live source.
    pub source_connect: ConnectOptions,
    /// How to connect to the target.
    pub target_connect: ConnectOptions,
    /// How the target is reached (default [`TargetMode::Auto`]): as the sync
    /// reached it. Through a [`TargetMode::Proxy`] it is asked no `CLUSTER`
    /// command and no `SELECT`, and a key that goes to another database than 0 is
    /// an [`Error::Database`].
    pub target_mode: TargetMode,
    /// How much is compared (default [`VerifyMode::Full`]).
    pub mode: VerifyMode,
    /// Rounds in all (default 5): keys that differ are compared again after
    /// `interval`, up to this many times in all; only those that still differ in
    /// the last round are reported.
    pub rounds: u32,
    /// The wait between rounds (default 1 s).
    pub interval: Duration,
    /// Times to live (and hash field expiries) this close are equal (default 1 s).
    pub ttl_tolerance_ms: i64,
    /// The sync's expiry grace (default 5 s, as `sync`'s): a target key whose
    /// time to live is within it may outlive its source key (the sync moved an
    /// expiry already past into the grace), and is not reported.
    pub expiry_grace: Option<Duration>,
    /// Commands per second on each side at most (default: no limit).
    pub qps: Option<u64>,
    /// Keys per `SCAN` step and per pipeline (default 500).
    pub batch: usize,
    /// Which source keys are in scope (as the sync's filter).
    pub filter: Option<Filter>,
    /// Which target database each source database went to (as the sync's).
    pub db_map: Option<DbMap>,
    /// Your hooks, after the filter and the database map, as the sync ran them.
    /// With any, extra keys on the target are not looked for (a hook cannot be
    /// inverted); the report says so.
    pub hooks: Hooks,
    /// The first part of the sync's checkpoint keys, left out on both sides (a
    /// cascade's or a two-way sync's source holds another sync's; default
    /// [`DEFAULT_CHECKPOINT_NAME`]).
    pub checkpoint_name: String,
    /// Values of at most this many bytes (as `MEMORY USAGE` estimates them; an
    /// RDB file's value: its encoded size) are read whole with `DUMP` on each side
    /// (default 64 KiB): equal payloads are equal, others are decoded and compared
    /// by content when of at most [`PIECE`] elements. Larger ones in pieces.
    pub small_bytes: u64,
    /// Source keys remembered once compared (default 3,500,000; 64-bit
    /// fingerprints, at most 36 MiB for these), so that the search for extra
    /// target keys does not ask the source about them: a target key whose source
    /// key was compared is not extra, even if the source key is gone since (a
    /// key changed after its comparison is not compared again either). Target keys
    /// beyond these are looked up in the source (`EXISTS`). An RDB file source
    /// remembers all its keys in scope.
    pub remembered_keys: usize,
    /// Differences kept for the next rounds and listed in the report at most
    /// (default 100,000), so that a target far from its source does not cost
    /// memory in proportion: beyond, differences are counted by kind
    /// ([`VerifyReport::unlisted`]), neither compared again nor listed.
    pub max_differences: usize,
    /// Scans every target database for extra keys (default `false`: a target
    /// database is not scanned when its key count, read before and after the
    /// first pass, equals the number of source keys compared that were found
    /// in it; then every key it holds is one of those). Counts equal by chance
    /// would need keys deleted and as many others created on the target during
    /// the pass; set this where that may happen and must not go unseen.
    pub always_scan_target: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            source_connect: ConnectOptions::default(),
            target_connect: ConnectOptions::default(),
            target_mode: TargetMode::Auto,
            mode: VerifyMode::Full,
            rounds: 5,
            interval: Duration::from_secs(1),
            ttl_tolerance_ms: 1000,
            expiry_grace: Some(Duration::from_secs(5)),
            qps: None,
            batch: 500,
            filter: None,
            db_map: None,
            hooks: Hooks::new(),
            checkpoint_name: DEFAULT_CHECKPOINT_NAME.to_owned(),
            small_bytes: 64 << 10,
            remembered_keys: 3_500_000,
            max_differences: 100_000,
            always_scan_target: false,
        }
    }
}

/// Live status of a verification. Its `Display` is the program's progress line.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifyStatus {
    /// The round under way (1 for the first pass over every key).
    pub round: u32,
    /// Keys compared so far (source keys in scope, and target keys looked up in
    /// the source).
    pub keys: u64,
    /// Keys (and libraries) that differ so far in this round.
    pub differing: u64,
    /// When the verification started.
    pub started: Instant,
    /// Whether it is over.
    pub done: bool,
}

impl fmt::Display for VerifyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        write!(
            f,
            "verify: round {}: {} keys compared ({}/s), {} differing",
            self.round,
            self.keys,
            (self.keys as f64 / secs) as u64,
            self.differing
        )
    }
}

/// What a verification found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The differences left after the last round, in the order found (at most
    /// [`VerifyOptions::max_differences`]).
    pub differences: Vec<Difference>,
    /// Differences beyond [`VerifyOptions::max_differences`], by kind: counted
    /// when found, not compared again nor listed.
    pub unlisted: BTreeMap<DifferenceKind, u64>,
    /// Source keys in scope compared, per source database.
    pub keys: BTreeMap<u64, u64>,
    /// Rounds run.
    pub rounds: u32,
    /// Whether the target was searched for extra keys (not with a hook of yours).
    pub extra_keys_checked: bool,
    /// How long it took.
    pub elapsed: Duration,
}

impl VerifyReport {
    /// Whether no difference remained.
    pub fn is_equal(&self) -> bool {
        self.differences.is_empty() && self.unlisted.values().all(|n| *n == 0)
    }

    /// Differences per kind, the unlisted ones included.
    pub fn counts(&self) -> BTreeMap<DifferenceKind, u64> {
        let mut counts: BTreeMap<_, _> = DifferenceKind::ALL.iter().map(|k| (*k, 0)).collect();
        for d in &self.differences {
            *counts.entry(d.kind).or_default() += 1;
        }
        for (kind, n) in &self.unlisted {
            *counts.entry(*kind).or_default() += n;
        }
        counts
    }

    /// Writes every difference listed as a JSON line ([`Difference::write_json`]),
    /// then the summary line: `{"summary":{"keys":{"0":N,...},"differences":
    /// {"missing":N,...},"unlisted":N,"rounds":N,"extra_keys_checked":true,
    /// "seconds":S}}` (`differences` counts the unlisted ones too).
    ///
    /// # Errors
    /// I/O errors of `out`.
    pub fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        for d in &self.differences {
            d.write_json(out)?;
        }
        out.write_all(b"{\"summary\":{\"keys\":{")?;
        for (i, (db, n)) in self.keys.iter().enumerate() {
            write!(out, "{}\"{db}\":{n}", if i == 0 { "" } else { "," })?;
        }
        out.write_all(b"},\"differences\":{")?;
        for (i, (kind, n)) in self.counts().iter().enumerate() {
            write!(out, "{}\"{kind}\":{n}", if i == 0 { "" } else { "," })?;
        }
        writeln!(
            out,
            "}},\"unlisted\":{},\"rounds\":{},\"extra_keys_checked\":{},\"seconds\":{:.3}}}}}",
            self.unlisted.values().sum::<u64>(),
            self.rounds,
            self.extra_keys_checked,
            self.elapsed.as_secs_f64()
        )?;
        out.flush()
    }
}

/// Compares a target with its source, key by key; see the module documentation
/// of the crate for an example.
///
/// # Memory
/// Bounded by the batch, not by the data: per pipeline `batch` keys' names,
/// types, times to live and sizes; `DUMP` payloads of values of at most
/// `small_bytes`, `batch` of them at a time on each side (at most
/// `batch` × `small_bytes` per side, 32 MiB with the defaults), one value at a
/// time decoded when two payloads differ ([`PIECE`] elements at most); larger values in
/// pieces of [`PIECE`] elements or 64 KiB of a string, one piece per side, never
/// whole (a stream's consumer groups and their pending entries are held whole).
/// So the largest value does not raise the peak: the tests verify a 95 MiB hash
/// (200,000 fields of 500 bytes) with a peak resident memory under 40 MiB
/// (13 MiB measured; 275 MiB when the same hash is read whole). A source RDB file
/// is memory-mapped; its strings compressed with LZF are decompressed whole. The
/// keys that differ in a round are kept until the next (at most
/// [`VerifyOptions::max_differences`]), and the compared source
/// keys are remembered as fingerprints for the extra-key search (up to
/// [`VerifyOptions::remembered_keys`], 36 MiB with the default; all the keys of an
/// RDB file source, at most 21 bytes each).
pub struct Verify {
    source: VerifySource,
    target: Endpoint,
    options: VerifyOptions,
    status: Arc<watch::Sender<VerifyStatus>>,
}

impl fmt::Debug for Verify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verify")
            .field("source", &self.source)
            .field("target", &self.target)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A source key in scope, and where it went.
#[derive(Clone)]
struct Pair<'a> {
    db: u64,
    name: Bytes,
    /// The key as an RDB file holds it.
    rdb: Option<Box<Key<'a>>>,
    /// Compared for the first time: counted among the target's keys once
    /// found there.
    fresh: bool,
}

/// What is compared again next round.
enum Suspect<'a> {
    Key(Box<Pair<'a>>, Difference),
    Extra(u64, Bytes, Difference),
    Library(Difference),
}

impl Suspect<'_> {
    fn difference(self) -> Difference {
        match self {
            Suspect::Key(_, d) | Suspect::Extra(_, _, d) | Suspect::Library(d) => d,
        }
    }
}

/// A key's metadata on one side, as [`Wanted`] asked for it: whether it
/// exists, its type (`None`: not read), time to live (`-1`: none; `None`: not
/// read) and size in bytes (`MEMORY USAGE`, or a file's raw value).
#[derive(Clone, Debug)]
struct Meta {
    exists: bool,
    value_type: Option<Type>,
    pttl: Option<i64>,
    size: Option<i64>,
}

/// Which of a key's metadata a round reads: its type or its time to live (or
/// both: one of them tells whether the key exists), and its size.
#[derive(Clone, Copy, Debug)]
struct Wanted {
    value_type: bool,
    pttl: bool,
    size: bool,
}

/// A source key with its metadata, its name on the target, and the target's
/// metadata when read with the source's.
type Keyed<'a> = (Pair<'a>, Meta, Bytes, Option<Meta>);

/// What the second round reads of a key's value: its `DUMP` payload (mode
/// `full`, small values and module values), its type and length (mode `length`,
/// or a larger value), or that it is gone.
enum Held {
    Payload(Bytes),
    Len(Type, Option<i64>),
    Gone,
}

/// Two small values compared whole.
enum Whole {
    Equal,
    Differ(DifferenceKind, String),
    /// More than [`PIECE`] elements (of this type): compared in pieces.
    Large(Type, u64),
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The type a `TYPE` reply names; `None` for `none` (no such key). Module
/// values answer with the module's own name.
fn type_of(reply: &Frame) -> Option<Type> {
    let name = reply.as_bytes()?;
    (name.as_ref() != b"none").then(|| Type::from_name(name).unwrap_or(Type::Module))
}

/// A type difference for a person.
fn type_detail(source: Type, target: Type) -> String {
    format!(
        "{} on the source, {} on the target",
        source.as_str(),
        target.as_str()
    )
}

fn text(frame: &Frame) -> String {
    frame
        .as_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

impl Verify {
    /// A verification of `target` against `source` with default options.
    pub fn new(source: VerifySource, target: Endpoint) -> Verify {
        let status = VerifyStatus {
            round: 1,
            keys: 0,
            differing: 0,
            started: Instant::now(),
            done: false,
        };
        Verify {
            source,
            target,
            options: VerifyOptions::default(),
            status: Arc::new(watch::channel(status).0),
        }
    }

    /// Replaces the options (hooks added before are replaced too: add them after).
    pub fn options(mut self, options: VerifyOptions) -> Verify {
        self.options = options;
        self
    }

    /// Adds a hook after the ones in the options, as the sync ran it.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Verify {
        self.options.hooks.push(hook);
        self
    }

    /// Live status.
    pub fn status(&self) -> watch::Receiver<VerifyStatus> {
        self.status.subscribe()
    }

    /// Compares every key in scope, in rounds, and reports what still differs.
    ///
    /// # Errors
    /// [`Error::Stopped`] when `shutdown` completes first; connection errors;
    /// [`Error::Key`] for a command refused on a key; [`Error::Rdb`] for a corrupt
    /// source file; [`Error::Database`] for a key that goes to a database other
    /// than 0 of a cluster or proxy target.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<VerifyReport> {
        let started = Instant::now();
        let mut report = tokio::select! {
            report = self.verify() => report?,
            _ = shutdown => return Err(Error::Stopped),
        };
        report.elapsed = started.elapsed();
        Ok(report)
    }

    async fn verify(&self) -> Result<VerifyReport> {
        let o = &self.options;
        let proxy = o.target_mode == TargetMode::Proxy;
        let target = Side::connect("target", &self.target, &o.target_connect, o.qps, proxy).await?;
        match &self.source {
            VerifySource::Live(endpoint) => {
                let source =
                    Side::connect("source", endpoint, &o.source_connect, o.qps, false).await?;
                let mut run = Run::new(self, Source::Live(Box::new(source)), target);
                run.count_before().await?;
                run.forward_live().await?;
                run.finish().await
            }
            VerifySource::File(path) => {
                let map = map(path)?;
                let context = path.display().to_string();
                let corrupt = |error| Error::Rdb {
                    context: context.clone(),
                    error,
                };
                let rdb = Rdb::with_options(&map, ParseOptions::default()).map_err(corrupt)?;
                let mut run = Run::new(
                    self,
                    Source::File(path.display().to_string(), BTreeSet::new()),
                    target,
                );
                run.count_before().await?;
                run.forward_file(&rdb).await?;
                run.finish().await
            }
        }
    }
}

/// The source of a run.
enum Source {
    Live(Box<Side>),
    /// The file's name, and the databases of its keys in scope.
    File(String, BTreeSet<u64>),
}

/// One verification under way.
struct Run<'v, 'a> {
    verify: &'v Verify,
    source: Source,
    target: Side,
    /// Filter, database map, then the user's hooks.
    hooks: Hooks,
    suspects: Vec<Suspect<'a>>,
    /// Differences beyond [`VerifyOptions::max_differences`], by kind.
    unlisted: BTreeMap<DifferenceKind, u64>,
    /// The source keys in scope compared, for the extra-key search.
    seen: Seen,
    keys: BTreeMap<u64, u64>,
    /// Source keys compared for the first time and found on the target, by
    /// target database.
    on_target: BTreeMap<u64, u64>,
    /// The target's key counts by database before the first pass (`None`: not
    /// read, or a proxy).
    counts_before: Option<BTreeMap<u64, u64>>,
    /// Libraries of the source (name, code).
    libraries: Option<BTreeMap<String, Vec<u8>>>,
    /// How many databases a live source has, once read.
    source_dbs: Option<u64>,
    status: VerifyStatus,
}

impl<'v, 'a> Run<'v, 'a> {
    fn new(verify: &'v Verify, source: Source, target: Side) -> Self {
        let o = &verify.options;
        let mut hooks = Hooks::new();
        if let Some(f) = &o.filter {
            hooks.push(f.clone());
        }
        if let Some(m) = &o.db_map {
            hooks.push(m.clone());
        }
        hooks.push(o.hooks.clone());
        let remembered = match source {
            Source::Live(_) => Some(o.remembered_keys),
            Source::File(..) => None,
        };
        Run {
            verify,
            source,
            target,
            hooks,
            suspects: Vec::new(),
            unlisted: BTreeMap::new(),
            seen: Seen::new(remembered),
            keys: BTreeMap::new(),
            on_target: BTreeMap::new(),
            counts_before: None,
            libraries: None,
            source_dbs: None,
            status: verify.status.borrow().clone(),
        }
    }

    fn options(&self) -> &'v VerifyOptions {
        &self.verify.options
    }

    fn publish(&self) {
        self.verify.status.send_replace(self.status.clone());
    }

    /// Keeps what differs for the next round, up to
    /// [`VerifyOptions::max_differences`]; counts the rest.
    fn keep(&mut self, found: Vec<Suspect<'a>>) {
        let max = self.options().max_differences;
        for s in found {
            if self.suspects.len() < max {
                self.suspects.push(s);
            } else {
                *self.unlisted.entry(s.difference().kind).or_default() += 1;
            }
        }
    }

    /// Differences so far: kept and counted.
    fn differing(&self) -> u64 {
        self.suspects.len() as u64 + self.unlisted.values().sum::<u64>()
    }

    /// Every key of a live source, node by node, database by database; each
    /// `SCAN` step taken (on connections of its own) while the keys of the step
    /// before are compared.
    async fn forward_live(&mut self) -> Result<()> {
        let batch = self.options().batch;
        let Source::Live(source) = &mut self.source else {
            return Ok(());
        };
        let nodes = source.node_count();
        let mut work = Vec::new();
        for i in 0..nodes {
            for db in source.databases(i).await? {
                work.push((i, db));
            }
        }
        let mut scanner = source.scanner().await?;
        let checkpoints = self.options().checkpoint_name.clone();
        for (i, db) in work {
            let mut step = scanner.scan(i, db, b"0", batch).await?;
            loop {
                let (next, keys) = step;
                let pairs = keys
                    .into_iter()
                    .filter(|name| !is_sync_key(&checkpoints, name))
                    .map(|name| Pair {
                        db,
                        name,
                        rdb: None,
                        fresh: false,
                    })
                    .collect();
                let ahead = async {
                    match next.as_slice() {
                        b"0" => Ok(None),
                        cursor => scanner.scan(i, db, cursor, batch).await.map(Some),
                    }
                };
                let (ahead, found) = tokio::join!(ahead, self.compare(db, pairs, true));
                self.keep(found?);
                self.publish();
                match ahead? {
                    Some(s) => step = s,
                    None => break,
                }
            }
        }
        let Source::Live(source) = &mut self.source else {
            unreachable!()
        };
        self.libraries = Some(live_libraries(source, 0).await?);
        Ok(())
    }

    /// Every key of an RDB file.
    async fn forward_file(&mut self, rdb: &Rdb<'a>) -> Result<()> {
        let batch = self.options().batch;
        let now = now_ms();
        let mut pending: Vec<Pair<'a>> = Vec::new();
        let mut libraries = BTreeMap::new();
        let name = match &self.source {
            Source::File(name, _) => name.clone(),
            Source::Live(_) => String::new(),
        };
        for item in rdb.items() {
            let item = item.map_err(|error| Error::Rdb {
                context: name.clone(),
                error,
            })?;
            match item {
                Item::Key(key) => {
                    if key.expire_ms.is_some_and(|at| at <= now) {
                        continue;
                    }
                    if pending.first().is_some_and(|p| p.db != key.db) || pending.len() >= batch {
                        let db = pending[0].db;
                        let found = self.compare(db, std::mem::take(&mut pending), true).await?;
                        self.keep(found);
                        self.publish();
                    }
                    let name = Bytes::from(key.key.to_vec().map_err(|error| Error::Rdb {
                        context: name.clone(),
                        error,
                    })?);
                    if self.is_sync_key(&name) {
                        continue;
                    }
                    pending.push(Pair {
                        db: key.db,
                        name,
                        rdb: Some(Box::new(key)),
                        fresh: false,
                    });
                }
                Item::Function(Function::Library { code }) => {
                    if let Ok(code) = code.to_vec() {
                        libraries.insert(library_name(&code), code);
                    }
                }
                _ => {}
            }
        }
        if let Some(first) = pending.first() {
            let db = first.db;
            let found = self.compare(db, pending, true).await?;
            self.keep(found);
        }
        self.libraries = Some(libraries);
        Ok(())
    }

    /// The reverse pass, the function libraries, then the rounds.
    async fn finish(&mut self) -> Result<VerifyReport> {
        let extra_keys_checked = self.options().hooks.is_empty();
        if extra_keys_checked {
            self.reverse().await?;
        }
        let libraries = self.compare_libraries().await?;
        self.keep(libraries);
        self.status.differing = self.differing();
        self.publish();
        let mut round = 1;
        while round < self.options().rounds.max(1) && !self.suspects.is_empty() {
            tokio::time::sleep(self.options().interval).await;
            round += 1;
            self.status.round = round;
            let suspects = std::mem::take(&mut self.suspects);
            let mut again = Vec::new();
            let mut extras = Vec::new();
            let mut library = false;
            for s in suspects {
                match s {
                    Suspect::Key(pair, _) => again.push(*pair),
                    Suspect::Extra(db, name, _) => extras.push((db, name)),
                    Suspect::Library(_) => library = true,
                }
            }
            // Grouped by source database, as the pipelines want them.
            let mut by_db: BTreeMap<u64, Vec<Pair<'a>>> = BTreeMap::new();
            for p in again {
                by_db.entry(p.db).or_default().push(p);
            }
            for (db, pairs) in by_db {
                for chunk in pairs.chunks(self.options().batch.max(1)) {
                    let found = self.compare(db, chunk.to_vec(), false).await?;
                    self.keep(found);
                }
            }
            let mut by_db: BTreeMap<u64, Vec<Bytes>> = BTreeMap::new();
            for (db, name) in extras {
                by_db.entry(db).or_default().push(name);
            }
            for (db, names) in by_db {
                for chunk in names.chunks(self.options().batch.max(1)) {
                    let found = self.extras(db, chunk.to_vec()).await?;
                    self.keep(found);
                }
            }
            if library {
                let found = self.compare_libraries().await?;
                self.keep(found);
            }
            self.status.differing = self.differing();
            self.publish();
        }
        self.status.done = true;
        self.publish();
        Ok(VerifyReport {
            differences: std::mem::take(&mut self.suspects)
                .into_iter()
                .map(Suspect::difference)
                .collect(),
            unlisted: std::mem::take(&mut self.unlisted),
            keys: std::mem::take(&mut self.keys),
            rounds: round,
            extra_keys_checked,
            elapsed: Duration::ZERO,
        })
    }

    /// What the first round reads of a source key: its type but in mode `full`
    /// (the `DUMP` payload tells it) without a filter or hooks of yours (which
    /// may decide by it); its time to live unless mode `keys` runs without hooks
    /// of yours (then only for keys missing on the target); its size in mode
    /// `full`.
    fn source_wanted(&self) -> Wanted {
        let o = self.options();
        let hooked = !o.hooks.is_empty();
        Wanted {
            value_type: o.mode != VerifyMode::Full || hooked || o.filter.is_some(),
            pttl: o.mode != VerifyMode::Keys || hooked,
            size: o.mode == VerifyMode::Full,
        }
    }

    /// Where the hooks send a source key; `None` when out of scope.
    fn destination(&self, pair: &Pair<'a>, meta: &Meta) -> Result<Option<(u64, Bytes)>> {
        let expire = meta.pttl.filter(|t| *t >= 0).map(|t| now_ms() + t);
        let value = pair.rdb.as_ref().map(|k| &k.value);
        // Not read when nothing in scope depends on it.
        let value_type = meta.value_type.unwrap_or(Type::String);
        let mut edit = KeyEdit::new(pair.db, pair.name.clone(), value_type, expire, value);
        match self.hooks.key(&mut edit) {
            Verdict::Keep => Ok(Some((edit.db, edit.name))),
            Verdict::Drop => Ok(None),
            Verdict::Refuse(reason) => Err(Error::Key {
                side: "source",
                node: self.source_name(&pair.name),
                db: pair.db,
                key: show(&pair.name),
                reason: format!("a hook refused the key: {reason}"),
            }),
            _ => Ok(None),
        }
    }

    fn source_name(&self, key: &[u8]) -> String {
        match &self.source {
            Source::Live(side) => side.node_for(key),
            Source::File(name, _) => name.clone(),
        }
    }

    /// Compares source keys of database `db` with the target; the keys that differ.
    ///
    /// Two rounds per batch, each on both sides at once: every key's type, time
    /// to live and (mode `full`) size; then the `DUMP` payloads of values of at
    /// most `small_bytes` and the lengths of the others. Without hooks of yours a
    /// key keeps its name, so the target's first round does not wait for the
    /// source's. Equal payloads need no decoding.
    async fn compare(
        &mut self,
        db: u64,
        pairs: Vec<Pair<'a>>,
        first: bool,
    ) -> Result<Vec<Suspect<'a>>> {
        let o = self.options();
        let single = self.target.single_database();
        let guess = o
            .hooks
            .is_empty()
            .then(|| o.db_map.as_ref().map_or(Some(db), |m| m.target(db)))
            .flatten()
            .filter(|&tdb| tdb == 0 || !single);
        let (wanted, twanted) = (self.source_wanted(), self.target_wanted());
        let (metas, mut tmetas) = match guess {
            Some(tdb) => {
                let probes = pairs.iter().map(|p| &p.name);
                let (s, t) = tokio::join!(
                    source_meta(&mut self.source, db, &pairs, wanted),
                    meta(&mut self.target, tdb, probes, twanted)
                );
                (s?, t?.into_iter().map(Some).collect())
            }
            None => (
                source_meta(&mut self.source, db, &pairs, wanted).await?,
                vec![None; pairs.len()],
            ),
        };
        // In scope, grouped by target database.
        let mut routed: BTreeMap<u64, Vec<Keyed<'a>>> = BTreeMap::new();
        for ((mut pair, meta), tmeta) in pairs.into_iter().zip(metas).zip(tmetas.iter_mut()) {
            if !meta.exists {
                continue;
            }
            let Some((tdb, tname)) = self.destination(&pair, &meta)? else {
                continue;
            };
            if first {
                *self.keys.entry(pair.db).or_default() += 1;
                pair.fresh = self.seen.insert(pair.db, &pair.name);
                if let Source::File(_, dbs) = &mut self.source {
                    dbs.insert(pair.db);
                }
            }
            self.status.keys += 1;
            // Read under another name or database than guessed: read again.
            let tmeta = tmeta
                .take()
                .filter(|_| guess == Some(tdb) && tname == pair.name);
            routed
                .entry(tdb)
                .or_default()
                .push((pair, meta, tname, tmeta));
        }
        let mut found = Vec::new();
        for (tdb, keys) in routed {
            found.extend(self.compare_routed(db, tdb, keys).await?);
        }
        self.status.differing = self.differing() + found.len() as u64;
        Ok(found)
    }

    /// What the first round reads of a target key: its type but in mode `full`
    /// (the `DUMP` payload tells it); its time to live but in mode `keys`; its
    /// size in mode `full`.
    fn target_wanted(&self) -> Wanted {
        let mode = self.options().mode;
        Wanted {
            value_type: mode != VerifyMode::Full,
            pttl: mode != VerifyMode::Keys,
            size: mode == VerifyMode::Full,
        }
    }

    /// Compares source keys of database `db` that go to target database `tdb`.
    async fn compare_routed(
        &mut self,
        db: u64,
        tdb: u64,
        keys: Vec<Keyed<'a>>,
    ) -> Result<Vec<Suspect<'a>>> {
        let o = self.options();
        let keys_only = o.mode == VerifyMode::Keys;
        // The target's metadata not read with the source's.
        let unread: Vec<usize> = (0..keys.len()).filter(|&i| keys[i].3.is_none()).collect();
        let probes = unread.iter().map(|&i| &keys[i].2);
        let twanted = self.target_wanted();
        let read = meta(&mut self.target, tdb, probes, twanted).await?;
        let mut read = read.into_iter();
        let mut keys: Vec<(Pair<'a>, Meta, Bytes, Meta)> = keys
            .into_iter()
            .filter_map(|(p, m, n, t)| Some((p, m, n, t.or_else(|| read.next())?)))
            .collect();
        for (pair, _, _, tm) in &mut keys {
            if std::mem::take(&mut pair.fresh) && tm.exists {
                *self.on_target.entry(tdb).or_default() += 1;
            }
        }
        // Mode `keys`: the time to live of a source key missing on the target,
        // which may have expired there already.
        let unread: Vec<usize> = (0..keys.len())
            .filter(|&i| !keys[i].3.exists && keys[i].1.pttl.is_none())
            .collect();
        if let (false, Source::Live(side)) = (unread.is_empty(), &mut self.source) {
            let requests: Vec<Request> = unread
                .iter()
                .map(|&i| Request::new("PTTL", &keys[i].0.name, &[]))
                .collect();
            for (&i, r) in unread.iter().zip(side.query(db, &requests).await?) {
                keys[i].1.pttl = Some(r.as_integer().unwrap_or(-1));
            }
        }
        let mut found = Vec::new();
        // The keys whose values are compared, with a time-to-live difference
        // to report unless their types differ (mode `full` reads the types with
        // the values).
        let mut valued = Vec::new();
        for (pair, smeta, tname, tm) in keys {
            let diff =
                |kind, detail: String| Difference::key(pair.db, pair.name.clone(), kind, detail);
            let spttl = smeta.pttl.unwrap_or(-1);
            let types = smeta.value_type.zip(tm.value_type);
            let mut ttl = None;
            let d = if !tm.exists {
                // A key about to expire may be gone from the target already.
                (!(0..=o.ttl_tolerance_ms).contains(&spttl)).then(|| {
                    diff(
                        DifferenceKind::Missing,
                        format!("not on the target (db {tdb})"),
                    )
                })
            } else if let Some((s, t)) = types.filter(|(s, t)| s != t) {
                Some(diff(DifferenceKind::Type, type_detail(s, t)))
            } else if keys_only {
                None
            } else {
                ttl = self.ttl_diff(spttl, tm.pttl.unwrap_or(-1));
                match types {
                    Some(_) => ttl.take().map(|detail| diff(DifferenceKind::Ttl, detail)),
                    None => None,
                }
            };
            match d {
                Some(d) => found.push(Suspect::Key(Box::new(pair), d)),
                None if !keys_only && tm.exists => valued.push((pair, smeta, tname, tm, ttl)),
                None => {}
            }
        }
        if valued.is_empty() {
            return Ok(found);
        }
        let tprobes: Vec<(&Bytes, &Meta)> = valued.iter().map(|k| (&k.2, &k.3)).collect();
        let (sheld, theld) = match &mut self.source {
            Source::Live(side) => {
                let sprobes: Vec<(&Bytes, &Meta)> =
                    valued.iter().map(|k| (&k.0.name, &k.1)).collect();
                let (s, t) = tokio::join!(
                    held(side, db, &sprobes, o),
                    held(&mut self.target, tdb, &tprobes, o)
                );
                (s?, t?)
            }
            Source::File(..) => {
                let s = valued.iter().map(|k| held_file(&k.0, &k.1, o)).collect();
                (s, held(&mut self.target, tdb, &tprobes, o).await?)
            }
        };
        let full = o.mode == VerifyMode::Full;
        let mut large = Vec::new();
        for (((pair, _, tname, _, ttl), s), t) in valued.into_iter().zip(sheld).zip(theld) {
            let diff =
                |kind, detail: String| Difference::key(pair.db, pair.name.clone(), kind, detail);
            let d = match (s, t) {
                (Held::Gone, _) => Some(diff(
                    DifferenceKind::Value,
                    "source changed while read".to_owned(),
                )),
                (_, Held::Gone) => Some(diff(
                    DifferenceKind::Value,
                    "target changed while read".to_owned(),
                )),
                // Equal payloads: the same type and value.
                (Held::Payload(a), Held::Payload(b)) if a == b => {
                    ttl.map(|detail| diff(DifferenceKind::Ttl, detail))
                }
                (Held::Payload(a), Held::Payload(b)) => {
                    match self.compare_payloads(&pair, &a, &b, ttl) {
                        Whole::Equal => None,
                        Whole::Differ(kind, detail) => Some(diff(kind, detail)),
                        Whole::Large(value_type, len) => {
                            large.push((pair, value_type, tname, len));
                            continue;
                        }
                    }
                }
                (s, t) => {
                    let count = |h: Held, rdb: Option<&Key<'a>>| match h {
                        Held::Len(value_type, n) => Ok((value_type, n)),
                        Held::Payload(p) => payload_len(&p, rdb),
                        Held::Gone => Err(String::new()),
                    };
                    match (count(s, pair.rdb.as_deref()), count(t, None)) {
                        (Err(detail), _) | (_, Err(detail)) => {
                            Some(diff(DifferenceKind::Value, detail))
                        }
                        (Ok((st, _)), Ok((tt, _))) if st != tt => {
                            Some(diff(DifferenceKind::Type, type_detail(st, tt)))
                        }
                        (Ok(_), Ok(_)) if ttl.is_some() => {
                            ttl.map(|detail| diff(DifferenceKind::Ttl, detail))
                        }
                        (Ok((st, slen)), Ok((_, tlen))) if slen != tlen && st != Type::Module => {
                            let kind = if full {
                                DifferenceKind::Value
                            } else {
                                DifferenceKind::Length
                            };
                            Some(diff(kind, length_detail(st, slen, tlen)))
                        }
                        (Ok((st, slen)), Ok(_)) => {
                            if full {
                                large.push((pair, st, tname, slen.unwrap_or(0).max(0) as u64));
                            }
                            continue;
                        }
                    }
                }
            };
            if let Some(d) = d {
                found.push(Suspect::Key(Box::new(pair), d));
            }
        }
        for (pair, value_type, tname, len) in large {
            let compared = self
                .compare_large(db, tdb, &pair, value_type, &tname, len)
                .await?;
            if let Some(detail) = compared {
                let d = Difference::key(pair.db, pair.name.clone(), DifferenceKind::Value, detail);
                found.push(Suspect::Key(Box::new(pair), d));
            }
        }
        Ok(found)
    }

    /// A time-to-live difference, if beyond the tolerance and the grace.
    fn ttl_diff(&self, s: i64, t: i64) -> Option<String> {
        let o = self.options();
        let ms = |t: i64| {
            if t < 0 {
                "none".to_owned()
            } else {
                format!("{t} ms")
            }
        };
        let same = match (s >= 0, t >= 0) {
            (false, false) => true,
            (true, true) => {
                (s - t).abs() <= o.ttl_tolerance_ms
                    || o.expiry_grace
                        .is_some_and(|g| s < t && t <= g.as_millis() as i64 + o.ttl_tolerance_ms)
            }
            _ => false,
        };
        (!same).then(|| format!("{} on the source, {} on the target", ms(s), ms(t)))
    }

    /// Two small values whose payloads differ, decoded: their types, then the
    /// time-to-live difference `ttl` found before, then their contents;
    /// [`Whole::Large`] for more than [`PIECE`] elements on both sides, to be
    /// compared in pieces.
    fn compare_payloads(&self, pair: &Pair<'a>, a: &[u8], b: &[u8], ttl: Option<String>) -> Whole {
        let tolerance = self.options().ttl_tolerance_ms;
        let source_value = match &pair.rdb {
            Some(key) => Ok(key.value.clone()),
            None => parse_dump(a).map(|d| d.value),
        };
        let (kind, detail) = match (source_value, parse_dump(b)) {
            (Ok(s), Ok(t)) if s.value_type() != t.value.value_type() => (
                DifferenceKind::Type,
                type_detail(s.value_type(), t.value.value_type()),
            ),
            (Ok(_), Ok(_)) if ttl.is_some() => (DifferenceKind::Ttl, ttl.unwrap_or_default()),
            (Ok(Value::Module(_)), Ok(t)) => {
                let detail = module_detail(a, b, &t.value);
                let kind = if detail.starts_with("module payloads are written") {
                    DifferenceKind::NotComparable
                } else {
                    DifferenceKind::Value
                };
                (kind, detail)
            }
            (Ok(s), Ok(t)) => {
                let value_type = s.value_type();
                match (value_len(&s), value_len(&t.value)) {
                    (Some(x), Some(y)) if x != y => (
                        DifferenceKind::Value,
                        length_detail(value_type, Some(x), Some(y)),
                    ),
                    (Some(x), _) if x > PIECE as i64 && value_type != Type::String => {
                        return Whole::Large(value_type, x as u64);
                    }
                    _ => match (Canon::of(&s), Canon::of(&t.value)) {
                        (Ok(Some(s)), Ok(Some(t))) => match s.diff(&t, tolerance) {
                            Some(detail) => (DifferenceKind::Value, detail),
                            None => return Whole::Equal,
                        },
                        (Ok(None), _) | (_, Ok(None)) => (
                            DifferenceKind::NotComparable,
                            format!("{} values are not compared", value_type.as_str()),
                        ),
                        (Err(e), _) | (_, Err(e)) => (
                            DifferenceKind::Value,
                            format!("cannot decode the value: {e}"),
                        ),
                    },
                }
            }
            (Err(e), _) | (_, Err(e)) => (
                DifferenceKind::Value,
                format!("cannot decode the DUMP payload: {e}"),
            ),
        };
        Whole::Differ(kind, detail)
    }

    /// A large value in pieces: the source's pieces looked up on the target.
    async fn compare_large(
        &mut self,
        db: u64,
        tdb: u64,
        pair: &Pair<'a>,
        value_type: Type,
        tname: &Bytes,
        len: u64,
    ) -> Result<Option<String>> {
        let tolerance = self.options().ttl_tolerance_ms;
        let tat = At {
            db: tdb,
            key: tname,
        };
        let sat = At {
            db,
            key: &pair.name,
        };
        match (&mut self.source, &pair.rdb) {
            (Source::File(name, _), Some(key)) => {
                let corrupt = |error| Error::Rdb {
                    context: name.clone(),
                    error,
                };
                let Some(mut walk) = Walk::new(&key.value).map_err(corrupt)? else {
                    return Ok(Some(format!(
                        "{} values are not compared",
                        value_type.as_str()
                    )));
                };
                loop {
                    let piece = walk.next_piece().map_err(|error| Error::Rdb {
                        context: name.clone(),
                        error,
                    })?;
                    let Some(piece) = piece else { break };
                    if let Some(d) = check_piece(&mut self.target, &tat, &piece, tolerance).await? {
                        return Ok(Some(d));
                    }
                }
                if let Value::Stream(s) = &key.value {
                    let source = (
                        s.last_id,
                        groups_of(s).map_err(|error| Error::Rdb {
                            context: name.clone(),
                            error,
                        })?,
                    );
                    return Ok(match live_stream_meta(&mut self.target, &tat).await? {
                        Ok(target) => stream_meta_diff(&source, &target),
                        Err(d) => Some(d),
                    });
                }
                Ok(None)
            }
            (Source::Live(side), _) => {
                let Some(mut walk) = LiveWalk::new(value_type.as_str(), len) else {
                    return Ok(Some(format!(
                        "{} values are not compared",
                        value_type.as_str()
                    )));
                };
                loop {
                    let piece = match walk.next_piece(side, &sat).await? {
                        Ok(Some(p)) => p,
                        Ok(None) => break,
                        Err(d) => return Ok(Some(d)),
                    };
                    if matches!(&piece, Piece::Bytes { bytes, .. } if bytes.is_empty()) {
                        break;
                    }
                    if let Some(d) = check_piece(&mut self.target, &tat, &piece, tolerance).await? {
                        return Ok(Some(d));
                    }
                }
                if value_type == Type::Stream {
                    let source = match live_stream_meta(side, &sat).await? {
                        Ok(s) => s,
                        Err(d) => return Ok(Some(d)),
                    };
                    return Ok(match live_stream_meta(&mut self.target, &tat).await? {
                        Ok(target) => stream_meta_diff(&source, &target),
                        Err(d) => Some(d),
                    });
                }
                Ok(None)
            }
            (Source::File(..), None) => Ok(None),
        }
    }

    /// Target keys with no source key in scope: every target key whose inverse
    /// (through the database map and the filter) is in scope, in the target
    /// databases whose key counts do not rule them out (see
    /// [`VerifyOptions::always_scan_target`]). Each `SCAN` step is taken (on
    /// connections of its own) while the keys of the step before are looked up.
    async fn reverse(&mut self) -> Result<()> {
        let batch = self.options().batch;
        let counted = self.counted_databases().await?;
        let nodes = self.target.node_count();
        let mut work = Vec::new();
        for i in 0..nodes {
            for db in self.target.databases(i).await? {
                if !counted.contains(&db) {
                    work.push((i, db));
                }
            }
        }
        let mut scanner = self.target.scanner().await?;
        for (i, db) in work {
            let mut step = scanner.scan(i, db, b"0", batch).await?;
            loop {
                let (next, keys) = step;
                let ahead = async {
                    match next.as_slice() {
                        b"0" => Ok(None),
                        cursor => scanner.scan(i, db, cursor, batch).await.map(Some),
                    }
                };
                let (ahead, found) = tokio::join!(ahead, self.extras(db, keys));
                self.keep(found?);
                self.publish();
                match ahead? {
                    Some(s) => step = s,
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// The target's key counts by database, summed over its nodes (`None`: a
    /// proxy).
    async fn target_counts(&mut self) -> Result<Option<BTreeMap<u64, u64>>> {
        let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
        for i in 0..self.target.node_count() {
            let Some(node) = self.target.key_counts(i).await? else {
                return Ok(None);
            };
            for (db, n) in node {
                *counts.entry(db).or_default() += n;
            }
        }
        Ok(Some(counts))
    }

    /// Reads the target's key counts before the first pass, when the extra-key
    /// search may use them.
    async fn count_before(&mut self) -> Result<()> {
        let o = self.options();
        if o.hooks.is_empty() && !o.always_scan_target {
            self.counts_before = self.target_counts().await?;
        }
        Ok(())
    }

    /// The target databases that cannot hold an extra key: each holds as many
    /// keys as source keys compared were found in it, and held as many before
    /// the first pass. Every key of such a database is one of those compared.
    async fn counted_databases(&mut self) -> Result<BTreeSet<u64>> {
        let Some(before) = self.counts_before.take() else {
            return Ok(BTreeSet::new());
        };
        // Two source databases into one target database count its keys twice.
        if let Some(map) = self.options().db_map.clone() {
            let mut targets = BTreeSet::new();
            for sdb in self.source_databases().await? {
                if map.target(sdb).is_some_and(|tdb| !targets.insert(tdb)) {
                    return Ok(BTreeSet::new());
                }
            }
        }
        let Some(after) = self.target_counts().await? else {
            return Ok(BTreeSet::new());
        };
        let counted: BTreeSet<u64> = after
            .into_iter()
            .filter(|(db, n)| before.get(db) == Some(n) && self.on_target.get(db) == Some(n))
            .map(|(db, _)| db)
            .collect();
        if !counted.is_empty() {
            tracing::debug!(
                databases = ?counted,
                "target databases holding only compared keys: not scanned for extra keys"
            );
        }
        Ok(counted)
    }

    /// Whether a key is a sync's own (see [`is_sync_key`]).
    fn is_sync_key(&self, key: &[u8]) -> bool {
        is_sync_key(&self.options().checkpoint_name, key)
    }

    /// The extra keys among target keys `names` of target database `tdb`.
    ///
    /// A target key whose source key was compared is not extra; the source is
    /// asked about the others (a live one: it may have them since). Without a
    /// filter a target key's scope does not depend on its type: the target's
    /// metadata is read only for the keys the source lacks. With one, the
    /// target's types come first.
    async fn extras(&mut self, tdb: u64, names: Vec<Bytes>) -> Result<Vec<Suspect<'a>>> {
        let o = self.options();
        let names: Vec<Bytes> = names.into_iter().filter(|k| !self.is_sync_key(k)).collect();
        let wanted = Wanted {
            value_type: true,
            pttl: true,
            size: false,
        };
        let by_type = o.filter.is_some();
        let mut tmeta: Vec<Option<Meta>> = if by_type {
            let probes = names.iter();
            meta(&mut self.target, tdb, probes, wanted)
                .await?
                .into_iter()
                .map(Some)
                .collect()
        } else {
            vec![None; names.len()]
        };
        // The source databases whose keys would land here.
        let source_dbs: Vec<u64> = self
            .source_databases()
            .await?
            .into_iter()
            .filter(|&sdb| o.db_map.as_ref().map_or(Some(sdb), |map| map.target(sdb)) == Some(tdb))
            .collect();
        // Candidates: (index, source db) whose key would land here.
        let mut candidates: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, (name, m)) in names.iter().zip(&tmeta).enumerate() {
            if m.as_ref().is_some_and(|m| !m.exists) {
                continue;
            }
            for &sdb in &source_dbs {
                let allowed = |m: &Meta| {
                    o.filter.as_ref().is_none_or(|f| {
                        f.allows_key(sdb, name, m.value_type.unwrap_or(Type::String))
                    })
                };
                if m.as_ref().is_none_or(allowed) {
                    candidates.entry(sdb).or_default().push(i);
                }
            }
        }
        let mut in_scope = vec![false; names.len()];
        let mut present = vec![false; names.len()];
        for (sdb, mut indexes) in candidates {
            for &i in &indexes {
                in_scope[i] = true;
                present[i] |= self.seen.contains(sdb, &names[i]);
            }
            indexes.retain(|&i| !present[i]);
            match &mut self.source {
                Source::Live(_) if indexes.is_empty() => {}
                Source::Live(side) => {
                    let requests: Vec<Request> = indexes
                        .iter()
                        .map(|&i| Request::new("EXISTS", &names[i], &[]))
                        .collect();
                    let replies = side.query(sdb, &requests).await?;
                    for (&i, r) in indexes.iter().zip(replies) {
                        present[i] |= r.as_integer() == Some(1);
                    }
                }
                // Every key of the file in scope was compared.
                Source::File(..) => {}
            }
        }
        if !by_type {
            let absent: Vec<usize> = (0..names.len())
                .filter(|&i| in_scope[i] && !present[i])
                .collect();
            let probes = absent.iter().map(|&i| &names[i]);
            let read = meta(&mut self.target, tdb, probes, wanted).await?;
            for (&i, m) in absent.iter().zip(read) {
                // Gone from the target too: nothing to compare.
                in_scope[i] = m.exists;
                tmeta[i] = Some(m);
            }
        }
        let grace = o.expiry_grace.map_or(0, |g| g.as_millis() as i64) + o.ttl_tolerance_ms;
        let mut found = Vec::new();
        for (i, (name, m)) in names.into_iter().zip(tmeta).enumerate() {
            if !in_scope[i] {
                continue;
            }
            self.status.keys += 1;
            let Some(m) = m.filter(|_| !present[i]) else {
                continue;
            };
            // Expired on the source, kept by the sync for its grace.
            if (0..=grace).contains(&m.pttl.unwrap_or(-1)) {
                continue;
            }
            let d = Difference::key(
                tdb,
                name.clone(),
                DifferenceKind::Extra,
                format!(
                    "a {} only on the target",
                    m.value_type.map_or("key", Type::as_str)
                ),
            );
            found.push(Suspect::Extra(tdb, name, d));
        }
        Ok(found)
    }

    /// The source's databases: of a live source (`CONFIG GET databases`, read
    /// once), or those the file's keys in scope are in.
    async fn source_databases(&mut self) -> Result<Vec<u64>> {
        Ok(match &mut self.source {
            Source::Live(side) => {
                let count = match self.source_dbs {
                    Some(n) => n,
                    None => *self.source_dbs.insert(side.database_count().await?),
                };
                (0..count).collect()
            }
            Source::File(_, dbs) => dbs.iter().copied().collect(),
        })
    }

    /// The function libraries: the source's against every target master's.
    async fn compare_libraries(&mut self) -> Result<Vec<Suspect<'a>>> {
        let source = match &mut self.source {
            Source::Live(side) => live_libraries(side, 0).await?,
            Source::File(..) => self.libraries.clone().unwrap_or_default(),
        };
        let mut found = Vec::new();
        for i in 0..self.target.node_count() {
            let target = live_libraries(&mut self.target, i).await?;
            let node = self.target.node_name(i);
            let lib = |name: &String, kind, detail: String| {
                Suspect::Library(Difference {
                    subject: Subject::Library(name.clone()),
                    kind,
                    detail,
                })
            };
            for (name, code) in &source {
                match target.get(name) {
                    None => {
                        found.push(lib(name, DifferenceKind::Missing, format!("not on {node}")))
                    }
                    Some(c) if c != code => found.push(lib(
                        name,
                        DifferenceKind::Value,
                        format!("other code on {node}"),
                    )),
                    _ => {}
                }
            }
            for name in target.keys().filter(|n| !source.contains_key(*n)) {
                found.push(lib(name, DifferenceKind::Extra, format!("only on {node}")));
            }
            if !found.is_empty() {
                break;
            }
        }
        Ok(found)
    }
}

/// Whether a key is a sync's own, on either side (a cascade's or a two-way
/// sync's source holds another sync's): a checkpoint (named `checkpoints`, then
/// `:`) or a temporary key of a value written in pieces.
fn is_sync_key(checkpoints: &str, key: &[u8]) -> bool {
    let name = checkpoints.as_bytes();
    (key.starts_with(name) && key.get(name.len()) == Some(&b':'))
        || key.windows(16).any(|w| w == b":key-writer-tmp:")
}

/// `TYPE`, `PTTL` and `MEMORY USAGE` of `keys` in database `db` of `side`, as
/// `wanted` says, in one pipeline.
///
/// # Errors
/// Connection errors; [`Error::Key`] when `TYPE` or `PTTL` is refused.
async fn meta<'k>(
    side: &mut Side,
    db: u64,
    keys: impl Iterator<Item = &'k Bytes>,
    wanted: Wanted,
) -> Result<Vec<Meta>> {
    let step = usize::from(wanted.value_type) + usize::from(wanted.pttl) + usize::from(wanted.size);
    let mut requests = Vec::new();
    for k in keys {
        if wanted.value_type {
            requests.push(Request::new("TYPE", k, &[]));
        }
        if wanted.pttl {
            requests.push(Request::new("PTTL", k, &[]));
        }
        if wanted.size {
            requests.push(Request {
                key: k.clone(),
                args: vec![
                    Bytes::from_static(b"MEMORY"),
                    Bytes::from_static(b"USAGE"),
                    k.clone(),
                ],
            });
        }
    }
    if step == 0 {
        return Ok(Vec::new());
    }
    let replies = side.query(db, &requests).await?;
    let mut out = Vec::with_capacity(replies.len() / step);
    for (r, req) in replies.chunks(step).zip(requests.chunks(step)) {
        if let Some((r, req)) = r.iter().zip(req).find(|(r, _)| r.is_error()) {
            // `MEMORY USAGE` may be refused (a proxy): the value is read in pieces.
            if req.args[0].as_ref() != b"MEMORY" {
                let at = At { db, key: &req.key };
                let command = String::from_utf8_lossy(&req.args[0]).into_owned();
                return Err(at.error(side, format!("{command}: {}", text(r))));
            }
        }
        let mut r = r.iter();
        let value_type = wanted.value_type.then(|| r.next().and_then(type_of));
        let pttl = wanted
            .pttl
            .then(|| r.next().and_then(Frame::as_integer).unwrap_or(-1));
        let size = wanted
            .size
            .then(|| r.next())
            .flatten()
            .and_then(Frame::as_integer);
        // Absent, or gone between the replies.
        let exists = value_type.is_none_or(|t| t.is_some()) && pttl != Some(-2);
        out.push(Meta {
            exists,
            value_type: value_type.flatten().filter(|_| exists),
            pttl,
            size,
        });
    }
    Ok(out)
}

/// The source keys' metadata: live, one pipeline; from a file, the file's.
///
/// # Errors
/// Connection errors; [`Error::Key`] when `TYPE` or `PTTL` is refused.
async fn source_meta(
    source: &mut Source,
    db: u64,
    pairs: &[Pair<'_>],
    wanted: Wanted,
) -> Result<Vec<Meta>> {
    match source {
        Source::Live(side) => meta(side, db, pairs.iter().map(|p| &p.name), wanted).await,
        Source::File(..) => {
            let now = now_ms();
            Ok(pairs
                .iter()
                .map(|p| {
                    let key = p.rdb.as_ref().expect("file keys carry their value");
                    Meta {
                        exists: true,
                        value_type: Some(key.value.value_type()),
                        pttl: Some(key.expire_ms.map_or(-1, |at| (at - now).max(0))),
                        size: Some(key.raw_value.len() as i64),
                    }
                })
                .collect())
        }
    }
}

/// The command that gives the length of a value of type `value_type`;
/// `DUMP` for a module value (compared whole).
fn length_request(value_type: Type, key: &Bytes) -> Request {
    let name = match value_type {
        Type::String => "STRLEN",
        Type::List => "LLEN",
        Type::Set => "SCARD",
        Type::SortedSet => "ZCARD",
        Type::Hash => "HLEN",
        Type::Stream => "XLEN",
        _ => "DUMP",
    };
    Request::new(name, key, &[])
}

/// Whether a value is read whole (`DUMP`): in mode `full`, when of at most
/// `small_bytes` (as `MEMORY USAGE` estimates it), and module values.
fn is_whole(m: &Meta, o: &VerifyOptions) -> bool {
    o.mode == VerifyMode::Full
        && (m.value_type == Some(Type::Module) || m.size.is_some_and(|s| s as u64 <= o.small_bytes))
}

/// A `DUMP` reply: the payload, or the key gone since.
///
/// # Errors
/// [`Error::Key`] when `DUMP` is refused for want of permission.
fn dumped(side: &Side, db: u64, key: &Bytes, reply: Frame) -> Result<Held> {
    match reply {
        Frame::BulkString(payload) => Ok(Held::Payload(payload)),
        r if r.is_error() && text(&r).starts_with("NOPERM") => {
            let at = At { db, key };
            Err(at.error(side, format!("DUMP: {}", text(&r))))
        }
        _ => Ok(Held::Gone),
    }
}

/// The second round on a live side: the `DUMP` payloads of the values read
/// whole ([`is_whole`]), the types and lengths of the others (their types
/// first when not read yet: mode `full`; a module value is read whole then).
///
/// # Errors
/// Connection errors; [`Error::Key`] when `DUMP` or `TYPE` is refused.
async fn held(
    side: &mut Side,
    db: u64,
    keys: &[(&Bytes, &Meta)],
    o: &VerifyOptions,
) -> Result<Vec<Held>> {
    let requests: Vec<Request> = keys
        .iter()
        .map(|(name, m)| match (is_whole(m, o), m.value_type) {
            (true, _) => Request::new("DUMP", name, &[]),
            (false, Some(t)) => length_request(t, name),
            (false, None) => Request::new("TYPE", name, &[]),
        })
        .collect();
    let replies = side.query(db, &requests).await?;
    let mut out = Vec::with_capacity(replies.len());
    // The keys whose types came in this pipeline.
    let mut typed = Vec::new();
    for (i, ((name, m), r)) in keys.iter().zip(replies).enumerate() {
        let held = match (is_whole(m, o), m.value_type) {
            (true, _) => dumped(side, db, name, r)?,
            (false, Some(t)) => Held::Len(t, r.as_integer()),
            (false, None) if r.is_error() => {
                let at = At { db, key: name };
                return Err(at.error(side, format!("TYPE: {}", text(&r))));
            }
            (false, None) => match type_of(&r) {
                Some(t) => {
                    typed.push(i);
                    Held::Len(t, None)
                }
                None => Held::Gone,
            },
        };
        out.push(held);
    }
    if typed.is_empty() {
        return Ok(out);
    }
    let requests: Vec<Request> = typed
        .iter()
        .map(|&i| match out[i] {
            Held::Len(t, _) => length_request(t, keys[i].0),
            _ => unreachable!("typed keys hold a type"),
        })
        .collect();
    let replies = side.query(db, &requests).await?;
    for (&i, r) in typed.iter().zip(replies) {
        out[i] = match out[i] {
            Held::Len(Type::Module, _) => dumped(side, db, keys[i].0, r)?,
            Held::Len(t, _) => Held::Len(t, r.as_integer()),
            _ => unreachable!("typed keys hold a type"),
        };
    }
    Ok(out)
}

/// What an RDB file gives of a key for the second round.
fn held_file(pair: &Pair<'_>, m: &Meta, o: &VerifyOptions) -> Held {
    let key = pair.rdb.as_ref().expect("file keys carry their value");
    if is_whole(m, o) {
        Held::Payload(Bytes::from(key.dump_payload()))
    } else {
        Held::Len(key.value.value_type(), value_len(&key.value))
    }
}

/// The type and number of elements of a value held as a payload (`rdb`: as the
/// file holds it); `Err(detail)` when it cannot be decoded.
fn payload_len(
    payload: &[u8],
    rdb: Option<&Key<'_>>,
) -> std::result::Result<(Type, Option<i64>), String> {
    let value = match rdb {
        Some(key) => key.value.clone(),
        None => parse_dump(payload)
            .map(|d| d.value)
            .map_err(|e| format!("cannot decode the DUMP payload: {e}"))?,
    };
    match value_len(&value) {
        Some(n) => Ok((value.value_type(), Some(n))),
        None => Err("cannot decode the value".to_owned()),
    }
}

/// The number of elements of a value (bytes of a string; 1 for a module
/// value); `None` when it cannot be decoded.
fn value_len(value: &Value<'_>) -> Option<i64> {
    match value {
        Value::String(s) => Some(s.len() as i64),
        Value::Stream(s) => Some(s.length as i64),
        Value::Module(_) | Value::Array(_) => Some(1),
        v => v.validate().ok().map(|n| n as i64),
    }
}

/// A length difference for a person: bytes of strings, elements of the others.
fn length_detail(value_type: Type, source: Option<i64>, target: Option<i64>) -> String {
    let show = |n: Option<i64>| n.map_or("?".to_owned(), |n| n.to_string());
    let what = if value_type == Type::String {
        "bytes"
    } else {
        "elements"
    };
    format!(
        "{} {what} on the source, {} on the target",
        show(source),
        show(target)
    )
}

/// The libraries of node `i` (`FUNCTION LIST WITHCODE`): name to code; none on a
/// server without functions.
async fn live_libraries(side: &mut Side, i: usize) -> Result<BTreeMap<String, Vec<u8>>> {
    let reply = side
        .node_query(i, 0, &["FUNCTION", "LIST", "WITHCODE"])
        .await?;
    let mut out = BTreeMap::new();
    for lib in reply.as_elements().unwrap_or_default() {
        let fields: Vec<&Frame> = match lib {
            Frame::Map(m) => m.iter().flat_map(|(k, v)| [k, v]).collect(),
            f => f.as_elements().unwrap_or_default().iter().collect(),
        };
        let get = |name: &str| {
            fields
                .chunks(2)
                .find(|p| p[0].as_bytes().is_some_and(|b| b == name.as_bytes()))
                .and_then(|p| p.get(1))
                .and_then(|v| v.as_bytes())
        };
        if let (Some(name), Some(code)) = (get("library_name"), get("library_code")) {
            out.insert(String::from_utf8_lossy(name).into_owned(), code.to_vec());
        }
    }
    Ok(out)
}

/// Why two module values differ, or cannot be compared.
fn module_detail(a: &[u8], b: &[u8], target: &Value<'_>) -> String {
    let footer = |p: &[u8]| {
        let n = p.len();
        (n >= 10).then(|| u16::from_le_bytes([p[n - 10], p[n - 9]]))
    };
    if footer(a) != footer(b) {
        return format!(
            "module payloads are written in different formats (RDB {:?} and {:?})",
            footer(a),
            footer(b)
        );
    }
    match target {
        Value::Module(m) => format!("module {} payloads differ", m.name()),
        _ => "the target holds no module value".into(),
    }
}
