//! Solving a relay's proof-of-work challenge with the browser's own
//! SHA-256 (`crypto.subtle.digest`): no hashing code in the wasm.

use wasm_bindgen_futures::JsFuture;

use crate::model::proof::{input, solves, MAX_TRIES};

/// The nonce that solves `challenge` at `bits`, or `None` when the browser
/// has no SubtleCrypto (an insecure origin) or gives up.
pub async fn solve(challenge: &str, bits: u8) -> Option<String> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    for nonce in 0..MAX_TRIES {
        let data = input(challenge, nonce);
        let promise = subtle
            .digest_with_str_and_u8_array("SHA-256", data.as_bytes())
            .ok()?;
        let hash = JsFuture::from(promise).await.ok()?;
        if solves(&js_sys::Uint8Array::new(&hash).to_vec(), bits) {
            return Some(nonce.to_string());
        }
    }
    None
}
