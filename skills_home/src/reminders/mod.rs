//! Reminders: "remind me in 20 minutes to water the plants", "remind Sam to put the bins out
//! every Thursday at 7", "reminders", "cancel reminder 3", "snooze 1h".
//!
//! * [`parse()`] — the deterministic grammar into a [`ReminderCommand`] (documented there);
//! * `model` — reminders as stored, their first and next occurrences in the household's time
//!   zone (DST-safe), and quiet hours;
//! * `store` — Postgres (`migrations/0018_reminders.sql`) or the in-memory slot;
//! * [`due`] — the scheduler's source of due occurrences ([`due::PgDueReminders`],
//!   [`due::MemDueReminders`]); each occurrence reaches this skill as a run of the
//!   [`due::JOB`] job, which [`FireEffect`] sends and advances in the run's transaction;
//! * [`tools`] — what an optional LLM may propose, translated into the grammar.
//!
//! Why the scheduler and not a timer in this skill: the scheduler already makes a run
//! exactly-once across replicas and restarts through the inbox (a deterministic message id),
//! and the run's commit is also where the reminder is marked sent, so "sent" and "no longer
//! due" cannot disagree. Time comes only from `SkillRequest.now` (the runtime's clock).

pub mod due;
mod model;
mod parse;
mod store;
pub mod tools;

use std::collections::HashMap;
use std::sync::Arc;

use alfred_actors::messages::{OutboundBody, Platform};
use alfred_actors::skill::{
    Effect, GrammarRoute, Reply, ReplyTo, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute,
};
use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, Days, NaiveTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;

pub use self::model::{first_due, next_after, send_at, NewReminder, QuietHours, Reminder, State};
pub use self::parse::{parse, Day, ReminderCommand, Repeat, Target, When, MAX_TEXT_CHARS};
pub use self::store::{ReminderState, SLOT};

/// The skill's name; its actor is `skill/reminders`.
pub const NAME: &str = "reminders";

/// The Postgres tables of this skill.
pub const TABLES: [&str; 2] = ["reminders", "reminder_numbers"];

/// Each household's members who can be reminded: (first name, WhatsApp id).
pub type Members = HashMap<String, Vec<(String, Option<String>)>>;

/// A household's approved WhatsApp template for reminders sent outside the 24-hour window;
/// its one body parameter `{{1}}` is the reminder's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderTemplate {
    pub name: String,
    pub language: String,
}

/// Reminder templates by household id.
pub type Templates = HashMap<String, ReminderTemplate>;

/// What the reminders take from the households file.
#[derive(Debug, Clone, Default)]
pub struct ReminderConfig {
    pub quiet_hours: Arc<QuietHours>,
    pub members: Arc<Members>,
    pub templates: Arc<Templates>,
}

const HELP: [&str; 5] = [
    "remind me in 20 minutes to water the plants — a reminder (also: at 5pm, tomorrow at 9, on Friday at 8, every Thursday at 7, every day at 8)",
    "remind Sam to put the bins out every Thursday at 7 — a reminder to a household member's chat",
    "reminders — list the reminders to come",
    "cancel reminder 3 — cancel one",
    "snooze 1h — remind again of the last reminder",
];

/// Hours of WhatsApp's customer-service window: free text only within it.
const SERVICE_WINDOW_HOURS: i64 = 24;

/// The shared route: exactly what [`parse()`] accepts, the tools, and the reminder runs.
pub fn route() -> Arc<dyn SkillRoute> {
    Arc::new(
        GrammarRoute::new(NAME, &HELP, |text| parse(text).is_some())
            .with_tools(tools::specs, tools::command_for)
            .with_jobs(&[due::JOB]),
    )
}

/// A fresh skill with `config`; the skill actor's factory calls this.
pub fn skill(config: ReminderConfig) -> Box<dyn Skill> {
    Box::new(ReminderService { config })
}

/// The reminders skill: deciding is parsing; the work happens in the effects.
#[derive(Debug, Clone, Default)]
pub struct ReminderService {
    config: ReminderConfig,
}

impl Skill for ReminderService {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let effect: Box<dyn Effect> = match &request.job {
            Some((job, run_key)) if job == due::JOB => Box::new(FireEffect {
                run: due::parse_run_key(run_key),
                template: self.config.templates.get(&request.household).cloned(),
                household: request.household,
                now: request.now,
            }),
            _ => Box::new(CommandEffect {
                command: parse(&request.text).unwrap_or(ReminderCommand::Help),
                members: self
                    .config
                    .members
                    .get(&request.household)
                    .cloned()
                    .unwrap_or_default(),
                household: request.household,
                sender_id: request.sender.id.clone(),
                sender_name: request
                    .sender
                    .name
                    .clone()
                    .unwrap_or_else(|| request.sender.id.clone()),
                platform: request.envelope.platform,
                account: request.envelope.account,
                conversation: request.envelope.conversation,
                is_group: request.envelope.is_group,
                now: request.now,
                tz: request.timezone,
            }),
        };
        Box::pin(futures::future::ready(Ok(SkillOutcome { effect })))
    }
}

/// One typed command applied to the household's reminders.
#[derive(Debug, Clone)]
pub struct CommandEffect {
    household: String,
    command: ReminderCommand,
    members: Vec<(String, Option<String>)>,
    sender_id: String,
    sender_name: String,
    platform: Platform,
    account: String,
    conversation: String,
    is_group: bool,
    now: DateTime<Utc>,
    tz: Tz,
}

impl CommandEffect {
    async fn run(&self, tx: &mut Tx<'_>) -> Result<String, StoreError> {
        let household = self.household.as_str();
        match &self.command {
            ReminderCommand::Add { to, text, when } => self.add(tx, to, text, *when).await,
            ReminderCommand::List => {
                let active = store::active(tx, household).await?;
                Ok(listing(&active, self.now))
            }
            ReminderCommand::Cancel(number) => {
                match store::by_number(tx, household, *number).await? {
                    Some(mut reminder) if reminder.state == State::Active => {
                        reminder.state = State::Cancelled;
                        store::save(tx, household, &reminder).await?;
                        Ok(format!("Cancelled reminder {number}: {}.", reminder.text))
                    }
                    _ => Ok(format!(
                        "There is no reminder {number} to cancel. Say \"reminders\" to see them."
                    )),
                }
            }
            ReminderCommand::Snooze(delay) => {
                let last =
                    store::last_sent(tx, household, self.platform, &self.conversation).await?;
                let Some(last) = last else {
                    return Ok("There is nothing to snooze: no reminder was sent here yet.".into());
                };
                let due = self.now + *delay;
                let new = NewReminder {
                    text: last.text.clone(),
                    for_name: last.for_name.clone(),
                    created_by: self.sender_id.clone(),
                    created_by_name: last.created_by_name.clone(),
                    platform: last.platform,
                    account: last.account.clone(),
                    conversation: last.conversation.clone(),
                    is_group: last.is_group,
                    timezone: self.tz,
                    repeat: None,
                    due,
                };
                let snoozed = store::insert(tx, household, new, self.now).await?;
                Ok(format!(
                    "⏰ Snoozed: I'll remind you again {} — {} (reminder {}).",
                    when_text(snoozed.due, self.now, self.tz),
                    snoozed.text,
                    snoozed.number
                ))
            }
            ReminderCommand::Help => Ok(format!(
                "I can set reminders like:\n• {}",
                HELP.join("\n• ")
            )),
        }
    }

    async fn add(
        &self,
        tx: &mut Tx<'_>,
        to: &Target,
        text: &str,
        when: When,
    ) -> Result<String, StoreError> {
        let sender_first = first_name(&self.sender_name);
        let target = match to {
            Target::Named(name) if !name.eq_ignore_ascii_case(sender_first) => {
                match self.member(name) {
                    Ok(target) => Some(target),
                    Err(reply) => return Ok(reply),
                }
            }
            _ => None,
        };
        let Some((due, repeat)) = first_due(when, self.now, self.tz) else {
            return Ok(
                "That time has already passed today. Say \"tomorrow at …\" or pick a later time."
                    .to_owned(),
            );
        };
        let (for_name, platform, conversation, is_group) = match &target {
            Some((name, chat)) => (Some(name.clone()), Platform::WhatsApp, chat.clone(), false),
            None => (
                None,
                self.platform,
                self.conversation.clone(),
                self.is_group,
            ),
        };
        let new = NewReminder {
            text: text.to_owned(),
            for_name: for_name.clone(),
            created_by: self.sender_id.clone(),
            created_by_name: self.sender_name.clone(),
            platform,
            account: self.account.clone(),
            conversation,
            is_group,
            timezone: self.tz,
            repeat,
            due,
        };
        let reminder = store::insert(tx, &self.household, new, self.now).await?;
        let whom = for_name.as_deref().unwrap_or("you");
        let schedule = match reminder.repeat {
            Some((repeat, time)) => format!(
                "{}, first {}",
                repeat_text(repeat, time),
                when_text(reminder.due, self.now, self.tz)
            ),
            None => when_text(reminder.due, self.now, self.tz),
        };
        Ok(format!(
            "⏰ OK, I'll remind {whom} to {text} {schedule} (reminder {}).",
            reminder.number
        ))
    }

    /// The member `name` names and their chat; else the reply saying why not.
    fn member(&self, name: &str) -> Result<(String, String), String> {
        let known = self
            .members
            .iter()
            .find(|(member, _)| first_name(member).eq_ignore_ascii_case(name));
        match known {
            Some((member, Some(chat))) => Ok((first_name(member).to_owned(), chat.clone())),
            Some((member, None)) => Err(format!(
                "{member} has no WhatsApp number in the households file, so I can't remind them."
            )),
            None => {
                let names: Vec<&str> = self.members.iter().map(|(m, _)| first_name(m)).collect();
                Err(if names.is_empty() {
                    format!("I don't know {name}: I can only remind the household's members, and none are configured.")
                } else {
                    format!(
                        "I don't know {name} in this household. I can remind: {}.",
                        names.join(", ")
                    )
                })
            }
        }
    }
}

impl Effect for CommandEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(vec![Reply::text(self.run(tx).await?)]) })
    }
}

/// One occurrence of a reminder, sent: the message, and the reminder marked sent or moved on to
/// its next occurrence, in the run's transaction. A run that no longer matches the reminder
/// (cancelled, or already handled and moved on) sends nothing.
#[derive(Debug, Clone)]
pub struct FireEffect {
    household: String,
    /// The reminder's id and the occurrence's due instant.
    run: Option<(i64, DateTime<Utc>)>,
    template: Option<ReminderTemplate>,
    now: DateTime<Utc>,
}

impl FireEffect {
    async fn run(&self, tx: &mut Tx<'_>) -> Result<Vec<Reply>, StoreError> {
        let Some((id, due)) = self.run else {
            tracing::warn!("A reminder run with an unreadable key; nothing is sent.");
            return Ok(Vec::new());
        };
        let Some(mut reminder) = store::by_id(tx, &self.household, id).await? else {
            return Ok(Vec::new());
        };
        if reminder.state != State::Active
            || model::instant_key(reminder.due) != model::instant_key(due)
        {
            return Ok(Vec::new());
        }
        let text = message(&reminder);
        let last = tx
            .last_message_from_person(reminder.platform, &reminder.conversation)
            .await?;
        let within =
            last.is_some_and(|at| self.now - at < chrono::Duration::hours(SERVICE_WINDOW_HOURS));
        let body = match (&self.template, reminder.platform) {
            (Some(template), Platform::WhatsApp) if !within => OutboundBody::Template {
                name: template.name.clone(),
                language: template.language.clone(),
                parameters: vec![text],
            },
            (None, Platform::WhatsApp) if !within => {
                tracing::warn!("A reminder is due outside WhatsApp's 24-hour window and the household has no reminder template; sending free text, which WhatsApp will likely refuse.");
                OutboundBody::Text { text }
            }
            _ => OutboundBody::Text { text },
        };
        reminder.last_sent_at = Some(self.now);
        match reminder.repeat {
            Some((repeat, time)) => {
                let after = reminder.due.max(self.now);
                match next_after(repeat, time, reminder.timezone, after) {
                    Some(next) => reminder.due = next,
                    None => reminder.state = State::Done,
                }
            }
            None => reminder.state = State::Done,
        }
        store::save(tx, &self.household, &reminder).await?;
        Ok(vec![Reply {
            to: ReplyTo::Conversation,
            body,
        }])
    }
}

impl Effect for FireEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(self.run(tx))
    }
}

/// The household's reminders due on the local date of `now` (for the morning briefing):
/// `(local time, text)`, soonest first.
pub async fn reminders_today(
    tx: &mut Tx<'_>,
    household: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<(NaiveTime, String)>, StoreError> {
    let today = now.with_timezone(&tz).date_naive();
    Ok(store::active(tx, household)
        .await?
        .into_iter()
        .filter_map(|r| {
            let local = r.due.with_timezone(&tz);
            (local.date_naive() == today).then(|| {
                let text = match &r.for_name {
                    Some(name) => format!("{name}: {}", r.text),
                    None => r.text.clone(),
                };
                (local.time(), text)
            })
        })
        .collect())
}

/// The message a reminder is sent as.
fn message(reminder: &Reminder) -> String {
    match &reminder.for_name {
        Some(name) => format!(
            "⏰ {name}, {} asked me to remind you: {}",
            first_name(&reminder.created_by_name),
            reminder.text
        ),
        None if reminder.is_group => format!(
            "⏰ {}, reminder: {}",
            first_name(&reminder.created_by_name),
            reminder.text
        ),
        None => format!("⏰ Reminder: {}", reminder.text),
    }
}

/// The list of reminders to come.
fn listing(reminders: &[Reminder], now: DateTime<Utc>) -> String {
    if reminders.is_empty() {
        return "No reminders. Try \"remind me in 20 minutes to water the plants\".".to_owned();
    }
    let mut text = String::from("Reminders:");
    for r in reminders {
        let whom = r
            .for_name
            .as_ref()
            .map(|name| format!("{name}: "))
            .unwrap_or_default();
        let when = match r.repeat {
            Some((repeat, time)) => format!(
                "{}, next {}",
                repeat_text(repeat, time),
                when_text(r.due, now, r.timezone)
            ),
            None => when_text(r.due, now, r.timezone),
        };
        text.push_str(&format!("\n{}. {whom}{} — {when}", r.number, r.text));
    }
    text
}

/// "today at 14:32", "tomorrow at 17:00", "on Thu 3 Dec at 07:00".
fn when_text(due: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    let local = due.with_timezone(&tz);
    let today = now.with_timezone(&tz).date_naive();
    let time = local.format("%H:%M");
    if local.date_naive() == today {
        format!("today at {time}")
    } else if today.checked_add_days(Days::new(1)) == Some(local.date_naive()) {
        format!("tomorrow at {time}")
    } else {
        format!("on {} at {time}", local.format("%a %-d %b"))
    }
}

/// "every Thursday at 07:00", "every day at 08:00".
fn repeat_text(repeat: Repeat, time: NaiveTime) -> String {
    let time = time.format("%H:%M");
    match repeat {
        Repeat::Daily => format!("every day at {time}"),
        Repeat::Weekly(day) => format!("every {} at {time}", weekday_name(day)),
    }
}

fn weekday_name(day: chrono::Weekday) -> &'static str {
    match day {
        chrono::Weekday::Mon => "Monday",
        chrono::Weekday::Tue => "Tuesday",
        chrono::Weekday::Wed => "Wednesday",
        chrono::Weekday::Thu => "Thursday",
        chrono::Weekday::Fri => "Friday",
        chrono::Weekday::Sat => "Saturday",
        chrono::Weekday::Sun => "Sunday",
    }
}

/// "Dana" for "Dana Smith".
fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}
