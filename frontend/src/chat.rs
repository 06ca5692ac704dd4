//! The controller: runs the [`Machine`], executes its commands on the
//! [`Socket`], feeds frames to the [`Conversation`], and publishes state to
//! the components through signals. Glue only: every decision is made in the
//! machine or the conversation.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::{Rc, Weak};

use leptos::prelude::*;
use shared::{ClientMessage, PageConfig, ServerMessage};

use crate::connection::machine::{Command, Event, Machine, Phase};
use crate::connection::socket::Socket;
use crate::conversation::{Conversation, Saved};
use crate::i18n::Lang;
use crate::settings::{self, Adopt, Timing};

/// How long the first connection waits for `/config.json` (which may name
/// the relay) before it goes to the page's own origin.
const CONFIG_WAIT_MS: u32 = 3000;
use crate::theme::Theme;
use crate::{debug_handle, ids, remote_config, storage};

/// What the components read.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// The conversation.
    pub conversation: RwSignal<Conversation>,
    /// The connection phase.
    pub phase: RwSignal<Phase>,
    /// Last ping round trip.
    pub rtt_ms: RwSignal<Option<f64>>,
    /// The clock, refreshed by the tick (for countdowns).
    pub now: RwSignal<f64>,
    /// Max reconnect attempts (for "attempt n of m").
    pub max_attempts: u32,
    /// The page's language.
    pub lang: RwSignal<Lang>,
    /// The colour theme.
    pub theme: RwSignal<Theme>,
    /// The deployment's settings (`/config.json`).
    pub config: RwSignal<PageConfig>,
    /// The browser's storage is full even without old history: unsent
    /// messages would not survive a reload (shown as a note).
    pub storage_full: RwSignal<bool>,
}

/// The controller.
pub struct Chat {
    /// Signals for the components.
    pub view: View,
    machine: RefCell<Machine>,
    socket: RefCell<Option<Socket>>,
    session: RefCell<Option<String>>,
    /// The session the current socket asked to resume.
    requested: RefCell<Option<String>>,
    /// Where the relay is (decided once `/config.json` is in).
    base_url: RefCell<String>,
    started: std::cell::Cell<bool>,
    frames: std::cell::Cell<u32>,
    metadata: serde_json::Map<String, serde_json::Value>,
    test_ids: RefCell<HashSet<String>>,
    me: Weak<Chat>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("base_url", &*self.base_url.borrow())
            .finish()
    }
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// A `performance.mark` each time the page goes online, so load → online
/// and reconnect times can be read from the browser (`cargo xtask bench`).
fn mark_online() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("n8n-chat:online");
    }
}

/// A query-string parameter of the page.
pub fn query_param(key: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(key)
}

fn browser_language() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_default()
}

impl Chat {
    /// Builds the controller from the page's URL and storage.
    pub fn new() -> Rc<Chat> {
        let timing = Timing::from_params(query_param);
        let location = web_sys::window().map(|w| w.location());
        // Context for the workflow, like n8n's widget sends: the language and
        // the page (without its query string).
        let mut metadata = serde_json::Map::new();
        if let Some(l) = &location {
            let page = format!(
                "{}{}",
                l.origin().unwrap_or_default(),
                l.pathname().unwrap_or_default()
            );
            metadata.insert("pageUrl".into(), page.into());
        }
        let mut conversation = storage::load_conversation();
        conversation.requeue_sent();
        Rc::new_cyclic(|me| Chat {
            view: View {
                conversation: RwSignal::new(conversation),
                phase: RwSignal::new(Phase::Connecting),
                rtt_ms: RwSignal::new(None),
                now: RwSignal::new(now()),
                max_attempts: timing.backoff.max_attempts,
                lang: RwSignal::new(Lang::choose(
                    storage::load_language().as_deref(),
                    None,
                    &browser_language(),
                )),
                theme: RwSignal::new(Theme::from_name(
                    storage::load_theme().as_deref().unwrap_or_default(),
                )),
                config: RwSignal::new(PageConfig::default()),
                storage_full: RwSignal::new(false),
            },
            machine: RefCell::new(Machine::new(timing)),
            socket: RefCell::new(None),
            session: RefCell::new(storage::load_session()),
            requested: RefCell::new(None),
            base_url: RefCell::new(String::new()),
            started: std::cell::Cell::new(false),
            frames: std::cell::Cell::new(0),
            metadata,
            test_ids: RefCell::new(HashSet::new()),
            me: me.clone(),
        })
    }

    /// Fetches the page config, then opens the first connection — to the
    /// relay the config names, or to the page's own origin. A config that
    /// takes longer than [`CONFIG_WAIT_MS`] does not hold the chat up: it
    /// connects to its own origin and applies the rest when it arrives.
    pub fn start(&self) {
        let me = self.me.clone();
        leptos::task::spawn_local(async move {
            let config = remote_config::fetch().await;
            if let Some(chat) = me.upgrade() {
                chat.connect_to(config.relay_url.as_deref());
                chat.apply_config(config);
            }
        });
        let me = self.me.clone();
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(CONFIG_WAIT_MS).await;
            if let Some(chat) = me.upgrade() {
                chat.connect_to(None);
            }
        });
    }

    /// Opens the first connection (once): to `configured` if it is a
    /// WebSocket URL, else to `/ws` on the page's own origin.
    fn connect_to(&self, configured: Option<&str>) {
        if self.started.replace(true) {
            return;
        }
        let location = web_sys::window().map(|w| w.location());
        let protocol = location
            .as_ref()
            .and_then(|l| l.protocol().ok())
            .unwrap_or_default();
        let host = location
            .as_ref()
            .and_then(|l| l.host().ok())
            .unwrap_or_default();
        *self.base_url.borrow_mut() = settings::relay_url(configured, &protocol, &host);
        self.dispatch(Event::Start);
    }

    fn apply_config(&self, config: PageConfig) {
        if storage::load_language().is_none() {
            self.view.lang.set(Lang::choose(
                None,
                config.language.as_deref(),
                &browser_language(),
            ));
        }
        self.view.config.set(config);
    }

    /// Saves the conversation (called when it changed); notes when even
    /// trimming old history does not make the unsent messages fit.
    pub fn save(&self) {
        let saved = self
            .view
            .conversation
            .with_untracked(storage::save_conversation);
        let full = saved == Saved::Failed;
        if self.view.storage_full.get_untracked() != full {
            self.view.storage_full.set(full);
        }
    }

    /// The user switched the language.
    pub fn set_language(&self, lang: Lang) {
        storage::save_language(lang.code());
        self.view.lang.set(lang);
    }

    /// The user switched the theme.
    pub fn set_theme(&self, theme: Theme) {
        storage::save_theme(theme.name());
        self.view.theme.set(theme);
    }

    /// A new chat: forget the conversation and the session, and connect
    /// again so the relay hands out a new session.
    pub fn new_chat(&self) {
        self.view.conversation.update(Conversation::clear);
        *self.session.borrow_mut() = None;
        storage::forget_session();
        self.dispatch(Event::Reconnect);
    }

    /// The page is going away: close the socket without reconnecting.
    pub fn leave(&self) {
        self.socket.borrow_mut().take();
    }

    /// Clears the shown history (same session; pending messages stay).
    pub fn clear_history(&self) {
        self.view.conversation.update(Conversation::clear_settled);
    }

    /// Feeds one event to the machine and carries out its commands.
    pub fn dispatch(&self, event: Event) {
        let commands = self.machine.borrow_mut().handle(event, now());
        let (phase, rtt) = {
            let m = self.machine.borrow();
            (m.phase(), m.rtt_ms())
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
        // whole conversation, and this runs on every tick while offline.
        if phase != Phase::Online
            && self
                .view
                .conversation
                .with_untracked(Conversation::has_sent)
        {
            self.view.conversation.update(Conversation::requeue_sent);
        }
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
        // Drop (detach and close) the old socket before opening a new one.
        self.socket.borrow_mut().take();
        let requested = self.session.borrow().clone();
        let url = settings::with_session(&self.base_url.borrow(), requested.as_deref());
        *self.requested.borrow_mut() = requested;
        let (a, b, c) = (self.me.clone(), self.me.clone(), self.me.clone());
        let socket = Socket::open(
            &url,
            move || {
                if let Some(chat) = a.upgrade() {
                    chat.dispatch(Event::Opened);
                }
            },
            move |text| {
                if let Some(chat) = b.upgrade() {
                    chat.on_text(&text);
                }
            },
            move || {
                if let Some(chat) = c.upgrade() {
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
                web_sys::console::warn_2(&"cannot open WebSocket".into(), &e);
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

    fn send_frame(&self, frame: &ClientMessage) -> bool {
        self.socket
            .borrow()
            .as_ref()
            .is_some_and(|s| s.send(&frame.encode()))
    }

    /// Sends every pending message, oldest first.
    fn flush(&self) {
        let outbox = self.view.conversation.with_untracked(Conversation::outbox);
        for mut frame in outbox {
            if let ClientMessage::Message { metadata, .. } = &mut frame {
                let mut m = self.metadata.clone();
                // The language the page is in now (the user may have switched).
                m.insert(
                    "language".into(),
                    self.view.lang.get_untracked().code().into(),
                );
                *metadata = Some(m);
            }
            if !self.send_frame(&frame) {
                break;
            }
            if let ClientMessage::Message { id, .. } = &frame {
                self.view.conversation.update(|c| c.mark_sent(id, now()));
            }
        }
    }

    fn on_text(&self, text: &str) {
        self.frames.set(self.frames.get().wrapping_add(1));
        debug_handle::frames_received(self.frames.get());
        let frame = match ServerMessage::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                web_sys::console::warn_1(&format!("ignoring unreadable frame: {e}").into());
                return;
            }
        };
        if let ServerMessage::Connection { session_id, .. } = &frame {
            self.adopt(session_id);
        }
        self.report_test_result(&frame);
        match &frame {
            ServerMessage::Response { id, text } => {
                self.view.conversation.update(|c| {
                    c.on_response(id, text);
                });
            }
            // With streaming off, the complete `response` shows the answer.
            ServerMessage::Chunk { id, text }
                if self.view.config.with_untracked(|c| c.streaming) =>
            {
                self.view.conversation.update(|c| c.on_chunk(id, text))
            }
            ServerMessage::Push { id, text } => {
                self.view.conversation.update(|c| {
                    c.on_push(id, text);
                });
            }
            ServerMessage::History { messages } => {
                self.view.conversation.update(|c| c.merge_history(messages))
            }
            ServerMessage::Error { id, code, message } => {
                self.view.conversation.update(|c| {
                    c.on_error(id.as_deref(), *code, message);
                });
            }
            _ => {}
        }
        self.dispatch(Event::Frame(frame));
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
                let note = self.view.lang.get_untracked().session_changed().to_owned();
                self.view
                    .conversation
                    .update(|c| c.add_system(ids::new_id(), note));
            }
            Adopt::Same => {}
        }
        storage::save_session(offered);
        *self.session.borrow_mut() = Some(offered.to_owned());
        *self.requested.borrow_mut() = Some(offered.to_owned());
    }

    /// The user sent `text`.
    pub fn send_user(&self, text: String) -> String {
        let id = ids::new_id();
        self.view
            .conversation
            .update(|c| c.add_user(id.clone(), text));
        if self.machine.borrow().phase() == Phase::Online {
            self.flush();
        }
        id
    }

    /// The user clicked retry on a failed message.
    pub fn retry_message(&self, id: &str) {
        self.view.conversation.update(|c| c.retry(id));
        if self.machine.borrow().phase() == Phase::Online {
            self.flush();
        }
    }

    /// Ticks the clock (called a few times a second).
    pub fn tick(&self) {
        self.view.now.set(now());
        self.dispatch(Event::Tick {
            jitter: ids::random(),
        });
    }

    /// Sends a test message; its answer or error is logged to the console.
    pub fn test_webhook_connection(&self) -> String {
        let id = self.send_user("Test: webhook connection".into());
        self.test_ids.borrow_mut().insert(id.clone());
        web_sys::console::log_1(&format!("chatInstance: test message {id} sent").into());
        id
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

    fn publish_debug(&self) {
        let ready_state = self.socket.borrow().as_ref().map_or(3, Socket::ready_state);
        debug_handle::update(
            self.machine.borrow().phase() == Phase::Online,
            ready_state,
            self.session.borrow().as_deref(),
        );
    }
}
