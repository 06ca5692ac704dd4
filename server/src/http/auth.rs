//! Sign-in with OpenID Connect (`--oidc-issuer`): the routes the page and
//! the identity provider use.
//!
//! - `GET /auth/login`: starts a sign-in and redirects to the provider.
//!   The sign-in's `state` also goes into a short-lived `relay_login`
//!   cookie, so a callback only completes in the browser that started it
//!   (no login CSRF: a link with someone else's code does nothing). Each
//!   start is kept on the relay until it expires, so a client address may
//!   start `--oidc-logins-per-minute-per-ip` and hold a share of them
//!   (429 with `Retry-After` beyond).
//! - `GET /auth/callback`: the provider sends the browser back here; the
//!   code is exchanged, the ID token checked, and the browser gets the
//!   `relay_session` cookie (HttpOnly, SameSite=Lax, Secure when the
//!   public URL is https), which the WebSocket upgrade reads.
//! - `POST /auth/logout`: drops the cookie. POST from an allowed origin
//!   only, so another site cannot sign the visitor out.
//! - `GET /auth/me`: whether this browser is signed in, and as whom.
//!
//! Without `--oidc-issuer` they answer 404.

use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::client_address;
use crate::identity::oidc::fetch::printable;
use crate::identity::oidc::{session, OidcError};
use crate::identity::Identity;
use crate::AppState;

/// The cookie holding the `state` of a sign-in in progress.
pub const LOGIN_COOKIE: &str = "relay_login";

const OFF: &str = "sign-in is not configured on this relay (--oidc-issuer)";

/// The signed-in user of the request's session cookie, if any and valid.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<Identity> {
    let oidc = state.oidc()?;
    let token = cookie(headers, session::COOKIE)?;
    match oidc.sessions().check(token).await {
        Ok(identity) => Some(identity),
        Err(e) => {
            tracing::debug!("session cookie not accepted: {e}");
            None
        }
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie(h, name))
}

/// `Set-Cookie` for `name=value` on `path`, for `max_age` seconds.
fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: u64) -> HeaderValue {
    let secure = state
        .config()
        .serve
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https");
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /auth/login`.
pub async fn login(State(state): State<AppState>, request: Request) -> Response {
    let Some(oidc) = state.oidc() else {
        return (StatusCode::NOT_FOUND, OFF).into_response();
    };
    let address = client_address::of_request(&state, request.extensions(), request.headers());
    match oidc.begin(address).await {
        Ok((url, login_state)) => {
            let mut response = redirect(url.as_str());
            let c = set_cookie(
                &state,
                LOGIN_COOKIE,
                &login_state,
                "/auth",
                oidc.login_timeout().as_secs().max(1),
            );
            response.headers_mut().append(header::SET_COOKIE, c);
            response
        }
        Err(e @ (OidcError::TooFast(wait) | OidcError::AddressBusy(wait))) => {
            static REFUSALS: crate::log_throttle::LogThrottle =
                crate::log_throttle::LogThrottle::every(crate::log_throttle::WARN_EVERY);
            match REFUSALS.warn() {
                Some(quiet) => tracing::warn!(ip = ?address, quiet, "sign-in refused: {e}"),
                None => tracing::debug!(ip = ?address, "sign-in refused: {e}"),
            }
            let mut response =
                no_store((StatusCode::TOO_MANY_REQUESTS, e.to_string()).into_response());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after(wait));
            response
        }
        Err(e) => {
            tracing::warn!("sign-in not started: {e}");
            no_store((StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response())
        }
    }
}

/// `Retry-After` in whole seconds, rounded up (at least 1).
fn retry_after(wait: Duration) -> HeaderValue {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

/// What the provider sends back.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Response {
    let Some(oidc) = state.oidc() else {
        return (StatusCode::NOT_FOUND, OFF).into_response();
    };
    let clear_login = set_cookie(&state, LOGIN_COOKIE, "", "/auth", 0);
    let refuse = |status: StatusCode, why: String| {
        tracing::info!("sign-in refused: {why}");
        let mut response = no_store((status, format!("Sign-in failed: {why}")).into_response());
        response
            .headers_mut()
            .append(header::SET_COOKIE, clear_login.clone());
        response
    };
    let (Some(login_state), Some(code)) = (query.state.as_deref(), query.code.as_deref()) else {
        let why = match &query.error {
            Some(e) => crate::identity::oidc::OidcError::Refused(
                format!(
                    "{} {}",
                    printable(e),
                    printable(query.error_description.as_deref().unwrap_or_default())
                )
                .trim()
                .to_owned(),
            )
            .to_string(),
            None => "the callback lacks code or state".into(),
        };
        return refuse(StatusCode::BAD_REQUEST, why);
    };
    let identity = match oidc
        .finish(login_state, cookie(&headers, LOGIN_COOKIE), code)
        .await
    {
        Ok(identity) => identity,
        Err(e @ crate::identity::oidc::OidcError::Provider(_)) => {
            return refuse(StatusCode::BAD_GATEWAY, e.to_string())
        }
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let now = crate::clock::now_ms() / 1000;
    let token = match oidc.sessions().sign(&identity.user, now) {
        Ok(token) => token,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    tracing::info!(user = %identity.user.id, "signed in");
    let mut response = redirect("/");
    let lifetime = oidc.sessions().lifetime().as_secs();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, clear_login);
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, session::COOKIE, &token, "/", lifetime),
    );
    response
}

/// `POST /auth/logout`.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.oidc().is_none() {
        return (StatusCode::NOT_FOUND, OFF).into_response();
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !state.origins().allows(origin) {
        return (
            StatusCode::FORBIDDEN,
            "sign-out is taken only from the chat page's own origin",
        )
            .into_response();
    }
    let mut response = redirect("/");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, session::COOKIE, "", "/", 0),
    );
    response
}

/// `GET /auth/me`: `{"signedIn":…,"name":…,"email":…,"loginRequired":…}`.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.oidc().is_none() {
        return (StatusCode::NOT_FOUND, OFF).into_response();
    }
    let user = signed_in(&state, &headers).await.map(|i| i.user);
    let body = serde_json::json!({
        "signedIn": user.is_some(),
        "name": user.as_ref().and_then(|u| u.name.clone()),
        "email": user.as_ref().and_then(|u| u.email.clone()),
        "loginRequired": state.config().oidc.require_login,
    });
    no_store(axum::Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        for (wait, seconds) in [
            (Duration::ZERO, "1"),
            (Duration::from_millis(500), "1"),
            (Duration::from_secs(12), "12"),
            (Duration::from_millis(12_001), "13"),
        ] {
            assert_eq!(retry_after(wait), seconds, "{wait:?}");
        }
    }
}
