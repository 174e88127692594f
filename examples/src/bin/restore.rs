//! `restore --target URL FILE...`: RDB files, AOF files and multi-part AOF
//! directories into a standalone, cluster or proxy target.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use endpoint::Endpoint;
use examples::connect::ConnectArgs;
use examples::options::WriteArgs;
use examples::restore::{is_rdb, restore_aof, restore_rdb};
use key_writer::{SeedOptions, Writer, WriterOptions};
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
    let target = Endpoint::parse(&args.target).context("--target")?;
    if args.seed {
        return seed(&args, &target).await;
    }
    let options = WriterOptions {
        force_commands: args.commands,
        ..args.write.writer_options(args.connect.options())?
    };
    let mut writer = Writer::connect(&target, options.clone())
        .await
        .with_context(|| format!("connect to {target}"))?;
    if args.check_empty {
        writer.check_empty().await?;
    }
    let parse = ParseOptions::default().lenient_version(args.lenient);
    let mut rdbs = Vec::new();
    let mut aofs = Vec::new();
    for path in &args.files {
        if is_rdb(path)? {
            rdbs.push(path.clone());
        } else {
            aofs.push(path.clone());
        }
    }
    if args.jobs > 1 && rdbs.len() > 1 {
        // RDB files in parallel, at most `jobs` at a time, each with its own writer.
        let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(args.jobs));
        let mut tasks = tokio::task::JoinSet::new();
        for path in std::mem::take(&mut rdbs) {
            let (target, options, limit) = (target.clone(), options.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await?;
                let mut writer = Writer::connect(&target, options).await?;
                restore_rdb(&mut writer, &path, parse).await?;
                anyhow::Ok(writer.stats().clone())
            });
        }
        while let Some(done) = tasks.join_next().await {
            let s = done.context("a restore task failed")??;
            eprintln!(
                "restore: {} keys restored, {} written as commands",
                s.keys_restored, s.keys_as_commands
            );
        }
    }
    for path in &rdbs {
        restore_rdb(&mut writer, path, parse).await?;
    }
    for path in &aofs {
        restore_aof(&mut writer, path, parse).await?;
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

/// `--seed`: the whole file through replication, when nothing asks for the
/// key-by-key path.
async fn seed(args: &Args, target: &Endpoint) -> anyhow::Result<()> {
    let [file] = args.files.as_slice() else {
        anyhow::bail!("--seed takes one RDB file");
    };
    if !is_rdb(file)? {
        anyhow::bail!("--seed takes an RDB file, not an AOF");
    }
    if args.write.filters_or_mapping() || args.commands {
        anyhow::bail!("--seed loads the file whole: drop the filters, db mapping and --commands");
    }
    let mut options = SeedOptions::default();
    options.listen = args.seed_listen;
    options.announce = args.seed_announce.clone();
    options.connect = args.connect.options();
    let seeded = key_writer::seed(target, file, &options)
        .await
        .with_context(|| format!("seed {target} with {}", file.display()))?;
    eprintln!(
        "restore: {} bytes loaded by the target through replication; it holds {} keys",
        seeded.bytes, seeded.keys
    );
    Ok(())
}
