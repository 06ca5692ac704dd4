//! Language and theme: the language switch, light/dark following the
//! system and the switch, and the screenshots of both.

use crate::{body_background, wait_background, DARK_BG, LIGHT_BG};
use e2e::browser::UI_TIMEOUT;
use e2e::scenario::{answered_once, finish, scene, scene_with};
use testkit::n8n::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x3_the_language_switch_translates_every_string_and_sticks() {
    let (n8n, relay, browser) = scene().await;
    let english = [
        "Online",
        "Send",
        "New chat",
        "Clear history",
        "Copy",
        "Retry",
        "The workflow reported an error.",
    ];
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        browser
            .wait_text("[data-testid=status] .status-text", "Online")
            .await?;
        let id = browser.send("hallo").await?;
        answered_once(&browser, &id, "echo: hallo").await?;
        n8n.set_mode(Mode::Error500);
        let failed = browser.send("kaputt").await?;
        browser
            .wait_message_state(&failed, "failed", UI_TIMEOUT)
            .await?;

        browser.click("[data-testid=lang-switch]").await?;
        browser
            .wait_text("[data-testid=status] .status-text", "Verbunden")
            .await?;
        let lang = browser.eval("return document.documentElement.lang").await?;
        if lang != "de" {
            return Err(format!("<html lang> is {lang}"));
        }
        let placeholder = browser
            .eval("return document.querySelector('[data-testid=message-input]').placeholder")
            .await?;
        if placeholder != "Nachricht schreiben …" {
            return Err(format!("placeholder {placeholder}"));
        }
        let page = browser.text("body").await?;
        for text in [
            "Senden",
            "Neuer Chat",
            "Verlauf löschen",
            "Kopieren",
            "Erneut versuchen",
            "Der Workflow hat einen Fehler gemeldet.",
        ] {
            if !page.contains(text) {
                return Err(format!("{text:?} missing in German:\n{page}"));
            }
        }
        for text in english {
            if page.lines().any(|l| l.trim() == text) {
                return Err(format!("{text:?} still English:\n{page}"));
            }
        }
        browser.screenshot("german").await?;
        // The choice survives a reload, and goes to n8n as the language.
        n8n.set_mode(Mode::Echo);
        browser.open_online(&relay.page_url("")).await?;
        browser
            .wait_text("[data-testid=status] .status-text", "Verbunden")
            .await?;
        let id = browser.send("auf deutsch").await?;
        answered_once(&browser, &id, "echo: auf deutsch").await?;
        let sent = n8n.requests();
        let language = &sent.last().ok_or("no request")?.body["metadata"]["language"];
        if language != "de" {
            return Err(format!("metadata.language {language}"));
        }
        browser.click("[data-testid=lang-switch]").await?;
        browser
            .wait_text("[data-testid=status] .status-text", "Online")
            .await
    }
    .await;
    finish(&browser, "x3", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x4_themes_follow_the_system_and_the_switch() {
    // The system prefers dark here: `auto` must follow it.
    let (_n8n, relay, browser) = scene_with(&[], &["--force-dark-mode"]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let auto = body_background(&browser).await?;
        if auto != DARK_BG {
            return Err(format!("auto with a dark system: {auto}"));
        }
        browser.click("[data-testid=theme-switch]").await?;
        wait_background(&browser, LIGHT_BG).await?;
        let theme = browser.eval("return document.documentElement.dataset.theme").await?;
        if theme != "light" {
            return Err(format!("data-theme {theme}"));
        }
        browser.click("[data-testid=theme-switch]").await?;
        wait_background(&browser, DARK_BG).await?;
        // Stored: still dark after a reload.
        browser.open_online(&relay.page_url("")).await?;
        if body_background(&browser).await? != DARK_BG {
            return Err("the theme was not kept across a reload".into());
        }
        // A deployment can restyle through the custom properties.
        let primary = browser
            .eval("return getComputedStyle(document.documentElement).getPropertyValue('--chat--color-primary').trim()")
            .await?;
        if primary.as_str().is_none_or(str::is_empty) {
            return Err("--chat--color-primary is not defined".into());
        }
        Ok(())
    }
    .await;
    finish(&browser, "x4", result).await;
    browser.close().await;
}

/// The screenshots in `docs/` (copied from `target/e2e/` after a passing run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x11_screenshots_light_dark_phone_german() {
    let (_n8n, relay, browser) = scene_with(&["--title", "n8n Chat"], &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let id = browser
            .send_multiline("Summarise **n8n** in three points:\n\n1. Workflows\n2. Nodes\n3. `AI agents`\n\n```json\n{\"output\": \"hi\"}\n```")
            .await?;
        browser.wait_message_state(&id, "answered", UI_TIMEOUT).await?;
        browser.click("[data-testid=theme-switch]").await?; // light
        browser.screenshot("docs-light").await?;
        browser.click("[data-testid=theme-switch]").await?; // dark
        wait_background(&browser, DARK_BG).await?;
        browser.screenshot("docs-dark").await?;
        browser.click("[data-testid=theme-switch]").await?; // auto (light here)
        browser.click("[data-testid=lang-switch]").await?;
        browser.wait_text("[data-testid=status] .status-text", "Verbunden").await?;
        browser.screenshot("docs-german").await?;
        browser.set_size(375, 740).await?;
        browser.screenshot("docs-phone").await?;
        Ok(())
    }
    .await;
    finish(&browser, "x11", result).await;
    browser.close().await;
}
