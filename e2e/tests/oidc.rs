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

/// A stand-in n8n, the test identity provider approving Ada, and a relay
/// signing in there (with `extra` flags).
async fn signed_in_relay(extra: &[&str]) -> (StandIn, Provider, Relay) {
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
    let mut flags = vec![
        "--public-url",
        &public,
        "--oidc-issuer",
        provider.issuer(),
        "--oidc-client-id",
        CLIENT_ID,
        "--oidc-client-secret",
        CLIENT_SECRET,
    ];
    flags.extend_from_slice(extra);
    let relay = Relay::start_on_port(port, Some(&n8n.url("/webhook/chat")), &flags)
        .await
        .expect("relay");
    (n8n, provider, relay)
}

/// Opens the page and signs in as Ada; returns when the page is online.
async fn sign_in(browser: &Browser, relay: &Relay) -> Result {
    browser.open_online(&relay.page_url("")).await?;
    shown(browser, "[data-testid=sign-in]", "href").await?;
    browser.click("[data-testid=sign-in]").await?;
    // To the provider and back: the page again, signed in.
    let user = shown(browser, "[data-testid=sign-out]", "data-user").await?;
    if user != "Ada Lovelace" {
        return Err(format!("signed in as {user:?}"));
    }
    browser.wait_state(&["online"]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn o1_sign_in_chat_as_the_user_and_sign_out() {
    let (n8n, _provider, relay) = signed_in_relay(&[]).await;
    let browser = Browser::start().await.expect("browser");
    let result = async {
        sign_in(&browser, &relay).await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn o2_an_expired_sign_in_fails_the_message_and_offers_to_sign_in_again() {
    // Long enough to sign in on a busy machine, short enough to wait out.
    let lifetime = std::time::Duration::from_secs(4);
    let (n8n, _provider, relay) = signed_in_relay(&["--oidc-session-lifetime", "4s"]).await;
    let browser = Browser::start().await.expect("browser");
    let result = async {
        sign_in(&browser, &relay).await?;
        // The cookie was made before this instant: past its end (whole
        // seconds, so one more).
        let over = std::time::SystemTime::now() + lifetime + std::time::Duration::from_secs(1);
        wait_for("the sign-in to end", UI_TIMEOUT, || async {
            Ok((std::time::SystemTime::now() > over).then_some(()))
        })
        .await?;
        let id = browser.send("still there?").await?;
        // No host page will bring a new token: it fails, visibly, instead
        // of waiting queued for good.
        browser
            .wait_message_state(&id, "failed", UI_TIMEOUT)
            .await?;
        if browser.errors_for(&id).await?.len() != 1 {
            return Err("one error under the message".into());
        }
        shown(&browser, "[data-testid=sign-in]", "href").await?;
        if !n8n.inputs().is_empty() {
            return Err(format!("n8n ran {:?}", n8n.inputs()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "o2", result).await;
    browser.close().await;
}
