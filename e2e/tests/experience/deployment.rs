//! What the deployment decides: `/config.json` configures the page, and
//! the chat bubble works in an iframe on another site.

use crate::count;
use e2e::host_site::{HostSite, SiteFile};
use e2e::scenario::{answered_once, finish, scene, scene_with};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x6_the_deployment_configures_the_page_through_config_json() {
    let (_n8n, relay, browser) = scene_with(
        &[
            "--title",
            "ACME Support",
            "--welcome",
            "Welcome to **ACME**!",
            "--welcome",
            "Ask about [orders](https://acme.example/orders).",
            "--placeholder",
            "Your question…",
            "--language",
            "de",
        ],
        &[],
    )
    .await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        browser
            .wait_text("[data-testid=title]", "ACME Support")
            .await?;
        let title = browser.eval("return document.title").await?;
        if title != "ACME Support" {
            return Err(format!("document.title {title}"));
        }
        // The deployment's language (German) wins over the browser's (English).
        browser
            .wait_text("[data-testid=status] .status-text", "Verbunden")
            .await?;
        let welcome = count(&browser, "[data-testid=welcome]").await?;
        let bold = count(&browser, "[data-testid=welcome] strong").await?;
        let link = count(
            &browser,
            "[data-testid=welcome] a[href='https://acme.example/orders']",
        )
        .await?;
        if (welcome, bold, link) != (2, 1, 1) {
            return Err(format!("welcome lines {welcome}, bold {bold}, link {link}"));
        }
        let placeholder = browser
            .eval("return document.querySelector('[data-testid=message-input]').placeholder")
            .await?;
        if placeholder != "Your question…" {
            return Err(format!("placeholder {placeholder}"));
        }
        // The relay serves the page on any path: the config still applies.
        browser
            .open_online(&format!("{}some/deeper/path", relay.page_url("")))
            .await?;
        browser
            .wait_text("[data-testid=title]", "ACME Support")
            .await?;
        let id = browser.send("hallo").await?;
        answered_once(&browser, &id, "echo: hallo").await?;
        if count(&browser, "[data-testid=welcome]").await? != 0 {
            return Err("welcome lines stay once the conversation started".into());
        }
        Ok(())
    }
    .await;
    finish(&browser, "x6", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x10_the_chat_bubble_works_inside_an_iframe_on_another_site() {
    let (_n8n, relay, browser) = scene().await;
    let result = async {
        // Another site (another origin on loopback) embedding the relay's
        // page in window mode, as docs/page.md shows.
        let host = HostSite::serve(vec![SiteFile::html("/", format!(
            "<!doctype html><html lang=en><title>Shop</title><h1>Some shop</h1>\
             <script>window.chatEvents = []; addEventListener('message', e => chatEvents.push(e.data));</script>\
             <iframe id=chat title=Chat src=\"{}\" \
             style=\"position:fixed;right:0;bottom:0;width:440px;height:640px;border:0\"></iframe>",
            relay.page_url("mode=window")
        ))], vec![])
        .await?;
        browser.client.goto(&host.url("/")).await.map_err(|e| e.to_string())?;
        let frame = browser
            .client
            .find(fantoccini::Locator::Css("#chat"))
            .await
            .map_err(|e| e.to_string())?;
        frame.enter_frame().await.map_err(|e| e.to_string())?;
        browser.wait_state(&["online"]).await?;
        let panel_hidden = browser.eval("return document.getElementById('chat-panel').hidden").await?;
        if panel_hidden != true {
            return Err("the panel starts closed".into());
        }
        let transparent = browser
            .eval("return getComputedStyle(document.body).backgroundColor")
            .await?;
        if transparent != "rgba(0, 0, 0, 0)" {
            return Err(format!("window mode background {transparent}"));
        }
        browser.click("[data-testid=launcher]").await?;
        let id = browser.send("from the bubble").await?;
        answered_once(&browser, &id, "echo: from the bubble").await?;
        let expanded = browser
            .eval("return document.querySelector('[data-testid=launcher]').getAttribute('aria-expanded')")
            .await?;
        if expanded != "true" {
            return Err(format!("aria-expanded {expanded}"));
        }
        browser.client.enter_parent_frame().await.map_err(|e| e.to_string())?;
        browser.screenshot("docs-window").await?;
        // The host page hears about it (to size the iframe).
        let events = browser.eval("return window.chatEvents").await?;
        if events.as_array().and_then(|a| a.last()) != Some(&json!({"type": "n8n-chat", "event": "open", "open": true})) {
            return Err(format!("messages to the host page: {events}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "x10", result).await;
    browser.close().await;
}
