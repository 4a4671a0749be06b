//! What is due, for the scheduler's reminders and the morning briefing.
//!
//! The scheduler (built elsewhere) calls [`due_reminders`] at the household's reminder time
//! and [`chores_due_today`] for the briefing. Both only read; the scheduler's inbox makes each
//! run exactly-once. All time comes from the `now` passed in and the household's time zone.
//!
//! The scheduler's `chore-reminders` runs reach the chores skill as job requests
//! ([`REMINDER_JOB`]); [`ReminderEffect`] answers such a run with one message listing what is
//! due, or nothing when nothing is.

/// The scheduled job the chores skill runs: the daily chore reminders.
pub const REMINDER_JOB: &str = "chore-reminders";

use alfred_actors::skill::{Effect, Reply};
use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;

use super::model::{Chore, DueChore};
use super::recurrence::local_today;
use super::reply::{due_today_digest, when};
use super::store;

/// One reminder to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// The member to remind (by the name the chore uses); `None`: the whole household.
    pub to: Option<String>,
    pub due: DueChore,
    /// The message, e.g. "⏰ Sam, reminder: dishes — due today."
    pub text: String,
}

/// Chores due on `today` or overdue, most overdue first, then in the chores' order.
pub fn due_on(chores: &[Chore], today: NaiveDate) -> Vec<DueChore> {
    let mut due: Vec<DueChore> = chores
        .iter()
        .filter(|c| c.due <= today)
        .map(|c| DueChore {
            chore: c.name.clone(),
            assignee: c.assignee().map(str::to_owned),
            due: c.due,
            days_overdue: u32::try_from((today - c.due).num_days()).unwrap_or(u32::MAX),
        })
        .collect();
    due.sort_by_key(|d| d.due);
    due
}

/// The household's chores due today (local) or overdue, for the morning briefing.
pub async fn chores_due_today(
    tx: &mut Tx<'_>,
    household: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<DueChore>, StoreError> {
    let chores = store::chores(tx, household, false).await?;
    Ok(due_on(&chores, local_today(now, tz)))
}

/// Whether the local time `time` lies in the quiet hours `(start, end)`: from `start`
/// (inclusive) to `end` (exclusive), across midnight when `end` is earlier than `start`
/// ("21:30-07:30"). Equal bounds mean no quiet hours.
pub fn in_quiet_hours(time: NaiveTime, (start, end): (NaiveTime, NaiveTime)) -> bool {
    if start <= end {
        start <= time && time < end
    } else {
        time >= start || time < end
    }
}

/// The reminders due at `now`: one per chore due today or overdue, addressed to its
/// assignee (or the household); none at all inside quiet hours.
pub fn reminders_for(
    chores: &[Chore],
    now: DateTime<Utc>,
    tz: Tz,
    quiet_hours: Option<(NaiveTime, NaiveTime)>,
) -> Vec<Reminder> {
    let local = now.with_timezone(&tz);
    if quiet_hours.is_some_and(|quiet| in_quiet_hours(local.time(), quiet)) {
        return Vec::new();
    }
    let today = local.date_naive();
    due_on(chores, today)
        .into_iter()
        .map(|due| {
            let when = if due.days_overdue == 0 {
                "due today".to_owned()
            } else {
                format!("overdue since {}", when(due.due, today))
            };
            let text = match &due.assignee {
                Some(who) => format!("⏰ {who}, reminder: {} — {when}.", due.chore),
                None => format!("⏰ Reminder: {} — {when}.", due.chore),
            };
            Reminder {
                to: due.assignee.clone(),
                due,
                text,
            }
        })
        .collect()
}

/// [`reminders_for`] the household's chores as stored.
pub async fn due_reminders(
    tx: &mut Tx<'_>,
    household: &str,
    now: DateTime<Utc>,
    tz: Tz,
    quiet_hours: Option<(NaiveTime, NaiveTime)>,
) -> Result<Vec<Reminder>, StoreError> {
    let local = now.with_timezone(&tz);
    if quiet_hours.is_some_and(|quiet| in_quiet_hours(local.time(), quiet)) {
        // Inside quiet hours the store is not even read.
        return Ok(Vec::new());
    }
    let chores = store::chores(tx, household, false).await?;
    Ok(reminders_for(&chores, now, tz, quiet_hours))
}

/// A `chore-reminders` run: one message to the job's conversation listing every reminder due
/// now, or no message at all when nothing is due or it is quiet time.
#[derive(Debug, Clone)]
pub struct ReminderEffect {
    household: String,
    now: DateTime<Utc>,
    tz: Tz,
    quiet_hours: Option<(NaiveTime, NaiveTime)>,
}

impl ReminderEffect {
    /// The reminders of `household` at `now`, in its time zone `tz`.
    pub fn new(
        household: impl Into<String>,
        now: DateTime<Utc>,
        tz: Tz,
        quiet_hours: Option<(NaiveTime, NaiveTime)>,
    ) -> Self {
        ReminderEffect {
            household: household.into(),
            now,
            tz,
            quiet_hours,
        }
    }
}

impl Effect for ReminderEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let reminders =
                due_reminders(tx, &self.household, self.now, self.tz, self.quiet_hours).await?;
            let due: Vec<DueChore> = reminders.into_iter().map(|r| r.due).collect();
            let today = local_today(self.now, self.tz);
            Ok(due_today_digest(&due, today)
                .into_iter()
                .map(Reply::text)
                .collect())
        })
    }
}
