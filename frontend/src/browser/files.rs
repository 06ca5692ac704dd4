//! Files the user picked, dropped or pasted: their facts, and a small
//! thumbnail for images (a JPEG `data:` URL drawn on a canvas, so it is
//! small enough to keep with the conversation across reloads).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The longest side of a thumbnail, in pixels.
const THUMB: f64 = 160.0;

/// The files of a `FileList` (from an input, a drop or a paste).
pub fn list(files: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(files) = files else {
        return Vec::new();
    };
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}

/// A thumbnail of an image file, or `None` (not an image, or it cannot be
/// drawn).
pub async fn thumbnail(file: &web_sys::File) -> Option<String> {
    if !file.type_().starts_with("image/") {
        return None;
    }
    let window = web_sys::window()?;
    let bitmap = JsFuture::from(window.create_image_bitmap_with_blob(file).ok()?)
        .await
        .ok()?
        .dyn_into::<web_sys::ImageBitmap>()
        .ok()?;
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    if w <= 0.0 || h <= 0.0 {
        return None;
    }
    let scale = (THUMB / w.max(h)).min(1.0);
    let (tw, th) = ((w * scale).round().max(1.0), (h * scale).round().max(1.0));
    let canvas = window
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .ok()?;
    canvas.set_width(tw as u32);
    canvas.set_height(th as u32);
    let ctx = canvas
        .get_context("2d")
        .ok()??
        .dyn_into::<web_sys::CanvasRenderingContext2d>()
        .ok()?;
    // JPEG has no transparency: a white ground.
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, tw, th);
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, tw, th)
        .ok()?;
    bitmap.close();
    canvas
        .to_data_url_with_type_and_encoder_options("image/jpeg", &0.7.into())
        .ok()
}
