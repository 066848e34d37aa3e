//! Mail, sending: delivers pending outbox rows through the configured
//! transport (SMTP or a directory of `.eml` files), marks each sent with the
//! server's answer, retries transient failures with back-off and gives up on
//! permanent ones (reported in the next digest).

use super::MailError;
use crate::config::{MailConfig, SmtpConfig, TlsMode, Transport};
use crate::store::Store;
use crate::store::outbox::OutboxRow;
use chrono::{DateTime, Duration, Utc};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Where mail goes.
pub enum Mailer {
    /// Each message as `<id>-<kind>-<period>.eml` plus an `.html` preview.
    File {
        dir: PathBuf,
    },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        per_minute: u32,
    },
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct SendReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
}

impl Mailer {
    /// Build the transport from the config; the SMTP password is read from
    /// the environment variable the config names.
    pub fn from_config(cfg: &MailConfig) -> Result<Mailer, MailError> {
        match &cfg.transport {
            Transport::File { dir } => Ok(Mailer::File { dir: dir.clone() }),
            Transport::Smtp(s) => Ok(Mailer::Smtp { transport: smtp_transport(s)?, per_minute: s.per_minute }),
        }
    }

    pub fn file(dir: &Path) -> Mailer {
        Mailer::File { dir: dir.to_path_buf() }
    }

    async fn deliver(&self, row: &OutboxRow) -> Result<Delivered, MailError> {
        match self {
            Mailer::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| MailError::Io { path: dir.display().to_string(), source: e })?;
                let safe: String = row.period.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
                let base = dir.join(format!("{:04}-{}-{}", row.id, row.kind, safe));
                let eml = base.with_extension("eml");
                std::fs::write(&eml, &row.body).map_err(|e| MailError::Io { path: eml.display().to_string(), source: e })?;
                let html = base.with_extension("html");
                std::fs::write(&html, &row.html).map_err(|e| MailError::Io { path: html.display().to_string(), source: e })?;
                Ok(Delivered { response: format!("fil {}", eml.display()), files: vec![eml, html] })
            }
            Mailer::Smtp { transport, .. } => {
                let env = envelope(row)?;
                let resp = transport.send_raw(&env, &row.body).await?;
                let text = format!("{} {}", resp.code(), resp.message().collect::<Vec<_>>().join(" "));
                Ok(Delivered { response: text, files: Vec::new() })
            }
        }
    }
}

struct Delivered {
    response: String,
    files: Vec<PathBuf>,
}

fn envelope(row: &OutboxRow) -> Result<Envelope, MailError> {
    // The sender is the From of the composed message itself.
    let parsed = mail_parser::MessageParser::default().parse(&row.body);
    let sender = parsed
        .as_ref()
        .and_then(|m| m.from())
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .ok_or_else(|| MailError::Build("avsändaradress saknas i meddelandet".into()))?;
    let from = sender.parse().map_err(|e| MailError::Build(format!("avsändaren «{sender}»: {e}")))?;
    let to = row.recipient.parse().map_err(|e| MailError::Build(format!("mottagaren «{}»: {e}", row.recipient)))?;
    Envelope::new(Some(from), vec![to]).map_err(|e| MailError::Build(e.to_string()))
}

fn smtp_transport(s: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let mut b = match s.tls {
        TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
        TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?,
        TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).tls(Tls::None),
    };
    if s.tls == TlsMode::Starttls {
        let params = TlsParameters::new(s.host.clone())?;
        b = b.tls(Tls::Required(params));
    }
    b = b.port(s.port).timeout(Some(std::time::Duration::from_secs(30))).pool_config(PoolConfig::new().max_size(2));
    if let (Some(user), Some(var)) = (&s.username, &s.password_env) {
        let pw = std::env::var(var).map_err(|_| MailError::Config(format!("miljövariabeln {var} (SMTP-lösenordet) är inte satt")))?;
        b = b.credentials(Credentials::new(user.clone(), pw));
    }
    Ok(b.build())
}

/// Whether an error is worth retrying: SMTP 4xx, timeouts and connection
/// failures are; 5xx answers and malformed messages are not.
pub fn is_transient(e: &MailError) -> bool {
    match e {
        MailError::Smtp(s) => !s.is_permanent(),
        MailError::Io { .. } => true,
        _ => false,
    }
}

/// Back-off after `attempts` failed tries: 1, 2, 4 … minutes, at most 6 hours.
pub fn backoff(attempts: i64) -> Duration {
    let minutes = 1i64 << attempts.clamp(0, 9);
    Duration::minutes(minutes.min(360))
}

/// Whether the server could not be reached at all (connection refused,
/// network or TLS failure, timeout) rather than refusing this one message:
/// then every other message would fail the same way.
pub fn server_unreachable(e: &MailError) -> bool {
    match e {
        MailError::Smtp(s) => !(s.is_transient() || s.is_permanent() || s.is_client()),
        _ => false,
    }
}

/// Send every pending message that is due. Never sends a message twice that
/// was recorded as sent.
pub async fn send_pending(store: &Store, mailer: &Mailer, now: DateTime<Utc>, max_attempts: u32) -> Result<SendReport, MailError> {
    send_pending_until(store, mailer, now, max_attempts, &AtomicBool::new(false)).await
}

/// [`send_pending`], stopping before the next message once `stop` is set
/// (the daemon is shutting down: what is not sent stays pending). When the
/// server cannot be reached, the rest of the batch waits with the failed
/// message, so that mail still goes out in the order it was queued.
pub async fn send_pending_until(
    store: &Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
    max_attempts: u32,
    stop: &AtomicBool,
) -> Result<SendReport, MailError> {
    let mut report = SendReport::default();
    let due = store.outbox_due(now).await?;
    for (i, row) in due.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let (Mailer::Smtp { per_minute, .. }, true) = (mailer, i > 0) {
            tokio::time::sleep(std::time::Duration::from_millis(60_000 / u64::from((*per_minute).max(1)))).await;
        }
        match mailer.deliver(row).await {
            Ok(d) => {
                store.mark_sent(row.id, &d.response, now).await?;
                report.sent += 1;
                report.files.extend(d.files);
            }
            Err(e) => {
                let attempts = row.attempts + 1;
                let retry = is_transient(&e) && attempts < i64::from(max_attempts);
                let retry_at = retry.then(|| now + backoff(attempts));
                store.mark_attempt_failed(row.id, &e.to_string(), retry_at).await?;
                tracing::warn!(outbox_id = row.id, kind = %row.kind, retry, "utskick misslyckades: {e}");
                if retry {
                    report.retrying += 1;
                } else {
                    report.failed += 1;
                }
                report.errors.push(format!("#{} {}: {e}", row.id, row.kind));
                if let (true, Some(at)) = (server_unreachable(&e), retry_at) {
                    let waiting = store.outbox_defer_due(now, at).await?;
                    report.retrying += waiting as usize;
                    break;
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::minutes(2));
        assert_eq!(backoff(3), Duration::minutes(8));
        assert_eq!(backoff(30), Duration::minutes(360));
    }
}
