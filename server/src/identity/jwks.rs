//! The key set at `--identity-jwks-url`: fetched when first needed, kept,
//! fetched again when older than `--identity-jwks-refresh` or when a token
//! names a key id the set does not have (a key rotation) — the latter at
//! most once per [`KeySet::min_refetch`], so tokens with made-up key ids
//! cannot make the relay hammer the identity provider.
//!
//! Bounded: the body is read up to [`MAX_JWKS_BYTES`], at most
//! [`MAX_KEYS`] usable keys are kept, and only RSA keys (RS256) and P-256
//! EC keys (ES256) meant for signatures are used; the rest of the set is
//! skipped, so one exotic key does not make the whole set unusable.
//!
//! The HTTP client follows the relay's rules for outgoing requests: no
//! redirects (a redirect could point key fetching anywhere), bounded
//! connect and total time, a bounded body.

use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

/// Largest key-set body read, in bytes (a set of a few keys is ~2 KiB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Most keys kept from one set.
pub const MAX_KEYS: usize = 16;
/// Longest time one fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Least time between two fetches caused by unknown key ids (never more
/// than `--identity-jwks-refresh`).
pub const MIN_REFETCH: Duration = Duration::from_secs(30);

/// One usable key of the set.
#[derive(Clone)]
pub struct Key {
    /// Its `kid`.
    pub kid: Option<String>,
    /// The one algorithm it verifies (from its type, checked against its
    /// own `alg` when the set names one).
    pub alg: Algorithm,
    /// The key.
    pub key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Cached {
    keys: Vec<Key>,
    /// When the last fetch (successful or not) started.
    attempted: Option<Instant>,
    /// When the keys were last fetched successfully.
    fetched: Option<Instant>,
}

/// Why no key could be had for a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The set (as fetched) has no key with this id for this algorithm.
    #[error("no key {0} for this algorithm in the identity key set")]
    Unknown(String),
    /// The set could not be fetched or read.
    #[error("the identity key set could not be fetched: {0}")]
    Unavailable(String),
}

/// The cached key set of one URL.
#[derive(Debug)]
pub struct KeySet {
    url: url::Url,
    client: reqwest::Client,
    refresh: Duration,
    cached: RwLock<Cached>,
    /// One fetch at a time; others wait for it and use its result.
    fetching: Mutex<()>,
}

impl KeySet {
    /// A key set fetched from `url`, refreshed every `refresh`.
    pub fn new(url: url::Url, refresh: Duration) -> Result<KeySet, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("n8n-chat-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(KeySet {
            url,
            client,
            refresh,
            cached: RwLock::default(),
            fetching: Mutex::new(()),
        })
    }

    /// Where the set is fetched from.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Least time between fetches caused by unknown key ids.
    pub fn min_refetch(&self) -> Duration {
        MIN_REFETCH.min(self.refresh)
    }

    /// The key for a token's `kid` and `alg` at `now`: from the cache,
    /// after a fetch when the cache is empty, stale, or lacks the key (at
    /// most once per [`KeySet::min_refetch`]). `now` is passed in so the
    /// rate bound is tested without waiting.
    pub async fn find(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        now: Instant,
    ) -> Result<Key, KeyError> {
        if self.due(kid, alg, now).await {
            let _one = self.fetching.lock().await;
            // Checked again: another caller may have fetched meanwhile.
            if self.due(kid, alg, now).await {
                self.refetch(now).await;
            }
        }
        let c = self.cached.read().await;
        if let Some(key) = pick(&c.keys, kid, alg) {
            return Ok(key);
        }
        if c.fetched.is_none() {
            return Err(KeyError::Unavailable(
                "no successful fetch yet; see the relay's log".into(),
            ));
        }
        Err(KeyError::Unknown(match kid {
            Some(kid) => format!("{kid:?}"),
            None => "without a key id".into(),
        }))
    }

    /// Whether a fetch is due: never fetched, stale, or the key is missing
    /// — and the last attempt is at least [`KeySet::min_refetch`] old.
    async fn due(&self, kid: Option<&str>, alg: Algorithm, now: Instant) -> bool {
        let c = self.cached.read().await;
        let since = |at: Option<Instant>| at.map(|at| now.saturating_duration_since(at));
        let stale = since(c.fetched).is_none_or(|age| age >= self.refresh);
        let missing = pick(&c.keys, kid, alg).is_none();
        let may_try = since(c.attempted).is_none_or(|age| age >= self.min_refetch());
        may_try && (stale || missing)
    }

    /// Fetches the set; on failure the keys fetched before stay in use.
    async fn refetch(&self, now: Instant) {
        self.cached.write().await.attempted = Some(now);
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "identity key set fetched");
                let mut c = self.cached.write().await;
                c.keys = keys;
                c.fetched = Some(now);
            }
            Err(e) => tracing::warn!("identity key set: {e}"),
        }
    }

    async fn fetch(&self) -> Result<Vec<Key>, KeyError> {
        let unavailable = |e: String| KeyError::Unavailable(e);
        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status().as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(unavailable(format!("larger than {MAX_JWKS_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        parse(&body).map_err(unavailable)
    }
}

/// The key for `kid` and `alg`; without a `kid`, the only key of `alg`.
fn pick(keys: &[Key], kid: Option<&str>, alg: Algorithm) -> Option<Key> {
    let mut of_alg = keys.iter().filter(|k| k.alg == alg);
    match kid {
        Some(kid) => of_alg.find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None => {
            let first = of_alg.next()?;
            of_alg.next().is_none().then(|| first.clone())
        }
    }
}

/// The usable keys of a JWKS document (at most [`MAX_KEYS`]).
pub fn parse(body: &[u8]) -> Result<Vec<Key>, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = Vec::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if let Some(key) = usable(&jwk) {
            if keys.len() == MAX_KEYS {
                tracing::warn!(
                    "identity key set has more than {MAX_KEYS} usable keys; the rest are ignored"
                );
                break;
            }
            keys.push(key);
        }
    }
    Ok(keys)
}

/// The key if it is a signature key of a type the relay takes.
fn usable(jwk: &Jwk) -> Option<Key> {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    // A key that names its algorithm is used for that one only.
    if let Some(named) = jwk.common.key_algorithm {
        if format!("{named:?}") != format!("{alg:?}") {
            return None;
        }
    }
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key: DecodingKey::from_jwk(jwk).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    const RSA_1: &str = include_str!("../../tests/fixtures/identity/rsa-1.jwk.json");
    const RSA_2: &str = include_str!("../../tests/fixtures/identity/rsa-2.jwk.json");
    const EC_1: &str = include_str!("../../tests/fixtures/identity/ec-1.jwk.json");

    /// A key-set server on loopback whose body the test swaps; counts fetches.
    struct Server {
        url: url::Url,
        body: Arc<Mutex<String>>,
        fetches: Arc<AtomicUsize>,
    }

    async fn serve(body: String) -> Server {
        let body = Arc::new(Mutex::new(body));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (b, f) = (body.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (b, f) = (b.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let body = b.lock().clone();
                    ([("content-type", "application/json")], body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server {
            url: format!("http://{addr}/jwks").parse().expect("url"),
            body,
            fetches,
        }
    }

    fn set(keys: &[&str]) -> String {
        format!("{{\"keys\":[{}]}}", keys.join(","))
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_the_set_again_at_most_once_per_window() {
        let server = serve(set(&[RSA_1])).await;
        let keys = KeySet::new(server.url.clone(), Duration::from_secs(600)).expect("client");
        let t0 = Instant::now();
        let key = keys
            .find(Some("rsa-1"), Algorithm::RS256, t0)
            .await
            .expect("rsa-1");
        assert_eq!(key.alg, Algorithm::RS256);
        assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
        // Cached: no fetch for a known key.
        keys.find(Some("rsa-1"), Algorithm::RS256, t0 + Duration::from_secs(1))
            .await
            .expect("cached");
        assert_eq!(server.fetches.load(Ordering::SeqCst), 1);

        // The provider rotates its key.
        *server.body.lock() = set(&[RSA_2]);
        // Within the window an unknown kid does not fetch again…
        let early = keys
            .find(Some("rsa-2"), Algorithm::RS256, t0 + Duration::from_secs(5))
            .await;
        assert!(matches!(early, Err(KeyError::Unknown(_))), "{early:?}");
        assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
        // …after it, once; and the new key is found.
        let later = t0 + MIN_REFETCH;
        keys.find(Some("rsa-2"), Algorithm::RS256, later)
            .await
            .expect("rotated key");
        assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
        // Made-up kids right after cost nothing.
        for i in 0..20 {
            let made_up = format!("nope-{i}");
            let r = keys.find(Some(&made_up), Algorithm::RS256, later).await;
            assert!(matches!(r, Err(KeyError::Unknown(_))));
        }
        assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
        // The old key is gone with the rotation.
        assert!(keys
            .find(Some("rsa-1"), Algorithm::RS256, later)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_stale_set_is_fetched_again_and_a_failed_fetch_keeps_the_old_keys() {
        let server = serve(set(&[EC_1])).await;
        let keys = KeySet::new(server.url.clone(), Duration::from_secs(60)).expect("client");
        let t0 = Instant::now();
        keys.find(Some("ec-1"), Algorithm::ES256, t0)
            .await
            .expect("ec-1");
        *server.body.lock() = "not json".into();
        // Stale: fetched again; the fetch fails; the old key still works.
        keys.find(Some("ec-1"), Algorithm::ES256, t0 + Duration::from_secs(61))
            .await
            .expect("kept");
        assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_body_and_the_keys_are_bounded() {
        let big = format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(MAX_JWKS_BYTES));
        let server = serve(big).await;
        let keys = KeySet::new(server.url.clone(), Duration::from_secs(60)).expect("client");
        let r = keys.find(Some("k"), Algorithm::RS256, Instant::now()).await;
        assert!(matches!(r, Err(KeyError::Unavailable(_))), "{r:?}");

        let many: Vec<String> = (0..MAX_KEYS + 4)
            .map(|i| RSA_1.replace("\"rsa-1\"", &format!("\"k{i}\"")))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let parsed = parse(set(&refs).as_bytes()).expect("parsed");
        assert_eq!(parsed.len(), MAX_KEYS);
    }

    #[test]
    fn only_signature_keys_of_known_types_are_used_each_for_its_algorithm() {
        let enc = RSA_1.replace("\"sig\"", "\"enc\"");
        let hmac = r#"{"kty":"oct","kid":"h","k":"c2VjcmV0"}"#;
        let mislabelled = EC_1.replace("\"crv\"", "\"alg\": \"RS256\", \"crv\"");
        let parsed = parse(set(&[&enc, hmac, &mislabelled, EC_1, "{\"kty\":\"?\"}"]).as_bytes())
            .expect("parsed");
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].alg, Algorithm::ES256);
        assert!(pick(&parsed, Some("ec-1"), Algorithm::RS256).is_none());
        // Without a kid: the only key of the algorithm.
        assert!(pick(&parsed, None, Algorithm::ES256).is_some());
        assert!(parse(b"[]").is_err());
    }
}
