//! The WebSocket handshake and frame level, with raw bytes: no compression
//! is negotiated, malformed upgrades are refused, and a text frame that is
//! not UTF-8 closes the connection with 1007.

use crate::support::{config, Relay};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn handshake(
    relay: &Relay,
    extra_headers: &str,
    version: &str,
    with_key: bool,
) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(relay.addr).await.expect("connect");
    let key = if with_key {
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{key}Sec-WebSocket-Version: {version}\r\n{extra_headers}\r\n",
        relay.addr
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.expect("read") == 0 {
            break;
        }
        head.push(byte[0]);
    }
    (tcp, String::from_utf8_lossy(&head).to_ascii_lowercase())
}

async fn read_frame(tcp: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    tcp.read_exact(&mut h).await.expect("frame header");
    let mut len = u64::from(h[1] & 0x7f);
    if len == 126 {
        let mut l = [0u8; 2];
        tcp.read_exact(&mut l).await.expect("len");
        len = u64::from(u16::from_be_bytes(l));
    } else if len == 127 {
        let mut l = [0u8; 8];
        tcp.read_exact(&mut l).await.expect("len");
        len = u64::from_be_bytes(l);
    }
    let mut payload = vec![0u8; len as usize];
    tcp.read_exact(&mut payload).await.expect("payload");
    (h[0] & 0x0f, payload)
}

#[tokio::test]
async fn compression_is_not_negotiated() {
    let relay = Relay::start(config()).await;
    let (_tcp, head) = handshake(
        &relay,
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        "13",
        true,
    )
    .await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(!head.contains("sec-websocket-extensions"), "{head}");
    relay.stop().await;
}

#[tokio::test]
async fn malformed_upgrades_are_refused() {
    let relay = Relay::start(config()).await;
    let (_tcp, head) = handshake(&relay, "", "8", true).await;
    assert!(head.starts_with("http/1.1 4"), "bad version: {head}");
    let (_tcp, head) = handshake(&relay, "", "13", false).await;
    assert!(head.starts_with("http/1.1 4"), "missing key: {head}");
    assert_eq!(relay.health().await["connections"], 0);
    relay.stop().await;
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let relay = Relay::start(config()).await;
    let (mut tcp, head) = handshake(&relay, "", "13", true).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    let (opcode, hello) = read_frame(&mut tcp).await;
    assert_eq!(opcode, 1);
    assert!(String::from_utf8_lossy(&hello).contains("\"connection\""));
    // FIN + text, masked, 2 bytes of invalid UTF-8.
    let mask = [1u8, 2, 3, 4];
    let payload = [0xffu8, 0xfe];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&frame).await.expect("send frame");
    let (opcode, body) = read_frame(&mut tcp).await;
    assert_eq!(opcode, 8, "a close frame");
    assert_eq!(u16::from_be_bytes([body[0], body[1]]), 1007);
    relay.stop().await;
}
