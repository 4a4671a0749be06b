//! Home skills: the household's shared shopping list (`GroceryService`), and later chores and
//! the morning briefing.
//!
//! Each skill is a module exposing `route()` (the pure [`SkillRoute`] the orchestrator routes
//! with) and `skill()` (a fresh [`Skill`] for the supervised skill actor). Skills decide and
//! return an effect; the orchestrator applies that effect inside the message's transaction.
//!
//! This crate must not know about HTTP, Redis, platform wire formats or the Biz skills; it sees
//! the store only through `alfred_actors::skill::Tx`.

use std::sync::Arc;

use alfred_actors::skill::{Skill, SkillRoute};

pub mod grocery;

/// Builds a fresh skill; the skill actor calls it on every (re)start.
pub type SkillFactory = fn() -> Box<dyn Skill>;

/// Every Home skill in routing order: its route and the factory of a fresh skill.
pub fn skills() -> Vec<(Arc<dyn SkillRoute>, SkillFactory)> {
    vec![(grocery::route(), grocery::skill)]
}
