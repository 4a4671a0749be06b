//! Home skills: the household's shared shopping list ([`grocery`], GroceryService), household
//! chores with rotations and reminders ([`chores`], ChoreService), reminders the family sets
//! ("remind me in 20 minutes to …", [`reminders`]), and the morning briefing ([`briefing`],
//! MorningBriefingJob).
//!
//! Each skill is a module exposing `route()` (the pure
//! [`SkillRoute`](alfred_actors::skill::SkillRoute) the orchestrator routes with) and `skill()`
//! (a fresh [`Skill`](alfred_actors::skill::Skill) for the supervised skill actor); [`skills`]
//! is the catalogue the runtime loads, in routing order. Skills decide and
//! return an effect; the orchestrator applies that effect inside the message's transaction.
//!
//! This crate must not know about HTTP, Redis, platform wire formats or the Biz skills; it sees
//! the store only through `alfred_actors::store::Tx`.

use std::sync::Arc;

use alfred_actors::access::Access;
use alfred_actors::skill::SkillEntry;

pub mod briefing;
pub mod chores;
pub mod grocery;
pub mod reminders;

/// What the Home skills take from the deployment's configuration (the households file).
#[derive(Debug, Clone, Default)]
pub struct HomeSkillsConfig {
    /// Each household's approved briefing template, sent outside WhatsApp's 24-hour window;
    /// a household without one always gets free text.
    pub briefing_templates: briefing::Templates,
    /// Each household's quiet hours, kept free of chore reminders.
    pub quiet_hours: chores::QuietHours,
    /// Each household's members (first name, WhatsApp id), who "remind Sam …" reaches.
    pub members: reminders::Members,
    /// Each household's approved reminder template, sent outside WhatsApp's 24-hour window.
    pub reminder_templates: reminders::Templates,
}

impl HomeSkillsConfig {
    /// What the reminders skill (and its scheduler source) take from this configuration:
    /// reminders keep out of the same quiet hours as chore reminders.
    pub fn reminders(&self) -> reminders::ReminderConfig {
        reminders::ReminderConfig {
            quiet_hours: Arc::new(self.quiet_hours.clone()),
            members: Arc::new(self.members.clone()),
            templates: Arc::new(self.reminder_templates.clone()),
        }
    }
}

/// The Home catalogue: every Home skill in routing order, built from `config`.
///
/// The orchestrator gives a text to the first skill that understands it. The briefing claims
/// only "briefing"-shaped texts, the reminders only "remind …", "reminders", "cancel reminder N"
/// and "snooze …". Chores come before the shopping list, whose "add …" would
/// otherwise take "add chore dishes daily" as an item; the chores grammar claims only
/// chore-shaped sentences, so the list still gets the rest. Every Home skill is the family's:
/// with a households file only its members' direct chats and its groups may use them
/// (`Access::Members`); strangers get one short refusal a day.
pub fn skills(config: &HomeSkillsConfig) -> Vec<SkillEntry> {
    let templates = Arc::new(config.briefing_templates.clone());
    let quiet_hours = Arc::new(config.quiet_hours.clone());
    let reminder_config = config.reminders();
    vec![
        SkillEntry::new(briefing::route(), Access::Members, move || {
            briefing::skill(templates.clone())
        }),
        SkillEntry::new(reminders::route(), Access::Members, move || {
            reminders::skill(reminder_config.clone())
        }),
        SkillEntry::new(chores::route(), Access::Members, move || {
            chores::skill_with(quiet_hours.clone())
        }),
        SkillEntry::new(grocery::route(), Access::Members, grocery::skill),
    ]
}
