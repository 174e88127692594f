//! Pre-checks: before a sync, a copy or a verification starts, whether it can
//! succeed, as findings (a blocker, a warning or a note), each saying what to
//! change. Nothing is written to either side.
//!
//! What is looked at:
//! - Each source (every master of a cluster): that it can be reached and logged
//!   into; for a sync, that the user may run the replication handshake
//!   (`ACL DRYRUN` of `PSYNC` and `REPLCONF`, Redis 7.0+ and Valkey); how many
//!   seconds of writes its `repl-backlog-size` holds at the write rate measured
//!   (how long a link may be down without a full resync); whether
//!   `client-output-buffer-limit replica` holds the writes made while its RDB is
//!   sent.
//! - The target (every master of a cluster): that it can be reached; a cluster's
//!   state and slot coverage; that it holds what the sources hold (function
//!   libraries, hash field TTLs, modules loaded, the RDB version of payloads);
//!   `maxmemory` against the sources' dataset and an evicting policy;
//!   `proto-max-bulk-len` against the sources'; whether it is empty; for a sync,
//!   whether it holds the checkpoints of a previous run (which it resumes from).
//!   A target that says it is a cluster but refuses `CLUSTER` commands is a proxy
//!   in front of one, which the job must be told of; through a proxy
//!   ([`TargetMode::Proxy`]), that the sources' keys are all in database 0 and
//!   that a sync keeps no checkpoints there.

use std::fmt;
use std::time::{Duration, Instant};

use endpoint::{ConnectOptions, Connection, Endpoint, ServerInfo, Topology, discover};
use key_writer::TargetMode;
use resp_codec::Frame;

use crate::error::Result;
use crate::sync::shard_id;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The job would fail, or lose data: change something first.
    Blocker,
    /// The job may run into trouble.
    Warning,
    /// Worth knowing.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Blocker => "blocker",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One finding. Its `Display` is the programs' line:
/// `blocker: source 10.0.0.1:6379: replication: ... (fix: ...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// Which check: `connect`, `replication`, `backlog`, `output-buffer`,
    /// `cluster`, `functions`, `field-ttls`, `modules`, `rdb-version`,
    /// `maxmemory`, `eviction`, `proto-max-bulk-len`, `empty`, `checkpoint`.
    pub check: &'static str,
    /// `source HOST:PORT` or `target HOST:PORT` (never a password).
    pub server: String,
    /// What was found.
    pub message: String,
    /// What to change; empty for a note.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}: {}",
            self.severity, self.server, self.check, self.message
        )?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

/// What the job is and may leave out.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PrecheckOptions {
    /// How to connect to the sources.
    pub source_connect: ConnectOptions,
    /// How to connect to the target.
    pub target_connect: ConnectOptions,
    /// The job replicates from the sources (a sync): the handshake, the backlog
    /// and the output buffer are checked (default `true`).
    pub replication: bool,
    /// The job writes the target (default `true`; `false` for a verification).
    pub writes: bool,
    /// Function libraries may be left out (`--drop-functions`).
    pub drop_functions: bool,
    /// Hash field TTLs may be left out (`--drop-field-ttls`).
    pub drop_field_ttls: bool,
    /// How long the sources' write rate is measured (default 1 s).
    pub sample: Duration,
    /// Seconds of writes a backlog should hold at least (default 60).
    pub backlog_seconds: u64,
    /// The first part of a sync's checkpoint keys, to say whether the target
    /// holds those of a previous run (`None`: not a sync with checkpoints).
    pub checkpoint_name: Option<String>,
    /// How the job reaches the target: through a proxy it is asked for no
    /// cluster layout (default [`TargetMode::Auto`]).
    pub target_mode: TargetMode,
}

impl Default for PrecheckOptions {
    fn default() -> Self {
        PrecheckOptions {
            source_connect: ConnectOptions::default(),
            target_connect: ConnectOptions::default(),
            replication: true,
            writes: true,
            drop_functions: false,
            drop_field_ttls: false,
            sample: Duration::from_secs(1),
            backlog_seconds: 60,
            checkpoint_name: None,
            target_mode: TargetMode::Auto,
        }
    }
}

/// The pre-checks of a job from `sources` to `target`; see the module
/// documentation.
///
/// ```no_run
/// use migrate::{Precheck, Severity};
///
/// # async fn run() -> Result<(), migrate::Error> {
/// let source = "redis://10.0.0.1:6379".parse().unwrap();
/// let target = "redis://10.0.0.2:6379".parse().unwrap();
/// let findings = Precheck::new(vec![source], Some(target)).run().await?;
/// for f in &findings {
///     println!("{f}");
/// }
/// let ready = !findings.iter().any(|f| f.severity == Severity::Blocker);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Precheck {
    sources: Vec<Endpoint>,
    target: Option<Endpoint>,
    options: PrecheckOptions,
}

/// What was read of one source master.
struct SourceFacts {
    info: ServerInfo,
    /// The databases holding keys.
    dbs: Vec<u64>,
    functions: bool,
    modules: Vec<String>,
    dataset: u64,
    proto_max_bulk_len: Option<u64>,
}

impl Precheck {
    /// Checks for a job from `sources` (live servers; none for files) to
    /// `target` (none for a job that only reads).
    pub fn new(sources: Vec<Endpoint>, target: Option<Endpoint>) -> Self {
        Precheck {
            sources,
            target,
            options: PrecheckOptions::default(),
        }
    }

    /// Sets the options.
    pub fn options(mut self, options: PrecheckOptions) -> Self {
        self.options = options;
        self
    }

    /// Runs every check; a server that cannot be reached is a blocker, not an
    /// error, so that the findings are complete.
    ///
    /// # Errors
    /// None today; kept for checks that may fail as a whole.
    pub async fn run(&self) -> Result<Vec<Finding>> {
        let mut findings = Vec::new();
        let mut facts = Vec::new();
        // The name each source shard's checkpoints go under, as the sync names it.
        let mut shard_ids = Vec::new();
        for source in &self.sources {
            let o = &self.options.source_connect;
            let Some(topology) = layout(source, o, "source", &mut findings).await else {
                continue;
            };
            let masters = match topology {
                Topology::Cluster(shards) => shards
                    .into_iter()
                    .map(|s| (shard_id(source, Some(&s.slots)), s.master))
                    .collect(),
                _ => vec![(shard_id(source, None), source.clone())],
            };
            for (id, master) in masters {
                shard_ids.push(id);
                let server = format!("source {}", master.addr());
                match Connection::connect(&master, &self.options.source_connect).await {
                    Ok(mut con) => {
                        if let Some(f) = self.check_source(&mut con, &server, &mut findings).await {
                            facts.push(f);
                        }
                    }
                    Err(e) => findings.push(finding(
                        Severity::Blocker,
                        "connect",
                        &server,
                        e.to_string(),
                        "check the address, the credentials and TLS",
                    )),
                }
            }
        }
        let o = &self.options.target_connect;
        let proxy = self.options.target_mode == TargetMode::Proxy;
        if let Some(target) = &self.target {
            // A proxy is not asked for a layout: it routes by itself.
            let topology = match proxy {
                true => Some(Topology::Standalone(target.clone())),
                false => target_layout(target, o, &mut findings).await,
            };
            if let Some(topology) = topology {
                self.check_target(target, &topology, &facts, &mut findings)
                    .await;
                if let Some(name) = &self.options.checkpoint_name
                    && !proxy
                {
                    checkpoints(name, target, &topology, &shard_ids, o, &mut findings).await;
                }
            }
        }
        findings.sort_by_key(|f| f.severity);
        Ok(findings)
    }

    async fn check_source(
        &self,
        con: &mut Connection,
        server: &str,
        findings: &mut Vec<Finding>,
    ) -> Option<SourceFacts> {
        let o = &self.options;
        let info = match con.server_info().await {
            Ok(info) => info,
            Err(e) => {
                findings.push(finding(
                    Severity::Blocker,
                    "connect",
                    server,
                    e.to_string(),
                    "check the credentials",
                ));
                return None;
            }
        };
        let memory = con.info("memory").await.unwrap_or_default();
        let dataset = field(&memory, "used_memory_dataset")
            .or_else(|| field(&memory, "used_memory"))
            .unwrap_or(0);
        if o.replication {
            replication_permission(con, server, findings).await;
            self.backlog(con, server, dataset, findings).await;
        }
        let functions = match con.request(&["FUNCTION", "LIST"]).await {
            Ok(Frame::Array(libraries)) => !libraries.is_empty(),
            _ => false,
        };
        let proto_max_bulk_len = con
            .config_get("proto-max-bulk-len")
            .await
            .ok()
            .flatten()
            .and_then(|v| parse_size(&v));
        let keyspace = con.info("keyspace").await.unwrap_or_default();
        Some(SourceFacts {
            info,
            dbs: endpoint::keyspace(&keyspace)
                .into_iter()
                .map(|(db, _)| db)
                .collect(),
            functions,
            modules: modules(con).await,
            dataset,
            proto_max_bulk_len,
        })
    }

    /// Seconds of writes the backlog holds; writes queued for a replica while
    /// its RDB is made and sent against the output buffer limit.
    async fn backlog(
        &self,
        con: &mut Connection,
        server: &str,
        dataset: u64,
        findings: &mut Vec<Finding>,
    ) {
        let o = &self.options;
        // The replication offset moves only once a replica has connected; the
        // bytes the server reads (reads included) bound the writes from above.
        let measures = |text: &str| {
            (
                field(text, "master_repl_offset"),
                field(text, "total_net_input_bytes"),
            )
        };
        let Ok(before) = con.info("all").await else {
            return;
        };
        let started = Instant::now();
        tokio::time::sleep(o.sample).await;
        let Ok(after) = con.info("all").await else {
            return;
        };
        let ((Some(a), input_a), (Some(b), input_b)) = (measures(&before), measures(&after)) else {
            return;
        };
        let written = match (b.saturating_sub(a), input_a, input_b) {
            (0, Some(x), Some(y)) => y.saturating_sub(x),
            (moved, _, _) => moved,
        };
        let rate = written as f64 / started.elapsed().as_secs_f64().max(0.001);
        let backlog = con
            .config_get("repl-backlog-size")
            .await
            .ok()
            .flatten()
            .and_then(|v| parse_size(&v));
        match backlog {
            None => findings.push(note(
                "backlog",
                server,
                "repl-backlog-size cannot be read (CONFIG refused)".into(),
            )),
            Some(size) if rate > 0.0 => {
                let seconds = size as f64 / rate;
                let wanted = (rate * o.backlog_seconds as f64) as u64;
                if seconds < o.backlog_seconds as f64 {
                    findings.push(finding(
                    Severity::Warning,
                        "backlog",
                        server,
                        format!(
                            "repl-backlog-size {size} holds {seconds:.0} s of writes at {rate:.0} bytes/s: a link down longer costs a full resync"
                        ),
                        format!("CONFIG SET repl-backlog-size {wanted}"),
                    ));
                } else {
                    findings.push(note(
                        "backlog",
                        server,
                        format!("repl-backlog-size {size} holds {seconds:.0} s of writes at {rate:.0} bytes/s"),
                    ));
                }
            }
            Some(size) => findings.push(note(
                "backlog",
                server,
                format!("repl-backlog-size {size}; no writes seen in {:?}", o.sample),
            )),
        }
        // While the RDB is made and sent, the writes wait in the replica's
        // output buffer; the RDB is sized by the dataset, sent at an assumed
        // 100 MB/s after 5 s of making.
        let limits = con
            .config_get("client-output-buffer-limit")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        if let Some(hard) = replica_limit(&limits)
            && hard > 0
        {
            let seconds = 5.0 + dataset as f64 / 100e6;
            let queued = (rate * seconds) as u64;
            if queued > hard {
                findings.push(finding(
                    Severity::Blocker,
                    "output-buffer",
                    server,
                    format!(
                        "client-output-buffer-limit replica {hard}: about {queued} bytes of writes queue while the RDB of {dataset} bytes is made and sent ({seconds:.0} s at {rate:.0} bytes/s); the replica link would be cut, again and again"
                    ),
                    format!("CONFIG SET client-output-buffer-limit \"replica {} 0 0\"", queued * 2),
                ));
            }
        }
    }

    async fn check_target(
        &self,
        target: &Endpoint,
        topology: &Topology,
        facts: &[SourceFacts],
        findings: &mut Vec<Finding>,
    ) {
        let o = &self.options;
        let (cluster, nodes) = match topology {
            Topology::Cluster(shards) => (true, shards.iter().map(|s| s.master.clone()).collect()),
            _ => (false, vec![target.clone()]),
        };
        let server = format!("target {}", target.addr());
        let mut con = match Connection::connect(target, &o.target_connect).await {
            Ok(con) => con,
            Err(e) => {
                findings.push(finding(
                    Severity::Blocker,
                    "connect",
                    &server,
                    e.to_string(),
                    "check the address, the credentials and TLS",
                ));
                return;
            }
        };
        let proxy = o.target_mode == TargetMode::Proxy;
        if proxy && o.writes {
            self.through_proxy(&server, facts, findings);
        }
        let Ok(info) = con.server_info().await else {
            if proxy {
                let text = "the proxy answers no INFO: versions, memory and modules not checked";
                findings.push(note("proxy", &server, text.into()));
            } else {
                findings.push(finding(
                    Severity::Blocker,
                    "connect",
                    &server,
                    "INFO refused".into(),
                    "check the credentials",
                ));
            }
            return;
        };
        if cluster {
            let text = match con.request(&["CLUSTER", "INFO"]).await {
                Ok(Frame::BulkString(b) | Frame::VerbatimString { text: b, .. }) => {
                    String::from_utf8_lossy(&b).into_owned()
                }
                _ => String::new(),
            };
            let state = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("cluster_state:"))
                .unwrap_or("");
            let assigned = field(&text, "cluster_slots_assigned").unwrap_or(0);
            let ok = field(&text, "cluster_slots_ok").unwrap_or(0);
            if state != "ok"
                || assigned < u64::from(endpoint::SLOTS)
                || ok < u64::from(endpoint::SLOTS)
            {
                findings.push(finding(
                    Severity::Blocker,
                    "cluster",
                    &server,
                    format!("cluster_state {state}, {assigned} of {} slots assigned, {ok} ok", endpoint::SLOTS),
                    "assign every slot to a healthy master (CLUSTER ADDSLOTS, or redis-cli --cluster fix)",
                ));
            }
        }
        if !o.writes {
            return;
        }
        if facts.iter().any(|f| f.functions) && !info.has_functions() {
            if o.drop_functions {
                findings.push(finding(
                    Severity::Warning,
                    "functions",
                    &server,
                    "the target holds no function libraries: the sources' are left out".into(),
                    String::new(),
                ));
            } else {
                findings.push(finding(
                    Severity::Blocker,
                    "functions",
                    &server,
                    "the sources hold function libraries; the target (before Redis 7.0) cannot"
                        .into(),
                    "a target of Redis 7.0 or later, or --drop-functions",
                ));
            }
        }
        if facts.iter().any(|f| f.info.has_field_ttls())
            && !info.has_field_ttls()
            && !o.drop_field_ttls
        {
            findings.push(finding(
                    Severity::Warning,
                "field-ttls",
                &server,
                "the sources can hold hash field TTLs, the target cannot: a hash with one stops the copy".into(),
                "a target of Redis 7.4+ or Valkey 9+, or --drop-field-ttls",
            ));
        }
        let target_modules = modules(&mut con).await;
        for f in facts {
            for m in f.modules.iter().filter(|m| !target_modules.contains(m)) {
                findings.push(finding(
                    Severity::Warning,
                    "modules",
                    &server,
                    format!("module {m} is loaded on a source, not on the target: its values cannot be written"),
                    "load the module on the target, or --skip-type module",
                ));
            }
            let written_by = f.info.flavor;
            let version = u32::from(f.info.rdb_version());
            if !info.reads_rdb(version, written_by) {
                findings.push(note(
                    "rdb-version",
                    &server,
                    format!("the target does not read RDB {version} of the sources: payloads are re-encoded for it (or written as commands)"),
                ));
            }
        }
        let dataset: u64 = facts.iter().map(|f| f.dataset).sum();
        let mut maxmemory = 0u64;
        let mut unlimited = false;
        let mut policy = String::new();
        let mut keys = 0u64;
        let mut bulk = None;
        for node in &nodes {
            let Ok(mut c) = Connection::connect(node, &o.target_connect).await else {
                continue;
            };
            match c
                .config_get("maxmemory")
                .await
                .ok()
                .flatten()
                .and_then(|v| parse_size(&v))
            {
                Some(0) | None => unlimited = true,
                Some(m) => maxmemory += m,
            }
            if let Ok(Some(p)) = c.config_get("maxmemory-policy").await {
                policy = p;
            }
            let text = c.info("keyspace").await.unwrap_or_default();
            keys += endpoint::keyspace(&text)
                .into_iter()
                .map(|(_, n)| n)
                .sum::<u64>();
            // The smallest node's limit is the target's.
            let node_bulk = c
                .config_get("proto-max-bulk-len")
                .await
                .ok()
                .flatten()
                .and_then(|v| parse_size(&v));
            bulk = bulk.into_iter().chain(node_bulk).min();
        }
        if !unlimited && maxmemory > 0 && dataset > 0 && maxmemory < dataset + dataset / 10 {
            findings.push(finding(
                    Severity::Blocker,
                "maxmemory",
                &server,
                format!("maxmemory {maxmemory} against the sources' dataset of {dataset} bytes (and 10% to spare)"),
                format!("CONFIG SET maxmemory {} or more", dataset + dataset / 5),
            ));
        }
        if !unlimited && maxmemory > 0 && !policy.is_empty() && policy != "noeviction" {
            findings.push(finding(
                Severity::Warning,
                "eviction",
                &server,
                format!("maxmemory-policy {policy}: a full target evicts copied keys silently"),
                "CONFIG SET maxmemory-policy noeviction",
            ));
        }
        let source_bulk = facts.iter().filter_map(|f| f.proto_max_bulk_len).max();
        if let (Some(t), Some(s)) = (bulk, source_bulk)
            && t < s
        {
            findings.push(finding(
                    Severity::Warning,
                "proto-max-bulk-len",
                &server,
                format!("proto-max-bulk-len {t} is below the sources' {s}: larger values go in pieces as commands"),
                format!("CONFIG SET proto-max-bulk-len {s}"),
            ));
        }
        if keys > 0 {
            findings.push(finding(
                    Severity::Warning,
                "empty",
                &server,
                format!("the target holds {keys} keys already"),
                "empty it first, or choose how existing keys are treated (--existing rewrite|ignore|fail)",
            ));
        }
    }
}

/// Whether the target (read as `topology`) holds a checkpoint of a previous sync
/// for each source shard of `shard_ids` (the key the sync would resume from).
async fn checkpoints(
    name: &str,
    target: &Endpoint,
    topology: &Topology,
    shard_ids: &[String],
    options: &ConnectOptions,
    findings: &mut Vec<Finding>,
) {
    let layout: &[endpoint::Shard] = match topology {
        Topology::Cluster(shards) => shards,
        _ => &[],
    };
    for id in shard_ids {
        let key = format!("{name}:{id}");
        let slot = endpoint::slot(key.as_bytes());
        let node = layout
            .iter()
            .find(|s| s.slots.iter().any(|&(a, b)| (a..=b).contains(&slot)))
            .map_or(target, |s| &s.master);
        let server = format!("target {}", node.addr());
        let Ok(mut con) = Connection::connect(node, options).await else {
            continue;
        };
        match con.request(&["GET", &key]).await {
            Ok(Frame::BulkString(value)) => {
                let value = String::from_utf8_lossy(&value);
                let fields: Vec<&str> = value.split_whitespace().collect();
                findings.push(note(
                    "checkpoint",
                    &server,
                    format!(
                        "a previous sync of source {id} left its checkpoint (replid {}, offset {}, {}): this one resumes from it, with a partial resync while the source's backlog still holds that offset",
                        fields.get(1).unwrap_or(&"?"),
                        fields.get(2).unwrap_or(&"?"),
                        fields.get(4).unwrap_or(&"?")
                    ),
                ));
            }
            Ok(_) => findings.push(note(
                "checkpoint",
                &server,
                format!("no checkpoint of a previous sync of source {id}: the sync begins with a full sync"),
            )),
            Err(_) => {}
        }
    }
}

impl Precheck {
    /// What writing through a proxy means for this job: database 0 only, and no
    /// checkpoints for a sync.
    fn through_proxy(&self, server: &str, facts: &[SourceFacts], findings: &mut Vec<Finding>) {
        let text = "written through a proxy: keys routed by it, database 0 only, no transactions";
        findings.push(note("proxy", server, text.into()));
        let mut dbs: Vec<u64> = facts.iter().flat_map(|f| f.dbs.iter().copied()).collect();
        dbs.sort_unstable();
        dbs.dedup();
        dbs.retain(|db| *db != 0);
        if !dbs.is_empty() {
            let list: Vec<String> = dbs.iter().map(u64::to_string).collect();
            findings.push(finding(
                Severity::Warning,
                "proxy",
                server,
                format!(
                    "the sources hold keys in database {}; a proxy takes database 0 only: the copy stops at the first of them",
                    list.join(", ")
                ),
                "map them to 0 (--db-map N:0) or leave them out (--db 0)",
            ));
        }
        if self.options.checkpoint_name.is_some() {
            findings.push(finding(
                Severity::Warning,
                "proxy",
                server,
                "no checkpoints through a proxy: started again, the sync begins with a full sync, and a command whose reply is lost may be applied twice".into(),
                "write to the deployment's own nodes for exactly-once",
            ));
        }
    }
}

/// How the target is laid out. A node that says it is a cluster but refuses
/// the `CLUSTER` commands is a proxy in front of one (as managed services'
/// endpoints are): a blocker saying so, rather than a failed connection.
async fn target_layout(
    target: &Endpoint,
    options: &ConnectOptions,
    findings: &mut Vec<Finding>,
) -> Option<Topology> {
    let refused = match discover(target, options).await {
        Ok(topology) => return Some(topology),
        Err(endpoint::Error::Server { message, .. }) => message,
        Err(_) => return layout(target, options, "target", findings).await,
    };
    let cluster = match Connection::connect(target, options).await {
        Ok(mut con) => con.server_info().await.is_ok_and(|i| i.cluster_enabled),
        Err(_) => false,
    };
    if !cluster {
        return layout(target, options, "target", findings).await;
    }
    findings.push(finding(
        Severity::Blocker,
        "proxy",
        &format!("target {}", target.addr()),
        format!("the target says it is a cluster (cluster_enabled:1) but refuses CLUSTER commands ({refused}): a proxy in front of one"),
        "--proxy (keys routed by the proxy, database 0 only, no checkpoints), or a cluster node's own address",
    ));
    None
}

/// How a deployment is laid out; a failed discovery is a blocker and gives none.
async fn layout(
    endpoint: &Endpoint,
    options: &ConnectOptions,
    side: &str,
    findings: &mut Vec<Finding>,
) -> Option<Topology> {
    match discover(endpoint, options).await {
        Ok(topology) => Some(topology),
        Err(e) => {
            findings.push(finding(
                Severity::Blocker,
                "connect",
                &format!("{side} {}", endpoint.addr()),
                e.to_string(),
                "check the address, the credentials and TLS",
            ));
            None
        }
    }
}

/// Whether the logged-in user may run the replication handshake.
async fn replication_permission(con: &mut Connection, server: &str, findings: &mut Vec<Finding>) {
    let user = match con.request(&["ACL", "WHOAMI"]).await {
        Ok(Frame::BulkString(u) | Frame::SimpleString(u)) => {
            String::from_utf8_lossy(&u).into_owned()
        }
        _ => {
            findings.push(note(
                "replication",
                server,
                "the user's permissions cannot be read (ACL WHOAMI refused)".into(),
            ));
            return;
        }
    };
    for command in [&["PSYNC", "?", "-1"][..], &["REPLCONF", "capa", "eof"][..]] {
        let mut args = vec!["ACL", "DRYRUN", user.as_str()];
        args.extend_from_slice(command);
        match con.request(&args).await {
            Ok(Frame::SimpleString(ok)) if ok.as_ref() == b"OK" => {}
            Ok(reply) => {
                let why = match &reply {
                    Frame::BulkString(b) | Frame::SimpleString(b) => {
                        String::from_utf8_lossy(b).into_owned()
                    }
                    other => format!("{other:?}"),
                };
                findings.push(finding(
                    Severity::Blocker,
                    "replication",
                    server,
                    format!("user {user} may not run {}: {why}", command[0]),
                    format!("ACL SETUSER {user} +psync +replconf +ping (or +@replication where available)"),
                ));
                return;
            }
            Err(e) if e.server_code().is_some() => {
                findings.push(note(
                    "replication",
                    server,
                    format!("the handshake's permissions cannot be checked here (ACL DRYRUN: {e}); Redis 7.0+ and Valkey tell"),
                ));
                return;
            }
            Err(_) => return,
        }
    }
}

/// The names of the modules a server has loaded (`MODULE LIST`).
async fn modules(con: &mut Connection) -> Vec<String> {
    let Ok(Frame::Array(list)) = con.request(&["MODULE", "LIST"]).await else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for m in list {
        let pairs: Vec<Frame> = match m {
            Frame::Array(v) => v,
            Frame::Map(v) => v.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => continue,
        };
        for kv in pairs.chunks(2) {
            if let [
                Frame::BulkString(k) | Frame::SimpleString(k),
                Frame::BulkString(v) | Frame::SimpleString(v),
            ] = kv
                && k.as_ref() == b"name"
            {
                names.push(String::from_utf8_lossy(v).into_owned());
            }
        }
    }
    names
}

/// A number field of an `INFO` text (`name:value`).
fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.trim().split_once(':')?;
        (k == name).then(|| v.trim().parse().ok()).flatten()
    })
}

/// A size as `CONFIG GET` gives it: bytes, or with a unit (`1mb`, `512k`...).
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().ok()?;
    let unit = match &t[digits.len()..] {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    Some(n * unit)
}

/// The hard limit of the replica class in `client-output-buffer-limit`
/// (`normal 0 0 0 replica 268435456 67108864 60 pubsub ...`).
fn replica_limit(limits: &str) -> Option<u64> {
    let words: Vec<&str> = limits.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "replica" || *w == "slave")?;
    parse_size(words.get(at + 1)?)
}

/// A note: worth knowing, nothing to change.
fn note(check: &'static str, server: &str, message: String) -> Finding {
    finding(Severity::Info, check, server, message, "")
}

fn finding(
    severity: Severity,
    check: &'static str,
    server: &str,
    message: String,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        severity,
        check,
        server: server.to_owned(),
        message,
        fix: fix.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_limits_read_as_the_server_writes_them() {
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("1mb"), Some(1 << 20));
        assert_eq!(parse_size("64k"), Some(64_000));
        assert_eq!(parse_size("x"), None);
        assert_eq!(
            replica_limit("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
            Some(268_435_456)
        );
        assert_eq!(
            field("# Memory\r\nused_memory:12\r\n", "used_memory"),
            Some(12)
        );
    }
}
