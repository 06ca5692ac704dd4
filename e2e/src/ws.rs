//! A real WebSocket client speaking the chat protocol, for tests that need
//! no browser (several relays, a load balancer in between).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shared::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::Result;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// One open connection of a session.
#[derive(Debug)]
pub struct ChatClient {
    socket: Socket,
    /// The session the relay put this connection in.
    pub session: String,
}

impl ChatClient {
    /// Connects to `ws://{addr}/ws?session={session}` and reads the hello.
    pub async fn connect(addr: &str, session: &str) -> Result<ChatClient> {
        Self::connect_with(addr, session, &[]).await
    }

    /// Like [`ChatClient::connect`], with extra request headers (`Origin`
    /// and `Host` as a browser on some site would send them).
    pub async fn connect_with(
        addr: &str,
        session: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<ChatClient> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("ws://{addr}/ws?session={session}");
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("{url}: {e}"))?;
        for (name, value) in headers {
            let value = value.parse().map_err(|e| format!("{name}: {value}: {e}"))?;
            request.headers_mut().insert(*name, value);
        }
        let (socket, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(request),
        )
        .await
        .map_err(|_| format!("connecting to {url} timed out"))?
        .map_err(|e| format!("connecting to {url}: {e}"))?;
        let mut client = ChatClient {
            socket,
            session: String::new(),
        };
        match client.next_frame(Duration::from_secs(10)).await? {
            ServerMessage::Connection { session_id, .. } => client.session = session_id,
            other => return Err(format!("expected the hello, got {other:?}")),
        }
        Ok(client)
    }

    /// Connects to `ws://{addr}/ws?hello` and sends the `hello` frame with
    /// `session` (if any) and an identity `token` (if any); reads frames up
    /// to the `connection` frame.
    pub async fn connect_hello(
        addr: &str,
        session: Option<&str>,
        token: Option<&str>,
    ) -> Result<ChatClient> {
        let url = format!("ws://{addr}/ws?hello");
        let (socket, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await
        .map_err(|_| format!("connecting to {url} timed out"))?
        .map_err(|e| format!("connecting to {url}: {e}"))?;
        let mut client = ChatClient {
            socket,
            session: String::new(),
        };
        let hello = ClientMessage::Hello {
            session_id: session.map(str::to_owned),
            token: token.map(str::to_owned),
        };
        client
            .socket
            .send(Message::text(hello.encode()))
            .await
            .map_err(|e| format!("hello: {e}"))?;
        match client.next_frame(Duration::from_secs(10)).await? {
            ServerMessage::Connection { session_id, .. } => client.session = session_id,
            other => return Err(format!("expected the connection frame, got {other:?}")),
        }
        Ok(client)
    }

    /// Sends a chat message.
    pub async fn send(&mut self, id: &str, text: &str) -> Result {
        self.send_message(id, text, false).await
    }

    /// Sends a chat message again because the user pressed Retry.
    pub async fn retry(&mut self, id: &str, text: &str) -> Result {
        self.send_message(id, text, true).await
    }

    async fn send_message(&mut self, id: &str, text: &str, retry: bool) -> Result {
        let frame = ClientMessage::Message {
            id: id.to_owned(),
            text: text.to_owned(),
            metadata: None,
            retry,
            regenerate: false,
            files: Vec::new(),
        };
        self.socket
            .send(Message::text(frame.encode()))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// The next protocol frame (heartbeats and pongs included).
    pub async fn next_frame(&mut self, timeout: Duration) -> Result<ServerMessage> {
        loop {
            let message = tokio::time::timeout(timeout, self.socket.next())
                .await
                .map_err(|_| format!("no frame within {timeout:?}"))?
                .ok_or("the relay closed the connection")?
                .map_err(|e| format!("read: {e}"))?;
            if let Message::Text(text) = message {
                return ServerMessage::decode(&text).map_err(|e| format!("bad frame {text}: {e}"));
            }
        }
    }

    /// Waits for the first frame that `pick` accepts, skipping others.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(&ServerMessage) -> Option<T>,
    ) -> Result<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self
                .next_frame(left)
                .await
                .map_err(|e| format!("waiting for {what}: {e}"))?;
            if let Some(v) = pick(&frame) {
                return Ok(v);
            }
        }
    }

    /// Waits for the `response` to message `id`; its text.
    pub async fn answer(&mut self, id: &str, timeout: Duration) -> Result<String> {
        self.wait_for(&format!("the answer to {id}"), timeout, |f| match f {
            ServerMessage::Response { id: got, text, .. } if got == id => Some(Ok(text.clone())),
            ServerMessage::Error {
                id: Some(got),
                message,
                ..
            } if got == id => Some(Err(format!("error for {id}: {message}"))),
            _ => None,
        })
        .await?
    }

    /// Closes the connection without a close handshake (a cut cable).
    pub fn cut(self) {
        drop(self.socket);
    }
}
