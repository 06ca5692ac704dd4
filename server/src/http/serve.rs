//! Accepting and serving connections: the relay's own accept loop around
//! hyper's HTTP/1 server, because `axum::serve` has no timer — without
//! one, hyper reads request headers for ever, so a connection that sends
//! nothing (or a header byte now and then) stays open for ever.
//!
//! What each accepted connection gets:
//! - a place under the plain-HTTP bounds ([`HttpConnections`]), or it is
//!   closed at once, unanswered — cheaper than answering a flood, and an
//!   answer to a request not yet read could be lost to a reset anyway;
//! - `TCP_NODELAY` (chat frames are small and latency-bound);
//! - hyper's header-read timeout (`--http-header-timeout`), which hyper
//!   starts whenever it waits for a request head: on a new connection
//!   *and* on a keep-alive connection after each response. So the same
//!   timer is the idle timeout of keep-alive connections, and it is not
//!   reset by bytes that trickle in: the whole head must arrive in time;
//! - `ConnectInfo<SocketAddr>` in every request, as
//!   `into_make_service_with_connect_info` gave it;
//! - upgrades: a WebSocket handshake hands the socket over and the
//!   connection leaves the plain-HTTP count (its slot is dropped when
//!   hyper's connection future ends, which is at the upgrade).
//!
//! HTTP/1 only: `hyper_util`'s protocol-detecting builder reads its first
//! bytes with no timeout at all, and browsers speak HTTP/2 only over TLS,
//! which a proxy in front terminates (and forwards as HTTP/1.1).
//!
//! Shutdown works like `with_graceful_shutdown`: stop accepting, tell every
//! connection to finish (idle ones close at once, a request in progress
//! completes), wait for them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_layer::Layer;

use crate::admission::http_connections::{HttpConnections, HttpRefusal, HttpSlot};

/// How long the accept loop waits after an error that is not about one
/// connection (e.g. out of file descriptors: others must close first).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Most refusals logged at `warn` per [`REFUSAL_LOG_EVERY`]; the rest go to
/// `debug` (a flood must not flood the log).
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// The bounds of the HTTP edge.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The whole request head must arrive within this long of the
    /// connection opening or of its previous response (`--http-header-timeout`).
    pub header_timeout: Duration,
    /// Open plain-HTTP connections, in total and per address.
    pub connections: Arc<HttpConnections>,
}

/// Serves `router` on `listener` until `shutdown` completes; then stops
/// accepting and waits for the open HTTP connections to finish (upgraded
/// WebSockets are not waited for: they belong to the drain).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    edge: Edge,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(edge.header_timeout)
        .keep_alive(true);
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut refusals = RefusalLog::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::error!("accept error: {e}");
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                }
            }
        };
        let slot = match edge.connections.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                refusals.refused(refusal, peer, edge.connections.refused());
                // Dropped: closed at once, unread and unanswered.
                drop(tcp);
                continue;
            }
        };
        tracker.spawn(serve_connection(
            builder.clone(),
            tcp,
            peer,
            slot,
            router.clone(),
            stop.clone(),
        ));
    }
    drop(listener);
    tracker.close();
    stop.cancel();
    tracker.wait().await;
}

/// One connection, from its first byte to its close or upgrade.
async fn serve_connection(
    builder: http1::Builder,
    tcp: TcpStream,
    peer: SocketAddr,
    slot: HttpSlot,
    router: Router,
    stop: CancellationToken,
) {
    let _ = tcp.set_nodelay(true);
    let service = TowerToHyperService::new(Extension(ConnectInfo(peer)).layer(router));
    let mut connection = std::pin::pin!(builder
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades());
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // A header timeout, a reset, a malformed request: the client's
        // business, not the operator's.
        tracing::debug!(%peer, "HTTP connection ended: {e}");
    }
    // Closed or upgraded: its place is free (an upgraded socket is counted
    // by the WebSocket limits from here on).
    drop(slot);
}

/// Errors about one connection (the next accept may well work).
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Says at `warn` that connections are being refused, at most once per
/// [`REFUSAL_LOG_EVERY`] and kind; each refusal at `debug`.
#[derive(Debug, Default)]
struct RefusalLog {
    last_total: Option<tokio::time::Instant>,
    last_per_ip: Option<tokio::time::Instant>,
}

impl RefusalLog {
    fn refused(&mut self, refusal: HttpRefusal, peer: SocketAddr, refused_so_far: u64) {
        let last = match refusal {
            HttpRefusal::Total => &mut self.last_total,
            HttpRefusal::PerIp => &mut self.last_per_ip,
        };
        let now = tokio::time::Instant::now();
        if last.is_none_or(|at| now.duration_since(at) >= REFUSAL_LOG_EVERY) {
            *last = Some(now);
            tracing::warn!(
                ip = %peer.ip(),
                refused = refused_so_far,
                "HTTP connection closed: {}",
                refusal.reason()
            );
        } else {
            tracing::debug!(ip = %peer.ip(), "HTTP connection closed: {}", refusal.reason());
        }
    }
}
