//! `psi-radar eval rules DIR`: read each labelled call page in DIR with the
//! rules module and print how often each field is right (the files are read
//! here; the scoring is `normalize::rules::eval`).

use crate::normalize::rules::eval::{RulesLabel, evaluate};
use crate::normalize::rules::{RulesInput, read_rules};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `psi-radar eval rules`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalRulesArgs {
    /// Katalog med labels.jsonl och en ID.txt per sida (rubriken på första raden)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Mät bara sidorna i den här delen (t.ex. dev eller test)
    #[arg(long)]
    pub split: Option<String>,
    /// Hemlänet (som i [partnership] county)
    #[arg(long, default_value = "Örebro län")]
    pub county: String,
}

/// `psi-radar eval rules DIR [--split NAME]`.
pub fn run_eval_rules(args: &EvalRulesArgs, tz: chrono_tz::Tz, out: &mut impl Write) -> anyhow::Result<()> {
    let labels = read_labels(&args.dir.join("labels.jsonl"))?;
    let mut pages = Vec::new();
    for label in labels.into_iter().filter(|l| args.split.is_none() || l.split == args.split) {
        let path = args.dir.join(format!("{}.txt", label.id));
        let page = std::fs::read_to_string(&path).with_context(|| format!("kunde inte läsa {}", path.display()))?;
        let (title, text) = page.trim_start().split_once('\n').unwrap_or((page.as_str(), ""));
        let input = RulesInput { title, text, funder: &label.funder, home_county: &args.county, tz };
        let rules = read_rules(&input);
        pages.push((label, rules));
    }
    evaluate(&pages).write(out)?;
    Ok(())
}

fn read_labels(path: &Path) -> anyhow::Result<Vec<RulesLabel>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("kunde inte läsa {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}, rad {}", path.display(), i + 1)))
        .collect()
}
