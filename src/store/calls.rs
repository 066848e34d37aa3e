//! Store: calls, their listings per source, deadlines, recorded changes and
//! category scores.

use super::{Result, SqliteQuery, Store, StoreError, parse_ts, ts};
use crate::domain::{Budget, Call, CallRef, CallStatus, CategoryScore, Deadline, Lang};
use crate::normalize::rules::CallRules;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// A call as stored, with what the digest needs to know about it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredCall {
    pub reference: CallRef,
    #[serde(flatten)]
    pub call: Call,
    pub first_seen_at: DateTime<Utc>,
    pub changed_at: Option<DateTime<Utc>>,
    pub dismissed: bool,
    pub watched: bool,
    pub manual: bool,
    pub categories: Vec<CategoryScore>,
    pub sources: Vec<String>,
    /// The rules read from the call's text, once the poll has read them.
    pub rules: Option<CallRules>,
}

impl StoredCall {
    /// The challenge categories (SC1–SC7) only, best first.
    pub fn challenges(&self) -> impl Iterator<Item = &CategoryScore> {
        self.categories.iter().filter(|c| c.category.is_challenge())
    }
}

/// What a call's rules are read from, and what its stored rules were read from.
#[derive(Debug, Clone)]
pub struct RulesSource {
    pub reference: CallRef,
    pub title: String,
    pub text: String,
    pub funder: String,
    /// `None`: no rules stored yet.
    pub read_from: Option<String>,
}

/// One recorded material change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// What a filter over calls asks for.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// Only calls open (or forthcoming, or rolling) at this instant.
    pub open_at: Option<DateTime<Utc>>,
    pub category: Option<String>,
    pub include_dismissed: bool,
}

fn deadlines_text(ds: &[Deadline]) -> String {
    ds.iter().map(|d| ts(d.at)).collect::<Vec<_>>().join(", ")
}

/// The call tables inside one transaction: ingest reads its candidates and
/// writes in one, so that no other writer slips in between the decision and
/// the insert. It begins with `BEGIN IMMEDIATE` (the write lock at once): a
/// second writer (a poll beside `calls add`) waits for it instead of failing
/// on commit. Dropped without [`CallTx::commit`], it rolls back.
pub struct CallTx {
    pub(super) tx: sqlx::Transaction<'static, sqlx::Sqlite>,
}

impl Store {
    /// Begin a transaction over the call tables.
    pub async fn begin_calls(&self) -> Result<CallTx> {
        Ok(CallTx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await? })
    }

    /// Insert a new call and return its reference.
    pub async fn insert_call(
        &self,
        call: &Call,
        canonical_url: &str,
        title_key: &str,
        manual: bool,
        now: DateTime<Utc>,
    ) -> Result<CallRef> {
        let mut tx = self.begin_calls().await?;
        let r = tx.insert_call(call, canonical_url, title_key, manual, now).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Replace a call's content with a newer reading, recording material
    /// changes (title, deadlines, status). Returns the changes.
    pub async fn update_call(
        &self,
        r: CallRef,
        call: &Call,
        canonical_url: &str,
        title_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>> {
        let mut tx = self.begin_calls().await?;
        let old = tx.call_content(r).await?.ok_or_else(|| StoreError::NotFound(r.to_string()))?;
        let changes = tx.update_call(r, &old, call, canonical_url, title_key, now).await?;
        tx.commit().await?;
        Ok(changes)
    }
}

impl CallTx {
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn get_call(&mut self, r: CallRef) -> Result<Option<StoredCall>> {
        Ok(load_calls(&mut self.tx, "WHERE c.id = ?", Some(r.0 as i64)).await?.pop())
    }

    /// Call `r`'s content with its deadlines: what a newer reading is
    /// compared with and merged into (its scores, rules and sources are not
    /// read: two queries, not four).
    pub async fn call_content(&mut self, r: CallRef) -> Result<Option<Call>> {
        load_content(&mut self.tx, r).await
    }

    /// Only the status of call `r` (a relisting that changed nothing else).
    pub async fn call_status(&mut self, r: CallRef) -> Result<Option<CallStatus>> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT status FROM calls WHERE id=?").bind(r.0 as i64).fetch_optional(&mut *self.tx).await?;
        Ok(s.map(|s| CallStatus::parse(&s).unwrap_or_default()))
    }

    /// Insert a new call and return its reference.
    pub async fn insert_call(
        &mut self,
        call: &Call,
        canonical_url: &str,
        title_key: &str,
        manual: bool,
        now: DateTime<Utc>,
    ) -> Result<CallRef> {
        let q = sqlx::query(
            "INSERT INTO calls (title, url, funder, programme, summary, body, lang, translations, opens_at, status,
                 budget_amount, budget_currency, decision_dates, eligibility, canonical_url, title_key,
                 first_seen_at, updated_at, manual)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        );
        let id: i64 =
            bind_content(q, call, canonical_url, title_key).bind(ts(now)).bind(ts(now)).bind(manual).fetch_one(&mut *self.tx).await?.get(0);
        write_deadlines(&mut self.tx, id, &call.deadlines).await?;
        Ok(CallRef(id as u32))
    }

    /// Replace call `r`'s content (`old`, as the caller read it in this
    /// transaction) with a newer reading, recording material changes
    /// (title, deadlines, status). Returns the changes.
    pub async fn update_call(
        &mut self,
        r: CallRef,
        old: &Call,
        call: &Call,
        canonical_url: &str,
        title_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>> {
        let changes = material_changes(old, call);
        let q = sqlx::query(
            "UPDATE calls SET title=?, url=?, funder=?, programme=?, summary=?, body=?, lang=?, translations=?, opens_at=?,
                 status=?, budget_amount=?, budget_currency=?, decision_dates=?, eligibility=?, canonical_url=?, title_key=?,
                 updated_at=?, changed_at=CASE WHEN ? THEN ? ELSE changed_at END
             WHERE id=?",
        );
        bind_content(q, call, canonical_url, title_key)
            .bind(ts(now))
            .bind(!changes.is_empty())
            .bind(ts(now))
            .bind(r.0 as i64)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM call_deadlines WHERE call_id=?").bind(r.0 as i64).execute(&mut *self.tx).await?;
        write_deadlines(&mut self.tx, r.0 as i64, &call.deadlines).await?;
        for c in &changes {
            sqlx::query("INSERT INTO call_changes (call_id, at, field, old_value, new_value) VALUES (?,?,?,?,?)")
                .bind(r.0 as i64)
                .bind(ts(now))
                .bind(c.field)
                .bind(&c.old)
                .bind(&c.new)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(changes)
    }
}

/// Title, deadlines and status: what the digest reports as changed.
fn material_changes(old: &Call, new: &Call) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.title != new.title {
        changes.push(Change { field: "title", old: old.title.clone(), new: new.title.clone() });
    }
    let (mut od, mut nd) = (old.deadlines.clone(), new.deadlines.clone());
    od.sort();
    nd.sort();
    if od.iter().map(|d| d.at).ne(nd.iter().map(|d| d.at)) {
        changes.push(Change { field: "deadline", old: deadlines_text(&od), new: deadlines_text(&nd) });
    }
    if old.status != new.status {
        changes.push(Change { field: "status", old: old.status.as_str().into(), new: new.status.as_str().into() });
    }
    changes
}

impl Store {
    pub async fn set_categories(&self, r: CallRef, scores: &[CategoryScore]) -> Result<()> {
        self.set_categories_of(&[(r, scores)]).await
    }

    /// Replace the scores of several calls, in one transaction.
    pub async fn set_categories_of(&self, calls: &[(CallRef, &[CategoryScore])]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (r, scores) in calls {
            sqlx::query("DELETE FROM call_categories WHERE call_id=?").bind(r.0 as i64).execute(&mut *tx).await?;
            for s in *scores {
                sqlx::query("INSERT INTO call_categories (call_id, category, score, evidence) VALUES (?,?,?,?)")
                    .bind(r.0 as i64)
                    .bind(s.category.as_str())
                    .bind(s.score as f64)
                    .bind(json(&s.evidence))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_call(&self, r: CallRef) -> Result<Option<StoredCall>> {
        let mut conn = self.pool.acquire().await?;
        Ok(load_calls(&mut conn, "WHERE c.id = ?", Some(r.0 as i64)).await?.pop())
    }

    /// Store the rules read from call `r`'s text, with the fingerprint of
    /// what they were read from.
    pub async fn set_rules(&self, r: CallRef, rules: &CallRules, read_from: &str, now: DateTime<Utc>) -> Result<()> {
        self.set_rules_of(&[(r, rules, read_from)], now).await
    }

    /// [`Store::set_rules`] for several calls, in one transaction.
    pub async fn set_rules_of(&self, calls: &[(CallRef, &CallRules, &str)], now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (r, rules, read_from) in calls {
            sqlx::query(
                "INSERT INTO call_rules (call_id, rules, read_from, read_at) VALUES (?,?,?,?)
                 ON CONFLICT(call_id) DO UPDATE SET rules=excluded.rules, read_from=excluded.read_from, read_at=excluded.read_at",
            )
            .bind(r.0 as i64)
            .bind(json(rules))
            .bind(*read_from)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The fingerprint each call's stored rules were read from (calls without rules absent).
    pub async fn rules_read_from(&self) -> Result<std::collections::HashMap<CallRef, String>> {
        let rows = sqlx::query("SELECT call_id, read_from FROM call_rules").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| (CallRef(r.get::<i64, _>(0) as u32), r.get(1))).collect())
    }

    /// What every call's rules are read from (title, text, funder), with the
    /// fingerprint of what its stored rules were read from: one query, no
    /// deadlines, scores or sources.
    pub async fn rules_sources(&self) -> Result<Vec<RulesSource>> {
        let rows =
            sqlx::query("SELECT c.id, c.title, c.body, c.funder, r.read_from FROM calls c LEFT JOIN call_rules r ON r.call_id = c.id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| RulesSource {
                reference: CallRef(r.get::<i64, _>(0) as u32),
                title: r.get(1),
                text: r.get(2),
                funder: r.get(3),
                read_from: r.get(4),
            })
            .collect())
    }

    /// All calls, newest first, filtered.
    pub async fn list_calls(&self, f: &CallFilter) -> Result<Vec<StoredCall>> {
        let mut conn = self.pool.acquire().await?;
        let all = load_calls(&mut conn, "", None).await?;
        Ok(all
            .into_iter()
            .filter(|c| f.include_dismissed || !c.dismissed)
            .filter(|c| match f.open_at {
                Some(now) => is_open_at(&c.call, now),
                None => true,
            })
            .filter(|c| match &f.category {
                Some(cat) => c.categories.iter().any(|s| s.category.as_str().eq_ignore_ascii_case(cat)),
                None => true,
            })
            .collect())
    }

    /// AU: hide a call from later digests and notifications ("ej aktuell").
    pub async fn dismiss_call(&self, r: CallRef, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query("UPDATE calls SET dismissed_at=?, watched_at=NULL WHERE id=?")
            .bind(ts(now))
            .bind(r.0 as i64)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// AU: keep a call at the top of the digest until its deadline ("bevaka").
    pub async fn watch_call(&self, r: CallRef, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query("UPDATE calls SET watched_at=?, dismissed_at=NULL WHERE id=?")
            .bind(ts(now))
            .bind(r.0 as i64)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Material changes recorded since `since`, per call.
    pub async fn changes_since(&self, since: DateTime<Utc>) -> Result<Vec<(CallRef, Change)>> {
        let rows = sqlx::query("SELECT call_id, field, old_value, new_value FROM call_changes WHERE at > ? ORDER BY id")
            .bind(ts(since))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let field: String = r.get(1);
                let field = match field.as_str() {
                    "title" => "title",
                    "deadline" => "deadline",
                    _ => "status",
                };
                (
                    CallRef(r.get::<i64, _>(0) as u32),
                    Change {
                        field,
                        old: r.get::<Option<String>, _>(2).unwrap_or_default(),
                        new: r.get::<Option<String>, _>(3).unwrap_or_default(),
                    },
                )
            })
            .collect())
    }
}

/// Call `r`'s content columns and deadlines.
async fn load_content(conn: &mut sqlx::SqliteConnection, r: CallRef) -> Result<Option<Call>> {
    let row = sqlx::query(
        "SELECT title, url, funder, programme, summary, body, lang, translations, opens_at, status, budget_amount,
                budget_currency, decision_dates, eligibility FROM calls WHERE id = ?",
    )
    .bind(r.0 as i64)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut deadlines = Vec::new();
    for d in sqlx::query("SELECT at, tz, date_only FROM call_deadlines WHERE call_id = ?").bind(r.0 as i64).fetch_all(&mut *conn).await? {
        deadlines.push(deadline_of(&d.get::<String, _>(0), &d.get::<String, _>(1), d.get(2))?);
    }
    deadlines.sort();
    Ok(Some(content_of(&row, 0, r, deadlines)))
}

fn deadline_of(at: &str, tz: &str, date_only: bool) -> Result<Deadline> {
    Ok(Deadline { at: parse_ts(at)?, tz: tz.parse().unwrap_or(chrono_tz::Europe::Stockholm), date_only })
}

/// A call from its content columns (title … eligibility), starting at column `at`.
fn content_of(r: &sqlx::sqlite::SqliteRow, at: usize, reference: CallRef, deadlines: Vec<Deadline>) -> Call {
    let opt_ts = |s: Option<String>| s.and_then(|s| parse_ts(&s).ok());
    Call {
        reference: Some(reference),
        title: r.get(at),
        url: r.get(at + 1),
        funder: r.get(at + 2),
        programme: r.get(at + 3),
        summary: r.get(at + 4),
        text: r.get(at + 5),
        lang: Lang::parse(&r.get::<String, _>(at + 6)).unwrap_or_default(),
        translations: serde_json::from_str(&r.get::<String, _>(at + 7)).unwrap_or_default(),
        deadlines,
        opens: opt_ts(r.get(at + 8)),
        status: CallStatus::parse(&r.get::<String, _>(at + 9)).unwrap_or_default(),
        budget: match (r.get::<Option<f64>, _>(at + 10), r.get::<Option<String>, _>(at + 11)) {
            (Some(amount), Some(currency)) => Some(Budget { amount, currency }),
            _ => None,
        },
        decision_dates: serde_json::from_str(&r.get::<String, _>(at + 12)).unwrap_or_default(),
        eligibility: r.get(at + 13),
    }
}

/// Calls (all, or the one `id` names) with their deadlines, categories and sources.
async fn load_calls(conn: &mut sqlx::SqliteConnection, where_clause: &str, id: Option<i64>) -> Result<Vec<StoredCall>> {
    let sql = format!(
        "SELECT c.id, c.title, c.url, c.funder, c.programme, c.summary, c.body, c.lang, c.translations, c.opens_at,
                    c.status, c.budget_amount, c.budget_currency, c.decision_dates, c.eligibility, c.first_seen_at,
                    c.changed_at, c.dismissed_at, c.watched_at, c.manual, r.rules
             FROM calls c LEFT JOIN call_rules r ON r.call_id = c.id {where_clause} ORDER BY c.id DESC"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
    if let Some(id) = id {
        q = q.bind(id);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let filter_one = |base: &str| match id {
        Some(_) => format!("{base} WHERE call_id = ?"),
        None => base.to_string(),
    };
    let dsql = filter_one("SELECT call_id, at, tz, date_only FROM call_deadlines");
    let csql = filter_one("SELECT call_id, category, score, evidence FROM call_categories");
    let lsql = filter_one("SELECT call_id, source FROM call_listings");
    let (mut dq, mut cq, mut lq) = (
        sqlx::query(sqlx::AssertSqlSafe(dsql.as_str())),
        sqlx::query(sqlx::AssertSqlSafe(csql.as_str())),
        sqlx::query(sqlx::AssertSqlSafe(lsql.as_str())),
    );
    if let Some(id) = id {
        dq = dq.bind(id);
        cq = cq.bind(id);
        lq = lq.bind(id);
    }
    let mut deadlines: std::collections::HashMap<i64, Vec<Deadline>> = Default::default();
    for r in dq.fetch_all(&mut *conn).await? {
        deadlines.entry(r.get(0)).or_default().push(deadline_of(&r.get::<String, _>(1), &r.get::<String, _>(2), r.get(3))?);
    }
    let mut cats: std::collections::HashMap<i64, Vec<CategoryScore>> = Default::default();
    for r in cq.fetch_all(&mut *conn).await? {
        let Ok(category) = crate::domain::CategoryId::parse(&r.get::<String, _>(1)) else { continue };
        cats.entry(r.get(0)).or_default().push(CategoryScore {
            category,
            score: r.get::<f64, _>(2) as f32,
            evidence: serde_json::from_str(&r.get::<String, _>(3)).unwrap_or_default(),
        });
    }
    let mut sources: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for r in lq.fetch_all(&mut *conn).await? {
        sources.entry(r.get(0)).or_default().push(r.get(1));
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.get(0);
        let mut ds = deadlines.remove(&id).unwrap_or_default();
        ds.sort();
        let mut cs = cats.remove(&id).unwrap_or_default();
        cs.sort_by(|a, b| b.score.total_cmp(&a.score));
        let opt_ts = |s: Option<String>| s.and_then(|s| parse_ts(&s).ok());
        let call = content_of(&r, 1, CallRef(id as u32), ds);
        let mut srcs = sources.remove(&id).unwrap_or_default();
        srcs.sort();
        srcs.dedup();
        out.push(StoredCall {
            reference: CallRef(id as u32),
            call,
            first_seen_at: parse_ts(&r.get::<String, _>(15))?,
            changed_at: opt_ts(r.get(16)),
            dismissed: r.get::<Option<String>, _>(17).is_some(),
            watched: r.get::<Option<String>, _>(18).is_some(),
            manual: r.get(19),
            categories: cs,
            sources: srcs,
            // rules stored by an older reader that no longer parse are read again by the next poll
            rules: r.get::<Option<String>, _>(20).and_then(|s| serde_json::from_str(&s).ok()),
        });
    }
    Ok(out)
}

/// Open for applications at `now`: not closed, and not past its last deadline.
pub fn is_open_at(call: &Call, now: DateTime<Utc>) -> bool {
    match call.status {
        CallStatus::Closed => false,
        CallStatus::Rolling => true,
        _ => call.deadlines.is_empty() || call.deadlines.iter().any(|d| d.at >= now),
    }
}

/// Bind a call's content columns, in the order both INSERT and UPDATE name them
/// (title … title_key).
fn bind_content<'q>(q: SqliteQuery<'q>, call: &'q Call, canonical_url: &'q str, title_key: &'q str) -> SqliteQuery<'q> {
    q.bind(&call.title)
        .bind(&call.url)
        .bind(&call.funder)
        .bind(&call.programme)
        .bind(&call.summary)
        .bind(&call.text)
        .bind(call.lang.code())
        .bind(json(&call.translations))
        .bind(call.opens.map(ts))
        .bind(call.status.as_str())
        .bind(call.budget.as_ref().map(|b| b.amount))
        .bind(call.budget.as_ref().map(|b| b.currency.clone()))
        .bind(json(&call.decision_dates))
        .bind(&call.eligibility)
        .bind(canonical_url)
        .bind(title_key)
}

async fn write_deadlines(tx: &mut sqlx::SqliteConnection, id: i64, ds: &[Deadline]) -> Result<()> {
    for d in ds {
        sqlx::query("INSERT OR IGNORE INTO call_deadlines (call_id, at, tz, date_only) VALUES (?,?,?,?)")
            .bind(id)
            .bind(ts(d.at))
            .bind(d.tz.name())
            .bind(d.date_only)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
