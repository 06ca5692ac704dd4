//! Who sees what arrives: bot messages that come while the chat is closed
//! or the tab hidden are counted as unread (badge, title, the host page's
//! `unread` event) until the chat is seen again; and the host page's
//! commands (`window.n8nChat`).

use leptos::prelude::*;

use super::Chat;
use crate::browser::page::query_param;
use crate::browser::{host_page, sound};
use crate::model::embed::{Command, MAX_METADATA_BYTES};

/// Moves keyboard focus to the bot line of message `id` (once rendered).
fn focus_line(id: &str) {
    let selector = format!(
        "[data-testid=message][data-role=bot][data-id='{}']",
        id.replace(['\'', '\\'], "")
    );
    leptos::task::spawn_local(async move {
        // After this frame's render.
        gloo_timers::future::TimeoutFuture::new(0).await;
        let found = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&selector).ok().flatten())
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
        if let Some(line) = found {
            let _ = line.focus();
        }
    });
}

impl Chat {
    /// A bot message `id` arrived (an answer, a push, a run's message).
    pub(super) fn arrived(&self, id: &str, text: &str) {
        let seen = self.view.open.get_untracked() && !self.view.hidden.get_untracked();
        if !seen {
            if query_param("sound").as_deref() == Some("1") {
                sound::beep();
            }
            self.view.unread.update(|n| *n = n.saturating_add(1));
            host_page::post(
                "unread",
                &[("count", self.view.unread.get_untracked().into())],
            );
        }
        host_page::post("message", &[("id", id.into()), ("text", text.into())]);
        self.view.announcement.set(text.to_owned());
        if self.view.focus_answers.get_untracked() {
            focus_line(id);
        }
    }

    /// The chat is seen (opened, or the tab visible again while open).
    pub fn seen(&self) {
        if self.view.unread.get_untracked() != 0 {
            self.view.unread.set(0);
            host_page::post("unread", &[("count", 0.into())]);
        }
    }

    /// A command from the host page.
    pub fn command(&self, command: Command) {
        match command {
            Command::Open => self.view.open.set(true),
            Command::Close => self.view.open.set(false),
            Command::Toggle => self.view.open.update(|o| *o = !*o),
            Command::Send(text) => {
                self.send_text(text);
            }
            Command::SetMetadata(more) => {
                let mut merged = self.metadata.borrow().clone();
                merged.extend(more);
                let size = serde_json::Value::Object(merged.clone()).to_string().len();
                if size > MAX_METADATA_BYTES {
                    web_sys::console::warn_1(
                        &"n8nChat.setMetadata: more than 4 KiB in all; ignored".into(),
                    );
                    return;
                }
                *self.metadata.borrow_mut() = merged;
            }
            Command::Identify(token) => self.identify(token),
            Command::ForgetMe => self.forget_me(),
        }
    }
}
