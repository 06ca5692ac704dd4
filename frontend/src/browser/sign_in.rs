//! Sign-in with OpenID Connect (the relay's `--oidc-issuer`): asking the
//! relay who is signed in, and signing out.
//!
//! The session itself is an HttpOnly cookie the page cannot read (so a
//! script injected into the page could not steal it either); the page only
//! asks `/auth/me`. Signing in is a plain link to `/auth/login`; signing
//! out a same-origin POST (the page's CSP forbids form submissions), then
//! a reload, so the socket opens again without the user.

use wasm_bindgen_futures::JsFuture;

/// Who `/auth/me` says is signed in: `None` if nobody (or it cannot be
/// had); `Some(name)` otherwise (the e-mail address or the id when the
/// provider gave no name).
pub async fn who() -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Me {
        signed_in: bool,
        name: Option<String>,
        email: Option<String>,
    }
    let text = super::remote_config::fetch_text("/auth/me").await?;
    let me: Me = serde_json::from_str(&text).ok()?;
    me.signed_in
        .then(|| me.name.or(me.email).unwrap_or_default())
}

/// Signs out at the relay, then reloads the page.
pub async fn sign_out() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let _ = JsFuture::from(window.fetch_with_str_and_init("/auth/logout", &init)).await;
    let _ = window.location().reload();
}
