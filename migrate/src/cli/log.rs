//! The programs' logging: warnings and errors on stderr, as text or JSON.

use clap::{Args, ValueEnum};

/// Logs warnings (reconnections, full resyncs) to stderr as text; `RUST_LOG` asks
/// for more. [`LogArgs::init`] lets the command line choose JSON.
pub fn init_logging() {
    LogArgs::default().init();
}

/// `--log-format`: how the programs' log lines are written to stderr.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct LogArgs {
    /// Log lines on stderr as text, or as JSON objects (one per line, for log
    /// collectors); RUST_LOG asks for more than warnings.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line: time, level, target, message and fields.
    Json,
}

impl LogArgs {
    /// Installs the logger: warnings and errors to stderr (`RUST_LOG` for more),
    /// in the chosen format. The status and summary lines are not log lines:
    /// they stay as they are.
    pub fn init(&self) {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let logger = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter);
        match self.log_format {
            LogFormat::Text => logger.init(),
            LogFormat::Json => logger.json().init(),
        }
    }
}
