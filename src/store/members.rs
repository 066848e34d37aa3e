//! Store: member organisations, their contacts and the interests they declare
//! per call (by reply or on the command line), and the GDPR erasure of a
//! contact's personal data (`members forget`). Logs name ids, never people.

use super::{Result, Store, StoreError, parse_ts, ts};
use crate::domain::{CallRef, CategoryId, Contact, Email, ForgetTarget, Intent, Lang, Member, MemberId, OrgType, Role};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// A stored contact with its row id and member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactRow {
    pub id: i64,
    pub member: MemberId,
    pub contact: Contact,
}

/// One declared interest: a member's answer to a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterestRow {
    pub id: i64,
    pub call: CallRef,
    pub member: MemberId,
    /// None once the contact who answered has been forgotten (or for answers
    /// entered on the command line).
    pub contact_id: Option<i64>,
    pub intent: Intent,
    pub role: Option<Role>,
    pub comment: String,
    pub reply_id: Option<i64>,
    pub recorded_at: DateTime<Utc>,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertSummary {
    pub members_added: usize,
    pub members_updated: usize,
    pub contacts_added: usize,
    pub contacts_updated: usize,
    pub contacts_removed: usize,
}

/// What `forget` erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ForgetReport {
    /// Contact rows deleted.
    pub contacts: usize,
    /// Interests whose contact was unlinked (the organisation's answer stays).
    pub interests: u64,
    /// Replies whose sender address and raw message were cleared.
    pub replies: u64,
    /// Outbox messages redacted.
    pub outbox: u64,
}

/// What replaces erased personal data in free text.
pub const REDACTED: &str = "[raderad]";

fn join_categories(cs: &[CategoryId]) -> String {
    cs.iter().map(CategoryId::as_str).collect::<Vec<_>>().join(";")
}

fn join_langs(ls: &[Lang]) -> String {
    ls.iter().map(|l| l.code()).collect::<Vec<_>>().join(";")
}

fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').map(str::trim).filter(|t| !t.is_empty())
}

/// The bare address in a `From` value (`Anna <anna@x.se>` → `anna@x.se`).
fn bare_address(from: &str) -> Option<Email> {
    let inner = match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => &from[a + 1..b],
        _ => from,
    };
    Email::parse(inner).ok()
}

/// Replace every case-insensitive occurrence of each needle in `text`.
fn redact_text(text: &str, needles: &[String]) -> String {
    let mut out = text.to_string();
    for n in needles.iter().filter(|n| n.chars().count() >= 3) {
        let lower_n = n.to_lowercase();
        // Byte offsets in the lower-cased copy are valid in `out` only when
        // every char keeps its UTF-8 length; otherwise match exactly.
        let same_len = out.chars().all(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>() == c.len_utf8());
        if !same_len {
            out = out.replace(n.as_str(), REDACTED);
            continue;
        }
        let lower = out.to_lowercase();
        let mut res = String::with_capacity(out.len());
        let mut pos = 0;
        while let Some(i) = lower.get(pos..).and_then(|rest| rest.find(&lower_n)) {
            let start = pos + i;
            res.push_str(out.get(pos..start).unwrap_or_default());
            res.push_str(REDACTED);
            pos = start + lower_n.len();
        }
        res.push_str(out.get(pos..).unwrap_or_default());
        out = res;
    }
    out
}

fn contact_row(r: &sqlx::sqlite::SqliteRow) -> Result<ContactRow> {
    Ok(ContactRow {
        id: r.get(0),
        member: MemberId::parse(&r.get::<String, _>(1)).map_err(StoreError::Invalid)?,
        contact: Contact {
            name: r.get(2),
            email: Email::parse(&r.get::<String, _>(3)).map_err(StoreError::Invalid)?,
            role: r.get(4),
            primary: r.get(5),
            unsubscribed: r.get::<Option<String>, _>(6).is_some(),
        },
    })
}

/// A members import in progress: see [`Store::begin_member_import`].
pub struct MemberImport {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    now: String,
    sum: UpsertSummary,
}

impl MemberImport {
    /// Add or update a member's own fields (its `contacts` are ignored: add them with [`MemberImport::contact`]).
    pub async fn member(&mut self, m: &Member) -> Result<()> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM members WHERE id=?").bind(m.id.as_str()).fetch_optional(&mut *self.tx).await?;
        if exists.is_some() {
            self.sum.members_updated += 1;
        } else {
            self.sum.members_added += 1;
        }
        sqlx::query(
            "INSERT INTO members (id, name, org_type, municipality, categories, keywords, can_lead, languages, notes, created_at, updated_at)
             VALUES (?,?,?,?,?,?,?,?,?,?,?)
             ON CONFLICT (id) DO UPDATE SET name=excluded.name, org_type=excluded.org_type, municipality=excluded.municipality,
                 categories=excluded.categories, keywords=excluded.keywords, can_lead=excluded.can_lead,
                 languages=excluded.languages, notes=excluded.notes, updated_at=excluded.updated_at",
        )
        .bind(m.id.as_str())
        .bind(&m.name)
        .bind(m.org_type.as_str())
        .bind(&m.municipality)
        .bind(join_categories(&m.categories))
        .bind(m.keywords.join(";"))
        .bind(m.can_lead)
        .bind(join_langs(&m.languages))
        .bind(&m.notes)
        .bind(&self.now)
        .bind(&self.now)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("INSERT OR IGNORE INTO temp.import_members (id) VALUES (?)").bind(m.id.as_str()).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Add or update one contact of `member` (added before with [`MemberImport::member`]).
    pub async fn contact(&mut self, member: &MemberId, c: &Contact) -> Result<()> {
        // This member's row for the address first; else another member's
        // (a contact moved to this member follows, token and STOPP kept).
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM contacts WHERE email=? ORDER BY member_id=? DESC, id LIMIT 1")
            .bind(c.email.as_str())
            .bind(member.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        let id = match existing {
            Some(id) => {
                sqlx::query("UPDATE contacts SET member_id=?, name=?, role=?, is_primary=? WHERE id=?")
                    .bind(member.as_str())
                    .bind(&c.name)
                    .bind(&c.role)
                    .bind(c.primary)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                self.sum.contacts_updated += 1;
                id
            }
            None => {
                self.sum.contacts_added += 1;
                sqlx::query_scalar(
                    "INSERT INTO contacts (member_id, name, email, role, is_primary, unsubscribed_at) VALUES (?,?,?,?,?,?) RETURNING id",
                )
                .bind(member.as_str())
                .bind(&c.name)
                .bind(c.email.as_str())
                .bind(&c.role)
                .bind(c.primary)
                .bind(c.unsubscribed.then(|| self.now.clone()))
                .fetch_one(&mut *self.tx)
                .await?
            }
        };
        sqlx::query("INSERT OR IGNORE INTO temp.import_contacts (id) VALUES (?)").bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Remove the imported members' contacts the import did not name, and commit.
    pub async fn finish(mut self) -> Result<UpsertSummary> {
        let removed = sqlx::query(
            "DELETE FROM contacts WHERE member_id IN (SELECT id FROM temp.import_members)
                 AND id NOT IN (SELECT id FROM temp.import_contacts)",
        )
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        self.sum.contacts_removed = usize::try_from(removed).unwrap_or(usize::MAX);
        sqlx::raw_sql("DROP TABLE temp.import_members; DROP TABLE temp.import_contacts;").execute(&mut *self.tx).await?;
        self.tx.commit().await?;
        let sum = self.sum;
        tracing::info!(
            members_added = sum.members_added,
            members_updated = sum.members_updated,
            contacts_added = sum.contacts_added,
            contacts_removed = sum.contacts_removed,
            "members imported"
        );
        Ok(sum)
    }
}

impl Store {
    /// Add or update members and their contacts in one transaction. Members
    /// are keyed by id, contacts by e-mail address (a contact moved to
    /// another member follows). A member's contacts not in `members` are
    /// removed; members not in `members` are left as they are. A contact's
    /// unsubscription survives re-import.
    pub async fn upsert_members(&self, members: &[Member], now: DateTime<Utc>) -> Result<UpsertSummary> {
        let mut import = self.begin_member_import(now).await?;
        for m in members {
            import.member(m).await?;
            for c in &m.contacts {
                import.contact(&m.id, c).await?;
            }
        }
        import.finish().await
    }

    /// The same, one member and contact at a time (a members file streamed
    /// from disk): nothing is visible until [`MemberImport::finish`], and
    /// dropping the import unfinished writes nothing.
    pub async fn begin_member_import(&self, now: DateTime<Utc>) -> Result<MemberImport> {
        let mut tx = self.pool.begin().await?;
        // Which members and contacts this import names, for the contacts it
        // removes at the end; temporary tables keep memory flat however large the file.
        sqlx::raw_sql(
            "CREATE TEMP TABLE import_members (id TEXT PRIMARY KEY);
             CREATE TEMP TABLE import_contacts (id INTEGER PRIMARY KEY);",
        )
        .execute(&mut *tx)
        .await?;
        Ok(MemberImport { tx, now: ts(now), sum: UpsertSummary::default() })
    }
    /// All members with their contacts, by id.
    pub async fn list_members(&self) -> Result<Vec<Member>> {
        self.load_members(None).await
    }

    pub async fn member(&self, id: &MemberId) -> Result<Option<Member>> {
        Ok(self.load_members(Some(id)).await?.pop())
    }

    async fn load_members(&self, only: Option<&MemberId>) -> Result<Vec<Member>> {
        let (msql, csql) = match only {
            Some(_) => (
                "SELECT id, name, org_type, municipality, categories, keywords, can_lead, languages, notes FROM members WHERE id=?",
                "SELECT member_id, name, email, role, is_primary, unsubscribed_at FROM contacts WHERE member_id=? ORDER BY id",
            ),
            None => (
                "SELECT id, name, org_type, municipality, categories, keywords, can_lead, languages, notes FROM members ORDER BY id",
                "SELECT member_id, name, email, role, is_primary, unsubscribed_at FROM contacts ORDER BY id",
            ),
        };
        let (mut mq, mut cq) = (sqlx::query(msql), sqlx::query(csql));
        if let Some(id) = only {
            mq = mq.bind(id.as_str());
            cq = cq.bind(id.as_str());
        }
        let mut contacts: HashMap<String, Vec<Contact>> = HashMap::new();
        for r in cq.fetch_all(&self.pool).await? {
            let email: String = r.get(2);
            let email = Email::parse(&email).map_err(StoreError::Invalid)?;
            contacts.entry(r.get(0)).or_default().push(Contact {
                name: r.get(1),
                email,
                role: r.get(3),
                primary: r.get(4),
                unsubscribed: r.get::<Option<String>, _>(5).is_some(),
            });
        }
        let mut out = Vec::new();
        for r in mq.fetch_all(&self.pool).await? {
            let id: String = r.get(0);
            let org: String = r.get(2);
            out.push(Member {
                id: MemberId::parse(&id).map_err(StoreError::Invalid)?,
                name: r.get(1),
                org_type: OrgType::parse(&org).unwrap_or(OrgType::Other),
                municipality: r.get(3),
                contacts: contacts.remove(&id).unwrap_or_default(),
                categories: split(&r.get::<String, _>(4)).filter_map(|c| CategoryId::parse(c).ok()).collect(),
                keywords: split(&r.get::<String, _>(5)).map(str::to_string).collect(),
                can_lead: r.get(6),
                languages: split(&r.get::<String, _>(7)).filter_map(Lang::parse).collect(),
                notes: r.get(8),
            });
        }
        Ok(out)
    }

    /// All contacts with their row ids.
    pub async fn list_contacts(&self) -> Result<Vec<ContactRow>> {
        let rows = sqlx::query("SELECT id, member_id, name, email, role, is_primary, unsubscribed_at FROM contacts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|r| contact_row(&r)).collect()
    }

    /// The contact registered for `addr` (the first, when the person is a
    /// contact of several members): case-insensitive, ignoring any
    /// `+tag` on either side. None for an unknown or malformed address.
    /// Looked up by address (`base@domain` or `base+…@domain`), not by
    /// loading every contact: a reply costs the same with 40 or 100,000.
    pub async fn contact_by_email(&self, addr: &str) -> Result<Option<ContactRow>> {
        Ok(self.contacts_by_email(addr).await?.into_iter().next())
    }

    /// The contact with this row id.
    pub async fn contact(&self, id: i64) -> Result<Option<ContactRow>> {
        let row = sqlx::query("SELECT id, member_id, name, email, role, is_primary, unsubscribed_at FROM contacts WHERE id=?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(contact_row).transpose()
    }

    /// The contact rows registered for `addr` (one per member the person is
    /// a contact of), matched as [`Store::contact_by_email`] does.
    pub async fn contacts_by_email(&self, addr: &str) -> Result<Vec<ContactRow>> {
        let Some(wanted) = bare_address(addr) else { return Ok(Vec::new()) };
        let wanted = wanted.without_tag();
        let Some((base, domain)) = wanted.split_once('@') else { return Ok(Vec::new()) };
        let like = |s: &str| s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let tagged = format!("{}+%@{}", like(base), like(domain));
        let rows = sqlx::query(
            "SELECT id, member_id, name, email, role, is_primary, unsubscribed_at FROM contacts
             WHERE email = ? OR email LIKE ? ESCAPE '\\' ORDER BY id",
        )
        .bind(&wanted)
        .bind(&tagged)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let c = contact_row(r)?;
            if c.contact.email.without_tag() == wanted {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The contact row of `member` for `addr`, if the person is its contact.
    pub async fn contact_of_member(&self, member: &MemberId, addr: &str) -> Result<Option<ContactRow>> {
        Ok(self.contacts_by_email(addr).await?.into_iter().find(|c| &c.member == member))
    }

    /// Add one contact to an existing member (`members add-contact`).
    /// `Ok(None)` when that address is already a contact of that member.
    pub async fn add_contact(&self, member: &MemberId, c: &Contact) -> Result<Option<i64>> {
        if self.contact_of_member(member, c.email.as_str()).await?.is_some() {
            return Ok(None);
        }
        let id: i64 = sqlx::query_scalar("INSERT INTO contacts (member_id, name, email, role, is_primary) VALUES (?,?,?,?,?) RETURNING id")
            .bind(member.as_str())
            .bind(&c.name)
            .bind(c.email.as_str())
            .bind(&c.role)
            .bind(c.primary)
            .fetch_one(&self.pool)
            .await?;
        tracing::info!(contact = id, member = %member, "contact added");
        Ok(Some(id))
    }

    /// Record a contact's answer to a call; an earlier current answer of the
    /// same contact of the same member to the same call is superseded (kept
    /// as history). Other contacts' answers stay: the member's position is
    /// its latest current answer (see [`Store::interests_for_call`]).
    /// `contact_id` None: an answer entered for the member as a whole.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_interest(
        &self,
        call: CallRef,
        member: &MemberId,
        contact_id: Option<i64>,
        intent: Intent,
        role: Option<Role>,
        comment: &str,
        reply_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE interests SET superseded_at=? WHERE call_id=? AND member_id=? AND contact_id IS ? AND superseded_at IS NULL")
            .bind(ts(now))
            .bind(call.0 as i64)
            .bind(member.as_str())
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO interests (call_id, member_id, contact_id, intent, role, comment, reply_id, recorded_at)
             VALUES (?,?,?,?,?,?,?,?) RETURNING id",
        )
        .bind(call.0 as i64)
        .bind(member.as_str())
        .bind(contact_id)
        .bind(intent.as_str())
        .bind(role.map(Role::as_str))
        .bind(comment)
        .bind(reply_id)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(interest = id, call = %call, member = %member, intent = intent.as_str(), "interest recorded");
        Ok(id)
    }

    /// The members' positions on a call (each member's latest current
    /// answer, whichever contact gave it), oldest first.
    pub async fn interests_for_call(&self, call: CallRef) -> Result<Vec<InterestRow>> {
        self.load_interests("call_id = ?", |q| q.bind(call.0 as i64)).await
    }

    /// Every contact's current answer to a call (several per member when
    /// its contacts answered differently), oldest first.
    pub async fn contact_answers_for_call(&self, call: CallRef) -> Result<Vec<InterestRow>> {
        self.load_rows("call_id = ?", |q| q.bind(call.0 as i64)).await
    }

    /// Current answers recorded after `since`, oldest first (for the digest).
    pub async fn interests_since(&self, since: DateTime<Utc>) -> Result<Vec<InterestRow>> {
        self.load_interests("recorded_at > ?", |q| q.bind(ts(since))).await
    }

    /// A member's current answers to all calls, oldest first.
    pub async fn interests_for_member(&self, member: &MemberId) -> Result<Vec<InterestRow>> {
        let id = member.as_str().to_string();
        self.load_interests("member_id = ?", move |q| q.bind(id)).await
    }

    /// A call's current answers in the shape `match_members` takes.
    pub async fn answers_for_call(&self, call: CallRef) -> Result<Vec<(MemberId, Intent, Option<Role>)>> {
        Ok(self.interests_for_call(call).await?.into_iter().map(|i| (i.member, i.intent, i.role)).collect())
    }

    async fn load_interests<'q>(
        &self,
        cond: &str,
        bind: impl FnOnce(
            sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<Vec<InterestRow>> {
        // A member's position is its latest current answer: no later current row for the same call and member.
        let latest = format!(
            "{cond} AND NOT EXISTS (SELECT 1 FROM interests later WHERE later.call_id = interests.call_id
             AND later.member_id = interests.member_id AND later.superseded_at IS NULL
             AND (later.recorded_at > interests.recorded_at OR (later.recorded_at = interests.recorded_at AND later.id > interests.id)))"
        );
        self.load_rows(&latest, bind).await
    }

    /// Current interest rows matching `cond` (every contact's), oldest first.
    async fn load_rows<'q>(
        &self,
        cond: &str,
        bind: impl FnOnce(
            sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<Vec<InterestRow>> {
        let sql = format!(
            "SELECT id, call_id, member_id, contact_id, intent, role, comment, reply_id, recorded_at FROM interests
             WHERE superseded_at IS NULL AND {cond} ORDER BY recorded_at, id"
        );
        let rows = bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|r| {
                let intent: String = r.get(4);
                Ok(InterestRow {
                    id: r.get(0),
                    call: CallRef(r.get::<i64, _>(1) as u32),
                    member: MemberId::parse(&r.get::<String, _>(2)).map_err(StoreError::Invalid)?,
                    contact_id: r.get(3),
                    intent: Intent::parse(&intent).ok_or_else(|| StoreError::Invalid(format!("okänt svar «{intent}» i databasen")))?,
                    role: r.get::<Option<String>, _>(5).as_deref().and_then(Role::parse),
                    comment: r.get(6),
                    reply_id: r.get(7),
                    recorded_at: parse_ts(&r.get::<String, _>(8))?,
                })
            })
            .collect()
    }

    /// The contact replied STOPP: no more member notifications to it.
    pub async fn set_unsubscribed(&self, contact_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query("UPDATE contacts SET unsubscribed_at=COALESCE(unsubscribed_at, ?) WHERE id=?")
            .bind(ts(now))
            .bind(contact_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        tracing::info!(contact = contact_id, "contact unsubscribed");
        Ok(n > 0)
    }

    /// The contact replied START after a STOPP: member mail again. False
    /// when it was not unsubscribed.
    pub async fn set_resubscribed(&self, contact_id: i64) -> Result<bool> {
        let n = sqlx::query("UPDATE contacts SET unsubscribed_at=NULL WHERE id=? AND unsubscribed_at IS NOT NULL")
            .bind(contact_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n > 0 {
            tracing::info!(contact = contact_id, "contact resubscribed");
        }
        Ok(n > 0)
    }

    /// The contacts `target` names, and the address it names (if it is one).
    async fn contacts_of<'c>(&self, target: &ForgetTarget, contacts: &'c [ContactRow]) -> Result<(Vec<&'c ContactRow>, Option<Email>)> {
        Ok(match target {
            ForgetTarget::Address(e) => {
                let key = e.without_tag();
                (contacts.iter().filter(|c| c.contact.email.without_tag() == key).collect(), Some(e.clone()))
            }
            ForgetTarget::Contact(id) => (contacts.iter().filter(|c| c.id == *id).collect(), None),
            ForgetTarget::Member(id) => {
                if self.member(id).await?.is_none() {
                    return Err(StoreError::NotFound(format!("medlemmen «{id}»")));
                }
                (contacts.iter().filter(|c| c.member == *id).collect(), None)
            }
        })
    }

    /// GDPR erasure of `target` (see [`ForgetTarget`]: an address also
    /// clears stored replies from, and mail to, it even if it is no contact).
    /// Contact rows are deleted; interests keep the organisation's answer but
    /// lose the person; replies lose sender address and raw message (the
    /// reading and reason are redacted); outbox messages to the address are
    /// redacted (and cancelled if still pending), and other outbox bodies have
    /// the address and name replaced by [`REDACTED`].
    pub async fn forget(&self, target: &ForgetTarget, now: DateTime<Utc>) -> Result<ForgetReport> {
        let contacts = self.list_contacts().await?;
        let (chosen, extra_addr) = self.contacts_of(target, &contacts).await?;
        if chosen.is_empty() && extra_addr.is_none() {
            return Err(StoreError::NotFound(format!("ingen kontakt «{target}»")));
        }
        let ids: HashSet<i64> = chosen.iter().map(|c| c.id).collect();
        let mut addrs: HashSet<String> = chosen.iter().map(|c| c.contact.email.without_tag()).collect();
        addrs.extend(extra_addr.iter().map(Email::without_tag));
        let mut needles: Vec<String> = chosen.iter().map(|c| c.contact.email.as_str().to_string()).collect();
        needles.extend(addrs.iter().cloned());
        needles.extend(extra_addr.iter().map(|e| e.as_str().to_string()));
        needles.extend(chosen.iter().map(|c| c.contact.name.clone()).filter(|n| !n.trim().is_empty()));
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        let is_theirs = |addr: &str| bare_address(addr).map(|e| addrs.contains(&e.without_tag())).unwrap_or(false);

        let mut rep = ForgetReport { contacts: ids.len(), ..Default::default() };
        let mut tx = self.pool.begin().await?;
        for id in &ids {
            rep.interests +=
                sqlx::query("UPDATE interests SET contact_id=NULL WHERE contact_id=?").bind(id).execute(&mut *tx).await?.rows_affected();
        }
        let replies = sqlx::query("SELECT id, from_addr, contact_id, reading, reason FROM replies").fetch_all(&mut *tx).await?;
        for r in replies {
            let from: Option<String> = r.get(1);
            let contact: Option<i64> = r.get(2);
            if !(contact.is_some_and(|c| ids.contains(&c)) || from.as_deref().is_some_and(is_theirs)) {
                continue;
            }
            let reading: String = r.get(3);
            let reason: Option<String> = r.get(4);
            // the sender's own spelling (with its +tag) too
            let mut needles = needles.clone();
            if let Some(e) = from.as_deref().and_then(bare_address) {
                needles.insert(0, e.as_str().to_string());
            }
            sqlx::query(
                "UPDATE replies SET from_addr=NULL, raw=NULL, raw_deleted_at=COALESCE(raw_deleted_at, ?), contact_id=NULL, reading=?, reason=? WHERE id=?",
            )
            .bind(ts(now))
            .bind(redact_text(&reading, &needles))
            .bind(reason.map(|s| redact_text(&s, &needles)))
            .bind(r.get::<i64, _>(0))
            .execute(&mut *tx)
            .await?;
            rep.replies += 1;
        }
        let outbox = sqlx::query("SELECT id, recipient, body, html FROM outbox").fetch_all(&mut *tx).await?;
        for r in outbox {
            let id: i64 = r.get(0);
            let recipient: String = r.get(1);
            if recipient.split(',').any(is_theirs) {
                // A message being sent right now is cancelled too: its
                // sender's record is then refused (its claim is gone).
                sqlx::query(
                    "UPDATE outbox SET recipient=?, body=?, html='',
                         status=CASE WHEN status IN ('pending', 'sending') THEN 'cancelled' ELSE status END WHERE id=?",
                )
                .bind(format!("raderad-{id}@invalid"))
                .bind(REDACTED.as_bytes())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                rep.outbox += 1;
                continue;
            }
            let body: Vec<u8> = r.get(2);
            let html: String = r.get(3);
            let new_body = std::str::from_utf8(&body).ok().map(|b| redact_text(b, &needles));
            let new_html = redact_text(&html, &needles);
            let body_changed = new_body.as_deref().is_some_and(|b| b.as_bytes() != body.as_slice());
            if body_changed || new_html != html {
                sqlx::query("UPDATE outbox SET body=?, html=? WHERE id=?")
                    .bind(if body_changed { new_body.map(String::into_bytes).unwrap_or(body) } else { body })
                    .bind(new_html)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                rep.outbox += 1;
            }
        }
        for id in &ids {
            sqlx::query("DELETE FROM contacts WHERE id=?").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        let mut contact_ids: Vec<i64> = ids.into_iter().collect();
        contact_ids.sort();
        tracing::info!(?contact_ids, interests = rep.interests, replies = rep.replies, outbox = rep.outbox, "personal data erased");
        Ok(rep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_case_insensitively() {
        let t = redact_text("Hej Anna Ek (ANNA@x.example.org), anna@x.example.org!", &["anna@x.example.org".into(), "Anna Ek".into()]);
        assert_eq!(t, "Hej [raderad] ([raderad]), [raderad]!");
        assert_eq!(bare_address("Anna <Anna+psi@X.example.org>").map(|e| e.without_tag()), Some("anna@x.example.org".into()));
    }
}
