//! Is Redis reachable? Two views, because they fail separately: commands
//! (through the reconnecting connection manager) and the pub/sub
//! subscription (its own connection). Each change is logged once, not per
//! failed call, and `/healthz` reports the state.

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use crate::store::StoreHealth;

#[derive(Debug)]
struct State {
    commands: Option<String>,
    last_failure: Option<Instant>,
    pubsub: Option<String>,
}

/// After a failed command, chat-path commands fail at once for this long
/// instead of each waiting for a Redis that may be unreachable by timeout
/// (a dropped network, not a refused connection); then one tries again.
pub const FAIL_FAST_FOR: Duration = Duration::from_secs(1);

/// The reachability of Redis, as the relay last saw it.
#[derive(Debug)]
pub struct Link {
    state: Mutex<State>,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            state: Mutex::new(State {
                commands: None,
                last_failure: None,
                pubsub: Some("not subscribed yet".into()),
            }),
        }
    }
}

impl Link {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.state.lock();
        f(&mut guard)
    }

    /// A command failed.
    pub fn command_failed(&self, error: &redis::RedisError) {
        let first = self.with(|s| {
            s.last_failure = Some(Instant::now());
            s.commands.replace(error.to_string()).is_none()
        });
        if first {
            tracing::warn!(
                "Redis unreachable ({error}): working alone until it is back (dedup and delivery only within this relay)"
            );
        }
    }

    /// Whether a command failed less than [`FAIL_FAST_FOR`] ago (and none
    /// has succeeded since).
    pub fn fail_fast(&self) -> bool {
        self.with(|s| {
            s.commands.is_some()
                && s.last_failure
                    .is_some_and(|at| at.elapsed() < FAIL_FAST_FOR)
        })
    }

    /// A command succeeded.
    pub fn command_ok(&self) {
        if self.with(|s| s.commands.take().is_some()) {
            tracing::info!("Redis commands work again");
        }
    }

    /// The subscription connection is lost (or not made yet).
    pub fn pubsub_down(&self, error: &str) {
        let first = self.with(|s| s.pubsub.replace(error.to_owned()).is_none());
        if first {
            tracing::warn!("Redis subscription lost ({error}); reconnecting");
        }
    }

    /// Subscribed again to every session connected here.
    pub fn pubsub_up(&self) {
        if self.with(|s| s.pubsub.take().is_some()) {
            tracing::info!("Redis subscription up");
        }
    }

    /// For `/healthz`.
    pub fn health(&self) -> StoreHealth {
        self.with(|s| {
            let error = match (&s.commands, &s.pubsub) {
                (None, None) => None,
                (Some(c), None) => Some(format!("commands: {c}")),
                (None, Some(p)) => Some(format!("subscription: {p}")),
                (Some(c), Some(p)) => Some(format!("commands: {c}; subscription: {p}")),
            };
            StoreHealth {
                kind: "redis",
                ok: error.is_none(),
                error,
                pending: None,
            }
        })
    }
}
