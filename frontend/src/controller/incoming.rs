//! Frames from the relay: into the conversation, and to the machine.

use leptos::prelude::*;
use shared::{ClientMessage, ErrorCode, ServerMessage};

use super::Chat;
use crate::browser::{debug_handle, host_page, proof, storage};
use crate::model::conversation::Conversation;
use crate::model::ids;
use crate::model::machine::Event;
use crate::model::proof::{AfterRefusal, Proving};
use crate::model::quota_wake;
use crate::model::settings::{self, Adopt};

impl Chat {
    /// One text frame from the relay.
    pub(super) fn on_text(&self, text: &str) {
        self.frames.set(self.frames.get().wrapping_add(1));
        debug_handle::frames_received(self.frames.get());
        let frame = match ServerMessage::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                web_sys::console::warn_1(&format!("ignoring unreadable frame: {e}").into());
                return;
            }
        };
        if let ServerMessage::Connection {
            session_id,
            max_message_bytes,
            ..
        } = &frame
        {
            self.max_frame.set(*max_message_bytes);
            self.adopt(session_id);
            // A new connection starts unpaused; a `status` follows if not.
            self.view.paused.set(false);
        }
        self.report_test_result(&frame);
        match &frame {
            ServerMessage::Response { id, text, doc } => {
                self.update_proof(Proving::answered);
                self.bot_text(id, text, |c| c.on_response(id, text, doc.as_ref()))
            }
            // With streaming off, the complete `response` shows the answer.
            ServerMessage::Chunk { id, text, offset }
                if self.view.config.with_untracked(|c| c.streaming) =>
            {
                self.view
                    .conversation
                    .update(|c| c.on_chunk(id, text, *offset))
            }
            ServerMessage::Push { id, text, doc } => {
                self.bot_text(id, text, |c| c.on_push(id, text, doc.as_ref()))
            }
            ServerMessage::History { messages } => {
                self.view.conversation.update(|c| c.merge_history(messages))
            }
            ServerMessage::Chat {
                id,
                seq,
                text,
                doc,
                buttons,
                block_user_input,
            } => self.bot_text(id, text, |c| {
                c.on_chat(id, *seq, text, buttons, *block_user_input, doc.as_ref())
            }),
            ServerMessage::Forgotten { .. } => self.on_forgotten(),
            ServerMessage::Conversations { items } => self.on_relay_list(items),
            // A save the relay refused (not this user's session): not the
            // conversation's error, and not sent again on this connection.
            ServerMessage::Error {
                id: None,
                code: ErrorCode::SessionForbidden,
                ..
            } if self.save_refused() => {}
            ServerMessage::Run { id, state } => {
                self.view.conversation.update(|c| c.on_run(id, *state));
            }
            ServerMessage::Done { id } => {
                self.view.conversation.update(|c| c.on_done(id));
            }
            ServerMessage::Challenge {
                challenge, bits, ..
            } => {
                self.update_proof(Proving::challenged);
                self.prove(challenge.clone(), *bits);
            }
            // The relay took no proof from this connection: a new one
            // brings a new challenge — a few times, then the waiting
            // messages fail with the relay's reason.
            ServerMessage::Error {
                id: None,
                code: ErrorCode::ProofInvalid,
                message,
                ..
            } => match self.update_proof(Proving::refused) {
                AfterRefusal::Reconnect => self.dispatch(Event::Reconnect),
                AfterRefusal::GiveUp => self.give_up_proving(message),
            },
            // Refused for want of a proof that will not come: fails now.
            ServerMessage::Error {
                id: Some(id),
                code: ErrorCode::ProofRequired,
                message,
                ..
            } if self.proof.get().given_up() => {
                self.view
                    .conversation
                    .update(|c| _ = c.fail(id, ErrorCode::ProofInvalid, message));
            }
            ServerMessage::Progress {
                id,
                step,
                label,
                seq,
                state,
            } => {
                let now = crate::browser::page::now();
                self.view
                    .conversation
                    .update(|c| c.on_progress(id, step.as_deref(), *label, *seq, *state, now));
            }
            // The relay let go of the files: upload them again, then resend.
            ServerMessage::Error {
                id: Some(id),
                code: ErrorCode::UploadMissing,
                ..
            } if self.upload_again(id) => {}
            ServerMessage::Status { paused } => {
                self.view.paused.set(*paused);
                if !*paused {
                    // What waited goes now.
                    self.flush();
                }
            }
            // A quota refused it: kept in the outbox, with when it can go.
            ServerMessage::Error {
                id: Some(id),
                code: ErrorCode::QuotaExceeded,
                message,
                resets_at,
                quota,
            } => {
                self.view.conversation.update(|c| {
                    c.on_quota(id, *quota, *resets_at, message);
                });
                if let Some(at) = resets_at {
                    self.wake_at_reset(*at);
                }
            }
            // The sign-in expired on a page of its own: no host will send
            // a new token, so the message fails, visibly, and the header
            // offers to sign in again (then it can be retried).
            ServerMessage::Error {
                id: Some(id),
                code: ErrorCode::TokenExpired,
                message,
                ..
            } if host_page::requested().is_none() => {
                self.view.signed_in.set(None);
                self.view
                    .conversation
                    .update(|c| _ = c.fail(id, ErrorCode::TokenExpired, message));
                self.announce_error(ErrorCode::TokenExpired);
            }
            ServerMessage::Error {
                id, code, message, ..
            } => {
                match code {
                    ErrorCode::Paused => self.view.paused.set(true),
                    ErrorCode::TokenExpired => self.token_refused("tokenExpired", message),
                    ErrorCode::InvalidToken => self.token_refused("tokenInvalid", message),
                    _ => {}
                }
                self.view.conversation.update(|c| {
                    c.on_error(id.as_deref(), *code, message);
                });
                self.announce_error(*code);
            }
            _ => {}
        }
        self.dispatch(Event::Frame(frame));
    }

    /// The relay asks this new session for proof of work: solved with the
    /// browser's SHA-256, then sent, then the outbox (held meanwhile).
    fn prove(&self, challenge: String, bits: u8) {
        self.proving.set(true);
        let me = self.me.clone();
        leptos::task::spawn_local(async move {
            let nonce = proof::solve(&challenge, bits).await;
            let Some(chat) = me.upgrade() else { return };
            chat.proving.set(false);
            match nonce {
                Some(nonce) => {
                    chat.send_frame(&ClientMessage::Proof { challenge, nonce });
                }
                None => {
                    chat.update_proof(Proving::cannot_solve);
                    chat.give_up_proving(
                        "this browser cannot compute the relay's proof of work \
                         (it needs the page served over https)",
                    );
                }
            }
            chat.flush();
        });
    }

    /// Says error `code` to screen readers, in the page's language.
    fn announce_error(&self, code: ErrorCode) {
        let said = self.view.texts.get_untracked().error_text(code);
        self.view.announcement.set(said);
    }

    /// Sends the outbox again just after a quota resets at `resets_at`
    /// (ms since the epoch): the message it refused goes by itself if the
    /// page is still open. One timer: a later refusal replaces it.
    fn wake_at_reset(&self, resets_at: u64) {
        let wait = quota_wake::wait_ms(resets_at, crate::browser::page::now());
        let me = self.me.clone();
        let timer = gloo_timers::callback::Timeout::new(wait, move || {
            if let Some(chat) = me.upgrade() {
                chat.flush();
            }
        });
        *self.quota_wake.borrow_mut() = Some(timer);
    }

    fn update_proof<R>(&self, change: impl FnOnce(&mut Proving) -> R) -> R {
        let mut proof = self.proof.get();
        let result = change(&mut proof);
        self.proof.set(proof);
        result
    }

    /// The page cannot give the relay its proof of work: every waiting
    /// message fails, visibly, with `why` (each can be retried).
    fn give_up_proving(&self, why: &str) {
        web_sys::console::warn_1(&format!("proof of work: {why}").into());
        self.view
            .conversation
            .update(|c| _ = c.fail_pending(ErrorCode::ProofInvalid, why));
    }

    /// A bot text into the conversation (`add` says whether it was new);
    /// a new one is announced (unread count, host page, sound).
    fn bot_text(&self, id: &str, text: &str, add: impl FnOnce(&mut Conversation) -> bool) {
        let new = self.view.conversation.try_update(add).unwrap_or(false);
        if new {
            self.arrived(id, text);
        }
    }

    /// The session id of a `connection` frame: adopted only if valid, and
    /// a change from the session the page asked to resume is said visibly
    /// (never a silent switch of conversations).
    fn adopt(&self, offered: &str) {
        let requested = self.requested.borrow().clone();
        match settings::adopt_session(requested.as_deref(), offered) {
            Adopt::Invalid => {
                web_sys::console::warn_1(&"ignoring an invalid session id from the relay".into());
                return;
            }
            Adopt::Changed => {
                let note = self.view.texts.get_untracked().session_changed().to_owned();
                self.view
                    .conversation
                    .update(|c| c.add_system(ids::new_id(), note));
            }
            Adopt::Same => {}
        }
        storage::save_session(offered);
        self.list_session(offered);
        *self.session.borrow_mut() = Some(offered.to_owned());
        *self.requested.borrow_mut() = Some(offered.to_owned());
    }

    fn report_test_result(&self, frame: &ServerMessage) {
        let Some(id) = frame.answer_id() else { return };
        if matches!(frame, ServerMessage::Chunk { .. }) || !self.test_ids.borrow_mut().remove(id) {
            return;
        }
        match frame {
            ServerMessage::Response { text, .. } => {
                web_sys::console::log_1(&format!("chatInstance: webhook answered: {text}").into())
            }
            ServerMessage::Error { code, message, .. } => web_sys::console::error_1(
                &format!("chatInstance: webhook error {code}: {message}").into(),
            ),
            _ => {}
        }
    }
}
