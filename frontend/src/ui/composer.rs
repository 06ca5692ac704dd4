//! Writing: the input with its send button, and the note shown when the
//! browser's storage cannot keep unsent messages.

use leptos::prelude::*;

use crate::controller::View;

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
