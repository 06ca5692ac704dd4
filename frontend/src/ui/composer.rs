//! Writing: the input with its send button, and the note shown when the
//! browser's storage cannot keep unsent messages.

use leptos::prelude::*;

use crate::controller::View;

/// While a run waits for the user: what it waits for. A question: the
/// next message is the reply. Buttons: press one — or, when typing is
/// allowed, know that a typed reply declines.
#[component]
pub fn RunWaiting(view: View) -> impl IntoView {
    let text = move || {
        let lang = view.lang.get();
        view.conversation.with(|c| match c.waiting_for_buttons() {
            Some((_, _, true)) => lang.run_waiting_buttons(),
            Some((_, _, false)) => lang.run_waiting_typing_declines(),
            None => lang.run_waiting(),
        })
    };
    view! {
        <Show when=move || view.conversation.with(|c| c.waiting.is_some())>
            <p class="run-waiting" role="status" data-testid="run-waiting">{text}</p>
        </Show>
    }
}

/// Said when the browser's storage cannot hold even the unsent messages.
#[component]
pub fn StorageNote(view: View) -> impl IntoView {
    view! {
        <Show when=move || view.storage_full.get()>
            <p class="notice" role="alert" data-testid="storage-note">
                {move || view.lang.get().storage_full()}
            </p>
        </Show>
    }
}

/// The input and the send button. Enter sends, Shift+Enter is a new line.
#[component]
pub fn Composer(view: View, send: impl Fn(String) + Copy + Send + Sync + 'static) -> impl IntoView {
    let (draft, set_draft) = signal(String::new());
    let submit = move || {
        let text = draft.get_untracked();
        if !text.trim().is_empty() {
            send(text);
            set_draft.set(String::new());
        }
    };
    // A run waits for one of its buttons: typing would not answer it.
    let blocked = move || {
        view.conversation
            .with(|c| c.waiting_for_buttons().is_some_and(|(_, _, block)| block))
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
                disabled=blocked
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
            <button type="submit" data-testid="send" disabled=blocked>{move || view.lang.get().send()}</button>
        </form>
    }
}
