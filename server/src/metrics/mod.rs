//! The relay's Prometheus metrics, served on the operator's listener
//! (`GET /metrics`, see `http::admin`).
//!
//! [`Metrics`] is a narrow handle (one `Arc`) that the chat core and the
//! upload route record into. What happens per message costs one or two
//! relaxed atomic additions: counters are resolved to their label set once,
//! at start, and the latency histograms are this crate's own lock-free
//! [`histogram::LatencyHistogram`]. No label carries a session, an address
//! or anything else unbounded.
//!
//! Levels that exist anyway (open connections, sessions, queue depths,
//! store health) are not counted along the way: the scrape reads them from
//! the relay and sets gauges ([`Metrics::set_levels`]), so they cost
//! nothing between scrapes.
//!
//! Adding a metric: a field in one of the parts below (or a new part like
//! [`quota::QuotaMetrics`], registered in [`Metrics::new`]); the names are
//! listed by [`Metrics::names`] for the dashboard test.

pub mod histogram;
pub mod quota;
pub mod usage;

use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use shared::ErrorCode;

use histogram::LatencyHistogram;

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How a chat message ended, as counted (label `outcome`, and `code` for
/// errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (a text, or a run that finished).
    Answered,
    /// Stopped by the user.
    Cancelled,
    /// A resend of an id already in flight or answered: not sent to n8n
    /// again.
    Deduplicated,
    /// Refused while the operator paused the chat (the page keeps it).
    Paused,
    /// Ended in an error frame with this code.
    Error(ErrorCode),
}

impl Outcome {
    /// The `outcome` label.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Cancelled => "cancelled",
            Outcome::Deduplicated => "deduplicated",
            Outcome::Paused => "paused",
            Outcome::Error(_) => "error",
        }
    }
}

/// The labels of `relay_messages_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    outcome: &'static str,
    /// The error code (empty unless `outcome` is `error`).
    code: &'static str,
}

/// The label of a gauge about one queue or bound.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
}

/// The label naming the session store.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    kind: &'static str,
}

/// The levels a scrape reads from the relay (see [`Metrics::set_levels`]).
#[derive(Debug, Clone, Default)]
pub struct Levels {
    /// Open WebSocket connections.
    pub connections: usize,
    /// Sessions remembered.
    pub sessions: usize,
    /// Messages being answered.
    pub in_flight: usize,
    /// Queues and bounds: `(name, depth, limit)`; a limit of 0 is none.
    pub queues: Vec<(&'static str, u64, u64)>,
    /// `"memory"` or `"redis"`.
    pub store_kind: &'static str,
    /// Whether the store works (false while Redis is unreachable).
    pub store_ok: bool,
    /// Whether the operator paused the chat.
    pub paused: bool,
}

/// The relay's metrics; cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    messages: Family<MessageLabels, Counter>,
    /// The outcomes without a code, resolved once: recording one is an
    /// atomic addition, no lookup.
    answered: Counter,
    cancelled: Counter,
    deduplicated: Counter,
    paused_refusals: Counter,
    /// Errors by code, resolved on first use (codes are few).
    errors: RwLock<HashMap<ErrorCode, Counter>>,
    first_text: LatencyHistogram,
    answer: LatencyHistogram,
    upload_files: Counter,
    upload_bytes: Counter,
    connections: Gauge,
    sessions: Gauge,
    in_flight: Gauge,
    queue_depth: Family<QueueLabels, Gauge>,
    queue_limit: Family<QueueLabels, Gauge>,
    store_up: Family<StoreLabels, Gauge>,
    redis_link_up: Gauge,
    paused: Gauge,
    quota: quota::QuotaMetrics,
    usage: Mutex<usage::Baseline>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric, at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        registry.register(
            "relay_build",
            "The relay's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        let messages = Family::<MessageLabels, Counter>::default();
        registry.register(
            "relay_messages",
            "Chat messages by outcome (answered, error with its code, cancelled, deduplicated, paused)",
            messages.clone(),
        );
        let resolve = |outcome: Outcome| {
            messages.get_or_create_owned(&MessageLabels {
                outcome: outcome.name(),
                code: "",
            })
        };
        let (answered, cancelled, deduplicated, paused_refusals) = (
            resolve(Outcome::Answered),
            resolve(Outcome::Cancelled),
            resolve(Outcome::Deduplicated),
            resolve(Outcome::Paused),
        );
        let first_text = LatencyHistogram::default();
        registry.register(
            "relay_n8n_first_text_seconds",
            "From a message's start to the first text of its answer (the first streamed piece, or the whole answer)",
            first_text.clone(),
        );
        let answer = LatencyHistogram::default();
        registry.register(
            "relay_n8n_answer_seconds",
            "From a message's start to its whole answer or error from n8n",
            answer.clone(),
        );
        let upload_files = Counter::default();
        registry.register("relay_uploads", "Files uploaded", upload_files.clone());
        let upload_bytes = Counter::default();
        registry.register(
            "relay_upload_bytes",
            "Bytes of files uploaded",
            upload_bytes.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let connections = gauge(
            &mut registry,
            "relay_connections",
            "Open WebSocket connections",
        );
        let sessions = gauge(&mut registry, "relay_sessions", "Sessions remembered");
        let in_flight = gauge(
            &mut registry,
            "relay_messages_in_flight",
            "Messages being answered",
        );
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "relay_queue_depth",
            "How full each bounded queue or store is",
            queue_depth.clone(),
        );
        let queue_limit = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "relay_queue_limit",
            "The bound of each queue or store (its flag)",
            queue_limit.clone(),
        );
        let store_up = Family::<StoreLabels, Gauge>::default();
        registry.register(
            "relay_store_up",
            "1 while the session store works, 0 while it is unreachable",
            store_up.clone(),
        );
        let redis_link_up = gauge(
            &mut registry,
            "relay_redis_link_up",
            "1 while Redis is reachable; 0 while it is not, or without --redis-url",
        );
        let paused = gauge(
            &mut registry,
            "relay_paused",
            "1 while the operator has paused the chat",
        );
        let quota = quota::QuotaMetrics::register(&mut registry);
        Metrics(Arc::new(Inner {
            registry,
            messages,
            answered,
            cancelled,
            deduplicated,
            paused_refusals,
            errors: RwLock::default(),
            first_text,
            answer,
            upload_files,
            upload_bytes,
            connections,
            sessions,
            in_flight,
            queue_depth,
            queue_limit,
            store_up,
            redis_link_up,
            paused,
            quota,
            usage: Mutex::new(usage::Baseline::default()),
        }))
    }

    /// Counts one message's outcome.
    pub fn message(&self, outcome: Outcome) {
        let inner = &self.0;
        match outcome {
            Outcome::Answered => inner.answered.inc(),
            Outcome::Cancelled => inner.cancelled.inc(),
            Outcome::Deduplicated => inner.deduplicated.inc(),
            Outcome::Paused => inner.paused_refusals.inc(),
            // Counted as its own outcome whatever path it took.
            Outcome::Error(ErrorCode::Cancelled) => inner.cancelled.inc(),
            Outcome::Error(code) => self.error_counter(code).inc(),
        };
    }

    fn error_counter(&self, code: ErrorCode) -> Counter {
        if let Some(counter) = self.0.errors.read().get(&code) {
            return counter.clone();
        }
        let counter = self.0.messages.get_or_create_owned(&MessageLabels {
            outcome: "error",
            code: code.as_str(),
        });
        self.0.errors.write().insert(code, counter.clone());
        counter
    }

    /// Records how long n8n took to the first text and to the whole answer.
    pub fn answer_latency(&self, first_text: Duration, whole: Duration) {
        self.0.first_text.observe(first_text);
        self.0.answer.observe(whole);
    }

    /// Counts one stored upload.
    pub fn upload(&self, bytes: u64) {
        self.0.upload_files.inc();
        self.0.upload_bytes.inc_by(bytes);
    }

    /// The quota part (refusals by limit).
    pub fn quota(&self) -> &quota::QuotaMetrics {
        &self.0.quota
    }

    /// Sets the gauges from the relay's levels (at each scrape).
    pub fn set_levels(&self, levels: &Levels) {
        let inner = &self.0;
        inner.connections.set(to_i64(levels.connections as u64));
        inner.sessions.set(to_i64(levels.sessions as u64));
        inner.in_flight.set(to_i64(levels.in_flight as u64));
        for &(queue, depth, limit) in &levels.queues {
            let labels = QueueLabels { queue };
            inner.queue_depth.get_or_create(&labels).set(to_i64(depth));
            inner.queue_limit.get_or_create(&labels).set(to_i64(limit));
        }
        inner
            .store_up
            .get_or_create(&StoreLabels {
                kind: levels.store_kind,
            })
            .set(i64::from(levels.store_ok));
        inner
            .redis_link_up
            .set(i64::from(levels.store_kind == "redis" && levels.store_ok));
        inner.paused.set(i64::from(levels.paused));
    }

    /// The metrics in the OpenMetrics text format (what Prometheus scrapes).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.0.registry);
        text
    }

    /// Every sample name this relay can export (counters with `_total`,
    /// histograms with `_bucket`, `_sum`, `_count`), for the dashboard test.
    pub fn names() -> Vec<String> {
        let metrics = Metrics::new();
        // Every labelled family gets a member, so each name appears.
        metrics.message(Outcome::Error(ErrorCode::WebhookError));
        metrics.quota().refused(quota::Limit::Visitor);
        metrics.set_levels(&Levels {
            queues: vec![("connections", 0, 0)],
            store_kind: "memory",
            ..Levels::default()
        });
        let mut names: Vec<String> = metrics
            .encode()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(['{', ' ']).next())
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Today's counts (UTC), for `GET /usage`: the totals since the day's
    /// start (see [`usage`]).
    pub fn today(&self, day: u64) -> usage::Counts {
        let now = self.totals();
        let mut baseline = self.0.usage.lock();
        baseline.roll(day, &now);
        now.minus(&baseline.at_start)
    }

    /// Starts a new day's counts from now, if `day` is a new day.
    pub fn roll_day(&self, day: u64) {
        let now = self.totals();
        self.0.usage.lock().roll(day, &now);
    }

    fn totals(&self) -> usage::Counts {
        let inner = &self.0;
        usage::Counts {
            answered: inner.answered.get(),
            cancelled: inner.cancelled.get(),
            deduplicated: inner.deduplicated.get(),
            paused: inner.paused_refusals.get(),
            errors: inner
                .errors
                .read()
                .iter()
                .map(|(code, counter)| (code.as_str(), counter.get()))
                .collect(),
        }
    }
}

/// Starts each new day's counts at midnight UTC, until aborted.
pub async fn roll_daily(metrics: Metrics) {
    metrics.roll_day(usage::utc_day());
    loop {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let into_day = Duration::from_secs(since_epoch.as_secs() % usage::DAY.as_secs());
        // A second past midnight: the wall clock and tokio's may differ a little.
        tokio::time::sleep(usage::DAY - into_day + Duration::from_secs(1)).await;
        metrics.roll_day(usage::utc_day());
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_under_their_labels() {
        let m = Metrics::new();
        m.message(Outcome::Answered);
        m.message(Outcome::Answered);
        m.message(Outcome::Error(ErrorCode::WebhookTimeout));
        m.message(Outcome::Error(ErrorCode::Cancelled));
        let text = m.encode();
        assert!(
            text.contains(r#"relay_messages_total{outcome="answered",code=""} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"relay_messages_total{outcome="error",code="webhook_timeout"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"relay_messages_total{outcome="cancelled",code=""} 1"#),
            "{text}"
        );
    }

    #[test]
    fn the_names_cover_every_part() {
        let names = Metrics::names();
        for name in [
            "relay_messages_total",
            "relay_n8n_answer_seconds_bucket",
            "relay_n8n_first_text_seconds_count",
            "relay_connections",
            "relay_queue_limit",
            "relay_quota_refusals_total",
            "relay_redis_link_up",
            "relay_uploads_total",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
    }

    #[test]
    fn today_counts_from_the_days_start() {
        let m = Metrics::new();
        m.message(Outcome::Answered);
        assert_eq!(m.today(100).answered, 1, "the first day counts from start");
        m.roll_day(101);
        m.message(Outcome::Answered);
        m.message(Outcome::Error(ErrorCode::WebhookError));
        let today = m.today(101);
        assert_eq!(today.answered, 1);
        assert_eq!(today.errors.get("webhook_error"), Some(&1));
    }
}
