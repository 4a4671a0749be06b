//! Reminders in whichever store the message's transaction is on: Postgres (tables `reminders`
//! and `reminder_numbers`, `migrations/0018_reminders.sql`) or, in ephemeral mode, the
//! in-memory store's [`SLOT`]. Both keep only what the effects decide, so both behave alike.

use std::collections::HashMap;

use alfred_actors::messages::Platform;
use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use tokio_postgres::Row;

use super::model::{repeat_from_key, repeat_key, NewReminder, Reminder, State};

/// The key of the reminders' state in the in-memory store.
pub const SLOT: &str = "reminders";

/// Every household's reminders in ephemeral mode.
#[derive(Debug, Clone, Default)]
pub struct ReminderState {
    next_id: i64,
    reminders: Vec<(String, Reminder)>,
    numbers: HashMap<String, i32>,
}

impl ReminderState {
    /// Every active reminder due at or before `now`, with its household.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<(String, Reminder)> {
        self.reminders
            .iter()
            .filter(|(_, r)| r.state == State::Active && r.due <= now)
            .cloned()
            .collect()
    }
}

pub(crate) const COLUMNS: &str = "id, household, number, text, for_name, created_by_name, \
    platform, account, conversation, is_group, timezone, recurrence, local_time, due_at, state, \
    last_sent_at";

/// Adds a reminder with the household's next number.
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    household: &str,
    new: NewReminder,
    now: DateTime<Utc>,
) -> Result<Reminder, StoreError> {
    match tx {
        Tx::Pg(pg) => {
            let number: i32 = pg
                .query_one(
                    "INSERT INTO reminder_numbers (household, last) VALUES ($1, 1)
                     ON CONFLICT (household) DO UPDATE SET last = reminder_numbers.last + 1
                     RETURNING last",
                    &[&household],
                )
                .await?
                .try_get(0)?;
            let (recurrence, local_time) = match new.repeat {
                Some((repeat, time)) => (Some(repeat_key(repeat)), Some(time)),
                None => (None, None),
            };
            let sql = format!(
                "INSERT INTO reminders (household, number, text, for_name, created_by,
                     created_by_name, platform, account, conversation, is_group, timezone,
                     recurrence, local_time, due_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 RETURNING {COLUMNS}"
            );
            let row = pg
                .query_one(
                    &sql,
                    &[
                        &household,
                        &number,
                        &new.text,
                        &new.for_name,
                        &new.created_by,
                        &new.created_by_name,
                        &new.platform.as_str(),
                        &new.account,
                        &new.conversation,
                        &new.is_group,
                        &new.timezone.name(),
                        &recurrence,
                        &local_time,
                        &new.due,
                        &now,
                    ],
                )
                .await?;
            reminder(&row)
        }
        Tx::Mem(mem) => {
            let state = mem.slot::<ReminderState>(SLOT)?;
            state.next_id += 1;
            let number = state.numbers.entry(household.to_owned()).or_insert(0);
            *number += 1;
            let reminder = Reminder {
                id: state.next_id,
                number: *number,
                text: new.text,
                for_name: new.for_name,
                created_by_name: new.created_by_name,
                platform: new.platform,
                account: new.account,
                conversation: new.conversation,
                is_group: new.is_group,
                timezone: new.timezone,
                repeat: new.repeat,
                due: new.due,
                state: State::Active,
                last_sent_at: None,
            };
            state
                .reminders
                .push((household.to_owned(), reminder.clone()));
            Ok(reminder)
        }
    }
}

/// The household's active reminders, soonest first.
pub(crate) async fn active(tx: &mut Tx<'_>, household: &str) -> Result<Vec<Reminder>, StoreError> {
    match tx {
        Tx::Pg(pg) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM reminders WHERE household = $1 AND state = 'active'
                 ORDER BY due_at, number"
            );
            let rows = pg.query(&sql, &[&household]).await?;
            rows.iter().map(reminder).collect()
        }
        Tx::Mem(mem) => {
            let state = mem.slot::<ReminderState>(SLOT)?;
            let mut active: Vec<Reminder> = state
                .reminders
                .iter()
                .filter(|(h, r)| h == household && r.state == State::Active)
                .map(|(_, r)| r.clone())
                .collect();
            active.sort_by_key(|r| (r.due, r.number));
            Ok(active)
        }
    }
}

/// The reminder with the store id `id`, its row locked until the transaction ends.
pub(crate) async fn by_id(
    tx: &mut Tx<'_>,
    household: &str,
    id: i64,
) -> Result<Option<Reminder>, StoreError> {
    match tx {
        Tx::Pg(pg) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM reminders WHERE household = $1 AND id = $2 FOR UPDATE"
            );
            let row = pg.query_opt(&sql, &[&household, &id]).await?;
            row.as_ref().map(reminder).transpose()
        }
        Tx::Mem(mem) => Ok(mem
            .slot::<ReminderState>(SLOT)?
            .reminders
            .iter()
            .find(|(h, r)| h == household && r.id == id)
            .map(|(_, r)| r.clone())),
    }
}

/// The household's reminder numbered `number`, its row locked until the transaction ends.
pub(crate) async fn by_number(
    tx: &mut Tx<'_>,
    household: &str,
    number: i32,
) -> Result<Option<Reminder>, StoreError> {
    match tx {
        Tx::Pg(pg) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM reminders WHERE household = $1 AND number = $2 FOR UPDATE"
            );
            let row = pg.query_opt(&sql, &[&household, &number]).await?;
            row.as_ref().map(reminder).transpose()
        }
        Tx::Mem(mem) => Ok(mem
            .slot::<ReminderState>(SLOT)?
            .reminders
            .iter()
            .find(|(h, r)| h == household && r.number == number)
            .map(|(_, r)| r.clone())),
    }
}

/// The reminder last sent to `conversation` in the household (for "snooze").
pub(crate) async fn last_sent(
    tx: &mut Tx<'_>,
    household: &str,
    platform: Platform,
    conversation: &str,
) -> Result<Option<Reminder>, StoreError> {
    match tx {
        Tx::Pg(pg) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM reminders
                 WHERE household = $1 AND platform = $2 AND conversation = $3
                   AND last_sent_at IS NOT NULL
                 ORDER BY last_sent_at DESC, id DESC LIMIT 1"
            );
            let row = pg
                .query_opt(&sql, &[&household, &platform.as_str(), &conversation])
                .await?;
            row.as_ref().map(reminder).transpose()
        }
        Tx::Mem(mem) => Ok(mem
            .slot::<ReminderState>(SLOT)?
            .reminders
            .iter()
            .filter(|(h, r)| {
                h == household
                    && r.platform == platform
                    && r.conversation == conversation
                    && r.last_sent_at.is_some()
            })
            .max_by_key(|(_, r)| (r.last_sent_at, r.id))
            .map(|(_, r)| r.clone())),
    }
}

/// Saves a reminder's state, pending occurrence and last sending.
pub(crate) async fn save(
    tx: &mut Tx<'_>,
    household: &str,
    reminder: &Reminder,
) -> Result<(), StoreError> {
    match tx {
        Tx::Pg(pg) => {
            pg.execute(
                "UPDATE reminders SET state = $3, due_at = $4, last_sent_at = $5
                 WHERE household = $1 AND id = $2",
                &[
                    &household,
                    &reminder.id,
                    &reminder.state.key(),
                    &reminder.due,
                    &reminder.last_sent_at,
                ],
            )
            .await?;
            Ok(())
        }
        Tx::Mem(mem) => {
            let state = mem.slot::<ReminderState>(SLOT)?;
            if let Some((_, stored)) = state
                .reminders
                .iter_mut()
                .find(|(h, r)| h == household && r.id == reminder.id)
            {
                *stored = reminder.clone();
            }
            Ok(())
        }
    }
}

/// A reminder from a row selected with [`COLUMNS`].
pub(crate) fn reminder(row: &Row) -> Result<Reminder, StoreError> {
    let platform: String = row.try_get("platform")?;
    let timezone: String = row.try_get("timezone")?;
    let recurrence: Option<String> = row.try_get("recurrence")?;
    let local_time: Option<NaiveTime> = row.try_get("local_time")?;
    let state: String = row.try_get("state")?;
    let repeat = match (recurrence, local_time) {
        (Some(key), Some(time)) => Some((
            repeat_from_key(&key).ok_or_else(|| {
                StoreError::Other(format!("reminders holds an unknown recurrence {key:?}"))
            })?,
            time,
        )),
        _ => None,
    };
    Ok(Reminder {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        text: row.try_get("text")?,
        for_name: row.try_get("for_name")?,
        created_by_name: row.try_get("created_by_name")?,
        platform: platform_from(&platform)?,
        account: row.try_get("account")?,
        conversation: row.try_get("conversation")?,
        is_group: row.try_get("is_group")?,
        timezone: timezone.parse::<Tz>().map_err(|_| {
            StoreError::Other(format!("reminders holds an unknown time zone {timezone:?}"))
        })?,
        repeat,
        due: row.try_get("due_at")?,
        state: State::from_key(&state).ok_or_else(|| {
            StoreError::Other(format!("reminders holds an unknown state {state:?}"))
        })?,
        last_sent_at: row.try_get("last_sent_at")?,
    })
}

fn platform_from(name: &str) -> Result<Platform, StoreError> {
    [
        Platform::WhatsApp,
        Platform::Slack,
        Platform::Console,
        Platform::Scheduler,
    ]
    .into_iter()
    .find(|p| p.as_str() == name)
    .ok_or_else(|| StoreError::Other(format!("reminders holds an unknown platform {name:?}")))
}
