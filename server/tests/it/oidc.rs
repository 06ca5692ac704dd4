//! Sign-in with OpenID Connect, relay-level: a real HTTP client that
//! follows redirects and keeps cookies signs in at the testkit's identity
//! provider, then a real WebSocket client carrying the session cookie
//! chats, and the n8n stand-in receives the signed-in user. Forged, replayed
//! and mis-signed sign-ins are refused with clear errors; `--require-login`
//! refuses anonymous sockets.

use crate::support::{config_for, connect_with_headers, response_text, Client, Relay};
use serde_json::{json, Value};
use shared::ClientMessage;
use testkit::n8n::StandIn;
use testkit::oidc::{Behaviour, Provider, TestUser};
use tokio_tungstenite::tungstenite::Message;

const CLIENT_ID: &str = "chat-relay";
const CLIENT_SECRET: &str = "client-secret-for-tests";

fn ada() -> TestUser {
    TestUser {
        sub: "ada-1815".into(),
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
    }
}

/// A relay with sign-in at `provider`, forwarding to `n8n`.
async fn relay(provider: &Provider, n8n: &StandIn, require_login: bool) -> Relay {
    relay_with(provider, n8n, |config| {
        config.oidc.require_login = require_login
    })
    .await
}

/// [`relay`] with more settings made by `adjust`.
async fn relay_with(
    provider: &Provider,
    n8n: &StandIn,
    adjust: impl FnOnce(&mut server::config::Config),
) -> Relay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.serve.public_url = Some(format!("http://{addr}").parse().expect("url"));
    config.oidc.oidc_issuer = Some(provider.issuer().parse().expect("issuer"));
    config.oidc.oidc_client_id = Some(CLIENT_ID.into());
    config.oidc.oidc_client_secret = Some(server::config::Secret(CLIENT_SECRET.into()));
    adjust(&mut config);
    Relay::start_listening(listener, config)
}

/// A browser, as far as redirects and cookies go: follows `Location`
/// itself, keeps `Set-Cookie`s (name, value, path) and sends them back.
struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String, String)>,
    /// The `X-Forwarded-For` a trusted proxy in front of the relay would
    /// add for this browser, if any.
    forwarded_for: Option<String>,
}

/// The last response of a chain of redirects.
struct Landed {
    status: u16,
    url: String,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
            forwarded_for: None,
        }
    }

    /// A browser behind a trusted proxy that saw it as `address`.
    fn at(address: &str) -> Browser {
        Browser {
            forwarded_for: Some(address.to_owned()),
            ..Browser::new()
        }
    }

    fn cookie_header(&self, url: &str) -> String {
        let path = reqwest::Url::parse(url)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        self.cookies
            .iter()
            .filter(|(_, _, p)| path.starts_with(p.as_str()))
            .map(|(n, v, _)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.clone())
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().expect("ascii cookie");
            let mut parts = set.split(';').map(str::trim);
            let (name, value) = parts
                .next()
                .and_then(|p| p.split_once('='))
                .expect("name=value");
            let attrs: Vec<&str> = parts.collect();
            let path = attrs
                .iter()
                .find_map(|a| a.strip_prefix("Path="))
                .unwrap_or("/");
            assert!(attrs.contains(&"HttpOnly"), "{set}");
            assert!(attrs.contains(&"SameSite=Lax"), "{set}");
            self.cookies.retain(|(n, _, _)| n != name);
            if !attrs.contains(&"Max-Age=0") {
                self.cookies
                    .push((name.to_owned(), value.to_owned(), path.to_owned()));
            }
        }
    }

    /// One request, no redirect followed.
    async fn send(&mut self, method: reqwest::Method, url: &str) -> reqwest::Response {
        let mut request = self.http.request(method.clone(), url);
        let cookies = self.cookie_header(url);
        if !cookies.is_empty() {
            request = request.header("cookie", cookies);
        }
        if let Some(address) = &self.forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        if method == reqwest::Method::POST {
            let origin = reqwest::Url::parse(url).expect("url").origin();
            request = request.header("origin", origin.ascii_serialization());
        }
        let response = request.send().await.expect("request");
        self.keep(&response);
        response
    }

    /// GETs `url` and follows redirects, at most `hops`, stopping early
    /// before any URL for which `stop` says so (returned unvisited).
    async fn follow(&mut self, url: &str, stop: impl Fn(&str) -> bool) -> Landed {
        let mut url = url.to_owned();
        for _ in 0..10 {
            if stop(&url) {
                return Landed {
                    status: 0,
                    url,
                    body: String::new(),
                };
            }
            let response = self.send(reqwest::Method::GET, &url).await;
            let status = response.status().as_u16();
            match response.headers().get("location") {
                Some(to) if (300..400).contains(&status) => {
                    let base = reqwest::Url::parse(&url).expect("url");
                    url = base
                        .join(to.to_str().expect("ascii location"))
                        .expect("location")
                        .to_string();
                }
                _ => {
                    let body = response.text().await.unwrap_or_default();
                    return Landed { status, url, body };
                }
            }
        }
        panic!("more than 10 redirects");
    }

    /// Signs in at `relay`: back on the relay's page with a session cookie.
    async fn sign_in(&mut self, relay: &Relay) -> Landed {
        self.follow(&relay.http_url("/auth/login"), |_| false).await
    }

    /// Starts a sign-in and stops at the callback the provider sends the
    /// browser to (the URL with code and state, not visited).
    async fn callback_url(&mut self, relay: &Relay) -> String {
        let landed = self
            .follow(&relay.http_url("/auth/login"), |u| {
                u.contains("/auth/callback")
            })
            .await;
        assert!(landed.url.contains("code="), "{}", landed.url);
        landed.url
    }

    async fn me(&mut self, relay: &Relay) -> Value {
        let response = self
            .send(reqwest::Method::GET, &relay.http_url("/auth/me"))
            .await;
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        response.json().await.expect("json")
    }

    /// Opens the chat WebSocket with this browser's cookies.
    async fn chat(&self, relay: &Relay) -> Result<Client, u16> {
        let url = relay.ws_url("/ws");
        let cookies = self.cookie_header(&relay.http_url("/ws"));
        connect_with_headers(&url, &[("Cookie", &cookies)]).await
    }
}

#[tokio::test]
async fn a_signed_in_user_chats_and_n8n_receives_the_user() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = relay(&provider, &n8n, false).await;
    let mut browser = Browser::new();
    assert_eq!(browser.me(&relay).await["signedIn"], false);

    let landed = browser.sign_in(&relay).await;
    assert_eq!(landed.url, relay.http_url("/"), "back on the page");
    assert!(browser.cookie("relay_session").is_some());
    assert!(browser.cookie("relay_login").is_none(), "used up");
    let me = browser.me(&relay).await;
    assert_eq!(me["signedIn"], true, "{me}");
    assert_eq!(me["name"], "Ada Lovelace");

    let mut client = browser.chat(&relay).await.expect("let in");
    client.say("m1", "hello").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hello");
    assert_eq!(
        n8n.requests()[0].body["user"],
        json!({"id": "ada-1815", "name": "Ada Lovelace", "email": "ada@example.com"})
    );
    drop(client);

    // Signed out: the cookie is gone, the next socket is anonymous.
    let out = browser
        .send(reqwest::Method::POST, &relay.http_url("/auth/logout"))
        .await;
    assert_eq!(out.status().as_u16(), 303);
    assert!(browser.cookie("relay_session").is_none());
    assert_eq!(browser.me(&relay).await["signedIn"], false);
    let mut anonymous = browser.chat(&relay).await.expect("anonymous is fine");
    anonymous.say("m2", "who am I").await;
    assert_eq!(
        response_text(&anonymous.next().await, "m2"),
        "echo: who am I"
    );
    assert!(n8n.wait_for_calls(2).await);
    assert!(n8n.requests()[1].body.get("user").is_none());
    relay.stop().await;
}

#[tokio::test]
async fn logout_is_taken_only_from_the_pages_origin() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = relay(&provider, &n8n, false).await;
    let mut browser = Browser::new();
    browser.sign_in(&relay).await;
    let cookies = browser.cookie_header(&relay.http_url("/"));
    let forged = reqwest::Client::new()
        .post(relay.http_url("/auth/logout"))
        .header("origin", "https://evil.example")
        .header("cookie", cookies)
        .send()
        .await
        .expect("request");
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
    // GET is not a sign-out.
    let get = reqwest::get(relay.http_url("/auth/logout"))
        .await
        .expect("get");
    assert_eq!(get.status().as_u16(), 405);
    relay.stop().await;
}

/// Visits `url` (a callback) and returns the status and the page's text.
async fn refused(browser: &mut Browser, url: &str) -> (u16, String) {
    let landed = browser.follow(url, |_| false).await;
    assert!(browser.cookie("relay_session").is_none(), "no session");
    (landed.status, landed.body)
}

#[tokio::test]
async fn forged_replayed_and_foreign_callbacks_are_refused() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = relay(&provider, &n8n, false).await;

    // A state the relay never made.
    let mut browser = Browser::new();
    let (status, text) = refused(
        &mut browser,
        &relay.http_url("/auth/callback?code=code-1&state=made-up"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("unknown or has expired"), "{text}");

    // Another browser's callback (login CSRF): no relay_login cookie here.
    let mut victim = Browser::new();
    let mut attacker = Browser::new();
    let url = attacker.callback_url(&relay).await;
    let (status, text) = refused(&mut victim, &url).await;
    assert_eq!(status, 400);
    assert!(text.contains("unknown or has expired"), "{text}");

    // A replayed callback: the first completes, the second is refused
    // before the provider is asked again.
    let mut browser = Browser::new();
    let url = browser.callback_url(&relay).await;
    let login_cookie = browser.cookie("relay_login").expect("login cookie");
    let landed = browser.follow(&url, |_| false).await;
    assert_eq!(landed.url, relay.http_url("/"));
    let asked = provider.token_requests();
    browser
        .cookies
        .push(("relay_login".into(), login_cookie, "/auth".into()));
    let (status, text) = refused(&mut Browser::new(), &url).await;
    assert_eq!(status, 400);
    assert!(text.contains("unknown or has expired"), "{text}");
    let landed = browser.follow(&url, |_| false).await;
    assert_eq!(
        landed.status, 400,
        "replayed with its cookie: {}",
        landed.body
    );
    assert_eq!(provider.token_requests(), asked, "not exchanged again");

    // The provider refused (the user cancelled).
    let (status, text) = refused(
        &mut Browser::new(),
        &relay.http_url("/auth/callback?error=access_denied&error_description=cancelled&state=x"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("access_denied cancelled"), "{text}");
    relay.stop().await;
}

#[tokio::test]
async fn id_tokens_with_a_wrong_nonce_key_or_expiry_are_refused() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = relay(&provider, &n8n, false).await;
    for (behaviour, expected) in [
        (Behaviour::WrongNonce, "the nonce is not this sign-in's"),
        (Behaviour::ForeignKey, "the signature does not match"),
        (Behaviour::Expired, "it has expired"),
    ] {
        provider.set_behaviour(behaviour);
        let mut browser = Browser::new();
        let landed = browser.sign_in(&relay).await;
        assert_eq!(landed.status, 400, "{behaviour:?}: {}", landed.body);
        assert!(
            landed.body.contains("ID token was refused") && landed.body.contains(expected),
            "{behaviour:?}: {}",
            landed.body
        );
        assert!(browser.cookie("relay_session").is_none());
        assert!(browser.cookie("relay_login").is_none(), "cleared");
        assert_eq!(browser.me(&relay).await["signedIn"], false);
    }
    // And an honest provider again: signed in.
    provider.set_behaviour(Behaviour::Honest);
    let mut browser = Browser::new();
    browser.sign_in(&relay).await;
    assert_eq!(browser.me(&relay).await["signedIn"], true);
    relay.stop().await;
}

#[tokio::test]
async fn require_login_refuses_anonymous_and_forged_cookies() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = relay(&provider, &n8n, true).await;
    let mut browser = Browser::new();
    assert_eq!(browser.me(&relay).await["loginRequired"], true);
    assert_eq!(browser.chat(&relay).await.err(), Some(401));
    // A made-up session cookie is no sign-in.
    browser.cookies.push((
        "relay_session".into(),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".into(),
        "/".into(),
    ));
    assert_eq!(browser.chat(&relay).await.err(), Some(401));
    browser.cookies.clear();
    browser.sign_in(&relay).await;
    let mut client = browser.chat(&relay).await.expect("signed in");
    client.say("m1", "hi").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hi");
    assert_eq!(n8n.requests()[0].body["user"]["id"], "ada-1815");
    relay.stop().await;
}

#[tokio::test]
async fn require_login_with_identity_tokens_closes_an_anonymous_hello() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = relay_with(&provider, &n8n, |config| {
        config.oidc.require_login = true;
        config.identity.identity_secret = Some(server::config::Secret(
            "a-test-secret-of-at-least-32-bytes!!".into(),
        ));
    })
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws?hello"))
        .await
        .expect("upgraded: the hello may still bring a token");
    let hello = ClientMessage::Hello {
        session_id: None,
        token: None,
    };
    futures_util::SinkExt::send(&mut ws, Message::text(hello.encode()))
        .await
        .expect("hello");
    let mut client = Client {
        ws,
        session_id: String::new(),
        client_id: String::new(),
        heartbeat_ms: 0,
    };
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1008);
    assert!(reason.contains("sign-in required"), "{reason}");
    relay.stop().await;
}

#[tokio::test]
async fn a_sign_in_that_took_too_long_is_refused() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = relay_with(&provider, &n8n, |config| {
        config.oidc.oidc_login_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let mut browser = Browser::new();
    let url = browser.callback_url(&relay).await;
    // The sign-in began before this instant (the relay made the state on
    // the way to the callback URL), so its deadline has passed by this
    // instant + 350 ms, however slowly the machine got here.
    let begun_by = tokio::time::Instant::now();
    tokio::time::sleep_until(begun_by + std::time::Duration::from_millis(350)).await;
    let landed = browser.follow(&url, |_| false).await;
    assert_eq!(landed.status, 400, "{}", landed.body);
    assert!(
        landed.body.contains("unknown or has expired"),
        "{}",
        landed.body
    );
    assert!(browser.cookie("relay_session").is_none());
    assert_eq!(provider.token_requests(), 0, "never exchanged");
    relay.stop().await;
}

/// `GET /auth/login`s from `address` (behind the trusted proxy) until one
/// is refused, at most `most`: how many started a sign-in, and the refusal.
async fn flood_logins(relay: &Relay, address: &str, most: usize) -> (usize, reqwest::Response) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for started in 0..most {
        let response = http
            .get(relay.http_url("/auth/login"))
            .header("x-forwarded-for", address)
            .send()
            .await
            .expect("request");
        if response.status().as_u16() != 303 {
            return (started, response);
        }
    }
    panic!("{most} sign-ins started from one address, none refused");
}

/// The `Retry-After` of a refusal, in seconds.
fn retry_after(refused: &reqwest::Response) -> u64 {
    refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds")
}

/// A relay with sign-in behind a trusted proxy on 127.0.0.1 (so tests
/// speak for several addresses), starting at most `per_minute` sign-ins
/// per address a minute.
async fn behind_proxy(provider: &Provider, n8n: &StandIn, per_minute: u32) -> Relay {
    relay_with(provider, n8n, |config| {
        config.serve.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        config.oidc.oidc_logins_per_minute_per_ip = per_minute;
    })
    .await
}

/// Sign-ins in progress are kept on the relay (at most 10 000): one address
/// must not be able to fill that for everyone. Its `GET /auth/login`s are
/// rate-limited per address (429 with `Retry-After`), and another visitor
/// still signs in.
#[tokio::test]
async fn one_address_flooding_sign_ins_is_refused_and_others_still_sign_in() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = behind_proxy(&provider, &n8n, 5).await;
    let (started, refused) = flood_logins(&relay, "198.51.100.7", 1000).await;
    assert_eq!(started, 5, "a burst of the rate");
    assert_eq!(refused.status().as_u16(), 429);
    // 5 a minute: the next in (at most) 12 s.
    let retry = retry_after(&refused);
    assert!((1..=12).contains(&retry), "{retry}");
    let text = refused.text().await.expect("body");
    assert!(
        text.contains("too many sign-ins from this address"),
        "{text}"
    );

    let mut other = Browser::at("198.51.100.8");
    let landed = other.sign_in(&relay).await;
    assert_eq!(landed.url, relay.http_url("/"), "{}", landed.body);
    assert_eq!(other.me(&relay).await["signedIn"], true);
    relay.stop().await;
}

/// However high the rate, one address holds at most its share of the
/// sign-ins in progress: the rest of the map stays for everyone else.
#[tokio::test]
async fn one_address_holds_at_most_its_share_of_the_sign_ins_in_progress() {
    let provider = Provider::start(CLIENT_ID, CLIENT_SECRET, ada()).await;
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = behind_proxy(&provider, &n8n, 1_000_000).await;
    let share = server::identity::oidc::pending::MAX_PENDING_PER_ADDRESS;
    let (started, refused) = flood_logins(&relay, "198.51.100.7", share + 10).await;
    assert_eq!(started, share);
    assert_eq!(refused.status().as_u16(), 429);
    // Until its oldest sign-in expires (--oidc-login-timeout, 10 minutes).
    let retry = retry_after(&refused);
    assert!((1..=600).contains(&retry), "{retry}");
    let text = refused.text().await.expect("body");
    assert!(text.contains("are in progress"), "{text}");

    let mut other = Browser::at("198.51.100.8");
    let landed = other.sign_in(&relay).await;
    assert_eq!(landed.url, relay.http_url("/"), "{}", landed.body);
    assert_eq!(other.me(&relay).await["signedIn"], true);
    relay.stop().await;
}
