//! Measuring the classifier: `eval classify` (per-category precision, recall
//! and F1, a confusion table, macro-F1 and accuracy) and `eval agreement`
//! (Swedish/English twins given the same top challenge).
//!
//! Scoring rule (issue 4): the top prediction — a challenge, or `none` when no
//! challenge passes the threshold — is right when it is among the row's
//! labels; the row's effective gold label is then the prediction, otherwise
//! its first label (`none` when the label is empty). Macro-F1 averages the
//! classes that occur in the gold labels.

use super::{Model, classify_text, text::truncate_chars};
use std::io::Write;
use std::path::Path;

/// Why a labelled file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The file could not be opened (a runtime failure, not the file's content).
    #[error("kunde inte öppna {path}")]
    Open {
        path: String,
        #[source]
        source: csv::Error,
    },
    /// The file's content is wrong: a missing column, a bad row or label
    /// (the message names the file and the line).
    #[error("{0}")]
    BadData(String),
}

impl EvalError {
    /// The user's mistake (exit code 2 on the command line), not a failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, EvalError::BadData(_))
    }
}

/// Class names in table order: SC1…SC7, then `none`.
pub const CLASSES: [&str; 8] = ["SC1", "SC2", "SC3", "SC4", "SC5", "SC6", "SC7", "none"];
const NONE_IDX: usize = 7;

/// Which part of a labelled row to classify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EvalField {
    /// Title and text.
    #[default]
    Text,
    /// The title only.
    Title,
}

/// One labelled row.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub id: String,
    pub title: String,
    pub text: String,
    /// Class indices into `CLASSES`, first is the primary label; never empty.
    pub labels: Vec<usize>,
}

/// Parse a label cell: `SC1;SC6`, `none`, or empty (= none).
pub fn parse_labels(cell: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let up = part.to_ascii_uppercase();
        let idx = if up == "NONE" { Some(NONE_IDX) } else { CLASSES.iter().position(|c| *c == up) };
        match idx {
            Some(i) if !out.contains(&i) => out.push(i),
            Some(_) => {}
            None => return Err(format!("okänd etikett «{part}» (giltiga: SC1–SC7, none)")),
        }
    }
    if out.is_empty() {
        out.push(NONE_IDX);
    }
    Ok(out)
}

fn open_csv(path: &Path) -> Result<csv::Reader<std::fs::File>, EvalError> {
    csv::ReaderBuilder::new().flexible(false).from_path(path).map_err(|source| EvalError::Open { path: path.display().to_string(), source })
}

fn column(headers: &csv::StringRecord, name: &str, path: &Path) -> Result<usize, EvalError> {
    headers
        .iter()
        .position(|h| h.trim() == name)
        .ok_or_else(|| EvalError::BadData(format!("{}: kolumnen «{name}» saknas i rubrikraden", path.display())))
}

/// Read `id,title,text,label`.
pub fn read_labelled(path: &Path) -> Result<Vec<Labelled>, EvalError> {
    let mut rdr = open_csv(path)?;
    let headers = rdr.headers().map_err(|e| EvalError::BadData(format!("{}: {e}", path.display())))?.clone();
    let (ci, ct, cx, cl) = (
        column(&headers, "id", path)?,
        column(&headers, "title", path)?,
        column(&headers, "text", path)?,
        column(&headers, "label", path)?,
    );
    let mut rows = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| EvalError::BadData(format!("{}: rad {line}: {e}", path.display())))?;
        let get = |i: usize| rec.get(i).unwrap_or_default().to_string();
        let labels =
            parse_labels(&get(cl)).map_err(|m| EvalError::BadData(format!("{}: rad {line}, fält «label»: {m}", path.display())))?;
        rows.push(Labelled { id: get(ci), title: get(ct), text: get(cx), labels });
    }
    Ok(rows)
}

/// The (title, text) pair to classify for a row, as `eval classify` sees it.
/// When the text repeats the title (as in the H2020 file) it is not doubled;
/// `max_chars` cuts the title-plus-text to its first N characters.
pub fn view(row_title: &str, row_text: &str, field: EvalField, max_chars: Option<usize>) -> (String, String) {
    if field == EvalField::Title {
        let t = max_chars.map_or(row_title, |n| truncate_chars(row_title, n));
        return (t.to_string(), String::new());
    }
    let title = row_title.trim();
    let body = if !title.is_empty() && row_text.trim_start().starts_with(title) {
        row_text.trim_start()[title.len()..].to_string()
    } else {
        row_text.to_string()
    };
    let combined = if title.is_empty() { body } else { format!("{title}\n{}", body.trim_start()) };
    let combined = max_chars.map_or(combined.as_str(), |n| truncate_chars(&combined, n));
    match combined.split_once('\n') {
        Some((t, rest)) if !title.is_empty() => (t.to_string(), rest.to_string()),
        _ if !title.is_empty() => (combined.to_string(), String::new()),
        _ => (String::new(), combined.to_string()),
    }
}

/// The top prediction as a class index (a challenge, or `none`).
pub fn top_class(title: &str, text: &str, model: &Model) -> usize {
    classify_text(title, text, model)
        .iter()
        .find(|s| s.category.is_challenge())
        .and_then(|s| CLASSES.iter().position(|c| *c == s.category.as_str()))
        .unwrap_or(NONE_IDX)
}

/// Results of `eval classify`.
#[derive(Debug, Clone)]
pub struct Report {
    /// confusion[gold][pred]
    pub confusion: [[usize; 8]; 8],
    pub n: usize,
    pub correct: usize,
}

impl Report {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Vec<usize>, usize)>) -> Report {
        let mut r = Report { confusion: [[0; 8]; 8], n: 0, correct: 0 };
        for (labels, pred) in pairs {
            let right = labels.contains(&pred);
            let gold = if right { pred } else { labels.first().copied().unwrap_or(NONE_IDX) };
            r.confusion[gold][pred] += 1;
            r.n += 1;
            r.correct += usize::from(right);
        }
        r
    }

    /// (precision, recall, f1, gold support) per class.
    pub fn per_class(&self) -> Vec<(f64, f64, f64, usize)> {
        (0..8)
            .map(|c| {
                let tp = self.confusion[c][c] as f64;
                let gold: usize = self.confusion[c].iter().sum();
                let pred: usize = (0..8).map(|g| self.confusion[g][c]).sum();
                let p = if pred > 0 { tp / pred as f64 } else { 0.0 };
                let r = if gold > 0 { tp / gold as f64 } else { 0.0 };
                let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
                (p, r, f, gold)
            })
            .collect()
    }

    pub fn macro_f1(&self) -> f64 {
        let pc = self.per_class();
        let present: Vec<f64> = pc.iter().filter(|x| x.3 > 0).map(|x| x.2).collect();
        if present.is_empty() { 0.0 } else { present.iter().sum::<f64>() / present.len() as f64 }
    }

    pub fn accuracy(&self) -> f64 {
        if self.n == 0 { 0.0 } else { self.correct as f64 / self.n as f64 }
    }

    /// The human table and the final machine-readable line.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{:<6} {:>9} {:>9} {:>6} {:>7}", "klass", "precision", "täckning", "F1", "antal")?;
        for (c, (p, r, f, n)) in self.per_class().into_iter().enumerate() {
            let pred: usize = (0..8).map(|g| self.confusion[g][c]).sum();
            if n == 0 && pred == 0 {
                continue;
            }
            writeln!(out, "{:<6} {:>9.3} {:>9.3} {:>6.3} {:>7}", CLASSES[c], p, r, f, n)?;
        }
        writeln!(out)?;
        writeln!(out, "förväxlingstabell (rad = facit, kolumn = förutsagt)")?;
        write!(out, "{:<6}", "")?;
        for c in CLASSES {
            write!(out, "{c:>6}")?;
        }
        writeln!(out)?;
        for (g, row) in self.confusion.iter().enumerate() {
            write!(out, "{:<6}", CLASSES[g])?;
            for v in row {
                write!(out, "{v:>6}")?;
            }
            writeln!(out)?;
        }
        writeln!(out, "macro_f1={:.3} accuracy={:.3} n={}", self.macro_f1(), self.accuracy(), self.n)
    }
}

/// Evaluate `model` on labelled rows.
pub fn evaluate(rows: &[Labelled], model: &Model, field: EvalField, max_chars: Option<usize>) -> Report {
    Report::from_pairs(rows.iter().map(|r| {
        let (t, x) = view(&r.title, &r.text, field, max_chars);
        (r.labels.clone(), top_class(&t, &x, model))
    }))
}

/// Results of `eval agreement`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Agreement {
    pub same: usize,
    pub n: usize,
    /// Swedish text got no challenge, English did.
    pub sv_none: usize,
    /// English text got no challenge, Swedish did.
    pub en_none: usize,
}

/// Swedish/English twins given the same top prediction (a challenge or none).
pub fn agreement(path: &Path, model: &Model) -> Result<Agreement, EvalError> {
    let mut rdr = open_csv(path)?;
    let headers = rdr.headers().map_err(|e| EvalError::BadData(format!("{}: {e}", path.display())))?.clone();
    let cols = [
        column(&headers, "title_sv", path)?,
        column(&headers, "text_sv", path)?,
        column(&headers, "title_en", path)?,
        column(&headers, "text_en", path)?,
    ];
    let mut a = Agreement::default();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| EvalError::BadData(format!("{}: rad {}: {e}", path.display(), i + 2)))?;
        let g = |k: usize| rec.get(cols[k]).unwrap_or_default();
        let sv = top_class(g(0), g(1), model);
        let en = top_class(g(2), g(3), model);
        a.same += usize::from(sv == en);
        a.sv_none += usize::from(sv == NONE_IDX && en != NONE_IDX);
        a.en_none += usize::from(en == NONE_IDX && sv != NONE_IDX);
        a.n += 1;
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse() {
        assert_eq!(parse_labels("SC1;sc6").unwrap(), vec![0, 5]);
        assert_eq!(parse_labels("").unwrap(), vec![NONE_IDX]);
        assert_eq!(parse_labels("none;SC2").unwrap(), vec![NONE_IDX, 1]);
        assert!(parse_labels("SC8").is_err());
    }

    #[test]
    fn scoring_rule() {
        // right (pred among labels) → gold = pred; wrong → gold = first label.
        let r = Report::from_pairs(vec![(vec![0, 5], 5), (vec![0], 1), (vec![NONE_IDX], NONE_IDX), (vec![2], 2)]);
        assert_eq!(r.correct, 3);
        assert_eq!(r.confusion[5][5], 1);
        assert_eq!(r.confusion[0][1], 1);
        // classes in gold: SC1 (f1 0), SC3 (1), SC6 (1), none (1) → 0.75
        assert!((r.macro_f1() - 0.75).abs() < 1e-9);
    }

    #[test]
    fn views() {
        type Case<'a> = (&'a str, &'a str, EvalField, Option<usize>, (&'a str, &'a str));
        let cases: &[Case] = &[
            ("T", "T\nbody text", EvalField::Text, None, ("T", "body text")),
            ("T", "other", EvalField::Text, None, ("T", "other")),
            ("Title", "Title\nabcdef", EvalField::Text, Some(8), ("Title", "ab")),
            ("Title", "x", EvalField::Title, None, ("Title", "")),
        ];
        for (t, x, f, m, want) in cases {
            let (a, b) = view(t, x, *f, *m);
            assert_eq!((a.as_str(), b.as_str()), *want);
        }
    }

    #[test]
    fn swedish_none_probe() {
        // fixtures/classify/swedish-none-probe.csv: Swedish calls that fit no challenge (business support, basic
        // research outside the challenges) next to challenge calls that mention firms; a regression floor.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classify/swedish-none-probe.csv");
        let rows = read_labelled(&path).unwrap();
        let model = Model::builtin().unwrap();
        let r = evaluate(&rows, &model, EvalField::Text, None);
        let none_f1 = r.per_class()[NONE_IDX].2;
        assert!(r.accuracy() >= 0.95 && none_f1 >= 0.95, "accuracy {} none F1 {none_f1}", r.accuracy());
    }

    #[test]
    fn long_swedish_calls() {
        // fixtures/classify/swedish-calls-long.csv: 32 invented calls of 1,200-1,500 characters written like real call
        // pages (more than half is who may apply, amounts, co-financing, dates), 8 of which fit no challenge; written
        // for this test, never tuned on. The Swedish lexicon keeps its pull on such long texts (`lex_len_sv`): with
        // the earlier 100 words, a call against men's violence towards women went to SC1 (macro-F1 0.961).
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classify/swedish-calls-long.csv");
        let rows = read_labelled(&path).unwrap();
        assert_eq!(rows.len(), 32);
        let model = Model::builtin().unwrap();
        let r = evaluate(&rows, &model, EvalField::Text, None);
        assert!(r.macro_f1() >= 0.97, "macro-F1 {} accuracy {}", r.macro_f1(), r.accuracy());
    }
}
