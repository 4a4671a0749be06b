//! What the orchestrator is built from: its dependencies and the skills it routes to.

use std::sync::Arc;

use actix::Recipient;

use crate::access::{Access, StrangerPolicy};
use crate::bus::Bus;
use crate::clock::Clock;
use crate::households::HouseholdDirectory;
use crate::limits::Limiter;
use crate::llm::Llm;
use crate::metrics::Metrics;
use crate::skill::{Routed, SkillRequest, SkillRoute};
use crate::store::Store;
use crate::voice::Voice;

/// Everything the orchestrator needs; cloned into each (re)started incarnation.
#[derive(Clone)]
pub struct OrchestratorDeps {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    /// The prefixed `alfred-outbox` key.
    pub outbox_stream: String,
    /// The prefixed `alfred-outbox:dead` key, for replies the platform failed to deliver.
    pub outbox_dead_stream: String,
    /// Skills in routing order, each with the address of its supervised actor.
    pub skills: Vec<RoutedSkill>,
    /// Which household each conversation belongs to.
    pub households: Arc<HouseholdDirectory>,
    /// In a group, only messages starting with one of these (lower-case) are for Alfred.
    pub invoke_prefixes: Arc<Vec<String>>,
    /// The runtime's clock: the time skills see.
    pub clock: Arc<dyn Clock>,
    /// What a stranger gets (`STRANGERS`): with households configured, a conversation no
    /// household claims is a stranger's.
    pub strangers: StrangerPolicy,
    /// The optional LLM for text no skill's grammar understands; `None` answers help.
    pub llm: Option<Llm>,
    /// The optional transcription of voice notes (`TRANSCRIBE_URL`); `None` answers a voice
    /// note with a short "type it, please".
    pub voice: Option<Voice>,
    /// The per-sender limits (`SENDER_RATE_PER_MINUTE`, `LLM_DAILY_BUDGET`, `MAX_TEXT_CHARS`).
    pub limiter: Limiter,
    pub metrics: Metrics,
}

/// A skill's route, its access rule and the recipient of its actor.
#[derive(Clone)]
pub struct RoutedSkill {
    pub route: Arc<dyn SkillRoute>,
    /// Who may use the skill, checked before it is asked.
    pub access: Access,
    pub actor: Recipient<SkillRequest>,
}

impl Routed for RoutedSkill {
    fn route(&self) -> &dyn SkillRoute {
        self.route.as_ref()
    }

    fn access(&self) -> &Access {
        &self.access
    }
}
