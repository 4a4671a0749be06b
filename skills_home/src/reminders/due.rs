//! What the scheduler publishes: every reminder occurrence due now, as a run of the
//! [`JOB`] job with the deterministic message id `reminder:{id}:{due instant}` on the
//! reminder's conversation. Two replicas, or a process restarted at the due minute, publish
//! the same id; the orchestrator's inbox handles it once, and that commit marks the reminder
//! sent (or moves it to its next occurrence), so it is not due any more.
//!
//! A reminder due inside its household's quiet hours is published only at their end.

use std::sync::Arc;

use alfred_actors::scheduler::{DueRun, DueRuns};
use alfred_actors::store::postgres::statements;
use alfred_actors::store::{MemStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;

use super::model::{instant_key, send_at, QuietHours, Reminder};
use super::store::{reminder, ReminderState, COLUMNS, SLOT};

/// The job a reminder's occurrence runs as.
pub const JOB: &str = "reminder";

/// Most occurrences published per tick (the rest on the next ones).
const BATCH: i64 = 500;

/// The run of `reminder`'s pending occurrence.
pub fn run_of(household: &str, reminder: &Reminder) -> DueRun {
    let due = instant_key(reminder.due);
    DueRun {
        message_id: format!("reminder:{}:{due}", reminder.id),
        job: JOB.to_owned(),
        household: household.to_owned(),
        run_key: format!("{}:{due}", reminder.id),
        due: reminder.due,
        platform: reminder.platform,
        account: reminder.account.clone(),
        conversation: reminder.conversation.clone(),
        is_group: reminder.is_group,
    }
}

/// The reminder id and due instant a run key names.
pub fn parse_run_key(key: &str) -> Option<(i64, DateTime<Utc>)> {
    let (id, due) = key.split_once(':')?;
    let due = DateTime::parse_from_rfc3339(due).ok()?.to_utc();
    Some((id.parse().ok()?, due))
}

fn due_runs(
    found: Vec<(String, Reminder)>,
    now: DateTime<Utc>,
    quiet_hours: &QuietHours,
) -> Vec<DueRun> {
    found
        .into_iter()
        .filter(|(household, r)| {
            send_at(r.due, r.timezone, quiet_hours.get(household).copied()) <= now
        })
        .map(|(household, r)| run_of(&household, &r))
        .collect()
}

/// Due reminders in Postgres.
pub struct PgDueReminders {
    pool: deadpool_postgres::Pool,
    quiet_hours: Arc<QuietHours>,
}

impl PgDueReminders {
    pub fn new(pool: deadpool_postgres::Pool, quiet_hours: Arc<QuietHours>) -> Self {
        PgDueReminders { pool, quiet_hours }
    }
}

#[async_trait]
impl DueRuns for PgDueReminders {
    async fn due(&self, now: DateTime<Utc>) -> Result<Vec<DueRun>, StoreError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|error| StoreError::Pool(error.to_string()))?;
        let sql = format!(
            "SELECT {COLUMNS} FROM reminders WHERE state = 'active' AND due_at <= $1
             ORDER BY due_at LIMIT {BATCH}"
        );
        // Outside a transaction: unnamed, typed, in one round trip, so that a transaction-mode
        // pooler (DATABASE_STATEMENT_CACHE=false) cannot bind it on another server.
        let rows = statements::query(&client, &sql, &[Type::TIMESTAMPTZ], &[&now]).await?;
        let found = rows
            .iter()
            .map(|row| Ok((row.try_get("household")?, reminder(row)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(due_runs(found, now, &self.quiet_hours))
    }
}

/// Due reminders in the in-memory store (ephemeral mode, `alfred chat`).
pub struct MemDueReminders {
    store: Arc<MemStore>,
    quiet_hours: Arc<QuietHours>,
}

impl MemDueReminders {
    pub fn new(store: Arc<MemStore>, quiet_hours: Arc<QuietHours>) -> Self {
        MemDueReminders { store, quiet_hours }
    }
}

#[async_trait]
impl DueRuns for MemDueReminders {
    async fn due(&self, now: DateTime<Utc>) -> Result<Vec<DueRun>, StoreError> {
        let found = self
            .store
            .slot::<ReminderState>(SLOT)
            .await
            .map(|state| state.due(now))
            .unwrap_or_default();
        Ok(due_runs(found, now, &self.quiet_hours))
    }
}
