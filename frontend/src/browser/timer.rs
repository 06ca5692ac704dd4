//! One timer for the connection machine's next deadline (gloo-timers).
//!
//! Re-armed after every event the machine handles: the old timeout is
//! dropped (which cancels it) and, if the machine has a deadline, a new one
//! is set for it. Nothing wakes the page while nothing is due.

use gloo_timers::callback::Timeout;

/// The pending timeout, if any.
#[derive(Default)]
pub struct DeadlineTimer {
    pending: Option<(f64, Timeout)>,
}

impl std::fmt::Debug for DeadlineTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlineTimer")
            .field("at", &self.pending.as_ref().map(|(at, _)| *at))
            .finish()
    }
}

impl DeadlineTimer {
    /// Fires `due` at `deadline` (ms, `Date.now()` clock; `now` is the time
    /// now). Keeps an already armed timeout for the same instant; `None`
    /// cancels.
    pub fn arm(&mut self, deadline: Option<f64>, now: f64, due: impl FnOnce() + 'static) {
        if self.pending.as_ref().map(|(at, _)| *at) == deadline {
            return;
        }
        self.pending = deadline.map(|at| {
            let wait = (at - now).clamp(0.0, f64::from(i32::MAX)).ceil() as u32;
            (at, Timeout::new(wait, due))
        });
    }

    /// Forgets the armed instant after it fired (so the same instant can be
    /// armed again).
    pub fn fired(&mut self) {
        self.pending = None;
    }
}
