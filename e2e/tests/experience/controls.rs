//! The conversation controls (copy, clear the history, new chat) and a
//! long conversation (a thousand messages) that still scrolls smoothly.

use std::time::Duration;

use crate::count;
use e2e::browser::UI_TIMEOUT;
use e2e::scenario::{answered_once, finish, scene};
use e2e::wait_for;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x8_copy_clear_history_and_new_chat() {
    let (n8n, relay, browser) = scene().await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let a = browser.send("first").await?;
        answered_once(&browser, &a, "echo: first").await?;
        let copy = format!("[data-role=bot][data-id='{a}'] [data-testid=copy-message]");
        browser.click(&copy).await?;
        browser.wait_text(&copy, "Copied").await?;

        let session = browser.eval("return window.chatInstance.sessionId").await?;
        browser.click("[data-testid=clear-history]").await?;
        wait_for("an empty list", UI_TIMEOUT, || async {
            Ok((browser.messages().await?.is_empty()).then_some(()))
        })
        .await?;
        let b = browser.send("second").await?;
        answered_once(&browser, &b, "echo: second").await?;
        let after_clear = browser.eval("return window.chatInstance.sessionId").await?;
        if after_clear != session {
            return Err("clearing the history must keep the session".into());
        }

        browser.click("[data-testid=new-chat]").await?;
        wait_for("a new session", UI_TIMEOUT, || async {
            let now = browser.eval("return window.chatInstance.sessionId").await?;
            Ok(
                (now != session && now.is_string() && browser.status().await? == "online")
                    .then_some(()),
            )
        })
        .await?;
        if !browser.messages().await?.is_empty() {
            return Err("a new chat starts empty".into());
        }
        let c = browser.send("third").await?;
        answered_once(&browser, &c, "echo: third").await?;
        let sessions: Vec<Value> = n8n
            .requests()
            .iter()
            .map(|r| r.body["sessionId"].clone())
            .collect();
        if sessions[0] != sessions[1] || sessions[1] == sessions[2] {
            return Err(format!("sessions sent to n8n: {sessions:?}"));
        }
        // The new session survives a reload.
        let new_session = browser.eval("return window.chatInstance.sessionId").await?;
        browser.open_online(&relay.page_url("")).await?;
        let reloaded = browser.eval("return window.chatInstance.sessionId").await?;
        if reloaded != new_session {
            return Err(format!("after reload {reloaded}, expected {new_session}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "x8", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x9_a_thousand_messages_render_and_scroll_smoothly() {
    let (_n8n, relay, browser) = scene().await;
    let mut lines = Vec::new();
    for i in 0..500 {
        lines.push(json!({"id": format!("m{i}"), "role": "user", "text": format!("Question number {i}"), "delivery": "answered"}));
        lines.push(json!({"id": format!("m{i}"), "role": "bot", "text": format!("Answer **{i}** with a list:\n\n- a\n- b\n\n`code {i}`")}));
    }
    let stored = json!({ "lines": lines }).to_string();
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        browser
            .eval_with(
                "localStorage.setItem('n8nChat.conversation', arguments[0]); return true;",
                vec![Value::String(stored)],
            )
            .await?;
        let started = std::time::Instant::now();
        browser.open(&relay.page_url("")).await?;
        wait_for("1 000 messages", Duration::from_secs(20), || async {
            Ok((count(&browser, "[data-testid=message]").await? == 1000).then_some(()))
        })
        .await?;
        let render = started.elapsed();
        // Scroll from the bottom to the top in 40 steps, one per frame;
        // the longest frame says whether it janks.
        let frames = browser
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   const list = document.querySelector('[data-testid=messages]');
                   const step = list.scrollHeight / 40; const times = []; let last = performance.now(); let i = 0;
                   function frame(now) { times.push(now - last); last = now; list.scrollTop = list.scrollHeight - step * i;
                     if (++i <= 40) requestAnimationFrame(frame); else done(times.slice(1)); }
                   requestAnimationFrame(frame);"#,
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut frames: Vec<f64> = frames.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
        frames.sort_by(f64::total_cmp);
        let worst = frames.last().copied().unwrap_or(f64::MAX);
        let median = frames.get(frames.len() / 2).copied().unwrap_or(f64::MAX);
        eprintln!("1 000 messages: rendered in {render:?}; scroll frames median {median:.1} ms, worst {worst:.1} ms");
        if render > Duration::from_secs(5) {
            return Err(format!("rendering 1 000 messages took {render:?}"));
        }
        if median > 50.0 || worst > 250.0 {
            return Err(format!("scrolling janks: median frame {median:.1} ms, worst {worst:.1} ms"));
        }
        // Still a live chat: a new message goes out and is answered.
        let id = browser.send("one more").await?;
        answered_once(&browser, &id, "echo: one more").await
    }
    .await;
    finish(&browser, "x9", result).await;
    browser.close().await;
}
