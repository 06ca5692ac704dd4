//! A "Respond to Chat" run, held by the relay: the execution that message
//! `id` started in n8n, talking to the user over n8n's `/chat` socket for as
//! long as it lives — independent of the page's connection.
//!
//! - n8n's heartbeats are answered here, so n8n never cancels the execution
//!   because a phone locked its screen or a train went into a tunnel.
//! - Every bot message becomes a `chat` frame for the session (delivered,
//!   or kept for the page's return like a push), numbered by `seq`.
//! - A message not followed by `n8n|continue` within `--run-settle` is a
//!   question: the run waits, the page is told (`run` waiting), and the
//!   session's next message is the reply ([`super::turns`]) — sent to the
//!   execution on its socket, never as a new POST. A button press
//!   (`choice`) opens the button's signed link once.
//! - The socket lost while the run waits (or works) is opened again with
//!   backoff; n8n re-sends the pending message (recognised, not shown
//!   twice). A run that keeps dropping the connection has failed or was
//!   cancelled in n8n.
//! - The run ends when n8n closes the socket (success: `done` for the
//!   message), fails, refuses the execution, waits longer than
//!   `--max-wait-for-reply`, or the relay stops — each an `error` for the
//!   message the page can see.
//!
//! The execution id is a capability (sequential, unauthenticated at n8n):
//! it stays in this task; nothing derived from it reaches a browser. For the
//! same reason a run exists only when the operator said so
//! (`--respond-to-chat`) and n8n's answer was exactly its own
//! (see [`crate::responder::n8n::answer::execution_started`]).

use shared::{MessageId, SessionId};
use std::time::Duration;

use shared::rich_text::Doc;
use shared::timing::Backoff;
use shared::{ButtonStyle, ChatButton, ErrorCode, RunState, ServerMessage};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::core::Chat;
use super::encode;
use super::turns::RunCommand;
use crate::frame::Frame;
use crate::redact;
use crate::responder::n8n::chat_socket::{BotMessage, ChatSocket, FromN8n, ReplyError};
use crate::responder::ChatRequest;
use crate::store::transcripts::Line;

/// Commands waiting for a run.
const COMMANDS: usize = 16;
/// Drops in a row (without a message in between) after which the run is
/// taken as failed or cancelled in n8n.
const MAX_DROPS: u32 = 4;
/// Reconnects to n8n's socket back off like the page does.
const RECONNECT: Backoff = Backoff {
    initial: Duration::from_millis(200),
    max: Duration::from_secs(5),
    max_attempts: MAX_DROPS,
};

/// How a run ended badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The socket could not be opened at all.
    #[error("n8n's chat socket could not be opened: {0}")]
    Unreachable(String),
    /// n8n refused the execution (unknown id). Its own text names the
    /// execution id, so it is logged where it arrives (`Run::drive`) and
    /// the page gets this fixed sentence.
    #[error("n8n does not know this run any more (it was deleted or has ended there)")]
    Unknown,
    /// The connection kept dropping: n8n failed or cancelled the execution.
    #[error("the workflow stopped before it finished (it failed or was cancelled in n8n)")]
    Stopped,
    /// No reply within `--max-wait-for-reply`.
    #[error("the workflow waited longer than {} for your reply and was let go", humantime::format_duration(*.0))]
    WaitedTooLong(Duration),
    /// The relay is stopping.
    #[error("the relay restarted while the workflow was running; n8n keeps that run, but this chat cannot continue it — send your message again to start anew")]
    RelayStopping,
    /// The user pressed Stop.
    #[error("stopped; n8n's run may still go on by itself")]
    Cancelled,
}

impl RunError {
    /// The protocol code.
    pub fn code(&self) -> ErrorCode {
        match self {
            RunError::Unreachable(_) => ErrorCode::WebhookUnreachable,
            RunError::WaitedTooLong(_) => ErrorCode::WebhookTimeout,
            RunError::Unknown | RunError::Stopped | RunError::RelayStopping => {
                ErrorCode::WebhookError
            }
            RunError::Cancelled => ErrorCode::Cancelled,
        }
    }
}

/// The last message of the run, and what was done about it.
#[derive(Debug, Default)]
struct Shown {
    seq: u32,
    message: Option<BotMessage>,
    /// Its `chat` frame, made once: a page that connects while the run
    /// waits gets this copy (the bytes are shared), not a second
    /// formatting of the text.
    frame: Option<Frame>,
    /// A button of it was pressed (acted on once).
    chosen: bool,
}

/// Holds the run of `request` (execution `execution_id`) until it ends.
pub async fn hold(chat: &Chat, request: &ChatRequest, execution_id: &str) -> Result<(), RunError> {
    let (tx, rx) = mpsc::channel(COMMANDS);
    let turns = chat.turns();
    turns.run_started(&request.session_id, &request.message_id, tx);
    let mut run = Run {
        chat,
        request,
        execution_id,
        shown: Shown::default(),
        rx,
    };
    let result = run.drive().await;
    turns.run_ended(&request.session_id, &request.message_id);
    // Replies that reached the run too late become new messages.
    let mut left = Vec::new();
    run.rx.close();
    while let Ok(command) = run.rx.try_recv() {
        if let RunCommand::Reply(reply) = command {
            left.push(reply);
        }
    }
    turns.give_back(&request.session_id, left);
    result
}

struct Run<'a> {
    chat: &'a Chat,
    request: &'a ChatRequest,
    execution_id: &'a str,
    shown: Shown,
    rx: mpsc::Receiver<RunCommand>,
}

impl Run<'_> {
    fn session(&self) -> &SessionId {
        &self.request.session_id
    }

    fn id(&self) -> &MessageId {
        &self.request.message_id
    }

    async fn drive(&mut self) -> Result<(), RunError> {
        let settings = self.chat.settings();
        let (settle, max_wait) = (settings.run_settle, settings.max_wait_for_reply);
        let mut socket = self
            .chat
            .responder()
            .open_run(self.session(), self.execution_id)
            .await
            .map_err(RunError::Unreachable)?;
        tracing::info!(session = %redact::session(self.session()), id = %self.id(), "run started: holding n8n's chat socket");
        let mut question_at: Option<Instant> = None;
        let mut waiting_since: Option<Instant> = None;
        let mut drops = 0u32;
        let mut resent = false;
        loop {
            let question_due = question_at.unwrap_or_else(far_future);
            let wait_over = waiting_since.map_or_else(far_future, |t| t + max_wait);
            tokio::select! {
                said = socket.next() => match said {
                    FromN8n::Message(m) => {
                        drops = 0;
                        // After a reconnect n8n sends the pending message again.
                        let again = resent && self.shown.message.as_ref() == Some(&m);
                        resent = false;
                        if !again {
                            self.show(m).await;
                        }
                        question_at = Some(Instant::now() + settle);
                    }
                    FromN8n::Continue => {
                        drops = 0;
                        question_at = None;
                        if waiting_since.take().is_some() {
                            self.working().await;
                        }
                    }
                    FromN8n::Finished => return Ok(()),
                    FromN8n::Refused(text) => {
                        tracing::warn!(id = %self.id(), "n8n refused the run's chat socket: {text}");
                        return Err(RunError::Unknown);
                    }
                    FromN8n::Dropped(reason) => {
                        drops += 1;
                        tracing::debug!(id = %self.id(), drops, "n8n's chat socket dropped: {reason}");
                        socket = self.reconnect(drops).await?;
                        resent = true;
                    }
                },
                _ = tokio::time::sleep_until(question_due), if question_at.is_some() => {
                    question_at = None;
                    waiting_since = Some(Instant::now());
                    if let Some(reply) = self.start_waiting().await {
                        waiting_since = None;
                        self.reply(&mut socket, reply).await;
                    }
                }
                command = self.rx.recv() => match command {
                    Some(RunCommand::Reply(reply)) => {
                        let sent = self.reply(&mut socket, reply).await;
                        waiting_since = waiting_since.filter(|_| !sent);
                    }
                    Some(RunCommand::Choice { seq, button }) => self.choose(seq, button).await,
                    Some(RunCommand::Cancel) => {
                        socket.close().await;
                        return Err(RunError::Cancelled);
                    }
                    None => {}
                },
                _ = tokio::time::sleep_until(wait_over), if waiting_since.is_some() => {
                    socket.close().await;
                    return Err(RunError::WaitedTooLong(max_wait));
                }
                _ = self.chat.drain().started(), if waiting_since.is_some() => {
                    socket.close().await;
                    return Err(RunError::RelayStopping);
                }
                _ = self.chat.drain().answers_stopped() => {
                    socket.close().await;
                    return Err(RunError::RelayStopping);
                }
            }
        }
    }

    /// Opens the socket again after drop number `drops`.
    async fn reconnect(&self, drops: u32) -> Result<ChatSocket, RunError> {
        let mut attempt = drops;
        loop {
            if !RECONNECT.allows(attempt) {
                return Err(RunError::Stopped);
            }
            tokio::select! {
                _ = tokio::time::sleep(RECONNECT.delay(attempt, 0.5)) => {}
                _ = self.chat.drain().answers_stopped() => return Err(RunError::RelayStopping),
            }
            match self
                .chat
                .responder()
                .open_run(self.session(), self.execution_id)
                .await
            {
                Ok(socket) => return Ok(socket),
                Err(e) => {
                    tracing::debug!(id = %self.id(), "reopening n8n's chat socket failed: {e}");
                    attempt += 1;
                }
            }
        }
    }

    /// Lines for the session's transcript: the run's messages and the
    /// user's text around them.
    async fn record(&self, lines: Vec<Line>) {
        let user = self.request.user.as_ref().map(|u| u.id.as_str());
        let now = crate::clock::now_ms();
        self.chat
            .store()
            .record_lines(self.session(), user, lines, now)
            .await;
    }

    /// A new bot message: to the page (or kept for it).
    async fn show(&mut self, m: BotMessage) {
        self.shown.seq += 1;
        self.shown.chosen = false;
        let mut lines = Vec::with_capacity(2);
        if self.shown.seq == 1 {
            // The message that started the run, before its first answer.
            lines.push(Line::user(&self.request.text));
        }
        lines.push(Line::bot(&m.text));
        self.record(lines).await;
        // Off the async threads when it has code to highlight, as answers.
        // Meanwhile (at most the highlighter's time bound, plus a wait for
        // a permit) the loop does not see a cancel or the drain: before,
        // the same work blocked the whole async worker instead.
        let doc = self.chat.format_answer(&m.text).await;
        let frame = chat_frame(self.id(), self.shown.seq, &m, doc);
        self.shown.frame = Some(frame.clone());
        self.shown.message = Some(m);
        self.deliver(frame).await;
    }

    /// Starts waiting for the user's reply: a message already in line is
    /// it (returned at once); otherwise the page is told the run waits.
    async fn start_waiting(&self) -> Option<ChatRequest> {
        let waiting = encode(&ServerMessage::Run {
            id: self.id().to_string(),
            state: RunState::Waiting,
        });
        let reply = self
            .chat
            .turns()
            .run_waits(self.session(), self.id(), self.replay());
        if reply.is_none() {
            self.deliver(waiting).await;
            self.progress(shared::ProgressLabel::Reply);
        }
        reply
    }

    /// The run's waiting chat as a `progress` frame, live only (the `run`
    /// frame is what a page that connects later is sent).
    fn progress(&self, label: shared::ProgressLabel) {
        let frame = super::progress::waiting(self.id(), label);
        self.chat
            .store()
            .progress(self.session(), self.id(), encode(&frame));
    }

    /// The run goes on without the user.
    async fn working(&self) {
        self.chat.turns().run_works(self.session(), self.id());
        self.deliver(encode(&ServerMessage::Run {
            id: self.id().to_string(),
            state: RunState::Working,
        }))
        .await;
        self.progress(shared::ProgressLabel::Workflow);
    }

    /// Ends reply `reply` in an error (the run still waits); the next
    /// message in line, if any, is the reply now.
    async fn refuse(&self, reply: &ChatRequest, code: ErrorCode, why: &str) -> Option<ChatRequest> {
        let error = ServerMessage::error(Some(reply.message_id.to_string()), code, why);
        self.chat
            .store()
            .complete(&reply.session_id, &reply.message_id, encode(&error), true)
            .await;
        self.chat
            .turns()
            .run_waits(self.session(), self.id(), self.replay())
    }

    /// Ends reply `reply` without an outcome (released, `code`: the page
    /// sends it again); the run still waits — for the next message in
    /// line, if any.
    async fn give_back(
        &self,
        reply: &ChatRequest,
        code: ErrorCode,
        why: &ReplyError,
    ) -> Option<ChatRequest> {
        let error = ServerMessage::error(Some(reply.message_id.to_string()), code, why.to_string());
        self.chat
            .store()
            .release(&reply.session_id, &reply.message_id, encode(&error))
            .await;
        self.chat
            .turns()
            .run_waits(self.session(), self.id(), self.replay())
    }

    /// Deletes the uploads of `reply`.
    fn release_files(&self, reply: &ChatRequest) {
        if let (Some(uploads), false) = (self.chat.uploads(), reply.files.is_empty()) {
            let ids: Vec<String> = reply.files.iter().map(|f| f.id.clone()).collect();
            uploads.store().remove(&ids);
        }
    }

    /// Sends the user's reply, with its files; its message is then done. While n8n ignores
    /// typing (an approval that blocks input), a reply ends in an error
    /// saying to use a button and the run still waits — for the next
    /// message in line, if any. True if a reply went to n8n.
    async fn reply(&self, socket: &mut ChatSocket, reply: ChatRequest) -> bool {
        let store = self.chat.store();
        let mut next = Some(reply);
        while let Some(reply) = next.take() {
            let blocked = self
                .shown
                .message
                .as_ref()
                .is_some_and(|m| m.block_user_input && !self.shown.chosen);
            if blocked {
                next = self
                    .refuse(
                        &reply,
                        ErrorCode::InvalidMessage,
                        "the workflow waits for one of its buttons; typing does not answer it",
                    )
                    .await;
                continue;
            }
            match socket
                .reply(&reply.session_id, &reply.text, &reply.files)
                .await
            {
                Ok(()) => {}
                Err(ReplyError::Socket(e)) => {
                    // The socket is gone (it is opened again when noticed):
                    // the reply did not reach n8n, which still waits for it.
                    tracing::debug!(id = %self.id(), "the reply could not be sent: {e}");
                    next = self
                        .refuse(
                            &reply,
                            ErrorCode::WebhookUnreachable,
                            "the connection to n8n broke while sending your reply; send it again",
                        )
                        .await;
                    continue;
                }
                Err(e @ ReplyError::FileGone(_)) => {
                    // Not its outcome, as for a message: the page uploads
                    // the file again and resends, which is the reply then.
                    tracing::info!(id = %reply.message_id, run = %self.id(), "a file of the reply expired");
                    next = self.give_back(&reply, ErrorCode::UploadMissing, &e).await;
                    continue;
                }
                Err(e @ ReplyError::TooLarge(_)) => {
                    // Sending it again cannot help: its files go.
                    self.release_files(&reply);
                    next = self
                        .refuse(&reply, ErrorCode::TooLarge, &e.to_string())
                        .await;
                    continue;
                }
            }
            tracing::info!(session = %redact::session(self.session()), id = %reply.message_id, run = %self.id(), files = reply.files.len(), "reply sent to the run");
            self.record(vec![Line::user(&reply.text)]).await;
            let done = encode(&ServerMessage::Done {
                id: reply.message_id.to_string(),
            });
            store
                .complete(&reply.session_id, &reply.message_id, done, false)
                .await;
            // Done: its files are not needed again (as for an answered
            // message).
            self.release_files(&reply);
            self.working().await;
            return true;
        }
        false
    }

    /// The page's frames of a waiting run (for a page that connects).
    fn replay(&self) -> Vec<Frame> {
        let mut replay = Vec::new();
        if let Some(frame) = &self.shown.frame {
            replay.push(frame.clone());
        }
        replay.push(encode(&ServerMessage::Run {
            id: self.id().to_string(),
            state: RunState::Waiting,
        }));
        replay
    }

    /// Button `button` of chat message `seq` was pressed.
    async fn choose(&mut self, seq: u32, button: u32) {
        if seq != self.shown.seq || self.shown.chosen {
            return; // an old message, or pressed already
        }
        let Some(link) = self
            .shown
            .message
            .as_ref()
            .and_then(|m| m.buttons.get(button as usize))
            .map(|b| b.link.clone())
        else {
            return;
        };
        self.shown.chosen = true;
        match self.chat.responder().choose(&link, self.execution_id).await {
            Ok(()) => {
                tracing::info!(id = %self.id(), seq, button, "button acted on");
            }
            Err(e) => {
                tracing::warn!(id = %self.id(), seq, button, "button not acted on: {e}");
                self.shown.chosen = false;
            }
        }
    }

    /// To the session's pages, or kept for their return — in order.
    async fn deliver(&self, frame: Frame) {
        if self
            .chat
            .store()
            .push(self.session(), frame)
            .await
            .is_none()
        {
            tracing::debug!(session = %redact::session(self.session()), "a run's frame for a forgotten session");
        }
    }
}

/// The `chat` frame of bot message `m` (formatted as `doc`), number `seq`
/// of the run of `id`. Only the labels of buttons reach the page, never
/// their links.
fn chat_frame(id: &MessageId, seq: u32, m: &BotMessage, doc: Option<Doc>) -> Frame {
    let buttons = m
        .buttons
        .iter()
        .map(|b| ChatButton {
            text: b.text.clone(),
            style: if b.kind == "primary" {
                ButtonStyle::Primary
            } else {
                ButtonStyle::Secondary
            },
        })
        .collect();
    encode(&ServerMessage::Chat {
        id: id.to_string(),
        seq,
        text: m.text.clone(),
        doc,
        buttons,
        block_user_input: m.block_user_input,
    })
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}
