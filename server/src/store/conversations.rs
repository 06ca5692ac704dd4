//! Verified users' lists of conversations, kept on the relay so that a
//! user's list follows them to another browser or device (issue 24).
//!
//! Anonymous visitors have no list here: theirs stays in their browser.
//! A list holds, per conversation, its session id, a title and when it was
//! last saved; it is read and written only for its user (the relay checks
//! the session is the user's before saving, see `chat::conversations`).
//!
//! Bounded three ways, each with the least recently saved going first:
//! - at most [`Limits::max_conversations_per_user`] entries per user
//!   (100, [`validate::MAX_USER_CONVERSATIONS`]);
//! - at most [`MAX_USER_LIST_BYTES`] of session ids and titles per user;
//! - entries older than `--conversation-retention` are not listed and are
//!   pruned ([`UserLists::sweep`]).
//!
//! And in this relay's memory (the memory and SQLite stores; Redis keeps
//! its own keys, expiring with the retention), at most
//! [`Limits::max_conversation_users`] users: at the bound the list of the
//! user who saved least recently goes.
//!
//! Time is passed in (unix ms) rather than read here, so tests can put
//! entries in the past instead of sleeping.

use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::Arc;

use shared::{validate, ConversationItem};

use super::journal::{Change, Journal};
use super::Limits;

/// Bytes of session ids and titles one user's list holds at most (100
/// entries of a UUID and a 120-character title fit; 100 of the longest
/// session ids with 4-byte titles would not, so those lose their oldest).
pub const MAX_USER_LIST_BYTES: usize = 48 * 1024;

/// The bytes an entry counts for [`MAX_USER_LIST_BYTES`].
fn entry_bytes(item: &ConversationItem) -> usize {
    item.session.len() + item.title.len()
}

/// `title` trimmed and cut to [`validate::MAX_CONVERSATION_TITLE_CHARS`]
/// characters (the edge refuses longer ones; this keeps the store's bound
/// whatever the caller).
pub fn clean_title(title: &str) -> String {
    title
        .trim()
        .chars()
        .take(validate::MAX_CONVERSATION_TITLE_CHARS)
        .collect()
}

/// Whether an entry saved at `updated_at` is still kept at `now_ms`.
pub fn is_current(updated_at: u64, now_ms: u64, limits: &Limits) -> bool {
    let retention = u64::try_from(limits.conversation_retention.as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_sub(updated_at) < retention
}

/// Every user's list, in memory (the memory store; the SQLite store's
/// copy, written through its journal).
#[derive(Debug)]
pub struct UserLists {
    inner: Mutex<HashMap<String, Vec<ConversationItem>>>,
    limits: Limits,
    journal: Option<Arc<dyn Journal>>,
}

impl UserLists {
    /// Empty lists with these bounds, reporting changes to `journal`.
    pub fn new(limits: Limits, journal: Option<Arc<dyn Journal>>) -> Self {
        UserLists {
            inner: Mutex::default(),
            limits,
            journal,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<ConversationItem>>> {
        self.inner.lock()
    }

    fn note(&self, change: Change) {
        if let Some(journal) = &self.journal {
            journal.record(change);
        }
    }

    /// `user`'s conversations at `now_ms`, most recently saved first.
    pub fn list(&self, user: &str, now_ms: u64) -> Vec<ConversationItem> {
        let lists = self.lock();
        let mut items: Vec<ConversationItem> = lists
            .get(user)
            .map(|l| {
                l.iter()
                    .filter(|i| is_current(i.updated_at, now_ms, &self.limits))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        newest_first(&mut items);
        items
    }

    /// Whether `session` is in `user`'s list (kept, at `now_ms`).
    pub fn contains(&self, user: &str, session: &str, now_ms: u64) -> bool {
        self.lock().get(user).is_some_and(|l| {
            l.iter()
                .any(|i| i.session == session && is_current(i.updated_at, now_ms, &self.limits))
        })
    }

    /// The user whose list holds `session` at `now_ms`, if any: a scan of
    /// every list, for reading a store back at start only.
    pub fn holder(&self, session: &str, now_ms: u64) -> Option<String> {
        self.lock()
            .iter()
            .find(|(_, l)| {
                l.iter()
                    .any(|i| i.session == session && is_current(i.updated_at, now_ms, &self.limits))
            })
            .map(|(user, _)| user.clone())
    }

    /// Adds or updates `item` in `user`'s list, then applies the bounds;
    /// the list afterwards.
    pub fn save(&self, user: &str, item: ConversationItem, now_ms: u64) -> Vec<ConversationItem> {
        self.put(user, item, now_ms, true);
        self.list(user, now_ms)
    }

    /// [`UserLists::save`] without reporting it (read back from disk).
    pub fn restore(&self, user: &str, item: ConversationItem, now_ms: u64) {
        self.put(user, item, now_ms, false);
    }

    fn put(&self, user: &str, mut item: ConversationItem, now_ms: u64, report: bool) {
        item.title = clean_title(&item.title);
        let mut lists = self.lock();
        if !lists.contains_key(user) && lists.len() >= self.limits.max_conversation_users.max(1) {
            self.drop_least_recent_user(&mut lists, user);
        }
        let list = lists.entry(user.to_owned()).or_default();
        list.retain(|i| i.session != item.session);
        if report {
            self.note(Change::ConversationSaved {
                user: user.to_owned(),
                item: item.clone(),
            });
        }
        list.push(item);
        let dropped = bound(list, &self.limits, now_ms);
        for session in dropped {
            self.note(Change::ConversationDropped {
                user: user.to_owned(),
                session,
            });
        }
    }

    /// At the users' bound: the list of the user whose newest entry is the
    /// oldest goes (a scan, only when a new user arrives at the bound).
    fn drop_least_recent_user(
        &self,
        lists: &mut HashMap<String, Vec<ConversationItem>>,
        except: &str,
    ) {
        let oldest = lists
            .iter()
            .filter(|(u, _)| u.as_str() != except)
            .min_by_key(|(_, l)| l.iter().map(|i| i.updated_at).max().unwrap_or(0))
            .map(|(u, _)| u.clone());
        if let Some(user) = oldest {
            if let Some(list) = lists.remove(&user) {
                for item in list {
                    self.note(Change::ConversationDropped {
                        user: user.clone(),
                        session: item.session,
                    });
                }
            }
        }
    }

    /// Takes `session` out of `user`'s list (the user forgot it). Whether
    /// it was there.
    pub fn remove(&self, user: &str, session: &str) -> bool {
        let mut lists = self.lock();
        let Some(list) = lists.get_mut(user) else {
            return false;
        };
        let before = list.len();
        list.retain(|i| i.session != session);
        let removed = list.len() != before;
        if list.is_empty() {
            lists.remove(user);
        }
        drop(lists);
        if removed {
            self.note(Change::ConversationDropped {
                user: user.to_owned(),
                session: session.to_owned(),
            });
        }
        removed
    }

    /// Prunes entries past the retention at `now_ms`; how many went.
    pub fn sweep(&self, now_ms: u64) -> usize {
        let mut lists = self.lock();
        let mut gone = 0;
        lists.retain(|_, list| {
            let before = list.len();
            list.retain(|i| is_current(i.updated_at, now_ms, &self.limits));
            gone += before - list.len();
            !list.is_empty()
        });
        drop(lists);
        if gone > 0 {
            let retention =
                u64::try_from(self.limits.conversation_retention.as_millis()).unwrap_or(u64::MAX);
            self.note(Change::ConversationsExpired {
                before_ms: now_ms.saturating_sub(retention),
            });
        }
        gone
    }

    /// Users with a list here.
    pub fn users(&self) -> usize {
        self.lock().len()
    }
}

/// Most recently saved first; equal times by session, so the order is
/// the same on every store.
pub fn newest_first(items: &mut [ConversationItem]) {
    items.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.session.cmp(&b.session))
    });
}

/// Applies the per-user bounds to `list`: expired entries go, then the
/// least recently saved until the count and bytes fit. The sessions that
/// went.
fn bound(list: &mut Vec<ConversationItem>, limits: &Limits, now_ms: u64) -> Vec<String> {
    let mut dropped = Vec::new();
    list.retain(|i| {
        let keep = is_current(i.updated_at, now_ms, limits);
        if !keep {
            dropped.push(i.session.clone());
        }
        keep
    });
    newest_first(list);
    let max = limits.max_conversations_per_user.max(1);
    let mut bytes = 0;
    let mut keep = 0;
    for item in list.iter() {
        let b = entry_bytes(item);
        if keep >= max || (keep > 0 && bytes + b > MAX_USER_LIST_BYTES) {
            break;
        }
        bytes += b;
        keep += 1;
    }
    dropped.extend(list.drain(keep..).map(|i| i.session));
    dropped
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn item(session: &str, title: &str, at: u64) -> ConversationItem {
        ConversationItem {
            session: session.into(),
            title: title.into(),
            updated_at: at,
        }
    }

    fn limits() -> Limits {
        Limits {
            conversation_retention: Duration::from_secs(100),
            max_conversation_users: 3,
            ..Limits::default()
        }
    }

    #[test]
    fn a_save_updates_in_place_and_lists_newest_first() {
        let lists = UserLists::new(limits(), None);
        lists.save("a", item("s1", "one", 1_000), 1_000);
        lists.save("a", item("s2", "two", 2_000), 2_000);
        let after = lists.save("a", item("s1", "  one again  ", 3_000), 3_000);
        assert_eq!(
            after,
            vec![item("s1", "one again", 3_000), item("s2", "two", 2_000)]
        );
        assert!(lists.list("b", 3_000).is_empty(), "another user's is empty");
    }

    #[test]
    fn bytes_per_user_are_bounded() {
        let lists = UserLists::new(limits(), None);
        let title = "😀".repeat(120); // 480 bytes
        let mut n = 0;
        for i in 0..100u64 {
            let session = format!("{i:0>128}");
            n = lists
                .save("a", item(&session, &title, 1_000 + i), 1_000 + i)
                .len();
        }
        let per_entry = 128 + 480;
        assert_eq!(n, MAX_USER_LIST_BYTES / per_entry);
    }

    #[test]
    fn users_are_bounded_least_recent_first() {
        let lists = UserLists::new(limits(), None);
        for (i, user) in ["a", "b", "c"].iter().enumerate() {
            lists.save(user, item("s", "", 10 + i as u64), 20);
        }
        lists.save("d", item("s", "", 30), 30);
        assert_eq!(lists.users(), 3);
        assert!(lists.list("a", 30).is_empty(), "the least recent went");
        assert_eq!(lists.list("b", 30).len(), 1);
    }

    #[test]
    fn expired_entries_are_not_listed_and_are_swept() {
        let lists = UserLists::new(limits(), None);
        lists.save("a", item("old", "", 1_000), 1_000);
        lists.save("a", item("new", "", 90_000), 90_000);
        let at = 1_000 + 100_000;
        assert_eq!(lists.list("a", at), vec![item("new", "", 90_000)]);
        assert!(!lists.contains("a", "old", at));
        assert_eq!(lists.sweep(at), 1);
        assert_eq!(lists.sweep(at), 0);
    }
}
