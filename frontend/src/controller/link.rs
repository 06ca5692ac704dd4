//! The link to the relay: the machine's commands carried out on the
//! socket, and its next deadline armed on the one timer.

use leptos::prelude::*;
use shared::{ClientMessage, ErrorCode};

use super::Chat;
use crate::browser::debug_handle;
use crate::browser::page::{mark_online, now};
use crate::browser::socket::Socket;
use crate::model::conversation::Conversation;
use crate::model::ids;
use crate::model::machine::{Command, Event, Phase};
use crate::model::settings;

impl Chat {
    /// Feeds one event to the machine, carries out its commands, and arms
    /// the timer for its next deadline.
    pub fn dispatch(&self, event: Event) {
        let at = now();
        let commands = self.machine.borrow_mut().handle(event, at);
        let (phase, rtt, deadline) = {
            let m = self.machine.borrow();
            (m.phase(), m.rtt_ms(), m.next_deadline())
        };
        if self.view.phase.get_untracked() != phase {
            if phase == Phase::Online {
                mark_online();
            }
            self.view.phase.set(phase);
        }
        if self.view.rtt_ms.get_untracked() != rtt {
            self.view.rtt_ms.set(rtt);
        }
        for command in commands {
            self.execute(command);
        }
        // Only when something is on the wire: an update re-saves the
        // whole conversation.
        if phase != Phase::Online
            && self
                .view
                .conversation
                .with_untracked(Conversation::has_sent)
        {
            self.view.conversation.update(Conversation::requeue_sent);
        }
        let me = self.me.clone();
        self.timer.borrow_mut().arm(deadline, at, move || {
            if let Some(chat) = me.upgrade() {
                chat.timer.borrow_mut().fired();
                chat.dispatch(Event::Tick {
                    jitter: ids::random(),
                });
            }
        });
        self.publish_debug();
    }

    fn execute(&self, command: Command) {
        match command {
            Command::Open => self.open(),
            Command::Close => {
                self.socket.borrow_mut().take();
            }
            Command::Ping { ts } => {
                let ts = serde_json::Number::from_f64(ts);
                self.send_frame(&ClientMessage::Ping { ts });
            }
            Command::Flush => self.flush(),
        }
    }

    fn open(&self) {
        // Drop (close and silence) the old socket before opening a new one.
        self.socket.borrow_mut().take();
        // A `forget` the old socket sent is sent again on this one.
        self.forget_sent.borrow_mut().clear();
        // Saves wait for this connection's list (a signed-in user's).
        self.relay_lists.set(false);
        self.saving.borrow_mut().clear();
        let requested = self.session.borrow().clone();
        // The session goes in the first frame, not in the URL: the id is a
        // credential, and URLs end up in proxies' access logs.
        let url = settings::with_hello(&self.base_url.borrow(), requested.as_deref());
        let hello = settings::hello(requested.as_deref(), self.token.borrow().as_deref());
        *self.requested.borrow_mut() = requested;
        let (on_text, on_close) = (self.me.clone(), self.me.clone());
        let socket = Socket::open(
            &url,
            Some(hello.encode()),
            move |text| {
                if let Some(chat) = on_text.upgrade() {
                    chat.on_text(&text);
                }
            },
            move || {
                if let Some(chat) = on_close.upgrade() {
                    chat.socket.borrow_mut().take();
                    chat.dispatch(Event::Closed {
                        jitter: ids::random(),
                    });
                }
            },
        );
        match socket {
            Ok(socket) => *self.socket.borrow_mut() = Some(socket),
            Err(e) => {
                web_sys::console::warn_1(&format!("cannot open WebSocket: {e}").into());
                let me = self.me.clone();
                // Report the failure from a fresh task, not from inside dispatch.
                leptos::task::spawn_local(async move {
                    if let Some(chat) = me.upgrade() {
                        chat.dispatch(Event::Closed {
                            jitter: ids::random(),
                        });
                    }
                });
            }
        }
    }

    pub(super) fn send_frame(&self, frame: &ClientMessage) -> bool {
        self.send_encoded(&frame.encode())
    }

    fn send_encoded(&self, text: &str) -> bool {
        self.socket.borrow().as_ref().is_some_and(|s| s.send(text))
    }

    /// Sends every pending message, oldest first (up to one whose files
    /// are still on their way), and starts the next upload.
    pub(super) fn flush(&self) {
        // Deleted conversations first (no proof of work needed for them).
        self.send_forget();
        // Sent after the proof of work, which the relay wants first.
        if self.proving.get() {
            return;
        }
        self.pump_uploads();
        if self.view.paused.get_untracked() {
            // Paused by the operator: the outbox waits for the resume.
            return;
        }
        let outbox = self.view.conversation.with_untracked(Conversation::outbox);
        for mut frame in outbox {
            if let ClientMessage::Message { metadata, .. } = &mut frame {
                let mut m = self.metadata.borrow().clone();
                // The language the page is in now (the user may have switched).
                m.insert(
                    "language".into(),
                    self.view.lang.get_untracked().code().into(),
                );
                *metadata = Some(m);
            }
            let text = frame.encode();
            if let (ClientMessage::Message { id, .. }, Some(max)) = (&frame, self.max_frame.get()) {
                let size = text.len() as u64;
                if size > max {
                    let detail = format!("the message is {size} bytes; the limit is {max} bytes");
                    self.view
                        .conversation
                        .update(|c| _ = c.fail(id, ErrorCode::TooLarge, &detail));
                    continue;
                }
            }
            if !self.send_encoded(&text) {
                break;
            }
            if let ClientMessage::Message { id, .. } = &frame {
                self.view.conversation.update(|c| c.mark_sent(id, now()));
            }
        }
    }

    pub(super) fn publish_debug(&self) {
        let ready_state = self.socket.borrow().as_ref().map_or(3, Socket::ready_state);
        debug_handle::update(
            self.machine.borrow().phase() == Phase::Online,
            ready_state,
            self.session.borrow().as_deref(),
        );
    }
}
