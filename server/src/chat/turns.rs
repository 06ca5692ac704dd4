//! One conversation, one execution at a time: a session's messages go to
//! n8n in the order the page sent them, at most `--session-concurrency` at
//! once (default 1), so a workflow whose memory is keyed by `sessionId`
//! never races with itself; other sessions are not held up.
//!
//! And the runs of "Respond to Chat" workflows: while a run waits for the
//! user, the session's next message *is* the reply (it goes to the run, not
//! to n8n as a new execution); a message that arrives while the run works
//! waits its turn — for the run to ask, or for it to end.
//!
//! Decisions are made under one lock, so a message can never slip between
//! "the run started waiting" and "the queue was looked at".

use parking_lot::Mutex;
use shared::{MessageId, SessionId};
use std::collections::{HashMap, VecDeque};

use tokio::sync::mpsc;

use crate::frame::Frame;
use crate::responder::ChatRequest;

/// What a run is told.
#[derive(Debug)]
pub enum RunCommand {
    /// The user's reply (a message of the session).
    Reply(ChatRequest),
    /// A button of chat message `seq`.
    Choice {
        /// The chat message.
        seq: u32,
        /// Which button.
        button: u32,
    },
    /// The user stopped the run's message.
    Cancel,
}

/// A run as the scheduler knows it.
#[derive(Debug)]
struct RunEntry {
    /// The message that started it.
    id: String,
    tx: mpsc::Sender<RunCommand>,
    /// Waiting for the user.
    waiting: bool,
    /// What a page that (re)connects is sent while the run waits: its last
    /// chat message and the waiting state.
    replay: Vec<Frame>,
}

#[derive(Debug, Default)]
struct Conversation {
    running: usize,
    queue: VecDeque<ChatRequest>,
    runs: Vec<RunEntry>,
}

impl Conversation {
    fn idle(&self) -> bool {
        self.running == 0 && self.queue.is_empty() && self.runs.is_empty()
    }
}

/// What to do with a new message.
#[derive(Debug)]
pub enum Admitted {
    /// Send it to n8n now (its turn).
    Start(ChatRequest),
    /// It waits its turn.
    Queued,
    /// A run waits for the user: this message is the reply.
    Reply(mpsc::Sender<RunCommand>, ChatRequest),
}

/// The turns of every session.
#[derive(Debug)]
pub struct Turns {
    inner: Mutex<HashMap<SessionId, Conversation>>,
    concurrency: usize,
}

impl Turns {
    /// Turns with at most `concurrency` messages of a session at n8n.
    pub fn new(concurrency: usize) -> Self {
        Turns {
            inner: Mutex::new(HashMap::new()),
            concurrency: concurrency.max(1),
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<SessionId, Conversation>> {
        self.inner.lock()
    }

    /// Admits a new message of its session.
    pub fn submit(&self, request: ChatRequest) -> Admitted {
        self.admit(request, false)
    }

    /// Admits again a reply that the run chosen for it could not take (it
    /// ended just then, or never will): decided under the lock like a new
    /// message — another waiting run's reply, its turn now, or waiting for
    /// it — but first in line, as it came before anything queued since.
    /// So it is never sent beside the session's running messages, and the
    /// turn it takes is counted like any other.
    pub fn readmit(&self, request: ChatRequest) -> Admitted {
        self.admit(request, true)
    }

    fn admit(&self, request: ChatRequest, first: bool) -> Admitted {
        let mut all = self.lock();
        let c = all.entry(request.session_id.clone()).or_default();
        if let Some(run) = c.runs.iter_mut().find(|r| r.waiting) {
            run.waiting = false;
            return Admitted::Reply(run.tx.clone(), request);
        }
        if c.running < self.concurrency {
            c.running += 1;
            Admitted::Start(request)
        } else {
            if first {
                c.queue.push_front(request);
            } else {
                c.queue.push_back(request);
            }
            Admitted::Queued
        }
    }

    /// A turn of `session` ended: the next message waiting, if any, takes
    /// it (send it now); otherwise the turn is free.
    pub fn finished(&self, session: &SessionId) -> Option<ChatRequest> {
        let mut all = self.lock();
        let c = all.get_mut(session)?;
        let next = c.queue.pop_front();
        if next.is_none() {
            c.running = c.running.saturating_sub(1);
        }
        if c.idle() {
            all.remove(session);
        }
        next
    }

    /// Takes message `id` out of its session's queue (the user stopped it
    /// before its turn came).
    pub fn withdraw(&self, session: &SessionId, id: &MessageId) -> Option<ChatRequest> {
        let mut all = self.lock();
        let c = all.get_mut(session)?;
        let at = c.queue.iter().position(|r| r.message_id == *id)?;
        c.queue.remove(at)
    }

    /// A run started by message `id` of `session` is live.
    pub fn run_started(&self, session: &SessionId, id: &MessageId, tx: mpsc::Sender<RunCommand>) {
        let mut all = self.lock();
        all.entry(session.clone()).or_default().runs.push(RunEntry {
            id: id.to_string(),
            tx,
            waiting: false,
            replay: Vec::new(),
        });
    }

    /// The run waits for the user. If a message of the session is already
    /// waiting its turn, it is the reply (returned; the run stays working);
    /// otherwise the next message will be. `replay` is what a page that
    /// connects meanwhile is sent.
    pub fn run_waits(
        &self,
        session: &SessionId,
        id: &MessageId,
        replay: Vec<Frame>,
    ) -> Option<ChatRequest> {
        let mut all = self.lock();
        let c = all.get_mut(session)?;
        if let Some(next) = c.queue.pop_front() {
            return Some(next);
        }
        if let Some(run) = c.runs.iter_mut().find(|r| r.id == id.as_str()) {
            run.waiting = true;
            run.replay = replay;
        }
        None
    }

    /// The run went on without the user.
    pub fn run_works(&self, session: &SessionId, id: &MessageId) {
        let mut all = self.lock();
        if let Some(run) = all
            .get_mut(session)
            .and_then(|c| c.runs.iter_mut().find(|r| r.id == id.as_str()))
        {
            run.waiting = false;
            run.replay.clear();
        }
    }

    /// The run ended.
    pub fn run_ended(&self, session: &SessionId, id: &MessageId) {
        let mut all = self.lock();
        if let Some(c) = all.get_mut(session) {
            c.runs.retain(|r| r.id != id.as_str());
            if c.idle() {
                all.remove(session);
            }
        }
    }

    /// Puts messages a run did not take back at the head of the queue (in
    /// their order), to be sent as new messages.
    pub fn give_back(&self, session: &SessionId, requests: Vec<ChatRequest>) {
        if requests.is_empty() {
            return;
        }
        let mut all = self.lock();
        let c = all.entry(session.clone()).or_default();
        for request in requests.into_iter().rev() {
            c.queue.push_front(request);
        }
    }

    /// The run started by message `id` of `session`, to tell it something.
    pub fn run(&self, session: &SessionId, id: &MessageId) -> Option<mpsc::Sender<RunCommand>> {
        let all = self.lock();
        all.get(session)?
            .runs
            .iter()
            .find(|r| r.id == id.as_str())
            .map(|r| r.tx.clone())
    }

    /// What a page that (re)connects to `session` must see of its waiting
    /// runs.
    pub fn replay(&self, session: &SessionId) -> Vec<Frame> {
        let all = self.lock();
        all.get(session)
            .map(|c| {
                c.runs
                    .iter()
                    .filter(|r| r.waiting)
                    .flat_map(|r| r.replay.iter().cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sessions with anything going on (for tests and `/healthz`).
    pub fn active_sessions(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_ids::{mid, sid};
    use shared::{MessageId, SessionId};

    fn msg(session: &'static str, id: &'static str) -> ChatRequest {
        ChatRequest {
            session_id: SessionId::from_static(session),
            message_id: MessageId::from_static(id),
            text: id.into(),
            metadata: None,
            files: Vec::new(),
            user: None,
            regenerate: false,
        }
    }

    fn started(a: Admitted) -> String {
        match a {
            Admitted::Start(r) => r.message_id.into(),
            other => panic!("expected start, got {other:?}"),
        }
    }

    #[test]
    fn a_sessions_messages_go_one_at_a_time_in_order() {
        let t = Turns::new(1);
        assert_eq!(started(t.submit(msg("s", "a"))), "a");
        assert!(matches!(t.submit(msg("s", "b")), Admitted::Queued));
        assert!(matches!(t.submit(msg("s", "c")), Admitted::Queued));
        assert_eq!(
            started(t.submit(msg("other", "x"))),
            "x",
            "others go at once"
        );
        assert_eq!(
            t.finished(&sid("s")).map(|r| r.message_id).as_deref(),
            Some("b")
        );
        assert_eq!(
            t.finished(&sid("s")).map(|r| r.message_id).as_deref(),
            Some("c")
        );
        assert!(t.finished(&sid("s")).is_none());
        assert_eq!(started(t.submit(msg("s", "d"))), "d", "the turn is free");
        assert!(t.finished(&sid("s")).is_none());
        assert!(t.finished(&sid("other")).is_none());
        assert_eq!(t.active_sessions(), 0, "nothing left behind");
    }

    #[test]
    fn concurrency_lets_several_go() {
        let t = Turns::new(2);
        assert_eq!(started(t.submit(msg("s", "a"))), "a");
        assert_eq!(started(t.submit(msg("s", "b"))), "b");
        assert!(matches!(t.submit(msg("s", "c")), Admitted::Queued));
    }

    #[test]
    fn a_waiting_run_takes_the_next_message_as_its_reply() {
        let t = Turns::new(1);
        assert_eq!(started(t.submit(msg("s", "m"))), "m");
        let (tx, _rx) = mpsc::channel(4);
        t.run_started(&sid("s"), &mid("m"), tx);
        // Typed while the run works: waits its turn, then is the reply.
        assert!(matches!(t.submit(msg("s", "early")), Admitted::Queued));
        let reply = t.run_waits(&sid("s"), &mid("m"), vec![Frame::from_static("q")]);
        assert_eq!(reply.map(|r| r.message_id).as_deref(), Some("early"));
        assert!(
            t.replay(&sid("s")).is_empty(),
            "still working: nothing to replay"
        );
        // Now it waits: the next message goes to it at once.
        assert!(t
            .run_waits(&sid("s"), &mid("m"), vec![Frame::from_static("q2")])
            .is_none());
        assert_eq!(t.replay(&sid("s")), [Frame::from_static("q2")]);
        match t.submit(msg("s", "reply")) {
            Admitted::Reply(_, r) => assert_eq!(r.message_id, "reply"),
            other => panic!("{other:?}"),
        }
        // Working again: the next one waits.
        assert!(matches!(t.submit(msg("s", "later")), Admitted::Queued));
        t.run_ended(&sid("s"), &mid("m"));
        assert_eq!(
            t.finished(&sid("s")).map(|r| r.message_id).as_deref(),
            Some("later")
        );
        assert!(t.finished(&sid("s")).is_none());
        assert_eq!(t.active_sessions(), 0);
    }

    #[test]
    fn a_reply_readmitted_waits_for_the_turn_first_in_line_or_takes_a_free_one() {
        let t = Turns::new(1);
        started(t.submit(msg("s", "m")));
        let (tx, rx) = mpsc::channel(4);
        t.run_started(&sid("s"), &mid("m"), tx);
        assert!(t.run_waits(&sid("s"), &mid("m"), Vec::new()).is_none());
        let Admitted::Reply(_, reply) = t.submit(msg("s", "r")) else {
            panic!("the reply");
        };
        drop(rx);
        // Typed meanwhile: queued (the run works now).
        assert!(matches!(t.submit(msg("s", "later")), Admitted::Queued));
        // The run could not take the reply: it waits for the turn, first.
        assert!(matches!(t.readmit(reply), Admitted::Queued));
        t.run_ended(&sid("s"), &mid("m"));
        let order: Vec<String> =
            std::iter::from_fn(|| t.finished(&sid("s")).map(|r| r.message_id.into())).collect();
        assert_eq!(order, ["r", "later"]);
        assert_eq!(t.active_sessions(), 0);
        // With the turn free already, it takes it (and is counted).
        assert_eq!(started(t.readmit(msg("s", "r2"))), "r2");
        assert!(matches!(t.submit(msg("s", "x")), Admitted::Queued));
    }

    #[test]
    fn replies_a_run_did_not_take_go_back_first_in_order() {
        let t = Turns::new(1);
        started(t.submit(msg("s", "m")));
        assert!(matches!(t.submit(msg("s", "c")), Admitted::Queued));
        t.give_back(&sid("s"), vec![msg("s", "a"), msg("s", "b")]);
        let order: Vec<String> =
            std::iter::from_fn(|| t.finished(&sid("s")).map(|r| r.message_id.into())).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }
}
