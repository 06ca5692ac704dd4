//! Quotas of a public chat (`--quota-visitor`, `--quota-address`,
//! `--daily-budget`): a message past one gets `quota_exceeded` with when
//! it resets and is not sent to n8n; only messages that would reach n8n
//! count; with Redis the counts are shared by every relay and survive a
//! restart.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{config, connect_with_headers, response_text, Client, Relay};
use server::config::quotas::parse_quota;
use shared::{ErrorCode, QuotaKind, ServerMessage};

/// The next midnight UTC, in unix ms (when a `/day` quota resets).
fn next_midnight_utc() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    now - now % 86_400_000 + 86_400_000
}

/// The quota and reset time of a `quota_exceeded` error for `id`.
fn quota_of(frame: &ServerMessage, id: &str) -> (QuotaKind, u64) {
    match frame {
        ServerMessage::Error {
            id: Some(got),
            code: ErrorCode::QuotaExceeded,
            quota: Some(quota),
            resets_at: Some(at),
            ..
        } if got == id => (*quota, *at),
        other => panic!("expected quota_exceeded for {id}, got {other:?}"),
    }
}

/// Asserts the reset is the next UTC midnight (or, run right at midnight,
/// the one after).
fn assert_resets_at_midnight(at: u64) {
    let midnight = next_midnight_utc();
    assert!(
        at == midnight || at + 86_400_000 == midnight,
        "resets at {at}, not midnight UTC ({midnight})"
    );
}

#[tokio::test]
async fn a_visitor_past_its_quota_is_refused_until_midnight_and_resends_do_not_count() {
    let mut cfg = config();
    cfg.quotas.quota_visitor = parse_quota("2/day").ok();
    let relay = Relay::start(cfg).await;
    let mut a = Client::connect(&relay.ws_url("/ws")).await;
    a.say("m1", "one").await;
    assert_eq!(response_text(&a.next().await, "m1"), "echo: one");
    // A resend is answered from what the relay keeps: not counted.
    a.say("m1", "one").await;
    assert_eq!(response_text(&a.next().await, "m1"), "echo: one");
    a.say("m2", "two").await;
    assert_eq!(response_text(&a.next().await, "m2"), "echo: two");
    a.say("m3", "three").await;
    let (quota, at) = quota_of(&a.next().await, "m3");
    assert_eq!(quota, QuotaKind::Visitor);
    assert_resets_at_midnight(at);
    // Not an outcome: the same message sent again is weighed again (and
    // refused again today), never answered from a stored refusal or lost.
    a.say("m3", "three").await;
    assert_eq!(quota_of(&a.next().await, "m3").0, QuotaKind::Visitor);
    // Another visitor has its own count.
    let mut b = Client::connect(&relay.ws_url("/ws")).await;
    b.say("b1", "hi").await;
    assert_eq!(response_text(&b.next().await, "b1"), "echo: hi");
    relay.stop().await;
}

#[tokio::test]
async fn the_daily_budget_refuses_everyone_with_its_code_and_reset() {
    let mut cfg = config();
    cfg.quotas.daily_budget = parse_quota("3/day").ok();
    cfg.quotas.quota_visitor = parse_quota("50/day").ok();
    let relay = Relay::start(cfg).await;
    for i in 0..3 {
        let mut c = Client::connect(&relay.ws_url("/ws")).await;
        let id = format!("m{i}");
        c.say(&id, "hi").await;
        assert_eq!(response_text(&c.next().await, &id), "echo: hi");
    }
    for _ in 0..2 {
        let mut late = Client::connect(&relay.ws_url("/ws")).await;
        late.say("x", "hi").await;
        let (quota, at) = quota_of(&late.next().await, "x");
        assert_eq!(quota, QuotaKind::Budget);
        assert_resets_at_midnight(at);
    }
    relay.stop().await;
}

#[tokio::test]
async fn an_address_counts_across_sessions_by_its_ipv6_64() {
    let mut cfg = config();
    cfg.quotas.quota_address = parse_quota("2/day").ok();
    cfg.serve.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let relay = Relay::start(cfg).await;
    let url = relay.ws_url("/ws");
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    for ip in ["2001:db8::1", "2001:db8::2"] {
        let mut c = connect_with_headers(&url, &from(ip))
            .await
            .expect("connect");
        c.say("m", "hi").await;
        assert_eq!(response_text(&c.next().await, "m"), "echo: hi");
    }
    let mut same = connect_with_headers(&url, &from("2001:db8::ffff"))
        .await
        .expect("connect");
    same.say("m", "hi").await;
    assert_eq!(quota_of(&same.next().await, "m").0, QuotaKind::Address);
    let mut other = connect_with_headers(&url, &from("2001:db8:0:1::1"))
        .await
        .expect("connect");
    other.say("m", "hi").await;
    assert_eq!(response_text(&other.next().await, "m"), "echo: hi");
    relay.stop().await;
}

/// A `redis-server` on a free loopback port, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts one and waits until it accepts connections; `None` (with a
    /// note) when there is no `redis-server` on this machine.
    async fn start() -> Option<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .ok()?;
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            eprintln!("note: no {binary} here; skipping the shared-counters test");
            return None;
        };
        let redis = Redis { child, port };
        let deadline = tokio::time::Instant::now() + crate::support::STEP;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis never listened"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn counters_are_shared_by_two_relays_through_redis_and_survive_a_restart() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let mut cfg = config();
    cfg.cluster.redis_url = format!("redis://127.0.0.1:{}", redis.port).parse().ok();
    cfg.cluster.redis_prefix = "quota-test:".into();
    cfg.quotas.daily_budget = parse_quota("3/day").ok();
    let a = Relay::start(cfg.clone()).await;
    let b = Relay::start(cfg.clone()).await;
    for (i, relay) in [&a, &b, &a].into_iter().enumerate() {
        let mut c = Client::connect(&relay.ws_url("/ws")).await;
        let id = format!("m{i}");
        c.say(&id, "hi").await;
        assert_eq!(response_text(&c.next().await, &id), "echo: hi");
    }
    let mut c = Client::connect(&b.ws_url("/ws")).await;
    c.say("late", "hi").await;
    let (quota, at) = quota_of(&c.next().await, "late");
    assert_eq!(quota, QuotaKind::Budget, "B counted A's messages");
    assert_resets_at_midnight(at);
    a.stop().await;
    b.stop().await;
    // A restarted relay still knows today's count.
    let again = Relay::start(cfg).await;
    let mut c = Client::connect(&again.ws_url("/ws")).await;
    c.say("after", "hi").await;
    assert_eq!(quota_of(&c.next().await, "after").0, QuotaKind::Budget);
    again.stop().await;
}
