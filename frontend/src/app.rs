//! The page: a header (title, status indicator, language/theme switches,
//! new chat, clear history), the message list, the composer — as a full
//! page, or behind a floating chat bubble with `?mode=window` (for an
//! iframe on another site). Thin components: they render [`View`] signals
//! and call the [`Chat`] controller.

use std::time::Duration;

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::chat::{query_param, Chat, View};
use crate::connection::machine::{Event, Phase};
use crate::conversation::{Delivery, Line, Role};
use crate::theme::Theme;
use crate::{clipboard, debug_handle, markdown};

/// How often the controller's clock ticks.
const TICK: Duration = Duration::from_millis(100);
/// How long "Copied" shows on a copy button.
const COPIED_FOR: Duration = Duration::from_millis(1500);

type Shared = StoredValue<std::rc::Rc<Chat>, LocalStorage>;

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

    let tick = set_interval_with_handle(move || chat.with_value(|c| c.tick()), TICK).ok();
    // The browser is back online, or the tab visible again: try at once.
    let online = window_event_listener_untyped("online", move |_| {
        chat.with_value(|c| c.dispatch(Event::RetryNow))
    });
    let visible = window_event_listener_untyped("visibilitychange", move |_| {
        if !document().hidden() {
            chat.with_value(|c| c.dispatch(Event::RetryNow));
        }
    });
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
        if let Some(t) = tick {
            t.clear();
        }
        online.remove();
        visible.remove();
        hide.remove();
        show.remove();
    });

    // Keep the conversation across reloads (saved when it changes).
    Effect::new(move |_| {
        view.conversation.track();
        chat.with_value(|c| c.save());
    });

    let window_mode = query_param("mode").as_deref() == Some("window");
    // The document follows the language, theme and title.
    Effect::new(move |_| {
        let (lang, theme) = (view.lang.get(), view.theme.get());
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang.code());
            let _ = root.set_attribute("data-theme", theme.name());
            if window_mode {
                let _ = root.set_attribute("data-mode", "window");
            }
        }
    });
    Effect::new(move |_| document().set_title(&title(view)));

    let panel = view! { <ChatPanel view=view chat=chat window_mode=window_mode /> };
    if !window_mode {
        return panel.into_any();
    }
    let (open, set_open) = signal(false);
    // Tell the embedding page, so it can shrink the iframe to the bubble
    // while the chat is closed (docs/page.md, "Embedding").
    Effect::new(move |_| notify_parent(open.get()));
    // The chat is the iframe document's main content: one `main` landmark
    // holding the panel and the bubble.
    view! {
        <main class="chat-window" class:open=open>
            <h1 class="sr-only">{move || title(view)}</h1>
            <div class="chat-panel" id="chat-panel" hidden=move || !open.get()>{panel}</div>
            <button type="button" class="launcher" data-testid="launcher"
                aria-controls="chat-panel"
                aria-expanded=move || open.get().to_string()
                aria-label=move || view.lang.get().toggle_chat(open.get())
                title=move || view.lang.get().toggle_chat(open.get())
                on:click=move |_| set_open.update(|o| *o = !*o)>
                <span aria-hidden="true">{move || if open.get() { "✕" } else { "💬" }}</span>
            </button>
        </main>
    }
    .into_any()
}

/// Posts `{"type":"n8n-chat","open":…}` to the embedding page (nothing
/// secret: any origin may embed the page and learn whether it is open).
fn notify_parent(open: bool) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(Some(parent)) = window.parent() else {
        return;
    };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"type".into(), &"n8n-chat".into());
    let _ = js_sys::Reflect::set(&message, &"open".into(), &open.into());
    let _ = parent.post_message(&message, "*");
}

/// The configured title, or the default.
fn title(view: View) -> String {
    view.config
        .with(|c| c.title.clone())
        .unwrap_or_else(|| view.lang.get().title().to_owned())
}

/// Header, messages and composer. On a full page, messages and composer
/// are the `main` landmark; in window mode the whole widget is.
#[component]
fn ChatPanel(view: View, chat: Shared, window_mode: bool) -> impl IntoView {
    let send = move |text: String| {
        chat.with_value(|c| {
            c.send_user(text);
        })
    };
    let retry_message = move |id: String| chat.with_value(|c| c.retry_message(&id));
    let retry = move || chat.with_value(|c| c.dispatch(Event::RetryNow));
    view! {
        <div class="chat">
            <header class="chat-header">
                {if window_mode {
                    view! { <h2 class="title" data-testid="title">{move || title(view)}</h2> }.into_any()
                } else {
                    view! { <h1 class="title" data-testid="title">{move || title(view)}</h1> }.into_any()
                }}
                <StatusIndicator view=view retry=retry />
                <Tools view=view chat=chat />
            </header>
            {if window_mode {
                view! {
                    <div class="chat-body">
                        <MessageList view=view retry=retry_message />
                        <StorageNote view=view />
                        <Composer view=view send=send />
                    </div>
                }
                .into_any()
            } else {
                view! {
                    <main class="chat-body">
                        <MessageList view=view retry=retry_message />
                        <StorageNote view=view />
                        <Composer view=view send=send />
                    </main>
                }
                .into_any()
            }}
        </div>
    }
}

/// Said when the browser's storage cannot hold even the unsent messages.
#[component]
fn StorageNote(view: View) -> impl IntoView {
    view! {
        <Show when=move || view.storage_full.get()>
            <p class="notice" role="alert" data-testid="storage-note">
                {move || view.lang.get().storage_full()}
            </p>
        </Show>
    }
}

/// Language, theme, new chat, clear history.
#[component]
fn Tools(view: View, chat: Shared) -> impl IntoView {
    let lang = view.lang;
    let switch_lang = move |_| chat.with_value(|c| c.set_language(lang.get_untracked().other()));
    let switch_theme = move |_| chat.with_value(|c| c.set_theme(view.theme.get_untracked().next()));
    let theme_icon = move || match view.theme.get() {
        Theme::Auto => "◐",
        Theme::Light => "☀",
        Theme::Dark => "☾",
    };
    let theme_label = move || lang.get().theme_label(view.theme.get());
    view! {
        <div class="tools" role="group" aria-label=move || lang.get().tools_label()>
            <button type="button" class="tool" data-testid="lang-switch"
                title=move || lang.get().switch_label().1
                on:click=switch_lang>
                <span lang=move || lang.get().other().code()>{move || lang.get().switch_label().0}</span>
            </button>
            <button type="button" class="tool" data-testid="theme-switch"
                data-theme=move || view.theme.get().name()
                aria-label=theme_label title=theme_label on:click=switch_theme>
                <span aria-hidden="true">{theme_icon}</span>
            </button>
            <button type="button" class="tool" data-testid="new-chat"
                on:click=move |_| chat.with_value(|c| c.new_chat())>
                {move || lang.get().new_chat()}
            </button>
            <button type="button" class="tool" data-testid="clear-history"
                on:click=move |_| chat.with_value(|c| c.clear_history())>
                {move || lang.get().clear_history()}
            </button>
        </div>
    }
}

/// The coloured dot and text in the header, with the retry button when offline.
#[component]
fn StatusIndicator(view: View, retry: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let lang = view.lang;
    let text = move || {
        let lang = lang.get();
        match view.phase.get() {
            Phase::Connecting => lang.connecting().to_owned(),
            Phase::Online => lang.online().to_owned(),
            Phase::Reconnecting { attempt, retry_at } => {
                let in_secs =
                    retry_at.map(|at| ((at - view.now.get()).max(0.0) / 1000.0).ceil() as u32);
                lang.reconnecting(attempt, view.max_attempts, in_secs)
            }
            Phase::Offline => lang.offline().to_owned(),
        }
    };
    let title = move || view.rtt_ms.get().map(|ms| lang.get().rtt(ms));
    view! {
        <div class="status" data-testid="status" data-state=move || view.phase.get().name()
            role="status" title=title>
            <span class="dot" aria-hidden="true"></span>
            <span class="status-text">{text}</span>
            <Show when=move || view.phase.get() == Phase::Offline>
                <button type="button" class="retry" data-testid="retry" on:click=move |_| retry()>
                    {move || lang.get().retry()}
                </button>
            </Show>
        </div>
    }
}

/// A copy button's click inside rendered markdown: copy its code block.
fn on_list_click(ev: web_sys::MouseEvent, copied: &'static str, copy: &'static str) {
    let Some(button) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest(".copy-code").ok().flatten())
    else {
        return;
    };
    let code = button
        .parent_element()
        .and_then(|block| block.query_selector("code").ok().flatten())
        .and_then(|code| code.text_content())
        .unwrap_or_default();
    clipboard::copy(code, move |ok| {
        if ok {
            button.set_text_content(Some(copied));
            set_timeout(move || button.set_text_content(Some(copy)), COPIED_FOR);
        }
    });
}

/// The conversation.
#[component]
fn MessageList(view: View, retry: impl Fn(String) + Copy + Send + Sync + 'static) -> impl IntoView {
    let list = NodeRef::<html::Ul>::new();
    // Follow the newest message.
    Effect::new(move |_| {
        view.conversation.track();
        if let Some(ul) = list.get() {
            ul.set_scroll_top(ul.scroll_height());
        }
    });
    let lang = view.lang;
    let welcome = move || {
        let lang = lang.get();
        let configured = view.config.with(|c| c.welcome.clone());
        let lines = if configured.is_empty() {
            vec![lang.welcome().to_owned()]
        } else {
            configured
        };
        lines
            .into_iter()
            .map(|text| {
                let html = markdown::to_html(&text, lang.copy());
                view! {
                    <li class="message bot welcome" data-testid="welcome">
                        <div class="bubble markdown" inner_html=html></div>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <ul class="messages" data-testid="messages" aria-live="polite" aria-relevant="additions text"
            aria-label=move || lang.get().messages_label() node_ref=list
            on:click=move |ev| {
                let lang = lang.get_untracked();
                on_list_click(ev, lang.copied(), lang.copy())
            }>
            <Show when=move || view.conversation.with(|c| c.lines.is_empty())>{welcome}</Show>
            <For
                each=move || view.conversation.with(|c| c.lines.clone())
                key=|line| (line.id.clone(), line.role, line.delivery, line.text.clone(), line.streaming)
                let:line
            >
                <Message line=line view=view retry=retry />
            </For>
        </ul>
    }
}

/// A bot answer: rendered markdown, with a button that copies its text.
#[component]
fn BotBubble(text: String, view: View) -> impl IntoView {
    let lang = view.lang;
    let html = {
        let text = text.clone();
        move || markdown::to_html(&text, lang.get().copy())
    };
    let (copied, set_copied) = signal(false);
    let copy = move |_| {
        clipboard::copy(text.clone(), move |ok| {
            if ok && set_copied.try_set(true).is_none() {
                set_timeout(
                    move || {
                        let _ = set_copied.try_set(false);
                    },
                    COPIED_FOR,
                );
            }
        })
    };
    let label = move || {
        if copied.get() {
            lang.get().copied()
        } else {
            lang.get().copy()
        }
    };
    view! {
        <div class="bubble markdown" inner_html=html></div>
        <button type="button" class="copy-message" data-testid="copy-message"
            data-copied=move || copied.get().to_string() on:click=copy>
            {label}
        </button>
    }
}

/// One line of the conversation.
#[component]
fn Message(
    line: Line,
    view: View,
    retry: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = view.lang;
    let class = format!(
        "message {}{}",
        line.role.name(),
        if line.streaming { " streaming" } else { "" }
    );
    let note = match line.delivery {
        Some(Delivery::Queued) => {
            Some(view! { <div class="note queued">{move || lang.get().queued()}</div> }.into_any())
        }
        Some(Delivery::Sent) => {
            let sent_at = line.sent_at;
            let elapsed = move || {
                let secs = sent_at.map_or(0.0, |at| (view.now.get() - at as f64).max(0.0) / 1000.0);
                lang.get().waiting(secs as u64)
            };
            Some(
                view! {
                    <div class="note waiting" data-testid="waiting">
                        <span class="typing" aria-hidden="true"><i></i><i></i><i></i></span>
                        {elapsed}
                    </div>
                }
                .into_any(),
            )
        }
        _ => None,
    };
    let body = match (line.role, line.code) {
        (Role::Error, Some(code)) => {
            let id = line.id.clone();
            let retry_button = code.is_retryable().then(|| {
                view! {
                    <button type="button" class="retry-message" data-testid="retry-message"
                        on:click=move |_| retry(id.clone())>
                        {move || lang.get().retry()}
                    </button>
                }
            });
            view! {
                <div class="bubble">
                    <strong>{move || lang.get().error_text(code)}</strong>
                    <div class="detail">{line.text.clone()}</div>
                    {retry_button}
                </div>
            }
            .into_any()
        }
        (Role::Bot, _) => view! { <BotBubble text=line.text.clone() view=view /> }.into_any(),
        _ => view! { <div class="bubble plain">{line.text.clone()}</div> }.into_any(),
    };
    view! {
        <li class=class data-testid="message" data-role=line.role.name() data-id=line.id.clone()
            data-state=line.delivery.map(Delivery::name)>
            {body}
            {note}
        </li>
    }
}

/// The input and the send button. Enter sends, Shift+Enter is a new line.
#[component]
fn Composer(view: View, send: impl Fn(String) + Copy + Send + Sync + 'static) -> impl IntoView {
    let (draft, set_draft) = signal(String::new());
    let submit = move || {
        let text = draft.get_untracked();
        if !text.trim().is_empty() {
            send(text);
            set_draft.set(String::new());
        }
    };
    let placeholder = move || {
        view.config
            .with(|c| c.placeholder.clone())
            .unwrap_or_else(|| view.lang.get().placeholder().to_owned())
    };
    view! {
        <form class="composer" on:submit=move |ev| {
            ev.prevent_default();
            submit();
        }>
            <textarea
                data-testid="message-input"
                rows="1"
                placeholder=placeholder
                aria-label=placeholder
                prop:value=draft
                on:input=move |ev| set_draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" data-testid="send">{move || view.lang.get().send()}</button>
        </form>
    }
}
