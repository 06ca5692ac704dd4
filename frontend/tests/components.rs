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

async fn eventually(what: &str, check: impl FnMut() -> bool) {
    eventually_within(what, 10_000, check).await;
}

async fn eventually_within(what: &str, ms: i32, mut check: impl FnMut() -> bool) {
    for _ in 0..ms / 50 {
        if check() {
            return;
        }
        sleep(50).await;
    }
    panic!("timed out waiting for {what}");
}

/// The test runner's server has no `i18n/` files: answer the page's
/// catalogue request with the English catalogue from the repository (the
/// relay serves it in real use), so the page renders its texts.
fn serve_the_english_catalogue() {
    let stub = js_sys::Function::new_with_args(
        "text",
        "const real = window.fetch.bind(window); \
         window.fetch = (input, init) => { \
           const url = typeof input === 'string' ? input : input.url; \
           if (url.includes('/i18n/')) { \
             return Promise.resolve(new Response(text, { status: 200, headers: { 'Content-Type': 'application/json' } })); \
           } \
           return real(input, init); \
         };",
    );
    stub.call1(
        &wasm_bindgen::JsValue::NULL,
        &wasm_bindgen::JsValue::from_str(include_str!("../i18n/en.json")),
    )
    .expect("install the catalogue stub");
}

fn status_state() -> String {
    by_testid("status")
        .and_then(|s| s.get_attribute("data-state"))
        .unwrap_or_default()
}

/// The seconds the reconnect countdown shows ("… in 3s", "… in 3 s"), if
/// it shows one: it moves with each tick of the page's 1 s clock.
fn countdown() -> Option<u32> {
    if status_state() != "reconnecting" {
        return None;
    }
    let text = by_testid("status")?.text_content()?;
    let (_, after) = text.rsplit_once(" in ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[wasm_bindgen_test]
async fn the_page_mounts_goes_offline_without_a_relay_and_queues_messages() {
    // The test runner's server has no WebSocket on /ws (and no
    // /config.json): every attempt fails at once. One retry, 3–6 s after
    // the first failure (half to all of 6 s): a countdown long enough to
    // watch the page's 1 s clock tick twice in it.
    let history = web_sys::window()
        .expect("window")
        .history()
        .expect("history");
    history
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some("?backoffMs=6000&backoffMaxMs=6000&attempts=1"),
        )
        .expect("set query");
    serve_the_english_catalogue();
    leptos::mount::mount_to_body(frontend::ui::app::App);

    // Nothing shows until the language's catalogue is in (never a flash
    // of untranslated text): wait for the page itself.
    eventually("the page, once its texts are in", || {
        by_testid("status").is_some()
    })
    .await;
    let status = by_testid("status").expect("status element");
    assert_eq!(status.get_attribute("role").as_deref(), Some("status"));
    assert!(by_testid("messages").is_some());
    assert!(
        ["connecting", "reconnecting"].contains(&status_state().as_str()),
        "{}",
        status_state()
    );

    // The countdown: type a message meanwhile, which is queued.
    eventually("a reconnect countdown", || countdown().is_some()).await;
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

    // A queued message and a clock ticking, nothing else happening: the
    // conversation is not written to storage on every tick (it is saved
    // when it changes, not on a timer). An absence, so watched for longer
    // than the timer it rules out: until two ticks of the clock were seen
    // (the countdown moved twice), not for a guessed while.
    let count_writes = js_sys::Function::new_no_args(
        "window.__writes = 0; const set = Storage.prototype.setItem; \
         Storage.prototype.setItem = function (k, v) { window.__writes += 1; return set.call(this, k, v); };",
    );
    count_writes
        .call0(&wasm_bindgen::JsValue::NULL)
        .expect("install the counter");
    let mut shown = countdown();
    let mut ticks = 0;
    while ticks < 2 {
        let now = countdown();
        assert!(
            now.is_some(),
            "the countdown ended after {ticks} of two clock ticks (status: {})",
            status_state()
        );
        if now != shown {
            ticks += 1;
            shown = now;
        }
        sleep(20).await;
    }
    let writes = js_sys::Reflect::get(&web_sys::window().expect("window"), &"__writes".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(-1.0);
    assert_eq!(
        writes, 0.0,
        "storage writes while nothing but the clock changed"
    );

    // The one retry fails too: offline, the message still queued.
    eventually_within("offline", 15_000, || status_state() == "offline").await;
    assert!(by_testid("retry").is_some(), "retry button when offline");
    assert!(document()
        .query_selector("[data-testid=message][data-role=user][data-state=queued]")
        .ok()
        .flatten()
        .is_some());

    click("retry");
    eventually("trying again after retry", || status_state() != "offline").await;
    eventually_within("offline again", 15_000, || status_state() == "offline").await;
}
