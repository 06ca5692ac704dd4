//! 👍/👎: a user's rating of an answer, passed on by the relay to
//! `--feedback-url` (an n8n Webhook) as
//! `{"sessionId","messageId","rating":"up"|"down"|null,"answer","ratedAt"}`.
//! The page never talks to that URL. The answer is the one the relay
//! stored (not text from the page); a rating of a message the relay does
//! not know as answered is dropped. Best effort and bounded (see
//! [`crate::responder::feedback`]): failures are logged.

use shared::{MessageId, SessionId};
use shared::{Rating, ServerMessage};

use super::core::Chat;
use crate::{clock, redact};

/// The user of `session` rated the answer to message `id`.
pub async fn rate(chat: &Chat, session: &SessionId, id: &MessageId, rating: Option<Rating>) {
    let Some(feedback) = chat.feedback() else {
        return;
    };
    let log = redact::session(session);
    let answer = match chat.store().answer_frame(session, id).await {
        Some(frame) => match ServerMessage::decode(frame.as_str()) {
            Ok(ServerMessage::Response { text, .. }) => Some(text),
            _ => None,
        },
        None => None,
    };
    let Some(answer) = answer else {
        tracing::debug!(session = %log, id = %id, "a rating of an answer the relay does not know; dropped");
        return;
    };
    let body = serde_json::json!({
        "sessionId": session,
        "messageId": id,
        "rating": rating,
        "answer": answer,
        "ratedAt": clock::now_ms(),
    });
    let Some(sending) = feedback.post(&body) else {
        tracing::warn!(session = %log, id = %id, "too many ratings on their way; one dropped");
        return;
    };
    let (id, log) = (id.to_owned(), log.to_string());
    // Not an answer: a stopping relay does not wait for ratings.
    tokio::spawn(async move {
        match sending.await {
            Ok(()) => tracing::info!(session = %log, id = %id, "rating passed on"),
            Err(e) => tracing::warn!(session = %log, id = %id, "the feedback webhook: {e}"),
        }
    });
}
