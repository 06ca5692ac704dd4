//! The conversation: welcome lines, user messages with their delivery
//! state, bot answers as markdown with copy buttons, errors with retry.

use std::time::Duration;

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::clipboard;
use crate::controller::View;
use crate::model::conversation::{Delivery, Line, Role};
use crate::model::markdown;

/// How long "Copied" shows on a copy button.
const COPIED_FOR: Duration = Duration::from_millis(1500);

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
pub fn MessageList(
    view: View,
    retry: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
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
