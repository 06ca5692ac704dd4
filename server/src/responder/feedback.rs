//! The feedback webhook (`--feedback-url`): where the users' 👍/👎 go, as
//! JSON posted by the relay ([`crate::chat::feedback`] decides what). Its
//! own client: no redirects, no credentials of the chat webhook, a short
//! timeout, and at most [`MAX_SENDING`] posts on their way at once (more
//! are dropped and counted).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Ratings on their way to n8n at once.
pub const MAX_SENDING: usize = 16;
/// How long one may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The feedback webhook.
#[derive(Debug)]
pub struct Feedback {
    url: url::Url,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    dropped: AtomicU64,
}

impl Feedback {
    /// The feedback webhook at `url` (`--feedback-url`; without it there
    /// is none).
    pub fn new(url: url::Url) -> Result<Feedback, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("n8n-chat-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Feedback {
            url,
            client,
            slots: Arc::new(Semaphore::new(MAX_SENDING)),
            dropped: AtomicU64::new(0),
        })
    }

    /// Ratings dropped because too many were on their way.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Posts `body`, or `None` when [`MAX_SENDING`] are already on their
    /// way. The future says how it went.
    pub fn post(
        &self,
        body: &serde_json::Value,
    ) -> Option<impl Future<Output = Result<(), String>> + Send + 'static> {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let request = self.client.post(self.url.clone()).json(body);
        Some(async move {
            let _slot = slot;
            match request.send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("refused with HTTP {}", r.status().as_u16())),
                Err(e) => Err(format!("not reachable: {e}")),
            }
        })
    }
}
