//! Talking to the page that embeds the chat (`embed.js`, or a hand-made
//! iframe) with `postMessage`, strictly: events — which carry answers and
//! the chat's saved state — go only to the host origin `embed.js` named in
//! `?host=`, and commands and the saved state are taken only from that
//! origin and from the parent window itself. And only once the page has
//! [`grant`]ed the embed: the relay lists the host (`--embed-origin`,
//! published as `embedOrigins`) or lists none, and the direct parent is at
//! that host where the browser tells (`location.ancestorOrigins`).

use std::cell::RefCell;

use wasm_bindgen::{JsCast, JsValue};

use super::page::query_param;
use crate::model::embed::{embed_allowed, host_origin, host_state, host_token, Command, Refused};

/// How long the host may take to answer `load` before the chat goes on
/// without kept state (`embed.js` answers at once).
const LOAD_WAIT_MS: i32 = 2000;

thread_local! {
    /// The host the embed was granted for.
    static GRANTED: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The identity token the host passed with its saved state.
    static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The identity token the host passed with its answer to `load`
/// (`data-user-token`), taken once: it goes in the first `hello`.
pub fn take_token() -> Option<String> {
    TOKEN.with(|t| t.borrow_mut().take())
}

/// The host origin `embed.js` named (`?host=`), granted or not: the page
/// was asked to be an embed.
pub fn requested() -> Option<String> {
    host_origin(query_param("host").as_deref())
}

/// The host page's origin, once the embed is [`grant`]ed.
pub fn host() -> Option<String> {
    GRANTED.with(|g| g.borrow().clone())
}

/// Decides whether the page acts as the embed of the requested host, given
/// the relay's `embedOrigins`; remembers the answer.
pub fn grant(listed: &[String]) -> bool {
    let Some(host) = requested() else {
        return false;
    };
    let parent_origin = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.location(), &"ancestorOrigins".into()).ok())
        .filter(|list| !list.is_undefined())
        .and_then(|list| js_sys::Reflect::get(&list, &0.into()).ok())
        .map(|first| first.as_string().unwrap_or_default());
    let framed = parent().is_some();
    let ok = framed && embed_allowed(&host, listed, parent_origin.as_deref());
    if ok {
        GRANTED.with(|g| *g.borrow_mut() = Some(host));
    }
    ok
}

fn parent() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let parent = window.parent().ok()??;
    // Not framed: the parent is the window itself.
    (!js_sys::Object::is(&parent, &window)).then_some(parent)
}

/// Posts `{"type":"n8n-chat","event":…, …fields}` to the host. Without a
/// named host only `open`/`close` go out (to any origin: they say nothing
/// but whether the chat is open), as the hand-made iframe snippet expects;
/// with a named host not (yet) granted, nothing.
pub fn post(event: &str, fields: &[(&str, JsValue)]) {
    let Some(parent) = parent() else { return };
    let target = match host() {
        Some(origin) => origin,
        None if requested().is_none() && matches!(event, "open" | "close") => "*".to_owned(),
        None => return,
    };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"type".into(), &"n8n-chat".into());
    let _ = js_sys::Reflect::set(&message, &"event".into(), &event.into());
    for (key, value) in fields {
        let _ = js_sys::Reflect::set(&message, &(*key).into(), value);
    }
    // The browser delivers it only if the parent really is at `target`.
    let _ = parent.post_message(&message, &target);
}

/// Asks the host to keep `key` (`None`: to forget it).
pub fn store(key: &str, value: Option<&str>) {
    let value = value.map_or(JsValue::NULL, JsValue::from);
    post("store", &[("key", key.into()), ("value", value)]);
}

/// Asks the granted host for the chat's saved state (`load`), and waits
/// for its answer from the parent window at the host's origin — at most
/// [`LOAD_WAIT_MS`]. `None`: nothing can be kept (no answer: not
/// `embed.js`; or the host's storage is refused).
pub async fn load() -> Option<std::collections::HashMap<String, String>> {
    let host = host()?;
    let parent = parent()?;
    let window = web_sys::window()?;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let (host, parent, done) = (host.clone(), parent.clone(), resolve.clone());
        let listener = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                // Only the answer itself: another script of the host page
                // posting to every frame must not end the wait (the chat
                // would start empty and without the visitor's token).
                let data = event.data();
                let answer = js_sys::Reflect::get(&data, &"type".into())
                    .ok()
                    .and_then(|t| t.as_string())
                    .is_some_and(|t| t == "n8n-chat-state");
                if answer && from(&event, &parent, &host) {
                    let _ = done.call1(&JsValue::NULL, &data);
                }
            },
        );
        let _ =
            window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        // Once per page; later answers resolve nothing.
        listener.forget();
        let _ =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, LOAD_WAIT_MS);
        // Asked once the answer can be heard.
        post("load", &[]);
    });
    let data = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    if data.is_undefined() {
        return None;
    }
    let data = serde_wasm_json(&data)?;
    TOKEN.with(|t| *t.borrow_mut() = host_token(&data));
    host_state(&data).ok().flatten()
}

/// Sent by the parent window itself, from `host`.
fn from(event: &web_sys::MessageEvent, parent: &web_sys::Window, host: &str) -> bool {
    event
        .source()
        .is_some_and(|s| js_sys::Object::is(&s, parent))
        && event.origin() == host
}

/// A `message` event as a command from the host, if it is one: from the
/// parent window, from the granted host origin, well-formed.
pub fn command(event: &web_sys::MessageEvent) -> Option<Command> {
    let host = host()?;
    let parent = parent()?;
    if !from(event, &parent, &host) {
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
