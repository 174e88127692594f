//! Prometheus metrics of a running program: `--metrics-addr HOST:PORT` serves
//! the text format at `/metrics` (the `metrics` crate's Prometheus exporter),
//! fed from the pipeline's live status twice a second, so that the figures are
//! the status line's.
//!
//! Names start with `migrate_` and the pipeline; a sync's carry the source
//! shard as label `shard` (its address, passwords never shown), and with several
//! targets the target as label `target`:
//!
//! | Metric | Kind | What |
//! |---|---|---|
//! | `migrate_sync_rdb_bytes_total`, `migrate_sync_rdb_keys_total` | counter | RDB bytes read and keys written, all full syncs |
//! | `migrate_sync_rdbs_loaded_total` | counter | full syncs whose RDB was written whole |
//! | `migrate_sync_commands_total` | counter | stream commands written |
//! | `migrate_sync_commands_filtered_total` | counter | stream commands and keys left out by filters and hooks |
//! | `migrate_sync_left_out_total` | counter | what the lossy options left out |
//! | `migrate_sync_returned_total`, `migrate_sync_conflicts_total`, `migrate_sync_conflict_commands_total` | counter | two-way: the other direction's commands dropped on their way back, conflicts settled, and commands applied again to settle them (the shard's source is the side its stream comes from) |
//! | `migrate_sync_stream_bytes_total` | counter | stream bytes received |
//! | `migrate_sync_full_syncs_total`, `migrate_sync_partial_resyncs_total` | counter | resynchronizations |
//! | `migrate_sync_received_offset`, `migrate_sync_applied_offset` | gauge | replication offsets: received, and held by the target |
//! | `migrate_sync_lag_bytes`, `migrate_sync_lag_milliseconds` | gauge | how far the target is behind |
//! | `migrate_sync_streaming`, `migrate_sync_source_reconnecting`, `migrate_sync_target_retrying` | gauge | 1 or 0 |
//! | `migrate_progress_bytes_total`, `migrate_progress_items_total` | counter | `restore`, `scan`, `dump`: bytes and keys done, by `what` (a file, a source) |
//! | `migrate_progress_bytes` | gauge | bytes to do, where known |
//! | `migrate_verify_keys_total` | counter | keys compared |
//! | `migrate_verify_differing`, `migrate_verify_round` | gauge | keys differing in the round under way, and that round |

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use metrics::{counter, gauge};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::sync::watch;

use crate::dump::DumpStatus;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::restore::RestoreStatus;
use crate::sync::SyncStatus;
use crate::verify::VerifyStatus;

/// How often the status is read into the metrics.
const EVERY: Duration = Duration::from_millis(500);

/// `--metrics-addr`.
#[derive(Args, Clone, Debug, Default)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at http://HOST:PORT/metrics while running.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<SocketAddr>,
}

impl MetricsArgs {
    /// Serves the metrics of a pipeline whose live status is `status`, when
    /// `--metrics-addr` was given; the serving ends with the program.
    ///
    /// # Errors
    /// [`Error::Options`] when the address cannot be listened on.
    pub fn serve<S: Exported>(&self, status: watch::Receiver<S>) -> Result<()> {
        let Some(addr) = self.metrics_addr else {
            return Ok(());
        };
        PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .map_err(|e| Error::Options(format!("--metrics-addr {addr}: {e}")))?;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            loop {
                tick.tick().await;
                status.borrow().export();
            }
        });
        Ok(())
    }
}

/// A pipeline's live status, as metrics.
pub trait Exported: Send + Sync + 'static {
    /// Sets every metric to what the status says.
    fn export(&self);
}

impl Exported for SyncStatus {
    fn export(&self) {
        for s in &self.shards {
            let (shard, target) = (s.source.clone(), s.target.clone());
            let labels = || [("shard", shard.clone()), ("target", target.clone())];
            let total = |name: &'static str, value: u64| {
                counter!(name, &labels()).absolute(value);
            };
            total("migrate_sync_rdb_bytes_total", s.rdb_bytes);
            total("migrate_sync_rdb_keys_total", s.rdb_keys);
            total("migrate_sync_rdbs_loaded_total", s.rdbs_done);
            total("migrate_sync_commands_total", s.commands);
            total("migrate_sync_commands_filtered_total", s.filtered);
            total("migrate_sync_left_out_total", s.left_out);
            total("migrate_sync_returned_total", s.returned);
            total("migrate_sync_conflict_commands_total", s.settled);
            total("migrate_sync_conflicts_total", s.conflicts);
            total("migrate_sync_stream_bytes_total", s.bytes);
            total("migrate_sync_full_syncs_total", s.full_syncs);
            total("migrate_sync_partial_resyncs_total", s.partial_syncs);
            let level = |name: &'static str, value: u64| {
                gauge!(name, &labels()).set(value as f64);
            };
            level("migrate_sync_received_offset", s.received);
            level("migrate_sync_applied_offset", s.applied);
            level(
                "migrate_sync_lag_bytes",
                s.received.saturating_sub(s.applied),
            );
            level("migrate_sync_lag_milliseconds", s.lag_ms);
            level("migrate_sync_streaming", u64::from(s.streaming));
            level(
                "migrate_sync_source_reconnecting",
                u64::from(s.reconnecting.is_some()),
            );
            level(
                "migrate_sync_target_retrying",
                u64::from(s.target_retrying.is_some()),
            );
        }
    }
}

impl Exported for Progress {
    fn export(&self) {
        let what = self.what.clone();
        counter!("migrate_progress_bytes_total", "what" => what.clone()).absolute(self.bytes);
        counter!("migrate_progress_items_total", "what" => what.clone()).absolute(self.items);
        if let Some(total) = self.total {
            gauge!("migrate_progress_bytes", "what" => what).set(total as f64);
        }
    }
}

impl Exported for RestoreStatus {
    fn export(&self) {
        self.files.iter().for_each(Progress::export);
    }
}

impl Exported for DumpStatus {
    fn export(&self) {
        for (what, bytes) in &self.shards {
            counter!("migrate_progress_bytes_total", "what" => what.clone()).absolute(*bytes);
        }
    }
}

impl Exported for VerifyStatus {
    fn export(&self) {
        counter!("migrate_verify_keys_total").absolute(self.keys);
        gauge!("migrate_verify_differing").set(self.differing as f64);
        gauge!("migrate_verify_round").set(f64::from(self.round));
    }
}
