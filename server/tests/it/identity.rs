//! Verified identity, relay-level: tokens in the `hello` and in `identify`
//! frames over a real WebSocket, checked with a secret (HS256) or against a
//! key set served on loopback (RS256, ES256); the user reaching the n8n
//! stand-in in its own field; sessions that never cross users; forged,
//! expired, `alg: none` and wrong-key tokens refused with clear errors.

use std::time::Duration;

use crate::support::signed_in::{self, SECRET};
use crate::support::{config_for, error_of, response_text, Client, Relay};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use shared::{ClientMessage, ErrorCode};
use testkit::n8n::StandIn;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Claims for `sub` valid for `for_secs` from now.
fn claims(sub: &str, for_secs: i64) -> Value {
    json!({"sub": sub, "exp": (now_secs() as i64 + for_secs), "name": format!("Name of {sub}")})
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/identity/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn signed(alg: Algorithm, key_file: &str, kid: &str, claims: &Value) -> String {
    let pem = fixture(key_file);
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        _ => EncodingKey::from_ec_pem(pem.as_bytes()),
    }
    .expect("key");
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

/// A token with `"alg":"none"` and no signature.
fn unsigned(claims: &Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    )
}

fn with_secret(n8n: &StandIn) -> server::Config {
    signed_in::with_secret(config_for(&n8n.url("/webhook/abc/chat")))
}

/// Opens `?hello` and sends a hello with `session` and `token`; nothing
/// read yet.
async fn open(relay: &Relay, session: Option<&str>, token: Option<&str>) -> Client {
    Client {
        ws: signed_in::send_hello(relay, session, token).await,
        session_id: String::new(),
        client_id: String::new(),
        heartbeat_ms: 0,
    }
}

/// Connects with `token`, expecting to be let in.
async fn connect(relay: &Relay, session: Option<&str>, token: Option<&str>) -> Client {
    Client::after_connect(open(relay, session, token).await.ws).await
}

#[tokio::test]
async fn the_verified_user_reaches_n8n_in_its_own_field_apart_from_metadata() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let token = hs256(
        SECRET,
        &json!({"sub": "u-42", "name": "Ada", "email": "ada@example.com", "exp": now_secs() + 600}),
    );
    let mut client = connect(&relay, None, Some(&token)).await;
    let mut metadata = serde_json::Map::new();
    // The page may claim anything here; it stays the page's claim.
    metadata.insert("userId".into(), json!("spoofed"));
    client
        .send(ClientMessage::Message {
            id: "m1".into(),
            text: "hi".into(),
            metadata: Some(metadata),
            retry: false,
            files: Vec::new(),
            regenerate: false,
        })
        .await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hi");
    let body = &n8n.requests()[0].body;
    assert_eq!(
        body["user"],
        json!({"id": "u-42", "name": "Ada", "email": "ada@example.com"})
    );
    assert_eq!(body["metadata"]["userId"], "spoofed");
    assert_eq!(body["sessionId"], client.session_id.as_str());
    relay.stop().await;
}

#[tokio::test]
async fn a_token_for_one_user_never_opens_another_users_session() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let alice = hs256(SECRET, &claims("alice", 600));
    let bob = hs256(SECRET, &claims("bob", 600));

    let mut a = connect(&relay, None, Some(&alice)).await;
    let session = a.session_id.clone();
    a.say("m1", "secret of alice").await;
    assert_eq!(
        response_text(&a.next().await, "m1"),
        "echo: secret of alice"
    );
    drop(a);
    relay.wait_idle().await;

    // Bob names Alice's session: a new session, and he is told.
    let mut b = connect(&relay, Some(&session), Some(&bob)).await;
    assert_ne!(b.session_id, session, "bob never joins alice's session");
    let (code, message) = error_of(&b.next().await, None);
    assert_eq!(code, ErrorCode::SessionForbidden);
    assert!(message.contains("another user"), "{message}");
    // His resend of her message id is his own new message, not her answer.
    b.say("m1", "bob asks").await;
    assert_eq!(response_text(&b.next().await, "m1"), "echo: bob asks");
    assert!(n8n.wait_for_calls(2).await);
    assert_eq!(n8n.requests()[1].body["user"]["id"], "bob");

    // Anonymous, in the frame or in the deprecated query: the same.
    let mut anonymous = connect(&relay, Some(&session), None).await;
    assert_ne!(anonymous.session_id, session);
    assert_eq!(
        error_of(&anonymous.next().await, None).0,
        ErrorCode::SessionForbidden
    );
    let mut query = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    assert_ne!(query.session_id, session);
    assert_eq!(
        error_of(&query.next().await, None).0,
        ErrorCode::SessionForbidden
    );

    // Alice herself gets her session and her stored answer, run once.
    let mut again = connect(&relay, Some(&session), Some(&alice)).await;
    assert_eq!(again.session_id, session);
    again.say("m1", "secret of alice").await;
    assert_eq!(
        response_text(&again.next().await, "m1"),
        "echo: secret of alice"
    );
    assert_eq!(n8n.calls(), 2, "alice's message ran once");
    relay.stop().await;
}

#[tokio::test]
async fn an_unknown_session_is_not_resumed_on_a_relay_with_identity() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let alice = hs256(SECRET, &claims("alice", 600));
    let mut client = connect(&relay, Some("forgotten-or-guessed"), Some(&alice)).await;
    assert_ne!(client.session_id, "forgotten-or-guessed");
    assert_eq!(
        error_of(&client.next().await, None).0,
        ErrorCode::SessionForbidden
    );
    relay.stop().await;
}

#[tokio::test]
async fn forged_expired_unsigned_and_wrong_algorithm_tokens_are_refused() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let forged = hs256(
        "another-secret-of-at-least-32-bytes!",
        &claims("alice", 600),
    );
    let expired = hs256(SECRET, &claims("alice", -120));
    let none = unsigned(&claims("alice", 600));
    let rs256 = signed(
        Algorithm::RS256,
        "rsa-1.pem",
        "rsa-1",
        &claims("alice", 600),
    );
    let no_exp = hs256(SECRET, &json!({"sub": "alice"}));
    let bad_email = hs256(
        SECRET,
        &json!({"sub": "alice", "exp": now_secs() + 600, "email": "not an address"}),
    );
    let cases = [
        (forged.as_str(), ErrorCode::InvalidToken, "signature"),
        (expired.as_str(), ErrorCode::TokenExpired, "expired"),
        (none.as_str(), ErrorCode::InvalidToken, "algorithm"),
        (rs256.as_str(), ErrorCode::InvalidToken, "HS256 only"),
        (no_exp.as_str(), ErrorCode::InvalidToken, "exp"),
        (bad_email.as_str(), ErrorCode::InvalidToken, "e-mail"),
        ("not.a.jwt", ErrorCode::InvalidToken, "JWT"),
    ];
    for (token, want, says) in cases {
        let mut refused = open(&relay, None, Some(token)).await;
        let (code, message) = error_of(&refused.next().await, None);
        assert_eq!(code, want, "{message}");
        assert!(message.contains(says), "{says:?} not in {message:?}");
        // Nothing else: no `connection`, no session, until a good token.
        let good = hs256(SECRET, &claims("alice", 600));
        refused.send(ClientMessage::Identify { token: good }).await;
        let mut client = Client::after_connect(refused.ws).await;
        client.say("m", "hi").await;
        assert_eq!(response_text(&client.next().await, "m"), "echo: hi");
    }
    assert!(n8n
        .requests()
        .iter()
        .all(|r| r.body["user"]["id"] == "alice"));
    relay.stop().await;
}

#[tokio::test]
async fn a_refused_token_closes_the_socket_after_too_many_tries() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let forged = hs256(
        "another-secret-of-at-least-32-bytes!",
        &claims("alice", 600),
    );
    let mut client = open(&relay, None, Some(&forged)).await;
    for _ in 1..server::ws::identify::MAX_TRIES {
        assert_eq!(
            error_of(&client.next().await, None).0,
            ErrorCode::InvalidToken
        );
        client
            .send(ClientMessage::Identify {
                token: forged.clone(),
            })
            .await;
    }
    assert_eq!(
        error_of(&client.next().await, None).0,
        ErrorCode::InvalidToken
    );
    let (code, reason) = client.expect_close().await;
    assert_eq!((code, reason.as_str()), (1008, "identity token refused"));
    assert_eq!(n8n.calls(), 0);
    relay.stop().await;
}

#[tokio::test]
async fn an_expired_connection_stops_messages_until_identify_and_loses_none() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut config = with_secret(&n8n);
    config.identity.identity_leeway = Duration::ZERO;
    let relay = Relay::start(config).await;
    let exp = now_secs() + 1;
    let short = hs256(SECRET, &json!({"sub": "alice", "exp": exp}));
    let mut client = connect(&relay, None, Some(&short)).await;
    client.say("m1", "first").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: first");

    // Until the wall clock is past `exp` (the token's own deadline).
    let past = std::time::UNIX_EPOCH + Duration::from_secs(exp + 1);
    if let Ok(wait) = past.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    client.say("m2", "second").await;
    let (code, _) = error_of(&client.next().await, Some("m2"));
    assert_eq!(code, ErrorCode::TokenExpired);
    assert_eq!(n8n.calls(), 1, "not run with an expired token");

    // Another user's token does not take over this connection.
    let bob = hs256(SECRET, &claims("bob", 600));
    client.send(ClientMessage::Identify { token: bob }).await;
    assert_eq!(
        error_of(&client.next().await, None).0,
        ErrorCode::SessionForbidden
    );
    client.say("m2", "second").await;
    assert_eq!(
        error_of(&client.next().await, Some("m2")).0,
        ErrorCode::TokenExpired
    );

    // A fresh token of the same user: the resend runs, once.
    let fresh = hs256(SECRET, &claims("alice", 600));
    client.send(ClientMessage::Identify { token: fresh }).await;
    client.say("m2", "second").await;
    assert_eq!(response_text(&client.next().await, "m2"), "echo: second");
    assert_eq!(n8n.calls(), 2);
    assert_eq!(n8n.requests()[1].body["user"]["id"], "alice");
    relay.stop().await;
}

#[tokio::test]
async fn an_anonymous_connection_may_identify_and_keeps_its_session() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let mut client = connect(&relay, None, None).await;
    client.say("m1", "anonymous").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: anonymous");
    assert!(n8n.requests()[0].body.get("user").is_none());
    let alice = hs256(SECRET, &claims("alice", 600));
    client.send(ClientMessage::Identify { token: alice }).await;
    client.say("m2", "now alice").await;
    assert_eq!(response_text(&client.next().await, "m2"), "echo: now alice");
    assert_eq!(n8n.requests()[1].body["user"]["id"], "alice");
    // The session is hers now: anonymous visitors no longer get in.
    let session = client.session_id.clone();
    drop(client);
    let mut other = connect(&relay, Some(&session), None).await;
    assert_ne!(other.session_id, session);
    assert_eq!(
        error_of(&other.next().await, None).0,
        ErrorCode::SessionForbidden
    );
    relay.stop().await;
}

#[tokio::test]
async fn without_identity_configured_tokens_change_nothing() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/abc/chat"))).await;
    let token = hs256(SECRET, &claims("alice", 600));
    let mut client = connect(&relay, None, Some(&token)).await;
    client.say("m1", "hi").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hi");
    assert!(n8n.requests()[0].body.get("user").is_none());
    // Sessions resume by id as before, whoever asks.
    let session = client.session_id.clone();
    drop(client);
    let again = connect(&relay, Some(&session), None).await;
    assert_eq!(again.session_id, session);
    // `identify` is a clear error here.
    let mut again = again;
    again.send(ClientMessage::Identify { token }).await;
    let (code, message) = error_of(&again.next().await, None);
    assert_eq!(code, ErrorCode::InvalidMessage);
    assert!(message.contains("--identity-secret"), "{message}");
    relay.stop().await;
}

/// A key set on loopback (axum), as an identity provider serves it: its
/// body can be swapped (a key rotation) and its fetches are counted.
struct Jwks {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<String>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Jwks {
    fn set(keys: &[&str]) -> String {
        format!(
            "{{\"keys\":[{}]}}",
            keys.iter()
                .map(|k| fixture(k))
                .collect::<Vec<_>>()
                .join(",")
        )
    }

    fn rotate(&self, keys: &[&str]) {
        *self.body.lock().expect("lock") = Jwks::set(keys);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

async fn jwks_server(keys: &[&str]) -> Jwks {
    let body = std::sync::Arc::new(std::sync::Mutex::new(Jwks::set(keys)));
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (b, f) = (body.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (b, f) = (b.clone(), f.clone());
            async move {
                f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = b.lock().map(|b| b.clone()).unwrap_or_default();
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Jwks {
        url: format!("http://{addr}/.well-known/jwks.json"),
        body,
        fetches,
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_on_its_unknown_kid_at_a_bounded_rate() {
    let n8n = StandIn::start().await.expect("stand-in");
    let jwks = jwks_server(&["rsa-1.jwk.json"]).await;
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.identity.identity_jwks_url = Some(jwks.url.parse().expect("url"));
    // Refetches on unknown kids at most every second (min(30 s, refresh)).
    config.identity.identity_jwks_refresh = Duration::from_secs(1);
    let relay = Relay::start(config).await;
    let old = signed(
        Algorithm::RS256,
        "rsa-1.pem",
        "rsa-1",
        &claims("alice", 600),
    );
    connect(&relay, None, Some(&old)).await;
    assert_eq!(jwks.fetches(), 1);

    // The provider rotates to rsa-2; tokens signed with it arrive at once.
    jwks.rotate(&["rsa-2.jwk.json"]);
    let new = signed(
        Algorithm::RS256,
        "rsa-2.pem",
        "rsa-2",
        &claims("alice", 600),
    );
    let started = tokio::time::Instant::now();
    let deadline = started + crate::support::STEP;
    let mut refused = 0;
    loop {
        let mut client = open(&relay, None, Some(&new)).await;
        match client.next().await {
            shared::ServerMessage::Connection { .. } => break,
            frame => {
                let (code, message) = error_of(&frame, None);
                assert_eq!(code, ErrorCode::InvalidToken, "{message}");
                refused += 1;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rsa-2 never fetched"
        );
        // Polled (as `wait_health` polls), under the upgrade rate.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        refused > 0,
        "the first token after the rotation came within the window"
    );
    // However many tokens named the unknown kid meanwhile, the set was
    // fetched again about once a second, not once per token.
    let elapsed_secs = started.elapsed().as_secs() as usize;
    assert!(
        jwks.fetches() <= 2 + elapsed_secs,
        "{} fetches for {refused} refused tokens",
        jwks.fetches()
    );
    relay.stop().await;
}

#[tokio::test]
async fn rs256_and_es256_tokens_are_checked_against_the_key_set() {
    let n8n = StandIn::start().await.expect("stand-in");
    let jwks = jwks_server(&["rsa-1.jwk.json", "ec-1.jwk.json"]).await;
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.identity.identity_jwks_url = Some(jwks.url.parse().expect("url"));
    config.identity.identity_audience = Some("chat".into());
    let relay = Relay::start(config).await;
    let with_aud = |sub: &str| json!({"sub": sub, "exp": now_secs() + 600, "aud": "chat"});

    let rsa = signed(
        Algorithm::RS256,
        "rsa-1.pem",
        "rsa-1",
        &with_aud("rsa-user"),
    );
    let mut client = connect(&relay, None, Some(&rsa)).await;
    client.say("m", "hi").await;
    assert_eq!(response_text(&client.next().await, "m"), "echo: hi");
    assert_eq!(n8n.requests()[0].body["user"], json!({"id": "rsa-user"}));

    let ec = signed(Algorithm::ES256, "ec-1.pem", "ec-1", &with_aud("ec-user"));
    let mut client = connect(&relay, None, Some(&ec)).await;
    client.say("m", "hi").await;
    assert_eq!(response_text(&client.next().await, "m"), "echo: hi");
    assert_eq!(n8n.requests()[1].body["user"]["id"], "ec-user");

    let forged = signed(Algorithm::RS256, "rsa-forger.pem", "rsa-1", &with_aud("x"));
    let unknown_kid = signed(Algorithm::RS256, "rsa-2.pem", "rsa-2", &with_aud("x"));
    let ec_key_as_rsa = signed(Algorithm::RS256, "rsa-1.pem", "ec-1", &with_aud("x"));
    let hs = hs256(SECRET, &with_aud("x"));
    let other_aud = signed(
        Algorithm::RS256,
        "rsa-1.pem",
        "rsa-1",
        &json!({"sub": "x", "exp": now_secs() + 600, "aud": "another-app"}),
    );
    for (token, says) in [
        (&forged, "signature"),
        (&unknown_kid, "no key"),
        (&ec_key_as_rsa, "no key"),
        (&hs, "accepts RS256, ES256"),
        (&other_aud, "aud"),
    ] {
        let mut refused = open(&relay, None, Some(token)).await;
        let (code, message) = error_of(&refused.next().await, None);
        assert_eq!(code, ErrorCode::InvalidToken, "{message}");
        assert!(message.contains(says), "{says:?} not in {message:?}");
    }
    assert_eq!(n8n.calls(), 2);
    relay.stop().await;
}

#[tokio::test]
async fn an_unreachable_key_set_asks_the_page_to_try_again_later() {
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/jwks", closed.local_addr().expect("addr"));
    drop(closed);
    let n8n = StandIn::start().await.expect("stand-in");
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.identity.identity_jwks_url = Some(url.parse().expect("url"));
    let relay = Relay::start(config).await;
    let token = signed(
        Algorithm::RS256,
        "rsa-1.pem",
        "rsa-1",
        &claims("alice", 600),
    );
    let mut client = open(&relay, None, Some(&token)).await;
    let (code, message) = error_of(&client.next().await, None);
    assert_eq!(code, ErrorCode::InvalidToken);
    assert!(message.contains("cannot be checked now"), "{message}");
    assert_eq!(client.expect_close().await.0, 1013);
    relay.stop().await;
}

#[tokio::test]
async fn with_files_the_user_is_a_json_text_part_like_metadata() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = tempfile::tempdir().expect("dir");
    let mut config = with_secret(&n8n);
    config.uploads.allow_file_uploads = true;
    config.uploads.upload_dir = Some(dir.path().join("uploads"));
    let relay = Relay::start(config).await;
    let token = hs256(SECRET, &json!({"sub": "u-7", "exp": now_secs() + 600}));
    let mut client = connect(&relay, None, Some(&token)).await;
    let response = reqwest::Client::new()
        .post(relay.http_url("/api/uploads"))
        .header("x-chat-session", client.session_id.as_str())
        .header("content-type", "image/png")
        .header("x-file-name", "dot.png")
        .body(testkit::DOT_PNG.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201);
    let up: Value = response.json().await.expect("json");
    let file: shared::protocol::FileRef = serde_json::from_value(
        json!({"upload": up["id"], "name": up["name"], "type": up["type"], "size": up["size"]}),
    )
    .expect("file ref");
    client
        .send(ClientMessage::Message {
            id: "m".into(),
            text: "look".into(),
            metadata: None,
            retry: false,
            files: vec![file],
            regenerate: false,
        })
        .await;
    let _ = response_text(&client.next().await, "m");
    let request = &n8n.requests()[0];
    let part = request
        .parts
        .iter()
        .find(|p| p.name == "user")
        .expect("a user part");
    assert_eq!(
        serde_json::from_slice::<Value>(&part.bytes).expect("json"),
        json!({"id": "u-7"})
    );
    relay.stop().await;
}

#[tokio::test]
async fn tokens_and_secrets_never_reach_the_log() {
    let (captured, _guard) = crate::support::log_capture::Captured::text_debug();
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let good = hs256(SECRET, &claims("alice", 600));
    let forged = hs256(
        "another-secret-of-at-least-32-bytes!",
        &claims("alice", 600),
    );
    let mut refused = open(&relay, None, Some(&forged)).await;
    assert_eq!(
        error_of(&refused.next().await, None).0,
        ErrorCode::InvalidToken
    );
    refused
        .send(ClientMessage::Identify {
            token: good.clone(),
        })
        .await;
    let mut client = Client::after_connect(refused.ws).await;
    client.say("m", "hi").await;
    assert_eq!(response_text(&client.next().await, "m"), "echo: hi");
    drop(client);
    relay.stop().await;
    let logs = captured.text();
    assert!(logs.contains("verified identity on"), "{logs}");
    assert!(logs.contains("identity token refused"), "{logs}");
    for secret in [good.as_str(), forged.as_str(), SECRET] {
        assert!(!logs.contains(secret), "{secret} leaked: {logs}");
    }
}

#[tokio::test]
async fn a_users_session_is_forgotten_only_by_that_user() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(with_secret(&n8n)).await;
    let alice = hs256(SECRET, &claims("alice", 600));
    let bob = hs256(SECRET, &claims("bob", 600));
    let mut a = connect(&relay, None, Some(&alice)).await;
    let session = a.session_id.clone();
    a.say("m1", "secret of alice").await;
    assert_eq!(
        response_text(&a.next().await, "m1"),
        "echo: secret of alice"
    );
    drop(a);
    relay.wait_idle().await;

    // Knowing the id is not enough: Bob and an anonymous page forget nothing.
    for token in [Some(bob.as_str()), None] {
        let mut other = connect(&relay, None, token).await;
        other
            .send(ClientMessage::Forget {
                sessions: Some(vec![session.clone()]),
            })
            .await;
        assert_eq!(
            other.next().await,
            shared::ServerMessage::Forgotten { sessions: 0 }
        );
    }
    let mut again = connect(&relay, Some(&session), Some(&alice)).await;
    again.say("m1", "secret of alice").await;
    assert_eq!(
        response_text(&again.next().await, "m1"),
        "echo: secret of alice",
        "still kept"
    );
    // Alice can.
    again.send(ClientMessage::Forget { sessions: None }).await;
    assert_eq!(
        again.next().await,
        shared::ServerMessage::Forgotten { sessions: 1 }
    );
    again.say("m1", "secret of alice").await;
    assert_eq!(
        error_of(&again.next().await, Some("m1")).0,
        ErrorCode::AnswerLost
    );
    assert_eq!(n8n.calls(), 1);
    relay.stop().await;
}
