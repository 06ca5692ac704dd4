//! The page: a header with the status indicator, the message list, the
//! composer. Thin components: they render [`View`] signals and call the
//! [`Chat`] controller.

use std::time::Duration;

use leptos::html;
use leptos::prelude::*;

use crate::chat::{Chat, View};
use crate::connection::machine::{Event, Phase};
use crate::conversation::{Delivery, Line, Role};
use crate::{debug_handle, storage};

/// How often the controller's clock ticks.
const TICK: Duration = Duration::from_millis(100);

/// The whole chat page.
#[component]
pub fn App() -> impl IntoView {
    let chat = Chat::new();
    let view = chat.view;
    chat.start();
    let chat = StoredValue::new_local(chat);

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
    on_cleanup(move || {
        if let Some(t) = tick {
            t.clear();
        }
        online.remove();
        visible.remove();
    });

    // Keep the conversation across reloads.
    Effect::new(move |_| view.conversation.with(storage::save_conversation));

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
                <h1>{view.lang.title()}</h1>
                <StatusIndicator view=view retry=retry />
            </header>
            <MessageList view=view retry=retry_message />
            <Composer view=view send=send />
        </div>
    }
}

/// The coloured dot and text in the header, with the retry button when offline.
#[component]
fn StatusIndicator(view: View, retry: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let lang = view.lang;
    let text = move || match view.phase.get() {
        Phase::Connecting => lang.connecting().to_owned(),
        Phase::Online => lang.online().to_owned(),
        Phase::Reconnecting { attempt, retry_at } => {
            let in_secs =
                retry_at.map(|at| ((at - view.now.get()).max(0.0) / 1000.0).ceil() as u32);
            lang.reconnecting(attempt, view.max_attempts, in_secs)
        }
        Phase::Offline => lang.offline().to_owned(),
    };
    let title = move || view.rtt_ms.get().map(|ms| lang.rtt(ms));
    view! {
        <div class="status" data-testid="status" data-state=move || view.phase.get().name()
            role="status" title=title>
            <span class="dot" aria-hidden="true"></span>
            <span class="status-text">{text}</span>
            <Show when=move || view.phase.get() == Phase::Offline>
                <button type="button" class="retry" data-testid="retry" on:click=move |_| retry()>
                    {lang.retry()}
                </button>
            </Show>
        </div>
    }
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
    view! {
        <ul class="messages" data-testid="messages" aria-live="polite" node_ref=list>
            <Show when=move || view.conversation.with(|c| c.lines.is_empty())>
                <li class="welcome">{lang.welcome()}</li>
            </Show>
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
            Some(view! { <div class="note queued">{lang.queued()}</div> }.into_any())
        }
        Some(Delivery::Sent) => {
            let sent_at = line.sent_at;
            let elapsed = move || {
                let secs = sent_at.map_or(0.0, |at| (view.now.get() - at as f64).max(0.0) / 1000.0);
                lang.waiting(secs as u64)
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
                        {lang.retry()}
                    </button>
                }
            });
            view! {
                <div class="bubble">
                    <strong>{lang.error_text(code)}</strong>
                    <div class="detail">{line.text.clone()}</div>
                    {retry_button}
                </div>
            }
            .into_any()
        }
        _ => view! { <div class="bubble">{line.text.clone()}</div> }.into_any(),
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
    view! {
        <form class="composer" on:submit=move |ev| {
            ev.prevent_default();
            submit();
        }>
            <textarea
                data-testid="message-input"
                rows="1"
                placeholder=view.lang.placeholder()
                aria-label=view.lang.placeholder()
                prop:value=draft
                on:input=move |ev| set_draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" data-testid="send">{view.lang.send()}</button>
        </form>
    }
}
