//! The connection state machine.
//!
//! Events in, commands out, time passed in with every event: no timers or
//! sockets here, so every transition is a plain unit test. The machine also
//! says when it next has something to do ([`Machine::next_deadline`]): the
//! browser glue arms one timer for that instant and feeds an
//! [`Event::Tick`] when it fires — no wake-ups while nothing is due (idle
//! tabs, phones) — and executes the [`Command`]s it returns.
//!
//! The rules:
//! - `connecting` until the relay's `connection` frame, then `online`.
//! - Online, a `ping` every ping interval; no `pong` within the pong timeout,
//!   or no frame at all for 2 × the relay's heartbeat → the link is dead:
//!   close and reconnect (a half-open TCP connection must not look online).
//! - A failed attempt or a lost link → `reconnecting`, with exponential
//!   backoff and jitter; after the last allowed attempt → `offline`, until
//!   the user clicks retry.
//! - The browser coming back online or the tab becoming visible → try at
//!   once with the attempts reset.

use shared::timing::{Backoff, SILENCE_HEARTBEATS};
use shared::ServerMessage;

use crate::model::settings::Timing;

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// The first attempt (page load or after a manual retry).
    Connecting,
    /// The relay greeted us; messages flow.
    Online,
    /// The link was lost or an attempt failed; `attempt` is the next (or
    /// current) attempt number, 1-based.
    Reconnecting {
        /// Which attempt, 1..=max.
        attempt: u32,
        /// When the next attempt starts (ms, same clock as events); `None`
        /// while the attempt is under way.
        retry_at: Option<f64>,
    },
    /// Gave up after the last attempt; waiting for the user.
    Offline,
}

impl Phase {
    /// The `data-state` name of this phase.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::Online => "online",
            Phase::Reconnecting { .. } => "reconnecting",
            Phase::Offline => "offline",
        }
    }
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The page started.
    Start,
    /// A frame arrived.
    Frame(ServerMessage),
    /// The socket closed or failed. `jitter` in [0, 1] spreads retries.
    Closed {
        /// Random number for the backoff jitter.
        jitter: f64,
    },
    /// The deadline the machine asked for has come. `jitter` as for
    /// `Closed`, used when the tick finds the link dead.
    Tick {
        /// Random number for the backoff jitter.
        jitter: f64,
    },
    /// The user clicked retry, the browser came back online, or the tab
    /// became visible: try at once, attempts reset.
    RetryNow,
    /// The conversation changed (a new chat): drop the link and open a new
    /// one at once, whatever the phase.
    Reconnect,
}

/// Something the glue must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open a new socket (closing any old one first, without events).
    Open,
    /// Close the socket without reporting a `Closed` event.
    Close,
    /// Send `{"type":"ping","ts":ts}`.
    Ping {
        /// Our clock, echoed in the pong.
        ts: f64,
    },
    /// The link is ready: send every unanswered message, in order.
    Flush,
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    phase: Phase,
    timing: Timing,
    attempt_started_at: f64,
    last_frame_at: f64,
    last_ping_at: f64,
    awaiting_pong_since: Option<f64>,
    heartbeat_ms: f64,
    rtt_ms: Option<f64>,
}

impl Machine {
    /// A machine that has not started.
    pub fn new(timing: Timing) -> Self {
        Machine {
            phase: Phase::Connecting,
            heartbeat_ms: shared::timing::HEARTBEAT_INTERVAL.as_millis() as f64,
            timing,
            attempt_started_at: 0.0,
            last_frame_at: 0.0,
            last_ping_at: 0.0,
            awaiting_pong_since: None,
            rtt_ms: None,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The last measured ping round trip, in ms.
    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }

    /// The backoff policy in use.
    pub fn backoff(&self) -> Backoff {
        self.timing.backoff
    }

    /// Feeds one event at time `now` (ms); returns what to do.
    pub fn handle(&mut self, event: Event, now: f64) -> Vec<Command> {
        match event {
            Event::Start => self.open(Phase::Connecting, now),
            Event::Frame(frame) => self.on_frame(frame, now),
            Event::Closed { jitter } => match self.phase {
                Phase::Offline
                | Phase::Reconnecting {
                    retry_at: Some(_), ..
                } => vec![],
                _ => self.fail(now, jitter),
            },
            Event::Tick { jitter } => self.on_tick(now, jitter),
            Event::Reconnect => self.open(Phase::Connecting, now),
            Event::RetryNow => match self.phase {
                Phase::Offline
                | Phase::Reconnecting {
                    retry_at: Some(_), ..
                } => self.open(Phase::Connecting, now),
                _ => vec![],
            },
        }
    }

    /// When the machine next has something to do (ms, same clock as
    /// events): a ping, a pong or silence deadline while online, the next
    /// attempt while backing off, an attempt's connect timeout; `None` when
    /// offline (only the user or the browser can start it again).
    pub fn next_deadline(&self) -> Option<f64> {
        match self.phase {
            Phase::Online => {
                // `silent` is "more than", so its instant is a millisecond on.
                let silence =
                    self.last_frame_at + SILENCE_HEARTBEATS as f64 * self.heartbeat_ms + 1.0;
                let due = match self.awaiting_pong_since {
                    Some(sent) => sent + self.timing.pong_timeout_ms,
                    None => self.last_ping_at + self.timing.ping_interval_ms,
                };
                Some(due.min(silence))
            }
            Phase::Reconnecting {
                retry_at: Some(at), ..
            } => Some(at),
            Phase::Connecting | Phase::Reconnecting { retry_at: None, .. } => {
                Some(self.attempt_started_at + self.timing.connect_timeout_ms)
            }
            Phase::Offline => None,
        }
    }

    fn open(&mut self, phase: Phase, now: f64) -> Vec<Command> {
        self.phase = phase;
        self.attempt_started_at = now;
        self.last_frame_at = now;
        self.awaiting_pong_since = None;
        vec![Command::Open]
    }

    fn on_frame(&mut self, frame: ServerMessage, now: f64) -> Vec<Command> {
        self.last_frame_at = now;
        match frame {
            ServerMessage::Connection { heartbeat_ms, .. } => {
                if heartbeat_ms > 0 {
                    self.heartbeat_ms = heartbeat_ms as f64;
                }
                self.phase = Phase::Online;
                self.last_ping_at = now;
                self.awaiting_pong_since = None;
                vec![Command::Flush]
            }
            ServerMessage::Pong { ts } => {
                if let (Some(sent), Some(ts)) = (self.awaiting_pong_since, ts.as_f64()) {
                    if (ts - sent).abs() < f64::EPSILON {
                        self.rtt_ms = Some((now - sent).max(0.0));
                        self.awaiting_pong_since = None;
                    }
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn on_tick(&mut self, now: f64, jitter: f64) -> Vec<Command> {
        match self.phase {
            Phase::Online => {
                let pong_overdue = self
                    .awaiting_pong_since
                    .is_some_and(|sent| now - sent >= self.timing.pong_timeout_ms);
                let silent =
                    now - self.last_frame_at > SILENCE_HEARTBEATS as f64 * self.heartbeat_ms;
                if pong_overdue || silent {
                    let mut commands = vec![Command::Close];
                    commands.extend(self.fail(now, jitter));
                    return commands;
                }
                if now - self.last_ping_at >= self.timing.ping_interval_ms
                    && self.awaiting_pong_since.is_none()
                {
                    self.last_ping_at = now;
                    self.awaiting_pong_since = Some(now);
                    return vec![Command::Ping { ts: now }];
                }
                vec![]
            }
            Phase::Reconnecting {
                attempt,
                retry_at: Some(at),
            } if now >= at => self.open(
                Phase::Reconnecting {
                    attempt,
                    retry_at: None,
                },
                now,
            ),
            // An attempt that neither opens nor fails (a black-holed
            // connection) is given up after the pong timeout.
            Phase::Connecting | Phase::Reconnecting { retry_at: None, .. }
                if now - self.attempt_started_at >= self.timing.connect_timeout_ms =>
            {
                let mut commands = vec![Command::Close];
                commands.extend(self.fail(now, jitter));
                commands
            }
            _ => vec![],
        }
    }

    /// The current attempt failed or the link was lost.
    fn fail(&mut self, now: f64, jitter: f64) -> Vec<Command> {
        let next = match self.phase {
            Phase::Reconnecting { attempt, .. } => attempt + 1,
            _ => 1,
        };
        self.awaiting_pong_since = None;
        if self.timing.backoff.allows(next) {
            let delay = self.timing.backoff.delay(next, jitter).as_secs_f64() * 1000.0;
            self.phase = Phase::Reconnecting {
                attempt: next,
                retry_at: Some(now + delay),
            };
        } else {
            self.phase = Phase::Offline;
        }
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timing() -> Timing {
        Timing::default()
    }

    fn hello(heartbeat_ms: u64) -> Event {
        Event::Frame(ServerMessage::Connection {
            client_id: "c".into(),
            session_id: "s".into(),
            heartbeat_ms,
            version: "t".into(),
            max_message_bytes: None,
        })
    }

    fn online_machine() -> Machine {
        let mut m = Machine::new(timing());
        assert_eq!(m.handle(Event::Start, 0.0), [Command::Open]);
        assert_eq!(m.phase(), Phase::Connecting);
        assert_eq!(m.handle(hello(30_000), 20.0), [Command::Flush]);
        assert_eq!(m.phase(), Phase::Online);
        m
    }

    #[test]
    fn start_opens_and_the_connection_frame_goes_online_and_flushes() {
        let mut m = Machine::new(timing());
        assert_eq!(m.phase(), Phase::Connecting, "not online before a link");
        assert_eq!(m.handle(Event::Start, 0.0), [Command::Open], "start opens");
        assert_eq!(m.phase(), Phase::Connecting);
        assert_eq!(
            m.handle(hello(30_000), 20.0),
            [Command::Flush],
            "the connection frame flushes the outbox"
        );
        assert_eq!(m.phase(), Phase::Online, "and the page is online");
    }

    #[test]
    fn a_new_chat_reconnects_at_once_from_any_phase() {
        let mut m = online_machine();
        assert_eq!(m.handle(Event::Reconnect, 30.0), [Command::Open]);
        assert_eq!(m.phase(), Phase::Connecting);
        m.handle(Event::Closed { jitter: 0.5 }, 40.0);
        assert!(matches!(m.phase(), Phase::Reconnecting { .. }));
        assert_eq!(m.handle(Event::Reconnect, 50.0), [Command::Open]);
        assert_eq!(m.handle(hello(30_000), 60.0), [Command::Flush]);
        assert_eq!(m.phase(), Phase::Online);
    }

    #[test]
    fn pings_every_interval_and_measures_the_round_trip() {
        let mut m = online_machine();
        assert_eq!(m.handle(Event::Tick { jitter: 0.5 }, 20_000.0), []);
        assert_eq!(
            m.handle(Event::Tick { jitter: 0.5 }, 25_020.0),
            [Command::Ping { ts: 25_020.0 }]
        );
        assert_eq!(
            m.handle(Event::Tick { jitter: 0.5 }, 25_100.0),
            [],
            "one ping outstanding at a time"
        );
        m.handle(
            Event::Frame(ServerMessage::Pong {
                ts: serde_json::Number::from_f64(25_020.0).expect("n"),
            }),
            25_062.0,
        );
        assert_eq!(m.rtt_ms(), Some(42.0));
        assert_eq!(
            m.handle(Event::Tick { jitter: 0.5 }, 50_020.0),
            [Command::Ping { ts: 50_020.0 }]
        );
    }

    #[test]
    fn a_missing_pong_means_a_dead_link() {
        let mut m = online_machine();
        assert_eq!(
            m.handle(Event::Tick { jitter: 1.0 }, 25_020.0),
            [Command::Ping { ts: 25_020.0 }]
        );
        // Heartbeats keep arriving (frames), but no pong: still dead after 10 s.
        m.handle(Event::Frame(ServerMessage::Heartbeat { ts: 1 }), 30_000.0);
        assert_eq!(m.handle(Event::Tick { jitter: 1.0 }, 35_019.0), []);
        assert_eq!(
            m.handle(Event::Tick { jitter: 1.0 }, 35_020.0),
            [Command::Close]
        );
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 1,
                retry_at: Some(35_520.0)
            }
        );
    }

    #[test]
    fn silence_for_two_heartbeats_means_a_dead_link() {
        let mut m = Machine::new(Timing {
            ping_interval_ms: 1e12,
            ..timing()
        });
        m.handle(Event::Start, 0.0);
        m.handle(hello(1_000), 0.0);
        m.handle(Event::Frame(ServerMessage::Heartbeat { ts: 1 }), 1_000.0);
        assert_eq!(m.handle(Event::Tick { jitter: 0.0 }, 3_000.0), []);
        assert_eq!(
            m.handle(Event::Tick { jitter: 0.0 }, 3_001.0),
            [Command::Close]
        );
        assert!(matches!(m.phase(), Phase::Reconnecting { attempt: 1, .. }));
    }

    #[test]
    fn losing_the_link_backs_off_and_retries() {
        let mut m = online_machine();
        assert_eq!(m.handle(Event::Closed { jitter: 1.0 }, 1_000.0), []);
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 1,
                retry_at: Some(1_500.0)
            }
        );
        assert_eq!(m.handle(Event::Tick { jitter: 0.0 }, 1_499.0), []);
        assert_eq!(
            m.handle(Event::Tick { jitter: 0.0 }, 1_500.0),
            [Command::Open]
        );
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 1,
                retry_at: None
            }
        );
        // That attempt fails too: attempt 2, up to 1 s later.
        m.handle(Event::Closed { jitter: 1.0 }, 1_600.0);
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 2,
                retry_at: Some(2_600.0)
            }
        );
        m.handle(Event::Tick { jitter: 0.0 }, 2_600.0);
        assert_eq!(m.handle(hello(30_000), 2_620.0), [Command::Flush]);
        assert_eq!(m.phase(), Phase::Online);
        // Attempts reset after success.
        m.handle(Event::Closed { jitter: 1.0 }, 5_000.0);
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 1,
                retry_at: Some(5_500.0)
            }
        );
    }

    #[test]
    fn a_close_while_first_connecting_counts_as_a_failed_attempt() {
        let mut m = Machine::new(timing());
        m.handle(Event::Start, 0.0);
        m.handle(Event::Closed { jitter: 0.0 }, 5.0);
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 1,
                retry_at: Some(255.0)
            }
        );
    }

    #[test]
    fn the_tenth_failure_goes_offline_and_retry_starts_over() {
        let mut m = Machine::new(timing());
        let mut now = 0.0;
        m.handle(Event::Start, now);
        let mut delays = Vec::new();
        for attempt in 1..=10u32 {
            now += 1.0;
            m.handle(Event::Closed { jitter: 1.0 }, now);
            let Phase::Reconnecting {
                attempt: a,
                retry_at: Some(at),
            } = m.phase()
            else {
                panic!("attempt {attempt}: {:?}", m.phase());
            };
            assert_eq!(a, attempt);
            delays.push(at - now);
            now = at;
            assert_eq!(m.handle(Event::Tick { jitter: 1.0 }, now), [Command::Open]);
        }
        assert_eq!(
            delays,
            [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 30000.0, 30000.0, 30000.0, 30000.0]
        );
        m.handle(Event::Closed { jitter: 1.0 }, now + 1.0);
        assert_eq!(m.phase(), Phase::Offline);
        assert_eq!(
            m.handle(Event::Tick { jitter: 1.0 }, now + 1e9),
            [],
            "offline stays offline"
        );
        assert_eq!(m.handle(Event::RetryNow, now + 1e9), [Command::Open]);
        assert_eq!(m.phase(), Phase::Connecting);
        m.handle(Event::Closed { jitter: 1.0 }, now + 1e9);
        assert!(matches!(m.phase(), Phase::Reconnecting { attempt: 1, .. }));
    }

    #[test]
    fn browser_online_during_backoff_retries_at_once_with_attempts_reset() {
        let mut m = online_machine();
        m.handle(Event::Closed { jitter: 1.0 }, 100.0);
        m.handle(Event::Tick { jitter: 1.0 }, 600.0);
        m.handle(Event::Closed { jitter: 1.0 }, 700.0);
        assert!(matches!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 2,
                retry_at: Some(_)
            }
        ));
        assert_eq!(m.handle(Event::RetryNow, 800.0), [Command::Open]);
        assert_eq!(m.phase(), Phase::Connecting);
        m.handle(Event::Closed { jitter: 1.0 }, 900.0);
        assert!(matches!(m.phase(), Phase::Reconnecting { attempt: 1, .. }));
    }

    #[test]
    fn retry_now_is_ignored_while_online_or_mid_attempt() {
        let mut m = online_machine();
        assert_eq!(m.handle(Event::RetryNow, 100.0), []);
        let mut m = Machine::new(timing());
        m.handle(Event::Start, 0.0);
        assert_eq!(m.handle(Event::RetryNow, 1.0), [], "no duplicate socket");
    }

    #[test]
    fn an_attempt_that_hangs_is_given_up() {
        let mut m = Machine::new(timing());
        m.handle(Event::Start, 0.0);
        assert_eq!(m.handle(Event::Tick { jitter: 0.0 }, 9_999.0), []);
        assert_eq!(
            m.handle(Event::Tick { jitter: 0.0 }, 10_000.0),
            [Command::Close]
        );
        assert!(matches!(m.phase(), Phase::Reconnecting { attempt: 1, .. }));
    }

    #[test]
    fn a_late_close_after_giving_up_is_ignored() {
        let mut m = online_machine();
        m.handle(Event::Closed { jitter: 0.0 }, 100.0);
        let phase = m.phase();
        assert_eq!(m.handle(Event::Closed { jitter: 0.0 }, 101.0), []);
        assert_eq!(m.phase(), phase);
    }

    #[test]
    fn custom_backoff_settings_apply() {
        let backoff = Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(20),
            max_attempts: 2,
        };
        let mut m = Machine::new(Timing {
            backoff,
            ..timing()
        });
        m.handle(Event::Start, 0.0);
        m.handle(Event::Closed { jitter: 1.0 }, 0.0);
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 1,
                retry_at: Some(10.0)
            }
        );
        m.handle(Event::Tick { jitter: 1.0 }, 10.0);
        m.handle(Event::Closed { jitter: 1.0 }, 10.0);
        assert_eq!(
            m.phase(),
            Phase::Reconnecting {
                attempt: 2,
                retry_at: Some(30.0)
            }
        );
        m.handle(Event::Tick { jitter: 1.0 }, 30.0);
        m.handle(Event::Closed { jitter: 1.0 }, 30.0);
        assert_eq!(m.phase(), Phase::Offline);
    }

    #[test]
    fn the_next_deadline_is_what_is_due_next_in_each_phase() {
        let t = Timing::default();
        let mut m = Machine::new(t);
        assert_eq!(m.handle(Event::Start, 0.0), [Command::Open]);
        assert_eq!(
            m.next_deadline(),
            Some(t.connect_timeout_ms),
            "connect timeout"
        );
        m.handle(hello(30_000), 20.0);
        assert_eq!(
            m.next_deadline(),
            Some(20.0 + t.ping_interval_ms),
            "next ping"
        );
        m.handle(Event::Tick { jitter: 0.5 }, 20.0 + t.ping_interval_ms);
        assert_eq!(
            m.next_deadline(),
            Some(20.0 + t.ping_interval_ms + t.pong_timeout_ms),
            "pong timeout"
        );
        m.handle(Event::Closed { jitter: 1.0 }, 30_000.0);
        let Phase::Reconnecting {
            retry_at: Some(at), ..
        } = m.phase()
        else {
            panic!("{:?}", m.phase());
        };
        assert_eq!(m.next_deadline(), Some(at), "the next attempt");
        let mut off = Machine::new(Timing {
            backoff: shared::timing::Backoff {
                max_attempts: 1,
                ..Default::default()
            },
            ..t
        });
        off.handle(Event::Start, 0.0);
        off.handle(Event::Closed { jitter: 0.5 }, 1.0);
        off.handle(Event::Tick { jitter: 0.5 }, 1e9);
        off.handle(Event::Closed { jitter: 0.5 }, 1e9 + 1.0);
        assert_eq!(off.phase(), Phase::Offline);
        assert_eq!(off.next_deadline(), None, "offline: nothing is due");
    }

    /// Driven only at its own deadlines, the machine does the same as when
    /// it is ticked every 10 ms: a whole life — connect, pings, a dead
    /// link, backoff, reconnect — with the same commands at the same times
    /// (the deadline-driven one is never late by more than the tick).
    #[test]
    fn ticking_only_at_deadlines_matches_ticking_all_the_time() {
        let timing = Timing {
            ping_interval_ms: 1_000.0,
            pong_timeout_ms: 400.0,
            connect_timeout_ms: 400.0,
            ..Timing::default()
        };
        // Outside events: (time, event). The relay answers pings until
        // 5 s, then goes silent; the socket closes at 7 s; a hello at 9 s.
        let outside = |t: f64| -> Option<Event> {
            let ms = t as u64;
            match ms {
                20 => Some(hello(30_000)),
                9_000 => Some(hello(30_000)),
                7_000 => Some(Event::Closed { jitter: 0.5 }),
                _ => None,
            }
        };
        let run = |every_tick: bool| {
            let mut m = Machine::new(timing);
            let mut log = Vec::new();
            m.handle(Event::Start, 0.0);
            let mut pinged: Option<f64> = None;
            let mut t = 0.0;
            while t <= 12_000.0 {
                if let Some(e) = outside(t) {
                    for c in m.handle(e, t) {
                        log.push((t as u64, format!("{c:?}")));
                    }
                }
                if let Some(sent) = pinged.take() {
                    if t < 5_000.0 {
                        let pong = Event::Frame(ServerMessage::Pong {
                            ts: serde_json::Number::from_f64(sent).expect("n"),
                        });
                        m.handle(pong, t);
                    }
                }
                let due = m.next_deadline().is_some_and(|d| t >= d);
                if every_tick || due {
                    for c in m.handle(Event::Tick { jitter: 0.5 }, t) {
                        if let Command::Ping { ts } = c {
                            pinged = Some(ts);
                        }
                        log.push((
                            t as u64,
                            format!("{c:?}")
                                .split(" {")
                                .next()
                                .unwrap_or_default()
                                .to_owned(),
                        ));
                    }
                }
                t += 10.0;
            }
            log
        };
        let always = run(true);
        let at_deadlines = run(false);
        assert!(always.len() > 5, "the scenario does something: {always:?}");
        assert_eq!(
            at_deadlines.len(),
            always.len(),
            "{at_deadlines:?}\n{always:?}"
        );
        for ((ta, ca), (tb, cb)) in at_deadlines.iter().zip(&always) {
            assert_eq!(ca, cb);
            assert!(ta.abs_diff(*tb) <= 10, "{ca} at {ta} vs {tb}");
        }
    }
}
