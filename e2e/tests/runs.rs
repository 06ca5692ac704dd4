//! "Respond to Chat" in the browser (issue 15): a conversation of one n8n
//! execution — a question, the reply, an approval button, the final answer
//! — with a page reload in the middle, against the stand-in n8n's `/chat`
//! socket. Run with `cargo xtask test`.

use std::time::Duration;

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::relay::Relay;
use e2e::scenario::finish;
use e2e::{wait_for, Result};
use serde_json::Value;
use testkit::n8n::{Mode, Outcome, Pace, StandIn, Step};

/// Waits until a bot message reads `text`; returns how many bot messages
/// read it.
async fn bot_says(browser: &Browser, text: &str) -> Result<usize> {
    wait_for(&format!("the bot saying {text:?}"), UI_TIMEOUT, || async {
        let n = browser
            .messages()
            .await?
            .iter()
            .filter(|m| m.role == "bot" && m.text.trim() == text)
            .count();
        Ok((n > 0).then_some(n))
    })
    .await
}

async fn waiting(browser: &Browser) -> Result<String> {
    let v = browser
        .eval("return document.querySelector('[data-testid=messages]').dataset.waiting")
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

async fn wait_waiting(browser: &Browser, expected: &str) -> Result {
    wait_for(&format!("data-waiting={expected}"), UI_TIMEOUT, || async {
        Ok((waiting(browser).await? == expected).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn r1_question_reply_approval_and_answer_across_a_reload() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::RespondToChat(vec![
        Step::Ask("What is your name?".into()),
        Step::Approve {
            text: "Shall I deploy for {reply}?".into(),
            buttons: vec!["Yes, deploy".into(), "No".into()],
            block: true,
        },
        Step::Send("Final answer: {reply}".into()),
    ]));
    n8n.set_pace(Pace {
        poll: Duration::from_millis(200),
        heartbeat: Duration::from_millis(500),
        cancel_after: Duration::from_secs(5),
    });
    let relay = Relay::start(
        Some(&n8n.url("/webhook/f2/chat")),
        &["--run-settle", "50ms", "--respond-to-chat"],
    )
    .await
    .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let first = browser.send("start the deploy").await?;
        bot_says(&browser, "What is your name?").await?;
        wait_waiting(&browser, "true").await?;
        browser
            .wait_text("[data-testid=run-waiting]", "The workflow is waiting for your reply.")
            .await?;
        // A reload in the middle: the question and the waiting state stay.
        browser.client.refresh().await.map_err(|e| e.to_string())?;
        browser.wait_state(&["online"]).await?;
        if bot_says(&browser, "What is your name?").await? != 1 {
            return Err("the question is shown twice after the reload".into());
        }
        wait_waiting(&browser, "true").await?;
        let reply = browser.send("Ada").await?;
        bot_says(&browser, "Shall I deploy for Ada?").await?;
        browser.wait_message_state(&reply, "answered", UI_TIMEOUT).await?;
        // Typing is blocked until a button is used (once the run waits).
        wait_for("the input blocked while the buttons wait", UI_TIMEOUT, || async {
            let disabled = browser
                .eval("return document.querySelector('[data-testid=message-input]').disabled")
                .await?;
            Ok((disabled == Value::Bool(true)).then_some(()))
        })
        .await?;
        let labels = browser
            .eval("return Array.from(document.querySelectorAll('[data-testid=choice]')).map(b => b.innerText)")
            .await?;
        if labels != serde_json::json!(["Yes, deploy", "No"]) {
            return Err(format!("buttons: {labels}"));
        }
        browser.screenshot("docs-run-approval").await?;
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, a run asking for a button: {violations:#?}"));
        }
        browser.click("[data-testid=choice]").await?; // "Yes, deploy"
        bot_says(&browser, "Final answer: approved").await?;
        browser.wait_message_state(&first, "answered", UI_TIMEOUT).await?;
        wait_waiting(&browser, "false").await?;
        let page = browser.eval("return document.documentElement.outerHTML").await?;
        if page.as_str().unwrap_or_default().contains("webhook-waiting") {
            return Err("an approval link reached the page".into());
        }
        let id = n8n.executions().ids().pop().ok_or("no execution")?;
        if n8n.executions().approvals(&id) != [true] {
            return Err(format!("approvals {:?}", n8n.executions().approvals(&id)));
        }
        if n8n.executions().outcome(&id) != Some(Outcome::Success) {
            return Err(format!("outcome {:?}", n8n.executions().outcome(&id)));
        }
        if n8n.calls() != 1 {
            return Err(format!("{} executions started, expected one", n8n.calls()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "r1", result).await;
    browser.close().await;
}
