//! Quote and signature stripping: keep only what the member wrote now.
//!
//! Cuts at the first marker of quoted history or signature:
//! - Outlook header blocks, Swedish and English (`Från:` … `Skickat:` /
//!   `From:` … `Sent:`, with `Till:`/`To:`/`Ämne:`/`Subject:`), and the
//!   Danish, Norwegian and German variants;
//! - `-----Ursprungligt meddelande-----`, `-----Original Message-----` and
//!   other dashed separators, and Outlook's `________________` rule;
//! - attribution lines (`Den … skrev:`, `On … wrote:`, also wrapped over
//!   two or three lines): if `>` quoting follows, only the attribution is
//!   dropped, so that answers written below or between quotes are kept;
//! - signatures: `-- `, sign-offs (`Med vänliga hälsningar`, `Mvh`, `Best
//!   regards` …), mobile footers (`Skickat från min iPhone`, `Sent from my
//!   iPhone`, `Hämta Outlook för iOS`, `Get Outlook for Android` …).
//!
//! - psi-radar's own words: a line of our notification, reminder,
//!   confirmation, ask-back or digest text ([`OWN_PHRASES`], a digest's
//!   `== … ==` heading, a call card's `Funder | Sista dag: …` line) starts
//!   the quoted original even when the reader's program quoted it without
//!   `>` markers or a header block, so that our own example line
//!   «PSI-0042: ja, partner» is never read as an answer. A call card's
//!   reference and title lines just above such a line go with it.
//!
//! `>` quoted lines are dropped wherever they stand.

use super::grammar::{find_refs, fold};

/// Lines read at most: a reply's new text is short.
const MAX_LINES: usize = 2000;

const HEADER_START: &[&str] = &["from", "fran", "fra", "von", "de"];
const HEADER_KEYS: &[&str] = &[
    "from",
    "fran",
    "fra",
    "von",
    "sent",
    "skickat",
    "skickades",
    "datum",
    "date",
    "dato",
    "gesendet",
    "to",
    "till",
    "til",
    "an",
    "subject",
    "amne",
    "emne",
    "betreff",
    "cc",
    "kopia",
    "kopi",
];
const ATTRIBUTION_VERBS: &[&str] = &["skrev", "wrote", "kirjoitti", "schrieb", "ecrit", "escribio", "scrisse"];
const SIGN_OFFS: &[&str] = &[
    "med vanlig halsning",
    "med vanliga halsningar",
    "med vanliga halsning",
    "vanliga halsningar",
    "vanlig halsning",
    "basta halsningar",
    "manga halsningar",
    "varma halsningar",
    "halsningar",
    "halsning",
    "mvh",
    "m v h",
    "vh",
    "best regards",
    "kind regards",
    "warm regards",
    "regards",
    "best wishes",
    "cheers",
    "allt gott",
];
const MOBILE: &[&str] =
    &["skickat fran ", "skickades fran ", "sent from ", "get outlook for", "hamta outlook for", "hamta outlook pa", "download outlook for"];

/// Phrases (folded, punctuation as spaces) that only our own mail says:
/// the templates in `src/mail/templates/` and the words in `mail::notify`
/// and `mail::digest`. `tests/it/mail_reply.rs` renders every kind of our
/// mail and checks that each is cut here, so a changed wording is caught.
pub(super) const OWN_PHRASES: &[&str] = &[
    // member notification
    "ny utlysning som kan passa er",
    "bevakar utlysningar at sina medlemmar",
    "vill ni vara med i en gemensam ansokan",
    "svara pa det har mejlet med en kort rad",
    "ni vill vara med som partner",
    "ni kan leda ansokan",
    "ni staller upp i referensgruppen",
    "skriv garna en kommentar pa samma rad",
    "flera utlysningar i samma svar",
    "svara stopp om du inte vill",
    "du far det har mejlet som kontaktperson for",
    "new call that may fit you",
    "watches funding calls for its members",
    "would you like to join a joint application",
    "reply to this e mail with one short line",
    "you would like to join as a partner",
    "you can lead the application",
    "you join the reference group",
    "add a comment on the same line if you like",
    "several calls in one reply",
    "to receive no more of these e mails",
    "you receive this e mail as the contact for",
    // reminder
    "ni har anmalt intresse for den har utlysningen",
    "paminnelse till au om en utlysning",
    "you declared interest in this call",
    "a reminder to au about a call",
    // confirmation
    "svara pa det har mejlet med ratt besked",
    "reply to this e mail with the right answer",
    // ask-back
    "vilken utlysning galler ditt svar",
    "vilka utlysningar galler ditt svar",
    "which call is your answer about",
    "which calls is your answer about",
    "kopiera raden for den utlysning",
    "copy the line for the call",
    // digest
    "svara pa det har mejlet for att styra bevakningen",
    "reply to this e mail to steer the watch",
    "inga nya eller andrade utlysningar denna vecka",
    "no new or changed calls this week",
];
/// Lines of our own mail that are whole short phrases (too common inside a
/// sentence: a member may well thank us "för ditt svar").
const OWN_LINES: &[&str] =
    &["sa svarar du", "how to answer", "vi har noterat", "we have recorded", "tack for ditt svar", "thank you for your answer"];
/// Title lines of our own mail that open with a number: "3 nya utlysningar
/// som kan passa er", "14 dagar kvar till sista ansökningsdag".
const OWN_COUNTED_LINES: &[&str] = &[
    "nya utlysningar som kan passa er",
    "new calls that may fit you",
    "dagar kvar till sista ansokningsdag",
    "days to the deadline",
    "dag kvar till sista ansokningsdag",
    "day to the deadline",
];

/// The words of a line: folded, every run of other characters one space, padded with spaces.
fn words(line: &str) -> String {
    let mut out = String::from(" ");
    for c in fold(line).chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// A line of our own mail, quoted without markers.
fn own_line(line: &str) -> bool {
    let w = words(line);
    let t = line.trim();
    OWN_PHRASES.iter().any(|p| w.contains(&format!(" {p} ")))
        || OWN_LINES.iter().any(|p| w.trim() == *p)
        || counted_line(&w)
        || digest_lead(&w)
        || (t.len() > 4 && t.starts_with("== ") && t.ends_with(" =="))
        || w.starts_with(" veckobrev vecka ")
        || w.starts_with(" weekly digest week ")
        || card_detail(line)
}

/// "<n> <phrase>" of [`OWN_COUNTED_LINES`], the whole line.
fn counted_line(w: &str) -> bool {
    let t = w.trim();
    let rest = t.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.len() < t.len() && OWN_COUNTED_LINES.iter().any(|p| rest.trim_start() == *p)
}

/// The digest's lead: "2 nya utlysningar, 0 ändrade och 1 deadline inom 30 dagar."
fn digest_lead(w: &str) -> bool {
    let t = w.trim();
    t.starts_with(|c: char| c.is_ascii_digit())
        && (t.contains(" utlysning") || t.contains(" call"))
        && (t.ends_with(" inom 30 dagar") || t.ends_with(" within 30 days"))
}

/// A call card's second line: `Vinnova | Sista dag: 15 mars 2026` (text) or
/// `Vinnova · Sista dag: …` (HTML).
fn card_detail(line: &str) -> bool {
    let f = fold(line);
    ["| sista dag:", "· sista dag:", "| deadline:", "· deadline:"].iter().any(|m| f.contains(m))
}

/// How many of the kept lines above a card detail line belong to the card:
/// its reference line (text: `PSI-0042 Titel`; HTML: `PSI-0042`, then the title).
fn card_head(kept: &[&str]) -> usize {
    let starts_with_ref = |l: &&str| find_refs(l).first().is_some_and(|r| l.get(..r.0).is_some_and(|p| p.trim().is_empty()));
    let n = kept.len();
    match (n.checked_sub(1).and_then(|i| kept.get(i)), n.checked_sub(2).and_then(|i| kept.get(i))) {
        (Some(l), _) if starts_with_ref(l) => 1,
        (_, Some(l)) if starts_with_ref(l) => 2,
        _ => 0,
    }
}

/// The header key of a line such as `Från: Anna` or `*From:* Anna`.
fn header_key(line: &str) -> Option<String> {
    let l = line.trim().trim_start_matches(['*', ' ']);
    let (key, _) = l.split_once(':')?;
    let key = fold(key.trim_end_matches(['*', ' ']));
    HEADER_KEYS.contains(&key.as_str()).then_some(key)
}

/// Does an Outlook-style header block start at line `i`?
fn header_block(lines: &[&str], i: usize) -> bool {
    let Some(key) = lines.get(i).and_then(|l| header_key(l)) else { return false };
    if !HEADER_START.contains(&key.as_str()) && key != "skickat" && key != "sent" {
        return false;
    }
    lines.iter().skip(i + 1).filter(|l| !l.trim().is_empty()).take(4).any(|l| header_key(l).is_some_and(|k| k != key))
}

fn dashed_separator(line: &str) -> bool {
    let t = line.trim();
    let inner = t.trim_matches(|c: char| c == '-' || c == '–' || c == ' ');
    (t.starts_with("--") && t.len() >= 10 && !inner.is_empty() && inner.chars().all(|c| c.is_alphabetic() || c == ' '))
        || (t.len() >= 10 && t.chars().all(|c| c == '_'))
}

fn signature_line(line: &str) -> bool {
    let t = line.trim_end();
    if t == "--" || t == "-- " || line == "-- " {
        return true;
    }
    let f = fold(line.trim());
    let bare = f.trim_end_matches(|c: char| !c.is_alphanumeric());
    if f.len() < 100 && MOBILE.iter().any(|m| f.starts_with(m)) {
        return true;
    }
    if bare == "best" || bare.split_whitespace().count() > 8 {
        return false;
    }
    // "Mit freundlichen Grüßen / Best regards": any part may be the sign-off.
    bare.split('/')
        .map(str::trim)
        .any(|part| SIGN_OFFS.iter().any(|s| part == *s || part.strip_prefix(s).is_some_and(|rest| rest.starts_with([' ', ',', '!', '.']))))
}

/// How many lines (1 to 3) an attribution starting at `i` spans, if any.
fn attribution(lines: &[&str], i: usize) -> Option<usize> {
    let first = fold(lines.get(i)?);
    if !first.chars().any(|c| c.is_ascii_digit()) && !first.split(|c: char| !c.is_alphanumeric()).any(|w| ATTRIBUTION_VERBS.contains(&w)) {
        return None;
    }
    let mut joined = String::new();
    for n in 0..3 {
        let line = lines.get(i + n)?;
        if n > 0 && line.trim().is_empty() {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if joined.len() > 400 {
            return None;
        }
        if joined.ends_with(':') {
            let f = fold(&joined);
            let has_verb = f.split(|c: char| !c.is_alphanumeric()).any(|w| ATTRIBUTION_VERBS.contains(&w));
            let has_detail = f.chars().any(|c| c.is_ascii_digit() || c == '@');
            return (has_verb && has_detail).then_some(n + 1);
        }
    }
    None
}

fn quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The new text of a reply body.
pub(super) fn new_text(body: &str) -> String {
    let body = body
        .replace("\r\n", "\n")
        .replace(['\r'], "\n")
        .replace(['\u{a0}', '\u{2007}', '\u{202f}'], " ")
        .replace(['\u{200b}', '\u{feff}'], "");
    let lines: Vec<&str> = body.lines().take(MAX_LINES).collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(line) = lines.get(i) else { break };
        if quoted(line) {
            i += 1;
            continue;
        }
        if let Some(n) = attribution(&lines, i) {
            let next = lines.iter().skip(i + n).find(|l| !l.trim().is_empty());
            if next.is_some_and(|l| quoted(l)) {
                i += n;
                continue;
            }
            break;
        }
        if own_line(line) {
            if card_detail(line) {
                kept.truncate(kept.len() - card_head(&kept));
            }
            break;
        }
        if header_block(&lines, i) || dashed_separator(line) || signature_line(line) {
            break;
        }
        kept.push(line.trim_end());
        i += 1;
    }
    let mut out = String::new();
    let mut blank = false;
    for l in kept {
        if l.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(l);
        out.push('\n');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!("{}/fixtures/mail/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn swedish_outlook_block() {
        let t = "Ja, som partner!\nFrån: PSI-radar [mailto:psi@psi.example.org]\nSkickat: den 26 augusti 2025 14:45\nTill: Anna\nÄmne: [PSI-0042] Ny utlysning\n\nSvara ja eller nej";
        assert_eq!(new_text(t), "Ja, som partner!");
    }

    #[test]
    fn gmail_attribution_top_and_bottom_posting() {
        let top = "Nej tack\n\nDen tis 3 mars 2026 kl 10:12 skrev PSI-radar <\npsi@psi.example.org>:\n\n> Ja eller nej?\n> PSI-0042";
        assert_eq!(new_text(top), "Nej tack");
        let bottom =
            "On Tue, Mar 3, 2026 at 10:12 AM PSI-radar <psi@psi.example.org> wrote:\n> Ja eller nej?\n\nYes, as a partner.\n\n-- \nAnna";
        assert_eq!(new_text(bottom), "Yes, as a partner.");
    }

    #[test]
    fn signatures_and_mobile_footers() {
        assert_eq!(new_text("Ja, partner\n\nMed vänliga hälsningar\nAnna Svensson\nActiva"), "Ja, partner");
        assert_eq!(new_text("Ja\nMvh Anna"), "Ja");
        assert_eq!(new_text("Kanske\n\nSkickat från min iPhone\n\n> 3 mars 2026 kl. 10:12 skrev PSI:"), "Kanske");
        assert_eq!(new_text("Nej\n-----Ursprungligt meddelande-----\nFrån: x"), "Nej");
        assert_eq!(new_text("Yes\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: PSI"), "Yes");
    }

    #[test]
    fn our_own_mail_quoted_without_markers_is_cut() {
        let note = "Nej tack\n\n3 nya utlysningar som kan passa er\nHej! PSI bevakar utlysningar åt sina medlemmar.\n\nPSI-0042 Unga delta i arbetslivet\n  ESF | Sista dag: 3 maj 2026\n\nSå svarar du\n  Flera utlysningar i samma svar: en rad per utlysning, t.ex. «PSI-0042: ja, partner».";
        assert_eq!(new_text(note), "Nej tack");
        let card_first = "Ja, partner\n\nPSI-0042 Unga delta i arbetslivet\n  ESF | Sista dag: 3 maj 2026 (om 20 dagar)";
        assert_eq!(new_text(card_first), "Ja, partner");
        let html_card = "Kanske\nPSI Örebro län\nPSI-0042\nUnga delta i arbetslivet\nESF · Sista dag: 3 maj 2026";
        assert_eq!(new_text(html_card), "Kanske\nPSI Örebro län");
        let digest = "PSI-0042: ej aktuell\nVeckobrev vecka 10\n== Bevakade utlysningar ==\nPSI-0043 Titel";
        assert_eq!(new_text(digest), "PSI-0042: ej aktuell");
        // A member's own sentence that happens to share a word is kept.
        assert_eq!(new_text("Ja! Så svarar du på frågan om budget: vi har den."), "Ja! Så svarar du på frågan om budget: vi har den.");
        assert_eq!(new_text("Tack för ditt svar! Vi ändrar oss: nej."), "Tack för ditt svar! Vi ändrar oss: nej.");
        assert_eq!(new_text("Yes, but only 14 days to the deadline"), "Yes, but only 14 days to the deadline");
        assert_eq!(new_text("Nej\n14 dagar kvar till sista ansökningsdag\nPSI-0042"), "Nej");
        assert_eq!(new_text("Nej\n2 nya utlysningar, 0 ändrade och 1 deadline inom 30 dagar.\nPSI-0042"), "Nej");
    }

    #[test]
    fn real_samples() {
        for (name, want) in [
            ("talon_swedish_outlook_from_block.txt", "Allo! Follow up MIME!"),
            ("talon_swedish_gmail_skrev_line.txt", "Lorem"),
            ("talon_norwegian_skrev_line.txt", "Lorem"),
            ("willdurand_email_w10_mail.txt", "Great thanks Bort, going for a test now.\nBraxton"),
        ] {
            assert_eq!(new_text(&sample(name)), want, "{name}");
        }
        for name in [
            "crisp_email_danish_dash_separator.txt",
            "crisp_email_finnish.txt",
            "crisp_email_german_outlook.txt",
            "crisp_email_ios_outlook.txt",
            "crisp_email_norwegian_gmail.txt",
        ] {
            let t = new_text(&sample(name));
            assert!(t.starts_with("Fusce") && t.ends_with("nibh."), "{name}: {t}");
        }
    }
}
