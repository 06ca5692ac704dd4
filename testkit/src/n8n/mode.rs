//! The ways the stand-in can answer a `sendMessage` request.

use std::time::Duration;

use crate::respond_to_chat::Step;

/// How the stand-in answers `sendMessage` requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `{"output":"echo: <chatInput>"}` with n8n's exact headers (Respond to Webhook).
    Echo,
    /// `[{"output":"echo: <chatInput>"}]` (the last node's items).
    EchoArray,
    /// `echo: <chatInput>` as `text/plain`.
    PlainText,
    /// n8n's streaming answer: "echo: " then the input, in two begin/item/end
    /// blocks separated by `gap` (n8n's capture: ~1 s).
    Stream {
        /// Pause between the two blocks.
        gap: Duration,
    },
    /// A streamed answer with several steps: n8n's two streaming nodes in
    /// sequence ("echo: ", then the input; `c-stream`), then one node in a
    /// loop of four runs ("echo: hello big world"; `c3-stream-tokens`),
    /// each block `gap` after the one before.
    StreamSteps {
        /// Pause before each block after the first.
        gap: Duration,
    },
    /// A node fails mid-stream: an `error` line, HTTP 200.
    StreamError,
    /// The first block of a stream, then the connection drops.
    StreamCutOff,
    /// HTTP 500 `{"message":"Error in workflow"}`.
    Error500,
    /// HTTP 404: the workflow is not active.
    NotRegistered,
    /// HTTP 200 with an empty chunked body (a node failed behind a Respond node).
    EmptyBody,
    /// HTTP 200 `application/json` with a body that is not JSON.
    InvalidJson,
    /// Headers and half a body, then the connection is closed.
    CutOff,
    /// Accepts the request and never answers.
    Hang,
    /// HTTP 302 to `location` (n8n behind a misconfigured proxy, or a
    /// hostile one): a client must not follow it with its credentials.
    Redirect {
        /// The `Location` header.
        location: String,
    },
    /// HTTP 200 `{"output":"xxx…"}` whose text is `bytes` long.
    Huge {
        /// Length of the answer text.
        bytes: usize,
    },
    /// A stream that never ends: one `item` line of 1000 bytes after
    /// another until the client hangs up.
    EndlessStream,
    /// A stream whose second line never ends (bytes without a newline
    /// until the client hangs up).
    EndlessLine,
    /// A Chat Trigger answering "Using Response Nodes": every message starts
    /// an execution that runs these Chat nodes over n8n's `/chat` socket
    /// (see [`crate::respond_to_chat`]).
    RespondToChat(Vec<Step>),
    /// A flaky n8n for soak tests: request number n (0-based) fails with
    /// HTTP 500 when n % `fail_every` == 0, and is answered after
    /// `slow_ms` when n % `slow_every` == 0; otherwise like [`Mode::Echo`].
    Flaky {
        /// Every how many requests one fails.
        fail_every: usize,
        /// Every how many requests one is slow.
        slow_every: usize,
        /// How slow.
        slow_ms: u64,
    },
}

impl Mode {
    /// What request number `number` of a [`Mode::Flaky`] stand-in gets
    /// (after its delay, if it is a slow one); any other mode as it is.
    pub(crate) async fn for_request(self, number: usize) -> Mode {
        let Mode::Flaky {
            fail_every,
            slow_every,
            slow_ms,
        } = self
        else {
            return self;
        };
        if slow_every > 0 && number.is_multiple_of(slow_every) {
            tokio::time::sleep(Duration::from_millis(slow_ms)).await;
        }
        if fail_every > 0 && number.is_multiple_of(fail_every) {
            Mode::Error500
        } else {
            Mode::Echo
        }
    }
}
