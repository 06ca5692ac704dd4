//! The pause shared through Redis: the key `<prefix>paused` holds the
//! state ("1" or "0"), and the channel `<prefix>pause` tells every relay
//! at once. Each relay keeps its own subscription to that channel; after
//! (re)subscribing it reads the key, so a change made while it was cut off
//! is not missed. While Redis is unreachable a relay keeps the last state
//! it knew, and `set` fails (the operator is told, nothing half-done).

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::watch;

use shared::timing::Backoff;

use crate::store::pause::{LocalPause, PauseSwitch};

const BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(100),
    max: Duration::from_secs(2),
    max_attempts: u32::MAX,
};
/// How long one Redis step may take.
const STEP: Duration = Duration::from_secs(2);

/// The pause switch of relays sharing a Redis.
#[derive(Debug)]
pub struct RedisPause {
    local: Arc<LocalPause>,
    conn: ConnectionManager,
    key: String,
    channel: String,
}

impl RedisPause {
    /// Connects lazily and starts the subscription task (it ends when the
    /// switch is dropped).
    pub fn start(url: &url::Url, prefix: &str) -> Result<Arc<RedisPause>, redis::RedisError> {
        let client = redis::Client::open(url.as_str())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(STEP))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let pause = Arc::new(RedisPause {
            local: Arc::default(),
            conn,
            key: format!("{prefix}paused"),
            channel: format!("{prefix}pause"),
        });
        tokio::spawn(follow(
            client,
            pause.conn.clone(),
            Arc::downgrade(&pause.local),
            pause.key.clone(),
            pause.channel.clone(),
        ));
        Ok(pause)
    }
}

#[async_trait]
impl PauseSwitch for RedisPause {
    async fn set(&self, paused: bool) -> Result<(), String> {
        let value = if paused { "1" } else { "0" };
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&self.key)
            .arg(value)
            .ignore()
            .cmd("PUBLISH")
            .arg(&self.channel)
            .arg(value)
            .ignore();
        let write = pipe.query_async::<()>(&mut conn);
        match tokio::time::timeout(STEP, write).await {
            Ok(Ok(())) => {
                self.local.apply(paused);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("Redis: {e}")),
            Err(_) => Err("Redis did not answer in time".into()),
        }
    }

    fn is_paused(&self) -> bool {
        self.local.is_paused()
    }

    fn watch(&self) -> watch::Receiver<bool> {
        self.local.watch()
    }
}

/// Follows the channel (and the key after each subscribe) until the switch
/// is dropped.
async fn follow(
    client: redis::Client,
    mut conn: ConnectionManager,
    local: Weak<LocalPause>,
    key: String,
    channel: String,
) {
    let mut failures = 0u32;
    loop {
        if failures > 0 {
            tokio::time::sleep(BACKOFF.delay(failures, 0.5)).await;
        }
        if local.strong_count() == 0 {
            return;
        }
        let pubsub = match tokio::time::timeout(STEP, client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => pubsub,
            _ => {
                failures = failures.saturating_add(1);
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        if !matches!(
            tokio::time::timeout(STEP, sink.subscribe(&channel)).await,
            Ok(Ok(()))
        ) {
            failures = failures.saturating_add(1);
            continue;
        }
        // Subscribed: what changed while this relay was not listening is
        // in the key.
        let mut get = redis::cmd("GET");
        get.arg(&key);
        let read = get.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(STEP, read).await {
            Ok(Ok(value)) => {
                let Some(local) = local.upgrade() else { return };
                local.apply(value.as_deref() == Some("1"));
            }
            _ => {
                failures = failures.saturating_add(1);
                continue;
            }
        }
        // Checked now and then so the task ends soon after the switch goes.
        let mut alive = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { break };
                    let Some(local) = local.upgrade() else { return };
                    let value: String = message.get_payload().unwrap_or_default();
                    local.apply(value == "1");
                }
                _ = alive.tick() => {
                    if local.strong_count() == 0 {
                        return;
                    }
                }
            }
        }
        failures = 1;
    }
}
