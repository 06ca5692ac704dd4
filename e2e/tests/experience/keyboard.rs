//! The whole chat by keyboard alone: send, stop, rate, attach, approve,
//! where focus goes, and switching conversations.

use std::time::Duration;

use crate::count;
use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::scenario::finish;
use e2e::{wait_for, Result};
use serde_json::Value;
use testkit::n8n::Mode;

// ---- Languages, right-to-left and accessibility (issue 26) ----

/// Presses keys (WebDriver key actions: the focused element gets them, as
/// from a keyboard; no pointer is involved).
async fn keys(browser: &Browser, text: &str) -> Result {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for c in text.chars() {
        actions = actions
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c });
    }
    browser
        .client
        .perform_actions(actions)
        .await
        .map_err(|e| e.to_string())
}

const TAB: &str = "\u{E004}";

const ENTER: &str = "\u{E007}";

const SPACE: &str = "\u{E00D}";

/// Tabs (at most 80 times) until the focused element matches `css`.
async fn tab_to(browser: &Browser, css: &str) -> Result {
    for _ in 0..80 {
        let here = browser
            .eval_with(
                "const a = document.activeElement; return !!(a && a.matches(arguments[0]))",
                vec![Value::String(css.into())],
            )
            .await?;
        if here == Value::Bool(true) {
            // Focus is visible where it lands (an outline, not just colour).
            let outline = browser
                .eval("const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 || getComputedStyle(document.activeElement.parentElement).outlineStyle !== 'none'")
                .await?;
            if outline != Value::Bool(true) {
                return Err(format!("no visible focus on {css}"));
            }
            return Ok(());
        }
        keys(browser, TAB).await?;
    }
    Err(format!("Tab never reached {css}"))
}

/// Opens the conversation list with the keyboard when it is a drawer
/// (its toggle shown and the list closed); a side column needs nothing.
async fn open_list_by_keyboard(browser: &Browser) -> Result {
    let closed_drawer = browser
        .eval("const t = document.querySelector('[data-testid=conversations-toggle]'); return !!(t && t.offsetParent !== null && t.getAttribute('aria-expanded') !== 'true')")
        .await?;
    if closed_drawer == Value::Bool(true) {
        tab_to(browser, "[data-testid=conversations-toggle]").await?;
        keys(browser, ENTER).await?;
    }
    Ok(())
}

/// Counts every pointer or mouse event from now on (`window.__pointer`).
async fn watch_pointer(browser: &Browser) -> Result {
    browser
        .eval("window.__pointer = 0; for (const t of ['pointerdown','mousedown','mouseup','pointerup']) window.addEventListener(t, () => window.__pointer++, true); return true")
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x23_keyboard_only_send_stop_rate_attach_approve_focus_and_switch_conversation() {
    use e2e::relay::Relay;
    use testkit::n8n::{Pace, StandIn, Step};
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_secs(5),
    });
    let relay = Relay::start(
        Some(&n8n.url("/webhook/chat")),
        &[
            "--feedback-url",
            &n8n.url("/webhook/feedback"),
            "--allow-file-uploads",
            "--respond-to-chat",
            "--run-settle",
            "50ms",
        ],
    )
    .await
    .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        watch_pointer(&browser).await?;
        // Send: Tab to the input, type, Enter.
        tab_to(&browser, "[data-testid=message-input]").await?;
        let before = browser.user_ids().await?;
        keys(&browser, "a long story").await?;
        keys(&browser, ENTER).await?;
        let id = wait_for("the sent message", UI_TIMEOUT, || async {
            Ok(browser.user_ids().await?.into_iter().find(|i| !before.contains(i)))
        })
        .await?;
        // Stop: reachable by Tab, pressed with Enter.
        tab_to(&browser, "[data-testid=stop]").await?;
        keys(&browser, ENTER).await?;
        browser.wait_message_state(&id, "stopped", UI_TIMEOUT).await?;
        // Rate an answer with Space.
        n8n.set_mode(Mode::Echo);
        tab_to(&browser, "[data-testid=message-input]").await?;
        keys(&browser, "rate me").await?;
        keys(&browser, ENTER).await?;
        wait_for("the answer's rating", UI_TIMEOUT, || async {
            Ok((count(&browser, "[data-testid=rate-up]").await? > 0).then_some(()))
        })
        .await?;
        tab_to(&browser, "[data-testid=rate-up]").await?;
        keys(&browser, SPACE).await?;
        wait_for("the rating pressed", UI_TIMEOUT, || async {
            let n = count(&browser, "[data-testid=rate-up][aria-pressed=true]").await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        // Attach: the file input takes focus and Space opens the picker
        // (caught here: a headless browser cannot show one).
        browser
            .eval("window.__picked = 0; document.querySelector('[data-testid=attach]').addEventListener('click', e => { window.__picked++; e.preventDefault(); }); return true")
            .await?;
        tab_to(&browser, "[data-testid=attach]").await?;
        keys(&browser, SPACE).await?;
        let picked = browser.eval("return window.__picked").await?;
        if picked != 1 {
            return Err(format!("the picker opened {picked} times"));
        }
        // Approve: a run asks with buttons; Tab to one and press Enter.
        n8n.set_mode(Mode::RespondToChat(vec![
            Step::Approve {
                text: "Deploy now?".into(),
                buttons: vec!["Yes".into(), "No".into()],
                block: true,
            },
            Step::Send("Deployed.".into()),
        ]));
        n8n.set_pace(Pace {
            poll: Duration::from_millis(200),
            heartbeat: Duration::from_millis(500),
            cancel_after: Duration::from_secs(5),
        });
        tab_to(&browser, "[data-testid=message-input]").await?;
        keys(&browser, "deploy").await?;
        keys(&browser, ENTER).await?;
        wait_for("the approval buttons", UI_TIMEOUT, || async {
            let n = count(&browser, "[data-testid=choice]:not([disabled])").await?;
            Ok((n == 2).then_some(()))
        })
        .await?;
        tab_to(&browser, "[data-testid=choice]:not([disabled])").await?;
        keys(&browser, ENTER).await?;
        wait_for("the run's answer", UI_TIMEOUT, || async {
            let text = browser.text("[data-testid=messages]").await?;
            Ok(text.contains("Deployed.").then_some(()))
        })
        .await?;
        // The option to move focus to each new answer, switched on by keyboard.
        n8n.set_mode(Mode::Echo);
        tab_to(&browser, "[data-testid=focus-answers]").await?;
        keys(&browser, SPACE).await?;
        tab_to(&browser, "[data-testid=message-input]").await?;
        keys(&browser, "where am I").await?;
        keys(&browser, ENTER).await?;
        wait_for("focus on the new answer", UI_TIMEOUT, || async {
            let focused = browser
                .eval("const a = document.activeElement; return a && a.matches('[data-testid=message][data-role=bot]') ? a.innerText : null")
                .await?;
            Ok(focused
                .as_str()
                .filter(|t| t.contains("echo: where am I"))
                .map(|_| ()))
        })
        .await?;
        // Switch conversation: a new one, then back, by keyboard alone (in
        // a narrow window the list is a drawer its toggle opens first).
        let first = browser
            .eval("const e = document.querySelector('[data-testid=conversation]'); return e && e.dataset.id")
            .await?;
        let first = first
            .as_str()
            .ok_or("no conversation entry to come back to")?
            .to_owned();
        open_list_by_keyboard(&browser).await?;
        tab_to(&browser, "[data-testid=new-conversation]").await?;
        keys(&browser, ENTER).await?;
        wait_for("the new, empty conversation", UI_TIMEOUT, || async {
            Ok((count(&browser, "[data-testid=message]").await? == 0).then_some(()))
        })
        .await?;
        open_list_by_keyboard(&browser).await?;
        tab_to(
            &browser,
            &format!("[data-testid=conversation][data-id='{first}'] [data-testid=conversation-switch]"),
        )
        .await?;
        keys(&browser, ENTER).await?;
        wait_for("the first conversation again", UI_TIMEOUT, || async {
            let text = browser.text("[data-testid=messages]").await?;
            Ok(text.contains("echo: where am I").then_some(()))
        })
        .await?;
        let pointer = browser.eval("return window.__pointer").await?;
        if pointer != 0 {
            return Err(format!("{pointer} pointer events in a keyboard-only session"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "x23", result).await;
    browser.close().await;
}
