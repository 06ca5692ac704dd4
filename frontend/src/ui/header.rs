//! The header: the title, the connection status (with the retry button
//! when offline), and the tools (language, theme, new chat, clear history).

use leptos::prelude::*;

use crate::controller::ChatHandle;
use crate::controller::Screen;
use crate::model::i18n::Lang;
use crate::model::machine::Phase;
use crate::model::theme::Theme;

/// Language, theme, new chat, clear history.
#[component]
pub fn Tools(view: Screen, chat: ChatHandle) -> impl IntoView {
    let lang = view.texts;
    let switch_lang =
        move |_| chat.with_value(|c| c.set_language(lang.get_untracked().lang().other()));
    let pick_lang = move |ev: leptos::ev::Event| {
        if let Some(to) = Lang::from_code(&event_target_value(&ev)) {
            chat.with_value(|c| c.set_language(to));
        }
    };
    let other = move || lang.get().lang().other();
    let switch_theme = move |_| chat.with_value(|c| c.set_theme(view.theme.get_untracked().next()));
    let theme_icon = move || match view.theme.get() {
        Theme::Auto => "◐",
        Theme::Light => "☀",
        Theme::Dark => "☾",
    };
    let theme_label = move || lang.get().theme_label(view.theme.get());
    view! {
        <div class="tools" role="group" aria-label=move || lang.get().tools_label()>
            <button type="button" class="tool" data-testid="lang-switch"
                title=move || lang.get().switch_to(other())
                on:click=switch_lang>
                <span lang=move || other().code()>{move || other().name()}</span>
            </button>
            <select class="tool" data-testid="lang-menu"
                aria-label=move || lang.get().language_menu()
                title=move || lang.get().language_menu()
                on:change=pick_lang>
                {Lang::all().map(|l| view! {
                    <option value=l.code() lang=l.code()
                        selected=move || lang.get().lang() == l>{l.name()}</option>
                }).collect_view()}
            </select>
            <button type="button" class="tool" data-testid="theme-switch"
                data-theme=move || view.theme.get().name()
                aria-label=theme_label title=theme_label on:click=switch_theme>
                <span aria-hidden="true">{theme_icon}</span>
            </button>
            <button type="button" class="tool" data-testid="focus-answers"
                aria-pressed=move || view.focus_answers.get().to_string()
                on:click=move |_| chat.with_value(|c| c.set_focus_answers(!view.focus_answers.get_untracked()))>
                {move || lang.get().focus_answers()}
            </button>
            <button type="button" class="tool" data-testid="new-chat"
                on:click=move |_| chat.with_value(|c| c.new_chat())>
                {move || lang.get().new_chat()}
            </button>
            <button type="button" class="tool" data-testid="clear-history"
                on:click=move |_| chat.with_value(|c| c.clear_history())>
                {move || lang.get().clear_history()}
            </button>
            <Show when=move || view.config.get().sign_in>
                <SignIn view=view />
            </Show>
        </div>
    }
}

/// "Sign in" (a link to the relay's `/auth/login`) or "Sign out", on a
/// relay with sign-in (`signIn` in `/config.json`).
#[component]
fn SignIn(view: Screen) -> impl IntoView {
    let lang = view.texts;
    let sign_out = move |_| leptos::task::spawn_local(crate::browser::sign_in::sign_out());
    view! {
        <Show
            when=move || view.signed_in.get().is_some()
            fallback=move || view! {
                <a class="tool" data-testid="sign-in" href="/auth/login">
                    {move || lang.get().sign_in()}
                </a>
            }
        >
            <button type="button" class="tool" data-testid="sign-out"
                data-user=move || view.signed_in.get().unwrap_or_default()
                title=move || lang.get().signed_in_as(&view.signed_in.get().unwrap_or_default())
                on:click=sign_out>
                {move || lang.get().sign_out()}
            </button>
        </Show>
    }
}

/// The coloured dot and text in the header, with the retry button when offline.
#[component]
pub fn StatusIndicator(
    view: Screen,
    retry: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = view.texts;
    let text = move || {
        let lang = lang.get();
        match view.phase.get() {
            Phase::Connecting => lang.connecting().to_owned(),
            Phase::Online => lang.online().to_owned(),
            Phase::Reconnecting { attempt, retry_at } => {
                let in_secs =
                    retry_at.map(|at| ((at - view.now.get()).max(0.0) / 1000.0).ceil() as u32);
                lang.reconnecting(attempt, view.max_attempts, in_secs)
            }
            Phase::Offline => lang.offline().to_owned(),
        }
    };
    let title = move || view.rtt_ms.get().map(|ms| lang.get().rtt(ms));
    view! {
        <div class="status" data-testid="status" data-state=move || view.phase.get().name()
            role="status" title=title>
            <span class="dot" aria-hidden="true"></span>
            <span class="status-text">{text}</span>
            <Show when=move || view.phase.get() == Phase::Offline>
                <button type="button" class="retry" data-testid="retry" on:click=move |_| retry()>
                    {move || lang.get().retry()}
                </button>
            </Show>
        </div>
    }
}
