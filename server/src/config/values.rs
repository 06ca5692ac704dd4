//! The values of flags that need more than a plain parse: secrets that
//! never show in logs, webhook headers, URLs checked at start, and sizes,
//! counts and durations refused where they would break the relay (0, or
//! so long that a clock overflows).
//!
//! The parsers are here; the types they make live with the parts that use
//! them ([`Secret`] in `redact`, the webhook's header and basic auth in
//! `responder::n8n::settings`), so those parts never import the flags.

use std::time::Duration;

pub use crate::redact::Secret;
pub use crate::responder::n8n::settings::{BasicAuth, WebhookHeader};

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

/// A number of bytes as people write it: `65536`, `64KiB`, `10 MiB`, `10MB`.
///
/// Units (case-insensitive, an optional space before them): `B`; the binary
/// `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024); the decimal `KB`, `MB`,
/// `GB`, `TB` (powers of 1000, as disk makers and the `bytesize` crate read
/// them). A plain number is bytes, so every value written before units
/// existed keeps its meaning. Shown as the largest binary unit that divides
/// it exactly (`65536` → `64KiB`), which is how the defaults read in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        const HINT: &str =
            "write a whole number of bytes, optionally with a unit: 65536, 64KiB, 10MiB, 10MB";
        let s = s.trim();
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = s.split_at(digits);
        if number.is_empty() {
            return Err(format!("{s:?} is not a byte size ({HINT})"));
        }
        let number: u64 = number
            .parse()
            .map_err(|_| format!("{s:?} is too large for a byte size"))?;
        let factor: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            _ => {
                return Err(format!(
                    "{s:?}: unknown unit {:?} (B, KiB, MiB, GiB, TiB = powers of 1024; KB, MB, GB, TB = powers of 1000; {HINT})",
                    unit.trim()
                ))
            }
        };
        number
            .checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(|| format!("{s:?} is too large for a byte size"))
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (unit, factor) in [
            ("TiB", 1u64 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ] {
            if self.0 >= factor && self.0.is_multiple_of(factor) {
                return write!(f, "{}{unit}", self.0 / factor);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// A byte-size flag kept as a `u64` (see [`ByteSize`] for what may be written).
pub fn parse_bytes_u64(s: &str) -> Result<u64, String> {
    s.parse::<ByteSize>().map(ByteSize::as_u64)
}

/// A byte-size flag that must be more than 0 (a largest file of 0 bytes
/// would turn uploads on and refuse every one).
pub fn parse_positive_bytes_u64(s: &str) -> Result<u64, String> {
    match parse_bytes_u64(s)? {
        0 => Err("must be more than 0".into()),
        n => Ok(n),
    }
}

/// A count that must be at least 1 (0 would refuse everything it counts).
pub fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>().map_err(|e| e.to_string())? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

/// The longest duration a flag takes: ten years. Far past any sensible
/// setting, and far from where adding it to a clock (`Instant`, or
/// milliseconds since 1970) would overflow and panic a task.
/// (`10y` as written: 365.25 days a year.)
pub const MAX_DURATION: Duration = Duration::from_secs(315_576_000);

/// A duration flag (e.g. `30s`, `500ms`, `10m`), at most [`MAX_DURATION`];
/// 0 allowed (where it means "not at all", e.g. no shutdown grace).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d > MAX_DURATION {
        return Err("must be at most 10 years".into());
    }
    Ok(d)
}

/// A duration flag that must be more than 0: an interval, timeout or
/// lifetime of 0 would fire at once, every time.
pub fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("must be more than 0".into());
    }
    Ok(d)
}

/// `--idle-timeout`: longer than the page's ping interval (25 s) and a
/// little more, else every idle page is closed before its next ping and
/// reconnects, in a loop.
pub fn parse_idle_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    let least = shared::timing::PING_INTERVAL + Duration::from_secs(5);
    if d < least {
        return Err(format!(
            "must be at least {}s: the page pings every {}s",
            least.as_secs(),
            shared::timing::PING_INTERVAL.as_secs()
        ));
    }
    Ok(d)
}

/// A byte-size flag kept as a `usize` (see [`ByteSize`]); refused if it does
/// not fit this machine's `usize`.
pub fn parse_bytes_usize(s: &str) -> Result<usize, String> {
    let n = parse_bytes_u64(s)?;
    usize::try_from(n).map_err(|_| format!("{s:?} is too large for this machine"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_counts_are_refused_where_they_break_the_relay() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_positive_duration("0s").is_err());
        assert_eq!(
            parse_positive_duration("250ms"),
            Ok(Duration::from_millis(250))
        );
        assert!(
            parse_duration("300000000000y").is_err(),
            "would overflow a clock"
        );
        assert!(parse_duration("11y").is_err());
        assert_eq!(parse_duration("10y").map(|d| d <= MAX_DURATION), Ok(true));
        assert!(parse_idle_timeout("20s").is_err(), "below the page's ping");
        assert_eq!(parse_idle_timeout("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_at_least_one("0").is_err());
        assert_eq!(parse_at_least_one("32"), Ok(32));
        assert!(parse_positive_bytes_u64("0").is_err());
        assert_eq!(parse_positive_bytes_u64("1KiB"), Ok(1024));
    }

    #[test]
    fn byte_sizes_are_written_with_units_or_as_plain_bytes() {
        assert_eq!(parse_bytes_u64("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_bytes_u64("65536"), Ok(65536));
        assert_eq!(parse_bytes_u64("64 KiB"), Ok(65536));
        assert_eq!(parse_bytes_u64("64kib"), Ok(65536));
        assert_eq!(parse_bytes_u64("10 MB"), Ok(10_000_000));
        assert_eq!(parse_bytes_u64("1KB"), Ok(1000));
        assert_eq!(parse_bytes_u64("12B"), Ok(12));
        assert_eq!(parse_bytes_usize("1GiB"), Ok(1 << 30));
        for (bad, says) in [
            ("-1", "not a byte size"),
            ("10XB", "unknown unit \"XB\""),
            ("", "not a byte size"),
            ("1.5MiB", "unknown unit"),
            ("99999999999999999999", "too large"),
            ("20000000TiB", "too large"),
        ] {
            let e = parse_bytes_u64(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert_eq!(ByteSize(65536).to_string(), "64KiB");
        assert_eq!(ByteSize(10 * 1024 * 1024).to_string(), "10MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000");
        assert_eq!(ByteSize(0).to_string(), "0");
    }

    #[test]
    fn byte_flags_keep_their_defaults_and_show_them_with_units() {
        let c = crate::Config::defaults();
        assert_eq!(c.limits.max_message_bytes, 65536);
        assert_eq!(c.n8n.max_answer_bytes, 1024 * 1024);
        assert_eq!(c.retention.max_retained_bytes, 64 * 1024 * 1024);
        assert_eq!(c.cluster.redis_max_pending_bytes, 16 * 1024 * 1024);
        assert_eq!(c.uploads.max_upload_bytes, 10 * 1024 * 1024);
        assert_eq!(c.uploads.max_stored_upload_bytes, 256 * 1024 * 1024);
        assert_eq!(c.uploads.max_upload_bytes_per_ip, None);
        let c = crate::Config::from_args_without_env([
            "relay",
            "--max-message-bytes",
            "1000",
            "--max-upload-bytes",
            "2MiB",
            "--max-upload-bytes-per-ip=5 MB",
        ]);
        assert_eq!(c.limits.max_message_bytes, 1000);
        assert_eq!(c.uploads.max_upload_bytes, 2 << 20);
        assert_eq!(c.uploads.max_upload_bytes_per_ip, Some(5_000_000));
        let refused =
            <crate::Config as clap::Parser>::try_parse_from(["relay", "--max-message-bytes", "-1"]);
        assert!(refused.is_err());

        let help = <crate::Config as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(help.contains("[default: 64KiB]"), "{help}");
        assert!(help.contains("[default: 10MiB]"), "{help}");
        let cmd = <crate::Config as clap::CommandFactory>::command();
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if !id.ends_with("_bytes") && !id.contains("_bytes_") {
                continue;
            }
            for default in arg.get_default_values() {
                let default = default.to_string_lossy();
                let shown = default
                    .parse::<ByteSize>()
                    .map(|b| b.to_string())
                    .unwrap_or_default();
                assert_eq!(shown, default, "--{id}'s default reads as a unit");
            }
        }
    }
}
