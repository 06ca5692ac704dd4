//! Section 3c: what highlighting code on the relay costs — the relay
//! against the minimal webhook at 100 clients, each answer holding a
//! fenced code block of about 1 KiB, once with a language (`rust`:
//! highlighted, spans sent) and once without (the same markdown, no
//! highlighting), in interleaved rounds on one relay; the difference of
//! the medians of relay CPU per message, per KiB of code, is the cost.

use std::fmt::Write as _;

use super::quotas::{cpu_per_message, ways_table};
use crate::minimal_webhook::MinimalWebhook;
use crate::relay::Relay;
use crate::stats::median;

/// What section 3c measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct HighlightCost {
    /// Bytes of code in each answer.
    pub code_bytes: usize,
    /// Median relay CPU per message with an unhighlighted block, µs.
    pub plain_us: f64,
    /// The same with the block highlighted, µs.
    pub highlighted_us: f64,
}

impl HighlightCost {
    /// Relay CPU that highlighting adds per KiB of code, µs.
    pub fn per_kib_us(&self) -> f64 {
        (self.highlighted_us - self.plain_us) / (self.code_bytes as f64 / 1024.0)
    }
}

/// About 1 KiB of ordinary Rust: keywords, strings, numbers, comments,
/// functions and types, as an answer from a coding assistant has.
fn sample_code() -> String {
    let unit = "/// Adds the tax to a price in cents.\nfn with_tax(cents: u64, rate: f64) -> u64 {\n    let tax = (cents as f64 * rate).round() as u64; // never negative\n    cents + tax\n}\n";
    let mut code = String::new();
    while code.len() < 1024 {
        code.push_str(unit);
    }
    code
}

/// Section 3c.
pub async fn section(md: &mut String, relay_path: &str, quick: bool) -> Option<HighlightCost> {
    let webhook = MinimalWebhook::start().await.ok()?;
    let relay = Relay::start(relay_path, &webhook.url(), &[]).await;
    let code = sample_code();
    let highlighted = format!("\n```rust\n{code}```\n");
    let plain = format!("\n```\n{code}```\n");
    let rounds = if quick { 3 } else { 5 };
    let messages = if quick { 50 } else { 150 };
    let (mut plain_us, mut lit_us) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        eprintln!("highlighting: round {} of {rounds}", round + 1);
        plain_us.push(cpu_per_message(&relay, messages, Some(&plain)).await);
        lit_us.push(cpu_per_message(&relay, messages, Some(&highlighted)).await);
    }
    // Listed smallest first in the table below, as this section always has.
    plain_us.sort_by(f64::total_cmp);
    lit_us.sort_by(f64::total_cmp);
    let cost = HighlightCost {
        code_bytes: code.len(),
        plain_us: median(&plain_us),
        highlighted_us: median(&lit_us),
    };
    let _ = writeln!(md, "\n### 3c. What highlighting code costs\n");
    let _ = writeln!(md, "The relay against the minimal webhook, 100 clients × {messages} messages (8 in flight each), each answer holding one fenced code block of {} bytes of Rust, {rounds} interleaved rounds per way on one relay: once without a language (markdown parsed, no highlighting) and once as `rust` (highlighted by syntect with fancy-regex, spans sent). Relay CPU per message, µs:\n", cost.code_bytes);
    ways_table(
        md,
        &[
            ("code block, no language", &plain_us, cost.plain_us),
            ("code block, `rust`", &lit_us, cost.highlighted_us),
        ],
    );
    let _ = writeln!(
        md,
        "\nHighlighting costs about **{:.0} µs of relay CPU per KiB of code** (blocks over 16 KiB, or over 250 ms, are sent plain).\n",
        cost.per_kib_us()
    );
    Some(cost)
}
