//! What the scheduler remembers: whether a run was done (the inbox), and the runs it missed.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;
use tokio_postgres::types::Type;

use crate::store::postgres::statements;
use crate::store::InboxKey;
use crate::store::StoreError;

/// A job run that did not happen: Alfred was down past its catch-up window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissedJob {
    pub job: String,
    pub household: String,
    /// The household's local date of the run.
    pub run_key: String,
    pub due_at: DateTime<Utc>,
}

/// The scheduler's view of the store.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Whether the run with this inbox key was handled.
    async fn was_run(&self, key: &InboxKey) -> Result<bool, StoreError>;
    /// Records a missed run once; `true` when it was not recorded before.
    async fn record_missed(&self, missed: &MissedJob) -> Result<bool, StoreError>;
    /// The most recently due missed runs, newest first.
    async fn missed(&self, limit: usize) -> Result<Vec<MissedJob>, StoreError>;
}

/// Jobs in Postgres: the inbox table and `missed_jobs`.
pub struct PgJobStore {
    pool: Pool,
}

impl PgJobStore {
    pub fn new(pool: Pool) -> Self {
        PgJobStore { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|error| StoreError::Pool(error.to_string()))
    }
}

#[async_trait]
impl JobStore for PgJobStore {
    async fn was_run(&self, key: &InboxKey) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = statements::query_opt(
            &client,
            "SELECT 1 FROM inbox WHERE platform = $1 AND message_id = $2",
            &[Type::TEXT, Type::TEXT],
            &[&key.platform.as_str(), &key.message_id],
        )
        .await?;
        Ok(row.is_some())
    }

    async fn record_missed(&self, missed: &MissedJob) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let inserted = statements::execute(
            &client,
            "INSERT INTO missed_jobs (job, household, run_key, due_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (job, household, run_key) DO NOTHING",
            &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TIMESTAMPTZ],
            &[
                &missed.job,
                &missed.household,
                &missed.run_key,
                &missed.due_at,
            ],
        )
        .await?;
        Ok(inserted == 1)
    }

    async fn missed(&self, limit: usize) -> Result<Vec<MissedJob>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statements::query(
            &client,
            "SELECT job, household, run_key, due_at FROM missed_jobs ORDER BY due_at DESC LIMIT $1",
            &[Type::INT8],
            &[&limit],
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MissedJob {
                    job: row.try_get(0)?,
                    household: row.try_get(1)?,
                    run_key: row.try_get(2)?,
                    due_at: row.try_get(3)?,
                })
            })
            .collect()
    }
}

/// Jobs in memory (ephemeral mode): nothing survives the process, so a run is "done" only if
/// this process did it, which the scheduler itself remembers.
#[derive(Default)]
pub struct MemJobStore {
    missed: Mutex<Vec<MissedJob>>,
}

#[async_trait]
impl JobStore for MemJobStore {
    async fn was_run(&self, _key: &InboxKey) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn record_missed(&self, missed: &MissedJob) -> Result<bool, StoreError> {
        let mut all = self
            .missed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = all.iter().any(|m| {
            m.job == missed.job && m.household == missed.household && m.run_key == missed.run_key
        });
        if !known {
            all.push(missed.clone());
        }
        Ok(!known)
    }

    async fn missed(&self, limit: usize) -> Result<Vec<MissedJob>, StoreError> {
        let all = self
            .missed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut newest: Vec<MissedJob> = all.clone();
        newest.sort_by_key(|m| std::cmp::Reverse(m.due_at));
        newest.truncate(limit);
        Ok(newest)
    }
}
