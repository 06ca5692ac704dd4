//! The liveness clocks: the heartbeat the relay sends to every connection,
//! and the idle deadline after which a silent client is closed.
//!
//! The heartbeat is **one clock for the whole relay** ([`run_clock`]): each
//! tick builds the `heartbeat` frame once and publishes it on a `watch`
//! channel that every connection listens to. Ten thousand idle connections
//! then cost one timer and one serialisation per round, not ten thousand,
//! and a round has a single instant (the frame's `ts`) from which its
//! fan-out to all clients can be measured (`cargo xtask bench`, section 4).
//!
//! Both use tokio's clock, so tests drive them with paused time or short
//! intervals instead of sleeping.

use std::pin::Pin;
use std::time::Duration;

use shared::ServerMessage;
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};

use crate::clock::now_ms;
use crate::frame::Frame;
use crate::state::Heartbeat;

/// Ticks every `period` and publishes a fresh `heartbeat` frame on `beat`.
/// Runs until aborted (the relay aborts it when it stops).
pub async fn run_clock(beat: Heartbeat, period: Duration) {
    let mut ticker = ticker(period);
    loop {
        ticker.tick().await;
        let frame = ServerMessage::Heartbeat { ts: now_ms() }.encode();
        beat.send_replace(Some(Frame::from(frame)));
    }
}

/// A ticker that first fires one `period` from now (not immediately: the
/// `connection` frame already told the client the relay is there).
pub fn ticker(period: Duration) -> Interval {
    let period = period.max(Duration::from_millis(1));
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    // A connection that was busy sending should not then fire a burst of
    // heartbeats to catch up.
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// Closes a connection that has been silent for longer than `timeout`.
#[derive(Debug)]
pub struct IdleDeadline {
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl IdleDeadline {
    /// Starts the clock now.
    pub fn new(timeout: Duration) -> Self {
        IdleDeadline {
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// The client said something: restart the clock.
    pub fn heard(&mut self) {
        self.sleep.as_mut().reset(Instant::now() + self.timeout);
    }

    /// Completes when the client has been silent for `timeout`.
    pub async fn expired(&mut self) {
        self.sleep.as_mut().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_deadline_moves_when_the_client_speaks() {
        let mut idle = IdleDeadline::new(Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(9)).await;
        idle.heard();
        let start = Instant::now();
        idle.expired().await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn the_ticker_waits_one_period_first() {
        let start = Instant::now();
        let mut t = ticker(Duration::from_secs(30));
        t.tick().await;
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        t.tick().await;
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }
}
