//! Mail, rendering: minijinja templates compiled into the binary (HTML with
//! inline CSS and table layout for phones and Outlook, and a plain-text
//! twin), with every value auto-escaped in HTML.

use super::MailError;
use crate::domain::Lang;
use minijinja::Environment;
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATES: [(&str, &str); 7] = [
    ("base_open.html", include_str!("templates/base_open.html")),
    ("base_close.html", include_str!("templates/base_close.html")),
    ("call_card.html", include_str!("templates/call_card.html")),
    ("digest.html", include_str!("templates/digest.html")),
    ("digest.txt", include_str!("templates/digest.txt")),
    ("member.html", include_str!("templates/member.html")),
    ("member.txt", include_str!("templates/member.txt")),
];

/// The template environment.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub fn new() -> Result<Renderer, MailError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        for (name, src) in TEMPLATES {
            env.add_template(name, src).map_err(|e| MailError::Template { name: name.into(), message: e.to_string() })?;
        }
        Ok(Renderer { env })
    }

    /// Render `name` with `ctx`; HTML templates escape every value.
    pub fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<String, MailError> {
        let tmpl = self.env.get_template(name).map_err(|e| MailError::Template { name: name.into(), message: e.to_string() })?;
        let out = tmpl.render(ctx).map_err(|e| MailError::Template { name: name.into(), message: format!("{e:#}") })?;
        Ok(tidy_text(name, out))
    }
}

/// Plain-text output: no runs of blank lines, no trailing spaces.
fn tidy_text(name: &str, s: String) -> String {
    if !name.ends_with(".txt") {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = if line == "-- " { line } else { line.trim_end() };
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_start_matches('\n').to_string()
}

/// The fixed words of every template, in `lang`.
pub fn strings(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    let pairs: [(&str, &str, &str); 15] = [
        ("deadline", "Sista dag", "Deadline"),
        ("why", "Varför", "Why"),
        ("fits", "Passar", "Fits"),
        ("proposal", "Förslag", "Proposal"),
        ("answered", "Svar", "Answers"),
        ("watched", "BEVAKAS", "WATCHED"),
        ("deadlines_soon", "Deadlines inom 30 dagar", "Deadlines within 30 days"),
        ("no_news", "Inga nya eller ändrade utlysningar denna vecka.", "No new or changed calls this week."),
        ("answers_week", "Svar från medlemmar denna vecka", "Answers from members this week"),
        ("forming", "Förslag till gemensamma ansökningar", "Proposed joint applications"),
        ("conflicts", "Olika svar från samma medlem (det senaste gäller)", "Different answers from one member (the latest counts)"),
        ("held", "Svar som väntar på AU (okänd avsändare eller oläsliga)", "Replies waiting for AU (unknown sender or unreadable)"),
        ("failed_mail", "Utskick som inte gick fram", "Mail that could not be delivered"),
        ("how_title", "Så svarar du", "How to answer"),
        ("other", "Övriga utlysningar", "Other calls"),
    ];
    pairs.into_iter().map(|(k, sv, en)| (k, lang.pick(sv, en))).collect()
}

/// One call as a card in a digest or notification. All text here comes from
/// the web or the database: the HTML templates escape it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CallCard {
    pub reference: String,
    pub title: String,
    pub url: String,
    pub funder: String,
    pub deadline: Option<String>,
    pub days_left: Option<String>,
    pub summary: String,
    pub badge: Option<String>,
    pub change: Option<String>,
    pub why: Option<String>,
    /// The call's rules in one line: "Vem kan söka: kommuner · Örebro län: ja · medfinansiering 20 %".
    pub rules: Option<String>,
    pub members: Vec<String>,
    pub proposal: Option<String>,
    pub answers: Vec<String>,
    pub watched: bool,
}

/// A one-line summary of a long text: its first sentence, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = match flat.find(". ") {
        Some(i) if i >= 40 => &flat[..=i],
        _ => flat.as_str(),
    };
    if first.chars().count() <= max {
        return first.to_string();
    }
    let cut: String = first.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => cut[..i].to_string(),
        _ => cut,
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_web_text() {
        let r = Renderer::new().unwrap();
        let card = CallCard { reference: "PSI-0001".into(), title: "<script>alert(1)</script> & co".into(), ..Default::default() };
        let ctx = minijinja::context! { lang => "sv", title => "T", partnership => "PSI", lead => "", footer => "f", t => strings(Lang::Sv), calls => vec![card], how => Vec::<String>::new() };
        let html = r.render("member.html", &ctx).unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; co"), "{html}");
        assert!(!html.contains("<script>"));
        let txt = r.render("member.txt", &ctx).unwrap();
        assert!(txt.contains("<script>alert(1)</script> & co"));
    }

    #[test]
    fn one_line_cuts_at_sentence_or_word() {
        assert_eq!(one_line("Kort text.", 50), "Kort text.");
        let s = "Utlysningen riktar sig till idéburna organisationer i hela landet. Mer text följer här.";
        assert_eq!(one_line(s, 200), "Utlysningen riktar sig till idéburna organisationer i hela landet.");
        assert_eq!(one_line(s, 30), "Utlysningen riktar sig till…");
    }
}
