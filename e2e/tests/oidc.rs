//! Sign-in with OpenID Connect in the browser (issue 24): the chat page on
//! its own offers "Sign in"; a click goes to the testkit's identity
//! provider (which approves the test user at once) and back; the header
//! shows "Sign out" for the user; a message reaches the workflow (the n8n
//! stand-in) with the signed-in `user`; "Sign out" makes the page
//! anonymous again. Run with `/work/e2e-suite.sh oidc` or `cargo xtask test`.

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::relay::Relay;
use e2e::scenario::finish;
use e2e::{wait_for, Result};
use serde_json::json;
use testkit::n8n::StandIn;
use testkit::oidc::{Provider, TestUser};

const CLIENT_ID: &str = "e2e-chat";
const CLIENT_SECRET: &str = "e2e-client-secret";

/// Waits until an element matching `css` is on the page; returns the
/// value of its attribute `attr`.
async fn shown(browser: &Browser, css: &str, attr: &str) -> Result<String> {
    let script = format!(
        "var e = document.querySelector('{css}'); return e ? (e.getAttribute('{attr}') || '') : null;"
    );
    wait_for(css, UI_TIMEOUT, || async {
        let v = browser.eval(&script).await?;
        Ok(v.as_str().map(str::to_owned))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn o1_sign_in_chat_as_the_user_and_sign_out() {
    let n8n = StandIn::start().await.expect("stand-in");
    let provider = Provider::start(
        CLIENT_ID,
        CLIENT_SECRET,
        TestUser {
            sub: "ada-1815".into(),
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
        },
    )
    .await;
    let port = e2e::process::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let relay = Relay::start_on_port(
        port,
        Some(&n8n.url("/webhook/chat")),
        &[
            "--public-url",
            &public,
            "--oidc-issuer",
            provider.issuer(),
            "--oidc-client-id",
            CLIENT_ID,
            "--oidc-client-secret",
            CLIENT_SECRET,
        ],
    )
    .await
    .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        shown(&browser, "[data-testid=sign-in]", "href").await?;
        browser.click("[data-testid=sign-in]").await?;
        // To the provider and back: the page again, signed in.
        let user = shown(&browser, "[data-testid=sign-out]", "data-user").await?;
        if user != "Ada Lovelace" {
            return Err(format!("signed in as {user:?}"));
        }
        browser.wait_state(&["online"]).await?;
        let id = browser.send("hello as ada").await?;
        browser
            .wait_message_state(&id, "answered", UI_TIMEOUT)
            .await?;
        let sent = n8n.requests().pop().ok_or("n8n got nothing")?;
        if sent.body["user"]
            != json!({"id": "ada-1815", "name": "Ada Lovelace", "email": "ada@example.com"})
        {
            return Err(format!("the user at n8n: {}", sent.body));
        }

        browser.click("[data-testid=sign-out]").await?;
        shown(&browser, "[data-testid=sign-in]", "href").await?;
        browser.wait_state(&["online"]).await?;
        let id = browser.send("who am I now").await?;
        browser
            .wait_message_state(&id, "answered", UI_TIMEOUT)
            .await?;
        let sent = n8n.requests().pop().ok_or("n8n got nothing")?;
        if sent.body.get("user").is_some() {
            return Err(format!("still a user after sign-out: {}", sent.body));
        }
        Ok(())
    }
    .await;
    finish(&browser, "o1", result).await;
    browser.close().await;
}
