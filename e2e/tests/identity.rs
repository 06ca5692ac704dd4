//! Verified identity in the browser (issue 24): a shop page whose visitor
//! is logged in passes the token its backend signed with `data-user-token`;
//! a message reaches n8n with the verified `user`; when the token expires
//! the next message waits, the host hears `tokenExpired`, and
//! `n8nChat.identify(newToken)` sends it. Run with `cargo xtask test`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::host_site::{HostSite, SiteFile};
use e2e::relay::Relay;
use e2e::scenario::finish;
use e2e::{wait_for, Result};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use testkit::n8n::StandIn;

const SECRET: &str = "e2e-identity-secret-of-32-bytes-or-more";

/// Records every `n8nChat` event in `window.__events`.
const HOST_JS: &str = "window.__events = [];\n\
    document.addEventListener('DOMContentLoaded', function () {\n\
      ['ready', 'message', 'tokenExpired', 'tokenInvalid'].forEach(function (name) {\n\
        n8nChat.on(name, function (value) { __events.push({ name: name, value: value === undefined ? null : value }); });\n\
      });\n\
    });";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn token(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

async fn events(browser: &Browser) -> Result<Vec<Value>> {
    Ok(browser
        .eval("return window.__events || []")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Waits for an event `name` whose value satisfies `check`.
async fn event(browser: &Browser, name: &str, check: impl Fn(&Value) -> bool) -> Result<Value> {
    wait_for(&format!("the {name} event"), UI_TIMEOUT, || async {
        Ok(events(browser)
            .await?
            .into_iter()
            .rev()
            .find(|e| e["name"] == name && check(&e["value"]))
            .map(|e| e["value"].clone()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn i1_the_hosts_token_names_the_user_and_a_new_one_resumes_after_expiry() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(
        Some(&n8n.url("/webhook/chat")),
        &["--identity-secret", SECRET, "--identity-leeway", "0s"],
    )
    .await
    .expect("relay");
    let relay_origin = format!("http://{}", relay.addr);
    // Long enough for the page to load and the first answer to arrive.
    let exp = now_secs() + 12;
    let first =
        token(&json!({"sub": "u-42", "name": "Ada", "email": "ada@example.com", "exp": exp}));
    let fresh = token(&json!({"sub": "u-42", "name": "Ada", "exp": now_secs() + 3600}));
    let page = format!(
        "<!doctype html><html lang=en><head><title>Shop</title><script src=\"/host.js\"></script>\
         <script src=\"{relay_origin}/embed.js\" defer data-user-token=\"{first}\"></script></head>\
         <body><h1>Logged-in shop</h1></body></html>"
    );
    let site = HostSite::serve(
        vec![
            SiteFile::html("/", page),
            SiteFile::js("/host.js", HOST_JS.into()),
        ],
        Vec::new(),
    )
    .await
    .expect("host site");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser
            .client
            .goto(&site.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        let src = browser
            .eval("return document.querySelector('iframe[data-n8n-chat]').src")
            .await?;
        if src.as_str().unwrap_or_default().contains(&first) {
            return Err(format!("the token is in the iframe's URL: {src}"));
        }
        browser.eval("n8nChat.send('first'); return true").await?;
        event(&browser, "message", |v| v["text"] == "echo: first").await?;
        let sent = n8n.requests().pop().ok_or("n8n got nothing")?;
        if sent.body["user"] != json!({"id": "u-42", "name": "Ada", "email": "ada@example.com"}) {
            return Err(format!("the user at n8n: {}", sent.body));
        }

        // The token's own deadline passes (a deadline, not a guess).
        let past = UNIX_EPOCH + Duration::from_secs(exp + 1);
        if let Ok(wait) = past.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        browser.eval("n8nChat.send('second'); return true").await?;
        event(&browser, "tokenExpired", |_| true).await?;
        if n8n.calls() != 1 {
            return Err(format!(
                "n8n ran {} times with an expired token",
                n8n.calls()
            ));
        }
        browser
            .eval(&format!("n8nChat.identify('{fresh}'); return true"))
            .await?;
        event(&browser, "message", |v| v["text"] == "echo: second").await?;
        let sent = n8n.requests().pop().ok_or("n8n got nothing")?;
        if sent.body["user"]["id"] != "u-42" || n8n.calls() != 2 {
            return Err(format!(
                "after identify, n8n ran {}: {}",
                n8n.calls(),
                sent.body
            ));
        }
        Ok(())
    }
    .await;
    finish(&browser, "i1", result).await;
    browser.close().await;
}

/// The titles of the chat's list of conversations (inside the chat's
/// iframe; the drawer may be closed, so `textContent`).
async fn listed_titles(browser: &Browser) -> Result<Vec<String>> {
    let v = browser
        .eval(
            "return Array.from(document.querySelectorAll('[data-testid=conversations] [data-testid=conversation-switch]'))\n\
               .map(e => e.textContent.trim());",
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Waits until the list shows every one of `titles`.
async fn lists(browser: &Browser, titles: &[&str]) -> Result<Vec<String>> {
    wait_for(&format!("the list with {titles:?}"), UI_TIMEOUT, || async {
        let shown = listed_titles(browser).await?;
        Ok(titles
            .iter()
            .all(|t| shown.iter().any(|s| s == t))
            .then_some(shown))
    })
    .await
}

async fn enter_chat(browser: &Browser) -> Result {
    let frame = browser
        .client
        .find(fantoccini::Locator::Css("iframe[data-n8n-chat]"))
        .await
        .map_err(|e| e.to_string())?;
    frame.enter_frame().await.map_err(|e| e.to_string())
}

async fn leave_chat(browser: &Browser) -> Result {
    browser
        .client
        .enter_parent_frame()
        .await
        .map_err(|e| e.to_string())
}

/// A shop page whose visitor is logged in as `token`'s user.
async fn shop(relay: &Relay, token: &str) -> HostSite {
    let relay_origin = format!("http://{}", relay.addr);
    let page = format!(
        "<!doctype html><html lang=en><head><title>Shop</title><script src=\"/host.js\"></script>\
         <script src=\"{relay_origin}/embed.js\" defer data-user-token=\"{token}\"></script></head>\
         <body><h1>Logged-in shop</h1></body></html>"
    );
    HostSite::serve(
        vec![
            SiteFile::html("/", page),
            SiteFile::js("/host.js", HOST_JS.into()),
        ],
        Vec::new(),
    )
    .await
    .expect("host site")
}

/// Issue 24: a signed-in user's conversations follow them. Two separate
/// browsers (no shared storage) with the same user's token: the
/// conversations made in the first appear in the second's list; another
/// user's browser lists none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn i2_a_signed_in_users_conversations_follow_them_to_another_browser() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(
        Some(&n8n.url("/webhook/chat")),
        &["--identity-secret", SECRET],
    )
    .await
    .expect("relay");
    let ada = token(&json!({"sub": "u-7", "name": "Ada", "exp": now_secs() + 3600}));
    let bob = token(&json!({"sub": "u-8", "name": "Bob", "exp": now_secs() + 3600}));
    let site = shop(&relay, &ada).await;
    let bobs_site = shop(&relay, &bob).await;
    let first = Browser::start().await.expect("browser");
    let result = async {
        first
            .client
            .goto(&site.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&first, "ready", |_| true).await?;
        first
            .eval("n8nChat.send('Plan a trip'); return true")
            .await?;
        event(&first, "message", |v| v["text"] == "echo: Plan a trip").await?;
        // A second conversation in the same browser.
        enter_chat(&first).await?;
        lists(&first, &["Plan a trip"]).await?;
        first
            .eval("document.querySelector('[data-testid=new-conversation]').click(); return true")
            .await?;
        first.wait_state(&["online"]).await?;
        leave_chat(&first).await?;
        first
            .eval("n8nChat.send('Taxes 2026'); return true")
            .await?;
        event(&first, "message", |v| v["text"] == "echo: Taxes 2026").await?;
        enter_chat(&first).await?;
        lists(&first, &["Plan a trip", "Taxes 2026"]).await?;
        Ok(())
    }
    .await;
    finish(&first, "i2-first", result).await;
    first.close().await;

    // Another browser, nothing in its storage: the same user's list.
    let second = Browser::start().await.expect("browser");
    let result = async {
        second
            .client
            .goto(&site.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&second, "ready", |_| true).await?;
        enter_chat(&second).await?;
        lists(&second, &["Plan a trip", "Taxes 2026"]).await?;
        // Opening one that came from the relay goes on on its own session
        // (the same n8n `sessionId` as in the first browser).
        second
            .eval(
                "const e = Array.from(document.querySelectorAll('[data-testid=conversation-switch]'))\n\
                   .find(b => b.textContent.trim() === 'Plan a trip'); e.click(); return true",
            )
            .await?;
        second.wait_state(&["online"]).await?;
        leave_chat(&second).await?;
        second.eval("n8nChat.send('One more day'); return true").await?;
        event(&second, "message", |v| v["text"] == "echo: One more day").await?;
        let sessions: Vec<Value> = n8n
            .requests()
            .iter()
            .map(|r| r.body["sessionId"].clone())
            .collect();
        if sessions.len() != 3 || sessions[2] != sessions[0] {
            return Err(format!("the trip's session in the second browser: {sessions:?}"));
        }
        Ok(())
    }
    .await;
    finish(&second, "i2-second", result).await;
    second.close().await;

    // Bob's browser: none of Ada's.
    let other = Browser::start().await.expect("browser");
    let result = async {
        other
            .client
            .goto(&bobs_site.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&other, "ready", |_| true).await?;
        enter_chat(&other).await?;
        other.wait_state(&["online"]).await?;
        // Bob's own list came with the connection (his conversation, saved
        // once online); Ada's titles are not in it.
        let shown = listed_titles(&other).await?;
        if shown
            .iter()
            .any(|t| t == "Plan a trip" || t == "Taxes 2026")
        {
            return Err(format!("bob sees ada's conversations: {shown:?}"));
        }
        Ok(())
    }
    .await;
    finish(&other, "i2-other", result).await;
    other.close().await;
}
