//! Helpers shared by the relay's integration tests, the browser tests and
//! the benchmarks: a stand-in n8n 2.8.4 on loopback that writes the exact
//! bytes captured from a real one (`fixtures/README.md`).
//!
//! | module | job |
//! |---|---|
//! | [`n8n`] | the stand-in webhook: [`n8n::StandIn`] (start it, set its [`n8n::Mode`], read what it received) |
//! | `n8n/request.rs` | reading one HTTP request off the socket (`httparse`) |
//! | `n8n/connection.rs` | one keep-alive connection: which request goes where |
//! | `n8n/answer.rs`, `n8n/stream.rs` | the bytes of each answer mode, whole or streamed |
//! | [`respond_to_chat`] | its Chat Trigger "Using Response Nodes": the executions and what tests ask of them |
//! | `respond_to_chat/socket.rs` | n8n's `/chat` WebSocket of a running execution, one Chat node per poll |
//! | `respond_to_chat/links.rs` | the signed approval links and n8n's pages for them |
//! | [`multipart`] | file uploads: reading `multipart/form-data` (`multer`) and what a workflow sees of it |
//! | [`fixtures`] | the captured bytes themselves |
//! | [`oidc`] | a small OpenID Connect provider (discovery, authorize, token, JWKS) for the sign-in tests |

pub mod fixtures;
pub use fixtures::{upload_capture, DOT_PNG, TINY_PDF};
pub mod multipart;
pub mod n8n;
pub mod oidc;
pub mod respond_to_chat;
