//! Members file, read and write: CSV rows → validated members and contacts
//! (every bad row reported as `FILE:LINE: field: problem`, nothing imported
//! when any row is bad), and [`Member`]s → the same CSV for `members export`.
//!
//! A file is read in two streaming passes so that 100,000 members take a
//! few megabytes, not the whole file as structs: [`check_members`] reads
//! every row and keeps, per member, only its first line and a digest of its
//! first row (what later rows are checked against); [`Checked::rows`] reads
//! the file again and yields each member's fields at its first row and each
//! contact, for the store to write in one transaction. Cells go through
//! [`crate::csv_cell`] both ways: a formula is written with a leading `'`
//! and read back as the same text. A file is read as a Swedish office
//! saves it ([`crate::csv_text`]): `;` or `,` as its header line has it,
//! UTF-8 with or without a BOM or Windows-1252, CRLF or LF.

use crate::csv_cell::{guard, read_cell};
use crate::csv_text::{Decode, TextEncoding, detect_encoding, separator};
use crate::domain::{CategoryId, Contact, Email, Lang, Member, MemberId, OrgType};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

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

/// Where a members file can be read from, once per pass.
pub trait Reopen {
    type Reader: Read;
    fn reopen(&self) -> std::io::Result<Self::Reader>;
}

impl Reopen for PathBuf {
    type Reader = std::fs::File;
    fn reopen(&self) -> std::io::Result<std::fs::File> {
        std::fs::File::open(self)
    }
}

impl<'a> Reopen for &'a [u8] {
    type Reader = &'a [u8];
    fn reopen(&self) -> std::io::Result<&'a [u8]> {
        Ok(self)
    }
}

/// What [`Checked::rows`] yields, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportRow {
    /// A member's fields, at its first row (`contacts` is empty; its contacts follow).
    Member(Member),
    /// One contact of a member yielded before.
    Contact(MemberId, Contact),
}

/// Read and validate a members file from disk (small files: the demo, tests).
pub fn read_members_file(path: &Path, themes: &[CategoryId]) -> Result<Vec<Member>, ImportError> {
    collect(&check_members(&path.display().to_string(), path.to_path_buf(), themes)?)
}

/// Parse and validate a members file held in memory. `file` names it in
/// error messages; `themes` are the regional theme ids accepted besides `SC1`…`SC7`.
pub fn parse_members(file: &str, bytes: &[u8], themes: &[CategoryId]) -> Result<Vec<Member>, ImportError> {
    collect(&check_members(file, bytes, themes)?)
}

/// The members of a checked file, each with its contacts.
fn collect<S: Reopen>(checked: &Checked<S>) -> Result<Vec<Member>, ImportError> {
    let mut members: Vec<Member> = Vec::new();
    let mut index: HashMap<MemberId, usize> = HashMap::new();
    for row in checked.rows()? {
        match row? {
            ImportRow::Member(m) => {
                index.insert(m.id.clone(), members.len());
                members.push(m);
            }
            ImportRow::Contact(id, c) => {
                if let Some(m) = index.get(&id).and_then(|i| members.get_mut(*i)) {
                    m.contacts.push(c);
                }
            }
        }
    }
    Ok(members)
}

/// The first pass: validate every row of the file at `source`. On success,
/// what the second pass ([`Checked::rows`]) needs.
pub fn check_members<S: Reopen>(file: &str, source: S, themes: &[CategoryId]) -> Result<Checked<S>, ImportError> {
    let mut c = Checker { sink: Sink::new(file), themes, seen: HashMap::new(), emails: HashMap::new(), pending: Vec::new() };
    let encoding = match source.reopen().and_then(detect_encoding) {
        Ok(e) => e,
        Err(e) => {
            c.sink.err(0, "fil", format!("filen {}", crate::i18n::io_problem(&e, Lang::Sv)));
            return Err(c.sink.into_error());
        }
    };
    let mut members = 0;
    let mut contacts = 0;
    let digest = {
        let Some(mut rows) = RowReader::open(&source, encoding, &mut c.sink) else { return Err(c.sink.into_error()) };
        while let Some(next) = rows.next_row() {
            match next {
                Ok((line, row)) => {
                    let (m, k) = c.row(line, &row);
                    members += usize::from(m);
                    contacts += usize::from(k);
                }
                Err(errors) => c.sink.errors.extend(errors),
            }
        }
        rows.digest()
    };
    if !c.pending.is_empty() {
        c.fill_in_agreement(&source, encoding);
    }
    if !c.sink.errors.is_empty() {
        return Err(c.sink.into_error());
    }
    Ok(Checked { file: file.to_string(), source, encoding, themes: themes.to_vec(), seen: c.seen, members, contacts, digest })
}

/// A members file that passed [`check_members`].
pub struct Checked<S> {
    file: String,
    source: S,
    /// Found by the first pass, so the second one does not look again.
    encoding: TextEncoding,
    themes: Vec<CategoryId>,
    seen: HashMap<MemberId, Seen>,
    members: usize,
    contacts: usize,
    digest: u64,
}

impl<S: Reopen> Checked<S> {
    /// How many members the file has.
    pub fn members(&self) -> usize {
        self.members
    }

    /// How many contacts the file has.
    pub fn contacts(&self) -> usize {
        self.contacts
    }

    /// The second pass: each member's fields at its first row, then its
    /// contacts as they come (a member's first contact is its primary one
    /// when no row of it says `primary`). Ends with an error if the file
    /// changed since it was checked: the caller then writes nothing.
    pub fn rows(&self) -> Result<Rows<'_, S>, ImportError> {
        let mut sink = Sink::new(&self.file);
        match RowReader::open(&self.source, self.encoding, &mut sink) {
            Some(reader) => Ok(Rows { checked: self, reader, queued: None, done: false }),
            None => Err(sink.into_error()),
        }
    }
}

/// The iterator of [`Checked::rows`].
pub struct Rows<'a, S: Reopen> {
    checked: &'a Checked<S>,
    reader: RowReader<S::Reader>,
    /// A row's contact, yielded after its member.
    queued: Option<ImportRow>,
    done: bool,
}

impl<S: Reopen> Iterator for Rows<'_, S> {
    type Item = Result<ImportRow, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(q) = self.queued.take() {
            return Some(Ok(q));
        }
        while !self.done {
            let Some(next) = self.reader.next_row() else {
                self.done = true;
                return (self.reader.digest() != self.checked.digest).then(|| Err(self.changed(0)));
            };
            let (line, row) = match next {
                Ok(r) => r,
                Err(errors) => {
                    self.done = true;
                    return Some(Err(ImportError { errors }));
                }
            };
            match self.row(line, &row) {
                Ok((None, None)) => continue,
                Ok((Some(m), c)) => {
                    self.queued = c;
                    return Some(Ok(m));
                }
                Ok((None, Some(c))) => return Some(Ok(c)),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl<S: Reopen> Rows<'_, S> {
    fn changed(&self, line: u64) -> ImportError {
        let problem = "filen ändrades medan den lästes in".to_string();
        ImportError { errors: vec![RowError { file: self.checked.file.clone(), line, field: "fil".into(), problem }] }
    }

    /// One row of a checked file: its member (at the member's first row) and its contact.
    fn row(&self, line: u64, row: &Row) -> Result<(Option<ImportRow>, Option<ImportRow>), ImportError> {
        let mut sink = Sink::new(&self.checked.file);
        let id = MemberId::parse(row.get("id")).ok();
        let Some((id, seen)) = id.and_then(|id| self.checked.seen.get(&id).map(|s| (id, *s))) else { return Err(self.changed(line)) };
        let member = if line == seen.first_line {
            member_fields(&mut sink, &self.checked.themes, line, row, None).map(|f| ImportRow::Member(f.into_member(id.clone())))
        } else {
            None
        };
        let contact = contact(&mut sink, line, row, None);
        if !sink.errors.is_empty() || (line == seen.first_line && member.is_none()) {
            return Err(self.changed(line));
        }
        let contact = contact.flatten().map(|mut c| {
            c.primary |= seen.primary_line.is_none() && seen.first_contact_line.map(NonZeroU64::get) == Some(line);
            ImportRow::Contact(id, c)
        });
        Ok((member, contact))
    }
}

/// Errors of one file.
struct Sink {
    file: String,
    errors: Vec<RowError>,
}

impl Sink {
    fn new(file: &str) -> Sink {
        Sink { file: file.to_string(), errors: Vec::new() }
    }

    fn err(&mut self, line: u64, field: &str, problem: impl Into<String>) {
        self.errors.push(RowError { file: self.file.clone(), line, field: field.to_string(), problem: problem.into() });
    }

    fn into_error(self) -> ImportError {
        ImportError { errors: self.errors }
    }
}

/// Every column a file may have; a row's cells are found by position in this list.
const ALL_COLUMNS: [&str; 13] = [
    "id",
    "name",
    "org_type",
    "municipality",
    "contact_name",
    "email",
    "categories",
    "keywords",
    "can_lead",
    "languages",
    "contact_role",
    "primary",
    "notes",
];

/// One data row: its cells by [`ALL_COLUMNS`] position (absent optional columns are empty).
struct Row([String; 13]);

impl Row {
    fn get(&self, k: &str) -> &str {
        ALL_COLUMNS.iter().position(|c| *c == k).and_then(|i| self.0.get(i)).map(String::as_str).unwrap_or("")
    }
}

/// The rows of a members file, one at a time, after its header was checked.
struct RowReader<R: Read> {
    records: ::csv::ByteRecordsIntoIter<BufReader<Decode<R>>>,
    file: String,
    /// For each column of the file, its position in [`ALL_COLUMNS`].
    cols: Vec<usize>,
    last_line: u64,
    /// FNV-1a over every record: the second pass checks it read what the first did.
    hash: u64,
}

impl<R: Read> RowReader<R> {
    /// Open `source` as text in `encoding` and read its header (its
    /// separator, `;` or `,`, taken from it); `None` (with the errors in
    /// `sink`) when it cannot be used.
    fn open<S: Reopen<Reader = R>>(source: &S, encoding: TextEncoding, sink: &mut Sink) -> Option<RowReader<R>> {
        let mut reader = match source.reopen() {
            Ok(r) => BufReader::new(Decode::new(r, encoding)),
            Err(e) => {
                sink.err(0, "fil", format!("filen {}", crate::i18n::io_problem(&e, Lang::Sv)));
                return None;
            }
        };
        if reader.fill_buf().is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF")) {
            reader.consume(3);
        }
        let delimiter = reader.fill_buf().map(separator).unwrap_or(b',');
        let mut records =
            ::csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(reader).into_byte_records();
        let header = match records.next() {
            None => {
                sink.err(1, "rubrik", "filen är tom");
                return None;
            }
            Some(Err(e)) => {
                sink.err(1, "rubrik", format!("kan inte läsas: {e}"));
                return None;
            }
            Some(Ok(h)) => h,
        };
        let cols = columns(sink, &header)?;
        Some(RowReader { records, file: sink.file.clone(), cols, last_line: 1, hash: 0xcbf2_9ce4_8422_2325 })
    }

    fn digest(&self) -> u64 {
        self.hash
    }

    fn mix(&mut self, bytes: &[u8]) {
        for b in bytes.iter().chain(b"\x1f") {
            self.hash ^= u64::from(*b);
            self.hash = self.hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The next row that is not blank, with its line; the row's errors when
    /// it is not CSV, has the wrong number of fields or is not UTF-8.
    fn next_row(&mut self) -> Option<Result<(u64, Row), Vec<RowError>>> {
        loop {
            let rec = self.records.next()?;
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(self.last_line + 1);
                    return Some(Err(vec![row_error(&self.file, line, "rad", format!("ogiltig CSV: {e}"))]));
                }
            };
            let line = rec.position().map(|p| p.line()).unwrap_or(self.last_line + 1);
            self.last_line = line;
            for f in rec.iter() {
                self.mix(f);
            }
            if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            if rec.len() != self.cols.len() {
                let problem = format!("har {} fält men rubriken har {}", rec.len(), self.cols.len());
                return Some(Err(vec![row_error(&self.file, line, "rad", problem)]));
            }
            let mut row = Row(Default::default());
            let mut errors = Vec::new();
            for (&col, raw) in self.cols.iter().zip(rec.iter()) {
                match std::str::from_utf8(raw) {
                    Ok(s) => {
                        if let Some(cell) = row.0.get_mut(col) {
                            *cell = read_cell(s).to_string();
                        }
                    }
                    Err(_) => {
                        errors.push(row_error(&self.file, line, ALL_COLUMNS.get(col).copied().unwrap_or("?"), "inte giltig UTF-8".into()))
                    }
                }
            }
            return Some(if errors.is_empty() { Ok((line, row)) } else { Err(errors) });
        }
    }
}

fn row_error(file: &str, line: u64, field: &str, problem: String) -> RowError {
    RowError { file: file.to_string(), line, field: field.to_string(), problem }
}

/// Check the header: for each column, its position in [`ALL_COLUMNS`].
fn columns(sink: &mut Sink, header: &::csv::ByteRecord) -> Option<Vec<usize>> {
    let mut cols = Vec::new();
    let mut ok = true;
    for raw in header.iter() {
        let name = String::from_utf8_lossy(raw).trim().to_lowercase();
        match ALL_COLUMNS.iter().position(|c| *c == name) {
            None => {
                sink.err(
                    1,
                    "rubrik",
                    format!("okänd kolumn «{name}» (tillåtna: {}, {})", REQUIRED_COLUMNS.join(","), OPTIONAL_COLUMNS.join(",")),
                );
                ok = false;
            }
            Some(i) if cols.contains(&i) => {
                sink.err(1, "rubrik", format!("kolumnen «{name}» förekommer två gånger"));
                ok = false;
            }
            Some(i) => cols.push(i),
        }
    }
    for (i, req) in REQUIRED_COLUMNS.iter().enumerate() {
        if !cols.contains(&i) {
            sink.err(1, "rubrik", format!("kolumnen «{req}» saknas"));
            ok = false;
        }
    }
    ok.then_some(cols)
}

/// The member-level part of one row. On a member's later rows, empty cells
/// mean "as on the first row".
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

impl MemberFields {
    fn into_member(self, id: MemberId) -> Member {
        Member {
            id,
            name: self.name,
            org_type: self.org_type,
            municipality: self.municipality,
            contacts: Vec::new(),
            categories: self.categories,
            keywords: self.keywords,
            can_lead: self.can_lead,
            languages: self.languages,
            notes: self.notes,
        }
    }

    /// The fields later rows must agree with, as compared and shown in messages.
    fn texts(&self) -> [String; AGREED] {
        let mut cats: Vec<&str> = self.categories.iter().map(CategoryId::as_str).collect();
        cats.sort();
        [
            self.name.clone(),
            self.org_type.as_str().into(),
            self.municipality.clone(),
            cats.join(";"),
            self.keywords.join(";"),
            bool_text(self.can_lead).into(),
            lang_text(&self.languages),
            self.notes.clone(),
        ]
    }
}

/// The member-level columns later rows must agree with, in [`MemberFields::texts`] order.
const AGREED: usize = 8;
const AGREED_COLUMNS: [&str; AGREED] = ["name", "org_type", "municipality", "categories", "keywords", "can_lead", "languages", "notes"];

/// The agreed columns kept as a digest (the others are kept typed), by their index in [`AGREED_COLUMNS`].
const DIGESTED: [usize; 6] = [0, 2, 3, 4, 6, 7];

/// What the first pass keeps of a member (80 bytes, however long its row):
/// its first valid row's line and a digest of each text field there, and
/// where its primary and first contacts are.
#[derive(Debug, Clone, Copy)]
struct Seen {
    first_line: u64,
    org_type: OrgType,
    can_lead: bool,
    digests: [u64; DIGESTED.len()],
    primary_line: Option<NonZeroU64>,
    first_contact_line: Option<NonZeroU64>,
}

fn digest(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// A later row's field that differs from the first row: its error is in
/// `sink.errors[index]`, its message completed once the first row's text is read again.
struct Pending {
    index: usize,
    first_line: u64,
    field: usize,
    later: String,
}

/// The first pass's state.
struct Checker<'a> {
    sink: Sink,
    themes: &'a [CategoryId],
    seen: HashMap<MemberId, Seen>,
    /// Each address (without `+tag`) and the line it is on.
    emails: HashMap<Box<str>, u64>,
    pending: Vec<Pending>,
}

impl Checker<'_> {
    /// Check one row; whether it added a member and a contact.
    fn row(&mut self, line: u64, row: &Row) -> (bool, bool) {
        let n_errors = self.sink.errors.len();
        let id = match MemberId::parse(row.get("id")) {
            Ok(id) => Some(id),
            Err(e) => {
                self.sink.err(line, "id", e);
                None
            }
        };
        let earlier = id.as_ref().and_then(|id| self.seen.get(id)).copied();
        let fields = member_fields(&mut self.sink, self.themes, line, row, earlier.as_ref());
        let contact = contact(&mut self.sink, line, row, Some(&mut self.emails));
        if let (Some(id), Some(fields), Some(first)) = (&id, &fields, &earlier) {
            self.agree(line, row, first, fields);
            if let Some(Some(c)) = &contact
                && c.primary
            {
                match first.primary_line {
                    Some(l) => self.sink.err(line, "primary", format!("medlemmen «{id}» har redan en primär kontakt (rad {l})")),
                    None => {
                        if let Some(s) = self.seen.get_mut(id) {
                            s.primary_line = NonZeroU64::new(line);
                        }
                    }
                }
            }
        }
        if self.sink.errors.len() > n_errors {
            return (false, false);
        }
        let (Some(id), Some(fields), Some(contact)) = (id, fields, contact) else { return (false, false) };
        let has_contact = contact.is_some();
        match self.seen.get_mut(&id) {
            Some(s) => {
                if has_contact && s.first_contact_line.is_none() {
                    s.first_contact_line = NonZeroU64::new(line);
                }
                (false, has_contact)
            }
            None => {
                let texts = fields.texts();
                let seen = Seen {
                    first_line: line,
                    org_type: fields.org_type,
                    can_lead: fields.can_lead,
                    digests: DIGESTED.map(|i| texts.get(i).map_or(0, |t| digest(t))),
                    primary_line: contact.as_ref().filter(|c| c.primary).and_then(|_| NonZeroU64::new(line)),
                    first_contact_line: has_contact.then(|| NonZeroU64::new(line)).flatten(),
                };
                self.seen.insert(id, seen);
                (true, has_contact)
            }
        }
    }

    /// Member-level fields of a later row must match the member's first row
    /// (an empty cell takes the first row's value).
    fn agree(&mut self, line: u64, row: &Row, first: &Seen, fields: &MemberFields) {
        let texts = fields.texts();
        for (i, (column, text)) in AGREED_COLUMNS.iter().zip(texts).enumerate() {
            let differs = match *column {
                "org_type" => fields.org_type != first.org_type,
                "can_lead" => fields.can_lead != first.can_lead,
                _ if row.get(column).is_empty() => false,
                _ => DIGESTED.iter().position(|d| *d == i).and_then(|slot| first.digests.get(slot)).is_some_and(|d| *d != digest(&text)),
            };
            if differs {
                self.pending.push(Pending { index: self.sink.errors.len(), first_line: first.first_line, field: i, later: text });
                self.sink.err(line, column, "");
            }
        }
    }

    /// Complete the messages of [`Checker::agree`] with the first rows' text,
    /// read again (only when some later row disagreed).
    fn fill_in_agreement<S: Reopen>(&mut self, source: &S, encoding: TextEncoding) {
        let wanted: HashSet<u64> = self.pending.iter().map(|p| p.first_line).collect();
        let mut firsts: HashMap<u64, [String; AGREED]> = HashMap::new();
        let mut scratch = Sink::new(&self.sink.file);
        if let Some(mut rows) = RowReader::open(source, encoding, &mut scratch) {
            while let Some(next) = rows.next_row() {
                if let Ok((line, row)) = next
                    && wanted.contains(&line)
                    && let Some(f) = member_fields(&mut scratch, self.themes, line, &row, None)
                {
                    firsts.insert(line, f.texts());
                }
            }
        }
        for p in std::mem::take(&mut self.pending) {
            let first = firsts.get(&p.first_line).and_then(|t| t.get(p.field)).map(String::as_str).unwrap_or("?");
            if let Some(e) = self.sink.errors.get_mut(p.index) {
                e.problem = format!("skiljer sig från rad {} för samma medlem («{}» ≠ «{first}»)", p.first_line, p.later);
            }
        }
    }
}

/// The member-level fields of a row; `earlier` is the member's first row
/// when this is a later one (its empty cells then take the first row's
/// value: the typed ones here, the texts when compared).
fn member_fields(sink: &mut Sink, themes: &[CategoryId], line: u64, row: &Row, earlier: Option<&Seen>) -> Option<MemberFields> {
    let n = sink.errors.len();
    let name = row.get("name").to_string();
    if name.is_empty() && earlier.is_none() {
        sink.err(line, "name", "saknas");
    }
    let org_raw = row.get("org_type");
    let org_type = match (OrgType::parse(org_raw), earlier) {
        (Some(o), _) => Some(o),
        (None, Some(e)) if org_raw.is_empty() => Some(e.org_type),
        (None, _) if org_raw.is_empty() => {
            sink.err(line, "org_type", "saknas");
            None
        }
        (None, _) => {
            let all: Vec<&str> = OrgType::ALL.iter().map(|o| o.as_str()).collect();
            sink.err(line, "org_type", format!("okänd organisationstyp «{org_raw}» (giltiga: {})", all.join(", ")));
            None
        }
    };
    let categories = categories(sink, themes, line, row.get("categories"));
    let keywords: Vec<String> = split_list(row.get("keywords")).map(str::to_string).collect();
    let can_lead_raw = row.get("can_lead");
    let can_lead = match (parse_bool(can_lead_raw), earlier) {
        (Some(b), _) => Some(b),
        (None, Some(e)) if can_lead_raw.is_empty() => Some(e.can_lead),
        (None, _) => {
            sink.err(line, "can_lead", format!("«{can_lead_raw}» är inte ja/nej (ja, nej, yes, no, true, false, 1, 0)"));
            None
        }
    };
    let mut languages = Vec::new();
    for l in split_list(row.get("languages")) {
        match l.to_ascii_lowercase().as_str() {
            "sv" => languages.push(Lang::Sv),
            "en" => languages.push(Lang::En),
            _ => sink.err(line, "languages", format!("okänt språk «{l}» (giltiga: sv, en)")),
        }
    }
    languages.sort();
    languages.dedup();
    if languages.is_empty() && row.get("languages").is_empty() && earlier.is_none() {
        sink.err(line, "languages", "saknas (sv, en eller sv;en)");
    }
    if sink.errors.len() > n {
        return None;
    }
    Some(MemberFields {
        name,
        org_type: org_type?,
        municipality: row.get("municipality").to_string(),
        categories,
        keywords,
        can_lead: can_lead?,
        languages,
        notes: row.get("notes").to_string(),
    })
}

fn categories(sink: &mut Sink, themes: &[CategoryId], line: u64, raw: &str) -> Vec<CategoryId> {
    let mut categories = Vec::new();
    for c in split_list(raw) {
        match CategoryId::parse(c) {
            Ok(id) if id.is_challenge() || themes.contains(&id) => {
                if !categories.contains(&id) {
                    categories.push(id)
                }
            }
            Ok(id) => {
                let themes: Vec<&str> = themes.iter().map(CategoryId::as_str).collect();
                sink.err(line, "categories", format!("okänd kategori «{id}» (giltiga: SC1–SC7, {})", themes.join(", ")));
            }
            Err(e) => sink.err(line, "categories", e),
        }
    }
    categories
}

/// The contact on a row: `Some(None)` for a row without one. With
/// `emails` (each address without `+tag` and its line), an address on an
/// earlier row is an error.
fn contact(sink: &mut Sink, line: u64, row: &Row, emails: Option<&mut HashMap<Box<str>, u64>>) -> Option<Option<Contact>> {
    let (name, email_raw) = (row.get("contact_name"), row.get("email"));
    let primary_raw = row.get("primary");
    let primary = match parse_bool(primary_raw) {
        Some(b) => b,
        None if primary_raw.is_empty() => false,
        None => {
            sink.err(line, "primary", format!("«{primary_raw}» är inte ja/nej (ja, nej, yes, no, true, false, 1, 0)"));
            return None;
        }
    };
    if name.is_empty() && email_raw.is_empty() {
        return Some(None);
    }
    let mut ok = true;
    if name.is_empty() {
        sink.err(line, "contact_name", "saknas (e-postadressen behöver ett namn)");
        ok = false;
    }
    let email = match Email::parse(email_raw) {
        Ok(e) => Some(e),
        Err(_) if email_raw.is_empty() => {
            sink.err(line, "email", "saknas");
            None
        }
        Err(e) => {
            sink.err(line, "email", e);
            None
        }
    };
    let email = email?;
    if let Some(l) = emails.and_then(|seen| seen.insert(email.without_tag().into_boxed_str(), line)) {
        sink.err(line, "email", format!("adressen finns redan på rad {l}"));
        return None;
    }
    ok.then(|| Some(Contact { name: name.to_string(), email, role: row.get("contact_role").to_string(), primary, unsubscribed: false }))
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
/// contact, a contact-less member as one row with empty contact fields),
/// every cell a spreadsheet would run as a formula guarded with a `'`.
/// Written as Swedish Excel opens it with a double click: UTF-8 with a BOM
/// (without one Excel reads Windows-1252 and åäö turn to mojibake), `;`
/// between cells (Excel's list separator in a Swedish locale) and CRLF.
pub fn export_members<W: Write>(members: &[Member], mut w: W) -> Result<(), ::csv::Error> {
    w.write_all(b"\xEF\xBB\xBF")?;
    let mut wtr = ::csv::WriterBuilder::new().delimiter(b';').terminator(::csv::Terminator::CRLF).from_writer(w);
    let header: Vec<&str> = REQUIRED_COLUMNS.iter().chain(OPTIONAL_COLUMNS.iter()).copied().collect();
    wtr.write_record(&header)?;
    for m in members {
        let cats = m.categories.iter().map(CategoryId::as_str).collect::<Vec<_>>().join(";");
        let kws = m.keywords.join(";");
        let langs = lang_text(&m.languages);
        let mut write = |c: Option<&Contact>| {
            let cells = [
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
            ];
            wtr.write_record(cells.map(guard).iter().map(|c| c.as_bytes()))
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

    /// A file that reads differently from the third opening on (the
    /// first pass opens it twice: to find its encoding, then to check it).
    struct Changing(std::cell::Cell<usize>, [String; 2]);

    impl Reopen for Changing {
        type Reader = std::io::Cursor<Vec<u8>>;
        fn reopen(&self) -> std::io::Result<Self::Reader> {
            let n = self.0.get();
            self.0.set(n + 1);
            Ok(std::io::Cursor::new(self.1[usize::from(n >= 2)].clone().into_bytes()))
        }
    }

    #[test]
    fn the_second_pass_yields_members_then_contacts_and_notices_a_changed_file() {
        let a = "id,name,org_type,municipality,contact_name,email,categories,keywords,can_lead,languages\n\
                 a,A,business,Kumla,,,SC3,,nej,sv\n\
                 b,B,business,Kumla,Bo,bo@b.example.org,SC3,,nej,sv\n\
                 a,,,,Anna,anna@a.example.org,,,,\n";
        let checked = check_members("m.csv", a.as_bytes(), &themes()).unwrap();
        assert_eq!((checked.members(), checked.contacts()), (2, 2));
        let rows: Vec<ImportRow> = checked.rows().unwrap().map(Result::unwrap).collect();
        let shape: Vec<String> = rows
            .iter()
            .map(|r| match r {
                ImportRow::Member(m) => format!("member {}", m.id),
                ImportRow::Contact(id, c) => format!("contact {id} {} primary={}", c.name, c.primary),
            })
            .collect();
        assert_eq!(shape, ["member a", "member b", "contact b Bo primary=true", "contact a Anna primary=true"]);

        let changed = Changing(std::cell::Cell::new(0), [a.to_string(), a.replace("Anna", "Annika")]);
        let checked = check_members("m.csv", changed, &themes()).unwrap();
        let last = checked.rows().unwrap().last().unwrap();
        assert!(last.unwrap_err().to_string().contains("m.csv:0: fil: filen ändrades medan den lästes in"));
    }

    /// The members files of `fixtures/members/` saved as Excel saves them.
    fn excel_fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/members").join(name);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn excel_files_in_both_dialects_read_the_same() {
        // "CSV (semikolonavgränsad)" on Swedish Windows: `;`, Windows-1252, CRLF, no BOM.
        let semikolon = excel_fixture("excel-semikolon-cp1252.csv");
        assert!(semikolon.contains(&0xc5) && !semikolon.starts_with(b"\xEF\xBB\xBF"), "the fixture is Windows-1252");
        // "CSV UTF-8 (kommaavgränsad)": `,`, UTF-8 with a BOM, CRLF.
        let utf8 = excel_fixture("excel-utf8-bom-komma.csv");
        let a = parse_members("semikolon.csv", &semikolon, &themes()).unwrap();
        let b = parse_members("utf8.csv", &utf8, &themes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].contacts[0].name, "Åsa Öberg");
        assert_eq!(a[0].keywords, ["arbetsmarknad", "näringsliv"]);
        assert_eq!(a[0].categories.len(), 2);
        assert_eq!(a[1].name, "Föreningen Sjöglimten");
        assert_eq!(a[1].notes, "träffas i \"Gula huset\"\nvarje tisdag");
        assert_eq!(a[2].name, "Tivedens Energi & Miljö AB");
    }

    #[test]
    fn errors_in_an_excel_file_are_on_the_lines_excel_shows() {
        let err = parse_members("fel.csv", &excel_fixture("excel-semikolon-cp1252-fel.csv"), &themes()).unwrap_err();
        let lines: Vec<String> = err.errors.iter().map(|e| e.to_string()).collect();
        // Line 3 holds a cell with a line break, so Lekeberg is on line 5 and Fjugesta on 6.
        assert!(lines.iter().any(|l| l.starts_with("fel.csv:5: org_type: okänd organisationstyp «kommun»")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("fel.csv:6: email: ogiltig e-postadress")), "{lines:#?}");
        assert!(!lines.iter().any(|l| l.contains("UTF-8") || l.contains("rubrik")), "{lines:#?}");
        assert_eq!(lines.len(), 2, "{lines:#?}");
    }

    #[test]
    fn export_opens_in_swedish_excel() {
        let s = format!("{HEADER}activa,Stiftelsen Activa,civil_society,Örebro,Åsa Ek,asa@activa.example.org,SC6;SC1,,ja,sv,,,\n");
        let mut out = Vec::new();
        export_members(&parse(&s).unwrap(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let want_header = format!("\u{feff}{}\r\n", HEADER.trim_end().replace(',', ";"));
        assert!(text.starts_with(&want_header), "{text:?}");
        assert!(text.contains("\r\nactiva;Stiftelsen Activa;civil_society;Örebro;Åsa Ek;asa@activa.example.org;\"SC6;SC1\";"), "{text:?}");
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "every line ends in CRLF: {text:?}");
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
