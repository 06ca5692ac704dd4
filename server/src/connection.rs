//! One WebSocket connection, from the `connection` frame to the close.
//!
//! A single `select!` loop owns the socket: frames from the client, frames
//! queued for it (answers, routed here by [`crate::sessions`]), the heartbeat
//! tick, the idle deadline, and shutdown. Writing to a slow client therefore
//! only ever delays that client; answers are produced by separate tasks and
//! wait in a bounded queue, and a client that lets the queue fill is closed
//! (1008) rather than allowed to grow the relay's memory.
//!
//! The loop is generic over the socket (any `Stream + Sink` of messages), so
//! it does not care whether axum or a test built it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use shared::{validate, ClientMessage, DecodeError, ErrorCode, ServerMessage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::heartbeat::{self, IdleDeadline};
use crate::rate::TokenBucket;
use crate::responder::{ChatRequest, ResponderError};
use crate::sessions::{Begin, ConnHandle};
use crate::AppState;

/// Frames that may wait for one slow client before it is closed.
pub const OUTBOUND_QUEUE: usize = 256;

/// Close codes the relay uses.
pub mod close_code {
    /// Normal closure (idle timeout).
    pub const NORMAL: u16 = 1000;
    /// Going away: the relay is shutting down; reconnect at once.
    pub const GOING_AWAY: u16 = 1001;
    /// Invalid payload: a text frame that is not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation: the client did not read its frames.
    pub const POLICY: u16 = 1008;
    /// Message too big: a frame far above `--max-message-bytes`.
    pub const TOO_BIG: u16 = 1009;
}

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Who is connecting, decided before the upgrade.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The session to join (given or new).
    pub session_id: String,
    /// The client asked for a session id that is not valid.
    pub rejected_session: bool,
    /// The client asked to continue an existing session (a valid id).
    pub resumed: bool,
    /// The client's address, for logs.
    pub addr: Option<SocketAddr>,
}

impl Peer {
    /// Reads `?session=` from a query string: a valid id joins that session,
    /// an invalid one gets a new session (and an `invalid_session` error),
    /// none gets a new session.
    pub fn from_query(query: Option<&str>, addr: Option<SocketAddr>) -> Self {
        let requested = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "session")
                .map(|(_, v)| v.into_owned())
        });
        match requested {
            Some(id) if validate::is_valid_session_id(&id) => Peer {
                session_id: id,
                rejected_session: false,
                resumed: true,
                addr,
            },
            Some(_) => Peer {
                session_id: new_id(),
                rejected_session: true,
                resumed: false,
                addr,
            },
            None => Peer {
                session_id: new_id(),
                rejected_session: false,
                resumed: false,
                addr,
            },
        }
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Why the loop ended.
enum End {
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
    /// The client is gone (closed, errored); nothing to send.
    Gone,
}

/// Serves one upgraded WebSocket until it closes.
pub async fn serve<S, E>(mut socket: S, state: AppState, peer: Peer)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin + Send,
    E: std::fmt::Display,
{
    let conn_id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
    let client_id = new_id();
    let session = peer.session_id.clone();
    tracing::info!(conn = conn_id, client = %client_id, session = %crate::redact::session(&session), peer = ?peer.addr, "connected");

    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(OUTBOUND_QUEUE);
    let kick = CancellationToken::new();
    let out = Outgoing {
        kick: kick.clone(),
        write_timeout: state.config.idle_timeout,
    };
    let end: Result<(), End> = async {
        // Registered before the hello: once a client has the hello, pushes
        // and answers for its session reach it (on any relay). What the
        // session was owed waits in `rx` and follows the hello.
        state
            .store
            .attach(
                &session,
                ConnHandle {
                    id: conn_id,
                    tx: tx.clone(),
                    kick: kick.clone(),
                },
            )
            .await;
        let hello = ServerMessage::Connection {
            client_id: client_id.clone(),
            session_id: session.clone(),
            heartbeat_ms: state.config.heartbeat_interval.as_millis() as u64,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            max_message_bytes: Some(state.config.max_message_bytes as u64),
        };
        out.send(&mut socket, encode(&hello)).await?;
        if peer.rejected_session {
            let error = ServerMessage::error(
                None,
                ErrorCode::InvalidSession,
                format!(
                    "session ids are 1 to {} characters of A-Z, a-z, 0-9, '_' and '-'; started a new session",
                    validate::MAX_SESSION_ID_CHARS
                ),
            );
            out.send(&mut socket, encode(&error)).await?;
        }
        if peer.resumed && state.config.load_previous_session {
            tokio::spawn(send_history(state.clone(), session.clone(), tx.clone()));
        }
        let mut bucket = TokenBucket::new(state.config.rate_burst, state.config.rate_limit);
        let mut beats = state.heartbeat.subscribe();
        let mut idle = IdleDeadline::new(state.config.idle_timeout);
        loop {
            tokio::select! {
                biased;
                _ = state.close_conns.cancelled() => {
                    // Answers already queued go out before the close frame.
                    while let Ok(frame) = rx.try_recv() {
                        out.send(&mut socket, frame).await?;
                    }
                    return Err(End::Close(close_code::GOING_AWAY, "relay shutting down"));
                }
                _ = kick.cancelled() => return Err(End::Close(close_code::POLICY, NOT_READING)),
                _ = idle.expired() => return Err(End::Close(close_code::NORMAL, "idle timeout")),
                Some(frame) = rx.recv() => out.send(&mut socket, frame).await?,
                Ok(()) = beats.changed() => {
                    let frame = beats.borrow_and_update().clone();
                    if let Some(frame) = frame {
                        out.send(&mut socket, frame).await?;
                    }
                }
                incoming = socket.next() => {
                    let message = match incoming {
                        Some(Ok(message)) => message,
                        Some(Err(e)) => return Err(read_error_end(conn_id, &e.to_string())),
                        None => return Err(End::Gone),
                    };
                    idle.heard();
                    let reply = match message {
                        Message::Text(text) => on_text(&state, &session, &text, &mut bucket).await,
                        Message::Binary(_) => Some(encode(&ServerMessage::error(
                            None,
                            ErrorCode::InvalidMessage,
                            "binary frames are not supported; send JSON text frames",
                        ))),
                        Message::Close(_) => return Err(End::Gone),
                        // Protocol-level pings are answered by the WebSocket layer.
                        Message::Ping(_) | Message::Pong(_) => None,
                    };
                    if let Some(reply) = reply {
                        out.send(&mut socket, reply).await?;
                    }
                }
            }
        }
    }
    .await;

    if let Err(End::Close(code, reason)) = end {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = socket.send(Message::Close(Some(frame))).await;
            let _ = socket.close().await;
        })
        .await;
    }
    state.store.detach(&session, conn_id).await;
    tracing::info!(conn = conn_id, client = %client_id, session = %crate::redact::session(&session), "disconnected");
}

/// How to end after a read error: an oversized frame gets 1009 ("message
/// too big"), invalid UTF-8 in a text frame 1007, anything else just ends.
fn read_error_end(conn_id: u64, error: &str) -> End {
    tracing::debug!(conn = conn_id, "read error: {error}");
    if error.contains("Message too long") || error.contains("Space limit exceeded") {
        End::Close(close_code::TOO_BIG, "message too big")
    } else if error.contains("UTF-8") || error.contains("utf-8") {
        End::Close(close_code::INVALID_PAYLOAD, "text frames must be UTF-8")
    } else {
        End::Gone
    }
}

/// Why a connection is closed for not reading.
const NOT_READING: &str = "client is not reading its messages";

/// Writes frames to one connection. A write that cannot complete (the
/// client stopped reading and the socket's buffers are full) must not hold
/// the connection's loop forever: it gives way to the kick (the client's
/// queue filled up meanwhile) and to a time limit.
struct Outgoing {
    kick: CancellationToken,
    write_timeout: Duration,
}

impl Outgoing {
    async fn send<S>(&self, socket: &mut S, frame: Utf8Bytes) -> Result<(), End>
    where
        S: Sink<Message> + Unpin,
    {
        tokio::select! {
            written = tokio::time::timeout(self.write_timeout, socket.send(Message::Text(frame))) => match written {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(End::Gone),
                Err(_) => Err(End::Close(close_code::POLICY, NOT_READING)),
            },
            _ = self.kick.cancelled() => Err(End::Close(close_code::POLICY, NOT_READING)),
        }
    }
}

fn encode(frame: &ServerMessage) -> Utf8Bytes {
    Utf8Bytes::from(frame.encode())
}

/// Handles one text frame; returns the frame to answer with directly, if any.
async fn on_text(
    state: &AppState,
    session: &str,
    text: &str,
    bucket: &mut TokenBucket,
) -> Option<Utf8Bytes> {
    on_frame(state, session, text, bucket)
        .await
        .map(|reply| match reply {
            Reply::Frame(frame) => encode(&frame),
            Reply::Stored(bytes) => bytes,
        })
}

/// A direct reply: a new frame, or a stored answer sent again as is.
enum Reply {
    Frame(ServerMessage),
    Stored(Utf8Bytes),
}

async fn on_frame(
    state: &AppState,
    session: &str,
    text: &str,
    bucket: &mut TokenBucket,
) -> Option<Reply> {
    let max = state.config.max_message_bytes;
    if text.len() > max {
        return Some(Reply::Frame(ServerMessage::error(
            best_effort_id(text),
            ErrorCode::TooLarge,
            format!(
                "the message is {} bytes; the limit is {max} bytes",
                text.len()
            ),
        )));
    }
    match ClientMessage::decode(text) {
        Ok(ClientMessage::Ping { ts }) => Some(Reply::Frame(ServerMessage::Pong {
            ts: ts.unwrap_or_else(|| heartbeat::now_ms().into()),
        })),
        Ok(ClientMessage::Message {
            id,
            text,
            metadata,
            retry,
        }) => match bucket.take() {
            Ok(()) => on_message(state, session, id, text, metadata, retry).await,
            Err(wait) => Some(Reply::Frame(ServerMessage::error(
                Some(id),
                ErrorCode::RateLimited,
                format!(
                    "too many messages; try again in {} ms",
                    wait.as_millis().max(1)
                ),
            ))),
        },
        Err(e) => {
            let id = match e {
                DecodeError::BadId => None,
                _ => best_effort_id(text),
            };
            Some(Reply::Frame(ServerMessage::error(
                id,
                ErrorCode::InvalidMessage,
                e.to_string(),
            )))
        }
    }
}

async fn on_message(
    state: &AppState,
    session: &str,
    id: String,
    text: String,
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    retry: bool,
) -> Option<Reply> {
    if state.is_draining() {
        return Some(Reply::Frame(ServerMessage::error(
            Some(id),
            ErrorCode::ShuttingDown,
            ResponderError::ShuttingDown.to_string(),
        )));
    }
    match state.store.begin(session, &id, retry).await {
        Begin::Start => {
            let request = ChatRequest {
                session_id: session.to_owned(),
                message_id: id,
                text,
                metadata,
            };
            state.answers.spawn(answer(state.clone(), request));
            None
        }
        Begin::Busy => Some(Reply::Frame(ServerMessage::error(
            Some(id),
            ErrorCode::RateLimited,
            "too many messages are waiting for answers in this conversation; try again when one is answered",
        ))),
        Begin::Elsewhere => {
            // One watcher per message, however often it is resent.
            if let Some(watching) = state.takeovers.start(session, &id) {
                tracing::debug!(session = %crate::redact::session(session), id, "in flight on another relay; watching its lease");
                let request = ChatRequest {
                    session_id: session.to_owned(),
                    message_id: id,
                    text,
                    metadata,
                };
                state
                    .answers
                    .spawn(crate::takeover::watch(state.clone(), request, watching));
            }
            None
        }
        Begin::InFlight => {
            tracing::debug!(
                session,
                id,
                "duplicate of a message in flight; not forwarded again"
            );
            None
        }
        Begin::Answered(frame) => {
            tracing::debug!(
                session,
                id,
                "duplicate of an answered message; answer sent again"
            );
            Some(Reply::Stored(frame))
        }
    }
}

/// Loads the session's history from n8n and queues it for this connection.
async fn send_history(state: AppState, session: String, tx: mpsc::Sender<Utf8Bytes>) {
    match state.responder.history(&session).await {
        Some(Ok(messages)) if !messages.is_empty() => {
            let frame = ServerMessage::History { messages };
            let _ = tx.try_send(encode(&frame));
        }
        Some(Err(e)) => {
            tracing::warn!(session = %crate::redact::session(&session), "could not load the previous session: {e}")
        }
        _ => {}
    }
}

/// Gets one answer and hands it to the session store for delivery.
pub(crate) async fn answer(state: AppState, request: ChatRequest) {
    let started = std::time::Instant::now();
    let store = state.store.clone();
    let (session, id) = (request.session_id.clone(), request.message_id.clone());
    let on_chunk = move |text: &str| {
        let frame = ServerMessage::Chunk {
            id: id.clone(),
            text: text.to_owned(),
        };
        store.chunk(&session, Utf8Bytes::from(frame.encode()));
    };
    let result = tokio::select! {
        result = state.responder.answer(&request, &on_chunk) => result,
        _ = state.stop_answers.cancelled() => Err(ResponderError::ShuttingDown),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    let (frame, failed) = match result {
        Ok(text) => {
            tracing::info!(session = %crate::redact::session(&request.session_id), id = %request.message_id, latency_ms, "answered");
            (
                ServerMessage::Response {
                    id: request.message_id.clone(),
                    text,
                },
                false,
            )
        }
        Err(ResponderError::ShuttingDown) => {
            // Not an outcome: the page keeps the message and resends it
            // after reconnecting, to this relay restarted or to another one,
            // which must then run it rather than answer with this error.
            tracing::warn!(session = %crate::redact::session(&request.session_id), id = %request.message_id, latency_ms, "given up: shutting down");
            let frame = ServerMessage::error(
                Some(request.message_id.clone()),
                ErrorCode::ShuttingDown,
                ResponderError::ShuttingDown.to_string(),
            );
            state
                .store
                .release(
                    &request.session_id,
                    &request.message_id,
                    Utf8Bytes::from(frame.encode()),
                )
                .await;
            return;
        }
        Err(e) => {
            tracing::warn!(session = %crate::redact::session(&request.session_id), id = %request.message_id, latency_ms, code = %e.code(), "failed: {e}");
            (
                ServerMessage::error(Some(request.message_id.clone()), e.code(), e.to_string()),
                true,
            )
        }
    };
    state
        .store
        .complete(
            &request.session_id,
            &request.message_id,
            Utf8Bytes::from(frame.encode()),
            failed,
        )
        .await;
}

/// The `id` of a frame that failed validation, when it has a usable one, so
/// the error can be shown on the right message.
fn best_effort_id(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<String>,
    }
    serde_json::from_str::<IdOnly>(text)
        .ok()
        .and_then(|f| f.id)
        .filter(|id| validate::is_valid_message_id(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_from_query() {
        let p = Peer::from_query(Some("session=abc-123"), None);
        assert_eq!(
            (p.session_id.as_str(), p.rejected_session),
            ("abc-123", false)
        );
        let p = Peer::from_query(Some("x=1&session=bad%20id"), None);
        assert!(p.rejected_session);
        assert_eq!(p.session_id.len(), 36);
        let p = Peer::from_query(None, None);
        assert!(!p.rejected_session);
        assert_eq!(p.session_id.len(), 36);
    }

    #[test]
    fn ids_are_recovered_from_invalid_frames_when_usable() {
        assert_eq!(
            best_effort_id(r#"{"type":"message","id":"m1"}"#).as_deref(),
            Some("m1")
        );
        assert_eq!(best_effort_id(r#"{"type":"message","id":""}"#), None);
        assert_eq!(best_effort_id("garbage"), None);
    }
}
