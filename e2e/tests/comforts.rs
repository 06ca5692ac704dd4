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
        for theme in ["light", "dark"] {
            browser.click("[data-testid=theme-switch]").await?;
            let now = browser.eval("return document.documentElement.dataset.theme").await?;
            if now != theme {
                return Err(format!("theme {now}, expected {theme}"));
            }
            let violations = browser.axe_violations().await?;
            if !violations.is_empty() {
                return Err(format!("axe, starter prompts ({theme}): {violations:#?}"));
            }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn f3_stop_keeps_what_came_and_ratings_reach_the_feedback_webhook() {
    let n8n = e2e::scenario::n8n().await;
    n8n.set_mode(testkit::n8n::Mode::Stream {
        gap: std::time::Duration::from_secs(5),
    });
    let relay = e2e::relay::Relay::start(
        Some(&n8n.url("/webhook/chat")),
        &["--feedback-url", &n8n.url("/webhook/feedback")],
    )
    .await
    .expect("relay");
    let browser = e2e::browser::Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let id = browser.send("a long story").await?;
        // The first piece is shown; then the user stops it.
        wait_for("the first piece", UI_TIMEOUT, || async {
            Ok(browser
                .answers_for(&id)
                .await?
                .first()
                .filter(|t| t.starts_with("echo:"))
                .cloned())
        })
        .await?;
        browser.click("[data-testid=stop]").await?;
        browser.wait_message_state(&id, "stopped", UI_TIMEOUT).await?;
        let kept = browser.answers_for(&id).await?;
        if kept.len() != 1 || !kept[0].starts_with("echo:") {
            return Err(format!("what arrived before Stop: {kept:?}"));
        }
        browser
            .wait_text(&format!("[data-testid=message][data-role=error][data-id='{id}'] .stopped span"), "Stopped.")
            .await?;
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, a stopped answer: {violations:#?}"));
        }
        // Run it again on purpose, now answered at once.
        n8n.set_mode(testkit::n8n::Mode::Echo);
        browser.click("[data-testid=retry-message]").await?;
        answered_once(&browser, &id, "echo: a long story").await?;
        if n8n.calls() != 2 {
            return Err(format!("n8n ran {} times", n8n.calls()));
        }
        // 👍, then changed to 👎: both reach the feedback webhook.
        let rating = |kind: &str| format!("[data-testid=message][data-role=bot][data-id='{id}'] [data-testid=rate-{kind}]");
        browser.click(&rating("up")).await?;
        browser.click(&rating("down")).await?;
        let ratings = wait_for("two ratings at the feedback webhook", UI_TIMEOUT, || async {
            let r: Vec<Value> = n8n
                .requests()
                .into_iter()
                .filter(|r| r.path == "/webhook/feedback")
                .map(|r| r.body)
                .collect();
            Ok((r.len() == 2).then_some(r))
        })
        .await?;
        if ratings[0]["rating"] != "up" || ratings[1]["rating"] != "down" || ratings[1]["answer"] != "echo: a long story" {
            return Err(format!("ratings {ratings:?}"));
        }
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, rating buttons: {violations:#?}"));
        }
        // And in dark mode (auto → light → dark).
        browser.click("[data-testid=theme-switch]").await?;
        browser.click("[data-testid=theme-switch]").await?;
        let theme = browser.eval("return document.documentElement.dataset.theme").await?;
        if theme != "dark" {
            return Err(format!("theme {theme}"));
        }
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, rating buttons and a stopped note in dark mode: {violations:#?}"));
        }
        browser.client.refresh().await.map_err(|e| e.to_string())?;
        browser.wait_state(&["online"]).await?;
        let pressed = wait_for("the rating after a reload", UI_TIMEOUT, || async {
            Ok(browser
                .eval(&format!("const b = document.querySelector(\"{}\"); return b && b.getAttribute('aria-pressed')", rating("down")))
                .await?
                .as_str()
                .map(str::to_owned))
        })
        .await?;
        if pressed != "true" {
            return Err(format!("the rating was not kept: {pressed}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "f3", result).await;
    browser.close().await;
}
