//! What one incoming text frame means: a ping (answered at once), a chat
//! message or another frame that makes the relay work (rate-checked, then
//! handed to [`crate::chat`]), or something
//! that is not a valid frame (an `invalid_message` or `too_large` error
//! naming the message when it can).

use serde::Deserialize;
use shared::{
    validate, ClientMessage, DecodeError, ErrorCode, MessageId, ServerMessage, SessionId,
};

use super::client::Client;
use super::identify;
use crate::admission::rate::TokenBucket;
use crate::chat::{self, encode, Direct};
use crate::clock;
use crate::frame::Frame;
use crate::metrics::quota::Limit;
use crate::AppState;

/// Handles one text frame of `session`; returns the frame to answer with
/// directly, if any.
pub async fn on_text(
    state: &AppState,
    session: &SessionId,
    client: &mut Client,
    text: &str,
    bucket: &mut TokenBucket,
) -> Option<Frame> {
    on_frame(state, session, client, text, bucket)
        .await
        .map(|reply| match reply {
            Direct::Frame(frame) => encode(&frame),
            Direct::Stored(bytes) => bytes,
        })
}

async fn on_frame(
    state: &AppState,
    session: &SessionId,
    client: &mut Client,
    text: &str,
    bucket: &mut TokenBucket,
) -> Option<Direct> {
    let max = state.config().limits.max_message_bytes;
    if text.len() > max {
        return Some(Direct::Frame(ServerMessage::error(
            best_effort_id(text),
            ErrorCode::TooLarge,
            format!(
                "the message is {} bytes; the limit is {max} bytes",
                text.len()
            ),
        )));
    }
    match ClientMessage::decode(text) {
        Ok(ClientMessage::Ping { ts }) => Some(Direct::Frame(ServerMessage::Pong {
            ts: ts.unwrap_or_else(|| clock::now_ms().into()),
        })),
        Ok(ClientMessage::Message { id, .. }) if client.owes_proof => {
            Some(Direct::Frame(ServerMessage::error(
                Some(id),
                ErrorCode::ProofRequired,
                "this relay asks new sessions for proof of work: answer the challenge frame with a proof frame first",
            )))
        }
        Ok(ClientMessage::Proof { challenge, nonce }) => {
            let gate = state.proof_of_work().filter(|_| client.owes_proof)?;
            match gate.verify(&challenge, &nonce, clock::now_ms()) {
                Ok(()) => {
                    client.owes_proof = false;
                    None
                }
                Err(refusal) => Some(Direct::Frame(ServerMessage::error(
                    {
                        state.metrics().quota().refused(Limit::ProofOfWork);
                        None
                    },
                    ErrorCode::ProofInvalid,
                    refusal.to_string(),
                ))),
            }
        }
        Ok(ClientMessage::Message {
            id,
            text,
            metadata,
            retry,
            regenerate,
            files,
        }) => match bucket.take() {
            // Not run and not recorded: its resend after an `identify` runs it.
            Ok(()) if client.who.expired(state) => Some(Direct::Frame(identify::expired(id))),
            Ok(()) => {
                // Checked by the decoder already; a `MessageId` from here on.
                let Some(id) = MessageId::from_string(id) else {
                    return Some(Direct::Frame(ServerMessage::error(
                        None,
                        ErrorCode::InvalidMessage,
                        "invalid message id",
                    )));
                };
                let message = chat::incoming::Incoming {
                    id,
                    text,
                    metadata,
                    retry,
                    files,
                    client_ip: client.ip,
                    user: client.who.user().cloned(),
                    regenerate,
                };
                chat::lifecycle::receive(state.chat(), session, message).await
            }
            Err(wait) => Some(Direct::Frame(ServerMessage::error(
                Some(id),
                ErrorCode::RateLimited,
                format!(
                    "too many messages; try again in {} ms",
                    wait.as_millis().max(1)
                ),
            ))),
        },
        // The session handshake is the first frame of a `?hello`
        // connection (see `connection::hello`); later, it changes nothing.
        Ok(ClientMessage::Hello { .. }) => Some(Direct::Frame(ServerMessage::error(
            None,
            ErrorCode::InvalidMessage,
            "hello is only the first frame of a connection opened with ?hello",
        ))),
        // A new token for this connection (rate-checked like messages:
        // each one costs a signature check).
        Ok(ClientMessage::Identify { token }) => match bucket.take() {
            Ok(()) => match identify::identify(state, session, &mut client.who, &token).await {
                Some(refused) => Some(Direct::Frame(refused)),
                // Identified: the user's list of conversations.
                None => {
                    client.link_user(state.user_links());
                    let user = client.who.user().map(|u| u.id.clone())?;
                    chat::conversations::list(&**state.store(), &user, clock::now_ms())
                        .await
                        .map(Direct::Frame)
                }
            },
            Err(_) => Some(Direct::Frame(too_many_frames())),
        },
        // Each named session costs store work: rate-checked like messages.
        Ok(ClientMessage::Forget { sessions }) => match bucket.take() {
            Ok(()) => {
                let user = client.who.user().map(|u| u.id.clone());
                let frame = chat::forget::forget(
                    &**state.store(),
                    state.uploads().map(|u| u.store()),
                    session,
                    user.as_deref(),
                    sessions,
                )
                .await;
                // The user's other pages drop the deleted conversations too
                // (the list is read only if one is listening).
                if let (Some(user), true) = (&user, client.others_listen()) {
                    if let Some(list) = chat::conversations::list(&**state.store(), user, clock::now_ms()).await {
                        client.tell_others(&encode(&list));
                    }
                }
                Some(Direct::Frame(frame))
            }
            Err(_) => Some(Direct::Frame(too_many_frames())),
        },
        // Store work for the user's list: rate-checked like messages; an
        // expired token saves nothing (the page identifies again first).
        Ok(ClientMessage::SaveConversation { session: saved, title }) => match bucket.take() {
            Ok(()) if client.who.expired(state) => Some(Direct::Frame(ServerMessage::error(
                None,
                ErrorCode::TokenExpired,
                crate::identity::IdentityError::Expired.to_string(),
            ))),
            Ok(()) => {
                let user = client.who.user().map(|u| u.id.clone());
                // Checked by the decoder already.
                let saved = SessionId::from_string(saved)?;
                let frame = chat::conversations::save(
                    &**state.store(),
                    user.as_deref(),
                    saved,
                    &title,
                    clock::now_ms(),
                )
                .await?;
                let bytes = encode(&frame);
                // The user's other pages show the new list at once.
                if let ServerMessage::Conversations { .. } = frame {
                    client.tell_others(&bytes);
                }
                Some(Direct::Stored(bytes))
            }
            Err(_) => Some(Direct::Frame(too_many_frames())),
        },
        Ok(ClientMessage::Choice { id, .. }) if client.who.expired(state) => {
            Some(Direct::Frame(identify::expired(id)))
        }
        // Button presses and Stops go to a run's bounded command queue (and
        // a press opens a link at n8n): rate-checked like messages. Past the
        // rate the error names no message — the run goes on.
        Ok(ClientMessage::Choice { id, seq, button }) => match bucket.take() {
            Ok(()) => {
                let id = MessageId::from_string(id)?;
                chat::lifecycle::choose(state.chat(), session, &id, seq, button).await;
                None
            }
            Err(_) => Some(Direct::Frame(too_many_frames())),
        },
        Ok(ClientMessage::Cancel { id }) => match bucket.take() {
            Ok(()) => {
                let id = MessageId::from_string(id)?;
                chat::lifecycle::cancel(state.chat(), session, &id).await;
                None
            }
            Err(_) => Some(Direct::Frame(too_many_frames())),
        },
        // Ratings share the message rate; past it they are dropped (they
        // are not worth an error on the page).
        Ok(ClientMessage::Feedback { id, rating }) => {
            if let Some(id) = MessageId::from_string(id).filter(|_| bucket.take().is_ok()) {
                chat::feedback::rate(state.chat(), session, &id, rating).await;
            }
            None
        }
        Err(e) => {
            let id = match e {
                DecodeError::BadId => None,
                _ => best_effort_id(text),
            };
            Some(Direct::Frame(ServerMessage::error(
                id,
                ErrorCode::InvalidMessage,
                e.to_string(),
            )))
        }
    }
}

/// The error for a frame past the rate that is not a chat message: it
/// names no message, so the page does not take it as one's outcome.
fn too_many_frames() -> ServerMessage {
    ServerMessage::error(
        None,
        ErrorCode::RateLimited,
        "too many frames; try again shortly",
    )
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
    fn ids_are_recovered_from_invalid_frames_when_usable() {
        assert_eq!(
            best_effort_id(r#"{"type":"message","id":"m1"}"#).as_deref(),
            Some("m1")
        );
        assert_eq!(best_effort_id(r#"{"type":"message","id":""}"#), None);
        assert_eq!(best_effort_id("garbage"), None);
    }
}
