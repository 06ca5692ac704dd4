//! Hands a text to the visitor as a file: a Blob behind a temporary object
//! URL, clicked through an `<a download>` that never enters the document.
//! No server round trip, so an exported conversation never leaves the
//! browser.

use wasm_bindgen::JsCast;

/// Offers `text` as the file `name` of type `mime`; false if the browser
/// refused (then nothing happened).
pub fn offer(name: &str, mime: &str, text: &str) -> bool {
    let made = || -> Option<()> {
        let parts = js_sys::Array::of1(&text.into());
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
        let link = web_sys::window()?
            .document()?
            .create_element("a")
            .ok()?
            .dyn_into::<web_sys::HtmlAnchorElement>()
            .ok()?;
        link.set_href(&url);
        link.set_download(name);
        link.click();
        // Revoked a little later: some browsers read the URL after the
        // click has returned.
        gloo_timers::callback::Timeout::new(10_000, move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        })
        .forget();
        Some(())
    };
    made().is_some()
}
