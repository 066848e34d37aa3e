//! Spreadsheet safety for every CSV the program writes and reads (members
//! export and import, the application register): a cell that a spreadsheet
//! would run as a formula is written with a leading `'`, and reading undoes
//! exactly that, so text survives a round trip and never comes back live.
//! Pure functions over `&str`, below every other layer.

use std::borrow::Cow;

/// Characters that make Excel, LibreOffice or Google Sheets treat a cell as
/// a formula (or, for tab and CR, smuggle one in after them).
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `s` must be written with a leading `'`: it starts with a formula
/// character once leading blanks are skipped (spreadsheets trim them), or it
/// already starts with a `'` that reading would otherwise take for ours.
fn needs_guard(s: &str) -> bool {
    if s.starts_with(TRIGGERS) {
        return true;
    }
    let t = s.trim_start();
    if t.starts_with(TRIGGERS) {
        return true;
    }
    match t.strip_prefix('\'') {
        Some(rest) => needs_guard(rest),
        None => false,
    }
}

/// The cell as written: a leading `'` when a spreadsheet would run it
/// (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`, `-2+3`, ` =1+1`, a leading tab or CR).
pub fn guard(s: &str) -> Cow<'_, str> {
    if needs_guard(s) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

/// The text of a cell written by [`guard`]: its `'` removed, nothing else.
/// `unguard(&guard(s)) == s` for every `s`.
pub fn unguard(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => s,
    }
}

/// A cell read from a file people edit: the guard removed, and surrounding
/// blanks trimmed — except blanks in front of a formula character, which
/// are the text's own (`" =1+1"` stays `" =1+1"`, so it is written back
/// guarded and never turns into the formula `=1+1`).
pub fn read_cell(s: &str) -> &str {
    let s = unguard(s).trim_end();
    let trimmed = s.trim_start();
    if trimmed.len() != s.len() && needs_guard(trimmed) { s } else { trimmed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_guarded_and_text_is_not() {
        for (s, want) in [
            ("=HYPERLINK(\"http://evil\",\"klicka\")", "'=HYPERLINK(\"http://evil\",\"klicka\")"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("-2+3", "'-2+3"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            (" =1+1", "' =1+1"),
            ("'=1+1", "''=1+1"),
            ("Stiftelsen Activa", "Stiftelsen Activa"),
            ("'citat'", "'citat'"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(guard(s), want, "{s:?}");
        }
    }

    #[test]
    fn reading_undoes_exactly_the_guard() {
        for s in ["=1+1", " =1+1", "'=1+1", "''=1", "'plain", "plain", "-", "'", "''", " '-x", "\t", "@"] {
            assert_eq!(unguard(&guard(s)), s, "{s:?}");
            let g = guard(s);
            assert!(!g.trim_start().starts_with(TRIGGERS) && !g.starts_with(TRIGGERS), "{s:?} written as {g:?}");
        }
        assert_eq!(unguard("'quoted"), "'quoted");
    }

    #[test]
    fn read_cell_trims_but_keeps_blanks_before_a_formula() {
        assert_eq!(read_cell("  Anna Ek "), "Anna Ek");
        assert_eq!(read_cell(" =1+1"), " =1+1");
        assert_eq!(read_cell("' =1+1"), " =1+1");
        assert_eq!(read_cell("'=1+1"), "=1+1");
        assert_eq!(read_cell(" '=x"), " '=x");
        assert_eq!(guard(read_cell(" =1+1")), "' =1+1");
    }
}
