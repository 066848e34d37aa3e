//! Mail, composing: one outbound message (subject, text and HTML parts,
//! headers) into RFC 822 bytes for the outbox. Untrusted text never reaches a
//! header unsanitised.

use super::MailError;
use crate::config::MailConfig;
use crate::domain::{CallRef, Email};
use crate::store::outbox::NewMessage;
use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::hash::{Hash, Hasher};

/// A message ready to be composed: who, what kind, and both parts.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `digest`, `notify`, `reminder`, `confirm`.
    pub kind: &'static str,
    /// Idempotency period: `2026-W48`, `2026-11-23`, `PSI-0042-14d`, a Message-ID…
    pub period: String,
    pub to: Email,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The calls this message is about (also encoded in its Message-ID so
    /// that a reply can be tied back to them).
    pub refs: Vec<CallRef>,
    /// Member notifications carry List-Unsubscribe.
    pub list_unsubscribe: bool,
    pub in_reply_to: Option<String>,
    /// Reply-To for this message instead of the partnership's address (a
    /// contact's own `svar+<token>@…` when reply tokens are on).
    pub reply_to: Option<Email>,
}

/// Make text safe for a header: no control characters (CR/LF), whitespace
/// collapsed, at most `max` characters.
pub fn header_text(s: &str, max: usize) -> String {
    let cleaned: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let mut out: String = collapsed.chars().take(max.saturating_sub(1)).collect();
    out = out.trim_end().to_string();
    out.push('…');
    out
}

/// `<psi-radar.notify.PSI-0042+PSI-0043.3f9a…@example.org>`.
pub fn message_id(kind: &str, period: &str, recipient: &str, refs: &[CallRef], domain: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (kind, period, recipient).hash(&mut h);
    let refs = refs.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("+");
    let refs = if refs.is_empty() { String::new() } else { format!("{refs}.") };
    format!("<psi-radar.{kind}.{refs}{:016x}@{domain}>", h.finish())
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

fn mailbox(name: Option<&str>, email: &Email) -> Result<Mailbox, MailError> {
    let addr = email.as_str().parse().map_err(|e| MailError::Build(format!("adressen «{email}»: {e}")))?;
    Ok(Mailbox::new(name.map(|n| header_text(n, 80)).filter(|n| !n.is_empty()), addr))
}

/// Compose `o` into a queued message.
pub fn compose(cfg: &MailConfig, o: &Outgoing, now: DateTime<Utc>) -> Result<NewMessage, MailError> {
    let subject = header_text(&o.subject, 180);
    let id = message_id(o.kind, &o.period, o.to.as_str(), &o.refs, cfg.from.domain());
    let mut b = Message::builder()
        .from(mailbox(Some(&cfg.from_name), &cfg.from)?)
        .reply_to(mailbox(None, o.reply_to.as_ref().unwrap_or(&cfg.reply_to))?)
        .to(mailbox(o.to_name.as_deref(), &o.to)?)
        .subject(subject.clone())
        .message_id(Some(id.clone()))
        .date(std::time::SystemTime::from(now))
        .header(AutoSubmitted);
    if o.list_unsubscribe {
        b = b.header(ListUnsubscribe(format!("<mailto:{}?subject=STOPP>", o.reply_to.as_ref().unwrap_or(&cfg.reply_to))));
    }
    if let Some(irt) = &o.in_reply_to {
        let irt = header_text(irt, 250);
        if irt.starts_with('<') && irt.ends_with('>') && !irt.contains(' ') {
            b = b.in_reply_to(irt.clone()).references(irt);
        }
    }
    let msg = b
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(o.text.clone()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(o.html.clone())),
        )
        .map_err(|e| MailError::Build(e.to_string()))?;
    Ok(NewMessage {
        kind: o.kind.to_string(),
        period: o.period.clone(),
        recipient: o.to.to_string(),
        subject,
        message_id: id,
        body: msg.formatted(),
        html: o.html.clone(),
        call_refs: o.refs.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_strips_injection_and_folds() {
        assert_eq!(header_text("Ny utlysning\r\nBcc: evil@example.org", 200), "Ny utlysning Bcc: evil@example.org");
        let long = "å".repeat(300);
        assert_eq!(header_text(&long, 10).chars().count(), 10);
    }

    #[test]
    fn message_id_names_the_calls() {
        let id = message_id("notify", "2026-11-23", "a@example.org", &[CallRef(42), CallRef(43)], "example.org");
        assert!(id.starts_with("<psi-radar.notify.PSI-0042+PSI-0043."), "{id}");
        assert!(id.ends_with("@example.org>"));
        assert_eq!(id, message_id("notify", "2026-11-23", "a@example.org", &[CallRef(42), CallRef(43)], "example.org"));
    }
}
