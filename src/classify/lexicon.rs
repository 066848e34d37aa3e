//! The partnership's editable category file (`config/categories.toml`):
//! thresholds, curated Swedish and English terms per societal challenge, and
//! the regional themes. Parsing keeps spans so that every error names the
//! file, the line and the key.

use super::ClassifyError;
use crate::domain::{CategoryId, Lang};
use serde::Deserialize;
use toml::Spanned;

/// One curated term: its words (lower-cased, as written), language and weight.
#[derive(Debug, Clone, PartialEq)]
pub struct LexTerm {
    /// The term as the partnership wrote it (without a `^weight` suffix).
    pub term: String,
    pub words: Vec<String>,
    pub lang: Lang,
    pub weight: f32,
}

/// A challenge or theme with its terms.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryDef {
    pub id: CategoryId,
    pub name_sv: String,
    pub name_en: String,
    pub terms: Vec<LexTerm>,
}

/// The parsed category file.
#[derive(Debug, Clone, PartialEq)]
pub struct Lexicon {
    pub threshold: f32,
    pub theme_threshold: f32,
    /// Challenges in the order SC1…SC7 (a challenge without a section has no terms).
    pub challenges: Vec<CategoryDef>,
    pub themes: Vec<CategoryDef>,
    /// Cues of "no challenge" (section `[none]`): words of pure business support or research outside the
    /// challenges. Their evidence raises the "none" class against the challenges; it never adds to a challenge.
    pub none: Vec<LexTerm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    threshold: Option<Spanned<f64>>,
    theme_threshold: Option<Spanned<f64>>,
    #[serde(default)]
    category: Vec<RawCategory>,
    none: Option<RawNone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNone {
    #[serde(default)]
    sv: Vec<Spanned<String>>,
    #[serde(default)]
    en: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: Spanned<String>,
    name_sv: Option<String>,
    name_en: Option<String>,
    #[serde(default)]
    sv: Vec<Spanned<String>>,
    #[serde(default)]
    en: Vec<Spanned<String>>,
}

fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())].iter().filter(|b| **b == b'\n').count() + 1
}

impl Lexicon {
    /// Parse the category file's text; `file` names it in errors.
    pub fn parse(src: &str, file: &str) -> Result<Lexicon, ClassifyError> {
        let raw: RawFile = toml::from_str(src).map_err(|e| ClassifyError::Syntax {
            file: file.to_string(),
            line: e.span().map(|s| line_of(src, s.start)).unwrap_or(0),
            // The key at the error's position, as every config error names it.
            message: match e.span().and_then(|s| crate::toml_pos::key_at(src, s.start)) {
                Some(key) => format!("{key}: {}", e.message().trim()),
                None => e.message().trim().to_string(),
            },
        })?;
        let invalid = |span: std::ops::Range<usize>, key: &str, message: String| ClassifyError::Invalid {
            file: file.to_string(),
            line: line_of(src, span.start),
            key: key.to_string(),
            message,
        };
        let threshold = |v: &Option<Spanned<f64>>, key: &str, default: f32| -> Result<f32, ClassifyError> {
            match v {
                None => Ok(default),
                Some(s) if (0.0..=1.0).contains(s.get_ref()) => Ok(*s.get_ref() as f32),
                Some(s) => Err(invalid(s.span(), key, format!("måste ligga mellan 0 och 1, inte {}", s.get_ref()))),
            }
        };
        let threshold_c = threshold(&raw.threshold, "threshold", 0.3)?;
        let theme_threshold = threshold(&raw.theme_threshold, "theme_threshold", 0.3)?;

        let mut challenges: Vec<CategoryDef> = super::CHALLENGE_IDS
            .iter()
            .map(|id| {
                let id = CategoryId::challenge(id[2..].parse().unwrap_or(1));
                CategoryDef {
                    name_sv: id.challenge_name(Lang::Sv).unwrap_or_default().to_string(),
                    name_en: id.challenge_name(Lang::En).unwrap_or_default().to_string(),
                    id,
                    terms: Vec::new(),
                }
            })
            .collect();
        let mut seen: Vec<String> = Vec::new();
        let mut themes = Vec::new();
        for c in raw.category {
            let id = CategoryId::parse(c.id.get_ref()).map_err(|m| invalid(c.id.span(), "id", m))?;
            if seen.contains(&id.to_string()) {
                return Err(invalid(c.id.span(), "id", format!("kategorin «{id}» förekommer två gånger")));
            }
            seen.push(id.to_string());
            let mut terms = Vec::new();
            for (lang, list, key) in [(Lang::Sv, &c.sv, "sv"), (Lang::En, &c.en, "en")] {
                for t in list {
                    terms.push(parse_term(t.get_ref(), lang).map_err(|m| invalid(t.span(), key, m))?);
                }
            }
            if id.is_challenge() {
                let idx = super::CHALLENGE_IDS.iter().position(|x| *x == id.as_str()).unwrap_or(0);
                let def = &mut challenges[idx];
                def.terms = terms;
                if let Some(n) = c.name_sv {
                    def.name_sv = n;
                }
                if let Some(n) = c.name_en {
                    def.name_en = n;
                }
            } else {
                let name_sv = c.name_sv.ok_or_else(|| invalid(c.id.span(), "name_sv", format!("temat «{id}» saknar name_sv")))?;
                let name_en = c.name_en.unwrap_or_else(|| name_sv.clone());
                if terms.is_empty() {
                    return Err(invalid(c.id.span(), "sv", format!("temat «{id}» har inga termer (sv eller en)")));
                }
                themes.push(CategoryDef { id, name_sv, name_en, terms });
            }
        }
        let mut none = Vec::new();
        if let Some(n) = &raw.none {
            for (lang, list, key) in [(Lang::Sv, &n.sv, "none.sv"), (Lang::En, &n.en, "none.en")] {
                for t in list {
                    none.push(parse_term(t.get_ref(), lang).map_err(|m| invalid(t.span(), key, m))?);
                }
            }
        }
        Ok(Lexicon { threshold: threshold_c, theme_threshold, challenges, themes, none })
    }
}

/// `"arbetsmarknad"`, `"social innovation"`, `"krisberedskap^2"`.
fn parse_term(s: &str, lang: Lang) -> Result<LexTerm, String> {
    let (text, weight) = match s.rsplit_once('^') {
        Some((t, w)) => {
            let w: f32 = w.trim().parse().map_err(|_| format!("ogiltig vikt «{w}» i «{s}» (skriv t.ex. «term^2»)"))?;
            if !(0.0..=10.0).contains(&w) {
                return Err(format!("vikten i «{s}» måste ligga mellan 0 och 10"));
            }
            (t.trim(), w)
        }
        None => (s.trim(), 1.0),
    };
    let mut words = Vec::new();
    let mut buf = String::new();
    super::text::for_each_word(text, &mut buf, |w| words.push(w.to_string()));
    if words.is_empty() {
        return Err(format!("tom term «{s}»"));
    }
    let stops = match lang {
        Lang::Sv => super::text::STOP_SV,
        Lang::En => super::text::STOP_EN,
    };
    if words.iter().filter(|w| !stops.contains(&w.as_str())).count() > 3 {
        return Err(format!("termen «{s}» har fler än tre ord (småord som «och» oräknade)"));
    }
    Ok(LexTerm { term: text.to_string(), words, lang, weight })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terms_and_themes() {
        let src = "threshold = 0.4\n[[category]]\nid = \"SC6\"\nsv = [\"inkludering\", \"social innovation^2\"]\nen = [\"inclusion\"]\n\
                   [[category]]\nid = \"work_integration\"\nname_sv = \"Arbetsintegration\"\nsv = [\"arbetsintegrering\"]\n";
        let lex = Lexicon::parse(src, "x.toml").unwrap();
        assert_eq!(lex.threshold, 0.4);
        assert_eq!(lex.challenges.len(), 7);
        assert_eq!(lex.challenges[5].terms.len(), 3);
        assert_eq!(lex.challenges[5].terms[1].weight, 2.0);
        assert_eq!(lex.challenges[5].terms[1].words, vec!["social", "innovation"]);
        assert_eq!(lex.themes[0].name_en, "Arbetsintegration");
    }

    #[test]
    fn parses_none_cues() {
        // (source, expected cues as (term, language, weight))
        type Cue = (&'static str, Lang, f32);
        let cases: &[(&str, &[Cue])] = &[
            ("", &[]),
            ("[none]\n", &[]),
            (
                "[none]\nsv = [\"exportstöd^2\", \"små och medelstora företag\"]\n",
                &[("exportstöd", Lang::Sv, 2.0), ("små och medelstora företag", Lang::Sv, 1.0)],
            ),
            ("[none]\nen = [\"start-up^0.5\"]\nsv = [\"design\"]\n", &[("design", Lang::Sv, 1.0), ("start-up", Lang::En, 0.5)]),
            (
                "threshold = 0.3\n[none]\nsv = [\"turism\"]\n[[category]]\nid = \"SC6\"\nsv = [\"arbetsmarknad\"]\n",
                &[("turism", Lang::Sv, 1.0)],
            ),
        ];
        for (src, want) in cases {
            let lex = Lexicon::parse(src, "x.toml").unwrap();
            let got: Vec<(&str, Lang, f32)> = lex.none.iter().map(|t| (t.term.as_str(), t.lang, t.weight)).collect();
            assert_eq!(&got, want, "{src:?}");
            // Cues never become a challenge's or a theme's terms.
            assert!(lex.challenges.iter().chain(&lex.themes).all(|c| c.terms.iter().all(|t| !lex.none.contains(t))));
        }
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let cases: &[(&str, &str)] = &[
            ("threshold = 0.4\n[[category]\nid = 1\n", "x.toml:2"),
            ("threshold = 2\n", "x.toml:1: ogiltigt värde för «threshold»"),
            ("[[category]]\nid = \"SC9\"\n", "x.toml:2: ogiltigt värde för «id»"),
            ("[[category]]\nid = \"SC1\"\nsv = [\n  \"hälsa\",\n  \"x^abc\",\n]\n", "x.toml:5: ogiltigt värde för «sv»"),
            ("[[category]]\nid = \"barn\"\n", "x.toml:2: ogiltigt värde för «name_sv»"),
            ("tröskel = 0.3\n", "x.toml:1"),
            ("[none]\nsv = [\"export\", \"design^x\"]\n", "x.toml:2: ogiltigt värde för «none.sv»"),
            ("[none]\nsv = [\"export\"]\nen = [\n  \"startup^11\",\n]\n", "x.toml:4: ogiltigt värde för «none.en»"),
            ("[none]\nen = [\"a b c d e\"]\n", "x.toml:2: ogiltigt värde för «none.en»"),
            ("[none]\nsv = [\"\"]\n", "x.toml:2: ogiltigt värde för «none.sv»"),
            ("[none]\nsvenska = [\"export\"]\n", "x.toml:2"),
            ("[none]\nsv = \"export\"\n", "x.toml:2: fel i kategorifilen: none.sv: "),
            ("threshold = \"hög\"\n", "x.toml:1: fel i kategorifilen: threshold: "),
        ];
        for (src, want) in cases {
            let e = Lexicon::parse(src, "x.toml").unwrap_err().to_string();
            assert!(e.starts_with(want), "{src:?}: {e}");
        }
    }
}
