//! Benchmarks for the relay, run by `cargo xtask bench`.
//!
//! - [`loadgen`]: the load generator — many WebSocket clients, each with a
//!   window of messages in flight, every answer checked (id and text).
//! - [`round_trip`]: one message at a time through the relay vs. a fresh
//!   HTTP POST per message (the old design) vs. a keep-alive POST straight
//!   to the webhook (the floor), interleaved round by round.
//! - [`minimal_webhook`]: the fastest webhook we can write (hyper, the echo
//!   found by a scan), so the relay's ceiling shows, not the stand-in's.
//! - [`http_load`]: a webhook measured alone, over raw keep-alive TCP.
//! - [`streaming_webhook`], [`streaming`]: many conversations streaming at
//!   once from a slow webhook, each piece's delivery latency.
//! - [`delay_proxy`]: a TCP proxy that adds a fixed latency each way, to
//!   show what connection set-up costs across a wide-area link.
//! - [`soak`]: many clients with random disconnects; every message must end
//!   in exactly one outcome and reach the webhook at most once.
//! - [`idle`]: many idle clients, for the connection-density measurement.
//! - [`stats`]: percentiles and the relay process's CPU and memory.
//! - [`relay`]: the relay binary as a child process, limits lifted.
//! - [`cluster`]: two relays sharing Redis behind nginx, for the cluster soak.
//! - [`page`]: the page in headless Chromium (size, load → online, reconnect).
//! - [`report`]: `bench report`, one file per section of BENCHMARKS.md.
//! - [`long_soak`]: `bench soak`, rounds of [`soak`] with verdicts.

pub mod cluster;
pub mod delay_proxy;
pub mod http_load;
pub mod idle;
pub mod loadgen;
pub mod long_soak;
pub mod minimal_webhook;
pub mod page;
pub mod relay;
pub mod report;
pub mod round_trip;
pub mod soak;
pub mod stats;
pub mod streaming;
pub mod streaming_webhook;
