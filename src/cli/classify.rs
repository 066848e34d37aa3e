//! `psi-radar classify [--json] [FILE|-]`, `psi-radar eval classify DATA.csv`
//! and `psi-radar eval agreement PAIRS.csv`: argument structs and handlers.
//! Handlers take plain parameters and write to any `Write`.

use crate::classify::eval::{self, EvalField};
use crate::classify::{Model, classify_text};
use crate::domain::Lang;
use anyhow::Context;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `psi-radar classify`.
#[derive(clap::Args, Debug, Clone)]
pub struct ClassifyArgs {
    /// Skriv resultatet som JSON
    #[arg(long)]
    pub json: bool,
    /// Fil med rubriken på första raden och texten därefter («-» = standard in)
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: PathBuf,
}

/// Arguments of `psi-radar eval classify`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalClassifyArgs {
    /// CSV med kolumnerna id,title,text,label
    #[arg(value_name = "DATA.csv")]
    pub data: PathBuf,
    /// Vilket fält som klassificeras
    #[arg(long, value_enum, default_value = "text")]
    pub field: EvalField,
    /// Använd bara de första N tecknen
    #[arg(long, value_name = "N")]
    pub max_chars: Option<usize>,
}

/// Arguments of `psi-radar eval agreement`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalAgreementArgs {
    /// CSV med kolumnerna title_sv,text_sv,title_en,text_en
    #[arg(value_name = "PAIRS.csv")]
    pub pairs: PathBuf,
}

/// Read a text to classify: the title on the first line, then the text.
pub fn read_input(file: &Path, lang: Lang) -> anyhow::Result<(String, String)> {
    let mut s = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut s).context(lang.pick("kunde inte läsa standard in", "could not read standard input"))?;
    } else {
        s = std::fs::read_to_string(file)
            .with_context(|| format!("{} {}", lang.pick("kunde inte läsa", "could not read"), file.display()))?;
    }
    let s = s.trim_start_matches('\u{feff}').trim_start();
    Ok(match s.split_once('\n') {
        Some((t, rest)) => (t.trim().to_string(), rest.trim().to_string()),
        None => (s.trim().to_string(), String::new()),
    })
}

/// `psi-radar classify`: print the categories with scores and evidence
/// (labels and category names in `lang`; the JSON is the same in both).
pub fn run_classify(model: &Model, title: &str, text: &str, json: bool, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let scores = classify_text(title, text, model);
    if json {
        serde_json::to_writer_pretty(&mut *out, &scores)?;
        writeln!(out)?;
        return Ok(());
    }
    if !scores.iter().any(|s| s.category.is_challenge()) {
        match lang {
            Lang::Sv => writeln!(out, "Ingen samhällsutmaning (ingen når tröskeln {:.2}).", model.threshold())?,
            Lang::En => writeln!(out, "No societal challenge (none reaches the threshold {:.2}).", model.threshold())?,
        }
        let cues = crate::classify::none_evidence_text(title, text, model);
        if !cues.is_empty() {
            let terms: Vec<&str> = cues.iter().take(5).map(|e| e.term.as_str()).collect();
            writeln!(out, "    {}: {}", lang.pick("tecken på annan inriktning", "signs of another focus"), terms.join(", "))?;
        }
    }
    for s in &scores {
        let name = model.category_name(&s.category, lang).unwrap_or_default();
        let kind = if s.category.is_challenge() { lang.pick("utmaning", "challenge") } else { lang.pick("tema", "theme") };
        writeln!(out, "{} ({kind}, {:.2}) {name}", s.category, s.score)?;
        for e in &s.evidence {
            let field = match e.field {
                crate::domain::Field::Title => lang.pick("rubrik", "title"),
                crate::domain::Field::Text => "text",
            };
            writeln!(out, "    {:<28} {:<6} {:<2} {:.2}", e.term, field, e.lang, e.weight)?;
        }
    }
    Ok(())
}

/// `psi-radar classify [--json] [FILE|-]` from its arguments, in `lang`
/// (the config's language, Swedish when there is no config).
pub fn handle_classify(model: &Model, args: &ClassifyArgs, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let (title, text) = read_input(&args.file, lang)?;
    run_classify(model, &title, &text, args.json, lang, out)
}

/// `psi-radar eval classify DATA.csv [--field text|title] [--max-chars N]`.
pub fn run_eval_classify(
    model: &Model,
    data: &Path,
    field: EvalField,
    max_chars: Option<usize>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let rows = eval::read_labelled(data)?;
    let report = eval::evaluate(&rows, model, field, max_chars);
    report.write(out)?;
    Ok(())
}

/// `psi-radar eval agreement PAIRS.csv`.
pub fn run_eval_agreement(model: &Model, pairs: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let a = eval::agreement(pairs, model)?;
    let (same, n) = (a.same, a.n);
    let share = if n == 0 { 0.0 } else { same as f64 / n as f64 };
    writeln!(out, "samma huvudutmaning på svenska och engelska: {same} av {n}")?;
    writeln!(out, "ingen utmaning bara på svenska: {}, bara på engelska: {}", a.sv_none, a.en_none)?;
    writeln!(out, "agreement={share:.3} n={n}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_prints_swedish_labels_and_json() {
        let m = Model::builtin().unwrap();
        let mut out = Vec::new();
        run_classify(&m, "Krisberedskap i kommunerna", "Stöd till räddningstjänst och civilt försvar.", false, Lang::Sv, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("SC7"), "{s}");
        let mut out = Vec::new();
        run_classify(&m, "Krisberedskap", "", true, Lang::Sv, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v.is_array());
    }

    #[test]
    fn a_call_without_challenge_shows_the_none_cues() {
        let m = Model::builtin().unwrap();
        let mut out = Vec::new();
        let text = "Små och medelstora företag kan söka bidrag för konsulter inför etablering på nya exportmarknader.";
        run_classify(&m, "Exportcheckar för småföretag", text, false, Lang::Sv, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("Ingen samhällsutmaning"), "{s}");
        assert!(s.contains("tecken på") && s.contains("export"), "{s}");
        // "etablering" on a market is not the settling-in of newcomers.
        assert!(!s.contains("integration"), "{s}");
        let mut out = Vec::new();
        let text = "Insatser som stärker utrikes födda kvinnors etablering på arbetsmarknaden och stöd inom etableringsprogrammet.";
        run_classify(&m, "Etablering", text, false, Lang::Sv, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("integration (tema"), "{s}");
    }

    #[test]
    fn classify_prints_english_labels_when_asked() {
        let m = Model::builtin().unwrap();
        let mut out = Vec::new();
        run_classify(&m, "Krisberedskap i kommunerna", "Stöd till räddningstjänst och civilt försvar.", false, Lang::En, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("SC7 (challenge, "), "{s}");
        assert!(!s.contains("utmaning"), "{s}");
    }

    #[test]
    fn eval_ends_with_machine_line() {
        let m = Model::builtin().unwrap();
        let mut out = Vec::new();
        run_eval_classify(&m, Path::new("fixtures/classify/swedish-calls.csv"), EvalField::Text, None, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        let last = s.lines().last().unwrap();
        assert!(last.starts_with("macro_f1=") && last.contains(" accuracy=") && last.contains(" n="), "{last}");
    }
}
