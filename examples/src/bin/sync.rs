//! `sync --source URL --target URL`: full sync, then the live stream, until Ctrl-C.
//! A cluster source runs one replica per master; several `--source` options merge
//! several standalone sources into one target.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use endpoint::{Connection, Endpoint};
use examples::connect::ConnectArgs;
use examples::options::WriteArgs;
use examples::sync::{ShardStatus, SyncOptions, status_line, sync_shard};
use key_writer::WriterOptions;
use tokio::sync::watch;

/// Keep a Redis or Valkey deployment in sync with another.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A source: `redis://[user[:password]@]host[:port]` or `rediss://...` (repeatable).
    #[arg(long = "source", required = true)]
    sources: Vec<String>,
    /// The target, as a source.
    #[arg(long)]
    target: String,
    #[command(flatten)]
    write: WriteArgs,
    /// Milliseconds an expiry already past stays on the target, waiting for the
    /// source's DEL (keys expiring during the sync are not lost).
    #[arg(long, default_value_t = 5000)]
    expiry_grace_ms: u64,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Warnings (reconnections, full resyncs) on stderr; RUST_LOG for more.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let target = Endpoint::parse(&args.target).context("--target")?;
    let connect = args.connect.options();
    // Every source shard: a standalone source, or each master of a cluster.
    let mut shards = Vec::new();
    for (i, text) in args.sources.iter().enumerate() {
        let source = Endpoint::parse(text).with_context(|| format!("--source number {}", i + 1))?;
        let mut con = Connection::connect(&source, &connect)
            .await
            .with_context(|| format!("connect to {source}"))?;
        if con.server_info().await?.cluster_enabled {
            for shard in endpoint::masters(&source, &connect).await? {
                shards.push(shard.master);
            }
        } else {
            shards.push(source);
        }
    }
    if shards.is_empty() {
        bail!("no source shard found");
    }
    let options = SyncOptions {
        source_connect: connect.clone(),
        writer: WriterOptions {
            expiry_grace: Some(Duration::from_millis(args.expiry_grace_ms)),
            ..args.write.writer_options(connect.clone())?
        },
        ..SyncOptions::default()
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut statuses = Vec::new();
    for shard in shards {
        let status = Arc::new(Mutex::new(ShardStatus::default()));
        statuses.push(status.clone());
        let (target, options, stop) = (target.clone(), options.clone(), stop_rx.clone());
        tasks.spawn(async move { sync_shard(shard, target, options, status, stop).await });
    }
    let printer = {
        let statuses = statuses.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.tick().await;
            loop {
                every.tick().await;
                for s in &statuses {
                    eprintln!("{}", status_line(&s.lock().expect("status lock")));
                }
            }
        })
    };
    let mut failed = None;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => eprintln!("sync: stopping: finishing the writes in flight"),
        Some(result) = tasks.join_next() => {
            // A shard ended on its own: an error (or its source went away).
            if let Err(e) = result.context("a sync task panicked").and_then(|r| r.map(|_| ())) {
                failed = Some(e);
            }
        }
    }
    let _ = stop_tx.send(true);
    while let Some(result) = tasks.join_next().await {
        if let Err(e) = result
            .context("a sync task panicked")
            .and_then(|r| r.map(|_| ()))
        {
            failed.get_or_insert(e);
        }
    }
    printer.abort();
    for s in &statuses {
        let s = s.lock().expect("status lock");
        eprintln!(
            "sync: {}: replid {} applied offset {} ({} commands, {} full syncs, {} partial resyncs)",
            s.source, s.replid, s.applied, s.commands, s.full_syncs, s.partial_syncs
        );
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
