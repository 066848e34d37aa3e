//! Store: the application register (applications, their history of
//! changes, declined proposals) and the digest's views of it.

use super::{Result, SqliteQuery, Store, StoreError, parse_ts, ts};
use crate::domain::CallRef;
use crate::domain::application::{AppEvent, AppStatus, Application, CallLink, Currency, Party, PsiRole, StatusDates};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::collections::HashSet;

/// An application as the digest shows it.
#[derive(Debug, Clone)]
pub struct AppLine {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub psi_role: String,
    pub lead: String,
}

fn invalid(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("ansökan {id} i databasen: {what}: {e}"))
}

fn decode(r: &SqliteRow) -> Result<Application> {
    let id: i64 = r.get("id");
    let call = match (r.get::<Option<i64>, _>("call_id"), r.get::<Option<String>, _>("external_call")) {
        (Some(c), _) => Some(CallLink::Psi(CallRef(u32::try_from(c).map_err(|e| invalid("call_id", id, e))?))),
        (None, Some(x)) if !x.is_empty() => Some(CallLink::External(x)),
        _ => None,
    };
    let lead: String = r.get("lead");
    let lead = if lead.is_empty() { None } else { Some(serde_json::from_str::<Party>(&lead).unwrap_or(Party::Name(lead))) };
    let partners: Vec<Party> = serde_json::from_str(&r.get::<String, _>("partners")).map_err(|e| invalid("partners", id, e))?;
    let psi_role = PsiRole::parse(&r.get::<String, _>("psi_role")).map_err(|e| invalid("psi_role", id, e))?;
    let status = AppStatus::parse(&r.get::<String, _>("status")).map_err(|e| invalid("status", id, e))?;
    let status_dates: StatusDates =
        serde_json::from_str(&r.get::<String, _>("status_dates")).map_err(|e| invalid("status_dates", id, e))?;
    let currency = match r.get::<Option<String>, _>("currency") {
        Some(c) if !c.is_empty() => Currency::parse(&c).map_err(|e| invalid("currency", id, e))?,
        _ => Currency::Sek,
    };
    Ok(Application {
        id,
        title: r.get("title"),
        call,
        lead,
        partners,
        psi_role,
        status,
        status_dates,
        amount_applied: r.get("amount_applied"),
        amount_granted: r.get("amount_granted"),
        currency,
        notes: r.get("notes"),
        created_at: parse_ts(&r.get::<String, _>("created_at"))?,
        updated_at: parse_ts(&r.get::<String, _>("updated_at"))?,
    })
}

/// The stored form of the lead: JSON of the party (plain text from older rows reads as a name).
fn lead_db(p: &Option<Party>) -> String {
    p.as_ref().and_then(|p| serde_json::to_string(p).ok()).unwrap_or_default()
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Bind an application's columns, in the order INSERT and UPDATE both name them (title … notes).
fn bind_app<'q>(q: SqliteQuery<'q>, a: &'q Application) -> Result<SqliteQuery<'q>> {
    let (call_id, external) = call_cols(&a.call);
    Ok(q.bind(&a.title)
        .bind(call_id)
        .bind(external)
        .bind(lead_db(&a.lead))
        .bind(json(&a.partners)?)
        .bind(a.psi_role.as_str())
        .bind(a.status.as_str())
        .bind(json(&a.status_dates)?)
        .bind(a.amount_applied)
        .bind(a.amount_granted)
        .bind(a.currency.as_str())
        .bind(&a.notes))
}

/// One line of an application's history.
async fn record_event(tx: &mut sqlx::SqliteConnection, id: i64, who: &str, change: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("INSERT INTO application_events (application_id, at, who, change) VALUES (?,?,?,?)")
        .bind(id)
        .bind(ts(now))
        .bind(who)
        .bind(change)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn call_cols(c: &Option<CallLink>) -> (Option<i64>, Option<String>) {
    match c {
        Some(CallLink::Psi(r)) => (Some(i64::from(r.0)), None),
        Some(CallLink::External(x)) => (None, Some(x.clone())),
        None => (None, None),
    }
}

impl Store {
    /// Add an application (its `id` is ignored) and record who added it.
    pub async fn insert_app(&self, a: &Application, who: &str, now: DateTime<Utc>) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let q = sqlx::query(
            "INSERT INTO applications (title, call_id, external_call, lead, partners, psi_role, status, status_dates,
                 amount_applied, amount_granted, currency, notes, created_at, updated_at)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        );
        let id: i64 = bind_app(q, a)?.bind(ts(now)).bind(ts(now)).fetch_one(&mut *tx).await?.get(0);
        record_event(&mut tx, id, who, &format!("created: {} ({}, {})", a.title, a.status, a.psi_role), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Write `a` back, with one history row per line of `log`.
    pub async fn save_app(&self, a: &Application, log: &[String], who: &str, now: DateTime<Utc>) -> Result<()> {
        if log.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let q = sqlx::query(
            "UPDATE applications SET title=?, call_id=?, external_call=?, lead=?, partners=?, psi_role=?, status=?, status_dates=?,
                 amount_applied=?, amount_granted=?, currency=?, notes=?, updated_at=? WHERE id=?",
        );
        let n = bind_app(q, a)?.bind(ts(now)).bind(a.id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("ansökan {}", a.id)));
        }
        for change in log {
            record_event(&mut tx, a.id, who, change, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_app(&self, id: i64) -> Result<Option<Application>> {
        Ok(self.load_apps(Some(id)).await?.pop())
    }

    /// Every application, oldest first.
    pub async fn list_apps(&self) -> Result<Vec<Application>> {
        self.load_apps(None).await
    }

    async fn load_apps(&self, id: Option<i64>) -> Result<Vec<Application>> {
        let rows = sqlx::query(
            "SELECT id, title, call_id, external_call, lead, partners, psi_role, status, status_dates, amount_applied, amount_granted,
                 currency, notes, created_at, updated_at FROM applications WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }

    /// An application's history, oldest first.
    pub async fn app_events(&self, id: i64) -> Result<Vec<AppEvent>> {
        let rows = sqlx::query("SELECT at, who, change FROM application_events WHERE application_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(AppEvent { at: parse_ts(&r.get::<String, _>(0))?, who: r.get(1), change: r.get(2) })).collect()
    }

    /// Calls that already have an application (in any status).
    pub async fn calls_with_apps(&self) -> Result<HashSet<CallRef>> {
        let rows = sqlx::query("SELECT DISTINCT call_id FROM applications WHERE call_id IS NOT NULL").fetch_all(&self.pool).await?;
        Ok(rows.iter().filter_map(|r| u32::try_from(r.get::<i64, _>(0)).ok()).map(CallRef).collect())
    }

    /// AU turned down the proposal to form an application for `call`.
    pub async fn decline_proposal(&self, call: CallRef, who: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT OR REPLACE INTO application_proposals_declined (call_id, at, who) VALUES (?,?,?)")
            .bind(i64::from(call.0))
            .bind(ts(now))
            .bind(who)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn declined_proposals(&self) -> Result<HashSet<CallRef>> {
        let rows = sqlx::query("SELECT call_id FROM application_proposals_declined").fetch_all(&self.pool).await?;
        Ok(rows.iter().filter_map(|r| u32::try_from(r.get::<i64, _>(0)).ok()).map(CallRef).collect())
    }

    /// Applications being prepared (idea, forming, writing).
    pub async fn apps_in_progress(&self) -> Result<Vec<AppLine>> {
        Ok(self.list_apps().await?.iter().filter(|a| a.status.in_progress()).map(AppLine::from).collect())
    }
}

impl From<&Application> for AppLine {
    fn from(a: &Application) -> AppLine {
        AppLine {
            id: a.id,
            title: a.title.clone(),
            status: a.status.as_str().to_string(),
            psi_role: a.psi_role.as_str().to_string(),
            lead: a.lead.as_ref().map(|p| p.key().to_string()).unwrap_or_default(),
        }
    }
}
