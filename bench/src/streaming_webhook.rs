//! A slow streaming webhook: every request is answered in n8n's streaming
//! format (captured headers, `begin` / `item` … / `end` lines, chunked),
//! the first item at once, then `chunks - 1` more `gap` apart — an AI
//! agent typing. Each item starts with
//! `@<unix µs>;` (the moment it was written), so a client can tell how
//! long the relay took to bring it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use testkit::fixtures;

/// The shape of every answer.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Items per answer.
    pub chunks: usize,
    /// Bytes of text per item.
    pub chunk_bytes: usize,
    /// Pause between items.
    pub gap: Duration,
}

/// A running streaming webhook; stops when dropped.
#[derive(Debug)]
pub struct StreamingWebhook {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for StreamingWebhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StreamingWebhook {
    /// Starts on a free loopback port.
    pub async fn start(shape: Shape) -> std::io::Result<StreamingWebhook> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, shape));
            }
        });
        Ok(StreamingWebhook { addr, task })
    }

    /// The webhook URL.
    pub fn url(&self) -> String {
        format!("http://{}/webhook/chat", self.addr)
    }
}

/// Microseconds since the Unix epoch.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The `@<µs>;` stamps in a piece of streamed text.
pub fn stamps(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.split('@')
        .skip(1)
        .filter_map(|s| s.split_once(';').and_then(|(n, _)| n.parse().ok()))
}

async fn connection(mut stream: TcpStream, shape: Shape) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    while read_request(&mut stream, &mut buf).await.is_some() {
        if answer(&mut stream, shape).await.is_err() {
            return;
        }
    }
}

/// Reads one request (head and `content-length` body); `None` at the end.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= head_end + 4 + len {
                buf.drain(..head_end + 4 + len);
                return Some(());
            }
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn chunked(line: &str) -> String {
    format!("{:x}\r\n{line}\n\r\n", line.len() + 1)
}

async fn answer(stream: &mut TcpStream, shape: Shape) -> std::io::Result<()> {
    let lines: Vec<&str> = fixtures::stream_lines().collect();
    let (begin, item, end) = match lines.as_slice() {
        [begin, item, end, ..] => (*begin, *item, *end),
        _ => return Err(std::io::ErrorKind::InvalidData.into()),
    };
    stream
        .write_all(format!("{}{}", fixtures::STREAM_HEADERS, chunked(begin)).as_bytes())
        .await?;
    // The first item at once (an interval's first tick is immediate), the
    // others `gap` apart.
    let mut tick = tokio::time::interval(shape.gap);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..shape.chunks {
        tick.tick().await;
        let mut content = format!("@{};", unix_us());
        while content.len() < shape.chunk_bytes {
            content.push('x');
        }
        let line = item.replace(
            r#""content":"echo: ""#,
            &format!(r#""content":"{content}""#),
        );
        stream.write_all(chunked(&line).as_bytes()).await?;
    }
    stream
        .write_all(format!("{}0\r\n\r\n", chunked(end)).as_bytes())
        .await
}

#[cfg(test)]
mod tests {
    use super::stamps;

    #[test]
    fn stamps_are_found_in_merged_pieces() {
        let found: Vec<u64> = stamps("@12;xx@34;yy@bad;").collect();
        assert_eq!(found, [12, 34]);
    }
}
