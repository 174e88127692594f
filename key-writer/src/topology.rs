//! The target's cluster layout: which node serves each slot, read with
//! `CLUSTER SHARDS` (or `CLUSTER SLOTS`) and read again when the cluster moves.

use std::time::Duration;

use endpoint::{Connection, Endpoint, shards};
use tokio::time::{Instant, sleep};

use crate::error::{Error, Result};
use crate::pipeline::Node;
use crate::slot::SLOTS;
use crate::writer::{Writer, connection_error};

impl Writer {
    /// Reads the cluster layout again (after `MOVED`, or a lost node).
    pub(crate) async fn refresh_topology(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.options.retry_for;
        loop {
            match self.try_refresh().await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "cluster layout not readable yet; retrying");
                    sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_refresh(&mut self) -> Result<()> {
        // Ask any node that answers: the seed, then the nodes known.
        let mut candidates = vec![self.seed.clone()];
        candidates.extend(self.nodes.iter().map(|n| n.endpoint.clone()));
        let mut last = None;
        for node in candidates {
            let mut con = match Connection::connect(&node, &self.options.connect).await {
                Ok(con) => con,
                Err(e) => {
                    last = Some(connection_error(&node, e));
                    continue;
                }
            };
            match shards(&mut con, &node).await {
                Ok(list) => {
                    let mut slots = vec![None; usize::from(SLOTS)];
                    for shard in list {
                        let index = self.node_index(&shard.master);
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
                Err(e) => last = Some(connection_error(&node, e)),
            }
        }
        Err(last.unwrap_or_else(|| Error::Cluster("no node answers".into())))
    }

    /// The index of the node at `endpoint`'s address, added if new.
    pub(crate) fn node_index(&mut self, endpoint: &Endpoint) -> usize {
        if let Some(i) = self.nodes.iter().position(|n| {
            n.endpoint.host() == endpoint.host() && n.endpoint.port() == endpoint.port()
        }) {
            return i;
        }
        self.nodes.push(Node {
            endpoint: endpoint.clone(),
            con: None,
            queue: Vec::new(),
            in_flight: Vec::new(),
            bytes: 0,
            db: 0,
        });
        self.nodes.len() - 1
    }
}
