//! The integration test binary: one module per area, shared helpers in `helpers.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apps;
mod ask_back;
mod au_proof;
mod cli;
mod contacts;
mod daemon;
mod dedup;
mod held;
mod helpers;
mod jobs;
mod layers;
mod mail_in;
mod mail_out;
mod mail_reply;
mod members;
mod outbox;
mod real_servers;
mod robustness;
mod rules;
mod smtp_sink;
mod sources;
