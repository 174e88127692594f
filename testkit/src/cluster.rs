//! A Redis Cluster of real servers, joined with `redis-cli --cluster create`.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::server::{Server, ServerBuilder};
use crate::version::Version;

/// How long the nodes may take to agree on the cluster after creation.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Options for a [`Cluster`]; start it with [`ClusterBuilder::start`].
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    version: Version,
    masters: usize,
    replicas: usize,
    password: Option<String>,
    config: Vec<(String, String)>,
}

impl ClusterBuilder {
    /// A cluster of 3 masters without replicas.
    pub fn new(version: Version) -> Self {
        ClusterBuilder {
            version,
            masters: 3,
            replicas: 0,
            password: None,
            config: Vec::new(),
        }
    }

    /// Number of masters (at least 3, as `redis-cli --cluster create` requires).
    pub fn masters(mut self, n: usize) -> Self {
        self.masters = n;
        self
    }

    /// Number of replicas per master.
    pub fn replicas(mut self, n: usize) -> Self {
        self.replicas = n;
        self
    }

    /// Password on every node (`requirepass` and `masterauth`).
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_owned());
        self
    }

    /// A config directive for every node.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts the nodes, creates the cluster and waits until every node reports
    /// `cluster_state:ok` and knows every other node.
    ///
    /// # Panics
    /// When a node does not start, `redis-cli --cluster create` fails, or the
    /// cluster does not settle in time.
    pub fn start(self) -> Cluster {
        assert!(self.masters >= 3, "a cluster needs at least 3 masters");
        let total = self.masters * (1 + self.replicas);
        let nodes: Vec<Server> = (0..total)
            .map(|_| {
                // Replicas sync at once (a replica that never synced cannot fail over).
                let mut b = ServerBuilder::new(self.version)
                    .cluster_node()
                    .config("repl-diskless-sync-delay", "0");
                if let Some(pw) = &self.password {
                    b = b.password(pw);
                }
                for (k, v) in &self.config {
                    b = b.config(k, v);
                }
                b.start()
            })
            .collect();

        let mut cli = Command::new(Version::cli_binary());
        cli.arg("--cluster").arg("create");
        cli.args(nodes.iter().map(Server::addr));
        cli.arg("--cluster-replicas").arg(self.replicas.to_string());
        cli.arg("--cluster-yes");
        if let Some(pw) = &self.password {
            cli.arg("-a").arg(pw).arg("--no-auth-warning");
        }
        let out = cli.output().expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster { nodes };
        cluster.wait_settled();
        cluster
    }
}

/// A running cluster; every node is stopped on drop.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<Server>,
}

impl Cluster {
    /// Starts a cluster of `masters` masters of `version`, without replicas.
    ///
    /// # Panics
    /// As [`ClusterBuilder::start`].
    pub fn start(version: Version, masters: usize) -> Cluster {
        ClusterBuilder::new(version).masters(masters).start()
    }

    /// Options for a cluster of `version`.
    pub fn builder(version: Version) -> ClusterBuilder {
        ClusterBuilder::new(version)
    }

    /// Every node, in creation order.
    pub fn nodes(&self) -> &[Server] {
        &self.nodes
    }

    /// Every node, mutable (to kill or restart one).
    pub fn nodes_mut(&mut self) -> &mut [Server] {
        &mut self.nodes
    }

    /// The nodes that are masters now (asked with `ROLE`); killed nodes are left out.
    pub fn masters(&self) -> Vec<&Server> {
        self.nodes
            .iter()
            .filter(|n| {
                let Ok(mut con) = n.try_client() else {
                    return false;
                };
                matches!(
                    redis::cmd("ROLE").query::<Vec<redis::Value>>(&mut con).as_deref(),
                    Ok([redis::Value::BulkString(role), ..]) if role == b"master"
                )
            })
            .collect()
    }

    /// Fails a master over to one of its replicas with `CLUSTER FAILOVER` (the
    /// replica waits until it holds everything its master has), and waits until
    /// the cluster is healthy again; returns the promoted node. A manual failover
    /// the master does not join within 5 s is dropped by the replica (a loaded
    /// machine), so it is asked again until it is done.
    ///
    /// # Panics
    /// When the cluster has no replica, or no failover succeeds within 120 s.
    pub fn fail_over(&self) -> &Server {
        let role = |node: &Server| -> Vec<u8> {
            match redis::cmd("ROLE").query::<Vec<redis::Value>>(&mut node.client()) {
                Ok(role) => match role.first() {
                    Some(redis::Value::BulkString(r)) => r.clone(),
                    other => panic!("ROLE: {other:?}"),
                },
                Err(e) => panic!("ROLE: {e}"),
            }
        };
        let replica = self
            .nodes
            .iter()
            .find(|n| role(n) == b"slave")
            .expect("a replica");
        let deadline = Instant::now() + Duration::from_secs(120);
        while role(replica) != b"master" {
            assert!(Instant::now() < deadline, "no failover in 120 s");
            redis::cmd("CLUSTER")
                .arg("FAILOVER")
                .query::<()>(&mut replica.client())
                .expect("CLUSTER FAILOVER");
            let asked = Instant::now();
            while role(replica) != b"master" && asked.elapsed() < Duration::from_secs(10) {
                sleep(Duration::from_millis(50));
            }
        }
        self.wait_healthy();
        replica
    }

    /// Waits until every running node reports the cluster healthy
    /// (`cluster_state:ok`, all slots served), e.g. after a master was killed and
    /// its replica took over.
    ///
    /// # Panics
    /// When that does not happen within 30 s.
    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let running: Vec<&Server> = self
                .nodes
                .iter()
                .filter(|n| n.try_client().is_ok())
                .collect();
            let healthy = running.iter().all(|n| {
                let Ok(mut con) = n.try_client() else {
                    return false;
                };
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut con)
                    .unwrap_or_default();
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            });
            if healthy && !running.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cluster not healthy within {SETTLE_TIMEOUT:?}"
            );
            sleep(Duration::from_millis(100));
        }
    }

    fn wait_settled(&self) {
        let total = self.nodes.len();
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let settled = self.nodes.iter().all(|n| {
                let mut con = n.client();
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut con)
                    .unwrap_or_default();
                let replication: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut con)
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_ok:16384")
                    && info.contains(&format!("cluster_known_nodes:{total}\r"))
                    // Replicas have completed their first sync.
                    && (replication.contains("role:master")
                        || replication.contains("master_link_status:up"))
            });
            if settled {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cluster did not settle within {SETTLE_TIMEOUT:?}"
            );
            sleep(Duration::from_millis(50));
        }
    }
}
