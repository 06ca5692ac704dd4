//! Solving a relay's proof-of-work challenge with the browser's own
//! SHA-256 (`crypto.subtle.digest`): no hashing code in the wasm.

use wasm_bindgen_futures::JsFuture;

use crate::model::proof::{input, solves, MAX_TRIES};

/// Digests asked for at once: one promise each, awaited together, so the
/// cost of a round trip through the event loop is paid per batch rather
/// than per hash.
const BATCH: u64 = 64;

/// The nonce that solves `challenge` at `bits`, or `None` when the browser
/// has no SubtleCrypto (an insecure origin) or gives up.
pub async fn solve(challenge: &str, bits: u8) -> Option<String> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    let mut first = 0;
    while first < MAX_TRIES {
        let batch = js_sys::Array::new();
        for nonce in first..first + BATCH {
            let data = input(challenge, nonce);
            let promise = subtle
                .digest_with_str_and_u8_array("SHA-256", data.as_bytes())
                .ok()?;
            batch.push(&promise);
        }
        let hashes = JsFuture::from(js_sys::Promise::all(&batch)).await.ok()?;
        let hashes = js_sys::Array::from(&hashes);
        for (i, hash) in hashes.iter().enumerate() {
            if solves(&js_sys::Uint8Array::new(&hash).to_vec(), bits) {
                return Some((first + i as u64).to_string());
            }
        }
        first += BATCH;
    }
    None
}
