//! The relay's Redis subscription: one channel per session connected here.
//!
//! Frames published on a session's channel (answers, chunks, pushes from
//! any relay) go to the session's connections here. A frame that arrives
//! after the session's last connection here left is kept in Redis for its
//! next connection, wherever that is.
//!
//! The subscription has its own connection. When it drops (Redis restarted,
//! network), the task reconnects with backoff, subscribes again to every
//! session connected here and takes what Redis kept for them meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::core::Core;
use super::scripts::{read_payload, Keys};

/// What the store asks of the subscription.
#[derive(Debug)]
pub enum Command {
    /// A connection of this session opened here; the answer says whether
    /// the subscription is in place (false while Redis is unreachable).
    Subscribe(String, oneshot::Sender<bool>),
    /// A connection of this session here closed.
    Unsubscribe(String),
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the subscription until the store is dropped.
pub async fn run(
    client: redis::Client,
    core: Arc<Core>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    // Connections per session here: subscribed while > 0.
    let mut wanted: HashMap<String, usize> = HashMap::new();
    let mut backoff = MIN_BACKOFF;
    loop {
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await;
        let pubsub = match connected {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                core.link.pubsub_down(&e.to_string());
                if !wait(&mut commands, &mut wanted, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(_) => {
                core.link.pubsub_down("connecting timed out");
                if !wait(&mut commands, &mut wanted, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let channels: Vec<String> = wanted.keys().map(|s| core.keys(s).channel).collect();
        if !channels.is_empty() {
            if let Err(e) = within(sink.subscribe(&channels)).await {
                core.link.pubsub_down(&e);
                continue;
            }
        }
        core.link.pubsub_up();
        backoff = MIN_BACKOFF;
        // Answers published while the subscription was down were kept.
        let recovering = core.clone();
        let sessions: Vec<String> = wanted.keys().cloned().collect();
        tokio::spawn(async move { recovering.recover(sessions).await });

        loop {
            tokio::select! {
                command = commands.recv() => {
                    let Some(command) = command else { return };
                    match command {
                        Command::Subscribe(session, ack) => {
                            let count = wanted.entry(session.clone()).or_insert(0);
                            *count += 1;
                            let ok = *count > 1 || within(sink.subscribe(core.keys(&session).channel)).await.is_ok();
                            let _ = ack.send(ok);
                            if !ok {
                                core.link.pubsub_down("subscribe failed");
                                break;
                            }
                        }
                        Command::Unsubscribe(session) => {
                            if release(&mut wanted, &session)
                                && within(sink.unsubscribe(core.keys(&session).channel)).await.is_err()
                            {
                                core.link.pubsub_down("unsubscribe failed");
                                break;
                            }
                        }
                    }
                }
                message = stream.next() => {
                    let Some(message) = message else {
                        core.link.pubsub_down("connection closed");
                        break;
                    };
                    let Some(session) = Keys::session_of_channel(&core.prefix, message.get_channel_name()) else {
                        continue;
                    };
                    let Ok(payload) = message.get_payload::<String>() else {
                        continue;
                    };
                    let (delivered_by, frame) = read_payload(&payload);
                    if delivered_by == Some(core.relay.as_str()) {
                        // Handed to this relay's connections when it was sent.
                        continue;
                    }
                    let frame = Utf8Bytes::from(frame.to_owned());
                    if core.local.deliver(session, &frame) == 0 {
                        // Its connection just left: keep it for the next one.
                        let core = core.clone();
                        let session = session.to_owned();
                        tokio::spawn(async move { core.keep_or_hold(&session, vec![frame]).await });
                    }
                }
            }
        }
    }
}

/// A subscription command, bounded in time: a Redis that stopped answering
/// (rather than refusing) must not hold up every new connection here.
async fn within(
    command: impl std::future::Future<Output = redis::RedisResult<()>>,
) -> Result<(), String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, command).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("Redis did not answer in time".into()),
    }
}

/// One connection fewer; true if the session has none left here.
fn release(wanted: &mut HashMap<String, usize>, session: &str) -> bool {
    match wanted.get_mut(session) {
        Some(count) if *count > 1 => {
            *count -= 1;
            false
        }
        Some(_) => {
            wanted.remove(session);
            true
        }
        None => false,
    }
}

/// Waits `backoff` while answering commands (not subscribed: false), so
/// connections are never held up by an unreachable Redis. False if the
/// store is gone.
async fn wait(
    commands: &mut mpsc::UnboundedReceiver<Command>,
    wanted: &mut HashMap<String, usize>,
    backoff: Duration,
) -> bool {
    let deadline = tokio::time::sleep(backoff);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return true,
            command = commands.recv() => match command {
                None => return false,
                Some(Command::Subscribe(session, ack)) => {
                    *wanted.entry(session).or_insert(0) += 1;
                    let _ = ack.send(false);
                }
                Some(Command::Unsubscribe(session)) => {
                    release(wanted, &session);
                }
            }
        }
    }
}
