//! The visitor's conversations: a side column on a wide full page, a
//! drawer (opened from the header) in the chat window and on phones.
//! Each entry switches to its conversation; rename and delete are buttons
//! beside it. Test hooks: the list `conversations`, each entry
//! `conversation` with `data-id`, `new-conversation`, `export`.

use leptos::prelude::*;

use crate::controller::ChatHandle;
use crate::controller::Screen;
use crate::model::conversations::Summary;

/// The header button that opens and closes the drawer.
#[component]
pub fn ConversationsToggle(view: Screen) -> impl IntoView {
    let lang = view.texts;
    view! {
        <button type="button" class="tool conversations-toggle" data-testid="conversations-toggle"
            aria-controls="conversation-list"
            aria-expanded=move || view.list_open.get().to_string()
            on:click=move |_| view.list_open.update(|o| *o = !*o)>
            {move || lang.with(|t| t.conversations())}
        </button>
    }
}

/// The list with New conversation and Export.
#[component]
pub fn ConversationList(view: Screen, chat: ChatHandle) -> impl IntoView {
    let lang = view.texts;
    // The entry being renamed, if any.
    let renaming: RwSignal<Option<String>> = RwSignal::new(None);
    let entries = move || view.conversations.with(|l| l.newest_first());
    let current = move || view.conversations.with(|l| l.current.clone());
    let new_conversation = move |_| {
        chat.with_value(|c| c.new_conversation());
        view.list_open.set(false);
    };
    view! {
        <nav class="conversations" id="conversation-list"
            data-open=move || view.list_open.get().to_string()
            aria-label=move || lang.with(|t| t.conversations())>
            <div class="conversation-actions">
                <button type="button" class="tool" data-testid="new-conversation"
                    on:click=new_conversation>
                    {move || lang.with(|t| t.new_conversation())}
                </button>
                <button type="button" class="tool" data-testid="export"
                    on:click=move |_| chat.with_value(|c| c.export_conversation())>
                    {move || lang.with(|t| t.export())}
                </button>
            </div>
            <Show when=move || view.list_full.get()>
                <p class="notice" role="alert" data-testid="conversations-full">
                    {move || lang.with(|t| t.conversations_full())}
                </p>
            </Show>
            <ul data-testid="conversations">
                <For each=entries key=|s: &Summary| (s.id.clone(), s.name.clone(), s.first.clone())
                    let:entry>
                    <Entry view=view chat=chat entry=entry current=current renaming=renaming />
                </For>
            </ul>
        </nav>
    }
}

/// One conversation: switch, rename, delete.
#[component]
fn Entry(
    view: Screen,
    chat: ChatHandle,
    entry: Summary,
    current: impl Fn() -> String + Copy + Send + Sync + 'static,
    renaming: RwSignal<Option<String>>,
) -> impl IntoView {
    let lang = view.texts;
    let id = StoredValue::new(entry.id.clone());
    let title = StoredValue::new(entry.title().map(str::to_owned));
    let shown_title = move || {
        title
            .get_value()
            .unwrap_or_else(|| lang.with(|t| t.new_conversation()))
    };
    let is_current = move || current() == id.get_value();
    let is_renaming = move || renaming.get().as_deref() == Some(id.get_value().as_str());
    let switch = move |_| {
        chat.with_value(|c| c.switch_conversation(&id.get_value()));
        view.list_open.set(false);
    };
    let delete = move |_| chat.with_value(|c| c.delete_conversation(&id.get_value()));
    let input = NodeRef::<leptos::html::Input>::new();
    let save = move || {
        if let Some(el) = input.get_untracked() {
            chat.with_value(|c| c.rename_conversation(&id.get_value(), &el.value()));
        }
        renaming.set(None);
    };
    // Opened: the field takes the focus (and the whole name, to retype it).
    Effect::new(move |_| {
        if is_renaming() {
            if let Some(el) = input.get() {
                let _ = el.focus();
                el.select();
            }
        }
    });
    view! {
        <li class="conversation" data-testid="conversation" data-id=entry.id.clone()
            data-current=move || is_current().to_string()>
            <Show when=move || !is_renaming()
                fallback=move || view! {
                    <form class="rename" on:submit=move |ev| { ev.prevent_default(); save(); }>
                        <input type="text" data-testid="rename-input" node_ref=input maxlength="200"
                            value=title.get_value().unwrap_or_default()
                            aria-label=move || { let title = shown_title(); lang.with(|t| t.rename_label(&title)) }
                            on:keydown=move |ev| if ev.key() == "Escape" { renaming.set(None); } />
                        <button type="submit" class="tool" data-testid="rename-save">
                            {move || lang.with(|t| t.save_name())}
                        </button>
                    </form>
                }>
                <button type="button" class="conversation-switch" data-testid="conversation-switch"
                    aria-current=move || is_current().then_some("true")
                    on:click=switch>
                    {shown_title}
                </button>
                <button type="button" class="tool" data-testid="rename-conversation"
                    aria-label=move || { let title = shown_title(); lang.with(|t| t.rename_label(&title)) }
                    title=move || lang.with(|t| t.rename())
                    on:click=move |_| renaming.set(Some(id.get_value()))>
                    <span aria-hidden="true">"✎"</span>
                </button>
                <button type="button" class="tool" data-testid="delete-conversation"
                    aria-label=move || { let title = shown_title(); lang.with(|t| t.delete_label(&title)) }
                    title=move || lang.with(|t| t.delete())
                    on:click=delete>
                    <span aria-hidden="true">"🗑"</span>
                </button>
            </Show>
        </li>
    }
}
