//! Two relays sharing one Redis behind nginx (`deploy/nginx.conf`): what
//! the cluster soak runs against.

use e2e::nginx::Nginx;
use e2e::redis::RedisServer;

use crate::relay::Relay;

/// The running cluster; everything stops when dropped.
#[derive(Debug)]
pub struct Cluster {
    /// The shared Redis.
    pub redis: RedisServer,
    /// The relays.
    pub relays: [Relay; 2],
    /// The load balancer.
    pub nginx: Nginx,
}

impl Cluster {
    /// Starts Redis, two relays of `relay_path` forwarding to `webhook` (with
    /// `extra` flags), and nginx in front of them.
    pub async fn start(relay_path: &str, webhook: &str, extra: &[&str]) -> Result<Cluster, String> {
        let redis = RedisServer::start().await?;
        let url = redis.url();
        let mut flags = vec!["--redis-url", url.as_str(), "--trusted-proxy", "127.0.0.1"];
        flags.extend_from_slice(extra);
        let a = Relay::start(relay_path, webhook, &flags).await;
        let b = Relay::start(relay_path, webhook, &flags).await;
        let nginx = Nginx::start([a.addr, b.addr]).await?;
        Ok(Cluster {
            redis,
            relays: [a, b],
            nginx,
        })
    }

    /// The WebSocket URL through nginx.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.nginx.addr)
    }
}
