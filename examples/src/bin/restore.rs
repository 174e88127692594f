//! `restore --target URL FILE...`: RDB files, AOF files and multi-part AOF
//! directories into a standalone, cluster or proxy target.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use endpoint::Endpoint;
use examples::connect::ConnectArgs;
use examples::options::WriteArgs;
use examples::restore::{is_rdb, restore_aof, restore_rdb};
use key_writer::{Writer, WriterOptions};
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
    connect: ConnectArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = Endpoint::parse(&args.target).context("--target")?;
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
