//! Exports of the register: the year's report as text, CSV (Excel-friendly:
//! UTF-8 BOM, `;` or `,`), a one-page HTML report with an inline SVG chart,
//! and an RFC 5545 calendar (ICS) of deadlines, reminders and applications'
//! dates with stable UIDs.

use super::goal::{YearReport, bar};
use crate::csv_cell::{guard, read_cell};
use crate::domain::application::{AppStatus, Application, CallLink, Currency, Party, PsiRole, RegisterError, StatusDates, parse_amount};
use crate::domain::{CallStatus, Lang, MemberId};
use crate::store::calls::StoredCall;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::fmt::Write as _;

// ---------------------------------------------------------------- text

/// Who an application's lead and partners are, by name.
fn parties(a: &Application, names: &HashMap<String, String>) -> (String, String) {
    let lead = a.lead.as_ref().map(|p| p.display(names)).unwrap_or_default();
    let partners = a.partners.iter().map(|p| p.display(names)).collect::<Vec<_>>().join(", ");
    (lead, partners)
}

fn challenge_label(id: &str, lang: Lang) -> String {
    match crate::domain::CategoryId::parse(id).ok().and_then(|c| c.challenge_name(lang).map(str::to_string)) {
        Some(n) => format!("{id} {n}"),
        None => lang.pick("ej klassad", "not classified").to_string(),
    }
}

/// The report as the terminal shows it: count against the goal with a bar,
/// what counted and why, what did not and why, by status, level, challenge.
pub fn report_text(r: &YearReport, names: &HashMap<String, String>, lang: Lang) -> String {
    let mut s = String::new();
    let _ = match lang {
        Lang::Sv => writeln!(s, "Mål {}: {} av {} ansökningar  {}", r.year, r.count(), r.goal, r.bar()),
        Lang::En => writeln!(s, "Goal {}: {} of {} applications  {}", r.year, r.count(), r.goal, r.bar()),
    };
    let section = |s: &mut String, title: &str, it: &mut dyn Iterator<Item = &super::goal::ReportLine>| {
        let _ = writeln!(s, "\n{title}:");
        let mut any = false;
        for l in it {
            any = true;
            let (lead, _) = parties(&l.app, names);
            let lead = if lead.is_empty() { String::new() } else { format!(", {lead}") };
            let _ = writeln!(s, "  #{:<3} {} ({}{lead}) – {}", l.app.id, l.app.title, l.app.status.label(lang), l.verdict.reason);
        }
        if !any {
            let _ = writeln!(s, "  {}", lang.pick("(inga)", "(none)"));
        }
    };
    section(&mut s, lang.pick("Räknas", "Counted"), &mut r.counted());
    section(&mut s, lang.pick("Räknas inte", "Not counted"), &mut r.not_counted());
    let _ = writeln!(s, "\n{}:", lang.pick("Per status", "By status"));
    for (st, n) in r.by_status() {
        let _ = writeln!(s, "  {:<12} {n}", st.label(lang));
    }
    let _ = writeln!(s, "\n{}:", lang.pick("Per finansiärsnivå (alla / räknas)", "By funder level (all / counted)"));
    for (lv, (n, c)) in r.by_level() {
        let _ = writeln!(s, "  {:<12} {n} / {c}", lv.label(lang));
    }
    let _ = writeln!(s, "\n{}:", lang.pick("Per samhällsutmaning (alla / räknas)", "By societal challenge (all / counted)"));
    for (ch, (n, c)) in r.by_challenge() {
        let _ = writeln!(s, "  {:<12} {n} / {c}", challenge_label(&ch, lang));
    }
    s
}

// ---------------------------------------------------------------- CSV

/// Column keys with their Swedish and English headers.
const CSV_COLUMNS: [(&str, &str, &str); 21] = [
    ("id", "id", "id"),
    ("title", "titel", "title"),
    ("call", "utlysning", "call"),
    ("lead", "huvudsökande", "lead"),
    ("partners", "partner", "partners"),
    ("psi_role", "psi_roll", "psi_role"),
    ("status", "status", "status"),
    ("idea", "idé", "idea"),
    ("forming", "bildas", "forming"),
    ("writing", "skrivs", "writing"),
    ("submitted", "inskickad", "submitted"),
    ("granted", "beviljad", "granted"),
    ("rejected", "avslagen", "rejected"),
    ("withdrawn", "återtagen", "withdrawn"),
    ("amount_applied", "sökt_belopp", "amount_applied"),
    ("amount_granted", "beviljat_belopp", "amount_granted"),
    ("currency", "valuta", "currency"),
    ("notes", "anteckningar", "notes"),
    ("level", "finansiärsnivå", "funder_level"),
    ("counts", "räknas", "counts"),
    ("reason", "skäl", "reason"),
];

/// Partners within one cell.
const LIST_SEP: &str = " | ";

/// A text cell as written: guarded against formulas (one rule for every CSV, [`crate::csv_cell`]).
fn defuse(s: &str) -> String {
    guard(s).into_owned()
}

fn amount_cell(v: Option<f64>, sep: u8) -> String {
    match v {
        None => String::new(),
        Some(x) if sep == b';' => format!("{x}").replace('.', ","),
        Some(x) => format!("{x}"),
    }
}

/// The report's applications as CSV: UTF-8 with a BOM (Excel reads the
/// encoding from it), separated by `sep` (`;` for Swedish Excel, whose
/// decimal comma then also goes into amounts), headers in `lang`.
pub fn write_csv(r: &YearReport, sep: u8, lang: Lang) -> Result<Vec<u8>, csv::Error> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::WriterBuilder::new().delimiter(sep).terminator(csv::Terminator::CRLF).from_writer(&mut out);
        w.write_record(CSV_COLUMNS.iter().map(|(_, sv, en)| lang.pick(sv, en)))?;
        for l in &r.lines {
            let a = &l.app;
            let date = |s: AppStatus| a.status_dates.get(&s).map(|d| d.to_string()).unwrap_or_default();
            let rec = vec![
                a.id.to_string(),
                defuse(&a.title),
                defuse(&a.call.as_ref().map(|c| c.to_string()).unwrap_or_default()),
                defuse(a.lead.as_ref().map(Party::key).unwrap_or("")),
                defuse(&a.partners.iter().map(Party::key).collect::<Vec<_>>().join(LIST_SEP)),
                a.psi_role.label(lang).to_string(),
                a.status.label(lang).to_string(),
                date(AppStatus::Idea),
                date(AppStatus::Forming),
                date(AppStatus::Writing),
                date(AppStatus::Submitted),
                date(AppStatus::Granted),
                date(AppStatus::Rejected),
                date(AppStatus::Withdrawn),
                amount_cell(a.amount_applied, sep),
                amount_cell(a.amount_granted, sep),
                a.currency.as_str().to_string(),
                defuse(&a.notes),
                l.level.label(lang).to_string(),
                lang.pick(if l.verdict.counts { "ja" } else { "nej" }, if l.verdict.counts { "yes" } else { "no" }).to_string(),
                defuse(&l.verdict.reason),
            ];
            w.write_record(&rec)?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// Read back a CSV written by [`write_csv`] (either language, `;` or `,`
/// guessed from the header): the applications, with lead and partners
/// resolved against `members`. Timestamps are not in the file (set to the epoch).
pub fn read_csv(bytes: &[u8], members: &[MemberId]) -> Result<Vec<Application>, RegisterError> {
    let text = std::str::from_utf8(bytes).map_err(|e| RegisterError(format!("CSV: inte UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let sep = if first.matches(';').count() >= first.matches(',').count() { b';' } else { b',' };
    let mut rd = csv::ReaderBuilder::new().delimiter(sep).from_reader(text.as_bytes());
    let headers = rd.headers().map_err(|e| RegisterError(format!("CSV: rubrikraden: {e}")))?.clone();
    let mut pos: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some((k, _, _)) = CSV_COLUMNS.iter().find(|(k, sv, en)| h == *k || h == *sv || h == *en) {
            pos.insert(k, i);
        }
    }
    for need in ["title", "psi_role", "status"] {
        if !pos.contains_key(need) {
            return Err(RegisterError(format!("CSV: kolumnen «{need}» saknas")));
        }
    }
    let mut out = Vec::new();
    for (n, rec) in rd.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| RegisterError(format!("CSV rad {line}: {e}")))?;
        let get = |k: &str| pos.get(k).and_then(|i| rec.get(*i)).map(read_cell).unwrap_or("").to_string();
        let bad = |k: &str, e: RegisterError| RegisterError(format!("CSV rad {line}, kolumn {k}: {e}"));
        let mut dates = StatusDates::new();
        for s in AppStatus::ALL {
            let v = get(s.as_str());
            if !v.is_empty() {
                let d = NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|e| bad(s.as_str(), RegisterError(e.to_string())))?;
                dates.insert(s, d);
            }
        }
        let opt_amount = |k: &str| {
            let v = get(k);
            if v.is_empty() { Ok(None) } else { parse_amount(&v).map(Some).map_err(|e| bad(k, e)) }
        };
        let call = get("call");
        let lead = get("lead");
        let partners = get("partners");
        out.push(Application {
            id: get("id").parse().unwrap_or(0),
            title: get("title"),
            call: if call.is_empty() { None } else { Some(CallLink::parse(&call).map_err(|e| bad("call", e))?) },
            lead: if lead.is_empty() { None } else { Some(Party::resolve(&lead, members).map_err(|e| bad("lead", e))?) },
            partners: partners
                .split(LIST_SEP.trim())
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| Party::resolve(p, members))
                .collect::<Result<_, _>>()
                .map_err(|e| bad("partners", e))?,
            psi_role: PsiRole::parse(&get("psi_role")).map_err(|e| bad("psi_role", e))?,
            status: AppStatus::parse(&get("status")).map_err(|e| bad("status", e))?,
            status_dates: dates,
            amount_applied: opt_amount("amount_applied")?,
            amount_granted: opt_amount("amount_granted")?,
            currency: {
                let c = get("currency");
                if c.is_empty() { Currency::Sek } else { Currency::parse(&c).map_err(|e| bad("currency", e))? }
            },
            notes: get("notes"),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- HTML

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:Arial,Helvetica,sans-serif;max-width:820px;margin:24px auto;color:#222;font-size:14px}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin:22px 0 6px}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #ddd;vertical-align:top}th{background:#f2f2f2}\
.muted{color:#666}.num{text-align:right}@media print{body{margin:0}}";

/// The year's pipeline as a horizontal bar chart: one bar per status.
pub fn pipeline_svg(r: &YearReport, lang: Lang) -> String {
    let counts = r.by_status();
    let max = counts.values().copied().max().unwrap_or(0).max(1);
    let (row, label_w, bar_w) = (26, 110, 520);
    let h = row * AppStatus::ALL.len() + 10;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        label_w + bar_w + 50,
        esc(lang.pick("Årets ansökningar per status", "The year's applications by status"))
    );
    for (i, st) in AppStatus::ALL.iter().enumerate() {
        let n = counts.get(st).copied().unwrap_or(0);
        let y = i * row + 5;
        let w = n * bar_w / max;
        let colour = match st {
            AppStatus::Granted => "#2e7d32",
            AppStatus::Rejected | AppStatus::Withdrawn => "#9e9e9e",
            AppStatus::Submitted => "#1565c0",
            _ => "#90caf9",
        };
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"13\" font-family=\"Arial\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\" font-family=\"Arial\">{n}</text>",
            y + 15,
            esc(st.label(lang)),
            row - 8,
            label_w + w + 6,
            y + 15
        );
    }
    s.push_str("</svg>");
    s
}

/// The goal as cells: filled for each counted application.
fn goal_svg(count: usize, goal: u32) -> String {
    let n = (goal as usize).max(count);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"28\">", n * 30);
    for k in 0..n {
        let fill = if k < count { "#2e7d32" } else { "#e0e0e0" };
        let _ = write!(s, "<rect x=\"{}\" y=\"2\" width=\"24\" height=\"24\" rx=\"3\" fill=\"{fill}\"/>", k * 30);
    }
    s.push_str("</svg>");
    s
}

/// A one-page HTML report for the yearly follow-up: goal, pipeline chart,
/// what counted and why, by funder level and challenge. No scripts; every
/// text escaped.
pub fn report_html(r: &YearReport, partnership: &str, names: &HashMap<String, String>, today: NaiveDate, lang: Lang) -> String {
    let mut s = String::new();
    let title = match lang {
        Lang::Sv => format!("{partnership}: ansökningar {}", r.year),
        Lang::En => format!("{partnership}: applications {}", r.year),
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        lang.code(),
        esc(&title),
        esc(&title)
    );
    let goal_text = match lang {
        Lang::Sv => {
            format!("{} av {} ansökningar där PSI medverkar har skickats in {} (mål: {} per år).", r.count(), r.goal, r.year, r.goal)
        }
        Lang::En => format!("{} of {} applications with PSI were submitted in {} (goal: {} a year).", r.count(), r.goal, r.year, r.goal),
    };
    let _ = write!(s, "<p>{}</p>\n<p>{}</p>\n", esc(&goal_text), goal_svg(r.count(), r.goal));
    let _ = write!(s, "<h2>{}</h2>\n{}\n", esc(lang.pick("Årets ansökningar per status", "The year's pipeline")), pipeline_svg(r, lang));
    let head = [
        lang.pick("Nr", "No."),
        lang.pick("Ansökan", "Application"),
        lang.pick("Utlysning", "Call"),
        lang.pick("Huvudsökande", "Lead"),
        lang.pick("PSI:s roll", "PSI's role"),
        lang.pick("Status", "Status"),
        lang.pick("Skäl", "Reason"),
    ];
    let table = |s: &mut String, h: &str, lines: Vec<&super::goal::ReportLine>| {
        let _ = writeln!(s, "<h2>{}</h2>", esc(h));
        if lines.is_empty() {
            let _ = writeln!(s, "<p class=\"muted\">{}</p>", esc(lang.pick("Inga.", "None.")));
            return;
        }
        s.push_str("<table><tr>");
        for c in head {
            let _ = write!(s, "<th>{}</th>", esc(c));
        }
        s.push_str("</tr>\n");
        for l in lines {
            let (lead, _) = parties(&l.app, names);
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                l.app.id,
                esc(&l.app.title),
                esc(&l.call_title),
                esc(&lead),
                esc(l.app.psi_role.label(lang)),
                esc(l.app.status.label(lang)),
                esc(&l.verdict.reason)
            );
        }
        s.push_str("</table>\n");
    };
    table(&mut s, lang.pick("Räknas mot målet", "Counted toward the goal"), r.counted().collect());
    table(&mut s, lang.pick("Räknas inte", "Not counted"), r.not_counted().collect());
    let _ = write!(
        s,
        "<h2>{}</h2>\n<table><tr><th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th></tr>\n",
        esc(lang.pick("Per finansiärsnivå", "By funder level")),
        esc(lang.pick("Nivå", "Level")),
        esc(lang.pick("Alla", "All")),
        esc(lang.pick("Räknas", "Counted"))
    );
    for (lv, (n, c)) in r.by_level() {
        let _ = writeln!(s, "<tr><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{c}</td></tr>", esc(lv.label(lang)));
    }
    s.push_str("</table>\n");
    let _ = write!(
        s,
        "<h2>{}</h2>\n<table><tr><th>{}</th><th class=\"num\">{}</th><th class=\"num\">{}</th></tr>\n",
        esc(lang.pick("Per samhällsutmaning", "By societal challenge")),
        esc(lang.pick("Utmaning", "Challenge")),
        esc(lang.pick("Alla", "All")),
        esc(lang.pick("Räknas", "Counted"))
    );
    for (ch, (n, c)) in r.by_challenge() {
        let _ = writeln!(s, "<tr><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{c}</td></tr>", esc(&challenge_label(&ch, lang)));
    }
    s.push_str("</table>\n");
    let _ = write!(
        s,
        "<p class=\"muted\">{} {} · psi-radar · {}</p>\n</body></html>\n",
        esc(lang.pick("Sammanställd", "Compiled")),
        esc(&crate::i18n::date(today, lang)),
        esc(&bar(r.count(), r.goal))
    );
    s
}

// ---------------------------------------------------------------- ICS

/// Escape a TEXT value (RFC 5545 §3.3.11).
pub fn ics_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Fold one content line at 75 octets (never inside a UTF-8 character)
/// and end every physical line with CRLF.
pub fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn ics_date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// What goes into the calendar.
pub struct IcsInput<'a> {
    /// Calls whose deadlines to show (open or forthcoming, not dismissed).
    pub calls: &'a [StoredCall],
    pub apps: &'a [Application],
    /// UIDs end in `@domain` (the partnership's mail domain).
    pub domain: &'a str,
    pub calendar_name: &'a str,
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub lang: Lang,
}

/// Days before a deadline that get a reminder.
pub const REMINDER_DAYS: [i64; 2] = [14, 3];

struct Event {
    uid: String,
    start: Start,
    summary: String,
    description: String,
    url: Option<String>,
    modified: Option<DateTime<Utc>>,
    alarms: bool,
}

enum Start {
    At(DateTime<Utc>),
    Day(NaiveDate),
}

/// The calendar: each deadline of each call (UID `PSI-0042-deadline-1@…`,
/// numbered in date order, so a moved deadline keeps its UID), reminders
/// 14 and 3 days before (as alarms and as all-day events, since subscribed
/// calendars often drop alarms), standing calls' decision dates, and each
/// application's dates (UID `app-7-submitted@…`).
pub fn ics(inp: &IcsInput<'_>) -> String {
    let lang = inp.lang;
    let mut events = Vec::new();
    for c in inp.calls {
        let r = c.reference;
        let mut ds = c.call.deadlines.clone();
        ds.sort();
        let modified = Some(c.changed_at.unwrap_or(c.first_seen_at));
        for (k, d) in ds.iter().enumerate() {
            let when = crate::i18n::instant(d.at, d.tz, d.date_only, lang);
            let description = format!(
                "{} {}\n{}: {}\n{}: {when}\n{}",
                r,
                c.call.title,
                lang.pick("Finansiär", "Funder"),
                c.call.funder,
                lang.pick("Sista dag", "Deadline"),
                c.call.url
            );
            let uid = format!("{r}-deadline-{}@{}", k + 1, inp.domain);
            events.push(Event {
                uid: uid.clone(),
                start: if d.date_only { Start::Day(d.local_date()) } else { Start::At(d.at) },
                summary: format!("{}: {} ({r})", lang.pick("Sista dag", "Deadline"), c.call.title),
                description: description.clone(),
                url: Some(c.call.url.clone()),
                modified,
                alarms: true,
            });
            for days in REMINDER_DAYS {
                let day = d.local_date() - Duration::days(days);
                events.push(Event {
                    uid: format!("{r}-deadline-{}-remind-{days}@{}", k + 1, inp.domain),
                    start: Start::Day(day),
                    summary: match lang {
                        Lang::Sv => format!("Om {days} dagar: sista dag för {} ({r})", c.call.title),
                        Lang::En => format!("In {days} days: deadline of {} ({r})", c.call.title),
                    },
                    description: description.clone(),
                    url: Some(c.call.url.clone()),
                    modified,
                    alarms: false,
                });
            }
        }
        if c.call.status == CallStatus::Rolling {
            for d in &c.call.decision_dates {
                events.push(Event {
                    uid: format!("{r}-decision-{}@{}", ics_date(*d), inp.domain),
                    start: Start::Day(*d),
                    summary: format!("{}: {} ({r})", lang.pick("Beslutsdatum", "Decision date"), c.call.title),
                    description: format!("{}\n{}", c.call.funder, c.call.url),
                    url: Some(c.call.url.clone()),
                    modified,
                    alarms: false,
                });
            }
        }
    }
    for a in inp.apps {
        for (st, d) in &a.status_dates {
            events.push(Event {
                uid: format!("app-{}-{}@{}", a.id, st.as_str(), inp.domain),
                start: Start::Day(*d),
                summary: match lang {
                    Lang::Sv => format!("Ansökan {}: {}", st.label(lang), a.title),
                    Lang::En => format!("Application {}: {}", st.label(lang), a.title),
                },
                description: format!(
                    "#{} {}\n{}: {}\n{}: {}",
                    a.id,
                    a.title,
                    lang.pick("Utlysning", "Call"),
                    a.call.as_ref().map(|c| c.to_string()).unwrap_or_default(),
                    lang.pick("PSI:s roll", "PSI's role"),
                    a.psi_role.label(lang)
                ),
                url: None,
                modified: Some(a.updated_at),
                alarms: false,
            });
        }
    }

    let mut s = String::new();
    let stamp = utc_stamp(inp.now);
    for l in [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//psi-radar//psi-radar//SV".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", ics_escape(inp.calendar_name)),
        format!("X-WR-TIMEZONE:{}", inp.tz.name()),
    ] {
        fold(&l, &mut s);
    }
    for e in events {
        fold("BEGIN:VEVENT", &mut s);
        fold(&format!("UID:{}", e.uid), &mut s);
        fold(&format!("DTSTAMP:{stamp}"), &mut s);
        match e.start {
            Start::At(t) => fold(&format!("DTSTART:{}", utc_stamp(t)), &mut s),
            Start::Day(d) => {
                fold(&format!("DTSTART;VALUE=DATE:{}", ics_date(d)), &mut s);
                fold(&format!("DTEND;VALUE=DATE:{}", ics_date(d + Duration::days(1))), &mut s);
                fold("TRANSP:TRANSPARENT", &mut s);
            }
        }
        fold(&format!("SUMMARY:{}", ics_escape(&e.summary)), &mut s);
        fold(&format!("DESCRIPTION:{}", ics_escape(&e.description)), &mut s);
        if let Some(u) = &e.url
            && !u.is_empty()
        {
            fold(&format!("URL:{}", u.replace(['\r', '\n'], "")), &mut s);
        }
        if let Some(m) = e.modified {
            fold(&format!("LAST-MODIFIED:{}", utc_stamp(m)), &mut s);
        }
        if e.alarms {
            for days in REMINDER_DAYS {
                fold("BEGIN:VALARM", &mut s);
                fold("ACTION:DISPLAY", &mut s);
                fold(&format!("TRIGGER:-P{days}D"), &mut s);
                fold(&format!("DESCRIPTION:{}", ics_escape(&e.summary)), &mut s);
                fold("END:VALARM", &mut s);
            }
        }
        fold("END:VEVENT", &mut s);
    }
    fold("END:VCALENDAR", &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_utf8_and_limits_octets() {
        let long = format!("SUMMARY:{}", "åäö, ".repeat(40));
        let mut s = String::new();
        fold(&long, &mut s);
        for l in s.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = s.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, long);
        assert_eq!(ics_escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn csv_cells_are_defused() {
        assert_eq!(defuse("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(read_cell("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(read_cell("'quoted"), "'quoted");
        assert_eq!(esc("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
