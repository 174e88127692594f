//! What the programs share (feature `cli`): their command-line options as clap
//! `Args` (so every program, and yours, spells them the same way), config files
//! ([`parse`]), Prometheus metrics ([`MetricsArgs`]), logging, the shutdown signal, and the status lines they print
//! once a second.

mod config;
mod metrics;

pub use config::{parse, try_parse_from};
pub use metrics::{Exported, MetricsArgs};

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use endpoint::{ConnectOptions, Endpoint, Secret, TlsOptions};
use key_writer::{
    DEFAULT_CHECKPOINT_NAME, DatabaseCommands, DbMap, ExistingKeys, Filter, TargetMode,
    WriterOptions,
};
use rdb_parser::Type;
use replica_client::{DEFAULT_GIVE_UP_AFTER, SeedOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::dump::DumpStatus;
use crate::error::{Error, Result};
use crate::precheck::{Precheck, PrecheckOptions, Severity};
use crate::progress::Progress;
use crate::restore::RestoreStatus;
use crate::shard::OnFullResync;
use crate::sync::{SyncOptions, SyncStatus};
use crate::verify::VerifyStatus;

/// TLS and timeout options for `rediss://` and `redis://` URLs.
#[derive(Args, Clone, Debug, Default)]
pub struct ConnectArgs {
    /// Trust the CA certificates in this PEM file (besides the public roots).
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// Present this client certificate (PEM; with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept any server certificate (unsafe: open to man-in-the-middle attacks).
    #[arg(long)]
    pub tls_insecure: bool,
    /// Seconds allowed to connect and log in.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub connect_timeout: u64,
    /// Seconds a reply is awaited before its connection counts as lost (and is
    /// retried); 0 waits forever.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub io_timeout: u64,
    /// The sources' password, read from this file (one line), when their URL has
    /// none; else the `MIGRATE_SOURCE_PASSWORD` environment variable. Either keeps
    /// it out of the process list.
    #[arg(long, value_name = "FILE")]
    pub source_password_file: Option<PathBuf>,
    /// The target's password, from a file, as for the sources (else
    /// `MIGRATE_TARGET_PASSWORD`).
    #[arg(long, value_name = "FILE")]
    pub target_password_file: Option<PathBuf>,
}

/// Which end of a copy a server is, for its password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `--source`: `--source-password-file`, `MIGRATE_SOURCE_PASSWORD`.
    Source,
    /// `--target`: `--target-password-file`, `MIGRATE_TARGET_PASSWORD`.
    Target,
}

impl ConnectArgs {
    /// The connection options these arguments describe.
    pub fn options(&self) -> ConnectOptions {
        let mut tls = TlsOptions::new().danger_accept_invalid_certs(self.tls_insecure);
        if let Some(ca) = &self.tls_ca {
            tls = tls.ca_file(ca);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            tls = tls.client_auth(cert, key);
        }
        ConnectOptions::new()
            .tls(tls)
            .connect_timeout(Duration::from_secs(self.connect_timeout))
            .io_timeout((self.io_timeout > 0).then(|| Duration::from_secs(self.io_timeout)))
    }
}

impl ConnectArgs {
    /// Parses the URL of a `--source` or `--target` (`role`); the error never quotes
    /// it (it may hold a password). A password missing from the URL comes from the
    /// role's password file, else from its environment variable.
    ///
    /// # Errors
    /// [`Error::Options`] naming the option, or the unreadable password file.
    pub fn endpoint(&self, role: Role, url: &str) -> Result<Endpoint> {
        let (option, file, variable) = match role {
            Role::Source => (
                "--source",
                &self.source_password_file,
                "MIGRATE_SOURCE_PASSWORD",
            ),
            Role::Target => (
                "--target",
                &self.target_password_file,
                "MIGRATE_TARGET_PASSWORD",
            ),
        };
        let endpoint =
            Endpoint::parse(url).map_err(|e| Error::Options(format!("{option}: {e}")))?;
        if endpoint.has_password() {
            return Ok(endpoint);
        }
        let password = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
                    what: "read the password file",
                    path: path.clone(),
                    error,
                })?;
                Some(text.trim_end_matches(['\r', '\n']).to_owned())
            }
            None => std::env::var(variable).ok(),
        };
        Ok(match password {
            Some(pw) => endpoint.with_credentials(endpoint.username(), Some(Secret::new(pw))),
            None => endpoint,
        })
    }
}

/// Loading one RDB file into an empty standalone target through replication
/// (`restore --seed`).
#[derive(Args, Clone, Debug)]
pub struct SeedArgs {
    /// Load one RDB file into an empty standalone target by posing as its master
    /// (REPLICAOF, a full resynchronization, REPLICAOF NO ONE): the target loads at
    /// its own start-up speed. The file arrives whole: no filters or db mapping;
    /// converted first (under TMPDIR) when the target cannot read its RDB version.
    #[arg(long)]
    pub seed: bool,
    /// With --seed: listen here for the target's replication link (it must reach it).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub seed_listen: std::net::SocketAddr,
    /// With --seed: the host the target is told to connect to (default: the
    /// listening address).
    #[arg(long)]
    pub seed_announce: Option<String>,
}

impl SeedArgs {
    /// The seed options, with `--seed`.
    pub fn options(&self, connect: ConnectOptions) -> Option<SeedOptions> {
        self.seed.then(|| {
            let mut seed = SeedOptions::default();
            seed.listen = self.seed_listen;
            seed.announce = self.seed_announce.clone();
            seed.connect = connect;
            seed
        })
    }
}

/// The checkpoints of a sync on its target, and what a full resync onto them does
/// (`sync`).
#[derive(Args, Clone, Debug)]
pub struct CheckpointArgs {
    /// The name the checkpoint keys on the target start with.
    #[arg(long, default_value = DEFAULT_CHECKPOINT_NAME, value_name = "NAME")]
    pub checkpoint_name: String,
    /// Keep no checkpoints (a sync started again begins with a full resync).
    #[arg(long)]
    pub no_checkpoints: bool,
    /// When the source sends a full resync onto a target this sync wrote to before:
    /// refuse (stop, saying why), or flush (empty the whole target first; only when
    /// this sync is its only writer).
    #[arg(long, value_enum, default_value_t = FullResyncPolicy::Refuse)]
    pub on_full_resync: FullResyncPolicy,
    /// Remove the checkpoint keys from the target (after a cutover) and exit.
    #[arg(long)]
    pub remove_checkpoints: bool,
}

/// What a full resync onto a target with checkpoints does, as an option value.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FullResyncPolicy {
    /// Stop with an error that says why.
    Refuse,
    /// Empty the whole target first.
    Flush,
    /// Delete the keys the sync covers (filters, db map, the shard's slots) first;
    /// other writers' keys stay.
    DeleteInScope,
}

impl CheckpointArgs {
    /// Sets the checkpoint options of `options`.
    pub fn apply(&self, options: &mut SyncOptions) {
        options.checkpoint_name = (!self.no_checkpoints).then(|| self.checkpoint_name.clone());
        options.on_full_resync = match self.on_full_resync {
            FullResyncPolicy::Refuse => OnFullResync::Refuse,
            FullResyncPolicy::Flush => OnFullResync::Flush,
            FullResyncPolicy::DeleteInScope => OnFullResync::DeleteInScope,
        };
    }
}

/// How a sync keeps its links to the sources through outages and failovers
/// (`sync`).
#[derive(Args, Clone, Debug)]
pub struct SourceLinkArgs {
    /// Another node of a standalone source, one of its replicas (repeatable): when
    /// the link to the master is lost, the sync continues from whichever node is
    /// master now, with a partial resync. A URL without a password takes the
    /// source's credentials. A cluster source's replicas are found by themselves.
    #[arg(long = "source-replica", value_name = "URL")]
    pub source_replicas: Vec<String>,
    /// Seconds a lost link to a source is retried (100 ms to 30 s apart) before
    /// the sync fails; the status line says what is retried and since when.
    #[arg(long, default_value_t = DEFAULT_GIVE_UP_AFTER.as_secs(), value_name = "SECONDS")]
    pub source_retry_for: u64,
}

impl SourceLinkArgs {
    /// Sets the source link options of `options`, for the parsed `sources`.
    ///
    /// # Errors
    /// [`Error::Options`] for a malformed `--source-replica`, or one given with
    /// several sources.
    pub fn apply(
        &self,
        connect: &ConnectArgs,
        sources: &[Endpoint],
        options: &mut SyncOptions,
    ) -> Result<()> {
        options.source_retry_for = Duration::from_secs(self.source_retry_for);
        if self.source_replicas.is_empty() {
            return Ok(());
        }
        let [source] = sources else {
            return Err(Error::Options(
                "--source-replica: the replicas of which --source? Give a single one".into(),
            ));
        };
        options.source_replicas = self
            .source_replicas
            .iter()
            .map(|url| {
                let replica = connect.endpoint(Role::Source, url).map_err(|e| match e {
                    Error::Options(m) => {
                        Error::Options(m.replacen("--source", "--source-replica", 1))
                    }
                    other => other,
                })?;
                Ok(if replica.has_password() {
                    replica
                } else {
                    replica.with_credentials(source.username(), source.password().cloned())
                })
            })
            .collect::<Result<_>>()?;
        Ok(())
    }
}

/// How keys and commands are written into the target (`restore`, `scan`, `sync`).
#[derive(Args, Clone, Debug)]
pub struct WriteArgs {
    /// What to do with keys that exist on the target.
    #[arg(long, value_enum, default_value_t = Policy::Rewrite)]
    pub existing: Policy,
    /// The target is a proxy (one address, no cluster commands, db 0).
    #[arg(long)]
    pub proxy: bool,
    /// Which keys, into which databases.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// FLUSHDB, FLUSHALL and SWAPDB in AOF files and streams.
    #[arg(long, value_enum, default_value_t = DbCommands::Refuse)]
    pub database_commands: DbCommands,
    /// Apply MULTI/EXEC blocks whose keys span cluster slots command by command.
    #[arg(long)]
    pub split_transactions: bool,
    /// Seconds a target in trouble (nodes unreachable, LOADING, TRYAGAIN...) is
    /// retried before giving up (default: 30 for copies, 4 hours for `sync`).
    #[arg(long, value_name = "SECONDS")]
    pub target_retry_for: Option<u64>,
    /// What a target that cannot hold everything may leave out.
    #[command(flatten)]
    pub lossy: LossyArgs,
}

/// Which source keys are in scope and which database each goes to (every
/// program that copies or compares keys).
#[derive(Args, Clone, Debug, Default)]
pub struct ScopeArgs {
    /// Database mapping: `all:N` (every db into N) or `A:B,C:D`.
    #[arg(long)]
    pub db_map: Option<String>,
    /// Only these source databases.
    #[arg(long = "db")]
    pub dbs: Vec<u64>,
    /// Not these source databases.
    #[arg(long = "skip-db")]
    pub skip_dbs: Vec<u64>,
    /// Only keys starting with this prefix (repeatable).
    #[arg(long = "prefix")]
    pub prefixes: Vec<String>,
    /// Only keys matching this regular expression.
    #[arg(long = "match")]
    pub pattern: Option<String>,
    /// Only values of these types (string, list, set, zset, hash, stream, module).
    #[arg(long = "type")]
    pub types: Vec<String>,
    /// Not values of these types (e.g. `module` for a target without the
    /// source's modules).
    #[arg(long = "skip-type")]
    pub skip_types: Vec<String>,
}

/// What may be left out where the target cannot hold it; each is counted in the
/// summary, and without it the copy stops with an error naming what.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct LossyArgs {
    /// Leave out function libraries a target without functions (Redis before 7.0)
    /// cannot hold, counted in the summary (default: stop with an error).
    #[arg(long)]
    pub drop_functions: bool,
    /// Leave out hash field TTLs a target without them (Redis before 7.4, Valkey
    /// before 9.0) cannot keep, the fields kept without one; counted in the
    /// summary (default: stop with an error).
    #[arg(long)]
    pub drop_field_ttls: bool,
}

/// The existing-key policy, as an option value.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Policy {
    /// Replace the target's value.
    Rewrite,
    /// Keep the target's value.
    Ignore,
    /// Stop, naming the key.
    Fail,
}

/// What to do with database-wide commands, as an option value.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DbCommands {
    /// Stop with an error.
    Refuse,
    /// Leave them out.
    Skip,
    /// Apply them.
    Apply,
}

impl WriteArgs {
    /// The writer's options these arguments describe: the filter, then the
    /// database mapping, as hooks.
    ///
    /// # Errors
    /// [`Error::Options`] for a malformed `--db-map`, `--match` or `--type`.
    pub fn writer_options(&self, connect: ConnectOptions) -> Result<WriterOptions> {
        self.writer_options_over(WriterOptions::default(), connect)
    }

    /// The same over `base`, a pipeline's own defaults (e.g. a sync's: expiry
    /// grace, long retries, smaller batches), which the arguments override.
    ///
    /// # Errors
    /// As [`WriteArgs::writer_options`].
    pub fn writer_options_over(
        &self,
        base: WriterOptions,
        connect: ConnectOptions,
    ) -> Result<WriterOptions> {
        let filter = self.scope.filter()?;
        let db_map = self.scope.db_map()?;
        let mut options = WriterOptions {
            connect,
            existing: match self.existing {
                Policy::Rewrite => ExistingKeys::Rewrite,
                Policy::Ignore => ExistingKeys::Ignore,
                Policy::Fail => ExistingKeys::Fail,
            },
            mode: if self.proxy {
                TargetMode::Proxy
            } else {
                TargetMode::Auto
            },
            database_commands: match self.database_commands {
                DbCommands::Refuse => DatabaseCommands::Refuse,
                DbCommands::Skip => DatabaseCommands::Skip,
                DbCommands::Apply => DatabaseCommands::Apply,
            },
            split_transactions: self.split_transactions,
            drop_functions: self.lossy.drop_functions,
            drop_field_ttls: self.lossy.drop_field_ttls,
            ..base
        };
        if let Some(secs) = self.target_retry_for {
            options.retry_for = Duration::from_secs(secs);
        }
        if let Some(filter) = filter {
            options.hooks.push(filter);
        }
        if let Some(map) = db_map {
            options.hooks.push(map);
        }
        Ok(options)
    }

    /// The key filter of `--db`, `--skip-db`, `--prefix`, `--match`, `--type`
    /// and `--skip-type`, if any.
    ///
    /// # Errors
    /// As [`ScopeArgs::filter`].
    pub fn filter(&self) -> Result<Option<Filter>> {
        self.scope.filter()
    }

    /// The database mapping of `--db-map`, if given.
    ///
    /// # Errors
    /// As [`ScopeArgs::db_map`].
    pub fn db_map(&self) -> Result<Option<DbMap>> {
        self.scope.db_map()
    }
}

impl ScopeArgs {
    /// The key filter these arguments describe (`--db`, `--skip-db`, `--prefix`,
    /// `--match`, `--type`, `--skip-type`), if any.
    ///
    /// # Errors
    /// [`Error::Options`] for a malformed `--match` or `--type`.
    pub fn filter(&self) -> Result<Option<Filter>> {
        if !self.filters() {
            return Ok(None);
        }
        Ok(Some(Filter {
            dbs: self.dbs.clone(),
            skip_dbs: self.skip_dbs.clone(),
            prefixes: self
                .prefixes
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            pattern: self
                .pattern
                .as_deref()
                .map(regex::bytes::Regex::new)
                .transpose()
                .map_err(|e| Error::Options(format!("--match: {e}")))?,
            types: self
                .types
                .iter()
                .map(|t| value_type(t, "--type"))
                .collect::<Result<_>>()?,
            skip_types: self
                .skip_types
                .iter()
                .map(|t| value_type(t, "--skip-type"))
                .collect::<Result<_>>()?,
            ..Filter::default()
        }))
    }

    /// The database mapping of `--db-map`, if given.
    ///
    /// # Errors
    /// [`Error::Options`] for a malformed mapping.
    pub fn db_map(&self) -> Result<Option<DbMap>> {
        self.db_map
            .as_deref()
            .map(|m| {
                m.parse()
                    .map_err(|e| Error::Options(format!("--db-map: {e}")))
            })
            .transpose()
    }

    fn filters(&self) -> bool {
        !self.dbs.is_empty()
            || !self.skip_dbs.is_empty()
            || !self.prefixes.is_empty()
            || self.pattern.is_some()
            || !self.types.is_empty()
            || !self.skip_types.is_empty()
    }
}

fn value_type(name: &str, option: &str) -> Result<Type> {
    Ok(match name {
        "string" => Type::String,
        "list" => Type::List,
        "set" => Type::Set,
        "zset" => Type::SortedSet,
        "hash" => Type::Hash,
        "stream" => Type::Stream,
        "module" => Type::Module,
        other => return Err(Error::Options(format!("{option} {other}: not a type"))),
    })
}

/// `--check`: the pre-checks instead of the job.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct CheckArgs {
    /// Check whether the job can succeed (permissions, backlog, output buffers,
    /// versions, memory, cluster state...), print the findings, and exit: 0
    /// without a blocker, 1 with one. Nothing is written.
    #[arg(long)]
    pub check: bool,
}

/// What a job does, for its pre-checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Job {
    /// Replicates from the sources into the target (`sync`).
    Sync,
    /// Reads the sources (or files) and writes the target (`scan`, `restore`).
    Copy,
    /// Reads both sides (`verify`).
    Verify,
}

impl CheckArgs {
    /// With `--check`: runs the pre-checks of `job` from `sources` to `target`,
    /// prints each finding on stdout (blockers first), and exits with 0 without
    /// a blocker, 1 with one. Without it, returns at once.
    pub async fn run_if_asked(
        &self,
        job: Job,
        sources: &[Endpoint],
        target: Option<&Endpoint>,
        connect: &ConnectArgs,
        lossy: LossyArgs,
    ) {
        if !self.check {
            return;
        }
        let mut options = PrecheckOptions::default();
        options.source_connect = connect.options();
        options.target_connect = connect.options();
        options.replication = job == Job::Sync;
        options.writes = job != Job::Verify;
        options.drop_functions = lossy.drop_functions;
        options.drop_field_ttls = lossy.drop_field_ttls;
        let findings = Precheck::new(sources.to_vec(), target.cloned())
            .options(options)
            .run()
            .await
            .unwrap_or_default();
        for f in &findings {
            println!("{f}");
        }
        let blockers = findings
            .iter()
            .filter(|f| f.severity == Severity::Blocker)
            .count();
        println!("check: {blockers} blockers, {} findings", findings.len());
        std::process::exit(i32::from(blockers > 0));
    }
}

/// Logs warnings (reconnections, full resyncs) to stderr as text; `RUST_LOG` asks
/// for more. [`LogArgs::init`] lets the command line choose JSON.
pub fn init_logging() {
    LogArgs::default().init();
}

/// `--log-format`: how the programs' log lines are written to stderr.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct LogArgs {
    /// Log lines on stderr as text, or as JSON objects (one per line, for log
    /// collectors); RUST_LOG asks for more than warnings.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line: time, level, target, message and fields.
    Json,
}

impl LogArgs {
    /// Installs the logger: warnings and errors to stderr (`RUST_LOG` for more),
    /// in the chosen format. The status and summary lines are not log lines:
    /// they stay as they are.
    pub fn init(&self) {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let logger = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter);
        match self.log_format {
            LogFormat::Text => logger.init(),
            LogFormat::Json => logger.json().init(),
        }
    }
}

/// Completes at Ctrl-C (SIGINT), after printing `saying` to stderr.
pub async fn ctrl_c(saying: &'static str) {
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("{saying}");
    } else {
        // No signal handling here: run until the pipeline ends by itself.
        std::future::pending::<()>().await;
    }
}

/// Prints status lines to stderr while a pipeline runs: once a second, and at once
/// for events worth a line of their own (an RDB loaded, a file done).
#[derive(Debug)]
pub struct Printer(JoinHandle<()>, watch::Sender<bool>);

impl Printer {
    /// Prints from `status` with `lines(status, tick)`: called at each change with
    /// `tick` false, and once a second with `tick` true; and once more at
    /// [`Printer::finish`].
    pub fn start<S: Send + Sync + 'static>(
        mut status: watch::Receiver<S>,
        mut lines: impl FnMut(&S, bool) -> Vec<String> + Send + 'static,
    ) -> Printer {
        let (done_tx, mut done) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.tick().await;
            let mut live = true;
            loop {
                let tick = tokio::select! {
                    _ = every.tick() => true,
                    changed = status.changed(), if live => {
                        // The pipeline is gone: only the ticks and the end are left.
                        live = changed.is_ok();
                        false
                    }
                    _ = done.changed() => {
                        for line in lines(&status.borrow(), false) {
                            eprintln!("{line}");
                        }
                        return;
                    }
                };
                for line in lines(&status.borrow_and_update(), tick) {
                    eprintln!("{line}");
                }
            }
        });
        Printer(task, done_tx)
    }

    /// Prints the last lines and stops.
    pub async fn finish(self) {
        let _ = self.1.send(true);
        let _ = self.0.await;
    }

    /// The lines of a sync: each shard's line once a second, and a `sync rdb done`
    /// line as each RDB is loaded.
    pub fn sync(status: watch::Receiver<SyncStatus>) -> Printer {
        let mut printed: Vec<u64> = Vec::new();
        Printer::start(status, move |s, tick| {
            let mut out = Vec::new();
            printed.resize(s.shards.len(), 0);
            for (shard, seen) in s.shards.iter().zip(&mut printed) {
                if shard.rdbs_done > *seen {
                    *seen = shard.rdbs_done;
                    if let Some(done) = &shard.last_rdb {
                        out.push(done.to_string());
                    }
                }
            }
            if tick {
                out.extend(s.shards.iter().map(ToString::to_string));
            }
            out
        })
    }

    /// The lines of a restore: a progress line per file once a second, and its
    /// last line when it is done.
    pub fn restore(status: watch::Receiver<RestoreStatus>) -> Printer {
        let mut printed: Vec<bool> = Vec::new();
        Printer::start(status, move |s, tick| {
            printed.resize(s.files.len(), false);
            let mut out = Vec::new();
            for (file, printed) in s.files.iter().zip(&mut printed) {
                if file.done && !*printed {
                    *printed = true;
                    out.push(file.to_string());
                } else if tick && !file.done {
                    out.push(file.to_string());
                }
            }
            out
        })
    }

    /// A progress line once a second, and the last one at the end.
    pub fn progress(status: watch::Receiver<Progress>) -> Printer {
        let mut ended = false;
        Printer::start(status, move |p: &Progress, tick| {
            if (tick && !p.done) || (p.done && !std::mem::replace(&mut ended, true)) {
                vec![p.to_string()]
            } else {
                Vec::new()
            }
        })
    }

    /// The progress line of a verification once a second, a line as each round
    /// after the first starts, and the last line at the end.
    pub fn verify(status: watch::Receiver<VerifyStatus>) -> Printer {
        let (mut round, mut ended) = (1, false);
        Printer::start(status, move |s: &VerifyStatus, tick| {
            let new_round = std::mem::replace(&mut round, s.round) != s.round;
            if (tick && !s.done) || new_round || (s.done && !std::mem::replace(&mut ended, true)) {
                vec![s.to_string()]
            } else {
                Vec::new()
            }
        })
    }

    /// The bytes each shard of a dump has received, once a second.
    pub fn dump(status: watch::Receiver<DumpStatus>) -> Printer {
        Printer::start(status, |s: &DumpStatus, tick| {
            if !tick {
                return Vec::new();
            }
            s.shards
                .iter()
                .map(|(source, bytes)| format!("dump: {source}: {bytes} bytes received"))
                .collect()
        })
    }
}
