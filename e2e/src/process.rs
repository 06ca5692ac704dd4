//! Child processes that are killed (with their whole process group) when
//! dropped.

use std::process::{Child, Command};

/// A child process in its own process group.
#[derive(Debug)]
pub struct Owned {
    child: Option<Child>,
}

impl Owned {
    /// Spawns `command` in a new process group.
    pub fn spawn(mut command: Command) -> std::io::Result<Owned> {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        Ok(Owned {
            child: Some(command.spawn()?),
        })
    }

    /// Takes the child's piped stdout.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM (graceful stop) and waits for the exit.
    pub fn terminate(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = Command::new("kill")
                .args(["-s", "TERM", "--", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        self.child = None;
    }

    /// Kills the process group at once (SIGKILL) and reaps the child.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            #[cfg(unix)]
            // `--` first: procps' kill must not read "-PGID" as an option.
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port for a child that must be told its port up front.
///
/// The port is bound and released, so something else could take it before
/// the child binds it. Ports handed out by the kernel for port 0 and for
/// outgoing connections (Chromium opens many) all come from the ephemeral
/// range, so the port is picked *below* that range, and never twice in
/// this process: in CI a relay once lost a port picked from the ephemeral
/// range to another socket in that gap.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = ephemeral_low.saturating_sub(12_000).max(1024);
    let span = ephemeral_low.saturating_sub(low).max(1);
    // Test binaries run one after another: start each at its own offset.
    let _ = NEXT.compare_exchange(
        0,
        (std::process::id() % u32::from(span)) as u16 + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let candidate = low + NEXT.fetch_add(1, Ordering::SeqCst) % span;
        if std::net::TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
            return candidate;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}
