//! The page's files: the form the browser accepts (brotli, gzip, as is),
//! cached for a year when the name carries trunk's hash, revalidated
//! (`no-cache` + `ETag` → `304`) otherwise. Paths without an extension get
//! `index.html` (the page's own routes); a missing file with one is a 404,
//! never the page in its place (a browser holding an old page would
//! otherwise run HTML as a script).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::page::negotiate::{choose, Coding};
use crate::page::preload::Preload;
use crate::page::Asset;
use crate::AppState;

/// `Cache-Control` of hashed files.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else: keep, but ask first.
const REVALIDATE: &str = "no-cache";

/// The handler (the router's fallback).
pub async fn page_file(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    serve(&state, &method, uri.path(), &headers)
}

/// Serves `path` of the page.
pub fn serve(state: &AppState, method: &Method, path: &str, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let page = state.page();
    if page.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            "the page is not built: run `cargo xtask build` (the WebSocket works without it)\n",
        )
            .into_response();
    }
    let key = path.trim_start_matches('/');
    let last = key.rsplit('/').next().unwrap_or_default();
    let asset = match page.get(key) {
        Some(asset) => asset,
        None if key.is_empty() || !last.contains('.') => match page.index() {
            Some(index) => index,
            None => return StatusCode::NOT_FOUND.into_response(),
        },
        None => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut response = respond(asset, method, headers);
    if page.index().is_some_and(|index| std::ptr::eq(index, asset)) {
        preload_hints(&mut response, page.preload(), headers);
    }
    response
}

/// `index.html`'s `Link: rel=preload` for `/config.json` and the likely
/// catalogue ([`crate::page::preload`]).
fn preload_hints(response: &mut Response, preload: &Preload, headers: &HeaderMap) {
    let accept_language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let Some(link) = preload.link(accept_language) else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&link) {
        response.headers_mut().insert(header::LINK, v);
    }
    if preload.varies_by_language() {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept-Language"));
    }
}

fn respond(asset: &Asset, method: &Method, headers: &HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let coding = choose(accept, asset.brotli.is_some(), asset.gzip.is_some());
    let (body, encoding, etag) = match (coding, &asset.brotli, &asset.gzip) {
        (Coding::Brotli, Some(b), _) => (b, Some("br"), tagged(&asset.etag, "br")),
        (Coding::Gzip, _, Some(g)) => (g, Some("gzip"), tagged(&asset.etag, "gz")),
        _ => (&asset.identity, None, asset.etag.clone()),
    };
    let varies = asset.brotli.is_some() || asset.gzip.is_some();
    let mut response = if not_modified(headers, asset) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if method == Method::HEAD {
        let mut r = Response::new(Body::empty());
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        r
    } else {
        Response::new(Body::from(body.clone()))
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Some(encoding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    if varies {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if asset.immutable { FOREVER } else { REVALIDATE }),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// The validator of one form: `"<hash>-br"` (forms differ in bytes, so in
/// their tags).
fn tagged(etag: &str, coding: &str) -> String {
    format!("{}-{coding}\"", etag.trim_end_matches('"'))
}

/// `If-None-Match` names one of the file's forms (or `*`).
fn not_modified(headers: &HeaderMap, asset: &Asset) -> bool {
    let Some(given) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let forms = [
        asset.etag.clone(),
        tagged(&asset.etag, "br"),
        tagged(&asset.etag, "gz"),
    ];
    given.split(',').map(str::trim).any(|tag| {
        let tag = tag.trim_start_matches("W/");
        tag == "*" || forms.iter().any(|f| f == tag)
    })
}
