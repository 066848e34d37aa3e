//! psi-radar watches Swedish and EU funding calls for a regional partnership
//! for social innovation, sorts them by societal challenge, matches them to
//! member organisations, mails a weekly digest and reads the members' replies.
//!
//! ```text
//!  sources ──fetch──▶ adapters ──RawCall──▶ normalize+dedup ──Call──▶ store
//!                                                                      │
//!  members+interests ───────────────────────────▶ classify ─▶ match ─▶ consortium
//!                                                                      │
//!             ┌─ outbox (one row per message, claimed before sending) ◀┘ digest / notify / remind
//!             ▼
//!         SMTP or file outbox ──▶ AU and members ──reply──▶ IMAP or stdin ──▶ reply parser ──▶ interests
//!                                                                      │
//!  coordinators ◀── report, CSV, ICS calendar, HTML ◀── application register
//! ```
//!
//! Each stage is a module; each arrow a plain function callable from a test
//! or the CLI. `jobs` glues stages together; the scheduler only decides when;
//! only the outbox sender sends. `instance` (process identity for claims and
//! the daemon's lease) is a leaf every layer may use.

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
