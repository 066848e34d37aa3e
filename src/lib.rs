//! psi-radar watches Swedish and EU funding calls for a regional partnership
//! for social innovation, sorts them by societal challenge, matches them to
//! member organisations, mails a weekly digest and reads the members' replies.
//!
//! ```text
//!                       jobs::poll owns this flow
//!  ┌──────────────────────────────────────────────────────────────────────────────┐
//!  sources ──fetch──▶ adapters ──RawCall──▶ jobs::ingest: ONE transaction per source ──▶ store
//!  (pure, concurrent)              normalize + dedup + merge (pure decisions) │ the calls it wrote,
//!                                                                           ▼ in memory
//!  members+interests ──────────────────────▶ rules + classify ─▶ match ─▶ scores stored; consortium
//!                                                                           │
//!             ┌─ outbox (one row per message, claimed before sending) ◀─────┘ digest / notify / remind
//!             ▼
//!         SMTP or file outbox ──▶ AU and members ──reply──▶ IMAP or stdin ──▶ reply parser ──▶ interests
//!                                                                           │
//!  coordinators ◀── report, CSV, ICS calendar, HTML ◀── application register (tracking)
//! ```
//!
//! Each stage is a module; each arrow a plain function callable from a test
//! or the CLI. Layers point one way (`tests/it/layers.rs` checks it):
//! `domain` ← `sources`, `normalize`, `classify`, `matching`, `members`
//! (pure: values in, values out) ← `store` (persists only: no policy) ←
//! `mail`, `tracking` ← `jobs` (own the flow: what runs in which
//! transaction, the back-off of a failing source) ← `cli`, `demo`, and
//! `jobs::schedule::serve` (the daemon, stopped by a future: the binary
//! passes SIGTERM). The scheduler only decides when; only the outbox sender
//! sends. `config`, `i18n` and `instance` (process identity for claims and
//! the daemon's lease) are used by every layer.

pub mod classify;
pub mod cli;
pub mod config;
pub mod csv_cell;
pub mod csv_text;
pub mod demo;
pub mod domain;
pub mod i18n;
pub mod instance;
pub mod jobs;
pub mod mail;
pub mod matching;
pub mod members;
pub mod normalize;
pub mod sources;
pub mod store;
pub mod toml_pos;
pub mod tracking;
