//! Mail, to members and AU between digests: the member notification (new
//! calls that fit, bundled once a day, with exactly how to answer), deadline
//! reminders (14 and 3 days before), the confirmation of an accepted reply,
//! and the ask-back: which of several calls a bare answer meant.

use super::MailError;
use super::digest::Rendered;
use super::render::{CallCard, Renderer, strings};
use crate::domain::{CallRef, Intent, Lang, Role};
use minijinja::context;

fn how_to_answer(lang: Lang, cards: &[CallCard]) -> Vec<String> {
    let example = cards.first().map(|c| c.reference.clone()).unwrap_or_else(|| "PSI-0042".into());
    match lang {
        Lang::Sv => {
            let mut v = vec![
                "Svara på det här mejlet med en kort rad:".to_string(),
                "«JA partner» – ni vill vara med som partner".to_string(),
                "«JA projektägare» – ni kan leda ansökan".to_string(),
                "«JA referensgrupp» – ni ställer upp i referensgruppen".to_string(),
                "«KANSKE» eller «NEJ» går också bra. Skriv gärna en kommentar på samma rad.".to_string(),
            ];
            if cards.len() > 1 {
                v.push(format!("Flera utlysningar i samma svar: en rad per utlysning, t.ex. «{example}: ja, partner»."));
            }
            v.push("Svara STOPP om du inte vill få fler sådana här mejl.".into());
            v
        }
        Lang::En => {
            let mut v = vec![
                "Reply to this e-mail with one short line:".to_string(),
                "“YES partner” – you would like to join as a partner".to_string(),
                "“YES lead” – you can lead the application".to_string(),
                "“YES reference” – you join the reference group".to_string(),
                "“MAYBE” or “NO” are fine too. Add a comment on the same line if you like.".to_string(),
            ];
            if cards.len() > 1 {
                v.push(format!("Several calls in one reply: one line per call, e.g. “{example}: yes, partner”."));
            }
            v.push("Reply STOP (or STOPP) to receive no more of these e-mails.".into());
            v
        }
    }
}

/// The member notification: one or more new calls that fit the member.
pub fn member_notification(
    r: &Renderer,
    lang: Lang,
    partnership: &str,
    member_name: &str,
    cards: &[CallCard],
) -> Result<Rendered, MailError> {
    let subject = match (cards, lang) {
        ([one], Lang::Sv) => format!("[{}] Ny utlysning: {}", one.reference, one.title),
        ([one], Lang::En) => format!("[{}] New call: {}", one.reference, one.title),
        (many, Lang::Sv) => {
            format!("[{}] {} nya utlysningar som passar {}", refs(many), many.len(), member_name)
        }
        (many, Lang::En) => format!("[{}] {} new calls that fit {}", refs(many), many.len(), member_name),
    };
    let title = match (cards.len(), lang) {
        (1, Lang::Sv) => "En ny utlysning som kan passa er".to_string(),
        (_, Lang::Sv) => format!("{} nya utlysningar som kan passa er", cards.len()),
        (1, Lang::En) => "A new call that may fit you".to_string(),
        (_, Lang::En) => format!("{} new calls that may fit you", cards.len()),
    };
    let lead = match lang {
        Lang::Sv => format!(
            "Hej! {partnership} bevakar utlysningar åt sina medlemmar. {} {} inriktning – vill ni vara med i en gemensam ansökan?",
            if cards.len() == 1 { "Den här passar" } else { "De här passar" },
            crate::i18n::genitive_sv(member_name)
        ),
        Lang::En => format!(
            "Hello! {partnership} watches funding calls for its members. {} {member_name} – would you like to join a joint application?",
            if cards.len() == 1 { "This one fits" } else { "These fit" }
        ),
    };
    let footer = match lang {
        Lang::Sv => format!("Du får det här mejlet som kontaktperson för {member_name} i {partnership}. Svara STOPP så slutar vi skicka."),
        Lang::En => format!("You receive this e-mail as the contact for {member_name} in {partnership}. Reply STOP and we will stop."),
    };
    let ctx = context! {
        lang => lang.code(), title => title, lead => lead, partnership => partnership, footer => footer,
        t => strings(lang), calls => cards, how => how_to_answer(lang, cards),
    };
    Ok(Rendered { subject, text: r.render("member.txt", &ctx)?, html: r.render("member.html", &ctx)? })
}

fn refs(cards: &[CallCard]) -> String {
    cards.iter().map(|c| c.reference.as_str()).collect::<Vec<_>>().join(", ")
}

/// A deadline reminder, `days` before the deadline, to AU or to a member who said yes.
pub fn reminder(r: &Renderer, lang: Lang, partnership: &str, card: &CallCard, days: i64, to_member: bool) -> Result<Rendered, MailError> {
    let subject = match lang {
        Lang::Sv => format!("[{}] Påminnelse: {} dagar kvar – {}", card.reference, days, card.title),
        Lang::En => format!("[{}] Reminder: {} days left – {}", card.reference, days, card.title),
    };
    let title = match lang {
        Lang::Sv => format!("{days} dagar kvar till sista ansökningsdag"),
        Lang::En => format!("{days} days to the deadline"),
    };
    let lead = match (lang, to_member) {
        (Lang::Sv, true) => {
            "Ni har anmält intresse för den här utlysningen. Hör av er till AU om ni behöver hjälp att samordna ansökan.".to_string()
        }
        (Lang::Sv, false) => "Påminnelse till AU om en utlysning som närmar sig sista dag.".to_string(),
        (Lang::En, true) => "You declared interest in this call. Contact AU if you need help coordinating the application.".to_string(),
        (Lang::En, false) => "A reminder to AU about a call whose deadline is near.".to_string(),
    };
    let footer = match lang {
        Lang::Sv => format!("Skickat av {} bevakning.", crate::i18n::genitive_sv(partnership)),
        Lang::En => format!("Sent by {partnership}'s call watch."),
    };
    let ctx = context! {
        lang => lang.code(), title => title, lead => lead, partnership => partnership, footer => footer,
        t => strings(lang), calls => vec![card.clone()], how => Vec::<String>::new(),
    };
    Ok(Rendered { subject, text: r.render("member.txt", &ctx)?, html: r.render("member.html", &ctx)? })
}

/// The confirmation of an accepted reply: one line per recorded answer, e.g.
/// "PSI-0042 — ja, som partner".
pub fn confirmation(r: &Renderer, lang: Lang, partnership: &str, original_subject: &str, lines: &[String]) -> Result<Rendered, MailError> {
    let what = if lines.is_empty() { original_subject.to_string() } else { lines.join("; ") };
    let subject = match lang {
        Lang::Sv => format!("Tack! Vi har noterat: {what}"),
        Lang::En => format!("Thank you! We have recorded: {what}"),
    };
    let title = lang.pick("Tack för ditt svar!", "Thank you for your answer!").to_string();
    let footer = match lang {
        Lang::Sv => "Stämmer något inte? Svara på det här mejlet med rätt besked, så ersätter det det förra.".to_string(),
        Lang::En => "Something wrong? Reply to this e-mail with the right answer and it replaces the earlier one.".to_string(),
    };
    let ctx = context! {
        lang => lang.code(), title => title, lead => "", partnership => partnership, footer => footer,
        t => strings(lang), calls => Vec::<CallCard>::new(), how => lines,
        how_title => lang.pick("Vi har noterat", "We have recorded"),
    };
    Ok(Rendered { subject, text: r.render("member.txt", &ctx)?, html: r.render("member.html", &ctx)? })
}

/// Two contacts of one member answered a call differently: both are told,
/// with both answers, and that the latest counts until they settle it.
pub fn conflict_notice(
    r: &Renderer,
    lang: Lang,
    partnership: &str,
    org: &str,
    call: CallRef,
    lines: &[String],
) -> Result<Rendered, MailError> {
    let subject = match lang {
        Lang::Sv => format!("[{call}] Två olika svar från {org}"),
        Lang::En => format!("[{call}] Two different answers from {org}"),
    };
    let title = lang.pick("Två olika svar från er organisation", "Two different answers from your organisation").to_string();
    let lead = match lang {
        Lang::Sv => format!(
            "Vi har fått olika besked från två kontaktpersoner hos {org} om {call}. Vi räknar det senaste som {} besked tills ni har stämt av med varandra.",
            crate::i18n::genitive_sv(org)
        ),
        Lang::En => format!(
            "We have received different answers from two contacts at {org} about {call}. We count the latest as {org}'s answer until you have agreed between you."
        ),
    };
    let footer = match lang {
        Lang::Sv => format!("Svara på det här mejlet med «{call}: ja, partner» eller «{call}: nej» när ni är överens, så gäller det."),
        Lang::En => format!("Reply to this e-mail with “{call}: yes, partner” or “{call}: no” once you agree, and that counts."),
    };
    let ctx = context! {
        lang => lang.code(), title => title, lead => lead, partnership => partnership, footer => footer,
        t => strings(lang), calls => Vec::<CallCard>::new(), how => lines,
        how_title => lang.pick("Svaren vi har fått", "The answers we received"),
    };
    Ok(Rendered { subject, text: r.render("member.txt", &ctx)?, html: r.render("member.html", &ctx)? })
}

/// A person who is a contact of several members answered without it being
/// clear for which: asked to answer the mail of that organisation.
pub fn which_member(r: &Renderer, lang: Lang, partnership: &str, orgs: &[String]) -> Result<Rendered, MailError> {
    let subject = lang.pick("Vilken organisation gäller ditt svar?", "Which organisation is your answer for?").to_string();
    let lead = match lang {
        Lang::Sv => format!(
            "Tack för ditt svar! Du är kontaktperson för {} hos oss, och vi kan inte se vilken av dem svaret gäller. Svara på det mejl från oss som gällde den organisationen (utlysningsmejlet), så knyts svaret rätt. Tills dess ligger det hos arbetsutskottet, som också kan föra över det.",
            orgs.join(lang.pick(" och ", " and "))
        ),
        Lang::En => format!(
            "Thank you for your answer! You are a contact for {} with us, and we cannot tell which one your answer is for. Reply to the e-mail from us about that organisation (the call notification) and the answer is tied to it. Until then it waits with the working committee, which can also move it over.",
            orgs.join(" and ")
        ),
    };
    let footer =
        lang.pick("Svara STOPP om du inte vill få fler mejl om nya utlysningar.", "Reply STOP to receive no more e-mails about new calls.");
    let ctx = context! {
        lang => lang.code(), title => subject.clone(), lead => lead, partnership => partnership, footer => footer,
        t => strings(lang), calls => Vec::<CallCard>::new(), how => orgs,
        how_title => lang.pick("Organisationer", "Organisations"),
    };
    Ok(Rendered { subject, text: r.render("member.txt", &ctx)?, html: r.render("member.html", &ctx)? })
}

/// The line a member copies to answer one call: "PSI-0042: ja, partner",
/// in the words the parser reads (DESIGN.md §6).
pub fn copy_line(call: CallRef, intent: Intent, role: Option<Role>, lang: Lang) -> String {
    let role = role.filter(|_| intent != Intent::No).map(|r| match r {
        Role::Lead => lang.pick("projektägare", "lead"),
        Role::Partner => "partner",
        Role::Reference => lang.pick("referensgrupp", "reference"),
    });
    match role {
        Some(r) => format!("{call}: {}, {r}", intent.label(lang)),
        None => format!("{call}: {}", intent.label(lang)),
    }
}

/// The ask-back: a member answered a mail about several calls without
/// saying which. `said` is their answer as we read it ("ja, som partner"),
/// `cards` the calls of the mail they answered, one copy line each.
pub fn ask_back(
    r: &Renderer,
    lang: Lang,
    partnership: &str,
    said: &str,
    cards: &[CallCard],
    lines: &[String],
    days: u32,
) -> Result<Rendered, MailError> {
    let refs = refs(cards);
    let subject = match lang {
        Lang::Sv => format!("[{refs}] Vilken utlysning gäller ditt svar?"),
        Lang::En => format!("[{refs}] Which call is your answer about?"),
    };
    let title = lang.pick("Vilken utlysning gäller ditt svar?", "Which call is your answer about?").to_string();
    let lead = match lang {
        Lang::Sv => format!(
            "Tack för ditt svar («{said}»)! Mejlet du svarade på handlade om {} utlysningar, så vi vet inte vilken du menar. Kopiera raden för den utlysning du svarar på (eller flera rader) och skicka den som svar på det här mejlet.",
            cards.len()
        ),
        Lang::En => format!(
            "Thank you for your answer (“{said}”)! The e-mail you answered was about {} calls, so we do not know which one you mean. Copy the line for the call you are answering (or several lines) and send it as a reply to this e-mail.",
            cards.len()
        ),
    };
    let footer = match lang {
        Lang::Sv => format!("Ditt svar väntar hos oss i {days} dagar. Svara STOPP om du inte vill få fler mejl om nya utlysningar."),
        Lang::En => format!("Your answer waits with us for {days} days. Reply STOP to receive no more e-mails about new calls."),
    };
    let ctx = context! {
        lang => lang.code(), title => title, lead => lead, partnership => partnership, footer => footer,
        t => strings(lang), calls => cards, how => lines,
        how_title => lang.pick("Rader att kopiera", "Lines to copy"),
    };
    Ok(Rendered { subject, text: r.render("member.txt", &ctx)?, html: r.render("member.html", &ctx)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(n: u32) -> CallCard {
        CallCard { reference: format!("PSI-{n:04}"), title: format!("Utlysning {n}"), ..Default::default() }
    }

    #[test]
    fn the_member_and_partnership_take_a_swedish_genitive() {
        let r = Renderer::new().unwrap();
        let m = member_notification(&r, Lang::Sv, "PSI", "Karlskoga Energi & Miljö AB", &[card(42)]).unwrap();
        assert!(m.text.contains("Karlskoga Energi & Miljö AB:s inriktning"), "{}", m.text);
        assert!(!m.text.contains("ABs"), "{}", m.text);
        let a = member_notification(&r, Lang::Sv, "PSI", "Stiftelsen Activa", &[card(42)]).unwrap();
        assert!(a.text.contains("Stiftelsen Activas inriktning"), "{}", a.text);
        let k = CallCard { reference: "PSI-0042".into(), title: "U".into(), ..Default::default() };
        let rem = reminder(&r, Lang::Sv, "PSI", &k, 3, true).unwrap();
        assert!(rem.text.contains("Skickat av PSI:s bevakning."), "{}", rem.text);
    }

    #[test]
    fn single_call_subject_and_how_to_answer() {
        let r = Renderer::new().unwrap();
        let m = member_notification(&r, Lang::Sv, "PSI", "Stiftelsen Activa", &[card(42)]).unwrap();
        assert_eq!(m.subject, "[PSI-0042] Ny utlysning: Utlysning 42");
        assert!(m.text.contains("«JA partner»"));
        assert!(m.text.contains("STOPP"));
        assert!(m.html.contains("JA projektägare"));
    }

    #[test]
    fn ask_back_lists_the_calls_with_lines_to_copy() {
        let r = Renderer::new().unwrap();
        let lines: Vec<String> = [42, 43].iter().map(|n| copy_line(CallRef(*n), Intent::Yes, Some(Role::Partner), Lang::Sv)).collect();
        assert_eq!(lines[0], "PSI-0042: ja, partner");
        let m = ask_back(&r, Lang::Sv, "PSI", "ja, som partner", &[card(42), card(43)], &lines, 14).unwrap();
        assert_eq!(m.subject, "[PSI-0042, PSI-0043] Vilken utlysning gäller ditt svar?");
        assert!(m.text.contains("PSI-0042: ja, partner") && m.text.contains("PSI-0043: ja, partner"), "{}", m.text);
        assert!(m.text.contains("Utlysning 43") && m.text.contains("14 dagar"), "{}", m.text);
        assert_eq!(copy_line(CallRef(7), Intent::No, Some(Role::Lead), Lang::Sv), "PSI-0007: nej");
        assert_eq!(copy_line(CallRef(7), Intent::Maybe, Some(Role::Lead), Lang::En), "PSI-0007: maybe, lead");
        let e = ask_back(&r, Lang::En, "PSI", "yes", &[card(42), card(43)], &lines, 14).unwrap();
        assert!(e.subject.ends_with("Which call is your answer about?"));
    }

    #[test]
    fn bundled_calls_explain_one_line_per_call() {
        let r = Renderer::new().unwrap();
        let m = member_notification(&r, Lang::Sv, "PSI", "Verdandi", &[card(42), card(43)]).unwrap();
        assert!(m.subject.starts_with("[PSI-0042, PSI-0043] 2 nya utlysningar"), "{}", m.subject);
        assert!(m.text.contains("PSI-0042: ja, partner"));
        let e = member_notification(&r, Lang::En, "PSI", "Verdandi", &[card(42)]).unwrap();
        assert!(e.subject.starts_with("[PSI-0042] New call"));
    }
}
