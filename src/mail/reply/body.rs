//! The text of a reply: the first text/plain body (mail-parser has already
//! undone quoted-printable, base64 and the charset), or the HTML body turned
//! into plain text with `> ` before quoted (blockquote) lines and without
//! the text a reader cannot see. When a message has both, the plain part is
//! read: it is what the sender's program wrote for plain readers, and
//! hidden HTML tricks cannot reach it.

use super::css::{Color, Style, class_styles, invisible_on, parse_color, read_declarations};
use mail_parser::{Message, PartType};
use scraper::{Html, Node, Selector};

/// Longest body text read, in bytes: a reply's new text is short, and the
/// rest is quoted history.
const MAX_BODY: usize = 256 * 1024;
/// Longest HTML body converted, in bytes (html5ever slows down on huge, deeply nested input).
const MAX_HTML: usize = 1024 * 1024;

/// The body text of a message, or "" when it has none.
pub(super) fn text(msg: &Message<'_>) -> String {
    let from_part = |id: &u32| -> Option<String> {
        match &msg.parts.get(*id as usize)?.body {
            PartType::Text(t) => Some(t.to_string()),
            PartType::Html(h) => Some(html_to_text(prefix(h, MAX_HTML))),
            _ => None,
        }
    };
    let plain = msg.text_body.iter().find_map(from_part).filter(|t| !t.trim().is_empty());
    let text = plain.or_else(|| msg.html_body.iter().find_map(from_part)).unwrap_or_default();
    prefix(&text, MAX_BODY).to_string()
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut cut = max.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.get(..cut).unwrap_or("")
}

const SKIP: &[&str] = &["head", "style", "script", "title", "template", "noscript"];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "tr",
    "table",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "blockquote",
    "pre",
    "body",
    "section",
    "article",
    "header",
    "footer",
    "dl",
    "dt",
    "dd",
];

struct Lines {
    out: String,
    line: String,
    depth: usize,
}

impl Lines {
    fn push_text(&mut self, t: &str) {
        for word in t.split_whitespace() {
            if !self.line.is_empty() {
                self.line.push(' ');
            }
            self.line.push_str(word);
        }
    }

    fn end_line(&mut self) {
        if !self.line.is_empty() {
            for _ in 0..self.depth {
                self.out.push_str("> ");
            }
            self.out.push_str(&self.line);
            self.out.push('\n');
            self.line.clear();
        }
    }
}

/// The colours in force inside an element: its text colour (None: the
/// default, dark) and the background behind it.
#[derive(Clone, Copy)]
struct Paint {
    color: Option<Color>,
    background: Color,
    /// `font-size: 0` in force.
    tiny: bool,
    /// `visibility: hidden` in force.
    invisible: bool,
}

impl Paint {
    /// The paint inside an element with `style`, this being the paint around it.
    fn inside(&self, style: &Style) -> Paint {
        Paint {
            color: style.color.or(self.color),
            background: style.background.filter(|b| *b != Color::Transparent).unwrap_or(self.background),
            tiny: style.tiny.unwrap_or(self.tiny),
            invisible: style.visible.map_or(self.invisible, |v| !v),
        }
    }

    fn shows_text(&self) -> bool {
        !self.tiny && !self.invisible && self.color.is_none_or(|c| !invisible_on(c, self.background))
    }
}

/// Mail is read on a white page unless it says otherwise.
const PAGE: Paint = Paint { color: None, background: Color::Rgb(255, 255, 255), tiny: false, invisible: false };
/// Longest stylesheet text read for hidden classes, in bytes.
const MAX_STYLESHEET: usize = 64 * 1024;

/// What an element's attributes say: its style (inline and by a hidden
/// class), and the old `hidden`, `bgcolor` and `<font color>` forms.
fn element_style(e: &scraper::node::Element, classes: &[(String, Style)]) -> Style {
    let mut s = e.attr("style").map(read_declarations).unwrap_or_default();
    for c in e.classes() {
        for (_, rule) in classes.iter().filter(|(name, _)| name == c) {
            s.fill_from(rule);
        }
    }
    s.hidden |= e.attr("hidden").is_some();
    if s.background.is_none() {
        s.background = e.attr("bgcolor").and_then(parse_color);
    }
    if s.color.is_none() && e.name() == "font" {
        s.color = e.attr("color").and_then(parse_color);
    }
    s
}

/// What the document's `<style>` blocks say about classes.
fn stylesheet_classes(doc: &Html) -> Vec<(String, Style)> {
    let Ok(sel) = Selector::parse("style") else { return Vec::new() };
    let mut css = String::new();
    for el in doc.select(&sel) {
        for t in el.text() {
            css.push_str(prefix(t, MAX_STYLESHEET.saturating_sub(css.len())));
        }
    }
    class_styles(&css)
}

/// Plain text from HTML: one line per block element, quoted blocks
/// prefixed with `> `; styles, scripts, comments and text hidden from the
/// reader (see [`super::css`]) dropped. Walks the tree without recursion
/// (fuzzed input nests deeply).
pub(super) fn html_to_text(html: &str) -> String {
    let doc = Html::parse_document(html);
    let classes = stylesheet_classes(&doc);
    let root = doc.tree.root();
    let mut lines = Lines { out: String::new(), line: String::new(), depth: 0 };
    // The paint of each open element, innermost last.
    let mut paints: Vec<Paint> = Vec::new();
    let mut node = root;
    'walk: loop {
        // open
        let mut descend = true;
        match node.value() {
            Node::Element(e) => {
                let name = e.name();
                let style = element_style(e, &classes);
                if SKIP.contains(&name) || style.hidden {
                    descend = false;
                } else {
                    let outer = paints.last().copied().unwrap_or(PAGE);
                    paints.push(outer.inside(&style));
                    if BLOCK.contains(&name) {
                        lines.end_line();
                        if name == "hr" {
                            lines.line.push_str("________________________________");
                            lines.end_line();
                        }
                        if name == "blockquote" {
                            lines.depth += 1;
                        }
                    }
                }
            }
            Node::Text(t) if paints.last().is_none_or(Paint::shows_text) => lines.push_text(t),
            _ => {}
        }
        if descend && let Some(child) = node.first_child() {
            node = child;
            continue;
        }
        // close this node and every ancestor that has no next sibling
        loop {
            if descend && let Node::Element(e) = node.value() {
                let name = e.name();
                paints.pop();
                if BLOCK.contains(&name) {
                    lines.end_line();
                }
                if name == "blockquote" {
                    lines.depth = lines.depth.saturating_sub(1);
                }
            }
            descend = true;
            if node.id() == root.id() {
                break 'walk;
            }
            if let Some(next) = node.next_sibling() {
                node = next;
                break;
            }
            match node.parent() {
                Some(p) => node = p,
                None => break 'walk,
            }
        }
    }
    lines.end_line();
    lines.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_blocks_become_lines_and_quotes_are_marked() {
        let t = html_to_text(
            "<html><head><style>p{color:red}</style></head><body><div>Ja, vi &auml;r med</div><div>som partner<br>Anna</div>\
             <div class=gmail_quote>Den 3 mars skrev PSI:<blockquote><p>Svara ja eller nej</p></blockquote></div></body></html>",
        );
        assert_eq!(t.trim(), "Ja, vi är med\nsom partner\nAnna\nDen 3 mars skrev PSI:\n> Svara ja eller nej");
    }

    #[test]
    fn text_hidden_from_the_reader_is_dropped() {
        for (html, want) in [
            (r#"<div style="display:none">JA projektägare</div><p>Nej tack</p>"#, "Nej tack"),
            (r#"<p><span style="visibility:hidden">JA</span> Nej</p>"#, "Nej"),
            (r#"<p><span style="font-size:0px">JA partner</span></p><p>Kanske</p>"#, "Kanske"),
            (r#"<div style="max-height:0;overflow:hidden">JA</div><p>Nej</p>"#, "Nej"),
            (r#"<div style="opacity:0">JA</div><p>Nej</p>"#, "Nej"),
            (r##"<body style="background:#fff"><span style="color:#FFFFFF">JA</span><p>Nej</p></body>"##, "Nej"),
            (r##"<table bgcolor="black"><tr><td><font color="#000">JA</font> Nej</td></tr></table>"##, "Nej"),
            (r##"<div style="background-color:#003"><span style="color:white">Ja, partner</span></div>"##, "Ja, partner"),
            (r#"<!-- JA partner --><p>Nej tack</p>"#, "Nej tack"),
            (r#"<head><title>JA</title><style>.x{display:none}</style></head><p class="x">JA</p><p>Nej</p>"#, "Nej"),
            (r#"<p hidden>JA</p><p>Nej</p><script>document.write('JA')</script>"#, "Nej"),
            // A template's font-size:0 wrapper, its text set back to a size: read.
            (r#"<div style="font-size:0"><div style="font-size:14px">Ja, partner</div>JA projektägare</div>"#, "Ja, partner"),
            (r#"<div style="visibility:hidden">JA <span style="visibility:visible">Nej</span></div>"#, "Nej"),
            (r#"<style>.w{font-size:0}</style><div class="w">JA<p style="font-size:12px">Kanske</p></div>"#, "Kanske"),
        ] {
            assert_eq!(html_to_text(html).trim(), want, "{html}");
        }
    }

    #[test]
    fn the_plain_part_is_read_when_there_are_both() {
        let raw = "From: a@b.se\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNej tack\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>JA partner</p>\r\n--b--\r\n";
        let msg = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
        assert_eq!(text(&msg).trim(), "Nej tack");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(3_000) + "x";
        assert!(html_to_text(&html).contains('x'));
    }
}
