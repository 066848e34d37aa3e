//! Command line, members and matching: `members import|list|show|export|forget`
//! and `match CALL_REF [--json]` — thin handlers over the members file
//! reader, the store and the pure matching functions. Output in the
//! partnership's language (`lang`), Swedish by default; JSON is the same in both.

use super::BadInput;
use crate::domain::{CallRef, CategoryId, ForgetTarget, Lang, Member, MemberId};
use crate::matching::{MemberMatch, Proposal, match_members, propose};
use crate::members::{self, ImportRow};
use crate::store::{Store, StoreError};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `psi-radar members …`
#[derive(clap::Args, Debug)]
pub struct MembersArgs {
    #[command(subcommand)]
    pub command: MembersCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum MembersCommand {
    /// Läs in medlemsfilen (CSV): lägger till och uppdaterar, importerar ingenting om någon rad är fel
    Import { file: PathBuf },
    /// Lista medlemmarna
    List {
        #[arg(long)]
        json: bool,
    },
    /// Visa en medlem med kontakter och svar
    Show { id: String },
    /// Skriv medlemmarna till en CSV-fil i samma format som importen
    Export { file: PathBuf },
    /// Radera en kontaktpersons personuppgifter (e-postadress, kontakt-id eller medlems-id)
    Forget { target: String },
    /// Lägg till en kontaktperson hos en medlem; meddelanden som hållits från adressen läses sedan om
    AddContact {
        /// Medlemmens id
        member: String,
        /// Kontaktens e-postadress (får vara kontakt hos flera medlemmar)
        email: String,
        /// Kontaktens namn
        #[arg(long)]
        name: Option<String>,
    },
}

/// `psi-radar match CALL_REF [--json]`
#[derive(clap::Args, Debug)]
pub struct MatchArgs {
    /// Utlysningens referens, t.ex. PSI-0042
    pub call: String,
    #[arg(long)]
    pub json: bool,
}

/// Run one `members` subcommand. `themes` are the regional theme ids the
/// members file may use besides SC1–SC7.
pub async fn run_members(ctx: &crate::jobs::Ctx, args: &MembersArgs, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let (store, lang) = (&ctx.store, ctx.config.partnership.lang);
    let themes = &crate::jobs::theme_ids(&ctx.model);
    match &args.command {
        MembersCommand::Import { file } => import(store, file, themes, now, lang, out).await,
        MembersCommand::List { json } => list(store, *json, lang, out).await,
        MembersCommand::Show { id } => show(store, id, lang, out).await,
        MembersCommand::Export { file } => export(store, file, lang, out).await,
        MembersCommand::Forget { target } => forget(store, target, now, lang, out).await,
        MembersCommand::AddContact { member, email, name } => add_contact(ctx, member, email, name.as_deref(), now, out).await,
    }
}

/// `members add-contact MEMBER EMAIL [--name NAME]`: the address becomes a
/// contact of the member (also when it already is one of another member),
/// and what was held from it is read again, now from a contact.
pub async fn add_contact(
    ctx: &crate::jobs::Ctx,
    member: &str,
    email: &str,
    name: Option<&str>,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let id = MemberId::parse(member).map_err(BadInput)?;
    let email = crate::domain::Email::parse(email).map_err(BadInput)?;
    if ctx.store.member(&id).await?.is_none() {
        return Err(BadInput(format!("{} «{id}»", lang.pick("det finns ingen medlem", "there is no member"))).into());
    }
    let name = name.map(str::trim).filter(|n| !n.is_empty()).map_or_else(|| email.without_tag(), str::to_string);
    let contact = crate::domain::Contact { name, email: email.clone(), role: String::new(), primary: false, unsubscribed: false };
    match (ctx.store.add_contact(&id, &contact).await?, lang) {
        (Some(_), Lang::Sv) => writeln!(out, "{email} är nu kontakt hos {id}.")?,
        (Some(_), Lang::En) => writeln!(out, "{email} is now a contact of {id}.")?,
        (None, Lang::Sv) => writeln!(out, "{email} var redan kontakt hos {id}.")?,
        (None, Lang::En) => writeln!(out, "{email} was already a contact of {id}.")?,
    }
    let reread = crate::mail::held::reread_from(ctx.into(), &email, now).await?;
    if !reread.is_empty() {
        writeln!(
            out,
            "{}",
            match lang {
                Lang::Sv => format!("{} hållna meddelanden från adressen lästes om:", reread.len()),
                Lang::En => format!("{} held messages from the address were read again:", reread.len()),
            }
        )?;
        for o in &reread {
            super::mail::print_outcome(o, lang, out)?;
        }
    }
    Ok(())
}

/// `members import FILE.csv`: checked whole first, then written in one
/// transaction while the file is read again, so memory stays flat however
/// many members it has and a file with any error imports nothing.
pub async fn import(
    store: &Store,
    file: &Path,
    themes: &[CategoryId],
    now: DateTime<Utc>,
    lang: Lang,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let checked = members::check_members(&file.display().to_string(), file.to_path_buf(), themes).map_err(|e| BadInput(e.to_string()))?;
    let mut import = store.begin_member_import(now).await?;
    for row in checked.rows().map_err(|e| BadInput(e.to_string()))? {
        match row.map_err(|e| BadInput(e.to_string()))? {
            ImportRow::Member(m) => import.member(&m).await?,
            ImportRow::Contact(id, c) => import.contact(&id, &c).await?,
        }
    }
    let sum = import.finish().await?;
    let (n, c, file, ma, mu, ca, cu, cr) = (
        checked.members(),
        checked.contacts(),
        file.display(),
        sum.members_added,
        sum.members_updated,
        sum.contacts_added,
        sum.contacts_updated,
        sum.contacts_removed,
    );
    match lang {
        Lang::Sv => writeln!(
            out,
            "Läste {n} medlemmar och {c} kontakter från {file}: {ma} nya och {mu} uppdaterade medlemmar; {ca} nya, {cu} uppdaterade och {cr} borttagna kontakter."
        )?,
        Lang::En => writeln!(
            out,
            "Read {n} members and {c} contacts from {file}: {ma} new and {mu} updated members; {ca} new, {cu} updated and {cr} removed contacts."
        )?,
    }
    Ok(())
}

/// `members list [--json]`
pub async fn list(store: &Store, json: bool, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let ms = store.list_members().await?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &ms)?;
        writeln!(out)?;
        return Ok(());
    }
    if ms.is_empty() {
        writeln!(
            out,
            "{}",
            lang.pick(
                "Inga medlemmar. Läs in medlemsfilen med `psi-radar members import FIL.csv`.",
                "No members. Import the members file with `psi-radar members import FILE.csv`."
            )
        )?;
        return Ok(());
    }
    let w = ms.iter().map(|m| m.id.as_str().chars().count()).max().unwrap_or(2).max(2);
    writeln!(
        out,
        "{:<w$}  {:<40}  {:<14}  {:<13}  {:>8}  {}",
        "id",
        lang.pick("namn", "name"),
        lang.pick("typ", "type"),
        lang.pick("kommun", "municipality"),
        lang.pick("kontakter", "contacts"),
        lang.pick("leder", "leads")
    )?;
    for m in &ms {
        writeln!(
            out,
            "{:<w$}  {:<40}  {:<14}  {:<13}  {:>8}  {}",
            m.id.as_str(),
            truncate(&m.name, 40),
            m.org_type.as_str(),
            truncate(&m.municipality, 13),
            m.contacts.len(),
            yes_no(m.can_lead, lang)
        )?;
    }
    writeln!(out, "{} {}", ms.len(), lang.pick("medlemmar", "members"))?;
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

fn yes_no(b: bool, lang: Lang) -> &'static str {
    if b { lang.pick("ja", "yes") } else { lang.pick("nej", "no") }
}

fn member_id(id: &str, lang: Lang) -> anyhow::Result<MemberId> {
    MemberId::parse(id).map_err(|e| BadInput(format!("{}: {e}", lang.pick("medlems-id", "member id"))).into())
}

/// `members show ID`
pub async fn show(store: &Store, id: &str, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let id = member_id(id, lang)?;
    let m = store.member(&id).await?.ok_or_else(|| match lang {
        Lang::Sv => BadInput(format!("okänd medlem «{id}»")),
        Lang::En => BadInput(format!("unknown member «{id}»")),
    })?;
    print_member(&m, lang, out)?;
    let interests = store.interests_for_member(&id).await?;
    if !interests.is_empty() {
        writeln!(out, "{}", lang.pick("Svar:", "Answers:"))?;
        for i in interests {
            let role = i.role.map(|r| format!(", {}", r.label(lang))).unwrap_or_default();
            let comment = if i.comment.is_empty() { String::new() } else { format!(" — {}", i.comment) };
            writeln!(out, "  {} {}{}{} ({})", i.call, i.intent.label(lang), role, comment, i.recorded_at.format("%Y-%m-%d"))?;
        }
    }
    Ok(())
}

fn print_member(m: &Member, lang: Lang, out: &mut impl Write) -> std::io::Result<()> {
    let list = |v: Vec<&str>| if v.is_empty() { "–".to_string() } else { v.join(", ") };
    // Labels padded to one column: "typ:        " / "type:         ".
    let w = if lang == Lang::En { 14 } else { 12 };
    let label = |sv: &str, en: &str| format!("{:<w$}", format!("{}:", lang.pick(sv, en)));
    writeln!(out, "{} ({})", m.name, m.id)?;
    writeln!(out, "  {}{}", label("typ", "type"), m.org_type.label(lang))?;
    writeln!(out, "  {}{}", label("kommun", "municipality"), if m.municipality.is_empty() { "–" } else { &m.municipality })?;
    writeln!(out, "  {}{}", label("kategorier", "categories"), list(m.categories.iter().map(CategoryId::as_str).collect()))?;
    writeln!(out, "  {}{}", label("nyckelord", "keywords"), list(m.keywords.iter().map(String::as_str).collect()))?;
    writeln!(out, "  {}{}", label("kan leda", "can lead"), yes_no(m.can_lead, lang))?;
    writeln!(out, "  {}{}", label("språk", "languages"), list(m.languages.iter().map(|l| l.code()).collect()))?;
    if !m.notes.is_empty() {
        writeln!(out, "  {}{}", label("erfarenhet", "experience"), m.notes)?;
    }
    if m.contacts.is_empty() {
        writeln!(out, "  {}–", label("kontakter", "contacts"))?;
    } else {
        writeln!(out, "  {}:", lang.pick("kontakter", "contacts"))?;
        for c in &m.contacts {
            let mut flags = Vec::new();
            if c.primary {
                flags.push(lang.pick("primär", "primary"));
            }
            if c.unsubscribed {
                flags.push(lang.pick("avregistrerad", "unsubscribed"));
            }
            let role = if c.role.is_empty() { String::new() } else { format!(", {}", c.role) };
            let flags = if flags.is_empty() { String::new() } else { format!(" [{}]", flags.join(", ")) };
            writeln!(out, "    {} <{}>{}{}", c.name, c.email, role, flags)?;
        }
    }
    Ok(())
}

/// `members export FILE.csv`
pub async fn export(store: &Store, file: &Path, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let ms = store.list_members().await?;
    members::write_members_file(file, &ms)
        .with_context(|| format!("{} {}", lang.pick("kunde inte skriva", "could not write"), file.display()))?;
    match lang {
        Lang::Sv => writeln!(out, "Skrev {} medlemmar till {}.", ms.len(), file.display())?,
        Lang::En => writeln!(out, "Wrote {} members to {}.", ms.len(), file.display())?,
    }
    Ok(())
}

/// `members forget ID|EMAIL`
pub async fn forget(store: &Store, target: &str, now: DateTime<Utc>, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let target = ForgetTarget::parse(target).map_err(BadInput)?;
    let rep = match store.forget(&target, now).await {
        Ok(r) => r,
        Err(e @ (StoreError::NotFound(_) | StoreError::Invalid(_))) => return Err(BadInput(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    match (rep.contacts == 0, lang) {
        (true, Lang::Sv) => writeln!(
            out,
            "Ingen registrerad kontakt med den adressen; {} inkomna brev och {} utgående brev rensade från den.",
            rep.replies, rep.outbox
        )?,
        (true, Lang::En) => writeln!(
            out,
            "No registered contact with that address; {} incoming and {} outgoing messages cleared of it.",
            rep.replies, rep.outbox
        )?,
        (false, Lang::Sv) => writeln!(
            out,
            "Raderade personuppgifter för {} kontakt(er): {} svar behåller organisationen men inte personen, {} inkomna brev och {} utgående brev rensade.",
            rep.contacts, rep.interests, rep.replies, rep.outbox
        )?,
        (false, Lang::En) => writeln!(
            out,
            "Erased personal data of {} contact(s): {} answers keep the organisation but not the person, {} incoming and {} outgoing messages cleared.",
            rep.contacts, rep.interests, rep.replies, rep.outbox
        )?,
    }
    Ok(())
}

/// The JSON `match --json` prints.
#[derive(Debug, Serialize)]
pub struct MatchJson {
    pub call: String,
    pub matches: Vec<MatchJsonRow>,
    pub proposals: Vec<ProposalJson>,
}

#[derive(Debug, Serialize)]
pub struct MatchJsonRow {
    pub member: String,
    pub score: f32,
    pub eligible_lead: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ProposalJson {
    pub lead: String,
    pub partners: Vec<String>,
    pub rationale: String,
}

impl MatchJson {
    pub fn new(call: CallRef, matches: &[MemberMatch], proposals: &[Proposal]) -> MatchJson {
        MatchJson {
            call: call.to_string(),
            matches: matches
                .iter()
                .map(|m| MatchJsonRow {
                    member: m.member.to_string(),
                    score: (m.score * 100.0).round() / 100.0,
                    eligible_lead: m.eligible_lead,
                    reasons: m.reasons.clone(),
                })
                .collect(),
            proposals: proposals
                .iter()
                .map(|p| ProposalJson {
                    lead: p.lead.to_string(),
                    partners: p.partners.iter().map(|x| x.to_string()).collect(),
                    rationale: p.rationale.clone(),
                })
                .collect(),
        }
    }
}

/// `match CALL_REF [--json]`
pub async fn run_match(store: &Store, call_ref: &str, json: bool, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let r = CallRef::parse(call_ref).ok_or_else(|| match lang {
        Lang::Sv => BadInput(format!("«{call_ref}» är ingen utlysningsreferens (t.ex. PSI-0042)")),
        Lang::En => BadInput(format!("«{call_ref}» is not a call reference (e.g. PSI-0042)")),
    })?;
    let stored = store.get_call(r).await?.ok_or_else(|| BadInput(format!("{} {r}", lang.pick("okänd utlysning", "unknown call"))))?;
    let ms = store.list_members().await?;
    let answers = store.answers_for_call(r).await?;
    let matches = match_members(&stored.call, &stored.categories, &ms, &answers);
    // a call the home county may not apply to never gets a proposed consortium
    let closed = crate::jobs::closed_to_home(&stored);
    let proposals = if closed { Vec::new() } else { propose(&stored.call, &matches, &ms) };
    if json {
        serde_json::to_writer_pretty(&mut *out, &MatchJson::new(r, &matches, &proposals))?;
        writeln!(out)?;
        return Ok(());
    }
    let name = |id: &MemberId| ms.iter().find(|m| &m.id == id).map(|m| m.name.as_str()).unwrap_or("");
    writeln!(out, "{r} {} ({})", stored.call.title, stored.call.funder)?;
    if ms.is_empty() {
        writeln!(out, "{}", lang.pick("Inga medlemmar inlästa.", "No members imported."))?;
        return Ok(());
    }
    if matches.is_empty() {
        writeln!(out, "{}", lang.pick("\nIngen medlem passar utlysningen.", "\nNo member fits the call."))?;
    } else {
        writeln!(out, "{}", lang.pick("\nMedlemmar som passar (bäst först):", "\nMembers that fit (best first):"))?;
        for (i, m) in matches.iter().enumerate() {
            writeln!(
                out,
                "{:>3}. {:<18} {:.2}  {:<8}  {} — {}",
                i + 1,
                m.member.as_str(),
                m.score,
                if m.eligible_lead { lang.pick("kan leda", "can lead") } else { "partner" },
                name(&m.member),
                m.reasons.join("; ")
            )?;
        }
    }
    if closed {
        writeln!(
            out,
            "{}",
            lang.pick(
                "\nInget förslag på konsortium: utlysningen gäller inte partnerskapets län.",
                "\nNo consortium proposal: the call is not open to the partnership's county."
            )
        )?;
    } else if proposals.is_empty() {
        writeln!(
            out,
            "{}",
            lang.pick(
                "\nInget förslag på konsortium: färre än två medlemmar passar utlysningen.",
                "\nNo consortium proposal: fewer than two members fit the call."
            )
        )?;
    } else {
        writeln!(out, "{}", lang.pick("\nFörslag på konsortium:", "\nConsortium proposals:"))?;
        for (i, p) in proposals.iter().enumerate() {
            let partners: Vec<String> = p.partners.iter().map(|x| format!("{} ({})", x, name(x))).collect();
            writeln!(out, "{:>3}. {}: {} ({})", i + 1, lang.pick("projektägare", "lead"), p.lead, name(&p.lead))?;
            writeln!(out, "     {}: {}", lang.pick("partner", "partners"), partners.join(", "))?;
            writeln!(out, "     {}", p.rationale)?;
        }
    }
    Ok(())
}
