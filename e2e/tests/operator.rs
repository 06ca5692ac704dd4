//! The operator's pause (issue 25) on the full page: a paused chat says so
//! in the page's language, keeps what the user types (nothing reaches
//! n8n), and sends it when the operator resumes. Run with `cargo xtask test`.

use e2e::browser::UI_TIMEOUT;
use e2e::process::free_port;
use e2e::scenario::{answered_once, finish, scene_with};
use e2e::wait_for;

const PAUSED_EN: &str =
    "The chat is paused for now. Your messages stay here and are sent as soon as it resumes.";

async fn switch(admin: &str, what: &str) -> Result<(), String> {
    let response = reqwest::Client::new()
        .post(format!("http://{admin}/{what}"))
        .send()
        .await
        .map_err(|e| format!("POST /{what}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("POST /{what}: {}", response.status()));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn o1_a_paused_chat_keeps_the_message_and_sends_it_after_the_resume() {
    let admin = format!("127.0.0.1:{}", free_port());
    let (n8n, relay, browser) = scene_with(&["--admin-listen", &admin], &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        switch(&admin, "pause").await?;
        browser
            .wait_text("[data-testid=paused-note]", PAUSED_EN)
            .await?;
        let id = browser.send("held while paused").await?;
        // Kept in the outbox, not failed, and n8n saw nothing.
        let state = browser.message_state(&id).await?;
        if state != "queued" {
            return Err(format!("the paused message is {state}, expected queued"));
        }
        browser
            .wait_text("[data-testid=queued]", "waiting – chat paused")
            .await?;
        if !n8n.inputs().is_empty() {
            return Err(format!("n8n got {:?} while paused", n8n.inputs()));
        }
        switch(&admin, "resume").await?;
        answered_once(&browser, &id, "echo: held while paused").await?;
        wait_for("the paused note to go", UI_TIMEOUT, || async {
            Ok(browser
                .text("[data-testid=paused-note]")
                .await?
                .is_empty()
                .then_some(()))
        })
        .await?;
        if n8n.inputs() != ["held while paused"] {
            return Err(format!("n8n got {:?}", n8n.inputs()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "o1", result).await;
    browser.close().await;
}
