//! The reply parser (DESIGN.md §6), between the IMAP fetch / MTA pipe and the recorder: raw RFC 822 bytes in, a `Reading` out; pure, never panics.
//!
//! ```text
//!  raw bytes ─▶ mail-parser ─▶ headers: from, Message-ID, subject, In-Reply-To/References
//!                    │              └─▶ auto-reply / bounce?  ─▶ Reading { auto_reply: true }
//!                    └─▶ body text (plain, or HTML → text) ─▶ strip quotes + signature ─▶ new text
//!                                                                          │
//!  default call: [PSI-0042] in the subject, else our Message-ID replied to ┴─▶ grammar ─▶ answers, actions
//! ```
//!
//! Decisions:
//! - A message with only commands (STOPP, START, dismiss, watch) is `understood:
//!   true` with empty `answers`; the commands are in `actions`.
//! - Auto-replies and bounces: `auto_reply: true`, `understood: false`, no
//!   answers and no actions, `reason` says which kind. An out-of-office
//!   body is an auto-reply whatever the headers say ("Ja, jag är tillbaka
//!   den 7 januari"), unless a line opens with a call reference, which only
//!   a person answering writes.
//! - Only what the person wrote and can see is read: the plain part when
//!   there is one, else the HTML without hidden text ([`body`], [`css`]);
//!   quoted history, including our own mail quoted without markers, and
//!   the signature are cut ([`strip`]).
//! - `understood: false` otherwise means nothing could be read; `reason`
//!   (Swedish, for AU) says why.
//! - The default call: the one reference in the subject; else, if the
//!   message replies to one of our Message-IDs
//!   (`<psi-radar.{kind}.{refs}.{unique}@{domain}>`) naming exactly one
//!   reference, that one (In-Reply-To first, then the latest of References).
//!   Several references in the subject give no default.
//! - The phrase decisions are in [`grammar`].

pub mod auth;
mod body;
mod css;
mod grammar;
mod strip;

use crate::domain::{CallRef, Intent, Role};
use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders};
use serde::Serialize;

/// What the parser read from one message.
#[derive(Debug, Clone, Serialize)]
pub struct Reading {
    /// The sender's address, lower-cased.
    pub from: Option<String>,
    /// The Message-ID, with angle brackets `<…>`.
    pub message_id: Option<String>,
    /// An auto-reply (out of office …) or a bounce: never an answer.
    pub auto_reply: bool,
    pub answers: Vec<Answer>,
    /// False when nothing could be read (then `answers` is empty).
    pub understood: bool,
    /// The message says STOPP / avregistrera / unsubscribe (from `actions`).
    pub stop: bool,
    /// AU's commands, dismiss and watch (from `actions`).
    pub au: Vec<AuCommand>,
    /// Commands: unsubscribe, and AU's dismiss / watch.
    #[serde(skip)]
    pub actions: Vec<Action>,
    #[serde(skip)]
    pub subject: String,
    /// The message ids of In-Reply-To and References, with angle brackets.
    #[serde(skip)]
    pub in_reply_to: Vec<String>,
    /// The body after stripping quoted history and the signature.
    #[serde(skip)]
    pub new_text: String,
    /// Every call reference in the new text, answered or not ("PSI-0042"
    /// alone names a call an earlier answer may be waiting for).
    #[serde(skip)]
    pub named: Vec<CallRef>,
    /// Why the message was not understood, or which kind of auto-reply it is (Swedish, for AU).
    #[serde(skip)]
    pub reason: Option<String>,
    /// More than one From header, or more than one address in it: who
    /// wrote it cannot be told.
    #[serde(skip)]
    pub several_from: bool,
    /// The `Authentication-Results` headers, topmost (added last) first.
    #[serde(skip)]
    pub auth: Vec<auth::AuthResults>,
}

/// One answer to one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// None when the message names no call.
    pub call: Option<CallRef>,
    pub intent: Intent,
    pub role: Option<Role>,
    /// The rest of the member's words (may be empty).
    pub comment: String,
}

/// AU's command on one call, as `mail parse` shows it:
/// `{"call": "PSI-0042", "action": "dismiss"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuCommand {
    pub call: CallRef,
    pub action: AuAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuAction {
    Dismiss,
    Watch,
}

/// A command in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `STOPP` / `avregistrera` / `unsubscribe`: no more notifications to this contact.
    Unsubscribe,
    /// `START` / `börja igen`: notifications to this contact again after a STOPP.
    Resume,
    /// `PSI-0042: ej aktuell` / `not relevant` (meant for AU): hide the call.
    Dismiss(CallRef),
    /// `PSI-0042: bevaka` / `watch` (meant for AU): keep the call on top.
    Watch(CallRef),
}

impl Reading {
    fn empty() -> Reading {
        Reading {
            from: None,
            message_id: None,
            auto_reply: false,
            answers: Vec::new(),
            understood: false,
            stop: false,
            au: Vec::new(),
            actions: Vec::new(),
            subject: String::new(),
            in_reply_to: Vec::new(),
            new_text: String::new(),
            named: Vec::new(),
            reason: None,
            several_from: false,
            auth: Vec::new(),
        }
    }

    /// Fill `stop` and `au` from the commands read.
    fn with_commands(mut self) -> Reading {
        self.stop = self.actions.contains(&Action::Unsubscribe);
        self.au = self
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Dismiss(c) => Some(AuCommand { call: *c, action: AuAction::Dismiss }),
                Action::Watch(c) => Some(AuCommand { call: *c, action: AuAction::Watch }),
                _ => None,
            })
            .collect();
        self
    }

    /// The reading as JSON in the documented form:
    /// `{"from": "…", "message_id": "<…>", "auto_reply": false, "answers": [...], "understood": true,
    /// "stop": false, "au": [{"call": "PSI-0042", "action": "dismiss"}]}`.
    pub fn to_json(&self) -> String {
        let mut buf = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, Spaced);
        if self.serialize(&mut ser).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// JSON on one line with `", "` and `": "` separators, as DESIGN.md §6 shows it.
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

/// Read one raw message (RFC 822 bytes). Pure; never panics.
pub fn parse(raw: &[u8]) -> Reading {
    let mut r = Reading::empty();
    let Some(msg) = MessageParser::default().parse(raw) else {
        r.reason = Some("Meddelandet gick inte att tolka som e-post".to_string());
        return r;
    };
    r.from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty());
    let from_headers = msg.headers_raw().filter(|(n, _)| n.eq_ignore_ascii_case("from")).count();
    r.several_from = from_headers > 1 || msg.from().is_some_and(|a| a.iter().count() > 1);
    r.auth =
        msg.headers_raw().filter(|(n, _)| n.eq_ignore_ascii_case("authentication-results")).filter_map(|(_, v)| auth::parse(v)).collect();
    r.message_id = msg.message_id().map(|id| format!("<{}>", id.trim()));
    r.subject = msg.subject().unwrap_or("").trim().to_string();
    r.in_reply_to = ids(msg.in_reply_to());
    for id in ids(msg.references()) {
        if !r.in_reply_to.contains(&id) {
            r.in_reply_to.push(id);
        }
    }
    if let Some(kind) = bounce(&msg, r.from.as_deref(), &r.subject).or_else(|| auto_reply(&msg, &r.subject)) {
        r.auto_reply = true;
        r.reason = Some(kind);
        r.new_text = strip::new_text(&body::text(&msg));
        return r;
    }
    r.new_text = strip::new_text(&body::text(&msg));
    if out_of_office_text(&r.new_text) && !has_reference_line(&r.new_text) {
        r.auto_reply = true;
        r.reason = Some("Autosvar (frånvaromeddelande i texten)".to_string());
        return r;
    }
    r.named = call_refs(&r.new_text);
    let default = default_call(&r.subject, msg.in_reply_to(), msg.references());
    let read = grammar::read(&r.new_text, &r.subject, default);
    r.answers = read.answers;
    r.actions = read.actions;
    r.understood = !r.answers.is_empty() || !r.actions.is_empty();
    r.reason = read.reason;
    r.with_commands()
}

/// One answer written for `call` ("ja, partner", "nej – inte i år"), read
/// by the same grammar as a reply line (`mail assign --answer`). None when
/// it is no answer.
pub fn read_answer(call: CallRef, text: &str) -> Option<Answer> {
    let line = format!("{call}: {}", text.replace(['\r', '\n'], " "));
    grammar::read(&line, "", Some(call)).answers.into_iter().find(|a| a.call == Some(call))
}

/// The call references in a text (`PSI-0042`, `psi 42` …), each once, in order.
pub fn call_refs(text: &str) -> Vec<CallRef> {
    let mut out: Vec<CallRef> = Vec::new();
    for r in text.lines().flat_map(grammar::find_refs).map(|r| r.2) {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// Message ids of an In-Reply-To or References header, with angle brackets.
fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<&str> = match v {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    raw.into_iter().map(str::trim).filter(|s| !s.is_empty()).map(|s| format!("<{}>", s.trim_matches(['<', '>']))).collect()
}

/// The call references one of our outbound Message-IDs names:
/// `psi-radar.{kind}.{refs}.{unique}@{domain}`, refs joined by `+`.
fn our_refs(id: &str) -> Option<Vec<CallRef>> {
    let id = id.trim().trim_matches(['<', '>']);
    let (local, _domain) = id.split_once('@')?;
    let mut parts = local.strip_prefix("psi-radar.")?.split('.');
    let _kind = parts.next()?;
    let refs = parts.next()?;
    if refs.is_empty() {
        return Some(Vec::new());
    }
    refs.split('+').map(CallRef::parse).collect()
}

fn default_call(subject: &str, in_reply_to: &HeaderValue<'_>, references: &HeaderValue<'_>) -> Option<CallRef> {
    let mut in_subject: Vec<CallRef> = grammar::find_refs(subject).into_iter().map(|r| r.2).collect();
    in_subject.dedup();
    match in_subject.as_slice() {
        [one] => return Some(*one),
        [] => {}
        _ => return None,
    }
    let ours = ids(in_reply_to).iter().find_map(|id| our_refs(id)).or_else(|| ids(references).iter().rev().find_map(|id| our_refs(id)))?;
    match ours.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

fn header<'a>(msg: &'a Message<'_>, name: &str) -> Option<&'a str> {
    msg.headers_raw().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

const AUTO_SUBJECTS: &[&str] = &[
    "autosvar",
    "automatiskt svar",
    "franvaromeddelande",
    "franvaro:",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "auto response",
    "autoresponse",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
];
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "olevererbart",
    "kunde inte levereras",
    "kan inte levereras",
    "delivery status notification",
    "mail delivery failed",
    "delivery failure",
    "returned mail",
    "failure notice",
];
/// Out-of-office phrases (folded words). An automatic reply often opens
/// with a polite "Ja" or "Yes" ("Ja, jag är tillbaka den 7 januari"), so a
/// body with one of these is an auto-reply whatever its headers say.
/// Absence in Swedish is matched in the first person only ("jag är ledig",
/// not "Anna är ledig från mars", which a member may well write).
const OOO_TEXT: &[&str] = &[
    "jag ar pa semester",
    "jag har semester",
    "jag ar ledig",
    "jag ar tjanstledig",
    "jag ar foraldraledig",
    "jag ar sjukskriven",
    "jag ar franvarande",
    "jag ar bortrest",
    "jag ar pa tjansteresa",
    "jag ar inte pa kontoret",
    "jag ar inte i tjanst",
    "kansliet ar stangt",
    "kontoret ar stangt",
    "ar tillbaka den",
    "ar tillbaka igen",
    "ar tillbaka pa kontoret",
    "ar tillbaka i tjanst",
    "tillbaka pa kontoret",
    "ater i tjanst",
    "ater pa kontoret",
    "begransad tillgang till e post",
    "begransad tillgang till mejl",
    "begransad tillgang till mail",
    "out of the office",
    "out of office",
    "away from the office",
    "on vacation",
    "on holiday",
    "on annual leave",
    "on parental leave",
    "on sick leave",
    "on leave until",
    "limited access to email",
    "limited access to e mail",
    "back in the office",
    "i will be back",
    "when i return",
    "upon my return",
    "on my return",
];

/// A delivery failure: multipart/report, a delivery-status part, a
/// MAILER-DAEMON or postmaster sender, or a bounce subject.
fn bounce(msg: &Message<'_>, from: Option<&str>, subject: &str) -> Option<String> {
    let is_report = |ct: &mail_parser::ContentType<'_>| {
        let sub = ct.subtype().unwrap_or("");
        (ct.ctype().eq_ignore_ascii_case("multipart") && sub.eq_ignore_ascii_case("report"))
            || (ct.ctype().eq_ignore_ascii_case("message")
                && (sub.eq_ignore_ascii_case("delivery-status") || sub.eq_ignore_ascii_case("disposition-notification")))
    };
    if msg.parts.iter().filter_map(|p| p.content_type()).any(is_report) {
        return Some("Studsat meddelande (leveransrapport)".to_string());
    }
    let local = from.and_then(|f| f.split('@').next()).unwrap_or("");
    if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
        return Some(format!("Studsat meddelande (avsändare {local})"));
    }
    let s = grammar::fold(subject);
    BOUNCE_SUBJECTS.iter().any(|b| s.contains(b)).then(|| "Studsat meddelande (ämnesrad)".to_string())
}

/// An auto-reply by its headers or subject.
fn auto_reply(msg: &Message<'_>, subject: &str) -> Option<String> {
    if let Some(v) = header(msg, "Auto-Submitted") {
        let v = v.split(';').next().unwrap_or("").trim();
        if !v.eq_ignore_ascii_case("no") {
            return Some(format!("Autosvar (Auto-Submitted: {v})"));
        }
    }
    for h in ["X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"] {
        if let Some(v) = header(msg, h)
            && !v.eq_ignore_ascii_case("no")
            && !v.eq_ignore_ascii_case("false")
        {
            return Some(format!("Autosvar ({h})"));
        }
    }
    if let Some(v) = header(msg, "Precedence") {
        let v = v.to_ascii_lowercase();
        if matches!(v.as_str(), "bulk" | "auto_reply" | "junk") {
            return Some(format!("Autosvar (Precedence: {v})"));
        }
    }
    if header(msg, "Return-Path").is_some_and(|v| v == "<>") {
        return Some("Autosvar (tom avsändare, Return-Path: <>)".to_string());
    }
    let s = grammar::fold(subject);
    AUTO_SUBJECTS.iter().any(|a| s.contains(a)).then(|| "Autosvar (ämnesrad)".to_string())
}

/// An out-of-office body: one of [`OOO_TEXT`], word for word.
fn out_of_office_text(text: &str) -> bool {
    let mut words = String::from(" ");
    for c in grammar::fold(text).chars() {
        if c.is_alphanumeric() {
            words.push(c);
        } else if !words.ends_with(' ') {
            words.push(' ');
        }
    }
    words.push(' ');
    OOO_TEXT.iter().any(|p| words.contains(&format!(" {p} ")))
}

/// A line that opens with a call reference ("PSI-0042: ja"): written by a
/// person answering, never by an out-of-office robot.
fn has_reference_line(text: &str) -> bool {
    text.lines().any(|l| grammar::find_refs(l).first().is_some_and(|r| l.get(..r.0).is_some_and(|p| !p.chars().any(char::is_alphanumeric))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_message_ids_name_calls() {
        assert_eq!(our_refs("<psi-radar.notify.PSI-0042.8f3a2c@psi.example.org>"), Some(vec![CallRef(42)]));
        assert_eq!(our_refs("psi-radar.notify.PSI-0042+PSI-0043.8f3a2c@psi.example.org"), Some(vec![CallRef(42), CallRef(43)]));
        assert_eq!(our_refs("<CAKsfaBW4hj0Gek6@mail.gmail.com>"), None);
    }

    #[test]
    fn json_has_the_documented_shape() {
        let raw = b"From: Anna <Anna@Activa.Example.org>\r\nMessage-ID: <a1@activa.example.org>\r\nSubject: SV: [PSI-0042] Ny utlysning\r\n\r\nJa, partner - vi har en projektledare ledig fr\xc3\xa5n mars\r\n";
        let r = parse(raw);
        assert_eq!(
            r.to_json(),
            r#"{"from": "anna@activa.example.org", "message_id": "<a1@activa.example.org>", "auto_reply": false, "answers": [{"call": "PSI-0042", "intent": "yes", "role": "partner", "comment": "vi har en projektledare ledig från mars"}], "understood": true, "stop": false, "au": []}"#
        );
    }

    #[test]
    fn out_of_office_bodies_are_auto_replies_whatever_the_headers() {
        for body in [
            "Ja, jag är tillbaka den 7 januari.",
            "Thank you for your e-mail. I am on annual leave. Yes, I will reply when I return.",
            "Hej! Jag är på semester till 15 augusti. Ja, jag läser mejl ibland.",
            "Jag är tjänstledig till och med juni.",
            "Jag är föräldraledig, kontakta Lisa.",
            "I am out of the office until Monday.",
        ] {
            let raw = format!("From: a@activa.example.org\r\nSubject: SV: [PSI-0042] Ny utlysning\r\n\r\n{body}\r\n");
            let r = parse(raw.as_bytes());
            assert!(r.auto_reply && r.answers.is_empty() && !r.understood, "{body}");
        }
        for body in
            ["Ja, partner – Anna är ledig från mars och kan leda arbetet.", "PSI-0042: ja, partner. Jag är på semester nästa vecka."]
        {
            let raw = format!("From: a@activa.example.org\r\nSubject: SV: [PSI-0042] Ny utlysning\r\n\r\n{body}\r\n");
            let r = parse(raw.as_bytes());
            assert!(!r.auto_reply && r.answers.len() == 1, "{body}");
        }
    }

    #[test]
    fn stop_and_au_commands_are_in_the_json() {
        let raw = "From: ulla@psi.example.org\r\nMessage-ID: <c@x>\r\nSubject: Re: veckobrev\r\n\r\nPSI-0042: ej aktuell\r\nPSI-0043: bevaka\r\nSTOPP\r\n";
        let json = parse(raw.as_bytes()).to_json();
        assert!(
            json.ends_with(r#""understood": true, "stop": true, "au": [{"call": "PSI-0042", "action": "dismiss"}, {"call": "PSI-0043", "action": "watch"}]}"#),
            "{json}"
        );
    }

    #[test]
    fn an_answer_written_by_au_is_read_by_the_reply_grammar() {
        let a = read_answer(CallRef(42), "ja, partner").unwrap();
        assert_eq!((a.call, a.intent, a.role), (Some(CallRef(42)), Intent::Yes, Some(Role::Partner)));
        assert_eq!(read_answer(CallRef(42), "Ja men inte i år").unwrap().intent, Intent::No);
        assert!(read_answer(CallRef(42), "hej hej").is_none());
    }

    #[test]
    fn several_from_addresses_or_headers_are_flagged() {
        let one = parse(b"From: a@x.se\r\nSubject: [PSI-0042]\r\n\r\nja\r\n");
        assert!(!one.several_from);
        let two_addresses = parse(b"From: a@x.se, au@psi.example.org\r\nSubject: [PSI-0042]\r\n\r\nja\r\n");
        assert!(two_addresses.several_from);
        let two_headers = parse(b"From: a@x.se\r\nFrom: au@psi.example.org\r\nSubject: [PSI-0042]\r\n\r\nja\r\n");
        assert!(two_headers.several_from);
    }

    #[test]
    fn authentication_results_are_read_topmost_first() {
        let raw = b"Authentication-Results: mx.psi.example.org; dmarc=fail header.from=x.se\r\nAuthentication-Results: mx.psi.example.org; dmarc=pass header.from=x.se\r\nFrom: a@x.se\r\n\r\nja\r\n";
        let r = parse(raw);
        assert_eq!(r.auth.len(), 2);
        assert_eq!(r.auth[0].results[0].result, "fail");
    }

    #[test]
    fn garbage_never_panics() {
        for raw in
            [&b""[..], b"\xff\xfe", b"From:\r\n\r\n", b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--", b"\r\n\r\n\r\n"]
        {
            let r = parse(raw);
            assert!(!r.understood || !r.answers.is_empty() || !r.actions.is_empty());
        }
    }
}
