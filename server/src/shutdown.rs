//! The signal that starts a graceful shutdown: Ctrl-C, or SIGTERM on Unix
//! (what systemd, Docker and Kubernetes send).
//!
//! The drain of answers in flight is [`Drain`]; the whole drain (answers,
//! then connections, then the stores) is [`crate::AppState::drain`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

/// Completes on Ctrl-C or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

/// The drain as the answer tasks see it: where they are spawned (so the
/// drain can wait for them), whether it has begun, and when it gives up on
/// them. Cheap to clone; handed to the chat core, as mini-redis hands each
/// connection its `Shutdown`.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<DrainInner>);

#[derive(Debug, Default)]
struct DrainInner {
    /// Answer tasks (one per message sent to the responder).
    answers: TaskTracker,
    /// Cancelled when the drain gives up on answers still in flight.
    stop_answers: CancellationToken,
    /// Set when shutdown begins; new messages are refused from then on.
    draining: AtomicBool,
    /// Cancelled when shutdown begins.
    started: CancellationToken,
}

impl Drain {
    /// Runs an answer task; the drain waits for it (up to the grace).
    pub fn spawn_answer<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.answers.spawn(task);
    }

    /// Completes when the drain gives up on answers still in flight.
    pub fn answers_stopped(&self) -> WaitForCancellationFuture<'_> {
        self.0.stop_answers.cancelled()
    }

    /// Whether a graceful shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::Relaxed)
    }

    /// Completes when shutdown begins.
    pub fn started(&self) -> WaitForCancellationFuture<'_> {
        self.0.started.cancelled()
    }

    /// Marks the start of shutdown: new messages are refused from now on.
    pub fn begin(&self) {
        self.0.started.cancel();
        if !self.0.draining.swap(true, Ordering::Relaxed) {
            tracing::info!("shutting down: no new connections or messages");
        }
    }

    /// Waits up to `grace` for the answers in flight, then tells the rest
    /// to stop (their clients hear `shutting_down`) and gives them a second.
    pub async fn finish_answers(&self, grace: Duration) {
        self.begin();
        let answers = &self.0.answers;
        answers.close();
        if tokio::time::timeout(grace, answers.wait()).await.is_err() {
            tracing::warn!(
                "{} answer(s) still in flight after {grace:?}; telling their clients",
                answers.len()
            );
            self.0.stop_answers.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(1), answers.wait()).await;
        }
    }
}
