//! The programs' status lines on stderr while a pipeline runs, and Ctrl-C.

use std::time::Duration;

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

/// Prints status lines to stderr while a pipeline runs: once a second, and at once
/// for events worth a line of their own (an RDB loaded, a file done).
#[derive(Debug)]
pub struct Printer(JoinHandle<()>, watch::Sender<bool>);

impl Printer {
    /// Prints from `status` with `lines(status, tick)`: called at each change with
    /// `tick` false, and once a second with `tick` true; and once more at
    /// [`Printer::finish`].
    pub fn start<S: Send + Sync + 'static>(
        mut status: watch::Receiver<S>,
        mut lines: impl FnMut(&S, bool) -> Vec<String> + Send + 'static,
    ) -> Printer {
        let (done_tx, mut done) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.tick().await;
            let mut live = true;
            loop {
                let tick = tokio::select! {
                    _ = every.tick() => true,
                    changed = status.changed(), if live => {
                        // The pipeline is gone: only the ticks and the end are left.
                        live = changed.is_ok();
                        false
                    }
                    _ = done.changed() => {
                        for line in lines(&status.borrow(), false) {
                            eprintln!("{line}");
                        }
                        return;
                    }
                };
                for line in lines(&status.borrow_and_update(), tick) {
                    eprintln!("{line}");
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
        Printer::start(status, move |s, tick| {
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
        })
    }

    /// The lines of a restore: a progress line per file once a second, and its
    /// last line when it is done.
    pub fn restore(status: watch::Receiver<RestoreStatus>) -> Printer {
        let mut printed: Vec<bool> = Vec::new();
        Printer::start(status, move |s, tick| {
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
        })
    }

    /// A progress line once a second, and the last one at the end.
    pub fn progress(status: watch::Receiver<Progress>) -> Printer {
        let mut ended = false;
        Printer::start(status, move |p: &Progress, tick| {
            if (tick && !p.done) || (p.done && !std::mem::replace(&mut ended, true)) {
                vec![p.to_string()]
            } else {
                Vec::new()
            }
        })
    }

    /// The progress line of a verification once a second, a line as each round
    /// after the first starts, and the last line at the end.
    pub fn verify(status: watch::Receiver<VerifyStatus>) -> Printer {
        let (mut round, mut ended) = (1, false);
        Printer::start(status, move |s: &VerifyStatus, tick| {
            let new_round = std::mem::replace(&mut round, s.round) != s.round;
            if (tick && !s.done) || new_round || (s.done && !std::mem::replace(&mut ended, true)) {
                vec![s.to_string()]
            } else {
                Vec::new()
            }
        })
    }

    /// The bytes each shard of a dump has received, once a second.
    pub fn dump(status: watch::Receiver<DumpStatus>) -> Printer {
        Printer::start(status, |s: &DumpStatus, tick| {
            if !tick {
                return Vec::new();
            }
            s.shards
                .iter()
                .map(|(source, bytes)| format!("dump: {source}: {bytes} bytes received"))
                .collect()
        })
    }
}
