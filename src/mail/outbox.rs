//! Mail, sending: the only code that sends. Claims due outbox rows one at a
//! time, delivers each through the configured transport (SMTP or a directory
//! of `.eml` files), records it as sent with the server's answer while the
//! claim is still its own, retries transient failures with back-off and
//! gives up on permanent ones (reported in the next digest). Several senders
//! (the daemon, `outbox send`, `digest`) may run at once on one database:
//! the claims keep each message to one of them.

use super::MailError;
use crate::config::{MailConfig, SmtpConfig, TlsMode, Transport};
use crate::instance::{Holder, Presence};
use crate::store::Store;
use crate::store::outbox::{Claimed, OutboxRow};
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
        MailError::Io { .. } | MailError::Timeout(_) => true,
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

/// How long a claim holds a message for its sender. Other senders take it
/// over only after this (or at once when the sender is seen to be gone), so
/// it is far longer than any delivery may take (see [`DELIVERY_BUDGET`]).
pub const CLAIM_LEASE: Duration = Duration::minutes(5);

/// The longest one delivery may take before it counts as a transient
/// failure: well inside [`CLAIM_LEASE`], so that a live sender never loses
/// its claim while the server is still taking the message.
pub const DELIVERY_BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

/// Send every pending message that is due. Never sends a message twice that
/// was recorded as sent.
pub async fn send_pending(store: &Store, mailer: &Mailer, now: DateTime<Utc>, max_attempts: u32) -> Result<SendReport, MailError> {
    send_pending_until(store, mailer, now, max_attempts, &AtomicBool::new(false)).await
}

/// [`send_pending`], stopping before the next message once `stop` is set
/// (the daemon is shutting down: what is not sent stays pending). Each
/// message is claimed before it goes to the server, so that senders in other
/// processes interleave without sending anything twice. When the server
/// cannot be reached, the rest of the due mail waits with the failed
/// message, so that mail still goes out in the order it was queued.
pub async fn send_pending_until(
    store: &Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
    max_attempts: u32,
    stop: &AtomicBool,
) -> Result<SendReport, MailError> {
    let holder = Holder::current();
    // `now` may be a scheduled tick or a test's clock: it moves on with the
    // run, and a claim never ends before the real clock plus the lease.
    let started = std::time::Instant::now();
    let clock = || now + Duration::from_std(started.elapsed()).unwrap_or_default();
    release_claims_of_gone_senders(store).await?;
    let mut report = SendReport::default();
    let mut delivered_before = false;
    while !stop.load(Ordering::SeqCst) {
        let t = clock();
        let Some(claim) = store.claim_next(holder, t, t.max(Utc::now()) + CLAIM_LEASE).await? else { break };
        if let (Mailer::Smtp { per_minute, .. }, true) = (mailer, delivered_before) {
            tokio::time::sleep(std::time::Duration::from_millis(60_000 / u64::from((*per_minute).max(1)))).await;
        }
        delivered_before = true;
        let outcome = match tokio::time::timeout(DELIVERY_BUDGET, mailer.deliver(&claim.row)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(MailError::Timeout(DELIVERY_BUDGET.as_secs())),
        };
        match outcome {
            Ok(d) => record_sent(claim, d, clock(), &mut report).await?,
            Err(e) => {
                if record_failure(store, claim, &e, clock(), max_attempts, &mut report).await? {
                    break;
                }
            }
        }
    }
    Ok(report)
}

/// Record a delivery. If the claim was lost meanwhile (it expired: the
/// delivery took longer than the lease), the message did go out; the sender
/// now holding it may send it once more, which is what the warning says.
async fn record_sent(claim: Claimed, d: Delivered, now: DateTime<Utc>, report: &mut SendReport) -> Result<(), MailError> {
    let (id, kind) = (claim.row.id, claim.row.kind.clone());
    if !claim.sent(&d.response, now).await? {
        tracing::warn!(outbox_id = id, kind = %kind, "meddelandet levererades men hann tas över av en annan avsändare; det kan komma fram två gånger");
    }
    report.sent += 1;
    report.files.extend(d.files);
    Ok(())
}

/// Record a failed attempt; returns true when the server could not be
/// reached at all, after holding every other due message until the retry.
async fn record_failure(
    store: &Store,
    claim: Claimed,
    e: &MailError,
    now: DateTime<Utc>,
    max_attempts: u32,
    report: &mut SendReport,
) -> Result<bool, MailError> {
    let (id, kind) = (claim.row.id, claim.row.kind.clone());
    let attempts = claim.row.attempts + 1;
    let retry = is_transient(e) && attempts < i64::from(max_attempts);
    let retry_at = retry.then(|| now + backoff(attempts));
    if !claim.failed(&e.to_string(), retry_at).await? {
        tracing::warn!(outbox_id = id, kind = %kind, "en annan avsändare har tagit över meddelandet");
    }
    tracing::warn!(outbox_id = id, kind = %kind, retry, "utskick misslyckades: {e}");
    if retry {
        report.retrying += 1;
    } else {
        report.failed += 1;
    }
    report.errors.push(format!("#{id} {kind}: {e}"));
    if let (true, Some(at)) = (server_unreachable(e), retry_at) {
        let waiting = store.outbox_defer_due(now, at).await?;
        report.retrying += waiting as usize;
        return Ok(true);
    }
    Ok(false)
}

/// Claims held by a sender on this host whose process is gone (kill -9, a
/// crash) are given back at once instead of after their lease: a restart
/// sends them now. Claims of live senders, or of another host, wait.
pub async fn release_claims_of_gone_senders(store: &Store) -> Result<u64, MailError> {
    let mut released = 0;
    for holder in store.outbox_claim_holders().await? {
        if holder.presence() == Presence::Gone {
            let n = store.outbox_release_claims_of(&holder.id).await?;
            if n > 0 {
                tracing::info!(holder = %holder, messages = n, "avsändaren finns inte längre; dess påbörjade utskick skickas igen");
            }
            released += n;
        }
    }
    Ok(released)
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
