//! Accessibility checked by axe-core in every theme, size, window mode
//! and language (Arabic mirrored), and a streamed answer announced once.

use std::time::Duration;

use crate::{count, no_axe_violations, wait_background, DARK_BG, LIGHT_BG};
use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::scenario::{finish, scene};
use e2e::{wait_for, Result};
use serde_json::{json, Value};
use testkit::n8n::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x5_axe_finds_no_violations_light_dark_phone_zoom_and_window_mode() {
    let (n8n, relay, browser) = scene().await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        no_axe_violations(&browser, "empty page").await?;
        let id = browser
            .send_multiline("# Title\n\nSome **markdown** with a [link](https://n8n.io) and\n\n```\ncode\n```")
            .await?;
        browser.wait_message_state(&id, "answered", UI_TIMEOUT).await?;
        // Highlighted code with every span kind, for the contrast checks
        // (after a first line: the stand-in answers "echo: " + the text).
        let code = browser
            .send_multiline("Code:\n\n```rust\n// note\nfn main() { let s: String = \"x\"; let n = 4; }\n```\n\n```html\n<a href=\"x\">y</a>\n```")
            .await?;
        browser.wait_message_state(&code, "answered", UI_TIMEOUT).await?;
        for kind in ["kw", "str", "num", "com", "fn", "ty", "tag", "attr"] {
            if count(&browser, &format!(".markdown .tok-{kind}")).await? == 0 {
                return Err(format!("no highlighted span of kind {kind}"));
            }
        }
        n8n.set_mode(Mode::Error500);
        let failed = browser.send("fails").await?;
        browser.wait_message_state(&failed, "failed", UI_TIMEOUT).await?;
        no_axe_violations(&browser, "light, with answer and error").await?;
        browser.click("[data-testid=theme-switch]").await?; // light
        browser.click("[data-testid=theme-switch]").await?; // dark
        wait_background(&browser, DARK_BG).await?;
        no_axe_violations(&browser, "dark").await?;
        browser.click("[data-testid=lang-switch]").await?;
        no_axe_violations(&browser, "dark, German").await?;
        // 320 px phones, and 200 % zoom on a 1280 px screen (= 640 CSS px):
        // no sideways scrolling.
        for width in [320, 640] {
            browser.set_size(width, 700).await?;
            let overflow = browser
                .eval("return document.documentElement.scrollWidth - window.innerWidth")
                .await?;
            if overflow.as_i64().unwrap_or(1) > 0 {
                return Err(format!("{overflow} px of sideways scroll at {width} px"));
            }
            no_axe_violations(&browser, &format!("{width} px")).await?;
        }
        browser.set_size(900, 800).await?;
        browser.open(&relay.page_url("mode=window")).await?;
        no_axe_violations(&browser, "window mode, closed").await?;
        browser.click("[data-testid=launcher]").await?;
        browser.wait_state(&["online"]).await?;
        no_axe_violations(&browser, "window mode, open").await?;
        // Keyboard: Tab reaches the composer and Enter sends.
        let tab_stops = browser
            .eval("return Array.from(document.querySelectorAll('button, textarea, a[href]')).filter(e => e.tabIndex >= 0 && e.offsetParent !== null).length")
            .await?;
        if tab_stops.as_u64().unwrap_or(0) < 6 {
            return Err(format!("only {tab_stops} keyboard stops"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "x5", result).await;
    browser.close().await;
}

async fn wait_lang(browser: &Browser, code: &str) -> Result {
    wait_for(&format!("<html lang={code}>"), UI_TIMEOUT, || async {
        let lang = browser.eval("return document.documentElement.lang").await?;
        Ok((lang == code).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x21_every_language_passes_axe_and_arabic_mirrors() {
    let (_n8n, relay, browser) = scene().await;
    let codes = [
        "en", "de", "fr", "es", "it", "pt-BR", "nl", "pl", "tr", "ja", "zh-CN", "ar",
    ];
    let result = async {
        for code in codes {
            browser.open_online(&relay.page_url(&format!("lang={code}"))).await?;
            wait_lang(&browser, code).await?;
            let id = browser.send("hello").await?;
            browser.wait_message_state(&id, "answered", UI_TIMEOUT).await?;
            no_axe_violations(&browser, code).await?;
            // The menu lists all twelve, each in its own name and language.
            let options = count(&browser, "[data-testid=lang-menu] option[lang]").await?;
            if options != 12 {
                return Err(format!("{code}: {options} languages in the menu"));
            }
        }
        // Arabic: right to left, and the layout mirrors — the user's
        // bubble sits on the left, the composer's send button too.
        let dir = browser.eval("return document.documentElement.dir").await?;
        if dir != "rtl" {
            return Err(format!("ar: dir={dir}"));
        }
        let sides = browser
            .eval("const u = document.querySelector('[data-testid=message][data-role=user]').getBoundingClientRect(); const b = document.querySelector('[data-testid=message][data-role=bot]').getBoundingClientRect(); return u.left < b.left")
            .await?;
        if sides != Value::Bool(true) {
            return Err("ar: the user's bubble is not on the left".into());
        }
        let auto = count(&browser, "[data-testid=message] [dir=auto]").await?;
        if auto == 0 {
            return Err("message texts lack dir=auto".into());
        }
        browser.set_size(390, 800).await?;
        browser.screenshot("docs-ar-phone").await?;
        browser.click("[data-testid=theme-switch]").await?; // light
        wait_background(&browser, LIGHT_BG).await?;
        no_axe_violations(&browser, "ar, light, phone").await?;
        browser.click("[data-testid=theme-switch]").await?; // dark
        wait_background(&browser, DARK_BG).await?;
        no_axe_violations(&browser, "ar, dark, phone").await?;
        browser.screenshot("docs-ar-phone-dark").await?;
        Ok(())
    }
    .await;
    finish(&browser, "x21", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x22_a_streamed_answer_is_announced_exactly_once() {
    let (n8n, relay, browser) = scene().await;
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_millis(400),
    });
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        browser
            .eval("window.__said = []; const r = document.querySelector('[data-testid=announcer]'); new MutationObserver(() => { if (r.textContent) window.__said.push(r.textContent); }).observe(r, {childList: true, characterData: true, subtree: true}); return true")
            .await?;
        let id = browser.send("stream me").await?;
        // The chunks arrive (the list shows the first piece) ...
        wait_for("the first piece", UI_TIMEOUT, || async {
            Ok(browser.answers_for(&id).await?.first().cloned())
        })
        .await?;
        browser.wait_message_state(&id, "answered", UI_TIMEOUT).await?;
        let said = browser.eval("return window.__said").await?;
        if said != json!(["echo: stream me"]) {
            return Err(format!("announced {said}"));
        }
        // The list itself is not a live region (it would read every chunk).
        let live = count(&browser, "[data-testid=messages][aria-live]").await?;
        if live != 0 {
            return Err("the message list is live".into());
        }
        // An error is announced too.
        n8n.set_mode(Mode::Error500);
        let failed = browser.send("fails").await?;
        browser.wait_message_state(&failed, "failed", UI_TIMEOUT).await?;
        let said = browser.eval("return window.__said").await?;
        if said != json!(["echo: stream me", "The workflow reported an error."]) {
            return Err(format!("announced {said}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "x22", result).await;
    browser.close().await;
}
