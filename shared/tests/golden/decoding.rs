//! What decoding tolerates and what it refuses: unknown fields, frame
//! types and codes pass; missing fields, bad ids and empty texts do not.

use shared::{ClientMessage, DecodeError, ErrorCode, ServerMessage};

#[test]
fn unknown_fields_are_ignored() {
    let frame = r#"{"type":"message","id":"m1","text":"hi","future":{"lang":"de"}}"#;
    assert_eq!(
        ClientMessage::decode(frame),
        Ok(ClientMessage::Message {
            id: "m1".into(),
            text: "hi".into(),
            metadata: None,
            retry: false,
            regenerate: false,
            files: Vec::new(),
        })
    );
    let frame = r#"{"type":"response","id":"m1","text":"x","future":1}"#;
    assert_eq!(
        ServerMessage::decode(frame),
        Ok(ServerMessage::Response {
            id: "m1".into(),
            text: "x".into(),
            doc: None,
        })
    );
}

#[test]
fn unknown_server_frames_and_codes_decode_as_unknown() {
    assert_eq!(
        ServerMessage::decode(r#"{"type":"somethingNew","x":1}"#),
        Ok(ServerMessage::Unknown)
    );
    let decoded =
        ServerMessage::decode(r#"{"type":"error","id":null,"code":"brand_new","message":"m"}"#);
    assert_eq!(
        decoded,
        Ok(ServerMessage::error(None, ErrorCode::Unknown, "m"))
    );
}

#[test]
fn a_connection_frame_without_max_message_bytes_still_decodes() {
    let frame = r#"{"type":"connection","clientId":"c","sessionId":"s","heartbeatMs":30000,"version":"0.0.1"}"#;
    assert!(matches!(
        ServerMessage::decode(frame),
        Ok(ServerMessage::Connection {
            max_message_bytes: None,
            ..
        })
    ));
}

#[test]
fn ping_ts_may_be_a_float_and_is_echoed_unchanged() {
    let decoded = ClientMessage::decode(r#"{"type":"ping","ts":12.5}"#);
    let Ok(ClientMessage::Ping { ts: Some(ts) }) = decoded else {
        panic!("{decoded:?}");
    };
    assert_eq!(
        ServerMessage::Pong { ts }.encode(),
        r#"{"type":"pong","ts":12.5}"#
    );
}

#[test]
fn invalid_client_frames_are_rejected_with_a_reason() {
    for bad in [
        "",
        "not json",
        "[]",
        "42",
        r#"{"type":"nope"}"#,
        r#"{"type":"message","text":"no id"}"#,
        r#"{"type":"message","id":"m1"}"#,
        r#"{"type":"message","id":5,"text":"x"}"#,
        r#"{"id":"m1","text":"no type"}"#,
    ] {
        assert!(
            matches!(ClientMessage::decode(bad), Err(DecodeError::Malformed(_))),
            "{bad:?}"
        );
    }
    let long = format!(
        r#"{{"type":"message","id":"{}","text":"x"}}"#,
        "a".repeat(65)
    );
    assert_eq!(ClientMessage::decode(&long), Err(DecodeError::BadId));
    assert_eq!(
        ClientMessage::decode(r#"{"type":"message","id":"","text":"x"}"#),
        Err(DecodeError::BadId)
    );
    assert_eq!(
        ClientMessage::decode(r#"{"type":"message","id":"m","text":"  \n"}"#),
        Err(DecodeError::EmptyText)
    );
    // Ids are of the session id's alphabet: a newline (a forged log line),
    // an escape sequence, a space or a non-ASCII letter is refused, in
    // every frame that names a message.
    for id in [
        r"m1\nINFO forged",
        r"m\r",
        r"\u001b[31m",
        "a b",
        "ä",
        "a/b",
        "a.b",
    ] {
        for frame in [
            format!(r#"{{"type":"message","id":"{id}","text":"x"}}"#),
            format!(r#"{{"type":"cancel","id":"{id}"}}"#),
            format!(r#"{{"type":"choice","id":"{id}","seq":1,"button":0}}"#),
            format!(r#"{{"type":"feedback","id":"{id}","rating":"up"}}"#),
        ] {
            assert_eq!(
                ClientMessage::decode(&frame),
                Err(DecodeError::BadId),
                "{frame}"
            );
        }
    }
    // A message may be only files (n8n then gets an empty chatInput).
    let files_only = ClientMessage::decode(
        r#"{"type":"message","id":"m","text":"","files":[{"upload":"u1","name":"a.png","type":"image/png","size":3}]}"#,
    );
    assert!(
        matches!(&files_only, Ok(ClientMessage::Message { files, .. }) if files.len() == 1),
        "{files_only:?}"
    );
}

#[test]
fn server_frames_missing_a_required_field_are_rejected() {
    for bad in [
        r#"{"type":"response","id":"m1"}"#,
        r#"{"type":"response","text":"x"}"#,
        r#"{"type":"connection","clientId":"c","heartbeatMs":1,"version":"v"}"#,
        r#"{"type":"heartbeat"}"#,
        r#"{"type":"heartbeat","ts":-1}"#,
        r#"{"type":"error","id":"m","message":"no code"}"#,
        r#"{"id":"m","text":"no type"}"#,
        "[]",
    ] {
        assert!(ServerMessage::decode(bad).is_err(), "{bad}");
    }
}
