//! `dump --source URL --out FILE`: writes a server's RDB to a file, like
//! `redis-cli --rdb`; for a cluster, `--out DIR` gets one file per master.

use std::path::PathBuf;

use clap::Parser;
use migrate::Dump;
use migrate::cli::{ConnectArgs, Job, LossyArgs, Printer, Role, RunArgs};

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
    #[command(flatten)]
    run: RunArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    args.run.output.init();
    let source = args.connect.endpoint(Role::Source, &args.source)?;
    // A dump replicates: the handshake, the backlog and the output buffer.
    let job = Job::Sync {
        checkpoint_name: None,
    };
    let sources = [source.clone()];
    let lossy = LossyArgs::default();
    args.run
        .check
        .run_if_asked(job, &sources, None, &args.connect, lossy)
        .await;
    let dump = Dump::new(source, args.out).connect(args.connect.options());
    args.run.metrics.serve(dump.status())?;
    let printer = Printer::dump(dump.status());
    let dumped = dump.run(std::future::pending()).await;
    printer.finish().await;
    for d in dumped? {
        eprintln!("dump: {}: {} bytes received", d.source, d.bytes);
        eprintln!("{d}");
    }
    Ok(())
}
