//! Signed-in visitors for the suites that need one: an HS256 identity
//! secret, tokens of a user, and a connection that says `hello` with one.

use serde_json::json;
use shared::ClientMessage;

use super::{Client, Relay, Ws};

/// The `--identity-secret` of these suites.
pub const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

/// A token of user `sub`, valid for ten minutes.
pub fn token(sub: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": sub, "exp": server::clock::now_ms() / 1000 + 600}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

/// `config` with verified identity on (tokens signed with [`SECRET`]).
pub fn with_secret(mut config: server::Config) -> server::Config {
    config.identity.identity_secret = Some(server::config::Secret(SECRET.into()));
    config
}

/// Opens `?hello` with `session` and `token`; reads `connection`.
pub async fn open(relay: &Relay, session: Option<&str>, token: Option<&str>) -> Client {
    Client::after_connect(send_hello(relay, session, token).await).await
}

/// Opens `?hello` and sends a hello with `session` and `token`; nothing
/// read yet.
pub async fn send_hello(relay: &Relay, session: Option<&str>, token: Option<&str>) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws?hello"))
        .await
        .expect("connect");
    let hello = ClientMessage::Hello {
        session_id: session.map(str::to_owned),
        token: token.map(str::to_owned),
    };
    futures_util::SinkExt::send(
        &mut ws,
        tokio_tungstenite::tungstenite::Message::text(hello.encode()),
    )
    .await
    .expect("hello");
    ws
}
