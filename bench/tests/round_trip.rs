//! Section 1's five ways, against real relays (in-process: one in front
//! of the n8n stand-in, one in echo mode): every way's answer is checked,
//! and each way records one latency per measured message — the raw floor
//! included.

mod support;

use bench::round_trip;
use support::InProcess;
use testkit::n8n::StandIn;

#[tokio::test]
async fn every_way_is_measured_on_checked_answers() {
    let n8n = StandIn::start().await.expect("stand-in");
    let webhook = n8n.url("/webhook/chat");
    let mut config = server::Config::defaults();
    config.n8n.webhook_url = Some(webhook.parse().expect("url"));
    let relay = InProcess::start(config).await;
    let mut echo_config = server::Config::defaults();
    echo_config.n8n.webhook_url = None;
    let echo = InProcess::start(echo_config).await;
    let rt = round_trip::measure_with_echo(&relay.ws_url(), Some(&echo.ws_url()), &webhook, 2, 5)
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
    relay.stop().await;
    echo.stop().await;
}
