//! Sources → config: the `[[source]]` list in `config/sources.toml`, read
//! strictly (unknown keys are errors) and validated into `SourceSpec`s that
//! the poll runs. Errors name the file, the line and the key.

use super::guard::{AddrClass, AllowedHost, Refusal, Scope, classify_ip, host_ip};
use super::html::HtmlSelectors;
use super::standing::StandingOptions;
use crate::domain::Lang;
use crate::toml_pos::line_of;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One `[[source]]` table as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSourceSpec {
    pub name: String,
    /// eu_portal | vinnova | feed | html | standing
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    pub funder: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub programme: Option<String>,
    /// Zone of dates without one (default Europe/Stockholm; eu_portal: Europe/Brussels).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Hosts besides the source's own that its redirects and links may reach.
    #[serde(default)]
    pub allow_hosts: Option<Vec<String>>,
    // eu_portal
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub programme_ids: Option<Vec<String>>,
    #[serde(default)]
    pub identifier_prefixes: Option<Vec<String>>,
    #[serde(default)]
    pub page_size: Option<u64>,
    #[serde(default)]
    pub max_pages: Option<u64>,
    // vinnova
    #[serde(default)]
    pub margin_days: Option<i64>,
    #[serde(default)]
    pub first_lookback_days: Option<i64>,
    #[serde(default)]
    pub item_url: Option<String>,
    #[serde(default)]
    pub rounds: Option<bool>,
    // html
    #[serde(default)]
    pub item: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub next_page: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub max_details: Option<usize>,
    // standing
    #[serde(default)]
    pub decision_dates: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// A validated source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceSpec {
    pub name: String,
    pub url: String,
    pub funder: String,
    pub language: Option<Lang>,
    pub enabled: bool,
    pub programme: Option<String>,
    #[serde(serialize_with = "ser_tz")]
    pub tz: Tz,
    /// Hosts besides its own the source's redirects and links may reach.
    pub allow_hosts: Vec<AllowedHost>,
    pub kind: SourceKind,
}

impl SourceSpec {
    /// Where this source's requests may go (see `guard`).
    pub fn scope(&self) -> Result<Scope, String> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| format!("«{}» är ingen giltig adress ({e})", self.url))?;
        Ok(Scope::new(&url, self.allow_hosts.clone()))
    }
}

fn ser_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    EuPortal { query: String, identifier_prefixes: Vec<String>, page_size: u64, max_pages: u64 },
    Vinnova { margin_days: i64, first_lookback_days: i64, item_url: String, rounds: bool },
    Feed,
    Html { selectors: HtmlSelectors, max_pages: u64, max_details: usize },
    Standing(StandingOptions),
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::EuPortal { .. } => "eu_portal",
            SourceKind::Vinnova { .. } => "vinnova",
            SourceKind::Feed => "feed",
            SourceKind::Html { .. } => "html",
            SourceKind::Standing(_) => "standing",
        }
    }
}

impl RawSourceSpec {
    /// Check and type the table. The message names the key at fault.
    pub fn validate(self) -> Result<SourceSpec, String> {
        let name = self.name.trim().to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("name: «{}» ska vara a–z, 0–9, - eller _", self.name));
        }
        if self.funder.trim().is_empty() {
            return Err("funder: får inte vara tom".into());
        }
        let language = match self.language.as_deref() {
            None => None,
            Some(l) => Some(Lang::parse(l).ok_or_else(|| format!("language: «{l}» ska vara sv eller en"))?),
        };
        let kind = self.kind.as_str();
        // The kind first: every other key is checked against it.
        if !KINDS.contains(&kind) {
            return Err(format!("kind: okänd sort «{kind}» (giltiga: {})", KINDS.join(", ")));
        }
        let default_tz = if kind == "eu_portal" { chrono_tz::Europe::Brussels } else { chrono_tz::Europe::Stockholm };
        let tz = match self.timezone.as_deref() {
            None => default_tz,
            Some(t) => t.parse::<Tz>().map_err(|_| format!("timezone: okänd tidszon «{t}»"))?,
        };
        // keys that belong to one kind only
        let only: [(&str, bool, &str); 17] = [
            ("query", self.query.is_some(), "eu_portal"),
            ("programme_ids", self.programme_ids.is_some(), "eu_portal"),
            ("identifier_prefixes", self.identifier_prefixes.is_some(), "eu_portal"),
            ("page_size", self.page_size.is_some(), "eu_portal"),
            ("margin_days", self.margin_days.is_some(), "vinnova"),
            ("first_lookback_days", self.first_lookback_days.is_some(), "vinnova"),
            ("item_url", self.item_url.is_some(), "vinnova"),
            ("rounds", self.rounds.is_some(), "vinnova"),
            ("item", self.item.is_some(), "html"),
            ("link", self.link.is_some(), "html"),
            ("deadline", self.deadline.is_some(), "html"),
            ("next_page", self.next_page.is_some(), "html"),
            ("detail", self.detail.is_some(), "html"),
            ("max_details", self.max_details.is_some(), "html"),
            ("decision_dates", self.decision_dates.is_some(), "standing"),
            ("title", self.title.is_some(), if kind == "standing" { "standing" } else { "html" }),
            ("summary", self.summary.is_some(), if kind == "standing" { "standing" } else { "html" }),
        ];
        for (key, set, for_kind) in only {
            if set && for_kind != kind {
                return Err(format!("{key}: gäller bara kind = \"{for_kind}\""));
            }
        }
        if self.max_pages.is_some() && kind != "eu_portal" && kind != "html" {
            return Err("max_pages: gäller bara kind = \"eu_portal\" eller \"html\"".into());
        }
        let url = match (self.url.as_deref().map(str::trim), kind) {
            (Some(u), _) => check_url(u).map_err(|e| format!("url: {e}"))?,
            (None, _) => return Err("url: saknas".into()),
        };
        let allow_hosts = self
            .allow_hosts
            .unwrap_or_default()
            .iter()
            .map(|h| AllowedHost::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("allow_hosts: {e}"))?;
        let kind = match kind {
            "eu_portal" => {
                let query = match self.query {
                    Some(q) => {
                        serde_json::from_str::<serde_json::Value>(&q).map_err(|e| format!("query: inte giltig JSON: {e}"))?;
                        q
                    }
                    None => super::eu_portal::default_query(&self.programme_ids.unwrap_or_default()),
                };
                let page_size = self.page_size.unwrap_or(100);
                if !(1..=1000).contains(&page_size) {
                    return Err("page_size: ska vara 1–1000".into());
                }
                SourceKind::EuPortal {
                    query,
                    identifier_prefixes: self.identifier_prefixes.unwrap_or_default(),
                    page_size,
                    max_pages: self.max_pages.unwrap_or(20).max(1),
                }
            }
            "vinnova" => {
                let item_url = self.item_url.unwrap_or_else(|| super::vinnova::DEFAULT_ITEM_URL.to_string());
                if !item_url.contains("{dnr}") {
                    return Err("item_url: ska innehålla {dnr}".into());
                }
                let margin_days = self.margin_days.unwrap_or(2);
                if !(0..=60).contains(&margin_days) {
                    return Err("margin_days: ska vara 0–60".into());
                }
                SourceKind::Vinnova {
                    margin_days,
                    first_lookback_days: self.first_lookback_days.unwrap_or(365).max(1),
                    item_url,
                    rounds: self.rounds.unwrap_or(true),
                }
            }
            "feed" => SourceKind::Feed,
            "html" => {
                let item = self.item.ok_or("item: saknas (CSS-väljare för en utlysning i listan)")?;
                let title = self.title.ok_or("title: saknas (CSS-väljare för rubriken)")?;
                let selectors = HtmlSelectors {
                    item,
                    title,
                    link: self.link,
                    deadline: self.deadline,
                    summary: self.summary,
                    next_page: self.next_page,
                    detail: self.detail,
                };
                for (key, s) in [
                    ("item", Some(&selectors.item)),
                    ("title", Some(&selectors.title)),
                    ("link", selectors.link.as_ref()),
                    ("deadline", selectors.deadline.as_ref()),
                    ("summary", selectors.summary.as_ref()),
                    ("next_page", selectors.next_page.as_ref()),
                    ("detail", selectors.detail.as_ref()),
                ] {
                    if let Some(s) = s {
                        super::html::selector(s).map_err(|e| format!("{key}: {e}"))?;
                    }
                }
                SourceKind::Html { selectors, max_pages: self.max_pages.unwrap_or(5).max(1), max_details: self.max_details.unwrap_or(30) }
            }
            "standing" => {
                let title = self.title.ok_or("title: saknas")?;
                let mut decision_dates = Vec::new();
                for d in self.decision_dates.unwrap_or_default() {
                    decision_dates.push(
                        NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                            .map_err(|_| format!("decision_dates: «{d}» är inget datum (ÅÅÅÅ-MM-DD)"))?,
                    );
                }
                SourceKind::Standing(StandingOptions { title, summary: self.summary, decision_dates })
            }
            other => return Err(format!("kind: «{other}» ska vara eu_portal, vinnova, feed, html eller standing")),
        };
        Ok(SourceSpec {
            name,
            url,
            funder: self.funder.trim().to_string(),
            language,
            enabled: self.enabled,
            programme: self.programme,
            tz,
            allow_hosts,
            kind,
        })
    }
}

/// The kinds of source there are.
const KINDS: [&str; 5] = ["eu_portal", "vinnova", "feed", "html", "standing"];

fn check_url(u: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(u).map_err(|e| format!("«{u}» är ingen giltig adress ({e})"))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(format!("«{u}» ska börja med http:// eller https://"));
    }
    if let Some(ip) = host_ip(&parsed).filter(|ip| classify_ip(*ip) == AddrClass::Forbidden) {
        return Err(format!("«{u}»: {}", Refusal::Forbidden(ip)));
    }
    Ok(u.to_string())
}

/// A sources file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourcesConfigError {
    #[error("{file}: kan inte läsas: {source}")]
    Io { file: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {message}", file.display())]
    Invalid { file: PathBuf, line: usize, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    #[serde(default)]
    source: Vec<toml::Spanned<RawSourceSpec>>,
}

/// Read and validate `config/sources.toml` (a `[[source]]` list).
pub fn load_sources_file(path: &Path) -> Result<Vec<SourceSpec>, SourcesConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| SourcesConfigError::Io { file: path.to_path_buf(), source })?;
    load_sources_str(&text, path)
}

/// The same, with `{fixtures}` in every URL replaced by `base` (the demo's
/// fixture server, `http://127.0.0.1:PORT`).
pub fn load_demo_sources(path: &Path, base: &str) -> Result<Vec<SourceSpec>, SourcesConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| SourcesConfigError::Io { file: path.to_path_buf(), source })?;
    load_sources_str(&text.replace("{fixtures}", base.trim_end_matches('/')), path)
}

/// Parse sources from TOML text; `file` is only for messages.
pub fn load_sources_str(text: &str, file: &Path) -> Result<Vec<SourceSpec>, SourcesConfigError> {
    let invalid = |line: usize, message: String| SourcesConfigError::Invalid { file: file.to_path_buf(), line, message };
    let parsed: SourcesFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let key = e.span().and_then(|s| crate::toml_pos::key_at(text, s.start)).unwrap_or_else(|| "-".into());
        invalid(line, format!("{key}: {}", e.message().trim()))
    })?;
    let mut out: Vec<SourceSpec> = Vec::with_capacity(parsed.source.len());
    for s in parsed.source {
        let span = s.span();
        // Messages start with the key at fault: the error is on that key's line.
        let at_key = |m: String| {
            let key = m.split_once(": ").map_or("", |(k, _)| k);
            invalid(crate::toml_pos::line_of_key(text, span.clone(), key), m)
        };
        let spec = s.into_inner().validate().map_err(at_key)?;
        if out.iter().any(|o| o.name == spec.name) {
            return Err(at_key(format!("name: källan «{}» finns redan", spec.name)));
        }
        out.push(spec);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: &str) -> Result<Vec<SourceSpec>, SourcesConfigError> {
        load_sources_str(s, Path::new("sources.toml"))
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e =
            load("[[source]]\nname = \"a\"\nkind = \"feed\"\nfunder = \"X\"\nurl = \"https://x.se/rss\"\nselectr = \"li\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("sources.toml:6:") && msg.contains("selectr"), "{msg}");
    }

    #[test]
    fn validation_names_key() {
        let e =
            load("# x\n[[source]]\nname = \"a\"\nkind = \"html\"\nfunder = \"X\"\nurl = \"https://x.se/\"\ntitle = \"h3\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("sources.toml:2:") && msg.contains("item"), "{msg}");
        let e = load("[[source]]\nname = \"a\"\nkind = \"feed\"\nfunder = \"X\"\nurl = \"ftp://x.se/\"\n").unwrap_err();
        assert!(e.to_string().contains("url"), "{e}");
        let e = load("[[source]]\nname = \"a\"\nkind = \"feed\"\nfunder = \"X\"\nurl = \"https://x.se/\"\nitem = \"li\"\n").unwrap_err();
        assert!(e.to_string().contains("item: gäller bara"), "{e}");
    }

    #[test]
    fn metadata_and_link_local_urls_are_refused_at_start_up() {
        for (line, url) in [(7, "http://169.254.169.254/latest/meta-data/"), (7, "http://[fe80::1]/"), (7, "http://[fd00:ec2::254]/")] {
            let e = load(&format!("# k\n\n[[source]]\nname = \"a\"\nkind = \"feed\"\nfunder = \"X\"\nurl = \"{url}\"\n")).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("sources.toml:{line}: url:")) && msg.contains("metadataadress"), "{msg}");
        }
        let e = load("[[source]]\nname = \"a\"\nkind = \"feed\"\nfunder = \"X\"\nurl = \"http://127.0.0.1:8080/\"\nallow_hosts = [\"169.254.169.254\"]\n")
            .unwrap_err();
        assert!(e.to_string().contains("allow_hosts:") && e.to_string().contains("metadataadress"), "{e}");
        let e =
            load("[[source]]\nname = \"a\"\nkind = \"feed\"\nfunder = \"X\"\nurl = \"https://x.se/\"\nallow_hosts = [\"https://y.se/\"]\n")
                .unwrap_err();
        assert!(e.to_string().contains("allow_hosts: «https://y.se/»"), "{e}");
        let ok = load("[[source]]\nname = \"a\"\nkind = \"feed\"\nfunder = \"X\"\nurl = \"http://127.0.0.1:8080/\"\nallow_hosts = [\"Y.se\", \"127.0.0.1:9\"]\n")
            .unwrap();
        let hosts: Vec<String> = ok[0].allow_hosts.iter().map(ToString::to_string).collect();
        assert_eq!(hosts, ["y.se", "127.0.0.1:9"]);
        assert!(ok[0].scope().unwrap().local_ok());
    }

    #[test]
    fn shipped_configs_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let real = load_sources_file(&root.join("config/sources.toml")).unwrap();
        assert!(real.len() >= 10);
        let demo = load_demo_sources(&root.join("config/demo-sources.toml"), "http://127.0.0.1:9").unwrap();
        assert!(demo.iter().all(|s| s.url.starts_with("http://127.0.0.1:9/") || matches!(s.kind, SourceKind::Standing(_))));
    }
}
