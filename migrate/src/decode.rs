//! An RDB file read in place (memory-mapped): every item as a JSON line, counts per
//! type and encoding after decoding every value, or each key's memory on the server
//! that wrote it; on every core.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{self, TrySendError};

use rdb_parser::{Item, ParseOptions, Rdb};

use crate::error::{Error, Result};
use crate::json::JsonWriter;
use crate::memory::{Allocator, Estimator, KeyMemory, MemoryLayout};
use crate::memory_report::{Collector, MemoryFormat, MemoryReport};
use crate::rdb_file::map;
use crate::stats::Stats;

/// Writes the RDB file at `path` to `out` as JSON lines (see [`JsonWriter`]).
///
/// # Errors
/// [`Error::Rdb`] for a corrupt file (with the byte offset), [`Error::Io`] when the
/// file cannot be read or `out` written.
pub fn json_lines(path: &Path, options: ParseOptions, out: &mut impl Write) -> Result<()> {
    let map = map(path)?;
    let rdb = Rdb::with_options(&map, options).map_err(Error::rdb_file(path))?;
    let mut writer = JsonWriter::new();
    rdb.items()
        .try_for_each_ref(|item| writer.write_item(out, item))
        .and_then(|()| out.flush())
        .map_err(|error| Error::Io {
            what: "decode",
            path: path.to_owned(),
            error,
        })
}

/// As [`json_lines`], on `threads` threads (1: [`json_lines`] itself): this one
/// walks the file, hands batches of items to the others and writes their lines in
/// the file's order, rendering a batch itself when they have none free. The output
/// is byte for byte that of one thread, up to and with a fault.
///
/// # Errors
/// As [`json_lines`].
pub fn json_lines_threaded(
    path: &Path,
    options: ParseOptions,
    out: &mut impl Write,
    threads: usize,
) -> Result<()> {
    if threads <= 1 {
        return json_lines(path, options, out);
    }
    let map = map(path)?;
    let rdb = Rdb::with_options(&map, options).map_err(Error::rdb_file(path))?;
    let render = |writer: &mut JsonWriter, items: &[Item<'_>]| {
        let mut bytes = Vec::with_capacity(items.len() * 128);
        let fault = items
            .iter()
            .try_for_each(|item| writer.write_item(&mut bytes, item))
            .err();
        (bytes, fault)
    };
    let write = |(bytes, fault): (Vec<u8>, Option<io::Error>)| {
        out.write_all(&bytes)?;
        fault.map_or(Ok(()), Err)
    };
    in_order(
        &rdb,
        threads,
        JsonWriter::new,
        render,
        write,
        io::Error::from,
    )
    .and_then(|_| out.flush())
    .map_err(|error| Error::Io {
        what: "decode",
        path: path.to_owned(),
        error,
    })
}

/// Walks the file on this thread and hands batches of items to `threads - 1`
/// others, which each turn a batch into a `T` with `work` (each with its own
/// state from `state`); `done` takes the results on this thread, in the file's
/// order. This thread works a batch itself when the others have none free. The
/// first error of `done`, or a fault of the walk (as `fault` makes it) once
/// every batch before it is done, ends the walk. Returns every thread's state.
fn in_order<'a, S: Send, T: Send, E>(
    rdb: &Rdb<'a>,
    threads: usize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &[Item<'a>]) -> T + Sync,
    mut done: impl FnMut(T) -> std::result::Result<(), E>,
    fault: impl Fn(rdb_parser::Error) -> E,
) -> std::result::Result<Vec<S>, E> {
    // Alone, a batch is never queued: sending finds no one and this thread works it.
    let queue = if threads > 1 { threads } else { 0 };
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Vec<Item<'a>>)>(queue);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, T)>();
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads)
            .map(|_| {
                let (work_rx, done_tx) = (&work_rx, done_tx.clone());
                let (state, work) = (&state, &work);
                scope.spawn(move || {
                    let mut mine = state();
                    loop {
                        let next = work_rx
                            .lock()
                            .map_err(|_| ())
                            .and_then(|r| r.recv().map_err(|_| ()));
                        let Ok((seq, items)) = next else {
                            return mine;
                        };
                        if done_tx.send((seq, work(&mut mine, &items))).is_err() {
                            return mine;
                        }
                    }
                })
            })
            .collect();
        drop(done_tx);
        // Moved in: an early return drops it, which lets the others go.
        let work_tx = work_tx;
        let mut order = InOrder::default();
        let mut mine = state();
        let mut batch = Vec::with_capacity(BATCH);
        let mut seq = 0;
        let mut walk_fault = None;
        for item in rdb.items() {
            match item {
                Ok(item) => batch.push(item),
                Err(e) => {
                    walk_fault = Some(e);
                    break;
                }
            }
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if let Err(TrySendError::Full((seq, full))) = work_tx.try_send((seq, full)) {
                    order.put(seq, work(&mut mine, &full));
                }
                seq += 1;
                while let Ok((seq, t)) = done_rx.try_recv() {
                    order.put(seq, t);
                }
                order.take(&mut done)?;
            }
        }
        order.put(seq, work(&mut mine, &batch));
        drop(work_tx);
        for (seq, t) in done_rx.iter() {
            order.put(seq, t);
        }
        order.take(&mut done)?;
        if let Some(e) = walk_fault {
            return Err(fault(e));
        }
        let mut states = vec![mine];
        for other in others {
            states.push(
                other
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        Ok(states)
    })
}

/// Results of batches, taken in the file's order.
struct InOrder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> InOrder<T> {
    fn put(&mut self, seq: u64, t: T) {
        self.waiting.insert(seq, t);
    }

    /// Hands `done` the results due, in order, until it fails.
    fn take<E>(
        &mut self,
        done: &mut impl FnMut(T) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        while let Some(t) = self.waiting.remove(&self.next) {
            self.next += 1;
            done(t)?;
        }
        Ok(())
    }
}

/// What [`memory`] reports and how.
#[derive(Clone, Debug)]
pub struct MemoryOptions {
    /// Only the biggest keys, this many, biggest first ([`MemoryReport::top`]);
    /// 0: every key, in the file's order.
    pub top: usize,
    /// Totals per key prefix instead of keys: the part of the name before this
    /// separator, or the whole name without one ([`MemoryReport::by_prefix`]).
    pub by_prefix: Option<Vec<u8>>,
    /// The allocator the server that wrote the file was built with.
    pub allocator: Allocator,
    /// JSON lines or CSV.
    pub format: MemoryFormat,
    /// Threads that estimate (1: this one alone).
    pub threads: usize,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            top: 0,
            by_prefix: None,
            allocator: Allocator::default(),
            format: MemoryFormat::Json,
            threads: 1,
        }
    }
}

/// Estimates what every key of the RDB file at `path` takes in the memory of the
/// server that wrote it (see [`KeyMemory`]) and writes the
/// report to `out`: a line per key in the file's order (or the biggest keys, or
/// totals per prefix), then the totals per database and per type (see
/// [`MemoryFormat`]). On several threads the output is that of one.
///
/// The ten biggest keys of a dump from a Redis built as its project builds it:
///
/// ```no_run
/// use migrate::decode::{MemoryOptions, memory};
/// use rdb_parser::ParseOptions;
///
/// # fn run() -> Result<(), migrate::Error> {
/// let options = MemoryOptions {
///     top: 10,
///     threads: 2,
///     ..MemoryOptions::default()
/// };
/// let report = memory(
///     "dump.rdb".as_ref(),
///     ParseOptions::default(),
///     options,
///     &mut std::io::sink(),
/// )?;
/// for key in &report.top {
///     println!("{} bytes: {}", key.memory, String::from_utf8_lossy(&key.key));
/// }
/// println!("{}", report.total.memory);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::Rdb`] for a corrupt file (with the byte offset), [`Error::Io`] when the
/// file cannot be read or `out` written.
pub fn memory(
    path: &Path,
    options: ParseOptions,
    report: MemoryOptions,
    out: &mut impl Write,
) -> Result<MemoryReport> {
    let map = map(path)?;
    let rdb = Rdb::with_options(&map, options).map_err(Error::rdb_file(path))?;
    // Valkey 8 writes Redis's header, and says so in an aux field (they come first).
    let valkey = rdb
        .items()
        .map_while(|item| match item {
            Ok(Item::Aux { key, .. }) => Some(key.as_raw() == Some(b"valkey-ver")),
            _ => None,
        })
        .any(|v| v);
    let layout = MemoryLayout::of(rdb.header(), valkey);
    let every_key = report.top == 0 && report.by_prefix.is_none();
    let format = report.format;
    // Each thread gathers its own totals, merged at the end: the keys stay
    // where they were estimated, only the lines travel.
    let state = || Estimating {
        estimator: Estimator::new(layout, report.allocator),
        key: KeyMemory::empty(),
        collector: Collector::new(report.top, report.by_prefix.clone()),
    };
    let estimate = |part: &mut Estimating, items: &[Item<'_>]| {
        let mut batch = Estimated::default();
        for item in items {
            let Item::Key(k) = item else { continue };
            match part.estimator.key_into(k, &mut part.key) {
                Ok(()) => {
                    if every_key {
                        // Writing to memory cannot fail.
                        let _ = format.key(&mut batch.lines, &part.key);
                    }
                    part.collector.add(&part.key);
                }
                Err(e) => {
                    batch.fault = Some(e);
                    break;
                }
            }
        }
        batch
    };
    let io = |error| Error::Io {
        what: "decode",
        path: path.to_owned(),
        error,
    };
    let fault = Error::rdb_file(path);
    if every_key {
        format.key_header(out).map_err(io)?;
    }
    let take = |batch: Estimated| {
        out.write_all(&batch.lines).map_err(io)?;
        batch.fault.map_or(Ok(()), |e| Err(fault(e)))
    };
    let parts = in_order(&rdb, report.threads.max(1), state, estimate, take, &fault)?;
    let mut collector = Collector::new(report.top, report.by_prefix);
    for part in parts {
        collector.merge(part.collector);
    }
    let report = collector.finish(layout);
    format
        .report(out, &report)
        .and_then(|()| out.flush())
        .map_err(io)?;
    Ok(report)
}

/// One thread's share of [`memory`].
struct Estimating {
    estimator: Estimator,
    /// The key being estimated, its buffers reused.
    key: KeyMemory,
    collector: Collector,
}

/// A batch's lines, and the fault that cut them short.
#[derive(Default)]
struct Estimated {
    lines: Vec<u8>,
    fault: Option<rdb_parser::Error>,
}

/// Counts per type and encoding in the RDB file at `path`, decoding every value.
///
/// # Errors
/// [`Error::Rdb`] for a corrupt file (with the byte offset), [`Error::Io`] when the
/// file cannot be read.
pub fn stats(path: &Path, options: ParseOptions) -> Result<Stats> {
    let map = map(path)?;
    let rdb = Rdb::with_options(&map, options).map_err(Error::rdb_file(path))?;
    let mut stats = Stats::default();
    let mut scratch = Vec::new();
    rdb.items()
        .try_for_each_ref(|item| stats.add(item, &mut scratch))
        .map_err(Error::rdb_file(path))?;
    Ok(stats)
}

/// As [`stats`], on `threads` threads (1: [`stats`] itself): this one walks the
/// file and hands batches of keys to the others, decoding a batch itself when
/// they have none free; each keeps its own counts, added up at the end. The
/// counts are those of one thread; of several faults, the first in the file is
/// returned.
///
/// # Errors
/// As [`stats`].
pub fn stats_threaded(path: &Path, options: ParseOptions, threads: usize) -> Result<Stats> {
    if threads <= 1 {
        return stats(path, options);
    }
    let map = map(path)?;
    let rdb = Rdb::with_options(&map, options).map_err(Error::rdb_file(path))?;
    let fault = Error::rdb_file(path);
    // A batch's fault comes back in the file's order: of several, the first is
    // the one reported.
    let count = |(stats, scratch): &mut (Stats, Vec<u8>), items: &[Item<'_>]| {
        items
            .iter()
            .try_for_each(|item| stats.add(item, scratch))
            .err()
    };
    let take =
        |batch_fault: Option<rdb_parser::Error>| batch_fault.map_or(Ok(()), |e| Err(fault(e)));
    let parts = in_order(
        &rdb,
        threads,
        <(Stats, Vec<u8>)>::default,
        count,
        take,
        &fault,
    )?;
    let mut counts = Stats::default();
    for (part, _) in &parts {
        counts.merge(part);
    }
    Ok(counts)
}

/// Items handed to a thread at once.
const BATCH: usize = 256;
