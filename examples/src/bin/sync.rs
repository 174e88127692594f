//! `sync --source URL --target URL`: full sync, then the live stream, until Ctrl-C.
//! A cluster source runs one replica per master; several `--source` options merge
//! several sources into one target. A lost link is retried for `--source-retry-for`
//! seconds; `--source-replica` names a standalone source's replicas, to follow a
//! failover (a cluster's are found by themselves).

use std::time::Duration;

use clap::Parser;
use migrate::cli::{
    CheckpointArgs, ConnectArgs, Job, Printer, Role, RunArgs, SourceLinkArgs, WriteArgs, ctrl_c,
};
use migrate::{Sync, SyncOptions, SyncReport};

/// Keep a Redis or Valkey deployment in sync with another.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A source: `redis://[user[:password]@]host[:port]` or `rediss://...` (repeatable).
    #[arg(long = "source", required_unless_present = "remove_checkpoints")]
    sources: Vec<String>,
    /// The target, as a source.
    #[arg(long)]
    target: String,
    #[command(flatten)]
    write: WriteArgs,
    #[command(flatten)]
    checkpoints: CheckpointArgs,
    #[command(flatten)]
    link: SourceLinkArgs,
    /// Milliseconds an expiry already past stays on the target, waiting for the
    /// source's DEL (keys expiring during the sync are not lost).
    #[arg(long, default_value_t = 5000)]
    expiry_grace_ms: u64,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    args.run.output.init();
    let target = args.connect.endpoint(Role::Target, &args.target)?;
    if args.checkpoints.remove_checkpoints {
        let name = &args.checkpoints.checkpoint_name;
        let removed = migrate::remove_checkpoints(&target, args.connect.options(), name).await?;
        eprintln!("sync: {removed} checkpoint keys removed from {target}");
        return Ok(());
    }
    let sources = args
        .sources
        .iter()
        .map(|s| args.connect.endpoint(Role::Source, s))
        .collect::<Result<Vec<_>, _>>()?;
    let lossy = args.write.lossy;
    args.run
        .check
        .run_if_asked(
            Job::Sync {
                checkpoint_name: (!args.checkpoints.no_checkpoints)
                    .then(|| args.checkpoints.checkpoint_name.clone()),
            },
            &sources,
            Some(&target),
            &args.connect,
            lossy,
        )
        .await;
    let mut options = SyncOptions::default();
    args.checkpoints.apply(&mut options);
    args.link.apply(&args.connect, &sources, &mut options)?;
    options.source_connect = args.connect.options();
    options.writer = args
        .write
        .writer_options_over(options.writer, args.connect.options())?;
    options.writer.expiry_grace = Some(Duration::from_millis(args.expiry_grace_ms));
    let sync = Sync::new(sources, target).options(options);
    let status = sync.status();
    args.run.metrics.serve(status.clone())?;
    let printer = Printer::sync(status.clone());
    let result = sync
        .run(ctrl_c("sync: stopping: finishing the writes in flight"))
        .await;
    printer.finish().await;
    // The offsets to resume from, whether the sync stopped or failed.
    eprint!("{}", SyncReport::from(&*status.borrow()));
    result?;
    Ok(())
}
