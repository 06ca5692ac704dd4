//! What the workflow is doing for one message, from the relay's `progress`
//! frames: the current step (shown under the waiting answer) and the steps
//! so far (folded under the finished answer as "3 steps · 12 s").
//!
//! Steps are numbered by the relay (`seq`), so a frame that arrives twice
//! changes nothing; waiting states (no number) only change the current
//! line. Bounded like the relay: at most [`MAX_PROGRESS_STEPS`] steps, each
//! text at most [`MAX_PROGRESS_STEP_CHARS`] characters.

use shared::{ProgressLabel, StepState, MAX_PROGRESS_STEPS, MAX_PROGRESS_STEP_CHARS};

/// What a step or state is shown as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// The operator's text, as sent.
    Text(String),
    /// The page's own text for this key, in the page's language.
    Label(ProgressLabel),
}

/// One step of the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The relay's number for it (1, 2, …).
    pub seq: u32,
    /// What it is shown as.
    pub shown: Shown,
    /// It ended.
    pub done: bool,
}

/// The progress of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// The steps, in order of their numbers.
    pub steps: Vec<Step>,
    /// What is happening now (the last frame's step or state).
    pub current: Option<Shown>,
    /// When the first step began and when the last frame of a step came
    /// (page clock, ms): how long the steps took.
    pub first_at: Option<u64>,
    /// See `first_at`.
    pub last_at: Option<u64>,
}

impl Progress {
    /// Nothing known (not kept).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.current.is_none()
    }

    /// A `progress` frame, arriving at `now` (ms).
    pub fn on_frame(
        &mut self,
        step: Option<&str>,
        label: Option<ProgressLabel>,
        seq: Option<u32>,
        state: StepState,
        now: f64,
    ) {
        let shown = match step {
            Some(text) if !text.trim().is_empty() => {
                Shown::Text(text.chars().take(MAX_PROGRESS_STEP_CHARS).collect())
            }
            _ => Shown::Label(label.unwrap_or(ProgressLabel::Working)),
        };
        let now = now.max(0.0) as u64;
        let Some(seq) = seq else {
            self.current = Some(shown);
            return;
        };
        let done = state == StepState::Done;
        let room = self.steps.len() < MAX_PROGRESS_STEPS as usize;
        // A late frame of an earlier step does not move the current line
        // back.
        let newest = self.steps.last().is_none_or(|s| seq >= s.seq);
        match self.steps.iter_mut().find(|s| s.seq == seq) {
            // Again, with nothing new: changes nothing.
            Some(known) if known.done || !done => return,
            Some(known) => known.done = true,
            None if room => {
                let at = self.steps.partition_point(|s| s.seq < seq);
                self.steps.insert(
                    at,
                    Step {
                        seq,
                        shown: shown.clone(),
                        done,
                    },
                );
            }
            None => return,
        }
        self.first_at.get_or_insert(now);
        self.last_at = Some(now);
        if newest {
            self.current = Some(shown);
        }
    }

    /// The folded line's numbers: how many steps, and how many seconds
    /// they took (when more than an instant was seen); `None` without steps.
    pub fn summary(&self) -> Option<(usize, Option<u64>)> {
        if self.steps.is_empty() {
            return None;
        }
        let secs = match (self.first_at, self.last_at) {
            (Some(first), Some(last)) => Some(last.saturating_sub(first).div_ceil(1000)),
            _ => None,
        };
        Some((self.steps.len(), secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Shown {
        Shown::Text(s.into())
    }

    #[test]
    fn steps_in_order_the_current_one_and_the_summary() {
        let mut p = Progress::default();
        p.on_frame(
            None,
            Some(ProgressLabel::Workflow),
            None,
            StepState::Running,
            1000.0,
        );
        assert_eq!(p.current, Some(Shown::Label(ProgressLabel::Workflow)));
        assert_eq!(p.summary(), None, "a waiting state is no step");
        p.on_frame(Some("Searching"), None, Some(1), StepState::Running, 2000.0);
        assert_eq!(p.current, Some(text("Searching")));
        p.on_frame(Some("Searching"), None, Some(1), StepState::Done, 5000.0);
        p.on_frame(
            None,
            Some(ProgressLabel::Working),
            Some(2),
            StepState::Running,
            6000.0,
        );
        p.on_frame(
            None,
            Some(ProgressLabel::Working),
            Some(2),
            StepState::Running,
            6000.0,
        );
        p.on_frame(
            None,
            Some(ProgressLabel::Working),
            Some(2),
            StepState::Done,
            13500.0,
        );
        assert_eq!(p.current, Some(Shown::Label(ProgressLabel::Working)));
        assert_eq!(p.steps.len(), 2, "a frame twice is one step");
        // Step 1's frame again, late: nothing moves back.
        p.on_frame(Some("Searching"), None, Some(1), StepState::Done, 20_000.0);
        assert_eq!(p.current, Some(Shown::Label(ProgressLabel::Working)));
        assert_eq!(p.last_at, Some(13_500));
        assert!(p.steps.iter().all(|s| s.done));
        assert_eq!(p.summary(), Some((2, Some(12))));
    }

    #[test]
    fn a_late_frame_never_undoes_a_step_and_order_is_by_number() {
        let mut p = Progress::default();
        p.on_frame(None, None, Some(2), StepState::Done, 0.0);
        p.on_frame(None, None, Some(1), StepState::Running, 0.0);
        p.on_frame(None, None, Some(2), StepState::Running, 0.0);
        assert_eq!(p.steps.iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2]);
        assert!(p.steps[1].done);
        assert_eq!(p.steps[0].shown, Shown::Label(ProgressLabel::Working));
    }

    #[test]
    fn steps_and_texts_are_bounded() {
        let mut p = Progress::default();
        let long = "x".repeat(500);
        for seq in 1..=MAX_PROGRESS_STEPS + 10 {
            p.on_frame(Some(&long), None, Some(seq), StepState::Running, 0.0);
        }
        assert_eq!(p.steps.len(), MAX_PROGRESS_STEPS as usize);
        assert!(
            matches!(&p.steps[0].shown, Shown::Text(t) if t.chars().count() == MAX_PROGRESS_STEP_CHARS)
        );
    }
}
