//! The sessions' transcripts in the registry (see
//! [`crate::store::transcripts`] for what they hold and their bounds): kept
//! under the registry's lock, so a session forgotten here decides its
//! transcript's fate in the same step ([`super::idle::remove_session`]),
//! and each change reported to the journal like the rest.

use super::idle::Inner;
use super::Sessions;
use crate::store::conversations::is_current;
use crate::store::journal::Change;
use crate::store::transcripts::Line;

/// Appends `lines` to `session`'s transcript and reports it.
fn append(inner: &mut Inner, session: &str, lines: Vec<Line>, now_ms: u64) {
    let lines: Vec<Line> = lines.into_iter().filter(|l| !l.is_blank()).collect();
    if lines.is_empty() {
        return;
    }
    let reported = inner.journal.is_some().then(|| lines.clone());
    let appended = inner.transcripts.append(session, lines, now_ms);
    if let Some(lines) = reported {
        inner.note(Change::Lines {
            session: session.to_owned(),
            lines,
            at_ms: now_ms,
            dropped: appended.dropped,
        });
    }
    for gone in appended.evicted {
        inner.note(Change::TranscriptDropped { session: gone });
    }
}

impl Sessions {
    /// Appends `lines` to the transcript of `session` at `now_ms` (unix
    /// ms). Nothing with `--no-transcripts`, or for a session not
    /// remembered here (forgotten while its answer came).
    pub fn record_lines(&self, session: &str, lines: Vec<Line>, now_ms: u64) {
        if !self.limits.keep_transcripts {
            return;
        }
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !inner.map.contains_key(session) {
            return;
        }
        append(inner, session, lines, now_ms);
    }

    /// The transcript of `session`, oldest first, if it has one.
    pub fn transcript(&self, session: &str) -> Option<Vec<Line>> {
        if !self.limits.keep_transcripts {
            return None;
        }
        self.lock().transcripts.lines(session)
    }

    /// Lines of a transcript read back from disk, oldest first, the last
    /// written at `at_ms` (call [`Sessions::restore_orphans`] after the
    /// last). With `--no-transcripts` they are deleted from disk instead.
    pub fn restore_lines(&self, session: &str, lines: Vec<Line>, at_ms: u64) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !self.limits.keep_transcripts {
            inner.note(Change::TranscriptDropped {
                session: session.to_owned(),
            });
            return;
        }
        append(inner, session, lines, at_ms);
    }

    /// After reading back: a transcript whose session was not read back is
    /// kept only for the user whose list holds the conversation, until
    /// [`Sessions::sweep`] finds it expired; the others are deleted.
    pub fn restore_orphans(&self, now_ms: u64) {
        let orphans: Vec<String> = {
            let inner = self.lock();
            inner
                .transcripts
                .sessions()
                .filter(|s| !inner.map.contains_key(*s))
                .map(str::to_owned)
                .collect()
        };
        for session in orphans {
            let holder = self.lists.holder(&session, now_ms);
            let mut guard = self.lock();
            let inner = &mut *guard;
            match holder {
                Some(user) => {
                    inner.transcripts.orphan(&session, Some(&user));
                }
                None => {
                    if inner.transcripts.remove(&session) {
                        inner.note(Change::TranscriptDropped { session });
                    }
                }
            }
        }
    }

    /// Deletes the transcripts kept for forgotten sessions that no longer
    /// should be: their user's list does not hold the conversation any
    /// more, or its last line is older than `--conversation-retention`.
    /// One whose session was joined again lives as long as it once more.
    pub(super) fn sweep_transcripts(&self, now_ms: u64) {
        let orphans = {
            let mut inner = self.lock();
            let (back, orphans): (Vec<_>, Vec<_>) = inner
                .transcripts
                .orphans()
                .into_iter()
                .partition(|(s, _, _)| inner.map.contains_key(s));
            for (session, _, _) in back {
                inner.transcripts.adopt(&session);
            }
            orphans
        };
        let gone: Vec<String> = orphans
            .into_iter()
            .filter(|(session, owner, last_ms)| {
                !(is_current(*last_ms, now_ms, &self.limits)
                    && self.lists.contains(owner, session, now_ms))
            })
            .map(|(session, _, _)| session)
            .collect();
        if gone.is_empty() {
            return;
        }
        let mut guard = self.lock();
        let inner = &mut *guard;
        for session in gone {
            // Unless written to or joined again meanwhile.
            if inner.transcripts.is_orphan(&session)
                && !inner.map.contains_key(&session)
                && inner.transcripts.remove(&session)
            {
                inner.note(Change::TranscriptDropped { session });
            }
        }
    }
}
