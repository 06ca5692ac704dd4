//! A chat message's arrival: the store's dedup decision (new → start an
//! [`answer`] task; in flight here → the answer will come; in flight on a
//! crashed relay → [`takeover`]; answered → the stored outcome again).
//!
//! Every message ends in exactly one outcome — an answer or an error — and
//! a message id is run at most once, however often the page resends it.

use shared::{ErrorCode, ServerMessage};

use super::encode;
use super::paused::refuse_paused;
use super::turns::{Admitted, RunCommand};
use super::{answer, quotas, takeover, Direct};
use crate::metrics::quota::Limit;
use crate::metrics::Outcome;
use crate::redact;
use crate::responder::{ChatRequest, ResponderError};
use crate::store::Verdict;
use crate::uploads::store::Stored;
use crate::uploads::FilesRefused;
use crate::AppState;

/// What the page is told when it resends a message whose outcome is no
/// longer kept (see [`Verdict::Lost`]).
pub const ANSWER_LOST: &str =
    "this message was answered, but the answer is no longer kept; it is not run again";

/// What the page is told when the store cannot write down that a message
/// is in flight (see [`Verdict::Unavailable`]).
pub const STORE_UNAVAILABLE: &str =
    "the relay cannot store this message right now (its disk may be full); it was not sent, try again";

/// A chat message as the page sent it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The page's id for it (dedup key within the session).
    pub id: String,
    /// What the user typed.
    pub text: String,
    /// Context for n8n.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// The user asked to run a failed message again.
    pub retry: bool,
    /// Uploaded files it carries.
    pub files: Vec<shared::protocol::FileRef>,
    /// The sender's address (for `--quota-address`), when known.
    pub client_ip: Option<std::net::IpAddr>,
    /// The verified user who sent it (verified identity), for n8n's `user`.
    pub user: Option<crate::identity::VerifiedUser>,
    /// The user asked for another answer (told to n8n as `regenerate`).
    pub regenerate: bool,
}

impl Incoming {
    fn into_request(self, session: &str, files: Vec<Stored>) -> ChatRequest {
        ChatRequest {
            session_id: session.to_owned(),
            message_id: self.id,
            text: self.text,
            metadata: self.metadata,
            files,
            user: self.user,
            regenerate: self.regenerate,
        }
    }
}

/// The stored files `message` names; `None` when they end it here, its
/// error settled in the store: a file the relay does not have is not the
/// message's outcome (released: the page uploads it again and resends),
/// too many files is (completed as failed).
async fn files_or_settle(
    state: &AppState,
    session: &str,
    message: &Incoming,
) -> Option<Vec<Stored>> {
    if message.files.is_empty() {
        return Some(Vec::new());
    }
    let refused = match state.uploads() {
        None => FilesRefused {
            code: ErrorCode::InvalidMessage,
            message: "this relay does not take files (--allow-file-uploads is off)".into(),
        },
        Some(uploads) => match uploads.resolve(session, &message.files) {
            Ok(files) => return Some(files),
            Err(refused) => refused,
        },
    };
    state.metrics().message(Outcome::Error(refused.code));
    let frame = encode(&ServerMessage::error(
        Some(message.id.clone()),
        refused.code,
        refused.message,
    ));
    let store = state.store();
    if refused.code == ErrorCode::UploadMissing {
        store.release(session, &message.id, frame).await;
    } else {
        store.complete(session, &message.id, frame, true).await;
    }
    None
}

/// Starts `message` of `session`, which the store has just given to this
/// relay: with its files (or `upload_missing`, released, if this relay does
/// not have them), in the session's turn — now, after the messages before
/// it, or as the reply a waiting run expects. A new message and one taken
/// over from a crashed relay go the same way.
pub async fn start(state: &AppState, session: &str, message: Incoming) {
    if state.is_paused() {
        return refuse_paused(state.store(), state.metrics(), session, &message.id).await;
    }
    let Some(files) = files_or_settle(state, session, &message).await else {
        return;
    };
    let id = message.id.clone();
    match state.turns().submit(message.into_request(session, files)) {
        Admitted::Start(request) => {
            state.spawn_answer(answer::take_turn(state.clone(), request));
        }
        Admitted::Queued => {
            tracing::debug!(session = %redact::session(session), "waits its turn");
            let frame = super::progress::waiting(&id, shared::ProgressLabel::Queued);
            state.store().progress(session, &id, encode(&frame));
        }
        Admitted::Reply(run, request) => {
            if let Err(refused) = run.try_send(RunCommand::Reply(request)) {
                // The run just ended: a new message after all.
                if let RunCommand::Reply(request) = refused.into_inner() {
                    state.spawn_answer(answer::take_turn(state.clone(), request));
                }
            }
        }
    }
}

/// Decides what to do with a message of `session`: start it, let it wait
/// for the answer already coming, or answer it from what is stored. Returns
/// what goes straight back to the connection, if anything.
pub async fn receive(state: &AppState, session: &str, message: Incoming) -> Option<Direct> {
    if state.is_draining() {
        state
            .metrics()
            .message(Outcome::Error(ErrorCode::ShuttingDown));
        return Some(Direct::Frame(ServerMessage::error(
            Some(message.id),
            ErrorCode::ShuttingDown,
            ResponderError::ShuttingDown.to_string(),
        )));
    }
    let log = redact::session(session);
    match state
        .store()
        .begin(session, &message.id, message.retry)
        .await
    {
        Verdict::Start => {
            // Only now would n8n be called: a resend answered from the
            // store, or one in flight, never reaches the quotas.
            // A verified user is one visitor on every session and device.
            let user = message.user.as_ref().map(|u| u.id.as_str());
            let visitor = quotas::visitor_key(session, user);
            if let Err(refused) = state.quotas().take(&visitor, message.client_ip).await {
                tracing::debug!(session = %log, id = %message.id, quota = refused.kind.as_str(), "refused by a quota");
                state.metrics().quota().refused(match refused.kind {
                    shared::QuotaKind::Visitor => Limit::Visitor,
                    shared::QuotaKind::Address => Limit::Address,
                    _ => Limit::Budget,
                });
                state
                    .metrics()
                    .message(Outcome::Error(ErrorCode::QuotaExceeded));
                // Released, not completed: a resend after the reset runs it.
                let frame = encode(&refused.frame(message.id.clone()));
                state.store().release(session, &message.id, frame).await;
                return None;
            }
            start(state, session, message).await;
            None
        }
        Verdict::Busy => {
            state
                .metrics()
                .message(Outcome::Error(ErrorCode::RateLimited));
            Some(Direct::Frame(ServerMessage::error(
                Some(message.id),
                ErrorCode::RateLimited,
                "too many messages are waiting for answers in this conversation; try again when one is answered",
            )))
        }
        Verdict::Elsewhere => {
            // One watcher per message, however often it is resent.
            if let Some(watching) = state.watchers().start(session, &message.id) {
                tracing::debug!(session = %log, id = %message.id, "in flight on another relay; watching its lease");
                let session = session.to_owned();
                state.spawn_answer(takeover::watch(state.clone(), session, message, watching));
            }
            None
        }
        Verdict::InFlight => {
            state.metrics().message(Outcome::Deduplicated);
            tracing::debug!(session = %log, id = %message.id, "duplicate of a message in flight; not forwarded again");
            None
        }
        Verdict::Answered(frame) => {
            state.metrics().message(Outcome::Deduplicated);
            tracing::debug!(session = %log, id = %message.id, "duplicate of an answered message; answer sent again");
            Some(Direct::Stored(frame))
        }
        Verdict::Interrupted(frame) => {
            // Now its outcome, stored and sent like one: to this
            // connection and the session's others, on every relay.
            tracing::info!(session = %log, id = %message.id, "resend of a message whose relay died while answering it; not run again");
            state
                .store()
                .complete(session, &message.id, frame, true)
                .await;
            None
        }
        Verdict::Unavailable => Some(Direct::Frame(ServerMessage::error(
            Some(message.id),
            ErrorCode::StoreUnavailable,
            STORE_UNAVAILABLE,
        ))),
        Verdict::Lost => {
            // Run once already; its outcome was forgotten to make room (or
            // after --retain-for). Saying so beats running it again.
            state
                .metrics()
                .message(Outcome::Error(ErrorCode::AnswerLost));
            tracing::info!(session = %log, id = %message.id, "resend of a message whose answer is no longer kept; not run again");
            Some(Direct::Frame(ServerMessage::error(
                Some(message.id),
                ErrorCode::AnswerLost,
                ANSWER_LOST,
            )))
        }
    }
}

/// A button of a run's chat message was pressed.
pub async fn choose(state: &AppState, session: &str, id: &str, seq: u32, button: u32) {
    match state.turns().run(session, id) {
        Some(run) => {
            let _ = run.try_send(RunCommand::Choice { seq, button });
        }
        None => {
            tracing::debug!(session = %redact::session(session), id, "a choice for a run that is over");
        }
    }
}

/// The user pressed Stop on message `id`: a message waiting its turn ends
/// at once; one being answered here stops (see [`super::cancel`]); a run
/// is told. Either way it ends in one `cancelled` error, kept like any
/// outcome. A message already answered, or in flight on another relay,
/// is not affected.
pub async fn cancel(state: &AppState, session: &str, id: &str) {
    let log = redact::session(session);
    if let Some(request) = state.turns().withdraw(session, id) {
        tracing::info!(session = %log, id, "stopped before its turn");
        state.metrics().message(Outcome::Cancelled);
        let frame = ServerMessage::error(
            Some(request.message_id.clone()),
            ErrorCode::Cancelled,
            ResponderError::Cancelled.to_string(),
        );
        state
            .store()
            .complete(session, id, encode(&frame), true)
            .await;
        return;
    }
    if state.cancels().cancel(session, id) {
        tracing::info!(session = %log, id, "stopped by the user");
        return;
    }
    if let Some(run) = state.turns().run(session, id) {
        tracing::info!(session = %log, id, "run stopped by the user");
        let _ = run.try_send(RunCommand::Cancel);
        return;
    }
    tracing::debug!(session = %log, id, "stop for a message not being answered here");
}
