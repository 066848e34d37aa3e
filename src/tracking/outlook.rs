//! The workshop outlook: open and forthcoming calls of the coming months
//! (standing opportunities and hand-added calls included), grouped by
//! societal challenge and funder level, each with the members it fits and
//! the interest already declared — the material AU brings to the yearly
//! workshop on coming applications.

use super::TrackingError;
use super::export::esc;
use super::goal::{FunderLevel, funder_level};
use crate::domain::{CallRef, CallStatus, Deadline, Lang};
use crate::matching::match_members;
use crate::store::Store;
use crate::store::calls::{CallFilter, is_open_at};
use chrono::{DateTime, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// An outlook group's calls by funder level.
pub type ByLevel = BTreeMap<FunderLevel, Vec<OutlookCall>>;

/// One call in the outlook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutlookCall {
    pub reference: CallRef,
    pub title: String,
    pub funder: String,
    pub url: String,
    pub level: FunderLevel,
    /// Top societal challenge (`SC6`), None when not classified.
    pub challenge: Option<String>,
    pub status: CallStatus,
    pub opens: Option<DateTime<Utc>>,
    pub next_deadline: Option<Deadline>,
    /// Standing opportunities: decision dates in the window.
    pub decision_dates: Vec<NaiveDate>,
    pub manual: bool,
    /// Best-fitting members: "Activa (0.82)".
    pub members: Vec<String>,
    /// Interest declared so far: "Activa: ja, partner – «kommentar»".
    pub interest: Vec<String>,
}

/// The outlook for `[from, until]`, grouped: challenge (None last) → level → calls by deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlook {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub groups: BTreeMap<Option<String>, BTreeMap<FunderLevel, Vec<OutlookCall>>>,
}

impl Outlook {
    pub fn len(&self) -> usize {
        self.groups.values().flat_map(|g| g.values()).map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Groups in display order: challenges SC1…SC7, then unclassified.
    pub fn ordered(&self) -> Vec<(&Option<String>, &ByLevel)> {
        let mut v: Vec<_> = self.groups.iter().collect();
        v.sort_by_key(|(k, _)| (k.is_none(), (*k).clone()));
        v
    }
}

/// Gather the outlook: calls not dismissed, open at `now`, forthcoming or
/// standing, that open within `months`; `per_call` best members each.
pub async fn gather_outlook(store: &Store, now: DateTime<Utc>, months: u32, per_call: usize, lang: Lang) -> Result<Outlook, TrackingError> {
    let until = now.checked_add_months(Months::new(months)).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let members = store.list_members().await?;
    let names: HashMap<&str, &str> = members.iter().map(|m| (m.id.as_str(), m.name.as_str())).collect();
    let mut groups: BTreeMap<Option<String>, BTreeMap<FunderLevel, Vec<OutlookCall>>> = BTreeMap::new();
    for c in store.list_calls(&CallFilter::default()).await? {
        let st = c.call.status;
        if st == CallStatus::Closed || !(is_open_at(&c.call, now) || st == CallStatus::Forthcoming) {
            continue;
        }
        if c.call.opens.is_some_and(|o| o > until) {
            continue;
        }
        let answers = store.answers_for_call(c.reference).await?;
        let matches = match_members(&c.call, &c.categories, &members, &answers);
        let name = |id: &str| names.get(id).copied().unwrap_or(id).to_string();
        let interest = store
            .interests_for_call(c.reference)
            .await?
            .into_iter()
            .map(|i| {
                let what = match i.role {
                    Some(r) => format!("{}, {}", i.intent.label(lang), r.label(lang)),
                    None => i.intent.label(lang).to_string(),
                };
                let comment = if i.comment.is_empty() { String::new() } else { format!(" – «{}»", i.comment) };
                format!("{}: {what}{comment}", name(i.member.as_str()))
            })
            .collect();
        let oc = OutlookCall {
            reference: c.reference,
            title: c.call.title.clone(),
            funder: c.call.funder.clone(),
            url: c.call.url.clone(),
            level: funder_level(&c.call.funder, c.call.programme.as_deref()),
            challenge: c.challenges().next().map(|s| s.category.as_str().to_string()),
            status: st,
            opens: c.call.opens,
            next_deadline: c.call.next_deadline(now).copied(),
            decision_dates: c.call.decision_dates.iter().copied().filter(|d| *d >= now.date_naive() && *d <= until.date_naive()).collect(),
            manual: c.manual,
            members: matches.iter().take(per_call).map(|m| format!("{} ({:.2})", name(m.member.as_str()), m.score)).collect(),
            interest,
        };
        groups.entry(oc.challenge.clone()).or_default().entry(oc.level).or_default().push(oc);
    }
    for g in groups.values_mut() {
        for v in g.values_mut() {
            v.sort_by_key(|c| (c.next_deadline.map(|d| d.at).unwrap_or(DateTime::<Utc>::MAX_UTC), c.reference));
        }
    }
    Ok(Outlook { from: now, until, groups })
}

fn group_title(ch: &Option<String>, lang: Lang) -> String {
    match ch.as_deref().and_then(|id| crate::domain::CategoryId::parse(id).ok()) {
        Some(c) => format!("{} {}", c.as_str(), c.challenge_name(lang).unwrap_or("")),
        None => lang.pick("Ej klassade", "Not classified").to_string(),
    }
}

/// When: next deadline, else "löpande" with decision dates, else "öppnar …".
fn when(c: &OutlookCall, tz: Tz, lang: Lang) -> String {
    if let Some(d) = c.next_deadline {
        return format!("{} {}", lang.pick("sista dag", "deadline"), crate::i18n::instant(d.at, d.tz, d.date_only, lang));
    }
    if c.status == CallStatus::Rolling || !c.decision_dates.is_empty() {
        let dd: Vec<String> = c.decision_dates.iter().map(|d| crate::i18n::date(*d, lang)).collect();
        let mut s = lang.pick("löpande", "rolling").to_string();
        if !dd.is_empty() {
            let _ = write!(s, ", {} {}", lang.pick("beslut", "decisions"), dd.join(", "));
        }
        return s;
    }
    if let Some(o) = c.opens {
        return format!("{} {}", lang.pick("öppnar", "opens"), crate::i18n::instant(o, tz, true, lang));
    }
    lang.pick("inget datum", "no date").to_string()
}

fn flags(c: &OutlookCall, lang: Lang) -> String {
    let mut f = Vec::new();
    if c.status == CallStatus::Forthcoming {
        f.push(lang.pick("kommande", "forthcoming"));
    }
    if c.manual {
        f.push(lang.pick("tillagd för hand", "added by hand"));
    }
    if f.is_empty() { String::new() } else { format!(" [{}]", f.join(", ")) }
}

/// The outlook as plain text.
pub fn outlook_text(o: &Outlook, tz: Tz, lang: Lang) -> String {
    let mut s = String::new();
    let (a, b) = (crate::i18n::instant(o.from, tz, true, lang), crate::i18n::instant(o.until, tz, true, lang));
    let _ = match lang {
        Lang::Sv => writeln!(s, "Utblick {a} – {b}: {} utlysningar", o.len()),
        Lang::En => writeln!(s, "Outlook {a} – {b}: {} calls", o.len()),
    };
    for (ch, levels) in o.ordered() {
        let _ = writeln!(s, "\n== {} ==", group_title(ch, lang));
        for (lv, calls) in levels {
            let _ = writeln!(s, "  -- {} --", lv.label(lang));
            for c in calls {
                let _ = writeln!(s, "  {} {}{} ({}; {})", c.reference, c.title, flags(c, lang), c.funder, when(c, tz, lang));
                if !c.members.is_empty() {
                    let _ = writeln!(s, "      {}: {}", lang.pick("passar", "fits"), c.members.join(", "));
                }
                if !c.interest.is_empty() {
                    let _ = writeln!(s, "      {}: {}", lang.pick("intresse", "interest"), c.interest.join("; "));
                }
            }
        }
    }
    s
}

/// The outlook as one HTML page (no scripts, every text escaped).
pub fn outlook_html(o: &Outlook, partnership: &str, tz: Tz, lang: Lang) -> String {
    let mut s = String::new();
    let (a, b) = (crate::i18n::instant(o.from, tz, true, lang), crate::i18n::instant(o.until, tz, true, lang));
    let title = match lang {
        Lang::Sv => format!("{partnership}: utblick inför workshop, {a} – {b}"),
        Lang::En => format!("{partnership}: workshop outlook, {a} – {b}"),
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{t}</title><style>body{{font-family:Arial,sans-serif;max-width:860px;margin:24px auto;font-size:14px;color:#222}}\
         h2{{font-size:18px;margin-top:26px;border-bottom:2px solid #1565c0}}h3{{font-size:15px;color:#1565c0}}.c{{margin:0 0 12px 0}}.m{{color:#555}}</style></head><body>\n<h1>{t}</h1>\n",
        lang.code(),
        t = esc(&title)
    );
    // Summary: challenge × level.
    let _ = write!(s, "<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th></th>");
    for lv in FunderLevel::ALL {
        let _ = write!(s, "<th>{}</th>", esc(lv.label(lang)));
    }
    s.push_str("</tr>\n");
    for (ch, levels) in o.ordered() {
        let _ = write!(s, "<tr><td>{}</td>", esc(&group_title(ch, lang)));
        for lv in FunderLevel::ALL {
            let _ = write!(s, "<td>{}</td>", levels.get(&lv).map(Vec::len).unwrap_or(0));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    for (ch, levels) in o.ordered() {
        let _ = writeln!(s, "<h2>{}</h2>", esc(&group_title(ch, lang)));
        for (lv, calls) in levels {
            let _ = writeln!(s, "<h3>{}</h3>", esc(lv.label(lang)));
            for c in calls {
                let _ = write!(
                    s,
                    "<div class=\"c\"><b>{}</b> <a href=\"{}\">{}</a>{}<br><span class=\"m\">{} · {}</span>",
                    esc(&c.reference.to_string()),
                    esc(&c.url),
                    esc(&c.title),
                    esc(&flags(c, lang)),
                    esc(&c.funder),
                    esc(&when(c, tz, lang))
                );
                if !c.members.is_empty() {
                    let _ = write!(s, "<br>{}: {}", esc(lang.pick("Passar", "Fits")), esc(&c.members.join(", ")));
                }
                if !c.interest.is_empty() {
                    let _ = write!(s, "<br>{}: {}", esc(lang.pick("Intresse", "Interest")), esc(&c.interest.join("; ")));
                }
                s.push_str("</div>\n");
            }
        }
    }
    s.push_str("</body></html>\n");
    s
}
