//! Sending one file to the relay (`POST /api/uploads`) with an
//! `XMLHttpRequest` — the one browser API that reports upload progress.
//! The file's bytes go as the body; its type, (percent-encoded) name and
//! conversation (`X-Chat-Session`: the session id is a credential, kept
//! out of the URL) as headers.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ProgressEvent, XmlHttpRequest};

/// Why an upload did not end with an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    /// The relay refused the file: its error code and sentence.
    Refused {
        /// e.g. `too_large`, `unsupported_file_type`.
        code: String,
        /// The relay's explanation.
        message: String,
    },
    /// The request did not get through (offline, relay gone): try again
    /// when the link is back.
    Network,
}

/// An upload with no progress for this long is given up (and tried again
/// when the link allows): a stalled request would otherwise hold every
/// later message, which waits behind its files. Twice the relay's own
/// default stall timeout (30 s), so the relay's clearer answer usually
/// comes first.
const STALL_MS: f64 = 60_000.0;

#[derive(serde::Deserialize)]
struct Refusal {
    #[serde(default)]
    code: String,
    #[serde(default)]
    error: String,
}

/// Uploads `file` of `session` to `url` (see
/// [`crate::model::settings::upload_url`]); `on_progress` gets 0–100 as
/// bytes go out.
pub async fn upload(
    url: &str,
    session: &str,
    file: &web_sys::File,
    on_progress: impl Fn(u8) + 'static,
) -> Result<shared::Uploaded, UploadError> {
    let xhr = XmlHttpRequest::new().map_err(|_| UploadError::Network)?;
    xhr.open("POST", url).map_err(|_| UploadError::Network)?;
    let name: String = js_sys::encode_uri_component(&file.name()).into();
    let mime = file.type_();
    let set = |k: &str, v: &str| {
        xhr.set_request_header(k, v)
            .map_err(|_| UploadError::Network)
    };
    set(
        "Content-Type",
        if mime.is_empty() {
            "application/octet-stream"
        } else {
            &mime
        },
    )?;
    set("X-File-Name", &name)?;
    set("X-Chat-Session", session)?;
    let moved = Rc::new(Cell::new(js_sys::Date::now()));
    let seen = moved.clone();
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        seen.set(js_sys::Date::now());
        if e.length_computable() && e.total() > 0.0 {
            on_progress((e.loaded() / e.total() * 100.0).clamp(0.0, 100.0) as u8);
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let finished = js_sys::Promise::new(&mut |resolve, reject| {
        xhr.set_onload(Some(&resolve));
        xhr.set_onerror(Some(&reject));
        xhr.set_onabort(Some(&reject));
        xhr.set_ontimeout(Some(&reject));
    });
    xhr.send_with_opt_blob(Some(file))
        .map_err(|_| UploadError::Network)?;
    let stalled = xhr.clone();
    let watchdog = Interval::new(5_000, move || {
        if js_sys::Date::now() - moved.get() > STALL_MS {
            // Ends the request with `abort`: a network error, tried again.
            let _ = stalled.abort();
        }
    });
    let outcome = JsFuture::from(finished).await;
    drop(watchdog);
    drop(progress);
    if outcome.is_err() {
        return Err(UploadError::Network);
    }
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if status == 201 {
        return serde_json::from_str(&text).map_err(|_| UploadError::Network);
    }
    if status == 0 || status >= 502 && status != 507 {
        return Err(UploadError::Network);
    }
    let refusal: Refusal = serde_json::from_str(&text).unwrap_or(Refusal {
        code: String::new(),
        error: format!("HTTP {status}"),
    });
    // The relay does not see this conversation connected (yet): the socket
    // is reconnecting. Not the file's fault — try again when it is back.
    // Likewise a body the relay stopped waiting for (`upload_stalled`):
    // the link stalled, not the file.
    if refusal.code == "invalid_session" || refusal.code == "upload_stalled" {
        return Err(UploadError::Network);
    }
    Err(UploadError::Refused {
        code: refusal.code,
        message: refusal.error,
    })
}
