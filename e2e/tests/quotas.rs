//! What a public chat may cost (issue 25), on the full page: a message
//! past a quota is kept and the page says when it can go. Run with
//! `cargo xtask test`.

use e2e::browser::UI_TIMEOUT;
use e2e::scenario::{answered_once, finish, scene_with};
use e2e::wait_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn q1_a_message_past_the_quota_is_kept_and_the_page_says_when() {
    let (n8n, relay, browser) =
        scene_with(&["--quota-visitor", "1/day", "--language", "en"], &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let first = browser.send("first").await?;
        answered_once(&browser, &first, "echo: first").await?;
        let second = browser.send("second").await?;
        // The next UTC midnight in the browser's own time, as the page says it.
        let at = browser
            .eval(
                "const d = new Date(Math.floor(Date.now() / 86400000) * 86400000 + 86400000);\n\
                 return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');",
            )
            .await?;
        let at = at.as_str().unwrap_or_default().to_owned();
        let expected = format!("You have reached today's limit; you can send again at {at}.");
        let shown = wait_for("the quota sentence", UI_TIMEOUT, || async {
            let notes = browser.errors_for(&second).await?;
            Ok(notes.into_iter().find(|t| t.starts_with(&expected)))
        })
        .await?;
        if !shown.contains("Your message is kept") {
            return Err(format!("sentence {shown:?}"));
        }
        let testid = browser
            .eval("return document.querySelectorAll('[data-testid=quota-exceeded]').length")
            .await?;
        if testid != 1 {
            return Err(format!("{testid} quota lines"));
        }
        // Kept in the outbox, not failed: it waits to be sent again.
        let state = browser.message_state(&second).await?;
        if state != "queued" {
            return Err(format!("the refused message is {state}, not queued"));
        }
        // A reload sends the outbox again: refused again, still kept, one line.
        browser.open_online(&relay.page_url("")).await?;
        wait_for("the message after a reload", UI_TIMEOUT, || async {
            let notes = browser.errors_for(&second).await?;
            let state = browser.message_state(&second).await?;
            Ok((state == "queued" && notes.len() == 1 && notes[0].starts_with(&expected))
                .then_some(()))
        })
        .await?;
        if n8n.inputs() != ["first"] {
            return Err(format!("n8n got {:?}", n8n.inputs()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "q1", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn q2_the_page_solves_the_proof_of_work_and_sends() {
    // The suggested difficulty.
    let (n8n, relay, browser) = scene_with(&["--proof-of-work", "14"], &[]).await;
    let result = async {
        let started = std::time::Instant::now();
        browser.open_online(&relay.page_url("")).await?;
        // Typed at once: it waits for the proof, then goes.
        let id = browser.send("hello").await?;
        answered_once(&browser, &id, "echo: hello").await?;
        eprintln!(
            "q2: page open to answer with a 14-bit proof of work: {:?}",
            started.elapsed()
        );
        if n8n.inputs() != ["hello"] {
            return Err(format!("n8n got {:?}", n8n.inputs()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "q2", result).await;
    browser.close().await;
}
