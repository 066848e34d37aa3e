//! Throughput of `classify_text` on one core (release build):
//!
//! ```text
//! cargo bench --bench classify [-- DATA.csv]
//! ```
//!
//! DATA.csv has `title,text` columns (default: the H2020 topics at
//! `../shared/data/h2020-topics-dev.csv` when present — full texts, median
//! about 3,000 characters — and always the Swedish sanity set in
//! `fixtures/classify/`). Prints calls per second; the target is ≥ 30,000
//! full-text calls per second.

use psi_radar::classify::{Model, classify_text};
use std::path::Path;
use std::time::Instant;

fn load(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut rdr = csv::Reader::from_path(path)?;
    let h = rdr.headers()?.clone();
    let col = |n: &str| h.iter().position(|x| x == n).ok_or_else(|| anyhow::anyhow!("{}: no column {n}", path.display()));
    let (ct, cx) = (col("title")?, col("text")?);
    let mut out = Vec::new();
    for r in rdr.records() {
        let r = r?;
        out.push((r.get(ct).unwrap_or_default().to_string(), r.get(cx).unwrap_or_default().to_string()));
    }
    Ok(out)
}

fn bench(name: &str, model: &Model, docs: &[(String, String)]) {
    if docs.is_empty() {
        return;
    }
    // Warm up (fills the per-thread word cache as a long-running daemon would).
    let mut sink = 0usize;
    for (t, x) in docs {
        sink += classify_text(t, x, model).len();
    }
    let chars: usize = docs.iter().map(|(t, x)| t.chars().count() + x.chars().count()).sum();
    let mut n = 0usize;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 3.0 {
        for (t, x) in docs {
            sink += classify_text(t, x, model).len();
        }
        n += docs.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: {n} calls in {secs:.2} s = {:.0} calls/s (mean {} chars per call; {sink} labels)",
        n as f64 / secs,
        chars / docs.len()
    );
}

fn main() -> anyhow::Result<()> {
    let model = Model::builtin()?;
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let full = arg.map(std::path::PathBuf::from).or_else(|| {
        ["../shared/data/h2020-topics-dev.csv", "/work/shared/data/h2020-topics-dev.csv"]
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.exists())
    });
    if let Some(p) = full {
        bench(&format!("full texts ({})", p.display()), &model, &load(&p)?);
    }
    bench("swedish sanity set", &model, &load(Path::new("fixtures/classify/swedish-calls.csv"))?);
    Ok(())
}
