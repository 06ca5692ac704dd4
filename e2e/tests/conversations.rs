//! Several conversations per visitor (issue 24 part 2) on the full page:
//! a new conversation, switching back and forth with each transcript
//! right and each its own n8n session, rename, export, delete. Run with
//! `cargo xtask test` (or `/work/e2e-suite.sh conversations`).

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::scenario::{answered_once, finish, scene};
use e2e::wait_for;
use serde_json::Value;

/// The list as shown: (data-id, title, current), newest first.
async fn entries(browser: &Browser) -> e2e::Result<Vec<(String, String, bool)>> {
    let v = browser
        .eval(
            "return Array.from(document.querySelectorAll('[data-testid=conversations] [data-testid=conversation]')).map(e => ({\n\
               id: e.dataset.id, current: e.dataset.current === 'true',\n\
               title: (e.querySelector('[data-testid=conversation-switch]') || e).innerText.trim() }));",
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["id"].as_str().unwrap_or_default().to_owned(),
                        e["title"].as_str().unwrap_or_default().to_owned(),
                        e["current"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The texts shown in the conversation, in order.
async fn texts(browser: &Browser) -> e2e::Result<Vec<String>> {
    Ok(browser
        .messages()
        .await?
        .into_iter()
        .filter(|m| m.role == "user" || m.role == "bot")
        .map(|m| m.text.trim().to_owned())
        .collect())
}

/// Waits until the transcript reads `expected`.
async fn shows(browser: &Browser, expected: &[&str]) -> e2e::Result {
    wait_for(
        &format!("the transcript {expected:?}"),
        UI_TIMEOUT,
        || async {
            let now = texts(browser).await?;
            Ok((now == expected).then_some(()))
        },
    )
    .await
}

fn switch_to(id: &str) -> String {
    format!("[data-testid=conversation][data-id='{id}'] [data-testid=conversation-switch]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn c1_new_switch_rename_export_delete() {
    let (n8n, relay, browser) = scene().await;
    let result = async {
        // Wide: the list is a column beside the chat.
        browser.set_size(1200, 800).await?;
        browser.open_online(&relay.page_url("")).await?;
        let first_msg = browser.send("Where is my parcel?").await?;
        answered_once(&browser, &first_msg, "echo: Where is my parcel?").await?;
        let first = wait_for("the first entry titled", UI_TIMEOUT, || async {
            let e = entries(&browser).await?;
            Ok((e.len() == 1 && e[0].1 == "Where is my parcel?").then(|| e[0].0.clone()))
        })
        .await?;

        // A new conversation: empty, on a new session.
        browser.click("[data-testid=new-conversation]").await?;
        shows(&browser, &[]).await?;
        browser.wait_state(&["online"]).await?;
        let second_msg = browser.send("Opening hours?").await?;
        answered_once(&browser, &second_msg, "echo: Opening hours?").await?;
        let second = wait_for("two entries", UI_TIMEOUT, || async {
            let e = entries(&browser).await?;
            Ok((e.len() == 2 && e[0].1 == "Opening hours?" && e[0].2).then(|| e[0].0.clone()))
        })
        .await?;
        let sessions: Vec<String> = n8n
            .requests()
            .iter()
            .map(|r| r.body["sessionId"].as_str().unwrap_or_default().to_owned())
            .collect();
        if sessions.len() != 2 || sessions[0] == sessions[1] {
            return Err(format!("each conversation its own session: {sessions:?}"));
        }

        // Back and forth: each transcript right, nothing run again.
        browser.click(&switch_to(&first)).await?;
        shows(&browser, &["Where is my parcel?", "echo: Where is my parcel?"]).await?;
        browser.wait_state(&["online"]).await?;
        browser.click(&switch_to(&second)).await?;
        shows(&browser, &["Opening hours?", "echo: Opening hours?"]).await?;
        browser.wait_state(&["online"]).await?;
        browser.click(&switch_to(&first)).await?;
        shows(&browser, &["Where is my parcel?", "echo: Where is my parcel?"]).await?;
        browser.wait_state(&["online"]).await?;
        // The first conversation goes on on its own session.
        let again = browser.send("And now?").await?;
        answered_once(&browser, &again, "echo: And now?").await?;
        let last = n8n.requests().last().map(|r| r.body["sessionId"].clone());
        if last != Some(Value::from(sessions[0].clone())) {
            return Err(format!("the first conversation's session: {last:?}"));
        }
        if n8n.calls() != 3 {
            return Err(format!("n8n ran {} messages, expected 3", n8n.calls()));
        }

        // Rename, with the keyboard's Enter (a form submit).
        browser
            .click(&format!(
                "[data-testid=conversation][data-id='{first}'] [data-testid=rename-conversation]"
            ))
            .await?;
        browser
            .eval(
                "const i = document.querySelector('[data-testid=rename-input]');\n\
                 i.value = 'Parcel'; i.form.requestSubmit(); return true;",
            )
            .await?;
        wait_for("the new name", UI_TIMEOUT, || async {
            let e = entries(&browser).await?;
            Ok(e.iter().any(|(id, t, _)| id == &first && t == "Parcel").then_some(()))
        })
        .await?;

        // Export: the Markdown file of the shown conversation.
        browser
            .eval(
                "window.__exports = []; window.__blobs = [];\n\
                 const made = URL.createObjectURL;\n\
                 URL.createObjectURL = function (b) { window.__blobs.push(b); return made.call(URL, b); };\n\
                 HTMLAnchorElement.prototype.click = function () { window.__exports.push(this.download); };\n\
                 return true;",
            )
            .await?;
        browser.click("[data-testid=export]").await?;
        let file = browser
            .eval(
                "const name = window.__exports[0], blob = window.__blobs[0];\n\
                 return blob ? blob.text().then(text => ({ name, text, type: blob.type })) : null;",
            )
            .await?;
        let expected = "# Parcel\n\n**You:**\n\nWhere is my parcel?\n\n**Assistant:**\n\necho: Where is my parcel?\n\n**You:**\n\nAnd now?\n\n**Assistant:**\n\necho: And now?\n";
        if file["name"] != "Parcel.md" || file["text"] != expected || file["type"] != "text/markdown"
        {
            return Err(format!("exported {file}"));
        }

        // Delete the shown one: the other one is shown, the list has one.
        browser
            .click(&format!(
                "[data-testid=conversation][data-id='{first}'] [data-testid=delete-conversation]"
            ))
            .await?;
        shows(&browser, &["Opening hours?", "echo: Opening hours?"]).await?;
        let left = entries(&browser).await?;
        if left.len() != 1 || left[0].0 != second || !left[0].2 {
            return Err(format!("after the delete: {left:?}"));
        }
        // Gone from the browser too, and the relay confirmed forgetting it.
        wait_for("the relay's forgotten", UI_TIMEOUT, || async {
            let v = browser
                .eval(
                    "const l = JSON.parse(localStorage.getItem('n8nChat.conversations') || '{}');\n\
                     return { queued: (l.forget || []).length, ids: (l.list || []).map(c => c.id) };",
                )
                .await?;
            Ok((v["queued"] == 0 && v["ids"] == serde_json::json!([second.clone()])).then_some(()))
        })
        .await?;
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe: {violations:#?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "c1", result).await;
    browser.close().await;
}
