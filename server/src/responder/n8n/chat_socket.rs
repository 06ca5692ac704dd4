//! The relay's side of n8n's `/chat` WebSocket, for one execution of a Chat
//! Trigger "Using Response Nodes" (`testkit/fixtures/respond-to-chat/README.md`).
//!
//! `ws(s)://<n8n>/chat?sessionId=…&executionId=…&isPublic=true`, with the
//! webhook's headers and basic auth. n8n's `n8n|heartbeat` is answered with
//! `n8n|heartbeat-ack` here, whatever the page does — n8n cancels an
//! execution whose acks stop for 60 s. Every other text frame is a bot
//! message: plain text, or a `with-buttons` JSON (an approval);
//! `n8n|continue` means n8n went on without waiting for a reply. A close
//! without a code is success; a dropped connection (no close frame) is a
//! failure, a cancel — or a network problem.
//!
//! A reply is one JSON text frame; its files go in it as n8n's widget sends
//! them, `"files":[{"name","type","data":"data:<type>;base64,…"}]` (capture
//! `respond-to-chat/02b`: the workflow sees them as `$binary.data_0…`).
//! So unlike a message's multipart, a reply's files are read into memory —
//! one frame, at most [`MAX_REPLY_BYTES`], checked before any is read.

use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::attachment::Attachment;

/// Largest frame accepted from n8n (a chat message; buttons included).
const MAX_FRAME: usize = 1024 * 1024;

/// Largest reply frame sent (its files base64-encoded in it): n8n's chat
/// socket is a `ws` server with its default `maxPayload`, 100 MiB, and
/// closes the connection on a larger message.
pub const MAX_REPLY_BYTES: u64 = 100 * 1024 * 1024;

/// Why a reply was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The socket failed (it is opened again when noticed).
    #[error("{0}")]
    Socket(String),
    /// A file of the reply is no longer in the upload store.
    #[error("the relay no longer has the file \"{0}\"; upload it again")]
    FileGone(String),
    /// The reply's frame would be larger than n8n takes.
    #[error("these files are too large to go with a reply to a waiting workflow: {} MiB encoded, n8n's chat socket takes at most {} MiB", .0.div_ceil(1024 * 1024), MAX_REPLY_BYTES / (1024 * 1024))]
    TooLarge(u64),
}

/// A button of an approval, as n8n sent it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Button {
    /// The label.
    pub text: String,
    /// The signed `webhook-waiting` link that acts on it (a capability: it
    /// names the execution; never sent to a browser).
    pub link: String,
    /// `primary` (approve) or `secondary`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A bot message of the execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotMessage {
    /// The text.
    pub text: String,
    /// Approval buttons, in order (empty for a plain message).
    pub buttons: Vec<Button>,
    /// Typing is ignored by n8n until a button is used.
    pub block_user_input: bool,
}

/// What n8n's socket said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromN8n {
    /// A bot message.
    Message(BotMessage),
    /// `n8n|continue`: n8n went on; it does not wait for the user.
    Continue,
    /// A close without a status code: the execution ended successfully.
    Finished,
    /// The connection dropped without a close frame (n8n does that for a
    /// failed or cancelled execution), or failed otherwise.
    Dropped(String),
    /// n8n refused the socket (unknown execution, missing id): its text.
    Refused(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WithButtons {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    block_user_input: bool,
    #[serde(default)]
    buttons: Vec<Button>,
}

/// Reads one bot message: buttons only for a `with-buttons` object (what
/// n8n's widget does), anything else is text as it came.
pub fn parse_message(text: &str) -> BotMessage {
    match serde_json::from_str::<WithButtons>(text) {
        Ok(w) if w.kind == "with-buttons" => BotMessage {
            text: w.text,
            buttons: w.buttons,
            block_user_input: w.block_user_input,
        },
        _ => BotMessage {
            text: text.to_owned(),
            buttons: Vec::new(),
            block_user_input: false,
        },
    }
}

/// The `/chat` URL of an execution: n8n's chat endpoint (the webhook URL's
/// origin + `/chat`, or `--n8n-chat-url`) with the ids.
pub fn chat_url(base: &url::Url, session_id: &str, execution_id: &str) -> url::Url {
    let mut url = base.clone();
    url.query_pairs_mut()
        .clear()
        .append_pair("sessionId", session_id)
        .append_pair("executionId", execution_id)
        .append_pair("isPublic", "true");
    url
}

/// n8n's chat endpoint for a webhook URL: same origin, `ws(s)`, `/chat`.
pub fn chat_endpoint(webhook: &url::Url) -> Option<url::Url> {
    let scheme = match webhook.scheme() {
        "https" => "wss",
        "http" => "ws",
        _ => return None,
    };
    let host = webhook.host_str()?;
    let port = webhook.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    url::Url::parse(&format!("{scheme}://{host}{port}/chat")).ok()
}

/// One open socket to an execution.
#[derive(Debug)]
pub struct ChatSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl ChatSocket {
    /// Opens the socket with the webhook's `headers` (auth included).
    pub async fn connect(
        url: &url::Url,
        headers: &HeaderMap,
        timeout: Duration,
    ) -> Result<ChatSocket, String> {
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("bad chat URL: {e}"))?;
        for (name, value) in headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        match tokio::time::timeout(timeout, connect).await {
            Ok(Ok((ws, _))) => Ok(ChatSocket { ws }),
            Ok(Err(e)) => Err(format!("cannot open n8n's chat socket: {e}")),
            Err(_) => Err("n8n's chat socket did not open in time".into()),
        }
    }

    /// The next thing n8n says (heartbeats are answered here).
    pub async fn next(&mut self) -> FromN8n {
        loop {
            let frame = match self.ws.next().await {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return FromN8n::Dropped(e.to_string()),
                None => return FromN8n::Dropped("the connection closed".into()),
            };
            match frame {
                Message::Text(text) => match text.as_str() {
                    "n8n|heartbeat" => {
                        if let Err(e) = self.ws.send(Message::text("n8n|heartbeat-ack")).await {
                            return FromN8n::Dropped(e.to_string());
                        }
                    }
                    "n8n|continue" => return FromN8n::Continue,
                    other if other.starts_with("Execution with id ") => {
                        return FromN8n::Refused(other.to_owned())
                    }
                    other => return FromN8n::Message(parse_message(other)),
                },
                Message::Close(None) => return FromN8n::Finished,
                Message::Close(Some(frame)) => {
                    return match frame.code {
                        CloseCode::Normal | CloseCode::Status => FromN8n::Finished,
                        CloseCode::Policy => {
                            FromN8n::Refused("n8n refused the chat socket (1008)".into())
                        }
                        code => FromN8n::Dropped(format!("closed with {code}")),
                    }
                }
                Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Sends the user's reply, with its files, to the waiting execution.
    pub async fn reply(
        &mut self,
        session_id: &str,
        text: &str,
        files: &[Attachment],
    ) -> Result<(), ReplyError> {
        let frame = reply_frame(session_id, text, files).await?;
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|e| ReplyError::Socket(e.to_string()))
    }

    /// Closes the socket normally (n8n keeps a waiting execution waiting).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

/// The reply frame: `{"action":"sendMessage","chatInput":…,"sessionId":…}`,
/// and `"files"` when there are any. Its length is known from the files'
/// sizes, so one too large for n8n is refused before a byte is read; each
/// file is then read and encoded straight into the frame.
async fn reply_frame(
    session_id: &str,
    text: &str,
    files: &[Attachment],
) -> Result<String, ReplyError> {
    let head = serde_json::json!({
        "sessionId": session_id,
        "action": "sendMessage",
        "chatInput": text,
    })
    .to_string();
    if files.is_empty() {
        return Ok(head);
    }
    // `{"name":…,"type":…,"data":"data:<type>;base64,` for each file: the
    // base64 needs no JSON escaping, so it follows as it is, then `"}`.
    let starts: Vec<String> = files
        .iter()
        .map(|f| {
            let data = serde_json::to_string(&format!("data:{};base64,", f.mime))
                .unwrap_or_else(|_| "\"".into());
            format!(
                r#"{{"name":{},"type":{},"data":{}"#,
                serde_json::Value::from(f.name.as_str()),
                serde_json::Value::from(f.mime.as_str()),
                data.strip_suffix('"').unwrap_or(&data)
            )
        })
        .collect();
    let (open, close) = (r#","files":["#, "]}");
    let length = starts
        .iter()
        .zip(files)
        .map(|(start, f)| start.len() as u64 + f.size.div_ceil(3) * 4 + 2)
        .sum::<u64>()
        + (files.len() as u64 - 1)
        + (head.len() - 1 + open.len() + close.len()) as u64;
    if length > MAX_REPLY_BYTES {
        return Err(ReplyError::TooLarge(length));
    }
    let mut frame = String::with_capacity(usize::try_from(length).unwrap_or(0));
    frame.push_str(&head[..head.len() - 1]);
    frame.push_str(open);
    for (i, (start, f)) in starts.iter().zip(files).enumerate() {
        if i > 0 {
            frame.push(',');
        }
        let bytes = tokio::fs::read(&f.path)
            .await
            .map_err(|_| ReplyError::FileGone(f.name.clone()))?;
        frame.push_str(start);
        base64::engine::general_purpose::STANDARD.encode_string(&bytes, &mut frame);
        frame.push_str("\"}");
    }
    frame.push_str(close);
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_approvals_as_n8n_sends_them() {
        let plain = parse_message("first message (you said: hi)");
        assert_eq!(plain.text, "first message (you said: hi)");
        assert!(plain.buttons.is_empty());
        // The captured approval frame (03-approval-buttons).
        let frame = r#"{"type":"with-buttons","text":"Deploy version 1.2.3?","blockUserInput":true,"buttons":[{"text":"Yes, deploy","link":"http://127.0.0.1:5678/webhook-waiting/18/f3000000-0000-4000-8000-000000000002?approved=true&signature=311b","type":"primary"},{"text":"No","link":"http://127.0.0.1:5678/webhook-waiting/18/f3000000-0000-4000-8000-000000000002?approved=false&signature=de62","type":"secondary"}]}"#;
        let m = parse_message(frame);
        assert_eq!(m.text, "Deploy version 1.2.3?");
        assert!(m.block_user_input);
        assert_eq!(m.buttons.len(), 2);
        assert_eq!(
            (m.buttons[0].text.as_str(), m.buttons[0].kind.as_str()),
            ("Yes, deploy", "primary")
        );
        // JSON that is not an approval stays text.
        let json = parse_message(r#"{"output":"x"}"#);
        assert_eq!(json.text, r#"{"output":"x"}"#);
    }

    fn attachment(name: &str, mime: &str, size: u64, path: std::path::PathBuf) -> Attachment {
        Attachment {
            id: format!("up-{name}"),
            session: "s".into(),
            name: name.into(),
            mime: mime.into(),
            size,
            path,
        }
    }

    #[tokio::test]
    async fn a_replys_files_go_in_its_frame_as_n8ns_widget_sends_them() {
        let plain = reply_frame("s-1", "Ada", &[]).await.expect("frame");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&plain).expect("json"),
            serde_json::json!({"sessionId": "s-1", "action": "sendMessage", "chatInput": "Ada"})
        );
        let dir = std::env::temp_dir().join(format!("relay-reply-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::write(&a, b"hello").expect("a");
        std::fs::write(&b, [0u8, 255, 1, 2]).expect("b");
        let files = [
            attachment("a \"quoted\".txt", "text/plain", 5, a),
            attachment("b.png", "image/png", 4, b),
        ];
        let frame = reply_frame("s-1", "two files", &files)
            .await
            .expect("frame");
        let json: serde_json::Value = serde_json::from_str(&frame).expect("json");
        assert_eq!(json["chatInput"], "two files");
        assert_eq!(
            json["files"],
            serde_json::json!([
                {"name": "a \"quoted\".txt", "type": "text/plain", "data": "data:text/plain;base64,aGVsbG8="},
                {"name": "b.png", "type": "image/png", "data": "data:image/png;base64,AP8BAg=="},
            ])
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_reply_too_large_for_n8n_is_refused_before_a_file_is_read() {
        let nowhere = std::env::temp_dir().join("relay-reply-frame-absent");
        // 3 bytes are 4 in base64: this one file alone is too large.
        let big = attachment(
            "big.bin",
            "application/pdf",
            MAX_REPLY_BYTES / 4 * 3,
            nowhere.clone(),
        );
        assert!(matches!(
            reply_frame("s", "x", &[big]).await,
            Err(ReplyError::TooLarge(n)) if n > MAX_REPLY_BYTES
        ));
        let gone = attachment("gone.txt", "text/plain", 5, nowhere);
        assert_eq!(
            reply_frame("s", "x", &[gone]).await,
            Err(ReplyError::FileGone("gone.txt".into()))
        );
    }

    #[test]
    fn the_chat_url_follows_the_webhooks_origin() {
        let hook: url::Url = "https://n8n.example:8443/webhook/abc/chat?x=1"
            .parse()
            .expect("url");
        let base = chat_endpoint(&hook).expect("endpoint");
        assert_eq!(base.as_str(), "wss://n8n.example:8443/chat");
        let url = chat_url(&base, "s 1", "42");
        assert_eq!(
            url.as_str(),
            "wss://n8n.example:8443/chat?sessionId=s+1&executionId=42&isPublic=true"
        );
        // The webhook URL's user info (credentials) never goes to the socket.
        let with_user: url::Url = "https://admin:secret@n8n.example/webhook/abc/chat"
            .parse()
            .expect("url");
        let base = chat_endpoint(&with_user).expect("endpoint");
        assert_eq!(base.as_str(), "wss://n8n.example/chat");
        assert_eq!(
            chat_url(&base, "s", "1").as_str(),
            "wss://n8n.example/chat?sessionId=s&executionId=1&isPublic=true"
        );
        let local: url::Url = "http://127.0.0.1:5678/webhook/x/chat".parse().expect("url");
        assert_eq!(
            chat_endpoint(&local).expect("endpoint").as_str(),
            "ws://127.0.0.1:5678/chat"
        );
    }
}
