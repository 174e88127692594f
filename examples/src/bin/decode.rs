//! `decode FILE`: prints an RDB as JSON lines; `decode --stats FILE`: counts per type
//! and encoding after decoding every value.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use examples::json::JsonWriter;
use examples::stats::Stats;
use rdb_parser::{ParseOptions, Rdb};

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
    let args = Args::parse();
    let file = File::open(&args.file).with_context(|| format!("open {}", args.file.display()))?;
    // Memory-mapped: the parser borrows from the file without copying it.
    let map = examples::map(&file).with_context(|| format!("map {}", args.file.display()))?;
    let options = ParseOptions::default()
        .lenient_version(args.lenient)
        .verify_checksum(!args.no_checksum);
    let rdb = Rdb::with_options(&map, options)
        .with_context(|| format!("read {}", args.file.display()))?;

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    if args.stats {
        let mut stats = Stats::default();
        let mut scratch = Vec::new();
        rdb.items()
            .try_for_each_ref(|item| stats.add(item, &mut scratch))?;
        write!(out, "{stats}")?;
    } else {
        let mut writer = JsonWriter::new();
        rdb.items()
            .try_for_each_ref(|item| writer.write_item(&mut out, item))?;
    }
    out.flush()?;
    Ok(())
}
