//! `verify --source URL|FILE.rdb --target URL`: compares every key in scope of a
//! target with its source, in rounds; one JSON line per difference, then a summary.
//! Exit status 0 when equal, 1 when differences remain, 2 on an error.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use migrate::cli::{ConnectArgs, Job, Printer, Role, RunArgs, WriteArgs, ctrl_c};
use migrate::{DEFAULT_CHECKPOINT_NAME, Verify, VerifyMode, VerifyOptions, VerifySource};

/// Prove that a Redis or Valkey deployment holds what its source holds.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The source: `redis://[user[:password]@]host[:port]` (or `rediss://`), or an
    /// RDB file.
    #[arg(long)]
    source: String,
    /// The target, as a live source.
    #[arg(long)]
    target: String,
    /// What is compared: every value, element counts, or existence and type.
    #[arg(long, value_enum, default_value_t = Mode::Full)]
    mode: Mode,
    /// Rounds in all: keys that differ are compared again, up to this many times.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Milliseconds between rounds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Times to live this close (milliseconds) are equal.
    #[arg(long, default_value_t = 1000)]
    ttl_tolerance_ms: i64,
    /// The sync's expiry grace: target keys expiring within it may outlive their
    /// source key (as `sync --expiry-grace-ms`; 0 for none).
    #[arg(long, default_value_t = 5000)]
    expiry_grace_ms: u64,
    /// Write the JSON lines to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Commands per second at most on each side.
    #[arg(long)]
    qps: Option<u64>,
    /// Keys per SCAN step and pipeline.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Differences kept for the next rounds and listed at most; beyond, they are
    /// counted by kind in the summary ("unlisted"), not compared again.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    max_differences: usize,
    /// Scan every target database for extra keys, also those whose key count
    /// shows every key there was compared already.
    #[arg(long)]
    always_scan_target: bool,
    /// The name the sync's checkpoint keys start with (left out on the target).
    #[arg(long, default_value = DEFAULT_CHECKPOINT_NAME, value_name = "NAME")]
    checkpoint_name: String,
    /// The sync's options: its database selection, mapping and filters decide what
    /// is compared, `--proxy` how the target is reached (its write policies are
    /// accepted and play no part).
    #[command(flatten)]
    write: WriteArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// Every value.
    Full,
    /// Element counts.
    Length,
    /// Existence and type.
    Keys,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("verify: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> anyhow::Result<bool> {
    let args: Args = migrate::cli::parse();
    args.run.output.init();
    let source = if !args.source.contains("://") {
        VerifySource::File(PathBuf::from(&args.source))
    } else {
        VerifySource::Live(args.connect.endpoint(Role::Source, &args.source)?)
    };
    let target = args.connect.endpoint(Role::Target, &args.target)?;
    let sources: Vec<_> = match &source {
        VerifySource::Live(endpoint) => vec![endpoint.clone()],
        _ => Vec::new(),
    };
    let (lossy, mode) = (args.write.lossy, args.write.target_mode());
    args.run
        .check
        .run_if_asked(
            Job::Verify,
            &sources,
            Some((&target, mode)),
            &args.connect,
            lossy,
        )
        .await;
    let mut options = VerifyOptions::default();
    options.source_connect = args.connect.options();
    options.target_connect = args.connect.options();
    options.target_mode = mode;
    options.mode = match args.mode {
        Mode::Full => VerifyMode::Full,
        Mode::Length => VerifyMode::Length,
        Mode::Keys => VerifyMode::Keys,
    };
    options.rounds = args.rounds;
    options.interval = Duration::from_millis(args.interval_ms);
    options.ttl_tolerance_ms = args.ttl_tolerance_ms;
    options.expiry_grace =
        (args.expiry_grace_ms > 0).then(|| Duration::from_millis(args.expiry_grace_ms));
    options.qps = args.qps;
    options.batch = args.batch;
    options.max_differences = args.max_differences;
    options.always_scan_target = args.always_scan_target;
    options.checkpoint_name = args.checkpoint_name;
    options.filter = args.write.filter()?;
    options.db_map = args.write.db_map()?;
    let verify = Verify::new(source, target).options(options);
    args.run.metrics.serve(verify.status())?;
    let printer = Printer::verify(verify.status());
    let report = verify.run(ctrl_c("verify: stopping")).await;
    printer.finish().await;
    let report = report?;
    match &args.report {
        Some(path) => {
            let mut out = BufWriter::new(File::create(path)?);
            report.write_json(&mut out)?;
            out.flush()?;
        }
        None => report.write_json(&mut std::io::stdout().lock())?,
    }
    Ok(report.is_equal())
}
