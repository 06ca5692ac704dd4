//! A relay run in the test's own process on a free loopback port, as the
//! bench's tests use it: started from a `Config`, stopped on request.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A relay inside this process.
pub struct InProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), server::RelayError>>,
}

impl InProcess {
    /// Starts `server::run` with `config` on a port the kernel picks.
    pub async fn start(config: server::Config) -> InProcess {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        InProcess { addr, stop, task }
    }

    /// Its WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Shuts it down and waits for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
