//! `--check`: a program's pre-checks instead of its job.

use clap::Args;
use endpoint::Endpoint;
use key_writer::TargetMode;

use crate::cli::{ConnectArgs, LossyArgs};
use crate::precheck::{Precheck, PrecheckOptions, Severity};

/// `--check`: the pre-checks instead of the job.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct CheckArgs {
    /// Check whether the job can succeed (permissions, backlog, output buffers,
    /// versions, memory, cluster state...), print the findings, and exit: 0
    /// without a blocker, 1 with one. Nothing is written.
    #[arg(long)]
    pub check: bool,
}

/// What a job does, for its pre-checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Job {
    /// Replicates from the sources into the target (`sync`), keeping its
    /// checkpoints under this name (`None`: without checkpoints).
    Sync {
        /// The first part of the checkpoint keys' names.
        checkpoint_name: Option<String>,
    },
    /// Reads the sources (or files) and writes the target (`scan`, `restore`).
    Copy,
    /// Reads both sides (`verify`).
    Verify,
}

impl CheckArgs {
    /// With `--check`: runs the pre-checks of `job` from `sources` to `target`
    /// (reached as `mode` says), prints each finding on stdout (blockers first),
    /// and exits with 0 without a blocker, 1 with one. Without it, returns at
    /// once.
    pub async fn run_if_asked(
        &self,
        job: Job,
        sources: &[Endpoint],
        target: Option<(&Endpoint, TargetMode)>,
        connect: &ConnectArgs,
        lossy: LossyArgs,
    ) {
        if !self.check {
            return;
        }
        let mut options = PrecheckOptions::default();
        options.source_connect = connect.options();
        options.target_connect = connect.options();
        options.replication = matches!(job, Job::Sync { .. });
        options.writes = job != Job::Verify;
        if let Job::Sync { checkpoint_name } = job {
            options.checkpoint_name = checkpoint_name;
        }
        options.drop_functions = lossy.drop_functions;
        options.drop_field_ttls = lossy.drop_field_ttls;
        options.target_mode = target.map_or(TargetMode::Auto, |(_, mode)| mode);
        let target = target.map(|(endpoint, _)| endpoint.clone());
        let findings = Precheck::new(sources.to_vec(), target)
            .options(options)
            .run()
            .await
            .unwrap_or_default();
        for f in &findings {
            println!("{f}");
        }
        let blockers = findings
            .iter()
            .filter(|f| f.severity == Severity::Blocker)
            .count();
        println!("check: {blockers} blockers, {} findings", findings.len());
        std::process::exit(i32::from(blockers > 0));
    }
}
