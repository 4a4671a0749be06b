//! ChoreService: the household's chores — recurrence, rotation, done/skip/swap, what is due,
//! history and streaks, and the reminders the scheduler sends.
//!
//! * [`recurrence`] — when a chore falls due, in the household's local dates;
//! * `model` — chores, their pending occurrence and what is due ([`DueChore`]); the rules of
//!   done, skip, swap and rotation (documented there);
//! * [`parse()`] — the deterministic grammar into a [`ChoreCommand`];
//! * [`route`] / [`ChoreService`] — the route (exactly what [`parse()`] accepts, the tools,
//!   the reminder job) and the skill; [`ChoreEffect`] applies a
//!   command inside the message's transaction and replies (`reply`) from what actually changed;
//! * `store` — the chores as an effect sees them, dispatching to `pg` (Postgres tables
//!   `chores` and `chore_history`) or `mem` (the in-memory [`ChoreState`] slot);
//! * [`stats`] — completion history and streaks;
//! * [`reminders`] — [`due_reminders`] and [`chores_due_today`] for the scheduler and the
//!   morning briefing, and the `chore-reminders` job run;
//! * [`tools`] — what an optional LLM may propose, translated into the grammar.
//!
//! Time comes only from `SkillRequest.now` (or the `now` a caller passes) and the household's
//! IANA time zone (`SkillRequest.timezone`; a parameter of every public function). This module
//! knows nothing of platforms, Redis or the scheduler.

mod mem;
mod model;
mod parse;
mod pg;
pub mod recurrence;
pub mod reminders;
mod reply;
pub mod stats;
mod store;
pub mod tools;

use std::sync::Arc;

use alfred_actors::messages::Sender;
use alfred_actors::skill::{
    Effect, GrammarRoute, Reply, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute,
};
use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;

pub use self::mem::{ChoreState, SLOT};
pub use self::model::{
    find, name_key, same_person, Assign, Chore, ChoreCommand, DueChore, HistoryEntry, Member,
    NewChore, Outcome, Swapped,
};
pub use self::parse::parse;
pub use self::recurrence::{local_today, Recurrence};
pub use self::reminders::{
    chores_due_today, due_on, due_reminders, in_quiet_hours, reminders_for, Reminder,
    ReminderEffect, REMINDER_JOB,
};
pub use self::stats::{chore_stats, ChoreStats};

/// The skill's name; its actor is `skill/chores`.
pub const NAME: &str = "chores";

/// The Postgres tables of this skill.
pub const TABLES: [&str; 2] = ["chores", "chore_history"];

const HELP: [&str; 8] = [
    "add chore dishes daily rotating Dana, Sam, Kim — a chore (daily, every Monday and Thursday, every 3 days, monthly on the 1st; for Sam, or rotating)",
    "chores — list chores with who is next",
    "done dishes / Sam did the dishes — mark a chore done",
    "skip dishes today — skip this time",
    "swap dishes with Kim — Kim takes this turn, you take Kim's next",
    "what's due today / what's overdue — what needs doing",
    "chore stats — history and streaks",
    "remove chore dishes — delete a chore",
];

/// The shared route, for the orchestrator's routing table: understands exactly what
/// [`parse()`] accepts.
pub fn route() -> Arc<dyn SkillRoute> {
    Arc::new(
        GrammarRoute::new(NAME, &HELP, |text| parse(text).is_some())
            .with_tools(tools::specs, tools::command_for)
            .with_jobs(&[REMINDER_JOB]),
    )
}

/// A fresh skill without quiet hours; the skill actor's factory calls this.
pub fn skill() -> Box<dyn Skill> {
    Box::new(ChoreService::default())
}

/// Quiet hours (local `from`, `until`) by household id, from the households file.
pub type QuietHours = std::collections::HashMap<String, (chrono::NaiveTime, chrono::NaiveTime)>;

/// A fresh skill that keeps reminders out of each household's quiet hours.
pub fn skill_with(quiet_hours: Arc<QuietHours>) -> Box<dyn Skill> {
    Box::new(ChoreService { quiet_hours })
}

/// The ChoreService skill. Deciding is parsing; the work happens in the effect, in the
/// household's time zone as the request carries it.
#[derive(Debug, Clone, Default)]
pub struct ChoreService {
    quiet_hours: Arc<QuietHours>,
}

impl Skill for ChoreService {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        if request
            .job
            .as_ref()
            .is_some_and(|(job, _)| job == REMINDER_JOB)
        {
            // A run caught up after downtime may land in quiet hours: then it reminds nobody.
            let quiet = self.quiet_hours.get(&request.household).copied();
            let effect =
                ReminderEffect::new(request.household, request.now, request.timezone, quiet);
            return Box::pin(futures::future::ready(Ok(SkillOutcome {
                effect: Box::new(effect),
            })));
        }
        let command = parse(&request.text).unwrap_or(ChoreCommand::AddHelp { name: None });
        let effect: Box<dyn Effect> = Box::new(ChoreEffect::new(
            request.household,
            Who::from_sender(&request.sender),
            command,
            request.now,
            request.timezone,
        ));
        Box::pin(futures::future::ready(Ok(SkillOutcome { effect })))
    }
}

/// Who sent a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// Platform user id.
    pub id: String,
    /// Display name (the id when the platform gave none).
    pub name: String,
}

impl Who {
    /// The sender of a message.
    pub fn from_sender(sender: &Sender) -> Self {
        Who {
            id: sender.id.clone(),
            name: sender.name.clone().unwrap_or_else(|| sender.id.clone()),
        }
    }

    /// The name a chore uses for the sender when it has none yet: the first word of the
    /// display name ("Sam" for "Sam Smith"), like the names the grammar reads.
    fn member_name(&self) -> String {
        self.name
            .split_whitespace()
            .next()
            .unwrap_or(&self.name)
            .to_owned()
    }

    /// `member` as `chore` spells it (the sender for [`Member::Me`]).
    fn resolve(&self, chore: Option<&Chore>, member: &Member) -> String {
        let name = match member {
            Member::Me => self.name.clone(),
            Member::Named(name) => name.clone(),
        };
        match chore.and_then(|c| c.member(&name)) {
            Some(spelled) => spelled.to_owned(),
            None if *member == Member::Me => self.member_name(),
            None => name,
        }
    }
}

/// One command applied to one household's chores at `now` in time zone `tz`.
#[derive(Debug, Clone)]
pub struct ChoreEffect {
    household: String,
    who: Who,
    command: ChoreCommand,
    now: DateTime<Utc>,
    tz: Tz,
}

impl ChoreEffect {
    /// The effect of `command` sent by `who` in `household` at `now`; the household's local
    /// dates are read in `tz`.
    pub fn new(
        household: impl Into<String>,
        who: Who,
        command: ChoreCommand,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Self {
        ChoreEffect {
            household: household.into(),
            who,
            command,
            now,
            tz,
        }
    }

    async fn run(&self, tx: &mut Tx<'_>) -> Result<String, StoreError> {
        let today = local_today(self.now, self.tz);
        let household = self.household.as_str();
        match &self.command {
            ChoreCommand::Add {
                name,
                recurrence,
                assign,
            } => self.add(tx, name, *recurrence, assign, today).await,
            ChoreCommand::AddHelp { name } => Ok(reply::add_help(name.as_deref())),
            ChoreCommand::List { mine } => {
                let chores = store::chores(tx, household, false).await?;
                let shown: Vec<&Chore> = chores
                    .iter()
                    .filter(|c| !mine || c.members.iter().any(|m| same_person(m, &self.who.name)))
                    .collect();
                Ok(reply::listing(&shown, today, *mine))
            }
            ChoreCommand::DueToday => {
                let chores = store::chores(tx, household, false).await?;
                Ok(reply::due_today(&due_on(&chores, today), &chores, today))
            }
            ChoreCommand::Overdue => {
                let chores = store::chores(tx, household, false).await?;
                Ok(reply::overdue(&due_on(&chores, today), today))
            }
            ChoreCommand::Stats => {
                let chores = store::chores(tx, household, false).await?;
                let history = store::history(tx, household).await?;
                Ok(reply::stats(&chore_stats(&chores, &history, today)))
            }
            ChoreCommand::Remove { chore } => {
                let chores = store::chores(tx, household, true).await?;
                let chore = match pick(&chores, chore) {
                    Ok(chore) => chore,
                    Err(reply) => return Ok(reply),
                };
                store::remove(tx, household, chore.id).await?;
                Ok(reply::removed(chore))
            }
            ChoreCommand::Done { chore, by } => self.done(tx, chore, by, today).await,
            ChoreCommand::Skip { chore } => self.skip(tx, chore, today).await,
            ChoreCommand::Swap { chore, with } => {
                let chores = store::chores(tx, household, true).await?;
                let mut chore = match pick(&chores, chore) {
                    Ok(chore) => chore.clone(),
                    Err(reply) => return Ok(reply),
                };
                let with = self.who.resolve(Some(&chore), with);
                let outcome = chore.swap(&with);
                if outcome != Swapped::Already {
                    store::save(tx, household, &chore).await?;
                }
                Ok(reply::swapped(&chore, &outcome, today))
            }
        }
    }

    async fn add(
        &self,
        tx: &mut Tx<'_>,
        name: &str,
        recurrence: Recurrence,
        assign: &Assign,
        today: NaiveDate,
    ) -> Result<String, StoreError> {
        let mut members: Vec<String> = Vec::new();
        let wanted: &[Member] = match assign {
            Assign::Anyone => &[],
            Assign::Fixed(member) => std::slice::from_ref(member),
            Assign::Rotation(list) => list,
        };
        for member in wanted {
            let name = self.who.resolve(None, member);
            if !members.iter().any(|m| same_person(m, &name)) {
                members.push(name);
            }
        }
        let new = NewChore {
            name: name.to_owned(),
            recurrence,
            start: today,
            members,
        };
        let created = store::insert(tx, &self.household, new, &self.who.id, self.now).await?;
        match created {
            Some(chore) => Ok(reply::added(&chore, today)),
            None => {
                let chores = store::chores(tx, &self.household, false).await?;
                let key = name_key(name);
                Ok(match chores.iter().find(|c| c.key == key) {
                    Some(existing) => reply::exists(existing, today),
                    None => reply::add_help(Some(name)),
                })
            }
        }
    }

    async fn done(
        &self,
        tx: &mut Tx<'_>,
        query: &str,
        by: &Member,
        today: NaiveDate,
    ) -> Result<String, StoreError> {
        let mut chore = match self.to_mark(tx, query, today).await? {
            Ok(chore) => chore,
            Err(reply) => return Ok(reply),
        };
        let by_name = self.who.resolve(Some(&chore), by);
        let by_sender = *by == Member::Me || same_person(&by_name, &self.who.name);
        let was_due = chore.due;
        let entry = chore.complete(&by_name, today, self.now, &self.who.id);
        self.record(tx, entry, &chore).await?;
        Ok(reply::done(&chore, &by_name, by_sender, was_due, today))
    }

    async fn skip(
        &self,
        tx: &mut Tx<'_>,
        query: &str,
        today: NaiveDate,
    ) -> Result<String, StoreError> {
        let mut chore = match self.to_mark(tx, query, today).await? {
            Ok(chore) => chore,
            Err(reply) => return Ok(reply),
        };
        let was_due = chore.due;
        let entry = chore.skip(today, self.now, &self.who.id);
        self.record(tx, entry, &chore).await?;
        Ok(reply::skipped(&chore, was_due, today))
    }

    /// The chore `query` names, to be marked done or skipped; else the reply saying why not (no
    /// such chore, several, or already done or skipped today). Its row stays locked until the
    /// transaction ends.
    async fn to_mark(
        &self,
        tx: &mut Tx<'_>,
        query: &str,
        today: NaiveDate,
    ) -> Result<Result<Chore, String>, StoreError> {
        let chores = store::chores(tx, &self.household, true).await?;
        let chore = match pick(&chores, query) {
            Ok(chore) => chore.clone(),
            Err(reply) => return Ok(Err(reply)),
        };
        if let Some(reply) = self.already_today(tx, &chore, today).await? {
            return Ok(Err(reply));
        }
        Ok(Ok(chore))
    }

    /// Records the occurrence's outcome (`None`: the next one lies past the calendar) and saves
    /// the chore, moved on to its next occurrence.
    async fn record(
        &self,
        tx: &mut Tx<'_>,
        entry: Option<HistoryEntry>,
        chore: &Chore,
    ) -> Result<(), StoreError> {
        let entry = entry.ok_or_else(model::out_of_range)?;
        store::record(tx, &self.household, &entry).await?;
        store::save(tx, &self.household, chore).await
    }

    /// A chore already done or skipped today whose next occurrence lies ahead: a second
    /// "done dishes" the same day is a repeat, not tomorrow's dishes done early.
    async fn already_today(
        &self,
        tx: &mut Tx<'_>,
        chore: &Chore,
        today: NaiveDate,
    ) -> Result<Option<String>, StoreError> {
        if chore.due <= today {
            return Ok(None);
        }
        let last = store::last_entry(tx, &self.household, chore.id).await?;
        Ok(last.filter(|e| e.local_date == today).map(|e| {
            reply::already(
                chore,
                e.outcome == Outcome::Skipped,
                e.done_by.as_deref(),
                today,
            )
        }))
    }
}

/// The one chore `query` names, or the reply saying why there is not exactly one.
fn pick<'a>(chores: &'a [Chore], query: &str) -> Result<&'a Chore, String> {
    match find(chores, query).as_slice() {
        [one] => Ok(one),
        [] => Err(reply::unknown(query, chores)),
        several => Err(reply::ambiguous(several)),
    }
}

impl Effect for ChoreEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(vec![Reply::text(self.run(tx).await?)]) })
    }
}
