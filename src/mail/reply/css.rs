//! What inline CSS hides, for the HTML → text step of the reply parser
//! ([`super::body`]): only text a reader can see is read as an answer.
//!
//! Hidden: `display:none`, `opacity:0`, a zero `width`, `height`,
//! `max-width` or `max-height`, Outlook's `mso-hide:all`,
//! `color:transparent` (the element and all inside it); `font-size:0` and
//! `visibility:hidden|collapse` (inherited, so a child may set them back,
//! as HTML mail templates do with `font-size:0` wrappers); and text whose
//! colour is (nearly) that of the background behind it. Class rules in
//! `<style>` blocks (`.x { display:none }`) apply to elements with that
//! class. This is a cheap reading of the common tricks, not a CSS engine:
//! selectors other than plain classes are not matched.

/// An RGB colour, or fully transparent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Color {
    Rgb(u8, u8, u8),
    Transparent,
}

/// What one element's style says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Style {
    /// The element and everything inside it is hidden.
    pub hidden: bool,
    /// `font-size` was set: zero (Some(true)) or not.
    pub tiny: Option<bool>,
    /// `visibility` was set: visible (Some(true)) or hidden.
    pub visible: Option<bool>,
    pub color: Option<Color>,
    pub background: Option<Color>,
}

impl Style {
    /// Add what `other` says where this style says nothing (inline style first, then class rules).
    pub fn fill_from(&mut self, other: &Style) {
        self.hidden |= other.hidden;
        self.tiny = self.tiny.or(other.tiny);
        self.visible = self.visible.or(other.visible);
        self.color = self.color.or(other.color);
        self.background = self.background.or(other.background);
    }

    /// Says anything at all about visibility or colour.
    fn says_something(&self) -> bool {
        *self != Style::default()
    }
}

/// The declarations of a `style` attribute or a rule body.
pub(super) fn read_declarations(css: &str) -> Style {
    let mut s = Style::default();
    for decl in css.split(';') {
        let Some((prop, value)) = decl.split_once(':') else { continue };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value.trim().to_ascii_lowercase();
        let value = value.trim_end_matches("!important").trim();
        match prop.as_str() {
            "display" => s.hidden |= value == "none",
            "visibility" => s.visible = Some(!(value == "hidden" || value == "collapse")),
            "opacity" => s.hidden |= zero_number(value),
            "font-size" => s.tiny = Some(zero_number(value)),
            "width" | "height" | "max-width" | "max-height" => s.hidden |= zero_number(value),
            "mso-hide" => s.hidden |= value == "all",
            "color" => s.color = parse_color(value),
            "background-color" => s.background = parse_color(value).or(s.background),
            // `background: #fff url(x) no-repeat`: the first word that is a colour.
            "background" => s.background = value.split_whitespace().find_map(parse_color).or(s.background),
            _ => {}
        }
    }
    s.hidden |= s.color == Some(Color::Transparent);
    s
}

/// `0`, `0px`, `0.0em`, `0%`, `.0` …: a length or number that is zero.
fn zero_number(v: &str) -> bool {
    let num: String = v.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+').collect();
    let unit = v.get(num.len()..).unwrap_or("").trim();
    !num.is_empty()
        && num.parse::<f64>().is_ok_and(|n| n.abs() < 0.01)
        && (unit.is_empty() || unit.chars().all(|c| c.is_ascii_alphabetic() || c == '%'))
}

/// `#fff`, `#ffffff`, `rgb(255, 255, 255)`, `rgba(…, 0)`, `white`, `transparent` …
pub(super) fn parse_color(v: &str) -> Option<Color> {
    let v = v.trim().to_ascii_lowercase();
    if let Some(hex) = v.strip_prefix('#') {
        let digit = |i: usize, len: usize| u8::from_str_radix(hex.get(i..i + len)?, 16).ok();
        return match hex.len() {
            3 | 4 => Some(Color::Rgb(digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17)),
            6 | 8 => Some(Color::Rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
            _ => None,
        };
    }
    if let Some(args) = v.strip_prefix("rgba(").or_else(|| v.strip_prefix("rgb(")) {
        let nums: Vec<f64> = args.trim_end_matches(')').split([',', ' ', '/']).filter(|p| !p.is_empty()).filter_map(channel).collect();
        return match nums.as_slice() {
            [_, _, _, a] if *a < 0.01 => Some(Color::Transparent),
            [r, g, b, ..] => Some(Color::Rgb(*r as u8, *g as u8, *b as u8)),
            _ => None,
        };
    }
    let named = match v.as_str() {
        "transparent" => return Some(Color::Transparent),
        "white" => (255, 255, 255),
        "black" => (0, 0, 0),
        "snow" | "ivory" | "ghostwhite" | "whitesmoke" => (250, 250, 250),
        "silver" => (192, 192, 192),
        "gray" | "grey" => (128, 128, 128),
        "red" => (255, 0, 0),
        "blue" => (0, 0, 255),
        "navy" => (0, 0, 128),
        "green" => (0, 128, 0),
        "yellow" => (255, 255, 0),
        _ => return None,
    };
    Some(Color::Rgb(named.0, named.1, named.2))
}

/// One `rgb()` channel (`255`, `100%`) or alpha (`0.5`) as a number in 0–255 (alpha as given).
fn channel(p: &str) -> Option<f64> {
    match p.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().ok().map(|n| (n * 2.55).clamp(0.0, 255.0)),
        None => p.trim().parse::<f64>().ok().map(|n| n.clamp(0.0, 255.0)),
    }
}

/// Text in `fg` on `bg` cannot be read: the same colour, or nearly.
pub(super) fn invisible_on(fg: Color, bg: Color) -> bool {
    match (fg, bg) {
        (Color::Transparent, _) => true,
        (Color::Rgb(r1, g1, b1), Color::Rgb(r2, g2, b2)) => {
            let d = |a: u8, b: u8| i32::from(a).abs_diff(i32::from(b));
            d(r1, r2) + d(g1, g2) + d(b1, b2) < 30
        }
        (_, Color::Transparent) => false,
    }
}

/// What a `<style>` block says about classes: `.a, .b { display: none }`.
pub(super) fn class_styles(stylesheet: &str) -> Vec<(String, Style)> {
    let mut out = Vec::new();
    // (selectors, start of body) of the innermost rule open now; `@media … {` is replaced by its first rule.
    let mut open: Option<(&str, usize)> = None;
    let mut seg_start = 0;
    for (i, c) in stylesheet.char_indices() {
        match c {
            '{' => {
                open = Some((stylesheet.get(seg_start..i).unwrap_or(""), i + 1));
                seg_start = i + 1;
            }
            '}' => {
                if let Some((selectors, body)) = open.take() {
                    let style = read_declarations(stylesheet.get(body..i).unwrap_or(""));
                    if style.says_something() {
                        out.extend(selectors.split(',').filter_map(|sel| class_selector(sel.trim())).map(|c| (c, style)));
                    }
                }
                seg_start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// `.name` → `name`; any other selector → None.
fn class_selector(sel: &str) -> Option<String> {
    let class = sel.strip_prefix('.')?;
    (!class.is_empty() && class.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')).then(|| class.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hiding_declarations() {
        for css in [
            "display:none",
            "DISPLAY: none !important",
            "opacity:0",
            "opacity: 0.0",
            "max-height:0;overflow:hidden",
            "width:0; height:0",
            "mso-hide:all",
            "color: transparent",
            "color: rgba(0,0,0,0)",
        ] {
            assert!(read_declarations(css).hidden, "{css}");
        }
        for css in ["display:block", "font-size:10px", "opacity:0.9", "color:#333", "width:100%", "margin:0", "visibility:hidden"] {
            assert!(!read_declarations(css).hidden, "{css}");
        }
        // Inherited, so a child may set them back.
        assert_eq!(read_declarations("font-size:0px").tiny, Some(true));
        assert_eq!(read_declarations("font-size: 14px").tiny, Some(false));
        assert_eq!(read_declarations("visibility:hidden").visible, Some(false));
    }

    #[test]
    fn colours_and_contrast() {
        assert_eq!(parse_color("#FFF"), Some(Color::Rgb(255, 255, 255)));
        assert_eq!(parse_color("#fefefe"), Some(Color::Rgb(254, 254, 254)));
        assert_eq!(parse_color("rgb(255, 255, 255)"), Some(Color::Rgb(255, 255, 255)));
        assert_eq!(parse_color("white"), Some(Color::Rgb(255, 255, 255)));
        assert_eq!(parse_color("url(x)"), None);
        let white = Color::Rgb(255, 255, 255);
        assert!(invisible_on(Color::Rgb(250, 252, 255), white));
        assert!(!invisible_on(Color::Rgb(0, 0, 0), white));
        let s = read_declarations("background: #000 url(a.png) no-repeat; color:#010101");
        assert_eq!(s.background, Some(Color::Rgb(0, 0, 0)));
        assert!(invisible_on(s.color.unwrap(), s.background.unwrap()));
    }

    #[test]
    fn classes_hidden_by_a_stylesheet() {
        let css = ".pre{display:none} p.x{color:red} @media screen { .a, .b { font-size: 0 } } .shown{display:block}";
        let got: Vec<(String, bool, Option<bool>)> = class_styles(css).into_iter().map(|(c, s)| (c, s.hidden, s.tiny)).collect();
        assert_eq!(
            got,
            vec![("pre".into(), true, None), ("a".into(), false, Some(true)), ("b".into(), false, Some(true))],
            "display:block says nothing that hides or shows text"
        );
    }
}
