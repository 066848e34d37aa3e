//! The text of a reply: the first text/plain body (mail-parser has already
//! undone quoted-printable, base64 and the charset), or the HTML body turned
//! into plain text with `> ` before quoted (blockquote) lines.

use mail_parser::{Message, PartType};
use scraper::{Html, Node};

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

/// Plain text from HTML: one line per block element, quoted blocks
/// prefixed with `> `, styles and scripts dropped. Walks the tree without
/// recursion (fuzzed input nests deeply).
pub(super) fn html_to_text(html: &str) -> String {
    let doc = Html::parse_document(html);
    let root = doc.tree.root();
    let mut lines = Lines { out: String::new(), line: String::new(), depth: 0 };
    let mut node = root;
    'walk: loop {
        // open
        let mut descend = true;
        match node.value() {
            Node::Element(e) => {
                let name = e.name();
                if SKIP.contains(&name) {
                    descend = false;
                } else if BLOCK.contains(&name) {
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
            Node::Text(t) => lines.push_text(t),
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
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(3_000) + "x";
        assert!(html_to_text(&html).contains('x'));
    }
}
