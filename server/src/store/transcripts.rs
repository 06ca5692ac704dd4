//! Conversation transcripts kept on the relay (issue 24): what was said in
//! a session, so a page that resumes it — another tab, another browser of
//! a signed-in user — shows the same conversation, from the relay rather
//! than only from n8n's chat memory.
//!
//! A transcript is a session's lines, oldest first: the user's text and
//! the final answer of each message that was answered (errors and
//! interrupted messages leave none), the texts of a "Respond to Chat"
//! run, and pushed messages. Bounded:
//! - per session at most [`MAX_LINES`] lines and [`MAX_BYTES`] of text:
//!   the oldest lines go first (a single line longer than the bytes bound
//!   is cut to it, see [`clip`]);
//! - in a relay's memory (the memory and SQLite stores), all transcripts
//!   together at most `--max-retained-bytes` of text — their own budget,
//!   beside the stored answers' — the transcript written least recently
//!   going first; Redis bounds each transcript and lets it expire;
//! - in time: a transcript lives as long as its session is retained
//!   (`--retain-for` after the session was last seen); a session in a
//!   signed-in user's list keeps its transcript `--conversation-retention`
//!   after its last line, so it is there when the user opens the
//!   conversation on another device days later.
//!
//! `forget` deletes it with the session's answers; `--no-transcripts`
//! keeps none. Texts are never logged.
//!
//! [`Transcripts`] is the in-memory part, used under the memory store's
//! lock: no locking of its own. Time is passed in (unix ms) so tests need
//! not wait.

use std::collections::{BTreeMap, HashMap, VecDeque};

use shared::Role;

/// Lines one session's transcript keeps at most (the oldest go first).
pub const MAX_LINES: usize = 200;

/// Bytes of text one session's transcript keeps at most.
pub const MAX_BYTES: usize = 64 * 1024;

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Who said it.
    pub role: Role,
    /// What was said (markdown, for the bot), at most [`MAX_BYTES`].
    pub text: String,
}

impl Line {
    /// A line of the user's.
    pub fn user(text: &str) -> Line {
        Line {
            role: Role::User,
            text: clip(text),
        }
    }

    /// A line of the bot's (an answer, a run's message, a push).
    pub fn bot(text: &str) -> Line {
        Line {
            role: Role::Bot,
            text: clip(text),
        }
    }

    /// Whether it says nothing (such lines are not kept).
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// `text` cut to [`MAX_BYTES`] at a character boundary.
pub fn clip(text: &str) -> String {
    if text.len() <= MAX_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Lines dropped here that a copy on disk deletes in one go: at least
/// this many, or [`MAX_BYTES`] of their text. Deleting a session's two
/// oldest rows with every message at the bound cost the SQLite store
/// ~40 µs of CPU per message (`bench durable`); batched, a copy holds at
/// most this many lines (and 64 KiB) more than the bound.
pub const TRIM_LINES: usize = 50;

/// What an append changed besides adding its lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Appended {
    /// How many of the session's oldest lines a copy on disk deletes now:
    /// the lines the bounds dropped here since the last trim, once they
    /// reach [`TRIM_LINES`] or [`MAX_BYTES`] of text; otherwise 0.
    pub dropped: usize,
    /// Other sessions' transcripts dropped whole at the total bound.
    pub evicted: Vec<String>,
}

#[derive(Debug)]
struct Transcript {
    lines: VecDeque<Line>,
    bytes: usize,
    /// Lines dropped here not yet deleted from a copy on disk, and their
    /// text's size (see [`TRIM_LINES`]).
    untrimmed: (usize, usize),
    /// Its key in [`Transcripts::order`].
    seq: u64,
    /// When its last line was written (unix ms).
    last_ms: u64,
    /// Set while its session is forgotten and it is kept for the user
    /// whose list holds the conversation (see [`Transcripts::orphan`]).
    orphan_of: Option<String>,
}

/// Every session's transcript in memory, with the total bound.
#[derive(Debug)]
pub struct Transcripts {
    map: HashMap<String, Transcript>,
    /// Sessions by when their transcript was last written, oldest first.
    order: BTreeMap<u64, String>,
    next: u64,
    bytes: usize,
    max_bytes: usize,
}

impl Transcripts {
    /// None yet; at most `max_bytes` of text together.
    pub fn new(max_bytes: usize) -> Self {
        Transcripts {
            map: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            bytes: 0,
            max_bytes,
        }
    }

    /// Appends `lines` (blank ones left out) to `session`'s transcript at
    /// `now_ms`, then applies the bounds.
    pub fn append(&mut self, session: &str, lines: Vec<Line>, now_ms: u64) -> Appended {
        let mut appended = Appended::default();
        let lines: Vec<Line> = lines.into_iter().filter(|l| !l.is_blank()).collect();
        if lines.is_empty() {
            return appended;
        }
        self.next += 1;
        let seq = self.next;
        let t = self
            .map
            .entry(session.to_owned())
            .or_insert_with(|| Transcript {
                lines: VecDeque::new(),
                bytes: 0,
                untrimmed: (0, 0),
                seq,
                last_ms: now_ms,
                orphan_of: None,
            });
        self.order.remove(&t.seq);
        t.seq = seq;
        self.order.insert(seq, session.to_owned());
        t.last_ms = t.last_ms.max(now_ms);
        // Written to: its session is retained again.
        t.orphan_of = None;
        for line in lines {
            let len = line.text.len();
            t.bytes += len;
            self.bytes += len;
            t.lines.push_back(line);
        }
        while t.lines.len() > MAX_LINES || t.bytes > MAX_BYTES {
            let Some(old) = t.lines.pop_front() else {
                break;
            };
            t.bytes -= old.text.len();
            self.bytes -= old.text.len();
            t.untrimmed.0 += 1;
            t.untrimmed.1 += old.text.len();
        }
        if t.untrimmed.0 >= TRIM_LINES || t.untrimmed.1 >= MAX_BYTES {
            appended.dropped = t.untrimmed.0;
            t.untrimmed = (0, 0);
        }
        while self.bytes > self.max_bytes {
            let oldest = self.order.values().find(|s| s.as_str() != session).cloned();
            let Some(oldest) = oldest else {
                break;
            };
            self.remove(&oldest);
            appended.evicted.push(oldest);
        }
        appended
    }

    /// `session`'s lines, oldest first, if it has any.
    pub fn lines(&self, session: &str) -> Option<Vec<Line>> {
        self.map
            .get(session)
            .map(|t| t.lines.iter().cloned().collect())
    }

    /// Deletes `session`'s transcript; whether there was one.
    pub fn remove(&mut self, session: &str) -> bool {
        match self.map.remove(session) {
            Some(t) => {
                self.order.remove(&t.seq);
                self.bytes -= t.bytes;
                true
            }
            None => false,
        }
    }

    /// `session` was forgotten: its transcript goes with it unless the
    /// session was a signed-in `owner`'s, whose list may hold it — then it
    /// waits for [`Transcripts::orphans`] to be checked against the lists.
    /// Whether it went.
    pub fn orphan(&mut self, session: &str, owner: Option<&str>) -> bool {
        match (self.map.get_mut(session), owner) {
            (None, _) => false,
            (Some(t), Some(owner)) => {
                t.orphan_of = Some(owner.to_owned());
                false
            }
            (Some(_), None) => self.remove(session),
        }
    }

    /// `session` is retained again (joined after it was forgotten): its
    /// transcript lives as long as the session once more.
    pub fn adopt(&mut self, session: &str) {
        if let Some(t) = self.map.get_mut(session) {
            t.orphan_of = None;
        }
    }

    /// The transcripts kept for a forgotten session: (session, the user
    /// whose list should hold it, when its last line was written).
    pub fn orphans(&self) -> Vec<(String, String, u64)> {
        self.map
            .iter()
            .filter_map(|(s, t)| Some((s.clone(), t.orphan_of.clone()?, t.last_ms)))
            .collect()
    }

    /// Whether `session`'s transcript is still one kept for a forgotten
    /// session.
    pub fn is_orphan(&self, session: &str) -> bool {
        self.map.get(session).is_some_and(|t| t.orphan_of.is_some())
    }

    /// The sessions with a transcript.
    pub fn sessions(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// Bytes of text kept, all sessions together.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Sessions with a transcript.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no session has one.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &Transcripts, session: &str) -> Vec<String> {
        t.lines(session)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn lines_are_kept_in_order_and_blank_ones_left_out() {
        let mut t = Transcripts::new(1 << 20);
        t.append("s", vec![Line::user("hi"), Line::bot("hello")], 1);
        t.append("s", vec![Line::user("  "), Line::bot("again")], 2);
        assert_eq!(texts(&t, "s"), ["hi", "hello", "again"]);
        assert_eq!(t.lines("s").map(|l| l[0].role), Some(Role::User));
        assert_eq!(t.lines("other"), None);
        assert_eq!(t.bytes(), 2 + 5 + 5);
    }

    #[test]
    fn a_session_keeps_at_most_200_lines() {
        let mut t = Transcripts::new(1 << 20);
        for i in 0..MAX_LINES {
            let a = t.append("s", vec![Line::user(&format!("{i}"))], 1);
            assert_eq!(a.dropped, 0);
        }
        let a = t.append("s", vec![Line::user("new")], 2);
        assert_eq!(a.dropped, 0, "the oldest went here; the disk trims later");
        let kept = texts(&t, "s");
        assert_eq!(kept.len(), MAX_LINES);
        assert_eq!(kept[0], "1");
        assert_eq!(kept[MAX_LINES - 1], "new");
        // The disk's copy deletes the dropped lines in one go.
        for i in 1..TRIM_LINES - 1 {
            let a = t.append("s", vec![Line::user(&format!("more {i}"))], 3);
            assert_eq!(a.dropped, 0);
        }
        let a = t.append("s", vec![Line::user("the fiftieth")], 4);
        assert_eq!(a.dropped, TRIM_LINES, "fifty dropped: trimmed together");
        assert_eq!(t.append("s", vec![Line::user("next")], 5).dropped, 0);
        assert_eq!(texts(&t, "s").len(), MAX_LINES);
    }

    #[test]
    fn a_session_keeps_at_most_64_kib_and_a_longer_line_is_cut() {
        let mut t = Transcripts::new(1 << 20);
        let ten_k = "x".repeat(10 * 1024);
        for _ in 0..6 {
            t.append("s", vec![Line::bot(&ten_k)], 1);
        }
        assert_eq!(t.bytes(), 60 * 1024);
        let a = t.append("s", vec![Line::bot(&ten_k)], 1);
        assert_eq!(a.dropped, 0, "70 KiB > 64 KiB: the oldest went here");
        assert_eq!(t.bytes(), 60 * 1024);
        // 64 KiB dropped in all: the disk's copy trims them at once.
        let trimmed: Vec<usize> = (0..6)
            .map(|_| t.append("s", vec![Line::bot(&ten_k)], 1).dropped)
            .collect();
        assert_eq!(trimmed, [0, 0, 0, 0, 0, 7]);
        assert_eq!(t.bytes(), 60 * 1024);
        let huge = "é".repeat(MAX_BYTES); // 2 bytes each
        let line = Line::bot(&huge);
        assert!(line.text.len() <= MAX_BYTES && line.text.len() > MAX_BYTES - 2);
        t.append("s", vec![line], 2);
        assert_eq!(t.lines("s").map(|l| l.len()), Some(1), "only it fits");
    }

    #[test]
    fn all_transcripts_together_are_bounded_least_recently_written_first() {
        let mut t = Transcripts::new(10);
        t.append("a", vec![Line::user("1234")], 1);
        t.append("b", vec![Line::user("1234")], 2);
        t.append("a", vec![Line::user("5")], 3);
        let appended = t.append("c", vec![Line::user("1234")], 4);
        assert_eq!(appended.evicted, ["b"], "b was written least recently");
        assert_eq!(t.len(), 2);
        assert_eq!(t.bytes(), 9);
        // One alone over the bound keeps its newest lines.
        let appended = t.append("c", vec![Line::user("123456789")], 5);
        assert_eq!(appended.evicted, ["a"]);
        assert_eq!(appended.dropped, 0);
        assert!(t.bytes() > 10, "its own lines are not evicted whole");
    }

    #[test]
    fn a_forgotten_sessions_transcript_goes_unless_a_user_owned_it() {
        let mut t = Transcripts::new(1 << 20);
        t.append("anon", vec![Line::user("x")], 1);
        t.append("alice's", vec![Line::user("y")], 7);
        assert!(t.orphan("anon", None), "nobody's list can hold it");
        assert_eq!(t.lines("anon"), None);
        assert!(!t.orphan("alice's", Some("alice")));
        assert_eq!(t.orphans(), vec![("alice's".into(), "alice".into(), 7)]);
        assert!(t.is_orphan("alice's"));
        t.adopt("alice's");
        assert!(t.orphans().is_empty(), "retained again");
        t.orphan("alice's", Some("alice"));
        t.append("alice's", vec![Line::bot("z")], 9);
        assert!(!t.is_orphan("alice's"), "written to: retained again");
        assert!(t.remove("alice's"));
        assert!(t.is_empty());
        assert_eq!(t.bytes(), 0);
    }
}
