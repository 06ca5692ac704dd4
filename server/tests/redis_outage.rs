//! A relay whose Redis is unreachable works alone, and the answers waiting
//! to be shared with the other relays are bounded (reported in /healthz).

mod support;

use support::{config, response_text, Client, Relay};

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

/// A Redis that accepts connections and answers every command with an
/// error; counts the connections and the SUBSCRIBE commands it gets.
async fn refusing_redis() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let subscribes = Arc::new(AtomicUsize::new(0));
    let (c, s) = (connections.clone(), subscribes.clone());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
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
                    if args
                        .first()
                        .is_some_and(|a| a.eq_ignore_ascii_case("subscribe"))
                    {
                        s.fetch_add(1, Ordering::SeqCst);
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
    (addr, connections, subscribes)
}

/// A subscription that fails is retried with the shared backoff, not in a
/// tight loop (which would hammer a struggling Redis with connections).
#[tokio::test]
async fn a_failing_subscription_is_retried_with_backoff() {
    use std::sync::atomic::Ordering;
    let (redis, connections, subscribes) = refusing_redis().await;
    let mut cfg = config();
    cfg.cluster.redis_url = Some(format!("redis://{redis}").parse().expect("url"));
    let relay = Relay::start(cfg).await;
    let _client = Client::connect(&relay.ws_url("/ws")).await;
    // Wait for the first refused SUBSCRIBE, then watch for a while.
    let deadline = tokio::time::Instant::now() + support::STEP;
    while subscribes.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = connections.load(Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let made = connections.load(Ordering::SeqCst) - before;
    // 100 ms doubling to 2 s (jittered): at most ~5 attempts in 1.5 s.
    assert!(
        (1..=10).contains(&made),
        "{made} connections in 1.5 s (subscribes: {})",
        subscribes.load(Ordering::SeqCst)
    );
    relay.stop().await;
}
