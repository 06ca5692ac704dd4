//! A verified user's list of conversations on the relay (issue 24), over a
//! real WebSocket: the list follows the user's token to another
//! connection; another user's token never sees it nor saves into it; an
//! anonymous connection gets no list and cannot save; `forget` takes a
//! conversation out; the 100-entry bound and `--conversation-retention`
//! (entries put in the past through the SQLite store the relay then opens,
//! so nothing waits for time to pass); a change on one connection reaches
//! the user's other connections at once.

use std::time::Duration;

use crate::support::signed_in::{self, open, token};
use crate::support::{config, error_of, Client, Relay};
use server::store::{Limits, SessionStore};
use shared::{ClientMessage, ConversationItem, ErrorCode, ServerMessage};

fn with_secret() -> server::Config {
    signed_in::with_secret(config())
}

/// Connects as `user` and reads the list the relay sends at once.
async fn open_as(relay: &Relay, user: &str) -> (Client, Vec<ConversationItem>) {
    let mut client = open(relay, None, Some(&token(user))).await;
    let list = client.next_conversations().await;
    (client, list)
}

async fn save(client: &mut Client, session: &str, title: &str) {
    client
        .send(ClientMessage::SaveConversation {
            session: session.into(),
            title: title.into(),
        })
        .await;
}

fn sessions(items: &[ConversationItem]) -> Vec<&str> {
    items.iter().map(|i| i.session.as_str()).collect()
}

/// Every frame up to the answer to a ping: so "no list arrived" is decided
/// by the relay's own answer, not by waiting. The relay sends a list
/// before it reads any frame, so one would come before the pong.
async fn frames_until_pong(client: &mut Client) -> Vec<ServerMessage> {
    client.send(ClientMessage::Ping { ts: None }).await;
    let mut seen = Vec::new();
    loop {
        match client.next_any().await {
            ServerMessage::Pong { .. } => return seen,
            ServerMessage::Heartbeat { .. } => continue,
            other => seen.push(other),
        }
    }
}

fn has_list(frames: &[ServerMessage]) -> bool {
    frames
        .iter()
        .any(|f| matches!(f, ServerMessage::Conversations { .. }))
}

#[tokio::test]
async fn a_users_list_follows_their_token_to_another_connection() {
    let relay = Relay::start(with_secret()).await;
    let (mut first, list) = open_as(&relay, "alice").await;
    assert!(list.is_empty(), "a new user has no conversations");
    let one = first.session_id.clone();
    save(&mut first, &one, "  Trip to Lisbon  ").await;
    let list = first.next_conversations().await;
    assert_eq!(sessions(&list), [one.as_str()]);
    assert_eq!(list[0].title, "Trip to Lisbon", "trimmed");
    assert!(list[0].updated_at > 0, "stamped by the relay");

    // A second browser of alice's: a new conversation, saved there.
    let (mut second, list) = open_as(&relay, "alice").await;
    assert_eq!(sessions(&list), [one.as_str()], "the first one is there");
    let two = second.session_id.clone();
    save(&mut second, &two, "Taxes").await;
    let list = second.next_conversations().await;
    assert_eq!(sessions(&list), [two.as_str(), one.as_str()]);

    // A third: both, newest first; and alice may open the first one.
    let (_third, list) = open_as(&relay, "alice").await;
    assert_eq!(sessions(&list), [two.as_str(), one.as_str()]);
    let back = open(&relay, Some(&one), Some(&token("alice"))).await;
    assert_eq!(back.session_id, one, "her own conversation opens");
    relay.stop().await;
}

#[tokio::test]
async fn another_users_token_never_sees_nor_saves_into_a_list() {
    let relay = Relay::start(with_secret()).await;
    let (mut alice, _) = open_as(&relay, "alice").await;
    let hers = alice.session_id.clone();
    save(&mut alice, &hers, "private").await;
    assert_eq!(alice.next_conversations().await.len(), 1);

    let (mut bob, list) = open_as(&relay, "bob").await;
    assert!(list.is_empty(), "bob sees none of alice's: {list:?}");
    save(&mut bob, &hers, "mine now").await;
    let (code, _) = error_of(&bob.next().await, None);
    assert_eq!(code, ErrorCode::SessionForbidden);
    // Nothing changed for either.
    let (_, list) = open_as(&relay, "bob").await;
    assert!(list.is_empty());
    let (_, list) = open_as(&relay, "alice").await;
    assert_eq!(list[0].title, "private");
    // A session never issued is nobody's to list.
    save(&mut bob, "never-issued", "x").await;
    let (code, _) = error_of(&bob.next().await, None);
    assert_eq!(code, ErrorCode::SessionForbidden);
    relay.stop().await;
}

#[tokio::test]
async fn anonymous_visitors_and_a_session_id_alone_get_no_list() {
    let relay = Relay::start(with_secret()).await;
    let (mut alice, _) = open_as(&relay, "alice").await;
    let hers = alice.session_id.clone();
    save(&mut alice, &hers, "private").await;
    alice.next_conversations().await;
    drop(alice);

    // Anonymous, naming alice's session: a new session, no list.
    let mut anonymous = open(&relay, Some(&hers), None).await;
    assert_ne!(anonymous.session_id, hers);
    let frames = frames_until_pong(&mut anonymous).await;
    assert!(!has_list(&frames), "no list for a session id: {frames:?}");
    // And it cannot save (its own session either).
    let own = anonymous.session_id.clone();
    save(&mut anonymous, &own, "anon").await;
    let (code, _) = error_of(&anonymous.next().await, None);
    assert_eq!(code, ErrorCode::SessionForbidden);

    // Without identity at all: the same refusal, nothing stored.
    let plain = Relay::start(config()).await;
    let mut visitor = Client::connect(&plain.ws_url("/ws")).await;
    let frames = frames_until_pong(&mut visitor).await;
    assert!(!has_list(&frames));
    let own = visitor.session_id.clone();
    save(&mut visitor, &own, "anon").await;
    let (code, _) = error_of(&visitor.next().await, None);
    assert_eq!(code, ErrorCode::SessionForbidden);
    plain.stop().await;
    relay.stop().await;
}

#[tokio::test]
async fn an_identify_brings_the_list_and_forget_takes_one_out() {
    let relay = Relay::start(with_secret()).await;
    let (mut alice, _) = open_as(&relay, "alice").await;
    let one = alice.session_id.clone();
    save(&mut alice, &one, "one").await;
    alice.next_conversations().await;
    let (mut other, _) = open_as(&relay, "alice").await;
    let two = other.session_id.clone();
    save(&mut other, &two, "two").await;
    assert_eq!(other.next_conversations().await.len(), 2);
    // Her first connection is told at once.
    assert_eq!(alice.next_conversations().await.len(), 2);

    // An anonymous connection that identifies gets alice's list.
    let mut late = open(&relay, None, None).await;
    late.send(ClientMessage::Identify {
        token: token("alice"),
    })
    .await;
    assert_eq!(late.next_conversations().await.len(), 2);

    // Deleting `two` from alice's first connection: gone from her list.
    alice
        .send(ClientMessage::Forget {
            sessions: Some(vec![two.clone()]),
        })
        .await;
    assert_eq!(alice.next().await, ServerMessage::Forgotten { sessions: 1 });
    let (_, list) = open_as(&relay, "alice").await;
    assert_eq!(sessions(&list), [one.as_str()]);
    relay.stop().await;
}

#[tokio::test]
async fn a_change_on_one_connection_reaches_the_users_others_at_once() {
    let relay = Relay::start(with_secret()).await;
    let (mut phone, _) = open_as(&relay, "alice").await;
    let (mut laptop, _) = open_as(&relay, "alice").await;
    let (mut bob, _) = open_as(&relay, "bob").await;
    // An anonymous page that identifies later hears too.
    let mut late = open(&relay, None, None).await;
    late.send(ClientMessage::Identify {
        token: token("alice"),
    })
    .await;
    assert!(late.next_conversations().await.is_empty());

    // Saved on the phone: the laptop and the late page get the list
    // without asking.
    let trip = phone.session_id.clone();
    save(&mut phone, &trip, "Trip").await;
    assert_eq!(sessions(&phone.next_conversations().await), [trip.as_str()]);
    assert_eq!(
        sessions(&laptop.next_conversations().await),
        [trip.as_str()]
    );
    assert_eq!(sessions(&late.next_conversations().await), [trip.as_str()]);

    // Renamed on the laptop: the phone sees the new title.
    save(&mut laptop, &trip, "Trip to Porto").await;
    assert_eq!(laptop.next_conversations().await[0].title, "Trip to Porto");
    assert_eq!(phone.next_conversations().await[0].title, "Trip to Porto");
    assert_eq!(late.next_conversations().await[0].title, "Trip to Porto");

    // Deleted on the phone: gone on the laptop.
    phone
        .send(ClientMessage::Forget {
            sessions: Some(vec![trip.clone()]),
        })
        .await;
    assert_eq!(phone.next().await, ServerMessage::Forgotten { sessions: 1 });
    assert!(laptop.next_conversations().await.is_empty());
    assert!(late.next_conversations().await.is_empty());

    // Bob heard nothing of it; the phone got no echo of its own changes.
    let frames = frames_until_pong(&mut bob).await;
    assert!(!has_list(&frames), "another user's change: {frames:?}");
    let frames = frames_until_pong(&mut phone).await;
    assert!(!has_list(&frames), "its own change came once: {frames:?}");
    relay.stop().await;
}

/// Alice's list put straight into the SQLite store in `dir` (as a relay
/// before a restart would have left it): `n` entries saved `age` ago and
/// one ms apart, the oldest first, sessions `old-0`, `old-1`, ….
async fn saved_before(dir: &std::path::Path, n: usize, age: Duration) {
    let limits = Limits::default();
    let store = server::store::sqlite::SqliteStore::open(dir, limits, false).expect("sqlite store");
    let then = server::clock::now_ms() - age.as_millis() as u64;
    for i in 0..n {
        let at = then + i as u64;
        let item = ConversationItem {
            session: format!("old-{i}"),
            title: format!("old {i}"),
            updated_at: at,
        };
        store.save_conversation("alice", item, at).await;
    }
    store.flush().await;
}

fn sqlite_relay(dir: &std::path::Path, retention: Duration) -> server::Config {
    let mut config = with_secret();
    config.store.data_dir = Some(dir.to_owned());
    config.retention.conversation_retention = retention;
    config
}

#[tokio::test]
async fn at_a_hundred_the_least_recently_saved_goes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let max = shared::validate::MAX_USER_CONVERSATIONS;
    saved_before(dir.path(), max, Duration::from_secs(3600)).await;
    let relay = Relay::start(sqlite_relay(dir.path(), Duration::from_secs(86_400))).await;
    let (mut alice, list) = open_as(&relay, "alice").await;
    assert_eq!(list.len(), max, "read back after the restart");
    let new = alice.session_id.clone();
    save(&mut alice, &new, "the 101st").await;
    let list = alice.next_conversations().await;
    assert_eq!(list.len(), max, "still {max}");
    assert_eq!(list[0].session, new);
    assert!(!sessions(&list).contains(&"old-0"), "the oldest went");
    assert!(sessions(&list).contains(&"old-1"));
    relay.stop().await;
}

#[tokio::test]
async fn conversations_past_the_retention_are_not_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    saved_before(dir.path(), 2, Duration::from_secs(2 * 3600)).await;
    let relay = Relay::start(sqlite_relay(dir.path(), Duration::from_secs(3600))).await;
    let (mut alice, list) = open_as(&relay, "alice").await;
    assert!(list.is_empty(), "two hours old, kept for one: {list:?}");
    // A listed-but-expired session is not proof of ownership either.
    save(&mut alice, "old-1", "again").await;
    let (code, _) = error_of(&alice.next().await, None);
    assert_eq!(code, ErrorCode::SessionForbidden);
    relay.stop().await;
}

#[tokio::test]
async fn a_listed_session_the_store_forgot_still_opens_for_its_user_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    // In alice's list, but the session itself long forgotten (its
    // `--retain-for` is minutes, the list's days).
    saved_before(dir.path(), 1, Duration::from_secs(60)).await;
    let relay = Relay::start(sqlite_relay(dir.path(), Duration::from_secs(86_400))).await;
    let bob = open(&relay, Some("old-0"), Some(&token("bob"))).await;
    assert_ne!(bob.session_id, "old-0", "not bob's");
    let mut alice = open(&relay, Some("old-0"), Some(&token("alice"))).await;
    assert_eq!(alice.session_id, "old-0", "alice's list says it is hers");
    let list = alice.next_conversations().await;
    assert_eq!(sessions(&list), ["old-0"]);
    relay.stop().await;
}

/// With Redis, the list is shared: saved through one relay, listed by
/// another (a load balancer may send the user's other browser anywhere).
#[tokio::test]
async fn with_redis_the_list_follows_the_user_across_relays() {
    let Some(redis) = crate::support::redis_server::RedisServer::start() else {
        eprintln!("note: redis-server not found; the shared list is not tested");
        return;
    };
    let shared = |prefix: &str| {
        let mut config = with_secret();
        config.cluster.redis_url = Some(redis.url().parse().expect("url"));
        config.cluster.redis_prefix = prefix.to_owned();
        config
    };
    let one = Relay::start(shared("t-lists:")).await;
    let two = Relay::start(shared("t-lists:")).await;
    let (mut alice, _) = open_as(&one, "alice").await;
    let hers = alice.session_id.clone();
    save(&mut alice, &hers, "via one").await;
    assert_eq!(sessions(&alice.next_conversations().await), [hers.as_str()]);
    let (_, list) = open_as(&two, "alice").await;
    assert_eq!(
        sessions(&list),
        [hers.as_str()],
        "listed by the other relay"
    );
    assert_eq!(list[0].title, "via one");
    let (mut bob, list) = open_as(&two, "bob").await;
    assert!(list.is_empty());
    save(&mut bob, &hers, "mine").await;
    let (code, _) = error_of(&bob.next().await, None);
    assert_eq!(
        code,
        ErrorCode::SessionForbidden,
        "the owner holds across relays"
    );
    one.stop().await;
    two.stop().await;
}
