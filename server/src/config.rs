//! Command-line flags; every flag is also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The relay between the chat page and an n8n webhook.
///
/// Without --webhook-url it answers every message itself ("echo: …"), so the
/// page can be tried without n8n.
#[derive(Debug, Clone, Parser)]
#[command(name = "relay", version, about, long_about = None)]
pub struct Config {
    /// Address to listen on (WebSocket on / and /ws, the page, /healthz).
    #[arg(long, env = "RELAY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The n8n webhook or Chat Trigger URL to forward messages to.
    /// Without it the relay runs in echo mode.
    #[arg(long, env = "N8N_WEBHOOK_URL")]
    pub webhook_url: Option<url::Url>,

    /// Directory with the built page (trunk's dist/).
    #[arg(long, env = "RELAY_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// How often each client gets a heartbeat frame (e.g. 30s, 500ms).
    #[arg(long, env = "RELAY_HEARTBEAT_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,

    /// A client silent for longer than this is closed (2.5 × the page's 25 s ping).
    #[arg(long, env = "RELAY_IDLE_TIMEOUT", default_value = "62500ms", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// How long to wait for n8n's answer to one message.
    #[arg(long, env = "RELAY_WEBHOOK_TIMEOUT", default_value = "120s", value_parser = humantime::parse_duration)]
    pub webhook_timeout: Duration,

    /// Browser origins allowed to open the WebSocket (repeatable; exact match).
    /// Without it: no Origin, the relay's own host, and loopback origins.
    #[arg(
        long = "allowed-origin",
        env = "RELAY_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Largest text frame accepted from a client, in bytes.
    #[arg(long, env = "RELAY_MAX_MESSAGE_BYTES", default_value_t = 65536)]
    pub max_message_bytes: usize,

    /// How long answers for a session with no open connection are kept.
    #[arg(long, env = "RELAY_RETAIN_FOR", default_value = "10m", value_parser = humantime::parse_duration)]
    pub retain_for: Duration,

    /// At most this many sessions are remembered (oldest idle ones go first).
    #[arg(long, env = "RELAY_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,

    /// At most this many bytes of answers are kept for all sessions together.
    #[arg(long, env = "RELAY_MAX_RETAINED_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_retained_bytes: usize,

    /// On shutdown, how long to wait for answers still coming from n8n.
    #[arg(long, env = "RELAY_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

impl Config {
    /// The defaults, as `relay` with no flags and no environment would use.
    /// Tests start from this and shorten intervals. (Reads `RELAY_*` variables
    /// like the binary does.)
    pub fn defaults() -> Self {
        Config::parse_from(["relay"])
    }
}
