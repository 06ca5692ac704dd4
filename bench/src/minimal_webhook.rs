//! The fastest webhook we can write: hyper's HTTP/1 server answering the
//! relay's request with the echo the load generator checks, found by
//! scanning the body for `"chatInput":"` instead of parsing JSON.
//!
//! Why: the testkit stand-in reproduces n8n byte for byte (captured
//! headers, every mode), which costs; measured against it alone, the relay
//! could look slow when the stand-in is the ceiling. Against this one the
//! relay's own ceiling shows.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running minimal webhook; stops when dropped.
#[derive(Debug)]
pub struct MinimalWebhook {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for MinimalWebhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MinimalWebhook {
    /// Starts on a free loopback port.
    pub async fn start() -> std::io::Result<MinimalWebhook> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(answer))
                        .await;
                });
            }
        });
        Ok(MinimalWebhook { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The webhook URL (any path answers).
    pub fn url(&self) -> String {
        format!("http://{}/webhook/chat", self.addr)
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(br#"{"output":"echo: "#);
    out.extend_from_slice(chat_input(&body));
    out.extend_from_slice(br#""}"#);
    let mut response = Response::new(Full::new(Bytes::from(out)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Ok(response)
}

/// The raw (still JSON-escaped) `chatInput` string of a request body, so
/// it can be put back into a JSON string as is.
pub fn chat_input(body: &[u8]) -> &[u8] {
    const KEY: &[u8] = br#""chatInput":""#;
    let Some(start) = body.windows(KEY.len()).position(|w| w == KEY) else {
        return b"";
    };
    let rest = &body[start + KEY.len()..];
    let mut escaped = false;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'\\' if !escaped => escaped = true,
            b'"' if !escaped => return &rest[..i],
            _ => escaped = false,
        }
    }
    b""
}

#[cfg(test)]
mod tests {
    use super::chat_input;

    #[test]
    fn finds_the_raw_chat_input() {
        assert_eq!(
            chat_input(br#"{"action":"sendMessage","chatInput":"a \"b\" \\","x":1}"#),
            br#"a \"b\" \\"#
        );
        assert_eq!(chat_input(br#"{"chatInput":"unterminated"#), b"");
        assert_eq!(chat_input(b"{}"), b"");
    }
}
