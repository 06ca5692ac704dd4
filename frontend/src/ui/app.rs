//! The page: the controller, the window events it listens to, the document
//! following the language, theme and title — and either the full-page chat
//! or, with `?mode=window`, the chat bubble ([`super::window`]).

use std::time::Duration;

use gloo_timers::callback::Interval;
use leptos::prelude::*;

use super::composer::{Composer, RunWaiting, StorageNote, Suggestions};
use super::conversations::{ConversationList, ConversationsToggle};
use super::header::{StatusIndicator, Tools};
use super::messages::MessageList;
use super::window::ChatWindow;
use crate::browser::page::{now, query_param};
use crate::browser::{debug_handle, files, host_page};
use crate::controller::{Chat, View};
use crate::model::conversation::Conversation;
use crate::model::embed;
use crate::model::machine::{Event, Phase};
use wasm_bindgen::JsCast;

/// How often the on-screen clock moves while something counts.
const CLOCK: Duration = Duration::from_secs(1);

/// The controller, shared by the components.
pub type Shared = StoredValue<std::rc::Rc<Chat>, LocalStorage>;

/// The whole chat page.
#[component]
pub fn App() -> impl IntoView {
    let chat = Chat::new();
    let view = chat.view;
    chat.start();
    let chat: Shared = StoredValue::new_local(chat);

    chat.with_value(|c| {
        let weak = std::rc::Rc::downgrade(c);
        debug_handle::install_test_function(move || {
            weak.upgrade()
                .map(|c| c.test_webhook_connection())
                .unwrap_or_default()
        });
    });

    // The clock countdowns and waiting times read: ticking once a second,
    // and only while something on screen counts.
    run_clock_while_needed(view);
    // The browser is back online, or the tab visible again: try at once.
    let online = window_event_listener_untyped("online", move |_| {
        chat.with_value(|c| c.dispatch(Event::RetryNow))
    });
    let visible = window_event_listener_untyped("visibilitychange", move |_| {
        let hidden = document().hidden();
        view.hidden.set(hidden);
        if !hidden {
            chat.with_value(|c| c.dispatch(Event::RetryNow));
        }
    });
    view.hidden.set(document().hidden());
    // Commands from the page embedding the chat (`embed.js`), checked in
    // `host_page::command`.
    let commands = window_event_listener(leptos::ev::message, move |ev| {
        if let Some(command) = host_page::command(&ev) {
            chat.with_value(|c| c.command(command));
        }
    });
    // Seen: nothing is unread any more.
    Effect::new(move |_| {
        if view.open.get() && !view.hidden.get() {
            chat.with_value(|c| c.seen());
        }
    });
    // Timestamps say "5 min ago": a clock that moves once a minute.
    // (The page's root lives as long as the page.)
    Interval::new(60_000, move || view.minute.set(now())).forget();
    // Leaving the page (tab closed, navigation, back/forward cache): close
    // the socket now, so the relay knows at once and keeps what arrives for
    // the next visit. Restored from the back/forward cache: connect again.
    let hide = window_event_listener_untyped("pagehide", move |_| chat.with_value(|c| c.leave()));
    let show = window_event_listener_untyped("pageshow", move |ev| {
        let restored = js_sys::Reflect::get(&ev, &"persisted".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if restored {
            chat.with_value(|c| c.dispatch(Event::Reconnect));
        }
    });
    on_cleanup(move || {
        commands.remove();
        online.remove();
        visible.remove();
        hide.remove();
        show.remove();
    });

    // Keep the conversation across reloads (saved when it changes); new
    // lines get their time first.
    Effect::new(move |_| {
        view.conversation.track();
        if view.conversation.with_untracked(Conversation::needs_stamp) {
            view.conversation.update(|c| c.stamp(now()));
            return;
        }
        chat.with_value(|c| c.save());
    });

    let window_mode = query_param("mode").as_deref() == Some("window");
    if window_mode {
        view.open.set(query_param("open").as_deref() == Some("1"));
        window_options();
    }
    // The document follows the language, theme and title.
    Effect::new(move |_| {
        let (lang, theme) = (view.texts.get().lang(), view.theme.get());
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang.code());
            let _ = root.set_attribute("dir", lang.dir());
            let _ = root.set_attribute("data-theme", theme.name());
            if window_mode {
                let _ = root.set_attribute("data-mode", "window");
            }
        }
    });
    // "(2) Support" while two answers wait unseen.
    Effect::new(move |_| {
        let title = title(view);
        match view.unread.get() {
            0 => document().set_title(&title),
            n => document().set_title(&format!("({n}) {title}")),
        }
    });

    // Nothing until the language's catalogue is in: never a flash of
    // another language (or of bare keys).
    view! {
        <Show when=move || view.ready.get()>
            {if window_mode {
                view! { <ChatWindow view=view chat=chat /> }.into_any()
            } else {
                view! { <ChatPanel view=view chat=chat window_mode=false /> }.into_any()
            }}
        </Show>
    }
}

/// `embed.js`' options for the bubble: which corner, and the colour.
fn window_options() {
    let Some(root) = document().document_element() else {
        return;
    };
    // left/right (physical, what embed.js sends) or start/end (follow
    // the chat's writing direction).
    if let Some(position) =
        query_param("position").filter(|p| matches!(p.as_str(), "left" | "right" | "start" | "end"))
    {
        let _ = root.set_attribute("data-position", &position);
    }
    if let Some(colour) = embed::colour(query_param("color").as_deref()) {
        if let Ok(root) = root.dyn_into::<web_sys::HtmlElement>() {
            // Through the CSSOM: allowed by the CSP (no inline style).
            let _ = root.style().set_property("--chat--color-primary", &colour);
        }
    }
}

/// Moves `view.now` once a second while a reconnect countdown or an answer
/// being waited for is on screen; no timer at all otherwise.
fn run_clock_while_needed(view: View) {
    let needed = Memo::new(move |_| {
        matches!(view.phase.get(), Phase::Reconnecting { .. })
            || view.conversation.with(Conversation::has_sent)
    });
    let clock: StoredValue<Option<Interval>, LocalStorage> = StoredValue::new_local(None);
    Effect::new(move |_| {
        let on = needed.get();
        clock.update_value(|clock| match (on, clock.is_some()) {
            (true, false) => {
                view.now.set(now());
                let millis = CLOCK.as_millis() as u32;
                *clock = Some(Interval::new(millis, move || view.now.set(now())));
            }
            (false, true) => *clock = None,
            _ => {}
        });
    });
    on_cleanup(move || clock.update_value(|clock| *clock = None));
}

/// The configured title, or the default.
pub fn title(view: View) -> String {
    view.config
        .with(|c| c.title.clone())
        .unwrap_or_else(|| view.texts.get().title().to_owned())
}

/// Header, messages and composer. On a full page, messages and composer
/// are the `main` landmark; in window mode the whole widget is.
#[component]
pub fn ChatPanel(view: View, chat: Shared, window_mode: bool) -> impl IntoView {
    let send = move |text: String| {
        chat.with_value(|c| {
            c.send_user(text);
        })
    };
    let send_text = move |text: String| {
        chat.with_value(|c| {
            c.send_text(text);
        })
    };
    let retry_message = move |id: String| chat.with_value(|c| c.retry_message(&id));
    let choose =
        move |id: String, seq: u32, button: u32| chat.with_value(|c| c.choose(&id, seq, button));
    let retry = move || chat.with_value(|c| c.dispatch(Event::RetryNow));
    let stop = move |id: String| chat.with_value(|c| c.stop(&id));
    let rate = move |id: String, rating: shared::Rating| chat.with_value(|c| c.rate(&id, rating));
    let regenerate = move |id: String| chat.with_value(|c| c.regenerate(&id));
    let switch =
        move |id: String, forward: bool| chat.with_value(|c| c.switch_answer(&id, forward));
    let attach = move |files: Vec<web_sys::File>| chat.with_value(|c| c.attach(files));
    let remove = move |index: usize| chat.with_value(|c| c.remove_attachment(index));
    // Files dragged onto the chat are attached (when the relay takes them).
    let (dragging, set_dragging) = signal(false);
    let takes_files = move || view.config.with(|c| c.uploads.is_some());
    let carries_files = |ev: &web_sys::DragEvent| {
        ev.data_transfer()
            .is_some_and(|d| d.types().includes(&"Files".into(), 0))
    };
    let on_dragover = move |ev: web_sys::DragEvent| {
        if takes_files() && carries_files(&ev) {
            ev.prevent_default();
            set_dragging.set(true);
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        set_dragging.set(false);
        if takes_files() {
            ev.prevent_default();
            attach(files::list(ev.data_transfer().and_then(|d| d.files())));
        }
    };
    let body = view! {
        <MessageList view=view retry=retry_message choose=choose stop=stop rate=rate
            regenerate=regenerate switch=switch />
        <Suggestions view=view send=send_text />
        <RunWaiting view=view />
        <StorageNote view=view />
        <Composer view=view send=send attach=attach remove=remove />
    };
    // On a full page, messages and composer are the `main` landmark; in
    // window mode the whole widget is.
    let body = if window_mode {
        view! { <div class="chat-body">{body}</div> }.into_any()
    } else {
        view! { <main class="chat-body">{body}</main> }.into_any()
    };
    view! {
        <div class="chat" data-dragging=move || dragging.get().to_string()
            data-drop-label=move || view.texts.get().drop_files()
            on:dragover=on_dragover on:dragleave=move |_| set_dragging.set(false) on:drop=on_drop>
            <header class="chat-header">
                {if window_mode {
                    view! { <h2 class="title" data-testid="title">{move || title(view)}</h2> }.into_any()
                } else {
                    view! { <h1 class="title" data-testid="title">{move || title(view)}</h1> }.into_any()
                }}
                <StatusIndicator view=view retry=retry />
                <ConversationsToggle view=view />
                <Tools view=view chat=chat />
            </header>
            // The one live region for the conversation (see `View::announcement`).
            <div class="sr-only" data-testid="announcer" role="log" aria-live="polite"
                aria-atomic="true">{move || view.announcement.get()}</div>
            <div class="chat-columns">
                <ConversationList view=view chat=chat />
                {body}
            </div>
        </div>
    }
}
