//! The programs' status lines on stderr while a pipeline runs, and Ctrl-C.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::dump::DumpStatus;
use crate::progress::Progress;
use crate::restore::RestoreStatus;
use crate::sync::SyncStatus;
use crate::verify::VerifyStatus;

/// Completes at Ctrl-C (SIGINT), after printing `saying` to stderr.
pub async fn ctrl_c(saying: &'static str) {
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("{saying}");
    } else {
        // No signal handling here: run until the pipeline ends by itself.
        std::future::pending::<()>().await;
    }
}

/// Whether progress is shown as bars (set by `OutputArgs::init`).
static BARS: AtomicBool = AtomicBool::new(false);

/// Shows progress as bars from now on (`true`) or as plain lines.
pub(crate) fn set_bars(bars: bool) {
    BARS.store(bars, Ordering::Relaxed);
}

/// One bar: what it is of, bytes done out of a total where known, items done, and
/// a few words more.
#[derive(Clone, Debug, Default)]
pub struct Bar {
    /// What the bar is of (a file, a source shard); one bar per name.
    pub what: String,
    /// Bytes to do, when known.
    pub total: Option<u64>,
    /// Bytes done.
    pub bytes: u64,
    /// Items (keys, commands) done.
    pub items: u64,
    /// Words after the figures (`round 2, 3 differing`).
    pub note: String,
    /// Whether the work is over.
    pub done: bool,
}

impl From<&Progress> for Bar {
    fn from(p: &Progress) -> Bar {
        Bar {
            what: p.what.clone(),
            total: p.total.filter(|&t| t > 0),
            bytes: p.bytes,
            items: p.items,
            note: "items".to_owned(),
            done: p.done,
        }
    }
}

/// Prints status lines to stderr while a pipeline runs: once a second, and at once
/// for events worth a line of their own (an RDB loaded, a file done). With bars
/// (`--progress`), the bars stand for the lines of each second; the event lines
/// are printed above them.
#[derive(Debug)]
pub struct Printer(JoinHandle<()>, watch::Sender<bool>);

impl Printer {
    /// Prints from `status` with `lines(status, tick)`: called at each change with
    /// `tick` false, and once a second with `tick` true; and once more at
    /// [`Printer::finish`]. With bars, `bars(status)` draws them, and `lines` is
    /// called with `tick` false only.
    pub fn start<S: Send + Sync + 'static>(
        mut status: watch::Receiver<S>,
        mut lines: impl FnMut(&S, bool) -> Vec<String> + Send + 'static,
        bars: impl Fn(&S) -> Vec<Bar> + Send + 'static,
    ) -> Printer {
        let (done_tx, mut done) = watch::channel(false);
        let mut drawn = BARS.load(Ordering::Relaxed).then(Bars::new);
        let task = tokio::spawn(async move {
            let period = if drawn.is_some() { 200 } else { 1000 };
            let mut every = tokio::time::interval(Duration::from_millis(period));
            every.tick().await;
            let mut live = true;
            loop {
                let (tick, end) = tokio::select! {
                    _ = every.tick() => (true, false),
                    changed = status.changed(), if live => {
                        // The pipeline is gone: only the ticks and the end are left.
                        live = changed.is_ok();
                        (false, false)
                    }
                    _ = done.changed() => (false, true),
                };
                let s = status.borrow_and_update();
                match &mut drawn {
                    Some(b) => {
                        for line in lines(&s, false) {
                            b.println(&line);
                        }
                        b.draw(bars(&s), end);
                    }
                    None => {
                        for line in lines(&s, tick) {
                            eprintln!("{line}");
                        }
                    }
                }
                if end {
                    return;
                }
            }
        });
        Printer(task, done_tx)
    }

    /// Prints the last lines and stops.
    pub async fn finish(self) {
        let _ = self.1.send(true);
        let _ = self.0.await;
    }

    /// The lines of a sync: each shard's line once a second, and a `sync rdb done`
    /// line as each RDB is loaded.
    pub fn sync(status: watch::Receiver<SyncStatus>) -> Printer {
        let mut printed: Vec<u64> = Vec::new();
        let bars = |s: &SyncStatus| {
            s.shards
                .iter()
                .map(|shard| {
                    // The RDB's bytes and keys until it is loaded; then the stream's.
                    let loading = !shard.streaming;
                    Bar {
                        what: format!("sync: {}", shard.source),
                        total: shard.rdb_size.filter(|_| loading),
                        bytes: if loading {
                            shard.rdb_bytes
                        } else {
                            shard.bytes
                        },
                        items: if loading {
                            shard.rdb_keys
                        } else {
                            shard.commands
                        },
                        note: if loading {
                            "keys of the RDB".to_owned()
                        } else {
                            format!(
                                "commands, lag {} bytes, {} ms",
                                shard.received.saturating_sub(shard.applied),
                                shard.lag_ms
                            )
                        },
                        done: false,
                    }
                })
                .collect()
        };
        Printer::start(
            status,
            move |s, tick| {
                let mut out = Vec::new();
                printed.resize(s.shards.len(), 0);
                for (shard, seen) in s.shards.iter().zip(&mut printed) {
                    if shard.rdbs_done > *seen {
                        *seen = shard.rdbs_done;
                        if let Some(done) = &shard.last_rdb {
                            out.push(done.to_string());
                        }
                    }
                }
                if tick {
                    out.extend(s.shards.iter().map(ToString::to_string));
                }
                out
            },
            bars,
        )
    }

    /// The lines of a restore: a progress line per file once a second, and its
    /// last line when it is done.
    pub fn restore(status: watch::Receiver<RestoreStatus>) -> Printer {
        let mut printed: Vec<bool> = Vec::new();
        Printer::start(
            status,
            move |s, tick| {
                printed.resize(s.files.len(), false);
                let mut out = Vec::new();
                for (file, printed) in s.files.iter().zip(&mut printed) {
                    if file.done && !*printed {
                        *printed = true;
                        out.push(file.to_string());
                    } else if tick && !file.done {
                        out.push(file.to_string());
                    }
                }
                out
            },
            |s: &RestoreStatus| s.files.iter().map(Bar::from).collect(),
        )
    }

    /// A progress line once a second, and the last one at the end.
    pub fn progress(status: watch::Receiver<Progress>) -> Printer {
        let mut ended = false;
        Printer::start(
            status,
            move |p: &Progress, tick| {
                if (tick && !p.done) || (p.done && !std::mem::replace(&mut ended, true)) {
                    vec![p.to_string()]
                } else {
                    Vec::new()
                }
            },
            |p: &Progress| vec![Bar::from(p)],
        )
    }

    /// The progress line of a verification once a second, a line as each round
    /// after the first starts, and the last line at the end.
    pub fn verify(status: watch::Receiver<VerifyStatus>) -> Printer {
        let (mut round, mut ended) = (1, false);
        Printer::start(
            status,
            move |s: &VerifyStatus, tick| {
                let new_round = std::mem::replace(&mut round, s.round) != s.round;
                if (tick && !s.done)
                    || new_round
                    || (s.done && !std::mem::replace(&mut ended, true))
                {
                    vec![s.to_string()]
                } else {
                    Vec::new()
                }
            },
            |s: &VerifyStatus| {
                vec![Bar {
                    what: "verify".to_owned(),
                    items: s.keys,
                    note: format!(
                        "keys compared, round {}, {} differing",
                        s.round, s.differing
                    ),
                    done: s.done,
                    ..Bar::default()
                }]
            },
        )
    }

    /// The bytes each shard of a dump has received, once a second.
    pub fn dump(status: watch::Receiver<DumpStatus>) -> Printer {
        Printer::start(
            status,
            |s: &DumpStatus, tick| {
                if !tick {
                    return Vec::new();
                }
                s.shards
                    .iter()
                    .map(|(source, bytes)| format!("dump: {source}: {bytes} bytes received"))
                    .collect()
            },
            |s: &DumpStatus| {
                s.shards
                    .iter()
                    .map(|(source, bytes)| Bar {
                        what: format!("dump: {source}"),
                        bytes: *bytes,
                        note: "bytes received".to_owned(),
                        ..Bar::default()
                    })
                    .collect()
            },
        )
    }
}

/// The bars on stderr (indicatif), one per name.
struct Bars {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
}

impl Bars {
    fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(5)),
            bars: HashMap::new(),
        }
    }

    /// A line above the bars.
    fn println(&self, line: &str) {
        if self.multi.println(line).is_err() {
            eprintln!("{line}");
        }
    }

    /// Brings the bars to `now`; `end`: the last time.
    fn draw(&mut self, now: Vec<Bar>, end: bool) {
        for b in now {
            let bar = self.bars.entry(b.what.clone()).or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(b.total.unwrap_or(0)));
                bar.set_prefix(b.what.clone());
                bar.set_style(style(b.total.is_some()));
                bar
            });
            if bar.is_finished() {
                continue;
            }
            match b.total {
                Some(total) => bar.set_length(total),
                None => bar.unset_length(),
            }
            bar.set_position(b.bytes);
            let secs = bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{} {} ({}/s)",
                b.items,
                b.note,
                (b.items as f64 / secs) as u64
            ));
            if (b.done || end) && !bar.is_finished() {
                bar.finish();
            }
        }
        if end {
            for bar in self.bars.values().filter(|b| !b.is_finished()) {
                bar.finish();
            }
            // What follows (the summary) starts on a line of its own.
            if !self.bars.is_empty() {
                eprintln!();
            }
        }
    }
}

/// A bar with a total: its fill, percent, bytes, rate and ETA; without: a spinner,
/// bytes and rate.
fn style(total: bool) -> ProgressStyle {
    let template = if total {
        "{prefix} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}"
    } else {
        "{prefix} {spinner} {bytes} {binary_bytes_per_sec} {msg}"
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
