//! The relay's frames (relay → page): connection, heartbeat, answers
//! (chunks, response, push, history), a run's messages, progress, status
//! and every error.

use crate::{check_server, num};
use shared::rich_text::{Block, Inline, Link};
use shared::{ErrorCode, HistoryMessage, Role, ServerMessage};

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

#[test]
fn server_status_paused() {
    check_server(
        "server_status_paused",
        ServerMessage::Status { paused: true },
    );
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
