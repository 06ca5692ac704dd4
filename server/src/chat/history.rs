//! A resumed session's earlier messages, queued for the connection that
//! resumed it as one `history` frame: from the relay's transcript of the
//! session (see [`crate::store::transcripts`]) when it has one — the same
//! on every tab and device — and otherwise from n8n's chat memory
//! (`--load-previous-session`). The relay's wins: it holds what this chat
//! showed (pushes and runs included), n8n's memory what the workflow
//! remembers, which may be trimmed by its memory node.
//!
//! Who gets it: the connection joined the session, so the session is the
//! visitor's (a signed-in user's session is joined only by that user, see
//! [`crate::store::Claim`]).

use shared::SessionId;
use shared::{HistoryMessage, Role, ServerMessage};

use super::core::Chat;
use crate::chat::encode;
use crate::frame::Frame;
use crate::outbox::Outbox;
use crate::redact;

/// Queues the session's history for one connection: the relay's
/// transcript at once (before the connection reads any frame, so whatever
/// the page asks next is answered after it), or n8n's memory with
/// `--load-previous-session`, loaded by a task of its own (n8n may be slow).
pub async fn queue_history(chat: &Chat, session: &SessionId, outbox: &Outbox) {
    if let Some(lines) = chat.store().transcript(session).await {
        let messages = lines
            .into_iter()
            .map(|line| HistoryMessage {
                role: line.role,
                text: line.text,
                doc: None,
            })
            .collect();
        let _ = outbox.try_send(history_frame(chat, messages).await);
        return;
    }
    if chat.settings().load_previous_session {
        tokio::spawn(from_n8n(chat.clone(), session.clone(), outbox.clone()));
    }
}

/// Loads the session's history from n8n and queues it for one connection.
async fn from_n8n(chat: Chat, session: SessionId, outbox: Outbox) {
    match chat.responder().history(&session).await {
        Some(Ok(messages)) if !messages.is_empty() => {
            let _ = outbox.try_send(history_frame(&chat, messages).await);
        }
        Some(Err(e)) => {
            tracing::warn!(session = %redact::session(&session), "could not load the previous session: {e}")
        }
        _ => {}
    }
}

/// The `history` frame of `messages`, the bot's lines formatted like live
/// answers.
async fn history_frame(chat: &Chat, mut messages: Vec<HistoryMessage>) -> Frame {
    for m in messages.iter_mut().filter(|m| m.role == Role::Bot) {
        m.doc = chat.format_answer(&m.text).await;
    }
    encode(&ServerMessage::History { messages })
}
