//! The reply grammar: the phrase table that turns the new text of a reply
//! into answers (intent, role, comment per call) and commands (STOPP,
//! dismiss, watch). Swedish and English, case- and accent-tolerant.
//!
//! How a reply is read:
//! - The text is split into lines. A line that starts with a call reference
//!   (`PSI-0042: ja, partner`) answers that call; a line naming a reference
//!   mid-sentence answers it too. A line holding only a reference answers
//!   that call with the lines below it. Lines before the first reference
//!   answer the *default* call (from the subject or In-Reply-To); once a
//!   reference line has been read, unreferenced lines after it are ignored.
//! - Each line is tokenised and matched against the phrase table (longest
//!   phrase first). A negator (`inte`, `ej`, `not`, `can't`, …) turns the
//!   yes-words and roles of the next three words of the same clause into
//!   "no" / "not that role": `inte intresserade` is no.
//! - A line that starts with an intent word is decided by it ("Nej, men
//!   gärna nästa gång" is no). Otherwise yes + maybe reads as maybe, no +
//!   maybe as no, and yes + no is a conflict: not understood, held for AU.
//! - Hesitation and conditions are never a yes. A "not now" phrase
//!   (`inte i år`, `inte möjlighet`, `ingen kapacitet`, `not this year`,
//!   `not this time` …) makes the block a **no** even after a "Ja"
//!   ("Ja men inte i år"); wanting to know more (`veta mer`, `mer
//!   information`, `know more`) makes a yes a **maybe**. The whole line is
//!   then the comment, so AU sees the member's own words.
//! - `gärna` alone is a yes only in a clause of answer words ("Gärna!",
//!   "Ja gärna", "gärna som partner"); "Vi vill gärna presentera vårt
//!   projekt" is other business, not an answer.
//! - A question ("Kan vi vara med som partner?") answers nothing: the words
//!   of a sentence ending in `?` are not read as intent or role, so the
//!   message goes to AU with its text; only a strong answer word set apart
//!   at its start counts ("Kanske, men det beror på om regionen är med?").
//! - Role: the one role named positively. Two different roles ("partner
//!   eller referensgrupp") give no role. A yes whose only role is a negated
//!   lead ("Intresserade men kan inte vara huvudsökande") reads as
//!   **partner**: the member excluded leading, and partner is the way of
//!   taking part that is left (a reference group is never implied); the
//!   words stay in the comment. A role without an intent word reads as yes
//!   ("Vi kan leda ansökan"). A no never carries a role.
//! - Comment: the text after the leading answer words of the line that gave
//!   the intent (`Ja, partner – vi har en projektledare` → `vi har en
//!   projektledare`), plus the block's later lines, without greetings and a
//!   bare name on the last line.
//! - `PSI-0042: ej aktuell` / `not relevant` / `bevaka` / `watch` on a
//!   reference line is a command (dismiss / watch) and no answer. These are
//!   meant for AU; the recorder should read a dismiss from anyone else as a
//!   "no" to that call.
//! - `STOPP` / `avregistrera` / `unsubscribe` on a short line (at most eight
//!   words) or as the subject is an unsubscribe command.
//! - `START` / `börja igen` / `resume` as a line of its own (or the subject)
//!   resumes mail after a STOPP; "start" inside a sentence ("Ja, start i
//!   mars") is not a command. A message with both keeps the STOPP.

use super::{Action, Answer};
use crate::domain::{CallRef, Intent, Role};

/// Lower-case and strip accents (å, ä → a; ö → o; é → e …) so that matching
/// is tolerant of case, accents and keyboards without Swedish letters.
pub(super) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let m = match c {
            'å' | 'ä' | 'à' | 'á' | 'â' | 'ã' | 'æ' => 'a',
            'ö' | 'ø' | 'ó' | 'ò' | 'ô' | 'õ' => 'o',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'ü' | 'ú' | 'ù' | 'û' => 'u',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ç' => 'c',
            'ñ' => 'n',
            'ý' | 'ÿ' => 'y',
            '’' | '‘' | '´' | '`' => '\'',
            c => c,
        };
        out.push(m);
    }
    out
}

/// What a word or phrase means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sig {
    Yes,
    /// "sure": yes, but "not sure" is maybe.
    Sure,
    No,
    /// "no": only a no as the first word of a line ("no partner yet" is not).
    NoFirst,
    Maybe,
    /// "vi återkommer": maybe when nothing else is said.
    WeakMaybe,
    /// "tyvärr": no when nothing else is said.
    Sorry,
    /// "inte i år", "not this time": a no that outweighs any yes on the line.
    NotNow,
    /// "veta mer", "know more": a yes becomes a maybe.
    MoreInfo,
    /// "gärna": a yes only in a clause of answer words.
    Gladly,
    Neg,
    Role(Role),
    Stop,
    /// A conjunction that ends a negation's scope and the answer head.
    Break,
    /// Words that may stand inside the answer head ("vi är med som partner").
    Filler,
    /// Words that may end the answer head ("tack", "ansökan").
    Closer,
}

use Sig::*;

const LEAD: Sig = Role(crate::domain::Role::Lead);
const PARTNER: Sig = Role(crate::domain::Role::Partner);
const REFERENCE: Sig = Role(crate::domain::Role::Reference);

/// The phrase table (folded words). Longest match wins at each position.
const PHRASES: &[(&[&str], Sig)] = &[
    // no
    (&["nej"], No),
    (&["nej", "tack"], No),
    (&["nope"], No),
    (&["no"], NoFirst),
    (&["no", "thanks"], No),
    (&["no", "thank", "you"], No),
    (&["inte", "denna", "gang"], NotNow),
    (&["inte", "den", "har", "gangen"], NotNow),
    (&["inte", "nu"], NotNow),
    (&["inte", "just", "nu"], NotNow),
    (&["inte", "i", "ar"], NotNow),
    (&["inte", "aktuellt"], No),
    (&["inte", "aktuell"], No),
    (&["ej", "aktuellt"], No),
    (&["ej", "aktuell"], No),
    (&["inte", "med"], No),
    (&["ej", "med"], No),
    (&["inte", "for", "oss"], No),
    (&["not", "this", "time"], NotNow),
    (&["not", "now"], NotNow),
    (&["not", "for", "us"], No),
    (&["not", "relevant"], No),
    (&["inte", "for", "tillfallet"], NotNow),
    (&["inte", "i", "nulaget"], NotNow),
    (&["inte", "lage"], NotNow),
    (&["inte", "mojlighet"], NotNow),
    (&["inte", "mojligt"], NotNow),
    (&["ingen", "mojlighet"], NotNow),
    (&["saknar", "mojlighet"], NotNow),
    (&["inte", "kapacitet"], NotNow),
    (&["ingen", "kapacitet"], NotNow),
    (&["saknar", "kapacitet"], NotNow),
    (&["inte", "resurser"], NotNow),
    (&["inga", "resurser"], NotNow),
    (&["saknar", "resurser"], NotNow),
    (&["inte", "tid"], NotNow),
    (&["ingen", "tid"], NotNow),
    (&["hinner", "inte"], NotNow),
    (&["inget", "intresse"], No),
    (&["not", "this", "year"], NotNow),
    (&["not", "right", "now"], NotNow),
    (&["not", "at", "the", "moment"], NotNow),
    (&["not", "at", "this", "time"], NotNow),
    (&["not", "possible"], NotNow),
    (&["not", "able"], NotNow),
    (&["unable"], NotNow),
    (&["no", "capacity"], NotNow),
    (&["no", "time"], NotNow),
    (&["no", "resources"], NotNow),
    (&["no", "interest"], No),
    (&["avstar"], No),
    (&["avbojer"], No),
    (&["decline"], No),
    (&["declines"], No),
    (&["we", "will", "pass"], No),
    (&["well", "pass"], No),
    (&["tyvarr"], Sorry),
    (&["unfortunately"], Sorry),
    (&["sorry"], Sorry),
    (&["beklagar"], Sorry),
    // maybe
    (&["kanske"], Maybe),
    (&["maybe"], Maybe),
    (&["perhaps"], Maybe),
    (&["possibly"], Maybe),
    (&["mojligen"], Maybe),
    (&["mojligtvis"], Maybe),
    (&["eventuellt"], Maybe),
    (&["osaker"], Maybe),
    (&["osakra"], Maybe),
    (&["tveksam"], Maybe),
    (&["tveksamma"], Maybe),
    (&["tveksamt"], Maybe),
    (&["unsure"], Maybe),
    (&["undecided"], Maybe),
    (&["vet", "inte"], Maybe),
    (&["vet", "ej"], Maybe),
    (&["not", "sure"], Maybe),
    (&["inte", "saker"], Maybe),
    (&["inte", "sakra"], Maybe),
    (&["veta", "mer"], MoreInfo),
    (&["hora", "mer"], MoreInfo),
    (&["lasa", "mer"], MoreInfo),
    (&["mer", "information"], MoreInfo),
    (&["mer", "info"], MoreInfo),
    (&["mera", "information"], MoreInfo),
    (&["mer", "detaljer"], MoreInfo),
    (&["know", "more"], MoreInfo),
    (&["hear", "more"], MoreInfo),
    (&["learn", "more"], MoreInfo),
    (&["more", "information"], MoreInfo),
    (&["more", "info"], MoreInfo),
    (&["more", "details"], MoreInfo),
    (&["funderar"], WeakMaybe),
    (&["aterkommer"], WeakMaybe),
    (&["get", "back"], WeakMaybe),
    // yes
    (&["ja"], Yes),
    (&["jaa"], Yes),
    (&["japp"], Yes),
    (&["jajamen"], Yes),
    (&["jo"], Yes),
    (&["yes"], Yes),
    (&["yep"], Yes),
    (&["yeah"], Yes),
    (&["yup"], Yes),
    (&["absolut"], Yes),
    (&["absolutely"], Yes),
    (&["sjalvklart"], Yes),
    (&["definitely"], Yes),
    (&["gladly"], Yes),
    (&["garna"], Gladly),
    (&["staller", "upp"], Yes),
    (&["staller", "garna", "upp"], Yes),
    (&["intresserad"], Yes),
    (&["intresserade"], Yes),
    (&["intresserat"], Yes),
    (&["interested"], Yes),
    (&["intresse"], Yes),
    (&["sure"], Sure),
    (&["of", "course"], Yes),
    (&["count", "us", "in"], Yes),
    (&["sign", "us", "up"], Yes),
    (&["we", "are", "in"], Yes),
    (&["ar", "med"], Yes),
    (&["vara", "med"], Yes),
    (&["hanger", "pa"], Yes),
    (&["happy", "to"], Yes),
    (&["glad", "to"], Yes),
    (&["delta"], Yes),
    (&["deltar"], Yes),
    (&["medverka"], Yes),
    (&["medverkar"], Yes),
    (&["join"], Yes),
    (&["participate"], Yes),
    (&["ansluter"], Yes),
    (&["anmaler"], Yes),
    // roles
    (&["lead"], LEAD),
    (&["leda"], LEAD),
    (&["leder"], LEAD),
    (&["lead", "applicant"], LEAD),
    (&["lead", "partner"], LEAD),
    (&["main", "applicant"], LEAD),
    (&["project", "owner"], LEAD),
    (&["huvudsokande"], LEAD),
    (&["huvudsokare"], LEAD),
    (&["huvudman"], LEAD),
    (&["projektagare"], LEAD),
    (&["projektagaren"], LEAD),
    (&["koordinator"], LEAD),
    (&["coordinator"], LEAD),
    (&["partner"], PARTNER),
    (&["partners"], PARTNER),
    (&["partnern"], PARTNER),
    (&["samarbetspartner"], PARTNER),
    (&["medsokande"], PARTNER),
    (&["medsokare"], PARTNER),
    (&["deltagare"], PARTNER),
    (&["co", "applicant"], PARTNER),
    (&["coapplicant"], PARTNER),
    (&["participant"], PARTNER),
    (&["referensgrupp"], REFERENCE),
    (&["referensgruppen"], REFERENCE),
    (&["referensgruppsmedlem"], REFERENCE),
    (&["referens"], REFERENCE),
    (&["reference"], REFERENCE),
    (&["reference", "group"], REFERENCE),
    (&["advisory", "board"], REFERENCE),
    (&["advisory", "group"], REFERENCE),
    // negators
    (&["inte"], Neg),
    (&["ej"], Neg),
    (&["icke"], Neg),
    (&["aldrig"], Neg),
    (&["not"], Neg),
    (&["never"], Neg),
    (&["cannot"], Neg),
    (&["cant"], Neg),
    (&["dont"], Neg),
    (&["wont"], Neg),
    (&["isnt"], Neg),
    (&["arent"], Neg),
    (&["wouldnt"], Neg),
    (&["couldnt"], Neg),
    (&["doesnt"], Neg),
    // unsubscribe
    (&["stopp"], Stop),
    (&["stop"], Stop),
    (&["stoppa"], Stop),
    (&["avregistrera"], Stop),
    (&["avregistrering"], Stop),
    (&["unsubscribe"], Stop),
    (&["avsluta", "prenumeration"], Stop),
    (&["avsluta", "prenumerationen"], Stop),
    (&["remove", "me"], Stop),
    (&["ta", "bort", "mig"], Stop),
    // clause breaks
    (&["men"], Break),
    (&["but"], Break),
    (&["och"], Break),
    (&["and"], Break),
    (&["eller"], Break),
    (&["or"], Break),
    (&["utan"], Break),
    (&["however"], Break),
    (&["dock"], Break),
    // head words
    (&["vi"], Filler),
    (&["we"], Filler),
    (&["were"], Filler),
    (&["re"], Filler),
    (&["ar"], Filler),
    (&["are"], Filler),
    (&["am"], Filler),
    (&["i"], Filler),
    (&["im"], Filler),
    (&["som"], Filler),
    (&["as"], Filler),
    (&["a"], Filler),
    (&["en"], Filler),
    (&["ett"], Filler),
    (&["the"], Filler),
    (&["med"], Filler),
    (&["oss"], Filler),
    (&["us"], Filler),
    (&["be"], Filler),
    (&["vara"], Filler),
    (&["to"], Filler),
    (&["att"], Filler),
    (&["vill"], Filler),
    (&["would"], Filler),
    (&["like"], Filler),
    (&["love"], Filler),
    (&["wed"], Filler),
    (&["happy"], Filler),
    (&["glad"], Filler),
    (&["glada"], Filler),
    (&["mycket"], Filler),
    (&["very"], Filler),
    (&["sa"], Filler),
    (&["so"], Filler),
    (&["also"], Filler),
    (&["ocksa"], Filler),
    (&["too"], Filler),
    (&["kan"], Filler),
    (&["can"], Filler),
    (&["will"], Filler),
    (&["hej"], Filler),
    (&["hejsan"], Filler),
    (&["hi"], Filler),
    (&["hello"], Filler),
    (&["tack"], Closer),
    (&["please"], Closer),
    (&["thanks"], Closer),
    (&["thank"], Closer),
    (&["you"], Closer),
    (&["ansokan"], Closer),
    (&["ansokningen"], Closer),
    (&["application"], Closer),
];

/// Answer words that decide a line when they open it.
const STRONG: &[&str] = &[
    "ja",
    "jaa",
    "japp",
    "jajamen",
    "jo",
    "yes",
    "yep",
    "yeah",
    "yup",
    "absolut",
    "absolutely",
    "nej",
    "nope",
    "no",
    "kanske",
    "maybe",
    "perhaps",
    "sure",
];

/// Words that can only be a greeting when they open a short line.
const GREETINGS: &[&str] =
    &["hej", "hejsan", "hallo", "hello", "hi", "hey", "dear", "kara", "tjena", "god", "goddag", "godmorgon", "basta"];

const DISMISS: &[&[&str]] = &[
    &["ej", "aktuell"],
    &["ej", "aktuellt"],
    &["inte", "aktuell"],
    &["inte", "aktuellt"],
    &["not", "relevant"],
    &["ej", "relevant"],
    &["inte", "relevant"],
    &["irrelevant"],
    &["dismiss"],
];
const WATCH: &[&[&str]] = &[&["bevaka"], &["bevakas"], &["bevakning"], &["watch"]];

/// Lines (folded words) that resume mail after a STOPP.
const RESUME: &[&str] =
    &["start", "starta", "borja igen", "starta igen", "borja om", "resume", "restart", "subscribe", "prenumerera", "prenumerera igen"];

/// The line (or subject, without `SV:`/`Re:`) is exactly a resume command.
fn is_resume(line: &str) -> bool {
    let toks = tokenize(line);
    let words: Vec<&str> = toks
        .iter()
        .map(|t| t.folded.as_str())
        .filter(|w| !matches!(*w, "re" | "sv" | "aw" | "vs" | "fw" | "fwd" | "vb" | "tack" | "thanks" | "please" | "garna"))
        .collect();
    RESUME.contains(&words.join(" ").as_str())
}

/// How many words after a negator it reaches.
const NEG_SCOPE: u8 = 3;
/// Longest line (in words) read as an unsubscribe command.
const STOP_MAX_WORDS: usize = 8;

/// One word of a line: its folded form and where it sits in the line.
#[derive(Debug)]
struct Tok {
    folded: String,
    start: usize,
    end: usize,
    /// A clause break (punctuation) stands between this word and the one before.
    brk: bool,
    /// The word stands in a sentence that ends with `?`.
    question: bool,
}

fn tokenize(line: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    let mut brk = false;
    let mut prev: Option<char> = None;
    let mut it = line.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let next = it.peek().map(|&(_, n)| n);
        let apostrophe = matches!(c, '\'' | '’') && prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric);
        if c.is_alphanumeric() || apostrophe {
            let entry = cur.get_or_insert_with(|| (i, String::new()));
            if !apostrophe {
                entry.1.push(c);
            }
        } else {
            if let Some((start, word)) = cur.take() {
                toks.push(Tok { folded: fold(&word), start, end: i, brk, question: false });
                brk = false;
            }
            let hyphen_in_word = c == '-' && prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric);
            if !c.is_whitespace() && !hyphen_in_word {
                brk = true;
            }
        }
        prev = Some(c);
    }
    if let Some((start, word)) = cur.take() {
        toks.push(Tok { folded: fold(&word), start, end: line.len(), brk, question: false });
    }
    mark_questions(line, &mut toks);
    toks
}

/// Mark the words of sentences that end with `?` (the sentence ends at the
/// first `.`, `!` or `?` after the word, or at the end of the line).
fn mark_questions(line: &str, toks: &mut [Tok]) {
    let ends: Vec<(usize, char)> = line.char_indices().filter(|(_, c)| matches!(c, '.' | '!' | '?')).collect();
    let mut e = 0;
    for t in toks.iter_mut() {
        while ends.get(e).is_some_and(|(at, _)| *at < t.end) {
            e += 1;
        }
        t.question = ends.get(e).is_some_and(|(_, c)| *c == '?');
    }
}

/// A phrase matched in a line: its meaning and the words it spans.
#[derive(Debug, Clone, Copy)]
struct Hit {
    sig: Option<Sig>,
    from: usize,
    to: usize,
}

fn matches_at(toks: &[Tok], at: usize, words: &[&str]) -> bool {
    words.len() <= toks.len().saturating_sub(at)
        && words.iter().enumerate().all(|(k, w)| toks.get(at + k).is_some_and(|t| t.folded == *w && (k == 0 || !t.brk)))
}

/// Match the phrase table over the words, longest phrase first.
fn hits(toks: &[Tok]) -> Vec<Hit> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let best = PHRASES.iter().filter(|(words, _)| matches_at(toks, i, words)).max_by_key(|(words, _)| words.len());
        match best {
            Some((words, sig)) => {
                out.push(Hit { sig: Some(*sig), from: i, to: i + words.len() });
                i += words.len();
            }
            None => {
                out.push(Hit { sig: None, from: i, to: i + 1 });
                i += 1;
            }
        }
    }
    out
}

/// What one line says.
#[derive(Debug, Default, Clone)]
struct LineRead {
    intent: Option<Intent>,
    conflict: bool,
    pos_roles: Vec<Role>,
    neg_roles: Vec<Role>,
    stop: bool,
    /// The line has any answer word (intent or role).
    signal: bool,
    /// Byte offset where the member's comment starts.
    comment_from: usize,
    greeting: bool,
    /// A "not now" phrase: the block is a no.
    not_now: bool,
    /// Wants to know more: a yes in the block is a maybe.
    more_info: bool,
}

/// The intent words a line said, as the phrase table is walked.
#[derive(Default)]
struct Said {
    yes: bool,
    no: bool,
    maybe: bool,
    weak_maybe: bool,
    sorry: bool,
    /// The intent of a strong answer word opening the line.
    strong: Option<Intent>,
    /// A later strong word disagrees with the opening one.
    strong_conflict: bool,
}

impl Said {
    fn note(&mut self, i: Intent, strong_word: bool, first: bool) {
        if strong_word {
            if first {
                self.strong = Some(i);
            } else if self.strong.is_some_and(|s| s != i) {
                self.strong_conflict = true;
            }
        }
        match i {
            Intent::Yes => self.yes = true,
            Intent::No => self.no = true,
            Intent::Maybe => self.maybe = true,
        }
    }

    /// The line's intent, or a conflict (`Err`).
    fn intent(&self) -> Result<Option<Intent>, ()> {
        Ok(match (self.strong, self.yes, self.no, self.maybe) {
            (Some(_), ..) if self.strong_conflict => return Err(()),
            (Some(i), ..) => Some(i),
            (None, true, true, _) => return Err(()),
            (None, true, false, false) => Some(Intent::Yes),
            (None, true, false, true) => Some(Intent::Maybe),
            (None, false, true, _) => Some(Intent::No),
            (None, false, false, true) => Some(Intent::Maybe),
            (None, false, false, false) if self.weak_maybe => Some(Intent::Maybe),
            (None, false, false, false) if self.sorry => Some(Intent::No),
            _ => None,
        })
    }
}

fn read_line(line: &str) -> LineRead {
    let toks = tokenize(line);
    let hits = hits(&toks);
    let mut said = Said::default();
    let mut read = LineRead::default();
    let mut neg_left: u8 = 0;
    let plain = plain_clauses(&toks, &hits);
    for (k, h) in hits.iter().enumerate() {
        let tok = toks.get(h.from);
        if tok.is_some_and(|t| t.brk) {
            neg_left = 0;
        }
        // A question answers nothing, except a strong answer word opening it on its own
        // ("Kanske, men det beror på om regionen är med?").
        let opening = k == 0 && tok.is_some_and(|t| STRONG.contains(&t.folded.as_str())) && toks.get(h.to).is_some_and(|t| t.brk);
        if tok.is_some_and(|t| t.question) && h.sig != Some(Stop) && !opening {
            continue;
        }
        let negated = neg_left > 0;
        neg_left = neg_left.saturating_sub(1);
        let intent = match h.sig {
            Some(Yes) if negated => Some(Intent::No),
            Some(Yes) => Some(Intent::Yes),
            Some(Sure) if negated => Some(Intent::Maybe),
            Some(Sure) => Some(Intent::Yes),
            Some(Gladly) if plain.get(k).copied().unwrap_or(false) => Some(if negated { Intent::No } else { Intent::Yes }),
            Some(No) => Some(Intent::No),
            Some(NotNow) => {
                read.not_now = true;
                Some(Intent::No)
            }
            Some(MoreInfo) => {
                read.more_info = true;
                Some(Intent::Maybe)
            }
            Some(NoFirst) if k == 0 => Some(Intent::No),
            Some(Maybe) => Some(Intent::Maybe),
            Some(WeakMaybe) => {
                said.weak_maybe = true;
                None
            }
            Some(Sorry) => {
                said.sorry = true;
                None
            }
            Some(Neg) => {
                neg_left = NEG_SCOPE;
                None
            }
            Some(Role(r)) => {
                let list = if negated { &mut read.neg_roles } else { &mut read.pos_roles };
                if !list.contains(&r) {
                    list.push(r);
                }
                read.signal = true;
                None
            }
            Some(Stop) => {
                read.stop |= !negated;
                None
            }
            Some(Break) => {
                neg_left = 0;
                None
            }
            _ => None,
        };
        if let Some(i) = intent {
            read.signal = true;
            said.note(i, tok.is_some_and(|t| STRONG.contains(&t.folded.as_str())), k == 0);
        }
    }
    read.stop &= toks.len() <= STOP_MAX_WORDS;
    let first = said.intent();
    read.conflict = first.is_err();
    let first = first.unwrap_or(None);
    read.intent = hesitation(first, read.conflict, read.not_now, read.more_info);
    read.conflict &= read.intent.is_none();
    read.signal |= read.intent.is_some();
    // Hesitation keeps the member's whole sentence for AU to read.
    read.comment_from = if read.intent != first || read.more_info { 0 } else { head_end(&toks, &hits) };
    read.greeting = toks.first().is_some_and(|t| GREETINGS.contains(&t.folded.as_str())) && toks.len() <= 4 && !read.signal;
    read
}

/// The intent once hesitation is weighed: "not now" makes a no of
/// anything (and settles a yes/no conflict); wanting to know more makes a
/// yes a maybe.
fn hesitation(intent: Option<Intent>, conflict: bool, not_now: bool, more_info: bool) -> Option<Intent> {
    if not_now && (intent.is_some() || conflict) {
        return Some(Intent::No);
    }
    match intent {
        Some(Intent::Yes) if more_info => Some(Intent::Maybe),
        i => i,
    }
}

/// For each hit: whether its clause (words between clause breaks) holds
/// only words of the phrase table, as in "Ja gärna" or "gärna som partner".
fn plain_clauses(toks: &[Tok], hits: &[Hit]) -> Vec<bool> {
    let mut out = vec![false; hits.len()];
    let mut k = 0;
    while k < hits.len() {
        let mut m = k + 1;
        while m < hits.len() && !toks.get(hits[m].from).is_some_and(|t| t.brk) && hits[m].sig != Some(Break) {
            m += 1;
        }
        let plain = hits.get(k..m).is_some_and(|c| c.iter().all(|h| h.sig.is_some()));
        for o in out.iter_mut().take(m).skip(k) {
            *o = plain;
        }
        k = m;
    }
    out
}

fn is_keyword(sig: Option<Sig>) -> bool {
    matches!(sig, Some(Yes | Sure | No | NoFirst | NotNow | Maybe | Gladly | Role(_) | Closer))
}

/// Where the answer head of a line ends (byte offset): the leading clauses
/// made only of answer words and fillers ("Ja, vi är med som partner" is all
/// head); the first clause may be cut short after its last answer word when
/// it opens with a strong answer word ("Ja partner vi har …" → "vi har …").
fn head_end(toks: &[Tok], hits: &[Hit]) -> usize {
    let end_of = |h: &Hit| toks.get(h.to.saturating_sub(1)).map_or(0, |t| t.end);
    let mut head = 0;
    let mut k = 0;
    let mut first = true;
    while k < hits.len() {
        let mut m = k + 1;
        while m < hits.len() && !toks.get(hits[m].from).is_some_and(|t| t.brk) && hits[m].sig != Some(Break) {
            m += 1;
        }
        let clause = &hits[k..m];
        let consumed = clause.iter().all(|h| is_keyword(h.sig) || matches!(h.sig, Some(Filler | Neg)));
        let last_kw = clause.iter().rev().find(|h| is_keyword(h.sig));
        match last_kw {
            Some(h) if consumed => head = end_of(h),
            // a clause of greetings and fillers only ("Hej!") may open the head
            None if consumed => {
                if hits.get(m).is_some_and(|h| h.sig == Some(Break)) {
                    break;
                }
                k = m;
                continue;
            }
            _ if first
                && clause
                    .first()
                    .is_some_and(|h| is_keyword(h.sig) && toks.get(h.from).is_some_and(|t| STRONG.contains(&t.folded.as_str()))) =>
            {
                let prefix = clause.iter().take_while(|h| is_keyword(h.sig) || matches!(h.sig, Some(Filler | Neg)));
                if let Some(h) = prefix.filter(|h| is_keyword(h.sig)).last() {
                    head = end_of(h);
                }
                break;
            }
            _ => break,
        }
        if hits.get(m).is_some_and(|h| h.sig == Some(Break)) {
            break;
        }
        first = false;
        k = m;
    }
    head
}

/// The comment text of a line after its answer head.
fn comment_of(line: &str, from: usize) -> &str {
    line.get(from..).unwrap_or("").trim_start_matches(|c: char| c.is_whitespace() || ",.;:!?-–—".contains(c)).trim_end()
}

/// Is `line` a dismiss or watch command (checked on reference lines only)?
fn command(rest: &str) -> Option<fn(CallRef) -> Action> {
    let toks = tokenize(rest);
    if DISMISS.iter().any(|p| matches_at(&toks, 0, p)) {
        Some(Action::Dismiss)
    } else if WATCH.iter().any(|p| matches_at(&toks, 0, p)) {
        Some(Action::Watch)
    } else {
        None
    }
}

/// A bare name on the last line ("Anna", "Per Olsson", "/Lena"): a signature.
fn is_name_line(line: &str) -> bool {
    let line = line.trim_start_matches(['/', '-', '–', ' ']);
    let toks = tokenize(line);
    !toks.is_empty()
        && toks.len() <= 3
        && toks.iter().all(|t| line.get(t.start..).and_then(|s| s.chars().next()).is_some_and(char::is_uppercase))
        && line.chars().all(|c| c.is_alphabetic() || c.is_whitespace() || ".-!".contains(c))
}

/// Call references in a text, with their byte spans: `PSI-0042`, `psi 42`,
/// `PSI_0042`, not inside a longer word or number.
pub(super) fn find_refs(s: &str) -> Vec<(usize, usize, CallRef)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 < b.len() {
        let boundary = i == 0 || !b.get(i - 1).is_some_and(|c| c.is_ascii_alphanumeric());
        if boundary && b.get(i..i + 3).is_some_and(|w| w.eq_ignore_ascii_case(b"psi")) {
            let mut j = i + 3;
            if b.get(j).is_some_and(|c| matches!(c, b'-' | b' ' | b'_')) {
                j += 1;
            }
            let digits_start = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            let n = j - digits_start;
            if (1..=9).contains(&n)
                && !b.get(j).is_some_and(|c| c.is_ascii_alphanumeric())
                && let Some(r) = s.get(i..j).and_then(CallRef::parse)
            {
                out.push((i, j, r));
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// What the grammar read from the new text.
#[derive(Debug, Default)]
pub(super) struct Read {
    pub answers: Vec<Answer>,
    pub actions: Vec<Action>,
    pub reason: Option<String>,
}

/// The lines answering one call (or no call).
struct Block {
    call: Option<CallRef>,
    lines: Vec<String>,
}

fn push_line(blocks: &mut Vec<Block>, call: Option<CallRef>, line: &str) {
    match blocks.iter_mut().find(|b| b.call == call) {
        Some(b) => b.lines.push(line.to_string()),
        None => blocks.push(Block { call, lines: vec![line.to_string()] }),
    }
}

/// Read the new text of a reply. `default` is the call the message answers
/// when a line names none (from the subject or In-Reply-To).
pub(super) fn read(text: &str, subject: &str, default: Option<CallRef>) -> Read {
    let mut out = Read::default();
    let mut blocks: Vec<Block> = Vec::new();
    let mut targets: Vec<Option<CallRef>> = vec![default];
    let mut saw_ref = false;
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let last = lines.len().saturating_sub(1);
    for (n, line) in lines.iter().enumerate() {
        let said = read_line(line);
        // A bare name on the last line is a signature, unless it is an answer word ("Hej!\nKanske", "STOPP").
        if n == last && n > 0 && is_name_line(line) && !said.stop && !said.signal {
            continue;
        }
        if said.stop {
            push_unique(&mut out.actions, Action::Unsubscribe);
            continue;
        }
        if is_resume(line) {
            push_unique(&mut out.actions, Action::Resume);
            continue;
        }
        let refs = find_refs(line);
        let Some(&(first_start, _, _)) = refs.first() else {
            for t in &targets {
                push_line(&mut blocks, *t, line);
            }
            continue;
        };
        saw_ref = true;
        let calls: Vec<CallRef> = refs.iter().map(|r| r.2).collect();
        let leading = line.get(..first_start).is_some_and(|p| !p.chars().any(char::is_alphanumeric));
        let rest = if leading {
            let after = refs.last().map_or(0, |r| r.1);
            line.get(after..).unwrap_or("").trim_start_matches(|c: char| !c.is_alphanumeric())
        } else {
            line
        };
        if !rest.chars().any(char::is_alphanumeric) {
            // A heading line: the lines below answer these calls.
            targets = calls.into_iter().map(Some).collect();
            continue;
        }
        targets = Vec::new();
        if leading && let Some(make) = command(rest) {
            for c in calls {
                push_unique(&mut out.actions, make(c));
            }
            continue;
        }
        for c in calls {
            push_line(&mut blocks, Some(c), rest);
        }
    }
    if subject_is_stop(subject) {
        push_unique(&mut out.actions, Action::Unsubscribe);
    } else if is_resume(subject) {
        push_unique(&mut out.actions, Action::Resume);
    }
    if out.actions.contains(&Action::Unsubscribe) {
        out.actions.retain(|a| *a != Action::Resume);
    }
    let mut conflict = false;
    for b in &blocks {
        if saw_ref && b.call.is_none() {
            continue;
        }
        match read_block(b) {
            Ok(Some(a)) => out.answers.push(a),
            Ok(None) => {}
            Err(()) => conflict = true,
        }
    }
    if out.answers.is_empty() && out.actions.is_empty() {
        out.reason = Some(
            if conflict {
                "Motstridiga besked (både ja och nej) – behöver läsas av AU"
            } else if lines.is_empty() {
                "Inget nytt innehåll i svaret (tomt eller bara citerad text)"
            } else {
                "Hittade inget ja, nej eller kanske i svaret"
            }
            .to_string(),
        );
    }
    out
}

fn push_unique(actions: &mut Vec<Action>, a: Action) {
    if !actions.contains(&a) {
        actions.push(a);
    }
}

/// The subject is an unsubscribe command ("STOPP", "SV: avregistrera").
fn subject_is_stop(subject: &str) -> bool {
    let toks = tokenize(subject);
    let words: Vec<&str> = toks
        .iter()
        .map(|t| t.folded.as_str())
        .filter(|w| !matches!(*w, "re" | "sv" | "aw" | "vs" | "fw" | "fwd" | "vb" | "psi") && !w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    words.len() <= 3 && words.iter().any(|w| matches!(*w, "stopp" | "stop" | "avregistrera" | "unsubscribe"))
}

/// One answer from a block of lines, `Err` when yes and no conflict.
fn read_block(b: &Block) -> Result<Option<Answer>, ()> {
    let reads: Vec<LineRead> = b.lines.iter().map(|l| read_line(l)).collect();
    let intent_line = reads.iter().position(|r| r.intent.is_some());
    let mut intent = intent_line.and_then(|i| reads.get(i)).and_then(|r| r.intent);
    let not_now = reads.iter().any(|r| r.not_now);
    let more_info = reads.iter().any(|r| r.more_info);
    if intent.is_none() && reads.iter().any(|r| r.conflict) {
        if !not_now {
            return Err(());
        }
        intent = Some(Intent::No);
    }
    let mut pos: Vec<Role> = Vec::new();
    let mut neg: Vec<Role> = Vec::new();
    for r in &reads {
        pos.extend(r.pos_roles.iter().copied().filter(|x| !pos.contains(x)).collect::<Vec<_>>());
        neg.extend(r.neg_roles.iter().copied().filter(|x| !neg.contains(x)).collect::<Vec<_>>());
    }
    pos.retain(|r| !neg.contains(r));
    let mut role = match pos.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    if intent.is_none() {
        if role.is_none() {
            return Ok(None);
        }
        intent = Some(Intent::Yes);
    }
    let Some(first) = intent else { return Ok(None) };
    // A later line may hesitate ("Ja!" / "Men inte i år."): the block's words weigh together.
    let intent = hesitation(Some(first), false, not_now, more_info).unwrap_or(first);
    let whole = intent != first;
    if intent == Intent::Yes && role.is_none() && pos.is_empty() && neg == [Role::Lead] {
        role = Some(Role::Partner);
    }
    if intent == Intent::No {
        role = None;
    }
    let from = intent_line.or_else(|| reads.iter().position(|r| r.signal)).unwrap_or(0);
    let mut comment = String::new();
    for (line, r) in b.lines.iter().zip(&reads).skip(from) {
        if r.greeting {
            continue;
        }
        let c = if r.signal && !whole { comment_of(line, r.comment_from) } else { line.trim() };
        if !c.is_empty() {
            if !comment.is_empty() {
                comment.push(' ');
            }
            comment.push_str(c);
        }
    }
    Ok(Some(Answer { call: b.call, intent, role, comment }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (Intent, Option<Role>, String) {
        let r = read(text, "", CallRef::parse("PSI-0042"));
        assert_eq!(r.answers.len(), 1, "{text:?} gave {:?}", r);
        let a = &r.answers[0];
        (a.intent, a.role, a.comment.clone())
    }

    fn unread(text: &str) -> bool {
        let r = read(text, "", CallRef::parse("PSI-0042"));
        r.answers.is_empty() && r.actions.is_empty()
    }

    #[test]
    fn fold_strips_case_and_accents() {
        assert_eq!(fold("Projektägare HUVUDSÖKANDE Référens"), "projektagare huvudsokande referens");
    }

    #[test]
    fn phrase_table() {
        use Intent::*;
        let cases: &[(&str, Intent, Option<Role>, &str)] = &[
            ("Ja, vi är med som partner", Yes, Some(Role::Partner), ""),
            ("Vi vill gärna leda ansökan", Yes, Some(Role::Lead), ""),
            ("Intresserade men kan inte vara huvudsökande", Yes, Some(Role::Partner), "men kan inte vara huvudsökande"),
            ("Nej tack, inte denna gång", No, None, ""),
            ("Yes – happy to join as a partner", Yes, Some(Role::Partner), ""),
            ("Kanske, vi återkommer", Maybe, None, "vi återkommer"),
            ("inte intresserade", No, None, ""),
            ("Vi är tyvärr inte intresserade den här gången", No, None, "Vi är tyvärr inte intresserade den här gången"),
            ("Not interested, thanks", No, None, ""),
            ("JA, PROJEKTÄGARE", Yes, Some(Role::Lead), ""),
            ("ja partner - vi har en projektledare ledig från mars", Yes, Some(Role::Partner), "vi har en projektledare ledig från mars"),
            ("Intresserad, referensgrupp", Yes, Some(Role::Reference), ""),
            ("Vi kan vara medsökande", Yes, Some(Role::Partner), ""),
            ("Yes, we'd like to lead", Yes, Some(Role::Lead), ""),
            ("Maybe as reference group", Maybe, Some(Role::Reference), ""),
            ("We can't join this time", No, None, "We can't join this time"),
            ("No, not this time", No, None, ""),
            ("Vi kan leda ansökan", Yes, Some(Role::Lead), ""),
            ("Intressant! Ja, men inte som projektägare", Yes, Some(Role::Partner), "Intressant! Ja, men inte som projektägare"),
            ("Ja, men inte som projektägare", Yes, Some(Role::Partner), "men inte som projektägare"),
            ("Vi är osäkra, vi vet inte än", Maybe, None, "vi vet inte än"),
            ("Not sure yet", Maybe, None, "Not sure yet"),
            ("Tyvärr hinner vi inte", No, None, "Tyvärr hinner vi inte"),
            ("Ja eller partner eller referensgrupp", Yes, None, "eller partner eller referensgrupp"),
            ("Sure, as a co-applicant", Yes, Some(Role::Partner), ""),
            ("ja, SOM PARTNER", Yes, Some(Role::Partner), ""),
            ("Nej", No, None, ""),
            ("Hej! Ja, vi är med.", Yes, None, ""),
            ("Ja tack!", Yes, None, ""),
            ("Yes please, as lead partner", Yes, Some(Role::Lead), ""),
            ("Hej Anna! Ja, vi är med.", Yes, None, "Hej Anna! Ja, vi är med."),
            ("nej, vi vill inte vara projektagare", No, None, ""),
            // hesitation and conditions are never a yes
            ("Ja men inte i år", No, None, "Ja men inte i år"),
            ("Ja, men vi har inte möjlighet just nu", No, None, "Ja, men vi har inte möjlighet just nu"),
            ("inte möjlighet just nu", No, None, "inte möjlighet just nu"),
            ("Yes, but not this year", No, None, "Yes, but not this year"),
            ("Not this time, thanks", No, None, ""),
            ("Intresserade men har ingen kapacitet i höst", No, None, "Intresserade men har ingen kapacitet i höst"),
            ("Vi är tyvärr inte intresserade just nu", No, None, "Vi är tyvärr inte intresserade just nu"),
            ("Vi vill gärna veta mer", Maybe, None, "Vi vill gärna veta mer"),
            ("vill veta mer", Maybe, None, "vill veta mer"),
            ("We'd like to know more", Maybe, None, "We'd like to know more"),
            ("Ja, skicka gärna mer information", Maybe, None, "Ja, skicka gärna mer information"),
            ("Gärna som partner!", Yes, Some(Role::Partner), ""),
            ("Ja gärna", Yes, None, ""),
            ("Vi ställer gärna upp", Yes, None, ""),
            ("Ja! Har ni några frågor så ring mig?", Yes, None, "Har ni några frågor så ring mig?"),
        ];
        for (text, intent, role, comment) in cases {
            let (i, r, c) = one(text);
            assert_eq!((i, r, c.as_str()), (*intent, *role, *comment), "{text:?}");
        }
    }

    #[test]
    fn conflicts_and_nothing_are_not_understood() {
        assert!(unread("Intresserade men kan inte delta"));
        assert!(unread("Hej! Tack för informationen."));
        assert!(unread("ja/nej"));
        assert!(unread("Hej, när är nästa stormöte? Vi vill gärna presentera vårt nya projekt där."));
        assert!(unread("Kan vi vara med som partner?"));
        assert_eq!(one("Kanske, men det beror på om Region Örebro är med?").0, Intent::Maybe);
        assert!(unread("Ja?"));
        assert!(unread(""));
        let r = read("Intresserade men kan inte delta", "", None);
        assert!(r.reason.unwrap_or_default().contains("Motstridiga"));
    }

    #[test]
    fn per_call_lines() {
        let r = read("Hej!\nPSI-0042: ja, partner\npsi-43: nej\n- PSI 0044 – kanske, som lead\nTack!", "", CallRef::parse("PSI-0001"));
        let got: Vec<_> = r.answers.iter().map(|a| (a.call.map(|c| c.to_string()), a.intent, a.role)).collect();
        assert_eq!(
            got,
            vec![
                (Some("PSI-0042".into()), Intent::Yes, Some(Role::Partner)),
                (Some("PSI-0043".into()), Intent::No, None),
                (Some("PSI-0044".into()), Intent::Maybe, Some(Role::Lead)),
            ]
        );
    }

    #[test]
    fn a_later_line_that_hesitates_outweighs_a_yes() {
        let (i, r, c) = one("Ja, som partner!\nMen vi har inte möjlighet i år.");
        assert_eq!((i, r, c.as_str()), (Intent::No, None, "Ja, som partner! Men vi har inte möjlighet i år."));
        let (i, _, _) = one("Ja!\nVi vill veta mer om budgeten först.");
        assert_eq!(i, Intent::Maybe);
    }

    #[test]
    fn heading_line_then_answer() {
        let r = read("PSI-0042\nJa, som referensgrupp", "", None);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].role, Some(Role::Reference));
    }

    #[test]
    fn commands() {
        let r = read("PSI-0042: ej aktuell\nPSI-0043: bevaka\nPSI-0044: not relevant\npsi-0045: watch", "", None);
        assert!(r.answers.is_empty());
        let c = |n| CallRef::parse(n).unwrap();
        assert_eq!(
            r.actions,
            vec![
                Action::Dismiss(c("PSI-0042")),
                Action::Watch(c("PSI-0043")),
                Action::Dismiss(c("PSI-0044")),
                Action::Watch(c("PSI-0045"))
            ]
        );
        for t in ["STOPP", "Avregistrera mig, tack", "Please unsubscribe me"] {
            assert_eq!(read(t, "", None).actions, vec![Action::Unsubscribe], "{t}");
        }
        assert!(read("Vi vill inte avregistrera oss, vi är intresserade", "", None).actions.is_empty());
        for t in ["START", "Börja igen, tack!", "starta igen", "Resume"] {
            assert_eq!(read(t, "", None).actions, vec![Action::Resume], "{t}");
        }
        assert_eq!(read("", "SV: START", None).actions, vec![Action::Resume]);
        assert!(read("Ja, start i mars", "", None).actions.is_empty());
        assert_eq!(read("START\nSTOPP", "", None).actions, vec![Action::Unsubscribe], "a STOPP wins");
        assert_eq!(read("", "SV: STOPP", None).actions, vec![Action::Unsubscribe]);
    }

    #[test]
    fn an_answer_word_on_the_last_line_is_no_signature() {
        assert_eq!(one("Hej!\nKanske").0, Intent::Maybe);
        let r = read("PSI-0042: ja\nSTOPP", "", None);
        assert_eq!(r.actions, vec![Action::Unsubscribe]);
        assert_eq!(r.answers.len(), 1);
        assert!(unread("Tack!\nAnna Svensson"));
    }

    #[test]
    fn refs_are_found() {
        let refs: Vec<String> =
            find_refs("SV: [PSI-0042] och psi_7, PSI-00x, XPSI-0001, PSI-12345678901").iter().map(|r| r.2.to_string()).collect();
        assert_eq!(refs, vec!["PSI-0042", "PSI-0007"]);
    }
}
