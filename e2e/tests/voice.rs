//! Voice in and out (issue 27) in a real Chromium: the microphone records
//! from a fake audio device (a WAV file) and the recording reaches the
//! stand-in n8n as an audio file through the ordinary upload path; "Read
//! aloud" hands the answer's words to `speechSynthesis` in the page's
//! language (stubbed: headless Chromium has no voices). Run with
//! `cargo xtask test`.

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::files::draft_chips;
use e2e::scenario::{finish, scene, scene_with};
use e2e::{wait_for, Result};
use testkit::n8n::StandIn;

/// A mono 16-bit 48 kHz WAV of `seconds` of a 440 Hz tone.
fn tone_wav(seconds: u32) -> Vec<u8> {
    let rate = 48_000u32;
    let samples = rate * seconds;
    let mut wav = Vec::with_capacity(44 + samples as usize * 2);
    let data_len = samples * 2;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let t = f64::from(i) / f64::from(rate);
        let v = (t * 440.0 * std::f64::consts::TAU).sin() * 0.5 * f64::from(i16::MAX);
        wav.extend_from_slice(&(v as i16).to_le_bytes());
    }
    wav
}

const RELAY_FLAGS: &[&str] = &[
    "--allow-file-uploads",
    "--allowed-file-types",
    "audio/*",
    "--allow-voice",
    "--max-voice-seconds",
    "2",
];

/// The file parts n8n received in its last request: (name, type, bytes).
fn received(n8n: &StandIn) -> Vec<(String, String, Vec<u8>)> {
    n8n.requests()
        .pop()
        .map(|r| {
            r.parts
                .iter()
                .filter(|p| p.filename.is_some())
                .map(|p| {
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

async fn count(browser: &Browser, css: &str) -> Result<u64> {
    let n = browser
        .eval_with(
            "return document.querySelectorAll(arguments[0]).length",
            vec![serde_json::json!(css)],
        )
        .await?;
    Ok(n.as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn v1_a_recording_reaches_n8n_as_an_audio_file() {
    let wav = std::env::temp_dir().join(format!("e2e-v1-{}.wav", std::process::id()));
    std::fs::write(&wav, tone_wav(4)).expect("wav");
    let capture = format!("--use-file-for-fake-audio-capture={}", wav.display());
    let (n8n, relay, browser) = scene_with(
        RELAY_FLAGS,
        &[
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            &capture,
        ],
    )
    .await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        // Cancelled: nothing is attached.
        browser.click("[data-testid=mic]").await?;
        wait_for("recording", UI_TIMEOUT, || async {
            Ok((count(&browser, "[data-testid=recording]").await? == 1).then_some(()))
        })
        .await?;
        browser.click("[data-testid=mic-cancel]").await?;
        wait_for("recording ended", UI_TIMEOUT, || async {
            Ok((count(&browser, "[data-testid=recording]").await? == 0).then_some(()))
        })
        .await?;
        if !draft_chips(&browser).await?.is_empty() {
            return Err("a cancelled recording was attached".into());
        }
        // Recorded to the bound (--max-voice-seconds 2): it stops by
        // itself and is attached.
        browser.click("[data-testid=mic]").await?;
        let chips = wait_for("the recording attached", UI_TIMEOUT, || async {
            let chips = draft_chips(&browser).await?;
            Ok((!chips.is_empty()).then_some(chips))
        })
        .await?;
        if chips.len() != 1 || !chips[0].name.starts_with("voice-message.") {
            return Err(format!("attached: {chips:?}"));
        }
        let before = browser.user_ids().await?;
        browser.click("[data-testid=send]").await?;
        let id = wait_for("the new message", UI_TIMEOUT, || async {
            Ok(browser
                .user_ids()
                .await?
                .into_iter()
                .find(|id| !before.contains(id)))
        })
        .await?;
        browser
            .wait_message_state(&id, "answered", UI_TIMEOUT)
            .await?;
        let files = received(&n8n);
        let [(name, mime, bytes)] = &files[..] else {
            return Err(format!("n8n received {} files", files.len()));
        };
        let webm = mime == "audio/webm"
            && name == "voice-message.webm"
            && bytes.starts_with(b"\x1aE\xdf\xa3");
        let ogg = mime == "audio/ogg" && name == "voice-message.ogg" && bytes.starts_with(b"OggS");
        if !(webm || ogg) {
            return Err(format!(
                "{name} ({mime}) starting {:?}",
                &bytes[..bytes.len().min(8)]
            ));
        }
        // Two seconds of Opus: a few KiB, far from nothing and from a WAV.
        if !(2_000..200_000).contains(&bytes.len()) {
            return Err(format!("{} bytes for two seconds", bytes.len()));
        }
        eprintln!("voice: {name} {mime} {} bytes", bytes.len());
        Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&wav);
    finish(&browser, "v1", result).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built page and Chromium: run `cargo xtask test`"]
async fn v2_read_aloud_speaks_the_answer_in_the_page_language_and_stops() {
    let (_n8n, relay, browser) = scene().await;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        // No microphone without --allow-voice.
        if count(&browser, "[data-testid=mic]").await? != 0 {
            return Err("a microphone without --allow-voice".into());
        }
        browser
            .eval(
                "window.__spoken = []; window.__cancels = 0;
                 speechSynthesis.speak = u => window.__spoken.push({text: u.text, lang: u.lang});
                 speechSynthesis.cancel = () => { window.__cancels += 1; };
                 return true",
            )
            .await?;
        let id = browser.send("Hello **world**").await?;
        browser
            .wait_message_state(&id, "answered", UI_TIMEOUT)
            .await?;
        let button = format!("[data-role=bot][data-id='{id}'] [data-testid=read-aloud]");
        browser.click(&button).await?;
        let spoken = browser.eval("return window.__spoken").await?;
        if spoken != serde_json::json!([{"text": "echo: Hello world", "lang": "en"}]) {
            return Err(format!("spoken: {spoken}"));
        }
        let pressed = browser
            .eval_with(
                "return document.querySelector(arguments[0]).getAttribute('aria-pressed')",
                vec![serde_json::json!(button)],
            )
            .await?;
        if pressed != "true" {
            return Err(format!("aria-pressed {pressed} while reading"));
        }
        // A second press stops.
        let cancels = browser.eval("return window.__cancels").await?;
        browser.click(&button).await?;
        let after = browser.eval("return window.__cancels").await?;
        if after.as_u64() <= cancels.as_u64() {
            return Err("the second press did not stop the reading".into());
        }
        // In German, read in German.
        browser.click("[data-testid=lang-switch]").await?;
        browser.click(&button).await?;
        let last = browser
            .eval("return window.__spoken[window.__spoken.length - 1].lang")
            .await?;
        if last != "de" {
            return Err(format!("lang {last} after switching to German"));
        }
        Ok(())
    }
    .await;
    finish(&browser, "v2", result).await;
    browser.close().await;
}
