//! Which node serves each slot: the target's layout as `endpoint::shards` reads it,
//! updated by `MOVED` and read again when the cluster moves. A standalone or proxy
//! target is one node that serves everything.

use std::time::Duration;

use endpoint::{ConnectOptions, Connection, Endpoint, SLOTS, shards, slot};
use tokio::time::{Instant, sleep};

use crate::error::{Error, Result};

/// The target's nodes, and the node of each slot.
#[derive(Debug)]
pub(crate) struct Layout {
    /// The address the writer was given; asked first for the layout.
    seed: Endpoint,
    cluster: bool,
    /// Every node seen; indexes are stable (a node that left keeps its index).
    nodes: Vec<Endpoint>,
    /// Node index per slot (cluster).
    slots: Vec<Option<usize>>,
}

impl Layout {
    /// One node that serves everything (standalone or proxy).
    pub(crate) fn single(node: &Endpoint) -> Layout {
        Layout {
            seed: node.clone(),
            cluster: false,
            nodes: vec![node.clone()],
            slots: Vec::new(),
        }
    }

    /// A cluster's layout, read from `seed` (retried for `retry_for`).
    pub(crate) async fn cluster(
        seed: &Endpoint,
        connect: &ConnectOptions,
        retry_for: Duration,
    ) -> Result<Layout> {
        let mut layout = Layout {
            seed: seed.clone(),
            cluster: true,
            nodes: Vec::new(),
            slots: vec![None; usize::from(SLOTS)],
        };
        layout.refresh(connect, retry_for).await?;
        Ok(layout)
    }

    pub(crate) fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The address the writer was given.
    pub(crate) fn seed(&self) -> &Endpoint {
        &self.seed
    }

    /// Every node seen so far.
    pub(crate) fn nodes(&self) -> &[Endpoint] {
        &self.nodes
    }

    /// The node for `key` (node 0 for keyless requests and single-node targets).
    pub(crate) fn route(&self, key: Option<&[u8]>) -> usize {
        match (self.cluster, key) {
            (true, Some(key)) => self.slots[usize::from(slot(key))].unwrap_or(0),
            _ => 0,
        }
    }

    /// The nodes that serve slots now (node 0 alone for a single node).
    pub(crate) fn masters(&self) -> Vec<usize> {
        if !self.cluster {
            return vec![0];
        }
        let mut masters: Vec<usize> = self.slots.iter().flatten().copied().collect();
        masters.sort_unstable();
        masters.dedup();
        masters
    }

    /// The slots node `index` serves now.
    pub(crate) fn slots_of(&self, index: usize) -> Vec<u16> {
        (0..SLOTS)
            .filter(|&s| self.slots[usize::from(s)] == Some(index))
            .collect()
    }

    /// Whether node `index` serves a slot now.
    pub(crate) fn serves(&self, index: usize) -> bool {
        !self.cluster || self.slots.contains(&Some(index))
    }

    /// A `MOVED slot host:port`: the slot is served there from now on. Returns the
    /// node's index.
    pub(crate) fn moved(&mut self, slot: u16, addr: &str) -> Result<usize> {
        let index = self.redirect(addr)?;
        if let Some(entry) = self.slots.get_mut(usize::from(slot)) {
            *entry = Some(index);
        }
        Ok(index)
    }

    /// The node of an `ASK` or `MOVED` address, added if new.
    pub(crate) fn redirect(&mut self, addr: &str) -> Result<usize> {
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| Error::Cluster(format!("a redirection to {addr:?}")))?;
        let endpoint = self.seed.with_addr(host, port);
        Ok(self.index_of(&endpoint))
    }

    /// Reads the cluster layout again (after `MOVED`, or a lost node), for at most
    /// `retry_for` while no node answers with a layout that serves every slot.
    pub(crate) async fn refresh(
        &mut self,
        connect: &ConnectOptions,
        retry_for: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + retry_for;
        loop {
            match self.try_refresh(connect).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "cluster layout not readable yet; retrying");
                    sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_refresh(&mut self, connect: &ConnectOptions) -> Result<()> {
        // Ask any node that answers: the seed, then the nodes known.
        let mut candidates = vec![self.seed.clone()];
        candidates.extend(self.nodes.iter().cloned());
        let mut last = None;
        for node in candidates {
            let mut con = match Connection::connect(&node, connect).await {
                Ok(con) => con,
                Err(e) => {
                    last = Some(Error::connection(&node, e));
                    continue;
                }
            };
            match shards(&mut con, &node).await {
                Ok(list) => {
                    let mut slots = vec![None; usize::from(SLOTS)];
                    for shard in list {
                        let index = self.index_of(&shard.master);
                        for (start, end) in shard.slots {
                            for s in start..=end.min(SLOTS - 1) {
                                slots[usize::from(s)] = Some(index);
                            }
                        }
                    }
                    if slots.iter().any(Option::is_none) {
                        last = Some(Error::Cluster("some slots are not served".into()));
                        continue;
                    }
                    self.slots = slots;
                    return Ok(());
                }
                Err(e) => last = Some(Error::connection(&node, e)),
            }
        }
        Err(last.unwrap_or_else(|| Error::Cluster("no node answers".into())))
    }

    /// The index of the node at `endpoint`'s address, added if new.
    fn index_of(&mut self, endpoint: &Endpoint) -> usize {
        if let Some(i) = self
            .nodes
            .iter()
            .position(|n| n.host() == endpoint.host() && n.port() == endpoint.port())
        {
            return i;
        }
        self.nodes.push(endpoint.clone());
        self.nodes.len() - 1
    }
}
