//! How answers show: markdown and code blocks, XSS payloads kept text,
//! and with streaming off only the complete answer.

use std::time::Duration;

use crate::count;
use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::scenario::{answered_once, finish, scene, scene_with};
use e2e::{wait_for, Result};
use testkit::n8n::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x1_markdown_answers_render_and_code_blocks_copy() {
    let (_n8n, relay, browser) = scene().await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let text = "Here is **bold** and *em*\n\n## A heading\n\n- one\n- two\n\n1. first\n\n\
                    `inline`\n\n```rust\nlet x = 1 < 2;\n```\n\n[n8n docs](https://docs.n8n.io)";
        let id = browser.send_multiline(text).await?;
        browser
            .wait_message_state(&id, "answered", UI_TIMEOUT)
            .await?;
        let bot = format!("[data-role=bot][data-id='{id}'] .markdown");
        for (css, n) in [
            ("strong", 1),
            ("em", 1),
            ("h2", 1),
            ("ul > li", 2),
            ("ol > li", 1),
            ("p > code", 1),
            ("pre > code.language-rust", 1),
            // Highlighted on the relay (issue 27): `let` is a keyword,
            // `1` and `2` numbers.
            ("pre > code.language-rust > span.tok-kw", 1),
            ("pre > code.language-rust > span.tok-num", 2),
            (".copy-code", 1),
            (
                "a[href='https://docs.n8n.io'][target=_blank][rel='noopener noreferrer']",
                1,
            ),
        ] {
            let found = count(&browser, &format!("{bot} {css}")).await?;
            if found != n {
                return Err(format!("{css}: {found} in the answer, expected {n}"));
            }
        }
        // The user's own message stays plain text.
        let user_markup = count(
            &browser,
            &format!("[data-role=user][data-id='{id}'] h2, [data-role=user] strong"),
        )
        .await?;
        if user_markup != 0 {
            return Err("the user message was rendered as markdown".into());
        }
        let code = browser.text(&format!("{bot} pre code")).await?;
        if code.trim_end() != "let x = 1 < 2;" {
            return Err(format!("code block shows {code:?}"));
        }
        browser.click(&format!("{bot} .copy-code")).await?;
        browser
            .wait_text(&format!("{bot} .copy-code"), "Copied")
            .await?;
        browser.screenshot("markdown").await?;
        Ok(())
    }
    .await;
    finish(&browser, "x1", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x2_xss_payloads_echoed_by_the_workflow_stay_text() {
    let (_n8n, relay, browser) = scene().await;
    let payloads = [
        r#"<img src=x onerror="window.__xss=1">"#,
        "[click me](javascript:window.__xss=2)",
        "<script>window.__xss=3</script>",
        r#"<a href="javascript:window.__xss=4">link</a>"#,
        "![pic](javascript:window.__xss=5)",
        r#"<svg onload="window.__xss=6"></svg>"#,
        r#"<iframe src="javascript:window.__xss=7"></iframe>"#,
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<details open ontoggle=\"window.__xss=8\">x</details>",
        "```\n</code></pre><img src=x onerror=\"window.__xss=9\">\n```",
    ];
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        for payload in payloads {
            let id = browser.send_multiline(payload).await?;
            browser.wait_message_state(&id, "answered", UI_TIMEOUT).await?;
        }
        // Clicking every link the answers contain must not run anything
        // either. A click's handlers run inside `click()`; only a
        // `javascript:` link's default action comes later, and then it
        // either runs (`__xss`) or is refused by the CSP (an event). So:
        // click, then wait until each such link has had its outcome — no
        // guessed pause. (A link to another page is not clicked: leaving
        // the page would make the check below look at a different one.)
        let scripted = browser
            .eval(
                "window.__refused = 0; \
                 document.addEventListener('securitypolicyviolation', e => { \
                   if (e.blockedURI === 'inline' || e.blockedURI.startsWith('javascript')) window.__refused += 1; }); \
                 let scripted = 0; \
                 document.querySelectorAll('.messages a').forEach(a => { \
                   const js = a.protocol === 'javascript:'; \
                   if (js) scripted += 1; \
                   if (a.hasAttribute('href') && !js) return; \
                   a.target = '_self'; a.click(); }); \
                 return scripted;",
            )
            .await?
            .as_u64()
            .ok_or("the click script returned no count")?;
        wait_for("every javascript: link's outcome", UI_TIMEOUT, || async {
            let seen = browser
                .eval("return window.__refused + (window.__xss === undefined ? 0 : 1)")
                .await?;
            Ok((seen.as_u64().unwrap_or(0) >= scripted).then_some(()))
        })
        .await?;
        let xss = browser.eval("return window.__xss === undefined ? null : window.__xss").await?;
        if !xss.is_null() {
            return Err(format!("payload {xss} ran"));
        }
        for css in [".messages img", ".messages script", ".messages svg", ".messages iframe", ".messages details", ".messages a[href^='javascript']", ".messages a[href^='data']", ".messages [onerror]", ".messages [onload]"] {
            let n = count(&browser, css).await?;
            if n != 0 {
                return Err(format!("{n} × {css} in the messages"));
            }
        }
        // The payloads are visible, as text.
        let shown = browser.text(".messages").await?;
        for needle in ["<img src=x onerror=", "<script>window.__xss=3</script>", "<svg onload="] {
            if !shown.contains(needle) {
                return Err(format!("{needle:?} not shown as text"));
            }
        }
        Ok(())
    }
    .await;
    finish(&browser, "x2", result).await;
    browser.close().await;
}

/// How many frames the page has read (`window.chatInstance.framesReceived`).
async fn frames_received(browser: &Browser) -> Result<u64> {
    let n = browser
        .eval("return window.chatInstance.framesReceived || 0")
        .await?;
    n.as_u64().ok_or_else(|| format!("framesReceived: {n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x7_streaming_off_shows_the_answer_only_when_complete() {
    let (n8n, relay, browser) = scene_with(&["--streaming", "false"], &[]).await;
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_millis(1000),
    });
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let before = frames_received(&browser).await?;
        let id = browser.send("no partial answers").await?;
        if !n8n.wait_for_calls(1).await {
            return Err("n8n never got the message".into());
        }
        // The first block's chunk reached the page (a frame beyond the
        // hello); with streaming off it is not shown. The rest follows only
        // after the stand-in's one-second gap.
        wait_for("the first chunk at the page", UI_TIMEOUT, || async {
            Ok((frames_received(&browser).await? > before).then_some(()))
        })
        .await?;
        let partial = browser.answers_for(&id).await?;
        if !partial.is_empty() {
            return Err(format!("partial answer shown: {partial:?}"));
        }
        answered_once(&browser, &id, "echo: no partial answers").await
    }
    .await;
    finish(&browser, "x7", result).await;
    browser.close().await;
}
