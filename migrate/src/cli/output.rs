//! What the programs write on stderr besides their results: log lines (text or
//! JSON) and progress (bars on a terminal, plain lines otherwise).

use std::io::IsTerminal;

use clap::{Args, ValueEnum};

use crate::cli::printer::set_bars;

/// Logs warnings (reconnections, full resyncs) to stderr as text; `RUST_LOG` asks
/// for more. [`OutputArgs::init`] lets the command line choose JSON and bars.
pub fn init_logging() {
    OutputArgs::default().init();
}

/// `--log-format` and `--progress`: how the programs write to stderr.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct OutputArgs {
    /// Log lines on stderr as text, or as JSON objects (one per line, for log
    /// collectors); RUST_LOG asks for more than warnings.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Progress as live bars (percent, keys/s, bytes/s, ETA), or as the plain
    /// lines once a second; `auto`: bars when stderr is a terminal.
    #[arg(long, value_enum, default_value_t = ProgressStyle::Auto)]
    pub progress: ProgressStyle,
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum ProgressStyle {
    /// Bars on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Live bars.
    Bars,
    /// The status lines, once a second.
    Plain,
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

impl OutputArgs {
    /// Installs the logger: warnings and errors to stderr (`RUST_LOG` for more),
    /// in the chosen format; and chooses how the [`Printer`](crate::cli::Printer)s
    /// show progress. The event lines (`sync rdb done`, a file done) and the
    /// summary stay as they are in every style.
    pub fn init(&self) {
        set_bars(match self.progress {
            ProgressStyle::Auto => std::io::stderr().is_terminal(),
            ProgressStyle::Bars => true,
            ProgressStyle::Plain => false,
        });
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
