//! Section 1's five ways, against real relays (in-process: one in front
//! of the n8n stand-in, one in echo mode): every way's answer is checked,
//! and each way records one latency per measured message — the raw floor
//! included.

use bench::round_trip;
use testkit::n8n::StandIn;

#[tokio::test]
async fn every_way_is_measured_on_checked_answers() {
    let n8n = StandIn::start().await.expect("stand-in");
    let webhook = n8n.url("/webhook/chat");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = server::Config::defaults();
    config.n8n.webhook_url = Some(webhook.parse().expect("url"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(server::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let echo_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let echo_addr = echo_listener.local_addr().expect("addr");
    let mut echo_config = server::Config::defaults();
    echo_config.n8n.webhook_url = None;
    let (stop_echo, echo_stopped) = tokio::sync::oneshot::channel::<()>();
    let echo = tokio::spawn(server::run(echo_listener, echo_config, async move {
        let _ = echo_stopped.await;
    }));
    let rt = round_trip::measure_with_echo(
        &format!("ws://{addr}/ws"),
        Some(&format!("ws://{echo_addr}/ws")),
        &webhook,
        2,
        5,
    )
    .await
    .expect("measured");
    for (way, h) in [
        ("relay", &rt.relay),
        ("relay in echo mode", &rt.relay_echo),
        ("fresh", &rt.fresh_post),
        ("keep-alive", &rt.keepalive_post),
        ("raw", &rt.raw_post),
    ] {
        assert_eq!(h.len(), 10, "{way}: two rounds of five after the warm-up");
        assert!(h.min() >= 1, "{way}");
    }
    assert_eq!(
        rt.rounds.len(),
        2,
        "one relay/floor pair per measured round"
    );
    let _ = stop.send(());
    let _ = relay.await;
    let _ = stop_echo.send(());
    let _ = echo.await;
}
