//! What a public chat may cost: messages per visitor, per client address
//! and for the whole chat per UTC day (or hour), checked when a message
//! would be sent to n8n — after the dedup decision, so a resend the relay
//! answers from what it keeps, or one already in flight, costs nothing.
//!
//! A refused message gets `quota_exceeded` with the quota and when it
//! resets; the store releases it (see [`crate::store::SessionStore::release`]),
//! so the page keeps it and a later resend runs it. The three counters are
//! taken together or not at all ([`crate::store::counters`]): a message the
//! budget refuses does not use up its visitor's count.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use shared::{QuotaKind, ServerMessage};

use crate::admission::client::client_key;
use crate::store::counters::{SharedCounters, Take, Taken, Window};

/// The key of the one budget counter.
const BUDGET_KEY: &str = "budget";

/// A quota: `limit` messages per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Messages allowed per window (at least 1).
    pub limit: u64,
    /// The window (a UTC day or hour).
    pub window: Window,
}

impl std::fmt::Display for Quota {
    /// As the flags write it (`50/day`), for the refusal's message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.limit, self.window.name())
    }
}

/// The quotas set, converted once from the flags (`--quota-visitor`,
/// `--quota-address`, `--daily-budget`) by `config`; each off when `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// Messages per visitor.
    pub visitor: Option<Quota>,
    /// Messages per client address.
    pub address: Option<Quota>,
    /// Messages of the whole chat.
    pub budget: Option<Quota>,
}

impl Settings {
    /// Whether any quota is set.
    pub fn any(&self) -> bool {
        self.visitor.is_some() || self.address.is_some() || self.budget.is_some()
    }
}

/// Who a visitor is for `--quota-visitor`: the verified user when there is
/// one (the same person on several devices and sessions counts once), the
/// session otherwise.
pub fn visitor_key(session: &str, verified_user: Option<&str>) -> String {
    match verified_user {
        Some(user) => format!("u:{user}"),
        None => format!("v:{session}"),
    }
}

/// The key of a client address for `--quota-address`: IPv4 by address,
/// IPv6 by /64 (one customer's network), as the connection limits count.
pub fn address_key(ip: IpAddr) -> String {
    format!("a:{}", client_key(ip))
}

/// Where the quotas read the time: the system's clock, or — in tests — one
/// that starts at a chosen wall time and follows tokio's (pausable) clock,
/// so a test can cross midnight with `tokio::time::advance`.
#[derive(Debug, Clone, Copy)]
pub enum QuotaClock {
    /// The system's wall clock.
    System,
    /// `wall_ms` at `at`, moving with tokio's clock.
    Follows {
        /// The wall time (unix ms) at `at`.
        wall_ms: u64,
        /// The tokio instant it belongs to.
        at: tokio::time::Instant,
    },
}

impl QuotaClock {
    /// A clock at `wall_ms` now, moving with tokio's clock (tests).
    pub fn starting_at(wall_ms: u64) -> Self {
        QuotaClock::Follows {
            wall_ms,
            at: tokio::time::Instant::now(),
        }
    }

    /// Now, in unix ms.
    pub fn now_ms(self) -> u64 {
        match self {
            QuotaClock::System => crate::clock::now_ms(),
            QuotaClock::Follows { wall_ms, at } => wall_ms + at.elapsed().as_millis() as u64,
        }
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Which quota.
    pub kind: QuotaKind,
    /// Its setting.
    pub quota: Quota,
    /// When it resets (unix ms).
    pub resets_at: u64,
}

impl Refused {
    /// The `quota_exceeded` error for message `id`.
    pub fn frame(&self, id: String) -> ServerMessage {
        let (who, flag) = match self.kind {
            QuotaKind::Visitor => ("this visitor has", "--quota-visitor"),
            QuotaKind::Address => ("this address has", "--quota-address"),
            _ => ("this chat has", "--daily-budget"),
        };
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.resets_at);
        let message = format!(
            "{who} sent its {} messages per {} ({flag} {}); send again after {} (UTC)",
            self.quota.limit,
            self.quota.window.name(),
            self.quota,
            humantime::format_rfc3339_seconds(when),
        );
        ServerMessage::quota_exceeded(id, self.kind, self.resets_at, message)
    }
}

/// Counts since the start, for metrics (see [`Quotas::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaStats {
    /// Messages the quotas let through to n8n.
    pub allowed: u64,
    /// Refused by `--quota-visitor`.
    pub refused_visitor: u64,
    /// Refused by `--quota-address`.
    pub refused_address: u64,
    /// Refused by `--daily-budget`.
    pub refused_budget: u64,
    /// Counters this relay keeps in memory now (bounded by
    /// `--quota-max-tracked`).
    pub tracked: usize,
}

/// Today's use of the budget, for `GET /usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetUsage {
    /// Messages sent to n8n in the current window.
    pub used: u64,
    /// `--daily-budget`'s limit.
    pub limit: u64,
    /// `day` or `hour`.
    pub per: &'static str,
    /// When the window ends (unix ms).
    pub resets_at: u64,
}

#[derive(Debug, Default)]
struct Counts {
    allowed: AtomicU64,
    visitor: AtomicU64,
    address: AtomicU64,
    budget: AtomicU64,
}

/// The quotas of this relay, over counters in the store.
#[derive(Debug)]
pub struct Quotas {
    settings: Settings,
    counters: SharedCounters,
    clock: QuotaClock,
    counts: Counts,
}

impl Quotas {
    /// The quotas `settings` set, counted in `counters`.
    pub fn new(settings: Settings, counters: SharedCounters, clock: QuotaClock) -> Self {
        Quotas {
            settings,
            counters,
            clock,
            counts: Counts::default(),
        }
    }

    /// Whether any quota is set (otherwise [`Quotas::take`] costs nothing).
    pub fn is_on(&self) -> bool {
        self.settings.any()
    }

    /// Counts one message of `visitor` (see [`visitor_key`]) from `ip`
    /// against every quota set, or refuses it (then nothing is counted).
    /// A client without a known address (a Unix socket, tests) is not
    /// held to `--quota-address`.
    pub async fn take(&self, visitor: &str, ip: Option<IpAddr>) -> Result<(), Refused> {
        if !self.is_on() {
            return Ok(());
        }
        let address = ip.map(address_key);
        let settings = &self.settings;
        // At most three takes: arrays, not vectors — this runs for every
        // message sent to n8n.
        let mut takes = [Take {
            key: BUDGET_KEY,
            window: Window::Day,
            limit: 1,
        }; 3];
        let mut quotas: [Option<(QuotaKind, Quota)>; 3] = [None; 3];
        let mut n = 0;
        for (kind, quota, key) in [
            (QuotaKind::Visitor, settings.visitor, Some(visitor)),
            (QuotaKind::Address, settings.address, address.as_deref()),
            (QuotaKind::Budget, settings.budget, Some(BUDGET_KEY)),
        ] {
            if let (Some(quota), Some(key)) = (quota, key) {
                takes[n] = Take {
                    key,
                    window: quota.window,
                    limit: quota.limit,
                };
                quotas[n] = Some((kind, quota));
                n += 1;
            }
        }
        match self.counters.take(&takes[..n], self.clock.now_ms()).await {
            Taken::Allowed { .. } => {
                self.counts.allowed.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Taken::Refused { index, resets_at } => {
                // The index is one of the takes passed in.
                let Some((kind, quota)) = quotas[..n].get(index).copied().flatten() else {
                    return Ok(());
                };
                let count = match kind {
                    QuotaKind::Visitor => &self.counts.visitor,
                    QuotaKind::Address => &self.counts.address,
                    _ => &self.counts.budget,
                };
                count.fetch_add(1, Ordering::Relaxed);
                Err(Refused {
                    kind,
                    quota,
                    resets_at,
                })
            }
        }
    }

    /// Counts since the start, for metrics.
    pub fn stats(&self) -> QuotaStats {
        QuotaStats {
            allowed: self.counts.allowed.load(Ordering::Relaxed),
            refused_visitor: self.counts.visitor.load(Ordering::Relaxed),
            refused_address: self.counts.address.load(Ordering::Relaxed),
            refused_budget: self.counts.budget.load(Ordering::Relaxed),
            tracked: self.counters.tracked(),
        }
    }

    /// The budget's use in its current window (shared by every relay with
    /// Redis), if `--daily-budget` is set — for `GET /usage`.
    pub async fn budget_usage(&self) -> Option<BudgetUsage> {
        let quota = self.settings.budget?;
        let now = self.clock.now_ms();
        Some(BudgetUsage {
            used: self.counters.count(BUDGET_KEY, quota.window, now).await,
            limit: quota.limit,
            per: quota.window.name(),
            resets_at: quota.window.bounds(now).1,
        })
    }

    /// Forgets counters whose window has ended (called regularly).
    pub async fn sweep(&self) -> usize {
        self.counters.sweep(self.clock.now_ms()).await
    }
}

/// Sweeps the counters every minute until the task is aborted.
pub async fn sweep_periodically(quotas: std::sync::Arc<Quotas>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        quotas.sweep().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::counters::memory::MemoryCounters;
    use std::sync::Arc;
    use std::time::Duration;

    /// 2026-12-04T23:59:00Z
    const BEFORE_MIDNIGHT: u64 = 1_796_428_740_000;
    const MIDNIGHT: u64 = 1_796_428_800_000;

    fn per_day(limit: u64) -> Option<Quota> {
        Some(Quota {
            limit,
            window: Window::Day,
        })
    }

    fn per_hour(limit: u64) -> Option<Quota> {
        Some(Quota {
            limit,
            window: Window::Hour,
        })
    }

    fn quotas(visitor: Option<Quota>, address: Option<Quota>, budget: Option<Quota>) -> Quotas {
        let settings = Settings {
            visitor,
            address,
            budget,
        };
        Quotas::new(
            settings,
            Arc::new(MemoryCounters::new(100)),
            QuotaClock::starting_at(BEFORE_MIDNIGHT),
        )
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_visitor_is_refused_until_midnight_utc_then_counts_again() {
        let q = quotas(per_day(2), None, None);
        let v = visitor_key("s1", None);
        assert_eq!(q.take(&v, None).await, Ok(()));
        assert_eq!(q.take(&v, None).await, Ok(()));
        let refused = q.take(&v, None).await.expect_err("the third today");
        assert_eq!(refused.kind, QuotaKind::Visitor);
        assert_eq!(refused.resets_at, MIDNIGHT);
        assert_eq!(
            q.take(&visitor_key("s2", None), None).await,
            Ok(()),
            "another visitor"
        );
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(q.take(&v, None).await.is_err(), "still 23:59:59");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(q.take(&v, None).await, Ok(()), "a new day");
        let stats = q.stats();
        assert_eq!((stats.allowed, stats.refused_visitor), (4, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_refuses_everyone_with_its_flag_and_reset_time() {
        let q = quotas(per_hour(1), None, per_day(3));
        for s in ["a", "b", "c"] {
            assert_eq!(q.take(&visitor_key(s, None), None).await, Ok(()));
        }
        let refused = q
            .take(&visitor_key("d", None), None)
            .await
            .expect_err("budget");
        assert_eq!(
            (refused.kind, refused.resets_at),
            (QuotaKind::Budget, MIDNIGHT)
        );
        let frame = refused.frame("m1".into());
        let ServerMessage::Error {
            code,
            resets_at,
            quota,
            message,
            ..
        } = &frame
        else {
            panic!("{frame:?}")
        };
        assert_eq!(*code, shared::ErrorCode::QuotaExceeded);
        assert_eq!(
            (*resets_at, *quota),
            (Some(MIDNIGHT), Some(QuotaKind::Budget))
        );
        assert!(message.contains("2026-12-05T00:00:00Z"), "{message}");
        assert!(message.contains("--daily-budget 3/day"), "{message}");
        // The visitor's own hourly quota refuses first: it is listed first.
        let refused = q
            .take(&visitor_key("a", None), None)
            .await
            .expect_err("hour");
        assert_eq!(refused.kind, QuotaKind::Visitor);
        assert_eq!(
            q.budget_usage().await,
            Some(BudgetUsage {
                used: 3,
                limit: 3,
                per: "day",
                resets_at: MIDNIGHT
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_counts_ipv6_by_64_and_unknown_addresses_are_not_held() {
        let q = quotas(None, per_day(2), None);
        assert_eq!(q.take("v:a", ip("2001:db8::1")).await, Ok(()));
        assert_eq!(q.take("v:b", ip("2001:db8::2")).await, Ok(()));
        let refused = q
            .take("v:c", ip("2001:db8::ffff"))
            .await
            .expect_err("same /64");
        assert_eq!(refused.kind, QuotaKind::Address);
        assert_eq!(
            q.take("v:c", ip("2001:db8:0:1::1")).await,
            Ok(()),
            "another /64"
        );
        assert_eq!(q.take("v:c", None).await, Ok(()));
        assert_eq!(
            visitor_key("s", Some("u1")),
            "u:u1",
            "a verified user counts as one"
        );
    }
}
