//! A webhook measured alone: keep-alive connections over raw TCP, each
//! sending the relay's kind of POST and reading the whole answer, one at a
//! time. Raw sockets, because an HTTP client library costs more CPU than a
//! fast server and would be the ceiling on two cores.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Requests per second `connections` keep-alive clients get from the
/// webhook at `addr` (path `/webhook/chat`) for `duration`.
pub async fn requests_per_second(addr: SocketAddr, connections: usize, duration: Duration) -> f64 {
    let started = Instant::now();
    let until = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        tasks.spawn(async move { one_connection(addr, c, until).await.unwrap_or(0) });
    }
    let mut answered = 0u64;
    while let Some(n) = tasks.join_next().await {
        answered += n.unwrap_or(0);
    }
    answered as f64 / started.elapsed().as_secs_f64()
}

async fn one_connection(addr: SocketAddr, c: usize, until: Instant) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let body = format!(
        r#"{{"action":"sendMessage","sessionId":"bench-{c}","chatInput":"{}"}}"#,
        "x".repeat(64)
    );
    let request = format!(
        "POST /webhook/chat HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = vec![0u8; 16 * 1024];
    let mut answered = 0u64;
    while Instant::now() < until {
        stream.write_all(request.as_bytes()).await?;
        read_response(&mut stream, &mut buf).await?;
        answered += 1;
    }
    Ok(answered)
}

/// Reads one response with a `content-length` or chunked body.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let mut have = 0;
    loop {
        let n = stream.read(&mut buf[have..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
        let data = &buf[..have];
        let Some(head_end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
        let body = &data[head_end + 4..];
        let complete = match head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            Some(len) => body.len() >= len,
            None => body.ends_with(b"0\r\n\r\n"),
        };
        if complete {
            return Ok(());
        }
        if have == buf.len() {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}
