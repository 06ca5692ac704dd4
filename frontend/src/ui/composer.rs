//! Writing: the input with its attach and send buttons and the draft's
//! files, and the note shown when the browser's storage cannot keep unsent
//! messages.

use leptos::prelude::*;

use super::attachments::AttachmentChip;
use super::voice::MicButton;
use crate::browser::files;
use crate::controller::Screen;

/// While a run waits for the user: what it waits for. A question: the
/// next message is the reply. Buttons: press one — or, when typing is
/// allowed, know that a typed reply declines.
#[component]
pub fn RunWaiting(view: Screen) -> impl IntoView {
    let text = move || {
        let lang = view.texts.get();
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

/// Starter prompts (`--suggestion`) while the conversation is empty; a
/// click sends one.
#[component]
pub fn Suggestions(
    view: Screen,
    send: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let shown = move || {
        view.conversation.with(|c| c.lines.is_empty())
            && view.config.with(|c| !c.suggestions.is_empty())
    };
    let chips = move || {
        view.config
            .with(|c| c.suggestions.clone())
            .into_iter()
            .take(shared::MAX_SUGGESTIONS)
            .map(|text| {
                let label = text.clone();
                view! {
                    <button type="button" class="suggestion" data-testid="suggestion"
                        on:click=move |_| send(text.clone())>
                        {label}
                    </button>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=shown>
            <div class="suggestions" role="group"
                aria-label=move || view.texts.get().suggestions_label()>
                {chips}
            </div>
        </Show>
    }
}

/// Said when the browser's storage cannot hold even the unsent messages,
/// when an embedded chat can keep nothing, and when it may not be embedded
/// here.
#[component]
pub fn StorageNote(view: Screen) -> impl IntoView {
    view! {
        <Show when=move || view.storage_full.get()>
            <p class="notice" role="alert" data-testid="storage-note">
                {move || view.texts.get().storage_full()}
            </p>
        </Show>
        <Show when=move || view.not_kept.get()>
            <p class="notice" role="status" data-testid="not-kept-note">
                {move || view.texts.get().not_kept()}
            </p>
        </Show>
        <Show when=move || view.paused.get()>
            <p class="notice" role="status" data-testid="paused-note">
                {move || view.texts.get().paused()}
            </p>
        </Show>
        <Show when=move || view.embed_refused.get()>
            <p class="notice" role="alert" data-testid="embed-refused-note">
                {move || view.texts.get().embed_refused()}
            </p>
        </Show>
    }
}

/// The input, the attach button with the draft's files, and the send
/// button. Enter sends, Shift+Enter is a new line; pasting an image
/// attaches it. A message may be only files.
#[component]
pub fn Composer(
    view: Screen,
    send: impl Fn(String) + Copy + Send + Sync + 'static,
    attach: impl Fn(Vec<web_sys::File>) + Copy + Send + Sync + 'static,
    remove: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let (draft, set_draft) = signal(String::new());
    let submit = move || {
        let text = draft.get_untracked();
        let has_files = view.draft.with_untracked(|d| !d.is_empty());
        if !text.trim().is_empty() || has_files {
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
            .unwrap_or_else(|| view.texts.get().placeholder().to_owned())
    };
    let on_paste = move |ev: web_sys::ClipboardEvent| {
        let pasted = files::list(ev.clipboard_data().and_then(|d| d.files()));
        if !pasted.is_empty() {
            ev.prevent_default();
            attach(pasted);
        }
    };
    let chips = move || {
        view.draft
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                view! { <AttachmentChip attachment=a view=view remove=Callback::new(move |_: ()| remove(i)) /> }
            })
            .collect_view()
    };
    view! {
        <Show when=move || view.attach_error.with(Option::is_some)>
            <p class="notice" role="alert" data-testid="attach-error">
                {move || view.attach_error.get().unwrap_or_default()}
            </p>
        </Show>
        <Show when=move || view.draft.with(|d| !d.is_empty())>
            <div class="attachments draft" data-testid="draft-attachments">{chips}</div>
        </Show>
        <form class="composer" on:submit=move |ev| {
            ev.prevent_default();
            submit();
        }>
            <AttachButton view=view attach=attach blocked=Signal::derive(blocked) />
            <MicButton view=view attach=attach blocked=Signal::derive(blocked) />
            <textarea
                data-testid="message-input"
                disabled=blocked
                rows="1"
                placeholder=placeholder
                aria-label=placeholder
                prop:value=draft
                on:input=move |ev| set_draft.set(event_target_value(&ev))
                on:paste=on_paste
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" data-testid="send" disabled=blocked>{move || view.texts.get().send()}</button>
        </form>
    }
}

/// The attach button, when the relay takes files: a label around the
/// (visually hidden, still focusable) file input, so a click or Enter on
/// it opens the browser's picker without script.
#[component]
fn AttachButton(
    view: Screen,
    attach: impl Fn(Vec<web_sys::File>) + Copy + Send + Sync + 'static,
    blocked: Signal<bool>,
) -> impl IntoView {
    let accept = move || {
        view.config.with(|c| {
            c.uploads
                .as_ref()
                .map(|r| r.allowed_types.trim().to_owned())
                .filter(|t| !t.is_empty() && t != "*" && t != "*/*")
        })
    };
    let multiple = move || {
        view.config
            .with(|c| c.uploads.as_ref().is_some_and(|r| r.max_files > 1))
    };
    let label = move || view.texts.get().attach();
    let on_change = move |ev: web_sys::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        let picked = files::list(input.files());
        // So picking the same file again is a change too.
        input.set_value("");
        attach(picked);
    };
    view! {
        <Show when=move || view.config.with(|c| c.uploads.is_some())>
            <label class="attach-button" title=label>
                <input type="file" class="sr-only" data-testid="attach"
                    accept=accept multiple=multiple disabled=blocked aria-label=label
                    on:change=on_change />
                <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                    <path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5"
                        fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
                </svg>
            </label>
        </Show>
    }
}
