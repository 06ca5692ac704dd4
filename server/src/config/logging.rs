//! How the relay writes its logs: `--log-format`.

/// The shape of each log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (time, level, message, fields).
    #[default]
    Text,
    /// One JSON object per line with the same fields (`timestamp`, `level`,
    /// `message`, and each field such as `session` at the top level), for
    /// log shippers that should not have to parse the text form.
    Json,
}

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
