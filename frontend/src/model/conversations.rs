//! The visitor's conversations: a bounded list kept in the browser, one of
//! them current.
//!
//! Each conversation is its own relay session (and so its own n8n
//! `sessionId`: the workflow's chat memory follows it). The list holds only
//! what the picker needs (id, session, title, whether something is unsent);
//! each conversation's lines are stored apart (see `browser::storage`), so
//! switching reads one transcript, not all of them.
//!
//! At the bound ([`MAX_CONVERSATIONS`]) a new conversation archives the
//! oldest one — it leaves the list and the browser; its session stays on
//! the relay until the relay's retention ends it — but never one with an
//! unsent message: with every other conversation still sending, a new one
//! is refused ([`Full`]) and the page says so.

use serde::{Deserialize, Serialize};

use super::conversation::{Conversation, Kind, Line};

/// Conversations kept at most. Each one's lines take browser storage (about
/// 5 MB for the whole origin, shared with the host's own data when
/// embedded), so the list is short.
pub const MAX_CONVERSATIONS: usize = 20;

/// Longest title (characters); longer ones are cut with "…".
pub const MAX_TITLE_CHARS: usize = 60;

/// Deleted sessions waiting to be forgotten by the relay at most (one
/// `forget` frame's worth). Past it the oldest is dropped from the queue:
/// the relay's retention (`--retain-for`) forgets that session anyway.
pub const MAX_FORGET_QUEUE: usize = shared::validate::MAX_FORGET_SESSIONS;

/// One conversation in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The page's own id for it (`data-id`; a storage key). Not the
    /// session id, which is a credential and stays out of the DOM.
    pub id: String,
    /// The relay's session, once the relay handed one out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The name the visitor gave it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its first message, cut: the title until the visitor renames it.
    #[serde(default)]
    pub first: String,
    /// When it was started (ms since the epoch).
    #[serde(default)]
    pub started: u64,
    /// When it last changed (ms since the epoch): the list's order.
    #[serde(default)]
    pub touched: u64,
    /// It has messages not yet answered: never archived.
    #[serde(default)]
    pub unsent: bool,
    /// The title the relay keeps for it in the signed-in user's list, as
    /// last confirmed by a `conversations` frame; `None`: not on the
    /// relay (anonymous, or not saved yet). See [`super::relay_list`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_relay: Option<String>,
}

impl Summary {
    pub(super) fn new(id: String, session: Option<String>, now: u64) -> Summary {
        Summary {
            id,
            session,
            name: None,
            first: String::new(),
            started: now,
            touched: now,
            unsent: false,
            on_relay: None,
        }
    }

    /// The title to show: the visitor's name for it, else its first
    /// message; `None` while it has neither (the page says "New
    /// conversation").
    pub fn title(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or(Some(self.first.as_str()))
            .filter(|t| !t.is_empty())
    }
}

/// The list is full of conversations with unsent messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// The visitor's conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversations {
    /// The one shown (an id in `list`).
    pub current: String,
    /// Oldest first; never empty, never longer than [`MAX_CONVERSATIONS`].
    pub list: Vec<Summary>,
    /// Sessions of deleted conversations the relay has not yet confirmed
    /// forgetting (sent in a `forget` frame whenever the page is online;
    /// kept across reloads until the relay's `forgotten`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forget: Vec<String>,
}

impl Conversations {
    /// One conversation, `id`, with the session the page already had (a
    /// page from before the list keeps its conversation).
    pub fn start(id: String, session: Option<String>, now: u64) -> Conversations {
        Conversations {
            current: id.clone(),
            list: vec![Summary::new(id, session, now)],
            forget: Vec::new(),
        }
    }

    /// The stored list, if it is readable and sound; else `None` (the
    /// caller starts one).
    pub fn parse(json: &str) -> Option<Conversations> {
        let mut c: Conversations = serde_json::from_str(json).ok()?;
        c.list.truncate(MAX_CONVERSATIONS);
        c.forget.truncate(MAX_FORGET_QUEUE);
        c.list.iter().any(|s| s.id == c.current).then_some(c)
    }

    /// The JSON kept in storage.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The current conversation's entry.
    pub fn current(&self) -> &Summary {
        self.list
            .iter()
            .find(|s| s.id == self.current)
            .unwrap_or(&self.list[0])
    }

    fn current_mut(&mut self) -> &mut Summary {
        let at = self
            .list
            .iter()
            .position(|s| s.id == self.current)
            .unwrap_or(0);
        &mut self.list[at]
    }

    /// The entry `id`.
    pub fn get(&self, id: &str) -> Option<&Summary> {
        self.list.iter().find(|s| s.id == id)
    }

    /// Most recently changed first (the order the picker shows).
    pub fn newest_first(&self) -> Vec<Summary> {
        let mut list = self.list.clone();
        list.sort_by(|a, b| b.touched.cmp(&a.touched).then(b.started.cmp(&a.started)));
        list
    }

    /// Takes in the current conversation's state: its title from the first
    /// message, whether something is unsent, when it changed. Whether
    /// anything changed (then the list is saved).
    pub fn observe(&mut self, conversation: &Conversation, now: u64) -> bool {
        let first = conversation
            .lines
            .iter()
            .find(|l| l.user().is_some())
            .map(|l| cut(&l.text))
            .unwrap_or_default();
        let unsent = conversation.lines.iter().any(Line::is_pending);
        let entry = self.current_mut();
        if entry.first != first || entry.unsent != unsent {
            entry.first = first;
            entry.unsent = unsent;
            entry.touched = now.max(entry.touched);
            return true;
        }
        false
    }

    /// The relay handed out (or confirmed) the current conversation's
    /// session. Whether it changed.
    pub fn set_session(&mut self, session: &str) -> bool {
        let entry = self.current_mut();
        if entry.session.as_deref() == Some(session) {
            return false;
        }
        entry.session = Some(session.to_owned());
        true
    }

    /// Starts conversation `id` and makes it current. At the bound the
    /// oldest conversations without unsent messages are archived first;
    /// their ids are returned (their stored lines go too). [`Full`] if
    /// every one has unsent messages: nothing changes.
    pub fn start_new(&mut self, id: String, now: u64) -> Result<Vec<Summary>, Full> {
        let mut archived = Vec::new();
        while self.list.len() >= MAX_CONVERSATIONS {
            let oldest = self
                .list
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.unsent && s.id != self.current)
                .min_by_key(|(_, s)| (s.touched, s.started))
                .map(|(i, _)| i)
                .or_else(|| {
                    // The current one may go too, if it is done.
                    self.list
                        .iter()
                        .position(|s| s.id == self.current && !s.unsent)
                });
            match oldest {
                Some(i) => archived.push(self.list.remove(i)),
                None => {
                    // Put back what was taken: nothing changes.
                    self.list.append(&mut archived);
                    return Err(Full);
                }
            }
        }
        self.list.push(Summary::new(id.clone(), None, now));
        self.current = id;
        Ok(archived)
    }

    /// Makes `id` current; false if there is no such conversation.
    pub fn switch(&mut self, id: &str) -> bool {
        if self.get(id).is_none() {
            return false;
        }
        self.current = id.to_owned();
        true
    }

    /// Renames `id` (trimmed, cut to [`MAX_TITLE_CHARS`]); an empty name
    /// goes back to the first message. False if there is no such
    /// conversation.
    pub fn rename(&mut self, id: &str, name: &str) -> bool {
        let Some(entry) = self.list.iter_mut().find(|s| s.id == id) else {
            return false;
        };
        let name = name.trim();
        entry.name = (!name.is_empty()).then(|| cut(name));
        true
    }

    /// Deletes `id` and returns it. Deleting the current one makes the most
    /// recently changed other one current, or a new empty one (`fresh`)
    /// if it was the only one.
    pub fn delete(&mut self, id: &str, fresh: String, now: u64) -> Option<Summary> {
        let at = self.list.iter().position(|s| s.id == id)?;
        let gone = self.list.remove(at);
        if self.current == id {
            match self.newest_first().first() {
                Some(next) => self.current = next.id.clone(),
                None => {
                    self.list.push(Summary::new(fresh.clone(), None, now));
                    self.current = fresh;
                }
            }
        }
        Some(gone)
    }

    /// Every session the list knows.
    pub fn sessions(&self) -> Vec<String> {
        self.list.iter().filter_map(|s| s.session.clone()).collect()
    }

    /// Queues `session` for the relay to forget (a deleted conversation).
    pub fn queue_forget(&mut self, session: String) {
        if self.forget.contains(&session) {
            return;
        }
        if self.forget.len() >= MAX_FORGET_QUEUE {
            self.forget.remove(0);
        }
        self.forget.push(session);
    }

    /// The relay confirmed forgetting `sent`: out of the queue.
    pub fn forgotten(&mut self, sent: &[String]) {
        self.forget.retain(|s| !sent.contains(s));
    }

    /// `n8nChat.forgetMe()`: every conversation goes (returned, so their
    /// stored lines go too) and every session is queued to be forgotten;
    /// a new empty conversation `fresh` is current.
    pub fn forget_all(&mut self, fresh: String, now: u64) -> Vec<Summary> {
        for session in self.sessions() {
            self.queue_forget(session);
        }
        let gone = std::mem::take(&mut self.list);
        self.list.push(Summary::new(fresh.clone(), None, now));
        self.current = fresh;
        gone
    }
}

/// `text` on one line, cut to [`MAX_TITLE_CHARS`].
pub(super) fn cut(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX_TITLE_CHARS {
        return one_line;
    }
    let mut short: String = one_line.chars().take(MAX_TITLE_CHARS - 1).collect();
    short.push('…');
    short
}

/// The conversation as a Markdown document: a heading with its title, then
/// each message under who wrote it. Notes from the page itself (a lost
/// connection) are left out: they are not part of the conversation.
pub fn to_markdown(title: &str, conversation: &Conversation, you: &str, bot: &str) -> String {
    let mut out = format!("# {}\n", title.trim());
    for line in &conversation.lines {
        let (who, attachments) = match &line.kind {
            Kind::User(user) => (you, user.attachments.as_slice()),
            Kind::Bot(_) => (bot, [].as_slice()),
            Kind::Error(_) => ("⚠", [].as_slice()),
            Kind::System => continue,
        };
        out.push_str(&format!("\n**{who}:**\n\n{}\n", line.text.trim_end()));
        for a in attachments {
            out.push_str(&format!("\n📎 {}\n", a.name));
        }
    }
    out
}

/// A file name for the exported conversation: its title with only
/// letters, digits, `-` and `_` kept, and `.md`.
pub fn file_name(title: &str) -> String {
    let mut name = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            name.push(c);
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
        if name.chars().count() >= 40 {
            break;
        }
    }
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "conversation.md".to_owned()
    } else {
        format!("{name}.md")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_user(text: &str, id: &str) -> Conversation {
        let mut c = Conversation::default();
        c.add_user(id.into(), text.into());
        c
    }

    fn answered(text: &str) -> Conversation {
        let mut c = with_user(text, "m1");
        c.mark_sent("m1", 1.0);
        c.on_response("m1", "the answer", None);
        c
    }

    #[test]
    fn the_title_is_the_first_message_until_renamed() {
        let mut list = Conversations::start("a".into(), None, 1);
        assert_eq!(list.current().title(), None, "new: no title yet");
        assert!(list.observe(&answered("  Where is\n my   parcel?  "), 2));
        assert_eq!(list.current().title(), Some("Where is my parcel?"));
        assert!(list.rename("a", "  Parcel  "));
        assert_eq!(list.current().title(), Some("Parcel"));
        assert!(list.rename("a", "   "), "an empty name goes back");
        assert_eq!(list.current().title(), Some("Where is my parcel?"));
        assert!(!list.rename("nope", "x"));
        let long = "x".repeat(200);
        list.rename("a", &long);
        let title = list.current().title().unwrap_or_default();
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn each_conversation_keeps_its_own_session() {
        let mut list = Conversations::start("a".into(), Some("s-a".into()), 1);
        assert!(!list.set_session("s-a"));
        list.start_new("b".into(), 2).expect("room");
        assert_eq!(list.current, "b");
        assert_eq!(list.current().session, None, "the relay hands one out");
        assert!(list.set_session("s-b"));
        assert!(list.switch("a"));
        assert_eq!(list.current().session.as_deref(), Some("s-a"));
        assert!(!list.switch("zzz"));
        assert_eq!(list.current, "a");
        assert_eq!(list.sessions(), vec!["s-a".to_owned(), "s-b".to_owned()]);
    }

    #[test]
    fn at_the_bound_the_oldest_finished_one_is_archived_never_an_unsent_one() {
        let mut list = Conversations::start("c0".into(), None, 0);
        // c0 has an unsent message.
        list.observe(&with_user("waiting", "m"), 0);
        for i in 1..MAX_CONVERSATIONS {
            list.start_new(format!("c{i}"), i as u64).expect("room");
            list.observe(&answered("done"), i as u64);
        }
        assert_eq!(list.list.len(), MAX_CONVERSATIONS);
        let archived = list.start_new("new".into(), 100).expect("archives");
        let ids: Vec<_> = archived.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["c1"], "the oldest finished one, not c0");
        assert_eq!(list.list.len(), MAX_CONVERSATIONS);
        assert!(list.get("c0").is_some());
        assert_eq!(list.current, "new");
    }

    #[test]
    fn full_of_unsent_conversations_a_new_one_is_refused() {
        let mut list = Conversations::start("c0".into(), None, 0);
        list.observe(&with_user("waiting", "m"), 0);
        for i in 1..MAX_CONVERSATIONS {
            list.start_new(format!("c{i}"), i as u64).expect("room");
            list.observe(&with_user("waiting", "m"), i as u64);
        }
        let before = list.clone();
        assert_eq!(list.start_new("new".into(), 100), Err(Full));
        assert_eq!(list, before, "nothing changed");
    }

    #[test]
    fn deleting_the_current_one_shows_the_latest_other_or_a_new_one() {
        let mut list = Conversations::start("a".into(), None, 1);
        list.start_new("b".into(), 2).expect("room");
        list.start_new("c".into(), 3).expect("room");
        list.switch("b");
        list.observe(&answered("hi"), 10);
        list.switch("c");
        let gone = list.delete("c", "fresh".into(), 11).expect("there");
        assert_eq!(gone.id, "c");
        assert_eq!(list.current, "b", "the most recently changed");
        assert!(list.delete("c", "fresh".into(), 12).is_none());
        list.delete("a", "fresh".into(), 12);
        assert_eq!(list.current, "b", "another one: current stays");
        list.delete("b", "fresh".into(), 13);
        assert_eq!(list.current, "fresh");
        assert_eq!(list.list.len(), 1, "never empty");
    }

    #[test]
    fn the_list_is_ordered_newest_first_and_survives_storage() {
        let mut list = Conversations::start("a".into(), None, 1);
        list.start_new("b".into(), 2).expect("room");
        list.switch("a");
        list.observe(&answered("later"), 5);
        let order: Vec<_> = list.newest_first().into_iter().map(|s| s.id).collect();
        assert_eq!(order, ["a", "b"]);
        let back = Conversations::parse(&list.encode()).expect("readable");
        assert_eq!(back, list);
        assert_eq!(Conversations::parse("{not json"), None);
        assert_eq!(
            Conversations::parse(r#"{"current":"x","list":[{"id":"a"}]}"#),
            None,
            "a current id not in the list"
        );
    }

    #[test]
    fn deleted_sessions_wait_to_be_forgotten_bounded() {
        let mut list = Conversations::start("a".into(), Some("s-a".into()), 1);
        list.queue_forget("s-x".into());
        list.queue_forget("s-x".into());
        assert_eq!(list.forget, ["s-x"], "once");
        let gone = list.forget_all("fresh".into(), 2);
        assert_eq!(gone.len(), 1);
        assert_eq!(list.current, "fresh");
        assert_eq!(list.list.len(), 1);
        assert_eq!(list.forget, ["s-x", "s-a"]);
        let back = Conversations::parse(&list.encode()).expect("kept across reloads");
        assert_eq!(back.forget, list.forget);
        list.forgotten(&["s-x".to_owned()]);
        assert_eq!(list.forget, ["s-a"]);
        for i in 0..MAX_FORGET_QUEUE + 5 {
            list.queue_forget(format!("s-{i}"));
        }
        assert_eq!(list.forget.len(), MAX_FORGET_QUEUE);
        assert_eq!(list.forget[0], "s-5", "the oldest dropped at the bound");
    }

    #[test]
    fn export_is_markdown_without_the_pages_own_notes() {
        let mut c = answered("Hello?");
        c.add_system("n".into(), "Connection lost".into());
        let md = to_markdown("Greeting", &c, "You", "Assistant");
        assert_eq!(
            md,
            "# Greeting\n\n**You:**\n\nHello?\n\n**Assistant:**\n\nthe answer\n"
        );
        assert_eq!(file_name("Where is my parcel?"), "Where-is-my-parcel.md");
        assert_eq!(file_name("../../etc"), "etc.md");
        assert_eq!(file_name(""), "conversation.md");
    }
}
