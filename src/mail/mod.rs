//! Mail: composing outbound messages (digest, notifications, reminders,
//! confirmations) into the outbox, sending the outbox over SMTP or to files,
//! and reading replies.

pub mod attribution;
pub mod digest;
pub mod held;
pub mod inbound;
pub mod message;
pub mod notify;
pub mod outbox;
pub mod positions;
pub mod proof;
pub mod render;
pub mod reply;

use crate::classify::Model;
use crate::config::Config;
use crate::store::Store;
use render::Renderer;

/// What reading replies and answering them needs: the store, the
/// configuration, the mail templates and the model (for the call cards of
/// an ask-back). The jobs' context gives one (`From<&jobs::Ctx>`).
#[derive(Clone, Copy)]
pub struct MailCtx<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub renderer: &'a Renderer,
    pub model: &'a Model,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("kunde inte bygga e-postmeddelandet: {0}")]
    Build(String),
    #[error("mallen «{name}»: {message}")]
    Template { name: String, message: String },
    #[error("e-postkonfigurationen: {0}")]
    Config(String),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("e-postservern tog inte emot meddelandet inom {0} s")]
    Timeout(u64),
    #[error("kunde inte skriva {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
