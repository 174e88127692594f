//! The writer: turns keys, values in pieces and commands into requests, after the
//! hooks have judged them, and hands them to the pipeline; keeps the offset of the
//! source that its writes have made durable.

use bytes::Bytes;
use endpoint::{Connection, Endpoint, Flavor, ServerInfo};
use rdb_parser::{Dialect, Event, Function, Item, Key, VALKEY_VERSION, Value, ValueStart};
use resp_codec::DbCommand;

use crate::build::Build;
use crate::checkpoint::{Checkpoint, CheckpointOptions};
use crate::command::{Kind, b, key_indexes, slots_if_split, spec, split_by_slot};
use crate::error::{Error, Result, shown};
use crate::expiry::{Expiry, now_ms};
use crate::hook::{CommandEdit, Hook, KeyEdit, Verdict};
use crate::layout::Layout;
use crate::op::{Expect, Op, Pos};
use crate::options::{DatabaseCommands, ExistingKeys, Stats, TargetMode, WriterOptions};
use crate::peer::{Peer, keys_of};
use crate::pieces::InPieces;
use crate::pipeline::Pipeline;
use crate::render::{ELEMENTS_PER_COMMAND, field_expiries, render};
use crate::retry::{Retry, Retrying};
use crate::scope::Scope;
use crate::transaction::{Held, Transaction};

/// What a lossy option makes of a command ([`Writer::lossy`]).
enum Lossy {
    Keep,
    Drop,
    Rewrite(Vec<Bytes>),
}

/// Writes keys and commands into one target deployment.
///
/// ```no_run
/// # async fn run(file: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// use key_writer::{Writer, WriterOptions};
/// use rdb_parser::Rdb;
///
/// let target: endpoint::Endpoint = "redis://127.0.0.1:7000".parse()?;
/// let mut writer = Writer::connect(&target, WriterOptions::default()).await?;
/// for item in Rdb::new(file)?.items() {
///     writer.write_item(&item?).await?;
/// }
/// writer.flush().await?;
/// println!("{:?}", writer.stats());
/// # Ok(()) }
/// ```
pub struct Writer {
    options: WriterOptions,
    info: ServerInfo,
    pipeline: Pipeline,
    expiry: Expiry,
    /// The writer's own counts; [`Writer::stats`] adds what the replies said.
    stats: Stats,
    /// A `MULTI` whose `EXEC` has not arrived.
    transaction: Option<Transaction>,
    /// A value being written in pieces.
    in_pieces: Option<InPieces>,
    /// The source position that everything written so far brings the target to.
    written: Option<Pos>,
    /// The replication id of the stream being written, once told.
    stream: Option<String>,
    /// A two-way sync's peer, whose returning writes are dropped.
    peer: Option<Peer>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("target", self.pipeline.layout().seed())
            .field("cluster", &self.is_cluster())
            .field("nodes", &self.pipeline.layout().nodes().len())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The server flavour whose RDB dialect this is.
fn written_by(dialect: Dialect) -> Flavor {
    match dialect {
        Dialect::Valkey => Flavor::Valkey,
        _ => Flavor::Redis,
    }
}

impl Writer {
    /// As [`Writer::connect`], but a target that cannot be reached yet is tried
    /// again for [`WriterOptions::retry_for`], as one in trouble later is (a job
    /// started before its target is up); `retrying` hears of each failed
    /// attempt, and of the end of the trouble (`None`). Wrong credentials and the
    /// target's refusals fail at once.
    ///
    /// # Errors
    /// As [`Writer::connect`]; [`Error::GaveUp`] once the target stayed out of
    /// reach for the retry time.
    pub async fn connect_retrying(
        target: &Endpoint,
        options: WriterOptions,
        mut retrying: impl FnMut(Option<&Retrying>),
    ) -> Result<Writer> {
        let mut retry = Retry::new(options.retry_for);
        loop {
            match Writer::connect(target, options.clone()).await {
                Ok(writer) => {
                    if retry.state().is_some() {
                        retrying(None);
                    }
                    return Ok(writer);
                }
                // Credentials do not mend with time.
                Err(
                    e @ Error::Connection {
                        source: endpoint::Error::AuthFailed { .. },
                        ..
                    },
                ) => return Err(e),
                Err(e @ Error::Connection { .. }) => {
                    let pause = retry.record(e.to_string())?;
                    retrying(retry.state().as_ref());
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Connects to the target, reads its version and limits, and (unless
    /// [`TargetMode::Proxy`]) its cluster layout.
    ///
    /// # Errors
    /// When the target cannot be reached or its layout read.
    pub async fn connect(target: &Endpoint, mut options: WriterOptions) -> Result<Writer> {
        let mut con = Connection::connect(target, &options.connect)
            .await
            .map_err(|e| Error::connection(target, e))?;
        let info = con
            .server_info()
            .await
            .map_err(|e| Error::connection(target, e))?;
        let cluster = info.cluster_enabled && options.mode == TargetMode::Auto;
        // Proxies rarely pass MULTI/EXEC through.
        if options.mode == TargetMode::Proxy && options.checkpoint.take().is_some() {
            tracing::warn!(
                target = %target.addr(),
                "checkpoints are not kept through a proxy; this target gets none"
            );
        }
        if cluster
            && let Some(reason) = options
                .checkpoint
                .as_ref()
                .and_then(CheckpointOptions::unfit_for_cluster)
        {
            return Err(Error::Refused {
                command: "checkpoints".into(),
                reason,
            });
        }
        let (layout, con) = if cluster {
            let layout = Layout::cluster(target, &options.connect, options.retry_for).await?;
            (layout, None)
        } else {
            (Layout::single(target), Some(con))
        };
        let pipeline = Pipeline::new(layout, con, &options);
        tracing::info!(target = %target, cluster, version = ?info.version, "writer connected");
        Ok(Writer {
            expiry: Expiry {
                grace: options.expiry_grace,
            },
            peer: options.peer.as_ref().map(Peer::new),
            options,
            info,
            pipeline,
            stats: Stats::default(),
            transaction: None,
            in_pieces: None,
            written: None,
            stream: None,
        })
    }

    /// The target's version, flavour and limits, as read at connect.
    pub fn target(&self) -> &ServerInfo {
        &self.info
    }

    /// Whether the target is a cluster.
    pub fn is_cluster(&self) -> bool {
        self.pipeline.layout().is_cluster()
    }

    /// What the writer is retrying now (nodes unreachable, requests refused for
    /// now), and since when; `None` while the target answers.
    pub fn retrying(&self) -> Option<crate::Retrying> {
        self.pipeline.retrying()
    }

    /// Follows [`Writer::retrying`] from another task: the writer's own task is
    /// busy retrying, so a status line must be told from outside.
    pub fn watch_retrying(&self) -> tokio::sync::watch::Receiver<Option<crate::Retrying>> {
        self.pipeline.watch_retrying()
    }

    /// Sets [`WriterOptions::expiry_grace`] from here on, e.g. while replaying an
    /// AOF: a server loading one never deletes a key for an expiry that has passed,
    /// since a later command in the file may extend it.
    pub fn set_expiry_grace(&mut self, grace: Option<std::time::Duration>) {
        self.expiry.grace = grace;
    }

    /// What was written so far (requests whose replies are not read yet count as
    /// written).
    pub fn stats(&self) -> Stats {
        let c = self.pipeline.counters();
        let mut s = self.stats.clone();
        s.keys_restored = s.keys_restored.saturating_sub(c.restores_existing);
        s.keys_as_commands = s
            .keys_as_commands
            .saturating_sub(c.renames_existing + c.expired_while_built);
        s.keys_expired += c.expired_while_built;
        s.keys_existing = c.restores_existing + c.renames_existing;
        s.bytes = c.bytes;
        s.redirections = c.redirections;
        s.retries = c.retries;
        s.already_applied = c.already_applied;
        s
    }

    /// Records that what was written so far brings the target to source offset
    /// `offset` (the end of a full resync's RDB, say); [`Writer::flush`] returns it
    /// once it is durable, and writes it to every master's checkpoint. Commands
    /// carry their own offsets.
    pub fn mark(&mut self, offset: u64) {
        let pos = Pos { offset, db: 0 };
        self.written = Some(pos);
        if let Some(replid) = &self.stream {
            let checkpoint = Checkpoint::new(replid.clone(), pos.offset, pos.db);
            self.pipeline.checkpoint_masters(&checkpoint, false);
        }
    }

    /// Reads the checkpoints of [`WriterOptions::checkpoint`] on the target: on a
    /// standalone target the one it holds, on a cluster the floor (`None` where
    /// there is none; empty without checkpoints). From here on the stream commands
    /// the target holds are skipped (on a cluster, slot by slot, as each slot's
    /// checkpoint says), so a stream resumed from the lowest of them applies
    /// nothing twice.
    ///
    /// # Errors
    /// When a master cannot be reached.
    pub async fn read_checkpoints(&mut self) -> Result<Vec<Option<Checkpoint>>> {
        self.pipeline.read_checkpoints().await
    }

    /// A full resync of the stream `replid` starts at `offset`: a transaction the
    /// old stream left open is dropped, and with checkpoints every master is marked
    /// as loading (an RDB cut short is then known for what it is) before any of
    /// the RDB is written.
    ///
    /// # Errors
    /// When the masters cannot be written.
    pub async fn begin_full_resync(&mut self, replid: &str, offset: u64) -> Result<()> {
        self.discard_transaction();
        self.pipeline.forget_slot_checkpoints().await?;
        self.pipeline.begin_stream(replid, true);
        self.stream = Some(replid.to_owned());
        self.written = None;
        let mut checkpoint = Checkpoint::new(replid, offset, 0);
        checkpoint.loading = true;
        self.pipeline.checkpoint_masters(&checkpoint, false);
        self.pipeline.flush().await
    }

    /// Empties the whole target: `FLUSHALL` on every master (checkpoints
    /// included), before a new full resync that must not leave stale keys.
    ///
    /// # Errors
    /// When a master refuses or cannot be reached.
    pub async fn flush_all(&mut self) -> Result<()> {
        self.pipeline.flush().await?;
        self.pipeline
            .on_every_master(None, Op::new(vec![b("FLUSHALL")], None, Expect::Ok))
            .await
    }

    /// Deletes the keys this writer's stream covers on the target (see
    /// [`Writer::covers`]), on every master, before a new full resync onto a
    /// target others write to as well: the keys the new snapshot lacks must not
    /// survive, and the others' keys must. `slots` are the source shard's (a
    /// cluster source), `None` for all. Returns how many keys were deleted.
    ///
    /// # Errors
    /// [`Error::Refused`] when a hook cannot be followed back (it renames keys);
    /// a master that cannot be reached or refuses.
    pub async fn delete_in_scope(&mut self, slots: Option<&[(u16, u16)]>) -> Result<u64> {
        self.pipeline.flush().await?;
        let scope = self.scope(slots);
        let cluster = self.is_cluster();
        let mut deleted = 0;
        for index in self.pipeline.layout().masters() {
            let node = self.pipeline.layout().nodes()[index].clone();
            deleted += scope.delete(&node, &self.options.connect, cluster).await?;
        }
        tracing::warn!(
            deleted,
            "keys in the stream's scope deleted before a new full resync"
        );
        Ok(deleted)
    }

    /// Whether target key `name` of `value_type` in database `db` can come from
    /// this writer's stream (a source key the hooks make into it, in `slots`);
    /// `None` when a hook cannot be followed back. The checkpoint and temporary
    /// keys are never covered.
    pub fn covers(
        &self,
        slots: Option<&[(u16, u16)]>,
        db: u64,
        name: &Bytes,
        value_type: rdb_parser::Type,
    ) -> Option<bool> {
        self.scope(slots).covers(db, name, value_type)
    }

    /// The keys this writer's stream covers, in `slots` (all with `None`).
    fn scope<'a>(&'a self, slots: Option<&'a [(u16, u16)]>) -> Scope<'a> {
        Scope {
            hooks: &self.options.hooks,
            slots,
            own: self.options.checkpoint.as_ref().map(|c| c.name.as_str()),
        }
    }

    /// Removes the checkpoint keys named `name` (see [`CheckpointOptions`]) from
    /// every master, after a cutover; returns how many there were.
    ///
    /// [`CheckpointOptions`]: crate::CheckpointOptions
    ///
    /// # Errors
    /// When a master cannot be reached or refuses.
    pub async fn remove_checkpoints(&mut self, name: &str) -> Result<u64> {
        self.pipeline.flush().await?;
        let pattern = format!("{}:*", glob_escaped(name));
        let mut removed = 0;
        for index in self.pipeline.layout().masters() {
            let node = self.pipeline.layout().nodes()[index].clone();
            let failed = |e| Error::connection(&node, e);
            let mut con = Connection::connect(&node, &self.options.connect)
                .await
                .map_err(failed)?;
            if !self.is_cluster() {
                con.request(&["SELECT", "0"]).await.map_err(failed)?;
            }
            let mut cursor = b"0".to_vec();
            loop {
                let (next, keys) = con
                    .scan(&cursor, Some(pattern.as_bytes()), 1000)
                    .await
                    .map_err(failed)?;
                for key in keys {
                    con.request(&[&b"DEL"[..], &key]).await.map_err(failed)?;
                    removed += 1;
                }
                if next == b"0" {
                    break;
                }
                cursor = next;
            }
        }
        Ok(removed)
    }

    /// The stream continues under `replid` (a partial resync; the id changes after
    /// a failover of the source, the offsets go on).
    pub fn continue_stream(&mut self, replid: &str) {
        self.pipeline.begin_stream(replid, false);
        self.stream = Some(replid.to_owned());
    }

    /// Drops the commands of a transaction whose `EXEC` will never come (the stream
    /// it came from was replaced by a full resync); returns how many there were.
    pub fn discard_transaction(&mut self) -> Option<usize> {
        let dropped = self.transaction.take().map(|t| t.held.len());
        if let Some(n) = dropped {
            tracing::warn!(
                commands = n,
                "a transaction left open by the source stream was dropped"
            );
        }
        dropped
    }

    /// Sends everything queued and reads every reply, following redirections and
    /// retrying what can be retried. Returns the source offset now durable on the
    /// target: that of the last command written (or of [`Writer::mark`]), but never
    /// beyond a transaction still open (its commands wait for `EXEC`). Acknowledge
    /// that offset to the source, not one taken before the flush.
    ///
    /// # Errors
    /// The first error reply that is not a redirection or retryable (naming its key
    /// and command), or a node that stays unreachable for
    /// [`WriterOptions::retry_for`].
    pub async fn flush(&mut self) -> Result<Option<u64>> {
        let written = self.written;
        if let (Some(pos), Some(replid)) = (written, &self.stream) {
            // Masters that saw no command for a while catch up with the stream.
            let checkpoint = Checkpoint::new(replid.clone(), pos.offset, pos.db);
            self.pipeline.checkpoint_masters(&checkpoint, true);
        }
        self.pipeline.flush().await?;
        Ok(written.map(|p| p.offset))
    }

    /// Writes one item of an RDB: a key ([`Writer::write_key`]) or a function library
    /// ([`Writer::write_function`]); the other items (aux fields, database changes,
    /// size hints) write nothing.
    ///
    /// # Errors
    /// As [`Writer::write_key`] and [`Writer::write_function`];
    /// [`Error::Unsupported`] for a function of a Redis 7.0 release candidate.
    pub async fn write_item(&mut self, item: &Item<'_>) -> Result<()> {
        match item {
            Item::Key(key) => self.write_key(key).await,
            Item::Function(Function::Library { code }) => {
                self.write_function(&code.to_vec()?).await
            }
            Item::Function(_) => Err(Error::Unsupported {
                key: "(function)".into(),
                reason: "a function of a Redis 7.0 release candidate, which no release loads"
                    .into(),
            }),
            _ => Ok(()),
        }
    }

    /// Writes one event of `rdb_parser::Reader`: whole items as
    /// [`Writer::write_item`], values in pieces through [`Writer::begin_value`],
    /// [`Writer::write_piece`] and [`Writer::end_value`].
    ///
    /// # Errors
    /// As those methods.
    pub async fn write_event(&mut self, event: Event<'_>) -> Result<()> {
        match event {
            Event::Item(item) => self.write_item(&item).await,
            Event::ValueStart(start) => self.begin_value(&start).await,
            Event::Piece { piece, .. } => self.write_piece(piece).await,
            Event::ValueEnd => self.end_value().await,
            _ => Ok(()),
        }
    }

    /// Runs the hooks on a key: its target database and name, or `None` when a
    /// hook dropped it (counted).
    fn judge_key(&mut self, mut key: KeyEdit<'_>) -> Result<Option<(u64, Bytes)>> {
        if self.peer.as_ref().is_some_and(|p| p.owns(&key.name)) {
            self.stats.returned += 1;
            return Ok(None);
        }
        if !self.options.hooks.is_empty() {
            match self.options.hooks.key(&mut key) {
                Verdict::Keep => {}
                Verdict::Drop => {
                    self.stats.filtered += 1;
                    return Ok(None);
                }
                Verdict::Refuse(reason) => {
                    return Err(Error::Hook {
                        what: format!("key {} in db {}", shown(&key.name), key.db),
                        reason,
                    });
                }
            }
        }
        Ok(Some((self.target_db(key.db)?, key.name)))
    }

    /// `db` if the target has it: a cluster or a proxy has only database 0.
    fn target_db(&self, db: u64) -> Result<u64> {
        if (self.is_cluster() || self.options.mode == TargetMode::Proxy) && db != 0 {
            return Err(Error::Database { db });
        }
        Ok(db)
    }

    /// Writes one key from an RDB: `RESTORE` with its stored bytes when the target can
    /// read them, else commands; expired keys are skipped and counted.
    ///
    /// # Errors
    /// An error reply for this key (or one queued before it), a value with no form
    /// the target takes, a database the target does not have, a hook's refusal.
    pub async fn write_key(&mut self, key: &Key<'_>) -> Result<()> {
        let name = Bytes::from(key.key.to_vec()?);
        let edit = KeyEdit::new(
            key.db,
            name,
            key.value.value_type(),
            key.expire_ms,
            Some(&key.value),
        );
        let Some((db, name)) = self.judge_key(edit)? else {
            return Ok(());
        };
        let Some(expire_ms) = self.expiry.key(key.expire_ms) else {
            self.stats.keys_expired += 1;
            return Ok(());
        };
        // An empty collection is never saved by a server, and skipped (with a
        // warning) when one loads it; RESTORE refuses it. Only a tiny value can be
        // one: the compact encodings store it in a few bytes, never compressed.
        if key.raw_value.len() <= 64 && is_empty_collection(&key.value)? {
            self.stats.keys_empty += 1;
            tracing::warn!(key = %shown(&name), db, "an empty collection, skipped as a server loading it skips it");
            return Ok(());
        }
        let payload_len = key.raw_value.len() + 11;
        let header = key.header;
        if self.can_restore(header.version, header.dialect, payload_len)
            && payload_len <= self.options.large_value
        {
            let mut args = self.restore_args(name.clone(), expire_ms, key.dump_payload().into());
            if let Some(idle) = key.idle {
                args.extend([b("IDLETIME"), b(&idle.to_string())]);
            }
            if let Some(freq) = key.freq {
                args.extend([b("FREQ"), b(&freq.to_string())]);
            }
            self.restore(db, name, args).await
        } else if let Some(payload) =
            self.transcoded(key.type_byte, key.raw_value, &key.value, header)?
        {
            self.stats.keys_transcoded += 1;
            let mut args = self.restore_args(name.clone(), expire_ms, payload.into());
            if let Some(idle) = key.idle {
                args.extend([b("IDLETIME"), b(&idle.to_string())]);
            }
            if let Some(freq) = key.freq {
                args.extend([b("FREQ"), b(&freq.to_string())]);
            }
            self.restore(db, name, args).await
        } else {
            self.write_as_commands(db, name, &key.value, expire_ms, key.raw_value.len())
                .await
        }
    }

    /// Writes a key copied with `DUMP` from a live source (the `scan` path): the
    /// payload as it is when the target reads it, else decoded and written as
    /// commands. `pttl_ms` is the source's `PTTL` (-1: no expiry).
    ///
    /// # Errors
    /// A corrupt payload, and as [`Writer::write_key`].
    pub async fn write_dump(
        &mut self,
        db: u64,
        name: &Bytes,
        payload: Bytes,
        pttl_ms: i64,
    ) -> Result<()> {
        let dump = rdb_parser::parse_dump(&payload)?;
        // 0: it expires now (then it is skipped as expired, or kept for the grace).
        let expire_ms = (pttl_ms >= 0).then(|| now_ms() + pttl_ms);
        let edit = KeyEdit::new(
            db,
            name.clone(),
            dump.value.value_type(),
            expire_ms,
            Some(&dump.value),
        );
        let Some((db, name)) = self.judge_key(edit)? else {
            return Ok(());
        };
        let header = dump.header;
        if self.can_restore(header.version, header.dialect, payload.len())
            && payload.len() <= self.options.large_value
        {
            let args = self.restore_args(name.clone(), expire_ms, payload.clone());
            return self.restore(db, name, args).await;
        }
        let older = self.transcoded(dump.type_byte, dump.raw_value, &dump.value, header)?;
        if let Some(older) = older {
            self.stats.keys_transcoded += 1;
            let args = self.restore_args(name.clone(), expire_ms, older.into());
            return self.restore(db, name, args).await;
        }
        let value = dump.value.clone();
        self.write_as_commands(db, name, &value, expire_ms, payload.len())
            .await
    }

    /// Whether the target reads a payload of this RDB version, dialect and length.
    /// The value as a payload of the newest Redis RDB version the target reads,
    /// re-encoded where its own form is newer ([`rdb_parser::payload_for`]);
    /// `None` when it has none, or when it is to be written as commands anyway
    /// (forced, large, or over the target's `proto-max-bulk-len`).
    ///
    /// # Errors
    /// A corrupt value.
    fn transcoded(
        &self,
        type_byte: u8,
        raw_value: &[u8],
        value: &Value<'_>,
        header: rdb_parser::Header,
    ) -> Result<Option<Vec<u8>>> {
        if self.options.force_commands || raw_value.len() + 11 > self.options.large_value {
            return Ok(None);
        }
        // Valkey reads Redis's formats up to RDB 11.
        let to = match self.info.flavor {
            Flavor::Valkey => u32::from(self.info.rdb_version()).min(11),
            _ => u32::from(self.info.rdb_version()),
        };
        let (payload, reads) =
            match rdb_parser::payload_for(type_byte, raw_value, value, header, to)? {
                Some(payload) => (payload, self.info.reads_rdb(to, Flavor::Redis)),
                // Valkey 9 has its own form of what has none in Redis 11 (hashes
                // with field TTLs).
                None if self.info.reads_rdb(VALKEY_VERSION, Flavor::Valkey) => {
                    match rdb_parser::valkey_payload_for(type_byte, raw_value, value, header)? {
                        Some(payload) => (payload, true),
                        None => return Ok(None),
                    }
                }
                None => return Ok(None),
            };
        let fits = payload.len() <= self.options.large_value
            && self
                .info
                .proto_max_bulk_len
                .is_none_or(|max| payload.len() as u64 <= max);
        Ok((fits && reads).then_some(payload))
    }

    fn can_restore(&self, version: u32, dialect: Dialect, len: usize) -> bool {
        if self.options.force_commands {
            return false;
        }
        let fits = self
            .info
            .proto_max_bulk_len
            .is_none_or(|max| len as u64 <= max);
        self.info.reads_rdb(version, written_by(dialect)) && fits
    }

    /// `RESTORE name ttl payload [REPLACE] [ABSTTL]`.
    fn restore_args(&self, name: Bytes, expire_ms: Option<i64>, payload: Bytes) -> Vec<Bytes> {
        let mut args = vec![
            b("RESTORE"),
            name,
            b(&expire_ms.unwrap_or(0).to_string()),
            payload,
        ];
        if self.options.existing == ExistingKeys::Rewrite {
            args.push(b("REPLACE"));
        }
        if expire_ms.is_some() {
            args.push(b("ABSTTL"));
        }
        args
    }

    async fn restore(&mut self, db: u64, name: Bytes, args: Vec<Bytes>) -> Result<()> {
        let expect = match self.options.existing {
            ExistingKeys::Ignore => Expect::BusyIsExisting,
            _ => Expect::Ok,
        };
        self.stats.keys_restored += 1;
        self.pipeline
            .enqueue(db, Op::new(args, Some(name), expect))
            .await
    }

    fn build(&mut self, db: u64, name: Bytes, expire_ms: Option<i64>) -> Build {
        Build::new(db, name, expire_ms)
    }

    /// Queues one write of a value being built (with its temporary key's TTL when
    /// due).
    async fn write_built(&mut self, build: &Build, args: Vec<Bytes>) -> Result<()> {
        for op in build.ops(args) {
            self.pipeline.enqueue(build.db, op).await?;
        }
        Ok(())
    }

    /// The end of a value written as commands: its expiry, the rename into place.
    async fn finish(&mut self, build: Build) -> Result<()> {
        let db = build.db;
        for op in build.finish(self.options.existing) {
            self.pipeline.enqueue(db, op).await?;
        }
        self.stats.keys_as_commands += 1;
        Ok(())
    }

    /// Writes a value as commands, into a temporary key renamed into place.
    async fn write_as_commands(
        &mut self,
        db: u64,
        name: Bytes,
        value: &Value<'_>,
        expire_ms: Option<i64>,
        stored_len: usize,
    ) -> Result<()> {
        let large = stored_len > self.options.large_value;
        let build = self.build(db, name, expire_ms);
        self.pipeline.enqueue(db, build.start()).await?;
        if let (Value::String(s), true) = (value, large) {
            // A long string in pieces.
            let bytes = s.to_cow()?;
            for chunk in bytes.chunks(1 << 20) {
                let args = vec![
                    b("APPEND"),
                    build.key().clone(),
                    Bytes::copy_from_slice(chunk),
                ];
                self.write_built(&build, args).await?;
            }
        } else if large {
            self.write_large_collection(&build, value).await?;
        } else {
            let dropped =
                (self.options.drop_field_ttls).then_some(&mut self.stats.field_ttls_dropped);
            for cmd in render(build.key(), &build.name, value, &self.info, dropped)? {
                self.write_built(&build, cmd).await?;
            }
        }
        self.finish(build).await
    }

    /// A long list, set, sorted set or hash, element by element, sending as the
    /// batches fill, so memory stays bounded whatever the value's size.
    async fn write_large_collection(&mut self, build: &Build, value: &Value<'_>) -> Result<()> {
        let mut pending: Vec<Bytes> = Vec::new();
        let head = |cmd: &str| vec![b(cmd), build.key().clone()];
        macro_rules! walk {
            ($cursor:expr, $cmd:expr, |$item:ident| $push:expr) => {{
                let mut cursor = $cursor;
                loop {
                    let Some($item) = cursor.next()? else { break };
                    $push;
                    if pending.len() >= ELEMENTS_PER_COMMAND * 2 {
                        let mut args = head($cmd);
                        args.append(&mut pending);
                        self.write_built(build, args).await?;
                    }
                }
                if !pending.is_empty() {
                    let mut args = head($cmd);
                    args.append(&mut pending);
                    self.write_built(build, args).await?;
                }
            }};
        }
        match value {
            Value::List(v) => walk!(v.elements()?, "RPUSH", |e| pending
                .push(Bytes::from(e.to_vec()))),
            Value::Set(v) => walk!(v.members()?, "SADD", |e| pending
                .push(Bytes::from(e.to_vec()))),
            Value::SortedSet(v) => walk!(v.members()?, "ZADD", |e| {
                pending.push(b(&e.1.to_string()));
                pending.push(Bytes::from(e.0.to_vec()));
            }),
            Value::Hash(v) => {
                // Each batch's field TTLs follow its fields.
                let mut fields = v.fields()?;
                let mut ttls = Vec::new();
                loop {
                    let next = fields.next()?;
                    if let Some(f) = &next {
                        let field = Bytes::from(f.field.to_vec());
                        if let Some(at) = f.expire_ms {
                            ttls.push((field.clone(), at));
                        }
                        pending.push(field);
                        pending.push(Bytes::from(f.value.to_vec()));
                    }
                    let full = pending.len() >= ELEMENTS_PER_COMMAND * 2;
                    if full || (next.is_none() && !pending.is_empty()) {
                        let mut args = head("HSET");
                        args.append(&mut pending);
                        self.write_built(build, args).await?;
                        let ttls = std::mem::take(&mut ttls);
                        let dropped = self
                            .options
                            .drop_field_ttls
                            .then_some(&mut self.stats.field_ttls_dropped);
                        let key = build.key();
                        for cmd in field_expiries(key, &build.name, ttls, &self.info, dropped)? {
                            self.write_built(build, cmd).await?;
                        }
                    }
                    if next.is_none() {
                        break;
                    }
                }
            }
            // Streams.
            other => {
                let dropped =
                    (self.options.drop_field_ttls).then_some(&mut self.stats.field_ttls_dropped);
                for cmd in render(build.key(), &build.name, other, &self.info, dropped)? {
                    self.write_built(build, cmd).await?;
                }
            }
        }
        Ok(())
    }

    /// Starts a value that comes in pieces ([`rdb_parser::Event::ValueStart`]).
    ///
    /// # Errors
    /// A value already in progress, a database the target does not have, a hook's
    /// refusal, error replies.
    pub async fn begin_value(&mut self, start: &ValueStart<'_>) -> Result<()> {
        if self.in_pieces.is_some() {
            return Err(Error::Refused {
                command: "begin_value".into(),
                reason: "a value is already being written in pieces".into(),
            });
        }
        let name = Bytes::from(start.key.to_vec()?);
        let edit = KeyEdit::new(start.db, name, start.value_type, start.expire_ms, None);
        let mut build = None;
        if let Some((db, name)) = self.judge_key(edit)? {
            match self.expiry.key(start.expire_ms) {
                None => self.stats.keys_expired += 1,
                Some(expire_ms) => {
                    let started = self.build(db, name, expire_ms);
                    self.pipeline.enqueue(db, started.start()).await?;
                    build = Some(started);
                }
            }
        }
        self.in_pieces = Some(InPieces::new(build, start.value_type));
        Ok(())
    }

    /// Writes the next piece of the value begun with [`Writer::begin_value`].
    ///
    /// # Errors
    /// No value in progress, a module value (it has no command form), error replies.
    pub async fn write_piece(&mut self, piece: rdb_parser::Piece<'_>) -> Result<()> {
        let Some(state) = self.in_pieces.as_mut() else {
            return Err(Error::Refused {
                command: "write_piece".into(),
                reason: "no value is being written in pieces".into(),
            });
        };
        let dropped = self
            .options
            .drop_field_ttls
            .then_some(&mut self.stats.field_ttls_dropped);
        let commands = state.commands(piece, &self.info, dropped)?;
        let Some(build) = &state.build else {
            return Ok(());
        };
        let ops: Vec<Op> = commands.into_iter().flat_map(|c| build.ops(c)).collect();
        let db = build.db;
        for op in ops {
            self.pipeline.enqueue(db, op).await?;
        }
        Ok(())
    }

    /// Ends the value begun with [`Writer::begin_value`]: its expiry, then the rename
    /// into place (under the existing-key policy).
    ///
    /// # Errors
    /// No value in progress, error replies.
    pub async fn end_value(&mut self) -> Result<()> {
        let Some(state) = self.in_pieces.take() else {
            return Err(Error::Refused {
                command: "end_value".into(),
                reason: "no value is being written in pieces".into(),
            });
        };
        match state.build {
            Some(build) => self.finish(build).await,
            None => Ok(()),
        }
    }

    /// Loads a function library (an RDB's `FUNCTION2` record) on every master, with
    /// the existing-key policy applied to libraries.
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a target older than Redis 7.0; the target's refusal
    /// (e.g. a library that exists, under `fail`).
    pub async fn write_function(&mut self, code: &[u8]) -> Result<()> {
        if !self.info.has_functions() {
            if self.options.drop_functions {
                self.stats.functions_dropped += 1;
                return Ok(());
            }
            return Err(Error::Unsupported {
                key: "(function library)".into(),
                reason: "functions need Redis 7.0 or later on the target".into(),
            });
        }
        let mut args = vec![b("FUNCTION"), b("LOAD")];
        if self.options.existing == ExistingKeys::Rewrite {
            args.push(b("REPLACE"));
        }
        args.push(Bytes::copy_from_slice(code));
        let expect = match self.options.existing {
            ExistingKeys::Ignore => Expect::FunctionExists,
            _ => Expect::Ok,
        };
        self.pipeline
            .on_every_master(None, Op::new(args, None, expect))
            .await?;
        self.stats.functions += 1;
        Ok(())
    }

    /// Forwards one command of a replication stream or an AOF, in its database:
    /// judged by the hooks, routed by its keys' slot, split by slot where its
    /// meaning allows (`DEL`, `UNLINK`, `EXISTS`, `TOUCH`, `MSET`), `MULTI`/`EXEC`
    /// held until `EXEC` and kept atomic when its keys share a slot. The command's
    /// offset becomes durable with the next [`Writer::flush`] (at `EXEC` for a
    /// transaction's commands). With [`WriterOptions::expiry_grace`], relative
    /// expiries count from this call: make it as the command arrives.
    ///
    /// # Errors
    /// [`Error::CrossSlot`] for a command (or transaction) that cannot be split,
    /// [`Error::Refused`] for database commands under
    /// [`DatabaseCommands::Refuse`] (inside transactions too), a hook's refusal,
    /// and error replies.
    pub async fn write_command(&mut self, command: &DbCommand) -> Result<()> {
        let pos = Pos {
            offset: command.offset,
            db: command.db,
        };
        self.command(command.db, &command.args, pos).await?;
        if self.transaction.is_none() {
            self.written = Some(pos);
        }
        Ok(())
    }

    async fn command(&mut self, db: u64, args: &[Bytes], pos: Pos) -> Result<()> {
        let Some(first) = args.first() else {
            return Ok(());
        };
        let name = first.to_ascii_uppercase();
        match spec(&name).1 {
            Kind::Skip => {
                self.stats.commands_skipped += 1;
                return Ok(());
            }
            // Each command carries its database; the writer selects its own.
            Kind::Select => return Ok(()),
            Kind::Transaction => return self.transaction_command(&name, pos).await,
            _ => {}
        }
        // Before any hook: a hook may rename the peer's keys, or drop them alone.
        if let Some(peer) = &self.peer
            && peer.wrote(&name, args)
        {
            self.stats.returned += 1;
            if let Some(t) = &mut self.transaction {
                t.returning = true;
                t.covered = peer.covered(&name, args).or(t.covered);
            }
            return Ok(());
        }
        let edited;
        let (db, args, name) = if self.options.hooks.is_empty() {
            (db, args, name)
        } else {
            let mut edit = CommandEdit::new(db, args.to_vec());
            match self.options.hooks.command(&mut edit) {
                Verdict::Keep => {}
                Verdict::Drop => {
                    self.stats.filtered += 1;
                    return Ok(());
                }
                Verdict::Refuse(reason) => {
                    return Err(Error::Hook {
                        what: format!("{} in db {db}", String::from_utf8_lossy(&name)),
                        reason,
                    });
                }
            }
            let name = edit.name();
            let managed = matches!(spec(&name).1, Kind::Skip | Kind::Select | Kind::Transaction);
            if name.is_empty() || managed {
                return Err(Error::Hook {
                    what: format!("{} in db {db}", String::from_utf8_lossy(&name)),
                    reason: "a hook turned a command into one the writer manages itself (or none)"
                        .into(),
                });
            }
            edited = edit;
            (edited.db, &edited.args[..], name)
        };
        let kept;
        let (args, name) = match self.lossy(&name, args) {
            Lossy::Keep => (args, name),
            Lossy::Drop => return Ok(()),
            Lossy::Rewrite(rewritten) => {
                kept = rewritten;
                (&kept[..], kept[0].to_ascii_uppercase())
            }
        };
        let graced = self.expiry.command(&name, args);
        let args: &[Bytes] = graced.as_deref().unwrap_or(args);
        if self.transaction.is_some() {
            return self.hold(db, &name, args);
        }
        if let Some(peer) = &self.peer {
            for key in keys_of(&name, args) {
                peer.crossings.wrote(peer.side, db, key, pos.offset);
            }
        }
        self.forward(db, &name, args, Some(pos)).await
    }

    /// What the lossy options make of a command the target cannot run: a
    /// `FUNCTION` command left out ([`WriterOptions::drop_functions`]), a
    /// field-expiry command left out and `HSETEX` written as `HSET`
    /// ([`WriterOptions::drop_field_ttls`]), each counted.
    fn lossy(&mut self, name: &[u8], args: &[Bytes]) -> Lossy {
        if name == b"FUNCTION" && self.options.drop_functions && !self.info.has_functions() {
            self.stats.functions_dropped += 1;
            return Lossy::Drop;
        }
        if !self.options.drop_field_ttls || self.info.has_field_ttls() {
            return Lossy::Keep;
        }
        match name {
            b"HEXPIRE" | b"HPEXPIRE" | b"HEXPIREAT" | b"HPEXPIREAT" | b"HPERSIST" => {
                self.stats.field_ttls_dropped += 1;
                Lossy::Drop
            }
            b"HSETEX" => {
                // HSETEX key [conditions] [expiry] FIELDS n field value ...
                let fields = args
                    .iter()
                    .skip(2)
                    .position(|a| a.eq_ignore_ascii_case(b"FIELDS"))
                    .map(|i| i + 2);
                match fields {
                    Some(i) if args.len() > i + 2 => {
                        self.stats.field_ttls_dropped += 1;
                        let mut hset = vec![b("HSET"), args[1].clone()];
                        hset.extend_from_slice(&args[i + 2..]);
                        Lossy::Rewrite(hset)
                    }
                    _ => Lossy::Keep,
                }
            }
            _ => Lossy::Keep,
        }
    }

    /// Holds a command of an open transaction until `EXEC`; database commands are
    /// judged now, so that a transaction cannot carry what the policy refuses.
    fn hold(&mut self, db: u64, name: &[u8], args: &[Bytes]) -> Result<()> {
        if spec(name).1 == Kind::Database {
            let apply = self.database_policy(name)?;
            if !apply {
                return Ok(());
            }
            if self.is_cluster() {
                return Err(Error::Refused {
                    command: String::from_utf8_lossy(name).into_owned(),
                    reason: "a database command inside a transaction on a cluster target".into(),
                });
            }
        }
        let db = self.target_db(db)?;
        if let Some(t) = &mut self.transaction {
            t.hold(db, args.to_vec());
        }
        Ok(())
    }

    /// Writes a command that is not held in a transaction.
    async fn forward(
        &mut self,
        db: u64,
        name: &[u8],
        args: &[Bytes],
        pos: Option<Pos>,
    ) -> Result<()> {
        match spec(name).1 {
            Kind::Database => self.database_command(db, name, args, pos).await,
            Kind::EveryMaster => {
                self.push_command(db, name, args, pos)?;
                self.pipeline.flush_every_master(pos).await
            }
            _ => {
                for index in self.push_command(db, name, args, pos)? {
                    self.pipeline.send_if_full(index).await?;
                }
                Ok(())
            }
        }
    }

    /// Queues a command (not a database command) without sending; returns the
    /// nodes it went to. The parts of a command split by slot are all queued
    /// before any is sent, so that parts sharing a position in the stream reach
    /// each slot in one batch.
    fn push_command(
        &mut self,
        db: u64,
        name: &[u8],
        args: &[Bytes],
        pos: Option<Pos>,
    ) -> Result<Vec<usize>> {
        let (keys, kind) = spec(name);
        let target_db = self.target_db(db)?;
        self.stats.commands += 1;
        if kind == Kind::EveryMaster {
            let op = Op::new(args.to_vec(), None, Expect::Ok).at(pos);
            return Ok(self.pipeline.push_every_master(Some(target_db), op));
        }
        let indexes = key_indexes(keys, args);
        if self.is_cluster()
            && let Some(slots) = slots_if_split(args, &indexes)
        {
            if kind != Kind::Splittable {
                return Err(Error::CrossSlot {
                    command: String::from_utf8_lossy(name).into_owned(),
                });
            }
            let step = if name == b"MSET" { 2 } else { 1 };
            let parts = split_by_slot(args, &indexes, &slots, step);
            return Ok(parts
                .into_iter()
                .map(|part| {
                    let key = Some(part[1].clone());
                    self.pipeline
                        .push(target_db, Op::new(part, key, Expect::Ok).at(pos))
                })
                .collect());
        }
        let key = indexes.first().map(|&i| args[i].clone());
        let op = Op::new(args.to_vec(), key, Expect::Ok).at(pos);
        Ok(vec![self.pipeline.push(target_db, op)])
    }

    async fn transaction_command(&mut self, name: &[u8], pos: Pos) -> Result<()> {
        match name {
            b"MULTI" => {
                if self.transaction.is_some() {
                    return Err(Error::Refused {
                        command: "MULTI".into(),
                        reason: "a MULTI inside a transaction (the stream is corrupt)".into(),
                    });
                }
                self.transaction = Some(Transaction::default());
                Ok(())
            }
            b"DISCARD" => {
                self.transaction = None;
                Ok(())
            }
            _ => match self.transaction.take() {
                Some(t) => self.exec(t, pos).await,
                None => Ok(()),
            },
        }
    }

    /// A transaction at its `EXEC`: a two-way peer's batch coming back is dropped
    /// (and settles conflicts), another is noted for the peer and written.
    async fn exec(&mut self, t: Transaction, pos: Pos) -> Result<()> {
        if t.returning {
            self.stats.returned += t.held.len() as u64;
            return self.settle(t, pos).await;
        }
        if let Some(peer) = &self.peer {
            for held in &t.held {
                let name = held.args[0].to_ascii_uppercase();
                for key in keys_of(&name, &held.args) {
                    peer.crossings.wrote(peer.side, held.db, key, pos.offset);
                }
            }
        }
        self.apply(t, pos).await
    }

    /// A two-way peer's batch came back: its writes arrived on this writer's
    /// source. The commands of keys in conflict that the peer's side wins are
    /// applied there once more, after this side's (see `crate::peer`).
    async fn settle(&mut self, t: Transaction, pos: Pos) -> Result<()> {
        let (Some(peer), Some(covered)) = (&self.peer, t.covered) else {
            return Ok(());
        };
        // Every key's arrival is noted once, conflicting or not; every command of
        // the batch on a key in conflict is applied again, in order.
        let mut keys: Vec<(u64, &Bytes)> = Vec::new();
        let names: Vec<Bytes> = t
            .held
            .iter()
            .map(|h| h.args[0].to_ascii_uppercase().into())
            .collect();
        for (held, name) in t.held.iter().zip(&names) {
            keys.extend(keys_of(name, &held.args).map(|k| (held.db, k)));
        }
        keys.sort_unstable();
        keys.dedup();
        let mut conflicts: Vec<(u64, Bytes)> = keys
            .into_iter()
            .filter(|(db, key)| peer.crossings.arrived(peer.side, *db, key, covered))
            .map(|(db, key)| (db, key.clone()))
            .collect();
        self.stats.conflicts += conflicts.len() as u64;
        // A command applied again writes all its keys again: the other commands
        // of the batch on those keys follow it (an `MSET` of a key in conflict and
        // one not, then a `SET` of the other).
        let mut chosen = vec![false; t.held.len()];
        let mut grew = !conflicts.is_empty();
        while grew {
            grew = false;
            for (i, (held, name)) in t.held.iter().zip(&names).enumerate() {
                let touches = |(db, k): &(u64, Bytes)| {
                    *db == held.db && keys_of(name, &held.args).any(|key| key == k)
                };
                if !chosen[i] && conflicts.iter().any(touches) {
                    chosen[i] = true;
                    grew = true;
                    for key in keys_of(name, &held.args) {
                        if !conflicts.iter().any(|(db, k)| *db == held.db && k == key) {
                            conflicts.push((held.db, key.clone()));
                        }
                    }
                }
            }
        }
        let again: Vec<Held> = t
            .held
            .into_iter()
            .zip(chosen)
            .filter_map(|(held, chosen)| chosen.then_some(held))
            .collect();
        if again.is_empty() {
            return Ok(());
        }
        // Written again from this side, here in its stream: a write of this side's
        // as far as later conflicts go (a newer write of the peer's side may still
        // meet it on the way).
        for held in &again {
            let name = held.args[0].to_ascii_uppercase();
            for key in keys_of(&name, &held.args) {
                peer.crossings.wrote(peer.side, held.db, key, pos.offset);
            }
        }
        self.stats.settled += again.len() as u64;
        // Command by command: they came in one batch of the peer's, not in one
        // transaction of a client's, and a cluster takes each in its own slot.
        self.one_by_one(again, pos).await
    }

    /// Writes `held` command by command, all at position `pos`: all are queued
    /// before any is sent, so that each node (a cluster's: each slot) gets its
    /// share in one batch with its checkpoint.
    async fn one_by_one(&mut self, held: Vec<Held>, pos: Pos) -> Result<()> {
        let mut nodes = Vec::new();
        for h in held {
            let name = h.args[0].to_ascii_uppercase();
            nodes.extend(self.push_command(h.db, &name, &h.args, Some(pos))?);
        }
        nodes.sort_unstable();
        nodes.dedup();
        for index in nodes {
            self.pipeline.send_if_full(index).await?;
        }
        Ok(())
    }

    /// Writes a transaction: to one node, in one batch, between `MULTI` and
    /// `EXEC`; spread over slots only when allowed.
    async fn apply(&mut self, t: Transaction, pos: Pos) -> Result<()> {
        if t.held.is_empty() {
            return Ok(());
        }
        let (first_key, one_slot) = t.first_key();
        if self.is_cluster() && !one_slot {
            if !self.options.split_transactions {
                return Err(Error::CrossSlot {
                    command: "MULTI/EXEC".into(),
                });
            }
            tracing::warn!(
                db = t.held[0].db,
                key = %shown(first_key.as_deref().unwrap_or_default()),
                commands = t.held.len(),
                offset = pos.offset,
                "a transaction spanning slots is applied command by command"
            );
            return self.one_by_one(t.held, pos).await;
        }
        self.stats.commands += t.held.len() as u64;
        let index = self.pipeline.layout().route(first_key.as_deref());
        let first_db = t.held[0].db;
        let op = |args: Vec<Bytes>, expect| Op::new(args, first_key.clone(), expect).at(Some(pos));
        // With checkpoints, every batch of the stream is a MULTI/EXEC already.
        let wrap = self.options.checkpoint.is_none();
        if wrap {
            self.pipeline
                .push_to(index, Some(first_db), op(vec![b("MULTI")], Expect::Ok));
        }
        for held in t.held {
            // A standalone target selects each command's database inside the
            // transaction, as the source did.
            self.pipeline
                .push_to(index, Some(held.db), op(held.args, Expect::Ok));
        }
        if wrap {
            self.pipeline
                .push_to(index, None, op(vec![b("EXEC")], Expect::Exec));
        }
        self.pipeline.send_if_full(index).await
    }

    /// Whether a database command (`FLUSHDB`, `FLUSHALL`, `SWAPDB`) is applied
    /// (`false`: skipped, counted).
    ///
    /// # Errors
    /// [`Error::Refused`] under [`DatabaseCommands::Refuse`].
    fn database_policy(&mut self, name: &[u8]) -> Result<bool> {
        match self.options.database_commands {
            DatabaseCommands::Refuse => Err(Error::Refused {
                command: String::from_utf8_lossy(name).into_owned(),
                reason:
                    "it would change whole databases of the target; skip or apply it explicitly"
                        .into(),
            }),
            DatabaseCommands::Skip => {
                self.stats.commands_skipped += 1;
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    async fn database_command(
        &mut self,
        db: u64,
        name: &[u8],
        args: &[Bytes],
        pos: Option<Pos>,
    ) -> Result<()> {
        if !self.database_policy(name)? {
            return Ok(());
        }
        self.stats.commands += 1;
        let command = String::from_utf8_lossy(name).into_owned();
        if name == b"SWAPDB" && self.is_cluster() {
            return Err(Error::Refused {
                command,
                reason: "a cluster has one database".into(),
            });
        }
        let op = Op::new(args.to_vec(), None, Expect::Ok).at(pos);
        if name == b"FLUSHDB" && !self.is_cluster() {
            let target_db = self.target_db(db)?;
            return self.pipeline.enqueue(target_db, op).await;
        }
        self.pipeline.on_every_master(None, op).await
    }

    /// Checks that the target holds no key (the pre-check before a full copy).
    ///
    /// # Errors
    /// [`Error::Refused`] naming a database that holds keys.
    pub async fn check_empty(&mut self) -> Result<()> {
        self.pipeline.flush().await?;
        for i in 0..self.pipeline.layout().nodes().len() {
            if !self.pipeline.layout().serves(i) {
                continue;
            }
            let node = self.pipeline.layout().nodes()[i].clone();
            let con = self.pipeline.connection(i).await?;
            let text = con
                .info("keyspace")
                .await
                .map_err(|e| Error::connection(&node, e))?;
            if let Some(line) = text.lines().find(|l| l.starts_with("db")) {
                return Err(Error::Refused {
                    command: "copy".into(),
                    reason: format!("the target is not empty ({} on {node})", line.trim()),
                });
            }
        }
        Ok(())
    }
}

/// `text` with the characters `SCAN MATCH` reads as a pattern escaped.
fn glob_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `value` is a list, set, sorted set or hash without an element.
fn is_empty_collection(value: &Value<'_>) -> Result<bool> {
    Ok(match value {
        Value::List(v) => v.elements()?.next()?.is_none(),
        Value::Set(v) => v.members()?.next()?.is_none(),
        Value::SortedSet(v) => v.members()?.next()?.is_none(),
        Value::Hash(v) => v.fields()?.next()?.is_none(),
        _ => false,
    })
}
