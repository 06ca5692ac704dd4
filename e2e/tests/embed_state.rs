//! The embedded chat's state where browsers keep or refuse third-party
//! storage (security round 3, item 4).
//!
//! The shop is served as `http://localhost:<port>` and the relay at
//! `http://127.0.0.1:<port>`: two sites to the browser, so the chat's
//! iframe is a third-party frame, as on a real shop. The ad is a third
//! site, `http://127.0.0.2:<port>`.
//!
//! - s1: the shop embeds the chat with `embed.js`, the visitor sends, goes
//!   offline, queues a message, the shop page reloads: the conversation and
//!   the queued message are still there and the queued one is delivered in
//!   the same session — in Chromium with third-party storage blocked (the
//!   test first proves `localStorage` throws in the frame), Firefox and
//!   WebKitGTK.
//! - s2: an ad frame inside the shop frames the chat with `host=<ad>` and
//!   posts `send` every 1.5 s: its chat has a session of its own, it hears
//!   none of the visitor's answers, and nothing it sends enters the
//!   visitor's conversation (Chromium blocked, Firefox, WebKitGTK: in Firefox the iframe's
//!   storage is partitioned by the top-level site alone, so before the fix
//!   the ad's chat took the visitor's session).
//! - s3: commands from another origin, or from the right origin but another
//!   window, are refused.
//! - s4: `--embed-origin` refuses an unlisted host.
//! - s5: an ad framing the chat with the *shop* as `host` is refused where
//!   the browser tells the parent's origin (`location.ancestorOrigins`).
//! - s6: a reload keeps every conversation of the embedded chat, not only
//!   the one shown (the list and each parked conversation are the host's
//!   to keep too).
//!
//! Suites for engines whose tools are not given are skipped with a note.

use e2e::browser::{Browser, Engine, UI_TIMEOUT};
use e2e::host_site::{HostSite, SiteFile};
use e2e::relay::Relay;
use e2e::scenario::finish;
use e2e::{wait_for, Result};
use serde_json::Value;
use testkit::n8n::StandIn;

/// Records every `n8nChat` event in `window.__events`.
const HOST_JS: &str = "window.__events = [];\n\
    document.addEventListener('DOMContentLoaded', function () {\n\
      ['ready', 'open', 'close', 'message', 'unread'].forEach(function (name) {\n\
        n8nChat.on(name, function (value) { __events.push({ name: name, value: value === undefined ? null : value }); });\n\
      });\n\
    });";

fn shop_page(relay_origin: &str, extra_body: &str) -> String {
    format!(
        "<!doctype html><html lang=en><head><title>Shop</title><script src=\"/host.js\"></script>\
         <script src=\"{relay_origin}/embed.js\" defer></script></head>\
         <body><h1>Some shop</h1>{extra_body}</body></html>"
    )
}

/// The stand-in n8n and a relay forwarding to it; the relay's origin.
async fn relay_to_n8n() -> (StandIn, Relay, String) {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(Some(&n8n.url("/webhook/chat")), &[])
        .await
        .expect("relay");
    let relay_origin = format!("http://{}", relay.addr);
    (n8n, relay, relay_origin)
}

/// The shop at `http://localhost:<port>`, embedding the chat of the relay
/// at `relay_origin` with `embed.js` and recording its events.
async fn shop(relay_origin: &str) -> HostSite {
    site(
        [127, 0, 0, 1],
        Some("localhost"),
        vec![
            SiteFile::html("/", shop_page(relay_origin, "")),
            SiteFile::js("/host.js", HOST_JS.into()),
        ],
    )
    .await
}

/// A site at `http://<name>:<port>` on `ip`.
async fn site(ip: [u8; 4], name: Option<&str>, files: Vec<SiteFile>) -> HostSite {
    HostSite::serve_at(std::net::SocketAddr::from((ip, 0)), name, files, Vec::new())
        .await
        .expect("site")
}

async fn site_at(port: u16, files: Vec<SiteFile>) -> HostSite {
    HostSite::serve_at(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Some("localhost"),
        files,
        Vec::new(),
    )
    .await
    .expect("site")
}

async fn events(browser: &Browser) -> Result<Vec<Value>> {
    Ok(browser
        .eval("return window.__events || []")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default())
}

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

async fn enter(browser: &Browser, css: &str) -> Result {
    let frame = browser
        .client
        .find(fantoccini::Locator::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))?;
    frame.enter_frame().await.map_err(|e| e.to_string())
}

async fn leave(browser: &Browser) -> Result {
    browser
        .client
        .enter_parent_frame()
        .await
        .map_err(|e| e.to_string())
}

/// The texts of the chat's message lines (inside its frame).
async fn texts(browser: &Browser) -> Result<Vec<String>> {
    Ok(browser
        .messages()
        .await?
        .into_iter()
        .map(|m| m.text)
        .collect())
}

async fn wait_texts(browser: &Browser, wanted: &[&str]) -> Result<Vec<String>> {
    wait_for(&format!("the lines {wanted:?}"), UI_TIMEOUT, || async {
        let now = texts(browser).await?;
        Ok(wanted
            .iter()
            .all(|w| now.iter().any(|t| t.contains(w)))
            .then_some(now))
    })
    .await
}

/// The session id n8n saw with `text`.
fn session_of(n8n: &StandIn, text: &str) -> Option<String> {
    n8n.requests()
        .into_iter()
        .find(|r| r.body["chatInput"] == text)
        .and_then(|r| r.body["sessionId"].as_str().map(str::to_owned))
}

/// s1: reload keeps the conversation and the offline-queued message.
async fn reload_keeps_the_conversation(engine: Engine, name: &str) {
    if engine.skipped() {
        return;
    }
    let n8n = StandIn::start().await.expect("stand-in");
    let (relay, proxy) = Relay::start_behind_proxy(Some(&n8n.url("/webhook/chat")), &[])
        .await
        .expect("relay");
    let relay_origin = format!("http://{}", relay.addr);
    let shop = shop(&relay_origin).await;
    let browser = Browser::start_engine(engine).await.expect("browser");
    let result = async {
        browser.client.goto(&shop.url("/")).await.map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        enter(&browser, "iframe[data-n8n-chat]").await?;
        let own = browser
            .eval("try { localStorage.getItem('x'); return 'readable'; } catch (e) { return e.name; }")
            .await?;
        // The condition under test: the chat's frame has no storage.
        if engine == Engine::ChromiumThirdPartyBlocked && own != "SecurityError" {
            return Err(format!("third-party storage is not blocked: {own}"));
        }
        let notes = browser
            .eval("return document.querySelectorAll('[data-testid=not-kept-note]').length")
            .await?;
        if notes != 0 {
            return Err("the chat says it keeps nothing, though embed.js keeps it".into());
        }
        leave(&browser).await?;
        browser
            .eval("n8nChat.open(); n8nChat.send('before the reload'); return true")
            .await?;
        event(&browser, "message", |v| v["text"] == "echo: before the reload").await?;

        // Offline: the message waits in the outbox.
        proxy.set_down(true);
        enter(&browser, "iframe[data-n8n-chat]").await?;
        browser.wait_state(&["reconnecting", "offline"]).await?;
        leave(&browser).await?;
        browser.eval("n8nChat.send('queued while offline'); return true").await?;
        // It is in the shop's own storage (where embed.js keeps the chat's).
        let key = format!("n8nChat@{relay_origin}|n8nChat.conversation");
        wait_for("the queued message in the shop's storage", UI_TIMEOUT, || async {
            let saved = browser
                .eval_with("return localStorage.getItem(arguments[0]) || ''", vec![key.clone().into()])
                .await?;
            Ok(saved
                .as_str()
                .is_some_and(|s| s.contains("queued while offline"))
                .then_some(()))
        })
        .await?;

        browser.client.refresh().await.map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        browser.eval("n8nChat.open(); return true").await?;
        enter(&browser, "iframe[data-n8n-chat]").await?;
        wait_texts(
            &browser,
            &["before the reload", "echo: before the reload", "queued while offline"],
        )
        .await?;
        leave(&browser).await?;

        proxy.set_down(false);
        event(&browser, "message", |v| v["text"] == "echo: queued while offline").await?;
        let first = session_of(&n8n, "before the reload").ok_or("n8n missed the first")?;
        let queued = session_of(&n8n, "queued while offline").ok_or("n8n missed the queued")?;
        if first != queued {
            return Err(format!("the reload lost the session: {first} then {queued}"));
        }
        let inputs = n8n.inputs();
        if inputs.iter().filter(|t| *t == "queued while offline").count() != 1 {
            return Err(format!("n8n got {inputs:?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, name, result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s1_chromium_third_party_blocked_reload_keeps_the_conversation() {
    reload_keeps_the_conversation(Engine::ChromiumThirdPartyBlocked, "s1-chromium").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Firefox: run `cargo xtask test`"]
async fn s1_firefox_reload_keeps_the_conversation() {
    reload_keeps_the_conversation(Engine::Firefox, "s1-firefox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and WebKitGTK: run `cargo xtask test`"]
async fn s1_webkit_reload_keeps_the_conversation() {
    reload_keeps_the_conversation(Engine::WebKit, "s1-webkit").await;
}

/// The ad: frames the chat naming itself as the host, sends every 1.5 s,
/// and records whatever the chat tells it.
fn ad_files(relay_origin: &str, ad_origin: &str) -> Vec<SiteFile> {
    let page = format!(
        "<!doctype html><html lang=en><head><title>Ad</title></head><body>\
         <iframe id=chat title=chat src=\"{relay_origin}/?mode=window&host={ad_origin}&open=1\"></iframe>\
         <script src=\"/ad.js\"></script></body></html>"
    );
    let script = format!(
        "window.__heard = []; window.__sent = 0;\n\
         addEventListener('message', function (e) {{ if (e.origin === '{relay_origin}') __heard.push(JSON.stringify(e.data)); }});\n\
         setInterval(function () {{\n\
           __sent += 1;\n\
           document.getElementById('chat').contentWindow.postMessage(\n\
             {{ type: 'n8n-chat-command', command: 'send', text: 'ad spam ' + __sent }}, '{relay_origin}');\n\
         }}, 1500);"
    );
    vec![
        SiteFile::html("/ad.html", page),
        SiteFile::js("/ad.js", script),
    ]
}

/// s2: an ad inside the shop gets a chat of its own.
async fn an_ad_gets_a_chat_of_its_own(engine: Engine, name: &str) {
    if engine.skipped() {
        return;
    }
    let (n8n, _relay, relay_origin) = relay_to_n8n().await;
    let ad_port = e2e::process::free_port();
    let ad_origin = format!("http://127.0.0.2:{ad_port}");
    let ad = HostSite::serve_at(
        std::net::SocketAddr::from(([127, 0, 0, 2], ad_port)),
        None,
        ad_files(&relay_origin, &ad_origin),
        Vec::new(),
    )
    .await
    .expect("ad site");
    let shop = site(
        [127, 0, 0, 1],
        Some("localhost"),
        vec![
            SiteFile::html(
                "/",
                shop_page(
                    &relay_origin,
                    &format!(
                        "<iframe id=ad title=ad src=\"{}\"></iframe>",
                        ad.url("/ad.html")
                    ),
                ),
            ),
            SiteFile::js("/host.js", HOST_JS.into()),
        ],
    )
    .await;
    let browser = Browser::start_engine(engine).await.expect("browser");
    let ad_spam = |n8n: &StandIn| {
        n8n.requests()
            .into_iter()
            .filter(|r| {
                r.body["chatInput"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("ad spam"))
            })
            .collect::<Vec<_>>()
    };
    let result = async {
        browser
            .client
            .goto(&shop.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        browser
            .eval("n8nChat.open(); n8nChat.send('visitor hello'); return true")
            .await?;
        event(&browser, "message", |v| v["text"] == "echo: visitor hello").await?;
        // Reloaded, the ad's chat starts where the visitor's session is
        // stored (before the fix: the iframe's storage, which Firefox
        // partitions by the shop alone).
        browser.client.refresh().await.map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        let before = ad_spam(&n8n).len();
        wait_for(
            "the ad's sends after the reload",
            std::time::Duration::from_secs(15),
            || async { Ok((ad_spam(&n8n).len() >= before + 2).then_some(())) },
        )
        .await?;
        browser
            .eval("n8nChat.send('visitor again'); return true")
            .await?;
        event(&browser, "message", |v| v["text"] == "echo: visitor again").await?;
        let visitor = session_of(&n8n, "visitor hello").ok_or("n8n missed the visitor")?;
        let again = session_of(&n8n, "visitor again").ok_or("n8n missed the visitor")?;
        let spam = ad_spam(&n8n);
        let visitors = |r: &&testkit::n8n::Recorded| {
            r.body["sessionId"] == visitor.as_str() || r.body["sessionId"] == again.as_str()
        };
        if let Some(shared) = spam.iter().find(visitors) {
            return Err(format!(
                "the ad's {} entered the visitor's session",
                shared.body["chatInput"]
            ));
        }
        if again != visitor {
            return Err("the visitor's session did not survive the reload".into());
        }
        // The visitor's chat shows none of it.
        enter(&browser, "iframe[data-n8n-chat]").await?;
        let shown = wait_texts(&browser, &["visitor again"]).await?;
        if let Some(line) = shown.iter().find(|t| t.contains("ad spam")) {
            return Err(format!("the visitor's chat shows the ad's {line:?}"));
        }
        leave(&browser).await?;
        // The ad heard none of the visitor's answers.
        enter(&browser, "iframe#ad").await?;
        let heard = browser.eval("return window.__heard").await?;
        // The ad does not keep its chat's state (no embed.js): its chat
        // says so rather than losing it silently.
        enter(&browser, "iframe#chat").await?;
        let note = browser
            .eval("return document.querySelectorAll('[data-testid=not-kept-note]').length")
            .await?;
        leave(&browser).await?;
        leave(&browser).await?;
        if note != 1 {
            return Err("the ad's chat keeps nothing but does not say so".into());
        }
        let heard = heard.to_string();
        if heard.contains("visitor") {
            return Err(format!("the ad heard the visitor: {heard}"));
        }
        if !heard.contains("echo: ad spam") {
            return Err(format!("the ad's own chat did not work: {heard}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, name, result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s2_chromium_third_party_blocked_an_ad_gets_a_chat_of_its_own() {
    an_ad_gets_a_chat_of_its_own(Engine::ChromiumThirdPartyBlocked, "s2-chromium").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Firefox: run `cargo xtask test`"]
async fn s2_firefox_an_ad_gets_a_chat_of_its_own() {
    an_ad_gets_a_chat_of_its_own(Engine::Firefox, "s2-firefox").await;
}

/// A frame posting `send` to the shop's chat every 200 ms, counting.
fn forger_js(relay_origin: &str, text: &str, same_origin: bool) -> String {
    // The sibling (same origin as the shop) finds the chat's frame in the
    // shop's document; the other origin can only walk `parent.frames`.
    let targets = if same_origin {
        "[parent.document.querySelector('iframe[data-n8n-chat]').contentWindow]"
    } else {
        "Array.from({ length: parent.frames.length }, function (_, i) { return parent.frames[i]; })"
    };
    format!(
        "window.__posted = 0;\n\
         setInterval(function () {{\n\
           try {{ {targets}.forEach(function (w) {{\n\
             if (w && w !== window) w.postMessage({{ type: 'n8n-chat-command', command: 'send', text: '{text}' }}, '*');\n\
           }}); __posted += 1; }} catch (e) {{}}\n\
         }}, 200);\n\
         void '{relay_origin}';"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s3_commands_from_another_origin_or_another_window_are_refused() {
    let (n8n, _relay, relay_origin) = relay_to_n8n().await;
    let other = site(
        [127, 0, 0, 2],
        None,
        vec![
            SiteFile::html(
                "/forger.html",
                "<!doctype html><title>x</title><script src=\"/forger.js\"></script>".into(),
            ),
            SiteFile::js(
                "/forger.js",
                forger_js(&relay_origin, "forged by another origin", false),
            ),
        ],
    )
    .await;
    let shop = site(
        [127, 0, 0, 1],
        Some("localhost"),
        vec![
            SiteFile::html(
                "/",
                shop_page(
                    &relay_origin,
                    &format!(
                        "<iframe id=sibling title=sibling src=\"/sibling.html\"></iframe>\
                         <iframe id=other title=other src=\"{}\"></iframe>",
                        other.url("/forger.html")
                    ),
                ),
            ),
            SiteFile::js("/host.js", HOST_JS.into()),
            SiteFile::html(
                "/sibling.html",
                "<!doctype html><title>x</title><script src=\"/sibling.js\"></script>".into(),
            ),
            SiteFile::js(
                "/sibling.js",
                forger_js(&relay_origin, "forged by another window", true),
            ),
        ],
    )
    .await;
    let browser = Browser::start_engine(Engine::Chromium)
        .await
        .expect("browser");
    let result = async {
        browser
            .client
            .goto(&shop.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        // Both forgers have posted to the ready chat several times.
        let posted = |css: &'static str| {
            let browser = &browser;
            async move {
                enter(browser, css).await?;
                let n = browser.eval("return window.__posted || 0").await;
                leave(browser).await?;
                Ok::<u64, String>(n?.as_u64().unwrap_or(0))
            }
        };
        let start = (
            posted("iframe#sibling").await?,
            posted("iframe#other").await?,
        );
        wait_for("the forgers' posts", UI_TIMEOUT, || async {
            let now = (
                posted("iframe#sibling").await?,
                posted("iframe#other").await?,
            );
            Ok((now.0 >= start.0 + 5 && now.1 >= start.1 + 5).then_some(()))
        })
        .await?;
        browser.eval("n8nChat.send('legit'); return true").await?;
        event(&browser, "message", |v| v["text"] == "echo: legit").await?;
        let inputs = n8n.inputs();
        if inputs != ["legit"] {
            return Err(format!("n8n got {inputs:?}: a forged command was taken"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "s3", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s4_an_unlisted_host_gets_no_embed() {
    let n8n = StandIn::start().await.expect("stand-in");
    let shop_port = e2e::process::free_port();
    let shop_origin = format!("http://localhost:{shop_port}");
    let unlisted_port = e2e::process::free_port();
    let unlisted_origin = format!("http://127.0.0.2:{unlisted_port}");
    // frame-ancestors lets the unlisted host frame the page, so what is
    // tested is the page's own refusal.
    let ancestors = format!("'self' {shop_origin} {unlisted_origin}");
    let relay = Relay::start(
        Some(&n8n.url("/webhook/chat")),
        &[
            "--embed-origin",
            &shop_origin,
            "--frame-ancestors",
            &ancestors,
        ],
    )
    .await
    .expect("relay");
    let relay_origin = format!("http://{}", relay.addr);
    let files = || {
        vec![
            SiteFile::html("/", shop_page(&relay_origin, "")),
            SiteFile::js("/host.js", HOST_JS.into()),
        ]
    };
    let unlisted = HostSite::serve_at(
        std::net::SocketAddr::from(([127, 0, 0, 2], unlisted_port)),
        None,
        files(),
        Vec::new(),
    )
    .await
    .expect("unlisted site");
    let shop = site_at(shop_port, files()).await;
    let browser = Browser::start_engine(Engine::Chromium)
        .await
        .expect("browser");
    let result = async {
        browser
            .client
            .goto(&unlisted.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        browser
            .eval("n8nChat.open(); n8nChat.send('from an unlisted host'); return true")
            .await?;
        enter(&browser, "iframe[data-n8n-chat]").await?;
        wait_for("the refusal note", UI_TIMEOUT, || async {
            let n = browser
                .eval("return document.querySelectorAll('[data-testid=embed-refused-note]').length")
                .await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        leave(&browser).await?;
        if !events(&browser).await?.is_empty() {
            return Err(format!(
                "the refused chat told the unlisted host: {:?}",
                events(&browser).await?
            ));
        }
        // The listed shop gets its chat (and the unlisted send never came).
        browser
            .client
            .goto(&shop.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        browser
            .eval("n8nChat.send('from the shop'); return true")
            .await?;
        event(&browser, "message", |v| v["text"] == "echo: from the shop").await?;
        let inputs = n8n.inputs();
        if inputs != ["from the shop"] {
            return Err(format!("n8n got {inputs:?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "s4", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and WebKitGTK: run `cargo xtask test`"]
async fn s2_webkit_an_ad_gets_a_chat_of_its_own() {
    an_ad_gets_a_chat_of_its_own(Engine::WebKit, "s2-webkit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s5_an_ad_naming_the_shop_as_host_gets_no_embed() {
    let (_n8n, _relay, relay_origin) = relay_to_n8n().await;
    let shop_port = e2e::process::free_port();
    let shop_origin = format!("http://localhost:{shop_port}");
    // The ad frames the chat claiming to be the shop.
    let ad = site(
        [127, 0, 0, 2],
        None,
        vec![SiteFile::html(
            "/ad.html",
            format!(
                "<!doctype html><title>Ad</title>\
                 <iframe id=chat title=chat src=\"{relay_origin}/?mode=window&host={shop_origin}\"></iframe>"
            ),
        )],
    )
    .await;
    let shop = site_at(
        shop_port,
        vec![
            SiteFile::html(
                "/",
                shop_page(
                    &relay_origin,
                    &format!(
                        "<iframe id=ad title=ad src=\"{}\"></iframe>",
                        ad.url("/ad.html")
                    ),
                ),
            ),
            SiteFile::js("/host.js", HOST_JS.into()),
        ],
    )
    .await;
    let browser = Browser::start_engine(Engine::Chromium)
        .await
        .expect("browser");
    let result = async {
        browser
            .client
            .goto(&shop.url("/"))
            .await
            .map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        enter(&browser, "iframe#ad").await?;
        enter(&browser, "iframe#chat").await?;
        // Its parent is not the host it names (`location.ancestorOrigins`).
        wait_for("the refusal note", UI_TIMEOUT, || async {
            let n = browser
                .eval("return document.querySelectorAll('[data-testid=embed-refused-note]').length")
                .await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        leave(&browser).await?;
        leave(&browser).await?;
        // Only the shop's own chat told the shop it was ready.
        let readies = events(&browser)
            .await?
            .into_iter()
            .filter(|e| e["name"] == "ready")
            .count();
        if readies != 1 {
            return Err(format!("{readies} ready events at the shop"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "s5", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn s6_a_reload_keeps_every_conversation_of_the_embedded_chat() {
    let engine = Engine::ChromiumThirdPartyBlocked;
    if engine.skipped() {
        return;
    }
    let (_n8n, _relay, relay_origin) = relay_to_n8n().await;
    let shop = shop(&relay_origin).await;
    let browser = Browser::start_engine(engine).await.expect("browser");
    let result = async {
        browser.client.goto(&shop.url("/")).await.map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        browser
            .eval("n8nChat.open(); n8nChat.send('first talk'); return true")
            .await?;
        event(&browser, "message", |v| v["text"] == "echo: first talk").await?;
        // A new chat: the first one is parked in the list.
        enter(&browser, "iframe[data-n8n-chat]").await?;
        browser.click("[data-testid=new-chat]").await?;
        leave(&browser).await?;
        browser.eval("n8nChat.send('second talk'); return true").await?;
        event(&browser, "message", |v| v["text"] == "echo: second talk").await?;
        // The parked conversation is in the shop's storage.
        let parked = format!("n8nChat@{relay_origin}|n8nChat.conversation.");
        wait_for("the parked conversation in the shop's storage", UI_TIMEOUT, || async {
            let found = browser
                .eval_with(
                    "for (let i = 0; i < localStorage.length; i++) {\
                       const k = localStorage.key(i);\
                       if (k.startsWith(arguments[0]) && localStorage.getItem(k).includes('first talk')) return true;\
                     } return false;",
                    vec![parked.clone().into()],
                )
                .await?;
            Ok((found == true).then_some(()))
        })
        .await?;

        browser.client.refresh().await.map_err(|e| e.to_string())?;
        event(&browser, "ready", |_| true).await?;
        browser.eval("n8nChat.open(); return true").await?;
        enter(&browser, "iframe[data-n8n-chat]").await?;
        wait_texts(&browser, &["second talk", "echo: second talk"]).await?;
        wait_for("both conversations listed", UI_TIMEOUT, || async {
            let n = browser
                .eval("return document.querySelectorAll('[data-testid=conversation]').length")
                .await?;
            Ok((n == 2).then_some(()))
        })
        .await?;
        browser.click("[data-testid=conversations-toggle]").await?;
        browser
            .click("[data-testid=conversation]:not([data-current=true]) [data-testid=conversation-switch]")
            .await?;
        wait_texts(&browser, &["first talk", "echo: first talk"]).await?;
        leave(&browser).await?;
        Ok(())
    }
    .await;
    finish(&browser, "s6", result).await;
    browser.close().await;
}
