//! Images in answers (issue 27): an image on an allowed host arrives as the
//! relay's signed address, and that address serves the image's bytes —
//! fetched by the relay from a loopback image server, checked by type,
//! size and origin. Nothing else is fetched: no open proxy.

use std::net::SocketAddr;

use crate::support::{config_for, Client, Relay};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use shared::rich_text::{Block, Inline, Link};
use shared::ServerMessage;
use testkit::n8n::{Mode, StandIn};

/// A tiny but real PNG signature and header.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

/// An image server on loopback: good and bad images, and redirects.
async fn image_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let port = addr.port();
    let app =
        Router::new()
            // Declared wrongly on purpose: the relay goes by the bytes.
            .route(
                "/cat.png",
                get(|| async { ([(header::CONTENT_TYPE, "application/octet-stream")], PNG) }),
            )
            .route(
                "/x.svg",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "image/png")],
                        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
                    )
                }),
            )
            .route(
                "/page.png",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "image/png")],
                        "<!doctype html><p>hi",
                    )
                }),
            )
            .route(
                "/big.png",
                get(|| async {
                    let mut body = PNG.to_vec();
                    body.resize(server::images::fetch::MAX_IMAGE_BYTES + 1, 0);
                    ([(header::CONTENT_TYPE, "image/png")], body)
                }),
            )
            .route(
                "/elsewhere.png",
                get(move || async move {
                    Redirect::temporary(&format!("http://localhost:{port}/cat.png"))
                }),
            )
            .route(
                "/moved.png",
                get(|| async { Redirect::temporary("/cat.png") }),
            )
            .route(
                "/gone.png",
                get(|| async { StatusCode::NOT_FOUND.into_response() }),
            );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

struct Scene {
    images: SocketAddr,
    relay: Relay,
    client: Client,
    _n8n: StandIn,
}

async fn scene(allow: bool) -> Scene {
    let images = image_server().await;
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Echo);
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    if allow {
        config.media.image_hosts = vec![format!("127.0.0.1:{}", images.port())];
    }
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    Scene {
        images,
        relay,
        client,
        _n8n: n8n,
    }
}

/// The links (and images) of the answer to `id`.
async fn links(client: &mut Client, id: &str) -> Vec<Link> {
    loop {
        if let ServerMessage::Response { id: got, doc, .. } = client.next().await {
            if got != id {
                continue;
            }
            let mut out = Vec::new();
            for block in doc.unwrap_or_default() {
                if let Block::P(inlines) = block {
                    for inline in inlines {
                        if let Inline::A(link) = inline {
                            out.push(link);
                        }
                    }
                }
            }
            return out;
        }
    }
}

impl Scene {
    /// The `img` the relay sends for an image at `path` on the image server.
    async fn img_for(&mut self, id: &str, path: &str) -> String {
        let url = format!("http://{}{path}", self.images);
        self.client.say(id, &format!("![alt {id}]({url})")).await;
        let links = links(&mut self.client, id).await;
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(links[0].href, url);
        assert_eq!(links[0].body, vec![Inline::T(format!("alt {id}"))]);
        links[0].img.clone()
    }

    async fn get(&self, img: &str) -> reqwest::Response {
        reqwest::get(self.relay.http_url(&format!("/{img}")))
            .await
            .expect("get")
    }
}

#[tokio::test]
async fn an_allowed_image_is_served_by_the_relay_with_its_sniffed_type() {
    let mut s = scene(true).await;
    let img = s.img_for("m1", "/cat.png").await;
    assert!(shared::rich_text::is_image_src(&img), "{img}");
    assert!(
        !img.contains("127.0.0.1"),
        "the page never sees the URL: {img}"
    );
    for _ in 0..2 {
        // Twice: the second from the cache.
        let response = s.get(&img).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(&response.bytes().await.expect("body")[..], PNG);
    }
    // A redirect on the image's own origin is followed.
    let moved = s.img_for("m2", "/moved.png").await;
    assert_eq!(s.get(&moved).await.status(), 200);
    s.relay.stop().await;
}

#[tokio::test]
async fn unlisted_hosts_stay_links() {
    let mut s = scene(false).await;
    assert_eq!(s.img_for("m1", "/cat.png").await, "", "no host allowed");
    // And the route serves nothing without hosts.
    assert_eq!(s.get("api/image/x.y").await.status(), 404);
    s.relay.stop().await;

    let mut s = scene(true).await;
    s.client.say("m2", "![x](http://localhost:1/cat.png)").await;
    let found = links(&mut s.client, "m2").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].img, "", "another host");
    s.relay.stop().await;
}

#[tokio::test]
async fn forged_and_altered_tokens_are_refused() {
    let mut s = scene(true).await;
    let img = s.img_for("m1", "/cat.png").await;
    let token = img.strip_prefix("api/image/").expect("prefix");
    let (url, tag) = token.split_once('.').expect("dot");
    // The URL of another path on the same, allowed host, with the old tag.
    use base64::Engine;
    let other = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("http://{}/x.svg", s.images));
    let flipped = if tag.starts_with('A') { "B" } else { "A" };
    for bad in [
        format!("api/image/{other}.{tag}"),
        format!("api/image/{url}.{flipped}{}", &tag[1..]),
        format!("api/image/{url}"),
        "api/image/garbage".to_owned(),
    ] {
        let status = s.get(&bad).await.status();
        assert_eq!(status, 404, "{bad}");
    }
    s.relay.stop().await;
}

#[tokio::test]
async fn svg_html_oversized_missing_and_redirected_images_are_refused() {
    let mut s = scene(true).await;
    for (i, path) in [
        "/x.svg",
        "/page.png",
        "/big.png",
        "/elsewhere.png",
        "/gone.png",
    ]
    .into_iter()
    .enumerate()
    {
        let img = s.img_for(&format!("m{i}"), path).await;
        assert!(!img.is_empty(), "{path} is on an allowed host");
        let response = s.get(&img).await;
        assert_eq!(response.status(), 502, "{path}");
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        assert!(!kind.starts_with("image/"), "{path}: {kind}");
    }
    s.relay.stop().await;
}
