//! Golden tests: the exact bytes of every frame.
//!
//! Each `golden/<name>.json` holds one frame as it travels on the wire. The
//! test encodes the Rust value and compares byte for byte, then decodes the
//! file and compares values, so a renamed field or a changed tag fails here
//! before it breaks the other side.

use shared::rich_text::{Block, CodeBlock, Doc, Inline, Item, Link, Span, Table};
use shared::{
    ClientMessage, ConversationItem, DecodeError, ErrorCode, HistoryMessage, Role, ServerMessage,
};

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.trim_end_matches('\n').to_owned()
}

fn num(n: u64) -> serde_json::Number {
    serde_json::Number::from(n)
}

fn check_client(name: &str, value: ClientMessage) {
    let bytes = golden(name);
    assert_eq!(value.encode(), bytes, "encoding of {name}");
    assert_eq!(
        ClientMessage::decode(&bytes),
        Ok(value),
        "decoding of {name}"
    );
}

fn check_server(name: &str, value: ServerMessage) {
    let bytes = golden(name);
    assert_eq!(value.encode(), bytes, "encoding of {name}");
    assert_eq!(
        ServerMessage::decode(&bytes),
        Ok(value),
        "decoding of {name}"
    );
}

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
fn server_connection() {
    check_server(
        "server_connection",
        ServerMessage::Connection {
            client_id: "c1".into(),
            session_id: "s1".into(),
            heartbeat_ms: 30000,
            version: "0.1.0".into(),
            max_message_bytes: Some(65536),
        },
    );
}

#[test]
fn server_heartbeat() {
    check_server(
        "server_heartbeat",
        ServerMessage::Heartbeat { ts: 1764107000123 },
    );
}

#[test]
fn server_pong() {
    check_server(
        "server_pong",
        ServerMessage::Pong {
            ts: num(1764107000123),
        },
    );
}

#[test]
fn server_chunk() {
    check_server(
        "server_chunk",
        ServerMessage::Chunk {
            id: "m1".into(),
            text: "echo: ".into(),
            offset: None,
        },
    );
}

#[test]
fn server_response() {
    check_server(
        "server_response",
        ServerMessage::Response {
            id: "m1".into(),
            text: "echo: **hi**".into(),
            doc: Some(vec![Block::P(vec![
                Inline::T("echo: ".into()),
                Inline::B(vec![Inline::T("hi".into())]),
            ])]),
        },
    );
    // From a relay that does not format: no tree, the page shows the text.
    check_server(
        "server_response_plain",
        ServerMessage::Response {
            id: "m1".into(),
            text: "echo: hi".into(),
            doc: None,
        },
    );
}

/// Every node kind of a formatted text, as it travels.
#[test]
fn rich_text_tree() {
    // (Without spans or images: the shape older relays send, which must
    // keep decoding.)
    let doc: Doc = vec![
        Block::H(2, vec![Inline::T("Title".into())]),
        Block::P(vec![
            Inline::T("Some ".into()),
            Inline::Em(vec![Inline::T("em".into())]),
            Inline::T(", ".into()),
            Inline::Del(vec![Inline::T("gone".into())]),
            Inline::T(", ".into()),
            Inline::Code("code".into()),
            Inline::Br,
            Inline::A(Link {
                href: "https://n8n.io".into(),
                title: "site".into(),
                body: vec![Inline::T("n8n".into())],
                img: String::new(),
            }),
        ]),
        Block::Code(CodeBlock {
            lang: "rust".into(),
            text: "let a = 1 < 2;\n".into(),
            spans: Vec::new(),
        }),
        Block::Quote(vec![Block::P(vec![Inline::T("quoted".into())])]),
        Block::Ul(vec![Item {
            task: Some(true),
            body: vec![Block::Text(vec![Inline::T("done".into())])],
        }]),
        Block::Ol(
            3,
            vec![Item {
                task: None,
                body: vec![Block::Text(vec![Inline::T("third".into())])],
            }],
        ),
        Block::Table(Table {
            head: vec![vec![Inline::T("a".into())]],
            rows: vec![vec![vec![Inline::T("1".into())]]],
        }),
        Block::Hr,
    ];
    let bytes = golden("rich_text");
    assert_eq!(serde_json::to_string(&doc).expect("json"), bytes);
    assert_eq!(serde_json::from_str::<Doc>(&bytes).expect("decode"), doc);
}

#[test]
fn server_error_with_id() {
    check_server(
        "server_error",
        ServerMessage::error(
            Some("m1".into()),
            ErrorCode::WebhookTimeout,
            "n8n did not answer within 120s",
        ),
    );
}

#[test]
fn server_error_without_id() {
    check_server(
        "server_error_no_id",
        ServerMessage::error(None, ErrorCode::InvalidMessage, "not a valid message"),
    );
}

#[test]
fn server_history() {
    check_server(
        "server_history",
        ServerMessage::History {
            messages: vec![
                HistoryMessage {
                    role: Role::User,
                    text: "hi".into(),
                    doc: None,
                },
                HistoryMessage {
                    role: Role::Bot,
                    text: "echo: hi".into(),
                    doc: Some(vec![Block::P(vec![Inline::T("echo: hi".into())])]),
                },
            ],
        },
    );
}

#[test]
fn server_push() {
    check_server(
        "server_push",
        ServerMessage::Push {
            id: "p-7f3a".into(),
            text: "Your report is ready: <https://example.com/r/42>".into(),
            doc: Some(vec![Block::P(vec![
                Inline::T("Your report is ready: ".into()),
                Inline::A(Link {
                    href: "https://example.com/r/42".into(),
                    title: String::new(),
                    body: vec![Inline::T("https://example.com/r/42".into())],
                    img: String::new(),
                }),
            ])]),
        },
    );
}

#[test]
fn every_error_code_has_its_wire_name() {
    let codes = [
        ("invalid_message", ErrorCode::InvalidMessage),
        ("too_large", ErrorCode::TooLarge),
        ("invalid_session", ErrorCode::InvalidSession),
        ("webhook_unreachable", ErrorCode::WebhookUnreachable),
        ("webhook_timeout", ErrorCode::WebhookTimeout),
        ("webhook_error", ErrorCode::WebhookError),
        (
            "webhook_invalid_response",
            ErrorCode::WebhookInvalidResponse,
        ),
        ("shutting_down", ErrorCode::ShuttingDown),
        ("rate_limited", ErrorCode::RateLimited),
        ("cancelled", ErrorCode::Cancelled),
        ("answer_lost", ErrorCode::AnswerLost),
        ("interrupted", ErrorCode::Interrupted),
        ("store_unavailable", ErrorCode::StoreUnavailable),
        ("quota_exceeded", ErrorCode::QuotaExceeded),
        ("proof_required", ErrorCode::ProofRequired),
        ("proof_invalid", ErrorCode::ProofInvalid),
    ];
    for (name, code) in codes {
        assert_eq!(
            serde_json::to_string(&code).ok(),
            Some(format!("\"{name}\""))
        );
        assert_eq!(code.as_str(), name);
    }
}

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

#[test]
fn page_config() {
    let value = shared::PageConfig {
        title: Some("Support".into()),
        welcome: vec![
            "Hi! I am the **support** bot.".into(),
            "Ask me anything.".into(),
        ],
        welcome_docs: vec![
            vec![Block::P(vec![
                Inline::T("Hi! I am the ".into()),
                Inline::B(vec![Inline::T("support".into())]),
                Inline::T(" bot.".into()),
            ])],
            vec![Block::P(vec![Inline::T("Ask me anything.".into())])],
        ],
        language: Some("de".into()),
        streaming: false,
        placeholder: Some("Your question…".into()),
        relay_url: Some("wss://chat.example.com/ws".into()),
        uploads: Some(shared::UploadRules {
            allowed_types: "image/*,application/pdf".into(),
            max_bytes: 10485760,
            max_files: 5,
        }),
        suggestions: vec!["What can you do?".into(), "Track my order".into()],
        feedback: true,
        embed_origins: vec!["https://shop.example".into()],
        catalogues: [("de".into(), "i18n/de-0123456789abcdef.json".into())].into(),
        strings: Default::default(),
        sign_in: true,
        max_voice_seconds: 0,
    };
    let bytes = golden("page_config");
    assert_eq!(value.to_json(), bytes);
    assert_eq!(shared::PageConfig::from_json(&bytes), value);
    // Every field is optional; garbage gives the defaults.
    assert_eq!(
        shared::PageConfig::from_json("{}"),
        shared::PageConfig::default()
    );
    assert_eq!(
        shared::PageConfig::default().to_json(),
        r#"{"streaming":true}"#
    );
    assert_eq!(
        shared::PageConfig::from_json("<html>404</html>"),
        shared::PageConfig::default()
    );
    assert_eq!(
        shared::PageConfig::from_json(r#"{"title":"T","future":1}"#)
            .title
            .as_deref(),
        Some("T")
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
fn server_chat_messages_of_a_run() {
    check_server(
        "server_chat",
        ServerMessage::Chat {
            id: "m1".into(),
            seq: 1,
            text: "What is your name?".into(),
            doc: None,
            buttons: vec![],
            block_user_input: false,
        },
    );
    check_server(
        "server_chat_buttons",
        ServerMessage::Chat {
            id: "m1".into(),
            seq: 2,
            text: "Deploy version 1.2.3?".into(),
            doc: Some(vec![Block::P(vec![Inline::T(
                "Deploy version 1.2.3?".into(),
            )])]),
            buttons: vec![
                shared::ChatButton {
                    text: "Yes, deploy".into(),
                    style: shared::ButtonStyle::Primary,
                },
                shared::ChatButton {
                    text: "No".into(),
                    style: shared::ButtonStyle::Secondary,
                },
            ],
            block_user_input: true,
        },
    );
    check_server(
        "server_run",
        ServerMessage::Run {
            id: "m1".into(),
            state: shared::RunState::Waiting,
        },
    );
    check_server("server_done", ServerMessage::Done { id: "m1".into() });
}

#[test]
fn server_chunk_with_offset() {
    check_server(
        "server_chunk_offset",
        ServerMessage::Chunk {
            id: "m1".into(),
            text: "hi".into(),
            offset: Some(6),
        },
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
fn client_hello_continues_a_session_or_asks_for_a_new_one() {
    check_client(
        "client_hello",
        ClientMessage::Hello {
            session_id: Some("3f1c9a2e-8b7d-4c1e-a5f0-6d2b9e8c7a41".into()),
            token: None,
        },
    );
    check_client(
        "client_hello_new",
        ClientMessage::Hello {
            session_id: None,
            token: None,
        },
    );
}

#[test]
fn client_hello_and_identify_carry_an_identity_token() {
    check_client(
        "client_hello_token",
        ClientMessage::Hello {
            session_id: Some("3f1c9a2e-8b7d-4c1e-a5f0-6d2b9e8c7a41".into()),
            token: Some("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTQyIn0.c2ln".into()),
        },
    );
    check_client(
        "client_identify",
        ClientMessage::Identify {
            token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTQyIn0.c2ln".into(),
        },
    );
}

#[test]
fn server_errors_of_verified_identity() {
    check_server(
        "server_error_token_expired",
        ServerMessage::error(
            Some("m1".into()),
            ErrorCode::TokenExpired,
            "the identity token has expired; the page asks the site for a new one",
        ),
    );
    assert!(ErrorCode::TokenExpired.is_retryable());
    check_server(
        "server_error_invalid_token",
        ServerMessage::error(
            None,
            ErrorCode::InvalidToken,
            "the identity token was refused: the signature does not match",
        ),
    );
    check_server(
        "server_error_session_forbidden",
        ServerMessage::error(
            None,
            ErrorCode::SessionForbidden,
            "this conversation belongs to another user; started a new one",
        ),
    );
}

#[test]
fn server_error_answer_lost() {
    check_server(
        "server_error_answer_lost",
        ServerMessage::error(
            Some("m1".into()),
            ErrorCode::AnswerLost,
            "this message was answered, but the answer is no longer kept; it is not run again",
        ),
    );
    assert!(!ErrorCode::AnswerLost.is_retryable());
}

#[test]
fn server_error_interrupted() {
    check_server(
        "server_error_interrupted",
        ServerMessage::error(
            Some("m1".into()),
            ErrorCode::Interrupted,
            "the relay stopped while this message was being answered; it is not known whether it ran, so it was not run again",
        ),
    );
    assert!(ErrorCode::Interrupted.is_retryable(), "Retry runs it");
    assert!(ErrorCode::StoreUnavailable.is_retryable());
}

#[test]
fn server_status_paused() {
    check_server(
        "server_status_paused",
        ServerMessage::Status { paused: true },
    );
}

#[test]
fn server_error_paused() {
    check_server(
        "server_error_paused",
        ServerMessage::error(
            Some("m1".into()),
            ErrorCode::Paused,
            "the chat is paused by its operator; the message is kept and sent when it resumes",
        ),
    );
    assert!(ErrorCode::Paused.is_retryable());
}

#[test]
fn server_error_quota_exceeded_says_which_quota_and_when_it_resets() {
    check_server(
        "server_error_quota_exceeded",
        ServerMessage::quota_exceeded(
            "m1".into(),
            shared::QuotaKind::Visitor,
            1_796_428_800_000,
            "you have sent 50 messages today (--quota-visitor 50/day); send again after 2026-12-05T00:00:00Z",
        ),
    );
    assert!(ErrorCode::QuotaExceeded.is_retryable());
    // An older relay's error has neither field; a newer quota is unknown.
    let old = ServerMessage::decode(
        r#"{"type":"error","id":"m1","code":"quota_exceeded","message":"m","quota":"weekly"}"#,
    );
    assert!(matches!(
        old,
        Ok(ServerMessage::Error {
            resets_at: None,
            quota: Some(shared::QuotaKind::Unknown),
            ..
        })
    ));
}

#[test]
fn proof_of_work_challenge_and_proof() {
    check_server(
        "server_challenge",
        ServerMessage::Challenge {
            challenge: "1796428800000.9f2c41d07a3b5e68.14.5b0e6f3a9c1d2e4f".into(),
            bits: 14,
            expires_at: 1_796_428_800_000,
        },
    );
    check_client(
        "client_proof",
        ClientMessage::Proof {
            challenge: "1796428800000.9f2c41d07a3b5e68.14.5b0e6f3a9c1d2e4f".into(),
            nonce: "48213".into(),
        },
    );
}

#[test]
fn forget_and_forgotten() {
    check_client("client_forget", ClientMessage::Forget { sessions: None });
    check_client(
        "client_forget_sessions",
        ClientMessage::Forget {
            sessions: Some(vec!["s-1".into(), "s-2".into()]),
        },
    );
    check_server("server_forgotten", ServerMessage::Forgotten { sessions: 2 });
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

#[test]
fn server_progress() {
    use shared::{ProgressLabel, StepState};
    check_server(
        "server_progress",
        ServerMessage::Progress {
            id: "m1".into(),
            step: Some("Searching the knowledge base".into()),
            label: None,
            seq: Some(2),
            state: StepState::Running,
        },
    );
    check_server(
        "server_progress_label",
        ServerMessage::Progress {
            id: "m1".into(),
            step: None,
            label: Some(ProgressLabel::Working),
            seq: Some(1),
            state: StepState::Done,
        },
    );
    check_server(
        "server_progress_waiting",
        ServerMessage::Progress {
            id: "m1".into(),
            step: None,
            label: Some(ProgressLabel::Workflow),
            seq: None,
            state: StepState::Running,
        },
    );
    // A newer relay's label is shown as the generic one, not refused.
    assert_eq!(
        ServerMessage::decode(
            r#"{"type":"progress","id":"m1","label":"thinking","state":"running"}"#
        ),
        Ok(ServerMessage::Progress {
            id: "m1".into(),
            step: None,
            label: Some(ProgressLabel::Unknown),
            seq: None,
            state: StepState::Running,
        })
    );
    assert!(ServerMessage::decode(r#"{"type":"progress","id":"m1","state":"sleeping"}"#).is_err());
}

/// A highlighted code block: the plain text stays (older pages show it,
/// the copy button copies it) and the spans carry kinds, never colours.
#[test]
fn rich_text_code_spans() {
    let doc: Doc = vec![Block::Code(CodeBlock {
        lang: "rust".into(),
        text: "fn main() {}\n".into(),
        spans: vec![
            Span("kw".into(), "fn".into()),
            Span(String::new(), " ".into()),
            Span("fn".into(), "main".into()),
            Span(String::new(), "() {}\n".into()),
        ],
    })];
    let bytes = golden("rich_text_code_spans");
    assert_eq!(serde_json::to_string(&doc).expect("json"), bytes);
    assert_eq!(serde_json::from_str::<Doc>(&bytes).expect("decode"), doc);
}

/// Voice messages on (`--allow-voice`): the longest recording.
#[test]
fn page_config_voice() {
    let value = shared::PageConfig {
        max_voice_seconds: 90,
        ..shared::PageConfig::default()
    };
    let bytes = golden("page_config_voice");
    assert_eq!(value.to_json(), bytes);
    assert_eq!(shared::PageConfig::from_json(&bytes), value);
}

/// An image the relay serves (`--image-host`): a link with `img`, which
/// older pages ignore (they show the link).
#[test]
fn rich_text_image() {
    let doc: Doc = vec![Block::P(vec![Inline::A(Link {
        href: "https://img.example/cat.png".into(),
        title: String::new(),
        body: vec![Inline::T("a cat".into())],
        img: "api/image/aHR0cHM6Ly9pbWcuZXhhbXBsZS9jYXQucG5n.c2lnbmF0dXJl".into(),
    })])];
    let bytes = golden("rich_text_image");
    assert_eq!(serde_json::to_string(&doc).expect("json"), bytes);
    assert_eq!(serde_json::from_str::<Doc>(&bytes).expect("decode"), doc);
}

#[test]
fn save_conversation_and_the_users_list() {
    check_client(
        "client_save_conversation",
        ClientMessage::SaveConversation {
            session: "3f1c-abc_DEF".into(),
            title: "Trip to Lisbon".into(),
        },
    );
    check_server(
        "server_conversations",
        ServerMessage::Conversations {
            items: vec![
                ConversationItem {
                    session: "s-2".into(),
                    title: "Trip to Lisbon".into(),
                    updated_at: 1796428800000,
                },
                ConversationItem {
                    session: "s-1".into(),
                    title: String::new(),
                    updated_at: 1796428700000,
                },
            ],
        },
    );
}

#[test]
fn a_save_is_checked_at_the_edge() {
    let bad_session = r#"{"type":"saveConversation","session":"a b","title":"x"}"#;
    assert_eq!(
        ClientMessage::decode(bad_session),
        Err(DecodeError::BadSession)
    );
    let long = format!(
        r#"{{"type":"saveConversation","session":"s1","title":"{}"}}"#,
        "x".repeat(121)
    );
    assert_eq!(ClientMessage::decode(&long), Err(DecodeError::TitleTooLong));
    let padded = format!(
        r#"{{"type":"saveConversation","session":"s1","title":"  {}  "}}"#,
        "x".repeat(120)
    );
    assert!(ClientMessage::decode(&padded).is_ok(), "trimmed first");
    // A page older than the list skips the frame.
    assert_eq!(
        ServerMessage::decode(r#"{"type":"conversations","items":[]}"#),
        Ok(ServerMessage::Conversations { items: vec![] })
    );
}
