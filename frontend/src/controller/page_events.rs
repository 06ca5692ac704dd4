//! The controller following the page it lives in: the window's events
//! (back online, tab shown or hidden, left or restored from the
//! back/forward cache, commands from an embedding page), the clocks that
//! move on-screen times, saving the conversation as it changes, and the
//! document following the language, theme, title and unread count.
//!
//! Wired once by the page's root component, which then only renders.

use std::time::Duration;

use gloo_timers::callback::Interval;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{ChatHandle, Screen};
use crate::browser::page::{now, query_param};
use crate::browser::{debug_handle, host_page};
use crate::model::conversation::Conversation;
use crate::model::embed;
use crate::model::machine::{Event, Phase};

/// How often the on-screen clock moves while something counts.
const CLOCK: Duration = Duration::from_secs(1);

/// Follows the page for `chat` until the page goes (`window_mode`: the
/// chat is the bubble of `embed.js`, `?mode=window`).
pub fn follow_the_page(chat: ChatHandle, window_mode: bool) {
    let view = chat.with_value(|c| c.view);
    chat.with_value(|c| {
        let weak = std::rc::Rc::downgrade(c);
        debug_handle::install_test_function(move || {
            weak.upgrade()
                .map(|c| c.test_webhook_connection())
                .unwrap_or_default()
        });
    });

    // The clock countdowns and waiting times read: ticking once a second,
    // and only while something on screen counts.
    run_clock_while_needed(view);
    listen_to_the_window(chat, view);
    // Seen: nothing is unread any more.
    Effect::new(move |_| {
        if view.open.get() && !view.hidden.get() {
            chat.with_value(|c| c.seen());
        }
    });
    // Timestamps say "5 min ago": a clock that moves once a minute.
    // (The page's root lives as long as the page.)
    Interval::new(60_000, move || view.minute.set(now())).forget();
    // Keep the conversation across reloads (saved when it changes); new
    // lines get their time first.
    Effect::new(move |_| {
        view.conversation.track();
        if view.conversation.with_untracked(Conversation::needs_stamp) {
            view.conversation.update(|c| c.stamp(now()));
            return;
        }
        chat.with_value(|c| c.save());
    });
    if window_mode {
        view.open.set(query_param("open").as_deref() == Some("1"));
        window_options();
    }
    follow_with_the_document(view, window_mode);
}

/// The window's events the chat answers.
fn listen_to_the_window(chat: ChatHandle, view: Screen) {
    // The browser is back online, or the tab visible again: try at once.
    let online = window_event_listener_untyped("online", move |_| {
        chat.with_value(|c| c.dispatch(Event::RetryNow))
    });
    let visible = window_event_listener_untyped("visibilitychange", move |_| {
        let hidden = document().hidden();
        view.hidden.set(hidden);
        if !hidden {
            chat.with_value(|c| c.dispatch(Event::RetryNow));
        }
    });
    view.hidden.set(document().hidden());
    // Commands from the page embedding the chat (`embed.js`), checked in
    // `host_page::command`.
    let commands = window_event_listener(leptos::ev::message, move |ev| {
        if let Some(command) = host_page::command(&ev) {
            chat.with_value(|c| c.command(command));
        }
    });
    // Leaving the page (tab closed, navigation, back/forward cache): close
    // the socket now, so the relay knows at once and keeps what arrives for
    // the next visit. Restored from the back/forward cache: connect again.
    let hide = window_event_listener_untyped("pagehide", move |_| chat.with_value(|c| c.leave()));
    let show = window_event_listener_untyped("pageshow", move |ev| {
        let restored = js_sys::Reflect::get(&ev, &"persisted".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if restored {
            chat.with_value(|c| c.dispatch(Event::Reconnect));
        }
    });
    on_cleanup(move || {
        commands.remove();
        online.remove();
        visible.remove();
        hide.remove();
        show.remove();
    });
}

/// The document follows the language, theme and title; the tab's title
/// counts unseen answers ("(2) Support").
fn follow_with_the_document(view: Screen, window_mode: bool) {
    Effect::new(move |_| {
        let (lang, theme) = (view.texts.get().lang(), view.theme.get());
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang.code());
            let _ = root.set_attribute("dir", lang.dir());
            let _ = root.set_attribute("data-theme", theme.name());
            if window_mode {
                let _ = root.set_attribute("data-mode", "window");
            }
        }
    });
    Effect::new(move |_| {
        let title = title(view);
        match view.unread.get() {
            0 => document().set_title(&title),
            n => document().set_title(&format!("({n}) {title}")),
        }
    });
}

/// `embed.js`' options for the bubble: which corner, and the colour.
fn window_options() {
    let Some(root) = document().document_element() else {
        return;
    };
    // left/right (physical, what embed.js sends) or start/end (follow
    // the chat's writing direction).
    if let Some(position) =
        query_param("position").filter(|p| matches!(p.as_str(), "left" | "right" | "start" | "end"))
    {
        let _ = root.set_attribute("data-position", &position);
    }
    if let Some(colour) = embed::colour(query_param("color").as_deref()) {
        if let Ok(root) = root.dyn_into::<web_sys::HtmlElement>() {
            // Through the CSSOM: allowed by the CSP (no inline style).
            let _ = root.style().set_property("--chat--color-primary", &colour);
        }
    }
}

/// Moves `view.now` once a second while a reconnect countdown or an answer
/// being waited for is on screen; no timer at all otherwise.
fn run_clock_while_needed(view: Screen) {
    let needed = Memo::new(move |_| {
        matches!(view.phase.get(), Phase::Reconnecting { .. })
            || view.conversation.with(Conversation::has_sent)
    });
    let clock: StoredValue<Option<Interval>, LocalStorage> = StoredValue::new_local(None);
    Effect::new(move |_| {
        let on = needed.get();
        clock.update_value(|clock| match (on, clock.is_some()) {
            (true, false) => {
                view.now.set(now());
                let millis = CLOCK.as_millis() as u32;
                *clock = Some(Interval::new(millis, move || view.now.set(now())));
            }
            (false, true) => *clock = None,
            _ => {}
        });
    });
    on_cleanup(move || clock.update_value(|clock| *clock = None));
}

/// The configured title, or the default.
pub fn title(view: Screen) -> String {
    view.config
        .with(|c| c.title.clone())
        .unwrap_or_else(|| view.texts.get().title().to_owned())
}
