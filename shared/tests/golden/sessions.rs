//! Who is chatting, both directions: the session handshake, identity
//! tokens, proof of work, forgetting sessions, a user's list of
//! conversations.

use crate::{check_client, check_server};
use shared::{ClientMessage, ConversationItem, DecodeError, ErrorCode, ServerMessage};

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
