//! Per-node queues sent in bounded batches: every reply matched to its request,
//! `MOVED` and `ASK` followed, `TRYAGAIN` / `CLUSTERDOWN` / `LOADING` and lost nodes
//! retried, any other error reply reported with its key and command. With
//! checkpoints, a stream's requests go to a standalone node in one `MULTI`/`EXEC`
//! with the node's checkpoint, and to a cluster node in one per slot with the
//! slot's checkpoint ([`crate::batch`]); a batch whose reply was lost is resent
//! only if its checkpoint says it was not applied.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use endpoint::{ConnectOptions, Connection, slot};
use resp_codec::Frame;
use tokio::time::Instant;

use crate::batch::{Atomic, Replies, Sent};
use crate::checkpoint::{Checkpoint, CheckpointOptions, ClusterCheckpoints};
use crate::command::b;
use crate::error::{Error, Result, shown};
use crate::layout::Layout;
use crate::op::{Expect, Op, Pos};
use crate::options::{ExistingKeys, WriterOptions};
use crate::retry::{Retry, Retrying};

/// What the replies said besides "done", for the writer's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Bytes of commands sent.
    pub(crate) bytes: u64,
    /// `MOVED` and `ASK` followed.
    pub(crate) redirections: u64,
    /// Requests sent again.
    pub(crate) retries: u64,
    /// `RESTORE`s answered `BUSYKEY` under the `ignore` policy: kept, not restored.
    pub(crate) restores_existing: u64,
    /// `RENAMENX`s answered 0: the key existed and was kept.
    pub(crate) renames_existing: u64,
    /// Values built with commands whose own expiry passed before the rename.
    pub(crate) expired_while_built: u64,
    /// Stream requests not sent again because the node's checkpoint says it holds
    /// them (a restart, or a batch whose reply was lost).
    pub(crate) already_applied: u64,
}

/// One node's connection, queue and checkpoint.
#[derive(Debug, Default)]
struct Node {
    con: Option<Connection>,
    queue: Vec<Op>,
    /// Sent, replies not read yet.
    in_flight: Vec<Sent>,
    bytes: usize,
    /// The database the connection has selected, after what was written to it.
    db: u64,
    /// The checkpoint the node holds.
    applied: Option<Checkpoint>,
    /// A checkpoint to write even without requests (the end of an RDB, a node
    /// that saw no request for a while).
    due: Option<Checkpoint>,
    /// When the node's checkpoint was last written.
    written_at: Option<Instant>,
}

/// The queues of every node of the target, and what moves them.
#[derive(Debug)]
pub(crate) struct Pipeline {
    layout: Layout,
    nodes: Vec<Node>,
    connect: ConnectOptions,
    existing: ExistingKeys,
    max_batch_commands: usize,
    max_batch_bytes: usize,
    retry_for: Duration,
    /// Failed rounds, and when to give up.
    retry: Retry,
    counters: Counters,
    /// The checkpoints' names, when checkpoints are kept.
    checkpoint: Option<CheckpointOptions>,
    /// A cluster's floor and slot checkpoints.
    cluster_checkpoints: ClusterCheckpoints,
    /// The replication id of the stream being written (for checkpoints).
    replid: String,
    /// Batches whose replies were lost: applied or not, their nodes' checkpoints
    /// will tell.
    doubtful: Vec<Atomic>,
}

impl Pipeline {
    /// A pipeline over `layout`; `con` is an open connection to node 0 of a single
    /// node target, kept.
    pub(crate) fn new(layout: Layout, con: Option<Connection>, options: &WriterOptions) -> Self {
        let mut pipeline = Pipeline {
            layout,
            nodes: Vec::new(),
            connect: options.connect.clone(),
            existing: options.existing,
            max_batch_commands: options.max_batch_commands,
            max_batch_bytes: options.max_batch_bytes,
            retry_for: options.retry_for,
            retry: Retry::new(options.retry_for),
            counters: Counters::default(),
            checkpoint: options.checkpoint.clone(),
            cluster_checkpoints: ClusterCheckpoints::default(),
            replid: String::new(),
            doubtful: Vec::new(),
        };
        pipeline.grow();
        if let Some(con) = con {
            pipeline.nodes[0].con = Some(con);
        }
        pipeline
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters
    }

    /// What is being retried, if anything.
    pub(crate) fn retrying(&self) -> Option<Retrying> {
        self.retry.state()
    }

    /// Follows [`Pipeline::retrying`] from another task.
    pub(crate) fn watch_retrying(&self) -> tokio::sync::watch::Receiver<Option<Retrying>> {
        self.retry.watch()
    }

    /// Whether any request waits to be sent or for its reply (a floor still to
    /// write is not one).
    pub(crate) fn is_idle(&self) -> bool {
        self.doubtful.is_empty()
            && self
                .nodes
                .iter()
                .all(|n| n.queue.is_empty() && n.in_flight.is_empty() && n.due.is_none())
    }

    /// A node state for every node the layout knows.
    fn grow(&mut self) {
        while self.nodes.len() < self.layout.nodes().len() {
            let db = self.layout.nodes()[self.nodes.len()].db().unwrap_or(0);
            self.nodes.push(Node {
                db,
                ..Node::default()
            });
        }
    }

    /// Reads every master's checkpoint (`None` where there is none, or without
    /// checkpoints; a cluster's floor alone); the nodes skip the requests their
    /// checkpoint covers from here (a cluster's, those its slots' cover).
    ///
    /// # Errors
    /// When a master cannot be reached.
    pub(crate) async fn read_checkpoints(&mut self) -> Result<Vec<Option<Checkpoint>>> {
        let Some(options) = self.checkpoint.clone() else {
            return Ok(Vec::new());
        };
        let key = options.key();
        if self.layout.is_cluster() {
            let floor = self
                .get_checkpoint(self.layout.route(Some(&key)), &key)
                .await?;
            let mut slots = Vec::new();
            if floor.is_some() {
                for index in self.layout.masters() {
                    slots.extend(self.slot_checkpoints(index, &options).await?);
                }
            }
            self.cluster_checkpoints.resume(floor.clone(), &slots);
            return Ok(vec![floor]);
        }
        let mut found = Vec::new();
        for index in self.layout.masters() {
            let checkpoint = self.get_checkpoint(index, &key).await?;
            self.nodes[index].applied = checkpoint.clone();
            found.push(checkpoint);
        }
        Ok(found)
    }

    /// The checkpoint stored at `key` (in database 0) on node `index`, read on a
    /// connection of its own (the pipeline's may have replies pending).
    ///
    /// # Errors
    /// When the node cannot be reached or answers with an error (`MOVED`, say:
    /// no answer is taken for "none").
    async fn get_checkpoint(&self, index: usize, key: &Bytes) -> Result<Option<Checkpoint>> {
        let endpoint = &self.layout.nodes()[index];
        let failed = |e| Error::connection(endpoint, e);
        let mut con = Connection::connect(endpoint, &self.connect)
            .await
            .map_err(failed)?;
        if !self.layout.is_cluster() {
            con.request(&["SELECT", "0"]).await.map_err(failed)?;
        }
        let reply = con.request(&[&b"GET"[..], key]).await.map_err(failed)?;
        checkpoint_in(&reply, key)
    }

    /// The checkpoints of the slots node `index` serves, read in one pipelined
    /// round on a connection of their own.
    async fn slot_checkpoints(
        &self,
        index: usize,
        options: &CheckpointOptions,
    ) -> Result<Vec<(u16, Checkpoint)>> {
        let endpoint = &self.layout.nodes()[index];
        let failed = |e| Error::connection(endpoint, e);
        let mut con = Connection::connect(endpoint, &self.connect)
            .await
            .map_err(failed)?;
        let slots = self.layout.slots_of(index);
        let keys: Vec<Bytes> = slots.iter().map(|&s| options.slot_key(s)).collect();
        for key in &keys {
            con.send(&[&b"GET"[..], key]);
        }
        con.flush().await.map_err(failed)?;
        let mut found = Vec::new();
        for (slot, key) in slots.into_iter().zip(&keys) {
            let reply = con.read_reply().await.map_err(failed)?;
            if let Some(c) = checkpoint_in(&reply, key)? {
                found.push((slot, c));
            }
        }
        Ok(found)
    }

    /// The stream being written from here on is `replid`'s. After a full resync
    /// (`fresh`), what the nodes held of the old stream no longer counts.
    pub(crate) fn begin_stream(&mut self, replid: &str, fresh: bool) {
        self.replid = replid.to_owned();
        if fresh {
            for node in &mut self.nodes {
                node.applied = None;
            }
            self.cluster_checkpoints.forget();
        }
    }

    /// Deletes every slot checkpoint of this stream on a cluster (a full resync
    /// begins: what they covered is gone, and a restart must not skip by them).
    ///
    /// # Errors
    /// A master that cannot be reached or refuses.
    pub(crate) async fn forget_slot_checkpoints(&mut self) -> Result<()> {
        let Some(options) = self.checkpoint.clone() else {
            return Ok(());
        };
        if !self.layout.is_cluster() {
            return Ok(());
        }
        for index in self.layout.masters() {
            let endpoint = &self.layout.nodes()[index];
            let failed = |e| Error::connection(endpoint, e);
            let mut con = Connection::connect(endpoint, &self.connect)
                .await
                .map_err(failed)?;
            let slots = self.layout.slots_of(index);
            for &s in &slots {
                con.send(&[&b"DEL"[..], &options.slot_key(s)]);
            }
            con.flush().await.map_err(failed)?;
            for _ in &slots {
                let reply = con.read_reply().await.map_err(failed)?;
                if reply.is_error() {
                    return Err(Error::Reply {
                        command: "DEL".into(),
                        key: "(a slot checkpoint)".into(),
                        message: format!("{reply:?}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Writes `checkpoint` on every master with the next flush, even those that get
    /// no request (`only_stale`: only those whose checkpoint is older than a
    /// second and behind it); on a cluster, as the floor once every node is idle.
    pub(crate) fn checkpoint_masters(&mut self, checkpoint: &Checkpoint, only_stale: bool) {
        if self.checkpoint.is_none() {
            return;
        }
        if self.layout.is_cluster() {
            self.cluster_checkpoints.raise(checkpoint, only_stale);
            return;
        }
        for index in self.layout.masters() {
            let node = &mut self.nodes[index];
            if !only_stale || checkpoint.supersedes(node.applied.as_ref(), node.written_at) {
                node.due = Some(checkpoint.clone());
            }
        }
    }

    /// Queues `op` for the node serving its key, in database `db` (a single node
    /// target selects it first when needed), without sending.
    pub(crate) fn push(&mut self, db: u64, op: Op) -> usize {
        let index = self.layout.route(op.key.as_deref());
        self.push_to(index, Some(db), op);
        index
    }

    /// Queues `op` for node `index` in database `db` (`None`: any), without sending.
    /// A stream request the node's checkpoint already covers is dropped.
    pub(crate) fn push_to(&mut self, index: usize, db: Option<u64>, mut op: Op) {
        let node = &mut self.nodes[index];
        if let Some(pos) = op.pos {
            let covered = if self.layout.is_cluster() {
                op.key
                    .as_deref()
                    .is_some_and(|k| self.cluster_checkpoints.covers(slot(k), pos.offset))
            } else {
                node.applied
                    .as_ref()
                    .is_some_and(|c| pos.offset <= c.offset)
            };
            if covered {
                self.counters.already_applied += 1;
                return;
            }
        }
        if !self.layout.is_cluster() {
            op.db = db;
        }
        node.bytes += op.size();
        node.queue.push(op);
    }

    /// Queues `op` and sends a batch when a node's queue is full.
    pub(crate) async fn enqueue(&mut self, db: u64, op: Op) -> Result<()> {
        let index = self.push(db, op);
        self.send_if_full(index).await
    }

    /// Sends a batch if node `index`'s queue is full.
    pub(crate) async fn send_if_full(&mut self, index: usize) -> Result<()> {
        let node = &self.nodes[index];
        if node.queue.len() >= self.max_batch_commands || node.bytes >= self.max_batch_bytes {
            self.exchange(false).await?;
        }
        Ok(())
    }

    /// Queues a keyless `op` on every master (once on a single node, in database
    /// `db`, or any with `None`), then flushes. On a cluster keeping checkpoints, a
    /// stream's request then raises the floor to it at once: no slot's checkpoint
    /// can cover it, so this keeps the window where a restart repeats it short.
    pub(crate) async fn on_every_master(&mut self, db: Option<u64>, op: Op) -> Result<()> {
        let pos = op.pos;
        self.push_every_master(db, op);
        self.flush_every_master(pos).await
    }

    /// Queues a keyless `op` on every master without sending; returns the nodes.
    pub(crate) fn push_every_master(&mut self, db: Option<u64>, op: Op) -> Vec<usize> {
        let masters = self.layout.masters();
        for &index in &masters {
            self.push_to(index, db, op.clone());
        }
        masters
    }

    /// Flushes after [`Pipeline::push_every_master`] (see
    /// [`Pipeline::on_every_master`]).
    pub(crate) async fn flush_every_master(&mut self, pos: Option<Pos>) -> Result<()> {
        if let Some(pos) = pos
            && self.layout.is_cluster()
        {
            let checkpoint = Checkpoint::new(self.replid.clone(), pos.offset, pos.db);
            self.checkpoint_masters(&checkpoint, false);
        }
        self.flush().await
    }

    /// An open connection to node `index`.
    pub(crate) async fn connection(&mut self, index: usize) -> Result<&mut Connection> {
        let node = &mut self.nodes[index];
        if node.con.is_none() {
            let endpoint = &self.layout.nodes()[index];
            let con = Connection::connect(endpoint, &self.connect)
                .await
                .map_err(|e| Error::connection(endpoint, e))?;
            node.con = Some(con);
            // A new connection starts in the endpoint's database.
            node.db = endpoint.db().unwrap_or(0);
        }
        Ok(node.con.as_mut().expect("connected above"))
    }

    /// Sends everything queued and reads every reply, following redirections and
    /// retrying what can be retried.
    ///
    /// # Errors
    /// The first error reply that is not a redirection or retryable (naming its key
    /// and command), or a node that stays unreachable for the retry time.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        loop {
            while !self.is_idle() {
                self.exchange(true).await?;
            }
            // A cluster's floor, once everything before it is applied everywhere.
            let Some(floor) = self.cluster_checkpoints.due.take() else {
                return Ok(());
            };
            let key = self.checkpoint.as_ref().expect("kept").key();
            let set = vec![b("SET"), key.clone(), floor.encode()];
            self.push(0, Op::new(set, Some(key), Expect::Ok));
            self.cluster_checkpoints.floor = Some(floor);
            self.cluster_checkpoints.written_at = Some(Instant::now());
        }
    }

    /// What node `index` is sent for `ops`: with checkpoints, the stream's requests
    /// in one `MULTI`/`EXEC` with the node's checkpoint; a `SELECT` before each
    /// request that runs in another database than the one before it.
    fn package(&mut self, index: usize, ops: Vec<Op>) -> Vec<Sent> {
        if self.layout.is_cluster() {
            return self.package_by_slot(ops);
        }
        let due = self.nodes[index].due.take();
        let last_pos = ops.iter().rev().find_map(|o| o.pos);
        let key = match (&due, last_pos) {
            (None, None) => None,
            _ => self.checkpoint.as_ref().map(CheckpointOptions::key),
        };
        let node = &mut self.nodes[index];
        let mut selected = Vec::with_capacity(ops.len());
        for o in ops {
            if let Some(db) = o.db
                && db != node.db
            {
                selected.push(Op::new(
                    vec![b("SELECT"), b(&db.to_string())],
                    None,
                    Expect::Ok,
                ));
                node.db = db;
            }
            selected.push(o);
        }
        let Some(key) = key else {
            return selected.into_iter().map(Sent::One).collect();
        };
        let checkpoint = match last_pos {
            Some(pos) => Checkpoint::new(self.replid.clone(), pos.offset, pos.db),
            None => due.expect("a checkpoint is due or a request has a position"),
        };
        let select = node.db != 0;
        node.db = 0;
        vec![Sent::Atomic(Atomic {
            ops: selected,
            checkpoint,
            key,
            select,
        })]
    }

    /// What a cluster node is sent for `ops`: with checkpoints, a stream's requests
    /// in one `MULTI`/`EXEC` per slot with the slot's checkpoint, in the order of
    /// each slot's first request; other requests on their own, each a barrier that
    /// nothing crosses (a keyless request such as `FLUSHALL` must not overtake or
    /// be overtaken).
    fn package_by_slot(&mut self, ops: Vec<Op>) -> Vec<Sent> {
        let Some(options) = &self.checkpoint else {
            return ops.into_iter().map(Sent::One).collect();
        };
        let mut out = Vec::new();
        let mut groups: Vec<(u16, Vec<Op>)> = Vec::new();
        let mut group_of: HashMap<u16, usize> = HashMap::new();
        let close = |groups: &mut Vec<(u16, Vec<Op>)>, out: &mut Vec<Sent>| {
            for (s, ops) in groups.drain(..) {
                let pos = ops
                    .iter()
                    .rev()
                    .find_map(|o| o.pos)
                    .expect("stream requests");
                out.push(Sent::Atomic(Atomic {
                    ops,
                    checkpoint: Checkpoint::new(self.replid.clone(), pos.offset, pos.db),
                    key: options.slot_key(s),
                    select: false,
                }));
            }
        };
        for o in ops {
            match (o.pos, o.key.as_deref()) {
                (Some(_), Some(key)) => {
                    let s = slot(key);
                    let i = *group_of.entry(s).or_insert_with(|| {
                        groups.push((s, Vec::new()));
                        groups.len() - 1
                    });
                    groups[i].1.push(o);
                }
                _ => {
                    close(&mut groups, &mut out);
                    group_of.clear();
                    out.push(Sent::One(o));
                }
            }
        }
        close(&mut groups, &mut out);
        out
    }

    /// One round: sends every node's queue, then reads the replies of the batch sent
    /// the round before (and, when `last`, of this one). Keeping one batch in flight
    /// lets the target work on it while the next one is being built; batches that
    /// carry a checkpoint are read in the round they are sent, so that one aborted
    /// batch is resent before any later one runs.
    async fn exchange(&mut self, last: bool) -> Result<()> {
        self.resolve_doubts().await?;
        // What went wrong in this round, for the retry's status.
        let mut failure: Option<String> = None;
        // Send to every node first, so the nodes work in parallel.
        let mut fresh: Vec<Vec<Sent>> = vec![Vec::new(); self.nodes.len()];
        let mut lost: Vec<Sent> = Vec::new();
        for (i, sent) in fresh.iter_mut().enumerate() {
            if self.nodes[i].queue.is_empty() && self.nodes[i].due.is_none() {
                continue;
            }
            let ops = std::mem::take(&mut self.nodes[i].queue);
            self.nodes[i].bytes = 0;
            if let Err(e) = self.connection(i).await {
                if let Error::Connection {
                    source: endpoint::Error::AuthFailed { .. },
                    ..
                } = e
                {
                    // Credentials do not mend with time.
                    return Err(e);
                }
                failure.get_or_insert_with(|| e.to_string());
                lost.extend(std::mem::take(&mut self.nodes[i].in_flight));
                lost.extend(ops.into_iter().map(Sent::One));
                continue;
            }
            let package = self.package(i, ops);
            let con = self.nodes[i].con.as_mut().expect("connected above");
            let bytes: u64 = package.iter().map(|s| s.write(con)).sum();
            let flushed = con.flush().await;
            self.counters.bytes += bytes;
            match flushed {
                Ok(()) => *sent = package,
                Err(e) => {
                    // Some of it may have reached the node.
                    failure
                        .get_or_insert_with(|| format!("{}: write: {e}", self.layout.nodes()[i]));
                    self.nodes[i].con = None;
                    lost.extend(std::mem::take(&mut self.nodes[i].in_flight));
                    lost.extend(package);
                }
            }
        }
        let mut again: Vec<Op> = Vec::new();
        let mut first_error: Option<Error> = None;
        let mut topology_changed = false;
        for (i, fresh) in fresh.into_iter().enumerate() {
            let mut pending: VecDeque<Sent> = std::mem::take(&mut self.nodes[i].in_flight).into();
            let atomic = fresh.iter().any(|s| matches!(s, Sent::Atomic(_)));
            if last || atomic {
                pending.extend(fresh);
            } else {
                self.nodes[i].in_flight = fresh;
            }
            while let Some(sent) = pending.pop_front() {
                let con = self.nodes[i].con.as_mut().expect("sent on it");
                let replies = match sent.read(con).await {
                    Ok(replies) => replies,
                    Err((sent, e)) => {
                        // No reply: what was sent may or may not have been applied.
                        failure.get_or_insert_with(|| {
                            format!("{}: read: {e}", self.layout.nodes()[i])
                        });
                        self.nodes[i].con = None;
                        topology_changed = true;
                        let unread = std::iter::once(sent)
                            .chain(pending.drain(..))
                            .chain(std::mem::take(&mut self.nodes[i].in_flight));
                        lost.extend(unread);
                        break;
                    }
                };
                let before = again.len();
                self.judge_sent(
                    i,
                    replies,
                    &mut again,
                    &mut first_error,
                    &mut topology_changed,
                )?;
                if again.len() > before && pending.is_empty() {
                    // Requests to send again: the batch in flight behind them is
                    // read now, so that its own come after them, in order (a list
                    // written in pieces keeps its order).
                    pending.extend(std::mem::take(&mut self.nodes[i].in_flight));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let cluster = self.layout.is_cluster();
        let refused = again.iter().find(|o| o.attempts > 0).map(|o| {
            format!(
                "{} refused for now (TRYAGAIN, CLUSTERDOWN, LOADING or MASTERDOWN)",
                String::from_utf8_lossy(&o.args[0]).to_ascii_uppercase()
            )
        });
        match failure.or(refused) {
            Some(what) => self.retry.failed(what).await?,
            None => self.retry.succeeded(),
        }
        if !lost.is_empty() || topology_changed && cluster {
            if cluster {
                self.layout.refresh(&self.connect, self.retry_for).await?;
                self.grow();
            }
            let mut resend = Vec::new();
            for sent in lost {
                match sent {
                    Sent::One(o) => resend.push(o),
                    Sent::Atomic(a) => self.doubtful.push(a),
                }
            }
            self.counters.retries += resend.len() as u64;
            again.splice(0..0, resend);
        }
        // Requeue in order, each to the node its key maps to now.
        for o in again {
            self.requeue(o);
        }
        Ok(())
    }

    /// Queues a request again, first in line for the node its key maps to now.
    fn requeue(&mut self, o: Op) {
        let index = self.layout.route(o.key.as_deref());
        let node = &mut self.nodes[index];
        node.bytes += o.size();
        node.queue.push(o);
    }

    /// Batches whose replies were lost: each node's checkpoint says whether it holds
    /// them; those it does not are queued again (they were not applied at all).
    async fn resolve_doubts(&mut self) -> Result<()> {
        // Until every doubt is settled nothing more is sent: a later batch's
        // checkpoint on the node would pass a lost batch off as applied.
        // Batches found not applied, in their order, to go before anything
        // queued since.
        let mut again: Vec<(usize, Vec<Op>)> = Vec::new();
        while !self.doubtful.is_empty() {
            let mut unsettled = Vec::new();
            let mut failure = None;
            for batch in std::mem::take(&mut self.doubtful) {
                if failure.is_some() {
                    unsettled.push(batch);
                    continue;
                }
                let index = self.layout.route(Some(&batch.key));
                match self.get_checkpoint(index, &batch.key).await {
                    Ok(held) => {
                        let applied = held.as_ref().is_some_and(|c| {
                            c.replid == batch.checkpoint.replid
                                && c.offset >= batch.checkpoint.offset
                        });
                        tracing::warn!(
                            node = %self.layout.nodes()[index],
                            applied,
                            offset = batch.checkpoint.offset,
                            "a batch whose reply was lost, checked against the node's checkpoint"
                        );
                        if applied {
                            self.counters.already_applied += batch.ops.len() as u64;
                            self.nodes[index].applied = held;
                        } else {
                            self.counters.retries += batch.ops.len() as u64;
                            // SELECTs are made again for the connection they go to.
                            let ops = batch.ops.into_iter().filter(|o| !o.is_select());
                            again.push((index, ops.collect()));
                        }
                    }
                    Err(e) => {
                        unsettled.push(batch);
                        failure = Some(e);
                    }
                }
            }
            self.doubtful = unsettled;
            if let Some(e) = failure {
                self.retry
                    .failed(format!("a checkpoint cannot be read yet: {e}"))
                    .await?;
                if self.layout.is_cluster() {
                    // The slot may have moved (MOVED), or its node failed over.
                    self.layout.refresh(&self.connect, self.retry_for).await?;
                    self.grow();
                }
            }
        }
        for (index, ops) in again.into_iter().rev() {
            let node = &mut self.nodes[index];
            node.bytes += ops.iter().map(Op::size).sum::<usize>();
            node.queue.splice(0..0, ops);
        }
        Ok(())
    }

    /// Takes in the replies to what node `index` was sent.
    fn judge_sent(
        &mut self,
        index: usize,
        replies: Replies,
        again: &mut Vec<Op>,
        first_error: &mut Option<Error>,
        topology_changed: &mut bool,
    ) -> Result<()> {
        match replies {
            Replies::One(o, reply) => {
                let verdict = self.judge(&o, &reply);
                self.follow(o, verdict, again, first_error, topology_changed)?;
            }
            Replies::Atomic {
                batch: a,
                multi,
                queued,
                exec,
            } => {
                if let Frame::Array(items) = &exec
                    && !multi.is_error()
                    && items.len() == queued.len()
                {
                    for (o, item) in a.ops.iter().zip(items) {
                        // Redirections are checked when requests are queued, not
                        // here; what is not done is an error.
                        if let Verdict::Fail(e) = self.judge(o, item) {
                            first_error.get_or_insert(e);
                        }
                    }
                    let node = &mut self.nodes[index];
                    node.applied = Some(a.checkpoint);
                    node.written_at = Some(Instant::now());
                    return Ok(());
                }
                // Nothing was applied: the cause is MULTI's error, or a queued
                // request's (EXECABORT).
                let multi_op = Op::new(vec![b("MULTI")], None, Expect::Ok);
                let cause = std::iter::once((&multi_op, &multi))
                    .chain(a.ops.iter().zip(&queued))
                    .find(|(_, r)| r.is_error());
                let verdict = match cause {
                    Some((o, reply)) => self.judge(o, reply),
                    // EXEC itself refused: a node that stopped serving the slot
                    // while the batch was queued (a failover) answers MOVED.
                    None if exec.is_error() && !a.ops.is_empty() => self.judge(&a.ops[0], &exec),
                    None => Verdict::Fail(Error::Reply {
                        command: "EXEC".into(),
                        key: "(none)".into(),
                        message: format!("{exec:?}"),
                    }),
                };
                match verdict {
                    // LOADING, MASTERDOWN...: the whole batch again, later.
                    Verdict::Retry => {
                        self.counters.retries += a.ops.len() as u64;
                        again.extend(a.ops.into_iter().filter(|o| !o.is_select()).map(|mut o| {
                            o.attempts += 1;
                            o
                        }));
                    }
                    Verdict::Fail(e) => {
                        first_error.get_or_insert(e);
                    }
                    // The slot moved: the batch goes to its new node.
                    Verdict::Moved(slot, addr) => {
                        self.layout.moved(slot, &addr)?;
                        self.grow();
                        *topology_changed = true;
                        self.counters.redirections += 1;
                        again.extend(a.ops);
                    }
                    // The slot is moving: a transaction cannot follow `ASK` key by
                    // key, so the batch waits for the move to end (`MOVED`).
                    Verdict::Ask(_) => {
                        self.counters.retries += a.ops.len() as u64;
                        again.extend(a.ops.into_iter().map(|mut o| {
                            o.attempts += 1;
                            o
                        }));
                    }
                    other => {
                        first_error.get_or_insert(Error::Reply {
                            command: "EXEC".into(),
                            key: "(none)".into(),
                            message: format!("the transaction was aborted ({other:?}): {exec:?}"),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Acts on the verdict on a request sent on its own.
    fn follow(
        &mut self,
        o: Op,
        verdict: Verdict,
        again: &mut Vec<Op>,
        first_error: &mut Option<Error>,
        topology_changed: &mut bool,
    ) -> Result<()> {
        match verdict {
            Verdict::Done => {}
            Verdict::Moved(slot, addr) => {
                self.layout.moved(slot, &addr)?;
                self.grow();
                *topology_changed = true;
                self.counters.redirections += 1;
                let mut o = o;
                o.asking = false;
                again.push(o);
            }
            Verdict::Ask(addr) => {
                let index = self.layout.redirect(&addr)?;
                self.grow();
                self.counters.redirections += 1;
                let mut o = o;
                o.asking = true;
                self.nodes[index].queue.push(o);
            }
            Verdict::Retry => {
                self.counters.retries += 1;
                let mut o = o;
                o.attempts += 1;
                again.push(o);
            }
            Verdict::Fail(e) => {
                first_error.get_or_insert(e);
            }
        }
        Ok(())
    }

    /// What a reply means for its request.
    fn judge(&mut self, o: &Op, reply: &Frame) -> Verdict {
        let message = |f: &Frame| {
            f.as_bytes()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .unwrap_or_default()
        };
        let fail = |msg: String| {
            Verdict::Fail(Error::Reply {
                command: String::from_utf8_lossy(&o.args[0]).to_ascii_uppercase(),
                key: o
                    .key
                    .as_deref()
                    .map(shown)
                    .unwrap_or_else(|| "(none)".into()),
                message: msg,
            })
        };
        if reply.is_error() {
            let msg = message(reply);
            let mut words = msg.split_whitespace();
            let code = words.next().unwrap_or("");
            return match code {
                "MOVED" | "ASK" => {
                    let slot = words.next().and_then(|s| s.parse().ok());
                    let addr = words.next().map(str::to_owned);
                    match (slot, addr) {
                        (Some(slot), Some(addr)) if code == "MOVED" => Verdict::Moved(slot, addr),
                        (Some(_), Some(addr)) => Verdict::Ask(addr),
                        _ => fail(msg),
                    }
                }
                "TRYAGAIN" | "CLUSTERDOWN" | "LOADING" | "MASTERDOWN" => Verdict::Retry,
                "BUSYKEY" if o.expect == Expect::BusyIsExisting => {
                    self.counters.restores_existing += 1;
                    Verdict::Done
                }
                "ERR" if o.expect == Expect::FunctionExists && msg.contains("already exists") => {
                    Verdict::Done
                }
                "ERR"
                    if matches!(o.expect, Expect::Rename { expiring: true, .. })
                        && msg.contains("no such key") =>
                {
                    self.counters.expired_while_built += 1;
                    Verdict::Done
                }
                _ => fail(msg),
            };
        }
        match (o.expect, reply) {
            (Expect::Rename { nx: true, .. }, Frame::Integer(0)) => {
                if self.existing == ExistingKeys::Fail {
                    return fail("the key exists on the target (policy fail)".into());
                }
                self.counters.renames_existing += 1;
                Verdict::Done
            }
            (Expect::Exec, Frame::Array(items)) => match items.iter().find(|f| f.is_error()) {
                Some(e) => fail(format!("in a transaction: {}", message(e))),
                None => Verdict::Done,
            },
            (Expect::Exec, f) if f.is_null() => fail("the transaction was aborted".into()),
            _ => Verdict::Done,
        }
    }
}

/// The outcome of one reply.
#[derive(Debug)]
enum Verdict {
    Done,
    Moved(u16, String),
    Ask(String),
    Retry,
    Fail(Error),
}

/// The checkpoint in a `GET` reply (`None` for a missing key or one this crate did
/// not write).
///
/// # Errors
/// An error reply: it says nothing of what the key holds.
fn checkpoint_in(reply: &Frame, key: &Bytes) -> Result<Option<Checkpoint>> {
    if reply.is_error() {
        return Err(Error::Reply {
            command: "GET".into(),
            key: shown(key),
            message: String::from_utf8_lossy(reply.as_bytes().map_or(&b""[..], |b| b)).into_owned(),
        });
    }
    Ok(reply.as_bytes().and_then(|v| Checkpoint::decode(v)))
}
