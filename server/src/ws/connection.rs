//! One WebSocket connection, from the `connection` frame to the close.
//!
//! A single `select!` loop owns the socket: frames from the client, frames
//! queued for it (answers, routed here by [`crate::store`]), the heartbeat
//! tick, the idle deadline, and shutdown. Writing to a slow client therefore
//! only ever delays that client; answers are produced by separate tasks and
//! wait in a bounded queue, and a client that lets the queue fill is closed
//! (1008) rather than allowed to grow the relay's memory.
//!
//! The loop is generic over the socket (any `Stream + Sink` of messages), so
//! it does not care whether axum or a test built it.

use shared::SessionId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use shared::{validate, ClientMessage, ErrorCode, ServerMessage};
use tokio_util::sync::CancellationToken;

use super::client::Client;
use super::close::{self, close_code, End, NOT_READING};
use super::frames::on_text;
use super::heartbeat::IdleDeadline;
use super::identify::{self, Who};
use super::outgoing::Outgoing;
use super::peer::{new_id, Peer};
use crate::admission::rate::TokenBucket;
use crate::chat::{self, encode, history};
use crate::frame::Frame;
use crate::outbox;
use crate::redact;
use crate::store::ConnHandle;
use crate::AppState;

/// Frames that may wait for one slow client before it is closed.
pub const OUTBOUND_QUEUE: usize = 256;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Longest wait for the `hello` of a connection opened with `?hello`
/// (capped by `--idle-timeout`).
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one upgraded WebSocket until it closes.
///
/// The steps before the loop (the hello, identity, admission, the greeting,
/// the history) and each frame's handling inside it are boxed: a task is
/// as big as the largest future it may await, and an idle connection
/// spends its life in the loop, so only the loop's own state should size
/// it (massif, 1,000 idle connections: 4,608 B per connection's task with
/// them inline).
pub async fn serve<S, E>(mut socket: S, state: AppState, mut peer: Peer)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin + Send,
    E: std::fmt::Display,
{
    let conn_id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
    let mut who = Who::default();
    let awaited_hello = peer.awaits_hello;
    if peer.awaits_hello {
        let (requested, token) = match Box::pin(hello(&mut socket, &state, conn_id)).await {
            Ok(hello) => hello,
            Err(end) => return close_with(&mut socket, end).await,
        };
        who.identity = match Box::pin(identify::at_hello(&mut socket, &state, token, conn_id)).await
        {
            Ok(identity) => identity,
            Err(end) => return close_with(&mut socket, end).await,
        };
        peer.choose(requested);
    }
    if who.identity.is_none() {
        who.identity = peer.signed_in.take();
    }
    if who.identity.is_none() && state.config().oidc.require_login {
        tracing::info!(
            conn = conn_id,
            "anonymous connection refused (--require-login)"
        );
        let end = End::Close(close_code::POLICY, identify::LOGIN_REQUIRED);
        return close_with(&mut socket, end).await;
    }
    let user_id = who.user().map(|u| u.id.clone());
    Box::pin(identify::own_session(&state, &mut peer, user_id.as_deref())).await;
    // Without `?hello` this was decided before the upgrade (unless the
    // session turned out not to be this visitor's: a new one costs).
    if (awaited_hello || peer.forbidden_session) && !Box::pin(admit_session(&state, &peer)).await {
        let refused = ServerMessage::error(
            None,
            ErrorCode::RateLimited,
            crate::admission::new_sessions::REFUSED,
        );
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            socket.send(Message::from(encode(&refused))),
        )
        .await;
        let end = End::Close(close_code::TRY_AGAIN_LATER, "too many new sessions");
        return close_with(&mut socket, end).await;
    }
    let client_id = new_id();
    let session = peer.session_id.clone();
    let log = redact::session(&session);
    tracing::info!(conn = conn_id, client = %client_id, session = %log, peer = ?peer.addr, "connected");

    // A session owes proof of work, when the gate is on, until one of its
    // messages has run: only a proven session can have one, while any
    // connection that attached makes a session known (see `has_run`).
    let owes_proof = match state.proof_of_work() {
        Some(_) => !(peer.resumed && state.store().has_run(&session).await),
        None => false,
    };
    let (outbox, rx) = outbox::channel(OUTBOUND_QUEUE);
    let kick = CancellationToken::new();
    // Attached here, after the client's handshake and before the relay's
    // hello (`greet`) is sent: once a client has the hello, pushes and
    // answers for its session reach it (on any relay). What the session
    // was owed waits in `rx` and follows the hello.
    let handle = ConnHandle::new(conn_id, outbox.clone(), kick.clone());
    state.store().attach(&session, handle).await;
    if !Box::pin(identify::claim_joined(&state, &session, user_id.as_deref())).await {
        // Only if the store forgot and another user re-made the session
        // between the check and the attach: end rather than share it.
        state.store().detach(&session, conn_id).await;
        let end = End::Close(close_code::POLICY, "session taken by another user");
        return close_with(&mut socket, end).await;
    }
    let out = Outgoing {
        kick,
        write_timeout: state.config().serve.idle_timeout,
    };
    // Before the hello: a pause or resume from now on is this page's news.
    let mut pause = state.pause().watch();
    let paused = *pause.borrow_and_update();
    let greeted = match Box::pin(greet(&mut socket, &state, &peer, &client_id, &out, paused)).await
    {
        Ok(()) => Box::pin(ask_for_proof(&mut socket, &state, owes_proof, &out)).await,
        Err(end) => Err(end),
    };
    let end = match greeted {
        Ok(()) => {
            // A run waiting for this session's reply: its question again.
            for frame in state.chat().turns().replay(&session) {
                let _ = outbox.try_send(frame);
            }
            // A verified user's list of conversations, kept on the relay.
            if let Some(user) = &user_id {
                let now = crate::clock::now_ms();
                if let Some(frame) =
                    Box::pin(chat::conversations::list(&**state.store(), user, now)).await
                {
                    let _ = outbox.try_send(encode(&frame));
                }
            }
            // What was said before: the relay's transcript, or n8n's memory.
            if peer.resumed {
                Box::pin(history::queue_history(state.chat(), &session, &outbox)).await;
            }
            let mut client = Client {
                ip: peer.client_ip,
                owes_proof,
                who,
                conn: conn_id,
                outbox: Some(outbox),
                link: None,
            };
            client.link_user(state.user_links());
            run(
                &mut socket,
                &state,
                &session,
                &mut client,
                conn_id,
                Inbox { frames: rx, pause },
                &out,
            )
            .await
        }
        Err(end) => end,
    };
    close_with(&mut socket, end).await;
    state.store().detach(&session, conn_id).await;
    tracing::info!(conn = conn_id, client = %client_id, session = %log, "disconnected");
}

/// Whether `peer` may join its session: free for a session the store
/// knows, one new session's cost otherwise (see [`crate::admission::new_sessions`]).
pub async fn admit_session(state: &AppState, peer: &Peer) -> bool {
    if peer.resumed && state.store().knows(&peer.session_id).await {
        return true;
    }
    let allowed = state.new_sessions().allow(peer.client_ip);
    if !allowed {
        static REFUSALS: crate::log_throttle::LogThrottle =
            crate::log_throttle::LogThrottle::every(crate::log_throttle::WARN_EVERY);
        match REFUSALS.warn() {
            Some(quiet) => {
                tracing::warn!(ip = ?peer.client_ip, quiet, "new session refused: {}", crate::admission::new_sessions::REFUSED)
            }
            None => {
                tracing::debug!(ip = ?peer.client_ip, "new session refused: {}", crate::admission::new_sessions::REFUSED)
            }
        }
    }
    allowed
}

/// Sends the close frame `end` asks for (at most a second's wait).
async fn close_with<S: Sink<Message> + Unpin>(socket: &mut S, end: End) {
    if let End::Close(code, reason) = end {
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
}

/// The session handshake of a connection opened with `?hello`: waits for
/// the first frame, which must be a `hello`, and returns the session it
/// names (`None`: a new one) and its identity token, if any. Anything
/// else, silence for [`HELLO_TIMEOUT`], or the relay shutting down ends
/// the connection.
async fn hello<S, E>(
    socket: &mut S,
    state: &AppState,
    conn_id: u64,
) -> Result<(Option<String>, Option<String>), End>
where
    S: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    const NOT_HELLO: &str = "the first frame must be a hello";
    let wait = HELLO_TIMEOUT.min(state.config().serve.idle_timeout);
    let closing = state.connection_closing();
    let first = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return match ClientMessage::decode(&text) {
                        Ok(ClientMessage::Hello { session_id, token }) => Ok((session_id, token)),
                        _ => Err(End::Close(close_code::POLICY, NOT_HELLO)),
                    };
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Binary(_))) => {
                    return Err(End::Close(close_code::POLICY, NOT_HELLO))
                }
                Some(Ok(Message::Close(_))) | None => return Err(End::Gone),
                Some(Err(e)) => return Err(close::after_read_error(conn_id, &e.to_string())),
            }
        }
    };
    tokio::select! {
        _ = closing.cancelled() => Err(End::Close(close_code::GOING_AWAY, "relay shutting down")),
        first = tokio::time::timeout(wait, first) => {
            first.unwrap_or(Err(End::Close(close_code::POLICY, "no hello in time")))
        }
    }
}

/// The `connection` frame, and an `invalid_session` error if the asked-for
/// session was refused.
async fn greet<S>(
    socket: &mut S,
    state: &AppState,
    peer: &Peer,
    client_id: &str,
    out: &Outgoing,
    paused: bool,
) -> Result<(), End>
where
    S: Sink<Message> + Unpin,
{
    let config = state.config();
    let hello = ServerMessage::Connection {
        client_id: client_id.to_owned(),
        session_id: peer.session_id.to_string(),
        heartbeat_ms: config.serve.heartbeat_interval.as_millis() as u64,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        max_message_bytes: Some(config.limits.max_message_bytes as u64),
    };
    out.send(socket, encode(&hello)).await?;
    if peer.rejected_session {
        let error = ServerMessage::error(
            None,
            ErrorCode::InvalidSession,
            format!(
                "session ids are 1 to {} characters of A-Z, a-z, 0-9, '_' and '-'; started a new session",
                validate::MAX_SESSION_ID_CHARS
            ),
        );
        out.send(socket, encode(&error)).await?;
    }
    if paused {
        // So the page says so before the user types (and keeps what they do).
        out.send(socket, encode(&ServerMessage::Status { paused }))
            .await?;
    }
    if peer.forbidden_session {
        let error = ServerMessage::error(None, ErrorCode::SessionForbidden, identify::FORBIDDEN);
        out.send(socket, encode(&error)).await?;
    }
    Ok(())
}

/// The `challenge` frame of `--proof-of-work`, after `connection`, for a
/// connection that owes a proof.
async fn ask_for_proof<S>(
    socket: &mut S,
    state: &AppState,
    owes_proof: bool,
    out: &Outgoing,
) -> Result<(), End>
where
    S: Sink<Message> + Unpin,
{
    let Some(gate) = state.proof_of_work().filter(|_| owes_proof) else {
        return Ok(());
    };
    let c = gate.challenge(crate::clock::now_ms());
    let frame = ServerMessage::Challenge {
        challenge: c.challenge,
        bits: c.bits,
        expires_at: c.expires_at,
    };
    out.send(socket, encode(&frame)).await
}

/// What reaches a connection from inside the relay: the frames routed to
/// its session, and the operator's pause switching.
struct Inbox {
    frames: tokio::sync::mpsc::Receiver<Frame>,
    pause: tokio::sync::watch::Receiver<bool>,
}

/// The loop: whatever happens first — shutdown, a kick, the idle deadline,
/// a queued frame, a heartbeat, or a frame from the client.
async fn run<S, E>(
    socket: &mut S,
    state: &AppState,
    session: &SessionId,
    client: &mut Client,
    conn_id: u64,
    inbox: Inbox,
    out: &Outgoing,
) -> End
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin + Send,
    E: std::fmt::Display,
{
    let Inbox {
        frames: mut rx,
        mut pause,
    } = inbox;
    let config = state.config();
    let mut bucket = TokenBucket::new(config.limits.rate_burst, config.limits.rate_limit);
    let mut beats = state.heartbeat().subscribe();
    let mut idle = IdleDeadline::new(config.serve.idle_timeout);
    // Made once, not in every turn of the loop (each registers a waiter),
    // and the close is the connection's own child of the relay-wide one: a
    // heartbeat wakes every connection at once, and checking one shared
    // token had them all queue on its lock.
    let closing_token = state.connection_closing();
    let closing = closing_token.cancelled();
    let kicked = out.kick.cancelled();
    tokio::pin!(closing, kicked);
    let ended: Result<std::convert::Infallible, End> = async {
        loop {
            tokio::select! {
                biased;
                _ = &mut closing => {
                    // Answers already queued go out before the close frame.
                    while let Ok(frame) = rx.try_recv() {
                        out.send(socket, frame).await?;
                    }
                    return Err(End::Close(close_code::GOING_AWAY, "relay shutting down"));
                }
                _ = &mut kicked => return Err(End::Close(close_code::POLICY, NOT_READING)),
                _ = idle.expired() => return Err(End::Close(close_code::NORMAL, "idle timeout")),
                Some(frame) = rx.recv() => out.send(socket, frame).await?,
                Ok(()) = beats.changed() => {
                    let frame = beats.borrow_and_update().clone();
                    if let Some(frame) = frame {
                        out.send(socket, frame).await?;
                    }
                }
                Ok(()) = pause.changed() => {
                    let paused = *pause.borrow_and_update();
                    out.send(socket, encode(&ServerMessage::Status { paused })).await?;
                }
                incoming = socket.next() => {
                    idle.heard();
                    // Boxed: inline, the handling of a frame (the chat core's
                    // futures) would size every idle connection's task.
                    if let Some(reply) = Box::pin(on_message(incoming, state, session, client, conn_id, &mut bucket)).await? {
                        out.send(socket, reply).await?;
                    }
                }
            }
        }
    }
    .await;
    match ended {
        Err(end) => end,
        Ok(never) => match never {},
    }
}

/// One message from the client: a text frame's direct reply, if any, or
/// how the connection ends.
async fn on_message<E: std::fmt::Display>(
    incoming: Option<Result<Message, E>>,
    state: &AppState,
    session: &SessionId,
    client: &mut Client,
    conn_id: u64,
    bucket: &mut TokenBucket,
) -> Result<Option<Frame>, End> {
    match incoming {
        Some(Ok(Message::Text(text))) => Ok(on_text(state, session, client, &text, bucket).await),
        Some(Ok(Message::Binary(_))) => Ok(Some(encode(&ServerMessage::error(
            None,
            ErrorCode::InvalidMessage,
            "binary frames are not supported; send JSON text frames",
        )))),
        // Protocol-level pings are answered by the WebSocket layer.
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
        Some(Ok(Message::Close(_))) | None => Err(End::Gone),
        Some(Err(e)) => Err(close::after_read_error(conn_id, &e.to_string())),
    }
}
