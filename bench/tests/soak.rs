//! A short soak against an in-process relay and a flaky stand-in n8n:
//! random connection cuts, resends after every reconnect, failures and slow
//! answers — every message ends in exactly one outcome and no message
//! reaches the webhook twice. (`cargo xtask soak` runs the long version.)

mod support;

use std::time::Duration;

use bench::soak::{self, Soak};
use support::InProcess;
use testkit::n8n::{Mode, StandIn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_ends_once_and_reaches_n8n_at_most_once() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Flaky {
        fail_every: 7,
        slow_every: 5,
        slow_ms: 30,
    });
    let mut config = server::Config::defaults();
    config.n8n.webhook_url = Some(n8n.url("/webhook/chat").parse().expect("url"));
    config.limits.rate_limit = 1e9;
    config.limits.rate_burst = 1_000_000;
    let relay = InProcess::start(config).await;

    let clients = 20;
    let messages = 30;
    let report = soak::run(Soak {
        first_client: 0,
        url: relay.ws_url(),
        clients,
        messages,
        window: 4,
        cut_one_in: 8,
        deadline: Duration::from_secs(60),
    })
    .await;
    assert!(
        report.errored > 0,
        "the flaky webhook must actually fail some: {report:?}"
    );
    soak::verdict(&report, clients * messages, n8n.inputs()).unwrap_or_else(|e| panic!("{e}"));
    relay.stop().await;
}
