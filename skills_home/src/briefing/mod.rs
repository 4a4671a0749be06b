//! MorningBriefingJob: the household's daily summary — chores due today, the shopping list,
//! reminders — sent by the scheduler's `briefing` job at the household's local time, or on
//! demand when someone writes "briefing".
//!
//! * [`sources`] — reads the chores ([`chores::chores_due_today`](crate::chores::chores_due_today))
//!   and the list ([`grocery::items`](crate::grocery::items)), each in its own savepoint, so a
//!   source whose query fails is marked unavailable and the rest still goes out;
//! * [`render`] — the text template and the template parameters, from the data alone (the
//!   greeting is fixed: no LLM phrases anything, so nothing can be invented);
//! * `model` — the [`Briefing`] read from those sources and the [`TemplateField`]s a template
//!   is filled with, shared by the other three;
//! * [`delivery`] — free text inside WhatsApp's 24-hour customer-service window, the
//!   household's approved template outside it.
//!
//! Exactly-once per local day is the scheduler's and the inbox's business, not this module's:
//! each run arrives once as a [`SkillRequest`] with `job: Some(("briefing", run_key))`, and
//! its replies go to the run's conversation. This module keeps no state; it only reads.

pub mod delivery;
mod model;
pub mod render;
pub mod sources;

use std::collections::HashMap;
use std::sync::Arc;

use alfred_actors::messages::{OutboundBody, Platform};
use alfred_actors::skill::{
    Effect, Reply, ReplyTo, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute,
};
use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;

pub use self::delivery::{
    outbound, within_service_window, BriefingTemplate, Outbound, SERVICE_WINDOW_HOURS,
};
pub use self::model::{Briefing, TemplateField};
pub use self::sources::gather;

/// The skill's name; its actor is `skill/briefing`.
pub const NAME: &str = "briefing";

/// The scheduled job this skill runs (`src/jobs.rs` schedules it under the same name).
pub const JOB: &str = "briefing";

const HELP: [&str; 1] = ["briefing — today's chores, shopping list and reminders"];

/// The briefing templates of the households that have one, by household id.
pub type Templates = HashMap<String, BriefingTemplate>;

/// The route: the `briefing` job, and an explicit "briefing" from a person.
#[derive(Debug, Clone, Copy, Default)]
pub struct BriefingRoute;

impl SkillRoute for BriefingRoute {
    fn name(&self) -> &'static str {
        NAME
    }

    fn help(&self) -> Vec<&'static str> {
        HELP.to_vec()
    }

    fn understands(&self, text: &str) -> bool {
        is_request(text)
    }

    fn jobs(&self) -> Vec<&'static str> {
        vec![JOB]
    }
}

/// Whether `text` asks for the briefing: "briefing", "morning briefing", "today's briefing",
/// "the briefing please", … and nothing longer, so it never takes another skill's command.
pub fn is_request(text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '!' | '?'))
        .filter(|w| !w.is_empty() && !matches!(*w, "please" | "the" | "my" | "our"))
        .collect();
    match words.as_slice() {
        ["briefing"] => true,
        [first, "briefing"] => matches!(
            *first,
            "morning" | "daily" | "today's" | "todays" | "today’s" | "send" | "show"
        ),
        _ => false,
    }
}

/// The shared route, for the orchestrator's routing table.
pub fn route() -> Arc<dyn SkillRoute> {
    Arc::new(BriefingRoute)
}

/// A fresh skill knowing the households' briefing templates (by household id); the runtime
/// builds it from the households file. A household without one gets free text only.
pub fn skill(templates: Arc<Templates>) -> Box<dyn Skill> {
    Box::new(BriefingService { templates })
}

/// The MorningBriefingJob skill. Stateless apart from the configured templates.
#[derive(Debug, Clone, Default)]
pub struct BriefingService {
    templates: Arc<Templates>,
}

impl Skill for BriefingService {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let on_demand = request.job.is_none();
        let effect = BriefingEffect {
            template: self.templates.get(&request.household).cloned(),
            household: request.household,
            now: request.now,
            tz: request.timezone,
            platform: request.envelope.platform,
            conversation: request.envelope.conversation,
            on_demand,
        };
        Box::pin(futures::future::ready(Ok(SkillOutcome {
            effect: Box::new(effect),
        })))
    }
}

/// One briefing of one household, read and rendered inside the run's transaction.
#[derive(Debug, Clone)]
pub struct BriefingEffect {
    household: String,
    now: DateTime<Utc>,
    tz: Tz,
    platform: Platform,
    conversation: String,
    template: Option<BriefingTemplate>,
    /// Asked for by a person who just wrote, so always inside the service window.
    on_demand: bool,
}

impl BriefingEffect {
    /// The briefing of `household` at `now` (local dates in `tz`) for `conversation` on
    /// `platform`; `template` is sent outside the service window. `on_demand`: a person asked.
    pub fn new(
        household: impl Into<String>,
        now: DateTime<Utc>,
        tz: Tz,
        platform: Platform,
        conversation: impl Into<String>,
        template: Option<BriefingTemplate>,
        on_demand: bool,
    ) -> Self {
        BriefingEffect {
            household: household.into(),
            now,
            tz,
            platform,
            conversation: conversation.into(),
            template,
            on_demand,
        }
    }

    /// Reads the sources and decides the message.
    pub async fn run(&self, tx: &mut Tx<'_>) -> Result<Outbound, StoreError> {
        let briefing = gather(tx, &self.household, self.now, self.tz).await?;
        let within = self.on_demand || self.within_window(tx).await?;
        Ok(outbound(
            &briefing,
            self.platform,
            within,
            self.template.as_ref(),
        ))
    }

    /// Whether a person wrote in the conversation within the service window, by the runtime
    /// clock (`now`), as the inbox recorded it.
    async fn within_window(&self, tx: &mut Tx<'_>) -> Result<bool, StoreError> {
        let last = tx
            .last_message_from_person(self.platform, &self.conversation)
            .await?;
        Ok(within_service_window(last, self.now))
    }
}

/// The replies an [`Outbound`] becomes: one message to the run's conversation (for a request
/// from a person, quoting it).
fn replies(outbound: Outbound) -> Vec<Reply> {
    let body = match outbound {
        Outbound::Text(text) => OutboundBody::Text { text },
        Outbound::Template {
            name,
            language,
            parameters,
        } => OutboundBody::Template {
            name,
            language,
            parameters,
        },
    };
    vec![Reply {
        to: ReplyTo::Conversation,
        body,
    }]
}

impl Effect for BriefingEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(replies(self.run(tx).await?)) })
    }
}
