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

/// A free loopback port (bound and released; fine for tests on one machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}
