//! How the relay writes its logs: `--log-format`.

pub use crate::logging::LogFormat;

/// How the relay writes its logs.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Logging")]
pub struct LoggingFlags {
    /// The log lines' format on stdout: text (for people) or json.
    ///
    /// json is one object per line, for log shippers. What is logged is the
    /// same either way (sessions by a short hash, never message texts); the
    /// level comes from RUST_LOG (default info).
    #[arg(
        long,
        env = "RELAY_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}
