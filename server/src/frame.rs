//! An encoded server frame: the JSON text of one `ServerMessage`, as the
//! store keeps it and the connections' queues carry it.
//!
//! **Why a type of its own.** The chat core and the store hold, keep and
//! route frames but never look inside them beyond their text and size;
//! naming the web framework's byte type for that tied them to it. Here is
//! the one place that knows what a frame is made of; only the WebSocket
//! edge (`ws`) turns one into the framework's message.
//!
//! **Why it costs nothing.** Inside is axum's `Utf8Bytes`: reference-counted
//! bytes known to be UTF-8. Sending one frame to many connections clones a
//! pointer, not the text, and [`Frame`] → [`Message`] moves the bytes
//! without copying them or checking them again.

use axum::extract::ws::{Message, Utf8Bytes};

/// One encoded frame, cheap to clone (the bytes are shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(Utf8Bytes);

impl Frame {
    /// A frame from text known when compiling (tests, fixed replies).
    pub const fn from_static(text: &'static str) -> Self {
        Frame(Utf8Bytes::from_static(text))
    }

    /// Its text, for the stores that write it down or send it on.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Its size in bytes, which the bounds on kept frames count.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no text at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Frame {
    /// Takes the string's buffer as it is (no copy).
    fn from(text: String) -> Self {
        Frame(Utf8Bytes::from(text))
    }
}

impl From<Frame> for Message {
    /// The text message the WebSocket writes: the same bytes, moved.
    fn from(frame: Frame) -> Self {
        Message::Text(frame.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_its_text_and_becomes_a_text_message() {
        let frame = Frame::from(r#"{"type":"pong"}"#.to_owned());
        assert_eq!(frame.as_str(), r#"{"type":"pong"}"#);
        assert_eq!(frame.len(), 15);
        assert!(!frame.is_empty());
        assert_eq!(frame, Frame::from_static(r#"{"type":"pong"}"#));
        match Message::from(frame) {
            Message::Text(text) => assert_eq!(text.as_str(), r#"{"type":"pong"}"#),
            other => panic!("not a text message: {other:?}"),
        }
    }
}
