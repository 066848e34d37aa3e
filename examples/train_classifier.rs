//! Offline trainer for psi-radar's classifier weights.
//!
//! ```text
//! cargo run --release --example train_classifier -- /work/shared/data/h2020-topics-dev.csv [--heldout OUT.csv]
//! ```
//!
//! Splits the labelled H2020 topics deterministically by a hash of the topic
//! id (1 in 5 held out; the id is used only for the split, never as a
//! feature), trains a class-balanced multinomial logistic regression on the
//! English stems of the training part — full texts plus copies cut to 300
//! characters and to the title, so short texts are learnt too — writes the
//! table to `src/classify/weights.tsv`, and prints macro-F1 on the held-out
//! part (full text, first 300 characters, title only) with the embedded
//! default `config/categories.toml`.

use anyhow::Context;
use psi_radar::classify::eval::{self, EvalField, Labelled};
use psi_radar::classify::model::TITLE_WEIGHT;
use psi_radar::classify::text::{FxHashMap, Stemmers, for_each_word};
use psi_radar::classify::{CHALLENGE_IDS, Model, NCHAL};
use psi_radar::domain::Lang;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

const EPOCHS: usize = 40;
const L2: f32 = 2e-5;
const LR: f32 = 0.5;
const MIN_DF: usize = 2;

/// FNV-1a: a stable hash for the split.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub fn is_heldout(id: &str) -> bool {
    fnv(id).is_multiple_of(5)
}

/// Term frequencies (title counts `TITLE_WEIGHT`) of English stems, as the run-time model counts them.
fn counts(st: &Stemmers, title: &str, text: &str) -> BTreeMap<String, f32> {
    let mut m = BTreeMap::new();
    let mut buf = String::new();
    for (t, w) in [(title, TITLE_WEIGHT), (text, 1.0)] {
        for_each_word(t, &mut buf, |word| {
            if !st.is_stop(Lang::En, word) {
                *m.entry(st.stem(Lang::En, word)).or_insert(0.0) += w;
            }
        });
    }
    m
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = PathBuf::from(args.first().context("usage: train_classifier DATA.csv [--heldout OUT.csv]")?);
    let heldout_out = args.iter().position(|a| a == "--heldout").and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let rows = eval::read_labelled(&data)?;
    let (test, train): (Vec<Labelled>, Vec<Labelled>) = rows.into_iter().partition(|r| is_heldout(&r.id));
    eprintln!("train {} / held out {}", train.len(), test.len());

    let st = Stemmers::new();
    // Training documents: full, first 300 characters, title only.
    let mut docs: Vec<(BTreeMap<String, f32>, usize)> = Vec::new();
    for r in &train {
        let y = r.labels[0];
        if y >= NCHAL {
            continue;
        }
        for (field, max) in [(EvalField::Text, None), (EvalField::Text, Some(300)), (EvalField::Text, Some(150)), (EvalField::Title, None)]
        {
            let (t, x) = eval::view(&r.title, &r.text, field, max);
            docs.push((counts(&st, &t, &x), y));
        }
    }
    // Vocabulary and idf from the full training texts.
    let mut df: FxHashMap<String, usize> = FxHashMap::default();
    let full: Vec<&BTreeMap<String, f32>> = docs.iter().step_by(4).map(|d| &d.0).collect();
    for d in &full {
        for k in d.keys() {
            *df.entry(k.clone()).or_insert(0) += 1;
        }
    }
    let n = full.len() as f32;
    let mut vocab: Vec<String> = df.iter().filter(|(_, c)| **c >= MIN_DF).map(|(k, _)| k.clone()).collect();
    vocab.sort();
    let index: FxHashMap<&str, usize> = vocab.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let idf: Vec<f32> = vocab.iter().map(|k| ((n + 1.0) / (df[k] as f32 + 1.0)).ln() + 1.0).collect();
    eprintln!("vocabulary {}", vocab.len());

    // Sparse, L2-normalised tf-idf vectors.
    let xs: Vec<(Vec<(usize, f32)>, usize)> = docs
        .iter()
        .map(|(m, y)| {
            let mut v: Vec<(usize, f32)> =
                m.iter().filter_map(|(k, tf)| index.get(k.as_str()).map(|&i| (i, (1.0 + tf.ln()) * idf[i]))).collect();
            let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt().max(1e-6);
            for e in &mut v {
                e.1 /= norm;
            }
            (v, *y)
        })
        .collect();
    let mut class_n = [0usize; NCHAL];
    for (_, y) in &xs {
        class_n[*y] += 1;
    }
    let cw: Vec<f32> = class_n.iter().map(|c| xs.len() as f32 / (NCHAL as f32 * (*c).max(1) as f32)).collect();

    // Multinomial logistic regression, AdaGrad.
    let dim = vocab.len();
    let mut w = vec![[0.0f32; NCHAL]; dim];
    let mut g2 = vec![[1e-8f32; NCHAL]; dim];
    let mut b = [0.0f32; NCHAL];
    let mut gb = [1e-8f32; NCHAL];
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for epoch in 0..EPOCHS {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut loss = 0.0;
        for &d in &order {
            let (x, y) = &xs[d];
            let mut z = b;
            for &(i, v) in x {
                for k in 0..NCHAL {
                    z[k] += w[i][k] * v;
                }
            }
            let m = z.iter().copied().fold(f32::MIN, f32::max);
            let mut p = [0.0f32; NCHAL];
            let mut s = 0.0;
            for k in 0..NCHAL {
                p[k] = (z[k] - m).exp();
                s += p[k];
            }
            for pk in &mut p {
                *pk /= s;
            }
            loss -= cw[*y] * p[*y].max(1e-9).ln();
            for k in 0..NCHAL {
                let g = cw[*y] * (p[k] - if k == *y { 1.0 } else { 0.0 });
                gb[k] += g * g;
                b[k] -= LR * g / gb[k].sqrt();
                for &(i, v) in x {
                    let gi = g * v + L2 * w[i][k];
                    g2[i][k] += gi * gi;
                    w[i][k] -= LR * gi / g2[i][k].sqrt();
                }
            }
        }
        if epoch % 10 == 9 {
            eprintln!("epoch {} loss {:.4}", epoch + 1, loss / xs.len() as f32);
        }
    }

    // Write the table.
    let mut out = String::new();
    writeln!(out, "# psi-radar classifier weights: multinomial logistic regression over English stems.")?;
    writeln!(out, "# Trained by examples/train_classifier.rs on the non-held-out part of h2020-topics-dev.csv")?;
    writeln!(out, "# (CORDIS H2020 topics, EU Open Data, CC BY 4.0); columns: stem, idf, weights for {}.", CHALLENGE_IDS.join(" "))?;
    write!(out, "@bias")?;
    for v in b {
        write!(out, "\t{v:.4}")?;
    }
    writeln!(out)?;
    let mut kept = 0;
    for (i, stem) in vocab.iter().enumerate() {
        if w[i].iter().all(|v| v.abs() < 0.02) {
            continue;
        }
        kept += 1;
        write!(out, "{stem}\t{:.3}", idf[i])?;
        for v in w[i] {
            write!(out, "\t{v:.3}")?;
        }
        writeln!(out)?;
    }
    let path = PathBuf::from("src/classify/weights.tsv");
    std::fs::write(&path, &out).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {} ({kept} stems, {} bytes)", path.display(), out.len());

    // Held-out figures with the fresh weights.
    let mut model = Model::with_weights(&out, Model::default_categories(), "config/categories.toml")?;
    if let Ok(grid) = std::env::var("PSI_TUNE_GRID") {
        // Development aid: PSI_TUNE_GRID=sanity.csv prints figures over a grid of score constants.
        let sv = eval::read_labelled(std::path::Path::new(&grid))?;
        let base = model.tuning;
        for ms in [0.05f32] {
            for os in [0.05f32, 0.1] {
                for ls in [0.0f32, 0.1, 0.2, 0.3] {
                    let (tau, lex_en) = (1.0, 0.3);
                    model.tuning =
                        psi_radar::classify::model::Tuning { model_strength: ms, other_strength: os, lex_en, logit_strength: ls, ..base };
                    let f = |field, max| eval::evaluate(&test, &model, field, max).macro_f1();
                    println!(
                        "ms={ms} os={os} ls={ls} tau={tau} lex_en={lex_en}: full={:.3} 300={:.3} title={:.3} sv={:.3}",
                        f(EvalField::Text, None),
                        f(EvalField::Text, Some(300)),
                        f(EvalField::Title, None),
                        eval::evaluate(&sv, &model, EvalField::Text, None).macro_f1()
                    );
                }
            }
        }
        model.tuning = base;
    }
    for (name, field, max) in [("full", EvalField::Text, None), ("300", EvalField::Text, Some(300)), ("title", EvalField::Title, None)] {
        let r = eval::evaluate(&test, &model, field, max);
        println!("held-out {name:<5} macro_f1={:.3} accuracy={:.3} n={}", r.macro_f1(), r.accuracy(), r.n);
    }
    if let Some(p) = heldout_out {
        let mut wtr = csv::Writer::from_path(&p)?;
        wtr.write_record(["id", "title", "text", "label"])?;
        for r in &test {
            let labels: Vec<&str> = r.labels.iter().map(|i| eval::CLASSES[*i]).collect();
            wtr.write_record([r.id.as_str(), r.title.as_str(), r.text.as_str(), labels.join(";").as_str()])?;
        }
        wtr.flush()?;
        eprintln!("held-out rows written to {}", p.display());
    }
    Ok(())
}
