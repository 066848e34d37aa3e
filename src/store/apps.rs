//! Store: the application register, as far as the digest needs it (the
//! year's count toward the goal).

use super::{Result, Store};
use sqlx::Row;

/// An application as the digest shows it.
#[derive(Debug, Clone)]
pub struct AppLine {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub psi_role: String,
    pub lead: String,
}

impl Store {
    /// Applications submitted in `year` (by their `submitted` date) with a PSI role that counts.
    pub async fn apps_counting(&self, year: i32, roles: &[String]) -> Result<Vec<AppLine>> {
        let rows = sqlx::query(
            "SELECT id, title, status, psi_role, lead, json_extract(status_dates, '$.submitted') FROM applications
             WHERE json_extract(status_dates, '$.submitted') IS NOT NULL AND status != 'withdrawn' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.get::<Option<String>, _>(5).is_some_and(|d| d.starts_with(&format!("{year:04}-"))))
            .filter(|r| roles.iter().any(|x| *x == r.get::<String, _>(3)))
            .map(|r| AppLine { id: r.get(0), title: r.get(1), status: r.get(2), psi_role: r.get(3), lead: r.get(4) })
            .collect())
    }

    /// Applications being prepared (idea, forming, writing).
    pub async fn apps_in_progress(&self) -> Result<Vec<AppLine>> {
        let rows = sqlx::query(
            "SELECT id, title, status, psi_role, lead FROM applications WHERE status IN ('idea', 'forming', 'writing') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AppLine { id: r.get(0), title: r.get(1), status: r.get(2), psi_role: r.get(3), lead: r.get(4) })
            .collect())
    }
}
