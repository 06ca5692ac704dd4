//! Images and voice in the chat (issue 27): off unless asked for.
//!
//! Images in answers are fetched by the relay, never by the visitor's
//! browser (which would tell a third party who reads the chat), and only
//! from hosts the operator lists: the relay is no open proxy.

use super::values::Secret;

/// Images in answers and voice messages.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Images and voice")]
pub struct MediaFlags {
    /// Show markdown images from this host (host or host:port; repeatable).
    ///
    /// The relay fetches them (PNG, JPEG, GIF, WebP; never SVG) and serves
    /// them from `/api/image/…`, so the page loads nothing from elsewhere.
    /// Images from other hosts stay links. Comma-separated in the env var.
    #[arg(long = "image-host", env = "RELAY_IMAGE_HOST", value_delimiter = ',')]
    pub image_hosts: Vec<String>,

    /// Key that signs image addresses (at least 16 characters).
    ///
    /// Default: a random key made at start. Set the same key on every relay
    /// behind one load balancer, so an address one relay made works on all.
    /// Never logged.
    #[arg(long, env = "RELAY_IMAGE_KEY", value_parser = parse_image_key, hide_env_values = true)]
    pub image_key: Option<Secret>,

    /// Let the page record voice messages (needs --allow-file-uploads).
    ///
    /// The recording (Opus in WebM or Ogg) is sent to n8n as an audio file
    /// with the message; the workflow transcribes it.
    #[arg(long, env = "RELAY_ALLOW_VOICE")]
    pub allow_voice: bool,

    /// Longest voice recording, in seconds.
    #[arg(long, env = "RELAY_MAX_VOICE_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub max_voice_seconds: u32,
}

fn parse_image_key(s: &str) -> Result<Secret, String> {
    if s.chars().count() < 16 {
        return Err("the image key needs at least 16 characters".into());
    }
    Ok(Secret(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn images_and_voice_are_off_unless_asked_for() {
        let c = Config::defaults();
        assert!(c.media.image_hosts.is_empty());
        assert!(c.media.image_key.is_none());
        assert!(!c.media.allow_voice);
        assert_eq!(c.media.max_voice_seconds, 120);
        let c = Config::from_args_without_env([
            "relay",
            "--image-host",
            "img.example",
            "--image-host",
            "127.0.0.1:8080",
            "--allow-voice",
            "--max-voice-seconds",
            "30",
        ]);
        assert_eq!(c.media.image_hosts, ["img.example", "127.0.0.1:8080"]);
        assert!(c.media.allow_voice);
        assert_eq!(c.media.max_voice_seconds, 30);
    }

    #[test]
    fn a_short_image_key_is_refused_and_a_key_is_never_shown() {
        assert!(parse_image_key("short").is_err());
        let key = parse_image_key("0123456789abcdef").expect("key");
        assert!(!format!("{key:?}").contains("0123"));
    }
}
