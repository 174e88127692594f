//! The writer: routes keys and commands to the target's nodes, pipelines them in
//! bounded batches, matches every reply to its request, follows the cluster when it
//! moves, and applies the existing-key policy.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use endpoint::{Connection, Endpoint, Flavor, ServerInfo};
use rdb_parser::{Dialect, Key, Value};

use crate::command::{Kind, key_indexes, spec};
use crate::error::{Error, Result};
use crate::options::{DatabaseCommands, DbMap, ExistingKeys, Stats, TargetMode, WriterOptions};
use crate::pipeline::{Expect, Node, Op, op};
use crate::render::{ELEMENTS_PER_COMMAND, render};
use crate::slot::{SLOTS, hash_tag, slot};

/// Writes keys and commands into one target deployment.
///
/// ```no_run
/// # async fn run(file: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// use key_writer::{Writer, WriterOptions};
/// use rdb_parser::{Item, Rdb};
///
/// let target: endpoint::Endpoint = "redis://127.0.0.1:7000".parse()?;
/// let mut writer = Writer::connect(&target, WriterOptions::default()).await?;
/// for item in Rdb::new(file)?.items() {
///     if let Item::Key(key) = item? {
///         writer.write_key(&key).await?;
///     }
/// }
/// writer.flush().await?;
/// println!("{:?}", writer.stats());
/// # Ok(()) }
/// ```
pub struct Writer {
    pub(crate) options: WriterOptions,
    pub(crate) seed: Endpoint,
    pub(crate) info: ServerInfo,
    pub(crate) cluster: bool,
    pub(crate) nodes: Vec<Node>,
    /// Node index per slot (cluster).
    pub(crate) slots: Vec<Option<usize>>,
    pub(crate) stats: Stats,
    /// Commands between `MULTI` and `EXEC`, held until `EXEC`.
    transaction: Option<Vec<Vec<Bytes>>>,
    temp_counter: u64,
    /// A value being written in pieces.
    pub(crate) in_pieces: Option<crate::pieces::InPieces>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("target", &self.seed)
            .field("cluster", &self.cluster)
            .field("nodes", &self.nodes.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Whether a server reads RDB data of this version and dialect (in `RESTORE`
/// payloads and in RDB files alike).
pub(crate) fn reads_rdb(info: &ServerInfo, version: u32, dialect: Dialect) -> bool {
    match (dialect, info.flavor) {
        // Redis cannot read Valkey 9 data.
        (Dialect::Valkey, Flavor::Redis) => false,
        // Valkey refuses the RDB versions it reserves for Redis (12 to 79).
        (Dialect::Redis, Flavor::Valkey) => version <= 11,
        _ => version <= u32::from(info.rdb_version()),
    }
}

pub(crate) fn connection_error(node: &Endpoint, source: endpoint::Error) -> Error {
    Error::Connection {
        node: node.to_string(),
        source,
    }
}

impl Writer {
    /// Connects to the target, reads its version and limits, and (unless
    /// [`TargetMode::Proxy`]) its cluster layout.
    ///
    /// # Errors
    /// When the target cannot be reached or its layout read.
    pub async fn connect(target: &Endpoint, options: WriterOptions) -> Result<Writer> {
        let plain = target.with_credentials(target.username(), target.password().cloned());
        let mut con = Connection::connect(&plain, &options.connect)
            .await
            .map_err(|e| connection_error(target, e))?;
        let info = con
            .server_info()
            .await
            .map_err(|e| connection_error(target, e))?;
        let cluster = info.cluster_enabled && options.mode == TargetMode::Auto;
        let mut writer = Writer {
            options,
            seed: target.clone(),
            info,
            cluster,
            nodes: Vec::new(),
            slots: vec![None; usize::from(SLOTS)],
            stats: Stats::default(),
            transaction: None,
            temp_counter: 0,
            in_pieces: None,
        };
        if cluster {
            writer.refresh_topology().await?;
        } else {
            writer.nodes.push(Node {
                endpoint: target.clone(),
                con: Some(con),
                queue: Vec::new(),
                in_flight: Vec::new(),
                bytes: 0,
                db: target.db().unwrap_or(0),
            });
        }
        tracing::info!(target = %target, cluster, version = ?writer.info.version, "writer connected");
        Ok(writer)
    }

    /// The target's version, flavour and limits, as read at connect.
    pub fn target(&self) -> &ServerInfo {
        &self.info
    }

    /// Whether the target is a cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// Sets [`WriterOptions::expiry_grace`] from here on, e.g. while replaying an
    /// AOF: a server loading one never deletes a key for an expiry that has passed,
    /// since a later command in the file may extend it.
    pub fn set_expiry_grace(&mut self, grace: Option<std::time::Duration>) {
        self.options.expiry_grace = grace;
    }

    /// What was written so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Counts keys or commands a caller's filter left out.
    pub fn count_filtered(&mut self, n: u64) {
        self.stats.filtered += n;
    }

    /// The target database for source database `db`.
    pub(crate) fn map_db(&self, db: u64) -> Result<u64> {
        let mapped = match &self.options.db_map {
            DbMap::Same => db,
            DbMap::AllTo(to) => *to,
            DbMap::Map(map) => *map.get(&db).ok_or(Error::Database { db })?,
        };
        if (self.cluster || self.options.mode == TargetMode::Proxy) && mapped != 0 {
            return Err(Error::Database { db });
        }
        Ok(mapped)
    }

    /// Writes one key from an RDB: `RESTORE` with its stored bytes when the target can
    /// read them, else commands; expired keys are skipped and counted.
    ///
    /// # Errors
    /// An error reply for this key (or one queued before it), a value with no form
    /// the target takes, an unmapped database.
    pub async fn write_key(&mut self, key: &Key<'_>) -> Result<()> {
        let name = Bytes::from(key.key.to_vec()?);
        if !self
            .options
            .filter
            .allows_key(key.db, &name, key.value.value_type())
        {
            self.stats.filtered += 1;
            return Ok(());
        }
        let Some(expire_ms) = self.expiry(key.expire_ms) else {
            self.stats.keys_expired += 1;
            return Ok(());
        };
        let db = self.map_db(key.db)?;
        let payload_len = key.raw_value.len() + 11;
        if self.can_restore(key) && payload_len <= self.options.large_value {
            self.restore(db, &name, key, expire_ms).await
        } else {
            self.write_as_commands(db, &name, &key.value, expire_ms, key.raw_value.len())
                .await
        }
    }

    /// The expiry to write: `None` for a key to skip (expired, no grace), else the
    /// expiry (moved into the grace period when past).
    pub(crate) fn expiry(&self, expire_ms: Option<i64>) -> Option<Option<i64>> {
        match (expire_ms, self.options.expiry_grace) {
            (Some(at), None) if at <= now_ms() => None,
            (Some(at), Some(grace)) => Some(Some(at.max(now_ms() + grace.as_millis() as i64))),
            (other, _) => Some(other),
        }
    }

    /// A forwarded command with absolute expiry times already past moved into the
    /// grace period (only with [`WriterOptions::expiry_grace`]).
    fn with_grace(&self, name: &[u8], args: &[Bytes]) -> Option<Vec<Bytes>> {
        let grace = self.options.expiry_grace?.as_millis() as i64;
        let floor = now_ms() + grace;
        let number = |a: &Bytes| std::str::from_utf8(a).ok()?.parse::<i64>().ok();
        let mut out = args.to_vec();
        let mut changed = false;
        let mut set_ms = |out: &mut Vec<Bytes>, i: usize, ms: i64| {
            if ms < floor {
                out[i] = b(&floor.to_string());
                changed = true;
                true
            } else {
                false
            }
        };
        match name {
            b"PEXPIREAT" => {
                if let Some(ms) = out.get(2).and_then(number) {
                    set_ms(&mut out, 2, ms);
                }
            }
            b"EXPIREAT" => {
                if let Some(s) = out.get(2).and_then(number)
                    && set_ms(&mut out, 2, s.saturating_mul(1000))
                {
                    out[0] = b("PEXPIREAT");
                }
            }
            b"SET" | b"GETEX" => {
                for i in 2..out.len().saturating_sub(1) {
                    let unit = out[i].to_ascii_uppercase();
                    if (unit == b"PXAT" || unit == b"EXAT")
                        && let Some(t) = number(&out[i + 1])
                    {
                        let ms = if unit == b"EXAT" {
                            t.saturating_mul(1000)
                        } else {
                            t
                        };
                        if set_ms(&mut out, i + 1, ms) {
                            out[i] = b("PXAT");
                        }
                    }
                }
            }
            _ => {}
        }
        changed.then_some(out)
    }

    /// Whether the target reads this key's stored bytes.
    fn can_restore(&self, key: &Key<'_>) -> bool {
        self.can_restore_payload(
            key.header.version,
            key.header.dialect,
            key.raw_value.len() + 11,
        )
    }

    /// Whether the target reads a payload of this RDB version, dialect and length.
    fn can_restore_payload(&self, payload: u32, dialect: Dialect, len: usize) -> bool {
        if self.options.force_commands {
            return false;
        }
        let fits = self
            .info
            .proto_max_bulk_len
            .is_none_or(|max| len as u64 <= max);
        reads_rdb(&self.info, payload, dialect) && fits
    }

    async fn restore(
        &mut self,
        db: u64,
        name: &Bytes,
        key: &Key<'_>,
        expire_ms: Option<i64>,
    ) -> Result<()> {
        let mut args = vec![
            b("RESTORE"),
            name.clone(),
            b(&expire_ms.unwrap_or(0).to_string()),
            Bytes::from(key.dump_payload()),
        ];
        if self.options.existing == ExistingKeys::Rewrite {
            args.push(b("REPLACE"));
        }
        if expire_ms.is_some() {
            args.push(b("ABSTTL"));
        }
        if let Some(idle) = key.idle {
            args.extend([b("IDLETIME"), b(&idle.to_string())]);
        }
        if let Some(freq) = key.freq {
            args.extend([b("FREQ"), b(&freq.to_string())]);
        }
        let expect = match self.options.existing {
            ExistingKeys::Ignore => Expect::BusyIsExisting,
            _ => Expect::Ok,
        };
        self.stats.keys_restored += 1;
        self.enqueue(db, op(args, Some(name.clone()), expect)).await
    }

    /// Writes a key copied with `DUMP` from a live source (the `scan` path): the
    /// payload as it is when the target reads it, else decoded and written as
    /// commands. `pttl_ms` is the source's `PTTL` (negative: no expiry).
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
        if !self
            .options
            .filter
            .allows_key(db, name, dump.value.value_type())
        {
            self.stats.filtered += 1;
            return Ok(());
        }
        let target_db = self.map_db(db)?;
        let expire_ms = (pttl_ms > 0).then(|| now_ms() + pttl_ms);
        if self.can_restore_payload(dump.header.version, dump.header.dialect, payload.len())
            && payload.len() <= self.options.large_value
        {
            let mut args = vec![
                b("RESTORE"),
                name.clone(),
                b(&expire_ms.unwrap_or(0).to_string()),
                payload.clone(),
            ];
            if self.options.existing == ExistingKeys::Rewrite {
                args.push(b("REPLACE"));
            }
            if expire_ms.is_some() {
                args.push(b("ABSTTL"));
            }
            let expect = match self.options.existing {
                ExistingKeys::Ignore => Expect::BusyIsExisting,
                _ => Expect::Ok,
            };
            self.stats.keys_restored += 1;
            return self
                .enqueue(target_db, op(args, Some(name.clone()), expect))
                .await;
        }
        let value = dump.value.clone();
        self.write_as_commands(target_db, name, &value, expire_ms, payload.len())
            .await
    }

    /// A temporary key in the same slot as `name`, or `None` if `name` has a brace
    /// that makes that impossible.
    pub(crate) fn temp_key(&mut self, name: &[u8]) -> Option<Bytes> {
        self.temp_counter += 1;
        let tag = hash_tag(name);
        let tagged = if tag.len() < name.len() {
            tag.to_vec()
        } else if !name.contains(&b'}') {
            name.to_vec()
        } else {
            return None;
        };
        let mut key = b"{".to_vec();
        key.extend_from_slice(&tagged);
        key.extend_from_slice(format!("}}:key-writer-tmp:{}", self.temp_counter).as_bytes());
        Some(Bytes::from(key))
    }

    /// Writes a value as commands: into a temporary key renamed into place at the
    /// end, so a half-written key is never visible and a retry never adds twice.
    async fn write_as_commands(
        &mut self,
        db: u64,
        name: &Bytes,
        value: &Value<'_>,
        expire_ms: Option<i64>,
        stored_len: usize,
    ) -> Result<()> {
        let large = stored_len > self.options.large_value;
        let temp = self.temp_key(name);
        let build = temp.clone().unwrap_or_else(|| name.clone());
        self.enqueue(
            db,
            op(
                vec![b("DEL"), build.clone()],
                Some(build.clone()),
                Expect::Ok,
            ),
        )
        .await?;
        if let (Value::String(s), true) = (value, large) {
            // A long string in pieces.
            let bytes = s.to_cow()?;
            for chunk in bytes.chunks(1 << 20) {
                self.enqueue(
                    db,
                    op(
                        vec![b("APPEND"), build.clone(), Bytes::copy_from_slice(chunk)],
                        Some(build.clone()),
                        Expect::Ok,
                    ),
                )
                .await?;
            }
        } else if large {
            self.write_large_collection(db, &build, name, value).await?;
        } else {
            for cmd in render(&build, name, value, &self.info)? {
                self.enqueue(db, op(cmd, Some(build.clone()), Expect::Ok))
                    .await?;
            }
        }
        self.finish_commands(db, name, temp, expire_ms).await
    }

    /// The end of a value written as commands: its expiry, the rename into place.
    pub(crate) async fn finish_commands(
        &mut self,
        db: u64,
        name: &Bytes,
        temp: Option<Bytes>,
        expire_ms: Option<i64>,
    ) -> Result<()> {
        let build = temp.clone().unwrap_or_else(|| name.clone());
        if let Some(at) = expire_ms {
            self.enqueue(
                db,
                op(
                    vec![b("PEXPIREAT"), build.clone(), b(&at.to_string())],
                    Some(build.clone()),
                    Expect::Ok,
                ),
            )
            .await?;
        }
        if let Some(temp) = temp {
            let (command, expect) = match self.options.existing {
                ExistingKeys::Rewrite => ("RENAME", Expect::Ok),
                _ => ("RENAMENX", Expect::RenameNx),
            };
            self.enqueue(
                db,
                op(
                    vec![b(command), temp.clone(), name.clone()],
                    Some(name.clone()),
                    expect,
                ),
            )
            .await?;
            if expect == Expect::RenameNx {
                // Whatever RENAMENX did, no temporary key stays behind.
                self.enqueue(db, op(vec![b("DEL"), temp.clone()], Some(temp), Expect::Ok))
                    .await?;
            }
        }
        self.stats.keys_as_commands += 1;
        Ok(())
    }

    /// A long list, set, sorted set or hash, element by element, flushing as the
    /// batches fill, so memory stays bounded whatever the value's size.
    async fn write_large_collection(
        &mut self,
        db: u64,
        build: &Bytes,
        name: &Bytes,
        value: &Value<'_>,
    ) -> Result<()> {
        let mut pending: Vec<Bytes> = Vec::new();
        let head = |cmd: &str| vec![b(cmd), build.clone()];
        macro_rules! walk {
            ($cursor:expr, $cmd:expr, |$item:ident| $push:expr) => {{
                let mut cursor = $cursor;
                loop {
                    let Some($item) = cursor.next()? else { break };
                    $push;
                    if pending.len() >= ELEMENTS_PER_COMMAND * 2 {
                        let mut args = head($cmd);
                        args.append(&mut pending);
                        self.enqueue(db, op(args, Some(build.clone()), Expect::Ok))
                            .await?;
                    }
                }
                if !pending.is_empty() {
                    let mut args = head($cmd);
                    args.append(&mut pending);
                    self.enqueue(db, op(args, Some(build.clone()), Expect::Ok))
                        .await?;
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
                if v.fields()?.next()?.is_some_and(|f| f.expire_ms.is_some()) {
                    // Field TTLs: the general path checks the target supports them.
                    for cmd in render(build, name, value, &self.info)? {
                        self.enqueue(db, op(cmd, Some(build.clone()), Expect::Ok))
                            .await?;
                    }
                    return Ok(());
                }
                walk!(v.fields()?, "HSET", |f| {
                    pending.push(Bytes::from(f.field.to_vec()));
                    pending.push(Bytes::from(f.value.to_vec()));
                })
            }
            other => {
                for cmd in render(build, name, other, &self.info)? {
                    self.enqueue(db, op(cmd, Some(build.clone()), Expect::Ok))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Loads a function library (an RDB's `FUNCTION2` record) on every master, with
    /// the existing-key policy applied to libraries.
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a target older than Redis 7.0; the target's refusal
    /// (e.g. a library that exists, under `fail`).
    pub async fn write_function(&mut self, code: &[u8]) -> Result<()> {
        let (major, _, _) = self.info.version;
        if self.info.flavor == Flavor::Redis && major < 7 {
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
        self.on_every_master(op(args, None, expect)).await?;
        self.stats.functions += 1;
        Ok(())
    }

    /// Queues a keyless op on every master (once on a standalone target).
    async fn on_every_master(&mut self, o: Op) -> Result<()> {
        let masters: Vec<usize> = if self.cluster {
            let mut m: Vec<usize> = self.slots.iter().flatten().copied().collect();
            m.sort_unstable();
            m.dedup();
            m
        } else {
            vec![0]
        };
        for index in masters {
            self.nodes[index].queue.push(o.clone());
        }
        self.flush().await
    }

    /// Forwards one command of a replication stream or an AOF, from source database
    /// `db`: routed by its keys' slot, split by slot where its meaning allows
    /// (`DEL`, `UNLINK`, `EXISTS`, `TOUCH`, `MSET`), `MULTI`/`EXEC` kept atomic when
    /// its keys share a slot.
    ///
    /// # Errors
    /// [`Error::CrossSlot`] for a command (or transaction) that cannot be split,
    /// [`Error::Refused`] for database commands under
    /// [`DatabaseCommands::Refuse`], and error replies.
    pub async fn write_command(&mut self, db: u64, args: &[Bytes]) -> Result<()> {
        let Some(first) = args.first() else {
            return Ok(());
        };
        let name = first.to_ascii_uppercase();
        let (keys, kind) = spec(&name);
        let command = String::from_utf8_lossy(&name).into_owned();
        match kind {
            Kind::Skip => {
                self.stats.commands_skipped += 1;
                return Ok(());
            }
            // The caller passes each command's database (the replica tracks SELECT;
            // an AOF reader does with `select_db`); the writer selects its own.
            Kind::Select => return Ok(()),
            Kind::Transaction => return self.transaction_command(db, &name).await,
            _ => {}
        }
        let key_args: Vec<&[u8]> = key_indexes(keys, args)
            .into_iter()
            .map(|i| &args[i][..])
            .collect();
        if !self.options.filter.allows_command(db, &name, &key_args) {
            self.stats.filtered += 1;
            return Ok(());
        }
        let graced = self.with_grace(&name, args);
        let args: &[Bytes] = graced.as_deref().unwrap_or(args);
        if let Some(held) = &mut self.transaction {
            held.push(args.to_vec());
            return Ok(());
        }
        if kind == Kind::EveryMaster {
            self.stats.commands += 1;
            let db = self.map_db(db)?;
            if !self.cluster {
                return self.enqueue(db, op(args.to_vec(), None, Expect::Ok)).await;
            }
            return self
                .on_every_master(op(args.to_vec(), None, Expect::Ok))
                .await;
        }
        if kind == Kind::Database {
            return self.database_command(db, &command, args).await;
        }
        let target_db = self.map_db(db)?;
        let indexes = key_indexes(keys, args);
        self.stats.commands += 1;
        if !self.cluster || indexes.len() <= 1 {
            let key = indexes.first().map(|&i| args[i].clone());
            return self
                .enqueue(target_db, op(args.to_vec(), key, Expect::Ok))
                .await;
        }
        let slots: Vec<u16> = indexes.iter().map(|&i| slot(&args[i])).collect();
        if slots.iter().all(|&s| s == slots[0]) {
            let key = Some(args[indexes[0]].clone());
            return self
                .enqueue(target_db, op(args.to_vec(), key, Expect::Ok))
                .await;
        }
        if kind != Kind::Splittable {
            return Err(Error::CrossSlot { command });
        }
        // One command per slot, keys in their original order.
        let step = if name == b"MSET" { 2 } else { 1 };
        let mut by_slot: BTreeMap<u16, Vec<Bytes>> = BTreeMap::new();
        for (&i, &s) in indexes.iter().zip(&slots) {
            let part = by_slot.entry(s).or_insert_with(|| vec![first.clone()]);
            part.extend(args[i..i + step].iter().cloned());
        }
        for (_, part) in by_slot {
            let key = Some(part[1].clone());
            self.enqueue(target_db, op(part, key, Expect::Ok)).await?;
        }
        Ok(())
    }

    async fn transaction_command(&mut self, db: u64, name: &[u8]) -> Result<()> {
        match name {
            b"MULTI" => {
                self.transaction = Some(Vec::new());
                Ok(())
            }
            b"DISCARD" => {
                self.transaction = None;
                Ok(())
            }
            _ => {
                let Some(held) = self.transaction.take() else {
                    return Ok(());
                };
                let target_db = self.map_db(db)?;
                let mut slots = Vec::new();
                let mut first_key = None;
                for args in &held {
                    let (keys, _) = spec(&args[0].to_ascii_uppercase());
                    for i in key_indexes(keys, args) {
                        slots.push(slot(&args[i]));
                        first_key.get_or_insert_with(|| args[i].clone());
                    }
                }
                let one_slot = slots.iter().all(|&s| Some(&s) == slots.first());
                if self.cluster && !one_slot {
                    if !self.options.split_transactions {
                        return Err(Error::CrossSlot {
                            command: "MULTI/EXEC".into(),
                        });
                    }
                    tracing::warn!("a transaction spanning slots is applied command by command");
                    for args in held {
                        Box::pin(self.write_command(db, &args)).await?;
                    }
                    return Ok(());
                }
                self.stats.commands += held.len() as u64;
                // The whole transaction goes to one node, in one batch.
                self.enqueue(
                    target_db,
                    op(vec![b("MULTI")], first_key.clone(), Expect::Ok),
                )
                .await?;
                for args in held {
                    let index = self.route(first_key.as_deref());
                    self.nodes[index]
                        .queue
                        .push(op(args, first_key.clone(), Expect::Ok));
                }
                let index = self.route(first_key.as_deref());
                self.nodes[index]
                    .queue
                    .push(op(vec![b("EXEC")], first_key, Expect::Exec));
                Ok(())
            }
        }
    }

    async fn database_command(&mut self, db: u64, command: &str, args: &[Bytes]) -> Result<()> {
        match self.options.database_commands {
            DatabaseCommands::Refuse => Err(Error::Refused {
                command: command.to_owned(),
                reason:
                    "it would change whole databases of the target; skip or apply it explicitly"
                        .into(),
            }),
            DatabaseCommands::Skip => {
                self.stats.commands_skipped += 1;
                Ok(())
            }
            DatabaseCommands::Apply => {
                self.stats.commands += 1;
                if command == "SWAPDB" && self.cluster {
                    return Err(Error::Refused {
                        command: command.into(),
                        reason: "a cluster has one database".into(),
                    });
                }
                if command == "FLUSHDB" && !self.cluster {
                    let target_db = self.map_db(db)?;
                    return self
                        .enqueue(target_db, op(args.to_vec(), None, Expect::Ok))
                        .await;
                }
                self.on_every_master(op(args.to_vec(), None, Expect::Ok))
                    .await
            }
        }
    }

    /// Checks that the target holds no key (the pre-check before a full copy).
    ///
    /// # Errors
    /// [`Error::Refused`] naming a database that holds keys.
    pub async fn check_empty(&mut self) -> Result<()> {
        self.flush().await?;
        for i in 0..self.nodes.len() {
            if self.cluster && !self.slots.contains(&Some(i)) {
                continue;
            }
            self.connected(i).await?;
            let node = &mut self.nodes[i];
            let con = node.con.as_mut().expect("connected above");
            let text = con
                .info("keyspace")
                .await
                .map_err(|e| connection_error(&node.endpoint, e))?;
            if let Some(line) = text.lines().find(|l| l.starts_with("db")) {
                return Err(Error::Refused {
                    command: "copy".into(),
                    reason: format!(
                        "the target is not empty ({} on {})",
                        line.trim(),
                        node.endpoint
                    ),
                });
            }
        }
        Ok(())
    }
}
