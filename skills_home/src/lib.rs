//! Home skills: the household's shared shopping list ([`grocery`], GroceryService), household
//! chores with rotations and reminders ([`chores`], ChoreService), and the morning briefing
//! ([`briefing`], MorningBriefingJob).
//!
//! Each skill is a module exposing `route()` (the pure [`SkillRoute`] the orchestrator routes
//! with) and `skill()` (a fresh [`Skill`] for the supervised skill actor). Skills decide and
//! return an effect; the orchestrator applies that effect inside the message's transaction.
//!
//! This crate must not know about HTTP, Redis, platform wire formats or the Biz skills; it sees
//! the store only through `alfred_actors::store::Tx`.

use std::sync::Arc;

use alfred_actors::skill::{Skill, SkillRoute};

pub mod briefing;
pub mod chores;
pub mod grocery;

/// Builds a fresh skill; the skill actor calls it on every (re)start.
pub type SkillFactory = fn() -> Box<dyn Skill>;

/// Every Home skill in routing order: its route and the factory of a fresh skill.
///
/// Chores come first: the orchestrator gives a text to the first skill that understands it,
/// and the shopping list's "add …" would otherwise take "add chore dishes daily" as an item.
/// The chores grammar claims only chore-shaped sentences, so the list still gets the rest.
pub fn skills() -> Vec<(Arc<dyn SkillRoute>, SkillFactory)> {
    vec![
        // Claims only "briefing"-shaped texts; without templates it always sends free text
        // (the runtime builds it with the households' templates instead).
        (briefing::route(), || briefing::skill(Default::default())),
        (chores::route(), chores::skill),
        (grocery::route(), grocery::skill),
    ]
}
