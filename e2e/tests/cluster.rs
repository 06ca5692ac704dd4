//! Several relays sharing sessions through a real Redis, with real
//! WebSocket clients, a stand-in n8n, and nginx in front (issue: "Beyond one
//! machine"). Run by `cargo xtask test` (which installs redis-server and
//! nginx) with `--ignored`; needs `RELAY_BIN`, and `REDIS_SERVER`/`NGINX_BIN`
//! or both on PATH.

use std::net::SocketAddr;
use std::time::Duration;

use e2e::browser::Browser;
use e2e::nginx::Nginx;
use e2e::redis::RedisServer;
use e2e::relay::Relay;
use e2e::scenario::{answered_once, finish};
use e2e::wait_for;
use e2e::ws::ChatClient;
use shared::ServerMessage;
use testkit::n8n::StandIn;

const TOKEN: &str = "cluster-test-token-0123456789";
const T: Duration = Duration::from_secs(15);

async fn relay(n8n: &StandIn, redis: &RedisServer, extra: &[&str]) -> Relay {
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str(), "--push-token", TOKEN];
    args.extend_from_slice(extra);
    Relay::start(Some(&n8n.url("/webhook/chat")), &args)
        .await
        .expect("relay")
}

/// A stand-in n8n, a Redis, and relays A and B sharing it (A with `a_extra`
/// flags, B with `b_extra`).
struct Setup {
    n8n: StandIn,
    redis: RedisServer,
    a: Relay,
    b: Relay,
}

async fn setup(a_extra: &[&str], b_extra: &[&str]) -> Setup {
    let n8n = StandIn::start().await.expect("n8n");
    let redis = RedisServer::start().await.expect("redis");
    let a = relay(&n8n, &redis, a_extra).await;
    let b = relay(&n8n, &redis, b_extra).await;
    Setup { n8n, redis, a, b }
}

async fn health(addr: SocketAddr) -> Result<serde_json::Value, String> {
    reqwest::get(format!("http://{addr}/healthz"))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

async fn wait_status(addr: SocketAddr, status: &str) {
    wait_for(
        &format!("/healthz of {addr} = {status}"),
        T,
        || async move {
            let h = health(addr).await?;
            Ok((h["status"] == status).then_some(()))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn push(addr: SocketAddr, session: &str, text: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/sessions/{session}/messages"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .expect("push request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn pushed(client: &mut ChatClient, text: &str) -> Result<(), String> {
    client
        .wait_for(&format!("push {text:?}"), T, |f| match f {
            ServerMessage::Push { text: got, .. } if got == text => Some(()),
            _ => None,
        })
        .await
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c1_a_message_resent_to_another_relay_reaches_n8n_once() {
    let Setup {
        n8n,
        redis: _redis,
        a,
        b,
    } = setup(&[], &[]).await;
    let session = "cluster-c1";

    // In flight on A when the client moves to B: B does not call n8n again,
    // and A's answer reaches the client on B.
    let mut on_a = ChatClient::connect(&a.addr.to_string(), session)
        .await
        .expect("connect a");
    on_a.send("m1", "slow:1500 first").await.expect("send");
    assert!(n8n.wait_for_calls(1).await);
    on_a.cut();
    let mut on_b = ChatClient::connect(&b.addr.to_string(), session)
        .await
        .expect("connect b");
    on_b.send("m1", "slow:1500 first").await.expect("resend");
    // Resent again and again (a page reconnecting in a loop): B watches the
    // message once, not once per resend. A later message on the same
    // connection is answered after B has handled every resend.
    for _ in 0..4 {
        on_b.send("m1", "slow:1500 first").await.expect("resend");
    }
    on_b.send("m0", "after the resends").await.expect("send");
    assert_eq!(
        on_b.answer("m0", T).await.expect("m0"),
        "echo: after the resends"
    );
    let watching = health(b.addr).await.expect("health b")["watching"].clone();
    assert_eq!(watching, 1, "one takeover watcher for one message");
    let answer = on_b.answer("m1", T).await.expect("answer on b");
    assert_eq!(answer, "echo: slow:1500 first");
    assert_eq!(
        n8n.calls(),
        2,
        "the resends did not reach n8n (m1 once, m0 once)"
    );

    // Answered while the session had no connection anywhere: kept in Redis
    // and delivered by the other relay when the session comes back.
    on_b.send("m2", "slow:500 second").await.expect("send");
    assert!(n8n.wait_for_calls(3).await);
    on_b.cut();
    assert!(n8n.wait_for_finished(3).await);
    let mut back_on_a = ChatClient::connect(&a.addr.to_string(), session)
        .await
        .expect("reconnect a");
    let answer = back_on_a.answer("m2", T).await.expect("kept answer");
    assert_eq!(answer, "echo: slow:500 second");
    // And resending it is answered from Redis, not by n8n.
    back_on_a
        .send("m2", "slow:500 second")
        .await
        .expect("resend");
    let again = back_on_a.answer("m2", T).await.expect("stored answer");
    assert_eq!(again, answer);
    assert_eq!(n8n.calls(), 3, "n8n called exactly once per message");
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c2_a_push_via_one_relay_reaches_a_client_on_another() {
    let Setup {
        n8n: _n8n,
        redis: _redis,
        a,
        b,
    } = setup(&[], &[]).await;
    let mut on_a = ChatClient::connect(&a.addr.to_string(), "cluster-c2")
        .await
        .expect("connect a");

    let (status, body) = push(b.addr, "cluster-c2", "your report is ready").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["delivered"], 1, "{body}");
    pushed(&mut on_a, "your report is ready")
        .await
        .expect("push on a");

    // Unknown anywhere: 404, from either relay.
    let (status, _) = push(b.addr, "never-seen", "x").await;
    assert_eq!(status, 404);

    // No connection open: kept in Redis, delivered by whichever relay the
    // session reconnects to.
    on_a.cut();
    let (status, body) = wait_for("a push to be kept", T, || async {
        let (status, body) = push(a.addr, "cluster-c2", "kept for later").await;
        // Until A has noticed the cut connection, it still delivers there.
        Ok((body["kept"] == true).then_some((status, body)))
    })
    .await
    .expect("kept");
    assert_eq!(status, 202, "{body}");
    let mut on_b = ChatClient::connect(&b.addr.to_string(), "cluster-c2")
        .await
        .expect("connect b");
    pushed(&mut on_b, "kept for later")
        .await
        .expect("kept push on b");
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c3_relays_keep_serving_while_redis_is_down_and_recover() {
    let Setup {
        n8n,
        mut redis,
        a,
        b,
    } = setup(&[], &[]).await;
    wait_status(a.addr, "ok").await;
    wait_status(b.addr, "ok").await;
    let mut on_a = ChatClient::connect(&a.addr.to_string(), "cluster-c3")
        .await
        .expect("connect a");

    redis.stop();
    // Each relay notices and says so.
    on_a.send("d1", "while redis is down").await.expect("send");
    assert_eq!(
        on_a.answer("d1", T).await.expect("answered alone"),
        "echo: while redis is down"
    );
    wait_status(a.addr, "degraded").await;
    wait_status(b.addr, "degraded").await;
    let h = health(a.addr).await.expect("health");
    assert_eq!(h["store"]["kind"], "redis");
    assert_eq!(h["store"]["ok"], false);
    // Dedup still holds within a relay.
    on_a.send("d1", "while redis is down")
        .await
        .expect("resend");
    on_a.answer("d1", T).await.expect("stored answer");
    assert_eq!(n8n.calls(), 1);

    // Redis comes back (empty): both relays recover on their own.
    redis.start_again().await.expect("redis again");
    wait_status(a.addr, "ok").await;
    wait_status(b.addr, "ok").await;
    // The answer given while Redis was down is shared now: a resend on B
    // does not reach n8n.
    let mut on_b = ChatClient::connect(&b.addr.to_string(), "cluster-c3")
        .await
        .expect("connect b");
    wait_for("the answer to be shared", T, || async {
        let reply = redis.command("HEXISTS n8n-chat:{cluster-c3} m:d1")?;
        Ok(reply.starts_with(":1").then_some(()))
    })
    .await
    .expect("shared");
    on_b.send("d1", "while redis is down")
        .await
        .expect("resend on b");
    on_b.answer("d1", T).await.expect("answer on b");
    assert_eq!(n8n.calls(), 1, "n8n was not called again");
    // And routing works again: A resubscribed, so a push through B reaches
    // the connection that stayed open on A the whole time.
    let (status, body) = push(b.addr, "cluster-c3", "after the outage").await;
    assert_eq!(status, 202, "{body}");
    pushed(&mut on_a, "after the outage")
        .await
        .expect("push on a");
    pushed(&mut on_b, "after the outage")
        .await
        .expect("push on b");
}

#[tokio::test]
#[ignore = "needs redis-server, nginx and the relay binary; run with `cargo xtask test`"]
async fn c4_the_reconnect_scenario_through_nginx() {
    // Users open the page at a public name; the relays know it as their
    // --public-url, which is what lets that origin open the WebSocket (the
    // Host header alone is not trusted: DNS rebinding).
    let port = e2e::process::free_port();
    let public = format!("chat.test:{port}");
    let public_url = format!("http://{public}");
    let flags = [
        "--trusted-proxy",
        "127.0.0.1",
        "--public-url",
        public_url.as_str(),
    ];
    let Setup {
        n8n,
        redis: _redis,
        a,
        b,
    } = setup(&flags, &flags).await;
    let nginx = Nginx::start_on(port, [a.addr, b.addr])
        .await
        .expect("nginx");
    let front = nginx.addr.to_string();
    let session = "cluster-c4";

    // As a browser on the page served through nginx at the public name.
    let browser = [("Host", public.as_str()), ("Origin", public_url.as_str())];
    let mut first = ChatClient::connect_with(&front, session, &browser)
        .await
        .expect("connect");
    first
        .send("n1", "slow:1000 through nginx")
        .await
        .expect("send");
    assert!(n8n.wait_for_calls(1).await);
    // Round robin: the next connection lands on the other relay. Both stay
    // open here to prove it; then the first is cut.
    let mut second = ChatClient::connect_with(&front, session, &browser)
        .await
        .expect("reconnect");
    let per_relay = (
        health(a.addr).await.expect("a")["connections"].clone(),
        health(b.addr).await.expect("b")["connections"].clone(),
    );
    assert_eq!(
        per_relay,
        (serde_json::json!(1), serde_json::json!(1)),
        "one connection on each relay"
    );
    let foreign = ChatClient::connect_with(
        &front,
        session,
        &[
            ("Host", public.as_str()),
            ("Origin", "https://evil.example"),
        ],
    )
    .await;
    assert!(foreign.is_err(), "another site's page is refused");
    first.cut();
    second
        .send("n1", "slow:1000 through nginx")
        .await
        .expect("resend");
    assert_eq!(
        second.answer("n1", T).await.expect("answer"),
        "echo: slow:1000 through nginx"
    );
    assert_eq!(n8n.calls(), 1, "n8n called once");
    // A push through the balancer reaches it too.
    let (status, body) = push(nginx.addr, session, "via nginx").await;
    assert_eq!(status, 202, "{body}");
    pushed(&mut second, "via nginx").await.expect("push");
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c5_a_message_of_a_crashed_relay_is_taken_over_after_its_lease() {
    // Run again on purpose: without --rerun-interrupted it is `interrupted`
    // (c5b).
    let flags = ["--redis-lease", "2s", "--rerun-interrupted"];
    let Setup {
        n8n,
        redis,
        mut a,
        b,
    } = setup(&flags, &flags).await;
    let mut on_a = ChatClient::connect(&a.addr.to_string(), "cluster-c5")
        .await
        .expect("connect a");
    on_a.send("k1", "slow:3000 crash test").await.expect("send");
    assert!(n8n.wait_for_calls(1).await);
    a.kill();
    // The page reconnects to B at once and resends. While A's lease lives,
    // B waits for A's answer; once it has expired, B runs the message itself.
    let mut on_b = ChatClient::connect(&b.addr.to_string(), "cluster-c5")
        .await
        .expect("connect b");
    on_b.send("k1", "slow:3000 crash test")
        .await
        .expect("resend");
    let leases = redis.command("KEYS n8n-chat:relay:*").expect("keys");
    assert!(
        leases.starts_with("*2\r\n"),
        "A's lease still lives: {leases:?}"
    );
    assert_eq!(n8n.calls(), 1, "B waits for A while A's lease lives");
    assert_eq!(
        on_b.answer("k1", T).await.expect("answer"),
        "echo: slow:3000 crash test"
    );
    assert_eq!(n8n.calls(), 2, "run again once, after the crash");
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c5b_a_message_of_a_crashed_relay_is_interrupted_and_retry_runs_it() {
    let Setup {
        n8n,
        redis: _redis,
        mut a,
        b,
    } = setup(&["--redis-lease", "1s"], &["--redis-lease", "1s"]).await;
    let mut on_a = ChatClient::connect(&a.addr.to_string(), "cluster-c5b")
        .await
        .expect("connect a");
    on_a.send("k1", "slow:3000 crash test").await.expect("send");
    assert!(n8n.wait_for_calls(1).await);
    a.kill();
    // The page reconnects to B and resends: once A's lease has expired, B
    // says the message was interrupted — n8n may or may not have run it —
    // and does not run it by itself.
    let mut on_b = ChatClient::connect(&b.addr.to_string(), "cluster-c5b")
        .await
        .expect("connect b");
    on_b.send("k1", "slow:3000 crash test")
        .await
        .expect("resend");
    let code = on_b
        .wait_for("interrupted", T, |f| match f {
            ServerMessage::Error {
                id: Some(id), code, ..
            } if id == "k1" => Some(*code),
            _ => None,
        })
        .await
        .expect("error on b");
    assert_eq!(code, shared::ErrorCode::Interrupted);
    assert_eq!(n8n.calls(), 1, "not run again by itself");
    // The user presses Retry: it runs once more.
    on_b.retry("k1", "slow:10 crash test").await.expect("retry");
    assert_eq!(
        on_b.answer("k1", T).await.expect("answer"),
        "echo: slow:10 crash test"
    );
    assert_eq!(n8n.calls(), 2, "Retry ran it");
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c6_a_message_given_up_by_a_stopping_relay_runs_on_the_next() {
    let Setup {
        n8n,
        redis: _redis,
        mut a,
        b,
    } = setup(&["--shutdown-grace", "300ms"], &[]).await;
    let mut on_a = ChatClient::connect(&a.addr.to_string(), "cluster-c6")
        .await
        .expect("connect a");
    on_a.send("g1", "slow:2000 outlasts the grace")
        .await
        .expect("send");
    assert!(n8n.wait_for_calls(1).await);
    // A deploy stops A (SIGTERM): the answer outlasts the grace period, so
    // the page is told `shutting_down` and keeps the message queued.
    a.terminate();
    let code = on_a
        .wait_for("shutting_down", T, |f| match f {
            ServerMessage::Error {
                id: Some(id), code, ..
            } if id == "g1" => Some(*code),
            _ => None,
        })
        .await
        .expect("error on a");
    assert_eq!(code, shared::ErrorCode::ShuttingDown);
    // It reconnects to B and resends: B runs it, rather than answering
    // with A's error from Redis.
    let mut on_b = ChatClient::connect(&b.addr.to_string(), "cluster-c6")
        .await
        .expect("connect b");
    on_b.send("g1", "slow:2000 outlasts the grace")
        .await
        .expect("resend");
    assert_eq!(
        on_b.answer("g1", T).await.expect("answer on b"),
        "echo: slow:2000 outlasts the grace"
    );
    assert_eq!(n8n.calls(), 2);
}

#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c7_a_redis_that_stops_answering_slows_nothing_for_long() {
    let Setup {
        n8n,
        redis,
        a,
        b: _b,
    } = setup(&[], &[]).await;
    wait_status(a.addr, "ok").await;
    let mut on_a = ChatClient::connect(&a.addr.to_string(), "cluster-c7")
        .await
        .expect("connect a");
    // Redis freezes (a dropped network, not a refused connection): the
    // relay gives up on it after its 2 s response timeout and answers alone.
    redis.pause();
    on_a.send("f1", "while redis is frozen")
        .await
        .expect("send");
    assert_eq!(
        on_a.answer("f1", T).await.expect("answered alone"),
        "echo: while redis is frozen"
    );
    wait_status(a.addr, "degraded").await;
    // Later messages do not wait for Redis again each time, and a new
    // connection is not held up by the frozen subscription.
    let started = std::time::Instant::now();
    let mut late = ChatClient::connect(&a.addr.to_string(), "cluster-c7b")
        .await
        .expect("connect while frozen");
    late.send("f2", "quick").await.expect("send");
    late.answer("f2", T).await.expect("answer");
    on_a.send("f3", "quick too").await.expect("send");
    on_a.answer("f3", T).await.expect("answer");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?} while Redis was frozen",
        started.elapsed()
    );
    redis.resume();
    wait_status(a.addr, "ok").await;
    assert_eq!(n8n.calls(), 3);
}

/// c8's relays: behind nginx, which the test's browser opens at
/// `http://127.0.0.1:…`. A relay behind a proxy refuses loopback pages
/// (they are the visitors' own machines), so the test asks for them.
const BEHIND_NGINX_ON_LOOPBACK: [&str; 3] =
    ["--trusted-proxy", "127.0.0.1", "--allow-loopback-origin"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server, nginx, Chromium and the built page; run with `cargo xtask test`"]
async fn c8_a_rolling_deploy_behind_nginx_keeps_the_page_chatting() {
    let Setup {
        n8n,
        redis: _redis,
        mut a,
        mut b,
    } = setup(&BEHIND_NGINX_ON_LOOPBACK, &BEHIND_NGINX_ON_LOOPBACK).await;
    let nginx = Nginx::start([a.addr, b.addr]).await.expect("nginx");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        // The page, served through nginx like in production.
        browser
            .open_online(&format!("http://{}/", nginx.addr))
            .await?;
        let first = browser.send("slow:1500 during the deploy").await?;
        if !n8n.wait_for_calls(1).await {
            return Err("n8n never got the message".into());
        }
        // Deploy: stop the relay the page is on (SIGTERM, graceful). It
        // delivers the answer in flight, closes with 1001, and the page
        // comes back through nginx on the other relay.
        let on_a = health(a.addr).await?["connections"] == 1;
        let (stopping, staying) = if on_a { (&mut a, &b) } else { (&mut b, &a) };
        stopping.terminate();
        answered_once(&browser, &first, "echo: slow:1500 during the deploy").await?;
        browser
            .wait_state_for(&["online"], Duration::from_secs(15))
            .await?;
        wait_for("the page on the other relay", T, || async {
            Ok((health(staying.addr).await?["connections"] == 1).then_some(()))
        })
        .await?;
        let second = browser.send("after the deploy").await?;
        answered_once(&browser, &second, "echo: after the deploy").await?;
        if n8n.calls() != 2 {
            return Err(format!("n8n called {} times, expected 2", n8n.calls()));
        }
        Ok(())
    }
    .await;
    finish(&browser, "c8", result).await;
    browser.close().await;
}

/// Progress frames go where chunks go: a second tab of the session on the
/// other relay sees the steps of an answer made on this one (through
/// Redis, live), in order, each once.
#[tokio::test]
#[ignore = "needs redis-server and the relay binary; run with `cargo xtask test`"]
async fn c9_progress_reaches_the_sessions_tab_on_another_relay() {
    let Setup {
        n8n,
        redis: _redis,
        a,
        b,
    } = setup(&[], &[]).await;
    n8n.set_mode(testkit::n8n::Mode::StreamSteps {
        gap: Duration::from_millis(20),
    });
    let mut on_a = ChatClient::connect(&a.addr.to_string(), "cluster-c9")
        .await
        .expect("connect a");
    let mut on_b = ChatClient::connect(&b.addr.to_string(), "cluster-c9")
        .await
        .expect("connect b");
    on_a.send("m1", "hi").await.expect("send");
    let mut steps = Vec::new();
    let answer = on_b
        .wait_for("the answer on b", T, |f| match f {
            ServerMessage::Progress {
                seq: Some(seq),
                state,
                ..
            } => {
                steps.push((*seq, *state == shared::StepState::Done));
                None
            }
            ServerMessage::Response { text, .. } => Some(text.clone()),
            _ => None,
        })
        .await
        .expect("answer on b");
    assert_eq!(answer, "echo: hiecho: hello big world");
    let expected: Vec<(u32, bool)> = (1..=6).flat_map(|s| [(s, false), (s, true)]).collect();
    assert_eq!(steps, expected, "six steps, begun and ended, in order");
    on_a.answer("m1", T).await.expect("answer on a");
}
