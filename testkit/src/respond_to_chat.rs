//! The stand-in's "Respond to Chat" side: a Chat Trigger answering *Using
//! Response Nodes*, its `/chat` WebSocket, and the approval links — as n8n
//! 2.8.4 does them (rules 1–10 of `fixtures/respond-to-chat/README.md`):
//!
//! - the POST answers `{"executionStarted":true,"executionId":"<n>"}` at
//!   once (sequential ids, captured headers);
//! - the socket gets `n8n|heartbeat` on connect and on every heartbeat
//!   tick; an execution whose acks stop for longer than the cancel window is
//!   cancelled and its socket dropped without a close frame;
//! - one Chat node per poll: a `send` message is followed by
//!   `n8n|continue`, a question or an approval is not (n8n now waits); a
//!   `send` node waits until a socket has received its message;
//! - a reply is a JSON frame `{"sessionId","action":"sendMessage",
//!   "chatInput"}`, optionally with `"files":[{"name","type","data"}]`
//!   (kept as sent, for tests); anything else is ignored; a reply while n8n is not
//!   waiting still resumes the execution (swallowing the pending message);
//! - an approval is a `with-buttons` JSON frame whose links are signed over
//!   the `Host`; the GET acts only for a browser-like (or absent)
//!   User-Agent; a typed reply to a non-blocking approval declines it;
//! - success ends with a close frame without a code one poll after the last
//!   message; a failure drops the connection without a close frame;
//! - a new socket for the execution re-sends the pending message at its
//!   first poll; unknown executions get a text frame and close 1008.
//!
//! This file holds the executions and what tests ask of them; `socket.rs`
//! serves the `/chat` WebSocket and runs the Chat nodes; `links.rs` answers
//! the approval links.

mod links;
mod socket;

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

/// One Chat node of a scripted workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `send`: a message, n8n goes on (`n8n|continue`). `{input}` and
    /// `{reply}` in the text become the first message and the last reply.
    Send(String),
    /// `sendAndWait` with free text: a question; n8n waits for the reply.
    Ask(String),
    /// `sendAndWait` with an approval: buttons (the first is the approve
    /// button); `block` = "Block User Input".
    Approve {
        /// The question.
        text: String,
        /// Button labels; the first approves, the others decline.
        buttons: Vec<String>,
        /// Typed replies are ignored until a button is used.
        block: bool,
    },
    /// A node fails: the socket is dropped without a close frame.
    Fail,
}

/// How fast the stand-in's n8n runs (n8n: 3 s poll, 30 s heartbeat, 60 s
/// cancel window); tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Between two Chat nodes (n8n polls its executions every 3 s).
    pub poll: Duration,
    /// Between two `n8n|heartbeat` frames.
    pub heartbeat: Duration,
    /// Acks missing for longer than this cancel the execution.
    pub cancel_after: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            poll: Duration::from_secs(3),
            heartbeat: Duration::from_secs(30),
            cancel_after: Duration::from_secs(60),
        }
    }
}

/// What happened to an execution, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still running or waiting.
    Running,
    /// Every step done.
    Success,
    /// A `Fail` step.
    Failed,
    /// Heartbeat acks stopped.
    Canceled,
}

#[derive(Debug)]
struct Execution {
    session: String,
    input: String,
    steps: Vec<Step>,
    /// The next step to run.
    at: usize,
    /// The message of step `at` went out on some socket (re-sent on a new
    /// one while waiting).
    delivered: bool,
    /// n8n waits at step `at` for a reply or a button.
    waiting: bool,
    /// A button was used or a reply resumed the run: tell the socket
    /// `n8n|continue` at the next poll.
    resumed: bool,
    last_reply: String,
    outcome: Outcome,
    replies: Vec<serde_json::Value>,
    approvals: Vec<bool>,
    sockets: usize,
    /// Bot messages written to a socket (not `n8n|…` control frames),
    /// counting a pending message sent again on a new socket.
    messages_sent: usize,
    /// Bumped by every new socket: an older socket stops.
    generation: u64,
}

/// Every execution the stand-in started, by id.
#[derive(Debug, Default)]
pub struct Executions {
    next_id: Mutex<u64>,
    runs: Mutex<HashMap<String, Execution>>,
    pace: Mutex<Pace>,
    /// `host:port` the approval links are signed over (n8n: its
    /// `WEBHOOK_URL`'s host).
    host: Mutex<String>,
    /// Every `/chat` upgrade, known execution or not (a relay that must not
    /// follow an execution can be checked to have made none).
    chat_connections: Mutex<usize>,
    /// Every `GET /webhook-waiting/…`, valid or not.
    link_requests: Mutex<usize>,
    /// Extra JSON members for the POST's answer (`"key":value,…`): a
    /// workflow's own body that only resembles n8n's.
    start_extra: Mutex<Option<String>>,
}

/// The captured POST answer (headers as n8n sent them).
const STARTED: &str = include_str!("../fixtures/respond-to-chat/01-two-sends.post.response.raw");

impl Executions {
    /// Sets how fast executions run.
    pub fn set_pace(&self, pace: Pace) {
        *self.pace.lock() = pace;
    }

    fn pace(&self) -> Pace {
        *self.pace.lock()
    }

    /// Sets the `host:port` of the links.
    pub fn set_host(&self, host: &str) {
        *self.host.lock() = host.to_owned();
    }

    /// Adds members (`"key":value`, comma-separated) to the POST's answer,
    /// which is then no longer exactly n8n's; `None` for n8n's own.
    pub fn set_start_extra(&self, members: Option<&str>) {
        *self.start_extra.lock() = members.map(str::to_owned);
    }

    /// How many approval links were requested (signed or not).
    pub fn link_requests(&self) -> usize {
        *self.link_requests.lock()
    }

    /// How many `/chat` sockets were opened, for any execution.
    pub fn chat_connections(&self) -> usize {
        *self.chat_connections.lock()
    }

    /// Starts an execution of `steps` for a POST; returns the captured
    /// answer with its id.
    pub fn start(&self, session: &str, input: &str, steps: &[Step]) -> String {
        let id = {
            let mut next = self.next_id.lock();
            *next += 1;
            next.to_string()
        };
        self.runs.lock().insert(
            id.clone(),
            Execution {
                session: session.to_owned(),
                input: input.to_owned(),
                steps: steps.to_vec(),
                at: 0,
                delivered: false,
                waiting: false,
                resumed: false,
                last_reply: String::new(),
                outcome: Outcome::Running,
                replies: Vec::new(),
                approvals: Vec::new(),
                sockets: 0,
                messages_sent: 0,
                generation: 0,
            },
        );
        let extra = self
            .start_extra
            .lock()
            .as_ref()
            .map(|m| format!(",{m}"))
            .unwrap_or_default();
        let body = format!("{{\"executionStarted\":true,\"executionId\":\"{id}\"{extra}}}");
        crate::fixtures::with_length(crate::fixtures::head(STARTED), body.len()) + &body
    }

    /// How execution `id` ended (or that it runs).
    pub fn outcome(&self, id: &str) -> Option<Outcome> {
        self.runs.lock().get(id).map(|e| e.outcome.clone())
    }

    /// The replies execution `id` received, as sent.
    pub fn replies(&self, id: &str) -> Vec<serde_json::Value> {
        self.runs
            .lock()
            .get(id)
            .map(|e| e.replies.clone())
            .unwrap_or_default()
    }

    /// The approvals execution `id` received (`true` = approved).
    pub fn approvals(&self, id: &str) -> Vec<bool> {
        self.runs
            .lock()
            .get(id)
            .map(|e| e.approvals.clone())
            .unwrap_or_default()
    }

    /// How many sockets connected to execution `id`.
    pub fn sockets(&self, id: &str) -> usize {
        self.runs.lock().get(id).map_or(0, |e| e.sockets)
    }

    /// How many bot messages execution `id` has written to its sockets, a
    /// message sent again on a new socket counted again: a test waits for
    /// the re-sent question instead of sleeping a poll or two.
    pub fn messages_sent(&self, id: &str) -> usize {
        self.runs.lock().get(id).map_or(0, |e| e.messages_sent)
    }

    /// Every execution id, oldest first.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.runs.lock().keys().cloned().collect();
        ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(0));
        ids
    }

    /// Drops execution `id`'s chat socket at its next poll, without a close
    /// frame (a network failure between the relay and n8n).
    pub fn drop_socket(&self, id: &str) {
        if let Some(e) = self.runs.lock().get_mut(id) {
            e.generation += 1;
        }
    }

    /// Deletes execution `id`, as n8n does when the execution is deleted
    /// or pruned: its socket drops at the next poll, and a new one is
    /// refused with n8n's text naming the id.
    pub fn forget(&self, id: &str) {
        self.runs.lock().remove(id);
    }

    /// The session an execution was started for.
    pub fn session_of(&self, id: &str) -> Option<String> {
        self.runs.lock().get(id).map(|e| e.session.clone())
    }
}
