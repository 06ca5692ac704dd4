//! Who a connection speaks for, on a relay with verified identity (see
//! [`crate::identity`]).
//!
//! - At the handshake the `hello`'s token is checked. A token that is
//!   expired or refused gets its error (`token_expired`, `invalid_token`)
//!   and the relay waits — at most [`IDENTIFY_TIMEOUT`], [`MAX_TRIES`]
//!   tokens — for an `identify` frame with a good one, so the page can ask
//!   its host for a new token without losing its place. A key set that
//!   cannot be fetched closes with 1013 (try again later).
//! - The session: a session that belongs to a user is joined only by that
//!   user; anyone else (another user, an anonymous visitor) gets a new
//!   session and a `session_forbidden` error. A session the store does not
//!   know is not resumed either (it cannot say whose it was, and n8n's chat
//!   memory under that id may be a user's) — unless it is in the user's
//!   own list of conversations on the relay, which proves it was theirs
//!   (see [`crate::chat::conversations`]). So a session id alone never
//!   opens an identified user's conversation.
//! - Later, every message is checked against the token's `exp`: past it,
//!   the message gets `token_expired` and is not run (nothing is recorded,
//!   so its resend after an `identify` runs it once).

use shared::SessionId;
use std::time::Duration;

use axum::extract::ws::Message;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use shared::{ClientMessage, ErrorCode, ServerMessage};

use super::close::{self, close_code, End};
use super::peer::Peer;
use crate::chat::encode;
use crate::identity::{Identity, IdentityError, VerifiedUser};
use crate::store::Claim;
use crate::AppState;

/// Longest wait for a good token after the handshake's was refused
/// (capped by `--idle-timeout`): the host's backend has to sign a new one.
pub const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(60);
/// Most refused tokens at the handshake before the connection is closed.
pub const MAX_TRIES: usize = 5;

/// What the page is told when its session is not its own.
pub const FORBIDDEN: &str =
    "this conversation belongs to another user, or is no longer known to the relay; started a new one";

/// The close reason for an anonymous connection on a relay with
/// `--require-login`.
pub const LOGIN_REQUIRED: &str = "sign-in required: this chat is for signed-in users";

/// The identity a connection is bound to.
#[derive(Debug, Default)]
pub struct Who {
    /// The verified user and the token's expiry; `None`: anonymous.
    pub identity: Option<Identity>,
}

impl Who {
    /// The user, if verified.
    pub fn user(&self) -> Option<&VerifiedUser> {
        self.identity.as_ref().map(|i| &i.user)
    }

    /// Whether the token has expired (never, for an anonymous connection).
    pub fn expired(&self, state: &AppState) -> bool {
        let now = crate::clock::now_ms() / 1000;
        match (state.identity(), &self.identity) {
            (Some(verifier), Some(identity)) => verifier.has_expired(identity, now),
            // Signed in (the session cookie): its own expiry, no leeway.
            (None, Some(identity)) => now > identity.expires_at,
            _ => false,
        }
    }
}

/// The handshake's token: `None` without one (or with identity off, where
/// tokens are ignored); a refused token waits for a good `identify` (see
/// the module's docs).
pub async fn at_hello<S, E>(
    socket: &mut S,
    state: &AppState,
    token: Option<String>,
    conn_id: u64,
) -> Result<Option<Identity>, End>
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
    E: std::fmt::Display,
{
    let (Some(verifier), Some(token)) = (state.identity(), token) else {
        return Ok(None);
    };
    let wait = IDENTIFY_TIMEOUT.min(state.config().serve.idle_timeout);
    let deadline = tokio::time::Instant::now() + wait;
    let mut result = verifier.verify(&token).await;
    let mut tries = 1;
    loop {
        let refused = match result {
            Ok(identity) => return Ok(Some(identity)),
            Err(refused) => refused,
        };
        tracing::info!(
            conn = conn_id,
            "identity token refused at the handshake: {refused}"
        );
        let frame = ServerMessage::error(None, refused.code(), refused.to_string());
        let sent = tokio::time::timeout(
            Duration::from_secs(1),
            socket.send(Message::from(encode(&frame))),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            return Err(End::Gone);
        }
        if let IdentityError::Unavailable(_) = refused {
            return Err(End::Close(
                close_code::TRY_AGAIN_LATER,
                "identity tokens cannot be checked now",
            ));
        }
        if tries == MAX_TRIES {
            return Err(End::Close(close_code::POLICY, "identity token refused"));
        }
        let token = next_identify(socket, state, deadline, conn_id).await?;
        result = verifier.verify(&token).await;
        tries += 1;
    }
}

/// The token of the next `identify` frame before `deadline`.
async fn next_identify<S, E>(
    socket: &mut S,
    state: &AppState,
    deadline: tokio::time::Instant,
    conn_id: u64,
) -> Result<String, End>
where
    S: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    const EXPECTED: &str = "a new identity token (identify) was expected";
    let closing = state.connection_closing();
    let next = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => match ClientMessage::decode(&text) {
                    Ok(ClientMessage::Identify { token }) => return Ok(token),
                    Ok(ClientMessage::Ping { .. }) => continue,
                    _ => return Err(End::Close(close_code::POLICY, EXPECTED)),
                },
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Binary(_))) => {
                    return Err(End::Close(close_code::POLICY, EXPECTED))
                }
                Some(Ok(Message::Close(_))) | None => return Err(End::Gone),
                Some(Err(e)) => return Err(close::after_read_error(conn_id, &e.to_string())),
            }
        }
    };
    tokio::select! {
        _ = closing.cancelled() => Err(End::Close(close_code::GOING_AWAY, "relay shutting down")),
        next = tokio::time::timeout_at(deadline, next) => {
            next.unwrap_or(Err(End::Close(close_code::POLICY, "no valid identity token in time")))
        }
    }
}

/// Makes sure `peer` may join its session: on a relay with verified
/// identity, a resumed session must be `user`'s (or have no owner while
/// `user` is anonymous); otherwise `peer` gets a new session and
/// [`Peer::forbidden_session`] is set. Without identity, nothing changes.
pub async fn own_session(state: &AppState, peer: &mut Peer, user: Option<&str>) {
    if !state.identity_on() || !peer.resumed {
        return;
    }
    let claim = state.store().claim(&peer.session_id, user).await;
    // A session the store forgot (`--retain-for`) that is in the user's
    // own list on the relay was theirs: they may resume it.
    let listed = match (claim, user) {
        (Claim::Unknown, Some(user)) => {
            let now = crate::clock::now_ms();
            state
                .store()
                .lists_conversation(user, &peer.session_id, now)
                .await
        }
        _ => false,
    };
    match claim {
        Claim::Granted => {}
        Claim::Unknown if listed => {}
        Claim::Unknown | Claim::Refused => {
            tracing::info!(
                session = %crate::redact::session(&peer.session_id),
                "session not joined: another user's, or unknown to the store; a new one instead"
            );
            peer.session_id = super::peer::new_session_id();
            peer.resumed = false;
            peer.forbidden_session = true;
        }
    }
}

/// Records `user` as the owner of the session `peer` has just joined (a
/// new one, or one recreated after the store forgot it meanwhile). False
/// if it belongs to someone else after all (the connection then ends).
pub async fn claim_joined(state: &AppState, session: &SessionId, user: Option<&str>) -> bool {
    if !state.identity_on() {
        return true;
    }
    state.store().claim(session, user).await == Claim::Granted
}

/// An `identify` on an open connection: the token checked, and the
/// connection bound to its user — who must be the user it already has, or
/// (for an anonymous connection) may take over a session without an owner.
/// Returns the error frame to answer with, if any.
pub async fn identify(
    state: &AppState,
    session: &SessionId,
    who: &mut Who,
    token: &str,
) -> Option<ServerMessage> {
    let Some(verifier) = state.identity() else {
        return Some(ServerMessage::error(
            None,
            ErrorCode::InvalidMessage,
            "this relay does not take identity tokens (no --identity-secret or --identity-jwks-url)",
        ));
    };
    let identity = match verifier.verify(token).await {
        Ok(identity) => identity,
        Err(refused) => {
            return Some(ServerMessage::error(
                None,
                refused.code(),
                refused.to_string(),
            ))
        }
    };
    let same = match who.user() {
        Some(user) => user.id == identity.user.id,
        None => state.store().claim(session, Some(&identity.user.id)).await == Claim::Granted,
    };
    if !same {
        return Some(ServerMessage::error(
            None,
            ErrorCode::SessionForbidden,
            "this token is for another user than this conversation's; reconnect to start a conversation of that user",
        ));
    }
    who.identity = Some(identity);
    None
}

/// The error for a message sent after the connection's token expired.
pub fn expired(id: String) -> ServerMessage {
    ServerMessage::error(
        Some(id),
        ErrorCode::TokenExpired,
        IdentityError::Expired.to_string(),
    )
}
