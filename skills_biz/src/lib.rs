//! Biz skills: `ping`, `crm` (CRMQueryService: contacts and deals, and the CSV import behind
//! `alfred crm import`), `inbox` (WorkInboxService: the work mailbox's triage).
//!
//! Each skill is a module exposing `route()` (the pure
//! [`SkillRoute`](alfred_actors::skill::SkillRoute) the orchestrator routes with) and `skill()`
//! (a fresh [`Skill`](alfred_actors::skill::Skill) for the supervised skill actor); [`skills`]
//! is the catalogue the runtime loads, in routing order. Skills decide and
//! return an effect; the orchestrator applies it inside the message's transaction.
//!
//! This crate must not know about HTTP, Redis, platform wire formats or the Home skills, so that
//! a Biz build can leave `skills_home` out entirely.

use std::sync::Arc;

use alfred_actors::access::{Access, Readers};
use alfred_actors::skill::SkillEntry;

pub mod crm;
pub mod inbox;
pub mod ping;

/// What the Biz skills take from the deployment's configuration.
#[derive(Debug, Clone, Default)]
pub struct BizSkillsConfig {
    /// Who may read the work inbox (`INBOX_READERS`); nobody when empty.
    pub inbox_readers: Vec<String>,
    /// Who may ask the CRM (`CRM_READERS`); nobody when empty.
    pub crm_readers: Vec<String>,
}

/// The Biz catalogue: every Biz skill in routing order, with who may use it, built from
/// `config`.
///
/// The orchestrator gives a text to the first skill that understands it; the three grammars
/// claim disjoint texts (`ping`, CRM questions, inbox commands). `ping` is open to everyone;
/// the CRM and the work inbox answer only their readers (the orchestrator refuses everyone
/// else before the skill runs, and `help` lists them only to their readers).
pub fn skills(config: &BizSkillsConfig) -> Vec<SkillEntry> {
    let readers: Arc<[String]> = config.inbox_readers.clone().into();
    let inbox_access = Access::Readers(Readers::new(
        readers.clone(),
        inbox::reply::PRIVATE,
        inbox::reply::NOT_SET_UP,
    ));
    let crm_access = Access::Readers(Readers::new(
        config.crm_readers.clone(),
        crm::PRIVATE,
        crm::NOT_SET_UP,
    ));
    vec![
        SkillEntry::new(ping::route(), Access::Everyone, ping::skill),
        SkillEntry::new(crm::route(), crm_access, crm::skill),
        SkillEntry::new(inbox::route(), inbox_access, move || {
            inbox::skill(readers.clone())
        }),
    ]
}
