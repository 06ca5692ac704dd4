//! What every connection and route shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::limits::ConnectionLimits;
use crate::origin::OriginPolicy;
use crate::redis_store::RedisStore;
use crate::responder::Responder;
use crate::sessions::{Limits, Sessions};
use crate::store::Store;
use crate::{Config, RelayError};

/// Shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The fields behind [`AppState`].
#[derive(Debug)]
pub struct Inner {
    /// The configuration the relay started with.
    pub config: Config,
    /// Sessions, dedup and retained answers (in memory, or shared through
    /// Redis).
    pub store: Store,
    /// Who answers messages (n8n or echo).
    pub responder: Responder,
    /// The origin policy for WebSocket upgrades.
    pub origins: OriginPolicy,
    /// Connections in total and per IP.
    pub limits: Arc<ConnectionLimits>,
    /// Answer tasks (one per message sent to the responder).
    pub answers: TaskTracker,
    /// Connection tasks.
    pub conns: TaskTracker,
    /// Cancelled when the drain gives up on answers still in flight.
    pub stop_answers: CancellationToken,
    /// Cancelled to close every connection with 1001.
    pub close_conns: CancellationToken,
    /// Set when shutdown begins; new messages are refused from then on.
    pub draining: AtomicBool,
    /// The body of `/config.json`.
    pub page_config: String,
    /// The heartbeat every connection listens to (see [`crate::heartbeat`]).
    pub heartbeat: crate::heartbeat::Beat,
    /// Messages another relay is answering, watched for a takeover.
    pub takeovers: Arc<crate::takeover::Watchers>,
    /// The page's CSP and the other security headers.
    pub security: crate::security_headers::SecurityHeaders,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state from the configuration (creates the HTTP client).
    pub fn new(config: Config) -> Result<Self, RelayError> {
        let responder = Responder::from_config(&config)?;
        let page_config = crate::page_config::build(&config)?.to_json();
        // The CSP allows trunk's inline script by its hash, read from the
        // page that will be served (rebuilding the page needs a restart).
        let index = std::fs::read_to_string(config.static_dir.join("index.html")).ok();
        let security = crate::security_headers::SecurityHeaders::new(
            index.as_deref(),
            config.relay_url.as_ref(),
            &config.frame_ancestors,
        );
        let limits = Limits {
            retain_for: config.retain_for,
            max_sessions: config.max_sessions,
            max_retained_bytes: config.max_retained_bytes,
            max_in_flight_per_session: config.max_in_flight_per_session,
            ..Limits::default()
        };
        let store: Store = match &config.redis_url {
            Some(url) => RedisStore::start(
                url,
                &config.redis_prefix,
                config.redis_lease,
                limits,
                config.redis_max_pending_bytes,
            )?,
            None => Arc::new(Sessions::new(limits)),
        };
        let origins = OriginPolicy::new(config.allowed_origins.clone(), config.public_origin());
        let limits = ConnectionLimits::new(
            config.max_connections,
            config.max_connections_per_ip,
            config.trusted_proxies.clone(),
            config.upgrades_per_minute_per_ip,
        );
        Ok(AppState(Arc::new(Inner {
            config,
            store,
            responder,
            origins,
            limits,
            answers: TaskTracker::new(),
            conns: TaskTracker::new(),
            stop_answers: CancellationToken::new(),
            close_conns: CancellationToken::new(),
            draining: AtomicBool::new(false),
            page_config,
            heartbeat: tokio::sync::watch::Sender::new(None),
            takeovers: Arc::default(),
            security,
        })))
    }

    /// Logs what the relay is about to do, once.
    pub fn log_startup(&self, addr: std::net::SocketAddr) {
        tracing::info!(
            "relay {} listening on http://{addr} (WebSocket on /ws and /, page from {})",
            env!("CARGO_PKG_VERSION"),
            self.config.static_dir.display()
        );
        self.responder.log_mode();
        if !self.config.static_dir.join("index.html").is_file() {
            tracing::warn!(
                "no page at {}/index.html: build it with `cargo xtask build` (the WebSocket works without it)",
                self.config.static_dir.display()
            );
        }
    }

    /// Whether a graceful shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Marks the start of shutdown: new messages are refused from now on.
    pub fn begin_drain(&self) {
        if !self.draining.swap(true, Ordering::Relaxed) {
            tracing::info!("shutting down: no new connections or messages");
        }
    }

    /// Finishes a graceful shutdown (after the listener has stopped):
    /// waits for answers in flight, then closes every connection with 1001.
    pub async fn drain(&self) {
        self.begin_drain();
        self.answers.close();
        let grace = self.config.shutdown_grace;
        if tokio::time::timeout(grace, self.answers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "{} answer(s) still in flight after {grace:?}; telling their clients",
                self.answers.len()
            );
            self.stop_answers.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(1), self.answers.wait()).await;
        }
        self.close_conns.cancel();
        self.conns.close();
        if tokio::time::timeout(Duration::from_secs(2), self.conns.wait())
            .await
            .is_err()
        {
            tracing::warn!("{} connection(s) did not close in time", self.conns.len());
        }
    }
}
