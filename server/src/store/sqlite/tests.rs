//! The SQLite store's own cases: its bounds pruning the file, and a full
//! disk. (What every store does is in `server/tests/it/store_suite.rs`.)

use crate::frame::Frame;
use crate::test_ids::{mid, sid};
use shared::{MessageId, SessionId};
use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::writer::Op;
use super::*;

fn limits() -> Limits {
    Limits {
        retain_for: Duration::from_secs(60),
        ..Limits::default()
    }
}

fn frame(s: &str) -> Frame {
    Frame::from(s.to_owned())
}

fn count(dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join(schema::FILE)).expect("open");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

async fn answer(store: &SqliteStore, session: &str, id: &str) {
    assert_eq!(
        store
            .begin(
                &SessionId::parse(session).expect("id"),
                &MessageId::parse(id).expect("id"),
                false
            )
            .await,
        Verdict::Start
    );
    store
        .complete(
            &SessionId::parse(session).expect("id"),
            &MessageId::parse(id).expect("id"),
            frame("answer"),
            false,
        )
        .await;
}

#[tokio::test]
async fn the_file_is_pruned_to_the_bounds_live_and_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(
        dir.path(),
        Limits {
            max_answers_per_session: 2,
            ..limits()
        },
        false,
    )
    .expect("open");
    for id in ["m0", "m1", "m2"] {
        answer(&store, "a", id).await;
    }
    answer(&store, "b", "m0").await;
    answer(&store, "c", "m0").await;
    store.flush().await;
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM messages WHERE session = 'a'"
        ),
        2,
        "the oldest answer went"
    );
    assert_eq!(count(dir.path(), "SELECT count(*) FROM tombs"), 1);
    drop(store);
    // Started again with room for two sessions: one goes, on disk too,
    // and its answers' ids stay buried.
    let store = SqliteStore::open(
        dir.path(),
        Limits {
            max_sessions: 2,
            ..limits()
        },
        false,
    )
    .expect("reopen");
    store.flush().await;
    assert_eq!(store.stats().sessions, 2);
    assert_eq!(count(dir.path(), "SELECT count(*) FROM sessions"), 2);
    let mut lost = 0;
    for session in ["a", "b", "c"] {
        if store
            .begin(&SessionId::parse(session).expect("id"), &mid("m2"), false)
            .await
            == Verdict::Lost
            || store
                .begin(&SessionId::parse(session).expect("id"), &mid("m0"), false)
                .await
                == Verdict::Lost
        {
            lost += 1;
        }
    }
    assert!(
        lost >= 2,
        "a's m0 and the evicted session's answers are buried"
    );
    assert!(count(dir.path(), "SELECT count(*) FROM tombs") >= 2);
}

#[tokio::test]
async fn a_full_disk_refuses_new_messages_and_loses_no_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path(), limits(), false).expect("open");
    let (tx, mut rx) = crate::outbox::channel(16);
    let conn = ConnHandle::new(1, tx, CancellationToken::new());
    store.attach(&sid("first"), conn).await;
    assert_eq!(
        store.begin(&sid("first"), &mid("m"), false).await,
        Verdict::Start
    );
    // The file may not grow any more: as good as a full disk.
    store
        .queue
        .send(Op::Exec("PRAGMA max_page_count = 1".into()))
        .await;
    // Long keys (near the 128-character bound) fill the file sooner.
    let long = "x".repeat(120);
    let mut refused = None;
    for i in 0..2_000 {
        let session = format!("{long}{i}");
        match store
            .begin(&SessionId::parse(&session).expect("id"), &mid("m"), false)
            .await
        {
            Verdict::Start => {}
            Verdict::Unavailable => {
                refused = Some(session);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let refused = refused.expect("the database filled up");
    assert!(!store.health().ok, "reported");
    assert!(store.health().error.is_some());
    // Not left in flight: nothing will answer it.
    assert_ne!(
        store
            .begin(&SessionId::parse(&refused).expect("id"), &mid("m"), false)
            .await,
        Verdict::InFlight,
        "a refused message is not in flight"
    );
    // An answer that cannot be written still reaches the page.
    store
        .complete(&sid("first"), &mid("m"), frame("the answer"), false)
        .await;
    assert_eq!(
        rx.recv().await.as_ref().map(Frame::as_str),
        Some("the answer")
    );
    assert_eq!(
        store.begin(&sid("first"), &mid("m"), false).await,
        Verdict::Answered(frame("the answer")),
        "and is kept in memory"
    );
    // Room again: messages start, the store is healthy.
    store
        .queue
        .send(Op::Exec("PRAGMA max_page_count = 1000000".into()))
        .await;
    assert_eq!(
        store.begin(&sid("after"), &mid("m"), false).await,
        Verdict::Start
    );
    assert!(store.health().ok);
}

#[tokio::test]
async fn quota_counts_survive_a_restart() {
    use crate::store::counters::{Counters, Take, Taken, Window};
    let dir = tempfile::tempdir().expect("tempdir");
    // Real time: the windows read back at start are those not yet ended.
    let now = u64::try_from(super::writer::now_ms()).expect("after 1970");
    let takes = [Take {
        key: "v:s1",
        window: Window::Day,
        limit: 3,
    }];
    {
        let store = SqliteStore::open(dir.path(), limits(), false).expect("open");
        let counters = store.counters(100);
        for _ in 0..3 {
            assert!(matches!(
                counters.take(&takes, now).await,
                Taken::Allowed { .. }
            ));
        }
        store.flush().await;
    }
    let store = SqliteStore::open(dir.path(), limits(), false).expect("reopen");
    let counters = store.counters(100);
    assert_eq!(counters.count("v:s1", Window::Day, now).await, 3);
    assert_eq!(
        counters.take(&takes, now).await,
        Taken::Refused {
            index: 0,
            resets_at: Window::Day.bounds(now).1
        },
        "the fourth message of the day is refused after the restart"
    );
}

#[tokio::test]
async fn a_sessions_owner_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SqliteStore::open(dir.path(), limits(), false).expect("open");
        answer(&store, "s", "m0").await;
        assert_eq!(store.claim(&sid("s"), Some("alice")).await, Claim::Granted);
        store.flush().await;
    }
    let store = SqliteStore::open(dir.path(), limits(), false).expect("reopen");
    assert_eq!(
        store.claim(&sid("s"), Some("bob")).await,
        Claim::Refused,
        "after a restart another user still cannot take alice's session"
    );
    assert_eq!(store.claim(&sid("s"), None).await, Claim::Refused);
    assert_eq!(store.claim(&sid("s"), Some("alice")).await, Claim::Granted);
}

#[tokio::test]
async fn a_transcript_on_disk_is_trimmed_in_batches_and_read_back_bounded() {
    use crate::store::transcripts::{Line, MAX_LINES, TRIM_LINES};
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = |dir: &Path| count(dir, "SELECT count(*) FROM transcript_lines");
    {
        let store = SqliteStore::open(dir.path(), limits(), false).expect("open");
        answer(&store, "s", "m").await;
        for i in 0..MAX_LINES + TRIM_LINES - 1 {
            let line = Line::user(&format!("line {i}"));
            store.record_lines(&sid("s"), None, vec![line], 1).await;
        }
        store.flush().await;
        // 49 dropped here and not yet deleted: at most 50 past the bound.
        assert_eq!(rows(dir.path()), (MAX_LINES + TRIM_LINES - 1) as i64);
        store
            .record_lines(&sid("s"), None, vec![Line::user("the last")], 2)
            .await;
        store.flush().await;
        assert_eq!(rows(dir.path()), MAX_LINES as i64, "fifty deleted at once");
        for i in 0..10 {
            let line = Line::user(&format!("after {i}"));
            store.record_lines(&sid("s"), None, vec![line], 3).await;
        }
        store.flush().await;
        assert_eq!(rows(dir.path()), (MAX_LINES + 10) as i64);
    }
    // Read back: the newest lines within the bound, in order; the rows
    // past it are deleted with the next trim.
    let store = SqliteStore::open(dir.path(), limits(), false).expect("reopen");
    let lines = store.transcript(&sid("s")).await.expect("kept");
    assert_eq!(lines.len(), MAX_LINES);
    assert_eq!(lines[MAX_LINES - 1].text, "after 9");
    assert_eq!(lines[MAX_LINES - 11].text, "the last");
    for i in 0..TRIM_LINES - 10 {
        let line = Line::user(&format!("later {i}"));
        store.record_lines(&sid("s"), None, vec![line], 4).await;
    }
    store.flush().await;
    assert_eq!(
        rows(dir.path()),
        MAX_LINES as i64,
        "the surplus read back went too"
    );
}

/// A batch that fails (here: another connection holds the write lock past
/// the busy timeout) loses none of the changes nobody waits for: a forget
/// is written with the next batch, and the store is not ok until then.
#[tokio::test]
async fn a_failed_batch_is_written_with_the_next_and_health_waits_for_it() {
    use crate::store::transcripts::Line;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SqliteStore::open(dir.path(), limits(), false).expect("open");
        answer(&store, "s", "m0").await;
        store
            .record_lines(&sid("s"), None, vec![Line::user("private")], 1)
            .await;
        store
            .queue
            .send(Op::Exec("PRAGMA busy_timeout = 20".into()))
            .await;
        store.flush().await;
        let other = rusqlite::Connection::open(dir.path().join(schema::FILE)).expect("open");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");
        store.forget(&sid("s")).await;
        store.flush().await;
        assert!(!store.health().ok, "the forget is not on disk yet");
        assert_eq!(
            count(dir.path(), "SELECT count(*) FROM transcript_lines"),
            1,
            "the batch failed"
        );
        other.execute_batch("ROLLBACK").expect("unlock");
        drop(other);
        store.flush().await;
        assert_eq!(
            count(dir.path(), "SELECT count(*) FROM transcript_lines"),
            0
        );
        assert_eq!(count(dir.path(), "SELECT count(*) FROM messages"), 0);
        // A message written again: the store is ok.
        answer(&store, "t", "m0").await;
        assert!(store.health().ok, "{:?}", store.health().error);
    }
    let store = SqliteStore::open(dir.path(), limits(), false).expect("reopen");
    assert!(
        store.transcript(&sid("s")).await.is_none(),
        "the transcript stays gone"
    );
    assert_eq!(
        store.begin(&sid("s"), &mid("m0"), false).await,
        Verdict::Lost,
        "the forgotten answer stays gone"
    );
}

/// Two relays on one `--data-dir` would break exactly-once: the second is
/// refused, naming the directory, until the first is gone.
#[tokio::test]
async fn a_second_store_on_the_same_dir_is_refused_until_the_first_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = SqliteStore::open(dir.path(), limits(), false).expect("open");
    assert_eq!(
        first.begin(&sid("s"), &mid("m"), false).await,
        Verdict::Start
    );
    let err = SqliteStore::open(dir.path(), limits(), false).expect_err("refused");
    assert!(matches!(err, OpenError::InUse { .. }), "{err:?}");
    let expected = format!("another relay is using --data-dir {}", dir.path().display());
    assert!(err.to_string().contains(&expected), "{err}");
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM messages WHERE frame IS NULL"
        ),
        1,
        "the first one's message is still in flight, not `interrupted`"
    );
    drop(first);
    let second = SqliteStore::open(dir.path(), limits(), false).expect("free again");
    assert!(second.health().ok);
}
