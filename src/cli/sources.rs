//! CLI → sources: the arguments and handlers for `poll`, `calls import` and
//! `calls add`. The handlers take plain values (store, fetcher, specs, now, a
//! writer) so the lead's clap wiring only has to build those.

use super::BadInput;
use crate::domain::CallRef;
use crate::sources::fetch::Fetcher;
use crate::sources::manual::{ImportedCall, ManualCall, ManualError, add_manual, import_jsonl};
use crate::sources::spec::SourceSpec;
use crate::sources::{PollReport, poll_sources};
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `psi-radar poll [--source NAME]`
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PollArgs {
    /// Hämta bara den här källan (även om den väntar efter fel)
    #[arg(long)]
    pub source: Option<String>,
}

/// `psi-radar calls import FILE.jsonl`
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// JSON Lines: ett objekt per rad med title, url, funder, deadline, text, lang
    pub file: PathBuf,
}

/// `psi-radar calls add --title … --url … [--funder …] [--deadline 2026-03-15] [--text-file F]`
#[derive(clap::Args, Debug, Clone)]
pub struct AddArgs {
    /// Utlysningens rubrik
    #[arg(long)]
    pub title: String,
    /// Webbadress till utlysningen
    #[arg(long)]
    pub url: String,
    /// Finansiär
    #[arg(long)]
    pub funder: Option<String>,
    /// Sista ansökningsdag: 2026-03-15 eller 2026-03-15T14:00 (svensk tid)
    #[arg(long)]
    pub deadline: Option<String>,
    /// Fil med utlysningens text
    #[arg(long)]
    pub text_file: Option<PathBuf>,
    /// Språk: sv eller en (gissas annars)
    #[arg(long)]
    pub lang: Option<String>,
}

/// Poll and print the table; an unknown `--source` is the user's error.
pub async fn run_poll(
    store: &Store,
    fetcher: &Fetcher,
    specs: &[SourceSpec],
    args: &PollArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<PollReport> {
    if let Some(name) = args.source.as_deref().filter(|n| !specs.iter().any(|s| s.name == *n)) {
        let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(BadInput(format!("okänd källa «{name}»; källorna är: {}", known.join(", "))).into());
    }
    let report = poll_sources(store, fetcher, specs, args.source.as_deref(), now).await;
    writeln!(out, "{report}")?;
    Ok(report)
}

fn manual_error(file: &Path, e: ManualError) -> anyhow::Error {
    match e {
        ManualError::Line { line, message } => BadInput(format!("{}, rad {line}: {message}", file.display())).into(),
        ManualError::Invalid(m) => BadInput(m).into(),
        other => anyhow::Error::new(other),
    }
}

fn print_refs(out: &mut dyn Write, got: &[ImportedCall]) -> anyhow::Result<()> {
    for c in got {
        writeln!(out, "{}  {}", c.reference, if c.new { "ny" } else { "fanns redan" })?;
    }
    Ok(())
}

/// `calls import FILE.jsonl`: prints the reference each call got.
pub async fn run_import(store: &Store, args: &ImportArgs, now: DateTime<Utc>, out: &mut dyn Write) -> anyhow::Result<Vec<ImportedCall>> {
    let f = std::fs::File::open(&args.file).map_err(|e| BadInput(format!("{}: kan inte läsas: {e}", args.file.display())))?;
    let got = import_jsonl(store, std::io::BufReader::new(f), now).await.map_err(|e| manual_error(&args.file, e))?;
    print_refs(out, &got)?;
    Ok(got)
}

/// `calls add`: prints the reference the call got.
pub async fn run_add(store: &Store, args: &AddArgs, now: DateTime<Utc>, out: &mut dyn Write) -> anyhow::Result<CallRef> {
    let text = match &args.text_file {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| BadInput(format!("{}: kan inte läsas: {e}", p.display())))?),
        None => None,
    };
    let call = ManualCall {
        title: args.title.clone(),
        url: args.url.clone(),
        funder: args.funder.clone(),
        deadline: args.deadline.clone(),
        text,
        lang: args.lang.clone(),
    };
    let got = add_manual(store, &call, now).await.map_err(|e| manual_error(Path::new("--"), e))?;
    print_refs(out, std::slice::from_ref(&got))?;
    Ok(got.reference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn add_and_import_print_references_and_name_bad_lines() {
        let store = Store::memory().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        let mut out = Vec::new();
        let add = AddArgs {
            title: "Lokalt stöd till föreningar".into(),
            url: "https://sparbank.example/stod".into(),
            funder: Some("Sparbanksstiftelsen".into()),
            deadline: Some("2026-03-15".into()),
            text_file: None,
            lang: None,
        };
        let r = run_add(&store, &add, now, &mut out).await.unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("{r}  ny\n"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calls.jsonl");
        std::fs::write(&file, "{\"title\":\"A\",\"url\":\"https://a.example/1\"}\n{\"title\":\"B\"}\n").unwrap();
        let e = run_import(&store, &ImportArgs { file: file.clone() }, now, &mut Vec::new()).await.unwrap_err();
        assert!(e.downcast_ref::<BadInput>().is_some());
        assert!(e.to_string().contains("calls.jsonl, rad 2"), "{e}");
        let bad = AddArgs { url: "inte en adress".into(), ..add };
        let e = run_add(&store, &bad, now, &mut Vec::new()).await.unwrap_err();
        assert!(e.downcast_ref::<BadInput>().is_some() && e.to_string().starts_with("url:"), "{e}");
    }
}
