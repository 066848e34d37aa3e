//! The integration test binary: one module per area, shared helpers in `helpers.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod helpers;
mod mail_in;
mod mail_out;
mod mail_reply;
mod members;
mod smtp_sink;
mod sources;
