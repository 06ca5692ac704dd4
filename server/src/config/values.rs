//! The values of flags that need more than a plain parse: secrets that
//! never show in logs, webhook headers, and URLs checked at start.

/// A secret string: shown as `***` in `Debug`, so it cannot end up in a log
/// by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One `--webhook-header`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeader {
    /// Header name.
    pub name: String,
    /// Header value (secret).
    pub value: Secret,
}

/// `--webhook-basic-auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password (secret).
    pub password: Secret,
}

/// A `--webhook-header` value: `Name: value`.
pub fn parse_header(s: &str) -> Result<WebhookHeader, String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| "expected 'Name: value'".to_owned())?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
    {
        return Err(format!("{name:?} is not a valid header name"));
    }
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err("header values may not contain line breaks".into());
    }
    Ok(WebhookHeader {
        name: name.to_owned(),
        value: Secret(value.to_owned()),
    })
}

/// A `--redis-url`: `redis://`, `redis+unix://` or `unix://` (no TLS).
pub fn parse_redis_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "redis" | "redis+unix" | "unix" => Ok(url),
        "rediss" => Err(
            "TLS to Redis (rediss://) is not built in; reach Redis on a private network or through a TLS tunnel".into(),
        ),
        other => Err(format!("expected a redis:// URL, got {other}://")),
    }
}

/// A `--push-token`: at least 16 characters.
pub fn parse_push_token(s: &str) -> Result<Secret, String> {
    if s.chars().count() < 16 {
        return Err("the push token must be at least 16 characters (use a random one)".into());
    }
    Ok(Secret(s.to_owned()))
}

/// A `--webhook-basic-auth` value: `user:password`.
pub fn parse_basic_auth(s: &str) -> Result<BasicAuth, String> {
    let (user, password) = s
        .split_once(':')
        .ok_or_else(|| "expected 'user:password'".to_owned())?;
    Ok(BasicAuth {
        user: user.to_owned(),
        password: Secret(password.to_owned()),
    })
}

/// A `--public-url`: an http(s) URL with a host.
pub fn parse_public_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the public URL needs a host".into()),
        other => Err(format!(
            "expected an http:// or https:// URL, got {other}://"
        )),
    }
}

/// A `--relay-url`: a ws(s) URL with a host and no user info.
pub fn parse_ws_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "ws" | "wss"
            if url.host().is_some() && url.username().is_empty() && url.password().is_none() =>
        {
            Ok(url)
        }
        "ws" | "wss" => Err("the relay URL needs a host and no user info".into()),
        other => Err(format!("expected a ws:// or wss:// URL, got {other}://")),
    }
}

/// A CSP source list: printable ASCII without the characters that would end
/// the directive (`;`, `,`) or smuggle a header.
pub fn parse_frame_ancestors(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("give at least one source, e.g. '*', \"'self'\" or \"'none'\"".into());
    }
    if !s
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b';' && b != b',')
    {
        return Err("CSP sources are printable ASCII without ';' or ','".into());
    }
    Ok(s.to_owned())
}
