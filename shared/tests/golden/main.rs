//! Golden tests: the exact bytes of every frame.
//!
//! Each `<name>.json` in this folder holds one frame as it travels on the
//! wire. The test encodes the Rust value and compares byte for byte, then
//! decodes the file and compares values, so a renamed field or a changed tag
//! fails here before it breaks the other side.
//!
//! One module per topic; this file holds the helpers every module uses.

mod client;
mod decoding;
mod page_config;
mod rich_text;
mod server;
mod sessions;

use shared::{ClientMessage, ServerMessage};

pub(crate) fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.trim_end_matches('\n').to_owned()
}

pub(crate) fn num(n: u64) -> serde_json::Number {
    serde_json::Number::from(n)
}

pub(crate) fn check_client(name: &str, value: ClientMessage) {
    let bytes = golden(name);
    assert_eq!(value.encode(), bytes, "encoding of {name}");
    assert_eq!(
        ClientMessage::decode(&bytes),
        Ok(value),
        "decoding of {name}"
    );
}

pub(crate) fn check_server(name: &str, value: ServerMessage) {
    let bytes = golden(name);
    assert_eq!(value.encode(), bytes, "encoding of {name}");
    assert_eq!(
        ServerMessage::decode(&bytes),
        Ok(value),
        "decoding of {name}"
    );
}
