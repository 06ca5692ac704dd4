//! `window.chatInstance`, the debug handle the old page had:
//! `isConnected`, `readyState`, `sessionId` and `testWebhookConnection()`;
//! plus `framesReceived`, the number of frames the page has read (tests
//! wait on it instead of sleeping).

use wasm_bindgen::prelude::*;

fn handle() -> Option<js_sys::Object> {
    let window = web_sys::window()?;
    let existing = js_sys::Reflect::get(&window, &"chatInstance".into()).ok()?;
    if existing.is_object() {
        return existing.dyn_into().ok();
    }
    let object = js_sys::Object::new();
    js_sys::Reflect::set(&window, &"chatInstance".into(), &object).ok()?;
    Some(object)
}

/// Updates the plain properties.
pub fn update(is_connected: bool, ready_state: u16, session_id: Option<&str>) {
    let Some(h) = handle() else { return };
    let _ = js_sys::Reflect::set(&h, &"isConnected".into(), &is_connected.into());
    let _ = js_sys::Reflect::set(&h, &"readyState".into(), &ready_state.into());
    let session: JsValue = session_id.map_or(JsValue::NULL, Into::into);
    let _ = js_sys::Reflect::set(&h, &"sessionId".into(), &session);
}

/// Sets `framesReceived`.
pub fn frames_received(count: u32) {
    let Some(h) = handle() else { return };
    let _ = js_sys::Reflect::set(&h, &"framesReceived".into(), &count.into());
}

/// Installs `testWebhookConnection()`; the closure lives as long as the page.
pub fn install_test_function(test: impl Fn() -> String + 'static) {
    let Some(h) = handle() else { return };
    let f = Closure::<dyn Fn() -> String>::new(test);
    let _ = js_sys::Reflect::set(&h, &"testWebhookConnection".into(), f.as_ref());
    f.forget();
}
