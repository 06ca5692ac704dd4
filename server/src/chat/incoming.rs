//! A chat message as the page sent it, decoded and checked by the
//! connection, before the store's dedup decision.

use shared::SessionId;

use crate::attachment::Attachment;
use crate::responder::ChatRequest;

/// A chat message as the page sent it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The page's id for it (dedup key within the session).
    pub id: shared::MessageId,
    /// What the user typed.
    pub text: String,
    /// Context for n8n.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// The user asked to run a failed message again.
    pub retry: bool,
    /// Uploaded files it carries.
    pub files: Vec<shared::protocol::FileRef>,
    /// The sender's address (for `--quota-address`), when known.
    pub client_ip: Option<std::net::IpAddr>,
    /// The verified user who sent it (verified identity), for n8n's `user`.
    pub user: Option<crate::identity::VerifiedUser>,
    /// The user asked for another answer (told to n8n as `regenerate`).
    pub regenerate: bool,
}

impl Incoming {
    /// The request the responder gets: `self` in `session`, with its stored
    /// files.
    pub fn into_request(self, session: &SessionId, files: Vec<Attachment>) -> ChatRequest {
        ChatRequest {
            session_id: session.to_owned(),
            message_id: self.id,
            text: self.text,
            metadata: self.metadata,
            files,
            user: self.user,
            regenerate: self.regenerate,
        }
    }
}
