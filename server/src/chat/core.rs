//! What the chat core is handed: the parts a message touches, built once by
//! the wiring (`AppState::new`) and cheap to clone into answer tasks.
//!
//! The chat layer never sees the routes, the page, admission or identity.
//! It gets the store, the responder, a session's turns and the answers'
//! Stop switches, the uploaded files, the quotas, the metrics and the
//! operator's pause, the drain, how answers are formatted, and its own
//! settings — the way mini-redis hands each part `Db` and `Shutdown`.

use std::sync::Arc;
use std::time::Duration;

use crate::images::ImageProxy;
use crate::metrics::Metrics;
use crate::responder::feedback::Feedback;
use crate::responder::Responder;
use crate::shutdown::Drain;
use crate::store::pause::Pause;
use crate::store::Store;
use crate::uploads::Uploads;

use super::cancel::Cancels;
use super::progress;
use super::quotas::Quotas;
use super::turns::Turns;
use super::watchers::Watchers;

/// The chat core's handles; cheap to clone.
#[derive(Debug, Clone)]
pub struct Chat(Arc<Parts>);

/// What [`Chat`] is made of; the wiring fills it in once.
#[derive(Debug)]
pub struct Parts {
    /// Sessions, dedup, retained answers, transcripts.
    pub store: Store,
    /// Who answers messages (n8n or echo).
    pub responder: Responder,
    /// A session's messages in order; runs waiting for replies.
    pub turns: Turns,
    /// The answers in flight here, each stoppable.
    pub cancels: Arc<Cancels>,
    /// Messages another relay is answering, watched for a takeover.
    pub watchers: Arc<Watchers>,
    /// Ratings passed on to `--feedback-url`, when set.
    pub feedback: Option<Feedback>,
    /// Files attached to messages, when on.
    pub uploads: Option<Uploads>,
    /// What a public chat may cost.
    pub quotas: Arc<Quotas>,
    /// The Prometheus metrics, to record into.
    pub metrics: Metrics,
    /// The operator's pause, shared through the store.
    pub pause: Pause,
    /// Where answer tasks run, and the shutdown that waits for them.
    pub drain: Drain,
    /// Images in answers the relay serves (`--image-host`), when on.
    pub images: Option<Arc<ImageProxy>>,
    /// The chat's own settings, read once from the flags.
    pub settings: Settings,
}

/// What the chat core is set up with, converted once from the flags by
/// `config` (`Config::chat_settings`): the core never sees a flag struct.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What a visitor sees of the workflow's steps.
    pub progress: progress::Settings,
    /// A resumed session without a relay transcript gets n8n's memory
    /// (`--load-previous-session`).
    pub load_previous_session: bool,
    /// A run's message not followed by more within this is a question
    /// (`--run-settle`).
    pub run_settle: Duration,
    /// How long a run waits for the user's reply (`--max-wait-for-reply`).
    pub max_wait_for_reply: Duration,
    /// How often a message another relay answers is checked for a
    /// takeover ([`takeover_check`] of `--redis-lease`).
    pub takeover_check: Duration,
}

/// How often to check a message another relay answers, for a lease of
/// `redis_lease`: a third of it, so a crashed relay's message is taken
/// over soon after its lease ends, between 50 ms and a second (so a
/// draining relay is not held up by a watcher).
pub fn takeover_check(redis_lease: Duration) -> Duration {
    (redis_lease / 3).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

impl Chat {
    /// The chat core over `parts`.
    pub fn new(parts: Parts) -> Self {
        Chat(Arc::new(parts))
    }

    /// Sessions, dedup, retained answers, transcripts.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Who answers messages.
    pub fn responder(&self) -> &Responder {
        &self.0.responder
    }

    /// A session's messages in order, and the runs waiting for replies.
    pub fn turns(&self) -> &Turns {
        &self.0.turns
    }

    /// The answers in flight here, each stoppable.
    pub fn cancels(&self) -> &Arc<Cancels> {
        &self.0.cancels
    }

    /// Messages another relay is answering, watched for a takeover.
    pub fn watchers(&self) -> &Arc<Watchers> {
        &self.0.watchers
    }

    /// Ratings for `--feedback-url`, when set.
    pub fn feedback(&self) -> Option<&Feedback> {
        self.0.feedback.as_ref()
    }

    /// Files attached to messages, when uploads are on.
    pub fn uploads(&self) -> Option<&Uploads> {
        self.0.uploads.as_ref()
    }

    /// The quotas of a public chat.
    pub fn quotas(&self) -> &Arc<Quotas> {
        &self.0.quotas
    }

    /// The metrics, to record into.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The operator's pause switch.
    pub fn pause(&self) -> &Pause {
        &self.0.pause
    }

    /// Whether the operator paused the chat (nothing goes to n8n).
    pub fn is_paused(&self) -> bool {
        self.0.pause.is_paused()
    }

    /// Where answer tasks run, and whether shutdown has begun.
    pub fn drain(&self) -> &Drain {
        &self.0.drain
    }

    /// The image proxy, when `--image-host` allows any host.
    pub fn images(&self) -> Option<&ImageProxy> {
        self.0.images.as_deref()
    }

    /// The chat's settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// [`Self::format`] for a whole answer, off the async threads when it
    /// has code to highlight ([`crate::highlight::off_thread`]).
    pub async fn format_answer(&self, text: &str) -> Option<shared::rich_text::Doc> {
        if !crate::highlight::may_have_code(text) {
            return self.format(text);
        }
        let (chat, text) = (self.clone(), text.to_owned());
        crate::highlight::off_thread(move || chat.format(&text))
            .await
            .flatten()
    }

    /// A bot text as the protocol's formatted tree (or `None`, see
    /// [`crate::markdown::parse_some`]), with the images the relay serves.
    pub fn format(&self, text: &str) -> Option<shared::rich_text::Doc> {
        crate::markdown::parse_some_with(text, self.images().map(|i| &i.links))
    }
}
