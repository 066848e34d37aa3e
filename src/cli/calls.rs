//! CLI handlers for one call: `calls show REF` (the call, its listings and
//! why each was merged into it) and `calls split REF --listing SOURCE:KEY`
//! (a person's correction of a merge).

use super::BadInput;
use super::core::parse_ref;
use crate::domain::Lang;
use crate::jobs::Ctx;
use crate::jobs::ingest::{SplitError, split_listing};
use crate::normalize::dedup::{MergeReason, StableId};
use crate::store::calls::StoredCall;
use crate::store::listings::{Joined, ListingRecord};
use chrono::{DateTime, Utc};
use std::io::Write;

/// `calls show REF`.
pub async fn show(ctx: &Ctx, reference: &str, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let r = parse_ref(reference, lang)?;
    let call = ctx.store.get_call(r).await?.ok_or_else(|| BadInput(format!("{r} {}", lang.pick("finns inte", "does not exist"))))?;
    write_call(ctx, &call, now, out)?;
    let listings = ctx.store.listing_records(r).await?;
    writeln!(out, "\n{} ({}):", lang.pick("Källposter", "Listings"), listings.len())?;
    for l in &listings {
        writeln!(out, "  {}:{}\n    {}", l.source, l.source_key, joined_text(l, ctx, lang))?;
    }
    let split = ctx.store.split_out_of(r).await?;
    if !split.is_empty() {
        writeln!(out, "\n{}:", lang.pick("Utbrutna källposter", "Listings split out"))?;
        for s in &split {
            writeln!(out, "  {}:{} → {} ({})", s.source, s.source_key, s.to, day(s.at, ctx, lang))?;
        }
    }
    if listings.len() > 1 {
        let hint = lang.pick("Fel sammanslagen? Dela upp", "Wrongly merged? Split");
        writeln!(out, "\n{hint}: psi-radar calls split {r} --listing {}", lang.pick("KÄLLA:NYCKEL", "SOURCE:KEY"))?;
    }
    Ok(())
}

fn write_call(ctx: &Ctx, c: &StoredCall, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let (lang, tz) = (ctx.config.partnership.lang, ctx.config.partnership.tz);
    let deadline = c
        .call
        .next_deadline(now)
        .or_else(|| c.call.last_deadline())
        .map(|d| crate::i18n::date(d.at.with_timezone(&tz).date_naive(), lang))
        .unwrap_or_else(|| lang.pick("ingen", "none").into());
    let cats = c.categories.iter().take(3).map(|s| format!("{} {:.2}", s.category, s.score)).collect::<Vec<_>>().join(", ");
    writeln!(out, "{}  {}", c.reference, c.call.title)?;
    for t in &c.call.translations {
        writeln!(out, "           {} ({})", t.title, t.lang.code())?;
    }
    writeln!(out, "  {}: {}", lang.pick("Finansiär", "Funder"), c.call.funder)?;
    writeln!(out, "  Status: {} · {}: {deadline}", c.call.status.as_str(), lang.pick("Sista dag", "Deadline"))?;
    writeln!(out, "  {}: {}", lang.pick("Länk", "Link"), c.call.url)?;
    if !cats.is_empty() {
        writeln!(out, "  {}: {cats}", lang.pick("Kategorier", "Categories"))?;
    }
    write_rules(ctx, c, out)
}

/// The rules read from the call's text, in words, with the sentences they came from.
fn write_rules(ctx: &Ctx, c: &StoredCall, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let Some(rules) = &c.rules else {
        writeln!(
            out,
            "\n{}",
            lang.pick("Villkoren är inte lästa ännu (nästa hämtning läser dem).", "The rules are not read yet (the next poll reads them).")
        )?;
        return Ok(());
    };
    writeln!(out, "\n{}:", lang.pick("Villkor enligt utlysningens text", "Rules from the call's text"))?;
    for (label, value) in crate::i18n::rules::rules_lines(rules, &ctx.config.partnership.county, lang) {
        writeln!(out, "  {label}: {value}")?;
    }
    if !rules.evidence.is_empty() {
        writeln!(out, "  {}:", lang.pick("Underlag", "Evidence"))?;
        for e in rules.evidence.iter().take(8) {
            writeln!(out, "    «{}»", e.sentence)?;
        }
    }
    Ok(())
}

fn day(t: DateTime<Utc>, ctx: &Ctx, lang: Lang) -> String {
    crate::i18n::date(t.with_timezone(&ctx.config.partnership.tz).date_naive(), lang)
}

/// How a listing joined its call, in words.
fn joined_text(l: &ListingRecord, ctx: &Ctx, lang: Lang) -> String {
    match &l.joined {
        Joined::Founded => format!("{} {}", lang.pick("grundade utlysningen", "founded the call"), day(l.first_seen_at, ctx, lang)),
        Joined::Merged { reason, with, at } => {
            let with = with.as_ref().map(|(s, k)| format!(" ({} {s}:{k})", lang.pick("som", "as"))).unwrap_or_default();
            format!("{} {}: {}{with}", lang.pick("sammanslagen", "merged"), day(*at, ctx, lang), reason_text(reason, lang))
        }
        Joined::SplitFrom { call, at } => format!("{} {call} {}", lang.pick("utbruten ur", "split out of"), day(*at, ctx, lang)),
        Joined::Unrecorded => lang.pick("sammanslagen innan skälen sparades", "merged before reasons were recorded").into(),
    }
}

/// Why two listings were taken for one call, in words.
pub fn reason_text(reason: &MergeReason, lang: Lang) -> String {
    match reason {
        MergeReason::SameIdentity { id: StableId::EuTopic { id } } => format!("{} {id}", lang.pick("samma EU-ämne", "same EU topic")),
        MergeReason::SameIdentity { id: StableId::CaseNumber { number, .. } } => {
            format!("{} {number}", lang.pick("samma diarienummer", "same case number"))
        }
        MergeReason::SameIdentity { id: StableId::InSource { source, key } } => {
            format!("{} {source}: {key}", lang.pick("samma sida i källan", "the same page in source"))
        }
        MergeReason::SameCanonicalUrl { url } => format!("{} {url}", lang.pick("samma adress", "same address")),
        MergeReason::SameFunderDeadlineTitle { funder, deadline, title, matched_title } => {
            let when = match deadline {
                Some(d) => format!("{} {}", lang.pick("samma sista dag", "same deadline"), crate::i18n::date(*d, lang)),
                None => lang.pick("sista dag saknas i någon av dem", "a deadline missing in one of them").into(),
            };
            let titles = if title == matched_title { format!("«{title}»") } else { format!("«{title}» = «{matched_title}»") };
            format!(
                "{} {funder}, {when}, {} {titles}",
                lang.pick("samma finansiär", "same funder"),
                lang.pick("samma rubrik", "same title")
            )
        }
    }
}

/// `calls split REF --listing SOURCE:KEY`.
pub async fn split(ctx: &Ctx, reference: &str, listing: &str, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let r = parse_ref(reference, lang)?;
    let Some((source, key)) = listing.split_once(':').filter(|(s, k)| !s.is_empty() && !k.is_empty()) else {
        return Err(BadInput(format!(
            "--listing «{listing}»: {}",
            lang.pick("ska vara KÄLLA:NYCKEL, som `calls show` visar dem", "must be SOURCE:KEY, as `calls show` lists them")
        ))
        .into());
    };
    let new = split_listing(&ctx.store, r, source, key, now).await.map_err(|e| split_error(e, lang))?;
    crate::jobs::poll::read_rules(ctx, now).await?;
    crate::jobs::poll::classify_refs(ctx, &[r, new]).await?;
    match lang {
        Lang::Sv => writeln!(out, "{source}:{key} är nu en egen utlysning, {new}; {r} behåller övriga källposter.")?,
        Lang::En => writeln!(out, "{source}:{key} is now a call of its own, {new}; {r} keeps the other listings.")?,
    }
    Ok(())
}

fn split_error(e: SplitError, lang: Lang) -> anyhow::Error {
    let bad = |sv: String, en: String| anyhow::Error::from(BadInput(if lang == Lang::Sv { sv } else { en }));
    match e {
        SplitError::Store(e) => e.into(),
        SplitError::UnknownCall(r) => bad(format!("{r} finns inte"), format!("{r} does not exist")),
        SplitError::NotListed { call, listing } => bad(
            format!("{call} har ingen källpost {listing} (se `psi-radar calls show {call}`)"),
            format!("{call} has no listing {listing} (see `psi-radar calls show {call}`)"),
        ),
        SplitError::OnlyListing(r) => {
            bad(format!("{r} har bara en källpost: inget att dela upp"), format!("{r} has only one listing: nothing to split"))
        }
    }
}
