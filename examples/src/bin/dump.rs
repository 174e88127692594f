//! `dump --source URL --out FILE`: writes a server's RDB to a file, like
//! `redis-cli --rdb`; for a cluster, `--out DIR` gets one file per master.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use endpoint::Endpoint;
use examples::connect::ConnectArgs;

/// Write a Redis or Valkey server's RDB to a file, as a replica receives it.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server: `redis://[user[:password]@]host[:port]`, or `rediss://...` for TLS.
    // A String, parsed below: clap would quote a bad URL, password included.
    #[arg(long)]
    source: String,
    /// The file to write (a directory for a cluster: one file per master).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = Endpoint::parse(&args.source).context("--source")?;
    let progress = |source: &str, bytes: u64| eprintln!("dump: {source}: {bytes} bytes received");
    let dumped =
        examples::dump::dump(&source, &args.out, &args.connect.options(), progress).await?;
    for d in dumped {
        eprintln!(
            "dump: {} -> {} ({} bytes, replid {} offset {})",
            d.source,
            d.path.display(),
            d.bytes,
            d.replid,
            d.offset
        );
    }
    Ok(())
}
