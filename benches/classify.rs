//! Throughput of `classify_text` on one core (release build):
//!
//! ```text
//! cargo bench --bench classify [-- DATA.csv]
//! ```
//!
//! DATA.csv has `title,text` columns (default: the H2020 topics at
//! `../shared/data/h2020-topics-dev.csv` when present — full texts, median
//! about 3,000 characters — and always the Swedish sanity set in
//! `fixtures/classify/`). Prints calls per second of wall-clock time and, on
//! Linux, per second of this thread's CPU time (the rate of one core when the
//! core is shared); the target is ≥ 30,000 full-text calls per second.

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

/// CPU time of this thread in seconds (Linux `schedstat`), to report throughput per core-second when
/// the core is shared with other processes (wall-clock figures then understate one core's rate).
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
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
    let cpu0 = thread_cpu_secs();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 3.0 {
        for (t, x) in docs {
            sink += classify_text(t, x, model).len();
        }
        n += docs.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs().zip(cpu0).map(|(b, a)| b - a);
    println!(
        "{name}: {n} calls in {secs:.2} s = {:.0} calls/s (mean {} chars per call; {sink} labels)",
        n as f64 / secs,
        chars / docs.len()
    );
    if let Some(cpu) = cpu.filter(|c| *c > 0.0) {
        println!("{name}: {:.0} calls per CPU-second ({cpu:.2} s on the CPU of {secs:.2} s)", n as f64 / cpu);
    }
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
