//! Sources → adapters: funders' HTML listing pages, read with per-source CSS
//! selectors (scraper). Pure: one page's bytes → `RawCall`s and the next
//! page's link. A page where the selectors match nothing is an error (the
//! layout has changed), never "no calls".

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

/// Read one listing page. `page_url` resolves relative links.
pub fn parse_listing(bytes: &[u8], page_url: &str, sel: &HtmlSelectors, tz: Tz) -> Result<HtmlListing, AdapterError> {
    let text = decode_html(bytes);
    let text = text.as_ref();
    let base = Url::parse(page_url).map_err(|e| AdapterError::Invalid(format!("sidans adress «{page_url}»: {e}")))?;
    let doc = Html::parse_document(text);
    let item_sel = selector(&sel.item)?;
    let title_sel = selector(&sel.title)?;
    let link_sel = sel.link.as_deref().map(selector).transpose()?;
    let deadline_sel = sel.deadline.as_deref().map(selector).transpose()?;
    let summary_sel = sel.summary.as_deref().map(selector).transpose()?;
    let any_link = selector("a[href]")?;
    let items: Vec<ElementRef> = doc.select(&item_sel).collect();
    if items.is_empty() {
        return Err(AdapterError::NoMatch { selector: sel.item.clone(), what: "item" });
    }
    let mut out = HtmlListing::default();
    for item in &items {
        let Some(title_el) = item.select(&title_sel).next() else { continue };
        let title = element_text(&title_el);
        if title.is_empty() {
            continue;
        }
        let href = link_sel
            .as_ref()
            .and_then(|s| item.select(s).next())
            .and_then(|e| e.value().attr("href"))
            .or_else(|| title_el.value().attr("href"))
            .or_else(|| title_el.select(&any_link).next().and_then(|e| e.value().attr("href")))
            .or_else(|| item.select(&any_link).next().and_then(|e| e.value().attr("href")));
        let url = href.and_then(|h| base.join(h.trim()).ok()).map(String::from).unwrap_or_else(|| page_url.to_string());
        let mut raw = RawCall {
            source_key: if href.is_some() { url.clone() } else { title.clone() },
            title,
            url,
            summary: summary_sel.as_ref().and_then(|s| item.select(s).next()).map(|e| element_text(&e)).filter(|s| !s.is_empty()),
            ..RawCall::default()
        };
        if let Some(dtext) = deadline_sel.as_ref().and_then(|s| item.select(s).next()).map(|e| element_text(&e)) {
            match parse_date_text(&dtext) {
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
        out.calls.push(raw);
    }
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

/// Read a detail page's description (`None` when the selector finds nothing).
pub fn parse_detail(bytes: &[u8], detail_selector: &str) -> Result<Option<String>, AdapterError> {
    let text = decode_html(bytes);
    let text = text.as_ref();
    let sel = selector(detail_selector)?;
    let doc = Html::parse_document(text);
    Ok(doc.select(&sel).next().map(|e| block_text(&e)).filter(|s| !s.is_empty()))
}

/// An element's text on one line, whitespace collapsed.
pub fn element_text(e: &ElementRef) -> String {
    e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An element's text with paragraphs kept as lines.
pub fn block_text(e: &ElementRef) -> String {
    let mut out = String::new();
    for node in e.descendants() {
        match node.value() {
            scraper::Node::Text(t) => out.push_str(t),
            scraper::Node::Element(el) if is_block(el.name()) => out.push('\n'),
            _ => {}
        }
    }
    tidy_lines(&out)
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

/// HTML (or text with entities) → plain text, paragraphs as lines.
pub fn strip_tags(s: &str) -> String {
    if !s.contains(['<', '&']) {
        return tidy_lines(s);
    }
    let frag = Html::parse_fragment(s);
    block_text(&frag.root_element())
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
    fn strips_markup() {
        assert_eq!(strip_tags("<p>Hej &amp; v&auml;lkommen</p><p>Rad  två</p>"), "Hej & välkommen\nRad två");
        assert_eq!(strip_tags("  vanlig   text "), "vanlig text");
    }
}
