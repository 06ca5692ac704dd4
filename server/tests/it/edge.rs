//! The HTTP edge: connections that send nothing, or a header byte now and
//! then, are closed by the header-read timeout; idle keep-alive
//! connections too; open plain-HTTP connections are bounded in total and
//! per address (the next one is closed at once); upgrades leave that
//! count. Also: which origins a relay on a public address admits, and what
//! `/healthz` tells the public about an unreachable Redis.

use std::net::SocketAddr;
use std::time::Duration;

use crate::support::{config, connect_with_headers, connect_with_origin, Client, Relay, STEP};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// Reads until the relay closes the connection (end of stream or a reset);
/// returns what it sent. Fails the test if that takes longer than `within`.
async fn read_until_closed(tcp: &mut (impl AsyncRead + Unpin), within: Duration) -> Vec<u8> {
    let read = async {
        let mut got = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the relay closed the connection in time")
}

/// A TCP connection to `relay` from the loopback address `from`.
async fn connect_from(from: [u8; 4], relay: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback source address");
    socket.connect(relay).await.expect("connect")
}

/// Sends a GET of `path` on `tcp` and reads one whole response (its head
/// and `Content-Length` bytes); returns the status.
async fn get_on(tcp: &mut TcpStream, path: &str) -> u16 {
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = tcp.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed before a response: {got:?}");
        got.extend_from_slice(&chunk[..n]);
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    while got.len() < head_end + length {
        let n = tcp.read(&mut chunk).await.expect("read body");
        assert!(n > 0, "closed inside the body");
        got.extend_from_slice(&chunk[..n]);
    }
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line")
}

/// `GET /healthz` on a new connection from `from`, retried until it is
/// served (a place freed by a close is seen by the relay a moment later).
async fn healthz_served_from(from: [u8; 4], relay: SocketAddr) {
    let deadline = Instant::now() + STEP;
    loop {
        let mut tcp = connect_from(from, relay).await;
        let served = tokio::time::timeout(STEP, async {
            tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
                .await
                .is_ok()
                && {
                    let mut first = [0u8; 12];
                    tcp.read_exact(&mut first).await.is_ok() && &first[..] == b"HTTP/1.1 200"
                }
        })
        .await
        .unwrap_or(false);
        if served {
            return;
        }
        assert!(Instant::now() < deadline, "never served from {from:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Slowloris: 20 connections that send nothing and 20 that send one byte
/// of a request head every 250 ms (the "one byte every 4 s"
/// against a 30 s timeout, scaled to a 1 s one) are all closed by the
/// header-read timeout — the trickle does not extend it. Before, they all
/// stayed open for ever.
#[tokio::test]
async fn silent_and_trickling_connections_are_closed_by_the_header_timeout() {
    let mut cfg = config();
    let timeout = Duration::from_secs(1);
    cfg.limits.http_header_timeout = timeout;
    let relay = Relay::start(cfg).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        // Taken before connecting: the relay's timer starts after this.
        let opened = Instant::now();
        let mut tcp = TcpStream::connect(relay.addr).await.expect("connect");
        tasks.spawn(async move {
            let got = read_until_closed(&mut tcp, STEP).await;
            (opened.elapsed(), got, 0)
        });
    }
    for _ in 0..20 {
        let opened = Instant::now();
        let tcp = TcpStream::connect(relay.addr).await.expect("connect");
        tasks.spawn(async move {
            let (mut read, mut write) = tcp.into_split();
            let trickle = async {
                let mut sent = 0;
                for byte in b"GET / HTTP/1.1\r\nHost: relay\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n" {
                    if write.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    sent += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                sent
            };
            tokio::pin!(trickle);
            // The head is never finished (60 bytes: 15 s); the relay must
            // end it first. Synchronised on the close, not on a sleep.
            let mut sent = 0;
            let got = tokio::select! {
                got = read_until_closed(&mut read, STEP) => got,
                n = &mut trickle => {
                    sent = n;
                    read_until_closed(&mut read, STEP).await
                }
            };
            (opened.elapsed(), got, sent)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (lived, got, sent) = done.expect("connection task");
        assert!(
            lived >= timeout - Duration::from_millis(50),
            "closed before the timeout ({lived:?})"
        );
        // Whatever hyper says on a timeout, it is no page.
        assert!(!String::from_utf8_lossy(&got).contains("200 OK"), "{got:?}");
        assert!(
            sent < 60,
            "the whole head was sent: the relay waited too long"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "all closed within 10 s: {:?}",
        started.elapsed()
    );
    relay.stop().await;
}

/// A keep-alive connection is reused while requests come, and closed once
/// it has been idle for the header timeout after its last response (the
/// same hyper timer: it waits for the next request's head).
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let mut cfg = config();
    let timeout = Duration::from_millis(800);
    cfg.limits.http_header_timeout = timeout;
    let relay = Relay::start(cfg).await;
    let mut tcp = TcpStream::connect(relay.addr).await.expect("connect");
    assert_eq!(get_on(&mut tcp, "/healthz").await, 200);
    assert_eq!(
        get_on(&mut tcp, "/config.json").await,
        200,
        "kept alive for a second request"
    );
    let answered = Instant::now();
    let rest = read_until_closed(&mut tcp, STEP).await;
    assert!(rest.is_empty() || !String::from_utf8_lossy(&rest).contains("200"));
    // The relay's timer started when it wrote the answer, a moment before
    // it was read here: a loose lower bound.
    let idle = answered.elapsed();
    assert!(idle >= timeout / 2, "closed after {idle:?}");
    relay.stop().await;
}

/// The bound on open plain-HTTP connections in total: the next connection
/// is closed at once, unanswered; once one closes, new ones are served.
#[tokio::test]
async fn open_http_connections_are_bounded_in_total_and_the_next_is_closed_at_once() {
    let mut cfg = config();
    cfg.limits.max_http_connections = 4;
    cfg.limits.http_header_timeout = Duration::from_secs(60);
    let relay = Relay::start(cfg).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(relay.addr).await.expect("connect"));
    }
    // Accepted in order: the fifth finds the four counted.
    let mut fifth = TcpStream::connect(relay.addr).await.expect("connect");
    let _ = fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await;
    let got = read_until_closed(&mut fifth, STEP).await;
    assert!(got.is_empty(), "closed unanswered: {got:?}");
    // Another address is refused too: the bound is the total.
    let mut other = connect_from([127, 0, 0, 2], relay.addr).await;
    assert!(read_until_closed(&mut other, STEP).await.is_empty());
    // One closes: its place is free again.
    drop(held.pop());
    healthz_served_from([127, 0, 0, 1], relay.addr).await;
    drop(held);
    relay.stop().await;
}

/// The bound per client address: the address at its bound gets its next
/// connection closed at once while another address is served; a
/// `--trusted-proxy` peer (carrying many clients) counts in the total only.
#[tokio::test]
async fn open_http_connections_are_bounded_per_address() {
    let mut cfg = config();
    cfg.limits.max_http_connections_per_ip = 2;
    cfg.limits.http_header_timeout = Duration::from_secs(60);
    let relay = Relay::start(cfg).await;
    let held = [
        connect_from([127, 0, 0, 1], relay.addr).await,
        connect_from([127, 0, 0, 1], relay.addr).await,
    ];
    let mut third = connect_from([127, 0, 0, 1], relay.addr).await;
    assert!(read_until_closed(&mut third, STEP).await.is_empty());
    healthz_served_from([127, 0, 0, 2], relay.addr).await;
    drop(held);
    relay.stop().await;

    let mut cfg = config();
    cfg.limits.max_http_connections_per_ip = 1;
    cfg.limits.http_header_timeout = Duration::from_secs(60);
    cfg.serve.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let relay = Relay::start(cfg).await;
    let _held = [
        connect_from([127, 0, 0, 1], relay.addr).await,
        connect_from([127, 0, 0, 1], relay.addr).await,
    ];
    healthz_served_from([127, 0, 0, 1], relay.addr).await;
    relay.stop().await;
}

/// A WebSocket leaves the plain-HTTP count when it upgrades: with room for
/// two HTTP connections, five WebSockets open and chat, and the page is
/// still served.
#[tokio::test]
async fn upgraded_websockets_leave_the_http_count() {
    let mut cfg = config();
    cfg.limits.max_http_connections = 2;
    cfg.limits.max_http_connections_per_ip = 2;
    let relay = Relay::start(cfg).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(Client::connect(&relay.ws_url("/ws")).await);
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let id = format!("m{i}");
        client.say(&id, "hi").await;
        assert_eq!(
            crate::support::response_text(&client.next().await, &id),
            "echo: hi"
        );
    }
    healthz_served_from([127, 0, 0, 1], relay.addr).await;
    assert_eq!(relay.health().await["connections"], 5);
    drop(clients);
    relay.stop().await;
}

/// Graceful shutdown with plain-HTTP connections open: a silent one is
/// closed at once, one in the middle of a head at its timeout at the
/// latest, and `run` returns.
#[tokio::test]
async fn shutdown_closes_open_http_connections_and_returns() {
    let mut cfg = config();
    cfg.limits.http_header_timeout = Duration::from_secs(2);
    let relay = Relay::start(cfg).await;
    let mut silent = TcpStream::connect(relay.addr).await.expect("connect");
    let mut partial = TcpStream::connect(relay.addr).await.expect("connect");
    partial.write_all(b"GET / HTT").await.expect("write");
    let mut kept_alive = TcpStream::connect(relay.addr).await.expect("connect");
    assert_eq!(get_on(&mut kept_alive, "/healthz").await, 200);
    let stopped = tokio::spawn(relay.stop());
    assert!(read_until_closed(&mut silent, STEP).await.is_empty());
    read_until_closed(&mut partial, STEP).await;
    read_until_closed(&mut kept_alive, STEP).await;
    tokio::time::timeout(STEP, stopped)
        .await
        .expect("run returned in time")
        .expect("stop");
}

/// Loopback origins: the development setup (a relay on 127.0.0.1) admits
/// `http://localhost:8080`; a relay listening on a public address refuses
/// it even with `--public-url` — "localhost" is the visitor's machine —
/// unless `--allow-loopback-origin` is set.
#[tokio::test]
async fn loopback_origins_are_admitted_only_for_a_relay_on_loopback_or_when_asked() {
    let relay = Relay::start(config()).await;
    assert!(
        connect_with_origin(&relay.ws_url("/ws"), "http://localhost:8080")
            .await
            .is_ok(),
        "the dev setup"
    );
    relay.stop().await;

    // The README's production setup: on loopback behind nginx, published
    // under a public URL. Visitors' loopback pages are not this relay's.
    for behind_proxy in [false, true] {
        let mut cfg = config();
        cfg.serve.public_url = Some("https://chat.example.com/".parse().expect("url"));
        if behind_proxy {
            cfg.serve.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        }
        let relay = Relay::start(cfg).await;
        assert_eq!(
            connect_with_origin(&relay.ws_url("/ws"), "http://localhost:8080")
                .await
                .err(),
            Some(403),
            "behind_proxy: {behind_proxy}"
        );
        relay.stop().await;
    }

    let public_relay = |allow_loopback: bool| {
        let mut cfg = config();
        // The policy is built for this address; the test relay itself still
        // listens on 127.0.0.1 (tests reach nothing else).
        cfg.serve.listen = "0.0.0.0:3000".parse().expect("addr");
        cfg.serve.public_url = Some("https://chat.example.com/".parse().expect("url"));
        cfg.serve.allow_loopback_origin = allow_loopback;
        cfg
    };
    let public = [
        ("Host", "chat.example.com"),
        ("Origin", "https://chat.example.com"),
    ];
    let relay = Relay::start(public_relay(false)).await;
    let url = relay.ws_url("/ws");
    assert_eq!(
        connect_with_origin(&url, "http://localhost:8080")
            .await
            .err(),
        Some(403)
    );
    assert!(connect_with_headers(&url, &public).await.is_ok());
    relay.stop().await;

    let relay = Relay::start(public_relay(true)).await;
    let url = relay.ws_url("/ws");
    assert!(connect_with_origin(&url, "http://localhost:8080")
        .await
        .is_ok());
    assert!(connect_with_headers(&url, &public).await.is_ok());
    relay.stop().await;
}

/// `/healthz` is public: while Redis is unreachable it says so (status
/// and counts), but not why — the error text (hosts, ports, causes) is
/// for the log.
#[tokio::test]
async fn healthz_names_no_store_error_while_redis_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut cfg = config();
    cfg.cluster.redis_url = Some(
        format!("redis://127.0.0.1:{port}")
            .parse()
            .expect("redis url"),
    );
    let relay = Relay::start(cfg).await;
    let health = relay
        .wait_health("the store reported down", |h| h["status"] == "degraded")
        .await;
    let store = health["store"].as_object().expect("store");
    assert_eq!(store.get("ok"), Some(&serde_json::Value::Bool(false)));
    assert_eq!(store.get("kind"), Some(&serde_json::json!("redis")));
    assert!(store.get("error").is_none(), "{health}");
    let text = health.to_string().to_ascii_lowercase();
    for leak in ["refused", "error", &port.to_string(), "subscri"] {
        assert!(!text.contains(leak), "{leak:?} in {health}");
    }
    relay.stop().await;
}

/// A client that asks for more than the socket buffers hold and never
/// reads: hyper waits in `poll_flush` with no timer of its own. The
/// progress timeout drops the connection once no byte moved for it — seen
/// here by the address's only place coming free. Before, it was held for
/// ever.
#[tokio::test]
async fn a_client_that_never_reads_its_responses_is_closed_by_the_progress_timeout() {
    let mut cfg = config();
    let timeout = Duration::from_millis(600);
    cfg.limits.http_idle_progress_timeout = timeout;
    cfg.limits.http_header_timeout = Duration::from_secs(60);
    cfg.limits.max_http_connections_per_ip = 1;
    let relay = Relay::start(cfg).await;
    let from = [127, 0, 0, 3];
    let socket = TcpSocket::new_v4().expect("socket");
    // A small window: the responses back up into the relay at once.
    socket.set_recv_buffer_size(4096).expect("recv buffer");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback source address");
    let started = Instant::now();
    let (mut read, mut write) = socket
        .connect(relay.addr)
        .await
        .expect("connect")
        .into_split();
    // 5000 pipelined requests, about 5 MB of responses; the writes may
    // block once the relay stops reading (it does when it cannot write).
    let writer = tokio::spawn(async move {
        let request = b"GET /config.json HTTP/1.1\r\nHost: relay\r\n\r\n".repeat(5000);
        let _ = write.write_all(&request).await;
        write
    });
    // The relay frees the address's place only when it drops the stuck
    // connection.
    healthz_served_from(from, relay.addr).await;
    let held = started.elapsed();
    assert!(held >= timeout, "closed only after the timeout: {held:?}");
    read_until_closed(&mut read, STEP).await;
    writer.abort();
    relay.stop().await;
}

/// The progress timeout spares what moves: a keep-alive client asking
/// again and again for longer than the timeout, and an upgraded WebSocket
/// idle for longer than it (the check ends at the upgrade).
#[tokio::test]
async fn the_progress_timeout_spares_active_keep_alive_clients_and_idle_websockets() {
    let mut cfg = config();
    let timeout = Duration::from_millis(400);
    cfg.limits.http_idle_progress_timeout = timeout;
    cfg.limits.http_header_timeout = Duration::from_secs(60);
    let relay = Relay::start(cfg).await;
    let mut ws = Client::connect(&relay.ws_url("/ws")).await;
    let mut tcp = TcpStream::connect(relay.addr).await.expect("connect");
    let started = Instant::now();
    while started.elapsed() < timeout * 4 {
        assert_eq!(get_on(&mut tcp, "/healthz").await, 200, "still served");
        tokio::time::sleep(timeout / 4).await;
    }
    // The WebSocket was idle all that time.
    ws.say("m1", "hi").await;
    assert_eq!(
        crate::support::response_text(&ws.next().await, "m1"),
        "echo: hi"
    );
    relay.stop().await;
}

/// Shutdown has a deadline: a request whose body never comes (seen to be
/// waited for: hyper said `100 Continue`) no longer keeps `run` from
/// returning; it is dropped when `--shutdown-grace` ends. Before, `run`
/// waited for it for ever.
#[tokio::test]
async fn shutdown_drops_a_connection_stuck_mid_body_after_the_grace() {
    let mut cfg = config();
    cfg.limits.http_header_timeout = Duration::from_secs(60);
    cfg.limits.http_idle_progress_timeout = Duration::from_secs(60);
    cfg.serve.shutdown_grace = Duration::from_millis(500);
    cfg.n8n.push_token = Some(server::config::Secret("test-push-token-0123".into()));
    let relay = Relay::start(cfg).await;
    let mut stuck = TcpStream::connect(relay.addr).await.expect("connect");
    stuck
        .write_all(
            b"POST /api/sessions/x/messages HTTP/1.1\r\nHost: relay\r\n\
              Authorization: Bearer test-push-token-0123\r\n\
              Expect: 100-continue\r\nContent-Length: 100\r\n\r\n",
        )
        .await
        .expect("write");
    let mut continued = [0u8; 12];
    stuck.read_exact(&mut continued).await.expect("read");
    assert_eq!(
        &continued, b"HTTP/1.1 100",
        "the handler waits for the body"
    );
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), relay.stop())
        .await
        .expect("run returned within the grace and a bit");
    assert!(stopping.elapsed() >= Duration::from_millis(500));
    read_until_closed(&mut stuck, STEP).await;
}
