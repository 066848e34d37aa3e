//! User-facing words shared by every stage: dates, day counts and plurals in
//! Swedish (default) and English.

use crate::domain::Lang;
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

pub mod rules;

const MONTHS_SV: [&str; 12] =
    ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"];
const MONTHS_EN: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/// "15 mars 2026" / "15 March 2026".
pub fn date(d: NaiveDate, lang: Lang) -> String {
    let m = d.month0() as usize;
    match lang {
        Lang::Sv => format!("{} {} {}", d.day(), MONTHS_SV[m], d.year()),
        Lang::En => format!("{} {} {}", d.day(), MONTHS_EN[m], d.year()),
    }
}

/// "15 mars 2026 kl. 17.00" in `tz`; the time is left out when `date_only`.
pub fn instant(t: DateTime<Utc>, tz: Tz, date_only: bool, lang: Lang) -> String {
    let l = t.with_timezone(&tz);
    let d = date(l.date_naive(), lang);
    if date_only {
        return d;
    }
    let zone =
        if tz == chrono_tz::Europe::Stockholm { String::new() } else { format!(" ({})", tz.name().rsplit('/').next().unwrap_or("")) };
    match lang {
        Lang::Sv => format!("{d} kl. {:02}.{:02}{zone}", l.hour(), l.minute()),
        Lang::En => format!("{d} at {:02}:{:02}{zone}", l.hour(), l.minute()),
    }
}

/// Whole days from `today` to `day`, in words: "i dag", "i morgon", "om 12 dagar", "för 3 dagar sedan".
pub fn days_left(today: NaiveDate, day: NaiveDate, lang: Lang) -> String {
    let n = (day - today).num_days();
    match (lang, n) {
        (Lang::Sv, 0) => "i dag".into(),
        (Lang::Sv, 1) => "i morgon".into(),
        (Lang::Sv, n) if n > 1 => format!("om {n} dagar"),
        (Lang::Sv, -1) => "i går".into(),
        (Lang::Sv, n) => format!("för {} dagar sedan", -n),
        (Lang::En, 0) => "today".into(),
        (Lang::En, 1) => "tomorrow".into(),
        (Lang::En, n) if n > 1 => format!("in {n} days"),
        (Lang::En, -1) => "yesterday".into(),
        (Lang::En, n) => format!("{} days ago", -n),
    }
}

/// "1 ny utlysning" / "7 nya utlysningar".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_dates_and_days() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        assert_eq!(date(d, Lang::Sv), "15 mars 2026");
        assert_eq!(date(d, Lang::En), "15 March 2026");
        let t = DateTime::parse_from_rfc3339("2026-03-15T16:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(instant(t, chrono_tz::Europe::Brussels, false, Lang::Sv), "15 mars 2026 kl. 17.00 (Brussels)");
        assert_eq!(instant(t, chrono_tz::Europe::Stockholm, false, Lang::Sv), "15 mars 2026 kl. 17.00");
        assert_eq!(days_left(d, d, Lang::Sv), "i dag");
        assert_eq!(days_left(d, d + chrono::Duration::days(23), Lang::Sv), "om 23 dagar");
        assert_eq!(count(1, "ny utlysning", "nya utlysningar"), "1 ny utlysning");
    }
}
