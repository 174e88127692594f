//! `restore --target URL FILE...`: RDB files, AOF files and multi-part AOF
//! directories into a standalone, cluster or proxy target.

use std::path::PathBuf;

use clap::Parser;
use migrate::cli::{ConnectArgs, Job, Printer, Role, RunArgs, SeedArgs, WriteArgs};
use migrate::{Restore, RestoreOptions};
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
    #[command(flatten)]
    seed: SeedArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    args.run.output.init();
    let mut options = RestoreOptions::default();
    options.writer = args.write.writer_options(args.connect.options())?;
    options.writer.force_commands = args.commands;
    options.parse = ParseOptions::default().lenient_version(args.lenient);
    (options.jobs, options.check_empty) = (args.jobs, args.check_empty);
    options.seed = args.seed.options(args.connect.options());
    let target = args.connect.endpoint(Role::Target, &args.target)?;
    let (lossy, mode) = (args.write.lossy, args.write.target_mode());
    args.run
        .check
        .run_if_asked(Job::Copy, &[], Some((&target, mode)), &args.connect, lossy)
        .await;
    let restore = Restore::new(target, args.files).options(options);
    args.run.metrics.serve(restore.status())?;
    let printer = Printer::restore(restore.status());
    let report = restore.run(std::future::pending()).await;
    printer.finish().await;
    eprint!("{}", report?);
    Ok(())
}
