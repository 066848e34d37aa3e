//! Normalize → merge: how readings of one call combine, as plain functions
//! over `Call` values (the ingest in `jobs::ingest` applies them inside its
//! transaction): a newer reading keeps what it lacks from the stored call,
//! a second source's reading adds its language, and a call is rebuilt from
//! the listings it keeps after a split.

use crate::domain::{Call, Translation};

/// A newer reading that lacks a field (a Vinnova round listed without its
/// call, a feed item without text) keeps what the stored call has.
pub fn keep_missing(mut new: Call, old: &Call) -> Call {
    if new.text.is_empty() {
        new.text = old.text.clone();
    }
    if new.summary.is_empty() {
        new.summary = old.summary.clone();
    }
    if new.translations.is_empty() {
        new.translations = old.translations.clone();
    }
    new.programme = new.programme.or_else(|| old.programme.clone());
    new.budget = new.budget.or_else(|| old.budget.clone());
    new.eligibility = new.eligibility.or_else(|| old.eligibility.clone());
    new.opens = new.opens.or(old.opens);
    new
}

/// A second source's reading of a call in another language becomes the
/// call's translation (so classification and AU see both); a call with no
/// deadline takes the second source's. True when the call changed.
pub fn absorb(call: &mut Call, other: &Call) -> bool {
    let mut touched = false;
    if other.lang != call.lang && !other.title.trim().is_empty() {
        let text = if other.text.is_empty() { other.summary.clone() } else { other.text.clone() };
        match call.translations.iter_mut().find(|t| t.lang == other.lang) {
            Some(t) if t.title == other.title && (t.text == text || text.is_empty()) => {}
            Some(t) => {
                t.title = other.title.clone();
                if !text.is_empty() {
                    t.text = text;
                }
                touched = true;
            }
            None => {
                call.translations.push(Translation { lang: other.lang, title: other.title.clone(), text });
                touched = true;
            }
        }
    }
    if call.deadlines.is_empty() && !other.deadlines.is_empty() {
        call.deadlines = other.deadlines.clone();
        touched = true;
    }
    touched
}

/// A call read again from the readings of the listings it keeps after a
/// split (oldest first): the oldest is its content (with what earlier
/// readings of that same listing gave, unless the one split out was the
/// primary), the others add their language.
pub fn rebuild(readings: impl IntoIterator<Item = Call>, old: &Call, primary_moved: bool) -> Call {
    let mut readings = readings.into_iter();
    let Some(mut call) = readings.next() else { return old.clone() };
    if !primary_moved {
        let own_translations = call.translations.clone();
        call = keep_missing(call, old);
        call.translations = own_translations;
    }
    for other in readings {
        absorb(&mut call, &other);
    }
    call
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Lang, RawCall};
    use chrono::TimeZone;

    fn call(title: &str, lang: Lang, text: &str) -> Call {
        let raw = RawCall { title: title.into(), lang: Some(lang), text: Some(text.into()), ..RawCall::default() };
        super::super::normalize(&raw, "Vinnova", chrono::Utc.with_ymd_and_hms(2026, 1, 10, 8, 0, 0).unwrap())
    }

    #[test]
    fn another_language_becomes_a_translation_once() {
        let mut sv = call("Social innovation för inkludering", Lang::Sv, "Svensk text.");
        let en = call("Social innovation for inclusion", Lang::En, "English text.");
        assert!(absorb(&mut sv, &en));
        assert!(!absorb(&mut sv, &en), "the same reading again changes nothing");
        assert_eq!((sv.translations.len(), sv.translations[0].text.as_str()), (1, "English text."));
        assert!(!absorb(&mut sv, &call("Annan titel", Lang::Sv, "")), "the call's own language is never a translation");
    }

    #[test]
    fn a_reading_without_text_keeps_the_old_text() {
        let old = call("A", Lang::Sv, "Hela beskrivningen.");
        assert_eq!(keep_missing(call("A", Lang::Sv, ""), &old).text, "Hela beskrivningen.");
        assert_eq!(keep_missing(call("A", Lang::Sv, "Ny."), &old).text, "Ny.");
    }
}
