//! The operator's pause (`POST /pause`, `POST /resume`): while paused,
//! nothing is sent to n8n and a new message is refused with `paused` (the
//! page keeps it and sends it after the resume).
//!
//! A tiny interface, [`PauseSwitch`], because several relays must agree:
//! in memory ([`LocalPause`]) it is this relay's; through Redis
//! ([`super::redis::pause::RedisPause`]) it is a key every relay reads
//! and a channel that tells them at once. Another store implements the
//! same three methods.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

/// Whether the chat is paused, shared by every relay of the deployment.
#[async_trait]
pub trait PauseSwitch: Send + Sync + std::fmt::Debug {
    /// Pauses or resumes the chat, for every relay sharing the store. An
    /// error (the shared store is unreachable) changes nothing.
    async fn set(&self, paused: bool) -> Result<(), String>;

    /// Whether the chat is paused now (read for every message: one atomic
    /// load).
    fn is_paused(&self) -> bool;

    /// The state and its changes, whichever relay made them (each open
    /// connection listens, to tell its page).
    fn watch(&self) -> watch::Receiver<bool>;
}

/// The switch every part of the relay holds.
pub type Pause = Arc<dyn PauseSwitch>;

/// This relay's view of the switch: a flag for the hot path and a channel
/// for the connections. On its own it is the in-memory switch.
#[derive(Debug)]
pub struct LocalPause {
    flag: AtomicBool,
    changes: watch::Sender<bool>,
}

impl Default for LocalPause {
    fn default() -> Self {
        LocalPause {
            flag: AtomicBool::new(false),
            changes: watch::Sender::new(false),
        }
    }
}

impl LocalPause {
    /// Takes `paused` as the state; connections hear of a change only.
    pub fn apply(&self, paused: bool) {
        if self.flag.swap(paused, Ordering::Relaxed) != paused {
            tracing::info!(
                "chat {} by the operator",
                if paused { "paused" } else { "resumed" }
            );
        }
        self.changes.send_if_modified(|current| {
            let changed = *current != paused;
            *current = paused;
            changed
        });
    }
}

#[async_trait]
impl PauseSwitch for LocalPause {
    async fn set(&self, paused: bool) -> Result<(), String> {
        self.apply(paused);
        Ok(())
    }

    fn is_paused(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    fn watch(&self) -> watch::Receiver<bool> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_is_heard_once_and_a_repeat_not_at_all() {
        let pause = LocalPause::default();
        let mut rx = pause.watch();
        pause.set(true).await.expect("set");
        assert!(pause.is_paused());
        rx.changed().await.expect("heard");
        assert!(*rx.borrow_and_update());
        pause.set(true).await.expect("set again");
        assert!(
            !rx.has_changed().expect("open"),
            "the same state is no news"
        );
        pause.set(false).await.expect("resume");
        assert!(!pause.is_paused());
        assert!(rx.has_changed().expect("open"));
    }
}
