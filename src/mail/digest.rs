//! Mail, the weekly AU digest: new and changed calls grouped by societal
//! challenge with matched members and a proposed consortium, deadlines
//! within 30 days, the members' answers, held replies and the year's goal.

use super::MailError;
use super::render::{CallCard, Renderer, one_line, strings};
use crate::classify::Model;
use crate::domain::{CategoryId, Lang};
use crate::i18n;
use crate::store::calls::{Change, StoredCall};
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// The ISO week a digest covers, e.g. `2026-W48`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    pub year: i32,
    pub week: u32,
}

impl Week {
    pub fn of(t: DateTime<Utc>, tz: Tz) -> Week {
        let w = t.with_timezone(&tz).date_naive().iso_week();
        Week { year: w.year(), week: w.week() }
    }

    /// Parse `2026-W48`.
    pub fn parse(s: &str) -> Option<Week> {
        let (y, w) = s.trim().split_once(['W', 'w'])?;
        let year: i32 = y.trim_end_matches('-').parse().ok()?;
        let week: u32 = w.parse().ok()?;
        chrono::NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)?;
        Some(Week { year, week })
    }

    /// Monday 00:00 of this week in `tz`, as UTC.
    pub fn start(&self, tz: Tz) -> Option<DateTime<Utc>> {
        let d = chrono::NaiveDate::from_isoywd_opt(self.year, self.week, chrono::Weekday::Mon)?;
        let dl = crate::domain::Deadline::local(d, chrono::NaiveTime::MIN, tz);
        Some(dl.at)
    }
}

impl std::fmt::Display for Week {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

/// What the digest knows about one call beyond the call itself.
#[derive(Debug, Clone, Default)]
pub struct CallNotes {
    /// "Stiftelsen Activa (0.83)", best first.
    pub members: Vec<String>,
    pub proposal: Option<String>,
    /// "Verdandi: ja, som partner".
    pub answers: Vec<String>,
}

/// One call in the digest, with why it is there.
#[derive(Debug, Clone)]
pub struct DigestCall {
    pub call: StoredCall,
    pub is_new: bool,
    pub changes: Vec<Change>,
    pub notes: CallNotes,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalView {
    pub text: String,
    pub bar: String,
    pub cells: Vec<bool>,
    pub in_progress: Vec<String>,
}

/// Everything a digest shows, gathered by the digest job.
#[derive(Debug, Clone)]
pub struct DigestInput {
    pub week: Week,
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub lang: Lang,
    pub partnership: String,
    pub short_name: String,
    pub calls: Vec<DigestCall>,
    /// New or changed calls the home county may not apply to: not shown, only counted.
    pub not_open_to_home: usize,
    /// The partnership's county as calls name it (`Örebro län`).
    pub home_county: String,
    /// Open calls with a deadline within 30 days.
    pub deadlines_soon: Vec<StoredCall>,
    pub answers: Vec<String>,
    pub forming: Vec<String>,
    /// Contacts of one member that answered a call differently (issue 17).
    pub conflicts: Vec<String>,
    pub held: Vec<String>,
    pub held_total: usize,
    pub failed: Vec<String>,
    pub goal: Option<GoalView>,
    pub reply_to: String,
}

#[derive(Serialize)]
struct Group {
    heading: String,
    subheading: Option<String>,
    calls: Vec<CallCard>,
}

#[derive(Serialize)]
struct DeadlineLine {
    date: String,
    days_left: String,
    reference: String,
    title: String,
}

/// A rendered message: subject, text and HTML parts.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The card for one stored call: next deadline with days left, a one-line
/// summary, and the strongest categories with their evidence.
pub fn card(c: &StoredCall, now: DateTime<Utc>, tz: Tz, lang: Lang, model: &Model) -> CallCard {
    let next = c.call.next_deadline(now).or_else(|| c.call.last_deadline());
    let today = now.with_timezone(&tz).date_naive();
    let deadline = match next {
        Some(d) => Some(i18n::instant(d.at, d.tz, d.date_only, lang)),
        None if c.call.status == crate::domain::CallStatus::Rolling => Some(lang.pick("löpande", "rolling").to_string()),
        None => None,
    };
    let summary_src = if c.call.summary.trim().is_empty() { &c.call.text } else { &c.call.summary };
    let mut why = c.categories.iter().take(3).map(|s| explain(s, lang, model)).collect::<Vec<_>>();
    if c.challenges().next().is_none() {
        // Say why a call fits no challenge when the text itself shows another focus (the `[none]` cues).
        let cues = crate::classify::none_evidence(&c.call, model);
        let terms = crate::domain::category::distinct_terms(&cues, 3);
        if !terms.is_empty() {
            why.push(format!("{} — {}", lang.pick("annan inriktning", "another focus"), terms.join(", ")));
        }
    }
    let why = why.join("; ");
    CallCard {
        reference: c.reference.to_string(),
        title: c.call.title.clone(),
        url: safe_link(&c.call.url),
        funder: c.call.funder.clone(),
        deadline,
        days_left: next.map(|d| i18n::days_left(today, d.at.with_timezone(&tz).date_naive(), lang)),
        summary: one_line(summary_src, 220),
        why: (!why.is_empty()).then_some(why),
        watched: c.watched,
        ..Default::default()
    }
}

/// "SC6 — inkludering, arbetsmarknad" for a challenge; a regional theme by its name.
pub fn explain(s: &crate::domain::CategoryScore, lang: Lang, model: &Model) -> String {
    let label = if s.category.is_challenge() {
        s.category.to_string()
    } else {
        model.category_name(&s.category, lang).map(str::to_string).unwrap_or_else(|| s.category.to_string())
    };
    let terms = crate::domain::category::distinct_terms(&s.evidence, 3);
    if terms.is_empty() { label } else { format!("{label} — {}", terms.join(", ")) }
}

/// A link from the web is used only when it is http(s): never `javascript:`
/// or `data:` in a mail.
pub fn safe_link(url: &str) -> String {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    if (lower.starts_with("https://") || lower.starts_with("http://")) && !u.chars().any(char::is_whitespace) {
        u.to_string()
    } else {
        String::new()
    }
}

fn change_text(changes: &[Change], lang: Lang) -> Option<String> {
    let parts: Vec<String> = changes
        .iter()
        .map(|c| match c.field {
            "deadline" => lang.pick("deadline flyttad", "deadline moved").to_string(),
            "title" => lang.pick("ny titel", "new title").to_string(),
            _ if c.new == "open" && c.old == "closed" => lang.pick("öppnad igen", "reopened").to_string(),
            _ => format!("{} {} → {}", lang.pick("status", "status"), c.old, c.new),
        })
        .collect();
    (!parts.is_empty()).then(|| format!("{}: {}", lang.pick("Ändrad", "Changed"), parts.join(", ")))
}

/// Group heading for a call: its top challenge, or "other".
fn group_key(c: &StoredCall) -> Option<CategoryId> {
    c.challenges().next().map(|s| s.category.clone())
}

/// The digest's subject line.
pub fn subject(i: &DigestInput) -> String {
    let lang = i.lang;
    let new = i.calls.iter().filter(|c| c.is_new).count();
    let dl = i.deadlines_soon.len();
    match lang {
        Lang::Sv => format!(
            "{} veckobrev vecka {}: {}, {} inom 30 dagar",
            i.short_name,
            i.week.week,
            i18n::count(new, "ny utlysning", "nya utlysningar"),
            i18n::count(dl, "deadline", "deadlines")
        ),
        Lang::En => format!(
            "{} weekly digest week {}: {}, {} within 30 days",
            i.short_name,
            i.week.week,
            i18n::count(new, "new call", "new calls"),
            i18n::count(dl, "deadline", "deadlines")
        ),
    }
}

/// Render the digest.
pub fn render(r: &Renderer, i: &DigestInput, model: &Model) -> Result<Rendered, MailError> {
    let lang = i.lang;
    let t = strings(lang);
    let today = i.now.with_timezone(&i.tz).date_naive();

    let mut cards: Vec<(Option<CategoryId>, bool, CallCard)> = Vec::new();
    for dc in &i.calls {
        let mut c = card(&dc.call, i.now, i.tz, lang, model);
        c.badge = if dc.is_new {
            Some(lang.pick("NY", "NEW").into())
        } else if !dc.changes.is_empty() {
            Some(lang.pick("ÄNDRAD", "CHANGED").into())
        } else {
            None
        };
        c.change = change_text(&dc.changes, lang);
        c.rules = dc.call.rules.as_ref().map(|r| i18n::rules::rules_line(&r.eligibility, &i.home_county, lang));
        c.members = dc.notes.members.clone();
        c.proposal = dc.notes.proposal.clone();
        c.answers = dc.notes.answers.clone();
        cards.push((group_key(&dc.call), dc.call.watched, c));
    }
    let mut groups: Vec<Group> = Vec::new();
    let watched: Vec<CallCard> = cards.iter().filter(|(_, w, _)| *w).map(|(_, _, c)| c.clone()).collect();
    if !watched.is_empty() {
        groups.push(Group { heading: lang.pick("Bevakade utlysningar", "Watched calls").into(), subheading: None, calls: watched });
    }
    for n in 1..=7u8 {
        let id = CategoryId::challenge(n);
        let calls: Vec<CallCard> = cards.iter().filter(|(g, w, _)| !*w && g.as_ref() == Some(&id)).map(|(_, _, c)| c.clone()).collect();
        if !calls.is_empty() {
            groups.push(Group { heading: format!("{id} {}", id.challenge_name(lang).unwrap_or("")), subheading: None, calls });
        }
    }
    let other: Vec<CallCard> = cards.iter().filter(|(g, w, _)| !*w && g.is_none()).map(|(_, _, c)| c.clone()).collect();
    if !other.is_empty() {
        groups.push(Group {
            heading: t.get("other").copied().unwrap_or("").into(),
            subheading: Some(lang.pick("Passar ingen av de sju samhällsutmaningarna", "Fit none of the seven societal challenges").into()),
            calls: other,
        });
    }

    let deadlines: Vec<DeadlineLine> = i
        .deadlines_soon
        .iter()
        .filter_map(|c| {
            let d = c.call.next_deadline(i.now)?;
            Some(DeadlineLine {
                date: i18n::instant(d.at, d.tz, d.date_only, lang),
                days_left: i18n::days_left(today, d.at.with_timezone(&i.tz).date_naive(), lang),
                reference: c.reference.to_string(),
                title: c.call.title.clone(),
            })
        })
        .collect();

    let new = i.calls.iter().filter(|c| c.is_new).count();
    let changed = i.calls.iter().filter(|c| !c.is_new && !c.changes.is_empty()).count();
    let title = match lang {
        Lang::Sv => format!("Veckobrev vecka {}", i.week.week),
        Lang::En => format!("Weekly digest, week {}", i.week.week),
    };
    let lead = match lang {
        Lang::Sv => format!(
            "{}, {} och {} inom 30 dagar.",
            i18n::count(new, "ny utlysning", "nya utlysningar"),
            i18n::count(changed, "ändrad", "ändrade"),
            i18n::count(deadlines.len(), "deadline", "deadlines")
        ),
        Lang::En => format!(
            "{}, {} and {} within 30 days.",
            i18n::count(new, "new call", "new calls"),
            i18n::count(changed, "changed", "changed"),
            i18n::count(deadlines.len(), "deadline", "deadlines")
        ),
    };
    let footer = match lang {
        Lang::Sv => format!(
            "Svara på det här mejlet för att styra bevakningen, en rad per utlysning: «PSI-0042: ej aktuell» döljer utlysningen, «PSI-0042: bevaka» håller den överst till sista dagen. Svar går till {}.",
            i.reply_to
        ),
        Lang::En => format!(
            "Reply to this e-mail to steer the watch, one line per call: “PSI-0042: not relevant” hides the call, “PSI-0042: watch” keeps it on top until its deadline. Replies go to {}.",
            i.reply_to
        ),
    };
    let held_more = (i.held_total > i.held.len()).then(|| match lang {
        Lang::Sv => format!("… och {} till ({} totalt).", i.held_total - i.held.len(), i.held_total),
        Lang::En => format!("… and {} more ({} in all).", i.held_total - i.held.len(), i.held_total),
    });
    let not_home = (i.not_open_to_home > 0).then(|| match lang {
        Lang::Sv => format!("{} gäller inte {}", i18n::count(i.not_open_to_home, "utlysning", "utlysningar"), i.home_county),
        Lang::En => format!("{} not open to {}", i18n::count(i.not_open_to_home, "call is", "calls are"), i.home_county),
    });
    let ctx = minijinja::context! {
        lang => lang.code(),
        not_home => not_home,
        title => title,
        lead => lead,
        partnership => i.partnership.clone(),
        footer => footer,
        t => t,
        goal => i.goal.clone(),
        deadlines => deadlines,
        groups => groups,
        answers => i.answers.clone(),
        forming => i.forming.clone(),
        conflicts => i.conflicts.clone(),
        held => i.held.clone(),
        held_more => held_more,
        failed => i.failed.clone(),
    };
    Ok(Rendered { subject: subject(i), text: r.render("digest.txt", &ctx)?, html: r.render("digest.html", &ctx)? })
}

/// "2 av 5 ansökningar 2026" with a bar of `goal` cells.
pub fn goal_view(count: usize, goal: u32, year: i32, in_progress: Vec<String>, lang: Lang) -> GoalView {
    let cells: Vec<bool> = (0..goal.max(count as u32) as usize).map(|k| k < count).collect();
    let bar: String = cells.iter().map(|f| if *f { '■' } else { '□' }).collect();
    let text = match lang {
        Lang::Sv => format!("{count} av {goal} ansökningar {year}"),
        Lang::En => format!("{count} of {goal} applications {year}"),
    };
    GoalView { text, bar, cells, in_progress }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_parse_and_display() {
        let w = Week::parse("2026-W48").unwrap();
        assert_eq!(w.to_string(), "2026-W48");
        assert!(Week::parse("2026-W54").is_none());
        let t = DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(Week::of(t, chrono_tz::Europe::Stockholm), w);
        assert_eq!(w.start(chrono_tz::Europe::Stockholm).unwrap().to_rfc3339(), "2026-11-22T23:00:00+00:00");
    }

    #[test]
    fn only_web_links_reach_a_mail() {
        assert_eq!(safe_link("https://www.vinnova.se/x?a=1"), "https://www.vinnova.se/x?a=1");
        assert_eq!(safe_link("javascript:alert(1)"), "");
        assert_eq!(safe_link("data:text/html,<b>"), "");
        assert_eq!(safe_link("https://x.se/a b"), "");
    }

    fn stored(title: &str, text: &str, model: &Model) -> StoredCall {
        let call = crate::domain::Call::new(title, "https://example.org/utlysning", "Tillväxtverket", text);
        let categories = crate::classify::classify(&call, model);
        let t = DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z").unwrap().with_timezone(&Utc);
        StoredCall {
            reference: crate::domain::CallRef(7),
            call,
            first_seen_at: t,
            changed_at: None,
            dismissed: false,
            watched: false,
            manual: false,
            categories,
            sources: vec![],
            rules: None,
        }
    }

    #[test]
    fn a_card_says_why_a_call_fits_no_challenge() {
        let model = Model::builtin().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z").unwrap().with_timezone(&Utc);
        let tz = chrono_tz::Europe::Stockholm;
        let none = stored(
            "Exportcheck för småföretag",
            "Företag kan söka en exportcheck för marknadsanalys, mässor och rådgivning om export.",
            &model,
        );
        assert!(none.challenges().next().is_none(), "{:?}", none.categories);
        let why = card(&none, now, tz, Lang::Sv, &model).why.unwrap();
        assert!(why.starts_with("annan inriktning — ") && why.contains("exportcheck"), "{why}");
        let why = card(&none, now, tz, Lang::En, &model).why.unwrap();
        assert!(why.contains("another focus — "), "{why}");
        // A call with a challenge shows its own evidence, not the cues.
        let sc6 = stored(
            "ESF+: Arbetsmarknadsinsatser för personer långt från arbetsmarknaden",
            "Projekt som ökar inkluderingen av långtidsarbetslösa och nyanlända på arbetsmarknaden genom arbetsintegrerande \
             sociala företag och praktik.",
            &model,
        );
        let why = card(&sc6, now, tz, Lang::Sv, &model).why.unwrap();
        assert!(why.contains("SC6 — ") && !why.contains("annan inriktning"), "{why}");
    }

    #[test]
    fn goal_bar() {
        let g = goal_view(2, 5, 2026, vec![], Lang::Sv);
        assert_eq!(g.text, "2 av 5 ansökningar 2026");
        assert_eq!(g.bar, "■■□□□");
    }
}
