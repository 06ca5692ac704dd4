//! [`StandIn`]: the handle a test holds on a running stand-in n8n, and the
//! state its connections share.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::connection::connection;
use super::{Mode, Recorded};
use crate::respond_to_chat::{Executions, Pace};

/// What every connection of one stand-in reads and updates.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) mode: Mutex<Mode>,
    pub(super) history: Mutex<Vec<(bool, String)>>,
    pub(super) requests: Mutex<Vec<Recorded>>,
    pub(super) finished: Mutex<usize>,
    /// (now, peak) requests being answered.
    pub(super) in_flight: Mutex<(usize, usize)>,
    /// Woken whenever a request arrives or is answered.
    pub(super) changed: Notify,
    pub(super) keep_alive: Duration,
    /// Keep-alive connections closed for being idle `keep_alive`.
    pub(super) idle_closed: Mutex<usize>,
    pub(super) executions: Arc<Executions>,
}

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts on a free loopback port in [`Mode::Echo`], closing idle
    /// keep-alive connections after 5 s like n8n.
    pub async fn start() -> std::io::Result<StandIn> {
        Self::start_with_keep_alive(Duration::from_secs(5)).await
    }

    /// Starts with a custom idle keep-alive timeout.
    pub async fn start_with_keep_alive(keep_alive: Duration) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Self::serve(listener, keep_alive)
    }

    /// Starts on a given loopback address (to come back on the same port
    /// after [`StandIn::stop`]).
    pub async fn start_at(addr: SocketAddr) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(addr).await?;
        Self::serve(listener, Duration::from_secs(5))
    }

    fn serve(listener: TcpListener, keep_alive: Duration) -> std::io::Result<StandIn> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Echo),
            history: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            finished: Mutex::new(0),
            in_flight: Mutex::new((0, 0)),
            changed: Notify::new(),
            keep_alive,
            idle_closed: Mutex::new(0),
            executions: Arc::default(),
        });
        shared.executions.set_host(&addr.to_string());
        let task_shared = shared.clone();
        let task = tokio::spawn(async move {
            // Owned here so that aborting this task (drop, `stop`) drops
            // every open connection too: n8n went away.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(connection(stream, task_shared.clone()));
            }
        });
        Ok(StandIn { addr, shared, task })
    }

    /// Stops listening and drops every open connection (n8n went away).
    pub fn stop(self) -> SocketAddr {
        self.addr
    }

    /// The stand-in's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A webhook URL on the stand-in, e.g. `url("/webhook/chat")`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The executions started in [`Mode::RespondToChat`].
    pub fn executions(&self) -> &Executions {
        &self.shared.executions
    }

    /// How fast those executions run (n8n: 3 s per Chat node).
    pub fn set_pace(&self, pace: Pace) {
        self.shared.executions.set_pace(pace);
    }

    /// Changes how later requests are answered.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock() = mode;
    }

    /// What `loadPreviousSession` answers: (is_human, text) pairs, sent
    /// in LangChain's message format like n8n's chat memory.
    pub fn set_history(&self, history: &[(bool, &str)]) {
        *self.shared.history.lock() = history.iter().map(|(h, t)| (*h, (*t).to_owned())).collect();
    }

    /// How many requests arrived so far.
    pub fn calls(&self) -> usize {
        self.shared.requests.lock().len()
    }

    /// How many requests were answered completely so far.
    pub fn finished(&self) -> usize {
        *self.shared.finished.lock()
    }

    /// How many keep-alive connections the stand-in closed for being idle
    /// (a test of pooled connections waits for this, not for the timeout).
    pub fn idle_closed(&self) -> usize {
        *self.shared.idle_closed.lock()
    }

    /// The most requests that were being answered at the same time.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.in_flight.lock().1
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().clone()
    }

    /// The `chatInput` of every request, in order.
    pub fn inputs(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.body["chatInput"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until at least `n` requests have arrived (or 10 s pass).
    pub async fn wait_for_calls(&self, n: usize) -> bool {
        self.wait_until(|| self.calls() >= n).await
    }

    /// Waits until at least `n` requests were answered (or 10 s pass).
    pub async fn wait_for_finished(&self, n: usize) -> bool {
        self.wait_until(|| self.finished() >= n).await
    }

    async fn wait_until(&self, done: impl Fn() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.shared.changed.notified();
            if done() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return done();
            }
        }
    }
}
