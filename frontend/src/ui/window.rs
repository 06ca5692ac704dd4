//! `?mode=window`: the chat behind a floating bubble, for an iframe on
//! another site, telling the embedding page when it opens and closes.

use leptos::prelude::*;

use super::app::{title, ChatPanel, Shared};
use crate::controller::View;

/// The bubble and the panel it opens.
#[component]
pub fn ChatWindow(view: View, chat: Shared) -> impl IntoView {
    let (open, set_open) = signal(false);
    // Tell the embedding page, so it can shrink the iframe to the bubble
    // while the chat is closed (docs/page.md, "Embedding").
    Effect::new(move |_| notify_parent(open.get()));
    // The chat is the iframe document's main content: one `main` landmark
    // holding the panel and the bubble.
    view! {
        <main class="chat-window" class:open=open>
            <h1 class="sr-only">{move || title(view)}</h1>
            <div class="chat-panel" id="chat-panel" hidden=move || !open.get()>
                <ChatPanel view=view chat=chat window_mode=true />
            </div>
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
