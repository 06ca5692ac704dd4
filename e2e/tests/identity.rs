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
