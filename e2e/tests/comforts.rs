//! The everyday comforts (issue 18) on the full page: starter prompts,
//! timestamps, and the "new messages" button for a reader who scrolled
//! up. Run with `cargo xtask test`.

use e2e::browser::UI_TIMEOUT;
use e2e::scenario::{answered_once, finish, scene_with};
use e2e::wait_for;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn f1_starter_prompts_send_and_then_make_room() {
    let (n8n, relay, browser) = scene_with(
        &[
            "--suggestion",
            "What can you do?",
            "--suggestion",
            "Track my order",
        ],
        &[],
    )
    .await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let chips = wait_for("the starter prompts", UI_TIMEOUT, || async {
            let v = browser
                .eval("return Array.from(document.querySelectorAll('[data-testid=suggestion]')).map(b => b.innerText)")
                .await?;
            Ok((v.as_array().is_some_and(|a| a.len() == 2)).then_some(v))
        })
        .await?;
        if chips != serde_json::json!(["What can you do?", "Track my order"]) {
            return Err(format!("chips {chips}"));
        }
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, starter prompts: {violations:#?}"));
        }
        browser.click("[data-testid=suggestion]").await?;
        let id = wait_for("the sent prompt", UI_TIMEOUT, || async {
            Ok(browser.user_ids().await?.pop())
        })
        .await?;
        answered_once(&browser, &id, "echo: What can you do?").await?;
        let left = browser
            .eval("return document.querySelectorAll('[data-testid=suggestion]').length")
            .await?;
        if left != 0 {
            return Err("the prompts stay after the conversation started".into());
        }
        if n8n.inputs() != ["What can you do?"] {
            return Err(format!("n8n got {:?}", n8n.inputs()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "f1", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn f2_timestamps_and_the_new_messages_button() {
    let (_n8n, relay, browser) = scene_with(&["--session-concurrency", "2"], &[]).await;
    let result = async {
        browser.set_size(420, 520).await?;
        browser.open_online(&relay.page_url("")).await?;
        let first = browser.send("hello").await?;
        answered_once(&browser, &first, "echo: hello").await?;
        let stamp = browser
            .eval(&format!(
                "const t = document.querySelector(\"[data-testid=message][data-id='{first}'] [data-testid=time]\");\n\
                 return t && {{ text: t.innerText, title: t.title, iso: t.dateTime }};"
            ))
            .await?;
        if stamp["text"] != "just now"
            || stamp["title"].as_str().unwrap_or_default().len() < 10
            || !stamp["iso"].as_str().unwrap_or_default().ends_with('Z')
        {
            return Err(format!("timestamp {stamp}"));
        }
        browser.click("[data-testid=lang-switch]").await?;
        browser
            .wait_text(&format!("[data-testid=message][data-id='{first}'] [data-testid=time]"), "gerade eben")
            .await?;
        browser.click("[data-testid=lang-switch]").await?;
        // Fill the list so it scrolls.
        for i in 0..8 {
            let text = format!("line {i}: a message long enough to take two lines in a narrow window");
            let id = browser.send(&text).await?;
            answered_once(&browser, &id, &format!("echo: {text}")).await?;
        }
        // A slow answer; the reader scrolls up meanwhile.
        let slow = browser.send("slow:1200 take your time").await?;
        browser
            .eval("const ul = document.querySelector('[data-testid=messages]'); ul.scrollTop = 0; ul.dispatchEvent(new Event('scroll')); return true")
            .await?;
        browser.wait_message_state(&slow, "answered", UI_TIMEOUT).await?;
        browser.wait_text("[data-testid=jump-latest]", "New messages ↓").await?;
        let top = browser
            .eval("return document.querySelector('[data-testid=messages]').scrollTop")
            .await?;
        if top != 0 {
            return Err(format!("the list moved under the reader: scrollTop {top}"));
        }
        browser.click("[data-testid=jump-latest]").await?;
        let at_bottom = browser
            .eval("const ul = document.querySelector('[data-testid=messages]'); return ul.scrollHeight - ul.scrollTop - ul.clientHeight < 48")
            .await?;
        let button = browser
            .eval("return document.querySelectorAll('[data-testid=jump-latest]').length")
            .await?;
        if at_bottom != Value::Bool(true) || button != 0 {
            return Err(format!("after the jump: at bottom {at_bottom}, button {button}"));
        }
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, timestamps: {violations:#?}"));
        }
        // Times are kept with the conversation.
        browser.client.refresh().await.map_err(|e| e.to_string())?;
        browser.wait_state(&["online"]).await?;
        browser
            .wait_text(&format!("[data-testid=message][data-id='{first}'] [data-testid=time]"), "just now")
            .await?;
        Ok(())
    }
    .await;
    finish(&browser, "f2", result).await;
    browser.close().await;
}
