//! The WebSocket itself: first frame, heartbeat, ping/pong, idle close, bad
//! input, size limits, origin policy, the extra routes.

use std::time::Duration;

use crate::support::{
    config, connect_with_headers, connect_with_origin, error_of, response_text, Client, Relay,
};
use futures_util::SinkExt;
use shared::{ClientMessage, ErrorCode, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn connection_frame_comes_first_with_the_announced_settings() {
    let relay = Relay::start(config()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws"))
        .await
        .expect("connect");
    use futures_util::StreamExt;
    let first = ws.next().await.expect("frame").expect("ok");
    let Message::Text(text) = first else {
        panic!("{first:?}")
    };
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(value["type"], "connection");
    assert_eq!(value["heartbeatMs"], 30000);
    assert_eq!(value["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(value["maxMessageBytes"], 65536);
    assert_eq!(
        value["sessionId"].as_str().map(str::len),
        Some(36),
        "a UUID v4"
    );
    assert!(value["clientId"].as_str().is_some_and(|c| !c.is_empty()));
    relay.stop().await;
}

#[tokio::test]
async fn the_root_path_upgrades_too_like_the_old_client_expects() {
    let relay = Relay::start(config()).await;
    let mut client = Client::connect(&relay.ws_url("/")).await;
    client.say("m1", "hi").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hi");
    relay.stop().await;
}

#[tokio::test]
async fn echo_mode_answers_without_n8n() {
    let relay = Relay::start(config()).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("a", "Hallo Welt").await;
    assert_eq!(response_text(&client.next().await, "a"), "echo: Hallo Welt");
    assert_eq!(relay.health().await["webhook"], "echo");
    relay.stop().await;
}

#[tokio::test]
async fn heartbeats_arrive_every_interval() {
    let mut cfg = config();
    cfg.serve.heartbeat_interval = Duration::from_millis(50);
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    assert_eq!(client.heartbeat_ms, 50);
    let mut last = 0;
    for _ in 0..3 {
        match client.next_any().await {
            ServerMessage::Heartbeat { ts } => {
                assert!(ts >= last && ts > 1_700_000_000_000, "unix ms: {ts}");
                last = ts;
            }
            other => panic!("expected heartbeat, got {other:?}"),
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn one_relay_wide_clock_gives_every_connection_the_same_rounds() {
    let mut cfg = config();
    cfg.serve.heartbeat_interval = Duration::from_millis(40);
    let relay = Relay::start(cfg).await;
    let mut early = Client::connect(&relay.ws_url("/ws")).await;
    // Let a round or two pass, then connect a second client.
    let ServerMessage::Heartbeat { ts: first } = early.next_any().await else {
        panic!("expected a heartbeat");
    };
    let mut late = Client::connect(&relay.ws_url("/ws")).await;
    let ServerMessage::Heartbeat { ts: late_round } = late.next_any().await else {
        panic!("expected a heartbeat");
    };
    assert!(late_round > first);
    // The early client hears the same round (same ts), one frame per round.
    loop {
        match early.next_any().await {
            ServerMessage::Heartbeat { ts } if ts < late_round => continue,
            ServerMessage::Heartbeat { ts } => {
                assert_eq!(ts, late_round, "both hear the same round");
                break;
            }
            other => panic!("expected a heartbeat, got {other:?}"),
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn pings_are_answered_with_their_ts_or_the_relay_clock() {
    let relay = Relay::start(config()).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.send_raw(r#"{"type":"ping","ts":12345}"#).await;
    assert_eq!(
        client.next().await,
        ServerMessage::Pong {
            ts: 12345u64.into()
        }
    );
    client.send_raw(r#"{"type":"ping","ts":1.5}"#).await;
    assert_eq!(client.next().await.encode(), r#"{"type":"pong","ts":1.5}"#);
    client.send(ClientMessage::Ping { ts: None }).await;
    match client.next().await {
        ServerMessage::Pong { ts } => assert!(ts.as_u64().is_some_and(|t| t > 1_700_000_000_000)),
        other => panic!("{other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_closed_and_a_pinging_one_is_not() {
    let mut cfg = config();
    cfg.serve.idle_timeout = Duration::from_millis(300);
    let relay = Relay::start(cfg).await;

    let mut pinging = Client::connect(&relay.ws_url("/ws")).await;
    let mut silent = Client::connect(&relay.ws_url("/ws")).await;
    // The pinging client pings back to back (never a gap near the idle
    // timeout, however loaded the machine) until the silent one is closed.
    let closed = silent.expect_close();
    tokio::pin!(closed);
    let mut pings = 0;
    let close = loop {
        tokio::select! {
            close = &mut closed => break close,
            _ = async {
                pinging.send(ClientMessage::Ping { ts: None }).await;
                assert!(matches!(pinging.next().await, ServerMessage::Pong { .. }));
            } => pings += 1,
        }
    };
    assert_eq!(close, (1000, "idle timeout".to_owned()));
    assert!(pings > 0);
    pinging.say("m", "still here").await;
    // (A pong from the last ping may come first.)
    let answer = loop {
        match pinging.next().await {
            ServerMessage::Pong { .. } => continue,
            frame => break frame,
        }
    };
    assert_eq!(response_text(&answer, "m"), "echo: still here");
    relay.stop().await;
}

#[tokio::test]
async fn malformed_frames_get_invalid_message_and_the_connection_stays_open() {
    let relay = Relay::start(config()).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    for bad in [
        "not json",
        "[1,2]",
        r#"{"type":"launchMissiles"}"#,
        r#"{"type":"message","text":"no id"}"#,
        r#"{"text":"no type"}"#,
    ] {
        client.send_raw(bad).await;
        let (code, message) = error_of(&client.next().await, None);
        assert_eq!(code, ErrorCode::InvalidMessage, "{bad}");
        assert!(!message.is_empty());
    }
    // The id is given back when it is usable, so the page marks the right message.
    client.send_raw(r#"{"type":"message","id":"m7"}"#).await;
    assert_eq!(
        error_of(&client.next().await, Some("m7")).0,
        ErrorCode::InvalidMessage
    );
    client.send_raw(r#"{"id":"m9","text":"no type"}"#).await;
    assert_eq!(
        error_of(&client.next().await, Some("m9")).0,
        ErrorCode::InvalidMessage
    );
    client
        .send_raw(r#"{"type":"message","id":"m8","text":"   "}"#)
        .await;
    assert_eq!(
        error_of(&client.next().await, Some("m8")).0,
        ErrorCode::InvalidMessage
    );
    let long_id = "x".repeat(65);
    client
        .send_raw(&format!(
            r#"{{"type":"message","id":"{long_id}","text":"hi"}}"#
        ))
        .await;
    assert_eq!(
        error_of(&client.next().await, None).0,
        ErrorCode::InvalidMessage
    );

    client
        .ws
        .send(Message::binary(vec![1u8, 2, 3]))
        .await
        .expect("send binary");
    let (code, message) = error_of(&client.next().await, None);
    assert_eq!(code, ErrorCode::InvalidMessage);
    assert!(message.contains("binary"), "{message}");

    client.say("ok", "still works").await;
    assert_eq!(
        response_text(&client.next().await, "ok"),
        "echo: still works"
    );
    relay.stop().await;
}

#[tokio::test]
async fn oversized_messages_get_too_large_and_huge_ones_close_1009() {
    let mut cfg = config();
    cfg.limits.max_message_bytes = 1000;
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("big", &"x".repeat(1500)).await;
    let (code, message) = error_of(&client.next().await, Some("big"));
    assert_eq!(code, ErrorCode::TooLarge);
    assert!(message.contains("1000"), "{message}");
    client.say("small", "fits").await;
    assert_eq!(response_text(&client.next().await, "small"), "echo: fits");

    // Far above the limit: the socket is closed with 1009; others are unaffected.
    let mut other = Client::connect(&relay.ws_url("/ws")).await;
    client.say("huge", &"x".repeat(100_000)).await;
    assert_eq!(client.expect_close().await.0, 1009);
    other.say("o", "fine").await;
    assert_eq!(response_text(&other.next().await, "o"), "echo: fine");
    relay.stop().await;
}

#[tokio::test]
async fn foreign_origins_are_refused_and_own_or_loopback_ones_accepted() {
    let relay = Relay::start(config()).await;
    let url = relay.ws_url("/ws");
    assert_eq!(
        connect_with_origin(&url, "https://evil.example")
            .await
            .err(),
        Some(403)
    );
    assert!(connect_with_origin(&url, "http://localhost:8080")
        .await
        .is_ok());
    assert!(connect_with_origin(&url, &format!("http://{}", relay.addr))
        .await
        .is_ok());
    relay.stop().await;

    let mut cfg = config();
    cfg.serve.allowed_origins = vec!["https://chat.example.com".into()];
    let relay = Relay::start(cfg).await;
    let url = relay.ws_url("/ws");
    assert!(connect_with_origin(&url, "https://chat.example.com")
        .await
        .is_ok());
    assert_eq!(
        connect_with_origin(&url, "http://localhost:8080")
            .await
            .err(),
        Some(403)
    );
    relay.stop().await;
}

/// DNS rebinding: a site whose name resolves to the relay's address sends
/// `Origin` equal to its `Host`. Refused unless that is the configured
/// public URL.
#[tokio::test]
async fn a_rebinding_site_is_refused_and_the_public_url_accepted() {
    let rebind = [
        ("Host", "rebind.attacker.example:3000"),
        ("Origin", "http://rebind.attacker.example:3000"),
    ];
    let relay = Relay::start(config()).await;
    let url = relay.ws_url("/ws");
    assert_eq!(connect_with_headers(&url, &rebind).await.err(), Some(403));
    let public = [
        ("Host", "chat.example.com"),
        ("Origin", "https://chat.example.com"),
    ];
    assert_eq!(
        connect_with_headers(&url, &public).await.err(),
        Some(403),
        "the same-host rule is gone: a public name needs --public-url"
    );
    relay.stop().await;

    let mut cfg = config();
    cfg.serve.public_url = Some("https://chat.example.com/".parse().expect("url"));
    let relay = Relay::start(cfg).await;
    let url = relay.ws_url("/ws");
    assert!(connect_with_headers(&url, &public).await.is_ok());
    assert_eq!(connect_with_headers(&url, &rebind).await.err(), Some(403));
    assert_eq!(
        connect_with_origin(&url, "http://localhost:8080")
            .await
            .err(),
        Some(403),
        "published under a public URL: a loopback page is the visitor's, not the relay's"
    );
    relay.stop().await;
}

#[tokio::test]
async fn an_invalid_session_id_gets_a_new_session_and_an_error() {
    let relay = Relay::start(config()).await;
    let mut client = Client::connect(&relay.ws_url("/ws?session=not%20valid!")).await;
    assert_ne!(client.session_id, "not valid!");
    assert_eq!(client.session_id.len(), 36);
    assert_eq!(
        error_of(&client.next().await, None).0,
        ErrorCode::InvalidSession
    );
    let client = Client::connect(&relay.ws_url("/ws?session=my-session_1")).await;
    assert_eq!(client.session_id, "my-session_1");
    relay.stop().await;
}

#[tokio::test]
async fn healthz_reports_connections_and_mode() {
    let relay = Relay::start(config()).await;
    let health = relay.health().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["connections"], 0);
    let _a = Client::connect(&relay.ws_url("/ws")).await;
    let _b = Client::connect(&relay.ws_url("/ws")).await;
    assert_eq!(relay.health().await["connections"], 2);
    relay.stop().await;
}

#[tokio::test]
async fn the_built_page_is_served_with_an_index_fallback() {
    let dir = std::env::temp_dir().join(format!("relay-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("index.html"), "<html>chat page</html>").expect("write");
    std::fs::write(dir.join("app.js"), "console.log(1)").expect("write");
    let mut cfg = config();
    cfg.serve.static_dir = Some(dir.clone());
    let relay = Relay::start(cfg).await;
    for (path, expected) in [
        ("/", "<html>chat page</html>"),
        ("/app.js", "console.log(1)"),
        ("/some/page", "<html>chat page</html>"),
    ] {
        let response = reqwest::get(relay.http_url(path)).await.expect("get");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.expect("body"), expected, "{path}");
    }
    // A plain GET of /ws is not an upgrade.
    let response = reqwest::get(relay.http_url("/ws")).await.expect("get");
    assert!(response.status().is_client_error());
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let dir = std::env::temp_dir().join(format!("relay-csp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let boot = "import init from '/app.js'; await init();";
    std::fs::write(
        dir.join("index.html"),
        format!("<html><head><script type=\"module\">{boot}</script></head></html>"),
    )
    .expect("write");
    let mut cfg = config();
    cfg.serve.static_dir = Some(dir.clone());
    cfg.serve.relay_url = Some("wss://relay.example/ws".parse().expect("url"));
    cfg.serve.frame_ancestors = "'self' https://shop.example".into();
    let relay = Relay::start(cfg).await;
    for path in ["/", "/some/page", "/healthz", "/config.json"] {
        let response = reqwest::get(relay.http_url(path)).await.expect("get");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        let csp = header("content-security-policy");
        use base64::Engine;
        let hash = base64::engine::general_purpose::STANDARD
            .encode(<sha2::Sha256 as sha2::Digest>::digest(boot.as_bytes()));
        assert!(
            csp.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}'"
            )),
            "{path}: {csp}"
        );
        assert!(
            csp.contains("connect-src 'self' wss://relay.example https://relay.example;"),
            "{path}: {csp}"
        );
        assert!(
            csp.ends_with("frame-ancestors 'self' https://shop.example"),
            "{path}: {csp}"
        );
        assert!(csp.starts_with("default-src 'none';"), "{path}: {csp}");
    }
    let config: serde_json::Value = reqwest::get(relay.http_url("/config.json"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(config["relayUrl"], "wss://relay.example/ws");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The page travels compressed (brotli, else gzip, as the browser says)
/// and is cached: trunk's hashed files for a year, the rest revalidated
/// with an `ETag` (a `304` when unchanged).
#[tokio::test]
async fn the_page_is_served_compressed_and_cached() {
    let dir = std::env::temp_dir().join(format!("relay-travel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let js = "export function greet() { return 'hello from the page'; }\n".repeat(300);
    std::fs::write(dir.join("index.html"), "<html>chat page</html>").expect("write");
    std::fs::write(dir.join("frontend-0123456789abcdef.js"), &js).expect("write");
    let mut cfg = config();
    cfg.serve.static_dir = Some(dir.clone());
    let relay = Relay::start(cfg).await;
    let http = reqwest::Client::new();
    let get = |path: &str, accept: &str| {
        http.get(relay.http_url(path))
            .header("accept-encoding", accept)
            .send()
    };
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let asset = "/frontend-0123456789abcdef.js";
    let br = get(asset, "gzip, deflate, br, zstd").await.expect("get");
    assert_eq!(header(&br, "content-encoding"), "br");
    assert_eq!(header(&br, "vary"), "Accept-Encoding");
    assert_eq!(
        header(&br, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        header(&br, "content-type"),
        "text/javascript; charset=utf-8"
    );
    let bytes = br.bytes().await.expect("body");
    assert!(bytes.len() < js.len() / 10, "{} bytes", bytes.len());
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut brotli::Decompressor::new(&bytes[..], 4096), &mut plain)
        .expect("brotli");
    assert_eq!(plain, js.as_bytes());
    let gz = get(asset, "gzip").await.expect("get");
    assert_eq!(header(&gz, "content-encoding"), "gzip");
    let bytes = gz.bytes().await.expect("body");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain)
        .expect("gzip");
    assert_eq!(plain, js.as_bytes());
    let raw = get(asset, "identity").await.expect("get");
    assert_eq!(header(&raw, "content-encoding"), "");
    assert_eq!(raw.text().await.expect("body"), js);
    // index.html and /config.json: kept, but asked about each time.
    for path in ["/", "/config.json"] {
        let first = get(path, "br").await.expect("get");
        assert_eq!(header(&first, "cache-control"), "no-cache", "{path}");
        let etag = header(&first, "etag");
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let again = http
            .get(relay.http_url(path))
            .header("accept-encoding", "br")
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("get");
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.bytes().await.expect("body").len(), 0, "{path}");
    }
    // A missing file is a 404 (never the page as a script); routes get the page.
    assert_eq!(
        get("/frontend-old.js", "br").await.expect("get").status(),
        404
    );
    let route = get("/chat/room", "identity").await.expect("get");
    assert_eq!(route.text().await.expect("body"), "<html>chat page</html>");
    let head = http
        .head(relay.http_url(asset))
        .header("accept-encoding", "br")
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-encoding"), "br");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
