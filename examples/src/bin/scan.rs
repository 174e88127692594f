//! `scan --source URL --target URL`: copies a live source with SCAN + DUMP + PTTL
//! into a target, for sources that forbid PSYNC (managed services).

use clap::Parser;
use migrate::cli::{ConnectArgs, Job, Printer, Role, RunArgs, WriteArgs};
use migrate::{Scan, ScanOptions};

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
    #[command(flatten)]
    write: WriteArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    args.run.output.init();
    let mut options = ScanOptions::default();
    options.source_connect = args.connect.options();
    options.writer = args.write.writer_options(args.connect.options())?;
    options.batch = args.batch;
    let (source, target) = (
        args.connect.endpoint(Role::Source, &args.source)?,
        args.connect.endpoint(Role::Target, &args.target)?,
    );
    let (lossy, mode) = (args.write.lossy, args.write.target_mode());
    let sources = [source.clone()];
    args.run
        .check
        .run_if_asked(
            Job::Copy,
            &sources,
            Some((&target, mode)),
            &args.connect,
            lossy,
        )
        .await;
    let scan = Scan::new(source, target).options(options);
    args.run.metrics.serve(scan.status())?;
    let printer = Printer::progress(scan.status());
    let report = scan.run(std::future::pending()).await;
    printer.finish().await;
    eprint!("{}", report?);
    Ok(())
}
