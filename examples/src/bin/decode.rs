//! `decode FILE`: prints an RDB as JSON lines; `decode --stats FILE`: counts per type
//! and encoding after decoding every value (on every core).

use std::io::{self, BufWriter};
use std::path::PathBuf;

use clap::Parser;
use rdb_parser::ParseOptions;

/// Decode a Redis or Valkey RDB file.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The RDB file.
    file: PathBuf,
    /// Print counts per type and encoding instead of the data.
    #[arg(long)]
    stats: bool,
    /// Try files whose RDB version is newer than this program knows.
    #[arg(long)]
    lenient: bool,
    /// Do not verify the CRC64 checksum.
    #[arg(long)]
    no_checksum: bool,
    /// Threads that decode the values (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    let options = ParseOptions::default()
        .lenient_version(args.lenient)
        .verify_checksum(!args.no_checksum);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if args.stats {
        print!(
            "{}",
            migrate::decode::stats_threaded(&args.file, options, threads)?
        );
    } else {
        let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        migrate::decode::json_lines_threaded(&args.file, options, &mut out, threads)?;
    }
    Ok(())
}
