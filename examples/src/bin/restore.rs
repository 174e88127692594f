//! `restore --target URL FILE...`: RDB files, AOF files and multi-part AOF
//! directories into a standalone, cluster or proxy target.

use std::path::PathBuf;

use clap::Parser;
use migrate::cli::{ConnectArgs, Printer, WriteArgs, endpoint};
use migrate::{Restore, RestoreOptions, SeedOptions};
use rdb_parser::ParseOptions;

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
    /// Refuse to start unless the target holds no key.
    #[arg(long)]
    check_empty: bool,
    #[command(flatten)]
    write: WriteArgs,
    /// Write every key with commands instead of RESTORE.
    #[arg(long)]
    commands: bool,
    /// Read RDB files whose version is newer than this program knows.
    #[arg(long)]
    lenient: bool,
    /// Restore this many files at once, each with its own connections (RDB files of
    /// the shards of a cluster, say). AOF files are always replayed in order, after.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Load one RDB file into an empty standalone target by posing as its master
    /// (REPLICAOF, a full resynchronization, REPLICAOF NO ONE): the target loads at
    /// its own start-up speed. The file arrives whole: no filters or db mapping.
    #[arg(long)]
    seed: bool,
    /// With --seed: listen here for the target's replication link (it must reach it).
    #[arg(long, default_value = "127.0.0.1:0")]
    seed_listen: std::net::SocketAddr,
    /// With --seed: the host the target is told to connect to (default: the
    /// listening address).
    #[arg(long)]
    seed_announce: Option<String>,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut options = RestoreOptions::default();
    options.writer = args.write.writer_options(args.connect.options())?;
    options.writer.force_commands = args.commands;
    options.parse = ParseOptions::default().lenient_version(args.lenient);
    (options.jobs, options.check_empty) = (args.jobs, args.check_empty);
    if args.seed {
        let mut seed = SeedOptions::default();
        (seed.listen, seed.announce) = (args.seed_listen, args.seed_announce);
        seed.connect = args.connect.options();
        options.seed = Some(seed);
    }
    let restore = Restore::new(endpoint("--target", &args.target)?, args.files).options(options);
    let printer = Printer::restore(restore.status());
    let report = restore.run(std::future::pending()).await;
    printer.finish().await;
    eprint!("{}", report?);
    Ok(())
}
