//! Shared helpers for the relay's integration tests: an in-process relay on
//! a free loopback port, and a WebSocket client that speaks the protocol.
#![allow(dead_code)]

pub mod log_capture;
pub mod redis_server;
pub mod signed_in;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use server::Config;
use shared::{ClientMessage, ServerMessage};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before the test fails.
pub const STEP: Duration = Duration::from_secs(10);

/// Test defaults: echo mode, a static dir that does not exist, and the
/// real default intervals (tests shorten what they exercise).
pub fn config() -> Config {
    let mut config = Config::defaults();
    config.serve.static_dir = Some(std::env::temp_dir().join("relay-tests-no-such-dir"));
    config.n8n.webhook_url = None;
    config
}

/// A config that forwards to `url`.
pub fn config_for(url: &str) -> Config {
    let mut config = config();
    config.n8n.webhook_url = Some(url.parse().expect("test webhook url"));
    config
}

/// A relay running in this process.
pub struct Relay {
    pub addr: SocketAddr,
    /// The operator's listener, when started with one.
    pub admin: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), server::RelayError>>,
}

impl Relay {
    /// Starts a relay on a free port of 127.0.0.1.
    pub async fn start(config: Config) -> Relay {
        Self::start_on("127.0.0.1:0".parse().expect("addr"), config).await
    }

    /// Starts a relay on a given address (to restart on the same port).
    pub async fn start_on(addr: SocketAddr, config: Config) -> Relay {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        Self::start_listening(listener, config)
    }

    /// Starts a relay on a listener bound already (when the configuration
    /// must name the relay's own address, e.g. `--public-url`).
    pub fn start_listening(listener: tokio::net::TcpListener, config: Config) -> Relay {
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, config, async move {
            let _ = rx.await;
        }));
        Relay {
            addr,
            admin: None,
            shutdown: Some(tx),
            task,
        }
    }

    /// Starts a relay with its operator's listener, both on free ports of
    /// 127.0.0.1.
    pub async fn start_with_admin(config: Config) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind admin");
        let addr = listener.local_addr().expect("local addr");
        let admin_addr = admin.local_addr().expect("admin addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run_with_admin(
            listener,
            Some(admin),
            config,
            async move {
                let _ = rx.await;
            },
        ));
        Relay {
            addr,
            admin: Some(admin_addr),
            shutdown: Some(tx),
            task,
        }
    }

    /// A URL on the operator's listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            self.admin.expect("started with an admin listener")
        )
    }

    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Begins a graceful shutdown; returns the task to await.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down and waits for `run` to return.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        let result = tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("relay stopped in time");
        result
            .expect("relay task")
            .expect("relay ran without error");
    }

    pub async fn health(&self) -> serde_json::Value {
        let response = reqwest::get(self.http_url("/healthz"))
            .await
            .expect("healthz");
        assert_eq!(response.status(), 200);
        response.json().await.expect("healthz json")
    }

    /// Polls `/healthz` until `inFlight` is 0 (answers were all handed over).
    pub async fn wait_idle(&self) {
        self.wait_health("no message in flight", |h| h["inFlight"] == 0)
            .await;
    }

    /// Polls `/healthz` until `done` holds; panics after [`STEP`] with the
    /// last report.
    pub async fn wait_health(
        &self,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let health = self.health().await;
            if done(&health) {
                return health;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A protocol client.
pub struct Client {
    pub ws: Ws,
    pub session_id: String,
    pub client_id: String,
    pub heartbeat_ms: u64,
}

impl Client {
    /// Connects and reads the `connection` frame.
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Self::after_connect(ws).await
    }

    pub async fn after_connect(mut ws: Ws) -> Client {
        match next_frame(&mut ws).await {
            ServerMessage::Connection {
                session_id,
                client_id,
                heartbeat_ms,
                ..
            } => Client {
                ws,
                session_id,
                client_id,
                heartbeat_ms,
            },
            other => panic!("first frame was not `connection`: {other:?}"),
        }
    }

    pub async fn send(&mut self, message: ClientMessage) {
        self.ws
            .send(Message::text(message.encode()))
            .await
            .expect("send");
    }

    pub async fn say(&mut self, id: &str, text: &str) {
        self.send(ClientMessage::Message {
            metadata: None,
            retry: false,
            regenerate: false,
            id: id.into(),
            text: text.into(),
            files: Vec::new(),
        })
        .await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("send raw");
    }

    /// The next frame that is not a heartbeat.
    ///
    /// `progress` frames are skipped too: they are live extras around an
    /// answer that most tests are not about (see
    /// [`Client::next_with_progress`]); so are a verified user's
    /// `conversations` lists (see [`Client::next_conversations`]) and the
    /// `history` a resumed session gets (`tests/transcripts.rs`).
    pub async fn next(&mut self) -> ServerMessage {
        loop {
            match next_frame(&mut self.ws).await {
                ServerMessage::Heartbeat { .. }
                | ServerMessage::Progress { .. }
                | ServerMessage::Conversations { .. }
                | ServerMessage::History { .. } => continue,
                frame => return frame,
            }
        }
    }

    /// The next `conversations` list (other frames but errors skipped; an
    /// error panics, so a refusal is not mistaken for silence).
    pub async fn next_conversations(&mut self) -> Vec<shared::ConversationItem> {
        loop {
            match next_frame(&mut self.ws).await {
                ServerMessage::Conversations { items } => return items,
                e @ ServerMessage::Error { .. } => panic!("expected a list, got {e:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame, `progress` frames included (heartbeats skipped).
    pub async fn next_with_progress(&mut self) -> ServerMessage {
        loop {
            match next_frame(&mut self.ws).await {
                ServerMessage::Heartbeat { .. } => continue,
                frame => return frame,
            }
        }
    }

    /// The next frame, heartbeats included.
    pub async fn next_any(&mut self) -> ServerMessage {
        next_frame(&mut self.ws).await
    }

    /// Asserts nothing but heartbeats arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Text(t)))) => match ServerMessage::decode(&t) {
                    Ok(
                        ServerMessage::Heartbeat { .. }
                        | ServerMessage::Progress { .. }
                        | ServerMessage::Conversations { .. },
                    ) => continue,
                    other => panic!("expected silence, got {other:?}"),
                },
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Waits for the close frame; returns its code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            match tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("close in time")
            {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error instead of close: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }
}

/// Connects with an `Origin` header; returns the HTTP status on refusal.
pub async fn connect_with_origin(url: &str, origin: &str) -> Result<Client, u16> {
    connect_with_headers(url, &[("Origin", origin)]).await
}

/// Connects with extra headers (e.g. a `Host` and `Origin` as a browser on
/// another name would send); returns the HTTP status on refusal.
pub async fn connect_with_headers(url: &str, headers: &[(&str, &str)]) -> Result<Client, u16> {
    let mut request = url.into_client_request().expect("request");
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(Client::after_connect(ws).await),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("unexpected connect error: {e}"),
    }
}

async fn next_frame(ws: &mut Ws) -> ServerMessage {
    loop {
        let message = tokio::time::timeout(STEP, ws.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("no socket error");
        match message {
            Message::Text(text) => {
                return ServerMessage::decode(&text).expect("valid server frame")
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame: {other:?}"),
        }
    }
}

/// The text of a `response` frame for `id`, or panics.
pub fn response_text(frame: &ServerMessage, id: &str) -> String {
    match frame {
        ServerMessage::Response { id: got, text, .. } if got == id => text.clone(),
        other => panic!("expected response to {id}, got {other:?}"),
    }
}

/// The code and message of an `error` frame for `id`, or panics.
pub fn error_of(frame: &ServerMessage, id: Option<&str>) -> (shared::ErrorCode, String) {
    match frame {
        ServerMessage::Error {
            id: got,
            code,
            message,
            ..
        } if got.as_deref() == id => (*code, message.clone()),
        other => panic!("expected error for {id:?}, got {other:?}"),
    }
}
