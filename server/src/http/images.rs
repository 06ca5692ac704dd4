//! `GET /api/image/{token}`: an image from an answer, fetched by the relay
//! so that the visitor's browser contacts no third party (issue 27).
//!
//! Only tokens the relay signed are served (`404` otherwise: no open
//! proxy), only from hosts still allowed, and only PNG, JPEG, GIF and WebP
//! by their bytes — never SVG or HTML, whatever the host declares (`502`).
//! Fetched images are cached, bounded; at most a few fetches run at once
//! (`503` beyond).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::images::cache::Image;
use crate::redact;
use crate::uploads::sniff::{self, Kind};
use crate::AppState;

/// The types shown: raster images a browser decodes without running
/// anything.
const SHOWN: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, why).into_response()
}

/// Serves the image a token names.
pub async fn image(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(proxy) = state.images() else {
        return refuse(StatusCode::NOT_FOUND, "no images here");
    };
    let Some(url) = proxy.links.url_of(&token) else {
        return refuse(StatusCode::NOT_FOUND, "no such image");
    };
    let image = match proxy.cache.get(url.as_str()) {
        Some(image) => image,
        None => {
            let Ok(_permit) = proxy.fetches.clone().try_acquire_owned() else {
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many images at once");
            };
            let bytes = match proxy.fetcher.get(url.clone()).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::info!(host = %redact::url(&url), error = %e, "image not fetched");
                    return refuse(StatusCode::BAD_GATEWAY, "the image could not be fetched");
                }
            };
            let mime = match sniff::kind(&bytes) {
                Kind::Known(mime) if SHOWN.contains(&mime) => mime,
                _ => {
                    tracing::info!(host = %redact::url(&url), "image refused: not PNG, JPEG, GIF or WebP");
                    return refuse(StatusCode::BAD_GATEWAY, "not an image the chat shows");
                }
            };
            let image = Arc::new(Image { mime, bytes });
            proxy.cache.put(url.to_string(), image.clone());
            image
        }
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(image.mime)),
            // The token names one URL's bytes: the browser may keep them.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=86400"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        image.bytes.clone(),
    )
        .into_response()
}
