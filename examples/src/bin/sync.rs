//! `sync --source URL --target URL`: full sync, then the live stream, until Ctrl-C.
//! A cluster source runs one replica per master; several `--source` options merge
//! several sources into one target. A lost link is retried for `--source-retry-for`
//! seconds; `--source-replica` names a standalone source's replicas, to follow a
//! failover (a cluster's are found by themselves). `--bidirectional` keeps the
//! source and the target in sync with each other, both taking writes.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use migrate::cli::{
    CheckpointArgs, ConnectArgs, Job, Printer, Role, RunArgs, SourceLinkArgs, WriteArgs, ctrl_c,
};
use migrate::{Side, Sync, SyncOptions, SyncReport, TwoWay, write_conflict};

/// Keep a Redis or Valkey deployment in sync with another.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A source: `redis://[user[:password]@]host[:port]` or `rediss://...` (repeatable).
    #[arg(long = "source", required_unless_present = "remove_checkpoints")]
    sources: Vec<String>,
    /// The target, as a source. Repeatable: one stream per source shard feeds
    /// every target (fan-out), each with its own queue and checkpoints; a target
    /// that falls behind continues on a link of its own.
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Two-way: the target is synced back into the (single) source too, both
    /// taking writes; each direction drops the other's writes coming back. The
    /// first full sync goes from the source to the target, which should be
    /// empty. Keys written on both sides before either write crossed (conflicts)
    /// are settled by `--conflict-policy` and printed as JSON lines on stdout.
    #[arg(long)]
    bidirectional: bool,
    /// Two-way: whose write both sides keep when a key was written on both at
    /// once: `a-wins` (the source's) or `b-wins` (the target's).
    #[arg(long, value_enum, default_value_t = ConflictPolicy::AWins, requires = "bidirectional")]
    conflict_policy: ConflictPolicy,
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

/// Whose write wins a conflict.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum ConflictPolicy {
    /// The source's (A).
    AWins,
    /// The target's (B).
    BWins,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    args.run.output.init();
    let mut targets = args
        .targets
        .iter()
        .map(|t| args.connect.endpoint(Role::Target, t))
        .collect::<Result<Vec<_>, _>>()?;
    if args.checkpoints.remove_checkpoints {
        let name = &args.checkpoints.checkpoint_name;
        for target in &targets {
            let removed = migrate::remove_checkpoints(target, args.connect.options(), name).await?;
            eprintln!("sync: {removed} checkpoint keys removed from {target}");
        }
        return Ok(());
    }
    let target = targets.remove(0);
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
            Some((&target, args.write.target_mode())),
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
    let stopping = ctrl_c("sync: stopping: finishing the writes in flight");
    let (status, run): (_, Pin<Box<dyn Future<Output = _>>>) = if args.bidirectional {
        let [source] = <[_; 1]>::try_from(sources)
            .map_err(|_| anyhow::anyhow!("--bidirectional takes a single --source"))?;
        anyhow::ensure!(
            targets.is_empty(),
            "--bidirectional takes a single --target"
        );
        let winner = match args.conflict_policy {
            ConflictPolicy::AWins => Side::A,
            ConflictPolicy::BWins => Side::B,
        };
        let mut sync = TwoWay::new(source, target).options(options).winner(winner);
        let mut conflicts = sync.conflicts();
        tokio::spawn(async move {
            while let Some(conflict) = conflicts.recv().await {
                let mut out = std::io::stdout().lock();
                let _ = write_conflict(&mut out, &conflict).and_then(|()| out.flush());
            }
        });
        (sync.status(), Box::pin(sync.run(stopping)))
    } else {
        let writer = options.writer.clone();
        let mut sync = Sync::new(sources, target).options(options);
        for target in targets {
            sync = sync.also_to(target, writer.clone());
        }
        (sync.status(), Box::pin(sync.run(stopping)))
    };
    args.run.metrics.serve(status.clone())?;
    let printer = Printer::sync(status.clone());
    let result = run.await;
    printer.finish().await;
    // The offsets to resume from, whether the sync stopped or failed.
    eprint!("{}", SyncReport::from(&*status.borrow()));
    result?;
    Ok(())
}
