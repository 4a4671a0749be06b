//! Biz skills: `ping`, `crm` (CRMQueryService: contacts and deals, and the CSV import behind
//! `alfred crm import`), `inbox` (WorkInboxService: the work mailbox's triage).
//!
//! Each skill is a module exposing `route()` (the pure [`SkillRoute`] the orchestrator routes
//! with) and `skill()` (a fresh [`Skill`] for the supervised skill actor). Skills decide and
//! return an effect; the orchestrator applies it inside the message's transaction.
//!
//! This crate must not know about HTTP, Redis, platform wire formats or the Home skills, so that
//! a Biz build can leave `skills_home` out entirely.

use std::sync::Arc;

use alfred_actors::skill::{Skill, SkillRoute};

pub mod crm;
pub mod inbox;
pub mod ping;

/// Builds a fresh skill; the skill actor calls it on every (re)start.
pub type SkillFactory = fn() -> Box<dyn Skill>;

/// Every Biz skill in routing order: its route and the factory of a fresh skill.
pub fn skills() -> Vec<(Arc<dyn SkillRoute>, SkillFactory)> {
    vec![(ping::route(), ping::skill), (crm::route(), crm::skill)]
}
