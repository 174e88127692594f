//! An RDB file read in place (memory-mapped): every item as a JSON line, or counts
//! per type and encoding after decoding every value.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{self, TrySendError};

use rdb_parser::{Item, Key, ParseOptions, Rdb};

use crate::error::{Error, Result};
use crate::json::JsonWriter;
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
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Vec<Item<'_>>)>(threads);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<Rendered>();
    let written = std::thread::scope(|scope| -> io::Result<()> {
        for _ in 1..threads {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            scope.spawn(move || {
                let mut writer = JsonWriter::new();
                loop {
                    let work = work_rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|r| r.recv().map_err(|_| ()));
                    let Ok((seq, items)) = work else { return };
                    if done_tx.send(render(&mut writer, seq, &items)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut order = InOrder::default();
        let mut writer = JsonWriter::new();
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
                    order.put(render(&mut writer, seq, &full));
                }
                seq += 1;
                while let Ok(done) = done_rx.try_recv() {
                    order.put(done);
                }
                order.write(out)?;
            }
        }
        order.put(render(&mut writer, seq, &batch));
        drop(work_tx);
        for done in done_rx.iter() {
            order.put(done);
        }
        order.write(out)?;
        match walk_fault {
            Some(e) => Err(io::Error::from(e)),
            None => Ok(()),
        }
    });
    written
        .and_then(|()| out.flush())
        .map_err(|error| Error::Io {
            what: "decode",
            path: path.to_owned(),
            error,
        })
}

/// A batch's lines: its place in the file, the bytes, and the fault that cut
/// them short.
struct Rendered {
    seq: u64,
    bytes: Vec<u8>,
    fault: Option<io::Error>,
}

fn render(writer: &mut JsonWriter, seq: u64, items: &[Item<'_>]) -> Rendered {
    let mut bytes = Vec::with_capacity(items.len() * 128);
    let fault = items
        .iter()
        .try_for_each(|item| writer.write_item(&mut bytes, item))
        .err();
    Rendered { seq, bytes, fault }
}

/// Rendered batches, written in the file's order.
#[derive(Default)]
struct InOrder {
    next: u64,
    waiting: BTreeMap<u64, Rendered>,
}

impl InOrder {
    fn put(&mut self, r: Rendered) {
        self.waiting.insert(r.seq, r);
    }

    /// Writes the batches due; a batch's fault once its lines before it are
    /// written.
    fn write(&mut self, out: &mut impl Write) -> io::Result<()> {
        while let Some(r) = self.waiting.remove(&self.next) {
            out.write_all(&r.bytes)?;
            self.next += 1;
            if let Some(e) = r.fault {
                return Err(e);
            }
        }
        Ok(())
    }
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
    let (tx, rx) = mpsc::sync_channel::<Vec<Key<'_>>>(threads);
    let rx = Mutex::new(rx);
    let (counts, fault) = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads)
            .map(|_| {
                let rx = &rx;
                scope.spawn(move || {
                    let mut part = Part::default();
                    loop {
                        let batch = rx
                            .lock()
                            .map_err(|_| ())
                            .and_then(|r| r.recv().map_err(|_| ()));
                        match batch {
                            Ok(batch) => part.decode(&batch),
                            Err(()) => return part,
                        }
                    }
                })
            })
            .collect();
        let mut mine = Part::default();
        let mut batch = Vec::with_capacity(BATCH);
        // A fault of the file's structure: the keys before it are decoded still,
        // and may hold an earlier one.
        let mut walk_fault = None;
        for item in rdb.items() {
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    walk_fault = Some(e);
                    break;
                }
            };
            match item {
                Item::Key(k) => {
                    batch.push(k);
                    if batch.len() == BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        if let Err(TrySendError::Full(full)) = tx.try_send(full) {
                            mine.decode(&full);
                        }
                    }
                }
                other => {
                    if let Err(e) = mine.stats.add(&other, &mut mine.scratch) {
                        mine.fault(e);
                    }
                }
            }
            // Later faults come after this one in the file.
            if mine.first_fault.is_some() {
                break;
            }
        }
        mine.decode(&batch);
        drop(tx);
        let mut faults: Vec<rdb_parser::Error> = walk_fault.into_iter().collect();
        faults.extend(mine.first_fault.take());
        let mut counts = mine.stats;
        for w in workers {
            let part = w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            counts.merge(&part.stats);
            faults.extend(part.first_fault);
        }
        (
            counts,
            faults.into_iter().min_by_key(rdb_parser::Error::offset),
        )
    });
    if let Some(e) = fault {
        return Err(Error::rdb_file(path)(e));
    }
    Ok(counts)
}

/// Keys handed to a thread at once.
const BATCH: usize = 256;

/// One thread's share of [`stats_threaded`].
#[derive(Default)]
struct Part {
    stats: Stats,
    scratch: Vec<u8>,
    /// The first fault it met; it decodes nothing after one.
    first_fault: Option<rdb_parser::Error>,
}

impl Part {
    fn decode(&mut self, keys: &[Key<'_>]) {
        if self.first_fault.is_some() {
            return;
        }
        for k in keys {
            if let Err(e) = self.stats.add_key(k, &mut self.scratch) {
                self.fault(e);
                return;
            }
        }
    }

    fn fault(&mut self, e: rdb_parser::Error) {
        self.first_fault.get_or_insert(e);
    }
}
