//! The integration test binary: one module per area, shared helpers in `helpers.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod mail_reply;
