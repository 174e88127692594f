//! `convert IN OUT --rdb-version N [--valkey]`: an RDB file rewritten for
//! another server (an older Redis, or Valkey 9), which then loads it at start-up.

use std::path::PathBuf;

use clap::Parser;
use migrate::cli::{LossyArgs, ScopeArgs};
use migrate::{Convert, ConvertOptions};

/// Rewrite a Redis or Valkey RDB file in the format of another server.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The RDB file read.
    input: PathBuf,
    /// The RDB file written (replaced once complete).
    output: PathBuf,
    /// The Redis RDB version written: 9 for Redis 6.0 and 6.2, 10 for 7.0, 11 for
    /// 7.2, 12 for 7.4.
    #[arg(long, default_value_t = 11, value_name = "N")]
    rdb_version: u32,
    /// Write Valkey 9's format instead.
    #[arg(long, conflicts_with = "rdb_version")]
    valkey: bool,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    lossy: LossyArgs,
}

fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    let mut options = ConvertOptions::default();
    (options.rdb_version, options.valkey) = (args.rdb_version, args.valkey);
    options.filter = args.scope.filter()?;
    options.db_map = args.scope.db_map()?;
    options.drop_functions = args.lossy.drop_functions;
    options.drop_field_ttls = args.lossy.drop_field_ttls;
    let report = Convert::new(args.input, args.output)
        .options(options)
        .run()?;
    eprint!("{report}");
    Ok(())
}
