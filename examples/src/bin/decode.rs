//! `decode FILE`: prints an RDB as JSON lines; `decode --stats FILE`: counts per type
//! and encoding after decoding every value.

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
}

fn main() -> anyhow::Result<()> {
    let args: Args = migrate::cli::parse();
    let options = ParseOptions::default()
        .lenient_version(args.lenient)
        .verify_checksum(!args.no_checksum);
    if args.stats {
        print!("{}", migrate::decode::stats(&args.file, options)?);
    } else {
        let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        migrate::decode::json_lines(&args.file, options, &mut out)?;
    }
    Ok(())
}
