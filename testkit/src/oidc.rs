//! A small OpenID Connect provider on loopback, for the relay's sign-in
//! tests: discovery, authorize (auto-approves the configured test user and
//! redirects back with a code and the state), token (checks the code once,
//! the PKCE verifier, the redirect URI and the client secret; answers an
//! RS256-signed ID token with the nonce) and the key set.
//!
//! [`Behaviour`] makes it misbehave the ways the relay must refuse: a
//! wrong nonce, a token signed by a key its key set does not list, an
//! expired token. Start it with [`Provider::start`] (port 0).

mod token;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// The user the provider signs in.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// `sub`.
    pub sub: String,
    /// `name`.
    pub name: String,
    /// `email`.
    pub email: String,
}

/// How the provider answers the token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// As a provider should.
    Honest,
    /// The ID token carries another nonce than the sign-in's.
    WrongNonce,
    /// The ID token is signed by a key the key set does not list (same kid).
    ForeignKey,
    /// The ID token expired an hour ago.
    Expired,
}

/// A code given out at authorize, waiting for the token request.
#[derive(Debug, Clone)]
struct Grant {
    redirect_uri: String,
    challenge: String,
    nonce: String,
    used: bool,
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    user: Mutex<TestUser>,
    behaviour: Mutex<Behaviour>,
    grants: Mutex<HashMap<String, Grant>>,
    next_code: AtomicU64,
    token_requests: AtomicU64,
}

/// The running provider.
#[derive(Debug, Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

impl Provider {
    /// Starts on 127.0.0.1, port 0, for the client `client_id` with
    /// `client_secret`, signing in `user`.
    pub async fn start(client_id: &str, client_secret: &str, user: TestUser) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the identity provider");
        let addr = listener.local_addr().expect("its address");
        let inner = Arc::new(Inner {
            issuer: format!("http://{addr}"),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            user: Mutex::new(user),
            behaviour: Mutex::new(Behaviour::Honest),
            grants: Mutex::default(),
            next_code: AtomicU64::new(1),
            token_requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token::token))
            .route("/jwks", get(jwks))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Provider { inner }
    }

    /// The issuer URL (`--oidc-issuer`).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Makes the token endpoint answer as `behaviour` from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.inner.behaviour.lock() = behaviour;
    }

    /// Signs in `user` from now on.
    pub fn set_user(&self, user: TestUser) {
        *self.inner.user.lock() = user;
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> u64 {
        self.inner.token_requests.load(Ordering::SeqCst)
    }
}

async fn discovery(State(inner): State<Arc<Inner>>) -> Json<serde_json::Value> {
    let i = &inner.issuer;
    Json(serde_json::json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

async fn jwks() -> Response {
    let jwk = include_str!("oidc/keys/provider.jwk.json");
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"keys\":[{jwk}]}}"),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct Authorize {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
}

/// Auto-approves: redirects back with a code and the state.
async fn authorize(State(inner): State<Arc<Inner>>, Query(q): Query<Authorize>) -> Response {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned()).into_response();
    if q.response_type != "code" {
        return bad("response_type must be code");
    }
    if q.client_id != inner.client_id {
        return bad("unknown client_id");
    }
    if !q.scope.split(' ').any(|s| s == "openid") {
        return bad("scope lacks openid");
    }
    if q.code_challenge_method != "S256" || q.code_challenge.len() != 43 {
        return bad("PKCE with S256 is required");
    }
    let code = format!("code-{}", inner.next_code.fetch_add(1, Ordering::SeqCst));
    inner.grants.lock().insert(
        code.clone(),
        Grant {
            redirect_uri: q.redirect_uri.clone(),
            challenge: q.code_challenge,
            nonce: q.nonce,
            used: false,
        },
    );
    let Ok(mut back) = url_with_query(&q.redirect_uri) else {
        return bad("redirect_uri is not a URL");
    };
    back.push_str(&format!("code={code}&state={}", encode(&q.state)));
    (StatusCode::FOUND, [(header::LOCATION, back)]).into_response()
}

/// `uri` followed by `?` or `&`, ready for more pairs.
fn url_with_query(uri: &str) -> Result<String, ()> {
    if !uri.starts_with("http://") && !uri.starts_with("https://") {
        return Err(());
    }
    Ok(if uri.contains('?') {
        format!("{uri}&")
    } else {
        format!("{uri}?")
    })
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
