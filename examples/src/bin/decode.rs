//! `decode FILE`: prints an RDB as JSON lines; `decode --stats FILE`: counts per type
//! and encoding after decoding every value (on every core); `decode --memory FILE`:
//! what each key takes in the memory of the server that wrote the file.

use std::io::{self, BufWriter};
use std::path::PathBuf;

use clap::Parser;
use migrate::decode::MemoryOptions;
use migrate::{Allocator, MemoryFormat};
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
    /// Print each key's estimated memory on the server that wrote the file (as
    /// `MEMORY USAGE` reports it), its element count and largest element, then
    /// totals per database and per type.
    #[arg(long, conflicts_with = "stats")]
    memory: bool,
    /// With --memory: only the N biggest keys, biggest first.
    #[arg(long, value_name = "N", requires = "memory")]
    top: Option<usize>,
    /// With --memory: totals per key prefix (the name up to SEP) instead of keys.
    #[arg(long, value_name = "SEP", requires = "memory", conflicts_with = "top")]
    by_prefix: Option<String>,
    /// With --memory: the allocator of the server that wrote the file (`INFO
    /// memory` names it as `mem_allocator`): jemalloc as Redis and Valkey build
    /// it, a distribution's shared jemalloc (Debian's and Ubuntu's packages), or
    /// libc.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "jemalloc",
        value_parser = ["jemalloc", "system-jemalloc", "libc"]
    )]
    allocator: String,
    /// With --memory: CSV rows instead of JSON lines (the totals go to stderr).
    #[arg(long, requires = "memory")]
    csv: bool,
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
    if args.memory {
        return memory(&args, options, threads);
    }
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

fn memory(args: &Args, options: ParseOptions, threads: usize) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let report = MemoryOptions {
        top: args.top.unwrap_or(0),
        by_prefix: args.by_prefix.as_ref().map(|s| s.as_bytes().to_vec()),
        allocator: Allocator::from_name(&args.allocator).unwrap_or_default(),
        format: if args.csv {
            MemoryFormat::Csv
        } else {
            MemoryFormat::Json
        },
        threads,
    };
    let report = migrate::decode::memory(&args.file, options, report, &mut out)?;
    eprint!("{report}");
    Ok(())
}
