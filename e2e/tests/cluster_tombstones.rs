//! The shared store's tombstones (security round 3, item 5): a message
//! answered through one relay, whose session's keys then expired in Redis,
//! is not run again when the page resends it through another relay — it
//! gets `answer_lost`. Run by `cargo xtask test` with `--ignored`; needs
//! `RELAY_BIN` and `redis-server` (or `REDIS_SERVER`).

use std::time::Duration;

use e2e::redis::RedisServer;
use e2e::relay::Relay;
use e2e::ws::ChatClient;
use shared::{ErrorCode, ServerMessage};
use testkit::n8n::StandIn;

const T: Duration = Duration::from_secs(15);

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn t1_a_resend_after_the_sessions_keys_expired_is_answer_lost_not_a_second_run() {
    let n8n = StandIn::start().await.expect("n8n");
    let redis = RedisServer::start().await.expect("redis");
    let url = redis.url();
    let args = ["--redis-url", url.as_str()];
    let a = Relay::start(Some(&n8n.url("/webhook/chat")), &args)
        .await
        .expect("relay a");
    let b = Relay::start(Some(&n8n.url("/webhook/chat")), &args)
        .await
        .expect("relay b");
    let session = "cluster-t1";
    let mut on_a = ChatClient::connect(&a.addr.to_string(), session)
        .await
        .expect("connect a");
    on_a.send("m1", "run me once").await.expect("send");
    assert_eq!(on_a.answer("m1", T).await.expect("m1"), "echo: run me once");
    on_a.cut();
    // The tombstone is written with the answer, and outlives the keys.
    // (The answer reaches the page here before it is written to Redis.)
    e2e::wait_for("the tombstone in Redis", T, || async {
        let card = redis.command("ZCARD n8n-chat:{cluster-t1}:seen")?;
        Ok(card.contains('1').then_some(()))
    })
    .await
    .expect("one tombstone");
    let ttl = redis
        .command("TTL n8n-chat:{cluster-t1}:seen")
        .expect("ttl");
    let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap_or(0);
    assert!(ttl > 600, "twice --retain-for (10m): {ttl}");
    // As if --retain-for had passed: the session's keys are gone.
    redis
        .command(
            "DEL n8n-chat:{cluster-t1} n8n-chat:{cluster-t1}:order \
             n8n-chat:{cluster-t1}:kept n8n-chat:{cluster-t1}:run",
        )
        .expect("del");
    // The page comes back through B (which never saw the session) and
    // resends its message.
    let mut on_b = ChatClient::connect(&b.addr.to_string(), session)
        .await
        .expect("connect b");
    on_b.send("m1", "run me once").await.expect("resend");
    let code = on_b
        .wait_for("the error for m1", T, |f| match f {
            ServerMessage::Error {
                id: Some(id), code, ..
            } if id == "m1" => Some(*code),
            ServerMessage::Response { id, .. } if id == "m1" => Some(ErrorCode::Unknown),
            _ => None,
        })
        .await
        .expect("an outcome for m1");
    assert_eq!(code, ErrorCode::AnswerLost);
    // A new message still runs.
    on_b.send("m2", "new").await.expect("send");
    assert_eq!(on_b.answer("m2", T).await.expect("m2"), "echo: new");
    let runs = n8n
        .inputs()
        .iter()
        .filter(|t| t.as_str() == "run me once")
        .count();
    assert_eq!(runs, 1, "n8n ran it once");
}
