//! `/config.json`: the page's settings from a file and flags.

use crate::support::{config, Relay};
use clap::Parser;
use server::Config;

async fn fetch(relay: &Relay) -> (String, serde_json::Value) {
    let response = reqwest::get(relay.http_url("/config.json"))
        .await
        .expect("get /config.json");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    assert_eq!(cache, "no-cache");
    (content_type, response.json().await.expect("json"))
}

#[tokio::test]
async fn defaults_without_flags() {
    let relay = Relay::start(config()).await;
    let (content_type, body) = fetch(&relay).await;
    assert_eq!(content_type, "application/json");
    assert_eq!(body, serde_json::json!({"streaming": true}));
    relay.stop().await;
}

#[tokio::test]
async fn a_file_with_flags_overriding_it() {
    let file = std::env::temp_dir().join(format!("page-config-{}.json", std::process::id()));
    std::fs::write(
        &file,
        // A tree in the file is never trusted: the relay formats the lines itself.
        r#"{"title":"From file","welcome":["Hello from the file"],"welcomeDocs":[[{"p":[{"a":{"href":"javascript:x","body":[]}}]}]],"language":"en","placeholder":"Ask…"}"#,
    )
    .expect("write config");
    let mut cfg = config();
    let flags = Config::from_args_without_env([
        "relay",
        "--page-config",
        file.to_str().expect("utf-8 path"),
        "--title",
        "Support",
        "--welcome",
        "Hi! I am the **support** bot.",
        "--welcome",
        "Ask me anything.",
        "--language",
        "de",
        "--streaming",
        "false",
        "--suggestion",
        "What can you do?",
        "--suggestion",
        "Track my order",
    ]);
    cfg.page.page_config = flags.page.page_config;
    cfg.page.title = flags.page.title;
    cfg.page.welcome = flags.page.welcome;
    cfg.page.language = flags.page.language;
    cfg.page.streaming = flags.page.streaming;
    cfg.page.suggestions = flags.page.suggestions;
    let relay = Relay::start(cfg).await;
    let (_, body) = fetch(&relay).await;
    assert_eq!(
        body,
        serde_json::json!({
            "title": "Support",
            "welcome": ["Hi! I am the **support** bot.", "Ask me anything."],
            "welcomeDocs": [
                [{"p": [{"t": "Hi! I am the "}, {"b": [{"t": "support"}]}, {"t": " bot."}]}],
                // Plain text needs no tree.
                [],
            ],
            "language": "de",
            "streaming": false,
            "placeholder": "Ask…",
            "suggestions": ["What can you do?", "Track my order"],
        })
    );
    relay.stop().await;
    let _ = std::fs::remove_file(file);
}

/// Starts a relay that must refuse to start; returns its error.
async fn start_error(cfg: Config) -> server::RelayError {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    server::run(listener, cfg, std::future::pending())
        .await
        .expect_err("must refuse to start")
}

#[tokio::test]
async fn a_broken_file_stops_the_start_with_a_clear_error() {
    let file = std::env::temp_dir().join(format!("page-config-bad-{}.json", std::process::id()));
    std::fs::write(&file, "{not json").expect("write config");
    let mut cfg = config();
    cfg.page.page_config = Some(file.clone());
    let error = start_error(cfg).await;
    assert!(
        error.to_string().contains("is not a page config"),
        "{error}"
    );
    let mut cfg = config();
    cfg.page.page_config = Some(std::env::temp_dir().join("no-such-page-config.json"));
    let error = start_error(cfg).await;
    assert!(error.to_string().contains("cannot read"), "{error}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn the_language_flag_takes_only_known_values() {
    assert!(Config::try_parse_from(["relay", "--language", "xx"]).is_err());
    assert!(Config::try_parse_from(["relay", "--streaming", "maybe"]).is_err());
}

#[tokio::test]
async fn suggestions_are_bounded() {
    let mut cfg = config();
    cfg.page.suggestions = (1..=5).map(|i| format!("prompt {i}")).collect();
    let error = start_error(cfg).await;
    assert!(error.to_string().contains("at most 4"), "{error}");
    let mut cfg = config();
    cfg.page.suggestions = vec!["x".repeat(201)];
    let error = start_error(cfg).await;
    assert!(error.to_string().contains("longer than 200"), "{error}");
}

#[test]
fn the_language_flag_takes_auto_and_the_twelve_codes() {
    for code in ["auto", "en", "pt-BR", "zh-CN", "ar"] {
        assert!(
            Config::try_parse_from(["relay", "--language", code]).is_ok(),
            "{code}"
        );
    }
    assert!(Config::try_parse_from(["relay", "--language", "sv"]).is_err());
}

#[tokio::test]
async fn auto_means_the_browsers_language() {
    let mut cfg = config();
    cfg.page.language = Some("auto".into());
    let relay = Relay::start(cfg).await;
    let (_, body) = fetch(&relay).await;
    assert_eq!(body.get("language"), None, "{body}");
    relay.stop().await;
}

#[tokio::test]
async fn an_unknown_string_key_stops_the_start_named() {
    let file = std::env::temp_dir().join(format!("strings-bad-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"de": {"composer.send": "Los", "composer.sned": "x"}}"#,
    )
    .expect("write strings");
    let mut cfg = config();
    cfg.page.strings = Some(file.clone());
    let error = start_error(cfg).await.to_string();
    assert!(error.contains("unknown key \"composer.sned\""), "{error}");
    // The same through the --page-config file's `strings`, and a language
    // without a catalogue.
    std::fs::write(&file, r#"{"strings": {"sv": {"composer.send": "Skicka"}}}"#)
        .expect("write config");
    let mut cfg = config();
    cfg.page.page_config = Some(file.clone());
    let error = start_error(cfg).await.to_string();
    assert!(error.contains("unknown language \"sv\""), "{error}");
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn overrides_are_served_in_hashed_immutable_compressed_catalogues() {
    let dir = std::env::temp_dir().join(format!("strings-page-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("i18n")).expect("dir");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>x</title>").expect("index");
    let en = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../frontend/i18n/en.json"
    ))
    .expect("en catalogue");
    let de = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../frontend/i18n/de.json"
    ))
    .expect("de catalogue");
    std::fs::write(dir.join("i18n/en.json"), &en).expect("en");
    std::fs::write(dir.join("i18n/de.json"), &de).expect("de");
    let strings = dir.join("strings.json");
    std::fs::write(&strings, r#"{"de": {"composer.send": "Los!"}}"#).expect("strings");
    let mut cfg = config();
    cfg.serve.static_dir = Some(dir.clone());
    cfg.page.strings = Some(strings);
    let relay = Relay::start(cfg).await;
    let (_, body) = fetch(&relay).await;
    let catalogues = body["catalogues"]
        .as_object()
        .expect("catalogues named")
        .clone();
    assert_eq!(catalogues.len(), 2, "{body}");
    assert!(
        body.get("strings").is_none(),
        "overrides are not served twice"
    );
    let path = catalogues["de"].as_str().expect("path");
    assert!(
        path.starts_with("i18n/de-") && path.ends_with(".json"),
        "{path}"
    );
    // No decompression feature in this reqwest: the bytes come as sent.
    let client = reqwest::Client::new();
    let response = client
        .get(relay.http_url(&format!("/{path}")))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("get catalogue");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        header("cache-control").contains("immutable"),
        "{}",
        header("cache-control")
    );
    assert_eq!(header("content-encoding"), "gzip");
    let gz = response.bytes().await.expect("body");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
        .expect("gunzip");
    let served: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(served["composer.send"], "Los!");
    assert_eq!(served["status.online"], "Verbunden", "the rest stays");
    // English is untouched.
    let en_path = catalogues["en"].as_str().expect("path");
    let served: serde_json::Value = reqwest::get(relay.http_url(&format!("/{en_path}")))
        .await
        .expect("get en")
        .json()
        .await
        .expect("json");
    assert_eq!(served["composer.send"], "Send");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `index.html` names `/config.json` and the likely catalogue in a
/// `Link: rel=preload` header, so the browser fetches them while the wasm
/// loads: the request's first language with a catalogue, English without
/// one, the deployment's `--language` above both.
#[tokio::test]
async fn the_page_preloads_its_config_and_the_likely_catalogue() {
    let dir = std::env::temp_dir().join(format!("preload-page-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("i18n")).expect("dir");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>x</title>").expect("index");
    for code in ["en", "de"] {
        let text = std::fs::read_to_string(format!(
            "{}/../frontend/i18n/{code}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("catalogue");
        std::fs::write(dir.join(format!("i18n/{code}.json")), text).expect("write");
    }
    let page = |language: Option<&str>| {
        let mut cfg = config();
        cfg.serve.static_dir = Some(dir.clone());
        cfg.page.language = language.map(str::to_owned);
        cfg
    };
    let relay = Relay::start(page(None)).await;
    let (_, body) = fetch(&relay).await;
    let de = body["catalogues"]["de"]
        .as_str()
        .expect("de path")
        .to_owned();
    let en = body["catalogues"]["en"]
        .as_str()
        .expect("en path")
        .to_owned();
    let client = reqwest::Client::new();
    let index = |accept: &'static str, url: String| {
        let client = client.clone();
        async move {
            let r = client
                .get(url)
                .header("accept-language", accept)
                .send()
                .await
                .expect("get /");
            assert_eq!(r.status(), 200);
            let h = |n: &str| {
                r.headers()
                    .get_all(n)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (h("link"), h("vary"))
        }
    };
    let (link, vary) = index("de-AT,de;q=0.9,en;q=0.5", relay.http_url("/")).await;
    assert!(
        link.contains("</config.json>; rel=preload; as=fetch"),
        "{link}"
    );
    assert!(link.contains(&format!("</{de}>; rel=preload")), "{link}");
    assert!(vary.contains("Accept-Language"), "{vary}");
    // The hinted catalogue is there to be fetched.
    let got = client
        .get(relay.http_url(&format!("/{de}")))
        .send()
        .await
        .expect("catalogue");
    assert_eq!(got.status(), 200);
    let (link, _) = index("sv", relay.http_url("/chat")).await;
    assert!(
        link.contains(&format!("</{en}>")),
        "a page route too: {link}"
    );
    // Other files carry no hint.
    let other = client
        .get(relay.http_url(&format!("/{en}")))
        .send()
        .await
        .expect("catalogue");
    assert!(other.headers().get("link").is_none());
    relay.stop().await;

    let fixed = Relay::start(page(Some("de"))).await;
    let (link, vary) = index("en-US", fixed.http_url("/")).await;
    assert!(
        link.contains(&format!("</{de}>")),
        "--language first: {link}"
    );
    assert!(!vary.contains("Accept-Language"), "{vary}");
    fixed.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
