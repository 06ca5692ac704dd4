//! The proof-of-work gate for new sessions (`--proof-of-work`): a new
//! session's messages are refused until its page answers the challenge;
//! a solution works once; a session that has run a message does not pay
//! again, one that came and went without proving does.

use crate::support::{config, error_of, response_text, Client, Relay};
use server::admission::proof_of_work::solve;
use sha2::Digest;
use shared::proof::leading_zero_bits;
use shared::{ClientMessage, ErrorCode, ServerMessage};

/// The challenge frame that follows `connection`: (challenge, bits).
async fn challenge(client: &mut Client) -> (String, u8) {
    match client.next().await {
        ServerMessage::Challenge {
            challenge, bits, ..
        } => (challenge, bits),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

async fn prove(client: &mut Client, challenge: &str, nonce: &str) {
    client
        .send(ClientMessage::Proof {
            challenge: challenge.into(),
            nonce: nonce.into(),
        })
        .await;
}

fn gated() -> server::Config {
    let mut cfg = config();
    cfg.quotas.proof_of_work = Some(8);
    cfg
}

#[tokio::test]
async fn a_new_session_is_refused_until_it_proves_its_work() {
    let relay = Relay::start(gated()).await;
    let mut c = Client::connect(&relay.ws_url("/ws")).await;
    let (challenge_text, bits) = challenge(&mut c).await;
    assert_eq!(bits, 8);
    c.say("m1", "hi").await;
    let (code, message) = error_of(&c.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::ProofRequired, "{message}");
    // A wrong nonce: refused, and messages still are.
    let wrong = (0..)
        .map(|n| format!("w{n}"))
        .find(|n| {
            let hash = sha2::Sha256::digest(format!("{challenge_text}:{n}").as_bytes());
            leading_zero_bits(&hash) < 8
        })
        .unwrap_or_default();
    prove(&mut c, &challenge_text, &wrong).await;
    let (code, message) = error_of(&c.next().await, None);
    assert_eq!(code, ErrorCode::ProofInvalid);
    assert!(message.contains("does not solve"), "{message}");
    c.say("m1", "hi").await;
    assert_eq!(
        error_of(&c.next().await, Some("m1")).0,
        ErrorCode::ProofRequired
    );
    // The solution: accepted, and the message goes through.
    let nonce = solve(&challenge_text, bits);
    prove(&mut c, &challenge_text, &nonce).await;
    c.say("m1", "hi").await;
    assert_eq!(response_text(&c.next().await, "m1"), "echo: hi");
    let session = c.session_id.clone();
    drop(c);

    // A replayed solution, on another new session: refused.
    let mut other = Client::connect(&relay.ws_url("/ws")).await;
    let _ = challenge(&mut other).await;
    prove(&mut other, &challenge_text, &nonce).await;
    let (code, message) = error_of(&other.next().await, None);
    assert_eq!(code, ErrorCode::ProofInvalid);
    assert!(message.contains("already answered"), "{message}");
    other.say("o1", "hi").await;
    assert_eq!(
        error_of(&other.next().await, Some("o1")).0,
        ErrorCode::ProofRequired
    );

    // The proven session, back: no challenge, its messages go through.
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    back.say("m2", "again").await;
    assert_eq!(response_text(&back.next().await, "m2"), "echo: again");
    relay.stop().await;
}

#[tokio::test]
async fn a_challenge_of_another_relay_or_an_altered_one_is_refused() {
    let relay = Relay::start(gated()).await;
    let other = Relay::start(gated()).await;
    let mut a = Client::connect(&relay.ws_url("/ws")).await;
    let (from_a, bits) = challenge(&mut a).await;
    let nonce = solve(&from_a, bits);
    let mut b = Client::connect(&other.ws_url("/ws")).await;
    let _ = challenge(&mut b).await;
    prove(&mut b, &from_a, &nonce).await;
    let (code, message) = error_of(&b.next().await, None);
    assert_eq!(code, ErrorCode::ProofInvalid);
    assert!(message.contains("not made by this relay"), "{message}");
    let easier = from_a.replacen(".8.", ".1.", 1);
    prove(&mut a, &easier, &solve(&easier, 1)).await;
    assert_eq!(error_of(&a.next().await, None).0, ErrorCode::ProofInvalid);
    relay.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn without_the_flag_nothing_is_asked() {
    let relay = Relay::start(config()).await;
    let mut c = Client::connect(&relay.ws_url("/ws")).await;
    c.say("m1", "hi").await;
    assert_eq!(response_text(&c.next().await, "m1"), "echo: hi");
    relay.stop().await;
}

#[tokio::test]
async fn a_session_that_never_proved_its_work_pays_again_when_it_comes_back() {
    let relay = Relay::start(gated()).await;
    let mut first = Client::connect(&relay.ws_url("/ws")).await;
    let _ = challenge(&mut first).await;
    let session = first.session_id.clone();
    drop(first);
    // Back with the session the relay gave it, never having proved: the
    // gate still stands (else a script would reconnect past it).
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    let (challenge_text, bits) = challenge(&mut back).await;
    back.say("m1", "hi").await;
    assert_eq!(
        error_of(&back.next().await, Some("m1")).0,
        ErrorCode::ProofRequired
    );
    prove(&mut back, &challenge_text, &solve(&challenge_text, bits)).await;
    back.say("m1", "hi").await;
    assert_eq!(response_text(&back.next().await, "m1"), "echo: hi");
    relay.stop().await;
}
