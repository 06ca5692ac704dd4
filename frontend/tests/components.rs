//! Component tests in a real (headless) Chromium via wasm-bindgen-test:
//! the page mounts, shows its hooks, goes offline when no relay answers,
//! queues what is typed meanwhile, and the retry button tries again.
//! Run by `cargo xtask test`
//! (`cargo test -p frontend --target wasm32-unknown-unknown`).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("document")
}

fn by_testid(id: &str) -> Option<web_sys::Element> {
    document()
        .query_selector(&format!("[data-testid={id}]"))
        .ok()
        .flatten()
}

fn click(id: &str) {
    by_testid(id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        .unwrap_or_else(|| panic!("no {id} button"))
        .click();
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        sleep(50).await;
    }
    panic!("timed out waiting for {what}");
}

fn status_state() -> String {
    by_testid("status")
        .and_then(|s| s.get_attribute("data-state"))
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn the_page_mounts_goes_offline_without_a_relay_and_queues_messages() {
    // The test runner's server has no WebSocket on /ws (and no
    // /config.json): every attempt fails at once.
    let history = web_sys::window()
        .expect("window")
        .history()
        .expect("history");
    history
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some("?backoffMs=50&backoffMaxMs=50&attempts=2"),
        )
        .expect("set query");
    leptos::mount::mount_to_body(frontend::ui::app::App);

    let status = by_testid("status").expect("status element");
    assert_eq!(status.get_attribute("role").as_deref(), Some("status"));
    assert!(by_testid("messages").is_some());
    assert!(
        ["connecting", "reconnecting"].contains(&status_state().as_str()),
        "{}",
        status_state()
    );

    eventually("offline", || status_state() == "offline").await;
    assert!(by_testid("retry").is_some(), "retry button when offline");

    let input: web_sys::HtmlTextAreaElement = by_testid("message-input")
        .expect("input")
        .dyn_into()
        .expect("textarea");
    input.set_value("hello from the test");
    input
        .dispatch_event(&web_sys::Event::new("input").expect("event"))
        .expect("dispatch");
    click("send");
    eventually("a queued user message", || {
        document()
            .query_selector("[data-testid=message][data-role=user][data-state=queued]")
            .ok()
            .flatten()
            .is_some_and(|m| {
                m.text_content()
                    .unwrap_or_default()
                    .contains("hello from the test")
            })
    })
    .await;
    assert_eq!(input.value(), "", "the input is cleared after sending");

    // Offline with a queued message and nothing happening: the
    // conversation is not written to storage again and again (it is saved
    // when it changes, not on a timer).
    let count_writes = js_sys::Function::new_no_args(
        "window.__writes = 0; const set = Storage.prototype.setItem; \
         Storage.prototype.setItem = function (k, v) { window.__writes += 1; return set.call(this, k, v); };",
    );
    count_writes
        .call0(&wasm_bindgen::JsValue::NULL)
        .expect("install the counter");
    sleep(600).await;
    let writes = js_sys::Reflect::get(&web_sys::window().expect("window"), &"__writes".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(-1.0);
    assert_eq!(writes, 0.0, "storage writes while nothing changed");

    click("retry");
    eventually("trying again after retry", || status_state() != "offline").await;
    eventually("offline again", || status_state() == "offline").await;
}
