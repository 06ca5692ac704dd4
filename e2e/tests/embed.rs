//! One tag on another site (issue 18): a shop page on its own origin, with
//! a strict CSP that allows only the relay, loads `embed.js`; its
//! `window.n8nChat` opens the chat, adds metadata, sends a message and
//! hears the answer; while closed, an answer counts as unread (badge,
//! title, `unread` event). Run with `cargo xtask test`.

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::host_site::{HostSite, SiteFile};
use e2e::relay::Relay;
use e2e::scenario::finish;
use e2e::{wait_for, Result};
use serde_json::Value;
use testkit::n8n::StandIn;

/// Records every `n8nChat` event in `window.__events` (a file, so the
/// site's CSP needs no inline script).
const HOST_JS: &str = "window.__events = [];\n\
    document.addEventListener('DOMContentLoaded', function () {\n\
      ['ready', 'open', 'close', 'message', 'unread'].forEach(function (name) {\n\
        n8nChat.on(name, function (value) { __events.push({ name: name, value: value === undefined ? null : value }); });\n\
      });\n\
    });";

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

async fn frame_width(browser: &Browser) -> Result<f64> {
    browser
        .eval(
            "return document.querySelector('iframe[data-n8n-chat]').getBoundingClientRect().width",
        )
        .await?
        .as_f64()
        .ok_or_else(|| "no chat iframe".to_string())
}

async fn enter_chat(browser: &Browser) -> Result {
    let frame = browser
        .client
        .find(fantoccini::Locator::Css("iframe[data-n8n-chat]"))
        .await
        .map_err(|e| e.to_string())?;
    frame.enter_frame().await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn e1_one_script_tag_embeds_the_chat_with_an_api_and_unread_count() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(Some(&n8n.url("/webhook/chat")), &[])
        .await
        .expect("relay");
    let relay_origin = format!("http://{}", relay.addr);
    let page = format!(
        "<!doctype html><html lang=en><head><title>Shop</title><script src=\"/host.js\"></script>\
         <script src=\"{relay_origin}/embed.js\" defer data-title=\"Shop help\" \
         data-primary-color=\"#0a7d5a\" data-sound=\"on\"></script></head><body><h1>Some shop</h1></body></html>"
    );
    // The README's CSP lines for a strict host page.
    let csp = format!(
        "default-src 'self'; script-src 'self' {relay_origin}; frame-src {relay_origin}; style-src 'self'"
    );
    let site = HostSite::serve(
        vec![
            SiteFile::html("/", page),
            SiteFile::js("/host.js", HOST_JS.into()),
        ],
        vec![("content-security-policy".into(), csp)],
    )
    .await
    .expect("host site");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.watch_csp().await?;
        browser.client.goto(&site.url("/")).await.map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        if frame_width(&browser).await? > 100.0 {
            return Err("the iframe should start as the bubble".into());
        }
        browser
            .eval("n8nChat.setMetadata({ userId: 'u-42' }); n8nChat.open(); return true")
            .await?;
        event(&browser, "open", |_| true).await?;
        if frame_width(&browser).await? < 300.0 {
            return Err("the iframe did not grow for the open chat".into());
        }
        browser.eval("n8nChat.send('hello from the shop'); return true").await?;
        event(&browser, "message", |v| v["text"] == "echo: hello from the shop").await?;
        let sent = n8n.requests().pop().ok_or("n8n got nothing")?;
        if sent.body["metadata"]["userId"] != "u-42" {
            return Err(format!("metadata at n8n: {}", sent.body["metadata"]));
        }
        // Closed: an answer is unread — counted, badged, in the title.
        browser.eval("n8nChat.close(); return true").await?;
        event(&browser, "close", |_| true).await?;
        browser.eval("n8nChat.send('while closed'); return true").await?;
        event(&browser, "unread", |v| v == 1).await?;
        enter_chat(&browser).await?;
        browser.wait_text("[data-testid=unread]", "1").await?;
        // The optional sound (data-sound="on") played for it.
        let beeps = browser.eval("return document.documentElement.dataset.beeps || '0'").await?;
        if beeps != "1" {
            return Err(format!("unread tones: {beeps}"));
        }
        let title = browser.eval("return document.title").await?;
        if title != "(1) Shop help" {
            return Err(format!("the chat's title while unread: {title}"));
        }
        let primary = browser
            .eval("return getComputedStyle(document.documentElement).getPropertyValue('--chat--color-primary').trim()")
            .await?;
        if primary != "#0a7d5a" {
            return Err(format!("data-primary-color not applied: {primary}"));
        }
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, the bubble with an unread badge: {violations:#?}"));
        }
        browser.client.enter_parent_frame().await.map_err(|e| e.to_string())?;
        browser.eval("n8nChat.open(); return true").await?;
        event(&browser, "unread", |v| v == 0).await?;
        let csp_violations = browser.csp_violations().await?;
        if !csp_violations.is_empty() {
            return Err(format!("the host page's CSP was violated: {csp_violations:?}"));
        }
        if n8n.calls() != 2 {
            return Err(format!("n8n ran {} times, expected 2", n8n.calls()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "e1", result).await;
    browser.close().await;
}
