//! The page: the controller (which follows the window's events and keeps
//! the document in step, [`crate::controller::page_events`]) and either the
//! full-page chat or, with `?mode=window`, the chat bubble
//! ([`super::window`]).

use leptos::prelude::*;

use super::composer::{Composer, RunWaiting, StorageNote, Suggestions};
use super::conversations::{ConversationList, ConversationsToggle};
use super::header::{StatusIndicator, Tools};
use super::messages::MessageList;
use super::window::ChatWindow;
use crate::browser::files;
use crate::browser::page::query_param;
use crate::controller::page_events::{self, title};
use crate::controller::{Chat, ChatHandle, Screen};
use crate::model::machine::Event;

/// The whole chat page.
#[component]
pub fn App() -> impl IntoView {
    let chat = Chat::new();
    let view = chat.view;
    chat.start();
    let chat: ChatHandle = StoredValue::new_local(chat);
    let window_mode = query_param("mode").as_deref() == Some("window");
    page_events::follow_the_page(chat, window_mode);

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

/// Header, messages and composer. On a full page, messages and composer
/// are the `main` landmark; in window mode the whole widget is.
#[component]
pub fn ChatPanel(view: Screen, chat: ChatHandle, window_mode: bool) -> impl IntoView {
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
            // The one live region for the conversation (see `Screen::announcement`).
            <div class="sr-only" data-testid="announcer" role="log" aria-live="polite"
                aria-atomic="true">{move || view.announcement.get()}</div>
            <div class="chat-columns">
                <ConversationList view=view chat=chat />
                {body}
            </div>
        </div>
    }
}
