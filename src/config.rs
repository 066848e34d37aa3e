//! Configuration: the TOML file is deserialised into raw structs (unknown
//! keys are errors), then validated once at start-up into typed values
//! (`Config`). Every error names the file, the line and the key.

use crate::domain::{Email, Lang};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use toml::Spanned;

/// A configuration error: file, line (when known), key and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), if key.is_empty() { String::new() } else { format!("{key}: ") })]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was read from; relative paths in it are relative to its directory.
    pub path: PathBuf,
    pub partnership: Partnership,
    /// The SQLite URL, its file path resolved against the config's directory.
    pub database_url: String,
    /// The database file (`None` for an in-memory database).
    pub database_file: Option<PathBuf>,
    pub sources: SourcesConfig,
    pub classify: ClassifyConfig,
    pub matching: MatchingConfig,
    pub schedule: Schedule,
    pub mail: MailConfig,
    pub goal: GoalConfig,
}

#[derive(Debug, Clone)]
pub struct Partnership {
    pub name: String,
    pub short_name: String,
    pub lang: Lang,
    pub tz: Tz,
    /// The partnership's home county as calls name it (`Örebro län`): a
    /// call limited to other places is closed to its members.
    pub county: String,
}

#[derive(Debug, Clone)]
pub struct SourcesConfig {
    pub file: PathBuf,
    pub contact: Email,
    pub timeout_secs: u64,
    pub max_bytes: u64,
    pub per_host: usize,
    /// A whole poll's time; sources not done by then fail (and say so).
    pub poll_budget_secs: u64,
}

#[derive(Debug, Clone)]
pub struct ClassifyConfig {
    pub categories_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct MatchingConfig {
    /// A member is notified of a new call when its match score reaches this.
    pub notify_threshold: f32,
    /// How many matched members the digest shows per call.
    pub digest_members: usize,
}

/// A cron schedule (6 fields, seconds first) evaluated in the partnership's zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    pub pattern: String,
    cron: croner::Cron,
}

impl CronSpec {
    pub fn parse(pattern: &str) -> Result<CronSpec, String> {
        if pattern.split_whitespace().count() != 6 {
            return Err(format!("«{pattern}» ska ha 6 fält: sekund minut timme dag månad veckodag"));
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .build()
            .parse(pattern)
            .map_err(|e| format!("ogiltigt cron-uttryck «{pattern}»: {e}"))?;
        Ok(CronSpec { pattern: pattern.to_string(), cron })
    }

    /// The next run strictly after `after`, computed in `tz` so that a
    /// Monday 07:00 job stays at 07:00 local time across summer-time changes.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after.with_timezone(&tz), false).ok().map(|t| t.with_timezone(&Utc))
    }

    /// The latest scheduled instant at or before `at` (for catch-up after downtime).
    pub fn last_at_or_before(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron.find_previous_occurrence(&at.with_timezone(&tz), true).ok().map(|t| t.with_timezone(&Utc))
    }
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub poll: CronSpec,
    pub digest: CronSpec,
    pub notify: CronSpec,
    pub replies: CronSpec,
    pub reminders: CronSpec,
    pub send: CronSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Implicit TLS (SMTPS 465, IMAPS 993).
    Tls,
    /// STARTTLS upgrade (SMTP 587).
    Starttls,
    /// Plain text: only for a server on this machine (tests).
    None,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    /// The name of the environment variable holding the password (never the password).
    pub password_env: Option<String>,
    pub per_minute: u32,
}

#[derive(Debug, Clone)]
pub enum Transport {
    File { dir: PathBuf },
    Smtp(SmtpConfig),
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub password_env: String,
    pub folder: String,
    pub done_folder: String,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from_name: String,
    pub from: Email,
    pub reply_to: Email,
    pub au: Vec<Email>,
    pub transport: Transport,
    pub imap: Option<ImapConfig>,
    pub retention_months: u32,
    pub max_attempts: u32,
    /// Hardening: a reply is accepted only when it comes back to the
    /// contact's own reply address `<reply_to local part>+<token>@…`.
    pub reply_token: bool,
    /// How long an answer that names no call waits for the member to name
    /// it after we asked back (days).
    pub ask_back_days: u32,
    /// AU's members' personal addresses: their dismiss/watch commands count
    /// only when the message is proven theirs (see [`MailAuth`]).
    pub au_members: Vec<Email>,
    /// `[mail.auth]`: how a sender is proven.
    pub auth: Option<MailAuth>,
}

/// `[mail.auth]`: a message is proven its sender's when the partnership's
/// own mail server (`authserv_id`, as it names itself in the
/// `Authentication-Results` header it adds) says DMARC or DKIM passed for
/// the sender's domain, or when it came back to the sender's token address.
#[derive(Debug, Clone)]
pub struct MailAuth {
    pub authserv_id: String,
    /// Members' answers need the same proof.
    pub members: bool,
}

#[derive(Debug, Clone)]
pub struct GoalConfig {
    pub per_year: u32,
    pub counting_roles: Vec<String>,
}

// ---- raw, as written in the file ------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    partnership: RawPartnership,
    #[serde(default)]
    database: RawDatabase,
    sources: RawSources,
    #[serde(default)]
    classify: RawClassify,
    #[serde(default)]
    matching: RawMatching,
    #[serde(default)]
    schedule: RawSchedule,
    mail: RawMail,
    #[serde(default)]
    goal: RawGoal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartnership {
    name: Spanned<String>,
    #[serde(default = "d_short")]
    short_name: String,
    #[serde(default = "d_lang")]
    language: Spanned<String>,
    #[serde(default = "d_tz")]
    timezone: Spanned<String>,
    #[serde(default = "d_county")]
    county: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    #[serde(default = "d_db")]
    url: Spanned<String>,
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase { url: d_db() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    #[serde(default = "d_sources_file")]
    file: String,
    contact: Spanned<String>,
    #[serde(default = "d_timeout")]
    timeout_secs: Spanned<u64>,
    #[serde(default = "d_max_bytes")]
    max_bytes: Spanned<u64>,
    #[serde(default = "d_per_host")]
    per_host: Spanned<usize>,
    #[serde(default = "d_poll_budget")]
    poll_budget_secs: Spanned<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassify {
    #[serde(default = "d_categories")]
    categories: String,
}

impl Default for RawClassify {
    fn default() -> Self {
        RawClassify { categories: d_categories() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatching {
    #[serde(default = "d_notify_threshold")]
    notify_threshold: Spanned<f32>,
    #[serde(default = "d_digest_members")]
    digest_members: usize,
}

impl Default for RawMatching {
    fn default() -> Self {
        RawMatching { notify_threshold: d_notify_threshold(), digest_members: d_digest_members() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    #[serde(default = "d_poll")]
    poll: Spanned<String>,
    #[serde(default = "d_digest")]
    digest: Spanned<String>,
    #[serde(default = "d_notify")]
    notify: Spanned<String>,
    #[serde(default = "d_replies")]
    replies: Spanned<String>,
    #[serde(default = "d_reminders")]
    reminders: Spanned<String>,
    #[serde(default = "d_send")]
    send: Spanned<String>,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            poll: d_poll(),
            digest: d_digest(),
            notify: d_notify(),
            replies: d_replies(),
            reminders: d_reminders(),
            send: d_send(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    #[serde(default = "d_from_name")]
    from_name: Spanned<String>,
    from: Spanned<String>,
    reply_to: Spanned<String>,
    au: Spanned<Vec<String>>,
    #[serde(default = "d_transport")]
    transport: Spanned<String>,
    #[serde(default = "d_outbox")]
    outbox_dir: String,
    smtp: Option<Spanned<RawSmtp>>,
    imap: Option<Spanned<RawImap>>,
    #[serde(default = "d_retention")]
    retention_months: u32,
    #[serde(default = "d_attempts")]
    max_attempts: u32,
    #[serde(default)]
    reply_token: bool,
    #[serde(default = "d_ask_back_days")]
    ask_back_days: u32,
    au_members: Option<Spanned<Vec<String>>>,
    auth: Option<Spanned<RawAuth>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    authserv_id: String,
    #[serde(default)]
    members: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    #[serde(default = "d_smtp_port")]
    port: u16,
    #[serde(default = "d_starttls")]
    tls: TlsMode,
    username: Option<String>,
    password_env: Option<String>,
    #[serde(default = "d_per_minute")]
    per_minute: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImap {
    host: String,
    #[serde(default = "d_imap_port")]
    port: u16,
    #[serde(default = "d_tls")]
    tls: TlsMode,
    username: String,
    password_env: String,
    #[serde(default = "d_inbox")]
    folder: String,
    #[serde(default = "d_done")]
    done_folder: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoal {
    #[serde(default = "d_goal")]
    applications_per_year: u32,
    #[serde(default = "d_roles")]
    counting_roles: Spanned<Vec<String>>,
}

impl Default for RawGoal {
    fn default() -> Self {
        RawGoal { applications_per_year: d_goal(), counting_roles: d_roles() }
    }
}

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}
fn d_short() -> String {
    "PSI".into()
}
fn d_lang() -> Spanned<String> {
    sp("sv".into())
}
fn d_tz() -> Spanned<String> {
    sp("Europe/Stockholm".into())
}
fn d_county() -> String {
    "Örebro län".into()
}
fn d_db() -> Spanned<String> {
    sp("sqlite://psi-radar.db".into())
}
fn d_sources_file() -> String {
    "sources.toml".into()
}
fn d_timeout() -> Spanned<u64> {
    sp(30)
}
fn d_max_bytes() -> Spanned<u64> {
    sp(10 * 1024 * 1024)
}
fn d_per_host() -> Spanned<usize> {
    sp(2)
}
fn d_poll_budget() -> Spanned<u64> {
    sp(600)
}
fn d_categories() -> String {
    "categories.toml".into()
}
fn d_notify_threshold() -> Spanned<f32> {
    sp(0.45)
}
fn d_digest_members() -> usize {
    5
}
fn d_poll() -> Spanned<String> {
    sp("0 0 6,12,18 * * *".into())
}
fn d_digest() -> Spanned<String> {
    sp("0 0 7 * * Mon".into())
}
fn d_notify() -> Spanned<String> {
    sp("0 30 8 * * *".into())
}
fn d_replies() -> Spanned<String> {
    sp("0 */5 * * * *".into())
}
fn d_reminders() -> Spanned<String> {
    sp("0 0 8 * * *".into())
}
fn d_send() -> Spanned<String> {
    sp("0 * * * * *".into())
}
fn d_from_name() -> Spanned<String> {
    sp("PSI-radarn".into())
}
fn d_transport() -> Spanned<String> {
    sp("file".into())
}
fn d_outbox() -> String {
    "outbox".into()
}
fn d_smtp_port() -> u16 {
    587
}
fn d_starttls() -> TlsMode {
    TlsMode::Starttls
}
fn d_per_minute() -> u32 {
    60
}
fn d_imap_port() -> u16 {
    993
}
fn d_tls() -> TlsMode {
    TlsMode::Tls
}
fn d_inbox() -> String {
    "INBOX".into()
}
fn d_done() -> String {
    "psi-behandlade".into()
}
fn d_retention() -> u32 {
    12
}
fn d_attempts() -> u32 {
    8
}
fn d_ask_back_days() -> u32 {
    14
}
fn d_goal() -> u32 {
    5
}
fn d_roles() -> Spanned<Vec<String>> {
    sp(vec!["reference_group".into(), "stakeholder_group".into(), "partner".into(), "lead".into()])
}

/// The application roles that may count toward the goal.
pub const PSI_ROLES: [&str; 5] = ["reference_group", "stakeholder_group", "partner", "lead", "support_only"];

impl Config {
    /// Read and validate the configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|e| {
            // The file's own language setting is out of reach: Swedish, the default.
            let problem = crate::i18n::io_problem(&e, Lang::Sv);
            let hint = match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "; ange konfigurationsfilen med --config FIL (utan --config läses config/psi-radar.toml i arbetskatalogen)"
                }
                _ => "",
            };
            ConfigError {
                file: path.display().to_string(),
                line: None,
                key: String::new(),
                message: format!("konfigurationsfilen {problem}{hint}"),
            }
        })?;
        Config::from_str(&src, path)
    }

    /// Validate configuration text; `path` names it in errors and anchors relative paths.
    pub fn from_str(src: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let line_of = |span: std::ops::Range<usize>| -> Option<usize> {
            (span.end > 0).then(|| src[..span.start.min(src.len())].matches('\n').count() + 1)
        };
        let err = |span: std::ops::Range<usize>, key: &str, message: String| ConfigError {
            file: file.clone(),
            line: line_of(span),
            key: key.into(),
            message,
        };
        let raw: RawConfig = toml::from_str(src).map_err(|e| toml_error(&file, src, &e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let rel = |p: &str| if Path::new(p).is_absolute() { PathBuf::from(p) } else { base.join(p) };

        let p = raw.partnership;
        let lang = Lang::parse(p.language.get_ref())
            .ok_or_else(|| err(p.language.span(), "partnership.language", format!("«{}» ska vara sv eller en", p.language.get_ref())))?;
        let tz: Tz = p
            .timezone
            .get_ref()
            .parse()
            .map_err(|_| err(p.timezone.span(), "partnership.timezone", format!("okänd tidszon «{}»", p.timezone.get_ref())))?;
        if p.name.get_ref().trim().is_empty() {
            return Err(err(p.name.span(), "partnership.name", "får inte vara tomt".into()));
        }
        let (database_url, database_file) =
            database(raw.database.url.get_ref(), &base).map_err(|m| err(raw.database.url.span(), "database.url", m))?;

        let s = raw.sources;
        let contact = Email::parse(s.contact.get_ref()).map_err(|m| err(s.contact.span(), "sources.contact", m))?;
        for (key, span, zero) in [
            ("sources.timeout_secs", s.timeout_secs.span(), *s.timeout_secs.get_ref() == 0),
            ("sources.max_bytes", s.max_bytes.span(), *s.max_bytes.get_ref() == 0),
            ("sources.per_host", s.per_host.span(), *s.per_host.get_ref() == 0),
        ] {
            if zero {
                return Err(err(span, key, "måste vara större än 0".into()));
            }
        }
        if s.poll_budget_secs.get_ref() < s.timeout_secs.get_ref() {
            let why = format!("ska vara minst timeout_secs ({} s)", s.timeout_secs.get_ref());
            return Err(err(s.poll_budget_secs.span(), "sources.poll_budget_secs", why));
        }

        let m = raw.matching;
        let nt = *m.notify_threshold.get_ref();
        if !(0.0..=1.0).contains(&nt) {
            return Err(err(m.notify_threshold.span(), "matching.notify_threshold", format!("{nt} ska ligga mellan 0 och 1")));
        }

        let sc = raw.schedule;
        let cron = |v: &Spanned<String>, key: &str| CronSpec::parse(v.get_ref()).map_err(|m| err(v.span(), key, m));
        let schedule = Schedule {
            poll: cron(&sc.poll, "schedule.poll")?,
            digest: cron(&sc.digest, "schedule.digest")?,
            notify: cron(&sc.notify, "schedule.notify")?,
            replies: cron(&sc.replies, "schedule.replies")?,
            reminders: cron(&sc.reminders, "schedule.reminders")?,
            send: cron(&sc.send, "schedule.send")?,
        };

        let ml = raw.mail;
        let from = Email::parse(ml.from.get_ref()).map_err(|m| err(ml.from.span(), "mail.from", m))?;
        let reply_to = Email::parse(ml.reply_to.get_ref()).map_err(|m| err(ml.reply_to.span(), "mail.reply_to", m))?;
        let au =
            ml.au.get_ref().iter().map(|a| Email::parse(a).map_err(|m| err(ml.au.span(), "mail.au", m))).collect::<Result<Vec<_>, _>>()?;
        if au.is_empty() {
            return Err(err(ml.au.span(), "mail.au", "minst en mottagare för veckobrevet behövs".into()));
        }
        let au_members = match &ml.au_members {
            Some(list) => list
                .get_ref()
                .iter()
                .map(|a| Email::parse(a).map_err(|m| err(list.span(), "mail.au_members", m)))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let auth = match ml.auth {
            None => None,
            Some(a) => {
                let span = a.span();
                let a = a.into_inner();
                let id = a.authserv_id.trim();
                if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';') {
                    return Err(err(
                        span,
                        "mail.auth.authserv_id",
                        "ska vara namnet e-postservern ger sig själv i Authentication-Results, t.ex. \"mx.example.org\"".into(),
                    ));
                }
                Some(MailAuth { authserv_id: id.to_string(), members: a.members })
            }
        };
        if ml.from_name.get_ref().contains(['\r', '\n']) {
            return Err(err(ml.from_name.span(), "mail.from_name", "får inte innehålla radbrytningar".into()));
        }
        let transport = match ml.transport.get_ref().as_str() {
            "file" => Transport::File { dir: rel(&ml.outbox_dir) },
            "smtp" => {
                let Some(smtp) = ml.smtp else {
                    return Err(err(ml.transport.span(), "mail.smtp", "transport = \"smtp\" kräver en [mail.smtp]-tabell".into()));
                };
                let span = smtp.span();
                let smtp = smtp.into_inner();
                if smtp.host.trim().is_empty() {
                    return Err(err(span, "mail.smtp.host", "får inte vara tomt".into()));
                }
                if smtp.username.is_some() != smtp.password_env.is_some() {
                    return Err(err(span, "mail.smtp.password_env", "username och password_env anges tillsammans".into()));
                }
                if let Some(var) = &smtp.password_env {
                    check_env_name(var).map_err(|m| err(span.clone(), "mail.smtp.password_env", m))?;
                }
                Transport::Smtp(SmtpConfig {
                    host: smtp.host,
                    port: smtp.port,
                    tls: smtp.tls,
                    username: smtp.username,
                    password_env: smtp.password_env,
                    per_minute: smtp.per_minute.max(1),
                })
            }
            other => return Err(err(ml.transport.span(), "mail.transport", format!("«{other}» ska vara file eller smtp"))),
        };
        let imap = match ml.imap {
            None => None,
            Some(i) => {
                let span = i.span();
                let i = i.into_inner();
                check_env_name(&i.password_env).map_err(|m| err(span.clone(), "mail.imap.password_env", m))?;
                Some(ImapConfig {
                    host: i.host,
                    port: i.port,
                    tls: i.tls,
                    username: i.username,
                    password_env: i.password_env,
                    folder: i.folder,
                    done_folder: i.done_folder,
                })
            }
        };

        let g = raw.goal;
        for r in g.counting_roles.get_ref() {
            if !PSI_ROLES.contains(&r.as_str()) {
                return Err(err(
                    g.counting_roles.span(),
                    "goal.counting_roles",
                    format!("okänd roll «{r}» (giltiga: {})", PSI_ROLES.join(", ")),
                ));
            }
        }

        Ok(Config {
            path: path.to_path_buf(),
            partnership: Partnership { name: p.name.into_inner(), short_name: p.short_name, lang, tz, county: p.county },
            database_url,
            database_file,
            sources: SourcesConfig {
                file: rel(&s.file),
                contact,
                timeout_secs: s.timeout_secs.into_inner(),
                max_bytes: s.max_bytes.into_inner(),
                per_host: s.per_host.into_inner(),
                poll_budget_secs: s.poll_budget_secs.into_inner(),
            },
            classify: ClassifyConfig { categories_file: rel(&raw.classify.categories) },
            matching: MatchingConfig { notify_threshold: nt, digest_members: m.digest_members.max(1) },
            schedule,
            mail: MailConfig {
                from_name: ml.from_name.into_inner(),
                from,
                reply_to,
                au,
                transport,
                imap,
                retention_months: ml.retention_months,
                max_attempts: ml.max_attempts.max(1),
                reply_token: ml.reply_token,
                ask_back_days: ml.ask_back_days.max(1),
                au_members,
                auth,
            },
            goal: GoalConfig { per_year: g.applications_per_year, counting_roles: g.counting_roles.into_inner() },
        })
    }
}

fn check_env_name(var: &str) -> Result<(), String> {
    if var.is_empty() || !var.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
        return Err(format!("«{var}» ska vara namnet på en miljövariabel (A–Z, 0–9, _), inte själva lösenordet"));
    }
    Ok(())
}

/// A TOML error (syntax, unknown or missing key, wrong type) with its
/// line and key: the key the parser names, else the one at its position.
fn toml_error(file: &str, src: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().to_string();
    let span = e.span();
    let named = message.split('`').nth(1);
    let at = span.as_ref().and_then(|s| crate::toml_pos::key_at(src, s.start));
    let key = match named {
        Some(k) if message.starts_with("unknown field") => k.to_string(),
        Some(k) if message.starts_with("missing field") => match at {
            Some(table) if span.as_ref().is_some_and(|s| s.start > 0) => format!("{table}.{k}"),
            _ => k.to_string(),
        },
        _ => at.unwrap_or_else(|| "-".into()),
    };
    ConfigError {
        file: file.to_string(),
        line: span.map(|s| crate::toml_pos::line_of(src, s.start)),
        key,
        message: swedish_toml_message(&message),
    }
}

fn swedish_toml_message(m: &str) -> String {
    for (en, sv) in [
        ("unknown field", "okänd nyckel"),
        ("missing field", "nyckel saknas"),
        ("invalid type:", "fel typ:"),
        ("invalid value:", "ogiltigt värde:"),
    ] {
        if let Some(rest) = m.strip_prefix(en) {
            return format!("{sv}{rest}");
        }
    }
    m.to_string()
}

/// The database URL with a relative file resolved against `base` (the
/// config's directory), and that file; `None` for an in-memory database.
fn database(url: &str, base: &Path) -> Result<(String, Option<PathBuf>), String> {
    let example = "t.ex. sqlite://psi-radar.db eller sqlite:///var/lib/psi-radar/psi-radar.db";
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| format!("«{url}» är ingen SQLite-adress: den ska börja med sqlite:// ({example})"))?;
    let (db, params) = match rest.split_once('?') {
        Some((db, params)) => (db, Some(params)),
        None => (rest, None),
    };
    let check = |u: &str| sqlx::sqlite::SqliteConnectOptions::from_str(u).map_err(|e| format!("«{url}»: {e} ({example})"));
    let opts = check(url)?;
    if db == ":memory:" || params.is_some_and(|p| p.split('&').any(|kv| kv == "mode=memory")) {
        return Ok((url.to_string(), None));
    }
    if db.is_empty() {
        return Err(format!("«{url}» saknar filnamn ({example})"));
    }
    if opts.get_filename().is_absolute() {
        return Ok((url.to_string(), Some(opts.get_filename().to_path_buf())));
    }
    // The base goes into a URL: escape what SQLite's URL reading would take
    // for the query or a percent escape.
    let base = base.to_string_lossy().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
    let joined = if base.is_empty() { db.to_string() } else { format!("{}/{db}", base.trim_end_matches('/')) };
    let resolved = match params {
        Some(p) => format!("sqlite://{joined}?{p}"),
        None => format!("sqlite://{joined}"),
    };
    let file = check(&resolved)?.get_filename().to_path_buf();
    Ok((resolved, Some(file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[partnership]
name = "PSI"
[sources]
contact = "psi@example.org"
[mail]
from = "radar@example.org"
reply_to = "svar@example.org"
au = ["au@example.org"]
"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::from_str(GOOD, Path::new("config/x.toml")).unwrap();
        assert_eq!(c.partnership.lang, Lang::Sv);
        assert_eq!(c.partnership.county, "Örebro län");
        assert_eq!(c.goal.per_year, 5);
        // Relative paths, the database's too, are relative to the config's directory.
        assert_eq!(c.database_url, "sqlite://config/psi-radar.db");
        assert_eq!(c.database_file, Some(PathBuf::from("config/psi-radar.db")));
        assert_eq!(c.sources.file, PathBuf::from("config/sources.toml"));
        assert!(matches!(c.mail.transport, Transport::File { .. }));
    }

    #[test]
    fn au_members_and_mail_auth_are_read_and_checked() {
        let c = Config::from_str(GOOD, Path::new("c.toml")).unwrap();
        assert!(c.mail.au_members.is_empty() && c.mail.auth.is_none());
        let src =
            format!("{GOOD}au_members = [\"Ulla@Kommun.example.se\"]\n[mail.auth]\nauthserv_id = \"mx.example.org\"\nmembers = true\n");
        let c = Config::from_str(&src, Path::new("c.toml")).unwrap();
        assert_eq!(c.mail.au_members[0].as_str(), "ulla@kommun.example.se");
        let auth = c.mail.auth.unwrap();
        assert_eq!((auth.authserv_id.as_str(), auth.members), ("mx.example.org", true));
        let e = Config::from_str(&format!("{GOOD}[mail.auth]\nauthserv_id = \"mx example\"\n"), Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key, "mail.auth.authserv_id");
        let e = Config::from_str(&format!("{GOOD}au_members = [\"ulla\"]\n"), Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key, "mail.au_members");
    }

    #[test]
    fn unknown_key_is_named_with_line() {
        let src = GOOD.replace("name = \"PSI\"", "name = \"PSI\"\nlanguge = \"sv\"");
        let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key, "languge");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.to_string().starts_with("c.toml:4: languge: okänd nyckel"), "{e}");
    }

    #[test]
    fn database_urls_resolve_against_the_config_directory() {
        let base = Path::new("/etc/psi radar");
        let ok = |u: &str| database(u, base).unwrap();
        assert_eq!(ok("sqlite://psi.db"), ("sqlite:///etc/psi radar/psi.db".into(), Some(PathBuf::from("/etc/psi radar/psi.db"))));
        assert_eq!(ok("sqlite:data/psi.db?mode=rwc").0, "sqlite:///etc/psi radar/data/psi.db?mode=rwc");
        assert_eq!(ok("sqlite:///var/lib/psi.db").1, Some(PathBuf::from("/var/lib/psi.db")));
        assert_eq!(ok("sqlite::memory:"), ("sqlite::memory:".into(), None));
        assert_eq!(ok("sqlite://?mode=memory").1, None);
        assert_eq!(database("sqlite://x%3F.db", Path::new("/a%b")).unwrap().1, Some(PathBuf::from("/a%b/x?.db")));
        for bad in ["sqlit://psi.db", "postgres://localhost/psi", "psi.db", "sqlite://", "sqlite://psi.db?mode=rwx"] {
            assert!(database(bad, base).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_error_names_line_and_key() {
        let e = Config::from_str(&GOOD.replace("[sources]\n", "[database]\nurl = \"sqlit://x.db\"\n[sources]\n"), Path::new("c.toml"))
            .unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (Some(5), "database.url"), "{e}");
        let e = Config::from_str(&GOOD.replace("contact = ", "timeout_secs = \"30\"\ncontact = "), Path::new("c.toml")).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (Some(5), "sources.timeout_secs"), "{e}");
        assert!(e.message.starts_with("fel typ"), "{e}");
        let e = Config::from_str(&GOOD.replace("contact = ", "per_host = 0\ncontact = "), Path::new("c.toml")).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (Some(5), "sources.per_host"), "{e}");
        let e = Config::from_str(&GOOD.replace("name = \"PSI\"", "name = \" \""), Path::new("c.toml")).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (Some(3), "partnership.name"), "{e}");
        let e = Config::from_str(&GOOD.replace("contact = \"psi@example.org\"\n", ""), Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key, "sources.contact", "{e}");
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn bad_cron_is_named_with_line() {
        let src = format!("{GOOD}\n[schedule]\ndigest = \"0 7 * * Mon\"\n");
        let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key, "schedule.digest");
        assert_eq!(e.line, Some(12), "{e}");
        let src = format!("{GOOD}\n[schedule]\ndigest = \"0 0 99 * * Mon\"\n");
        assert_eq!(Config::from_str(&src, Path::new("c.toml")).unwrap_err().key, "schedule.digest");
    }

    #[test]
    fn bad_address_and_secret_in_config_are_refused() {
        let e = Config::from_str(&GOOD.replace("au@example.org", "au(at)example.org"), Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key, "mail.au");
        let src = format!(
            "{}\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"smtp.example.org\"\nusername = \"u\"\npassword_env = \"hunter2!\"\n",
            GOOD.trim_end()
        );
        let e = Config::from_str(&src, Path::new("c.toml")).unwrap_err();
        assert_eq!(e.key, "mail.smtp.password_env", "{e}");
    }

    #[test]
    fn weekly_digest_stays_at_seven_local_across_dst() {
        let c = CronSpec::parse("0 0 7 * * Mon").unwrap();
        let tz = chrono_tz::Europe::Stockholm;
        // Before the last Sunday of March 2026 (29 March): next Monday 07:00 CEST = 05:00 UTC.
        let t = DateTime::parse_from_rfc3339("2026-03-24T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(c.next_after(t, tz).unwrap().to_rfc3339(), "2026-03-30T05:00:00+00:00");
        // Before 25 October 2026: the Monday after is 07:00 CET = 06:00 UTC.
        let t = DateTime::parse_from_rfc3339("2026-10-24T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(c.next_after(t, tz).unwrap().to_rfc3339(), "2026-10-26T06:00:00+00:00");
    }

    #[test]
    fn last_tick_is_found_in_local_time_across_both_changes() {
        let tz = chrono_tz::Europe::Stockholm;
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let c = CronSpec::parse("0 0 7 * * Mon").unwrap();
        // Wednesday after the spring change: the missed digest was Monday 07:00 CEST.
        assert_eq!(c.last_at_or_before(at("2026-04-01T10:00:00Z"), tz).unwrap(), at("2026-03-30T05:00:00Z"));
        // Wednesday after the autumn change: Monday 07:00 CET.
        assert_eq!(c.last_at_or_before(at("2026-10-28T10:00:00Z"), tz).unwrap(), at("2026-10-26T06:00:00Z"));
        // Exactly on the tick counts as the tick.
        assert_eq!(c.last_at_or_before(at("2026-10-26T06:00:00Z"), tz).unwrap(), at("2026-10-26T06:00:00Z"));
        // Polls at 06, 12, 18 local: on the night of the spring change, 06:00 CEST.
        let p = CronSpec::parse("0 0 6,12,18 * * *").unwrap();
        assert_eq!(p.last_at_or_before(at("2026-03-29T05:00:00Z"), tz).unwrap(), at("2026-03-29T04:00:00Z"));
        assert_eq!(p.last_at_or_before(at("2026-10-25T04:59:00Z"), tz).unwrap(), at("2026-10-24T16:00:00Z"));
        assert_eq!(p.last_at_or_before(at("2026-10-25T05:00:00Z"), tz).unwrap(), at("2026-10-25T05:00:00Z"));
    }
}
