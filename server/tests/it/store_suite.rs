//! One set of tests over the `SessionStore` trait, run against each store:
//! memory, SQLite (in a temporary directory) and Redis (a real
//! `redis-server` on a free loopback port; skipped with a note when it is
//! not installed — `cargo xtask test` installs it).
//!
//! The restart cases end the first store the way a crash would — its
//! runtime is dropped, so its tasks stop where they are — and open a new
//! one on the same data: they state per store what survives (memory: only
//! what a restart forgets, so a resend runs again).

use shared::{MessageId, SessionId};
use std::sync::Arc;
use std::time::Duration;

use crate::support::redis_server::RedisServer;
use server::frame::Frame;
use server::store::memory::Sessions;
use server::store::redis::RedisStore;
use server::store::sqlite::SqliteStore;
use server::store::transcripts::{Line, MAX_BYTES, MAX_LINES};
use server::store::{ConnHandle, Limits, Pushed, Store, Verdict};
use shared::ConversationItem;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Which store a test runs against, and what it needs to open it again.
enum Kind {
    Memory,
    Sqlite(tempfile::TempDir),
    Redis(RedisServer, String),
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            Kind::Sqlite(_) => "sqlite",
            Kind::Redis(..) => "redis",
        }
    }

    /// A store of this kind on this kind's data (memory: a new, empty one).
    fn open(&self, limits: Limits) -> Store {
        match self {
            Kind::Memory => Arc::new(Sessions::new(limits)),
            Kind::Sqlite(dir) => SqliteStore::open(dir.path(), limits, false).expect("sqlite"),
            Kind::Redis(redis, prefix) => RedisStore::start(
                &redis.url().parse().expect("url"),
                prefix,
                LEASE,
                limits,
                1 << 20,
            )
            .expect("redis"),
        }
    }
}

/// The Redis lease in these tests: a crashed store's messages are decided
/// this long after its last renewal.
const LEASE: Duration = Duration::from_millis(300);

/// Every kind available here (Redis only with `redis-server`).
fn kinds(test: &str) -> Vec<Kind> {
    let mut kinds = vec![
        Kind::Memory,
        Kind::Sqlite(tempfile::tempdir().expect("tempdir")),
    ];
    match RedisServer::start() {
        Some(redis) => kinds.push(Kind::Redis(redis, format!("t-{test}:"))),
        None => eprintln!("note: {test}: redis-server not found; the Redis store is not tested"),
    }
    kinds
}

fn limits() -> Limits {
    Limits {
        retain_for: Duration::from_secs(60),
        ..Limits::default()
    }
}

fn conn(id: u64) -> (ConnHandle, mpsc::Receiver<Frame>) {
    let (tx, rx) = server::outbox::channel(16);
    (ConnHandle::new(id, tx, CancellationToken::new()), rx)
}

fn frame(s: &str) -> Frame {
    Frame::from(s.to_owned())
}

/// The next frame a connection gets (the shared store delivers through
/// Redis, so not necessarily at once).
async fn recv(rx: &mut mpsc::Receiver<Frame>) -> String {
    tokio::time::timeout(crate::support::STEP, rx.recv())
        .await
        .expect("a frame in time")
        .expect("open")
        .as_str()
        .to_owned()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_has_run_once_a_message_began_not_when_it_attached() {
    for kind in kinds("has-run") {
        let name = kind.name();
        let store = kind.open(limits());
        let (c, mut rx) = conn(1);
        store.attach(&sid("s"), c).await;
        assert!(store.knows(&sid("s")).await, "{name}");
        assert!(!store.has_run(&sid("s")).await, "{name}: attached only");
        assert_eq!(
            store.begin(&sid("s"), &mid("m1"), false).await,
            Verdict::Start,
            "{name}"
        );
        assert!(store.has_run(&sid("s")).await, "{name}: in flight");
        store
            .complete(&sid("s"), &mid("m1"), frame("answer"), false)
            .await;
        assert_eq!(recv(&mut rx).await, "answer", "{name}");
        assert!(store.has_run(&sid("s")).await, "{name}: answered");
        assert!(!store.has_run(&sid("other")).await, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_answers_errors_and_retries() {
    for kind in kinds("dedup") {
        let name = kind.name();
        let store = kind.open(limits());
        let (c, mut rx) = conn(1);
        store.attach(&sid("s"), c).await;
        assert_eq!(
            store.begin(&sid("s"), &mid("m1"), false).await,
            Verdict::Start,
            "{name}"
        );
        assert_eq!(
            store.begin(&sid("s"), &mid("m1"), false).await,
            Verdict::InFlight,
            "{name}"
        );
        store
            .complete(&sid("s"), &mid("m1"), frame("answer"), false)
            .await;
        assert_eq!(recv(&mut rx).await, "answer", "{name}");
        assert_eq!(
            store.begin(&sid("s"), &mid("m1"), true).await,
            Verdict::Answered(frame("answer")),
            "{name}: an answer is never run again, even on a retry"
        );
        assert_eq!(
            store.answer_frame(&sid("s"), &mid("m1")).await,
            Some(frame("answer")),
            "{name}"
        );
        assert_eq!(
            store.begin(&sid("s"), &mid("m2"), false).await,
            Verdict::Start,
            "{name}"
        );
        store
            .complete(&sid("s"), &mid("m2"), frame("error"), true)
            .await;
        assert_eq!(recv(&mut rx).await, "error", "{name}");
        assert_eq!(
            store.begin(&sid("s"), &mid("m2"), false).await,
            Verdict::Answered(frame("error")),
            "{name}: a resend gets the error again"
        );
        assert_eq!(
            store.begin(&sid("s"), &mid("m2"), true).await,
            Verdict::Start,
            "{name}: a retry runs it"
        );
        store
            .complete(&sid("s"), &mid("m2"), frame("answer 2"), false)
            .await;
        assert_eq!(recv(&mut rx).await, "answer 2", "{name}");
        assert_eq!(
            store.begin(&sid("s"), &mid("m3"), false).await,
            Verdict::Start,
            "{name}"
        );
        store
            .release(&sid("s"), &mid("m3"), frame("shutting down"))
            .await;
        assert_eq!(
            store.begin(&sid("s"), &mid("m3"), false).await,
            Verdict::Start,
            "{name}: released, a resend runs it"
        );
        assert_eq!(store.health().kind, name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_arrives_while_away_waits_for_the_next_connection() {
    for kind in kinds("away") {
        let name = kind.name();
        let store = kind.open(limits());
        assert_eq!(
            store.push(&sid("nobody"), frame("x")).await,
            None,
            "{name}: unknown session"
        );
        let (c, _rx) = conn(1);
        store.attach(&sid("s"), c).await;
        assert_eq!(
            store.begin(&sid("s"), &mid("m1"), false).await,
            Verdict::Start,
            "{name}"
        );
        store.detach(&sid("s"), 1).await;
        assert!(store.knows(&sid("s")).await, "{name}");
        store
            .complete(&sid("s"), &mid("m1"), frame("late answer"), false)
            .await;
        assert_eq!(
            store.push(&sid("s"), frame("pushed")).await,
            Some(Pushed::Kept),
            "{name}"
        );
        let (c, mut rx) = conn(2);
        store.attach(&sid("s"), c).await;
        let mut got = vec![recv(&mut rx).await, recv(&mut rx).await];
        got.sort();
        assert_eq!(got, ["late answer", "pushed"], "{name}");
    }
}

/// The bound on answers per session: the oldest goes, its id is not run
/// again (`lost`), the newest is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_per_session_are_bounded() {
    for kind in kinds("bounded") {
        let name = kind.name();
        let store = kind.open(Limits {
            max_answers_per_session: 2,
            ..limits()
        });
        for i in 0..3 {
            let id = format!("m{i}");
            assert_eq!(
                store.begin(&sid("s"), &mid(&id), false).await,
                Verdict::Start,
                "{name}"
            );
            store
                .complete(&sid("s"), &mid(&id), frame("a"), false)
                .await;
        }
        assert_eq!(
            store.begin(&sid("s"), &mid("m0"), false).await,
            Verdict::Lost,
            "{name}"
        );
        assert_eq!(
            store.begin(&sid("s"), &mid("m2"), false).await,
            Verdict::Answered(frame("a")),
            "{name}"
        );
    }
}

/// Whether a resend's outcome is the `interrupted` error.
fn interrupted(begin: &Verdict) -> bool {
    match begin {
        Verdict::Answered(f) | Verdict::Interrupted(f) => f.as_str().contains("\"interrupted\""),
        _ => false,
    }
}

/// Asks until the crashed store's lease has expired (Redis); at once
/// for the others.
async fn begin_after_crash(store: &Store, id: &str, retry: bool) -> Verdict {
    let deadline = tokio::time::Instant::now() + crate::support::STEP;
    loop {
        let begin = store.begin(&sid("s"), &mid(id), retry).await;
        if begin != Verdict::Elsewhere || tokio::time::Instant::now() > deadline {
            return begin;
        }
        tokio::time::sleep(LEASE / 4).await;
    }
}

/// A crash after one answer was stored and while another message was in
/// flight; then a new store on the same data.
fn crash_and_restart(rerun_interrupted: bool) {
    for kind in kinds(if rerun_interrupted { "rerun" } else { "crash" }) {
        let name = kind.name();
        let limits = Limits {
            rerun_interrupted,
            ..limits()
        };
        let first = runtime();
        first.block_on(async {
            let store = kind.open(limits.clone());
            let (c, _rx) = conn(1);
            store.attach(&sid("s"), c).await;
            assert_eq!(
                store.begin(&sid("s"), &mid("done"), false).await,
                Verdict::Start
            );
            store
                .complete(&sid("s"), &mid("done"), frame("answer"), false)
                .await;
            assert_eq!(
                store.begin(&sid("s"), &mid("running"), false).await,
                Verdict::Start
            );
        });
        // The crash: the first store's tasks stop where they are.
        drop(first);
        let second = runtime();
        second.block_on(async {
            let store = kind.open(limits.clone());
            let (c, _rx) = conn(2);
            store.attach(&sid("s"), c).await;
            let done = store.begin(&sid("s"), &mid("done"), false).await;
            let running = begin_after_crash(&store, "running", false).await;
            match (&kind, rerun_interrupted) {
                // What memory loses: everything; both run again.
                (Kind::Memory, _) => {
                    assert_eq!(done, Verdict::Start, "{name}");
                    assert_eq!(running, Verdict::Start, "{name}");
                    return;
                }
                _ => assert_eq!(done, Verdict::Answered(frame("answer")), "{name}"),
            }
            if rerun_interrupted {
                assert_eq!(running, Verdict::Start, "{name}: --rerun-interrupted");
                return;
            }
            assert!(interrupted(&running), "{name}: {running:?}");
            if let Verdict::Interrupted(frame) = running {
                // As the chat layer does: now the message's outcome.
                store
                    .complete(&sid("s"), &mid("running"), frame, true)
                    .await;
            }
            assert!(
                interrupted(&store.begin(&sid("s"), &mid("running"), false).await),
                "{name}: a second resend too"
            );
            assert_eq!(
                store.begin(&sid("s"), &mid("running"), true).await,
                Verdict::Start,
                "{name}: Retry runs it"
            );
        });
    }
}

#[test]
fn a_restart_keeps_answers_and_interrupts_what_was_in_flight() {
    crash_and_restart(false);
}

#[test]
fn rerun_interrupted_runs_a_crashed_message_again() {
    crash_and_restart(true);
}

/// `forget` (a deleted conversation): the session's answers and pushes
/// are gone — not answered again, not delivered, not read back after a
/// restart — and a resend of a forgotten id is still never run twice.
/// Other sessions keep theirs. A session with an open connection stays
/// joined, emptied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_drops_a_sessions_answers_and_pushes() {
    for kind in kinds("forget") {
        let name = kind.name();
        let store = kind.open(limits());
        for session in ["s", "t"] {
            let (c, mut rx) = conn(1);
            store.attach(&sid(session), c).await;
            assert_eq!(
                store.begin(&sid(session), &mid("m1"), false).await,
                Verdict::Start
            );
            store
                .complete(&sid(session), &mid("m1"), frame("answer"), false)
                .await;
            assert_eq!(recv(&mut rx).await, "answer", "{name}");
            store.detach(&sid(session), 1).await;
        }
        assert_eq!(
            store.push(&sid("s"), frame("pushed")).await,
            Some(Pushed::Kept)
        );
        store.forget(&sid("s")).await;
        let (c, mut open_rx) = conn(2);
        store.attach(&sid("u"), c).await;
        assert_eq!(
            store.begin(&sid("u"), &mid("m1"), false).await,
            Verdict::Start
        );
        store
            .complete(&sid("u"), &mid("m1"), frame("answer u"), false)
            .await;
        assert_eq!(recv(&mut open_rx).await, "answer u", "{name}");
        store.forget(&sid("u")).await;
        assert!(
            store.knows(&sid("u")).await,
            "{name}: connected, still joined"
        );
        assert_eq!(
            store.answer_frame(&sid("u"), &mid("m1")).await,
            None,
            "{name}"
        );
        assert!(
            !matches!(
                store.begin(&sid("u"), &mid("m1"), false).await,
                Verdict::Answered(_)
            ),
            "{name}: the open session's answer is gone too"
        );
        assert_eq!(
            store.answer_frame(&sid("t"), &mid("m1")).await,
            Some(frame("answer")),
            "{name}: another session keeps its answer"
        );
        store.flush().await;

        // A restart reads nothing of `s` back (memory starts empty anyway).
        let store = if matches!(kind, Kind::Memory) {
            store
        } else {
            drop(store);
            kind.open(limits())
        };
        assert!(!store.knows(&sid("s")).await, "{name}: s forgotten");
        assert_eq!(
            store.answer_frame(&sid("s"), &mid("m1")).await,
            None,
            "{name}"
        );
        assert_eq!(store.push(&sid("s"), frame("x")).await, None, "{name}");
        assert_eq!(
            store.begin(&sid("s"), &mid("m1"), false).await,
            Verdict::Lost,
            "{name}: no stored answer, and not run again"
        );
        if !matches!(kind, Kind::Memory) {
            assert_eq!(
                store.answer_frame(&sid("t"), &mid("m1")).await,
                Some(frame("answer")),
                "{name}: another session keeps its answer"
            );
            assert_eq!(
                store.answer_frame(&sid("u"), &mid("m1")).await,
                None,
                "{name}"
            );
        }
    }
}

fn item(session: &str, title: &str, at: u64) -> ConversationItem {
    ConversationItem {
        session: session.into(),
        title: title.into(),
        updated_at: at,
    }
}

fn sessions_of(items: &[ConversationItem]) -> Vec<&str> {
    items.iter().map(|i| i.session.as_str()).collect()
}

/// A verified user's list of conversations (issue 24): saved and updated
/// in place, newest first, one list per user, at most 100 entries (the
/// least recently saved goes), an entry taken out, and what a restart
/// reads back (memory: nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_lists_are_per_user_bounded_and_survive_a_restart() {
    for kind in kinds("lists") {
        let name = kind.name();
        let store = kind.open(limits());
        let t = server::clock::now_ms();
        store
            .save_conversation("alice", item("s1", "one", t), t)
            .await;
        let after = store
            .save_conversation("alice", item("s2", "two", t + 1), t + 1)
            .await
            .expect("saved");
        assert_eq!(sessions_of(&after), ["s2", "s1"], "{name}");
        let renamed = store
            .save_conversation("alice", item("s1", "  one again ", t + 2), t + 2)
            .await
            .expect("saved");
        assert_eq!(
            renamed[0],
            item("s1", "one again", t + 2),
            "{name}: trimmed"
        );
        assert_eq!(
            store.conversations("bob", t + 2).await,
            Some(vec![]),
            "{name}: bob has none of alice's"
        );
        assert!(
            store.lists_conversation("alice", &sid("s1"), t + 2).await,
            "{name}"
        );
        assert!(
            !store.lists_conversation("bob", &sid("s1"), t + 2).await,
            "{name}"
        );

        // The bound: 100 entries; the 101st pushes out the least recent.
        let max = shared::validate::MAX_USER_CONVERSATIONS as u64;
        for i in 0..max {
            let at = t + 10 + i;
            store
                .save_conversation("carol", item(&format!("c{i}"), "", at), at)
                .await;
        }
        let full = store
            .conversations("carol", t + 10 + max)
            .await
            .expect("list");
        assert_eq!(full.len(), 100, "{name}");
        let over = store
            .save_conversation("carol", item("c-new", "", t + 200), t + 200)
            .await
            .expect("saved");
        assert_eq!(over.len(), 100, "{name}: still 100");
        assert_eq!(over[0].session, "c-new", "{name}");
        assert!(
            !sessions_of(&over).contains(&"c0"),
            "{name}: the least recently saved went"
        );
        assert!(sessions_of(&over).contains(&"c1"), "{name}");

        store.drop_conversation("alice", &sid("s2")).await;
        store.flush().await;
        let store = if matches!(kind, Kind::Memory) {
            store
        } else {
            drop(store);
            kind.open(limits())
        };
        let now = t + 300;
        let alice = store.conversations("alice", now).await.expect("list");
        let carol = store.conversations("carol", now).await.expect("list");
        if matches!(kind, Kind::Memory) {
            assert_eq!(sessions_of(&alice), ["s1"], "{name}");
            continue;
        }
        assert_eq!(
            alice,
            vec![item("s1", "one again", t + 2)],
            "{name}: after a restart"
        );
        assert_eq!(carol.len(), 100, "{name}: after a restart");
        assert!(!sessions_of(&carol).contains(&"c0"), "{name}");
    }
}

/// `--conversation-retention`: an entry last saved longer ago is not
/// listed, does not count as the user's, and is pruned (not read back
/// after a restart). Timestamps in the past, no sleeping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_conversations_are_not_listed_and_are_pruned() {
    for kind in kinds("retention") {
        let name = kind.name();
        let limits = Limits {
            conversation_retention: Duration::from_secs(3600),
            ..limits()
        };
        let store = kind.open(limits.clone());
        let now = server::clock::now_ms();
        let then = now - 2 * 3600 * 1000;
        store
            .save_conversation("alice", item("old", "", then), then)
            .await;
        assert_eq!(
            sessions_of(&store.conversations("alice", then).await.expect("list")),
            ["old"],
            "{name}: listed while current"
        );
        let after = store
            .save_conversation("alice", item("new", "", now), now)
            .await
            .expect("saved");
        assert_eq!(sessions_of(&after), ["new"], "{name}");
        assert!(
            !store.lists_conversation("alice", &sid("old"), now).await,
            "{name}"
        );
        store.maintain().await;
        store.flush().await;
        if matches!(kind, Kind::Memory) {
            continue;
        }
        drop(store);
        let store = kind.open(limits.clone());
        // Even read at the old time, when it would still be current, the
        // pruned entry is not there.
        let read = store.conversations("alice", then).await.expect("list");
        assert_eq!(sessions_of(&read), ["new"], "{name}: pruned, not read back");
    }
}

fn said(store_lines: Option<Vec<Line>>) -> Vec<String> {
    store_lines
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            let who = if l.role == shared::Role::User {
                "u"
            } else {
                "b"
            };
            format!("{who}:{}", l.text)
        })
        .collect()
}

/// A session's transcript (issue 24): lines read back in order, blank
/// ones left out; at most 200 lines and 64 KiB per session, the oldest
/// going first; `forget` deletes it; what a restart reads back (SQLite,
/// Redis: all of it; memory: nothing); `--no-transcripts` keeps none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcripts_are_kept_in_order_bounded_and_forgotten() {
    for kind in kinds("transcripts") {
        let name = kind.name();
        let store = kind.open(limits());
        let now = server::clock::now_ms();
        for session in ["s", "t", "big"] {
            let (c, _rx) = conn(1);
            store.attach(&sid(session), c).await;
            store.detach(&sid(session), 1).await;
        }
        store
            .record_lines(
                &sid("s"),
                None,
                vec![Line::user("hi"), Line::bot("**hello**")],
                now,
            )
            .await;
        store
            .record_lines(
                &sid("s"),
                None,
                vec![Line::user(" "), Line::bot("again")],
                now,
            )
            .await;
        store
            .record_lines(&sid("t"), None, vec![Line::user("other")], now)
            .await;
        store.flush().await;
        assert_eq!(
            said(store.transcript(&sid("s")).await),
            ["u:hi", "b:**hello**", "b:again"],
            "{name}: in order, the blank line left out"
        );
        assert_eq!(store.transcript(&sid("nobody")).await, None, "{name}");

        // 200 lines at most: the oldest go.
        for i in 0..(MAX_LINES + 5) {
            store
                .record_lines(&sid("big"), None, vec![Line::user(&format!("{i}"))], now)
                .await;
        }
        store.flush().await;
        let big = said(store.transcript(&sid("big")).await);
        assert_eq!(big.len(), MAX_LINES, "{name}");
        assert_eq!(big[0], "u:5", "{name}: the five oldest went");
        assert_eq!(big[MAX_LINES - 1], format!("u:{}", MAX_LINES + 4));
        // 64 KiB at most: ten lines of 10 KiB keep six.
        let ten_k = "x".repeat(10 * 1024);
        for _ in 0..10 {
            store
                .record_lines(&sid("big"), None, vec![Line::bot(&ten_k)], now)
                .await;
        }
        store.flush().await;
        let big = store.transcript(&sid("big")).await.expect("kept");
        assert_eq!(big.len(), 6, "{name}");
        assert!(
            big.iter().map(|l| l.text.len()).sum::<usize>() <= MAX_BYTES,
            "{name}"
        );

        store.forget(&sid("s")).await;
        assert_eq!(store.transcript(&sid("s")).await, None, "{name}: forgotten");
        store.flush().await;
        let store = if matches!(kind, Kind::Memory) {
            store
        } else {
            drop(store);
            kind.open(limits())
        };
        assert_eq!(
            store.transcript(&sid("s")).await,
            None,
            "{name}: not read back"
        );
        let t = store.transcript(&sid("t")).await;
        if matches!(kind, Kind::Memory) {
            assert_eq!(said(t), ["u:other"], "{name}: the same store");
        } else {
            assert_eq!(said(t), ["u:other"], "{name}: read back after a restart");
            assert_eq!(
                store.transcript(&sid("big")).await.map(|l| l.len()),
                Some(6)
            );
        }
        drop(store);

        // --no-transcripts: nothing kept, nothing read back.
        let off = Limits {
            keep_transcripts: false,
            ..limits()
        };
        let store = kind.open(off.clone());
        let (c, _rx) = conn(1);
        store.attach(&sid("u"), c).await;
        store
            .record_lines(&sid("u"), None, vec![Line::user("secret")], now)
            .await;
        store.flush().await;
        assert_eq!(store.transcript(&sid("u")).await, None, "{name}: none kept");
        assert_eq!(store.transcript(&sid("t")).await, None, "{name}: none read");
        if matches!(kind, Kind::Sqlite(_)) {
            store.flush().await;
            drop(store);
            let store = kind.open(limits());
            assert_eq!(
                store.transcript(&sid("t")).await,
                None,
                "{name}: deleted from the disk by the run without transcripts"
            );
        }
    }
}

/// How long a transcript lives: with its session; a signed-in user's
/// conversation in their list `--conversation-retention` after its last
/// line, even after the session is forgotten (memory, SQLite: pushed out
/// by `--max-sessions` here; Redis: the key's expiry); an anonymous
/// session's goes with it. Lines written in the past, no sleeping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcripts_live_with_their_session_or_their_users_list() {
    for kind in kinds("transcript-retention") {
        let name = kind.name();
        let limits = Limits {
            conversation_retention: Duration::from_secs(3600),
            max_sessions: 1,
            ..limits()
        };
        let store = kind.open(limits.clone());
        let now = server::clock::now_ms();
        let then = now - 2 * 3600 * 1000;
        // One session at a time: each new one pushes the last out (memory,
        // SQLite).
        for (session, user, at) in [
            ("listed", Some("alice"), now),
            ("old", Some("alice"), then),
            ("unlisted", Some("alice"), now),
            ("anon", None, now),
            ("last", None, now),
        ] {
            let (c, _rx) = conn(1);
            store.attach(&sid(session), c).await;
            store.claim(&sid(session), user).await;
            if session != "unlisted" {
                if let Some(user) = user {
                    store
                        .save_conversation(user, item(session, "", now), now)
                        .await;
                }
            }
            store
                .record_lines(&sid(session), user, vec![Line::user(session)], at)
                .await;
            store.detach(&sid(session), 1).await;
        }
        store.maintain().await;
        store.flush().await;
        assert_eq!(
            said(store.transcript(&sid("listed")).await),
            ["u:listed"],
            "{name}: in alice's list, kept beyond its session"
        );
        if let Kind::Redis(redis, prefix) = &kind {
            let ttl = |session: &str| {
                let key = format!("{prefix}{{{session}}}:lines");
                let mut conn = redis::Client::open(redis.url())
                    .expect("client")
                    .get_connection()
                    .expect("connect");
                redis::cmd("PTTL")
                    .arg(key)
                    .query::<i64>(&mut conn)
                    .expect("pttl")
            };
            assert!(ttl("listed") > 3_000_000, "{name}: about an hour");
            assert!(ttl("unlisted") <= 60_000, "{name}: --retain-for");
            assert!(ttl("anon") <= 60_000, "{name}: --retain-for");
            assert!(ttl("old") <= 60_000, "{name}: past the retention");
            continue;
        }
        for gone in ["old", "unlisted", "anon"] {
            assert_eq!(
                store.transcript(&sid(gone)).await,
                None,
                "{name}: {gone} went with its session"
            );
        }
        store.flush().await;
        if matches!(kind, Kind::Sqlite(_)) {
            drop(store);
            let store = kind.open(limits.clone());
            assert_eq!(
                said(store.transcript(&sid("listed")).await),
                ["u:listed"],
                "{name}: read back for alice's list"
            );
            for gone in ["old", "unlisted", "anon"] {
                assert_eq!(store.transcript(&sid(gone)).await, None, "{name}: {gone}");
            }
            // Out of alice's list (she forgot it elsewhere): it goes.
            store.drop_conversation("alice", &sid("listed")).await;
            store.maintain().await;
            assert_eq!(store.transcript(&sid("listed")).await, None, "{name}");
        }
    }
}

/// `s` as a session id (test ids are valid).
fn sid(s: &str) -> SessionId {
    SessionId::parse(s).expect("a valid test session id")
}

/// `s` as a message id (test ids are valid).
fn mid(s: &str) -> MessageId {
    MessageId::parse(s).expect("a valid test message id")
}
