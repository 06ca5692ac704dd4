//! The real `relay` binary as a child process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{free_port, Owned};
use crate::proxy::FreezingProxy;
use crate::{env_path, Result};

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    process: Owned,
    /// Where it listens.
    pub addr: SocketAddr,
    webhook: Option<String>,
    extra: Vec<String>,
    embedded: bool,
}

impl Relay {
    /// Starts the relay serving `DIST_DIR` on a free port, forwarding to
    /// `webhook` (echo mode without).
    pub async fn start(webhook: Option<&str>, extra: &[&str]) -> Result<Relay> {
        Self::start_at(
            0,
            webhook.map(str::to_owned),
            extra.iter().map(|s| s.to_string()).collect(),
            false,
        )
        .await
    }

    /// Starts the relay on `port` (from [`crate::process::free_port`]), for
    /// flags that name the relay's own address (`--public-url`).
    pub async fn start_on_port(port: u16, webhook: Option<&str>, extra: &[&str]) -> Result<Relay> {
        Self::start_at(
            port,
            webhook.map(str::to_owned),
            extra.iter().map(|s| s.to_string()).collect(),
            false,
        )
        .await
    }

    /// Starts the relay with no `--static-dir`, from an empty directory:
    /// the page it serves is the one built into the binary (`RELAY_BIN`
    /// built with `--features embed-page`).
    pub async fn start_embedded(webhook: Option<&str>, extra: &[&str]) -> Result<Relay> {
        Self::start_at(
            0,
            webhook.map(str::to_owned),
            extra.iter().map(|s| s.to_string()).collect(),
            true,
        )
        .await
    }

    /// Starts the relay on a free port with a [`FreezingProxy`] in front of
    /// its WebSocket: the page loads from the relay, and the relay tells it
    /// (`--relay-url`, published in `/config.json`) to connect through the
    /// proxy — so a test can take the link down while the page stays
    /// loadable.
    pub async fn start_behind_proxy(
        webhook: Option<&str>,
        extra: &[&str],
    ) -> Result<(Relay, FreezingProxy)> {
        let proxy = FreezingProxy::start_unaimed()
            .await
            .map_err(|e| format!("proxy: {e}"))?;
        let mut flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        flags.push("--relay-url".into());
        flags.push(format!("ws://{}/ws", proxy.addr));
        // Port 0: the relay binds whatever is free itself (CI once lost a
        // pre-picked port to another socket in the gap before binding).
        let relay = Self::start_at(0, webhook.map(str::to_owned), flags, false).await?;
        proxy.aim(relay.addr);
        Ok((relay, proxy))
    }

    async fn start_at(
        port: u16,
        webhook: Option<String>,
        extra: Vec<String>,
        embedded: bool,
    ) -> Result<Relay> {
        // Not port 0: the kernel would pick from the ephemeral range, which
        // a restart could then lose to another socket (Chromium opens many)
        // and which the page's reconnect attempts could self-connect to
        // while the relay is down.
        let port = if port == 0 { free_port() } else { port };
        let mut command = Command::new(env_path("RELAY_BIN"));
        command.arg("--listen").arg(format!("127.0.0.1:{port}"));
        if embedded {
            let empty = std::env::temp_dir().join(format!("e2e-empty-{}", std::process::id()));
            std::fs::create_dir_all(&empty).map_err(|e| format!("{}: {e}", empty.display()))?;
            command.current_dir(empty).env_remove("RELAY_STATIC_DIR");
        } else {
            command.arg("--static-dir").arg(env_path("DIST_DIR"));
        }
        // The sqlite store is the binary's default; each test relay keeps
        // its sessions in memory unless the test chooses a store.
        if !extra
            .iter()
            .any(|a| ["--store", "--data-dir", "--redis-url"].contains(&a.as_str()))
        {
            command.args(["--store", "memory"]);
        }
        command
            .args(&extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("N8N_WEBHOOK_URL")
            .env_remove("RELAY_WEBHOOK_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = &webhook {
            command.arg("--webhook-url").arg(url);
        }
        let mut process = Owned::spawn(command).map_err(|e| format!("cannot start relay: {e}"))?;
        let stdout = process.take_stdout().ok_or("relay has no stdout")?;
        // The relay logs "listening on http://ADDR" once it accepts connections.
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(
                            rest.split_whitespace()
                                .next()
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    }
                }
                eprintln!("[relay] {line}");
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(20), rx)
            .await
            .map_err(|_| "relay did not start within 20 s".to_string())?
            .map_err(|_| "relay exited before listening".to_string())?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|e| format!("bad relay address {addr:?}: {e}"))?;
        Ok(Relay {
            process,
            addr,
            webhook,
            extra,
            embedded,
        })
    }

    /// The page's URL, with optional query parameters (e.g. `pingMs=500`).
    pub fn page_url(&self, query: &str) -> String {
        if query.is_empty() {
            format!("http://{}/", self.addr)
        } else {
            format!("http://{}/?{query}", self.addr)
        }
    }

    /// Kills the relay hard (SIGKILL): no close frames, nothing drained.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Stops the relay gracefully (SIGTERM).
    pub fn terminate(&mut self) {
        self.process.terminate();
    }

    /// Starts a new relay on the same port with the same settings.
    pub async fn restart(&mut self) -> Result<()> {
        self.process.kill();
        let mut last = String::new();
        // The port may take a moment to be free again.
        for _ in 0..50 {
            let (webhook, extra) = (self.webhook.clone(), self.extra.clone());
            match Self::start_at(self.addr.port(), webhook, extra, self.embedded).await {
                Ok(new) => {
                    *self = new;
                    return Ok(());
                }
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("relay did not restart: {last}"))
    }
}
