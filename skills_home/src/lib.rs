//! Home skills: the household's shared shopping list ([`grocery`], GroceryService), household
//! chores with rotations and reminders ([`chores`], ChoreService), and the morning briefing
//! ([`briefing`], MorningBriefingJob).
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

/// What the Home skills take from the deployment's configuration (the households file).
#[derive(Debug, Clone, Default)]
pub struct HomeSkillsConfig {
    /// Each household's approved briefing template, sent outside WhatsApp's 24-hour window;
    /// a household without one always gets free text.
    pub briefing_templates: briefing::Templates,
    /// Each household's quiet hours, kept free of chore reminders.
    pub quiet_hours: chores::QuietHours,
}

/// The Home catalogue: every Home skill in routing order, built from `config`.
///
/// The orchestrator gives a text to the first skill that understands it. The briefing claims
/// only "briefing"-shaped texts. Chores come before the shopping list, whose "add …" would
/// otherwise take "add chore dishes daily" as an item; the chores grammar claims only
/// chore-shaped sentences, so the list still gets the rest. Every Home skill is the family's:
/// with a households file only its members' direct chats and its groups may use them
/// (`Access::Members`); strangers get one short refusal a day.
pub fn skills(config: &HomeSkillsConfig) -> Vec<SkillEntry> {
    let templates = Arc::new(config.briefing_templates.clone());
    let quiet_hours = Arc::new(config.quiet_hours.clone());
    vec![
        SkillEntry::new(briefing::route(), Access::Members, move || {
            briefing::skill(templates.clone())
        }),
        SkillEntry::new(chores::route(), Access::Members, move || {
            chores::skill_with(quiet_hours.clone())
        }),
        SkillEntry::new(grocery::route(), Access::Members, grocery::skill),
    ]
}
