//! A relay whose Redis is unreachable works alone, and the answers waiting
//! to be shared with the other relays are bounded (reported in /healthz).

use crate::support::{config, response_text, Client, Relay};

/// A loopback port nothing listens on (connections are refused at once).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn answers_waiting_for_redis_are_bounded_and_counted() {
    let mut cfg = config();
    cfg.cluster.redis_url = Some(
        format!("redis://127.0.0.1:{}", closed_port())
            .parse()
            .expect("url"),
    );
    cfg.cluster.redis_max_pending_bytes = 2_000;
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    for i in 0..40 {
        let id = format!("m{i}");
        client.say(&id, &"w".repeat(100)).await;
        let answer = response_text(&client.next().await, &id);
        assert!(answer.starts_with("echo: "));
    }
    // The answers are delivered before they are queued for Redis: wait
    // until the last one is queued (or counted).
    let health = relay
        .wait_health("every answer queued or counted", |h| {
            let p = &h["store"]["pending"];
            p["answers"].as_u64().unwrap_or(0) + p["dropped"].as_u64().unwrap_or(0) >= 40
        })
        .await;
    assert_eq!(health["status"], "degraded", "{health}");
    let pending = &health["store"]["pending"];
    let bytes = pending["bytes"].as_u64().expect("bytes");
    let answers = pending["answers"].as_u64().expect("answers");
    let dropped = pending["dropped"].as_u64().expect("dropped");
    assert!(bytes <= 2_000, "{health}");
    assert!(dropped > 0, "the bound was reached: {health}");
    assert_eq!(
        answers + dropped,
        40,
        "every answer is waiting or counted: {health}"
    );
    relay.stop().await;
}

/// One SUBSCRIBE the fake Redis got: when it was read, and when the error
/// answering it was about to be written.
#[derive(Debug, Clone, Copy)]
struct Subscribe {
    read: tokio::time::Instant,
    refused: tokio::time::Instant,
}

/// A Redis that accepts connections and answers every command with an
/// error; records every SUBSCRIBE it gets.
async fn refusing_redis() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<Subscribe>>>,
) {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::time::Instant;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let subscribes = Arc::new(Mutex::new(Vec::new()));
    let s = subscribes.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                // RESP: "*N", then "$len" and the argument, N times.
                while let Ok(Some(line)) = lines.next_line().await {
                    let Some(n) = line.strip_prefix('*').and_then(|n| n.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let mut args = Vec::new();
                    for _ in 0..n {
                        let _len = lines.next_line().await;
                        if let Ok(Some(arg)) = lines.next_line().await {
                            args.push(arg);
                        }
                    }
                    let read_at = Instant::now();
                    // The sessions' subscriber only: the pause has its own
                    // subscription (`<prefix>pause`) with its own schedule.
                    if args
                        .first()
                        .is_some_and(|a| a.eq_ignore_ascii_case("subscribe"))
                        && !args.iter().skip(1).all(|c| c.ends_with("pause"))
                    {
                        let refused = Instant::now();
                        s.lock().unwrap_or_else(|p| p.into_inner()).push(Subscribe {
                            read: read_at,
                            refused,
                        });
                    }
                    if write
                        .write_all(b"-ERR fake redis refuses\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, subscribes)
}

/// The subscription's reconnect schedule, as in
/// `server/src/store/redis/subscriber.rs` (`BACKOFF`, private there):
/// 100 ms doubling to 2 s, each delay jittered to half..=all of that.
const SUBSCRIBE_BACKOFF: shared::timing::Backoff = shared::timing::Backoff {
    initial: std::time::Duration::from_millis(100),
    max: std::time::Duration::from_secs(2),
    max_attempts: u32::MAX,
};

/// A subscription that fails is retried with the shared backoff, not in a
/// tight loop (which would hammer a struggling Redis with connections).
///
/// Counted against the schedule itself, not a wall-clock window: SUBSCRIBE
/// number `k` is the relay's `k`-th failure or later, so the next one may
/// come no sooner than the shortest delay after failure `k`
/// (`delay(k, jitter 0)`, half the ceiling) — measured from the moment the
/// error went out (before the relay could see it) to the moment the next
/// SUBSCRIBE arrived (after the relay sent it), so scheduling delays on a
/// busy machine can only lengthen a gap, never shorten it. And the retries
/// do come: `ATTEMPTS` of them within the schedule's ceilings plus a step.
#[tokio::test]
async fn a_failing_subscription_is_retried_with_backoff() {
    const ATTEMPTS: usize = 5;
    let (redis, subscribes) = refusing_redis().await;
    let mut cfg = config();
    cfg.cluster.redis_url = Some(format!("redis://{redis}").parse().expect("url"));
    let relay = Relay::start(cfg).await;
    let _client = Client::connect(&relay.ws_url("/ws")).await;
    let seen = || subscribes.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ceilings: std::time::Duration = (1..ATTEMPTS as u32)
        .map(|k| SUBSCRIBE_BACKOFF.ceiling(k))
        .sum();
    let deadline = tokio::time::Instant::now() + ceilings + crate::support::STEP;
    while seen().len() < ATTEMPTS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {ATTEMPTS} SUBSCRIBEs within {:?}: the retries stopped",
            seen().len(),
            ceilings + crate::support::STEP
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let seen = seen();
    let gaps: Vec<(std::time::Duration, std::time::Duration)> = (1..ATTEMPTS)
        .map(|k| {
            let gap = seen[k].read.duration_since(seen[k - 1].refused);
            (gap, SUBSCRIBE_BACKOFF.delay(k as u32, 0.0))
        })
        .collect();
    assert!(
        gaps.iter().all(|(gap, least)| gap >= least),
        "a retry came sooner than the backoff allows — (gap, shortest delay): {gaps:?}"
    );
    relay.stop().await;
}
