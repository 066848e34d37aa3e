//! Store: job runs, for `status` and for "since the last digest".

use super::{Result, Store, parse_ts, ts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    pub job: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub ok: Option<bool>,
    pub summary: String,
}

impl Store {
    pub async fn job_started(&self, job: &str, now: DateTime<Utc>) -> Result<i64> {
        let id = sqlx::query("INSERT INTO job_runs (job, started_at) VALUES (?, ?) RETURNING id")
            .bind(job)
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok(id)
    }

    pub async fn job_finished(&self, id: i64, ok: bool, summary: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE job_runs SET finished_at=?, ok=?, summary=? WHERE id=?")
            .bind(ts(now))
            .bind(ok)
            .bind(summary)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest run of each job.
    pub async fn last_job_runs(&self) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(
            "SELECT job, started_at, finished_at, ok, summary FROM job_runs j
             WHERE id = (SELECT MAX(id) FROM job_runs WHERE job = j.job) ORDER BY job",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(JobRun {
                    job: r.get(0),
                    started_at: parse_ts(&r.get::<String, _>(1))?,
                    finished_at: r.get::<Option<String>, _>(2).and_then(|s| parse_ts(&s).ok()),
                    ok: r.get(3),
                    summary: r.get(4),
                })
            })
            .collect()
    }

    /// Close the runs of `job` left unfinished (a run that crashed) as failed
    /// with `summary`; returns how many there were.
    pub async fn fail_unfinished(&self, job: &str, summary: &str, now: DateTime<Utc>) -> Result<u64> {
        let r = sqlx::query("UPDATE job_runs SET finished_at=?, ok=0, summary=? WHERE job=? AND finished_at IS NULL")
            .bind(ts(now))
            .bind(summary)
            .bind(job)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// When `job` last started, whatever its result (catch-up after downtime).
    pub async fn last_job_start(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT MAX(started_at) FROM job_runs WHERE job=?").bind(job).fetch_one(&self.pool).await?;
        s.map(|s| parse_ts(&s)).transpose()
    }

    /// When `job` last finished successfully.
    pub async fn last_success(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT MAX(finished_at) FROM job_runs WHERE job=? AND ok=1").bind(job).fetch_one(&self.pool).await?;
        Ok(s.and_then(|s| parse_ts(&s).ok()))
    }
}
