//! "Another site": a few fixed files on their own loopback port, with the
//! headers a test asks for (e.g. a strict CSP) — the page that embeds the
//! chat.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (files, headers) = (files.clone(), headers.clone());
                tokio::spawn(async move {
                    let mut request = vec![0u8; 8192];
                    let n = stream.read(&mut request).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&request[..n]);
                    let path = head.split_whitespace().nth(1).unwrap_or("/");
                    let path = path.split('?').next().unwrap_or("/");
                    let extra: String = headers
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}\r\n"))
                        .collect();
                    let response = match files.iter().find(|f| f.path == path) {
                        Some(f) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{}",
                            f.content_type,
                            f.body.len(),
                            f.body
                        ),
                        None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into(),
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
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
