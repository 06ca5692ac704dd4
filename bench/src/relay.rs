//! The relay binary as a child process, with the abuse limits lifted: the
//! load generator is one IP sending as fast as it can, and those limits are
//! not what is measured.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running relay; killed when dropped.
#[derive(Debug)]
pub struct Relay {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port for a child that must be told its port: the
/// e2e harness's, which picks below the kernel's ephemeral range so no
/// port-0 bind or outgoing connection takes it in the gap.
pub use e2e::process::free_port;

impl Relay {
    /// Starts `path` forwarding to `webhook`, with `extra` flags, and waits
    /// until it accepts connections. `extra` may set
    /// `--max-concurrent-webhooks` itself (default here 1024).
    pub async fn start(path: &str, webhook: &str, extra: &[&str]) -> Relay {
        Self::start_with(path, Some(webhook), extra).await
    }

    /// Starts `path` in echo mode (no webhook: it answers `echo: <text>`
    /// itself), with `extra` flags.
    pub async fn start_echo(path: &str, extra: &[&str]) -> Relay {
        Self::start_with(path, None, extra).await
    }

    async fn start_with(path: &str, webhook: Option<&str>, extra: &[&str]) -> Relay {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let concurrency: &[&str] = if extra.contains(&"--max-concurrent-webhooks") {
            &[]
        } else {
            &["--max-concurrent-webhooks", "1024"]
        };
        let chooses_store = extra.iter().any(|a| *a == "--redis-url" || *a == "--store");
        let mut child = Command::new(path)
            .args(["--listen", &addr.to_string()])
            .args(webhook.map(|w| ["--webhook-url", w]).into_iter().flatten())
            .args(concurrency)
            // The relay's overhead as always measured: sessions in memory,
            // not the sqlite store the binary defaults to — unless the
            // caller chose a store (a cluster's --redis-url, which the
            // relay refuses beside --store).
            .args(if chooses_store {
                &[][..]
            } else {
                &["--store", "memory"][..]
            })
            .args([
                "--max-connections-per-ip",
                "100000",
                // Every load client connects from 127.0.0.1, thousands at
                // once: the per-address bound on handshakes would refuse them.
                "--max-http-connections-per-ip",
                "100000",
                "--rate-limit",
                "1000000000",
            ])
            .args([
                "--rate-burst",
                "1000000",
                "--max-in-flight-per-session",
                "1000000",
                "--upgrades-per-minute-per-ip",
                "1000000",
                // Every load client is a new session from 127.0.0.1.
                "--new-sessions-per-minute-per-ip",
                "0",
                // Each load client keeps several messages in flight in its
                // one session: let them go to the webhook at once, as the
                // relay-overhead numbers have always been measured.
                "--session-concurrency",
                "1024",
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Relay { child, addr };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("relay did not start");
    }
}
