//! Fetching an image from its (allowed) host, with the webhook client's
//! caution: a timeout, a size bound read as the body streams, and no
//! redirect to anywhere else.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use url::Url;

/// The largest image fetched; a larger one is refused, however it is sent.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// The longest one fetch may take, connection to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Redirects followed, all on the image's own origin.
const MAX_REDIRECTS: usize = 3;

/// Why an image was not fetched.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// The host answered with something other than 200 (a redirect to
    /// another origin included).
    #[error("the image host answered {0}")]
    Status(u16),
    /// Over [`MAX_IMAGE_BYTES`].
    #[error("the image is larger than {MAX_IMAGE_BYTES} bytes")]
    TooLarge,
    /// No answer, or not within [`TIMEOUT`].
    #[error("the image host did not answer")]
    Unreachable,
}

/// The HTTP client for images.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

/// Whether two URLs have one origin (scheme, host, port).
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl Fetcher {
    /// A client that follows redirects only on the image's own origin (a
    /// redirect elsewhere ends the fetch: its 3xx is refused), sends no
    /// cookies and no credentials.
    pub fn new() -> Result<Self, reqwest::Error> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let Some(first) = attempt.previous().first() else {
                return attempt.stop();
            };
            if attempt.previous().len() > MAX_REDIRECTS || !same_origin(first, attempt.url()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .redirect(policy)
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("n8n-chat-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher { client })
    }

    /// The body at `url`, at most [`MAX_IMAGE_BYTES`].
    pub async fn get(&self, url: Url) -> Result<Bytes, FetchError> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|_| FetchError::Unreachable)?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_IMAGE_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| FetchError::Unreachable)?;
            if body.len() + chunk.len() > MAX_IMAGE_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}
