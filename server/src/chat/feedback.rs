//! 👍/👎: a user's rating of an answer, passed on by the relay to
//! `--feedback-url` (an n8n Webhook) as
//! `{"sessionId","messageId","rating":"up"|"down"|null,"answer","ratedAt"}`.
//! The page never talks to that URL. The answer is the one the relay
//! stored (not text from the page); a rating of a message the relay does
//! not know as answered is dropped. Best effort and bounded: at most
//! [`MAX_SENDING`] ratings on their way at once (more are dropped and
//! counted), each with a short timeout, failures logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shared::{Rating, ServerMessage};
use tokio::sync::Semaphore;

use crate::config::N8nFlags;
use crate::redact;
use crate::AppState;

/// Ratings on their way to n8n at once.
pub const MAX_SENDING: usize = 16;
/// How long one may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The feedback webhook.
#[derive(Debug)]
pub struct Feedback {
    url: url::Url,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    dropped: AtomicU64,
}

impl Feedback {
    /// Set up when `--feedback-url` is given.
    pub fn from_config(flags: &N8nFlags) -> Result<Option<Feedback>, reqwest::Error> {
        let Some(url) = flags.feedback_url.clone() else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("n8n-chat-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Feedback {
            url,
            client,
            slots: Arc::new(Semaphore::new(MAX_SENDING)),
            dropped: AtomicU64::new(0),
        }))
    }

    /// Ratings dropped because too many were on their way.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The user of `session` rated the answer to message `id`.
pub async fn rate(state: &AppState, session: &str, id: &str, rating: Option<Rating>) {
    let Some(feedback) = state.feedback() else {
        return;
    };
    let log = redact::session(session);
    let answer = match state.store().answer_frame(session, id).await {
        Some(frame) => match ServerMessage::decode(&frame) {
            Ok(ServerMessage::Response { text, .. }) => Some(text),
            _ => None,
        },
        None => None,
    };
    let Some(answer) = answer else {
        tracing::debug!(session = %log, id, "a rating of an answer the relay does not know; dropped");
        return;
    };
    let Ok(slot) = feedback.slots.clone().try_acquire_owned() else {
        feedback.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(session = %log, id, "too many ratings on their way; one dropped");
        return;
    };
    let body = serde_json::json!({
        "sessionId": session,
        "messageId": id,
        "rating": rating,
        "answer": answer,
        "ratedAt": crate::ws::heartbeat::now_ms(),
    });
    let request = feedback.client.post(feedback.url.clone()).json(&body);
    let (id, log) = (id.to_owned(), log.to_string());
    state.spawn_answer(async move {
        let _slot = slot;
        match request.send().await {
            Ok(r) if r.status().is_success() => {
                tracing::info!(session = %log, id = %id, "rating passed on");
            }
            Ok(r) => tracing::warn!(session = %log, id = %id, status = r.status().as_u16(), "the feedback webhook refused a rating"),
            Err(e) => tracing::warn!(session = %log, id = %id, "the feedback webhook is not reachable: {e}"),
        }
    });
}
