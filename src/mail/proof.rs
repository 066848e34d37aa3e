//! Mail, inbound (issue 17, item 4): whether a reply is proven its sender's,
//! for AU's commands (dismiss, watch) and, with `[mail.auth] members = true`,
//! for members' answers. A From header proves nothing; what does:
//! - the partnership's own mail server says so: the topmost
//!   `Authentication-Results` header naming `[mail.auth] authserv_id`
//!   reports `dmarc=pass` with `header.from` the sender's domain, or
//!   `dkim=pass` with `header.d` the sender's domain (or a parent of it).
//!   Headers from other servers never count, and only the topmost of ours:
//!   our server adds its header last, above anything the sender wrote,
//!   even a forged one carrying our name;
//! - or it came back to the sender's own token address (a contact's, or one
//!   given to an AU member in the mail we send it).
//!
//! AU's list addresses (`[mail] au`) need this proof once `[mail.auth]` or
//! `reply_token` is set; AU's personal addresses (`au_members`) always.

use crate::config::MailConfig;
use crate::domain::Email;
use crate::mail::MailCtx;
use crate::mail::inbound::{addressed_to, new_token, token_address};
use crate::mail::reply::Reading;
use crate::mail::reply::auth::AuthResults;

/// How a message is proven its sender's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Our mail server says DMARC or DKIM passed for the sender's domain.
    Authenticated,
    /// It came back to the sender's own token address.
    Token,
    /// Nothing proves it: only the From header says who wrote it.
    Unproven,
}

/// Whether our server's header (the topmost naming `authserv_id`) says
/// DMARC or DKIM passed for the domain of `from`. Pure.
pub fn server_says_pass(auth: &[AuthResults], authserv_id: &str, from: &str) -> bool {
    let Some(domain) = from.rsplit_once('@').map(|(_, d)| d.trim().to_ascii_lowercase()) else { return false };
    let Some(ours) = auth.iter().find(|a| a.authserv_id.eq_ignore_ascii_case(authserv_id)) else { return false };
    let aligned = |d: &str| {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        d.contains('.') && (domain == d || domain.ends_with(&format!(".{d}")))
    };
    ours.results.iter().any(|m| {
        m.result == "pass"
            && match m.method.as_str() {
                "dmarc" => m.prop("header.from").is_some_and(|d| d.trim().eq_ignore_ascii_case(&domain)),
                "dkim" => {
                    m.prop("header.d").is_some_and(aligned)
                        || m.prop("header.i").and_then(|i| i.rsplit_once('@')).is_some_and(|(_, d)| aligned(d))
                }
                _ => false,
            }
    })
}

/// Whether `from` is one of AU's addresses, the list's or a member's (case-insensitive, ignoring `+tags`).
pub fn is_au(cfg: &MailConfig, from: &str) -> bool {
    let Ok(from) = Email::parse(from) else { return false };
    let from = from.without_tag();
    cfg.au.iter().chain(&cfg.au_members).any(|a| a.without_tag() == from)
}

/// Whether AU's commands from `from` must be proven.
pub fn au_needs_proof(cfg: &MailConfig, from: &str) -> bool {
    let personal = Email::parse(from).is_ok_and(|f| cfg.au_members.iter().any(|a| a.without_tag() == f.without_tag()));
    personal || cfg.auth.is_some() || cfg.reply_token
}

/// How `reading` (whose raw bytes are `raw`) is proven its sender's.
pub async fn proof(ctx: MailCtx<'_>, reading: &Reading, raw: &[u8]) -> anyhow::Result<Proof> {
    let Some(from) = reading.from.as_deref() else { return Ok(Proof::Unproven) };
    if reading.several_from {
        return Ok(Proof::Unproven);
    }
    if let Some(auth) = &ctx.config.mail.auth
        && server_says_pass(&reading.auth, &auth.authserv_id, from)
    {
        return Ok(Proof::Authenticated);
    }
    let mut tokens: Vec<String> = Vec::new();
    for c in ctx.store.contacts_by_email(from).await? {
        tokens.extend(ctx.store.contact_token(c.id).await?.filter(|t| !t.is_empty()));
    }
    tokens.extend(ctx.store.au_token(&bare(from)).await?);
    let reply_to = &ctx.config.mail.reply_to;
    if tokens.iter().any(|t| addressed_to(raw, &token_address(reply_to, t))) {
        return Ok(Proof::Token);
    }
    Ok(Proof::Unproven)
}

fn bare(addr: &str) -> String {
    Email::parse(addr).map(|e| e.without_tag()).unwrap_or_else(|_| addr.to_ascii_lowercase())
}

/// The token address given to an AU member (`svar+<token>@…`), made on
/// first use; None for an address that is no AU member, or when reply
/// tokens are off.
pub async fn au_reply_address(ctx: MailCtx<'_>, addr: &str) -> anyhow::Result<Option<Email>> {
    let cfg = &ctx.config.mail;
    let key = bare(addr);
    if !cfg.reply_token || !cfg.au_members.iter().any(|a| a.without_tag() == key) {
        return Ok(None);
    }
    let token = match ctx.store.au_token(&key).await? {
        Some(t) => t,
        None => ctx.store.set_au_token(&key, &new_token()?).await?,
    };
    Ok(Email::parse(&token_address(&cfg.reply_to, &token)).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::reply::auth::parse;

    fn headers(vals: &[&str]) -> Vec<AuthResults> {
        vals.iter().filter_map(|v| parse(v)).collect()
    }

    #[test]
    fn only_our_servers_topmost_header_counts() {
        let ours = "mx.psi.example.org";
        let pass = headers(&["mx.psi.example.org; dmarc=pass header.from=kommun.example.se"]);
        assert!(server_says_pass(&pass, ours, "ulla@kommun.example.se"));
        assert!(!server_says_pass(&pass, ours, "ulla@annan.example.se"), "another domain");
        assert!(!server_says_pass(&pass, "mx.other.example", "ulla@kommun.example.se"), "another server's name");
        // A header from elsewhere, or a forged one below ours, does not count.
        let forged = headers(&["mx.attacker.example; dmarc=pass header.from=kommun.example.se"]);
        assert!(!server_says_pass(&forged, ours, "ulla@kommun.example.se"));
        let below = headers(&[
            "mx.psi.example.org; dmarc=fail header.from=kommun.example.se",
            "mx.psi.example.org; dmarc=pass header.from=kommun.example.se",
        ]);
        assert!(!server_says_pass(&below, ours, "ulla@kommun.example.se"));
        assert!(!server_says_pass(&[], ours, "ulla@kommun.example.se"));
    }

    #[test]
    fn dkim_passes_for_the_senders_domain_or_a_parent() {
        let ours = "mx.psi.example.org";
        let dkim = |d: &str| headers(&[&format!("mx.psi.example.org; spf=fail; dkim=pass header.d={d}")]);
        assert!(server_says_pass(&dkim("kommun.example.se"), ours, "ulla@kommun.example.se"));
        assert!(server_says_pass(&dkim("example.se"), ours, "ulla@kommun.example.se"), "relaxed alignment");
        assert!(!server_says_pass(&dkim("se"), ours, "ulla@kommun.example.se"), "a bare top-level domain aligns nothing");
        assert!(!server_says_pass(&dkim("evil-kommun.example.se"), ours, "ulla@kommun.example.se"));
        let failed = headers(&["mx.psi.example.org; dkim=fail header.d=kommun.example.se; spf=pass smtp.mailfrom=kommun.example.se"]);
        assert!(!server_says_pass(&failed, ours, "ulla@kommun.example.se"), "SPF alone proves no From");
    }
}
