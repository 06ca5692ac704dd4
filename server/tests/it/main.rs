//! The relay's integration tests, one binary (one link instead of one per
//! file): each module is a suite — a real WebSocket client against a relay
//! running in this process or as the built `relay` binary, a stand-in n8n
//! on loopback reproducing n8n's bytes. Run one suite with
//! `cargo test -p server --test it <module>::`.

mod support;

mod admin;
mod answer_parser_props;
mod architecture;
mod connection;
mod conversation_list;
mod deploy_compose;
mod deploy_dashboard;
mod edge;
mod embed_origins;
mod examples;
mod forget;
mod fuzz_corpus;
mod handshake;
mod highlight;
mod identity;
mod images;
mod limits;
mod log_format;
mod logs;
mod oidc;
mod page_config;
mod progress;
mod proof_of_work;
mod push;
mod quotas;
mod redis_outage;
mod restart;
mod runs;
mod sessions;
mod shutdown;
mod stop_and_feedback;
mod store_suite;
mod stream_parser_props;
mod transcripts;
mod upgrade;
mod uploads;
mod webhook;
