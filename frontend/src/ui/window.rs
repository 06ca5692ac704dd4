//! `?mode=window`: the chat behind a floating bubble, for an iframe on
//! another site (`embed.js` makes one), telling the embedding page when it
//! opens and closes, and showing how many answers wait unread.

use leptos::prelude::*;

use super::app::ChatPanel;
use crate::browser::host_page;
use crate::controller::page_events::title;
use crate::controller::ChatHandle;
use crate::controller::Screen;

/// The bubble and the panel it opens.
#[component]
pub fn ChatWindow(view: Screen, chat: ChatHandle) -> impl IntoView {
    let open = view.open;
    // Tell the embedding page, so it can shrink the iframe to the bubble
    // while the chat is closed (`embed.js` does; docs/page.md).
    Effect::new(move |_| {
        let open = open.get();
        host_page::post(
            if open { "open" } else { "close" },
            &[("open", open.into())],
        );
    });
    // `ready` is posted by the controller once the embed is granted and
    // the host's saved state is in (`Chat::start`).
    let unread = move || view.unread.get();
    let label = move || {
        let lang = view.texts.get();
        match unread() {
            n if n > 0 && !open.get() => {
                format!("{} – {}", lang.toggle_chat(false), lang.unread(n))
            }
            _ => lang.toggle_chat(open.get()).to_owned(),
        }
    };
    // The chat is the iframe document's main content: one `main` landmark
    // holding the panel and the bubble.
    view! {
        <main class="chat-window" class:open=move || open.get()>
            <h1 class="sr-only">{move || title(view)}</h1>
            <div class="chat-panel" id="chat-panel" hidden=move || !open.get()>
                <ChatPanel view=view chat=chat window_mode=true />
            </div>
            <button type="button" class="launcher" data-testid="launcher"
                aria-controls="chat-panel"
                aria-expanded=move || open.get().to_string()
                aria-label=label title=label
                on:click=move |_| open.update(|o| *o = !*o)>
                <span aria-hidden="true">{move || if open.get() { "✕" } else { "💬" }}</span>
                <Show when=move || unread() != 0 && !open.get()>
                    <span class="badge" data-testid="unread" aria-hidden="true">
                        {move || unread().min(99).to_string()}
                    </span>
                </Show>
            </button>
        </main>
    }
}
