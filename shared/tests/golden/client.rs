//! The page's frames (page → relay): ping, message (with metadata, files,
//! retry, regenerate), choice, cancel and feedback.

use crate::{check_client, check_server, golden, num};
use shared::{ClientMessage, ErrorCode, ServerMessage};

#[test]
fn client_ping() {
    check_client(
        "client_ping",
        ClientMessage::Ping {
            ts: Some(num(1764107000123)),
        },
    );
}

#[test]
fn client_ping_without_ts() {
    check_client("client_ping_no_ts", ClientMessage::Ping { ts: None });
}

#[test]
fn client_message() {
    check_client(
        "client_message",
        ClientMessage::Message {
            id: "5b0f7e0a-6c1e-4b8e-9f51-2f8c1d7a9e10".into(),
            text: "Hallo, wie geht's? \"quotes\" and ünïcode".into(),
            metadata: None,
            retry: false,
            regenerate: false,
            files: Vec::new(),
        },
    );
}

#[test]
fn client_message_with_metadata() {
    let mut metadata = serde_json::Map::new();
    metadata.insert("language".into(), "de-DE".into());
    metadata.insert("pageUrl".into(), "https://chat.example/".into());
    check_client(
        "client_message_metadata",
        ClientMessage::Message {
            id: "m1".into(),
            text: "hi".into(),
            metadata: Some(metadata),
            retry: false,
            regenerate: false,
            files: Vec::new(),
        },
    );
}

#[test]
fn client_message_retry() {
    check_client(
        "client_message_retry",
        ClientMessage::Message {
            id: "m1".into(),
            text: "hi".into(),
            metadata: None,
            retry: true,
            regenerate: false,
            files: Vec::new(),
        },
    );
}

#[test]
fn client_cancel_and_feedback() {
    check_client("client_cancel", ClientMessage::Cancel { id: "m1".into() });
    check_client(
        "client_feedback",
        ClientMessage::Feedback {
            id: "m1".into(),
            rating: Some(shared::Rating::Up),
        },
    );
    check_client(
        "client_feedback_cleared",
        ClientMessage::Feedback {
            id: "m1".into(),
            rating: None,
        },
    );
    for bad in [
        r#"{"type":"cancel","id":""}"#,
        r#"{"type":"cancel"}"#,
        r#"{"type":"feedback","id":"m1","rating":"meh"}"#,
        r#"{"type":"feedback","id":"","rating":"up"}"#,
    ] {
        assert!(ClientMessage::decode(bad).is_err(), "{bad}");
    }
    assert_eq!(shared::ErrorCode::Cancelled.as_str(), "cancelled");
    assert!(
        shared::ErrorCode::Cancelled.is_retryable(),
        "Stop, then run it again"
    );
}

#[test]
fn client_choice() {
    check_client(
        "client_choice",
        ClientMessage::Choice {
            id: "m1".into(),
            seq: 2,
            button: 0,
        },
    );
    assert!(
        ClientMessage::decode(r#"{"type":"choice","id":"","seq":1,"button":0}"#).is_err(),
        "the id is checked like a message's"
    );
}

#[test]
fn client_message_with_files_and_the_upload_answer() {
    check_client(
        "client_message_files",
        ClientMessage::Message {
            id: "m1".into(),
            text: "what is in this image?".into(),
            metadata: None,
            retry: false,
            regenerate: false,
            files: vec![shared::FileRef {
                upload: "up-4f9c2a".into(),
                name: "dot.png".into(),
                mime: "image/png".into(),
                size: 463,
            }],
        },
    );
    let uploaded = shared::Uploaded {
        id: "up-4f9c2a".into(),
        name: "dot.png".into(),
        mime: "image/png".into(),
        size: 463,
    };
    let bytes = golden("uploaded");
    assert_eq!(serde_json::to_string(&uploaded).expect("json"), bytes);
    assert_eq!(
        serde_json::from_str::<shared::Uploaded>(&bytes).expect("decode"),
        uploaded
    );
    check_server(
        "server_error_upload_missing",
        ServerMessage::error(
            Some("m1".into()),
            ErrorCode::UploadMissing,
            "the relay does not have upload up-4f9c2a; upload the file again",
        ),
    );
}

#[test]
fn client_message_regenerate() {
    check_client(
        "client_message_regenerate",
        ClientMessage::Message {
            id: "m2".into(),
            text: "hi".into(),
            metadata: None,
            retry: false,
            files: Vec::new(),
            regenerate: true,
        },
    );
}
