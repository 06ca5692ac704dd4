//! The quota part of the metrics: refusals by the limit that refused.
//!
//! The quotas themselves are enforced elsewhere (`--quota-visitor`,
//! `--quota-address`, `--daily-budget`, `--proof-of-work`); they call
//! [`QuotaMetrics::refused`]. A new quota number is a field here,
//! registered in [`QuotaMetrics::register`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Which limit refused a message or a session (label `limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Limit {
    /// Messages per visitor per day.
    Visitor,
    /// Messages per client address per day.
    Address,
    /// The whole chat's daily budget.
    Budget,
    /// A session without a valid proof-of-work solution.
    ProofOfWork,
}

impl Limit {
    /// The label value.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

/// Quota refusals.
#[derive(Debug)]
pub struct QuotaMetrics {
    /// One counter per limit, resolved at start.
    refusals: [Counter; 4],
}

impl QuotaMetrics {
    /// Registers the quota metrics in `registry`.
    pub fn register(registry: &mut Registry) -> QuotaMetrics {
        let family = Family::<LimitLabels, Counter>::default();
        registry.register(
            "relay_quota_refusals",
            "Messages or sessions refused by a quota, by the limit that refused",
            family.clone(),
        );
        let resolve = |limit: Limit| {
            family.get_or_create_owned(&LimitLabels {
                limit: limit.name(),
            })
        };
        QuotaMetrics {
            refusals: [
                resolve(Limit::Visitor),
                resolve(Limit::Address),
                resolve(Limit::Budget),
                resolve(Limit::ProofOfWork),
            ],
        }
    }

    /// Counts one refusal by `limit`.
    pub fn refused(&self, limit: Limit) {
        self.refusals[limit as usize].inc();
    }

    /// Refusals so far by `limit`.
    pub fn refusals(&self, limit: Limit) -> u64 {
        self.refusals[limit as usize].get()
    }
}
