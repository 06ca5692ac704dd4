//! A message another relay is answering (shared store only): if that relay
//! stops for good (crashed, no drain), its lease expires and this relay —
//! where the session's connection now is — runs the message itself, so the
//! page's resend is not left waiting forever.
//!
//! Checked every third of `--redis-lease` (at most every second), for as
//! long as the session has a connection here; a relay that is merely slow
//! keeps renewing its lease and its answer arrives through Redis as usual.
//!
//! A message taken over starts like a new one ([`lifecycle::start`]): in the
//! session's turn (after the messages before it, or as the reply a waiting
//! run expects — never beside another execution of the same conversation),
//! and with its files when this relay has them; when it does not (they
//! were uploaded to the crashed relay), it ends in `upload_missing`,
//! released, so the page uploads them here and sends it again.

use std::time::Duration;

use super::lifecycle::{self, Incoming};
use super::watchers::Watching;
use crate::store::Verdict;
use crate::AppState;

/// Watches `message` of `session` until it is answered (anywhere) or taken
/// over here. `_watching` marks it watched for as long as this runs.
pub async fn watch(state: AppState, session: String, message: Incoming, _watching: Watching) {
    // At most a second, so a draining relay is not held up by a watcher.
    let period = (state.config().cluster.redis_lease / 3)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let id = message.id.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = state.answers_stopped() => return,
        }
        if state.is_draining() || !state.store().is_connected(&session) {
            // Nobody here to answer; the session's next connection resends.
            return;
        }
        match state.store().begin(&session, &id, false).await {
            Verdict::Elsewhere | Verdict::Busy | Verdict::Unavailable => continue,
            Verdict::Interrupted(frame) => {
                // Not run again (the default): the page hears why, on
                // every relay it is connected to, and may retry.
                tracing::warn!(session = %crate::redact::session(&session), id = %id, "the relay answering this message stopped; it is `interrupted`");
                state.store().complete(&session, &id, frame, true).await;
                return;
            }
            Verdict::Start => {
                tracing::warn!(session = %crate::redact::session(&session), id = %id, "the relay answering this message stopped; answering it here");
                lifecycle::start(&state, &session, message).await;
                return;
            }
            // Answered (its frame was published to this session) or in
            // flight here now.
            Verdict::Answered(_) | Verdict::InFlight | Verdict::Lost => return,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The takeover path with the memory store: its `begin` says `Start`
    //! for the watched message at the first check, as the shared store does
    //! once the crashed relay's lease expired. (Two relays on a real Redis
    //! are exercised by the cluster tests; the path after `Start` is the
    //! same.)
    use std::time::Duration;

    use axum::extract::ws::Utf8Bytes;
    use shared::protocol::FileRef;
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::chat::turns::Admitted;
    use crate::responder::ChatRequest;
    use crate::store::ConnHandle;
    use crate::Config;

    /// Echo mode, uploads on (in their own directory), a short lease.
    fn state(name: &str) -> AppState {
        let mut config = Config::defaults();
        config.serve.static_dir = Some(std::env::temp_dir().join("relay-tests-no-such-dir"));
        config.n8n.webhook_url = None;
        config.uploads.allow_file_uploads = true;
        config.uploads.upload_dir = Some(
            std::env::temp_dir().join(format!("relay-takeover-{name}-{}", std::process::id())),
        );
        config.cluster.redis_lease = Duration::from_millis(150);
        AppState::new(config).expect("state")
    }

    /// A connection of `session` here (the takeover needs one).
    async fn connect(state: &AppState, session: &str) -> mpsc::Receiver<Utf8Bytes> {
        let (tx, rx) = mpsc::channel(64);
        let conn = ConnHandle {
            id: 1,
            tx,
            kick: CancellationToken::new(),
        };
        state.store().attach(session, conn).await;
        rx
    }

    fn message(id: &str, files: Vec<FileRef>) -> Incoming {
        Incoming {
            id: id.into(),
            text: format!("text of {id}"),
            metadata: None,
            retry: false,
            files,
            client_ip: None,
            user: None,
            regenerate: false,
        }
    }

    async fn take_over(state: &AppState, session: &str, message: Incoming) {
        let watching = state
            .watchers()
            .start(session, &message.id)
            .expect("not watched yet");
        let watch = watch(state.clone(), session.to_owned(), message, watching);
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .expect("taken over");
    }

    #[tokio::test]
    async fn a_message_taken_over_waits_its_turn_and_carries_its_files() {
        let state = state("turn");
        let _rx = connect(&state, "s").await;
        // This relay has the file (the page uploaded it here after the
        // relay it first used crashed).
        let uploads = state.uploads().expect("uploads on");
        let mut pending = uploads
            .store()
            .begin("s", std::net::Ipv4Addr::LOCALHOST.into())
            .expect("room");
        std::fs::write(pending.path(), b"hello").expect("write");
        pending.reserve(5).expect("room");
        let stored = pending.finish("a.txt".into(), "text/plain".into());
        // The session's turn is taken by message "a", still at n8n.
        assert_eq!(state.store().begin("s", "a", false).await, Verdict::Start);
        let a = ChatRequest {
            session_id: "s".into(),
            message_id: "a".into(),
            text: "a".into(),
            metadata: None,
            files: Vec::new(),
            user: None,
            regenerate: false,
        };
        assert!(matches!(state.turns().submit(a), Admitted::Start(_)));
        let file = FileRef {
            upload: stored.id.clone(),
            name: "a.txt".into(),
            mime: "text/plain".into(),
            size: 5,
        };
        take_over(&state, "s", message("b", vec![file])).await;
        // Not sent beside "a": it waits for the turn, with its file.
        let next = state.turns().finished("s").expect("b waits its turn");
        assert_eq!(next.message_id, "b");
        let files: Vec<&str> = next.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(files, [stored.id.as_str()]);
        uploads.store().clear();
    }

    #[tokio::test]
    async fn a_message_taken_over_without_its_files_here_asks_for_them_again() {
        let state = state("missing");
        let mut rx = connect(&state, "s").await;
        let file = FileRef {
            upload: "up-on-the-crashed-relay".into(),
            name: "a.txt".into(),
            mime: "text/plain".into(),
            size: 5,
        };
        take_over(&state, "s", message("b", vec![file])).await;
        let frame = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let frame = rx.recv().await.expect("a frame");
                if frame.as_str().contains("upload_missing") {
                    return frame;
                }
            }
        })
        .await
        .expect("upload_missing");
        assert!(frame.as_str().contains("\"b\""), "{}", frame.as_str());
        assert!(state.turns().finished("s").is_none(), "not sent to n8n");
        // Released, not an outcome: the page's resend runs it.
        assert_eq!(state.store().begin("s", "b", false).await, Verdict::Start);
    }
}
