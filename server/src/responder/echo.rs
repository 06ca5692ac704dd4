//! The built-in answerer used when no n8n webhook is configured, so the page
//! can be tried out of the box.

use crate::responder::ChatRequest;

/// Answers `echo: <text>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl Echo {
    /// The echo of one message.
    pub fn answer(&self, request: &ChatRequest) -> String {
        format!("echo: {}", request.text)
    }
}
