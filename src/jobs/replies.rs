//! Job: read replies over IMAP (when `[mail.imap]` is configured) and apply the retention period to raw messages.

use super::{Ctx, Summary};
use crate::mail::inbound::{FetchReport, fetch, new_token};
use chrono::{DateTime, Months, Utc};

#[derive(Debug, Default)]
pub struct RepliesReport {
    /// None when no IMAP server is configured (replies come by `mail ingest`).
    pub fetch: Option<FetchReport>,
    /// Raw messages deleted after the retention period.
    pub raw_deleted: u64,
    /// Reply tokens created for contacts (with `mail.reply_token`).
    pub tokens_created: usize,
}

impl Summary for RepliesReport {
    fn summary(&self) -> String {
        let fetched = match &self.fetch {
            None => "ingen IMAP".to_string(),
            Some(f) => format!(
                "{} olästa: {} registrerade, {} hållna, {} väntar, {} oläsbara, {} autosvar, {} dubbletter, {} fel; {} flyttade",
                f.unseen, f.accepted, f.held, f.waiting, f.unreadable, f.auto_replies, f.duplicates, f.failed, f.moved
            ),
        };
        format!("{fetched}; {} råa meddelanden raderade", self.raw_deleted)
    }
}

/// The retention cut-off: raw replies received before it are deleted.
pub fn retention_cutoff(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(months)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Fetch replies (if IMAP is configured), then delete raw messages older
/// than `mail.retention_months` (the reading stays).
pub async fn run_replies(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<RepliesReport> {
    super::recorded(ctx, "replies", now, || async {
        let mut report = RepliesReport::default();
        if ctx.config.mail.reply_token {
            report.tokens_created = ctx.store.ensure_contact_tokens(new_token).await?;
        }
        if let Some(imap) = &ctx.config.mail.imap {
            report.fetch = Some(fetch(ctx, imap, now).await?);
        }
        report.raw_deleted = ctx.store.delete_raw_replies_before(retention_cutoff(now, ctx.config.mail.retention_months), now).await?;
        Ok(report)
    })
    .await
}
