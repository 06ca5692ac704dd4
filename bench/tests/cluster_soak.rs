//! The soak through nginx against two relays sharing one Redis: connections
//! are cut at random and land on the other relay when they come back (round
//! robin), every unanswered message is resent there — and still every
//! message ends in exactly one outcome and reaches n8n at most once.
//! (`cargo xtask soak --cluster` runs the long version.)
//!
//! Needs `RELAY_BIN`, `REDIS_SERVER` and `NGINX_BIN`: run by `cargo xtask test`.

use std::time::Duration;

use bench::cluster::Cluster;
use bench::soak::{self, Soak};
use testkit::n8n::{Mode, StandIn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the relay binary, redis-server and nginx; run with `cargo xtask test`"]
async fn soak_through_nginx_across_two_relays_loses_and_doubles_nothing() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Flaky {
        fail_every: 7,
        slow_every: 5,
        slow_ms: 30,
    });
    let relay_bin = std::env::var("RELAY_BIN").expect("RELAY_BIN");
    let cluster = Cluster::start(&relay_bin, &n8n.url("/webhook/chat"), &[])
        .await
        .expect("cluster");

    let clients = 40;
    let messages = 25;
    let report = soak::run(Soak {
        first_client: 0,
        url: cluster.ws_url(),
        clients,
        messages,
        window: 4,
        cut_one_in: 8,
        deadline: Duration::from_secs(120),
    })
    .await;
    soak::verdict(&report, clients * messages, n8n.inputs()).unwrap_or_else(|e| panic!("{e}"));

    // Both relays did the work (round robin), and each stayed healthy.
    for relay in &cluster.relays {
        let h: serde_json::Value = reqwest::get(format!("http://{}/healthz", relay.addr))
            .await
            .expect("healthz")
            .json()
            .await
            .expect("json");
        assert_eq!(h["status"], "ok", "{h}");
        assert!(
            h["sessions"].as_u64().unwrap_or(0) > 0,
            "relay {} served sessions: {h}",
            relay.addr
        );
    }
}
