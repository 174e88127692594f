//! Command-line options for writing into a target, shared by `restore`, `scan` and
//! `sync`: the existing-key policy, the target mode, database mapping, filters and
//! database-wide commands.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use endpoint::ConnectOptions;
use key_writer::{DatabaseCommands, DbMap, ExistingKeys, Filter, TargetMode, WriterOptions};
use rdb_parser::Type;

/// How keys and commands are written into the target.
#[derive(Args, Clone, Debug)]
pub struct WriteArgs {
    /// What to do with keys that exist on the target.
    #[arg(long, value_enum, default_value_t = Policy::Rewrite)]
    pub existing: Policy,
    /// The target is a proxy (one address, no cluster commands, db 0).
    #[arg(long)]
    pub proxy: bool,
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
    /// FLUSHDB, FLUSHALL and SWAPDB in AOF files and streams.
    #[arg(long, value_enum, default_value_t = DbCommands::Refuse)]
    pub database_commands: DbCommands,
    /// Apply MULTI/EXEC blocks whose keys span cluster slots command by command.
    #[arg(long)]
    pub split_transactions: bool,
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
    /// Whether any filter or database mapping is asked for.
    pub fn filters_or_mapping(&self) -> bool {
        self.db_map.is_some()
            || !self.dbs.is_empty()
            || !self.skip_dbs.is_empty()
            || !self.prefixes.is_empty()
            || self.pattern.is_some()
            || !self.types.is_empty()
    }

    /// The writer's options these arguments describe.
    ///
    /// # Errors
    /// A malformed `--db-map`, `--match` or `--type`.
    pub fn writer_options(&self, connect: ConnectOptions) -> anyhow::Result<WriterOptions> {
        let filter = Filter {
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
                .context("--match")?,
            types: self
                .types
                .iter()
                .map(|t| value_type(t))
                .collect::<anyhow::Result<_>>()?,
            ..Filter::default()
        };
        Ok(WriterOptions {
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
            db_map: self
                .db_map
                .as_deref()
                .map(db_map)
                .transpose()?
                .unwrap_or_default(),
            database_commands: match self.database_commands {
                DbCommands::Refuse => DatabaseCommands::Refuse,
                DbCommands::Skip => DatabaseCommands::Skip,
                DbCommands::Apply => DatabaseCommands::Apply,
            },
            split_transactions: self.split_transactions,
            filter,
            ..WriterOptions::default()
        })
    }
}

fn db_map(text: &str) -> anyhow::Result<DbMap> {
    if let Some(to) = text.strip_prefix("all:") {
        return Ok(DbMap::AllTo(to.parse().context("--db-map all:N")?));
    }
    let mut map = BTreeMap::new();
    for pair in text.split(',') {
        let (a, b) = pair.split_once(':').context("--db-map takes A:B pairs")?;
        map.insert(
            a.parse().context("--db-map")?,
            b.parse().context("--db-map")?,
        );
    }
    Ok(DbMap::Map(map))
}

fn value_type(name: &str) -> anyhow::Result<Type> {
    Ok(match name {
        "string" => Type::String,
        "list" => Type::List,
        "set" => Type::Set,
        "zset" => Type::SortedSet,
        "hash" => Type::Hash,
        "stream" => Type::Stream,
        "module" => Type::Module,
        other => bail!("--type {other}: not a type"),
    })
}
