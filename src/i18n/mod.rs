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

/// An OS error in words, without Rust's "(os error 2)": what happened to
/// the file, for a sentence that names the file before it and says what to
/// do after it.
pub fn io_problem(e: &std::io::Error, lang: Lang) -> String {
    use std::io::ErrorKind as K;
    let (sv, en) = match e.kind() {
        K::NotFound => ("finns inte", "does not exist"),
        K::PermissionDenied => ("får inte läsas eller skrivas av den här användaren", "may not be read or written by this user"),
        K::IsADirectory => ("är en katalog, inte en fil", "is a directory, not a file"),
        K::NotADirectory => ("ligger under något som inte är en katalog", "is under something that is not a directory"),
        K::AlreadyExists => ("finns redan", "already exists"),
        K::StorageFull => ("får inte plats: disken är full", "does not fit: the disk is full"),
        K::ReadOnlyFilesystem => ("ligger på en skrivskyddad disk", "is on a read-only disk"),
        K::InvalidData => ("är inte text (UTF-8)", "is not text (UTF-8)"),
        _ => return lang.pick("kunde inte läsas eller skrivas: ", "could not be read or written: ").to_string() + &without_os_code(e),
    };
    lang.pick(sv, en).to_string()
}

/// The OS's own message without the trailing "(os error N)".
fn without_os_code(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s.get(..i).unwrap_or(&s).to_string(),
        _ => s,
    }
}

/// The Swedish genitive of a name: "Stiftelsen Activas", but no extra s
/// after s, x or z ("Hans", "Max", "Schweiz") and a colon after an
/// abbreviation or a number ("Karlskoga Energi & Miljö AB:s", "PSI:s", "SC7:s").
pub fn genitive_sv(name: &str) -> String {
    let name = name.trim_end();
    let last_word = name.rsplit(|c: char| c.is_whitespace()).next().unwrap_or(name);
    let letters: Vec<char> = last_word.chars().filter(|c| c.is_alphanumeric()).collect();
    let abbreviation = !letters.is_empty() && letters.iter().all(|c| c.is_uppercase() || c.is_ascii_digit());
    let ends_in_digit = last_word.chars().last().is_some_and(|c| c.is_ascii_digit());
    match name.chars().last() {
        None => String::new(),
        Some(_) if abbreviation || ends_in_digit => format!("{name}:s"),
        Some('s' | 'x' | 'z') => name.to_string(),
        Some(_) => format!("{name}s"),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn swedish_genitive_after_s_x_z_and_abbreviations() {
        for (name, want) in [
            ("Stiftelsen Activa", "Stiftelsen Activas"),
            ("Röda Korset Örebro", "Röda Korset Örebros"),
            ("Karlskoga Energi & Miljö AB", "Karlskoga Energi & Miljö AB:s"),
            ("PSI", "PSI:s"),
            ("PSI Örebro län", "PSI Örebro läns"),
            ("Hallsbergs kommun", "Hallsbergs kommuns"),
            ("Hans", "Hans"),
            ("Region Västmanlands Fritidsgårdars", "Region Västmanlands Fritidsgårdars"),
            ("Max", "Max"),
            ("Schweiz", "Schweiz"),
            ("Agenda 2030", "Agenda 2030:s"),
            ("ABF Örebro län ", "ABF Örebro läns"),
            ("", ""),
        ] {
            assert_eq!(genitive_sv(name), want, "{name:?}");
        }
    }

    #[test]
    fn io_errors_in_words_without_os_codes() {
        let missing = std::fs::read("/nonexistent/psi-radar.toml").unwrap_err();
        assert_eq!(io_problem(&missing, Lang::Sv), "finns inte");
        assert_eq!(io_problem(&missing, Lang::En), "does not exist");
        let dir = std::fs::read_to_string(env!("CARGO_MANIFEST_DIR")).unwrap_err();
        assert_eq!(io_problem(&dir, Lang::Sv), "är en katalog, inte en fil");
        let other = std::io::Error::from_raw_os_error(5);
        let text = io_problem(&other, Lang::Sv);
        assert!(text.starts_with("kunde inte läsas eller skrivas: ") && !text.contains("os error"), "{text}");
    }
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
