//! The chat as people enjoy it (issue 8): markdown answers and their
//! safety, German/English, light/dark, accessibility (axe-core), the
//! deployment's `/config.json`, the conversation controls, a long
//! conversation, and the embeddable chat bubble. Run with `cargo xtask test`.

use std::time::Duration;

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::host_site::{HostSite, SiteFile};
use e2e::scenario::{answered_once, finish, scene, scene_with};
use e2e::{wait_for, Result};
use serde_json::{json, Value};
use testkit::n8n::Mode;

const LIGHT_BG: &str = "rgb(246, 247, 249)";
const DARK_BG: &str = "rgb(21, 23, 26)";

async fn count(browser: &Browser, css: &str) -> Result<u64> {
    let n = browser
        .eval_with(
            "return document.querySelectorAll(arguments[0]).length",
            vec![Value::String(css.into())],
        )
        .await?;
    n.as_u64().ok_or_else(|| format!("count of {css}: {n}"))
}

/// How many frames the page has read (`window.chatInstance.framesReceived`).
async fn frames_received(browser: &Browser) -> Result<u64> {
    let n = browser
        .eval("return window.chatInstance.framesReceived || 0")
        .await?;
    n.as_u64().ok_or_else(|| format!("framesReceived: {n}"))
}

async fn body_background(browser: &Browser) -> Result<String> {
    let v = browser
        .eval("return getComputedStyle(document.body).backgroundColor")
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// Waits until the page's background is `colour` (a theme applied).
async fn wait_background(browser: &Browser, colour: &str) -> Result {
    wait_for(&format!("background {colour}"), UI_TIMEOUT, || async {
        Ok((body_background(browser).await? == colour).then_some(()))
    })
    .await
}

async fn no_axe_violations(browser: &Browser, when: &str) -> Result {
    let violations = browser.axe_violations().await?;
    if violations.is_empty() {
        Ok(())
    } else {
        Err(format!("axe, {when}: {violations:#?}"))
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x8_copy_clear_history_and_new_chat() {
    let (n8n, relay, browser) = scene().await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let a = browser.send("first").await?;
        answered_once(&browser, &a, "echo: first").await?;
        let copy = format!("[data-role=bot][data-id='{a}'] [data-testid=copy-message]");
        browser.click(&copy).await?;
        browser.wait_text(&copy, "Copied").await?;

        let session = browser.eval("return window.chatInstance.sessionId").await?;
        browser.click("[data-testid=clear-history]").await?;
        wait_for("an empty list", UI_TIMEOUT, || async {
            Ok((browser.messages().await?.is_empty()).then_some(()))
        })
        .await?;
        let b = browser.send("second").await?;
        answered_once(&browser, &b, "echo: second").await?;
        let after_clear = browser.eval("return window.chatInstance.sessionId").await?;
        if after_clear != session {
            return Err("clearing the history must keep the session".into());
        }

        browser.click("[data-testid=new-chat]").await?;
        wait_for("a new session", UI_TIMEOUT, || async {
            let now = browser.eval("return window.chatInstance.sessionId").await?;
            Ok(
                (now != session && now.is_string() && browser.status().await? == "online")
                    .then_some(()),
            )
        })
        .await?;
        if !browser.messages().await?.is_empty() {
            return Err("a new chat starts empty".into());
        }
        let c = browser.send("third").await?;
        answered_once(&browser, &c, "echo: third").await?;
        let sessions: Vec<Value> = n8n
            .requests()
            .iter()
            .map(|r| r.body["sessionId"].clone())
            .collect();
        if sessions[0] != sessions[1] || sessions[1] == sessions[2] {
            return Err(format!("sessions sent to n8n: {sessions:?}"));
        }
        // The new session survives a reload.
        let new_session = browser.eval("return window.chatInstance.sessionId").await?;
        browser.open_online(&relay.page_url("")).await?;
        let reloaded = browser.eval("return window.chatInstance.sessionId").await?;
        if reloaded != new_session {
            return Err(format!("after reload {reloaded}, expected {new_session}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "x8", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x9_a_thousand_messages_render_and_scroll_smoothly() {
    let (_n8n, relay, browser) = scene().await;
    let mut lines = Vec::new();
    for i in 0..500 {
        lines.push(json!({"id": format!("m{i}"), "role": "user", "text": format!("Question number {i}"), "delivery": "answered"}));
        lines.push(json!({"id": format!("m{i}"), "role": "bot", "text": format!("Answer **{i}** with a list:\n\n- a\n- b\n\n`code {i}`")}));
    }
    let stored = json!({ "lines": lines }).to_string();
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        browser
            .eval_with(
                "localStorage.setItem('n8nChat.conversation', arguments[0]); return true;",
                vec![Value::String(stored)],
            )
            .await?;
        let started = std::time::Instant::now();
        browser.open(&relay.page_url("")).await?;
        wait_for("1 000 messages", Duration::from_secs(20), || async {
            Ok((count(&browser, "[data-testid=message]").await? == 1000).then_some(()))
        })
        .await?;
        let render = started.elapsed();
        // Scroll from the bottom to the top in 40 steps, one per frame;
        // the longest frame says whether it janks.
        let frames = browser
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   const list = document.querySelector('[data-testid=messages]');
                   const step = list.scrollHeight / 40; const times = []; let last = performance.now(); let i = 0;
                   function frame(now) { times.push(now - last); last = now; list.scrollTop = list.scrollHeight - step * i;
                     if (++i <= 40) requestAnimationFrame(frame); else done(times.slice(1)); }
                   requestAnimationFrame(frame);"#,
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut frames: Vec<f64> = frames.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
        frames.sort_by(f64::total_cmp);
        let worst = frames.last().copied().unwrap_or(f64::MAX);
        let median = frames.get(frames.len() / 2).copied().unwrap_or(f64::MAX);
        eprintln!("1 000 messages: rendered in {render:?}; scroll frames median {median:.1} ms, worst {worst:.1} ms");
        if render > Duration::from_secs(5) {
            return Err(format!("rendering 1 000 messages took {render:?}"));
        }
        if median > 50.0 || worst > 250.0 {
            return Err(format!("scrolling janks: median frame {median:.1} ms, worst {worst:.1} ms"));
        }
        // Still a live chat: a new message goes out and is answered.
        let id = browser.send("one more").await?;
        answered_once(&browser, &id, "echo: one more").await
    }
    .await;
    finish(&browser, "x9", result).await;
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

// ---- Languages, right-to-left and accessibility (issue 26) ----

/// Presses keys (WebDriver key actions: the focused element gets them, as
/// from a keyboard; no pointer is involved).
async fn keys(browser: &Browser, text: &str) -> Result {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for c in text.chars() {
        actions = actions
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c });
    }
    browser
        .client
        .perform_actions(actions)
        .await
        .map_err(|e| e.to_string())
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";

/// Tabs (at most 80 times) until the focused element matches `css`.
async fn tab_to(browser: &Browser, css: &str) -> Result {
    for _ in 0..80 {
        let here = browser
            .eval_with(
                "const a = document.activeElement; return !!(a && a.matches(arguments[0]))",
                vec![Value::String(css.into())],
            )
            .await?;
        if here == Value::Bool(true) {
            // Focus is visible where it lands (an outline, not just colour).
            let outline = browser
                .eval("const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 || getComputedStyle(document.activeElement.parentElement).outlineStyle !== 'none'")
                .await?;
            if outline != Value::Bool(true) {
                return Err(format!("no visible focus on {css}"));
            }
            return Ok(());
        }
        keys(browser, TAB).await?;
    }
    Err(format!("Tab never reached {css}"))
}

/// Opens the conversation list with the keyboard when it is a drawer
/// (its toggle shown and the list closed); a side column needs nothing.
async fn open_list_by_keyboard(browser: &Browser) -> Result {
    let closed_drawer = browser
        .eval("const t = document.querySelector('[data-testid=conversations-toggle]'); return !!(t && t.offsetParent !== null && t.getAttribute('aria-expanded') !== 'true')")
        .await?;
    if closed_drawer == Value::Bool(true) {
        tab_to(browser, "[data-testid=conversations-toggle]").await?;
        keys(browser, ENTER).await?;
    }
    Ok(())
}

/// Counts every pointer or mouse event from now on (`window.__pointer`).
async fn watch_pointer(browser: &Browser) -> Result {
    browser
        .eval("window.__pointer = 0; for (const t of ['pointerdown','mousedown','mouseup','pointerup']) window.addEventListener(t, () => window.__pointer++, true); return true")
        .await
        .map(|_| ())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn x23_keyboard_only_send_stop_rate_attach_approve_focus_and_switch_conversation() {
    use e2e::relay::Relay;
    use testkit::n8n::{Pace, StandIn, Step};
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_secs(5),
    });
    let relay = Relay::start(
        Some(&n8n.url("/webhook/chat")),
        &[
            "--feedback-url",
            &n8n.url("/webhook/feedback"),
            "--allow-file-uploads",
            "--respond-to-chat",
            "--run-settle",
            "50ms",
        ],
    )
    .await
    .expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        watch_pointer(&browser).await?;
        // Send: Tab to the input, type, Enter.
        tab_to(&browser, "[data-testid=message-input]").await?;
        let before = browser.user_ids().await?;
        keys(&browser, "a long story").await?;
        keys(&browser, ENTER).await?;
        let id = wait_for("the sent message", UI_TIMEOUT, || async {
            Ok(browser.user_ids().await?.into_iter().find(|i| !before.contains(i)))
        })
        .await?;
        // Stop: reachable by Tab, pressed with Enter.
        tab_to(&browser, "[data-testid=stop]").await?;
        keys(&browser, ENTER).await?;
        browser.wait_message_state(&id, "stopped", UI_TIMEOUT).await?;
        // Rate an answer with Space.
        n8n.set_mode(Mode::Echo);
        tab_to(&browser, "[data-testid=message-input]").await?;
        keys(&browser, "rate me").await?;
        keys(&browser, ENTER).await?;
        wait_for("the answer's rating", UI_TIMEOUT, || async {
            Ok((count(&browser, "[data-testid=rate-up]").await? > 0).then_some(()))
        })
        .await?;
        tab_to(&browser, "[data-testid=rate-up]").await?;
        keys(&browser, SPACE).await?;
        wait_for("the rating pressed", UI_TIMEOUT, || async {
            let n = count(&browser, "[data-testid=rate-up][aria-pressed=true]").await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        // Attach: the file input takes focus and Space opens the picker
        // (caught here: a headless browser cannot show one).
        browser
            .eval("window.__picked = 0; document.querySelector('[data-testid=attach]').addEventListener('click', e => { window.__picked++; e.preventDefault(); }); return true")
            .await?;
        tab_to(&browser, "[data-testid=attach]").await?;
        keys(&browser, SPACE).await?;
        let picked = browser.eval("return window.__picked").await?;
        if picked != 1 {
            return Err(format!("the picker opened {picked} times"));
        }
        // Approve: a run asks with buttons; Tab to one and press Enter.
        n8n.set_mode(Mode::RespondToChat(vec![
            Step::Approve {
                text: "Deploy now?".into(),
                buttons: vec!["Yes".into(), "No".into()],
                block: true,
            },
            Step::Send("Deployed.".into()),
        ]));
        n8n.set_pace(Pace {
            poll: Duration::from_millis(200),
            heartbeat: Duration::from_millis(500),
            cancel_after: Duration::from_secs(5),
        });
        tab_to(&browser, "[data-testid=message-input]").await?;
        keys(&browser, "deploy").await?;
        keys(&browser, ENTER).await?;
        wait_for("the approval buttons", UI_TIMEOUT, || async {
            let n = count(&browser, "[data-testid=choice]:not([disabled])").await?;
            Ok((n == 2).then_some(()))
        })
        .await?;
        tab_to(&browser, "[data-testid=choice]:not([disabled])").await?;
        keys(&browser, ENTER).await?;
        wait_for("the run's answer", UI_TIMEOUT, || async {
            let text = browser.text("[data-testid=messages]").await?;
            Ok(text.contains("Deployed.").then_some(()))
        })
        .await?;
        // The option to move focus to each new answer, switched on by keyboard.
        n8n.set_mode(Mode::Echo);
        tab_to(&browser, "[data-testid=focus-answers]").await?;
        keys(&browser, SPACE).await?;
        tab_to(&browser, "[data-testid=message-input]").await?;
        keys(&browser, "where am I").await?;
        keys(&browser, ENTER).await?;
        wait_for("focus on the new answer", UI_TIMEOUT, || async {
            let focused = browser
                .eval("const a = document.activeElement; return a && a.matches('[data-testid=message][data-role=bot]') ? a.innerText : null")
                .await?;
            Ok(focused
                .as_str()
                .filter(|t| t.contains("echo: where am I"))
                .map(|_| ()))
        })
        .await?;
        // Switch conversation: a new one, then back, by keyboard alone (in
        // a narrow window the list is a drawer its toggle opens first).
        let first = browser
            .eval("const e = document.querySelector('[data-testid=conversation]'); return e && e.dataset.id")
            .await?;
        let first = first
            .as_str()
            .ok_or("no conversation entry to come back to")?
            .to_owned();
        open_list_by_keyboard(&browser).await?;
        tab_to(&browser, "[data-testid=new-conversation]").await?;
        keys(&browser, ENTER).await?;
        wait_for("the new, empty conversation", UI_TIMEOUT, || async {
            Ok((count(&browser, "[data-testid=message]").await? == 0).then_some(()))
        })
        .await?;
        open_list_by_keyboard(&browser).await?;
        tab_to(
            &browser,
            &format!("[data-testid=conversation][data-id='{first}'] [data-testid=conversation-switch]"),
        )
        .await?;
        keys(&browser, ENTER).await?;
        wait_for("the first conversation again", UI_TIMEOUT, || async {
            let text = browser.text("[data-testid=messages]").await?;
            Ok(text.contains("echo: where am I").then_some(()))
        })
        .await?;
        let pointer = browser.eval("return window.__pointer").await?;
        if pointer != 0 {
            return Err(format!("{pointer} pointer events in a keyboard-only session"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "x23", result).await;
    browser.close().await;
}
