//! The page as an attacker would try it (issue 13): a crafted link that
//! names another relay, a relay that hands out another session, and a
//! Content Security Policy that no screen of the page violates. Run with
//! `cargo xtask test`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::relay::Relay;
use e2e::scenario::{answered_once, finish, n8n, scene};
use e2e::{wait_for, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// A listener that only counts who connects to it (the "evil" relay).
async fn counting_listener() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (addr, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn sec1_a_crafted_link_cannot_send_the_conversation_to_another_relay() {
    let (_n8n, relay, browser) = scene().await;
    let (evil, contacted) = counting_listener().await;
    let result = async {
        // As found in the wild: the relay named in the query, the fragment
        // and storage. None of them may be used.
        browser.open_online(&relay.page_url("")).await?;
        browser
            .eval_with(
                "localStorage.setItem('n8nChat.relay', arguments[0]); \
                 localStorage.setItem('relay', arguments[0]);",
                vec![format!("ws://{evil}/ws").into()],
            )
            .await?;
        let crafted = format!(
            "{}#relay=ws://{evil}/ws",
            relay.page_url(&format!("relay=ws://{evil}/ws&relayUrl=ws://{evil}/ws"))
        );
        browser.open_online(&crafted).await?;
        let id = browser.send("where does this go?").await?;
        answered_once(&browser, &id, "echo: where does this go?").await?;
        let n = contacted.load(Ordering::SeqCst);
        if n != 0 {
            return Err(format!("the page contacted the foreign relay {n} time(s)"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "sec1", result).await;
    browser.close().await;
}

/// A relay stand-in that greets each connection with the next session id
/// of `sessions` (the last one repeats) and answers pings.
async fn scripted_relay(sessions: Vec<&'static str>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let n = next.fetch_add(1, Ordering::SeqCst);
            let session = sessions[n.min(sessions.len() - 1)];
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(socket).await else {
                    return;
                };
                let hello = serde_json::json!({
                    "type": "connection", "clientId": format!("c{n}"), "sessionId": session,
                    "heartbeatMs": 30000, "version": "scripted",
                });
                if ws.send(Message::text(hello.to_string())).await.is_err() {
                    return;
                }
                while let Some(Ok(message)) = ws.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let Ok(frame) = serde_json::from_str::<serde_json::Value>(&text) else {
                        continue;
                    };
                    if frame["type"] == "ping" {
                        let pong = serde_json::json!({ "type": "pong", "ts": frame["ts"] });
                        let _ = ws.send(Message::text(pong.to_string())).await;
                    }
                }
            });
        }
    });
    addr
}

async fn session_of(browser: &Browser) -> Result<String> {
    let v = browser
        .eval("return localStorage.getItem('n8nChat.sessionId')")
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn sec2_a_changed_session_is_said_and_an_invalid_one_is_not_adopted() {
    let scripted = scripted_relay(vec!["first-session", "other-session", "bad id!"]).await;
    let relay_url = format!("ws://{scripted}/ws");
    let relay = Relay::start(None, &["--relay-url", &relay_url])
        .await
        .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        let page = relay.page_url("");
        browser.open_online(&page).await?;
        if session_of(&browser).await? != "first-session" {
            return Err(format!("adopted {:?}", session_of(&browser).await?));
        }
        if browser.eval("return document.querySelectorAll('[data-role=system]').length").await? != 0 {
            return Err("a note on a first connection".into());
        }
        // It asks to resume first-session and is given other-session: said.
        browser.open_online(&page).await?;
        wait_for("the session-change note", UI_TIMEOUT, || async {
            let n = browser
                .eval("return document.querySelectorAll('[data-testid=message][data-role=system]').length")
                .await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        if session_of(&browser).await? != "other-session" {
            return Err(format!("after the change: {:?}", session_of(&browser).await?));
        }
        // An invalid id is not adopted.
        // (The id is judged in the same step that makes the page online.)
        browser.open_online(&page).await?;
        if session_of(&browser).await? != "other-session" {
            return Err(format!("adopted an invalid id: {:?}", session_of(&browser).await?));
        }
        Ok(())
    }
    .await;
    finish(&browser, "sec2", result).await;
    browser.close().await;
}

async fn no_violations(browser: &Browser, when: &str) -> Result {
    let violations = browser.csp_violations().await?;
    if violations.is_empty() {
        Ok(())
    } else {
        Err(format!("CSP violations, {when}: {violations:#?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn sec3_no_screen_of_the_page_violates_its_content_security_policy() {
    let n8n = n8n().await;
    let relay = Relay::start(Some(&n8n.url("/webhook/chat")), &[])
        .await
        .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        let response = reqwest::get(relay.page_url(""))
            .await
            .map_err(|e| e.to_string())?;
        let csp = response
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if !csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-") {
            return Err(format!("GET / without the page's CSP: {csp:?}"));
        }
        browser.watch_csp().await?;
        browser.open_online(&relay.page_url("")).await?;
        no_violations(&browser, "loading").await?;
        let id = browser
            .send_multiline(
                "# Title\n\nSome **markdown** with a [link](https://n8n.io), an image \
                 ![cat](https://img.example/cat.png) and\n\n```rust\nlet x = 1 < 2;\n```",
            )
            .await?;
        browser
            .wait_message_state(&id, "answered", UI_TIMEOUT)
            .await?;
        browser
            .click(&format!("[data-role=bot][data-id='{id}'] .copy-code"))
            .await?;
        no_violations(&browser, "markdown with links and code").await?;
        browser.click("[data-testid=lang-switch]").await?; // German
        browser.click("[data-testid=theme-switch]").await?; // light
        browser.click("[data-testid=theme-switch]").await?; // dark
        let id = browser.send("auf Deutsch").await?;
        answered_once(&browser, &id, "echo: auf Deutsch").await?;
        no_violations(&browser, "German, dark").await?;
        browser.open_online(&relay.page_url("mode=window")).await?;
        browser.click("[data-testid=launcher]").await?;
        let id = browser.send("in the window").await?;
        answered_once(&browser, &id, "echo: in the window").await?;
        no_violations(&browser, "window mode").await?;
        // The watcher itself works: an inline script is refused and seen.
        browser
            .eval(
                "const s = document.createElement('script'); \
                 s.textContent = 'window.__ran = 1'; document.body.appendChild(s);",
            )
            .await?;
        let seen = browser.csp_violations().await?;
        if !seen.iter().any(|v| v.starts_with("script-src")) {
            return Err(format!("an inline script was not reported: {seen:?}"));
        }
        if browser.eval("return window.__ran === 1").await? == true {
            return Err("an injected inline script ran".into());
        }
        Ok(())
    }
    .await;
    finish(&browser, "sec3", result).await;
    browser.close().await;
}
