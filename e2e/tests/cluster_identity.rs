//! Verified identity with several relays sharing Redis (issue 24): a
//! session's owner is kept in Redis (`{s}:owner`), so a token for another
//! user — or none — never opens it through another relay either. Run by
//! `cargo xtask test` with `--ignored`; needs `RELAY_BIN` and
//! `redis-server` (or `REDIS_SERVER`).

use std::time::Duration;

use e2e::redis::RedisServer;
use e2e::relay::Relay;
use e2e::ws::ChatClient;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use shared::{ErrorCode, ServerMessage};
use testkit::n8n::StandIn;

const T: Duration = Duration::from_secs(15);
const SECRET: &str = "cluster-identity-secret-of-32-bytes!";

fn token(sub: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 600;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({"sub": sub, "exp": exp}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

/// The next `error` frame's code (skipping heartbeats and the like).
async fn next_error(client: &mut ChatClient) -> ErrorCode {
    loop {
        match client.next_frame(T).await.expect("a frame") {
            ServerMessage::Error { code, .. } => return code,
            ServerMessage::Heartbeat { .. } | ServerMessage::Pong { .. } => continue,
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn ci1_a_users_session_is_hers_on_every_relay() {
    let n8n = StandIn::start().await.expect("n8n");
    let redis = RedisServer::start().await.expect("redis");
    let url = redis.url();
    let args = ["--redis-url", url.as_str(), "--identity-secret", SECRET];
    let a = Relay::start(Some(&n8n.url("/webhook/chat")), &args)
        .await
        .expect("relay a");
    let b = Relay::start(Some(&n8n.url("/webhook/chat")), &args)
        .await
        .expect("relay b");
    let (a_addr, b_addr) = (a.addr.to_string(), b.addr.to_string());
    let alice = token("alice");

    let mut on_a = ChatClient::connect_hello(&a_addr, None, Some(&alice))
        .await
        .expect("alice on a");
    let session = on_a.session.clone();
    on_a.send("m1", "for alice").await.expect("send");
    assert_eq!(on_a.answer("m1", T).await.expect("m1"), "echo: for alice");
    on_a.cut();
    e2e::wait_for("the owner in Redis", T, || async {
        let owner = redis.command(&format!("GET n8n-chat:{{{session}}}:owner"))?;
        Ok(owner.contains("alice").then_some(()))
    })
    .await
    .expect("alice owns the session in Redis");

    // Bob, through the other relay: a new session, and told so.
    let mut bob = ChatClient::connect_hello(&b_addr, Some(&session), Some(&token("bob")))
        .await
        .expect("bob on b");
    assert_ne!(bob.session, session);
    assert_eq!(next_error(&mut bob).await, ErrorCode::SessionForbidden);
    // An anonymous visitor: the same.
    let mut anonymous = ChatClient::connect_hello(&b_addr, Some(&session), None)
        .await
        .expect("anonymous on b");
    assert_ne!(anonymous.session, session);
    assert_eq!(
        next_error(&mut anonymous).await,
        ErrorCode::SessionForbidden
    );
    // Alice through B: her session, her answer, n8n ran it once.
    let mut on_b = ChatClient::connect_hello(&b_addr, Some(&session), Some(&alice))
        .await
        .expect("alice on b");
    assert_eq!(on_b.session, session);
    on_b.send("m1", "for alice").await.expect("resend");
    assert_eq!(on_b.answer("m1", T).await.expect("m1"), "echo: for alice");
    assert_eq!(n8n.calls(), 1);
}
