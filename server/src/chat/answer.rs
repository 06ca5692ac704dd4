//! A message being answered: the responder is asked (streamed pieces go
//! out as `chunk` frames as they arrive; a "Respond to Chat" run is held
//! until it ends), and the outcome is settled in the store, which routes it
//! to the session's connections here or on another relay, or keeps it for
//! the next one. Then the session's next message waiting its turn goes.

use shared::{ErrorCode, ServerMessage};

use super::core::Chat;
use super::{encode, progress, run};
use crate::metrics::Outcome;
use crate::redact;
use crate::responder::{Answer, ChatRequest, Listeners, Responder, ResponderError, Step};
use crate::store::transcripts::Line;

/// Answers `request`, then every message of its session that waited for
/// the turn (see [`super::turns`]).
pub async fn take_turn(chat: Chat, request: ChatRequest) {
    let session = request.session_id.clone();
    let mut next = Some(request);
    while let Some(request) = next {
        answer(chat.clone(), request).await;
        next = chat.turns().finished(&session);
    }
}

/// The transcript's lines of an answered message: the user's text, then
/// the answer. A regenerated answer follows the earlier one, without the
/// user's text again.
fn transcript_lines(request: &ChatRequest, answer: &str) -> Vec<Line> {
    let mut lines = Vec::with_capacity(2);
    if !request.regenerate {
        lines.push(Line::user(&request.text));
    }
    lines.push(Line::bot(answer));
    lines
}

/// Gets one answer and hands it to the session store for delivery.
pub async fn answer(chat: Chat, request: ChatRequest) {
    // Paused while it waited its turn: not sent to n8n either.
    if chat.is_paused() {
        let (session, id) = (&request.session_id, &request.message_id);
        return super::paused::refuse_paused(chat.store(), chat.metrics(), session, id).await;
    }
    let started = std::time::Instant::now();
    let store = chat.store().clone();
    let (session, id) = (request.session_id.clone(), request.message_id.clone());
    // Stop: the user may end it; dropping the request closes n8n's answer.
    let registered = chat.cancels().register(&session, &id);
    let steps = progress::Steps::new(&chat.settings().progress, &id);
    if matches!(chat.responder(), Responder::Webhook(_)) {
        let frame = progress::waiting(&id, shared::ProgressLabel::Workflow);
        store.progress(&session, &id, encode(&frame));
    }
    // When the first streamed piece came (for the time-to-first-text metric).
    let first_text = std::sync::OnceLock::new();
    let on_chunk = |text: &str| {
        first_text.get_or_init(std::time::Instant::now);
        store.chunk(&session, &id, text)
    };
    let on_step = |step: Step<'_>| {
        if let Some(frame) = steps.frame(step) {
            store.progress(&session, &id, encode(&frame));
        }
    };
    let listen = Listeners {
        chunk: &on_chunk,
        step: &on_step,
    };
    let result = tokio::select! {
        result = chat.responder().answer(&request, &listen) => result,
        _ = chat.drain().answers_stopped() => Err(ResponderError::ShuttingDown),
        _ = registered.token.cancelled() => Err(ResponderError::Cancelled),
    };
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_millis() as u64;
    if !matches!(
        result,
        Err(ResponderError::ShuttingDown | ResponderError::Cancelled)
    ) {
        // n8n's timing, not the user's or the relay's.
        let first = first_text
            .get()
            .map_or(elapsed, |t| t.duration_since(started));
        chat.metrics().answer_latency(first, elapsed);
    }
    let log = redact::session(&request.session_id);
    let id = request.message_id.to_string();
    // What the session's transcript keeps of it: an answer, not an error.
    let mut said = None;
    let (frame, failed) = match result {
        Ok(Answer::Text(text)) => {
            tracing::info!(session = %log, id = %id, latency_ms, "answered");
            said = Some(transcript_lines(&request, &text));
            (
                ServerMessage::Response {
                    id,
                    doc: chat.format_answer(&text).await,
                    text,
                },
                false,
            )
        }
        // The bot answers over n8n's chat socket, held here until the run
        // ends; the message is then done (its bubbles came as `chat`).
        Ok(Answer::Run { execution_id }) => {
            // A Stop now goes to the run (which closes n8n's socket).
            drop(registered);
            // Boxed: holding a run (n8n's chat socket, its reconnects) is a
            // ~10 KB future, and inline it made every message's task that
            // big — 14 KB instead of 4 KB, allocated and moved for each
            // message whether it starts a run or not.
            match Box::pin(run::hold(&chat, &request, &execution_id)).await {
                Ok(()) => {
                    tracing::info!(session = %log, id = %id, "run finished");
                    (ServerMessage::Done { id }, false)
                }
                Err(e) => {
                    tracing::warn!(session = %log, id = %id, "run ended: {e}");
                    (
                        ServerMessage::error(Some(id), e.code(), e.to_string()),
                        true,
                    )
                }
            }
        }
        Err(ResponderError::UploadGone(name)) => {
            // Not an outcome either: the page uploads the file again and
            // resends the message.
            chat.metrics()
                .message(Outcome::Error(ErrorCode::UploadMissing));
            tracing::info!(session = %log, id = %id, "a file of the message expired before its turn");
            let frame = ServerMessage::error(
                Some(id.clone()),
                ErrorCode::UploadMissing,
                ResponderError::UploadGone(name).to_string(),
            );
            chat.store()
                .release(&request.session_id, &request.message_id, encode(&frame))
                .await;
            return;
        }
        Err(ResponderError::ShuttingDown) => {
            // Not an outcome: the page keeps the message and resends it
            // after reconnecting, to this relay restarted or to another one,
            // which must then run it rather than answer with this error.
            tracing::warn!(session = %log, id = %id, latency_ms, "given up: shutting down");
            chat.metrics()
                .message(Outcome::Error(ErrorCode::ShuttingDown));
            let frame = ServerMessage::error(
                Some(id.clone()),
                ErrorCode::ShuttingDown,
                ResponderError::ShuttingDown.to_string(),
            );
            chat.store()
                .release(&request.session_id, &request.message_id, encode(&frame))
                .await;
            return;
        }
        Err(e) => {
            tracing::warn!(session = %log, id = %id, latency_ms, code = %e.code(), "failed: {e}");
            (
                ServerMessage::error(Some(id), e.code(), e.to_string()),
                true,
            )
        }
    };
    chat.metrics().message(match &frame {
        ServerMessage::Error { code, .. } => Outcome::Error(*code),
        _ => Outcome::Answered,
    });
    // Before the answer goes out, so a tab that opens once the page has it
    // finds it in the transcript too (in memory at once; Redis writes it on
    // the session's writer, ahead of the answer).
    if let Some(lines) = said {
        let user = request.user.as_ref().map(|u| u.id.as_str());
        let now = crate::clock::now_ms();
        store
            .record_lines(&request.session_id, user, lines, now)
            .await;
    }
    chat.store()
        .complete(
            &request.session_id,
            &request.message_id,
            encode(&frame),
            failed,
        )
        .await;
    // Answered: its files are not needed again (a failed message keeps them
    // for a retry, until they expire).
    if !failed && !request.files.is_empty() {
        if let Some(uploads) = chat.uploads() {
            let ids: Vec<String> = request.files.iter().map(|f| f.id.clone()).collect();
            uploads.store().remove(&ids);
        }
    }
}
