//! The controller: runs the [`Machine`] on the socket and the deadline
//! timer ([`link`]), feeds the relay's frames to the [`Conversation`]
//! ([`incoming`]), and publishes state to the components through signals.
//! Glue only: every decision is made in the machine or the conversation.

mod attention;
mod conversations;
mod incoming;
mod link;
pub mod page_events;
mod relay_list;
mod uploads;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

use leptos::prelude::*;
use shared::{ClientMessage, PageConfig};

use crate::browser::page::{browser_languages, now, origin_parts, query_param, url_without_query};
use crate::browser::socket::Socket;
use crate::browser::timer::DeadlineTimer;
use crate::browser::{host_page, intl, remote_config, storage};
use crate::model::attachments::Attachment;
use crate::model::catalogue::Catalogue;
use crate::model::conversation::{Conversation, Saved};
use crate::model::conversations::Conversations;
use crate::model::i18n::{Lang, Texts};
use crate::model::ids;
use crate::model::machine::{Event, Machine, Phase};
use crate::model::proof::Proving;
use crate::model::settings::{self, Timing};
use crate::model::theme::Theme;

/// The view of the chat `me` points to, if it is still there.
fn chat_screen(me: &std::rc::Weak<Chat>) -> Option<Screen> {
    me.upgrade().map(|chat| chat.view)
}

/// How long the first connection waits for `/config.json` (which may name
/// the relay) before it goes to the page's own origin.
const CONFIG_WAIT_MS: u32 = 3000;

/// The controller as the components hold it: the one [`Chat`], owned by
/// the page's root component.
pub type ChatHandle =
    leptos::prelude::StoredValue<std::rc::Rc<Chat>, leptos::prelude::LocalStorage>;

/// What the screen shows: the signals the components read (named apart
/// from Leptos's own `View`, the rendered tree).
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// The conversation.
    pub conversation: RwSignal<Conversation>,
    /// The connection phase.
    pub phase: RwSignal<Phase>,
    /// Last ping round trip.
    pub rtt_ms: RwSignal<Option<f64>>,
    /// The clock, refreshed every second while something on screen counts
    /// (a reconnect countdown, an answer being waited for).
    pub now: RwSignal<f64>,
    /// Max reconnect attempts (for "attempt n of m").
    pub max_attempts: u32,
    /// The page's language as chosen (sent to n8n as `metadata.language`;
    /// its texts may still be on their way).
    pub lang: RwSignal<Lang>,
    /// The texts on screen: the catalogue of the language in use, once
    /// loaded (`<html lang>` follows these, never the choice alone).
    pub texts: RwSignal<Texts>,
    /// The first catalogue has arrived (or could not be had): until then
    /// the page shows nothing rather than the wrong language.
    pub ready: RwSignal<bool>,
    /// The colour theme.
    pub theme: RwSignal<Theme>,
    /// The deployment's settings (`/config.json`).
    pub config: RwSignal<PageConfig>,
    /// The browser's storage is full even without old history: unsent
    /// messages would not survive a reload (shown as a note).
    pub storage_full: RwSignal<bool>,
    /// Embedded, and the host keeps nothing (not `embed.js`, or its
    /// storage refused): the conversation will not survive a reload (a
    /// note says so instead of losing it silently).
    pub not_kept: RwSignal<bool>,
    /// Embedded in a host the relay does not list (`--embed-origin`), or
    /// under another parent than the named host: the chat does nothing.
    pub embed_refused: RwSignal<bool>,
    /// Files attached to the message being written.
    pub draft: RwSignal<Vec<Attachment>>,
    /// Why the last file was not attached.
    pub attach_error: RwSignal<Option<String>>,
    /// The upload under way: message id and percent.
    pub progress: RwSignal<Option<(String, u8)>>,
    /// The chat is open (always on a full page; the bubble's panel in
    /// window mode).
    pub open: RwSignal<bool>,
    /// The browser tab is hidden.
    pub hidden: RwSignal<bool>,
    /// Bot messages that arrived while nobody could see them.
    pub unread: RwSignal<u32>,
    /// The clock timestamps read, moved once a minute.
    pub minute: RwSignal<f64>,
    /// The operator paused the chat (`status` frame, or a `paused` error):
    /// messages wait in the outbox, and a note says so.
    pub paused: RwSignal<bool>,
    /// The visitor's conversations (the one shown is `conversation`).
    pub conversations: RwSignal<Conversations>,
    /// "New conversation" was refused: every one still waits for an
    /// answer (shown as a note until one is made or switched to).
    pub list_full: RwSignal<bool>,
    /// The conversation list is open (a drawer in the chat window and on
    /// phones; always shown as a column on a wide full page).
    pub list_open: RwSignal<bool>,
    /// What the screen reader's live region says: a finished answer (once,
    /// never its chunks), a run's question, an error. The message list
    /// itself is not live, or every chunk would be read out.
    pub announcement: RwSignal<String>,
    /// The user's option: move keyboard focus to each new answer (off by
    /// default: moving focus unasked disorients).
    pub focus_answers: RwSignal<bool>,
    /// Signed in with OpenID Connect: the user's name (see
    /// [`crate::browser::sign_in`]); `None`: not signed in, or no sign-in.
    pub signed_in: RwSignal<Option<String>>,
}

/// The controller.
pub struct Chat {
    /// Signals for the components.
    pub view: Screen,
    machine: RefCell<Machine>,
    socket: RefCell<Option<Socket>>,
    timer: RefCell<DeadlineTimer>,
    session: RefCell<Option<String>>,
    /// The session the current socket asked to resume.
    requested: RefCell<Option<String>>,
    /// Where the relay is (decided once `/config.json` is in).
    base_url: RefCell<String>,
    /// The catalogue asked for last (a slower earlier answer is dropped).
    wanted: Cell<Option<Lang>>,
    /// Where the catalogues are (`/config.json` `catalogues`).
    catalogues: RefCell<std::collections::BTreeMap<String, String>>,
    started: Cell<bool>,
    frames: Cell<u32>,
    metadata: RefCell<serde_json::Map<String, serde_json::Value>>,
    test_ids: RefCell<HashSet<String>>,
    /// The draft's files (beside `view.draft`, same order).
    draft_files: RefCell<Vec<web_sys::File>>,
    /// The files of sent messages, by message id, while they may be needed.
    files: RefCell<HashMap<String, Vec<web_sys::File>>>,
    /// An upload is under way (one at a time, in the conversation's order).
    uploading: Cell<bool>,
    /// Uploads in a row that did not get through.
    upload_tries: Cell<u32>,
    /// Solving the relay's proof-of-work challenge: messages wait.
    proving: Cell<bool>,
    /// Refused proofs in a row, and whether the page gave up.
    proof: Cell<Proving>,
    /// Sends the outbox again when a quota that refused a message resets.
    quota_wake: RefCell<Option<gloo_timers::callback::Timeout>>,
    /// The largest frame the relay reads (its `connection` frame's
    /// `maxMessageBytes`): a larger message fails here, visibly, instead
    /// of being sent into a refusal (or, far larger, a closed socket and
    /// the same again after every reconnect).
    max_frame: Cell<Option<u64>>,
    /// The host's identity token for the visitor (verified identity):
    /// sent in every `hello`, and in an `identify` when the host gives a
    /// new one. Never in a URL, never stored.
    token: RefCell<Option<String>>,
    /// The host was told its token was refused (once per token).
    token_reported: Cell<bool>,
    /// The sessions of the `forget` frame awaiting the relay's `forgotten`.
    forget_sent: RefCell<Vec<String>>,
    /// The relay sent this connection the signed-in user's list: it keeps
    /// lists, and takes `saveConversation` frames (see [`relay_list`]).
    relay_lists: Cell<bool>,
    /// Saves sent on this connection and not yet in a list from the relay:
    /// (session, title). Not sent again on this connection.
    saving: RefCell<Vec<(String, String)>>,
    me: Weak<Chat>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("base_url", &*self.base_url.borrow())
            .finish()
    }
}

impl Chat {
    /// Builds the controller from the page's URL and storage.
    pub fn new() -> Rc<Chat> {
        let timing = Timing::from_params(query_param);
        // Context for the workflow, like n8n's widget sends: the language and
        // the page (without its query string).
        let mut metadata = serde_json::Map::new();
        if let Some(page) = url_without_query() {
            metadata.insert("pageUrl".into(), page.into());
        }
        if host_page::requested().is_some() {
            // Embedded: the state is the host's, asked for in `start`.
            storage::use_host();
        }
        let mut conversation = storage::load_conversation();
        conversation.requeue_sent();
        Rc::new_cyclic(|me| Chat {
            view: Screen {
                conversation: RwSignal::new(conversation),
                phase: RwSignal::new(Phase::Connecting),
                rtt_ms: RwSignal::new(None),
                now: RwSignal::new(now()),
                max_attempts: timing.backoff.max_attempts,
                lang: RwSignal::new(Lang::choose(
                    storage::load_language().as_deref(),
                    query_param("lang").as_deref(),
                    &browser_languages(),
                )),
                texts: RwSignal::new(Texts::empty(intl::formats())),
                ready: RwSignal::new(false),
                theme: RwSignal::new(Theme::from_name(
                    storage::load_theme().as_deref().unwrap_or_default(),
                )),
                config: RwSignal::new(PageConfig::default()),
                storage_full: RwSignal::new(false),
                not_kept: RwSignal::new(false),
                embed_refused: RwSignal::new(false),
                paused: RwSignal::new(false),
                signed_in: RwSignal::new(None),
                draft: RwSignal::new(Vec::new()),
                attach_error: RwSignal::new(None),
                progress: RwSignal::new(None),
                open: RwSignal::new(true),
                hidden: RwSignal::new(false),
                unread: RwSignal::new(0),
                minute: RwSignal::new(now()),
                conversations: RwSignal::new(Chat::load_list()),
                list_full: RwSignal::new(false),
                list_open: RwSignal::new(false),
                announcement: RwSignal::new(String::new()),
                focus_answers: RwSignal::new(storage::load_focus_answers()),
            },
            machine: RefCell::new(Machine::new(timing)),
            socket: RefCell::new(None),
            timer: RefCell::new(DeadlineTimer::default()),
            session: RefCell::new(storage::load_session()),
            requested: RefCell::new(None),
            base_url: RefCell::new(String::new()),
            wanted: Cell::new(None),
            catalogues: RefCell::new(Default::default()),
            started: Cell::new(false),
            frames: Cell::new(0),
            metadata: RefCell::new(metadata),
            test_ids: RefCell::new(HashSet::new()),
            draft_files: RefCell::new(Vec::new()),
            files: RefCell::new(HashMap::new()),
            uploading: Cell::new(false),
            upload_tries: Cell::new(0),
            proving: Cell::new(false),
            proof: Cell::new(Proving::default()),
            quota_wake: RefCell::new(None),
            max_frame: Cell::new(None),
            token: RefCell::new(None),
            token_reported: Cell::new(false),
            forget_sent: RefCell::new(Vec::new()),
            relay_lists: Cell::new(false),
            saving: RefCell::new(Vec::new()),
            me: me.clone(),
        })
    }

    /// Fetches the page config, then opens the first connection — to the
    /// relay the config names, or to the page's own origin. A config that
    /// takes longer than [`CONFIG_WAIT_MS`] does not hold the chat up: it
    /// connects to its own origin and applies the rest when it arrives.
    ///
    /// Embedded, it waits for the config (whose `embedOrigins` decides
    /// whether this host may embed the chat), then for the host's saved
    /// state, and only then connects and tells the host it is ready.
    pub fn start(&self) {
        let me = self.me.clone();
        let embedded = host_page::requested().is_some();
        leptos::task::spawn_local(async move {
            let fetched = remote_config::fetch().await;
            let known = fetched.is_some();
            let mut config = fetched.unwrap_or_default();
            // Embedded, "Sign in" would open the provider inside a
            // third-party frame (most refuse to be framed, and the cookie
            // is not kept there): the host's identity token is the way.
            config.sign_in &= !embedded;
            if embedded {
                // Fail closed: without `/config.json` the page cannot know
                // whether the operator's `--embed-origin` list names this
                // host (an empty default list would let any host in).
                if !known || !host_page::grant(&config.embed_origins) {
                    if let Some(chat) = me.upgrade() {
                        chat.view.embed_refused.set(true);
                        chat.apply_config(config);
                    }
                    return;
                }
                let state = host_page::load().await;
                if let Some(chat) = me.upgrade() {
                    chat.restore(state);
                    if let Some(token) = host_page::take_token() {
                        *chat.token.borrow_mut() = Some(token);
                    }
                }
            }
            if config.sign_in && !embedded {
                // The socket does not wait: the browser sends the session
                // cookie with its upgrade anyway; this is only the header.
                let signed_in = chat_screen(&me).map(|v| v.signed_in);
                leptos::task::spawn_local(async move {
                    let who = crate::browser::sign_in::who().await;
                    if let Some(signal) = signed_in {
                        signal.set(who);
                    }
                });
            }
            if let Some(chat) = me.upgrade() {
                chat.connect_to(config.relay_url.as_deref());
                chat.apply_config(config);
                if embedded {
                    let open = chat.view.open.get_untracked();
                    host_page::post(
                        if open { "open" } else { "close" },
                        &[("open", open.into())],
                    );
                    host_page::post("ready", &[]);
                }
            }
        });
        if embedded {
            return;
        }
        let me = self.me.clone();
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(CONFIG_WAIT_MS).await;
            if let Some(chat) = me.upgrade() {
                chat.connect_to(None);
                if chat.wanted.get().is_none() {
                    // No config yet: the texts from the unhashed names.
                    chat.load_texts(chat.view.lang.get_untracked());
                }
            }
        });
    }

    /// Opens the first connection (once): to `configured` if it is a
    /// WebSocket URL, else to `/ws` on the page's own origin.
    fn connect_to(&self, configured: Option<&str>) {
        if self.started.replace(true) {
            return;
        }
        let (protocol, host) = origin_parts();
        *self.base_url.borrow_mut() = settings::relay_url(configured, &protocol, &host);
        self.dispatch(Event::Start);
    }

    fn apply_config(&self, mut config: PageConfig) {
        // What the embedding page asked for (`embed.js`' data attributes)
        // comes before the deployment's defaults.
        if let Some(lang) = query_param("lang").filter(|l| Lang::from_code(l).is_some()) {
            config.language = Some(lang);
        }
        // Only for an embedding page (`embed.js`' `data-title`): on the
        // relay's own page a crafted link could put any words in its
        // header ("Verify your card here").
        if let Some(title) = query_param("title")
            .filter(|t| !t.trim().is_empty())
            .filter(|_| host_page::requested().is_some())
        {
            config.title = Some(title.chars().take(80).collect());
        }
        *self.catalogues.borrow_mut() = config.catalogues.clone();
        let lang = match storage::load_language() {
            Some(stored) => Lang::choose(Some(&stored), None, &browser_languages()),
            None => Lang::choose(None, config.language.as_deref(), &browser_languages()),
        };
        self.view.lang.set(lang);
        self.load_texts(lang);
        self.view.config.set(config);
    }

    /// Embedded: the host's saved state arrived (`None`: nothing can be
    /// kept). Lines written before it came stay, after the saved ones.
    fn restore(&self, state: Option<HashMap<String, String>>) {
        self.view.not_kept.set(state.is_none());
        storage::host_loaded(state);
        let mut saved = storage::load_conversation();
        saved.requeue_sent();
        self.view.conversation.update(|now| {
            let typed = std::mem::take(&mut now.lines);
            for line in typed {
                if !saved.lines.iter().any(|l| l.id == line.id) {
                    saved.lines.push(line);
                }
            }
            *now = saved;
        });
        *self.session.borrow_mut() = storage::load_session();
        self.view.conversations.set(Chat::load_list());
        let lang = Lang::choose(
            storage::load_language().as_deref(),
            query_param("lang").as_deref(),
            &browser_languages(),
        );
        self.view.lang.set(lang);
        self.load_texts(lang);
        if let Some(theme) = storage::load_theme() {
            self.view.theme.set(Theme::from_name(&theme));
        }
        self.save();
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
        self.observe_conversation();
    }

    /// The user switched the language.
    pub fn set_language(&self, lang: Lang) {
        storage::save_language(lang.code());
        self.view.lang.set(lang);
        self.load_texts(lang);
    }

    /// Fetches `lang`'s catalogue (the hashed name `/config.json` gives,
    /// else `i18n/<code>.json`) and shows it; the texts on screen and
    /// `<html lang>` change together when it is in. A catalogue that
    /// cannot be had falls back to English.
    fn load_texts(&self, lang: Lang) {
        if self.wanted.replace(Some(lang)) == Some(lang) && self.view.ready.get_untracked() {
            return;
        }
        let path = self
            .catalogues
            .borrow()
            .get(lang.code())
            .cloned()
            .unwrap_or_else(|| format!("i18n/{}.json", lang.code()));
        let me = self.me.clone();
        leptos::task::spawn_local(async move {
            let url = format!("/{}", path.trim_start_matches('/'));
            let parsed = remote_config::fetch_text(&url)
                .await
                .and_then(|text| Catalogue::parse(&text).ok());
            let Some(chat) = me.upgrade() else { return };
            if chat.wanted.get() != Some(lang) {
                return;
            }
            match parsed {
                Some(catalogue) => {
                    // What was announced was in the old language: gone.
                    chat.view.announcement.set(String::new());
                    chat.view
                        .texts
                        .set(Texts::new(lang, catalogue, intl::formats()));
                    chat.view.ready.set(true);
                }
                None if lang != Lang::EN => {
                    web_sys::console::warn_1(&format!("no texts for {}", lang.code()).into());
                    chat.load_texts(Lang::EN);
                }
                None => chat.view.ready.set(true),
            }
        });
    }

    /// The user switched the option to move focus to new answers.
    pub fn set_focus_answers(&self, on: bool) {
        storage::save_focus_answers(on);
        self.view.focus_answers.set(on);
    }

    /// The user switched the theme.
    pub fn set_theme(&self, theme: Theme) {
        storage::save_theme(theme.name());
        self.view.theme.set(theme);
    }

    /// A new chat: a new conversation (the shown one stays in the list),
    /// and a new session from the relay.
    pub fn new_chat(&self) {
        self.new_conversation();
    }

    /// The page is going away: close the socket without reconnecting.
    pub fn leave(&self) {
        self.socket.borrow_mut().take();
    }

    /// Clears the shown history (same session; pending messages stay).
    pub fn clear_history(&self) {
        self.view.conversation.update(Conversation::clear_settled);
    }

    /// The user sent `text` with the draft's attachments.
    pub fn send_user(&self, text: String) -> String {
        let (attached, files) = self.take_draft();
        self.send_with(text, attached, files)
    }

    /// Sends `text` alone (a starter prompt, the host page's `send()`).
    pub fn send_text(&self, text: String) -> String {
        self.send_with(text, Vec::new(), Vec::new())
    }

    fn send_with(
        &self,
        text: String,
        attached: Vec<Attachment>,
        files: Vec<web_sys::File>,
    ) -> String {
        let id = ids::new_id();
        if !files.is_empty() {
            self.files.borrow_mut().insert(id.clone(), files);
        }
        self.view
            .conversation
            .update(|c| c.add_user_with(id.clone(), text, attached));
        if self.machine.borrow().phase() == Phase::Online {
            self.flush();
        }
        id
    }

    /// The user pressed button `button` of the run's chat message `(id,
    /// seq)`: sent once; if it cannot be sent now, the buttons stay usable.
    pub fn choose(&self, id: &str, seq: u32, button: u32) {
        let frame = self
            .view
            .conversation
            .try_update(|c| c.choose(id, seq, button))
            .flatten();
        if let Some(frame) = frame {
            if !self.send_frame(&frame) {
                self.view.conversation.update(|c| c.unchoose(id, seq));
            }
        }
    }

    /// The user pressed Stop under message `id` (being answered): the relay
    /// ends it with a `cancelled` error, which settles it here. Offline,
    /// nothing happens (the button stays).
    pub fn stop(&self, id: &str) {
        self.send_frame(&ClientMessage::Cancel { id: id.to_owned() });
    }

    /// The user rated the answer to `id` (the same rating again takes it
    /// back); the relay passes it on to the deployment's feedback webhook.
    pub fn rate(&self, id: &str, rating: shared::Rating) {
        let now = self
            .view
            .conversation
            .try_update(|c| c.rate(id, rating))
            .flatten();
        if let Some(rating) = now {
            self.send_frame(&ClientMessage::Feedback {
                id: id.to_owned(),
                rating,
            });
        }
    }

    /// The user clicked retry on a failed message.
    pub fn retry_message(&self, id: &str) {
        self.view.conversation.update(|c| c.retry(id));
        if self.machine.borrow().phase() == Phase::Online {
            self.flush();
        }
    }

    /// The host gave an identity token (`n8nChat.identify`): sent on the
    /// open socket at once (online, or while the relay waits for a good
    /// token at the handshake), then the messages the old token could not
    /// send go again; with no socket, the next `hello` carries it.
    pub fn identify(&self, token: String) {
        *self.token.borrow_mut() = Some(token.clone());
        self.token_reported.set(false);
        self.send_frame(&ClientMessage::Identify { token });
        if self.machine.borrow().phase() == Phase::Online {
            self.flush();
        }
    }

    /// The user pressed Regenerate on answer `id`: its text goes again as a
    /// new message (`regenerate: true`).
    pub fn regenerate(&self, id: &str) {
        let new_id = ids::new_id();
        let added = self
            .view
            .conversation
            .try_update(|c| c.regenerate(id, new_id))
            .unwrap_or(false);
        if added && self.machine.borrow().phase() == Phase::Online {
            self.flush();
        }
    }

    /// The relay refused the identity token: the host hears it once per
    /// token (`tokenExpired`: sign a new one; `tokenInvalid`: it cannot be
    /// used), and the messages wait for `identify`.
    pub(super) fn token_refused(&self, event: &str, message: &str) {
        if !self.token_reported.replace(true) {
            host_page::post(event, &[("message", message.into())]);
        }
    }

    /// The user switched between the answers to one message.
    pub fn switch_answer(&self, id: &str, forward: bool) {
        self.view
            .conversation
            .update(|c| c.switch_answer(id, forward));
    }

    /// Sends a test message; its answer or error is logged to the console.
    pub fn test_webhook_connection(&self) -> String {
        let id = self.send_text("Test: webhook connection".into());
        self.test_ids.borrow_mut().insert(id.clone());
        web_sys::console::log_1(&format!("chatInstance: test message {id} sent").into());
        id
    }
}
