//! The registry's unit tests.

use super::*;
use crate::test_ids::{mid, sid};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn conn(id: ConnId) -> (ConnHandle, mpsc::Receiver<Frame>) {
    let (tx, rx) = crate::outbox::channel(4);
    (ConnHandle::new(id, tx, CancellationToken::new()), rx)
}

fn frame(s: &str) -> Frame {
    Frame::from(s.to_owned())
}

fn limits() -> Limits {
    Limits {
        retain_for: Duration::from_secs(60),
        ..Limits::default()
    }
}

#[tokio::test]
async fn kept_pushes_count_against_the_byte_cap_until_delivered() {
    let sessions = Sessions::new(Limits {
        max_retained_bytes: 10,
        ..limits()
    });
    assert_eq!(
        sessions.push(&sid("nobody"), frame("x")),
        None,
        "unknown session"
    );
    let (c, _rx) = conn(1);
    sessions.attach(&sid("s"), c);
    sessions.detach(&sid("s"), 1);
    assert_eq!(
        sessions.push(&sid("s"), frame("123456")),
        Some(Pushed::Kept)
    );
    assert_eq!(sessions.stats().retained_bytes, 6);
    assert_eq!(
        sessions.push(&sid("s"), frame("12345")),
        Some(Pushed::Full),
        "6 + 5 bytes would pass the 10-byte cap"
    );
    assert_eq!(sessions.push(&sid("s"), frame("1234")), Some(Pushed::Kept));
    assert_eq!(sessions.stats().retained_bytes, 10);
    let (c, mut rx) = conn(2);
    sessions.attach(&sid("s"), c);
    assert_eq!(rx.try_recv().ok(), Some(frame("123456")));
    assert_eq!(rx.try_recv().ok(), Some(frame("1234")));
    assert_eq!(sessions.stats().retained_bytes, 0, "delivered: freed");
    assert_eq!(
        sessions.push(&sid("s"), frame("live")),
        Some(Pushed::Delivered(1))
    );
    assert_eq!(rx.try_recv().ok(), Some(frame("live")));
    // A forgotten session takes its kept pushes' bytes with it.
    sessions.detach(&sid("s"), 2);
    assert_eq!(
        sessions.push(&sid("s"), frame("12345678")),
        Some(Pushed::Kept)
    );
    assert_eq!(sessions.stats().retained_bytes, 8);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(sessions.sweep(), 1);
    assert_eq!(sessions.stats().retained_bytes, 0);
}

#[tokio::test]
async fn a_released_message_starts_again_when_resent() {
    let sessions = Sessions::new(limits());
    let (c, mut rx) = conn(1);
    sessions.attach(&sid("s"), c);
    assert_eq!(sessions.begin(&sid("s"), &mid("m1"), false), Verdict::Start);
    sessions.release(&sid("s"), &mid("m1"), &frame("shutting down"));
    assert_eq!(rx.try_recv().ok(), Some(frame("shutting down")));
    assert_eq!(sessions.stats().in_flight, 0);
    assert_eq!(
        sessions.begin(&sid("s"), &mid("m1"), false),
        Verdict::Start,
        "not answered from memory"
    );
}

#[tokio::test]
async fn new_ids_start_repeated_ids_do_not() {
    let sessions = Sessions::new(limits());
    let (c, mut rx) = conn(1);
    sessions.attach(&sid("s"), c);
    assert_eq!(sessions.begin(&sid("s"), &mid("m1"), false), Verdict::Start);
    assert_eq!(
        sessions.begin(&sid("s"), &mid("m1"), false),
        Verdict::InFlight
    );
    assert_eq!(sessions.stats().in_flight, 1);
    sessions.complete(&sid("s"), &mid("m1"), frame("answer"), false);
    assert_eq!(rx.try_recv().ok(), Some(frame("answer")));
    assert_eq!(
        sessions.begin(&sid("s"), &mid("m1"), false),
        Verdict::Answered(frame("answer"))
    );
    assert_eq!(sessions.stats().in_flight, 0);
    assert_eq!(
        sessions.begin(&sid("other"), &mid("m1"), false),
        Verdict::Start,
        "ids are per session"
    );
}

#[tokio::test]
async fn errors_are_remembered_until_the_client_asks_to_retry() {
    let sessions = Sessions::new(limits());
    let (c, mut rx) = conn(1);
    sessions.attach(&sid("s"), c);
    assert_eq!(sessions.begin(&sid("s"), &mid("m1"), false), Verdict::Start);
    sessions.complete(&sid("s"), &mid("m1"), frame("error"), true);
    assert_eq!(rx.try_recv().ok(), Some(frame("error")));
    assert_eq!(sessions.stats().in_flight, 0);
    // A resend (e.g. after a reconnect) gets the error again, no new call.
    assert_eq!(
        sessions.begin(&sid("s"), &mid("m1"), false),
        Verdict::Answered(frame("error"))
    );
    // An explicit retry runs it again; its answer replaces the error.
    assert_eq!(sessions.begin(&sid("s"), &mid("m1"), true), Verdict::Start);
    sessions.complete(&sid("s"), &mid("m1"), frame("answer"), false);
    assert_eq!(
        sessions.begin(&sid("s"), &mid("m1"), true),
        Verdict::Answered(frame("answer"))
    );
    assert_eq!(sessions.stats().retained_bytes, "answer".len());
}

#[tokio::test]
async fn a_session_has_a_bounded_number_of_messages_in_flight() {
    let sessions = Sessions::new(Limits {
        max_in_flight_per_session: 2,
        ..limits()
    });
    assert_eq!(sessions.begin(&sid("s"), &mid("a"), false), Verdict::Start);
    assert_eq!(sessions.begin(&sid("s"), &mid("b"), false), Verdict::Start);
    assert_eq!(sessions.begin(&sid("s"), &mid("c"), false), Verdict::Busy);
    assert_eq!(
        sessions.begin(&sid("s"), &mid("a"), false),
        Verdict::InFlight,
        "known ids are not refused"
    );
    sessions.complete(&sid("s"), &mid("a"), frame("x"), false);
    assert_eq!(sessions.begin(&sid("s"), &mid("c"), false), Verdict::Start);
}

#[tokio::test]
async fn answers_wait_for_the_next_connection() {
    let sessions = Sessions::new(limits());
    let (c1, _rx1) = conn(1);
    sessions.attach(&sid("s"), c1);
    assert_eq!(sessions.begin(&sid("s"), &mid("m1"), false), Verdict::Start);
    sessions.detach(&sid("s"), 1);
    sessions.complete(&sid("s"), &mid("m1"), frame("late answer"), false);
    let (c2, mut rx2) = conn(2);
    sessions.attach(&sid("s"), c2);
    assert_eq!(rx2.try_recv().ok(), Some(frame("late answer")));
    let (c3, mut rx3) = conn(3);
    sessions.attach(&sid("s"), c3);
    assert!(
        rx3.try_recv().is_err(),
        "delivered once, not to every later connection"
    );
}

#[tokio::test]
async fn a_full_queue_kicks_the_slow_connection() {
    let sessions = Sessions::new(limits());
    let (tx, _rx) = crate::outbox::channel(4);
    let kick = CancellationToken::new();
    sessions.attach(&sid("s"), ConnHandle::new(1, tx, kick.clone()));
    for i in 0..5 {
        let id = format!("m{i}");
        sessions.begin("s", &id, false);
        sessions.complete("s", &id, frame("x"), false);
    }
    assert!(kick.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn idle_sessions_are_forgotten_after_retain_for() {
    let sessions = Sessions::new(limits());
    let (c, _rx) = conn(1);
    sessions.attach(&sid("s"), c);
    sessions.begin(&sid("s"), &mid("m1"), false);
    sessions.complete(&sid("s"), &mid("m1"), frame("abc"), false);
    sessions.detach(&sid("s"), 1);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(sessions.sweep(), 0);
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(sessions.sweep(), 1);
    assert_eq!(
        sessions.stats(),
        Stats {
            sessions: 0,
            in_flight: 0,
            retained_bytes: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn sessions_with_work_in_flight_are_kept() {
    let sessions = Sessions::new(limits());
    sessions.begin(&sid("s"), &mid("m1"), false);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(sessions.sweep(), 0);
}

#[tokio::test(start_paused = true)]
async fn session_count_is_capped_by_evicting_the_oldest_idle() {
    let sessions = Sessions::new(Limits {
        max_sessions: 3,
        ..limits()
    });
    for name in ["a", "b", "c"] {
        let (c, _rx) = conn(1);
        sessions.attach(name, c);
        sessions.detach(name, 1);
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    let (c, _rx) = conn(2);
    sessions.attach(&sid("d"), c);
    assert_eq!(sessions.stats().sessions, 3);
    assert_eq!(
        sessions.begin(&sid("a"), &mid("x"), false),
        Verdict::Start,
        "a was evicted and starts fresh"
    );
    assert_eq!(sessions.stats().sessions, 3, "b went to make room for a");
}

/// The idle index always holds exactly the evictable sessions, at
/// their last-seen time, whatever happens to them.
#[tokio::test(start_paused = true)]
async fn the_idle_index_follows_every_change() {
    let sessions = Sessions::new(Limits {
        max_sessions: 8,
        max_in_flight_per_session: 2,
        ..limits()
    });
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut receivers = Vec::new();
    for step in 0..3000u64 {
        let session = format!("s{}", next(12));
        let id = format!("m{}", next(4));
        match next(7) {
            0 => {
                let (c, rx) = conn(step % 3);
                receivers.push(rx);
                sessions.attach(&session, c);
            }
            1 => sessions.detach(&session, step % 3),
            2 => {
                sessions.begin(&session, &id, next(2) == 0);
            }
            3 => sessions.complete(&session, &id, frame("answer"), next(2) == 0),
            4 => {
                sessions.push(&session, frame("push"));
            }
            5 => sessions.abandon(&session, &id),
            _ => {
                tokio::time::advance(Duration::from_secs(next(30))).await;
                sessions.sweep();
            }
        }
        let inner = sessions.lock();
        let mut evictable: Vec<(Instant, String)> = inner
            .map
            .iter()
            .filter(|(_, s)| s.evictable())
            .map(|(k, s)| (s.last_seen, k.clone()))
            .collect();
        evictable.sort();
        let mut indexed: Vec<(Instant, String)> = inner
            .idle
            .iter()
            .map(|((at, _), k)| (*at, k.clone()))
            .collect();
        indexed.sort();
        assert_eq!(indexed, evictable, "after step {step}");
        drop(inner);
        if receivers.len() > 64 {
            receivers.clear();
        }
    }
}

#[tokio::test]
async fn retained_bytes_are_capped() {
    let sessions = Sessions::new(Limits {
        max_retained_bytes: 10,
        ..limits()
    });
    let (c, _rx) = conn(1);
    sessions.attach(&sid("s"), c);
    for i in 0..3 {
        let id = format!("m{i}");
        sessions.begin("s", &id, false);
        sessions.complete("s", &id, frame("1234"), false);
    }
    assert!(sessions.stats().retained_bytes <= 10);
    assert_eq!(
        sessions.begin(&sid("s"), &mid("m0"), false),
        Verdict::Lost,
        "oldest answer forgotten, its id not"
    );
    assert!(matches!(
        sessions.begin(&sid("s"), &mid("m2"), false),
        Verdict::Answered(_)
    ));
}

/// The attack: sessions opened to fill --max-sessions push out a
/// visitor who is away; the page's resend of an answered message must
/// not run it again.
#[tokio::test(start_paused = true)]
async fn an_evicted_sessions_answered_ids_are_not_run_again() {
    let sessions = Sessions::new(Limits {
        max_sessions: 5,
        ..limits()
    });
    let (c, _rx) = conn(1);
    sessions.attach(&sid("victim"), c);
    assert_eq!(
        sessions.begin(&sid("victim"), &mid("m1"), false),
        Verdict::Start
    );
    sessions.complete(&sid("victim"), &mid("m1"), frame("answer"), false);
    assert_eq!(
        sessions.begin(&sid("victim"), &mid("m2"), false),
        Verdict::Start
    );
    sessions.complete(&sid("victim"), &mid("m2"), frame("error"), true);
    sessions.detach(&sid("victim"), 1);
    for i in 0..12 {
        tokio::time::advance(Duration::from_millis(10)).await;
        let (c, _rx) = conn(100 + i);
        let name = format!("flood{i}");
        sessions.attach(&name, c);
        sessions.detach(&name, 100 + i);
    }
    assert_eq!(sessions.stats().sessions, 5);
    assert!(!sessions.knows(&sid("victim")), "evicted");
    assert_eq!(
        sessions.begin(&sid("victim"), &mid("m1"), false),
        Verdict::Lost
    );
    assert_eq!(
        sessions.begin(&sid("victim"), &mid("m1"), true),
        Verdict::Lost,
        "an answered id is not run again, even on a retry"
    );
    assert_eq!(
        sessions.begin(&sid("victim"), &mid("m2"), false),
        Verdict::Lost
    );
    assert_eq!(
        sessions.begin(&sid("victim"), &mid("m2"), true),
        Verdict::Start,
        "a failed one may be retried on purpose, as before eviction"
    );
    assert_eq!(
        sessions.begin(&sid("victim"), &mid("m3"), false),
        Verdict::Start,
        "new ids run"
    );
}

/// Forgotten after --retain-for too: the tombstone outlives the
/// session by at least --retain-for, then goes.
#[tokio::test(start_paused = true)]
async fn a_swept_sessions_ids_are_remembered_for_another_retain_for() {
    let sessions = Sessions::new(limits());
    sessions.begin(&sid("s"), &mid("m1"), false);
    sessions.complete(&sid("s"), &mid("m1"), frame("answer"), false);
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(sessions.sweep(), 1);
    assert_eq!(sessions.tombstones(), 1);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(sessions.sweep(), 0);
    assert_eq!(sessions.begin(&sid("s"), &mid("m1"), false), Verdict::Lost);
    tokio::time::advance(Duration::from_secs(120)).await;
    sessions.sweep();
    assert_eq!(sessions.tombstones(), 0, "tombstones expire too");
}

#[tokio::test]
async fn answers_per_session_are_capped() {
    let sessions = Sessions::new(Limits {
        max_answers_per_session: 2,
        ..limits()
    });
    for i in 0..3 {
        let id = format!("m{i}");
        sessions.begin("s", &id, false);
        sessions.complete("s", &id, frame("a"), false);
    }
    assert_eq!(
        sessions.begin(&sid("s"), &mid("m0"), false),
        Verdict::Lost,
        "pushed out, but not run again"
    );
    assert!(matches!(
        sessions.begin(&sid("s"), &mid("m2"), false),
        Verdict::Answered(_)
    ));
}
