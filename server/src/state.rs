//! The wiring point: [`AppState::new`] builds every part from the flags and
//! hands the chat core its narrow handles ([`Chat`]); the routes and
//! connections (`http`, `ws`) share the result. Nothing below them uses
//! this module (checked by `tests/it/architecture.rs`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TrackedFuture;
use tokio_util::task::TaskTracker;

use crate::admission::limits::ConnectionLimits;
use crate::admission::new_sessions::NewSessions;
use crate::admission::origin::OriginPolicy;
use crate::admission::proof_of_work::ProofOfWork;
use crate::chat::core::{Chat, Parts};
use crate::chat::quotas::{QuotaClock, Quotas};
use crate::chat::turns::Turns;
use crate::chat::user_links::UserLinks;
use crate::config::storage::Chosen;
use crate::identity::oidc::Oidc;
use crate::identity::Verifier;
use crate::images::ImageProxy;
use crate::metrics::Metrics;
use crate::page::assets::Origin as PageOrigin;
use crate::page::security_headers::SecurityHeaders;
use crate::page::PageAssets;
use crate::responder::feedback::Feedback;
use crate::responder::Responder;
use crate::shutdown::Drain;
use crate::store::counters::memory::MemoryCounters;
use crate::store::counters::SharedCounters;
use crate::store::memory::Sessions;
use crate::store::pause::{LocalPause, Pause};
use crate::store::redis::pause::RedisPause;
use crate::store::redis::RedisStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Limits, Store};
use crate::uploads::Uploads;
use crate::{Config, RelayError};

/// Where connections hear the heartbeat: the latest frame, `None` before
/// the first tick. The clock that fills it is `ws::heartbeat::run_clock`;
/// the wiring holds only the channel, so it names no layer above it.
pub type Heartbeat = tokio::sync::watch::Sender<Option<crate::frame::Frame>>;

/// Shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The fields behind [`AppState`], reached through its methods.
#[derive(Debug)]
struct Inner {
    /// The configuration the relay started with.
    config: Config,
    /// The chat core's handles: the store, the responder, turns, uploads,
    /// quotas, metrics, pause, the drain of answers.
    chat: Chat,
    /// The origin policy for WebSocket upgrades.
    origins: OriginPolicy,
    /// Connections in total and per IP.
    limits: Arc<ConnectionLimits>,
    /// Connection tasks.
    conns: TaskTracker,
    /// Cancelled to close every connection with 1001.
    close_conns: CancellationToken,
    /// The body of `/config.json`.
    page_config: String,
    /// Its validator (it does not change while the relay runs).
    page_config_etag: String,
    /// The heartbeat every connection listens to; `ws::heartbeat` runs the
    /// clock that fills it.
    heartbeat: Heartbeat,
    /// The page's CSP and the other security headers.
    security: SecurityHeaders,
    /// Signed-in users' open connections, told of list changes.
    user_links: Arc<UserLinks>,
    /// The built page, in memory.
    page: PageAssets,
    /// New sessions per client network (`--new-sessions-per-minute-per-ip`).
    new_sessions: NewSessions,
    /// The proof-of-work gate for new sessions, when on.
    proof_of_work: Option<ProofOfWork>,
    /// Checks identity tokens, when verified identity is configured.
    identity: Option<Verifier>,
    /// Sign-in with OpenID Connect, when configured.
    oidc: Option<Oidc>,
}

impl AppState {
    /// Builds the state from the configuration (creates the HTTP client).
    pub fn new(config: Config) -> Result<Self, RelayError> {
        let responder = Responder::new(config.n8n.client_settings())?;
        let config_concurrency = config.limits.session_concurrency;
        let mut assets = PageAssets::load(config.serve.static_dir.as_deref())?;
        let page_dir = match assets.origin() {
            PageOrigin::Dir(dir) | PageOrigin::Missing(dir) => Some(dir.as_path()),
            PageOrigin::Embedded => None,
        };
        let uploads = match config.uploads.settings() {
            Some(settings) => Some(Uploads::start(&settings, page_dir)?),
            None => None,
        };
        let mut page = config.page.page_config(config.serve.relay_url.as_ref())?;
        // Overrides go into the catalogues; /config.json names those.
        let strings = std::mem::take(&mut page.strings);
        page.catalogues = crate::page::catalogues::publish(&mut assets, &strings);
        assets.set_preload(crate::page::preload::Preload::new(
            page.language.as_deref(),
            &page.catalogues,
        ));
        page.uploads = uploads.as_ref().map(|u| u.rules().clone());
        let feedback = config.n8n.feedback_url.clone().map(Feedback::new);
        let feedback = feedback.transpose()?;
        page.feedback = feedback.is_some();
        // Voice messages travel as uploads: no microphone without them.
        if config.media.allow_voice {
            if uploads.is_some() {
                page.max_voice_seconds = config.media.max_voice_seconds;
            } else {
                tracing::warn!("--allow-voice needs --allow-file-uploads: no microphone");
            }
        }
        // Only the flag lists them, like `relayUrl`: the CSP follows the flag.
        page.embed_origins = config.serve.embed_origins.clone();
        page.sign_in = config.oidc.oidc_issuer.is_some();
        let page_config = page.to_json();
        // The CSP allows trunk's inline script by its hash, read from the
        // page that will be served (rebuilding the page needs a restart).
        let serve = &config.serve;
        let security = SecurityHeaders::new(
            assets.index_html(),
            serve.relay_url.as_ref(),
            &serve.frame_ancestors_policy(),
        );
        let limits = Limits {
            retain_for: config.retention.retain_for,
            max_sessions: config.retention.max_sessions,
            max_retained_bytes: config.retention.max_retained_bytes,
            max_in_flight_per_session: config.limits.max_in_flight_per_session,
            max_tombstones: config.retention.max_tombstones,
            rerun_interrupted: config.store.rerun_interrupted,
            conversation_retention: config.retention.conversation_retention,
            keep_transcripts: !config.retention.no_transcripts,
            ..Limits::default()
        };
        let cluster = &config.cluster;
        let max_tracked = config.quotas.quota_max_tracked;
        let (store, counters): (Store, SharedCounters) = match &cluster.redis_url {
            Some(_) if config.store.store.is_some() => {
                return Err(RelayError::Store(
                    "--redis-url selects the Redis store: leave out --store".into(),
                ))
            }
            Some(url) => {
                if config.store.data_dir.is_some() {
                    tracing::warn!("--data-dir is not used: sessions are kept in Redis");
                }
                let redis = RedisStore::start(
                    url,
                    &cluster.redis_prefix,
                    cluster.redis_lease,
                    limits,
                    cluster.redis_max_pending_bytes,
                )?;
                let counters = Arc::new(redis.counters(max_tracked));
                (redis, counters)
            }
            None => match config.store.chosen() {
                Chosen::Memory => (
                    Arc::new(Sessions::new(limits)),
                    Arc::new(MemoryCounters::new(max_tracked)),
                ),
                Chosen::Sqlite(dir) => {
                    let sqlite = SqliteStore::open(&dir, limits, config.store.sqlite_full_sync)
                        .map_err(|e| RelayError::Store(format!("the sqlite store: {e}")))?;
                    let counters = Arc::new(sqlite.counters(max_tracked));
                    (sqlite, counters)
                }
            },
        };
        let pause: Pause = match &cluster.redis_url {
            Some(url) => RedisPause::start(url, &cluster.redis_prefix)?,
            None => Arc::new(LocalPause::default()),
        };
        let proof_of_work = config.quotas.proof_of_work.map(|bits| {
            let secret = config.quotas.proof_of_work_secret.as_ref();
            ProofOfWork::new(bits, secret.map(|s| s.0.as_str()))
        });
        let quotas = Arc::new(Quotas::new(
            config.quotas.settings(),
            counters,
            QuotaClock::System,
        ));
        let origins = serve.origin_policy();
        let limits = ConnectionLimits::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
            serve.trusted_proxies.clone(),
            config.limits.upgrades_per_minute_per_ip,
        );
        let new_sessions = NewSessions::with_rate(config.retention.new_sessions_per_minute_per_ip);
        let identity = config.identity.verifier()?;
        let oidc = config
            .oidc
            .client(serve.public_url.as_ref(), config.identity.identity_leeway)?;
        if config.oidc.require_login && identity.is_none() && oidc.is_none() {
            return Err(RelayError::Identity(
                "--require-login needs a way to sign in: --oidc-issuer, --identity-secret or --identity-jwks-url".into(),
            ));
        }
        let images = ImageProxy::from_flags(
            &config.media.image_hosts,
            config.media.image_key.as_ref().map(|k| k.0.as_str()),
        )?;
        let chat = Chat::new(Parts {
            store,
            responder,
            turns: Turns::new(config_concurrency),
            cancels: Arc::default(),
            watchers: Arc::default(),
            feedback,
            uploads,
            quotas,
            metrics: Metrics::new(),
            pause,
            drain: Drain::default(),
            images: images.map(Arc::new),
            settings: config.chat_settings(),
        });
        Ok(AppState(Arc::new(Inner {
            config,
            chat,
            origins,
            limits,
            conns: TaskTracker::new(),
            close_conns: CancellationToken::new(),
            page_config_etag: crate::page::assets::etag(page_config.as_bytes()),
            page_config,
            heartbeat: tokio::sync::watch::Sender::new(None),
            security,
            user_links: Arc::default(),
            page: assets,
            new_sessions,
            proof_of_work,
            identity,
            oidc,
        })))
    }

    /// The chat core's handles, for the calls into `chat`.
    pub fn chat(&self) -> &Chat {
        &self.0.chat
    }

    /// The image proxy, when `--image-host` allows any host.
    pub fn images(&self) -> Option<&ImageProxy> {
        self.0.chat.images()
    }

    /// The identity-token checker; `None`: verified identity is off and
    /// every visitor is anonymous.
    pub fn identity(&self) -> Option<&Verifier> {
        self.0.identity.as_ref()
    }

    /// The OpenID Connect sign-in; `None`: the page has no sign-in.
    pub fn oidc(&self) -> Option<&Oidc> {
        self.0.oidc.as_ref()
    }

    /// Whether connections may carry a verified user (identity tokens or
    /// sign-in): then sessions have owners.
    pub fn identity_on(&self) -> bool {
        self.0.identity.is_some() || self.0.oidc.is_some()
    }

    /// The configuration the relay started with.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Sessions, dedup and retained answers.
    pub fn store(&self) -> &Store {
        self.0.chat.store()
    }

    /// Who answers messages.
    pub fn responder(&self) -> &Responder {
        self.0.chat.responder()
    }

    /// Which origins may open the WebSocket.
    pub fn origins(&self) -> &OriginPolicy {
        &self.0.origins
    }

    /// Connections in total and per IP.
    pub fn limits(&self) -> &Arc<ConnectionLimits> {
        &self.0.limits
    }

    /// The metrics, to record into.
    pub fn metrics(&self) -> &Metrics {
        self.0.chat.metrics()
    }

    /// The operator's pause switch, shared through the store.
    pub fn pause(&self) -> &Pause {
        self.0.chat.pause()
    }

    /// New sessions per client network.
    pub fn new_sessions(&self) -> &NewSessions {
        &self.0.new_sessions
    }

    /// The quotas of a public chat; their counts for metrics and `/usage`
    /// ([`Quotas::stats`], [`Quotas::budget_usage`]).
    pub fn quotas(&self) -> &Arc<Quotas> {
        self.0.chat.quotas()
    }

    /// The proof-of-work gate for new sessions (`--proof-of-work`), when on.
    pub fn proof_of_work(&self) -> Option<&ProofOfWork> {
        self.0.proof_of_work.as_ref()
    }

    /// The security headers of every response.
    pub fn security(&self) -> &SecurityHeaders {
        &self.0.security
    }

    /// The body of `/config.json`.
    pub fn page_config(&self) -> &str {
        &self.0.page_config
    }

    /// The `ETag` of `/config.json`.
    pub fn page_config_etag(&self) -> &str {
        &self.0.page_config_etag
    }

    /// The relay-wide heartbeat.
    pub fn heartbeat(&self) -> &Heartbeat {
        &self.0.heartbeat
    }

    /// A connection's task, which the drain waits for.
    pub fn track_connection<F: Future>(&self, task: F) -> TrackedFuture<F> {
        self.0.conns.track_future(task)
    }

    /// Files attached to messages, when uploads are on.
    pub fn uploads(&self) -> Option<&Uploads> {
        self.0.chat.uploads()
    }

    /// The built page.
    pub fn page(&self) -> &PageAssets {
        &self.0.page
    }

    /// Signed-in users' open connections on this relay.
    pub fn user_links(&self) -> &Arc<UserLinks> {
        &self.0.user_links
    }

    /// A token of one connection's own, cancelled when every connection is
    /// to close with 1001. Its own, because a connection checks it each time
    /// it wakes, and a token shared by all checks one shared lock: with
    /// 10 000 connections woken by one heartbeat, they queued on it.
    pub fn connection_closing(&self) -> CancellationToken {
        self.0.close_conns.child_token()
    }

    /// Logs what the relay is about to do, once.
    pub fn log_startup(&self, addr: std::net::SocketAddr) {
        let page = match self.0.page.origin() {
            PageOrigin::Embedded => "built into the binary".to_owned(),
            PageOrigin::Dir(dir) => dir.display().to_string(),
            PageOrigin::Missing(dir) => format!("{} (missing)", dir.display()),
        };
        tracing::info!(
            "relay {} listening on http://{addr} (WebSocket on /ws and /, page {page})",
            env!("CARGO_PKG_VERSION"),
        );
        self.0.chat.responder().log_mode();
        if let Some(identity) = &self.0.identity {
            tracing::info!(
                "verified identity on: tokens checked with {}",
                identity.describe()
            );
        }
        if let Some(oidc) = &self.0.oidc {
            tracing::info!(
                issuer = %oidc.issuer(),
                redirect = %oidc.redirect_uri(),
                "sign-in with OpenID Connect on (register the redirect URL at the provider)"
            );
        }
        if let PageOrigin::Missing(dir) = self.0.page.origin() {
            tracing::warn!(
                "no page at {}/index.html: build it with `cargo xtask build` (the WebSocket works without it)",
                dir.display()
            );
        }
    }

    /// Whether a graceful shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.0.chat.drain().is_draining()
    }

    /// Marks the start of shutdown: new messages are refused from now on.
    pub fn begin_drain(&self) {
        self.0.chat.drain().begin();
    }

    /// Finishes a graceful shutdown (after the listener has stopped):
    /// waits for answers in flight, then closes every connection with 1001.
    pub async fn drain(&self) {
        let inner = &self.0;
        let grace = inner.config.serve.shutdown_grace;
        inner.chat.drain().finish_answers(grace).await;
        inner.close_conns.cancel();
        inner.conns.close();
        if tokio::time::timeout(Duration::from_secs(2), inner.conns.wait())
            .await
            .is_err()
        {
            tracing::warn!("{} connection(s) did not close in time", inner.conns.len());
        }
        // Nothing is left on disk.
        if let Some(uploads) = inner.chat.uploads() {
            uploads.store().clear();
        }
        // Every change the sqlite store has queued is written.
        inner.chat.store().flush().await;
    }
}
