//! A TCP proxy between the page and the relay that can fail in two ways:
//! - **frozen**: it keeps both sockets open but stops forwarding, which is
//!   what a dead link (half-open connection, a NAT that dropped the mapping)
//!   looks like to the page;
//! - **down**: it closes every connection and refuses new ones, which is the
//!   relay going away while the page itself stays loadable.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy; stops when dropped.
#[derive(Debug)]
pub struct FreezingProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    target: Arc<OnceLock<SocketAddr>>,
    frozen: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
    cut: tokio::sync::broadcast::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FreezingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FreezingProxy {
    /// Forwards a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<FreezingProxy> {
        let proxy = Self::start_unaimed().await?;
        proxy.aim(target);
        Ok(proxy)
    }

    /// Listens on a free loopback port before knowing where to forward:
    /// the relay behind it needs the proxy's address in its flags, and
    /// both must bind port 0 themselves (a port picked and released
    /// beforehand can be taken by anything in between). Connections
    /// that arrive before [`Self::aim`] are closed.
    pub async fn start_unaimed() -> std::io::Result<FreezingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let target = Arc::new(OnceLock::<SocketAddr>::new());
        let aimed = target.clone();
        let frozen = Arc::new(AtomicBool::new(false));
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = tokio::sync::broadcast::channel::<()>(1);
        let (flag, is_down, cut_tx) = (frozen.clone(), down.clone(), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Some(&target) = aimed.get() else {
                    drop(client);
                    continue;
                };
                let flag = flag.clone();
                let mut cut_rx = cut_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pipe(cr, sw, flag.clone()) => {}
                        _ = pipe(sr, cw, flag) => {}
                        _ = cut_rx.recv() => {}
                    }
                });
            }
        });
        Ok(FreezingProxy {
            addr,
            target,
            frozen,
            down,
            cut,
            task,
        })
    }

    /// Sets where connections go; the first call wins.
    pub fn aim(&self, target: SocketAddr) {
        let _ = self.target.set(target);
    }

    /// Closes every connection and refuses new ones (`true`), or accepts
    /// again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            let _ = self.cut.send(());
        }
    }

    /// Stops (or resumes) forwarding on every connection, new ones included.
    pub fn set_frozen(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Frozen: swallow the bytes and keep the sockets open.
        if frozen.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        // Keep latency low for small frames.
        let _ = tokio::time::timeout(Duration::from_millis(1), to.flush()).await;
    }
}
