//! Files: attached to the draft (checked against the relay's rules, an
//! image gets a thumbnail), moved onto a message when it is sent, and
//! uploaded one at a time while the link is up — a message leaves the
//! outbox only when the relay has every byte of its files.
//!
//! The bytes stay in the browser (as `File` handles) for as long as their
//! message may need them: until it is answered. After a reload only the
//! names and thumbnails are left; a message whose files were not uploaded
//! by then fails visibly rather than going without them.

use std::time::Duration;

use leptos::prelude::*;
use shared::ErrorCode;

use super::Chat;
use crate::browser::files;
use crate::browser::upload::{upload, UploadError};
use crate::model::attachments::{self, Attachment};
use crate::model::conversation::Conversation;
use crate::model::machine::Phase;
use crate::model::settings;

/// Uploads that did not get through, one after another, before the
/// message fails (each waits a little longer before the next try).
const MAX_UPLOAD_TRIES: u32 = 5;
/// The wait before the next try, times the tries so far.
const RETRY_STEP: Duration = Duration::from_secs(1);

impl Chat {
    /// The user picked, dropped or pasted `picked`: each is checked against
    /// the relay's rules and attached to the draft, or the first refusal is
    /// said in a sentence. Sequential, so the order is the user's.
    pub fn attach(&self, picked: Vec<web_sys::File>) {
        if picked.is_empty() {
            return;
        }
        self.view.attach_error.set(None);
        let me = self.me.clone();
        leptos::task::spawn_local(async move {
            for file in picked {
                let Some(chat) = me.upgrade() else { return };
                let (name, mime, size) = (file.name(), file.type_(), file.size() as u64);
                let rules = chat.view.config.with_untracked(|c| c.uploads.clone());
                let already = chat.view.draft.with_untracked(Vec::len);
                if let Err(refusal) =
                    attachments::check(rules.as_ref(), &name, &mime, size, already)
                {
                    let sentence = chat.view.texts.get_untracked().refusal(&refusal);
                    chat.view.attach_error.set(Some(sentence));
                    continue;
                }
                drop(chat);
                let thumb = files::thumbnail(&file).await;
                let Some(chat) = me.upgrade() else { return };
                let mut attachment = Attachment::new(&name, &mime, size);
                attachment.thumb = thumb;
                chat.draft_files.borrow_mut().push(file);
                chat.view.draft.update(|d| d.push(attachment));
            }
        });
    }

    /// The user removed attachment `index` from the draft.
    pub fn remove_attachment(&self, index: usize) {
        let mut files = self.draft_files.borrow_mut();
        if index < files.len() {
            files.remove(index);
            self.view.draft.update(|d| {
                d.remove(index);
            });
        }
        self.view.attach_error.set(None);
    }

    /// The draft's attachments and their files, leaving the draft empty.
    pub(super) fn take_draft(&self) -> (Vec<Attachment>, Vec<web_sys::File>) {
        self.view.attach_error.set(None);
        let attached = self
            .view
            .draft
            .try_update(std::mem::take)
            .unwrap_or_default();
        (
            attached,
            std::mem::take(&mut *self.draft_files.borrow_mut()),
        )
    }

    /// Starts the next upload a pending message needs, if the link is up
    /// and none is running.
    pub(super) fn pump_uploads(&self) {
        if self.uploading.get() || self.machine.borrow().phase() != Phase::Online {
            return;
        }
        let Some(session) = self.session.borrow().clone() else {
            return;
        };
        self.forget_unneeded_files();
        let needed = self
            .view
            .conversation
            .with_untracked(Conversation::uploads_needed);
        for (id, index) in needed {
            let file = self
                .files
                .borrow()
                .get(&id)
                .and_then(|files| files.get(index))
                .cloned();
            let Some(file) = file else {
                // Reloaded before it was uploaded: the bytes are gone.
                let sentence = self.view.texts.get_untracked().file_gone();
                self.view.conversation.update(|c| {
                    c.on_error(Some(&id), ErrorCode::UploadMissing, &sentence);
                });
                continue;
            };
            self.uploading.set(true);
            self.view.progress.set(Some((id.clone(), 0)));
            let url = settings::upload_url_for(&self.base_url.borrow(), &session);
            let me = self.me.clone();
            let progress = self.view.progress;
            leptos::task::spawn_local(async move {
                let shown = id.clone();
                let result = upload(&url, &session, &file, move |percent| {
                    let _ = progress.try_set(Some((shown.clone(), percent)));
                })
                .await;
                if let Some(chat) = me.upgrade() {
                    chat.uploaded(&id, index, result);
                }
            });
            return;
        }
    }

    fn uploaded(&self, id: &str, index: usize, result: Result<shared::Uploaded, UploadError>) {
        self.uploading.set(false);
        self.view.progress.set(None);
        match result {
            Ok(done) => {
                self.upload_tries.set(0);
                self.view
                    .conversation
                    .update(|c| c.set_upload(id, index, &done.id));
                self.flush();
            }
            Err(UploadError::Refused { code, message }) => {
                self.upload_tries.set(0);
                let code = serde_json::from_value(serde_json::Value::String(code))
                    .unwrap_or(ErrorCode::Unknown);
                self.view.conversation.update(|c| {
                    c.on_error(Some(id), code, &message);
                });
                self.flush();
            }
            Err(UploadError::Network) => {
                let tries = self.upload_tries.get() + 1;
                self.upload_tries.set(tries);
                if tries >= MAX_UPLOAD_TRIES {
                    self.upload_tries.set(0);
                    let sentence = self.view.texts.get_untracked().upload_failed();
                    self.view.conversation.update(|c| {
                        c.on_error(Some(id), ErrorCode::Unknown, &sentence);
                    });
                    self.flush();
                    return;
                }
                // Also tried again at once when the link comes back.
                let me = self.me.clone();
                leptos::task::spawn_local(async move {
                    let wait = RETRY_STEP * tries;
                    gloo_timers::future::sleep(wait).await;
                    if let Some(chat) = me.upgrade() {
                        chat.pump_uploads();
                    }
                });
            }
        }
    }

    /// The relay no longer has message `id`'s files (`upload_missing`):
    /// if the browser still has them, they go up again and the message is
    /// sent again (the user sees nothing). `false`: the error stands.
    pub(super) fn upload_again(&self, id: &str) -> bool {
        if !self.files.borrow().contains_key(id) {
            return false;
        }
        self.view.conversation.update(|c| c.forget_uploads(id));
        self.flush();
        true
    }

    /// Lets go of the bytes of answered messages. A message of another
    /// conversation (not shown now) keeps its files: it is sent when its
    /// conversation is shown again, and its bytes cannot come back once let
    /// go. (They go with the page: a handle each, as many as were picked.)
    fn forget_unneeded_files(&self) {
        let conversation = self.view.conversation;
        self.files.borrow_mut().retain(|id, _| {
            conversation.with_untracked(|c| c.delivery(id).is_none() || c.may_need_files(id))
        });
    }
}
