//! Log set-up: `tracing` with `RUST_LOG` (default `info`), as text or as
//! JSON lines (`--log-format`).
//!
//! Message bodies are never logged at info level; the webhook URL is logged
//! redacted and sessions by a short hash (see [`crate::redact`]). Both
//! formats carry the same events and fields, so redaction does not depend
//! on the format.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The shape of each log line (`--log-format`). Here, with the set-up
/// that writes it; the flags (`config::logging`) import it.
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

/// Installs the global subscriber writing text lines. Safe to call more than
/// once (later calls are no-ops), which tests rely on.
pub fn init() {
    init_with(LogFormat::Text);
}

/// Installs the global subscriber writing `format` to stdout. Safe to call
/// more than once (later calls are no-ops). The binary calls this after
/// parsing its flags, so `--log-format` applies from the first line on.
pub fn init_with(format: LogFormat) {
    let _ = subscriber(format, std::io::stdout).try_init();
}

/// The subscriber the relay logs with, writing to `writer`: the one place
/// both formats are set up, so a test can capture exactly what the binary
/// would write.
pub fn subscriber<W>(format: LogFormat, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        // Fields at the top level (`"session":"…"` next to `"message"`),
        // not nested under `fields`: what log shippers index directly. The
        // relay opens no spans, so there is no span list to carry.
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .finish(),
        ),
    }
}
