//! `--embed-origin`: the sites that may embed the chat, published in
//! `/config.json` (the page refuses any other host) and followed by the
//! CSP's `frame-ancestors` (the browser refuses to frame it elsewhere).

use crate::support::Relay;
use server::Config;

async fn get(relay: &Relay, path: &str) -> reqwest::Response {
    let response = reqwest::get(relay.http_url(path)).await.expect("get");
    assert_eq!(response.status(), 200, "{path}");
    response
}

fn csp(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn with_args(args: &[&str]) -> Config {
    let mut cfg = crate::support::config();
    let flags = Config::from_args_without_env(args.iter().copied());
    cfg.serve.embed_origins = flags.serve.embed_origins;
    cfg.serve.frame_ancestors = flags.serve.frame_ancestors;
    cfg
}

#[tokio::test]
async fn the_listed_hosts_are_published_and_only_they_may_frame_the_page() {
    let relay = Relay::start(with_args(&[
        "relay",
        "--embed-origin",
        "https://Shop.example/",
        "--embed-origin",
        "http://127.0.0.1:8080",
    ]))
    .await;
    let response = get(&relay, "/config.json").await;
    let header = csp(&response);
    assert!(
        header.ends_with("frame-ancestors 'self' https://shop.example http://127.0.0.1:8080"),
        "{header}"
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body["embedOrigins"],
        serde_json::json!(["https://shop.example", "http://127.0.0.1:8080"])
    );
    let header = csp(&get(&relay, "/healthz").await);
    assert!(
        header.contains("frame-ancestors 'self' https://shop.example"),
        "{header}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn without_a_list_any_site_may_and_an_explicit_frame_ancestors_wins() {
    let relay = Relay::start(with_args(&["relay"])).await;
    let response = get(&relay, "/config.json").await;
    assert!(csp(&response).ends_with("frame-ancestors *"));
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(body.get("embedOrigins").is_none(), "{body}");
    relay.stop().await;

    let relay = Relay::start(with_args(&[
        "relay",
        "--embed-origin",
        "https://shop.example",
        "--frame-ancestors",
        "'none'",
    ]))
    .await;
    let response = get(&relay, "/config.json").await;
    assert!(csp(&response).ends_with("frame-ancestors 'none'"));
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body["embedOrigins"],
        serde_json::json!(["https://shop.example"])
    );
    relay.stop().await;
}

#[test]
fn a_path_or_a_wildcard_is_not_an_embed_origin() {
    for bad in ["https://shop.example/page", "*", "shop.example"] {
        let parsed = <Config as clap::Parser>::try_parse_from(["relay", "--embed-origin", bad]);
        assert!(parsed.is_err(), "{bad} was taken");
    }
}
