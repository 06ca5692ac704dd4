//! The properties every fuzz target checks, one function per target.
//!
//! Kept apart from the `fuzz_target!` wrappers so that the ordinary test
//! suite (`server/tests/it/fuzz_corpus.rs`) replays the committed corpus through
//! exactly the same checks on every `cargo xtask test`, without libFuzzer.

use server::responder::n8n::answer::{parse_failure, parse_history, parse_success};
use server::responder::n8n::stream::{NdjsonParser, StreamEvent};
use shared::{ClientMessage, ServerMessage};

/// Any text a browser (or an attacker) can send as a WebSocket frame: the
/// decoder never panics, and whatever it accepts survives a round trip
/// through `encode` unchanged.
pub fn client_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = ClientMessage::decode(text) {
        let again = ClientMessage::decode(&message.encode());
        assert_eq!(again.ok(), Some(message), "decode(encode(m)) != m");
    }
}

/// Any text the page can receive from a relay: decoding never panics and
/// what decodes to a known frame re-encodes to the same message.
pub fn server_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = ServerMessage::decode(text) {
        if matches!(message, ServerMessage::Unknown) {
            return;
        }
        let again = ServerMessage::decode(&message.encode());
        assert_eq!(again.ok(), Some(message), "decode(encode(m)) != m");
    }
}

/// Any body whatever sits at the webhook URL can answer with — as a success,
/// as a failure with any status (the first byte picks it), or as a history
/// load: never a panic.
pub fn n8n_answer(data: &[u8]) {
    let (status, body) = match data.split_first() {
        Some((&first, rest)) => (400 + u16::from(first), rest),
        None => (500, data),
    };
    let _ = parse_success(body);
    let _ = parse_history(body);
    let _ = parse_failure(status, body);
}

fn parse_stream(chunks: &[&[u8]]) -> Vec<StreamEvent> {
    let mut parser = NdjsonParser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        parser.push(chunk, &mut out);
    }
    parser.finish(&mut out);
    out
}

/// Any streamed body, cut into two HTTP chunks where the first byte says:
/// never a panic, and the events do not depend on where the cut falls.
pub fn n8n_stream(data: &[u8]) {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(body.len());
    let (a, b) = body.split_at(cut);
    assert_eq!(
        parse_stream(&[body]),
        parse_stream(&[a, b]),
        "events depend on the chunking"
    );
}
