//! A real `redis-server` (Debian's package; `REDIS_SERVER` names the binary,
//! `cargo xtask test` installs it) on a free loopback port, with no
//! persistence: each test gets its own, and can stop and restart it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{free_port, Owned};
use crate::{wait_for, Result};

/// A running (or stopped) Redis.
#[derive(Debug)]
pub struct RedisServer {
    process: Option<Owned>,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers PING.
    pub async fn start() -> Result<RedisServer> {
        let mut redis = RedisServer {
            process: None,
            port: free_port(),
        };
        redis.start_again().await?;
        Ok(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: connections drop, data is gone).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    /// Freezes it (SIGSTOP): connections stay open but nothing is answered,
    /// like a Redis behind a dropped network.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused Redis go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        if let Some(pid) = self.process.as_ref().and_then(Owned::id) {
            let _ = Command::new("kill")
                .args(["-s", name, "--", &pid.to_string()])
                .status();
        }
    }

    /// Starts it again on the same port (empty, like a restarted Redis
    /// without persistence).
    pub async fn start_again(&mut self) -> Result {
        self.stop();
        let mut command = Command::new(binary());
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        self.process =
            Some(Owned::spawn(command).map_err(|e| format!("cannot start {:?}: {e}", binary()))?);
        let port = self.port;
        wait_for(
            "redis-server to answer PING",
            Duration::from_secs(10),
            || async move { Ok(ping(port).then_some(())) },
        )
        .await
    }

    /// Runs one command with `redis-cli`-free RESP (an inline command) and
    /// returns the raw reply.
    pub fn command(&self, inline: &str) -> Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("connect to redis: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(format!("{inline}\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(stream.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}
