//! The page's languages and its texts. The texts are data: one catalogue
//! per language in `frontend/i18n/<code>.json`, fetched for the language in
//! use (see `docs/translations.md`); plurals, numbers, sizes, clocks and
//! dates come from the browser's `Intl` through [`Formats`]. This file only
//! names the keys: every text the page shows is one method of [`Texts`].
//!
//! To add a text: add the key to every `frontend/i18n/*.json`, and a method
//! here that reads it with `self.s("key")` (plain), `self.f("key", args)`
//! (placeholders) or `self.p("key", n, args)` (plural). The test
//! `every_catalogue_has_exactly_the_keys_the_code_uses` fails until both
//! sides agree.

use shared::ErrorCode;

use super::attachments::Refusal;
use super::catalogue::Catalogue;
use super::time::When;

/// One language the page speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// BCP 47 code, also the catalogue's file name.
    pub code: &'static str,
    /// Its name in itself (the language menu shows every language so).
    pub name: &'static str,
    /// Written right to left.
    pub rtl: bool,
}

/// Every language with a catalogue (English first: the fallback).
pub const LANGUAGES: [Language; 12] = [
    lang("en", "English", false),
    lang("de", "Deutsch", false),
    lang("fr", "Français", false),
    lang("es", "Español", false),
    lang("it", "Italiano", false),
    lang("pt-BR", "Português (Brasil)", false),
    lang("nl", "Nederlands", false),
    lang("pl", "Polski", false),
    lang("tr", "Türkçe", false),
    lang("ja", "日本語", false),
    lang("zh-CN", "简体中文", false),
    lang("ar", "العربية", true),
];

const fn lang(code: &'static str, name: &'static str, rtl: bool) -> Language {
    Language { code, name, rtl }
}

/// The page's language: one of [`LANGUAGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(usize);

impl Lang {
    /// English, the fallback.
    pub const EN: Lang = Lang(0);
    /// German.
    pub const DE: Lang = Lang(1);

    /// Every language, in menu order.
    pub fn all() -> impl Iterator<Item = Lang> {
        (0..LANGUAGES.len()).map(Lang)
    }

    fn info(self) -> &'static Language {
        &LANGUAGES[self.0 % LANGUAGES.len()]
    }

    /// The language for a code (`de`, `pt-BR`; any case), if it is ours.
    pub fn from_code(code: &str) -> Option<Lang> {
        LANGUAGES
            .iter()
            .position(|l| l.code.eq_ignore_ascii_case(code))
            .map(Lang)
    }

    /// The best of ours for one browser tag: the exact code (`pt-BR`),
    /// else the same base language (`de-AT` → `de`, `pt-PT` → `pt-BR`,
    /// `zh-Hans-CN` → `zh-CN`).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::from_code(tag).or_else(|| {
            let base = tag.split(['-', '_']).next().unwrap_or_default();
            LANGUAGES
                .iter()
                .position(|l| {
                    let ours = l.code.split('-').next().unwrap_or_default();
                    !base.is_empty() && ours.eq_ignore_ascii_case(base)
                })
                .map(Lang)
        })
    }

    /// The first of the browser's languages (`navigator.languages`, in
    /// the user's order) that we have; English if none.
    pub fn from_tags<S: AsRef<str>>(tags: &[S]) -> Lang {
        tags.iter()
            .find_map(|t| Lang::from_tag(t.as_ref()))
            .unwrap_or(Lang::EN)
    }

    /// The page's language: what the user picked (stored), else what the
    /// deployment configured (`auto` or nothing: the browser's), else the
    /// browser's languages against the catalogues, else English.
    pub fn choose<S: AsRef<str>>(
        stored: Option<&str>,
        configured: Option<&str>,
        browser: &[S],
    ) -> Lang {
        stored
            .and_then(Lang::from_code)
            .or_else(|| configured.and_then(Lang::from_code))
            .unwrap_or_else(|| Lang::from_tags(browser))
    }

    /// The code (`<html lang>`, storage, the catalogue's name).
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// The language's name in itself.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// `rtl` or `ltr` (`<html dir>`).
    pub fn dir(self) -> &'static str {
        if self.info().rtl {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// What the quick switch switches to: German from English, English
    /// from any other language.
    pub fn other(self) -> Lang {
        if self == Lang::EN {
            Lang::DE
        } else {
            Lang::EN
        }
    }
}

/// What the browser formats for a language (`Intl` in the page, a plain
/// stand-in in native tests). Plain function pointers, so [`Texts`] stays
/// `Send + Sync` for signals.
#[derive(Debug, Clone, Copy)]
pub struct Formats {
    /// The CLDR plural category of a count (`Intl.PluralRules`).
    pub plural: fn(&str, f64) -> String,
    /// A whole number (`Intl.NumberFormat`).
    pub number: fn(&str, f64) -> String,
    /// A file size in B, kB or MB (`Intl.NumberFormat`, unit style).
    pub size: fn(&str, u64) -> String,
    /// A percentage, 0–100 (`Intl.NumberFormat`, percent style).
    pub percent: fn(&str, u8) -> String,
    /// "5 min ago" (`Intl.RelativeTimeFormat`).
    pub minutes_ago: fn(&str, u64) -> String,
    /// A clock time of a moment in ms (`Intl.DateTimeFormat`).
    pub clock: fn(&str, f64) -> String,
    /// A short date and clock time of a moment in ms (`Intl.DateTimeFormat`).
    pub date_time: fn(&str, f64) -> String,
}

impl Formats {
    /// English-only stand-ins for native tests (only there: formatting an
    /// `f64` in Rust would add kilobytes of float code to the wasm).
    #[cfg(test)]
    pub fn plain() -> Formats {
        Formats {
            plural: |_, n| if n == 1.0 { "one" } else { "other" }.into(),
            number: |_, n| format!("{n}"),
            size: |_, b| format!("{b} B"),
            percent: |_, p| format!("{p}%"),
            minutes_ago: |_, m| format!("{m} min ago"),
            clock: |_, ms| format!("@{ms}"),
            date_time: |_, ms| format!("date@{ms}"),
        }
    }
}

/// The texts of one language: its catalogue and the browser's formats.
#[derive(Debug, Clone)]
pub struct Texts {
    lang: Lang,
    catalogue: Catalogue,
    formats: Formats,
}

impl Texts {
    /// The texts of `lang` from its catalogue.
    pub fn new(lang: Lang, catalogue: Catalogue, formats: Formats) -> Texts {
        Texts {
            lang,
            catalogue,
            formats,
        }
    }

    /// Nothing loaded yet (the page shows nothing rather than keys).
    pub fn empty(formats: Formats) -> Texts {
        Texts::new(Lang::EN, Catalogue::default(), formats)
    }

    /// Whether a catalogue is loaded.
    pub fn is_loaded(&self) -> bool {
        !self.catalogue.is_empty()
    }

    /// The language of these texts.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// A plain text.
    fn s(&self, key: &str) -> String {
        self.catalogue.format(key, "other", &[])
    }

    /// A text with `{name}` placeholders.
    fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.catalogue.format(key, "other", args)
    }

    /// A plural text for the count `n` (`{n}` is the formatted count).
    fn p(&self, key: &str, n: u64, args: &[(&str, &str)]) -> String {
        let code = self.lang.code();
        let category = (self.formats.plural)(code, n as f64);
        let count = (self.formats.number)(code, n as f64);
        let mut all = vec![("n", count.as_str())];
        all.extend_from_slice(args);
        self.catalogue.format(key, &category, &all)
    }

    fn num(&self, n: u64) -> String {
        (self.formats.number)(self.lang.code(), n as f64)
    }

    /// The page title.
    pub fn title(&self) -> String {
        self.s("title")
    }
    /// Status: first attempt.
    pub fn connecting(&self) -> String {
        self.s("status.connecting")
    }
    /// Status: online.
    pub fn online(&self) -> String {
        self.s("status.online")
    }
    /// Status: reconnecting, attempt n of m, next try in s seconds.
    pub fn reconnecting(&self, attempt: u32, max: u32, in_secs: Option<u32>) -> String {
        let (attempt, max) = (self.num(attempt.into()), self.num(max.into()));
        match in_secs {
            Some(s) => self.f(
                "status.reconnecting-in",
                &[
                    ("attempt", &attempt),
                    ("max", &max),
                    ("seconds", &self.num(s.into())),
                ],
            ),
            None => self.f(
                "status.reconnecting",
                &[("attempt", &attempt), ("max", &max)],
            ),
        }
    }
    /// Status: offline.
    pub fn offline(&self) -> String {
        self.s("status.offline")
    }
    /// The retry button.
    pub fn retry(&self) -> String {
        self.s("status.retry")
    }
    /// The send button.
    pub fn send(&self) -> String {
        self.s("composer.send")
    }
    /// The input's placeholder.
    pub fn placeholder(&self) -> String {
        self.s("composer.placeholder")
    }
    /// Under a message waiting for the link.
    pub fn queued(&self) -> String {
        self.s("message.queued")
    }
    /// Under a message waiting for its answer, after `secs` seconds.
    pub fn waiting(&self, secs: u64) -> String {
        if secs < 2 {
            return self.s("message.waiting");
        }
        let (m, s) = (secs / 60, secs % 60);
        if m == 0 {
            self.f("message.waiting-seconds", &[("seconds", &self.num(s))])
        } else {
            self.f(
                "message.waiting-minutes",
                &[("minutes", &self.num(m)), ("seconds", &format!("{s:02}"))],
            )
        }
    }
    /// Round-trip tooltip.
    pub fn rtt(&self, ms: f64) -> String {
        let ms = ms.max(0.0).round() as u64;
        self.f("status.rtt", &[("ms", &self.num(ms))])
    }
    /// Welcome line for an empty conversation.
    pub fn welcome(&self) -> String {
        self.s("welcome")
    }
    /// The quick language switch's tooltip (its label is `to`'s name).
    pub fn switch_to(&self, to: Lang) -> String {
        self.f("tools.switch-language", &[("language", to.name())])
    }
    /// The language menu's accessible name.
    pub fn language_menu(&self) -> String {
        self.s("tools.language")
    }
    /// The theme switch, naming the theme in use.
    pub fn theme_label(&self, theme: crate::model::theme::Theme) -> String {
        use crate::model::theme::Theme;
        match theme {
            Theme::Auto => self.s("tools.theme-auto"),
            Theme::Light => self.s("tools.theme-light"),
            Theme::Dark => self.s("tools.theme-dark"),
        }
    }
    /// Start a new conversation (new session).
    pub fn new_chat(&self) -> String {
        self.s("tools.new-chat")
    }
    /// Remove the shown messages (same session).
    pub fn clear_history(&self) -> String {
        self.s("tools.clear-history")
    }
    /// The microphone button, idle.
    pub fn record_voice(&self) -> String {
        self.s("composer.record-voice")
    }
    /// The microphone button while recording.
    pub fn stop_recording(&self) -> String {
        self.s("composer.stop-recording")
    }
    /// The button that throws a recording away.
    pub fn cancel_recording(&self) -> String {
        self.s("composer.cancel-recording")
    }
    /// The microphone was refused (by the user or the browser's settings).
    pub fn mic_refused(&self) -> String {
        self.s("composer.mic-refused")
    }
    /// The browser cannot record.
    pub fn mic_unsupported(&self) -> String {
        self.s("composer.mic-unsupported")
    }
    /// The speaker button under an answer.
    pub fn read_aloud(&self) -> String {
        self.s("message.read-aloud")
    }
    /// The speaker button while reading.
    pub fn stop_reading(&self) -> String {
        self.s("message.stop-reading")
    }
    /// The header link to the identity provider (a relay with sign-in).
    pub fn sign_in(&self) -> String {
        self.s("tools.sign-in")
    }
    /// The header button that signs out.
    pub fn sign_out(&self) -> String {
        self.s("tools.sign-out")
    }
    /// The sign-out button's title: who is signed in.
    pub fn signed_in_as(&self, name: &str) -> String {
        self.f("tools.signed-in-as", &[("name", name)])
    }
    /// Copy a message or code block.
    pub fn copy(&self) -> String {
        self.s("message.copy")
    }
    /// After copying.
    pub fn copied(&self) -> String {
        self.s("message.copied")
    }
    /// The message list's accessible name.
    pub fn messages_label(&self) -> String {
        self.s("messages.label")
    }
    /// The chat bubble (window mode) when the chat is closed / open.
    pub fn toggle_chat(&self, open: bool) -> String {
        match open {
            false => self.s("window.open"),
            true => self.s("window.close"),
        }
    }
    /// The relay answered a resume with another session.
    pub fn session_changed(&self) -> String {
        self.s("note.session-changed")
    }
    /// A run waits for the user's reply.
    pub fn run_waiting(&self) -> String {
        self.s("run.waiting")
    }
    /// A run waits for one of its buttons; typing is blocked.
    pub fn run_waiting_buttons(&self) -> String {
        self.s("run.waiting-buttons")
    }
    /// A run waits for a button; a typed reply counts as declining.
    pub fn run_waiting_typing_declines(&self) -> String {
        self.s("run.waiting-typing-declines")
    }
    /// Even after trimming old messages, the browser's storage is full.
    pub fn storage_full(&self) -> String {
        self.s("note.storage-full")
    }
    /// Embedded, and the site keeps nothing for the chat.
    pub fn not_kept(&self) -> String {
        self.s("note.not-kept")
    }
    /// Embedded in a site the relay does not allow.
    pub fn embed_refused(&self) -> String {
        self.s("note.embed-refused")
    }
    /// The operator paused the chat: what is typed waits.
    pub fn paused(&self) -> String {
        self.s("note.paused")
    }
    /// Under a message kept while the chat is paused.
    pub fn queued_paused(&self) -> String {
        self.s("message.queued-paused")
    }
    /// A message was refused by a quota; `at` is when it can be sent again
    /// (the user's local time, e.g. "01:00"). The chat's budget is said as
    /// the chat's limit, not the user's.
    pub fn quota_reached(&self, quota: Option<shared::QuotaKind>, at: &str) -> String {
        if quota == Some(shared::QuotaKind::Budget) {
            self.f("quota.budget", &[("at", at)])
        } else {
            self.f("quota.visitor", &[("at", at)])
        }
    }
    /// What a progress label key says (see `shared::ProgressLabel`).
    pub fn progress_label(&self, label: shared::ProgressLabel) -> String {
        use shared::ProgressLabel as L;
        match label {
            L::Workflow => self.s("progress.workflow"),
            L::Reply => self.s("progress.reply"),
            L::Queued => self.s("progress.queued"),
            L::Working | L::Unknown => self.s("progress.working"),
        }
    }
    /// The folded steps under an answer: "3 steps · 12 s" (no time when
    /// unknown).
    pub fn steps_summary(&self, steps: usize, secs: Option<u64>) -> String {
        let n = steps as u64;
        match secs {
            Some(secs) => self.p("progress.steps-time", n, &[("secs", &secs.to_string())]),
            None => self.p("progress.steps", n, &[]),
        }
    }
    /// The button that asks for another answer.
    pub fn regenerate(&self) -> String {
        self.s("message.regenerate")
    }
    /// The switch between answers to the same message (screen readers).
    pub fn other_answer(&self, next: bool) -> String {
        if next {
            self.s("message.next-answer")
        } else {
            self.s("message.previous-answer")
        }
    }
    /// The button that stops an answer.
    pub fn stop(&self) -> String {
        self.s("message.stop")
    }
    /// The retry button of a stopped message.
    pub fn run_again(&self) -> String {
        self.s("message.run-again")
    }
    /// 👍 / 👎 for screen readers.
    pub fn rating(&self, up: bool) -> String {
        match up {
            true => self.s("rating.good"),
            false => self.s("rating.bad"),
        }
    }
    /// The group of starter prompts.
    pub fn suggestions_label(&self) -> String {
        self.s("composer.suggestions")
    }
    /// The button that scrolls to the newest message.
    pub fn jump_latest(&self) -> String {
        self.s("messages.jump-latest")
    }
    /// The unread count on the bubble, for screen readers.
    pub fn unread(&self, n: u32) -> String {
        self.p("window.unread", n.into(), &[])
    }
    /// The attach button.
    pub fn attach(&self) -> String {
        self.s("composer.attach")
    }
    /// The remove button of an attachment in the composer.
    pub fn remove_attachment(&self, name: &str) -> String {
        self.f("composer.remove-attachment", &[("name", name)])
    }
    /// Shown while files are dragged over the conversation.
    pub fn drop_files(&self) -> String {
        self.s("composer.drop-files")
    }
    /// A message's upload in progress.
    pub fn uploading(&self, percent: u8) -> String {
        let percent = (self.formats.percent)(self.lang.code(), percent);
        self.f("message.uploading", &[("percent", &percent)])
    }
    /// A file's size (attachment chips, refusals).
    pub fn size(&self, bytes: u64) -> String {
        (self.formats.size)(self.lang.code(), bytes)
    }
    /// A queued message's file is no longer in the browser (the page was
    /// reloaded before it was uploaded).
    pub fn file_gone(&self) -> String {
        self.s("message.file-gone")
    }
    /// An upload kept failing on the way to the relay.
    pub fn upload_failed(&self) -> String {
        self.s("message.upload-failed")
    }
    /// Why a file was not attached (the relay would refuse it).
    pub fn refusal(&self, refusal: &Refusal) -> String {
        match refusal {
            Refusal::Off => self.s("refusal.off"),
            Refusal::Type { name } => self.f("refusal.type", &[("name", name)]),
            Refusal::Size { name, max } => self.f(
                "refusal.size",
                &[("name", name), ("size", &self.size(*max))],
            ),
            Refusal::Count { max } => self.p("refusal.count", *max as u64, &[]),
        }
    }
    /// The option to move keyboard focus to each new answer.
    pub fn focus_answers(&self) -> String {
        self.s("tools.focus-answers")
    }
    /// The header's tool group.
    pub fn tools_label(&self) -> String {
        self.s("tools.label")
    }
    /// When a message was (see [`crate::model::time::when`]); `at_ms` is
    /// the moment.
    pub fn relative(&self, when: When, at_ms: f64) -> String {
        let code = self.lang.code();
        match when {
            When::JustNow => self.s("time.just-now"),
            When::MinutesAgo(m) => (self.formats.minutes_ago)(code, m),
            When::Today => (self.formats.clock)(code, at_ms),
            When::Yesterday => {
                let clock = (self.formats.clock)(code, at_ms);
                self.f("time.yesterday", &[("clock", &clock)])
            }
            When::Earlier => (self.formats.date_time)(code, at_ms),
        }
    }
    /// A friendly sentence for an error code.
    pub fn error_text(&self, code: ErrorCode) -> String {
        match code {
            ErrorCode::WebhookUnreachable => self.s("error.webhook-unreachable"),
            ErrorCode::WebhookTimeout => self.s("error.webhook-timeout"),
            ErrorCode::WebhookError => self.s("error.webhook-error"),
            ErrorCode::WebhookInvalidResponse => self.s("error.webhook-invalid-response"),
            ErrorCode::TooLarge => self.s("error.too-large"),
            ErrorCode::InvalidMessage => self.s("error.invalid-message"),
            ErrorCode::RateLimited => self.s("error.rate-limited"),
            ErrorCode::ShuttingDown => self.s("error.shutting-down"),
            ErrorCode::UnsupportedFileType => self.s("error.unsupported-file-type"),
            ErrorCode::UploadMissing => self.s("error.upload-missing"),
            ErrorCode::Cancelled => self.s("error.cancelled"),
            // Sent again after the relay forgot the answer (it ran once
            // already): not run twice, but the answer is gone.
            ErrorCode::AnswerLost => self.s("error.answer-lost"),
            ErrorCode::TooManyFiles => self.s("error.too-many-files"),
            ErrorCode::Interrupted => self.s("error.interrupted"),
            ErrorCode::StoreUnavailable => self.s("error.store-unavailable"),
            ErrorCode::Paused => self.s("note.paused"),
            ErrorCode::QuotaExceeded => self.s("error.quota-exceeded"),
            ErrorCode::ProofRequired => self.s("error.proof-required"),
            ErrorCode::ProofInvalid => self.s("error.proof-invalid"),
            ErrorCode::TokenExpired | ErrorCode::InvalidToken => self.s("error.token"),
            ErrorCode::SessionForbidden => self.s("error.session-forbidden"),
            ErrorCode::InvalidSession | ErrorCode::Unknown => self.s("error.unknown"),
        }
    }
}

// ---- Several conversations per visitor (issue 24 part 2, branch s-convo).
impl Texts {
    /// The conversation list's name (its landmark, its toggle).
    pub fn conversations(&self) -> String {
        self.s("conversations.title")
    }
    /// Start another conversation; also the title of one with no message yet.
    pub fn new_conversation(&self) -> String {
        self.s("conversations.new")
    }
    /// Rename a conversation (the button's tooltip).
    pub fn rename(&self) -> String {
        self.s("conversations.rename")
    }
    /// The rename button's and field's label, naming the conversation.
    pub fn rename_label(&self, title: &str) -> String {
        self.f("conversations.rename-label", &[("title", title)])
    }
    /// Delete a conversation (the button's tooltip).
    pub fn delete(&self) -> String {
        self.s("conversations.delete")
    }
    /// The delete button's label for screen readers.
    pub fn delete_label(&self, title: &str) -> String {
        self.f("conversations.delete-label", &[("title", title)])
    }
    /// Save a new name.
    pub fn save_name(&self) -> String {
        self.s("conversations.save")
    }
    /// Download the conversation as a Markdown file.
    pub fn export(&self) -> String {
        self.s("conversations.export")
    }
    /// Every conversation still waits for an answer: no new one.
    pub fn conversations_full(&self) -> String {
        self.s("conversations.full")
    }
    /// Who wrote a line, in the exported file: the visitor.
    pub fn export_you(&self) -> String {
        self.s("conversations.export-you")
    }
    /// Who wrote a line, in the exported file: the workflow.
    pub fn export_bot(&self) -> String {
        self.s("conversations.export-bot")
    }
}
// ---- End of the conversations block.

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn catalogue_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("i18n")
    }

    fn read(code: &str) -> String {
        let path = catalogue_dir().join(format!("{code}.json"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn texts(code: &str) -> Texts {
        let lang = Lang::from_code(code).expect("ours");
        Texts::new(
            lang,
            Catalogue::parse(&read(code)).expect("parses"),
            Formats::plain(),
        )
    }

    /// The keys this file reads: the literal first argument of every
    /// `self.s(`, `self.f(` and `self.p(` call.
    fn keys_the_code_uses() -> BTreeSet<String> {
        let file = include_str!("i18n.rs");
        // The code, not these tests.
        let source = file.split("#[cfg(test)]\nmod tests").next().unwrap_or(file);
        let mut keys = BTreeSet::new();
        for call in ["self.s(", "self.f(", "self.p("] {
            for (at, _) in source.match_indices(call) {
                // rustfmt may put the key on the next line.
                let rest = source[at + call.len()..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else {
                    continue;
                };
                if let Some(end) = rest.find('"') {
                    keys.insert(rest[..end].to_owned());
                }
            }
        }
        keys.remove("key");
        keys
    }

    #[test]
    fn every_catalogue_has_exactly_the_keys_the_code_uses() {
        let used = keys_the_code_uses();
        assert!(used.len() > 50, "{used:?}");
        let mut files: Vec<String> = std::fs::read_dir(catalogue_dir())
            .expect("frontend/i18n")
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
            .collect();
        files.sort();
        let mut ours: Vec<String> = LANGUAGES.iter().map(|l| l.code.to_owned()).collect();
        ours.sort();
        assert_eq!(files, ours, "one catalogue per language, no other");
        for code in &ours {
            let text = read(code);
            assert!(
                text.contains("\"_draft\""),
                "{code}: the header note is missing"
            );
            let catalogue = Catalogue::parse(&text).expect(code);
            let has: BTreeSet<String> = catalogue.keys().map(str::to_owned).collect();
            let missing: Vec<_> = used.difference(&has).collect();
            let unused: Vec<_> = has.difference(&used).collect();
            assert!(
                missing.is_empty() && unused.is_empty(),
                "{code}: missing {missing:?}, not used by the code {unused:?}"
            );
        }
    }

    #[test]
    fn language_from_the_browser() {
        assert_eq!(Lang::from_tag("de-DE"), Some(Lang::DE));
        assert_eq!(Lang::from_tag("DE"), Some(Lang::DE));
        assert_eq!(Lang::from_tag("pt-PT").map(Lang::code), Some("pt-BR"));
        assert_eq!(Lang::from_tag("zh-Hans-CN").map(Lang::code), Some("zh-CN"));
        assert_eq!(Lang::from_tag("sv"), None);
        assert_eq!(Lang::from_tag(""), None);
        assert_eq!(Lang::from_tags(&["sv-SE", "fr-CA", "en"]).code(), "fr");
        assert_eq!(Lang::from_tags::<&str>(&[]), Lang::EN);
        assert_eq!(Lang::from_code("ar").map(Lang::dir), Some("rtl"));
        assert_eq!(Lang::EN.dir(), "ltr");
    }

    #[test]
    fn the_users_choice_beats_the_deployment_beats_the_browser() {
        assert_eq!(Lang::choose(Some("en"), Some("de"), &["de-DE"]), Lang::EN);
        assert_eq!(Lang::choose(None, Some("de"), &["en-US"]), Lang::DE);
        assert_eq!(Lang::choose(Some("xx"), None, &["de-CH"]), Lang::DE);
        assert_eq!(Lang::choose(None, Some("auto"), &["ja-JP"]).code(), "ja");
        assert_eq!(Lang::choose(None, None, &["en-GB"]), Lang::EN);
        assert_eq!(Lang::DE.other(), Lang::EN);
        assert_eq!(Lang::EN.other().code(), "de");
        assert_eq!(Lang::all().count(), 12);
    }

    #[test]
    fn an_interrupted_message_says_so_and_offers_retry() {
        for code in [ErrorCode::Interrupted, ErrorCode::StoreUnavailable] {
            assert!(code.is_retryable(), "{code}: the page shows Retry");
            for lang in ["en", "de"] {
                let t = texts(lang);
                assert_ne!(
                    t.error_text(code),
                    t.error_text(ErrorCode::Unknown),
                    "{code}"
                );
            }
        }
        assert!(texts("en")
            .error_text(ErrorCode::Interrupted)
            .contains("Retry"));
        assert!(texts("de")
            .error_text(ErrorCode::Interrupted)
            .contains("Erneut versuchen"));
    }

    #[test]
    fn a_quota_refusal_says_when() {
        let en = texts("en").quota_reached(Some(shared::QuotaKind::Visitor), "01:00");
        assert!(
            en.starts_with("You have reached today's limit; you can send again at 01:00"),
            "{en}"
        );
        let de = texts("de").quota_reached(Some(shared::QuotaKind::Visitor), "01:00");
        assert!(de.contains("ab 01:00"), "{de}");
        let budget = texts("en").quota_reached(Some(shared::QuotaKind::Budget), "01:00");
        assert!(budget.starts_with("This chat has reached"), "{budget}");
    }

    #[test]
    fn a_lost_answer_has_its_own_sentence() {
        let en = texts("en").error_text(ErrorCode::AnswerLost);
        let de = texts("de").error_text(ErrorCode::AnswerLost);
        assert_eq!(
            en,
            "This message was answered, but the answer is no longer kept."
        );
        assert!(de.contains("nicht mehr gespeichert"), "{de}");
        assert_ne!(en, texts("en").error_text(ErrorCode::Unknown));
    }

    #[test]
    fn status_texts() {
        let (en, de) = (texts("en"), texts("de"));
        assert_eq!(
            en.reconnecting(2, 10, Some(3)),
            "Connection lost – attempt 2 of 10 in 3s"
        );
        assert_eq!(
            de.reconnecting(2, 10, None),
            "Verbinde erneut – Versuch 2 von 10 …"
        );
        assert_eq!(en.waiting(1), "waiting for answer…");
        assert_eq!(en.waiting(12), "waiting for answer… 12 s");
        assert_eq!(de.waiting(125), "Antwort kommt … 2:05 min");
        assert_eq!(en.unread(1), "1 unread message");
        assert_eq!(en.unread(3), "3 unread messages");
        assert_eq!(en.steps_summary(3, Some(12)), "3 steps · 12 s");
        assert_eq!(de.steps_summary(1, None), "1 Schritt");
        assert_eq!(
            de.progress_label(shared::ProgressLabel::Unknown),
            "Arbeitet …"
        );
        assert_eq!(
            en.refusal(&Refusal::Size {
                name: "big.png".into(),
                max: 5
            }),
            "“big.png” was not attached: at most 5 B per file."
        );
        assert_eq!(en.relative(When::JustNow, 0.0), "just now");
        assert_eq!(de.relative(When::Yesterday, 7.0), "gestern @7");
    }
}
