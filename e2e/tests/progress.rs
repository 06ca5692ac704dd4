//! Live progress and regenerate (issue 27) on the full page: a streamed
//! answer with two nodes shows its current step while it streams and its
//! steps folded after; Regenerate asks n8n again (`regenerate: true`) and
//! keeps both answers ("1/2 ‹ ›"). Run with `cargo xtask test`.

use e2e::browser::UI_TIMEOUT;
use e2e::scenario::{answered_once, finish, scene_with};
use e2e::wait_for;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn g1_a_streamed_answer_shows_its_steps_then_folds_them() {
    let (n8n, relay, browser) = scene_with(
        &[
            "--progress-label",
            "Stream part 1=Searching the knowledge base",
        ],
        &[],
    )
    .await;
    // Two streaming nodes, the second 2.5 s after the first.
    n8n.set_mode(testkit::n8n::Mode::Stream {
        gap: std::time::Duration::from_millis(2500),
    });
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let id = browser.send("where is my order").await?;
        let step = format!("[data-testid=message][data-id='{id}'] [data-testid=progress]");
        // While the first node's piece is shown and the second has not come.
        browser.wait_text(&step, "Searching the knowledge base").await?;
        let so_far = browser.answers_for(&id).await?;
        if so_far != ["echo: "] && so_far != ["echo:"] {
            return Err(format!("while streaming: {so_far:?}"));
        }
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, the current step: {violations:#?}"));
        }
        answered_once(&browser, &id, "echo: where is my order").await?;
        let gone = browser.eval(&format!("return document.querySelectorAll(\"{step}\").length")).await?;
        if gone != 0 {
            return Err("the current step stays after the answer".into());
        }
        let steps = format!("[data-testid=message][data-role=bot][data-id='{id}'] [data-testid=steps]");
        let summary = wait_for("the folded steps", UI_TIMEOUT, || async {
            let v = browser
                .eval(&format!("const s = document.querySelector(\"{steps} summary\"); return s && s.innerText"))
                .await?;
            Ok(v.as_str().map(str::to_owned))
        })
        .await?;
        if !summary.starts_with("2 steps · ") || !summary.ends_with(" s") {
            return Err(format!("summary {summary:?}"));
        }
        browser.click(&format!("{steps} summary")).await?;
        let items = browser
            .eval(&format!(
                "const d = document.querySelector(\"{steps}\"); return {{ open: d.open, items: Array.from(d.querySelectorAll('li')).map(l => l.innerText) }}"
            ))
            .await?;
        if items != serde_json::json!({"open": true, "items": ["Searching the knowledge base", "Working…"]}) {
            return Err(format!("the steps {items}"));
        }
        let page = browser.eval("return document.body.innerText").await?;
        if page.as_str().unwrap_or_default().contains("Stream part") {
            return Err("a node name reached the page".into());
        }
        browser.click("[data-testid=lang-switch]").await?;
        browser.wait_text(&format!("{steps} li:last-child"), "Arbeitet …").await?;
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, the folded steps: {violations:#?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "g1", result).await;
    browser.close().await;
}

/// The `data-id` of the bot answer shown (not folded).
async fn shown_answer(browser: &e2e::browser::Browser) -> e2e::Result<Value> {
    browser
        .eval("return Array.from(document.querySelectorAll('[data-testid=message][data-role=bot]')).filter(e => !e.hidden).map(e => e.dataset.id)")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn g2_regenerate_asks_again_and_keeps_both_answers() {
    let (n8n, relay, browser) = scene_with(&[], &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let first = browser.send("tell me a joke").await?;
        answered_once(&browser, &first, "echo: tell me a joke").await?;
        browser.click("[data-testid=regenerate]").await?;
        let second = wait_for("the regenerated message", UI_TIMEOUT, || async {
            let ids = browser.user_ids().await?;
            Ok((ids.len() == 2).then(|| ids[1].clone()))
        })
        .await?;
        answered_once(&browser, &second, "echo: tell me a joke").await?;
        let bodies: Vec<Value> = n8n.requests().into_iter().map(|r| r.body).collect();
        if bodies.len() != 2
            || bodies[0].get("regenerate").is_some()
            || bodies[1]["regenerate"] != Value::Bool(true)
            || bodies[1]["chatInput"] != "tell me a joke"
        {
            return Err(format!("n8n got {bodies:?}"));
        }
        if shown_answer(&browser).await? != serde_json::json!([second]) {
            return Err(format!("shown {}", shown_answer(&browser).await?));
        }
        let visible_users = browser
            .eval("return Array.from(document.querySelectorAll('[data-testid=message][data-role=user]')).filter(e => !e.hidden).length")
            .await?;
        if visible_users != 1 {
            return Err(format!("the text shows {visible_users} times"));
        }
        let position = format!("[data-testid=message][data-id='{second}'] [data-testid=answer-position]");
        browser.wait_text(&position, "2/2").await?;
        browser.click(&format!("[data-testid=message][data-id='{second}'] [data-testid=answer-prev]")).await?;
        wait_for("the first answer shown", UI_TIMEOUT, || async {
            Ok((shown_answer(&browser).await? == serde_json::json!([first])).then_some(()))
        })
        .await?;
        browser
            .wait_text(&format!("[data-testid=message][data-id='{first}'] [data-testid=answer-position]"), "1/2")
            .await?;
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, the answer switch: {violations:#?}"));
        }
        // Kept over a reload; n8n ran each id once.
        browser.client.refresh().await.map_err(|e| e.to_string())?;
        browser.wait_state(&["online"]).await?;
        wait_for("the first answer shown after a reload", UI_TIMEOUT, || async {
            Ok((shown_answer(&browser).await? == serde_json::json!([first])).then_some(()))
        })
        .await?;
        if n8n.calls() != 2 {
            return Err(format!("n8n ran {} times", n8n.calls()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "g2", result).await;
    browser.close().await;
}
