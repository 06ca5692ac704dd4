//! Talking to the page that embeds the chat (`embed.js`, or a hand-made
//! iframe) with `postMessage`, strictly: events — which carry answers — go
//! only to the host origin `embed.js` named in `?host=`, and commands are
//! taken only from that origin and from the parent window itself.

use wasm_bindgen::JsValue;

use super::page::query_param;
use crate::model::embed::{host_origin, Command, Refused};

/// The host page's origin, when `embed.js` named one.
pub fn host() -> Option<String> {
    host_origin(query_param("host").as_deref())
}

fn parent() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let parent = window.parent().ok()??;
    // Not framed: the parent is the window itself.
    (!js_sys::Object::is(&parent, &window)).then_some(parent)
}

/// Posts `{"type":"n8n-chat","event":…, …fields}` to the host. Without a
/// named host only `open`/`close` go out (to any origin: they say nothing
/// but whether the chat is open), as the hand-made iframe snippet expects.
pub fn post(event: &str, fields: &[(&str, JsValue)]) {
    let Some(parent) = parent() else { return };
    let target = match host() {
        Some(origin) => origin,
        None if matches!(event, "open" | "close") => "*".to_owned(),
        None => return,
    };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"type".into(), &"n8n-chat".into());
    let _ = js_sys::Reflect::set(&message, &"event".into(), &event.into());
    for (key, value) in fields {
        let _ = js_sys::Reflect::set(&message, &(*key).into(), value);
    }
    let _ = parent.post_message(&message, &target);
}

/// A `message` event as a command from the host, if it is one: from the
/// parent window, from the named host origin, well-formed.
pub fn command(event: &web_sys::MessageEvent) -> Option<Command> {
    let host = host()?;
    let parent = parent()?;
    let from_parent = event
        .source()
        .is_some_and(|s| js_sys::Object::is(&s, &parent));
    if !from_parent || event.origin() != host {
        return None;
    }
    let data: serde_json::Value = serde_wasm_json(&event.data())?;
    match Command::parse(&data) {
        Ok(command) => Some(command),
        Err(Refused::NotOurs) => None,
        Err(Refused::Invalid(why)) => {
            web_sys::console::warn_1(&format!("n8nChat: {why}").into());
            None
        }
    }
}

/// A structured-clone value as JSON (through `JSON.stringify`).
fn serde_wasm_json(value: &JsValue) -> Option<serde_json::Value> {
    let text: String = js_sys::JSON::stringify(value).ok()?.into();
    serde_json::from_str(&text).ok()
}
