//! `scan --source URL --target URL`: copies a live source with SCAN + DUMP + PTTL
//! into a target, for sources that forbid PSYNC (managed services).

use anyhow::Context;
use clap::Parser;
use endpoint::Endpoint;
use examples::connect::ConnectArgs;
use examples::options::WriteArgs;
use key_writer::Writer;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let source = Endpoint::parse(&args.source).context("--source")?;
    let target = Endpoint::parse(&args.target).context("--target")?;
    let options = args.write.writer_options(args.connect.options())?;
    let mut writer = Writer::connect(&target, options)
        .await
        .with_context(|| format!("connect to {target}"))?;
    let copied =
        examples::scan::scan_copy(&source, &args.connect.options(), &mut writer, args.batch)
            .await?;
    let s = writer.stats();
    eprintln!(
        "scan: {copied} keys read; {} restored, {} written as commands, {} existing kept, {} filtered",
        s.keys_restored, s.keys_as_commands, s.keys_existing, s.filtered
    );
    Ok(())
}
