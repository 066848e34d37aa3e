//! Job: send what is pending in the outbox.

use super::{Ctx, Summary};
use crate::mail::outbox::{SendReport, send_pending_until};
use chrono::{DateTime, Utc};

impl Summary for SendReport {
    fn summary(&self) -> String {
        format!("skickade {}, försöker igen {}, misslyckade {}", self.sent, self.retrying, self.failed)
    }
}

pub async fn run_send(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<SendReport> {
    super::recorded(ctx, "send", now, || async {
        Ok(send_pending_until(&ctx.store, &ctx.mailer, now, ctx.config.mail.max_attempts, &ctx.stopping).await?)
    })
    .await
}
