//! Sources → adapters: funders' HTML listing pages, read with per-source CSS
//! selectors (scraper). Pure: one page's bytes → `RawCall`s and the next
//! page's link. A page where the selectors match nothing is an error (the
//! layout has changed), never "no calls". A page beyond the [`PAGE_BUDGET`]
//! (too large, too deeply nested, too many elements) is refused before it is
//! parsed: html5ever's tree building is quadratic in nesting depth (200,000
//! nested `<div>`s took 170 s) and a DOM costs far more than its bytes.

use super::AdapterError;
use super::dates::{DateInfo, parse_date_text};
use crate::domain::{CallStatus, RawCall};
use chrono_tz::Tz;
use reqwest::Url;
use scraper::{ElementRef, Html, Selector};

/// The CSS selectors for one source (see `config/sources.toml`). All but
/// `item` and `next_page` are relative to an item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HtmlSelectors {
    pub item: String,
    pub title: String,
    /// Element with the `href`; default: the title's link, else the first `a`.
    pub link: Option<String>,
    pub deadline: Option<String>,
    pub summary: Option<String>,
    /// Link to the next listing page (whole page).
    pub next_page: Option<String>,
    /// On the detail page: the element holding the description.
    pub detail: Option<String>,
}

/// One listing page read.
#[derive(Debug, Clone, Default)]
pub struct HtmlListing {
    pub calls: Vec<RawCall>,
    pub next_page: Option<String>,
    /// Items beyond [`MAX_ITEMS`], not read.
    pub unread: usize,
}

/// What a page may be before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageBudget {
    pub max_bytes: usize,
    /// Open elements inside one another. Browsers stop nesting at 512
    /// (Blink); real listing pages stay below 50.
    pub max_depth: usize,
    /// Start tags. A funder's listing or call page has a few thousand; a
    /// parsed page costs about 400 bytes an element with its text (a 2.5 MB
    /// listing of 60,000 elements: some 25 MB), and the daemon's whole poll
    /// should stay under 50 MB: 20,000 is some 8 MB.
    pub max_elements: usize,
}

/// The budget every page is held to.
pub const PAGE_BUDGET: PageBudget = PageBudget { max_bytes: 4 * 1024 * 1024, max_depth: 512, max_elements: 20_000 };

/// What the pre-scan saw of a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageShape {
    pub elements: usize,
    pub depth: usize,
}

/// Check a page against `budget` without parsing it.
pub fn check_page(bytes: &[u8], budget: &PageBudget) -> Result<PageShape, AdapterError> {
    if bytes.len() > budget.max_bytes {
        return Err(AdapterError::PageTooLarge { bytes: bytes.len(), limit: budget.max_bytes });
    }
    let shape = page_shape(bytes, budget);
    if shape.depth > budget.max_depth {
        return Err(AdapterError::PageTooDeep { limit: budget.max_depth });
    }
    if shape.elements > budget.max_elements {
        return Err(AdapterError::PageTooManyElements { limit: budget.max_elements });
    }
    Ok(shape)
}

/// Elements that never hold others (no end tag).
const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr"];
/// Elements a parser closes by itself when the next one starts (`<li>`
/// after `<li>`), so they do not nest however often they are left open.
const SELF_CLOSING: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rtc",
    "rp", "html", "head", "body",
];
/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"];

/// Count start tags and the deepest nesting of elements, the way a parser
/// would nest them, in one pass over the bytes (any ASCII-compatible
/// charset); stops early once past `budget`. An approximation by design:
/// it only has to tell a real page from a hostile one.
pub fn page_shape(bytes: &[u8], budget: &PageBudget) -> PageShape {
    let mut shape = PageShape::default();
    let (mut depth, mut foreign) = (0usize, 0usize);
    let mut i = 0;
    while let Some(off) = bytes.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'<')) {
        i += off + 1;
        let rest = &bytes[i..];
        if rest.starts_with(b"!--") {
            i += find(&rest[3..], b"-->").map_or(rest.len(), |p| p + 6);
            continue;
        }
        if matches!(rest.first(), Some(b'!' | b'?')) {
            i += find(rest, b">").map_or(rest.len(), |p| p + 1);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = usize::from(closing);
        let name_len = rest[name_start..].iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_')).count();
        if name_len == 0 || !rest[name_start].is_ascii_alphabetic() {
            continue; // a '<' in text
        }
        let name = String::from_utf8_lossy(&rest[name_start..name_start + name_len]).to_ascii_lowercase();
        let (tag_len, self_closed) = tag_end(&rest[name_start + name_len..]);
        i += name_start + name_len + tag_len;
        let nests = !VOID.contains(&name.as_str()) && !SELF_CLOSING.contains(&name.as_str());
        let is_foreign = name == "svg" || name == "math";
        if closing {
            depth = depth.saturating_sub(usize::from(nests));
            foreign = foreign.saturating_sub(usize::from(is_foreign));
            continue;
        }
        shape.elements += 1;
        if RAW_TEXT.contains(&name.as_str()) {
            // Skip the text and the end tag: nothing in between is markup.
            let end = format!("</{name}");
            i += find_ignore_case(&bytes[i..], end.as_bytes()).map_or(bytes.len() - i, |p| p + end.len());
            i += tag_end(&bytes[i..]).0;
            continue;
        }
        // `<div/>` opens a div in HTML; only inside SVG and MathML does `/>` close.
        if nests && !(self_closed && foreign > 0) {
            depth += 1;
            foreign += usize::from(is_foreign);
            shape.depth = shape.depth.max(depth);
        }
        if shape.depth > budget.max_depth || shape.elements > budget.max_elements {
            break;
        }
    }
    shape
}

/// The length of a tag's rest up to and including its `>` (quoted
/// attribute values may hold one), and whether it ends in `/>`.
fn tag_end(rest: &[u8]) -> (usize, bool) {
    let mut quote = None;
    for (k, &b) in rest.iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return (k + 1, k > 0 && rest[k - 1] == b'/'),
            _ => {}
        }
    }
    (rest.len(), false)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

/// Parse a CSS selector, naming it in the error.
pub fn selector(s: &str) -> Result<Selector, AdapterError> {
    Selector::parse(s).map_err(|e| AdapterError::Selector { selector: s.to_string(), reason: e.to_string() })
}

/// An HTML page as text: UTF-8 when it is valid UTF-8, else the charset its
/// `<meta>` names, else Windows-1252 (the superset of ISO-8859-1 that older
/// Swedish pages use), so "för år" survives either way.
pub fn decode_html(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return std::borrow::Cow::Borrowed(s);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).to_ascii_lowercase();
    let label = head.split("charset=").nth(1).map(|rest| {
        rest.trim_start_matches(['"', '\''])
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .next()
            .unwrap_or("")
            .to_string()
    });
    let enc = label.and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes())).unwrap_or(encoding_rs::WINDOWS_1252);
    let (text, _, _) = enc.decode(bytes);
    std::borrow::Cow::Owned(text.into_owned())
}

/// Calls read from one listing page; a page listing more (a real one lists
/// tens) is read that far and says so ([`HtmlListing::unread`]): every call
/// read is held in memory until the poll stores it.
pub const MAX_ITEMS: usize = 500;
/// A title or summary longer than this (bytes) is cut: nothing a person reads is longer.
pub const MAX_FIELD: usize = 2_000;
/// A detail page's text longer than this (bytes) is cut: a call's own page says
/// what matters in a few pages of text, and the text is held until stored.
pub const MAX_TEXT: usize = 16 * 1024;

/// Read one listing page. `page_url` resolves relative links.
pub fn parse_listing(bytes: &[u8], page_url: &str, sel: &HtmlSelectors, tz: Tz) -> Result<HtmlListing, AdapterError> {
    check_page(bytes, &PAGE_BUDGET)?;
    let text = decode_html(bytes);
    let base = Url::parse(page_url).map_err(|e| AdapterError::Invalid(format!("sidans adress «{page_url}»: {e}")))?;
    let doc = Html::parse_document(text.as_ref());
    let item_sel = selector(&sel.item)?;
    let reader = ItemReader::new(sel, &base, page_url, tz)?;
    let items: Vec<ElementRef> = doc.select(&item_sel).collect();
    if items.is_empty() {
        return Err(AdapterError::NoMatch { selector: sel.item.clone(), what: "item" });
    }
    let mut out = HtmlListing { unread: items.len().saturating_sub(MAX_ITEMS), ..HtmlListing::default() };
    out.calls = items.iter().take(MAX_ITEMS).filter_map(|item| reader.read(item)).collect();
    if out.calls.is_empty() {
        return Err(AdapterError::NoMatch { selector: sel.title.clone(), what: "title" });
    }
    if let Some(next) = sel.next_page.as_deref() {
        let next_sel = selector(next)?;
        out.next_page = doc
            .select(&next_sel)
            .next()
            .and_then(|e| e.value().attr("href"))
            .and_then(|h| base.join(h.trim()).ok())
            .map(String::from)
            .filter(|u| u != page_url);
    }
    Ok(out)
}

/// The selectors within an item, compiled once per page.
struct ItemReader<'a> {
    title: Selector,
    link: Option<Selector>,
    deadline: Option<Selector>,
    summary: Option<Selector>,
    any_link: Selector,
    base: &'a Url,
    page_url: &'a str,
    tz: Tz,
}

impl<'a> ItemReader<'a> {
    fn new(sel: &HtmlSelectors, base: &'a Url, page_url: &'a str, tz: Tz) -> Result<ItemReader<'a>, AdapterError> {
        Ok(ItemReader {
            title: selector(&sel.title)?,
            link: sel.link.as_deref().map(selector).transpose()?,
            deadline: sel.deadline.as_deref().map(selector).transpose()?,
            summary: sel.summary.as_deref().map(selector).transpose()?,
            any_link: selector("a[href]")?,
            base,
            page_url,
            tz,
        })
    }

    /// One item as a call; `None` without a title.
    fn read(&self, item: &ElementRef) -> Option<RawCall> {
        let title_el = item.select(&self.title).next()?;
        let title = clip(element_text(&title_el), MAX_FIELD);
        if title.is_empty() {
            return None;
        }
        let href = self
            .link
            .as_ref()
            .and_then(|s| item.select(s).next())
            .and_then(|e| e.value().attr("href"))
            .or_else(|| title_el.value().attr("href"))
            .or_else(|| title_el.select(&self.any_link).next().and_then(|e| e.value().attr("href")))
            .or_else(|| item.select(&self.any_link).next().and_then(|e| e.value().attr("href")));
        let url = href.and_then(|h| self.base.join(h.trim()).ok()).map(String::from).unwrap_or_else(|| self.page_url.to_string());
        let mut raw = RawCall {
            source_key: if href.is_some() { url.clone() } else { title.clone() },
            title,
            url,
            summary: self
                .summary
                .as_ref()
                .and_then(|s| item.select(s).next())
                .map(|e| clip(element_text(&e), MAX_FIELD))
                .filter(|s| !s.is_empty()),
            ..RawCall::default()
        };
        if let Some(dtext) = self.deadline.as_ref().and_then(|s| item.select(s).next()).map(|e| clip(element_text(&e), MAX_FIELD)) {
            self.read_deadline(&dtext, &mut raw);
        }
        Some(raw)
    }

    fn read_deadline(&self, text: &str, raw: &mut RawCall) {
        let tz = self.tz;
        match parse_date_text(text) {
            Some(DateInfo::Rolling) => raw.status = Some(CallStatus::Rolling),
            Some(DateInfo::Closed { date }) => {
                raw.status = Some(CallStatus::Closed);
                raw.deadlines.extend(date.map(|d| crate::domain::Deadline::end_of_day(d, tz)));
            }
            Some(DateInfo::Opens { date }) => {
                raw.status = Some(CallStatus::Forthcoming);
                raw.opens = crate::domain::Deadline::local(date, chrono::NaiveTime::MIN, tz).at.into();
            }
            Some(info) => raw.deadlines.extend(info.deadline(tz)),
            None => {}
        }
    }
}

/// `s` cut to at most `max` bytes, at a character boundary, its spare
/// capacity given back (a cut text is kept until the poll stores it).
pub fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.shrink_to_fit();
    }
    s
}

/// Read a detail page's description (`None` when the selector finds nothing).
pub fn parse_detail(bytes: &[u8], detail_selector: &str) -> Result<Option<String>, AdapterError> {
    check_page(bytes, &PAGE_BUDGET)?;
    let text = decode_html(bytes);
    let text = text.as_ref();
    let sel = selector(detail_selector)?;
    let doc = Html::parse_document(text);
    Ok(doc.select(&sel).next().map(|e| block_text_upto(&e, MAX_TEXT)).filter(|s| !s.is_empty()))
}

/// An element's text on one line, whitespace collapsed.
pub fn element_text(e: &ElementRef) -> String {
    e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An element's text with paragraphs kept as lines.
pub fn block_text(e: &ElementRef) -> String {
    block_text_upto(e, usize::MAX)
}

/// The same, at most `max` bytes; collecting stops at twice that much raw
/// text (whitespace collapses), so a long page is not copied whole.
pub fn block_text_upto(e: &ElementRef, max: usize) -> String {
    let mut out = String::new();
    for node in e.descendants() {
        if out.len() > max.saturating_mul(2) {
            break;
        }
        match node.value() {
            scraper::Node::Text(t) => out.push_str(t),
            scraper::Node::Element(el) if is_block(el.name()) => out.push('\n'),
            _ => {}
        }
    }
    clip(tidy_lines(&out), max)
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br" | "div" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr" | "table" | "section" | "article"
    )
}

/// Collapse whitespace within lines; drop empty lines.
pub fn tidy_lines(s: &str) -> String {
    s.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// HTML (or text with entities) → plain text, paragraphs as lines. Markup
/// beyond the page budget (a feed's summary can hold anything) is not
/// parsed: its tags are cut out instead.
pub fn strip_tags(s: &str) -> String {
    if !s.contains(['<', '&']) {
        return tidy_lines(s);
    }
    if check_page(s.as_bytes(), &PAGE_BUDGET).is_err() {
        return cut_tags(s);
    }
    let frag = Html::parse_fragment(s);
    block_text(&frag.root_element())
}

/// Text outside `<…>`, whitespace collapsed (entities stay as written).
fn cut_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(64 * 1024));
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    tidy_lines(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sels() -> HtmlSelectors {
        HtmlSelectors {
            item: "li.call".into(),
            title: "h3".into(),
            link: None,
            deadline: Some(".deadline".into()),
            summary: Some("p".into()),
            next_page: Some("a.next".into()),
            detail: None,
        }
    }

    #[test]
    fn latin1_and_windows_1252_pages_are_decoded() {
        let latin1 = b"<meta charset='iso-8859-1'><ul><li class='call'><h3>Utlysning f\xf6r \xe5r 2026</h3></li></ul>";
        let l = parse_listing(latin1, "https://example.se/", &sels(), chrono_tz::Europe::Stockholm).unwrap();
        assert_eq!(l.calls[0].title, "Utlysning för år 2026");
        // No charset named: Windows-1252 (curly quotes at 0x93/0x94).
        let cp = b"<ul><li class='call'><h3>\x93S\xe4kra samh\xe4llen\x94</h3></li></ul>";
        let l = parse_listing(cp, "https://example.se/", &sels(), chrono_tz::Europe::Stockholm).unwrap();
        assert_eq!(l.calls[0].title, "\u{201c}Säkra samhällen\u{201d}");
        assert_eq!(decode_html("redan UTF-8: åäö".as_bytes()), "redan UTF-8: åäö");
    }

    #[test]
    fn layout_change_is_an_error() {
        let page = b"<html><body><div class='new-layout'><h2>Utlysning</h2></div></body></html>";
        let e = parse_listing(page, "https://example.se/utlysningar/", &sels(), chrono_tz::Europe::Stockholm).unwrap_err();
        assert!(matches!(e, AdapterError::NoMatch { what: "item", .. }));
        assert!(e.to_string().contains("li.call"), "{e}");
    }

    #[test]
    fn relative_links_and_dates() {
        let page = "<ul><li class='call'><h3><a href='/u/1#top'>Stöd &amp; hjälp</a></h3><span class='deadline'>Löpande</span></li>\
                    <li class='call'><h3><a href='u/2'>Två</a></h3><span class='deadline'>Sista dag 15 mars 2026</span><p>Kort</p></li></ul>\
                    <a class='next' href='?page=2'>Nästa</a>";
        let l = parse_listing(page.as_bytes(), "https://example.se/utlysningar/", &sels(), chrono_tz::Europe::Stockholm).unwrap();
        assert_eq!(l.calls.len(), 2);
        assert_eq!(l.calls[0].title, "Stöd & hjälp");
        assert_eq!(l.calls[0].url, "https://example.se/u/1#top");
        assert_eq!(l.calls[0].status, Some(CallStatus::Rolling));
        assert_eq!(l.calls[1].url, "https://example.se/utlysningar/u/2");
        assert_eq!(l.calls[1].deadlines.len(), 1);
        assert_eq!(l.next_page.as_deref(), Some("https://example.se/utlysningar/?page=2"));
    }

    #[test]
    fn deep_wide_and_large_pages_are_refused_before_parsing() {
        let deep = format!("<ul><li class='call'><h3>Djup</h3></li></ul>{}", "<div>".repeat(200_000));
        let t = std::time::Instant::now();
        let e = parse_listing(deep.as_bytes(), "https://example.se/", &sels(), chrono_tz::Europe::Stockholm).unwrap_err();
        assert_eq!(e, AdapterError::PageTooDeep { limit: 512 });
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "refused without parsing: {:?}", t.elapsed());
        let wide = "<p><b>x</b></p>".repeat(12_000);
        assert_eq!(parse_detail(wide.as_bytes(), "main").unwrap_err(), AdapterError::PageTooManyElements { limit: 20_000 });
        let large = vec![b'a'; PAGE_BUDGET.max_bytes + 1];
        assert!(matches!(parse_detail(&large, "main").unwrap_err(), AdapterError::PageTooLarge { .. }));
        // A feed summary with the same markup is cut, not parsed.
        let summary = format!("<p>Hej</p>{}", "<div>".repeat(100_000));
        assert_eq!(strip_tags(&summary), "Hej");
    }

    #[test]
    fn the_pre_scan_nests_as_a_parser_does() {
        let shape = |s: &str| page_shape(s.as_bytes(), &PAGE_BUDGET);
        // Elements that close themselves, void elements, comments, scripts.
        let real = "<!doctype html><html><head><meta charset=utf-8><title>a < b</title><script>if (a<b) { x = '<div>'; }</script></head>\
                    <body><!-- <div><div> --><div class=\"a>b\"><ul><li>ett<li>två<li>tre</ul></div><p>a<p>b<br><img src='x>y'>\
                    <table><tr><td>1<td>2</table></body></html>";
        assert_eq!(shape(real), PageShape { elements: 19, depth: 2 });
        // `/>` closes inside SVG only.
        assert_eq!(shape("<svg><path/><path/><path/></svg>").depth, 1);
        assert_eq!(shape("<div/><div/><div/>").depth, 3);
        assert_eq!(shape("<DIV><Div></div></DIV>").depth, 2);
        assert_eq!(shape("a < b and 3<4 <").elements, 0);
        // Stops counting once past the budget.
        let tight = PageBudget { max_bytes: 1 << 20, max_depth: 10, max_elements: 1000 };
        assert_eq!(page_shape("<div>".repeat(100).as_bytes(), &tight).depth, 11);
    }

    #[test]
    fn a_listing_is_read_up_to_its_cap_and_long_fields_are_cut() {
        let long = "å".repeat(MAX_FIELD / 2 + 100);
        let page = format!("<ul>{}</ul>", format!("<li class='call'><h3>{long}</h3><p>{long}</p></li>").repeat(MAX_ITEMS + 20));
        let l = parse_listing(page.as_bytes(), "https://example.se/", &sels(), chrono_tz::Europe::Stockholm).unwrap();
        assert_eq!((l.calls.len(), l.unread), (MAX_ITEMS, 20));
        assert_eq!(l.calls[0].title.len(), MAX_FIELD, "cut at a character boundary: å is two bytes");
        assert!(l.calls[0].summary.as_ref().is_some_and(|s| s.len() == MAX_FIELD));
        let detail = format!("<main>{}</main>", "<p>Villkor för utlysningen.</p>".repeat(5_000));
        let text = parse_detail(detail.as_bytes(), "main").unwrap().unwrap();
        assert!(text.len() <= MAX_TEXT && text.len() > MAX_TEXT - 40, "{}", text.len());
        assert_eq!(clip("åäö".to_string(), 3), "å");
        assert!(text.capacity() < MAX_TEXT + 8, "the spare capacity is given back: {}", text.capacity());
    }

    #[test]
    fn strips_markup() {
        assert_eq!(strip_tags("<p>Hej &amp; v&auml;lkommen</p><p>Rad  två</p>"), "Hej & välkommen\nRad två");
        assert_eq!(strip_tags("  vanlig   text "), "vanlig text");
    }
}
