//! Command line, the application register: `apps add|update|list|show|
//! report|confirm|decline` and `outlook` — thin handlers over
//! `crate::tracking` and the store. The user's mistakes exit with 2.

use super::BadInput;
use crate::domain::application::{AppUpdate, Application, NewApplication, apply_update, check_new, parse_amount};
use crate::domain::{CallRef, Lang, MemberId};
use crate::jobs::Ctx;
use crate::tracking::{AppStatus, CallLink, Currency, Party, PsiRole, RegisterError, TrackingError, export, outlook, proposals};
use anyhow::Context as _;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

/// `psi-radar apps …`
#[derive(clap::Args, Debug)]
pub struct AppsArgs {
    #[command(subcommand)]
    pub command: AppsCommand,
}

/// The fields `add` and `update` share.
#[derive(clap::Args, Debug, Default)]
pub struct AppFields {
    /// Utlysningen: en referens (PSI-0042) eller fritext för en utlysning radarn inte bevakar
    #[arg(long)]
    pub call: Option<String>,
    /// Huvudsökande: ett medlems-id eller en organisations namn
    #[arg(long)]
    pub lead: Option<String>,
    /// Partner (medlems-id eller namn); kan upprepas
    #[arg(long = "partner")]
    pub partners: Vec<String>,
    /// PSI:s roll: reference_group, stakeholder_group, partner, lead, support_only
    #[arg(long)]
    pub role: Option<String>,
    /// idea, forming, writing, submitted, granted, rejected, withdrawn
    #[arg(long)]
    pub status: Option<String>,
    /// Datum för statusen (ÅÅÅÅ-MM-DD; standard: i dag)
    #[arg(long)]
    pub date: Option<String>,
    /// Sökt belopp
    #[arg(long)]
    pub applied: Option<String>,
    /// Beviljat belopp
    #[arg(long)]
    pub granted: Option<String>,
    /// SEK eller EUR
    #[arg(long)]
    pub currency: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// Vem som gör ändringen (standard: $USER)
    #[arg(long)]
    pub who: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum AppsCommand {
    /// Lägg upp en ansökan
    Add {
        #[arg(long)]
        title: String,
        #[command(flatten)]
        fields: AppFields,
    },
    /// Ändra en ansökan (status, datum, parter, belopp …); varje ändring sparas i historiken
    Update {
        id: i64,
        #[arg(long)]
        title: Option<String>,
        /// Med --partner: ersätt partnerlistan i stället för att lägga till
        #[arg(long)]
        replace_partners: bool,
        #[command(flatten)]
        fields: AppFields,
    },
    /// Lista ansökningarna och förslagen på nya
    List {
        /// Bara ansökningar som hör till det här året
        #[arg(long)]
        year: Option<i32>,
    },
    /// Visa en ansökan med historik
    Show { id: i64 },
    /// Året mot målet: vad som räknas och varför, per status, nivå och utmaning
    Report {
        #[arg(long)]
        year: Option<i32>,
        /// Skriv ansökningarna som CSV (UTF-8 med BOM, för Excel)
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Fältavgränsare i CSV: ; (standard, svensk Excel) eller ,
        #[arg(long, default_value = ";")]
        sep: String,
        /// Skriv en HTML-rapport (en sida) för uppföljningen
        #[arg(long)]
        html: Option<PathBuf>,
        /// Skriv en kalender (ICS) med sista dagar, påminnelser och ansökningarnas datum
        #[arg(long)]
        ics: Option<PathBuf>,
    },
    /// AU: gör förslaget för en utlysning till en ansökan (status bildas)
    Confirm {
        /// Utlysningens referens, t.ex. PSI-0042
        call: String,
        /// PSI:s roll (standard: reference_group)
        #[arg(long, default_value = "reference_group")]
        role: String,
        #[arg(long)]
        who: Option<String>,
    },
    /// AU: föreslå inte längre en ansökan för utlysningen
    Decline {
        call: String,
        #[arg(long)]
        who: Option<String>,
    },
}

fn bad(e: impl std::fmt::Display) -> anyhow::Error {
    BadInput(e.to_string()).into()
}

fn tracking(e: TrackingError) -> anyhow::Error {
    match e {
        TrackingError::Register(r) => bad(r),
        TrackingError::Store(s) => s.into(),
    }
}

fn who(w: &Option<String>) -> String {
    w.clone().or_else(|| std::env::var("USER").ok()).filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "cli".into())
}

fn parse_date(s: &str) -> Result<NaiveDate, RegisterError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| RegisterError(format!("ogiltigt datum «{}» (ÅÅÅÅ-MM-DD)", s.trim())))
}

fn call_ref(s: &str) -> anyhow::Result<CallRef> {
    CallRef::parse(s).ok_or_else(|| bad(format!("ogiltig referens «{s}» (t.ex. PSI-0042)")))
}

fn today(ctx: &Ctx, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&ctx.config.partnership.tz).date_naive()
}

async fn member_names(ctx: &Ctx) -> anyhow::Result<(Vec<MemberId>, HashMap<String, String>)> {
    let ms = ctx.store.list_members().await?;
    Ok((ms.iter().map(|m| m.id.clone()).collect(), ms.iter().map(|m| (m.id.to_string(), m.name.clone())).collect()))
}

async fn check_call(ctx: &Ctx, c: &Option<CallLink>) -> anyhow::Result<()> {
    if let Some(CallLink::Psi(r)) = c
        && ctx.store.get_call(*r).await?.is_none()
    {
        return Err(bad(format!("okänd utlysning {r} (se psi-radar calls)")));
    }
    Ok(())
}

/// Typed values from the shared fields.
struct Parsed {
    call: Option<CallLink>,
    lead: Option<Party>,
    partners: Vec<Party>,
    role: Option<PsiRole>,
    status: Option<AppStatus>,
    date: Option<NaiveDate>,
    applied: Option<f64>,
    granted: Option<f64>,
    currency: Option<Currency>,
}

fn parse_fields(f: &AppFields, members: &[MemberId]) -> Result<Parsed, RegisterError> {
    Ok(Parsed {
        call: f.call.as_deref().map(CallLink::parse).transpose()?,
        lead: f.lead.as_deref().map(|l| Party::resolve(l, members)).transpose()?,
        partners: f.partners.iter().map(|p| Party::resolve(p, members)).collect::<Result<_, _>>()?,
        role: f.role.as_deref().map(PsiRole::parse).transpose()?,
        status: f.status.as_deref().map(AppStatus::parse).transpose()?,
        date: f.date.as_deref().map(parse_date).transpose()?,
        applied: f.applied.as_deref().map(parse_amount).transpose()?,
        granted: f.granted.as_deref().map(parse_amount).transpose()?,
        currency: f.currency.as_deref().map(Currency::parse).transpose()?,
    })
}

/// Run one `apps` subcommand.
pub async fn run_apps(ctx: &Ctx, args: &AppsArgs, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let today = today(ctx, now);
    match &args.command {
        AppsCommand::Add { title, fields } => {
            let (ids, _) = member_names(ctx).await?;
            let p = parse_fields(fields, &ids).map_err(bad)?;
            check_call(ctx, &p.call).await?;
            let role =
                p.role.ok_or_else(|| bad("--role behövs: PSI:s roll (reference_group, stakeholder_group, partner, lead, support_only)"))?;
            let n = NewApplication {
                title: title.trim().to_string(),
                call: p.call,
                lead: p.lead,
                partners: p.partners,
                psi_role: role,
                status: p.status.unwrap_or(AppStatus::Idea),
                date: p.date,
                amount_applied: p.applied,
                amount_granted: p.granted,
                currency: p.currency.unwrap_or_default(),
                notes: fields.notes.clone().unwrap_or_default(),
            };
            let dates = check_new(&n, today, lang).map_err(bad)?;
            if n.amount_granted.is_some() {
                return Err(bad("Beviljat belopp anges när ansökan uppdateras till beviljad."));
            }
            let app = Application {
                id: 0,
                title: n.title,
                call: n.call,
                lead: n.lead,
                partners: n.partners,
                psi_role: n.psi_role,
                status: n.status,
                status_dates: dates,
                amount_applied: n.amount_applied,
                amount_granted: None,
                currency: n.currency,
                notes: n.notes,
                created_at: now,
                updated_at: now,
            };
            let id = ctx.store.insert_app(&app, &who(&fields.who), now).await?;
            writeln!(out, "{} #{id}: {}", lang.pick("Lade upp ansökan", "Added application"), app.title)?;
            Ok(())
        }
        AppsCommand::Update { id, title, replace_partners, fields } => {
            let (ids, _) = member_names(ctx).await?;
            let app = ctx.store.get_app(*id).await?.ok_or_else(|| bad(format!("ingen ansökan med nummer {id}")))?;
            let p = parse_fields(fields, &ids).map_err(bad)?;
            check_call(ctx, &p.call).await?;
            let (partners, add_partners) = if *replace_partners { (Some(p.partners), Vec::new()) } else { (None, p.partners) };
            let u = AppUpdate {
                title: title.clone(),
                call: p.call,
                lead: p.lead,
                partners,
                add_partners,
                psi_role: p.role,
                status: p.status,
                date: p.date,
                amount_applied: p.applied,
                amount_granted: p.granted,
                currency: p.currency,
                notes: fields.notes.clone(),
            };
            let (new, log) = apply_update(&app, &u, today, lang).map_err(bad)?;
            if log.is_empty() {
                writeln!(out, "{}", lang.pick("Inget att ändra.", "Nothing to change."))?;
                return Ok(());
            }
            ctx.store.save_app(&new, &log, &who(&fields.who), now).await?;
            for l in &log {
                writeln!(out, "#{id} {l}")?;
            }
            Ok(())
        }
        AppsCommand::List { year } => list(ctx, *year, now, out).await,
        AppsCommand::Show { id } => show(ctx, *id, out).await,
        AppsCommand::Report { year, csv, sep, html, ics } => {
            let year = year.unwrap_or_else(|| today.year());
            let cfg = &ctx.config;
            let r = crate::tracking::year_report(&ctx.store, year, &cfg.goal.counting_roles, cfg.goal.per_year, lang)
                .await
                .map_err(tracking)?;
            let (_, names) = member_names(ctx).await?;
            write!(out, "{}", export::report_text(&r, &names, lang))?;
            if let Some(path) = csv {
                let sep = match sep.as_str() {
                    ";" => b';',
                    "," => b',',
                    "tab" | "\\t" => b'\t',
                    other => return Err(bad(format!("--sep «{other}»: använd ; eller ,"))),
                };
                let bytes = export::write_csv(&r, sep, lang)?;
                std::fs::write(path, bytes).with_context(|| path.display().to_string())?;
                writeln!(out, "CSV: {}", path.display())?;
            }
            if let Some(path) = html {
                let page = export::report_html(&r, &cfg.partnership.name, &names, today, lang);
                std::fs::write(path, page).with_context(|| path.display().to_string())?;
                writeln!(out, "HTML: {}", path.display())?;
            }
            if let Some(path) = ics {
                let text = calendar(ctx, now).await?;
                std::fs::write(path, text).with_context(|| path.display().to_string())?;
                writeln!(out, "ICS: {}", path.display())?;
            }
            Ok(())
        }
        AppsCommand::Confirm { call, role, who: w } => {
            let r = call_ref(call)?;
            let role = PsiRole::parse(role).map_err(bad)?;
            let id = proposals::confirm(&ctx.store, r, role, &who(w), now, today, lang).await.map_err(tracking)?;
            writeln!(out, "{} #{id} ({r}, {})", lang.pick("Bekräftade ansökan", "Confirmed application"), AppStatus::Forming.label(lang))?;
            Ok(())
        }
        AppsCommand::Decline { call, who: w } => {
            let r = call_ref(call)?;
            if ctx.store.get_call(r).await?.is_none() {
                return Err(bad(format!("okänd utlysning {r}")));
            }
            ctx.store.decline_proposal(r, &who(w), now).await?;
            writeln!(out, "{} {r}.", lang.pick("Föreslår inte längre någon ansökan för", "No longer proposing an application for"))?;
            Ok(())
        }
    }
}

/// The ICS calendar for the register: open and forthcoming calls, all applications.
pub async fn calendar(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<String> {
    let calls: Vec<_> = ctx
        .store
        .list_calls(&crate::store::calls::CallFilter::default())
        .await?
        .into_iter()
        .filter(|c| crate::store::calls::is_open_at(&c.call, now) || c.call.status == crate::domain::CallStatus::Forthcoming)
        .collect();
    let apps = ctx.store.list_apps().await?;
    let cfg = &ctx.config;
    let name =
        format!("{} – {}", cfg.partnership.short_name, cfg.partnership.lang.pick("utlysningar och ansökningar", "calls and applications"));
    Ok(export::ics(&export::IcsInput {
        calls: &calls,
        apps: &apps,
        domain: cfg.mail.from.domain(),
        calendar_name: &name,
        now,
        tz: cfg.partnership.tz,
        lang: cfg.partnership.lang,
    }))
}

async fn list(ctx: &Ctx, year: Option<i32>, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let (_, names) = member_names(ctx).await?;
    let apps = ctx.store.list_apps().await?;
    let shown: Vec<_> = apps.iter().filter(|a| year.is_none_or(|y| crate::tracking::goal::relevant_to(a, y))).collect();
    if shown.is_empty() {
        writeln!(out, "{}", lang.pick("Inga ansökningar.", "No applications."))?;
    }
    for a in shown {
        let lead = a.lead.as_ref().map(|p| p.display(&names)).unwrap_or_default();
        let call = a.call.as_ref().map(|c| c.to_string()).unwrap_or_default();
        let date = a.status_dates.get(&a.status).map(|d| d.to_string()).unwrap_or_default();
        writeln!(
            out,
            "#{:<3} {:<10} {:<10} {:<18} {:<10} {} – {}",
            a.id,
            a.status.label(lang),
            date,
            a.psi_role.label(lang),
            call,
            a.title,
            lead
        )?;
    }
    let props = proposals::forming_proposals(&ctx.store, now).await.map_err(tracking)?;
    if !props.is_empty() {
        writeln!(out, "\n{}:", lang.pick("Förslag (två eller fler har sagt ja)", "Proposals (two or more said yes)"))?;
        for p in &props {
            writeln!(out, "  {}", proposals::proposal_line(p, &names, lang))?;
        }
    }
    Ok(())
}

async fn show(ctx: &Ctx, id: i64, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let tz = ctx.config.partnership.tz;
    let a = ctx.store.get_app(id).await?.ok_or_else(|| bad(format!("ingen ansökan med nummer {id}")))?;
    let (_, names) = member_names(ctx).await?;
    let l = |sv: &'static str, en: &'static str| lang.pick(sv, en);
    writeln!(out, "#{} {}", a.id, a.title)?;
    let call = match &a.call {
        Some(CallLink::Psi(r)) => match ctx.store.get_call(*r).await? {
            Some(c) => format!("{r} {} ({})", c.call.title, c.call.funder),
            None => r.to_string(),
        },
        Some(CallLink::External(x)) => format!("{x} ({})", l("extern", "external")),
        None => "–".into(),
    };
    writeln!(out, "  {}: {call}", l("Utlysning", "Call"))?;
    writeln!(out, "  {}: {}", l("Huvudsökande", "Lead"), a.lead.as_ref().map(|p| p.display(&names)).unwrap_or_else(|| "–".into()))?;
    let partners: Vec<_> = a.partners.iter().map(|p| p.display(&names)).collect();
    writeln!(out, "  {}: {}", l("Partner", "Partners"), if partners.is_empty() { "–".into() } else { partners.join(", ") })?;
    writeln!(out, "  {}: {}", l("PSI:s roll", "PSI's role"), a.psi_role.label(lang))?;
    writeln!(out, "  {}: {}", l("Status", "Status"), a.status.label(lang))?;
    for (s, d) in &a.status_dates {
        writeln!(out, "    {:<10} {}", s.label(lang), crate::i18n::date(*d, lang))?;
    }
    let amount = |v: Option<f64>| v.map(|x| format!("{x} {}", a.currency)).unwrap_or_else(|| "–".into());
    writeln!(out, "  {}: {}", l("Sökt belopp", "Amount applied for"), amount(a.amount_applied))?;
    writeln!(out, "  {}: {}", l("Beviljat belopp", "Amount granted"), amount(a.amount_granted))?;
    if !a.notes.is_empty() {
        writeln!(out, "  {}: {}", l("Anteckningar", "Notes"), a.notes)?;
    }
    writeln!(out, "  {}:", l("Historik", "History"))?;
    for e in ctx.store.app_events(id).await? {
        writeln!(out, "    {} {}: {}", crate::i18n::instant(e.at, tz, false, lang), e.who, e.change)?;
    }
    Ok(())
}

/// `psi-radar outlook [--months 12] [--html FILE]`
pub async fn run_outlook(
    ctx: &Ctx,
    months: u32,
    html: Option<&std::path::Path>,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let cfg = &ctx.config;
    let (lang, tz): (Lang, _) = (cfg.partnership.lang, cfg.partnership.tz);
    if months == 0 || months > 60 {
        return Err(bad("--months: 1–60"));
    }
    let o = outlook::gather_outlook(&ctx.store, now, months, cfg.matching.digest_members, lang).await.map_err(tracking)?;
    write!(out, "{}", outlook::outlook_text(&o, tz, lang))?;
    if let Some(path) = html {
        std::fs::write(path, outlook::outlook_html(&o, &cfg.partnership.name, tz, lang)).with_context(|| path.display().to_string())?;
        writeln!(out, "HTML: {}", path.display())?;
    }
    Ok(())
}
