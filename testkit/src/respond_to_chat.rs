//! The stand-in's "Respond to Chat" side: a Chat Trigger answering *Using
//! Response Nodes*, its `/chat` WebSocket, and the approval links — as n8n
//! 2.8.4 does them (`../shared/n8n/respond-to-chat/`, rules 1–10 of its
//! README):
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
//!   "chatInput"}`; anything else is ignored; a reply while n8n is not
//!   waiting still resumes the execution (swallowing the pending message);
//! - an approval is a `with-buttons` JSON frame whose links are signed over
//!   the `Host`; the GET acts only for a browser-like (or absent)
//!   User-Agent; a typed reply to a non-blocking approval declines it;
//! - success ends with a close frame without a code one poll after the last
//!   message; a failure drops the connection without a close frame;
//! - a new socket for the execution re-sends the pending message at its
//!   first poll; unknown executions get a text frame and close 1008.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The captured POST answer (headers as n8n sent them).
const STARTED: &str = include_str!("../fixtures/respond-to-chat/01-two-sends.post.response.raw");
/// A browser clicked an approval link.
const RECORDED: &str = include_str!(
    "../fixtures/respond-to-chat/03-approval-buttons.get-approve-browser-ua.response.raw"
);
/// A bot (e.g. `curl`) fetched it: nothing happens.
const BOT_FETCH: &str = include_str!(
    "../fixtures/respond-to-chat/03-approval-buttons.get-approve-curl-ua.response.raw"
);
/// A wrong signature or `Host`.
const INVALID: &str = include_str!(
    "../fixtures/respond-to-chat/03-approval-buttons.get-approve-tampered-signature.response.raw"
);
/// The execution is over.
const NOTHING_TO_DO: &str = include_str!(
    "../fixtures/respond-to-chat/03-approval-buttons.get-approve-again-after-finish.response.raw"
);

/// The secret the links are signed with (n8n: the instance's HMAC secret).
const SECRET: u64 = 0x6e38_6e5f_6869_7421;

/// The signature of `host` + `path_and_query` (FNV-1a, keyed; n8n uses
/// HMAC-SHA256, the stand-in only needs "changes with any byte").
fn sign(host: &str, path_and_query: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ SECRET;
    for b in host.bytes().chain(path_and_query.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}{:016x}", h.rotate_left(17) ^ SECRET)
}

/// Whether `user_agent` looks like a bot to n8n's `isbot` (a few of its
/// patterns; none is "no User-Agent at all", which counts as a person).
fn is_bot(user_agent: Option<&str>) -> bool {
    user_agent.is_some_and(|ua| {
        let ua = ua.to_ascii_lowercase();
        [
            "bot", "curl", "wget", "spider", "crawl", "preview", "python", "http",
        ]
        .iter()
        .any(|p| ua.contains(p))
    })
}

impl Executions {
    /// Sets how fast executions run.
    pub fn set_pace(&self, pace: Pace) {
        *lock(&self.pace) = pace;
    }

    fn pace(&self) -> Pace {
        *lock(&self.pace)
    }

    /// Sets the `host:port` of the links.
    pub fn set_host(&self, host: &str) {
        *lock(&self.host) = host.to_owned();
    }

    /// Adds members (`"key":value`, comma-separated) to the POST's answer,
    /// which is then no longer exactly n8n's; `None` for n8n's own.
    pub fn set_start_extra(&self, members: Option<&str>) {
        *lock(&self.start_extra) = members.map(str::to_owned);
    }

    /// How many approval links were requested (signed or not).
    pub fn link_requests(&self) -> usize {
        *lock(&self.link_requests)
    }

    /// How many `/chat` sockets were opened, for any execution.
    pub fn chat_connections(&self) -> usize {
        *lock(&self.chat_connections)
    }

    /// Starts an execution of `steps` for a POST; returns the captured
    /// answer with its id.
    pub fn start(&self, session: &str, input: &str, steps: &[Step]) -> String {
        let id = {
            let mut next = lock(&self.next_id);
            *next += 1;
            next.to_string()
        };
        lock(&self.runs).insert(
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
        let extra = lock(&self.start_extra)
            .as_ref()
            .map(|m| format!(",{m}"))
            .unwrap_or_default();
        let body = format!("{{\"executionStarted\":true,\"executionId\":\"{id}\"{extra}}}");
        crate::n8n::with_length(&crate::fixtures::head_of(STARTED), body.len()) + &body
    }

    /// How execution `id` ended (or that it runs).
    pub fn outcome(&self, id: &str) -> Option<Outcome> {
        lock(&self.runs).get(id).map(|e| e.outcome.clone())
    }

    /// The replies execution `id` received, as sent.
    pub fn replies(&self, id: &str) -> Vec<serde_json::Value> {
        lock(&self.runs)
            .get(id)
            .map(|e| e.replies.clone())
            .unwrap_or_default()
    }

    /// The approvals execution `id` received (`true` = approved).
    pub fn approvals(&self, id: &str) -> Vec<bool> {
        lock(&self.runs)
            .get(id)
            .map(|e| e.approvals.clone())
            .unwrap_or_default()
    }

    /// How many sockets connected to execution `id`.
    pub fn sockets(&self, id: &str) -> usize {
        lock(&self.runs).get(id).map_or(0, |e| e.sockets)
    }

    /// How many bot messages execution `id` has written to its sockets, a
    /// message sent again on a new socket counted again: a test waits for
    /// the re-sent question instead of sleeping a poll or two.
    pub fn messages_sent(&self, id: &str) -> usize {
        lock(&self.runs).get(id).map_or(0, |e| e.messages_sent)
    }

    /// Every execution id, oldest first.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.runs).keys().cloned().collect();
        ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(0));
        ids
    }

    /// Serves one `/chat` WebSocket (the upgrade request already read).
    pub async fn serve_socket(self: Arc<Self>, mut stream: TcpStream, key: &str, query: &str) {
        *lock(&self.chat_connections) += 1;
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
        let params: HashMap<String, String> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let Some(id) = params.get("executionId").cloned() else {
            let _ = ws.close(Some(close(CloseCode::Policy))).await;
            return;
        };
        let generation = {
            let mut runs = lock(&self.runs);
            match runs.get_mut(&id) {
                Some(e) => {
                    e.sockets += 1;
                    e.generation += 1;
                    // A new socket gets the pending message again.
                    e.delivered = false;
                    Some(e.generation)
                }
                None => None,
            }
        };
        let Some(generation) = generation else {
            let text = format!("Execution with id \"{id}\" does not exist");
            let _ = ws.send(Message::text(text)).await;
            let _ = ws.close(Some(close(CloseCode::Policy))).await;
            return;
        };
        let pace = self.pace();
        let _ = ws.send(Message::text("n8n|heartbeat")).await;
        let mut last_ack = Instant::now();
        let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + pace.poll, pace.poll);
        let mut beat =
            tokio::time::interval_at(tokio::time::Instant::now() + pace.heartbeat, pace.heartbeat);
        loop {
            tokio::select! {
                _ = poll.tick() => {
                    match self.poll(&id, generation) {
                        Poll::Frames(frames) => {
                            for f in frames {
                                let message = !f.starts_with("n8n|");
                                if ws.send(Message::text(f)).await.is_err() {
                                    return;
                                }
                                if message {
                                    if let Some(e) = lock(&self.runs).get_mut(&id) {
                                        e.messages_sent += 1;
                                    }
                                }
                            }
                        }
                        Poll::Close => {
                            // Success: a close frame with no status code.
                            let _ = ws.send(Message::Close(None)).await;
                            let _ = tokio::time::timeout(Duration::from_secs(1), ws.next()).await;
                            return;
                        }
                        // Failed, cancelled or replaced: drop the TCP
                        // connection without a close frame.
                        Poll::Drop => return,
                    }
                }
                _ = beat.tick() => {
                    if last_ack.elapsed() > pace.cancel_after {
                        let mut runs = lock(&self.runs);
                        if let Some(e) = runs.get_mut(&id) {
                            if e.outcome == Outcome::Running {
                                e.outcome = Outcome::Canceled;
                            }
                        }
                        return;
                    }
                    if ws.send(Message::text("n8n|heartbeat")).await.is_err() {
                        return;
                    }
                }
                incoming = ws.next() => {
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            if text.as_str() == "n8n|heartbeat-ack" {
                                last_ack = Instant::now();
                            } else {
                                self.on_reply(&id, text.as_str());
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                        Some(Ok(_)) => {}
                    }
                }
            }
        }
    }

    /// One poll of execution `id` for the socket of `generation`.
    fn poll(&self, id: &str, generation: u64) -> Poll {
        let mut runs = lock(&self.runs);
        let Some(e) = runs.get_mut(id) else {
            return Poll::Drop;
        };
        if e.generation != generation {
            return Poll::Drop;
        }
        match e.outcome {
            Outcome::Running => {}
            Outcome::Success => return Poll::Close,
            Outcome::Failed | Outcome::Canceled => return Poll::Drop,
        }
        let mut frames = Vec::new();
        if e.resumed {
            e.resumed = false;
            if e.waiting {
                // Resumed by a button link: "no longer waiting for you".
                e.waiting = false;
                e.at += 1;
                e.delivered = false;
                frames.push("n8n|continue".to_owned());
                return Poll::Frames(frames);
            }
        }
        if e.waiting && e.delivered {
            return Poll::Frames(frames);
        }
        let Some(step) = e.steps.get(e.at).cloned() else {
            e.outcome = Outcome::Success;
            return Poll::Close;
        };
        let fill = |t: &str| {
            t.replace("{input}", &e.input)
                .replace("{reply}", &e.last_reply)
        };
        match step {
            Step::Send(text) => {
                frames.push(fill(&text));
                frames.push("n8n|continue".to_owned());
                e.at += 1;
                e.delivered = false;
            }
            Step::Ask(text) => {
                frames.push(fill(&text));
                e.waiting = true;
                e.delivered = true;
            }
            Step::Approve {
                text,
                buttons,
                block,
            } => {
                let node = format!("f0000000-0000-4000-8000-{:012}", e.at + 2);
                let host = lock(&self.host).clone();
                let links: Vec<serde_json::Value> = buttons
                    .iter()
                    .enumerate()
                    .map(|(i, label)| {
                        let approved = i == 0;
                        let path = format!("/webhook-waiting/{id}/{node}?approved={approved}");
                        let signature = sign(&host, &path);
                        serde_json::json!({
                            "text": label,
                            "link": format!("http://{host}{path}&signature={signature}"),
                            "type": if approved { "primary" } else { "secondary" },
                        })
                    })
                    .collect();
                let frame = serde_json::json!({
                    "type": "with-buttons",
                    "text": fill(&text),
                    "blockUserInput": block,
                    "buttons": links,
                });
                frames.push(frame.to_string());
                e.waiting = true;
                e.delivered = true;
            }
            Step::Fail => {
                e.outcome = Outcome::Failed;
                return Poll::Drop;
            }
        }
        Poll::Frames(frames)
    }

    /// A text frame from the client that is not a heartbeat ack.
    fn on_reply(&self, id: &str, text: &str) {
        let Ok(reply) = serde_json::from_str::<serde_json::Value>(text) else {
            return; // n8n only logs that it is not JSON.
        };
        if reply["action"] != "sendMessage" || !reply["sessionId"].is_string() {
            return;
        }
        let mut runs = lock(&self.runs);
        let Some(e) = runs.get_mut(id) else {
            return;
        };
        if e.outcome != Outcome::Running {
            return;
        }
        if let Some(Step::Approve { block: true, .. }) = e.steps.get(e.at) {
            if e.waiting {
                return; // input blocked until a button is used
            }
        }
        if let Some(Step::Approve { block: false, .. }) = e.steps.get(e.at) {
            if e.waiting {
                e.approvals.push(false);
            }
        }
        e.last_reply = reply["chatInput"].as_str().unwrap_or_default().to_owned();
        e.replies.push(reply);
        // Resumes the execution, waiting or not (a reply while n8n was not
        // waiting swallows the pending message: capture 01c).
        e.waiting = false;
        e.at += 1;
        e.delivered = false;
    }

    /// `GET /webhook-waiting/<id>/<node>?approved=…&signature=…`; returns
    /// the whole HTTP answer.
    pub fn follow_link(
        &self,
        path_and_query: &str,
        host: &str,
        user_agent: Option<&str>,
    ) -> String {
        *lock(&self.link_requests) += 1;
        let (unsigned, signature) = match path_and_query.rsplit_once("&signature=") {
            Some(parts) => parts,
            None => (path_and_query, ""),
        };
        if signature != sign(host, unsigned) {
            return INVALID.to_owned();
        }
        let id = unsigned
            .strip_prefix("/webhook-waiting/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        let approved = unsigned.contains("approved=true");
        let mut runs = lock(&self.runs);
        let Some(e) = runs.get_mut(id) else {
            return NOTHING_TO_DO.to_owned();
        };
        let at_approval = matches!(e.steps.get(e.at), Some(Step::Approve { .. }));
        if e.outcome != Outcome::Running || !e.waiting || !at_approval {
            return NOTHING_TO_DO.to_owned();
        }
        if is_bot(user_agent) {
            return BOT_FETCH.to_owned();
        }
        e.approvals.push(approved);
        e.last_reply = if approved { "approved" } else { "declined" }.to_owned();
        e.resumed = true;
        RECORDED.to_owned()
    }

    /// Drops execution `id`'s socket at its next poll, without a close
    /// frame (a network failure between the relay and n8n).
    pub fn drop_socket(&self, id: &str) {
        if let Some(e) = lock(&self.runs).get_mut(id) {
            e.generation += 1;
        }
    }

    /// The session an execution was started for.
    pub fn session_of(&self, id: &str) -> Option<String> {
        lock(&self.runs).get(id).map(|e| e.session.clone())
    }
}

enum Poll {
    Frames(Vec<String>),
    Close,
    Drop,
}

fn close(code: CloseCode) -> CloseFrame {
    CloseFrame {
        code,
        reason: "".into(),
    }
}
