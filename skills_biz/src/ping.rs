//! `ping`: answers "pong", so an operator can see the whole path work (`/alfred ping` on Slack).

use std::sync::Arc;

use alfred_actors::skill::{ReplyOnly, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute};
use futures::future::BoxFuture;

/// The skill's name; its actor is `skill/ping`.
pub const NAME: &str = "ping";

/// The reply to a ping.
pub const PONG: &str = "pong";

/// Understands exactly "ping" (trimmed, any case).
#[derive(Debug, Clone, Copy, Default)]
pub struct PingRoute;

impl SkillRoute for PingRoute {
    fn name(&self) -> &'static str {
        NAME
    }

    fn help(&self) -> Vec<&'static str> {
        vec!["ping — check that Alfred is listening"]
    }

    fn understands(&self, text: &str) -> bool {
        text.trim().eq_ignore_ascii_case("ping")
    }
}

/// The shared route, for the orchestrator's routing table.
pub fn route() -> Arc<dyn SkillRoute> {
    Arc::new(PingRoute)
}

/// A fresh skill; the skill actor's factory calls this on every (re)start.
pub fn skill() -> Box<dyn Skill> {
    Box::new(PingSkill)
}

/// Answers every request with [`PONG`]; changes no state.
#[derive(Debug, Clone, Copy, Default)]
pub struct PingSkill;

impl Skill for PingSkill {
    fn handle(
        &mut self,
        _request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let outcome = SkillOutcome {
            effect: Box::new(ReplyOnly(vec![PONG.to_owned()])),
        };
        Box::pin(futures::future::ready(Ok(outcome)))
    }
}
