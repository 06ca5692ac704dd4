//! A file attached to a message: the record the uploads store keeps and a
//! responder sends along with the message (`ChatRequest::files`).
//!
//! A leaf of its own because both sides use it and neither may use the
//! other: `uploads` stores the bytes, `responder` reads them to send.

use std::path::PathBuf;

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its id (`up-…`).
    pub id: String,
    /// The session it belongs to.
    pub session: String,
    /// The name to give n8n (made safe).
    pub name: String,
    /// The checked MIME type.
    pub mime: String,
    /// Bytes.
    pub size: u64,
    /// Where the bytes are.
    pub path: PathBuf,
}
