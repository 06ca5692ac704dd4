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
    #[arg(long, env = "N8N_WEBHOOK_URL", hide_env_values = true)]
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

    /// How long one message may take, from the moment the relay accepts it
    /// (waiting for a free slot counts) to n8n's complete answer.
    #[arg(long, env = "RELAY_WEBHOOK_TIMEOUT", default_value = "120s", value_parser = humantime::parse_duration)]
    pub webhook_timeout: Duration,

    /// Largest answer read from n8n, in bytes (streamed or not); a larger
    /// one ends in an error, with what arrived so far kept on the page.
    #[arg(long, env = "RELAY_MAX_ANSWER_BYTES", default_value_t = 1024 * 1024)]
    pub max_answer_bytes: usize,

    /// Field name of the chat text in the request to n8n (the chat widget's
    /// `chatInputKey`).
    #[arg(long, env = "N8N_CHAT_INPUT_KEY", default_value = "chatInput")]
    pub chat_input_key: String,

    /// Field name of the session id in the request to n8n (the chat widget's
    /// `chatSessionKey`).
    #[arg(long, env = "N8N_SESSION_KEY", default_value = "sessionId")]
    pub session_key: String,

    /// Extra header for every request to n8n, as 'Name: value' (repeatable;
    /// in the env var, one per line). Stays on the relay; never logged.
    #[arg(long = "webhook-header", env = "N8N_WEBHOOK_HEADERS", value_delimiter = '\n', value_parser = parse_header, hide_env_values = true)]
    pub webhook_headers: Vec<WebhookHeader>,

    /// Basic auth for n8n ('user:password'), e.g. for a Chat Trigger with
    /// Basic authentication. Stays on the relay; never logged.
    #[arg(long, env = "N8N_WEBHOOK_BASIC_AUTH", value_parser = parse_basic_auth, hide_env_values = true)]
    pub webhook_basic_auth: Option<BasicAuth>,

    /// On connect with a known session, ask n8n for the conversation so far
    /// (`loadPreviousSession`; needs a memory node on the Chat Trigger) and
    /// send it to the page as a `history` frame.
    #[arg(long, env = "RELAY_LOAD_PREVIOUS_SESSION")]
    pub load_previous_session: bool,

    /// At most this many requests to n8n at once; more wait their turn (first
    /// come, first served), so a burst of users cannot overwhelm n8n.
    #[arg(long, env = "RELAY_MAX_CONCURRENT_WEBHOOKS", default_value_t = 32)]
    pub max_concurrent_webhooks: usize,

    /// At most this many messages wait for a free slot (see
    /// --max-concurrent-webhooks); more get `rate_limited` with a retry hint.
    #[arg(long, env = "RELAY_MAX_QUEUED_WEBHOOKS", default_value_t = 1000)]
    pub max_queued_webhooks: usize,

    /// The address users open the page at (e.g. https://chat.example.com).
    /// Its origin may open the WebSocket; without it (and without
    /// --allowed-origin) only loopback pages may, so a site that points its
    /// own name at this relay (DNS rebinding) is refused.
    #[arg(long, env = "RELAY_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,

    /// The WebSocket URL the page connects to, when it is not `/ws` on the
    /// page's own origin (e.g. wss://chat.example.com/ws behind another
    /// path). Published in /config.json as `relayUrl`; the page never takes
    /// a relay URL from anywhere else.
    #[arg(long, env = "RELAY_URL", value_parser = parse_ws_url)]
    pub relay_url: Option<url::Url>,

    /// Who may show the page in a frame: the CSP `frame-ancestors` sources
    /// (e.g. "'self' https://shop.example"; "'none'" forbids framing).
    #[arg(long, env = "RELAY_FRAME_ANCESTORS", default_value = "*", value_parser = parse_frame_ancestors)]
    pub frame_ancestors: String,

    /// Browser origins allowed to open the WebSocket (repeatable; exact match).
    /// Without it: no Origin, --public-url's origin, and loopback origins.
    #[arg(
        long = "allowed-origin",
        env = "RELAY_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Largest text frame accepted from a client, in bytes.
    #[arg(long, env = "RELAY_MAX_MESSAGE_BYTES", default_value_t = 65536)]
    pub max_message_bytes: usize,

    /// At most this many WebSocket connections at once (more get HTTP 503).
    #[arg(long, env = "RELAY_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// At most this many WebSocket connections per client IP (more get HTTP 429).
    #[arg(long, env = "RELAY_MAX_CONNECTIONS_PER_IP", default_value_t = 1000)]
    pub max_connections_per_ip: usize,

    /// New WebSocket connections one client IP may open per minute (a burst
    /// of this many, then this rate; more get HTTP 429).
    #[arg(long, env = "RELAY_UPGRADES_PER_MINUTE_PER_IP", default_value_t = 600)]
    pub upgrades_per_minute_per_ip: u32,

    /// Proxies whose X-Forwarded-For is believed for the client IP
    /// (repeatable; comma-separated in the env var).
    #[arg(
        long = "trusted-proxy",
        env = "RELAY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Chat messages per second per connection, on average (pings are free).
    #[arg(long, env = "RELAY_RATE_LIMIT", default_value_t = 5.0)]
    pub rate_limit: f64,

    /// Chat messages a connection may send at once before the rate applies
    /// (a page resending its outbox after a reconnect needs some).
    #[arg(long, env = "RELAY_RATE_BURST", default_value_t = 50)]
    pub rate_burst: u32,

    /// At most this many messages of one session waiting for n8n at once.
    #[arg(long, env = "RELAY_MAX_IN_FLIGHT_PER_SESSION", default_value_t = 32)]
    pub max_in_flight_per_session: usize,

    /// How long answers for a session with no open connection are kept.
    #[arg(long, env = "RELAY_RETAIN_FOR", default_value = "10m", value_parser = humantime::parse_duration)]
    pub retain_for: Duration,

    /// At most this many sessions are remembered (oldest idle ones go first).
    #[arg(long, env = "RELAY_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,

    /// At most this many bytes of answers are kept for all sessions together.
    #[arg(long, env = "RELAY_MAX_RETAINED_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_retained_bytes: usize,

    /// Bearer token for `POST /api/sessions/{id}/messages`, with which a
    /// workflow pushes a message to a chat later (at least 16 characters).
    /// Without it the endpoint is off. Never logged.
    #[arg(long, env = "RELAY_PUSH_TOKEN", value_parser = parse_push_token, hide_env_values = true)]
    pub push_token: Option<Secret>,

    /// Share sessions with other relays through this Redis server
    /// (`redis://[:password@]host:port[/db]` or `unix:///path`): message
    /// dedup, answers and pushes then work across every relay behind a load
    /// balancer. Without it sessions live in this relay's memory.
    #[arg(long, env = "RELAY_REDIS_URL", value_parser = parse_redis_url, hide_env_values = true)]
    pub redis_url: Option<url::Url>,

    /// Prefix of every Redis key and channel of this deployment (so several
    /// deployments can share one Redis).
    #[arg(long, env = "RELAY_REDIS_PREFIX", default_value = "n8n-chat:")]
    pub redis_prefix: String,

    /// How long other relays wait before taking over a message this relay
    /// was answering when it stopped answering for good (crashed); it renews
    /// its lease every third of this.
    #[arg(long, env = "RELAY_REDIS_LEASE", default_value = "15s", value_parser = humantime::parse_duration)]
    pub redis_lease: Duration,

    /// While Redis is unreachable, answers given here wait to be written to
    /// it; at most this many bytes of them (beyond it the oldest are dropped
    /// from the queue, counted in /healthz; the pages have them already).
    #[arg(long, env = "RELAY_REDIS_MAX_PENDING_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub redis_max_pending_bytes: usize,

    /// A JSON file with the page's settings (the fields of `/config.json`:
    /// title, welcome, language, streaming, placeholder). The flags below
    /// override it field by field.
    #[arg(long, env = "RELAY_PAGE_CONFIG")]
    pub page_config: Option<PathBuf>,

    /// The page's title (header and browser tab).
    #[arg(long, env = "RELAY_TITLE")]
    pub title: Option<String>,

    /// A welcome line shown at the start of a conversation, markdown
    /// (repeatable; in the env var, one per line).
    #[arg(long = "welcome", env = "RELAY_WELCOME", value_delimiter = '\n')]
    pub welcome: Vec<String>,

    /// The page's language unless the user picks one: de or en
    /// (without it: the browser's language).
    #[arg(long, env = "RELAY_LANGUAGE", value_parser = ["de", "en"])]
    pub language: Option<String>,

    /// Whether the page shows streamed answers as they arrive (true) or
    /// only once complete (false).
    #[arg(long, env = "RELAY_STREAMING", action = clap::ArgAction::Set)]
    pub streaming: Option<bool>,

    /// The input's placeholder text.
    #[arg(long, env = "RELAY_PLACEHOLDER")]
    pub placeholder: Option<String>,

    /// On shutdown, how long to wait for answers still coming from n8n.
    #[arg(long, env = "RELAY_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

impl Config {
    /// The defaults, as `relay` with no flags would use, **ignoring the
    /// environment**: tests start from this and shorten intervals, and an
    /// exported `RELAY_*` or `N8N_*` variable must not change their outcome.
    pub fn defaults() -> Self {
        Self::from_args_without_env(["relay"])
    }

    /// Parses `args` like the binary, but without reading environment
    /// variables (for tests). Panics on invalid arguments, like `parse_from`.
    pub fn from_args_without_env<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let command = Config::command().mut_args(|arg| arg.env(None));
        let matches = command.get_matches_from(args);
        match Config::from_arg_matches(&matches) {
            Ok(config) => config,
            Err(e) => e.exit(),
        }
    }

    /// The origin (`scheme://host[:port]`) of `--public-url`, if given.
    pub fn public_origin(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
    }
}

fn parse_public_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the public URL needs a host".into()),
        other => Err(format!(
            "expected an http:// or https:// URL, got {other}://"
        )),
    }
}

fn parse_ws_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "ws" | "wss"
            if url.host().is_some() && url.username().is_empty() && url.password().is_none() =>
        {
            Ok(url)
        }
        "ws" | "wss" => Err("the relay URL needs a host and no user info".into()),
        other => Err(format!("expected a ws:// or wss:// URL, got {other}://")),
    }
}

/// A CSP source list: printable ASCII without the characters that would end
/// the directive (`;`, `,`) or smuggle a header.
fn parse_frame_ancestors(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("give at least one source, e.g. '*', \"'self'\" or \"'none'\"".into());
    }
    if !s
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b';' && b != b',')
    {
        return Err("CSP sources are printable ASCII without ';' or ','".into());
    }
    Ok(s.to_owned())
}

/// A secret string: shown as `***` in `Debug`, so it cannot end up in a log
/// by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One `--webhook-header`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeader {
    /// Header name.
    pub name: String,
    /// Header value (secret).
    pub value: Secret,
}

/// `--webhook-basic-auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password (secret).
    pub password: Secret,
}

fn parse_header(s: &str) -> Result<WebhookHeader, String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| "expected 'Name: value'".to_owned())?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
    {
        return Err(format!("{name:?} is not a valid header name"));
    }
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err("header values may not contain line breaks".into());
    }
    Ok(WebhookHeader {
        name: name.to_owned(),
        value: Secret(value.to_owned()),
    })
}

fn parse_redis_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "redis" | "redis+unix" | "unix" => Ok(url),
        "rediss" => Err(
            "TLS to Redis (rediss://) is not built in; reach Redis on a private network or through a TLS tunnel".into(),
        ),
        other => Err(format!("expected a redis:// URL, got {other}://")),
    }
}

fn parse_push_token(s: &str) -> Result<Secret, String> {
    if s.chars().count() < 16 {
        return Err("the push token must be at least 16 characters (use a random one)".into());
    }
    Ok(Secret(s.to_owned()))
}

fn parse_basic_auth(s: &str) -> Result<BasicAuth, String> {
    let (user, password) = s
        .split_once(':')
        .ok_or_else(|| "expected 'user:password'".to_owned())?;
    Ok(BasicAuth {
        user: user.to_owned(),
        password: Secret(password.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_basic_auth_parse_and_hide_their_secrets() {
        let h = parse_header("X-N8N-Token:  s3cret ").expect("header");
        assert_eq!(
            (h.name.as_str(), h.value.0.as_str()),
            ("X-N8N-Token", "s3cret")
        );
        assert!(!format!("{h:?}").contains("s3cret"));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        let a = parse_basic_auth("me:pa:ss").expect("auth");
        assert_eq!((a.user.as_str(), a.password.0.as_str()), ("me", "pa:ss"));
        assert!(!format!("{a:?}").contains("pa:ss"));
        assert!(parse_basic_auth("nopassword").is_err());
    }

    #[test]
    fn the_configuration_reference_documents_every_flag_and_its_env_var() {
        let readme = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/configuration.md"
        ));
        let cmd = <Config as clap::CommandFactory>::command();
        for arg in cmd.get_arguments() {
            let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else {
                continue;
            };
            let env = env.to_string_lossy();
            // A row of the table: `| `--flag…` | `ENV…` | …`.
            let row = readme.lines().any(|line| {
                line.strip_prefix(&format!("| `--{long}"))
                    .is_some_and(|rest| rest.starts_with(['`', ' ']))
                    && line.contains(&format!("`{env}`"))
            });
            assert!(row, "docs/configuration.md's table lacks --{long} / {env}");
        }
    }

    #[test]
    fn help_never_shows_secrets_from_the_environment() {
        let cmd = <Config as clap::CommandFactory>::command();
        let secret = [
            "webhook_url",
            "webhook_headers",
            "webhook_basic_auth",
            "push_token",
            "redis_url",
        ];
        for arg in cmd.get_arguments() {
            if secret.contains(&arg.get_id().as_str()) {
                assert!(
                    arg.is_hide_env_values_set(),
                    "--{} would show its env value in --help",
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn redis_urls_are_checked_at_start() {
        assert!(parse_redis_url("redis://:pw@10.0.0.5:6379/2").is_ok());
        assert!(parse_redis_url("unix:///run/redis.sock").is_ok());
        let tls = parse_redis_url("rediss://host:6380").expect_err("no TLS");
        assert!(tls.contains("TLS"), "{tls}");
        assert!(parse_redis_url("http://host").is_err());
        assert!(parse_redis_url("not a url").is_err());
        let c = Config::defaults();
        assert_eq!(c.redis_url, None, "in memory unless asked");
        assert_eq!(c.redis_prefix, "n8n-chat:");
        assert_eq!(c.redis_lease, Duration::from_secs(15));
    }

    #[test]
    fn every_flag_has_an_env_var_and_the_documented_default() {
        let c = Config::defaults();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.heartbeat_interval, Duration::from_secs(30));
        assert_eq!(c.webhook_timeout, Duration::from_secs(120));
        assert_eq!(c.max_message_bytes, 65536);
        assert_eq!(c.chat_input_key, "chatInput");
        assert_eq!(c.session_key, "sessionId");
        let cmd = <Config as clap::CommandFactory>::command();
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            assert!(arg.get_env().is_some(), "--{id} has no env var");
        }
    }
}
