//! Member organisations of the partnership, their contacts and declared
//! interests, and the answers (intent, role) they give to a call.

use super::{CategoryId, Lang};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A member's id from the members file (`activa`, `orebro_k`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberId(String);

impl MemberId {
    pub fn parse(s: &str) -> Result<MemberId, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("tomt id".into());
        }
        if t.len() > 64 || !t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
            return Err(format!("ogiltigt id «{t}» (använd a–z, 0–9, _ och -)"));
        }
        Ok(MemberId(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MemberId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        MemberId::parse(&s)
    }
}

impl From<MemberId> for String {
    fn from(m: MemberId) -> String {
        m.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A syntactically valid e-mail address, stored lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let t = s.trim();
        let bad = || format!("ogiltig e-postadress «{t}»");
        if t.len() > 254 || t.chars().any(|c| c.is_whitespace() || c.is_control() || "<>(),;:\"[]\\".contains(c)) {
            return Err(bad());
        }
        let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.contains('@') || domain.len() < 3 || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") || local.starts_with('.') || local.ends_with('.') {
            return Err(bad());
        }
        Ok(Email(t.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with any `+tag` removed from the local part, for matching
    /// a reply's sender to a registered contact.
    pub fn without_tag(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                let base = local.split('+').next().unwrap_or(local);
                format!("{base}@{domain}")
            }
            None => self.0.clone(),
        }
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgType {
    CivilSociety,
    Municipality,
    Region,
    University,
    CountyBoard,
    Business,
    Other,
}

impl OrgType {
    pub const ALL: [OrgType; 7] = [
        OrgType::CivilSociety,
        OrgType::Municipality,
        OrgType::Region,
        OrgType::University,
        OrgType::CountyBoard,
        OrgType::Business,
        OrgType::Other,
    ];

    pub fn parse(s: &str) -> Option<OrgType> {
        OrgType::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrgType::CivilSociety => "civil_society",
            OrgType::Municipality => "municipality",
            OrgType::Region => "region",
            OrgType::University => "university",
            OrgType::CountyBoard => "county_board",
            OrgType::Business => "business",
            OrgType::Other => "other",
        }
    }

    /// Municipality, region or county board.
    pub fn is_public(self) -> bool {
        matches!(self, OrgType::Municipality | OrgType::Region | OrgType::CountyBoard)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            OrgType::CivilSociety => lang.pick("idéburen organisation", "civil society organisation"),
            OrgType::Municipality => lang.pick("kommun", "municipality"),
            OrgType::Region => lang.pick("region", "region"),
            OrgType::University => lang.pick("lärosäte", "university"),
            OrgType::CountyBoard => lang.pick("länsstyrelse", "county administrative board"),
            OrgType::Business => lang.pick("företag", "business"),
            OrgType::Other => lang.pick("annan", "other"),
        }
    }
}

/// A person to write to at a member organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub email: Email,
    /// e.g. "verksamhetsutvecklare"; free text.
    #[serde(default)]
    pub role: String,
    pub primary: bool,
    /// The contact replied STOPP: no more member notifications.
    #[serde(default)]
    pub unsubscribed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub name: String,
    pub org_type: OrgType,
    pub municipality: String,
    pub contacts: Vec<Contact>,
    pub categories: Vec<CategoryId>,
    pub keywords: Vec<String>,
    pub can_lead: bool,
    pub languages: Vec<Lang>,
    #[serde(default)]
    pub notes: String,
}

impl Member {
    /// The language to write to this member in: Swedish unless it only
    /// declared English.
    pub fn mail_lang(&self) -> Lang {
        if self.languages.contains(&Lang::Sv) || self.languages.is_empty() { Lang::Sv } else { Lang::En }
    }
}

/// What a member answered to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    Yes,
    No,
    Maybe,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Yes => "yes",
            Intent::No => "no",
            Intent::Maybe => "maybe",
        }
    }
    pub fn parse(s: &str) -> Option<Intent> {
        match s {
            "yes" => Some(Intent::Yes),
            "no" => Some(Intent::No),
            "maybe" => Some(Intent::Maybe),
            _ => None,
        }
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Intent::Yes => lang.pick("ja", "yes"),
            Intent::No => lang.pick("nej", "no"),
            Intent::Maybe => lang.pick("kanske", "maybe"),
        }
    }
}

/// The role a member offers to take in an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Lead,
    Partner,
    Reference,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Partner => "partner",
            Role::Reference => "reference",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "lead" => Some(Role::Lead),
            "partner" => Some(Role::Partner),
            "reference" => Some(Role::Reference),
            _ => None,
        }
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Role::Lead => lang.pick("projektägare", "lead applicant"),
            Role::Partner => lang.pick("partner", "partner"),
            Role::Reference => lang.pick("referensgrupp", "reference group"),
        }
    }
}

/// Whose personal data `members forget` erases: one address (that contact,
/// and any stored mail from or to it even if it is no contact), a contact's
/// row id, or a member (all its contacts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgetTarget {
    Address(Email),
    Contact(i64),
    Member(MemberId),
}

impl ForgetTarget {
    /// Read a target as a person writes it: an address has an `@`, a contact
    /// id is a number, anything else is a member id.
    pub fn parse(s: &str) -> Result<ForgetTarget, String> {
        let s = s.trim();
        if s.contains('@') {
            Email::parse(s).map(ForgetTarget::Address)
        } else if let Ok(id) = s.parse::<i64>() {
            Ok(ForgetTarget::Contact(id))
        } else {
            MemberId::parse(s).map(ForgetTarget::Member)
        }
    }
}

impl fmt::Display for ForgetTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForgetTarget::Address(e) => e.fmt(f),
            ForgetTarget::Contact(id) => id.fmt(f),
            ForgetTarget::Member(m) => m.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_parse_and_tag() {
        let e = Email::parse(" Anna+psi@Activa.Example.org ").unwrap();
        assert_eq!(e.as_str(), "anna+psi@activa.example.org");
        assert_eq!(e.without_tag(), "anna@activa.example.org");
        for bad in ["anna", "anna@", "@x.se", "a b@x.se", "a@x", "a@@x.se", "a@x..se", "a@x.se\r\nBcc: y@z.se"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn member_id_rules() {
        assert!(MemberId::parse("orebro_k").is_ok());
        assert!(MemberId::parse("Örebro").is_err());
        assert!(MemberId::parse("").is_err());
    }
}
