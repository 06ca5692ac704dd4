//! Where messages go and how n8n is asked.

use std::time::Duration;

use crate::responder::n8n::ClientSettings;

use super::values::{
    parse_basic_auth, parse_bytes_usize, parse_header, parse_push_token, parse_ws_url, BasicAuth,
    Secret, WebhookHeader,
};

/// Where messages go and how n8n is asked.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "n8n")]
pub struct N8nFlags {
    /// The n8n webhook or Chat Trigger URL to forward messages to.
    ///
    /// Without it the relay runs in echo mode.
    #[arg(long, env = "RELAY_WEBHOOK_URL", hide_env_values = true)]
    pub webhook_url: Option<url::Url>,

    /// An n8n Webhook that receives the users' 👍/👎 ratings of answers.
    ///
    /// Posted as JSON with sessionId, messageId, rating, answer. Without it the
    /// page shows no rating buttons. Sent by the relay only, without the chat
    /// webhook's credentials: put a secret in the URL's path if it needs one.
    #[arg(
        help_heading = "Push and ratings",
        long,
        env = "RELAY_FEEDBACK_URL",
        hide_env_values = true
    )]
    pub feedback_url: Option<url::Url>,

    /// Longest time for one message, from its acceptance to n8n's whole answer.
    ///
    /// Counted from the moment the relay accepts the message, so waiting for a
    /// free slot counts.
    #[arg(help_heading = "Timing", long, env = "RELAY_WEBHOOK_TIMEOUT", default_value = "120s", value_parser = super::values::parse_positive_duration)]
    pub webhook_timeout: Duration,

    /// Largest answer read from n8n (streamed or not; e.g. 1MiB).
    ///
    /// A larger one ends in an error, with what arrived so far kept on the
    /// page.
    #[arg(long, env = "RELAY_MAX_ANSWER_BYTES", default_value = "1MiB", value_parser = parse_bytes_usize)]
    pub max_answer_bytes: usize,

    /// Field name of the chat text in the request to n8n.
    ///
    /// The chat widget's `chatInputKey`.
    #[arg(long, env = "RELAY_CHAT_INPUT_KEY", default_value = "chatInput")]
    pub chat_input_key: String,

    /// Field name of the session id in the request to n8n.
    ///
    /// The chat widget's `chatSessionKey`.
    #[arg(long, env = "RELAY_SESSION_KEY", default_value = "sessionId")]
    pub session_key: String,

    /// Extra header for every request to n8n, as 'Name: value' (repeatable).
    ///
    /// In the env var, one per line. Stays on the relay; never logged.
    #[arg(long = "webhook-header", env = "RELAY_WEBHOOK_HEADERS", value_delimiter = '\n', value_parser = parse_header, hide_env_values = true)]
    pub webhook_headers: Vec<WebhookHeader>,

    /// Basic auth for n8n, as 'user:password'.
    ///
    /// E.g. for a Chat Trigger with Basic authentication. Stays on the relay;
    /// never logged.
    #[arg(long, env = "RELAY_WEBHOOK_BASIC_AUTH", value_parser = parse_basic_auth, hide_env_values = true)]
    pub webhook_basic_auth: Option<BasicAuth>,

    /// On connect with a known session, load its history from n8n's memory.
    ///
    /// Asks n8n for the conversation so far (`loadPreviousSession`; needs a
    /// memory node on the Chat Trigger) and sends it to the page as a `history`
    /// frame.
    #[arg(long, env = "RELAY_LOAD_PREVIOUS_SESSION")]
    pub load_previous_session: bool,

    /// At most this many requests to n8n at once; more wait their turn.
    ///
    /// First come, first served, so a burst of users cannot overwhelm n8n.
    #[arg(long, env = "RELAY_MAX_CONCURRENT_WEBHOOKS", default_value_t = 32)]
    pub max_concurrent_webhooks: usize,

    /// At most this many messages wait for a free slot at n8n.
    ///
    /// See --max-concurrent-webhooks; more get `rate_limited` with a retry
    /// hint.
    #[arg(long, env = "RELAY_MAX_QUEUED_WEBHOOKS", default_value_t = 1000)]
    pub max_queued_webhooks: usize,

    /// Bearer token that lets a workflow push messages into a chat.
    ///
    /// For `POST /api/sessions/{id}/messages`, with which a workflow pushes a
    /// message to a chat later; at least 16 characters. Without it the endpoint
    /// is off. Never logged.
    #[arg(help_heading = "Push and ratings", long, env = "RELAY_PUSH_TOKEN", value_parser = parse_push_token, hide_env_values = true)]
    pub push_token: Option<Secret>,

    /// n8n's chat socket for "Respond to Chat" runs (ws:// or wss://).
    ///
    /// For a Chat Trigger responding "Using Response Nodes", e.g.
    /// wss://n8n.example/chat. Without it: the webhook URL's origin + /chat, as
    /// n8n's widget does.
    #[arg(long, env = "RELAY_N8N_CHAT_URL", value_parser = parse_ws_url)]
    pub n8n_chat_url: Option<url::Url>,

    /// Follow "Respond to Chat" runs (off by default: read --help first).
    ///
    /// When n8n answers a message with exactly
    /// `{"executionStarted":true,"executionId":"<id>"}` (a Chat Trigger
    /// responding "Using Response Nodes"), open n8n's chat socket of that
    /// execution. Off by default: n8n does not check that an execution belongs
    /// to the conversation, so a workflow whose last node echoes user-shaped
    /// JSON would otherwise let a visitor join another conversation's run.
    /// Without it such an answer is an invalid one.
    #[arg(long, env = "RELAY_RESPOND_TO_CHAT")]
    pub respond_to_chat: bool,

    /// n8n's `WEBHOOK_URL`, if its links differ from the address the relay uses.
    ///
    /// E.g. `https://n8n.example.com/`. An approval button's link must be on
    /// this origin and path; it is signed over this host, which the relay sends
    /// as `Host`. Without it: the webhook URL's origin (and its path before
    /// `/webhook/`).
    #[arg(long, env = "RELAY_N8N_PUBLIC_URL", value_parser = parse_n8n_public_url)]
    pub n8n_public_url: Option<url::Url>,

    /// How long a run may wait for the user's reply.
    ///
    /// n8n's own widget waits 45 minutes; then the relay lets go of the run and
    /// tells the page.
    #[arg(help_heading = "Timing", long, env = "RELAY_MAX_WAIT_FOR_REPLY", default_value = "45m", value_parser = super::values::parse_positive_duration)]
    pub max_wait_for_reply: Duration,

    /// How long to wait for n8n's `n8n|continue` after a run's message.
    ///
    /// Until then the message is not taken as a question: n8n sends both in the
    /// same instant.
    #[arg(help_heading = "Timing", long, env = "RELAY_RUN_SETTLE", default_value = "250ms", value_parser = super::values::parse_duration)]
    pub run_settle: Duration,
}

impl N8nFlags {
    /// The n8n client's settings; `None` without `--webhook-url` (echo mode).
    pub fn client_settings(&self) -> Option<ClientSettings> {
        let url = self.webhook_url.clone()?;
        Some(ClientSettings {
            url,
            timeout: self.webhook_timeout,
            max_answer_bytes: self.max_answer_bytes,
            chat_input_key: self.chat_input_key.clone(),
            session_key: self.session_key.clone(),
            headers: self.webhook_headers.clone(),
            basic_auth: self.webhook_basic_auth.clone(),
            max_concurrent: self.max_concurrent_webhooks,
            max_queued: self.max_queued_webhooks,
            chat_url: self.n8n_chat_url.clone(),
            respond_to_chat: self.respond_to_chat,
            public_url: self.n8n_public_url.clone(),
        })
    }
}

/// A `--n8n-public-url`: n8n's `WEBHOOK_URL`, http(s) with a host, without
/// user info, query or fragment (the approval links are this plus
/// `webhook-waiting/…`). A path without its closing `/` gets one, as n8n
/// adds it to `WEBHOOK_URL`.
pub fn parse_n8n_public_url(s: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "expected an http:// or https:// URL, got {}://",
            url.scheme()
        ));
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err("n8n's public URL needs a host and no user info".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("n8n's public URL has no query or fragment (it is n8n's WEBHOOK_URL)".into());
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_settings_carry_the_flags_and_echo_mode_has_none() {
        assert!(crate::Config::defaults().n8n.client_settings().is_none());
        let c = crate::Config::from_args_without_env([
            "relay",
            "--webhook-url",
            "http://n8n.local/webhook/chat",
            "--webhook-timeout",
            "5s",
            "--webhook-header",
            "X-Key: k",
            "--webhook-basic-auth",
            "u:p",
            "--max-concurrent-webhooks",
            "3",
            "--respond-to-chat",
        ]);
        let s = c.n8n.client_settings().expect("n8n");
        assert_eq!(s.url.as_str(), "http://n8n.local/webhook/chat");
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.headers, c.n8n.webhook_headers);
        assert_eq!(s.basic_auth.map(|a| a.user), Some("u".to_owned()));
        assert_eq!((s.max_concurrent, s.max_queued), (3, 1000));
        assert_eq!(s.max_answer_bytes, 1 << 20);
        assert_eq!(
            (s.chat_input_key.as_str(), s.session_key.as_str()),
            ("chatInput", "sessionId")
        );
        assert!(s.respond_to_chat);
        assert_eq!((s.chat_url, s.public_url), (None, None));
    }

    #[test]
    fn n8ns_public_url_is_an_origin_with_a_base_path() {
        assert_eq!(
            parse_n8n_public_url("https://n8n.example.com").map(String::from),
            Ok("https://n8n.example.com/".to_owned())
        );
        assert_eq!(
            parse_n8n_public_url("https://example.com/n8n").map(String::from),
            Ok("https://example.com/n8n/".to_owned())
        );
        for bad in [
            "https://user:pw@n8n.example.com/",
            "https://n8n.example.com/?a=1",
            "wss://n8n.example.com/",
            "not a url",
        ] {
            assert!(parse_n8n_public_url(bad).is_err(), "{bad}");
        }
    }
}
