//! The Scheduler: timed jobs (the morning briefing, chore reminders) in each household's time
//! zone, fired once per due time even with several replicas and across restarts.
//!
//! Every `tick` the scheduler looks at each job's run for the household's local yesterday and
//! today. A run whose due instant has passed is published on `alfred-ingest` (with
//! `INGEST_PARTITIONS`, on its conversation's partition) as an [`InboundKind::Job`] envelope
//! with the deterministic message id `job:{job}:{household}:{local date}`, so the orchestrator's inbox makes it exactly-once: two
//! replicas (or a restarted process) may publish the same run, and only the first commit
//! counts. A run is published only within its catch-up window after the due instant; today's
//! run further in the past that the inbox does not hold is recorded once as missed, for
//! operators (`GET /admin/jobs`). Yesterday's run is only looked at to catch it up across
//! midnight.
//!
//! Local times follow the household's IANA time zone: a due time skipped by a DST change fires
//! at the first valid instant after it, and a repeated one at the earlier instant, so there is
//! exactly one run per local day.
//!
//! Besides these daily jobs, skills may keep runs of their own that are not at a fixed time of
//! day (a reminder "in 20 minutes"): each [`DueRuns`] source is asked every tick for the runs
//! due now, and each is published the same way, with the deterministic message id the source
//! gives it, so it too is handled once across replicas and restarts.

pub mod store;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::bus::Bus;
use crate::clock::Clock;
use crate::messages::{InboundEnvelope, InboundKind, Platform, Sender};
use crate::partitions::IngestRoute;
use crate::store::InboxKey;
use store::{JobStore, MissedJob};

/// One job of one household, and where its messages go.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledJob {
    /// `briefing` or `chore-reminders`: the skill whose route lists it runs it.
    pub job: String,
    pub household: String,
    pub timezone: Tz,
    /// Local time of day.
    pub at: NaiveTime,
    /// How long after the due instant a run may still be sent (after downtime).
    pub catch_up: Duration,
    /// The conversation the run's messages go to.
    pub platform: Platform,
    pub account: String,
    pub conversation: String,
    pub is_group: bool,
}

impl ScheduledJob {
    /// The message id, and so the inbox key, of the run for `date`.
    pub fn run_id(&self, date: NaiveDate) -> String {
        format!("job:{}:{}:{date}", self.job, self.household)
    }

    fn envelope(&self, date: NaiveDate, due: DateTime<Utc>) -> InboundEnvelope {
        InboundEnvelope {
            platform: self.platform,
            message_id: self.run_id(date),
            account: self.account.clone(),
            conversation: self.conversation.clone(),
            is_group: self.is_group,
            // A job's reply may go to a group or be read by a household: never private.
            private: false,
            thread: None,
            sender: Sender {
                id: "alfred".to_owned(),
                name: Some("Alfred".to_owned()),
            },
            timestamp: due.timestamp(),
            kind: InboundKind::Job {
                job: self.job.clone(),
                household: self.household.clone(),
                run_key: date.to_string(),
            },
            traceparent: None,
        }
    }
}

/// The instant a local time of day happens on a local date in `tz`: the earlier one when the
/// clock is turned back and the time repeats; the first valid instant after the gap when the
/// clock is turned forward and the time does not exist.
pub fn due_instant(date: NaiveDate, at: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let local = date.and_time(at);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => instant.to_utc(),
        LocalResult::Ambiguous(earlier, _) => earlier.to_utc(),
        LocalResult::None => {
            // DST gaps are at most a few hours; walk forward to the first local minute that exists.
            (1..=24 * 60)
                .find_map(|minutes| {
                    match tz.from_local_datetime(&(local + chrono::Duration::minutes(minutes))) {
                        LocalResult::Single(instant) => Some(instant.to_utc()),
                        LocalResult::Ambiguous(earlier, _) => Some(earlier.to_utc()),
                        LocalResult::None => None,
                    }
                })
                .unwrap_or_else(|| local.and_utc())
        }
    }
}

/// One run a [`DueRuns`] source found due: published as an [`InboundKind::Job`] envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRun {
    /// The deterministic message id (and so inbox key) of this run, e.g.
    /// `reminder:{id}:{due instant}`: every publication of the same run carries it.
    pub message_id: String,
    /// The job, which the skill whose route lists it runs.
    pub job: String,
    pub household: String,
    /// What the skill needs to know which run this is.
    pub run_key: String,
    pub due: DateTime<Utc>,
    /// The conversation the run's messages go to.
    pub platform: Platform,
    pub account: String,
    pub conversation: String,
    pub is_group: bool,
}

impl DueRun {
    fn envelope(&self) -> InboundEnvelope {
        InboundEnvelope {
            platform: self.platform,
            message_id: self.message_id.clone(),
            account: self.account.clone(),
            conversation: self.conversation.clone(),
            is_group: self.is_group,
            private: false,
            thread: None,
            sender: Sender {
                id: "alfred".to_owned(),
                name: Some("Alfred".to_owned()),
            },
            timestamp: self.due.timestamp(),
            kind: InboundKind::Job {
                job: self.job.clone(),
                household: self.household.clone(),
                run_key: self.run_key.clone(),
            },
            traceparent: None,
        }
    }
}

/// Runs a skill keeps in its own tables (reminders), asked for on every tick.
#[async_trait::async_trait]
pub trait DueRuns: Send + Sync + 'static {
    /// Every run due at `now` that is still to be handled. A process publishes a run once
    /// while it stays due; another replica or a restarted process publishes it again with the
    /// same id, and the inbox keeps it once.
    async fn due(&self, now: DateTime<Utc>) -> Result<Vec<DueRun>, crate::store::StoreError>;
}

/// Everything the scheduler needs; cloned into each (re)started incarnation.
#[derive(Clone)]
pub struct SchedulerDeps {
    pub bus: Arc<dyn Bus>,
    pub jobs_store: Arc<dyn JobStore>,
    pub clock: Arc<dyn Clock>,
    /// Where a due run goes: `alfred-ingest`, or its conversation's partition
    /// (`INGEST_PARTITIONS`).
    pub ingest: IngestRoute,
    pub jobs: Vec<ScheduledJob>,
    /// Skills' own runs (reminders).
    pub sources: Vec<Arc<dyn DueRuns>>,
    /// How often due runs are looked for.
    pub tick: Duration,
}

/// The scheduler actor.
pub struct Scheduler {
    deps: SchedulerDeps,
    /// Daily runs this incarnation published or found missed: decided, not looked at again.
    /// Only yesterday's and today's runs are ever looked at, so only theirs are kept.
    decided: Arc<std::sync::Mutex<HashSet<String>>>,
    /// Sources' runs this incarnation published, not published again while a source still
    /// finds them due (not yet handled); forgotten once it no longer does, so this holds no
    /// more than what is due now.
    published: Arc<std::sync::Mutex<HashSet<String>>>,
    busy: bool,
}

impl Scheduler {
    pub fn new(deps: SchedulerDeps) -> Self {
        Scheduler {
            deps,
            decided: Arc::default(),
            published: Arc::default(),
            busy: false,
        }
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.deps.jobs.is_empty() && self.deps.sources.is_empty() {
            return;
        }
        // The runtime says at INFO what the scheduler does; a restart is the supervisor's to
        // report.
        tracing::debug!(
            jobs = self.deps.jobs.len(),
            sources = self.deps.sources.len(),
            "Scheduler started."
        );
        ctx.notify(Tick);
        ctx.run_interval(self.deps.tick, |_, ctx| ctx.notify(Tick));
    }
}

/// Look for due runs now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Tick;

impl Handler<Tick> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        if self.busy {
            return;
        }
        self.busy = true;
        let deps = self.deps.clone();
        let decided = self.decided.clone();
        let published = self.published.clone();
        ctx.spawn(
            async move {
                evaluate(&deps, &decided).await;
                publish_sources(&deps, &published).await;
            }
            .into_actor(self)
            .map(|(), actor, _| actor.busy = false),
        );
    }
}

/// Publishes due daily runs and records missed ones.
async fn evaluate(deps: &SchedulerDeps, decided: &std::sync::Mutex<HashSet<String>>) {
    let now = deps.clock.now();
    let mut looked_at = HashSet::new();
    for job in &deps.jobs {
        let today = now.with_timezone(&job.timezone).date_naive();
        let days = [today.checked_sub_days(Days::new(1)), Some(today)];
        for date in days.into_iter().flatten() {
            let due = due_instant(date, job.at, job.timezone);
            let id = job.run_id(date);
            looked_at.insert(id.clone());
            if due > now || is_decided(decided, &id) {
                continue;
            }
            let late = (now - due).to_std().unwrap_or_default();
            let done = if late <= job.catch_up {
                publish(deps, job, date, due).await
            } else if date == today {
                record_missed(deps, job, &id, date, due).await
            } else {
                // Yesterday's run is looked at only to catch it up across midnight; whether it
                // was missed was decided yesterday (or, on a first start, is not worth noise).
                true
            };
            if done {
                decided
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(id);
            }
        }
    }
    forget_past(decided, &looked_at);
}

/// Forgets the decided runs of days no longer looked at (before yesterday): the set holds at
/// most two runs per job however long the process runs. Were an older day looked at again (a
/// clock set back), its run would be published again and refused by the inbox as a duplicate.
fn forget_past(decided: &std::sync::Mutex<HashSet<String>>, looked_at: &HashSet<String>) {
    decided
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|id| looked_at.contains(id));
}

/// Publishes the sources' due runs this incarnation has not published yet.
async fn publish_sources(deps: &SchedulerDeps, published: &std::sync::Mutex<HashSet<String>>) {
    let now = deps.clock.now();
    let mut due_now = HashSet::new();
    let mut complete = true;
    for source in &deps.sources {
        let runs = match source.due(now).await {
            Ok(runs) => runs,
            Err(error) => {
                tracing::warn!(%error, "Could not look for due runs; will try again.");
                complete = false;
                continue;
            }
        };
        for run in runs {
            due_now.insert(run.message_id.clone());
            if is_decided(published, &run.message_id) {
                continue;
            }
            if publish_envelope(deps, &run.envelope(), &run.job).await {
                tracing::info!(job = %run.job, household = %run.household, run = %run.run_key, "A run is due; handed to the orchestrator.");
                published
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(run.message_id);
            }
        }
    }
    // What no source finds due any more was handled: forget it.
    if complete {
        published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|id| due_now.contains(id));
    }
}

fn is_decided(decided: &std::sync::Mutex<HashSet<String>>, id: &str) -> bool {
    decided
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .contains(id)
}

async fn publish(
    deps: &SchedulerDeps,
    job: &ScheduledJob,
    date: NaiveDate,
    due: DateTime<Utc>,
) -> bool {
    let envelope = job.envelope(date, due);
    let published = publish_envelope(deps, &envelope, &job.job).await;
    if published {
        tracing::info!(job = %job.job, household = %job.household, run = %date, "Job run is due; handed to the orchestrator.");
    }
    published
}

/// Publishes a run on its conversation's ingest stream; `false` when it must be tried again.
async fn publish_envelope(deps: &SchedulerDeps, envelope: &InboundEnvelope, job: &str) -> bool {
    let payload = match serde_json::to_string(envelope) {
        Ok(payload) => payload,
        Err(error) => {
            tracing::error!(%error, "Could not encode a job run.");
            return false;
        }
    };
    let stream = deps
        .ingest
        .stream_for(envelope.platform, &envelope.conversation);
    match deps.bus.publish(&stream, &payload).await {
        Ok(_) => true,
        Err(error) => {
            tracing::warn!(%error, %job, "Could not publish a due job run; will try again.");
            false
        }
    }
}

async fn record_missed(
    deps: &SchedulerDeps,
    job: &ScheduledJob,
    id: &str,
    date: NaiveDate,
    due: DateTime<Utc>,
) -> bool {
    let key = InboxKey {
        platform: job.platform,
        message_id: id.to_owned(),
        person_at: None,
        fence: None,
    };
    match deps.jobs_store.was_run(&key).await {
        Ok(true) => true,
        Ok(false) => {
            let missed = MissedJob {
                job: job.job.clone(),
                household: job.household.clone(),
                run_key: date.to_string(),
                due_at: due,
            };
            match deps.jobs_store.record_missed(&missed).await {
                Ok(new) => {
                    if new {
                        tracing::warn!(job = %job.job, household = %job.household, run = %date, %due, "A job run was missed: Alfred was down past its catch-up window.");
                    }
                    true
                }
                Err(error) => {
                    tracing::warn!(%error, "Could not record a missed job run; will try again.");
                    false
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "Could not check a job run; will try again.");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn time(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn decided_runs_of_days_no_longer_looked_at_are_forgotten() {
        let decided = std::sync::Mutex::new(HashSet::from([
            "job:briefing:smith:2026-12-01".to_owned(),
            "job:briefing:smith:2026-12-02".to_owned(),
        ]));
        let looked_at = HashSet::from([
            "job:briefing:smith:2026-12-02".to_owned(),
            "job:briefing:smith:2026-12-03".to_owned(),
        ]);

        forget_past(&decided, &looked_at);

        let kept = decided.into_inner().unwrap();
        assert_eq!(
            kept,
            HashSet::from(["job:briefing:smith:2026-12-02".to_owned()])
        );
    }

    #[test]
    fn a_local_time_is_found_in_winter_and_summer_time() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            due_instant(date("2026-01-15"), time("07:00"), berlin).to_rfc3339(),
            "2026-01-15T06:00:00+00:00"
        );
        assert_eq!(
            due_instant(date("2026-07-15"), time("07:00"), berlin).to_rfc3339(),
            "2026-07-15T05:00:00+00:00"
        );
    }

    #[test]
    fn a_time_skipped_by_the_spring_change_fires_at_the_first_valid_instant_after_it() {
        // 2026-03-29 02:00 → 03:00 in Berlin: 02:30 does not exist.
        let due = due_instant(date("2026-03-29"), time("02:30"), chrono_tz::Europe::Berlin);
        assert_eq!(
            due.to_rfc3339(),
            "2026-03-29T01:00:00+00:00",
            "03:00 local, summer time"
        );
    }

    #[test]
    fn a_time_repeated_by_the_autumn_change_fires_once_at_the_earlier_instant() {
        // 2026-10-25 03:00 → 02:00 in Berlin: 02:30 happens twice.
        let due = due_instant(date("2026-10-25"), time("02:30"), chrono_tz::Europe::Berlin);
        assert_eq!(
            due.to_rfc3339(),
            "2026-10-25T00:30:00+00:00",
            "02:30 local, still summer time"
        );
    }
}
