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
//! - a progress timeout (`--http-idle-progress-timeout`): a connection
//!   whose socket moved no byte either way for that long is dropped. hyper
//!   has no write timeout (a client that never reads a large response
//!   keeps it in `poll_flush` for ever) and a handler may wait on a body
//!   that never comes; checked only until an upgrade.
//!
//! Shutdown works like `with_graceful_shutdown`: stop accepting, tell every
//! connection to finish (idle ones close at once, a request in progress
//! completes), wait for them — at most `--shutdown-grace`, then the rest
//! are dropped (a stuck connection must not hold the shutdown for ever).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_layer::Layer;

use crate::admission::http_connections::{HttpConnections, HttpRefusal, HttpSlot};
use crate::log_throttle::{LogThrottle, WARN_EVERY};

/// How long the accept loop waits after an error that is not about one
/// connection (e.g. out of file descriptors: others must close first).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The bounds of the HTTP edge.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The whole request head must arrive within this long of the
    /// connection opening or of its previous response (`--http-header-timeout`).
    pub header_timeout: Duration,
    /// Open plain-HTTP connections, in total and per address.
    pub connections: Arc<HttpConnections>,
    /// A plain-HTTP connection that moves no byte either way for this long
    /// is dropped (`--http-idle-progress-timeout`): hyper has no write
    /// timeout, and a handler may wait on a body that never comes.
    pub progress_timeout: Duration,
    /// How long shutdown waits for open plain-HTTP connections before it
    /// drops them (`--shutdown-grace`).
    pub shutdown_grace: Duration,
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
    let kill = CancellationToken::new();
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
            Cancels {
                stop: stop.clone(),
                kill: kill.clone(),
            },
            edge.progress_timeout,
        ));
    }
    drop(listener);
    tracker.close();
    stop.cancel();
    if tokio::time::timeout(edge.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        // Stuck connections (a body that never comes, a client that never
        // reads) must not hold the shutdown, nor the drain after it.
        tracing::info!(
            open = tracker.len(),
            "HTTP connections still open after the shutdown grace: closing them"
        );
        kill.cancel();
        tracker.wait().await;
    }
}

/// How a connection's task ends besides hyper's future completing.
struct Cancels {
    /// Finish what is in progress, then close (graceful shutdown).
    stop: CancellationToken,
    /// Close now (the shutdown grace is over).
    kill: CancellationToken,
}

/// One connection, from its first byte to its close or upgrade.
async fn serve_connection(
    builder: http1::Builder,
    tcp: TcpStream,
    peer: SocketAddr,
    slot: HttpSlot,
    router: Router,
    cancels: Cancels,
    progress_timeout: Duration,
) {
    let _ = tcp.set_nodelay(true);
    let progress = Arc::new(Progress::new());
    let io = ProgressIo {
        inner: tcp,
        progress: progress.clone(),
    };
    let service = TowerToHyperService::new(Extension(ConnectInfo(peer)).layer(router));
    let mut connection = std::pin::pin!(builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades());
    // Checked only while hyper's future runs: it ends at an upgrade, so an
    // idle WebSocket is never ended here (its own heartbeat is its bound).
    // (At least 1 ms: an interval of zero panics.)
    let mut check = tokio::time::interval((progress_timeout / 4).max(Duration::from_millis(1)));
    check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stopping = false;
    let result = loop {
        tokio::select! {
            result = connection.as_mut() => break result,
            () = cancels.stop.cancelled(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            () = cancels.kill.cancelled() => {
                tracing::debug!(%peer, "HTTP connection dropped: still open when the shutdown grace ended");
                break Ok(());
            }
            _ = check.tick() => {
                if progress.idle_for() >= progress_timeout {
                    tracing::debug!(%peer, "HTTP connection dropped: no read or write progress for {progress_timeout:?}");
                    break Ok(());
                }
            }
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
/// [`crate::log_throttle::WARN_EVERY`] and kind; each refusal at `debug`.
#[derive(Debug)]
struct RefusalLog {
    total: LogThrottle,
    per_ip: LogThrottle,
}

impl Default for RefusalLog {
    fn default() -> Self {
        RefusalLog {
            total: LogThrottle::every(WARN_EVERY),
            per_ip: LogThrottle::every(WARN_EVERY),
        }
    }
}

impl RefusalLog {
    fn refused(&mut self, refusal: HttpRefusal, peer: SocketAddr, refused_so_far: u64) {
        let throttle = match refusal {
            HttpRefusal::Total => &self.total,
            HttpRefusal::PerIp => &self.per_ip,
        };
        if throttle.warn().is_some() {
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

/// The time of a connection's last read or write progress, shared between
/// its IO (which records it) and its task (which checks it).
#[derive(Debug)]
struct Progress {
    start: Instant,
    /// Milliseconds from `start` to the last progress.
    last_ms: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn made(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long ago the last progress was.
    fn idle_for(&self) -> Duration {
        self.start
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A socket that records in [`Progress`] each read or write that moved
/// bytes. hyper has no write timeout: a client that asks for a large
/// response and never reads leaves hyper in `poll_flush` for ever; the
/// connection's task sees the missing progress and drops it.
#[derive(Debug)]
struct ProgressIo<T> {
    inner: T,
    progress: Arc<Progress>,
}

impl<T: AsyncRead + Unpin> AsyncRead for ProgressIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.progress.made();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProgressIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.progress.made();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.progress.made();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
