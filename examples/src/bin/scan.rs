//! `scan --source URL --target URL`: copies a live source with SCAN + DUMP + PTTL
//! into a target, for sources that forbid PSYNC (managed services).

use anyhow::Context;
use clap::{Parser, ValueEnum};
use endpoint::Endpoint;
use examples::connect::ConnectArgs;
use key_writer::{ExistingKeys, Filter, Writer, WriterOptions};

/// Copy a Redis or Valkey deployment key by key (SCAN + DUMP + RESTORE).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The source: `redis://[user[:password]@]host[:port]`, or `rediss://...` for TLS.
    #[arg(long)]
    source: String,
    /// The target, as the source.
    #[arg(long)]
    target: String,
    /// Keys per SCAN round trip.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// What to do with keys that exist on the target.
    #[arg(long, value_enum, default_value_t = Policy::Rewrite)]
    existing: Policy,
    /// Only keys starting with this prefix (repeatable).
    #[arg(long = "prefix")]
    prefixes: Vec<String>,
    /// Every source database into this one (required for a cluster target when the
    /// source uses other databases than 0).
    #[arg(long)]
    into_db: Option<u64>,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Policy {
    Rewrite,
    Ignore,
    Fail,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = Endpoint::parse(&args.source).context("--source")?;
    let target = Endpoint::parse(&args.target).context("--target")?;
    let options = WriterOptions {
        connect: args.connect.options(),
        existing: match args.existing {
            Policy::Rewrite => ExistingKeys::Rewrite,
            Policy::Ignore => ExistingKeys::Ignore,
            Policy::Fail => ExistingKeys::Fail,
        },
        db_map: args
            .into_db
            .map(key_writer::DbMap::AllTo)
            .unwrap_or_default(),
        filter: Filter {
            prefixes: args
                .prefixes
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            ..Filter::default()
        },
        ..WriterOptions::default()
    };
    let mut writer = Writer::connect(&target, options)
        .await
        .with_context(|| format!("connect to {target}"))?;
    let copied =
        examples::scan::scan_copy(&source, &args.connect.options(), &mut writer, args.batch)
            .await?;
    let s = writer.stats();
    eprintln!(
        "scan: {copied} keys read; {} restored, {} written as commands, {} existing kept, {} filtered",
        s.keys_restored, s.keys_as_commands, s.keys_existing, s.filtered
    );
    Ok(())
}
