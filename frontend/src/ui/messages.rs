//! The conversation: welcome lines, user messages with their delivery
//! state, bot answers as markdown with copy buttons, errors with retry.

use std::time::Duration;

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::attachments::SentAttachments;
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
    choose: impl Fn(String, u32, u32) + Copy + Send + Sync + 'static,
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
            data-waiting=move || view.conversation.with(|c| c.waiting.is_some()).to_string()
            aria-label=move || lang.get().messages_label() node_ref=list
            on:click=move |ev| {
                let lang = lang.get_untracked();
                on_list_click(ev, lang.copied(), lang.copy())
            }>
            <Show when=move || view.conversation.with(|c| c.lines.is_empty())>{welcome}</Show>
            <For
                each=move || view.conversation.with(|c| c.lines.clone())
                key=|line| (line.id.clone(), line.role, line.delivery, line.text.clone(), line.streaming, line.seq, line.chosen)
                let:line
            >
                <Message line=line view=view retry=retry choose=choose />
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
    choose: impl Fn(String, u32, u32) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = view.lang;
    let class = format!(
        "message {}{}",
        line.role.name(),
        if line.streaming { " streaming" } else { "" }
    );
    let note = match line.delivery {
        Some(Delivery::Queued) => {
            // Queued until the relay has every byte of its files.
            let id = line.id.clone();
            let text = move || {
                let percent = view.progress.with(|p| {
                    p.as_ref()
                        .filter(|(at, _)| *at == id)
                        .map(|(_, percent)| *percent)
                });
                match percent {
                    Some(percent) => lang.get().uploading(percent),
                    None => lang.get().queued().to_owned(),
                }
            };
            Some(view! { <div class="note queued" data-testid="queued">{text}</div> }.into_any())
        }
        Some(Delivery::Sent) => {
            let sent_at = line.sent_at;
            let elapsed = move || {
                let secs = sent_at.map_or(0.0, |at| (view.now.get() - at as f64).max(0.0) / 1000.0);
                lang.get().waiting(secs as u64)
            };
            // While its run waits for the user, nobody waits for an answer.
            let id = line.id.clone();
            let run_waits = move || {
                view.conversation
                    .with(|c| c.waiting.as_deref() == Some(id.as_str()))
            };
            Some(
                view! {
                    <Show when=move || !run_waits()>
                        <div class="note waiting" data-testid="waiting">
                            <span class="typing" aria-hidden="true"><i></i><i></i><i></i></span>
                            {elapsed}
                        </div>
                    </Show>
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
        (Role::Bot, _) if !line.buttons.is_empty() => view! {
            <BotBubble text=line.text.clone() view=view />
            <Choices line=line.clone() view=view choose=choose />
        }
        .into_any(),
        (Role::Bot, _) => view! { <BotBubble text=line.text.clone() view=view /> }.into_any(),
        _ => {
            let text = (!line.text.is_empty())
                .then(|| view! { <div class="bubble plain">{line.text.clone()}</div> });
            view! {
                {text}
                <SentAttachments attachments=line.attachments.clone() view=view />
            }
            .into_any()
        }
    };
    view! {
        <li class=class data-testid="message" data-role=line.role.name() data-id=line.id.clone()
            data-state=line.delivery.map(Delivery::name)>
            {body}
            {note}
        </li>
    }
}

/// The buttons of a run's question (an approval). Usable while the run
/// waits on this message and none was pressed; the pressed one stays marked.
#[component]
fn Choices(
    line: Line,
    view: View,
    choose: impl Fn(String, u32, u32) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let (id, seq) = (line.id.clone(), line.seq.unwrap_or_default());
    let open = {
        let id = id.clone();
        move || {
            line.chosen.is_none()
                && view
                    .conversation
                    .with(|c| c.waiting.as_deref() == Some(id.as_str()))
        }
    };
    let buttons = line
        .buttons
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let i = i as u32;
            let id = id.clone();
            let open = open.clone();
            let class = match b.style {
                shared::ButtonStyle::Primary => "choice primary",
                shared::ButtonStyle::Secondary => "choice",
            };
            view! {
                <button type="button" class=class data-testid="choice"
                    aria-pressed=(line.chosen == Some(i)).to_string()
                    disabled=move || !open()
                    on:click=move |_| choose(id.clone(), seq, i)>
                    {b.text.clone()}
                </button>
            }
        })
        .collect_view();
    view! { <div class="choices" role="group">{buttons}</div> }
}
