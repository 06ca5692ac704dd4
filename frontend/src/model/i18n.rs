//! German and English texts, chosen from the browser's language.

use shared::ErrorCode;

use super::attachments::{human_size, Refusal};

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Deutsch.
    De,
    /// English.
    En,
}

impl Lang {
    /// German for `de`, `de-AT`, …; English otherwise.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("de") {
            Lang::De
        } else {
            Lang::En
        }
    }

    /// The language for a code (`de`, `en`), if it is one of ours.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The page's language: what the user picked (stored), else what the
    /// deployment configured, else the browser's.
    pub fn choose(stored: Option<&str>, configured: Option<&str>, browser: &str) -> Lang {
        stored
            .and_then(Lang::from_code)
            .or_else(|| configured.and_then(Lang::from_code))
            .unwrap_or_else(|| Lang::from_tag(browser))
    }

    /// The code (`<html lang>`, storage).
    pub fn code(self) -> &'static str {
        self.pick("de", "en")
    }

    /// The other language (what the switch switches to).
    pub fn other(self) -> Lang {
        match self {
            Lang::De => Lang::En,
            Lang::En => Lang::De,
        }
    }

    /// Picks the German or the English text.
    pub fn pick(self, de: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }

    /// The page title.
    pub fn title(self) -> &'static str {
        self.pick("n8n Chat", "n8n Chat")
    }
    /// Status: first attempt.
    pub fn connecting(self) -> &'static str {
        self.pick("Verbinde …", "Connecting…")
    }
    /// Status: online.
    pub fn online(self) -> &'static str {
        self.pick("Verbunden", "Online")
    }
    /// Status: reconnecting, attempt n of m, next try in s seconds.
    pub fn reconnecting(self, attempt: u32, max: u32, in_secs: Option<u32>) -> String {
        match (self, in_secs) {
            (Lang::De, Some(s)) => {
                format!("Verbindung verloren – Versuch {attempt} von {max} in {s} s")
            }
            (Lang::De, None) => format!("Verbinde erneut – Versuch {attempt} von {max} …"),
            (Lang::En, Some(s)) => format!("Connection lost – attempt {attempt} of {max} in {s}s"),
            (Lang::En, None) => format!("Reconnecting – attempt {attempt} of {max}…"),
        }
    }
    /// Status: offline.
    pub fn offline(self) -> &'static str {
        self.pick("Keine Verbindung", "Offline")
    }
    /// The retry button.
    pub fn retry(self) -> &'static str {
        self.pick("Erneut versuchen", "Retry")
    }
    /// The send button.
    pub fn send(self) -> &'static str {
        self.pick("Senden", "Send")
    }
    /// The input's placeholder.
    pub fn placeholder(self) -> &'static str {
        self.pick("Nachricht schreiben …", "Type a message…")
    }
    /// Under a message waiting for the link.
    pub fn queued(self) -> &'static str {
        self.pick("wartet auf Verbindung", "waiting for connection")
    }
    /// Under a message waiting for its answer, after `secs` seconds.
    pub fn waiting(self, secs: u64) -> String {
        let base = self.pick("Antwort kommt …", "waiting for answer…");
        if secs < 2 {
            return base.to_owned();
        }
        let (m, s) = (secs / 60, secs % 60);
        if m == 0 {
            format!("{base} {s} s")
        } else {
            format!("{base} {m}:{s:02} min")
        }
    }
    /// Round-trip tooltip.
    pub fn rtt(self, ms: f64) -> String {
        // Whole milliseconds, formatted as an integer: float formatting
        // would add kilobytes to the wasm bundle.
        let ms = ms.max(0.0).round() as u64;
        match self {
            Lang::De => format!("Antwortzeit {ms} ms"),
            Lang::En => format!("Round trip {ms} ms"),
        }
    }
    /// Welcome line for an empty conversation.
    pub fn welcome(self) -> &'static str {
        self.pick("Hallo! Wie kann ich helfen?", "Hi! How can I help?")
    }
    /// The language switch: its label (the other language, in that
    /// language) and its tooltip.
    pub fn switch_label(self) -> (&'static str, &'static str) {
        match self {
            Lang::De => ("English", "Switch to English"),
            Lang::En => ("Deutsch", "Auf Deutsch umschalten"),
        }
    }
    /// The theme switch, naming the theme in use.
    pub fn theme_label(self, theme: crate::model::theme::Theme) -> &'static str {
        use crate::model::theme::Theme;
        match theme {
            Theme::Auto => self.pick("Design: automatisch", "Theme: automatic"),
            Theme::Light => self.pick("Design: hell", "Theme: light"),
            Theme::Dark => self.pick("Design: dunkel", "Theme: dark"),
        }
    }
    /// Start a new conversation (new session).
    pub fn new_chat(self) -> &'static str {
        self.pick("Neuer Chat", "New chat")
    }
    /// Remove the shown messages (same session).
    pub fn clear_history(self) -> &'static str {
        self.pick("Verlauf löschen", "Clear history")
    }
    /// Copy a message or code block.
    pub fn copy(self) -> &'static str {
        self.pick("Kopieren", "Copy")
    }
    /// After copying.
    pub fn copied(self) -> &'static str {
        self.pick("Kopiert", "Copied")
    }
    /// The message list's accessible name.
    pub fn messages_label(self) -> &'static str {
        self.pick("Nachrichten", "Messages")
    }
    /// The chat bubble (window mode) when the chat is closed / open.
    pub fn toggle_chat(self, open: bool) -> &'static str {
        match open {
            false => self.pick("Chat öffnen", "Open chat"),
            true => self.pick("Chat schließen", "Close chat"),
        }
    }
    /// The relay answered a resume with another session.
    pub fn session_changed(self) -> &'static str {
        self.pick(
            "Der Server hat ein neues Gespräch begonnen; frühere Nachrichten werden darin nicht beantwortet.",
            "The server started a new conversation; earlier messages are not answered in it.",
        )
    }
    /// A run waits for the user's reply.
    pub fn run_waiting(self) -> &'static str {
        self.pick(
            "Der Workflow wartet auf deine Antwort.",
            "The workflow is waiting for your reply.",
        )
    }
    /// A run waits for one of its buttons; typing is blocked.
    pub fn run_waiting_buttons(self) -> &'static str {
        self.pick(
            "Der Workflow wartet darauf, dass du einen der Knöpfe wählst.",
            "The workflow is waiting for you to choose one of the buttons.",
        )
    }
    /// A run waits for a button; a typed reply counts as declining.
    pub fn run_waiting_typing_declines(self) -> &'static str {
        self.pick(
            "Der Workflow wartet auf deine Wahl. Eine getippte Antwort gilt als Ablehnung.",
            "The workflow is waiting for your choice. A typed reply counts as declining.",
        )
    }
    /// Even after trimming old messages, the browser's storage is full.
    pub fn storage_full(self) -> &'static str {
        self.pick(
            "Der Speicher des Browsers ist voll: Ungesendete Nachrichten überstehen kein Neuladen der Seite.",
            "This browser's storage is full: unsent messages will not survive reloading the page.",
        )
    }
    /// Embedded, and the site keeps nothing for the chat.
    pub fn not_kept(self) -> &'static str {
        self.pick(
            "Diese Seite kann den Chat nicht speichern: Nach dem Neuladen beginnt er leer, und ungesendete Nachrichten gehen verloren.",
            "This site cannot keep the chat: after a reload it starts empty, and unsent messages are lost.",
        )
    }
    /// Embedded in a site the relay does not allow.
    pub fn embed_refused(self) -> &'static str {
        self.pick(
            "Dieser Chat darf auf dieser Website nicht eingebettet werden.",
            "This chat may not be embedded on this site.",
        )
    }
    // --- The operator's pause (issue 25; for the catalogues) ---
    /// The operator paused the chat: what is typed waits.
    pub fn paused(self) -> &'static str {
        self.pick(
            "Der Chat ist gerade pausiert. Ihre Nachrichten bleiben hier und werden gesendet, sobald er weitergeht.",
            "The chat is paused for now. Your messages stay here and are sent as soon as it resumes.",
        )
    }
    // --- end of the operator's pause ---
    /// The button that stops an answer.
    pub fn stop(self) -> &'static str {
        self.pick("Stopp", "Stop")
    }
    /// The retry button of a stopped message.
    pub fn run_again(self) -> &'static str {
        self.pick("Erneut senden", "Run again")
    }
    /// 👍 / 👎 for screen readers.
    pub fn rating(self, up: bool) -> &'static str {
        match (self, up) {
            (Lang::De, true) => "Gute Antwort",
            (Lang::De, false) => "Schlechte Antwort",
            (Lang::En, true) => "Good answer",
            (Lang::En, false) => "Bad answer",
        }
    }
    /// The group of starter prompts.
    pub fn suggestions_label(self) -> &'static str {
        self.pick("Vorschläge", "Suggestions")
    }
    /// The button that scrolls to the newest message.
    pub fn jump_latest(self) -> &'static str {
        self.pick("Neue Nachrichten ↓", "New messages ↓")
    }
    /// The unread count on the bubble, for screen readers.
    pub fn unread(self, n: u32) -> String {
        match (self, n) {
            (Lang::De, 1) => "1 ungelesene Nachricht".into(),
            (Lang::De, n) => format!("{n} ungelesene Nachrichten"),
            (Lang::En, 1) => "1 unread message".into(),
            (Lang::En, n) => format!("{n} unread messages"),
        }
    }
    /// The attach button.
    pub fn attach(self) -> &'static str {
        self.pick("Dateien anhängen", "Attach files")
    }
    /// The remove button of an attachment in the composer.
    pub fn remove_attachment(self, name: &str) -> String {
        match self {
            Lang::De => format!("{name} entfernen"),
            Lang::En => format!("Remove {name}"),
        }
    }
    /// Shown while files are dragged over the conversation.
    pub fn drop_files(self) -> &'static str {
        self.pick("Dateien hier ablegen", "Drop files here")
    }
    /// A message's upload in progress.
    pub fn uploading(self, percent: u8) -> String {
        match self {
            Lang::De => format!("Datei wird hochgeladen … {percent} %"),
            Lang::En => format!("uploading file… {percent} %"),
        }
    }
    /// A queued message's file is no longer in the browser (the page was
    /// reloaded before it was uploaded).
    pub fn file_gone(self) -> &'static str {
        self.pick(
            "Die Datei war nach dem Neuladen der Seite nicht mehr da – bitte erneut anhängen.",
            "The file was gone after the page reloaded – please attach it again.",
        )
    }
    /// An upload kept failing on the way to the relay.
    pub fn upload_failed(self) -> &'static str {
        self.pick(
            "Die Datei kam nicht beim Server an.",
            "The file did not reach the server.",
        )
    }
    /// Why a file was not attached (the relay would refuse it).
    pub fn refusal(self, refusal: &Refusal) -> String {
        match (self, refusal) {
            (Lang::De, Refusal::Off) => "Dieser Chat nimmt keine Dateien an.".into(),
            (Lang::En, Refusal::Off) => "This chat does not take files.".into(),
            (Lang::De, Refusal::Type { name }) => {
                format!(
                    "„{name}“ wurde nicht angehängt: Diese Art von Datei wird nicht angenommen."
                )
            }
            (Lang::En, Refusal::Type { name }) => {
                format!("“{name}” was not attached: this kind of file is not accepted.")
            }
            (Lang::De, Refusal::Size { name, max }) => format!(
                "„{name}“ wurde nicht angehängt: höchstens {} pro Datei.",
                human_size(*max)
            ),
            (Lang::En, Refusal::Size { name, max }) => format!(
                "“{name}” was not attached: at most {} per file.",
                human_size(*max)
            ),
            (Lang::De, Refusal::Count { max }) => {
                format!("Höchstens {max} Dateien pro Nachricht.")
            }
            (Lang::En, Refusal::Count { max }) => format!("At most {max} files per message."),
        }
    }
    /// The header's tool group.
    pub fn tools_label(self) -> &'static str {
        self.pick("Chat-Einstellungen", "Chat settings")
    }
    // --- Quotas of a public chat (`quota_exceeded`), s-quota. ---

    /// A message was refused by a quota; `at` is when it can be sent again
    /// (the user's local time, e.g. "01:00"). The chat's budget is said as
    /// the chat's limit, not the user's.
    pub fn quota_reached(self, quota: Option<shared::QuotaKind>, at: &str) -> String {
        let budget = quota == Some(shared::QuotaKind::Budget);
        match (self, budget) {
            (Lang::De, false) => format!(
                "Du hast das heutige Limit erreicht; ab {at} kannst du wieder senden. Deine Nachricht bleibt gespeichert."
            ),
            (Lang::De, true) => format!(
                "Dieser Chat hat sein heutiges Limit erreicht; ab {at} kannst du wieder senden. Deine Nachricht bleibt gespeichert."
            ),
            (Lang::En, false) => format!(
                "You have reached today's limit; you can send again at {at}. Your message is kept."
            ),
            (Lang::En, true) => format!(
                "This chat has reached today's limit; you can send again at {at}. Your message is kept."
            ),
        }
    }

    // --- End of the quota texts. ---

    /// A friendly sentence for an error code.
    pub fn error_text(self, code: ErrorCode) -> &'static str {
        match code {
            ErrorCode::WebhookUnreachable => {
                self.pick("n8n ist nicht erreichbar.", "n8n is not reachable.")
            }
            ErrorCode::WebhookTimeout => self.pick(
                "n8n hat nicht rechtzeitig geantwortet.",
                "n8n did not answer in time.",
            ),
            ErrorCode::WebhookError => self.pick(
                "Der Workflow hat einen Fehler gemeldet.",
                "The workflow reported an error.",
            ),
            ErrorCode::WebhookInvalidResponse => self.pick(
                "Die Antwort von n8n war unlesbar.",
                "n8n's answer could not be read.",
            ),
            ErrorCode::TooLarge => {
                self.pick("Die Nachricht ist zu lang.", "The message is too long.")
            }
            ErrorCode::InvalidMessage => {
                self.pick("Die Nachricht war ungültig.", "The message was invalid.")
            }
            ErrorCode::RateLimited => self.pick(
                "Zu viele Nachrichten – bitte kurz warten.",
                "Too many messages – please wait a moment.",
            ),
            ErrorCode::ShuttingDown => {
                self.pick("Der Server startet neu.", "The server is restarting.")
            }
            ErrorCode::UnsupportedFileType => self.pick(
                "Diese Art von Datei wird nicht angenommen.",
                "This kind of file is not accepted.",
            ),
            ErrorCode::UploadMissing => self.pick(
                "Der Server hat die Datei nicht mehr – bitte erneut anhängen.",
                "The server no longer has the file – please attach it again.",
            ),
            ErrorCode::Cancelled => self.pick("Angehalten.", "Stopped."),
            // Sent again after the relay forgot the answer (it ran once
            // already): not run twice, but the answer is gone.
            ErrorCode::AnswerLost => self.pick(
                "Diese Nachricht wurde beantwortet, aber die Antwort ist nicht mehr gespeichert.",
                "This message was answered, but the answer is no longer kept.",
            ),
            ErrorCode::TooManyFiles => self.pick(
                "Zu viele Dateien für eine Nachricht.",
                "Too many files for one message.",
            ),
            // --- Issue 24 (s-store): the stored-session outcomes. ---
            // The relay died while n8n was answering: whether it ran is
            // unknown, so it is not run again until the user retries.
            ErrorCode::Interrupted => self.pick(
                "Der Server wurde unterbrochen, während diese Nachricht beantwortet wurde. Ob sie ausgeführt wurde, ist unbekannt – „Erneut versuchen“ sendet sie noch einmal.",
                "The server was interrupted while answering this message. Whether it ran is unknown – Retry sends it again.",
            ),
            // The relay could not store the message (full disk): not sent.
            ErrorCode::StoreUnavailable => self.pick(
                "Der Server kann die Nachricht gerade nicht speichern; sie wurde nicht gesendet.",
                "The server cannot store the message right now; it was not sent.",
            ),
            // --- end of issue 24 (s-store) ---
            ErrorCode::Paused => self.paused(),
            ErrorCode::QuotaExceeded => self.pick(
                "Das heutige Limit ist erreicht.",
                "Today's limit is reached.",
            ),
            // Kept and sent again after the page's proof (not shown).
            ErrorCode::ProofRequired => self.pick(
                "Einen Moment – die Verbindung wird geprüft.",
                "One moment – checking the connection.",
            ),
            ErrorCode::ProofInvalid => self.pick(
                "Die Verbindung wurde nicht bestätigt.",
                "The connection was not confirmed.",
            ),
            // Verified identity (issue 24): a message is never shown with
            // `token_expired` (it waits for a new token); these are for
            // completeness.
            ErrorCode::TokenExpired | ErrorCode::InvalidToken => self.pick(
                "Die Anmeldung ist abgelaufen oder ungültig.",
                "Your sign-in has expired or is not valid.",
            ),
            ErrorCode::SessionForbidden => self.pick(
                "Dieses Gespräch gehört einem anderen Benutzer.",
                "This conversation belongs to another user.",
            ),
            ErrorCode::InvalidSession | ErrorCode::Unknown => {
                self.pick("Etwas ist schiefgegangen.", "Something went wrong.")
            }
        }
    }

    // ---- Sign-in with OpenID Connect (issue 24, branch s-oidc) ----
    // Shown only when /config.json has `signIn` (the relay's
    // --oidc-issuer). To move into the catalogues at merge.

    /// The header link to the identity provider.
    pub fn sign_in(self) -> &'static str {
        self.pick("Anmelden", "Sign in")
    }
    /// The header button that signs out.
    pub fn sign_out(self) -> &'static str {
        self.pick("Abmelden", "Sign out")
    }
    /// The sign-out button's title: who is signed in.
    pub fn signed_in_as(self, name: &str) -> String {
        match self {
            Lang::De => format!("Angemeldet als {name}"),
            Lang::En => format!("Signed in as {name}"),
        }
    }
    // ---- end of sign-in texts ----
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_the_browser() {
        assert_eq!(Lang::from_tag("de-DE"), Lang::De);
        assert_eq!(Lang::from_tag("DE"), Lang::De);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }

    #[test]
    fn the_users_choice_beats_the_deployment_beats_the_browser() {
        assert_eq!(Lang::choose(Some("en"), Some("de"), "de-DE"), Lang::En);
        assert_eq!(Lang::choose(None, Some("de"), "en-US"), Lang::De);
        assert_eq!(Lang::choose(Some("fr"), None, "de-CH"), Lang::De);
        assert_eq!(Lang::choose(None, None, "en-GB"), Lang::En);
        assert_eq!(Lang::De.other(), Lang::En);
        assert_eq!(Lang::En.other().code(), "de");
    }

    #[test]
    fn an_interrupted_message_says_so_and_offers_retry_in_both_languages() {
        for code in [ErrorCode::Interrupted, ErrorCode::StoreUnavailable] {
            assert!(code.is_retryable(), "{code}: the page shows Retry");
            let (en, de) = (Lang::En.error_text(code), Lang::De.error_text(code));
            assert_ne!(en, Lang::En.error_text(ErrorCode::Unknown), "{code}");
            assert_ne!(de, Lang::De.error_text(ErrorCode::Unknown), "{code}");
        }
        assert!(Lang::En
            .error_text(ErrorCode::Interrupted)
            .contains("Retry"));
        assert!(Lang::De
            .error_text(ErrorCode::Interrupted)
            .contains("Erneut versuchen"));
    }

    #[test]
    fn a_lost_answer_has_its_own_sentence_in_both_languages() {
        let en = Lang::En.error_text(ErrorCode::AnswerLost);
        let de = Lang::De.error_text(ErrorCode::AnswerLost);
        assert_eq!(
            en,
            "This message was answered, but the answer is no longer kept."
        );
        assert!(de.contains("nicht mehr gespeichert"), "{de}");
        assert_ne!(en, Lang::En.error_text(ErrorCode::Unknown));
    }

    #[test]
    fn status_texts() {
        assert_eq!(
            Lang::En.reconnecting(2, 10, Some(3)),
            "Connection lost – attempt 2 of 10 in 3s"
        );
        assert_eq!(
            Lang::De.reconnecting(2, 10, None),
            "Verbinde erneut – Versuch 2 von 10 …"
        );
        assert_eq!(Lang::En.waiting(1), "waiting for answer…");
        assert_eq!(Lang::En.waiting(12), "waiting for answer… 12 s");
        assert_eq!(Lang::De.waiting(125), "Antwort kommt … 2:05 min");
        assert_eq!(
            Lang::En.refusal(&Refusal::Size {
                name: "big.png".into(),
                max: 5 * 1024 * 1024
            }),
            "“big.png” was not attached: at most 5.0 MB per file."
        );
    }

    #[test]
    fn a_quota_refusal_says_when_in_both_languages() {
        let en = Lang::En.quota_reached(Some(shared::QuotaKind::Visitor), "01:00");
        assert!(
            en.starts_with("You have reached today's limit; you can send again at 01:00"),
            "{en}"
        );
        let de = Lang::De.quota_reached(Some(shared::QuotaKind::Visitor), "01:00");
        assert!(de.contains("ab 01:00"), "{de}");
        let budget = Lang::En.quota_reached(Some(shared::QuotaKind::Budget), "01:00");
        assert!(budget.starts_with("This chat has reached"), "{budget}");
        assert_ne!(
            Lang::De.error_text(ErrorCode::QuotaExceeded),
            Lang::En.error_text(ErrorCode::QuotaExceeded)
        );
    }
}
