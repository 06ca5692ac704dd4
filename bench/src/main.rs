//! `bench`: the relay's benchmarks, soak and profiling helpers. Usually
//! started by `cargo xtask bench [--quick]` or `cargo xtask soak`.
//!
//! - `bench report [--quick]`: every benchmark → BENCHMARKS.md ([`bench::report`]).
//! - `bench soak [--quick] [--rounds N] [--cluster]`: the long soak.
//! - `bench standin [--port P]`: the stand-in webhook alone (for profiling).
//! - `bench streaming [--conversations N]`: section 4b alone.
//! - `bench idle [--url …] [--clients N] [--seconds S]`: idle clients alone.
//! - `bench load [--url …] [--clients N] [--messages N] [--window N]`: the
//!   load generator alone, against any relay.

use std::time::Duration;

use bench::loadgen::{self, Load};
use bench::stats::summary;
use clap::{Parser, Subcommand};
use testkit::n8n::StandIn;

#[derive(Debug, Parser)]
#[command(name = "bench", about = "The relay's benchmarks and soak")]
struct Cli {
    /// The relay binary to measure.
    #[arg(long, global = true, default_value = "target/release/relay")]
    relay: String,
    /// Where the report goes.
    #[arg(long, global = true, default_value = "BENCHMARKS.md")]
    out: String,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Every benchmark, written to BENCHMARKS.md.
    Report {
        /// A shorter run (well under a minute).
        #[arg(long)]
        quick: bool,
    },
    /// Many clients with random cuts against a flaky webhook; fails on any
    /// lost or doubled message, or growing memory.
    Soak {
        /// 100 clients × 20 messages instead of 1 000 × 100.
        #[arg(long)]
        quick: bool,
        /// Rounds (default 5, quick 3).
        #[arg(long)]
        rounds: Option<usize>,
        /// Two relays sharing Redis behind nginx.
        #[arg(long)]
        cluster: bool,
    },
    /// The stand-in webhook alone; prints its URL.
    Standin {
        /// Port (0: any free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Idle clients alone, listening for heartbeats (for profiling the
    /// relay's heartbeat round).
    Idle {
        /// The relay's WebSocket URL.
        #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
        url: String,
        /// Clients.
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        /// How long they listen.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Section 4b alone: conversations streaming at once (prints the table).
    Streaming {
        /// Conversations.
        #[arg(long, default_value_t = 5_000)]
        conversations: usize,
    },
    /// Section 3b alone: what quotas and metrics cost (prints the table).
    Quotas {
        /// Fewer, shorter rounds.
        #[arg(long)]
        quick: bool,
    },
    /// Section 3c alone: what highlighting code costs (prints the table).
    Highlight {
        /// Fewer, shorter rounds.
        #[arg(long)]
        quick: bool,
    },
    /// Section 3d alone: what the durable (SQLite) store costs.
    Durable {
        /// Fewer, shorter rounds.
        #[arg(long)]
        quick: bool,
    },
    /// Sections 5 and 6 alone: the page in headless Chromium (size, load →
    /// online, first message → first chunk, reconnect). Needs `DIST_DIR`,
    /// `RELAY_BIN`, `CHROMEDRIVER` and `CHROME_BIN`, as `cargo xtask bench`
    /// sets them.
    Page {
        /// Fewer loads, restarts and messages.
        #[arg(long)]
        quick: bool,
    },
    /// The load generator alone.
    Load {
        /// The relay's WebSocket URL.
        #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
        url: String,
        /// Clients.
        #[arg(long, default_value_t = 10)]
        clients: usize,
        /// Messages per client.
        #[arg(long, default_value_t = 1000)]
        messages: usize,
        /// Messages in flight per client.
        #[arg(long, default_value_t = 8)]
        window: usize,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Commands::Report { quick } => match bench::report::run(&cli.relay, &cli.out, quick).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{e}");
                1
            }
        },
        Commands::Soak {
            quick,
            rounds,
            cluster,
        } => {
            let rounds = rounds.unwrap_or(if quick { 3 } else { 5 });
            bench::long_soak::run(&cli.relay, quick, rounds, cluster).await
        }
        Commands::Standin { port } => standin(port).await,
        Commands::Streaming { conversations } => {
            let mut md = String::new();
            match bench::report::streaming::conversations(&mut md, &cli.relay, conversations).await
            {
                Some(_) => {
                    println!("{md}");
                    0
                }
                None => 1,
            }
        }
        Commands::Quotas { quick } => {
            let mut md = String::new();
            match bench::report::quotas::section(&mut md, &cli.relay, quick).await {
                Some(_) => {
                    println!("{md}");
                    0
                }
                None => 1,
            }
        }
        Commands::Highlight { quick } => {
            let mut md = String::new();
            match bench::report::highlight::section(&mut md, &cli.relay, quick).await {
                Some(_) => {
                    println!("{md}");
                    0
                }
                None => 1,
            }
        }
        Commands::Durable { quick } => {
            let mut md = String::new();
            match bench::report::durable::section(&mut md, &cli.relay, quick).await {
                Some(_) => {
                    println!("{md}");
                    0
                }
                None => 1,
            }
        }
        Commands::Page { quick } => page(quick).await,
        Commands::Idle {
            url,
            clients,
            seconds,
        } => idle(url, clients, seconds).await,
        Commands::Load {
            url,
            clients,
            messages,
            window,
        } => load(url, clients, messages, window).await,
    };
    std::process::exit(code);
}

async fn page(quick: bool) -> i32 {
    let n8n = match StandIn::start().await {
        Ok(n8n) => n8n,
        Err(e) => {
            eprintln!("stand-in webhook: {e}");
            return 1;
        }
    };
    let mut md = String::new();
    let measured = bench::report::page::sections(&mut md, &n8n.url("/webhook/chat"), quick).await;
    println!("{md}");
    i32::from(measured.is_none())
}

async fn standin(port: u16) -> i32 {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    match StandIn::start_at(addr).await {
        Ok(n8n) => {
            println!("{}", n8n.url("/webhook/chat"));
            std::future::pending::<()>().await;
            0
        }
        Err(e) => {
            eprintln!("stand-in webhook: {e}");
            1
        }
    }
}

async fn idle(url: String, clients: usize, seconds: u64) -> i32 {
    let connected = bench::idle::connect(&url, clients).await;
    eprintln!("{} of {clients} connected", connected.len());
    let heard = bench::idle::count_heartbeats(connected, Duration::from_secs(seconds)).await;
    println!(
        "{} heartbeats heard by {} clients; fan-out per complete round (ms): {:?}",
        heard.received, heard.connected, heard.fan_out_ms
    );
    0
}

async fn load(url: String, clients: usize, messages: usize, window: usize) -> i32 {
    let report = loadgen::run(Load {
        url,
        clients,
        messages,
        window,
        payload: 64,
        text: None,
        deadline: Duration::from_secs(600),
    })
    .await;
    let s = summary(&report.latency);
    println!(
        "{} answered, {} wrong, {} errors, {} missing in {:.2} s: {:.0} msg/s, p50 {} µs, p99 {} µs",
        report.ok,
        report.wrong,
        report.errors,
        report.missing,
        report.elapsed.as_secs_f64(),
        report.rate(),
        s.p50,
        s.p99
    );
    i32::from(report.ok == 0 || report.wrong + report.missing > 0)
}
