//! Classification — the `classify` stage of the data flow (normalize+dedup → store → **classify** → match): a pure
//! function `(&Call, &Model) -> Vec<CategoryScore>` sorting a call into the seven societal challenges
//! (SC1–SC7) and the partnership's regional themes, each score with its evidence.
//!
//! How it works:
//! - `text.rs`: tokenizer, Swedish/English stop words, Snowball stemmers.
//! - `weights.tsv`: a linear (multinomial logistic regression) term-weight table over English stems,
//!   trained offline on the English Horizon 2020 topics (`h2020-topics-dev.csv`, CORDIS, CC BY 4.0; the
//!   topic `id` is never used as a feature). Regenerate it with
//!   `cargo run --release --example train_classifier -- /work/shared/data/h2020-topics-dev.csv`
//!   (writes `src/classify/weights.tsv` and prints held-out figures for the hash split it uses).
//! - `glossary-sv-en.txt`: a curated Swedish→English domain glossary so the English weights apply to
//!   Swedish stems; Swedish compounds are split into known parts ("arbetsmarknadsinsatser").
//! - `config/categories.toml` (embedded as the default; the partnership edits its own copy): curated
//!   Swedish and English terms per challenge, the regional themes and the thresholds (`lexicon.rs`).
//! - `model.rs`: per-word resolution (cached per thread), language choice per segment, score combination.
//! - `eval.rs`: the `eval classify` and `eval agreement` measurements.
//!
//! A challenge's score is its share of the combined (model + lexicon) distribution, damped by the absolute
//! amount of evidence, so a call about nothing in the seven challenges (say, digitalisation of small firms)
//! gets no challenge at all. Themes are scored from their lexicon alone.

pub mod eval;
pub mod lexicon;
pub mod model;
pub mod text;

use crate::domain::{Call, CategoryScore};
pub use lexicon::Lexicon;
pub use model::{Model, Segment};
use std::path::Path;

/// Number of societal challenges.
pub const NCHAL: usize = 7;
pub const CHALLENGE_IDS: [&str; NCHAL] = ["SC1", "SC2", "SC3", "SC4", "SC5", "SC6", "SC7"];

const WEIGHTS: &str = include_str!("weights.tsv");
const GLOSSARY: &str = include_str!("glossary-sv-en.txt");
const DEFAULT_CATEGORIES: &str = include_str!("../../config/categories.toml");

/// Errors of the classifier (messages in Swedish: they reach the partnership).
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("kunde inte läsa kategorifilen {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: fel i kategorifilen: {message}")]
    Syntax { file: String, line: usize, message: String },
    #[error("{file}:{line}: ogiltigt värde för «{key}»: {message}")]
    Invalid { file: String, line: usize, key: String, message: String },
    #[error("den inbyggda viktfilen, rad {line}: {message}")]
    Weights { line: usize, message: String },
    #[error("den inbyggda ordlistan svenska–engelska, rad {line}: {message}")]
    Glossary { line: usize, message: String },
}

impl Model {
    /// The embedded weights with the embedded default `config/categories.toml`.
    pub fn builtin() -> Result<Model, ClassifyError> {
        let lex = Lexicon::parse(DEFAULT_CATEGORIES, "config/categories.toml (inbyggd)")?;
        Model::build(WEIGHTS, GLOSSARY, lex)
    }

    /// The embedded weights with the lexicon file at `path`.
    pub fn from_file(path: &Path) -> Result<Model, ClassifyError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| ClassifyError::Io { file: file.clone(), source })?;
        Model::from_lexicon_str(&src, &file)
    }

    /// A model from a weight table other than the embedded one (for the offline trainer).
    #[doc(hidden)]
    pub fn with_weights(weights: &str, lexicon_src: &str, file: &str) -> Result<Model, ClassifyError> {
        Model::build(weights, GLOSSARY, Lexicon::parse(lexicon_src, file)?)
    }

    /// The default category file as embedded in the binary.
    pub fn default_categories() -> &'static str {
        DEFAULT_CATEGORIES
    }

    /// The embedded weights with a lexicon given as text (`file` names it in errors).
    pub fn from_lexicon_str(src: &str, file: &str) -> Result<Model, ClassifyError> {
        Model::build(WEIGHTS, GLOSSARY, Lexicon::parse(src, file)?)
    }
}

/// Keep what passes the thresholds, best first (challenges before themes at equal score).
fn select(model: &Model, mut scores: Vec<CategoryScore>) -> Vec<CategoryScore> {
    scores.retain(|s| s.score >= if s.category.is_challenge() { model.threshold() } else { model.theme_threshold() });
    scores.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.category.is_challenge().cmp(&a.category.is_challenge())));
    scores
}

/// Classify a call (its title, summary, text and translations): the categories at or above the
/// thresholds, best first, each with evidence.
pub fn classify(call: &Call, model: &Model) -> Vec<CategoryScore> {
    let body;
    let text: &str = if !call.summary.is_empty() && !call.text.contains(call.summary.as_str()) {
        body = format!("{}\n{}", call.summary, call.text);
        &body
    } else {
        &call.text
    };
    let mut segs = vec![Segment { title: &call.title, text, hint: call.lang }];
    for t in &call.translations {
        segs.push(Segment { title: &t.title, text: &t.text, hint: t.lang });
    }
    select(model, model.score_selected(&segs))
}

/// Classify a bare title and text (language detected; Swedish on a tie).
pub fn classify_text(title: &str, text: &str, model: &Model) -> Vec<CategoryScore> {
    select(model, model.score_selected(&[Segment { title, text, hint: crate::domain::Lang::Sv }]))
}

/// All scores before thresholds (for evaluation and tuning), best first.
pub fn score_text(title: &str, text: &str, model: &Model) -> Vec<CategoryScore> {
    let mut s = model.score(&[Segment { title, text, hint: crate::domain::Lang::Sv }]);
    s.sort_by(|a, b| b.score.total_cmp(&a.score));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CallStatus, Field, Lang, Translation};

    fn call(title: &str, text: &str, lang: Lang) -> Call {
        Call {
            reference: None,
            title: title.into(),
            url: "https://example.org/utlysning".into(),
            funder: "Testfinansiär".into(),
            programme: None,
            summary: String::new(),
            text: text.into(),
            lang,
            translations: Vec::new(),
            deadlines: Vec::new(),
            opens: None,
            status: CallStatus::Open,
            budget: None,
            decision_dates: Vec::new(),
            eligibility: None,
        }
    }

    /// (title, text, language, expected top challenge or None, themes that must be present)
    type Case = (&'static str, &'static str, Lang, Option<&'static str>, &'static [&'static str]);
    const CASES: &[Case] = &[
        (
            "ESF+: Arbetsmarknadsinsatser för personer långt från arbetsmarknaden",
            "Europeiska socialfonden stödjer projekt som ökar inkluderingen av långtidsarbetslösa och nyanlända på arbetsmarknaden \
             genom arbetsintegrerande sociala företag, praktik och samverkan med civilsamhället.",
            Lang::Sv,
            Some("SC6"),
            &["work_integration"],
        ),
        (
            "Civil protection: strengthening disaster preparedness",
            "Projects should improve the preparedness of first responders and civil protection authorities for natural and man-made \
             disasters, including crisis management and emergency communication.",
            Lang::En,
            Some("SC7"),
            &[],
        ),
        (
            "Energieffektivisering i flerbostadshus",
            "Energimyndigheten ger stöd till åtgärder som minskar energianvändningen, till exempel värmepumpar, fjärrvärme och solceller.",
            Lang::Sv,
            Some("SC3"),
            &[],
        ),
        (
            "Digitalisering i små och medelstora företag",
            "Stöd till företag som vill införa nya IT-system, e-handel och digitala verktyg för ökad konkurrenskraft.",
            Lang::Sv,
            None,
            &[],
        ),
        (
            "Digital transformation of SMEs",
            "Support for small and medium-sized companies that want to adopt e-commerce, cloud services and new business software.",
            Lang::En,
            None,
            &[],
        ),
        (
            "Folkhälsa och psykisk ohälsa bland äldre",
            "Forskning om hur vården kan förebygga sjukdom och främja hälsa.",
            Lang::Sv,
            Some("SC1"),
            &["public_health"],
        ),
        ("Hållbart jordbruk och livsmedel", "Projekt om livsmedelsproduktion, skogsbruk och fiske.", Lang::Sv, Some("SC2"), &[]),
        ("Fossilfria transporter", "Kollektivtrafik, järnväg och elfordon för hållbar mobilitet.", Lang::Sv, Some("SC4"), &[]),
        (
            "Biodiversity and climate adaptation",
            "Nature-based solutions to restore ecosystems and reduce greenhouse gas emissions.",
            Lang::En,
            Some("SC5"),
            &[],
        ),
    ];

    #[test]
    fn table_of_calls_in_both_languages() {
        let m = Model::builtin().unwrap();
        for (title, text, lang, want, themes) in CASES {
            let got = classify(&call(title, text, *lang), &m);
            let top = got.iter().find(|s| s.category.is_challenge());
            assert_eq!(top.map(|s| s.category.as_str()), *want, "{title}: {got:#?}");
            if let Some(top) = top {
                assert!(!top.evidence.is_empty(), "{title}: no evidence");
                assert!(top.score >= m.threshold() && top.score <= 1.0);
                assert!(top.evidence.windows(2).all(|w| w[0].weight >= w[1].weight));
            }
            for t in *themes {
                assert!(got.iter().any(|s| s.category.as_str() == *t), "{title}: theme {t} missing: {got:#?}");
            }
            assert!(got.windows(2).all(|w| w[0].score >= w[1].score), "{title}: not sorted");
        }
    }

    #[test]
    fn evidence_names_terms_fields_and_languages() {
        let m = Model::builtin().unwrap();
        let got = classify_text("Krisberedskap i kommunerna", "Stöd till räddningstjänst och civilt försvar.", &m);
        let sc7 = got.iter().find(|s| s.category.as_str() == "SC7").unwrap();
        assert!(sc7.evidence.iter().any(|e| e.term == "krisberedskap" && e.field == Field::Title && e.lang == Lang::Sv), "{sc7:#?}");
        assert!(sc7.explain(3).starts_with("SC7 — "));
    }

    #[test]
    fn swedish_compounds_are_split() {
        let m = Model::builtin().unwrap();
        let got = classify_text("Arbetsmarknadsinsatser", "Kompetensutvecklingsinsatser för arbetslösa ungdomar.", &m);
        let sc6 = got.iter().find(|s| s.category.as_str() == "SC6").unwrap();
        assert!(sc6.evidence.iter().any(|e| e.term == "arbetsmarknad"), "{sc6:#?}");
    }

    #[test]
    fn translations_count() {
        let m = Model::builtin().unwrap();
        let mut c = call("Utlysning 2026", "", Lang::Sv);
        c.translations.push(Translation {
            lang: Lang::En,
            title: "Call 2026".into(),
            text: "Cybersecurity and crime prevention for police.".into(),
        });
        assert_eq!(classify(&c, &m).first().map(|s| s.category.as_str()), Some("SC7"));
    }

    #[test]
    fn empty_text_gives_nothing() {
        let m = Model::builtin().unwrap();
        assert!(classify_text("", "", &m).is_empty());
        assert!(classify_text("och i att", "the of and", &m).is_empty());
    }

    #[test]
    fn malformed_category_files_are_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("categories.toml");
        std::fs::write(&p, "threshold = 0.3\n\n[[category]]\nid = \"SC6\"\nsv = [\"inkludering\", 3]\n").unwrap();
        let e = Model::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("categories.toml:5"), "{e}");
        let e = Model::from_file(&dir.path().join("saknas.toml")).unwrap_err().to_string();
        assert!(e.contains("saknas.toml") && e.contains("kunde inte läsa"), "{e}");
        std::fs::write(&p, "threshold = 0.3\n[[category]]\nid = \"SC6\"\nsv = [\"inkludering\"]\n").unwrap();
        assert_eq!(Model::from_file(&p).unwrap().threshold(), 0.3);
    }

    #[test]
    fn default_config_fixture_matches_embedded() {
        // The fixture copy used by integration tests must parse the same way.
        let lex = Lexicon::parse(DEFAULT_CATEGORIES, "x").unwrap();
        assert_eq!(lex.challenges.len(), NCHAL);
        assert!(lex.themes.len() >= 10);
    }
}
