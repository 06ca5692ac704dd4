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
            ErrorCode::InvalidSession | ErrorCode::Unknown => {
                self.pick("Etwas ist schiefgegangen.", "Something went wrong.")
            }
        }
    }

    // --- Voice in and out (issue 27; branch s-media) ---

    /// The microphone button, idle.
    pub fn record_voice(self) -> &'static str {
        self.pick("Sprachnachricht aufnehmen", "Record a voice message")
    }
    /// The microphone button while recording.
    pub fn stop_recording(self) -> &'static str {
        self.pick(
            "Aufnahme beenden und anhängen",
            "Stop and attach the recording",
        )
    }
    /// The button that throws a recording away.
    pub fn cancel_recording(self) -> &'static str {
        self.pick("Aufnahme verwerfen", "Discard the recording")
    }
    /// The microphone was refused (by the user or the browser's settings).
    pub fn mic_refused(self) -> &'static str {
        self.pick(
            "Das Mikrofon ist nicht erlaubt: Erlauben Sie es in den Website-Einstellungen des Browsers, um eine Sprachnachricht aufzunehmen.",
            "The microphone is not allowed: allow it in the browser's site settings to record a voice message.",
        )
    }
    /// The browser cannot record.
    pub fn mic_unsupported(self) -> &'static str {
        self.pick(
            "Dieser Browser kann keine Sprachnachrichten aufnehmen.",
            "This browser cannot record voice messages.",
        )
    }
    /// The speaker button under an answer.
    pub fn read_aloud(self) -> &'static str {
        self.pick("Vorlesen", "Read aloud")
    }
    /// The speaker button while reading.
    pub fn stop_reading(self) -> &'static str {
        self.pick("Vorlesen beenden", "Stop reading")
    }
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
}
