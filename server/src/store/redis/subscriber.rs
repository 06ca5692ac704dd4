//! The relay's Redis subscription: one channel per session connected here.
//!
//! Frames published on a session's channel (answers, chunks, pushes from
//! any relay) go to the session's connections here. A frame that arrives
//! after the session's last connection here left is kept in Redis for its
//! next connection, wherever that is.
//!
//! The subscription has its own connection. When it drops (Redis restarted,
//! network) or a command on it fails, the task reconnects with the shared
//! backoff ([`shared::timing::Backoff`]), subscribes again to every session
//! connected here and takes what Redis kept for them meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use shared::timing::Backoff;

use super::core::Core;
use super::scripts::{read_payload, Keys};
use crate::frame::Frame;

/// What the store asks of the subscription.
#[derive(Debug)]
pub enum Command {
    /// A connection of this session opened here; the answer says whether
    /// the subscription is in place (false while Redis is unreachable).
    Subscribe(String, oneshot::Sender<bool>),
    /// A connection of this session here closed.
    Unsubscribe(String),
}

/// Reconnects after a failure back off like the page does (the shared
/// schedule), from 100 ms up to 2 s, with jitter so relays that lost the
/// same Redis do not return in the same instant.
const BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(100),
    max: Duration::from_secs(2),
    max_attempts: u32::MAX,
};
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a subscription connection ended.
enum Ended {
    /// The store was dropped: stop.
    StoreGone,
    /// The connection or a command failed.
    Lost(String),
}

/// Runs the subscription until the store is dropped.
pub async fn run(
    client: redis::Client,
    core: Arc<Core>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    // Connections per session here: subscribed while > 0.
    let mut wanted: HashMap<String, usize> = HashMap::new();
    let mut failures = 0u32;
    loop {
        if failures > 0 {
            let delay = BACKOFF.delay(failures, jitter());
            if !wait(&mut commands, &mut wanted, delay).await {
                return;
            }
        }
        let (sink, stream) = match subscribe(&client, &core, &wanted).await {
            Ok(pubsub) => pubsub,
            Err(reason) => {
                core.link.pubsub_down(&reason);
                failures = failures.saturating_add(1);
                continue;
            }
        };
        core.link.pubsub_up();
        let up_since = tokio::time::Instant::now();
        // Answers published while the subscription was down were kept.
        let recovering = core.clone();
        let sessions: Vec<String> = wanted.keys().cloned().collect();
        tokio::spawn(async move { recovering.recover(sessions).await });
        match serve(&core, &mut commands, &mut wanted, sink, stream).await {
            Ended::StoreGone => return,
            Ended::Lost(reason) => {
                core.link.pubsub_down(&reason);
                // A connection that keeps failing at once backs off further;
                // one that lived a while starts over.
                failures = if up_since.elapsed() > BACKOFF.max {
                    1
                } else {
                    failures.saturating_add(1)
                };
            }
        }
    }
}

type Sink = redis::aio::PubSubSink;
type Stream = redis::aio::PubSubStream;

/// A new subscription connection, subscribed to every wanted session.
async fn subscribe(
    client: &redis::Client,
    core: &Core,
    wanted: &HashMap<String, usize>,
) -> Result<(Sink, Stream), String> {
    let pubsub = match tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("connecting timed out".into()),
    };
    let (mut sink, stream) = pubsub.split();
    let channels: Vec<String> = wanted.keys().map(|s| core.keys(s).channel).collect();
    if !channels.is_empty() {
        within(sink.subscribe(&channels)).await?;
    }
    Ok((sink, stream))
}

/// Serves one subscription connection: the store's commands, and frames
/// published to the sessions here.
async fn serve(
    core: &Arc<Core>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    wanted: &mut HashMap<String, usize>,
    mut sink: Sink,
    mut stream: Stream,
) -> Ended {
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return Ended::StoreGone };
                if let Err(reason) = obey(core, wanted, &mut sink, command).await {
                    return Ended::Lost(reason);
                }
            }
            message = stream.next() => {
                let Some(message) = message else {
                    return Ended::Lost("connection closed".into());
                };
                route(core, &message);
            }
        }
    }
}

/// Carries out one command on the subscription.
async fn obey(
    core: &Core,
    wanted: &mut HashMap<String, usize>,
    sink: &mut Sink,
    command: Command,
) -> Result<(), String> {
    match command {
        Command::Subscribe(session, ack) => {
            let count = wanted.entry(session.clone()).or_insert(0);
            *count += 1;
            let ok = *count > 1
                || within(sink.subscribe(core.keys(&session).channel))
                    .await
                    .is_ok();
            let _ = ack.send(ok);
            if ok {
                Ok(())
            } else {
                Err("subscribe failed".into())
            }
        }
        Command::Unsubscribe(session) => {
            if release(wanted, &session)
                && within(sink.unsubscribe(core.keys(&session).channel))
                    .await
                    .is_err()
            {
                return Err("unsubscribe failed".into());
            }
            Ok(())
        }
    }
}

/// Hands a published frame to the session's connections here (or keeps it
/// for its next connection if they just left).
fn route(core: &Arc<Core>, message: &redis::Msg) {
    let Some(session) = Keys::session_of_channel(&core.prefix, message.get_channel_name()) else {
        return;
    };
    let Ok(payload) = message.get_payload::<String>() else {
        return;
    };
    let (delivered_by, frame) = read_payload(&payload);
    if delivered_by == Some(core.relay.as_str()) {
        // Handed to this relay's connections when it was sent.
        return;
    }
    let frame = Frame::from(frame.to_owned());
    if core.local.deliver(session, &frame) == 0 {
        // Its connection just left: keep it for the next one.
        let core = core.clone();
        let session = session.to_owned();
        tokio::spawn(async move { core.keep_or_hold(&session, vec![frame]).await });
    }
}

/// A number in [0, 1) for the backoff's jitter.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
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
