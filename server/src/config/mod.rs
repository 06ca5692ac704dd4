//! Command-line flags; every flag is also an environment variable.
//!
//! The flags come in groups, one struct each, so every part of the relay
//! gets only the group it needs and `relay --help` shows the groups as
//! headings: [`serve`] (listening, the page, who may connect), [`n8n`]
//! (where messages go), [`limits`] (what one client may do), [`retention`]
//! (what is kept for absent sessions), [`cluster`] (Redis), [`page`] (what
//! the page shows), [`uploads`] (files attached to messages), [`logging`]
//! (the log lines' format). [`values`] holds the secrets, the checked URLs
//! and the byte sizes; [`aliases`] the deprecated `N8N_*` variable names.
//!
//! The flags stop here: each group converts itself, once, into the small
//! settings type of the part that uses it (`N8nFlags::client_settings`,
//! `UploadFlags::settings`, [`Config::chat_settings`], …), and the wiring
//! (`AppState::new`) hands those on. So this layer imports the parts'
//! types, never the other way round (checked by `tests/it/architecture.rs`).

pub mod admin;
pub mod aliases;
pub mod cluster;
pub mod identity;
pub mod limits;
pub mod logging;
pub mod media;
pub mod n8n;
pub mod oidc;
pub mod page;
pub mod progress;
pub mod quotas;
pub mod retention;
pub mod serve;
pub mod storage;
pub mod uploads;
pub mod values;

use clap::Parser;

pub use admin::AdminFlags;
pub use cluster::ClusterFlags;
pub use identity::IdentityFlags;
pub use limits::LimitFlags;
pub use logging::{LogFormat, LoggingFlags};
pub use media::MediaFlags;
pub use n8n::N8nFlags;
pub use oidc::OidcFlags;
pub use page::PageFlags;
pub use progress::ProgressFlags;
pub use quotas::QuotaFlags;
pub use retention::RetentionFlags;
pub use serve::ServeFlags;
pub use storage::StoreFlags;
pub use uploads::UploadFlags;
pub use values::{BasicAuth, Secret, WebhookHeader};

/// The relay between the chat page and an n8n webhook.
///
/// Without --webhook-url it answers every message itself ("echo: …"), so the
/// page can be tried without n8n.
#[derive(Debug, Clone, Parser)]
#[command(name = "relay", version, about, long_about = None)]
pub struct Config {
    /// Listening, the page, who may connect.
    #[command(flatten)]
    pub serve: ServeFlags,
    /// Where messages go.
    #[command(flatten)]
    pub n8n: N8nFlags,
    /// What one client may do.
    #[command(flatten)]
    pub limits: LimitFlags,
    /// What is kept for sessions that are away.
    #[command(flatten)]
    pub retention: RetentionFlags,
    /// Several relays sharing Redis.
    #[command(flatten)]
    pub cluster: ClusterFlags,
    /// What the page shows.
    #[command(flatten)]
    pub page: PageFlags,
    /// Files attached to messages.
    #[command(flatten)]
    pub uploads: UploadFlags,
    /// The log lines' format.
    #[command(flatten)]
    pub logging: LoggingFlags,
    /// Where sessions are kept.
    #[command(flatten)]
    pub store: StoreFlags,
    /// The operator's listener.
    #[command(flatten)]
    pub admin: AdminFlags,
    /// What a public chat may cost.
    #[command(flatten)]
    pub quotas: QuotaFlags,
    /// Verified identity (signed tokens from the host site).
    #[command(flatten)]
    pub identity: IdentityFlags,
    /// What a visitor sees of the workflow's progress.
    #[command(flatten)]
    pub progress: ProgressFlags,
    /// Sign-in with OpenID Connect; anonymous visitors refused.
    #[command(flatten)]
    pub oidc: OidcFlags,
    #[command(flatten)]
    pub media: MediaFlags,
}

impl Config {
    /// The chat core's settings, read from several groups of flags.
    pub fn chat_settings(&self) -> crate::chat::core::Settings {
        crate::chat::core::Settings {
            progress: self.progress.settings(),
            load_previous_session: self.n8n.load_previous_session,
            run_settle: self.n8n.run_settle,
            max_wait_for_reply: self.n8n.max_wait_for_reply,
            takeover_check: crate::chat::core::takeover_check(self.cluster.redis_lease),
        }
    }

    /// The defaults, as `relay` with no flags would use, **ignoring the
    /// environment**: tests start from this and shorten intervals, and an
    /// exported `RELAY_*` or `N8N_*` variable must not change their outcome.
    pub fn defaults() -> Self {
        Self::from_args_without_env(["relay"])
    }

    /// Parses `args` like the binary, but without reading environment
    /// variables (for tests). Panics on invalid arguments, like `parse_from`.
    pub fn from_args_without_env<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let command = Config::command().mut_args(|arg| arg.env(None));
        let matches = command.get_matches_from(args);
        match Config::from_arg_matches(&matches) {
            Ok(config) => config,
            Err(e) => e.exit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::values::*;
    use super::*;
    use std::time::Duration;

    #[test]
    fn headers_and_basic_auth_parse_and_hide_their_secrets() {
        let h = parse_header("X-N8N-Token:  s3cret ").expect("header");
        assert_eq!(
            (h.name.as_str(), h.value.0.as_str()),
            ("X-N8N-Token", "s3cret")
        );
        assert!(!format!("{h:?}").contains("s3cret"));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        let a = parse_basic_auth("me:pa:ss").expect("auth");
        assert_eq!((a.user.as_str(), a.password.0.as_str()), ("me", "pa:ss"));
        assert!(!format!("{a:?}").contains("pa:ss"));
        assert!(parse_basic_auth("nopassword").is_err());
    }

    #[test]
    fn the_configuration_reference_documents_every_flag_and_its_env_var() {
        let readme = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/configuration.md"
        ));
        let cmd = <Config as clap::CommandFactory>::command();
        for arg in cmd.get_arguments() {
            let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else {
                continue;
            };
            let env = env.to_string_lossy();
            // A row of the table: `| `--flag…` | `ENV…` | …`.
            let row = readme.lines().any(|line| {
                line.strip_prefix(&format!("| `--{long}"))
                    .is_some_and(|rest| rest.starts_with(['`', ' ']))
                    && line.contains(&format!("`{env}`"))
            });
            assert!(row, "docs/configuration.md's table lacks --{long} / {env}");
        }
    }

    #[test]
    fn help_never_shows_secrets_from_the_environment() {
        let cmd = <Config as clap::CommandFactory>::command();
        let secret = [
            "webhook_url",
            "webhook_headers",
            "webhook_basic_auth",
            "push_token",
            "redis_url",
            "admin_token",
            "proof_of_work_secret",
            "identity_secret",
            "oidc_client_secret",
            "image_key",
        ];
        for arg in cmd.get_arguments() {
            if secret.contains(&arg.get_id().as_str()) {
                assert!(
                    arg.is_hide_env_values_set(),
                    "--{} would show its env value in --help",
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn help_shows_the_flag_groups_as_headings() {
        let help = <Config as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        for heading in [
            "Listening and the page:",
            "n8n:",
            "Limits:",
            "Retention:",
            "Several relays (Redis):",
            "Page settings (/config.json):",
            "Uploads:",
        ] {
            assert!(help.contains(heading), "no {heading:?} in --help:\n{help}");
        }
        let n8n = help.find("n8n:").unwrap_or(0);
        let webhook = help.find("--webhook-url").unwrap_or(0);
        assert!(webhook > n8n, "--webhook-url is under the n8n heading");

        // Flags that are not about n8n, and the timing flags, have their own
        // headings although their fields stay in their parts' structs.
        let cmd = <Config as clap::CommandFactory>::command();
        let heading = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_help_heading())
                .map(str::to_owned)
        };
        for id in ["push_token", "feedback_url"] {
            assert_eq!(heading(id).as_deref(), Some("Push and ratings"), "--{id}");
        }
        for id in [
            "heartbeat_interval",
            "idle_timeout",
            "shutdown_grace",
            "webhook_timeout",
            "max_wait_for_reply",
            "run_settle",
            "http_header_timeout",
            "upload_stall_timeout",
        ] {
            assert_eq!(heading(id).as_deref(), Some("Timing"), "--{id}");
        }
        for h in ["Push and ratings:", "Timing:"] {
            assert!(help.contains(h), "no {h:?} in --help:\n{help}");
        }
    }

    /// `-h` shows each flag's first sentence on one line; `--help` the rest.
    #[test]
    fn short_help_is_one_short_line_per_flag() {
        let cmd = <Config as clap::CommandFactory>::command();
        let long: Vec<String> = cmd
            .get_arguments()
            .filter_map(|arg| {
                let help = arg.get_help()?.to_string();
                (help.contains('\n') || help.chars().count() > 80)
                    .then(|| format!("--{} ({}): {help}", arg.get_id(), help.chars().count()))
            })
            .collect();
        assert!(long.is_empty(), "-h lines too long:\n{}", long.join("\n"));
    }

    #[test]
    fn redis_urls_are_checked_at_start() {
        assert!(parse_redis_url("redis://:pw@10.0.0.5:6379/2").is_ok());
        assert!(parse_redis_url("unix:///run/redis.sock").is_ok());
        let tls = parse_redis_url("rediss://host:6380").expect_err("no TLS");
        assert!(tls.contains("TLS"), "{tls}");
        assert!(parse_redis_url("http://host").is_err());
        assert!(parse_redis_url("not a url").is_err());
        let c = Config::defaults();
        assert_eq!(c.cluster.redis_url, None, "in memory unless asked");
        assert_eq!(c.cluster.redis_prefix, "n8n-chat:");
        assert_eq!(c.cluster.redis_lease, Duration::from_secs(15));
    }

    #[test]
    fn every_flag_has_an_env_var_and_the_documented_default() {
        let c = Config::defaults();
        assert_eq!(c.serve.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.serve.heartbeat_interval, Duration::from_secs(30));
        assert_eq!(c.n8n.webhook_timeout, Duration::from_secs(120));
        assert_eq!(c.limits.max_message_bytes, 65536);
        assert_eq!(c.n8n.chat_input_key, "chatInput");
        assert_eq!(c.n8n.session_key, "sessionId");
        let cmd = <Config as clap::CommandFactory>::command();
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            assert!(arg.get_env().is_some(), "--{id} has no env var");
        }
    }
}
