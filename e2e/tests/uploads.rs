//! Files in the browser (issue 16): attached by the picker, by a drop and
//! by a paste; thumbnails; what the relay would refuse refused first with
//! a sentence, and what it refuses anyway shown as an error; a message
//! with a file queued while the relay is away, answered once after. The
//! stand-in n8n reads the multipart as n8n's Chat Trigger does and echoes
//! what the workflow saw. Picking, sending and the reload (u1) also run in
//! Firefox and WebKitGTK. Run with `cargo xtask test`.

use e2e::browser::{Browser, Engine, UI_TIMEOUT};
use e2e::files::{self, draft_chips, message_chips, WebFile};
use e2e::proxy::FreezingProxy;
use e2e::relay::Relay;
use e2e::scenario::{answered_once, finish, scene_in, scene_with};
use e2e::{wait_for, Result};
use testkit::multipart::pretty_bytes;
use testkit::n8n::StandIn;
use testkit::{DOT_PNG, TINY_PDF};

const FLAGS: &[&str] = &[
    "--allow-file-uploads",
    "--allowed-file-types",
    "image/*,application/pdf",
    "--max-upload-bytes",
    "20000",
    "--max-files-per-message",
    "3",
];

/// What the stand-in echoes for one file.
fn seen(name: &str, mime: &str, bytes: &[u8]) -> String {
    format!("{name} ({mime}, {})", pretty_bytes(bytes.len() as u64))
}

/// Files the relay holds now (`/healthz`).
async fn stored_uploads(relay: &Relay) -> Result<u64> {
    let health: serde_json::Value = reqwest::get(format!("http://{}/healthz", relay.addr))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok(health["uploads"]["files"].as_u64().unwrap_or(u64::MAX))
}

async fn wait_store_empty(relay: &Relay) -> Result {
    wait_for("the relay's upload store empty", UI_TIMEOUT, || async {
        Ok((stored_uploads(relay).await? == 0).then_some(()))
    })
    .await
}

async fn wait_chips(browser: &Browser, names: &[&str]) -> Result<Vec<files::Chip>> {
    wait_for(
        &format!("attachments {names:?} in the composer"),
        UI_TIMEOUT,
        || async {
            let chips = draft_chips(browser).await?;
            let shown: Vec<&str> = chips.iter().map(|c| c.name.as_str()).collect();
            Ok((shown == names).then_some(chips))
        },
    )
    .await
}

/// The stand-in n8n, a relay with uploads on that the page reaches through
/// a proxy on another port (so uploads go across origins: CORS), and a
/// browser.
async fn behind_proxy() -> (StandIn, Relay, FreezingProxy, Browser) {
    let n8n = StandIn::start().await.expect("stand-in");
    let (relay, proxy) = Relay::start_behind_proxy(Some(&n8n.url("/webhook/chat")), FLAGS)
        .await
        .expect("relay");
    let browser = Browser::start().await.expect("browser");
    (n8n, relay, proxy, browser)
}

/// Opens the page (retrying quickly), then takes the relay away: the page
/// is reconnecting.
async fn away(browser: &Browser, relay: &Relay, proxy: &FreezingProxy) -> Result {
    browser
        .open_online(&relay.page_url("?backoffMs=100&backoffMaxMs=300&attempts=50"))
        .await?;
    proxy.set_down(true);
    browser.wait_state(&["reconnecting", "offline"]).await?;
    Ok(())
}

/// Clicks send (a message may be files only, so not Enter in the input).
async fn click_send(browser: &Browser) -> Result<String> {
    let before = browser.user_ids().await?;
    browser.click("[data-testid=send]").await?;
    wait_for("the new message", UI_TIMEOUT, || async {
        Ok(browser
            .user_ids()
            .await?
            .into_iter()
            .find(|id| !before.contains(id)))
    })
    .await
}

/// The file parts n8n received in its last request: (name, type, bytes).
fn received(n8n: &StandIn) -> Vec<(String, String, Vec<u8>)> {
    let last = n8n.requests().pop();
    last.map(|r| {
        r.parts
            .iter()
            .filter(|p| p.filename.is_some())
            .map(|p| {
                assert_eq!(p.name, "files", "every file part is named files");
                (
                    p.filename.clone().unwrap_or_default(),
                    p.content_type.clone().unwrap_or_default(),
                    p.bytes.clone(),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn u1_picked_files_reach_n8n_and_stay_shown_after_a_reload() {
    picked_files_reach_n8n(Engine::Chromium, "u1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Firefox: run `cargo xtask test`"]
async fn u1_firefox_picked_files_reach_n8n_and_stay_shown_after_a_reload() {
    picked_files_reach_n8n(Engine::Firefox, "u1-firefox").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and WebKitGTK: run `cargo xtask test`"]
async fn u1_webkit_picked_files_reach_n8n_and_stay_shown_after_a_reload() {
    picked_files_reach_n8n(Engine::WebKit, "u1-webkit").await;
}

/// Two picked files (one with a thumbnail) reach n8n as its Chat Trigger
/// reads them; the relay lets go of the bytes; a reload keeps the chips.
async fn picked_files_reach_n8n(engine: Engine, name: &str) {
    if engine.skipped() {
        return;
    }
    let (n8n, relay, browser) = scene_in(engine, FLAGS).await;
    let dir = std::env::temp_dir().join(format!("e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (png, pdf) = (dir.join("dot.png"), dir.join("doc.pdf"));
    std::fs::write(&png, DOT_PNG).expect("png");
    std::fs::write(&pdf, TINY_PDF).expect("pdf");
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let accept = browser
            .eval("return document.querySelector('[data-testid=attach]').accept")
            .await?;
        if accept != "image/*,application/pdf" {
            return Err(format!("accept={accept}"));
        }
        files::pick(&browser, &[png.clone(), pdf.clone()]).await?;
        let chips = wait_chips(&browser, &["dot.png", "doc.pdf"]).await?;
        if !chips[0]
            .thumb
            .as_deref()
            .is_some_and(|t| t.starts_with("data:image/jpeg"))
            || chips[1].thumb.is_some()
        {
            return Err(format!("a thumbnail for the image only: {chips:?}"));
        }
        if engine == Engine::Chromium {
            browser.screenshot("docs-attachments").await?;
            let violations = browser.axe_violations().await?;
            if !violations.is_empty() {
                return Err(format!("axe, files attached: {violations:#?}"));
            }
        }
        let id = browser.send("look at these").await?;
        let expected = format!(
            "echo: look at these [files: {}; {}]",
            seen("dot.png", "image/png", DOT_PNG),
            seen("doc.pdf", "application/pdf", TINY_PDF)
        );
        answered_once(&browser, &id, &expected).await?;
        let got = received(&n8n);
        let want = vec![
            (
                "dot.png".to_owned(),
                "image/png".to_owned(),
                DOT_PNG.to_vec(),
            ),
            (
                "doc.pdf".to_owned(),
                "application/pdf".to_owned(),
                TINY_PDF.to_vec(),
            ),
        ];
        if got != want {
            return Err(format!(
                "n8n received {:?}",
                got.iter()
                    .map(|f| (&f.0, &f.1, f.2.len()))
                    .collect::<Vec<_>>()
            ));
        }
        if !draft_chips(&browser).await?.is_empty() {
            return Err("the composer still holds the sent files".into());
        }
        let sent = message_chips(&browser, &id).await?;
        if sent.iter().map(|c| c.name.as_str()).collect::<Vec<_>>() != ["dot.png", "doc.pdf"] {
            return Err(format!("the sent message shows {sent:?}"));
        }
        // Answered: the relay let go of the bytes.
        wait_store_empty(&relay).await?;
        // After a reload: names and the thumbnail are still there.
        browser.client.refresh().await.map_err(|e| e.to_string())?;
        browser.wait_state(&["online"]).await?;
        let after = wait_for("the attachments after the reload", UI_TIMEOUT, || async {
            let chips = message_chips(&browser, &id).await?;
            Ok((chips.len() == 2).then_some(chips))
        })
        .await?;
        if after != sent {
            return Err(format!("after the reload {after:?}, before {sent:?}"));
        }
        if n8n.calls() != 1 {
            return Err(format!("n8n ran {} times", n8n.calls()));
        }
        Ok(())
    }
    .await;
    finish(&browser, name, result).await;
    browser.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn u2_dropped_and_pasted_files_can_be_removed_and_sent_alone() {
    let (n8n, relay, browser) = scene_with(FLAGS, &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        files::drop_files(
            &browser,
            &[
                WebFile::new("dropped.png", "image/png", DOT_PNG),
                WebFile::new("brief.pdf", "application/pdf", TINY_PDF),
            ],
        )
        .await?;
        wait_chips(&browser, &["dropped.png", "brief.pdf"]).await?;
        files::paste_files(&browser, &[WebFile::new("image.png", "image/png", DOT_PNG)]).await?;
        let chips = wait_chips(&browser, &["dropped.png", "brief.pdf", "image.png"]).await?;
        if chips[2].thumb.is_none() {
            return Err("the pasted image has no thumbnail".into());
        }
        // Changed their mind about the PDF.
        browser
            .click("[data-testid=draft-attachments] [data-name='brief.pdf'] [data-testid=remove-attachment]")
            .await?;
        wait_chips(&browser, &["dropped.png", "image.png"]).await?;
        // No text: the files are the message.
        let id = click_send(&browser).await?;
        browser.wait_message_state(&id, "answered", UI_TIMEOUT).await?;
        let answers = browser.answers_for(&id).await?;
        let files = format!(
            "[files: {}; {}]",
            seen("dropped.png", "image/png", DOT_PNG),
            seen("image.png", "image/png", DOT_PNG)
        );
        if answers.len() != 1 || !answers[0].ends_with(&files) {
            return Err(format!("answers {answers:?}, expected one ending {files}"));
        }
        let names: Vec<String> = received(&n8n).into_iter().map(|f| f.0).collect();
        if names != ["dropped.png", "image.png"] {
            return Err(format!("n8n received {names:?}"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "u2", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn u3_what_the_relay_would_refuse_is_refused_with_a_sentence() {
    let (n8n, relay, browser) = scene_with(FLAGS, &[]).await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let big = WebFile {
            zeros: 30_000,
            ..WebFile::new("big.png", "image/png", DOT_PNG)
        };
        files::drop_files(&browser, &[big]).await?;
        browser
            .wait_text(
                "[data-testid=attach-error]",
                // The size as the browser's Intl.NumberFormat writes it.
                "“big.png” was not attached: at most 19.5 kB per file.",
            )
            .await?;
        files::drop_files(
            &browser,
            &[WebFile::new("a.zip", "application/zip", b"PK\x03\x04zip")],
        )
        .await?;
        browser
            .wait_text(
                "[data-testid=attach-error]",
                "“a.zip” was not attached: this kind of file is not accepted.",
            )
            .await?;
        let four: Vec<WebFile> = (1..=4)
            .map(|i| WebFile::new(&format!("p{i}.png"), "image/png", DOT_PNG))
            .collect();
        files::drop_files(&browser, &four).await?;
        wait_chips(&browser, &["p1.png", "p2.png", "p3.png"]).await?;
        browser
            .wait_text("[data-testid=attach-error]", "At most 3 files per message.")
            .await?;
        let violations = browser.axe_violations().await?;
        if !violations.is_empty() {
            return Err(format!("axe, a refusal shown: {violations:#?}"));
        }
        for _ in 0..3 {
            browser
                .click("[data-testid=draft-attachments] [data-testid=remove-attachment]")
                .await?;
        }
        wait_chips(&browser, &[]).await?;
        if stored_uploads(&relay).await? != 0 {
            return Err("a refused file was uploaded".into());
        }
        // The page cannot know: a "PNG" whose bytes are a PDF. The relay
        // looks at the bytes and refuses; the message fails visibly.
        files::paste_files(&browser, &[WebFile::new("fake.png", "image/png", TINY_PDF)]).await?;
        wait_chips(&browser, &["fake.png"]).await?;
        let id = browser.send("is this a picture?").await?;
        browser
            .wait_message_state(&id, "failed", UI_TIMEOUT)
            .await?;
        let errors = browser.errors_for(&id).await?;
        if errors.len() != 1 || !errors[0].contains("This kind of file is not accepted.") {
            return Err(format!("errors for the fake file: {errors:?}"));
        }
        if n8n.calls() != 0 {
            return Err("n8n ran for a refused file".into());
        }
        Ok(())
    }
    .await;
    finish(&browser, "u3", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn u4_a_file_queued_while_the_relay_is_away_is_answered_once() {
    let (n8n, relay, proxy, browser) = behind_proxy().await;
    let result = async {
        browser.watch_csp().await?;
        away(&browser, &relay, &proxy).await?;
        files::paste_files(
            &browser,
            &[WebFile::new("offline.png", "image/png", DOT_PNG)],
        )
        .await?;
        wait_chips(&browser, &["offline.png"]).await?;
        let id = browser.send("sent while away").await?;
        if browser.message_state(&id).await? != "queued" {
            return Err("not queued while the relay is away".into());
        }
        if stored_uploads(&relay).await? != 0 || n8n.calls() != 0 {
            return Err("something went out while the link was down".into());
        }
        proxy.set_down(false);
        browser.wait_state_for(&["online"], UI_TIMEOUT).await?;
        let expected = format!(
            "echo: sent while away [files: {}]",
            seen("offline.png", "image/png", DOT_PNG)
        );
        if let Err(e) = answered_once(&browser, &id, &expected).await {
            return Err(format!("{e}; CSP: {:?}", browser.csp_violations().await?));
        }
        if n8n.calls() != 1 {
            return Err(format!("n8n ran {} times", n8n.calls()));
        }
        wait_store_empty(&relay).await?;
        Ok(())
    }
    .await;
    finish(&browser, "u4", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn u5_a_file_queued_in_a_conversation_left_for_another_still_goes() {
    let (n8n, relay, proxy, browser) = behind_proxy().await;
    let result = async {
        // Wide: the conversation list is a column beside the chat.
        browser.set_size(1200, 800).await?;
        away(&browser, &relay, &proxy).await?;
        files::paste_files(&browser, &[WebFile::new("parked.png", "image/png", DOT_PNG)])
            .await?;
        wait_chips(&browser, &["parked.png"]).await?;
        let id = browser.send("sent before leaving").await?;
        let first = wait_for("the conversation's entry", UI_TIMEOUT, || async {
            let v = browser
                .eval(
                    "const e = document.querySelector('[data-testid=conversation][data-current=true]');\
                     return e ? e.dataset.id : null;",
                )
                .await?;
            Ok(v.as_str().map(str::to_owned))
        })
        .await?;
        // Another conversation while the first still waits for the link:
        // its uploads run there, and must not let go of the first's bytes.
        browser.click("[data-testid=new-conversation]").await?;
        proxy.set_down(false);
        browser.wait_state_for(&["online"], UI_TIMEOUT).await?;
        let other = browser.send("meanwhile here").await?;
        answered_once(&browser, &other, "echo: meanwhile here").await?;
        browser
            .click(&format!(
                "[data-testid=conversation][data-id='{first}'] [data-testid=conversation-switch]"
            ))
            .await?;
        browser.wait_state_for(&["online"], UI_TIMEOUT).await?;
        let expected = format!(
            "echo: sent before leaving [files: {}]",
            seen("parked.png", "image/png", DOT_PNG)
        );
        answered_once(&browser, &id, &expected).await?;
        if n8n.calls() != 2 {
            return Err(format!("n8n ran {} messages, expected 2", n8n.calls()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "u5", result).await;
    browser.close().await;
}
