//! The product as a person uses it: the built page in headless Chromium,
//! the real relay binary, a stand-in n8n that reproduces n8n's bytes. The
//! connection, the outbox and the reconnect (s1, s4, s7) also run in
//! Firefox and WebKitGTK.
//! Run with `cargo xtask test` (they are ignored in a plain `cargo test`).

use std::time::Duration;

use e2e::browser::{Browser, Engine, UI_TIMEOUT};
use e2e::relay::Relay;
use e2e::scenario::{answered_once, finish, n8n, scene, scene_in, scene_with};
use e2e::wait_for;
use testkit::n8n::Mode;

/// Short reconnect settings for scenarios that exhaust the backoff.
const FAST_BACKOFF: &str = "backoffMs=100&backoffMaxMs=200";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s1_page_loads_online_and_answers() {
    page_loads_online_and_answers(Engine::Chromium, "s1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Firefox: run `cargo xtask test`"]
async fn s1_firefox_page_loads_online_and_answers() {
    page_loads_online_and_answers(Engine::Firefox, "s1-firefox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and WebKitGTK: run `cargo xtask test`"]
async fn s1_webkit_page_loads_online_and_answers() {
    page_loads_online_and_answers(Engine::WebKit, "s1-webkit").await;
}

/// Connects, answers two messages once each, sends n8n the metadata.
async fn page_loads_online_and_answers(engine: Engine, name: &str) {
    if engine.skipped() {
        return;
    }
    let (n8n, relay, browser) = scene_in(engine, &[]).await;
    let result = async {
        let started = std::time::Instant::now();
        browser.open_online(&relay.page_url("")).await?;
        eprintln!("online after {:?}", started.elapsed());
        let id = browser.send("Hallo n8n").await?;
        answered_once(&browser, &id, "echo: Hallo n8n").await?;
        let user = browser
            .messages()
            .await?
            .into_iter()
            .find(|m| m.role == "user")
            .ok_or("no user message")?;
        if user.text != "Hallo n8n" {
            return Err(format!("user bubble shows {:?}", user.text));
        }
        let second = browser.send("Zweite Nachricht").await?;
        answered_once(&browser, &second, "echo: Zweite Nachricht").await?;
        if n8n.calls() != 2 {
            return Err(format!("n8n called {} times", n8n.calls()));
        }
        let metadata = &n8n.requests()[0].body["metadata"];
        if !metadata["language"].is_string() || !metadata["pageUrl"].is_string() {
            return Err(format!("metadata sent to n8n: {metadata}"));
        }
        // A picture of the plain flow (the README's pictures come from experience.rs).
        if engine == Engine::Chromium {
            browser.screenshot("chat-online").await?;
        }
        let connected = browser
            .eval("return window.chatInstance.isConnected")
            .await?;
        if connected != serde_json::Value::Bool(true) {
            return Err(format!("chatInstance.isConnected = {connected}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, name, result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s2_webhook_failure_shows_an_error_and_retry_recovers() {
    let (n8n, relay, browser) = scene().await;
    n8n.set_mode(Mode::Error500);
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let id = browser.send("will fail").await?;
        browser.wait_message_state(&id, "failed", UI_TIMEOUT).await?;
        let errors = browser.errors_for(&id).await?;
        if errors.len() != 1 || !errors[0].contains("Error in workflow") {
            return Err(format!("error lines: {errors:?}"));
        }
        n8n.set_mode(Mode::Echo);
        browser.click(&format!("[data-testid=message][data-role=error][data-id='{id}'] [data-testid=retry-message]")).await?;
        answered_once(&browser, &id, "echo: will fail").await?;
        if !browser.errors_for(&id).await?.is_empty() {
            return Err("the error line is still shown after a successful retry".into());
        }
        Ok(())
    }
    .await;
    finish(&browser, "s2", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s3_a_slow_webhook_shows_waiting_and_does_not_block_others() {
    // Answers may overtake each other when a session may run several
    // executions at once (the default is one at a time, in order).
    let (_n8n, relay, browser) = scene_with(&["--session-concurrency", "4"], &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let slow = browser.send("slow:3000 think hard").await?;
        browser.wait_message_state(&slow, "sent", UI_TIMEOUT).await?;
        let waiting = browser
            .eval(&format!(
                "return !!document.querySelector(\"[data-testid=message][data-role=user][data-id='{slow}'] [data-testid=waiting]\")"
            ))
            .await?;
        if waiting != serde_json::Value::Bool(true) {
            return Err("no waiting indicator under the slow message".into());
        }
        let fast = browser.send("quick one").await?;
        answered_once(&browser, &fast, "echo: quick one").await?;
        if browser.message_state(&slow).await? != "sent" {
            return Err("the slow message should still be waiting".into());
        }
        browser.wait_message_state(&slow, "answered", Duration::from_secs(15)).await?;
        answered_once(&browser, &slow, "echo: slow:3000 think hard").await
    }
    .await;
    finish(&browser, "s3", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s4_relay_killed_message_queued_then_delivered_once_after_restart() {
    queued_while_down_then_delivered_once(Engine::Chromium, "s4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Firefox: run `cargo xtask test`"]
async fn s4_firefox_relay_killed_message_queued_then_delivered_once() {
    queued_while_down_then_delivered_once(Engine::Firefox, "s4-firefox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and WebKitGTK: run `cargo xtask test`"]
async fn s4_webkit_relay_killed_message_queued_then_delivered_once() {
    queued_while_down_then_delivered_once(Engine::WebKit, "s4-webkit").await;
}

/// The relay is killed: a message typed meanwhile waits in the outbox and
/// is answered once after the restart (the reconnect's backoff).
async fn queued_while_down_then_delivered_once(engine: Engine, name: &str) {
    if engine.skipped() {
        return;
    }
    let (n8n, mut relay, browser) = scene_in(engine, &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        relay.kill();
        browser
            .wait_state_for(&["reconnecting"], Duration::from_secs(3))
            .await?;
        let id = browser.send("typed while down").await?;
        if browser.message_state(&id).await? != "queued" {
            return Err("a message typed while down must be queued".into());
        }
        relay.restart().await?;
        browser
            .wait_state_for(&["online"], Duration::from_secs(15))
            .await?;
        answered_once(&browser, &id, "echo: typed while down").await?;
        if n8n.inputs() != ["typed while down"] {
            return Err(format!("n8n got {:?}", n8n.inputs()));
        }
        Ok(())
    }
    .await;
    finish(&browser, name, result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s5_relay_killed_with_an_answer_in_flight_ends_in_one_outcome() {
    let (n8n, mut relay, browser) = scene().await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let id = browser.send("slow:1500 in flight").await?;
        if !n8n.wait_for_calls(1).await {
            return Err("n8n never got the message".into());
        }
        relay.kill();
        browser
            .wait_state_for(&["reconnecting"], Duration::from_secs(3))
            .await?;
        relay.restart().await?;
        browser
            .wait_state_for(&["online"], Duration::from_secs(15))
            .await?;
        let outcome = wait_for("one outcome", Duration::from_secs(15), || async {
            let state = browser.message_state(&id).await?;
            Ok(matches!(state.as_str(), "answered" | "failed").then_some(state))
        })
        .await?;
        // A second outcome for `id` would arrive before the answer to a
        // message sent after it: the page sends in order on one socket,
        // and the relay takes a session's messages one at a time, in
        // order (--session-concurrency 1), answering on that socket.
        let after = browser.send("sent after").await?;
        answered_once(&browser, &after, "echo: sent after").await?;
        let answers = browser.answers_for(&id).await?;
        let errors = browser.errors_for(&id).await?;
        match outcome.as_str() {
            "answered" if answers == ["echo: slow:1500 in flight"] && errors.is_empty() => Ok(()),
            "failed" if answers.is_empty() && errors.len() == 1 => Ok(()),
            _ => Err(format!("{outcome}: answers {answers:?}, errors {errors:?}")),
        }
    }
    .await;
    finish(&browser, "s5", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s6_relay_down_goes_offline_after_ten_tries_and_retry_reconnects() {
    let mut relay = Relay::start(None, &[]).await.expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url(FAST_BACKOFF)).await?;
        relay.kill();
        browser
            .wait_state_for(&["reconnecting"], Duration::from_secs(3))
            .await?;
        browser
            .wait_state_for(&["offline"], Duration::from_secs(15))
            .await?;
        let text = browser
            .eval("return document.querySelector('[data-testid=status]').innerText")
            .await?;
        if !text.as_str().is_some_and(|t| t.contains("Offline")) {
            return Err(format!("status text {text}"));
        }
        relay.restart().await?;
        if browser.status().await? != "offline" {
            return Err("offline must wait for the user".into());
        }
        browser.click("[data-testid=retry]").await?;
        browser.wait_state(&["online"]).await?;
        let id = browser.send("back again").await?;
        answered_once(&browser, &id, "echo: back again").await
    }
    .await;
    finish(&browser, "s6", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s7_reload_keeps_history_session_and_queued_messages() {
    reload_keeps_history_session_and_queued(Engine::Chromium, "s7").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Firefox: run `cargo xtask test`"]
async fn s7_firefox_reload_keeps_history_session_and_queued_messages() {
    reload_keeps_history_session_and_queued(Engine::Firefox, "s7-firefox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and WebKitGTK: run `cargo xtask test`"]
async fn s7_webkit_reload_keeps_history_session_and_queued_messages() {
    reload_keeps_history_session_and_queued(Engine::WebKit, "s7-webkit").await;
}

/// A reload while the link is down keeps the lines, the session and the
/// queued message, which is answered once when the link is back.
async fn reload_keeps_history_session_and_queued(engine: Engine, name: &str) {
    if engine.skipped() {
        return;
    }
    let n8n = n8n().await;
    // The page loads from the relay; its WebSocket goes through a proxy that
    // can take the link down while the page stays loadable.
    let (relay, proxy) = Relay::start_behind_proxy(Some(&n8n.url("/webhook/chat")), &[])
        .await
        .expect("relay");
    let browser = Browser::start_engine(engine).await.expect("browser");
    let result = async {
        let page = relay.page_url("");
        browser.open_online(&page).await?;
        let first = browser.send("remember me").await?;
        answered_once(&browser, &first, "echo: remember me").await?;
        let session = browser.eval("return window.chatInstance.sessionId").await?;
        proxy.set_down(true);
        browser
            .wait_state_for(&["reconnecting"], Duration::from_secs(3))
            .await?;
        let queued = browser.send("sent before reload").await?;
        browser.client.refresh().await.map_err(|e| e.to_string())?;
        browser.wait_state(&["connecting", "reconnecting"]).await?;
        if browser.answers_for(&first).await? != ["echo: remember me"] {
            return Err("history lost on reload".into());
        }
        if browser.message_state(&queued).await? != "queued" {
            return Err("queued message lost on reload".into());
        }
        proxy.set_down(false);
        browser
            .wait_state_for(&["online"], Duration::from_secs(15))
            .await?;
        answered_once(&browser, &queued, "echo: sent before reload").await?;
        let again = browser.eval("return window.chatInstance.sessionId").await?;
        if again != session {
            return Err(format!("session changed from {session} to {again}"));
        }
        let sessions: Vec<String> = n8n
            .requests()
            .iter()
            .map(|r| r.body["sessionId"].as_str().unwrap_or_default().to_owned())
            .collect();
        if sessions.len() != 2 || sessions[0] != sessions[1] {
            return Err(format!("n8n saw sessions {sessions:?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, name, result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s8_two_browsers_each_get_only_their_own_answers() {
    let n8n = n8n().await;
    let relay = Relay::start(Some(&n8n.url("/webhook/chat")), &[])
        .await
        .expect("relay");
    let alice = Browser::start().await.expect("browser a");
    let bob = Browser::start().await.expect("browser b");
    let result = async {
        alice.open(&relay.page_url("")).await?;
        bob.open(&relay.page_url("")).await?;
        alice.wait_state(&["online"]).await?;
        bob.wait_state(&["online"]).await?;
        let a = alice.send("from alice").await?;
        let b = bob.send("from bob").await?;
        let a2 = alice.send("alice again").await?;
        answered_once(&alice, &a, "echo: from alice").await?;
        answered_once(&alice, &a2, "echo: alice again").await?;
        answered_once(&bob, &b, "echo: from bob").await?;
        for (who, browser, own) in [
            ("alice", &alice, vec![a.clone(), a2.clone()]),
            ("bob", &bob, vec![b.clone()]),
        ] {
            let shown = browser.messages().await?;
            if let Some(foreign) = shown.iter().find(|m| !own.contains(&m.id)) {
                return Err(format!("{who} sees someone else's line: {foreign:?}"));
            }
        }
        Ok(())
    }
    .await;
    finish(&alice, "s8", result).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s9_a_dead_link_is_detected_and_the_page_reconnects() {
    let (relay, proxy) = Relay::start_behind_proxy(None, &[]).await.expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        let query = format!("pingMs=300&pongTimeoutMs=700&{FAST_BACKOFF}");
        browser.open_online(&relay.page_url(&query)).await?;
        proxy.set_frozen(true);
        // The socket stays open but nothing gets through: no pong.
        browser
            .wait_state_for(
                &["reconnecting", "connecting", "offline"],
                Duration::from_secs(5),
            )
            .await?;
        proxy.set_frozen(false);
        browser
            .wait_state_for(&["online"], Duration::from_secs(10))
            .await?;
        let id = browser.send("alive again").await?;
        answered_once(&browser, &id, "echo: alive again").await
    }
    .await;
    finish(&browser, "s9", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s10_a_streamed_answer_grows_in_one_bubble() {
    let (n8n, relay, browser) = scene().await;
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_millis(1500),
    });
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let id = browser.send("streams here").await?;
        // The first block arrives at once, the second 1.5 s later.
        wait_for("the first chunk", UI_TIMEOUT, || async {
            let answers = browser.answers_for(&id).await?;
            Ok((answers.len() == 1 && answers[0].trim() == "echo:").then_some(()))
        })
        .await?;
        if browser.message_state(&id).await? != "sent" {
            return Err("the message should still be waiting while the answer streams".into());
        }
        answered_once(&browser, &id, "echo: streams here").await
    }
    .await;
    finish(&browser, "s10", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s11_history_from_n8n_fills_a_page_that_has_none() {
    let n8n = n8n().await;
    n8n.set_history(&[(true, "what is n8n?"), (false, "a workflow tool")]);
    let relay = Relay::start(
        Some(&n8n.url("/webhook/chat")),
        &["--load-previous-session"],
    )
    .await
    .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        // Same session on "another device": the session id is known, the
        // local conversation is not.
        browser
            .eval(
                "localStorage.setItem('n8nChat.sessionId', 'shared-session-1'); \
                 localStorage.removeItem('n8nChat.conversation'); location.reload(); return true;",
            )
            .await?;
        let lines = wait_for("the history", UI_TIMEOUT, || async {
            let shown = browser.messages().await?;
            let lines: Vec<(String, String)> =
                shown.into_iter().map(|m| (m.role, m.text)).collect();
            Ok((lines.len() == 2).then_some(lines))
        })
        .await?;
        let expected = [
            ("user".to_owned(), "what is n8n?".to_owned()),
            ("bot".to_owned(), "a workflow tool".to_owned()),
        ];
        if lines != expected {
            return Err(format!("history shown as {lines:?}"));
        }
        let asked: Vec<String> = n8n
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.body["action"], r.body["sessionId"]))
            .collect();
        if asked != [r#""loadPreviousSession" "shared-session-1""#] {
            return Err(format!("n8n was asked {asked:?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "s11", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s12_a_workflow_pushes_messages_to_the_page_later() {
    const TOKEN: &str = "e2e-push-token-0123456789";
    let (_n8n, relay, browser) = scene_with(&["--push-token", TOKEN], &[]).await;
    let push = |session: String, text: &'static str| {
        let url = format!("http://{}/api/sessions/{session}/messages", relay.addr);
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(serde_json::json!({ "text": text }).to_string())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            match response.status().as_u16() {
                202 => Ok(()),
                other => Err(format!("push answered {other}")),
            }
        }
    };
    let bot_texts = || async {
        Ok::<_, String>(
            browser
                .messages()
                .await?
                .into_iter()
                .filter(|m| m.role == "bot")
                .map(|m| m.text)
                .collect::<Vec<_>>(),
        )
    };
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let session = browser.eval("return window.chatInstance.sessionId").await?;
        let session = session.as_str().ok_or("no session id")?.to_owned();
        push(session.clone(), "**Your report** is ready").await?;
        wait_for("the pushed message", UI_TIMEOUT, || async {
            Ok(bot_texts()
                .await?
                .contains(&"Your report is ready".to_owned())
                .then_some(()))
        })
        .await?;
        let bold = browser
            .eval("return document.querySelectorAll('[data-role=bot] .markdown strong').length")
            .await?;
        if bold != 1 {
            return Err(format!("markdown in the push: {bold} strong"));
        }
        // The page is closed; the workflow pushes again; the next visit shows it, once.
        browser
            .client
            .goto("about:blank")
            .await
            .map_err(|e| e.to_string())?;
        wait_for("the relay to see the page go", UI_TIMEOUT, || async {
            let health: serde_json::Value = reqwest::get(format!("http://{}/healthz", relay.addr))
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if health["connections"] == 0 {
                Ok(Some(()))
            } else {
                Err(format!("healthz: {health}"))
            }
        })
        .await?;
        push(session.clone(), "Second report").await?;
        browser.open_online(&relay.page_url("")).await?;
        wait_for("the kept push", UI_TIMEOUT, || async {
            Ok(bot_texts()
                .await?
                .contains(&"Second report".to_owned())
                .then_some(()))
        })
        .await?;
        browser.open_online(&relay.page_url("")).await?;
        let texts = bot_texts().await?;
        let seconds = texts.iter().filter(|t| *t == "Second report").count();
        if seconds != 1 {
            return Err(format!("the kept push shows {seconds} times: {texts:?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "s12", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s13_a_message_too_large_for_the_relay_fails_here_and_the_link_stays() {
    // 1000 bytes: the relay reads frames up to 4096 and closes the socket
    // (1009) on a larger one — which, resent after every reconnect, would
    // keep the page reconnecting for good. The page refuses it itself.
    let relay = Relay::start(None, &["--max-message-bytes", "1000"])
        .await
        .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let id = browser.send_multiline(&"x".repeat(6000)).await?;
        browser
            .wait_message_state(&id, "failed", UI_TIMEOUT)
            .await?;
        let errors = browser.errors_for(&id).await?;
        if errors.len() != 1 || !errors[0].contains("the limit is 1000 bytes") {
            return Err(format!("errors {errors:?}"));
        }
        if browser.status().await? != "online" {
            return Err("the link must stay up".into());
        }
        let after = browser.send("small enough").await?;
        answered_once(&browser, &after, "echo: small enough").await
    }
    .await;
    finish(&browser, "s13", result).await;
    browser.close().await;
}
