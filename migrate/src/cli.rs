//! What the programs share (feature `cli`): their command-line options as clap
//! `Args` (so every program, and yours, spells them the same way), config files
//! ([`parse`]), pre-checks ([`CheckArgs`]), Prometheus metrics ([`MetricsArgs`]),
//! logging and progress bars ([`OutputArgs`]), the shutdown signal, and the status lines they print
//! once a second ([`Printer`]).

mod check;
mod config;
mod metrics;
mod output;
mod printer;

pub use check::{CheckArgs, Job};
pub use config::{parse, try_parse_from};
pub use metrics::{Exported, MetricsArgs};
pub use output::{LogFormat, OutputArgs, ProgressStyle, init_logging};
pub use printer::{Bar, Printer, ctrl_c};

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

use crate::error::{Error, Result};
use crate::shard::OnFullResync;
use crate::sync::SyncOptions;

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

/// How a long-running program runs beside its job: its metrics, its output and
/// its pre-checks (`--metrics-addr`, `--log-format`, `--progress`, `--check`).
#[derive(Args, Clone, Debug, Default)]
pub struct RunArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: OutputArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub check: CheckArgs,
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
    /// How the target is reached: `--proxy`, or as it says.
    pub fn target_mode(&self) -> TargetMode {
        if self.proxy {
            TargetMode::Proxy
        } else {
            TargetMode::Auto
        }
    }

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
            mode: self.target_mode(),
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
