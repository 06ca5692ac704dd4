//! "Another site": a few fixed files on their own loopback port, with the
//! headers a test asks for (e.g. a strict CSP) — the page that embeds the
//! chat.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::Result;

/// One file of the site.
#[derive(Debug, Clone)]
pub struct SiteFile {
    /// Its path, e.g. `/`.
    pub path: String,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its body.
    pub body: String,
}

impl SiteFile {
    /// An HTML file.
    pub fn html(path: &str, body: String) -> SiteFile {
        SiteFile {
            path: path.into(),
            content_type: "text/html; charset=utf-8".into(),
            body,
        }
    }

    /// A script.
    pub fn js(path: &str, body: String) -> SiteFile {
        SiteFile {
            path: path.into(),
            content_type: "text/javascript; charset=utf-8".into(),
            body,
        }
    }
}

/// What the site serves.
struct Site {
    files: Vec<SiteFile>,
    headers: HeaderMap,
}

impl Site {
    /// The file at `path` with the site's headers; 404 for anything else.
    fn answer(&self, path: &str) -> Response {
        let Some(file) = self.files.iter().find(|f| f.path == path) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let mut response = (
            [(axum::http::header::CONTENT_TYPE, file.content_type.clone())],
            file.body.clone(),
        )
            .into_response();
        response.headers_mut().extend(self.headers.clone());
        response
    }
}

/// The headers a test asks for, refused at once if one is not a header.
fn header_map(headers: &[(String, String)]) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
        let value = HeaderValue::from_str(value).map_err(|e| format!("{value}: {e}"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// The site; stops when dropped.
#[derive(Debug)]
pub struct HostSite {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl HostSite {
    /// Serves `files` (404 for anything else), each response with `headers`.
    pub async fn serve(files: Vec<SiteFile>, headers: Vec<(String, String)>) -> Result<HostSite> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        Self::serve_at(addr, None, files, headers).await
    }

    /// Like [`HostSite::serve`] at `addr`, its origin named `http://<name>:<port>`
    /// when a name is given (e.g. `localhost`, another site than `127.0.0.1`
    /// to the browser: a frame from one on the other is cross-site).
    pub async fn serve_at(
        addr: std::net::SocketAddr,
        name: Option<&str>,
        files: Vec<SiteFile>,
        headers: Vec<(String, String)>,
    ) -> Result<HostSite> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("bind {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let origin = match name {
            Some(name) => format!("http://{name}:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        let headers = header_map(&headers)?;
        let site = std::sync::Arc::new(Site { files, headers });
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let site = site.clone();
            async move { site.answer(uri.path()) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(HostSite { origin, task })
    }

    /// The URL of `path` on the site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

impl Drop for HostSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}
