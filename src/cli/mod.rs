//! The command line (DESIGN.md §5): one clap enum, one handler per area in
//! its own file. Errors that are the user's (bad config, bad CSV, unknown
//! reference) exit with 2; anything else with 1.

pub mod apps;
pub mod calls;
pub mod classify;
pub mod core;
pub mod mail;
pub mod members;
pub mod rules;

use crate::config::Config;
use crate::domain::Lang;
use crate::jobs::Ctx;
use chrono::Utc;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// An error the user can fix: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

#[derive(Parser, Debug)]
#[command(name = "psi-radar", version, about = "Bevakar utlysningar åt PSI, matchar medlemmar och skickar veckobrev")]
pub struct Cli {
    /// Konfigurationsfil (TOML)
    #[arg(long, global = true, default_value = "config/psi-radar.toml")]
    pub config: PathBuf,
    /// Loggformat på stderr: text eller json (en rad per händelse, för journald och loggsystem)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Hela flödet offline på de medföljande exemplen; skriver veckobrev och utskick som .eml + .html
    Demo {
        /// Katalog för e-posten
        #[arg(long, default_value = "demo-out")]
        out: PathBuf,
        /// Demots klocka (RFC 3339): exemplens utlysningar gäller vintern 2026
        #[arg(long, default_value = crate::demo::DEMO_NOW)]
        now: String,
    },
    /// Skapa databasen, läs in medlemmar och kontrollera konfigurationen
    Init {
        /// Medlemsfil (CSV) att läsa in
        #[arg(long)]
        members: Option<PathBuf>,
    },
    /// Hämta från källorna nu och visa vad som är nytt, ändrat eller trasigt
    Poll {
        /// Bara den här källan
        #[arg(long)]
        source: Option<String>,
    },
    /// Utlysningarna
    Calls(CallsArgs),
    /// Klassificera en text (rubriken på första raden) och visa belägget
    Classify {
        #[command(flatten)]
        args: classify::ClassifyArgs,
        /// Klassificera om alla lagrade utlysningar (efter ändrad ordlista)
        #[arg(long)]
        all: bool,
    },
    /// Medlemmarna
    Members(members::MembersArgs),
    /// Rangordnade medlemmar och förslag på konsortium för en utlysning
    Match(members::MatchArgs),
    /// Bygg (och skicka) AU:s veckobrev
    Digest {
        /// Vecka, t.ex. 2026-W48 (standard: denna vecka)
        #[arg(long)]
        week: Option<String>,
        /// Visa bara, skicka inget
        #[arg(long)]
        dry_run: bool,
        /// Med --dry-run: skriv .html och .txt hit
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Skicka medlemsutskick om nya utlysningar som passar
    Notify {
        /// Visa bara hur många utskick till vilka, köa och skicka inget
        #[arg(long)]
        dry_run: bool,
    },
    /// Utkorgen: visa kön, eller skicka det som ska ut nu (`outbox send`)
    Outbox(OutboxArgs),
    /// Svarsmejl: tolka, registrera (ingest) och hämta över IMAP (fetch)
    Mail(mail::MailArgs),
    /// Mät klassificeringen
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Ansökningsregistret: ansökningar, årets mål, CSV, HTML och kalender
    Apps(apps::AppsArgs),
    /// Utblick inför workshop: kommande utlysningar per samhällsutmaning och finansiärsnivå
    Outlook {
        /// Antal månader framåt
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Skriv utblicken som HTML hit
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Jobb, källor, utkorg och svar som väntar
    Status,
    /// Tjänsten: alla jobb enligt schemat tills SIGTERM
    Serve,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CallsArgs {
    #[command(subcommand)]
    pub command: Option<CallsCommand>,
    /// Bara öppna utlysningar
    #[arg(long)]
    pub open: bool,
    /// Bara den här kategorin (SC1–SC7 eller ett tema-id)
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum CallsCommand {
    /// Läs in utlysningar som ingen källa täcker (en JSON per rad)
    Import { file: PathBuf },
    /// Lägg till en utlysning för hand
    Add {
        #[arg(long)]
        title: String,
        #[arg(long)]
        url: String,
        #[arg(long)]
        funder: Option<String>,
        /// 2026-03-15 eller 2026-03-15T14:00
        #[arg(long)]
        deadline: Option<String>,
        /// Fil med beskrivningen
        #[arg(long)]
        text_file: Option<PathBuf>,
    },
    /// AU: dölj utlysningen i kommande veckobrev och utskick («ej aktuell»)
    Dismiss { reference: String },
    /// AU: håll utlysningen överst till sista dagen («bevaka»)
    Watch { reference: String },
    /// Utlysningen, dess källposter och varför de slogs samman
    Show { reference: String },
    /// Bryt ut en källpost ur en felaktigt sammanslagen utlysning till en egen
    Split {
        reference: String,
        /// Källposten att bryta ut, KÄLLA:NYCKEL som `calls show` visar den
        #[arg(long)]
        listing: String,
    },
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub command: Option<OutboxCommand>,
    /// Bara det som inte är skickat ännu
    #[arg(long)]
    pub pending: bool,
    /// Som JSON (för skript)
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// Skicka det som ska ut nu, genom samma anspråk som tjänsten (säkert bredvid en körande serve)
    Send,
}

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Precision, täckning och F1 per kategori samt macro-F1
    Classify(classify::EvalClassifyArgs),
    /// Andel svensk-engelska tvillingar som får samma huvudutmaning
    Agreement(classify::EvalAgreementArgs),
    /// Hur ofta utlysningsreglerna (sista dag, öppnar, vem kan söka och leda, hemlänet) läses rätt
    Rules(rules::EvalRulesArgs),
}

/// clap's own lines ("Print help", "Print version", "Usage:", "Options:")
/// are English; the help is Swedish like the rest. Its `help` subcommand
/// cannot be worded, so it is off (`--help` works on every command).
fn swedish_help(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_flag(true)
        .disable_help_subcommand(true)
        .help_template("{before-help}{about-with-newline}\nAnvändning: {usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("Kommandon")
        .mut_args(|a| {
            let a = swedish_defaults(a);
            match a.get_help_heading() {
                Some(_) => a,
                None if a.is_positional() => a.help_heading("Argument"),
                None => a.help_heading("Flaggor"),
            }
        })
        .arg(clap::Arg::new("help").short('h').long("help").action(clap::ArgAction::Help).help("Visa hjälpen").help_heading("Flaggor"))
        .mut_subcommands(swedish_help)
}

/// clap's "[default: …]" and "[possible values: …]" in Swedish.
fn swedish_defaults(a: clap::Arg) -> clap::Arg {
    // A flag (`--json`) shows neither; its implicit "false" is no default to print.
    if !a.get_action().takes_values() {
        return a;
    }
    let mut extra = Vec::new();
    let values: Vec<String> = a.get_possible_values().iter().filter(|v| !v.is_hide_set()).map(|v| v.get_name().to_string()).collect();
    if !values.is_empty() && !a.is_hide_possible_values_set() {
        extra.push(format!("[möjliga värden: {}]", values.join(", ")));
    }
    let defaults: Vec<String> = a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    if !defaults.is_empty() && !a.is_hide_default_value_set() {
        extra.insert(0, format!("[standard: {}]", defaults.join(", ")));
    }
    if extra.is_empty() {
        return a;
    }
    let help = a.get_help().map(|h| format!("{h} ")).unwrap_or_default();
    let text = format!("{help}{}", extra.join(" "));
    a.help(text).hide_default_value(true).hide_possible_values(true)
}

/// The command line as parsed, with the help in Swedish.
fn parse_args() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let cmd = swedish_help(Cli::command()).disable_version_flag(true).arg(
        clap::Arg::new("version")
            .short('V')
            .long("version")
            .action(clap::ArgAction::Version)
            .help("Visa versionen")
            .help_heading("Flaggor"),
    );
    Cli::from_arg_matches(&cmd.get_matches()).unwrap_or_else(|e| e.exit())
}

/// Output piped into `head` that stopped reading: not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

pub fn main() -> ExitCode {
    let cli = parse_args();
    init_tracing(matches!(cli.command, Command::Serve), cli.log_format);
    // An MTA pipe retries on EX_TEMPFAIL (75) instead of bouncing the member's reply.
    let tempfail = matches!(&cli.command, Command::Mail(m) if matches!(m.command, mail::MailCommand::Ingest { .. }));
    let config_path = cli.config.clone();
    // The daemon is mostly idle and waits on the network: one thread is
    // plenty and keeps its memory small. Commands that work hard (polls,
    // classifying everything) get a worker per core.
    let mut builder = if matches!(cli.command, Command::Serve) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fel: kunde inte starta: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(run(cli));
    // Blocking work still running when the command is done (a name lookup
    // of a poll cut short by SIGTERM) is not waited for, as dropping the
    // runtime would.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.is::<crate::jobs::dbguard::DatabaseGone>() => ExitCode::from(1), // logged when it happened
        Err(e) => {
            // The config's language when it can be read (it may be what failed).
            let lang = Config::load(&config_path).map_or(crate::domain::Lang::Sv, |c| c.partnership.lang);
            eprintln!("{}: {e:#}", lang.pick("fel", "error"));
            match (is_bad_input(&e), tempfail) {
                (true, _) => ExitCode::from(2),
                (false, true) => ExitCode::from(75),
                (false, false) => ExitCode::from(1),
            }
        }
    }
}

/// Logs go to stderr; `RUST_LOG` tunes them (default: warnings, info for
/// `serve`). No secret is ever a field: the config holds only the *names*
/// of the environment variables with passwords.
fn init_tracing(daemon: bool, format: LogFormat) {
    let default = if daemon { "warn,psi_radar=info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour codes only for a person at a terminal, never into a log file or journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

fn is_bad_input(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<BadInput>()
            || c.is::<crate::config::ConfigError>()
            || c.is::<crate::sources::spec::SourcesConfigError>()
            || c.is::<crate::classify::ClassifyError>()
            || c.downcast_ref::<crate::classify::eval::EvalError>().is_some_and(|e| e.is_bad_input())
            || c.is::<crate::members::ImportError>()
    })
}

fn load_config(path: &Path) -> anyhow::Result<Config> {
    Ok(Config::load(path)?)
}

async fn open(path: &Path) -> anyhow::Result<Ctx> {
    open_ctx(load_config(path)?, path).await
}

/// The context of a command over its existing database: a missing file is
/// the user's to fix with `init`, never silently a new, empty database.
pub(crate) async fn open_ctx(config: Config, config_path: &Path) -> anyhow::Result<Ctx> {
    if let Some(file) = &config.database_file
        && !file.exists()
    {
        let lang = config.partnership.lang;
        let mut msg = match lang {
            Lang::Sv => {
                format!("databasen {} finns inte: kör psi-radar init --config {} för att skapa den", file.display(), config_path.display())
            }
            Lang::En => {
                format!(
                    "the database {} does not exist: run psi-radar init --config {} to create it",
                    file.display(),
                    config_path.display()
                )
            }
        };
        if let Some(old) = database_in_working_dir(&config, file) {
            msg.push_str(&moved_database_hint(&old, lang));
        }
        return Err(BadInput(msg).into());
    }
    Ctx::open(config).await
}

/// Before relative paths followed the config's directory, a relative
/// database was created in the working directory: that file, if it is
/// there and the configured one is not.
fn database_in_working_dir(config: &Config, file: &Path) -> Option<PathBuf> {
    let rel = file.strip_prefix(config.path.parent()?).ok()?;
    (rel != file && rel.exists()).then(|| rel.to_path_buf())
}

fn moved_database_hint(old: &Path, lang: Lang) -> String {
    match lang {
        Lang::Sv => format!(
            "; en databas med samma namn finns i arbetskatalogen ({}): relativa sökvägar i konfigurationen utgår från konfigurationsfilens katalog, så flytta den dit eller skriv hela sökvägen i [database] url",
            old.display()
        ),
        Lang::En => format!(
            "; a database of that name is in the working directory ({}): relative paths in the config are relative to the config file's directory, so move it there or write the full path in [database] url",
            old.display()
        ),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let now = Utc::now();
    let stdout = std::io::stdout();
    let out = &mut stdout.lock();
    match cli.command {
        Command::Demo { out: dir, now: at } => {
            let at = chrono::DateTime::parse_from_rfc3339(&at)
                .map_err(|e| BadInput(format!("--now «{at}»: {e} (t.ex. 2026-01-12T07:00:00+01:00)")))?
                .with_timezone(&Utc);
            let started = std::time::Instant::now();
            let r = crate::demo::run_demo(&dir, at).await?;
            print_demo(&r, started.elapsed(), Lang::Sv, out)?;
            Ok(())
        }
        Command::Init { members } => {
            let config = load_config(&cli.config)?;
            if let Some(file) = config.database_file.as_deref().filter(|f| !f.exists())
                && let Some(old) = database_in_working_dir(&config, file)
            {
                let lang = config.partnership.lang;
                let what = match lang {
                    Lang::Sv => format!("skapar ingen ny, tom databas {}", file.display()),
                    Lang::En => format!("not creating a new, empty database {}", file.display()),
                };
                return Err(BadInput(format!("{what}{}", moved_database_hint(&old, lang))).into());
            }
            let ctx = Ctx::create(config).await?;
            let lang = ctx.config.partnership.lang;
            let (sources, categories) = (ctx.sources.len(), ctx.model.categories().len());
            let db = ctx.config.database_file.as_deref().map_or_else(|| ctx.config.database_url.clone(), |f| f.display().to_string());
            match lang {
                Lang::Sv => {
                    writeln!(out, "Konfigurationen {} är giltig.", cli.config.display())?;
                    writeln!(out, "Databasen {db} är klar.")?;
                    writeln!(out, "{sources} källor, {categories} kategorier.")?;
                }
                Lang::En => {
                    writeln!(out, "The config {} is valid.", cli.config.display())?;
                    writeln!(out, "The database {db} is ready.")?;
                    writeln!(out, "{sources} sources, {categories} categories.")?;
                }
            }
            if let Some(file) = members {
                members::import(&ctx.store, &file, &crate::jobs::theme_ids(&ctx.model), now, lang, out).await?;
            }
            Ok(())
        }
        Command::Poll { source } => {
            let ctx = open(&cli.config).await?;
            let lang = ctx.config.partnership.lang;
            if let Some(s) = &source
                && !ctx.sources.iter().any(|x| &x.name == s)
            {
                return Err(BadInput(match lang {
                    Lang::Sv => format!("--source: ingen källa heter «{s}»"),
                    Lang::En => format!("--source: no source is called «{s}»"),
                })
                .into());
            }
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let fetched = lang.pick("hämtat", "fetched");
            let progress = move |p: crate::jobs::poll::Progress<'_>| {
                let mark = if p.ok { "ok" } else { lang.pick("FEL", "FAILED") };
                if tty {
                    let filled = p.done * 20 / p.total.max(1);
                    eprint!(
                        "\r[{}{}] {}/{} {:<32}",
                        "#".repeat(filled),
                        "-".repeat(20 - filled),
                        p.done,
                        p.total,
                        format!("{} {mark}", p.source)
                    );
                    if p.done == p.total {
                        eprintln!();
                    }
                } else {
                    eprintln!("{fetched} {}/{}: {} {mark}", p.done, p.total, p.source);
                }
            };
            let r = crate::jobs::poll::run_poll_with_progress(&ctx, source.as_deref(), now, &progress).await?;
            writeln!(out, "{}", r.poll.table(lang))?;
            Ok(())
        }
        Command::Calls(args) => {
            let ctx = open(&cli.config).await?;
            let lang = ctx.config.partnership.lang;
            let new_or_updated =
                |new: bool| if new { lang.pick("ny", "new") } else { lang.pick("fanns redan (uppdaterad)", "already there (updated)") };
            match args.command {
                None => core::calls_list(&ctx, args.open, args.category, args.json, now, out).await,
                Some(CallsCommand::Dismiss { reference }) => core::calls_mark(&ctx, &reference, false, now, out).await,
                Some(CallsCommand::Watch { reference }) => core::calls_mark(&ctx, &reference, true, now, out).await,
                Some(CallsCommand::Show { reference }) => calls::show(&ctx, &reference, now, out).await,
                Some(CallsCommand::Split { reference, listing }) => calls::split(&ctx, &reference, &listing, now, out).await,
                Some(CallsCommand::Import { file }) => {
                    let f = std::fs::File::open(&file).map_err(|e| {
                        BadInput(format!("{}: {} {}", file.display(), lang.pick("filen", "the file"), crate::i18n::io_problem(&e, lang)))
                    })?;
                    let got = crate::jobs::ingest::import_jsonl(&ctx.store, std::io::BufReader::new(f), now)
                        .await
                        .map_err(|e| BadInput(format!("{}: {e}", file.display())))?;
                    let refs: Vec<_> = got.iter().map(|g| g.reference).collect();
                    crate::jobs::poll::read_rules(&ctx, now).await?;
                    crate::jobs::poll::classify_refs(&ctx, &refs).await?;
                    for g in got {
                        writeln!(out, "{} {}", g.reference, new_or_updated(g.new))?;
                    }
                    Ok(())
                }
                Some(CallsCommand::Add { title, url, funder, deadline, text_file }) => {
                    let text = match text_file {
                        Some(p) => Some(std::fs::read_to_string(&p).map_err(|e| {
                            BadInput(format!(
                                "--text-file {}: {} {}",
                                p.display(),
                                lang.pick("filen", "the file"),
                                crate::i18n::io_problem(&e, lang)
                            ))
                        })?),
                        None => None,
                    };
                    let m = crate::sources::manual::ManualCall { title, url, funder, deadline, text, lang: None };
                    let got = crate::jobs::ingest::add_manual(&ctx.store, &m, now).await.map_err(|e| BadInput(e.to_string()))?;
                    crate::jobs::poll::read_rules(&ctx, now).await?;
                    crate::jobs::poll::classify_refs(&ctx, &[got.reference]).await?;
                    writeln!(out, "{} {}", got.reference, new_or_updated(got.new))?;
                    Ok(())
                }
            }
        }
        Command::Classify { args, all } => {
            if all {
                let ctx = open(&cli.config).await?;
                let n = crate::jobs::poll::classify_all(&ctx).await?;
                match ctx.config.partnership.lang {
                    Lang::Sv => writeln!(out, "Klassificerade om {n} utlysningar.")?,
                    Lang::En => writeln!(out, "Reclassified {n} calls.")?,
                }
                return Ok(());
            }
            let (model, lang) = model_for(&cli.config)?;
            classify::handle_classify(&model, &args, lang, out)
        }
        Command::Eval(EvalCommand::Classify(a)) => {
            let (model, _) = model_for(&cli.config)?;
            classify::run_eval_classify(&model, &a.data, a.field, a.max_chars, out)
        }
        Command::Eval(EvalCommand::Rules(a)) => rules::run_eval_rules(&a, chrono_tz::Europe::Stockholm, out),
        Command::Eval(EvalCommand::Agreement(a)) => {
            let (model, _) = model_for(&cli.config)?;
            classify::run_eval_agreement(&model, &a.pairs, out)
        }
        Command::Members(args) => {
            let ctx = open(&cli.config).await?;
            members::run_members(&ctx, &args, now, out).await
        }
        Command::Match(args) => {
            let ctx = open(&cli.config).await?;
            members::run_match(&ctx.store, &args.call, args.json, ctx.config.partnership.lang, out).await
        }
        Command::Digest { week, dry_run, out: dir } => {
            let ctx = open(&cli.config).await?;
            core::digest(&ctx, week, dry_run, dir.as_deref(), now, out).await
        }
        Command::Notify { dry_run } => {
            let ctx = open(&cli.config).await?;
            core::notify(&ctx, dry_run, now, out).await
        }
        Command::Mail(args) => mail::run(&args, &cli.config, now, out).await,
        Command::Outbox(args) => {
            let ctx = open(&cli.config).await?;
            match args.command {
                None => core::outbox(&ctx, args.pending, args.json, out).await,
                Some(OutboxCommand::Send) => core::outbox_send(&ctx, now, out).await,
            }
        }
        Command::Apps(args) => {
            let ctx = open(&cli.config).await?;
            apps::run_apps(&ctx, &args, now, out).await
        }
        Command::Outlook { months, html } => {
            let ctx = open(&cli.config).await?;
            apps::run_outlook(&ctx, months, html.as_deref(), now, out).await
        }
        Command::Status => {
            let ctx = open(&cli.config).await?;
            core::status(&ctx, now, out).await
        }
        Command::Serve => {
            let ctx = open(&cli.config).await?;
            crate::jobs::schedule::serve(ctx, crate::jobs::schedule::signals()).await
        }
    }
}

/// The classification model for commands that need no database, and the
/// language to speak: the config's lexicon and language when the config can
/// be read, else the built-in lexicon and Swedish.
fn model_for(config: &Path) -> anyhow::Result<(crate::classify::Model, Lang)> {
    if config.exists() {
        let cfg = load_config(config)?;
        return Ok((crate::classify::Model::from_file(&cfg.classify.categories_file)?, cfg.partnership.lang));
    }
    Ok((crate::classify::Model::builtin()?, crate::domain::Lang::Sv))
}

/// The demo's summary. The demo always runs a Swedish config, so the caller
/// passes Swedish; English is there for symmetry.
fn print_demo(r: &crate::demo::DemoReport, took: std::time::Duration, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "psi-radar demo ({:.1} s)", took.as_secs_f64())?;
    writeln!(out, "  {}: {} ({} {})", lang.pick("källor", "sources"), r.sources, r.failed_sources.len(), lang.pick("med fel", "failed"))?;
    for f in &r.failed_sources {
        writeln!(out, "    {f}")?;
    }
    writeln!(out, "  {}: {}", lang.pick("utlysningar", "calls"), r.calls)?;
    for (cat, n) in &r.per_category {
        writeln!(out, "    {cat:<6} {n}")?;
    }
    writeln!(out, "  {}: {}, {}: {}", lang.pick("medlemmar", "members"), r.members, lang.pick("matchningar", "matches"), r.matches)?;
    writeln!(out, "  {}: {}", lang.pick("veckobrev", "digest"), r.digest_subject)?;
    writeln!(out, "  {}: {}", lang.pick("medlemsutskick", "member notifications"), r.notifications)?;
    writeln!(
        out,
        "  {}: {}",
        lang.pick("svar från medlemmar (läst som svarsmejl)", "replies from members (read as reply mail)"),
        r.replies.len()
    )?;
    for line in &r.replies {
        writeln!(out, "    {line}")?;
    }
    writeln!(out, "  {}:", lang.pick("filer", "files"))?;
    for f in &r.files {
        writeln!(out, "    {}", f.display())?;
    }
    Ok(())
}
