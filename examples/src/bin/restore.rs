//! `restore --target URL FILE...`: RDB files, AOF files and multi-part AOF
//! directories into a standalone, cluster or proxy target.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use endpoint::Endpoint;
use examples::connect::ConnectArgs;
use examples::restore::{is_rdb, restore_aof, restore_rdb};
use key_writer::{
    DatabaseCommands, DbMap, ExistingKeys, Filter, TargetMode, Writer, WriterOptions,
};
use rdb_parser::{ParseOptions, Type};

/// Restore RDB and AOF files into a Redis or Valkey deployment.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The target: `redis://[user[:password]@]host[:port]`, or `rediss://...` for TLS.
    #[arg(long)]
    target: String,
    /// RDB files, AOF files, or multi-part AOF directories (`appendonlydir`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// What to do with keys that exist on the target.
    #[arg(long, value_enum, default_value_t = Policy::Rewrite)]
    existing: Policy,
    /// Refuse to start unless the target holds no key.
    #[arg(long)]
    check_empty: bool,
    /// The target is a proxy (one address, no cluster commands, db 0).
    #[arg(long)]
    proxy: bool,
    /// Database mapping: `all:N` (every db into N) or `A:B,C:D`.
    #[arg(long)]
    db_map: Option<String>,
    /// Only these source databases.
    #[arg(long = "db")]
    dbs: Vec<u64>,
    /// Not these source databases.
    #[arg(long = "skip-db")]
    skip_dbs: Vec<u64>,
    /// Only keys starting with this prefix (repeatable).
    #[arg(long = "prefix")]
    prefixes: Vec<String>,
    /// Only keys matching this regular expression.
    #[arg(long = "match")]
    pattern: Option<String>,
    /// Only values of these types (string, list, set, zset, hash, stream, module).
    #[arg(long = "type")]
    types: Vec<String>,
    /// FLUSHDB, FLUSHALL and SWAPDB in AOF files.
    #[arg(long, value_enum, default_value_t = DbCommands::Refuse)]
    database_commands: DbCommands,
    /// Write every key with commands instead of RESTORE.
    #[arg(long)]
    commands: bool,
    /// Read RDB files whose version is newer than this program knows.
    #[arg(long)]
    lenient: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Policy {
    Rewrite,
    Ignore,
    Fail,
}

#[derive(Clone, Copy, ValueEnum)]
enum DbCommands {
    Refuse,
    Skip,
    Apply,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = Endpoint::parse(&args.target).context("--target")?;
    let filter = Filter {
        dbs: args.dbs.clone(),
        skip_dbs: args.skip_dbs.clone(),
        prefixes: args
            .prefixes
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect(),
        pattern: args
            .pattern
            .as_deref()
            .map(regex::bytes::Regex::new)
            .transpose()
            .context("--match")?,
        types: args
            .types
            .iter()
            .map(|t| value_type(t))
            .collect::<anyhow::Result<_>>()?,
        ..Filter::default()
    };
    let options = WriterOptions {
        connect: args.connect.options(),
        existing: match args.existing {
            Policy::Rewrite => ExistingKeys::Rewrite,
            Policy::Ignore => ExistingKeys::Ignore,
            Policy::Fail => ExistingKeys::Fail,
        },
        mode: if args.proxy {
            TargetMode::Proxy
        } else {
            TargetMode::Auto
        },
        db_map: args
            .db_map
            .as_deref()
            .map(db_map)
            .transpose()?
            .unwrap_or_default(),
        database_commands: match args.database_commands {
            DbCommands::Refuse => DatabaseCommands::Refuse,
            DbCommands::Skip => DatabaseCommands::Skip,
            DbCommands::Apply => DatabaseCommands::Apply,
        },
        force_commands: args.commands,
        filter,
        ..WriterOptions::default()
    };
    let mut writer = Writer::connect(&target, options)
        .await
        .with_context(|| format!("connect to {target}"))?;
    if args.check_empty {
        writer.check_empty().await?;
    }
    let parse = ParseOptions::default().lenient_version(args.lenient);
    for path in &args.files {
        if is_rdb(path)? {
            restore_rdb(&mut writer, path, parse).await?;
        } else {
            restore_aof(&mut writer, path, parse).await?;
        }
    }
    let s = writer.stats();
    eprintln!(
        "restore: {} keys restored, {} written as commands, {} expired, {} existing kept, {} filtered, {} commands, {} functions, {} bytes",
        s.keys_restored,
        s.keys_as_commands,
        s.keys_expired,
        s.keys_existing,
        s.filtered,
        s.commands,
        s.functions,
        s.bytes
    );
    Ok(())
}
