//! A chat message's arrival: the store's dedup decision (new → start an
//! [`answer`] task; in flight here → the answer will come; in flight on a
//! crashed relay → [`takeover`]; answered → the stored outcome again).
//!
//! Every message ends in exactly one outcome — an answer or an error — and
//! a message id is run at most once, however often the page resends it.

use shared::{ErrorCode, ServerMessage};
use shared::{MessageId, SessionId};
use tokio::sync::mpsc::error::{SendError, TrySendError};

use super::core::Chat;
use super::encode;
use super::incoming::Incoming;
use super::paused::refuse_paused;
use super::turns::{Admitted, RunCommand};
use super::watchers::Watching;
use super::{answer, quotas, takeover, Direct};
use crate::attachment::Attachment;
use crate::metrics::quota::Limit;
use crate::metrics::Outcome;
use crate::redact;
use crate::responder::ResponderError;
use crate::store::Verdict;
use crate::uploads::FilesRefused;

/// What the page is told when it resends a message whose outcome is no
/// longer kept (see [`Verdict::Lost`]).
pub const ANSWER_LOST: &str =
    "this message was answered, but the answer is no longer kept; it is not run again";

/// What the page is told when the store cannot write down that a message
/// is in flight (see [`Verdict::Unavailable`]).
pub const STORE_UNAVAILABLE: &str =
    "the relay cannot store this message right now (its disk may be full); it was not sent, try again";

/// The stored files `message` names; `None` when they end it here, its
/// error settled in the store: a file the relay does not have is not the
/// message's outcome (released: the page uploads it again and resends),
/// too many files is (completed as failed).
async fn files_or_settle(
    chat: &Chat,
    session: &SessionId,
    message: &Incoming,
) -> Option<Vec<Attachment>> {
    if message.files.is_empty() {
        return Some(Vec::new());
    }
    let refused = match chat.uploads() {
        None => FilesRefused {
            code: ErrorCode::InvalidMessage,
            message: "this relay does not take files (--allow-file-uploads is off)".into(),
        },
        Some(uploads) => match uploads.resolve(session, &message.files) {
            Ok(files) => return Some(files),
            Err(refused) => refused,
        },
    };
    chat.metrics().message(Outcome::Error(refused.code));
    let frame = encode(&ServerMessage::error(
        Some(message.id.to_string()),
        refused.code,
        refused.message,
    ));
    let store = chat.store();
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
pub async fn start(chat: &Chat, session: &SessionId, message: Incoming) {
    if chat.is_paused() {
        return refuse_paused(chat.store(), chat.metrics(), session, &message.id).await;
    }
    let Some(files) = files_or_settle(chat, session, &message).await else {
        return;
    };
    let id = message.id.clone();
    let admitted = chat.turns().submit(message.into_request(session, files));
    carry_out(chat, session, &id, admitted);
}

/// Does what the turns decided for message `id` of `session`: answer it
/// now, let it wait its turn, or hand it to the run waiting for it.
///
/// A reply the run cannot take goes back to the turns (under their lock,
/// [`super::turns::Turns::readmit`]), never straight to n8n: the run's
/// message still holds the session's turn, so a reply sent beside it
/// would be a second execution at once, and its end would free a turn it
/// never took. The run just ended (its commands closed): the reply is a
/// new message after all, when the turn is free. Its commands are full
/// (button presses): the reply waits for room in a task of its own, and
/// goes back to the turns if the run ends meanwhile.
fn carry_out(chat: &Chat, session: &SessionId, id: &MessageId, admitted: Admitted) {
    let mut admitted = admitted;
    loop {
        match admitted {
            Admitted::Start(request) => {
                chat.drain()
                    .spawn_answer(answer::take_turn(chat.clone(), request));
                return;
            }
            Admitted::Queued => {
                tracing::debug!(session = %redact::session(session), "waits its turn");
                let frame = super::progress::waiting(id, shared::ProgressLabel::Queued);
                chat.store().progress(session, id, encode(&frame));
                return;
            }
            Admitted::Reply(run, request) => match run.try_send(RunCommand::Reply(request)) {
                Ok(()) => return,
                Err(TrySendError::Closed(command)) => match readmit(chat, command) {
                    Some(again) => admitted = again,
                    None => return,
                },
                Err(TrySendError::Full(command)) => {
                    let drain = chat.drain().clone();
                    let (chat, session, id) = (chat.clone(), session.clone(), id.clone());
                    drain.spawn_answer(async move {
                        if let Err(SendError(command)) = run.send(command).await {
                            if let Some(again) = readmit(&chat, command) {
                                carry_out(&chat, &session, &id, again);
                            }
                        }
                    });
                    return;
                }
            },
        }
    }
}

/// The reply in `command`, admitted again.
fn readmit(chat: &Chat, command: RunCommand) -> Option<Admitted> {
    match command {
        RunCommand::Reply(request) => Some(chat.turns().readmit(request)),
        RunCommand::Choice { .. } | RunCommand::Cancel => None,
    }
}

/// Watches `message` of `session`, in flight on another relay, and starts
/// it here if that relay stopped for good ([`takeover::watch`]).
/// `_watching` marks it watched until then, so resends add no watcher.
async fn take_over(chat: Chat, session: SessionId, message: Incoming, _watching: Watching) {
    if let Some(message) = takeover::watch(&chat, &session, message).await {
        start(&chat, &session, message).await;
    }
}

/// Decides what to do with a message of `session`: start it, let it wait
/// for the answer already coming, or answer it from what is stored. Returns
/// what goes straight back to the connection, if anything.
pub async fn receive(chat: &Chat, session: &SessionId, message: Incoming) -> Option<Direct> {
    if chat.drain().is_draining() {
        chat.metrics()
            .message(Outcome::Error(ErrorCode::ShuttingDown));
        return Some(Direct::Frame(ServerMessage::error(
            Some(message.id.into()),
            ErrorCode::ShuttingDown,
            ResponderError::ShuttingDown.to_string(),
        )));
    }
    let log = redact::session(session);
    match chat
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
            if let Err(refused) = chat.quotas().take(&visitor, message.client_ip).await {
                tracing::debug!(session = %log, id = %message.id, quota = refused.kind.as_str(), "refused by a quota");
                chat.metrics().quota().refused(match refused.kind {
                    shared::QuotaKind::Visitor => Limit::Visitor,
                    shared::QuotaKind::Address => Limit::Address,
                    _ => Limit::Budget,
                });
                chat.metrics()
                    .message(Outcome::Error(ErrorCode::QuotaExceeded));
                // Released, not completed: a resend after the reset runs it.
                let frame = encode(&refused.frame(message.id.to_string()));
                chat.store().release(session, &message.id, frame).await;
                return None;
            }
            start(chat, session, message).await;
            None
        }
        Verdict::Busy => {
            chat.metrics()
                .message(Outcome::Error(ErrorCode::RateLimited));
            Some(Direct::Frame(ServerMessage::error(
                Some(message.id.into()),
                ErrorCode::RateLimited,
                "too many messages are waiting for answers in this conversation; try again when one is answered",
            )))
        }
        Verdict::Elsewhere => {
            // One watcher per message, however often it is resent.
            if let Some(watching) = chat.watchers().start(session, &message.id) {
                tracing::debug!(session = %log, id = %message.id, "in flight on another relay; watching its lease");
                let session = session.clone();
                chat.drain()
                    .spawn_answer(take_over(chat.clone(), session, message, watching));
            }
            None
        }
        Verdict::InFlight => {
            chat.metrics().message(Outcome::Deduplicated);
            tracing::debug!(session = %log, id = %message.id, "duplicate of a message in flight; not forwarded again");
            None
        }
        Verdict::Answered(frame) => {
            chat.metrics().message(Outcome::Deduplicated);
            tracing::debug!(session = %log, id = %message.id, "duplicate of an answered message; answer sent again");
            Some(Direct::Stored(frame))
        }
        Verdict::Interrupted(frame) => {
            // Now its outcome, stored and sent like one: to this
            // connection and the session's others, on every relay.
            tracing::info!(session = %log, id = %message.id, "resend of a message whose relay died while answering it; not run again");
            chat.store()
                .complete(session, &message.id, frame, true)
                .await;
            None
        }
        Verdict::Unavailable => Some(Direct::Frame(ServerMessage::error(
            Some(message.id.into()),
            ErrorCode::StoreUnavailable,
            STORE_UNAVAILABLE,
        ))),
        Verdict::Lost => {
            // Run once already; its outcome was forgotten to make room (or
            // after --retain-for). Saying so beats running it again.
            chat.metrics()
                .message(Outcome::Error(ErrorCode::AnswerLost));
            tracing::info!(session = %log, id = %message.id, "resend of a message whose answer is no longer kept; not run again");
            Some(Direct::Frame(ServerMessage::error(
                Some(message.id.into()),
                ErrorCode::AnswerLost,
                ANSWER_LOST,
            )))
        }
    }
}

/// A button of a run's chat message was pressed.
pub async fn choose(chat: &Chat, session: &SessionId, id: &MessageId, seq: u32, button: u32) {
    match chat.turns().run(session, id) {
        Some(run) => {
            let _ = run.try_send(RunCommand::Choice { seq, button });
        }
        None => {
            tracing::debug!(session = %redact::session(session), id = %id, "a choice for a run that is over");
        }
    }
}

/// The user pressed Stop on message `id`: a message waiting its turn ends
/// at once; one being answered here stops (see [`super::cancel`]); a run
/// is told. Either way it ends in one `cancelled` error, kept like any
/// outcome. A message already answered, or in flight on another relay,
/// is not affected.
pub async fn cancel(chat: &Chat, session: &SessionId, id: &MessageId) {
    let log = redact::session(session);
    if let Some(request) = chat.turns().withdraw(session, id) {
        tracing::info!(session = %log, id = %id, "stopped before its turn");
        chat.metrics().message(Outcome::Cancelled);
        let frame = ServerMessage::error(
            Some(request.message_id.to_string()),
            ErrorCode::Cancelled,
            ResponderError::Cancelled.to_string(),
        );
        chat.store()
            .complete(session, id, encode(&frame), true)
            .await;
        return;
    }
    if chat.cancels().cancel(session, id) {
        tracing::info!(session = %log, id = %id, "stopped by the user");
        return;
    }
    if let Some(run) = chat.turns().run(session, id) {
        tracing::info!(session = %log, id = %id, "run stopped by the user");
        let _ = run.try_send(RunCommand::Cancel);
        return;
    }
    tracing::debug!(session = %log, id = %id, "stop for a message not being answered here");
}

#[cfg(test)]
mod tests {
    //! The takeover path ([`super::take_over`]) with the memory store: its `begin`
    //! says `Start` for the watched message at the first check, as the
    //! shared store does once the crashed relay's lease expired. (Two relays on a real Redis
    //! are exercised by the cluster tests; the path after `Start` is the
    //! same.)
    use crate::test_ids::{mid, sid};
    use shared::{MessageId, SessionId};
    use std::time::Duration;

    use crate::frame::Frame;
    use shared::protocol::FileRef;
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::chat::core::{takeover_check, Parts, Settings};
    use crate::chat::quotas::{QuotaClock, Quotas};
    use crate::chat::turns::Turns;
    use crate::responder::{ChatRequest, Responder};
    use crate::shutdown::Drain;
    use crate::store::counters::memory::MemoryCounters;
    use crate::store::memory::Sessions;
    use crate::store::pause::LocalPause;
    use crate::store::{ConnHandle, Limits};
    use crate::uploads::Uploads;

    /// The chat core from its parts: the memory store, echo mode, uploads
    /// on (in their own directory), a short lease.
    fn chat(name: &str) -> Chat {
        let upload_dir =
            std::env::temp_dir().join(format!("relay-takeover-{name}-{}", std::process::id()));
        let uploads = crate::uploads::Settings::for_tests(Some(upload_dir));
        let counters = std::sync::Arc::new(MemoryCounters::new(100));
        Chat::new(Parts {
            store: std::sync::Arc::new(Sessions::new(Limits::default())),
            responder: Responder::new(None).expect("echo"),
            // One message of a session at a time, as by default.
            turns: Turns::new(1),
            cancels: Default::default(),
            watchers: Default::default(),
            feedback: None,
            uploads: Some(Uploads::start(&uploads, None).expect("uploads")),
            quotas: std::sync::Arc::new(Quotas::new(
                Default::default(),
                counters,
                QuotaClock::System,
            )),
            metrics: crate::metrics::Metrics::new(),
            pause: std::sync::Arc::new(LocalPause::default()),
            drain: Drain::default(),
            images: None,
            settings: Settings {
                progress: Default::default(),
                load_previous_session: false,
                run_settle: Duration::from_millis(250),
                max_wait_for_reply: Duration::from_secs(45 * 60),
                // A short lease.
                takeover_check: takeover_check(Duration::from_millis(150)),
            },
        })
    }

    /// A connection of `session` here (the takeover needs one).
    async fn connect(chat: &Chat, session: &SessionId) -> mpsc::Receiver<Frame> {
        let (tx, rx) = crate::outbox::channel(64);
        let conn = ConnHandle::new(1, tx, CancellationToken::new());
        chat.store().attach(session, conn).await;
        rx
    }

    fn message(id: &'static str, files: Vec<FileRef>) -> Incoming {
        Incoming {
            id: MessageId::from_static(id),
            text: format!("text of {id}"),
            metadata: None,
            retry: false,
            files,
            client_ip: None,
            user: None,
            regenerate: false,
        }
    }

    /// Runs [`super::take_over`] on `message` until it is done.
    async fn watch_until_taken(chat: &Chat, session: &SessionId, message: Incoming) {
        let watching = chat
            .watchers()
            .start(session, &message.id)
            .expect("not watched yet");
        let watch = super::take_over(chat.clone(), session.to_owned(), message, watching);
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .expect("taken over");
    }

    #[tokio::test]
    async fn a_message_taken_over_waits_its_turn_and_carries_its_files() {
        let chat = chat("turn");
        let _rx = connect(&chat, &sid("s")).await;
        // This relay has the file (the page uploaded it here after the
        // relay it first used crashed).
        let uploads = chat.uploads().expect("uploads on");
        let mut pending = uploads
            .store()
            .begin("s", std::net::Ipv4Addr::LOCALHOST.into())
            .expect("room");
        std::fs::write(pending.path(), b"hello").expect("write");
        pending.reserve(5).expect("room");
        let stored = pending.finish("a.txt".into(), "text/plain".into());
        // The session's turn is taken by message "a", still at n8n.
        assert_eq!(
            chat.store().begin(&sid("s"), &mid("a"), false).await,
            Verdict::Start
        );
        let a = ChatRequest {
            session_id: sid("s"),
            message_id: mid("a"),
            text: "a".into(),
            metadata: None,
            files: Vec::new(),
            user: None,
            regenerate: false,
        };
        assert!(matches!(chat.turns().submit(a), Admitted::Start(_)));
        let file = FileRef {
            upload: stored.id.clone(),
            name: "a.txt".into(),
            mime: "text/plain".into(),
            size: 5,
        };
        watch_until_taken(&chat, &sid("s"), message("b", vec![file])).await;
        // Not sent beside "a": it waits for the turn, with its file.
        let next = chat.turns().finished(&sid("s")).expect("b waits its turn");
        assert_eq!(next.message_id, "b");
        let files: Vec<&str> = next.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(files, [stored.id.as_str()]);
        uploads.store().clear();
    }

    #[tokio::test]
    async fn a_message_taken_over_without_its_files_here_asks_for_them_again() {
        let chat = chat("missing");
        let mut rx = connect(&chat, &sid("s")).await;
        let file = FileRef {
            upload: "up-on-the-crashed-relay".into(),
            name: "a.txt".into(),
            mime: "text/plain".into(),
            size: 5,
        };
        watch_until_taken(&chat, &sid("s"), message("b", vec![file])).await;
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
        assert!(
            chat.turns().finished(&sid("s")).is_none(),
            "not sent to n8n"
        );
        // Released, not an outcome: the page's resend runs it.
        assert_eq!(
            chat.store().begin(&sid("s"), &mid("b"), false).await,
            Verdict::Start
        );
    }

    /// Message `m` of `session` holds the session's turn and started a run
    /// that now waits for the user; its commands go to a channel of
    /// `room` the test holds.
    async fn a_waiting_run(
        chat: &Chat,
        session: &SessionId,
        room: usize,
    ) -> mpsc::Receiver<RunCommand> {
        assert_eq!(
            chat.store().begin(session, &mid("m"), false).await,
            Verdict::Start
        );
        let m = ChatRequest {
            session_id: session.clone(),
            message_id: mid("m"),
            text: "m".into(),
            metadata: None,
            files: Vec::new(),
            user: None,
            regenerate: false,
        };
        assert!(matches!(chat.turns().submit(m), Admitted::Start(_)));
        let (tx, rx) = mpsc::channel(room);
        chat.turns().run_started(session, &mid("m"), tx);
        assert!(chat
            .turns()
            .run_waits(session, &mid("m"), Vec::new())
            .is_none());
        rx
    }

    /// Starts reply `r` of `session` as `receive` does.
    async fn reply(chat: &Chat, session: &SessionId) {
        assert_eq!(
            chat.store().begin(session, &mid("r"), false).await,
            Verdict::Start
        );
        start(chat, session, message("r", Vec::new())).await;
    }

    /// The run ended between being chosen for the reply and the reply
    /// reaching it: the reply is a new message after all — but it waits for
    /// the turn the run's message still holds, never beside it.
    #[tokio::test]
    async fn a_reply_the_ended_run_cannot_take_waits_for_the_turn() {
        let chat = chat("closed");
        let _rx = connect(&chat, &sid("s")).await;
        let run = a_waiting_run(&chat, &sid("s"), 16).await;
        drop(run);
        reply(&chat, &sid("s")).await;
        assert_eq!(
            chat.store().begin(&sid("s"), &mid("r"), false).await,
            Verdict::InFlight,
            "not answered beside the run's message"
        );
        // The run's message ends: the reply takes its turn.
        chat.turns().run_ended(&sid("s"), &mid("m"));
        let next = chat
            .turns()
            .finished(&sid("s"))
            .expect("the reply waits its turn");
        assert_eq!(next.message_id, "r");
        assert!(chat.turns().finished(&sid("s")).is_none());
        assert_eq!(chat.turns().active_sessions(), 0, "the count is balanced");
    }

    /// The run's commands are full (button presses): the reply waits for
    /// room and reaches the run after them — not sent to n8n as a second
    /// execution beside the run.
    #[tokio::test]
    async fn a_reply_to_a_run_with_full_commands_waits_for_room() {
        let chat = chat("full");
        let _rx = connect(&chat, &sid("s")).await;
        let mut run = a_waiting_run(&chat, &sid("s"), 1).await;
        let tx = chat.turns().run(&sid("s"), &mid("m")).expect("the run");
        tx.try_send(RunCommand::Choice { seq: 1, button: 0 })
            .expect("room for one");
        reply(&chat, &sid("s")).await;
        let step = Duration::from_secs(5);
        let first = tokio::time::timeout(step, run.recv())
            .await
            .expect("a command");
        assert!(
            matches!(first, Some(RunCommand::Choice { .. })),
            "{first:?}"
        );
        match tokio::time::timeout(step, run.recv())
            .await
            .expect("the reply")
        {
            Some(RunCommand::Reply(r)) => assert_eq!(r.message_id, "r"),
            other => panic!("{other:?}"),
        }
        chat.turns().run_ended(&sid("s"), &mid("m"));
        assert!(chat.turns().finished(&sid("s")).is_none(), "nothing queued");
        assert_eq!(chat.turns().active_sessions(), 0);
    }

    /// Full, and the run ends while the reply waits for room: the reply is
    /// queued for the turn (and the page told it waits).
    #[tokio::test]
    async fn a_reply_waiting_for_room_in_a_run_that_ends_waits_for_the_turn() {
        let chat = chat("full-closed");
        let mut frames = connect(&chat, &sid("s")).await;
        let run = a_waiting_run(&chat, &sid("s"), 1).await;
        let tx = chat.turns().run(&sid("s"), &mid("m")).expect("the run");
        tx.try_send(RunCommand::Cancel).expect("room for one");
        reply(&chat, &sid("s")).await;
        chat.turns().run_ended(&sid("s"), &mid("m"));
        drop(run);
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let frame = frames.recv().await.expect("a frame");
                if frame.as_str().contains("queued") && frame.as_str().contains("\"r\"") {
                    return;
                }
            }
        })
        .await
        .expect("the reply is told it waits its turn");
        let next = chat.turns().finished(&sid("s")).expect("queued");
        assert_eq!(next.message_id, "r");
        assert!(chat.turns().finished(&sid("s")).is_none());
        assert_eq!(chat.turns().active_sessions(), 0);
    }
}
