//! Members file, read and write: CSV rows → validated [`Member`]s (every bad
//! row reported as `FILE:LINE: field: problem`, nothing returned when any row
//! is bad), and [`Member`]s → the same CSV for `members export`.

use crate::domain::{CategoryId, Contact, Email, Lang, Member, MemberId, OrgType};
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

/// The columns every members file has, in this order on export.
pub const REQUIRED_COLUMNS: [&str; 10] =
    ["id", "name", "org_type", "municipality", "contact_name", "email", "categories", "keywords", "can_lead", "languages"];
/// Columns a members file may add.
pub const OPTIONAL_COLUMNS: [&str; 3] = ["contact_role", "primary", "notes"];

/// One problem in one row (or the header, line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.field, self.problem)
    }
}

/// Every problem found in a members file; the file was not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportError {
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        if self.errors.len() > 1 {
            write!(f, "\n{} fel; ingenting importerades", self.errors.len())?;
        } else {
            f.write_str("\ningenting importerades")?;
        }
        Ok(())
    }
}

/// Read and validate a members file from disk.
pub fn read_members_file(path: &Path, themes: &[CategoryId]) -> Result<Vec<Member>, ImportError> {
    let label = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => parse_members(&label, &bytes, themes),
        Err(e) => Err(ImportError {
            errors: vec![RowError { file: label, line: 0, field: "fil".into(), problem: format!("kan inte läsas: {e}") }],
        }),
    }
}

/// Parse and validate a members file. `file` names it in error messages;
/// `themes` are the regional theme ids accepted besides `SC1`…`SC7`.
pub fn parse_members(file: &str, bytes: &[u8], themes: &[CategoryId]) -> Result<Vec<Member>, ImportError> {
    let mut p = Parser { file, themes, errors: Vec::new() };
    let members = p.run(bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes));
    if p.errors.is_empty() { Ok(members) } else { Err(ImportError { errors: p.errors }) }
}

/// The member-level part of one row, to compare across a member's rows.
#[derive(Debug, Clone, PartialEq)]
struct MemberFields {
    name: String,
    org_type: OrgType,
    municipality: String,
    categories: Vec<CategoryId>,
    keywords: Vec<String>,
    can_lead: bool,
    languages: Vec<Lang>,
    notes: String,
}

struct Parser<'a> {
    file: &'a str,
    themes: &'a [CategoryId],
    errors: Vec<RowError>,
}

impl Parser<'_> {
    fn err(&mut self, line: u64, field: &str, problem: impl Into<String>) {
        self.errors.push(RowError { file: self.file.to_string(), line, field: field.to_string(), problem: problem.into() });
    }

    fn run(&mut self, bytes: &[u8]) -> Vec<Member> {
        let mut rdr = ::csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
        let mut records = rdr.byte_records();
        let header = match records.next() {
            None => {
                self.err(1, "rubrik", "filen är tom");
                return Vec::new();
            }
            Some(Err(e)) => {
                self.err(1, "rubrik", format!("kan inte läsas: {e}"));
                return Vec::new();
            }
            Some(Ok(h)) => h,
        };
        let Some(cols) = self.columns(&header) else { return Vec::new() };

        let mut members: Vec<Member> = Vec::new();
        let mut first_row: HashMap<MemberId, (usize, u64, MemberFields)> = HashMap::new();
        let mut emails: HashMap<String, u64> = HashMap::new();
        let mut primary_at: HashMap<MemberId, u64> = HashMap::new();
        let mut last_line = 1;
        for rec in records {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(last_line + 1);
                    self.err(line, "rad", format!("ogiltig CSV: {e}"));
                    continue;
                }
            };
            let line = rec.position().map(|p| p.line()).unwrap_or(last_line + 1);
            last_line = line;
            if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            if rec.len() != cols.len() {
                self.err(line, "rad", format!("har {} fält men rubriken har {}", rec.len(), cols.len()));
                continue;
            }
            let mut row: HashMap<&str, String> = HashMap::new();
            let mut bad_utf8 = false;
            for (name, raw) in cols.iter().zip(rec.iter()) {
                match std::str::from_utf8(raw) {
                    Ok(s) => {
                        row.insert(name.as_str(), s.trim().to_string());
                    }
                    Err(_) => {
                        self.err(line, name, "inte giltig UTF-8");
                        bad_utf8 = true;
                    }
                }
            }
            if bad_utf8 {
                continue;
            }
            let row = Row(row);
            self.row(line, &row, &mut members, &mut first_row, &mut emails, &mut primary_at);
        }
        // A member none of whose rows named a primary contact: the first one is.
        for m in &mut members {
            if !m.contacts.is_empty() && !m.contacts.iter().any(|c| c.primary) {
                m.contacts[0].primary = true;
            }
        }
        members
    }

    /// Check the header; the column names in file order.
    fn columns(&mut self, header: &::csv::ByteRecord) -> Option<Vec<String>> {
        let mut cols = Vec::new();
        let mut ok = true;
        for raw in header.iter() {
            let name = String::from_utf8_lossy(raw).trim().to_lowercase();
            if !REQUIRED_COLUMNS.contains(&name.as_str()) && !OPTIONAL_COLUMNS.contains(&name.as_str()) {
                self.err(
                    1,
                    "rubrik",
                    format!("okänd kolumn «{name}» (tillåtna: {}, {})", REQUIRED_COLUMNS.join(","), OPTIONAL_COLUMNS.join(",")),
                );
                ok = false;
            } else if cols.contains(&name) {
                self.err(1, "rubrik", format!("kolumnen «{name}» förekommer två gånger"));
                ok = false;
            }
            cols.push(name);
        }
        for req in REQUIRED_COLUMNS {
            if !cols.iter().any(|c| c == req) {
                self.err(1, "rubrik", format!("kolumnen «{req}» saknas"));
                ok = false;
            }
        }
        ok.then_some(cols)
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        line: u64,
        row: &Row<'_>,
        members: &mut Vec<Member>,
        first_row: &mut HashMap<MemberId, (usize, u64, MemberFields)>,
        emails: &mut HashMap<String, u64>,
        primary_at: &mut HashMap<MemberId, u64>,
    ) {
        let n_errors = self.errors.len();
        let id = match MemberId::parse(row.get("id")) {
            Ok(id) => Some(id),
            Err(e) => {
                self.err(line, "id", e);
                None
            }
        };
        let earlier = id.as_ref().and_then(|id| first_row.get(id)).map(|(_, l, f)| (*l, f.clone()));
        let fields = self.member_fields(line, row, earlier.as_ref().map(|(_, f)| f));
        let contact = self.contact(line, row, emails);

        if let (Some(id), Some(fields)) = (&id, &fields) {
            if let Some((first_line, first)) = &earlier {
                self.agree(line, *first_line, first, fields);
            }
            if let Some(Some(c)) = &contact
                && c.primary
                && let Some(l) = primary_at.insert(id.clone(), line)
            {
                self.err(line, "primary", format!("medlemmen «{id}» har redan en primär kontakt (rad {l})"));
            }
        }
        if self.errors.len() > n_errors {
            return;
        }
        let (Some(id), Some(fields), Some(contact)) = (id, fields, contact) else { return };
        let idx = match first_row.get(&id) {
            Some((idx, _, _)) => *idx,
            None => {
                members.push(Member {
                    id: id.clone(),
                    name: fields.name.clone(),
                    org_type: fields.org_type,
                    municipality: fields.municipality.clone(),
                    contacts: Vec::new(),
                    categories: fields.categories.clone(),
                    keywords: fields.keywords.clone(),
                    can_lead: fields.can_lead,
                    languages: fields.languages.clone(),
                    notes: fields.notes.clone(),
                });
                first_row.insert(id, (members.len() - 1, line, fields));
                members.len() - 1
            }
        };
        if let (Some(c), Some(m)) = (contact, members.get_mut(idx)) {
            m.contacts.push(c);
        }
    }

    /// The member-level fields of a row; empty cells inherit from `earlier`
    /// (the member's first row) when there is one.
    fn member_fields(&mut self, line: u64, row: &Row<'_>, earlier: Option<&MemberFields>) -> Option<MemberFields> {
        let n = self.errors.len();
        let name = row.get("name").to_string();
        if name.is_empty() && earlier.is_none() {
            self.err(line, "name", "saknas");
        }
        let org_raw = row.get("org_type");
        let org_type = match (OrgType::parse(org_raw), earlier) {
            (Some(o), _) => Some(o),
            (None, Some(e)) if org_raw.is_empty() => Some(e.org_type),
            (None, _) if org_raw.is_empty() => {
                self.err(line, "org_type", "saknas");
                None
            }
            (None, _) => {
                let all: Vec<&str> = OrgType::ALL.iter().map(|o| o.as_str()).collect();
                self.err(line, "org_type", format!("okänd organisationstyp «{org_raw}» (giltiga: {})", all.join(", ")));
                None
            }
        };
        let mut categories = Vec::new();
        for c in split_list(row.get("categories")) {
            match CategoryId::parse(c) {
                Ok(id) if id.is_challenge() || self.themes.contains(&id) => {
                    if !categories.contains(&id) {
                        categories.push(id)
                    }
                }
                Ok(id) => {
                    let themes: Vec<&str> = self.themes.iter().map(CategoryId::as_str).collect();
                    self.err(line, "categories", format!("okänd kategori «{id}» (giltiga: SC1–SC7, {})", themes.join(", ")));
                }
                Err(e) => self.err(line, "categories", e),
            }
        }
        let keywords: Vec<String> = split_list(row.get("keywords")).map(str::to_string).collect();
        let can_lead_raw = row.get("can_lead");
        let can_lead = match (parse_bool(can_lead_raw), earlier) {
            (Some(b), _) => Some(b),
            (None, Some(e)) if can_lead_raw.is_empty() => Some(e.can_lead),
            (None, _) => {
                self.err(line, "can_lead", format!("«{can_lead_raw}» är inte ja/nej (ja, nej, yes, no, true, false, 1, 0)"));
                None
            }
        };
        let mut languages = Vec::new();
        for l in split_list(row.get("languages")) {
            match l.to_ascii_lowercase().as_str() {
                "sv" => languages.push(Lang::Sv),
                "en" => languages.push(Lang::En),
                _ => self.err(line, "languages", format!("okänt språk «{l}» (giltiga: sv, en)")),
            }
        }
        languages.sort();
        languages.dedup();
        if languages.is_empty() && row.get("languages").is_empty() && earlier.is_none() {
            self.err(line, "languages", "saknas (sv, en eller sv;en)");
        }
        if self.errors.len() > n {
            return None;
        }
        let mut f = MemberFields {
            name,
            org_type: org_type?,
            municipality: row.get("municipality").to_string(),
            categories,
            keywords,
            can_lead: can_lead?,
            languages,
            notes: row.get("notes").to_string(),
        };
        if let Some(e) = earlier {
            if f.name.is_empty() {
                f.name = e.name.clone();
            }
            if f.municipality.is_empty() {
                f.municipality = e.municipality.clone();
            }
            if row.get("categories").is_empty() {
                f.categories = e.categories.clone();
            }
            if row.get("keywords").is_empty() {
                f.keywords = e.keywords.clone();
            }
            if row.get("languages").is_empty() {
                f.languages = e.languages.clone();
            }
            if f.notes.is_empty() {
                f.notes = e.notes.clone();
            }
        }
        Some(f)
    }

    /// Member-level fields of a later row must match the member's first row.
    fn agree(&mut self, line: u64, first_line: u64, a: &MemberFields, b: &MemberFields) {
        let differs = |field: &str, x: String, y: String| (x != y).then(|| (field.to_string(), x, y));
        let sorted = |v: &[CategoryId]| {
            let mut v: Vec<&str> = v.iter().map(CategoryId::as_str).collect();
            v.sort();
            v.join(";")
        };
        let diffs = [
            differs("name", a.name.clone(), b.name.clone()),
            differs("org_type", a.org_type.as_str().into(), b.org_type.as_str().into()),
            differs("municipality", a.municipality.clone(), b.municipality.clone()),
            differs("categories", sorted(&a.categories), sorted(&b.categories)),
            differs("keywords", a.keywords.join(";"), b.keywords.join(";")),
            differs("can_lead", bool_text(a.can_lead).into(), bool_text(b.can_lead).into()),
            differs("languages", lang_text(&a.languages), lang_text(&b.languages)),
            differs("notes", a.notes.clone(), b.notes.clone()),
        ];
        for (field, x, y) in diffs.into_iter().flatten() {
            self.err(line, &field, format!("skiljer sig från rad {first_line} för samma medlem («{y}» ≠ «{x}»)"));
        }
    }

    /// The contact on a row: `Some(None)` for a row without one.
    fn contact(&mut self, line: u64, row: &Row<'_>, emails: &mut HashMap<String, u64>) -> Option<Option<Contact>> {
        let (name, email_raw) = (row.get("contact_name"), row.get("email"));
        let primary_raw = row.get("primary");
        let primary = match parse_bool(primary_raw) {
            Some(b) => b,
            None if primary_raw.is_empty() => false,
            None => {
                self.err(line, "primary", format!("«{primary_raw}» är inte ja/nej (ja, nej, yes, no, true, false, 1, 0)"));
                return None;
            }
        };
        if name.is_empty() && email_raw.is_empty() {
            return Some(None);
        }
        let mut ok = true;
        if name.is_empty() {
            self.err(line, "contact_name", "saknas (e-postadressen behöver ett namn)");
            ok = false;
        }
        let email = match Email::parse(email_raw) {
            Ok(e) => Some(e),
            Err(_) if email_raw.is_empty() => {
                self.err(line, "email", "saknas");
                None
            }
            Err(e) => {
                self.err(line, "email", e);
                None
            }
        };
        let email = email?;
        if let Some(l) = emails.insert(email.without_tag(), line) {
            self.err(line, "email", format!("adressen finns redan på rad {l}"));
            return None;
        }
        ok.then(|| Some(Contact { name: name.to_string(), email, role: row.get("contact_role").to_string(), primary, unsubscribed: false }))
    }
}

/// One data row, by column name.
struct Row<'a>(HashMap<&'a str, String>);

impl Row<'_> {
    fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or("")
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').map(str::trim).filter(|t| !t.is_empty())
}

/// ja/nej, yes/no, true/false, 1/0 (any case).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "ja" | "yes" | "true" | "1" => Some(true),
        "nej" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "ja" } else { "nej" }
}

fn lang_text(ls: &[Lang]) -> String {
    ls.iter().map(|l| l.code()).collect::<Vec<_>>().join(";")
}

/// Write `members` in the members-file format (all columns, one row per
/// contact, a contact-less member as one row with empty contact fields).
pub fn export_members<W: Write>(members: &[Member], w: W) -> Result<(), ::csv::Error> {
    let mut wtr = ::csv::WriterBuilder::new().from_writer(w);
    let header: Vec<&str> = REQUIRED_COLUMNS.iter().chain(OPTIONAL_COLUMNS.iter()).copied().collect();
    wtr.write_record(&header)?;
    for m in members {
        let cats = m.categories.iter().map(CategoryId::as_str).collect::<Vec<_>>().join(";");
        let kws = m.keywords.join(";");
        let langs = lang_text(&m.languages);
        let mut write = |c: Option<&Contact>| {
            wtr.write_record([
                m.id.as_str(),
                m.name.as_str(),
                m.org_type.as_str(),
                m.municipality.as_str(),
                c.map(|c| c.name.as_str()).unwrap_or(""),
                c.map(|c| c.email.as_str()).unwrap_or(""),
                cats.as_str(),
                kws.as_str(),
                bool_text(m.can_lead),
                langs.as_str(),
                c.map(|c| c.role.as_str()).unwrap_or(""),
                c.map(|c| bool_text(c.primary)).unwrap_or(""),
                m.notes.as_str(),
            ])
        };
        if m.contacts.is_empty() {
            write(None)?;
        }
        for c in &m.contacts {
            write(Some(c))?;
        }
    }
    wtr.flush()?;
    Ok(())
}

/// [`export_members`] to a file.
pub fn write_members_file(path: &Path, members: &[Member]) -> Result<(), ::csv::Error> {
    let f = std::fs::File::create(path)?;
    export_members(members, std::io::BufWriter::new(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "id,name,org_type,municipality,contact_name,email,categories,keywords,can_lead,languages,contact_role,primary,notes\n";

    fn themes() -> Vec<CategoryId> {
        crate::members::default_themes()
    }

    fn parse(s: &str) -> Result<Vec<Member>, ImportError> {
        parse_members("m.csv", s.as_bytes(), &themes())
    }

    #[test]
    fn parses_rows_and_groups_contacts() {
        let s = format!(
            "\u{feff}{HEADER}\
             activa,Stiftelsen Activa,civil_society,Örebro,Anna Ek,anna@activa.example.org,SC6;work_integration,arbetsintegrering;ESF,ja,sv,verksamhetsledare,,tidigare ESF-projekt\n\
             activa,,,,Bo Ek,bo@activa.example.org,,,,,,ja,\n\
             oru,Örebro universitet,university,Örebro,Cia Lind,cia@oru.example.org,SC1;SC6,forskning,yes,sv;en,,,\n"
        );
        let ms = parse(&s).unwrap();
        assert_eq!(ms.len(), 2);
        let a = &ms[0];
        assert_eq!(a.contacts.len(), 2);
        assert!(!a.contacts[0].primary && a.contacts[1].primary);
        assert_eq!(a.keywords, ["arbetsintegrering", "ESF"]);
        assert_eq!(a.notes, "tidigare ESF-projekt");
        assert!(ms[1].contacts[0].primary, "first contact is primary by default");
        assert_eq!(ms[1].languages, [Lang::Sv, Lang::En]);
    }

    #[test]
    fn minimal_header_without_optional_columns() {
        let s = "id,name,org_type,municipality,contact_name,email,categories,keywords,can_lead,languages\n\
                 nora_k,Nora kommun,municipality,Nora,Dan Berg,dan@nora.example.org,SC6,,nej,sv\n";
        let ms = parse(s).unwrap();
        assert_eq!(ms[0].contacts[0].role, "");
        assert!(!ms[0].can_lead);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let s = format!(
            "{HEADER}\
             activa,Stiftelsen Activa,civil_society,Örebro,Anna Ek,anna@activa.example.org,SC6,,ja,sv,,,\n\
             x,X,förening,Örebro,Bo,bo@x.example.org,SC6,,ja,sv,,,\n\
             y,Y,business,Örebro,Cia,cia-at-example.org,SC9;nonsense_theme,,kanske,de,,,\n\
             \"z\",\"Z med\nradbrytning\",business,Örebro,Dan,anna@activa.example.org,SC6,,ja,sv,,,\n\
             activa,Activa AB,civil_society,Örebro,Eva,eva@activa.example.org,SC6,,ja,sv,,,\n"
        );
        let err = parse(&s).unwrap_err();
        let lines: Vec<String> = err.errors.iter().map(|e| e.to_string()).collect();
        assert!(lines.contains(&"m.csv:3: org_type: okänd organisationstyp «förening» (giltiga: civil_society, municipality, region, university, county_board, business, other)".to_string()), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("m.csv:4: email: ogiltig e-postadress")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("m.csv:4: categories: okänd samhällsutmaning «SC9»")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("m.csv:4: categories: okänd kategori «nonsense_theme»")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("m.csv:4: can_lead:")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("m.csv:4: languages: okänt språk «de»")), "{lines:#?}");
        // a quoted field with a line break: the record starts on line 5
        assert!(lines.iter().any(|l| l == "m.csv:5: email: adressen finns redan på rad 2"), "{lines:#?}");
        // record 6 starts on physical line 7
        assert!(lines.iter().any(|l| l.starts_with("m.csv:7: name: skiljer sig från rad 2")), "{lines:#?}");
        assert!(err.to_string().ends_with("ingenting importerades"));
    }

    #[test]
    fn header_problems() {
        let err = parse("id,name,org_type,email,extra\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("m.csv:1: rubrik: okänd kolumn «extra»"), "{text}");
        assert!(text.contains("m.csv:1: rubrik: kolumnen «municipality» saknas"), "{text}");
        assert!(parse("").unwrap_err().to_string().contains("m.csv:1: rubrik: filen är tom"));
    }

    #[test]
    fn wrong_field_count_and_two_primaries() {
        let s = format!(
            "{HEADER}\
             a,A,business,Kumla,Anna,anna@a.example.org,SC3,,nej,sv\n\
             b,B,business,Kumla,Bo,bo@b.example.org,SC3,,nej,sv,,ja,\n\
             b,B,business,Kumla,Cia,cia@b.example.org,SC3,,nej,sv,,ja,\n"
        );
        let text = parse(&s).unwrap_err().to_string();
        assert!(text.contains("m.csv:2: rad: har 10 fält men rubriken har 13"), "{text}");
        assert!(text.contains("m.csv:4: primary: medlemmen «b» har redan en primär kontakt (rad 3)"), "{text}");
    }

    #[test]
    fn export_round_trips() {
        let s = format!(
            "{HEADER}\
             activa,Stiftelsen Activa,civil_society,Örebro,Anna Ek,anna@activa.example.org,SC6;work_integration,\"arbetsintegrering;ESF, Arvsfonden\",ja,sv,verksamhetsledare,ja,\"tidigare ESF-projekt; \"\"Vägen\"\"\"\n\
             activa,,,,Bo Ek,bo+psi@activa.example.org,,,,,,,\n\
             gone,Borttagen,other,,,,SC1,,nej,en,,,\n"
        );
        let ms = parse(&s).unwrap();
        let mut out = Vec::new();
        export_members(&ms, &mut out).unwrap();
        let again = parse_members("export.csv", &out, &themes()).unwrap();
        assert_eq!(ms, again);
        assert!(again[1].contacts.is_empty());
    }
}
