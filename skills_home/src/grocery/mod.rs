//! GroceryService: the household's shared shopping list.
//!
//! * [`parse`] — the deterministic grammar ("add milk, eggs and 2 kg apples", "got milk",
//!   "remove milk", "list", "clear bought", "clear the list", "undo") into a [`GroceryCommand`];
//! * [`route`] — tells the orchestrator which texts the grammar understands (exactly what
//!   [`parse`] accepts) and offers the LLM the tools of `tools`;
//! * [`GroceryService`] — the skill: turns a request into a [`GroceryEffect`];
//! * [`GroceryEffect`] — applies the command inside the message's transaction: reads the
//!   household's lines (under its lock), lets `plan` decide the change (the same code for both
//!   stores), writes it to Postgres ([`TABLE`]) or the in-memory [`GroceryState`] slot together
//!   with its undo record (`undo`), and renders the reply (`reply`) from what actually changed;
//! * `convert` (which units sum), `category` (the aisle table the list is grouped by).
//!
//! Everything is keyed by `SkillRequest.household` alone: which conversations share a list is
//! the orchestrator's decision. Times come from `SkillRequest.now`, never the system clock.
//! The skill keeps no state of its own (the list lives in the store), so a restart loses nothing.

mod apply;
mod category;
mod convert;
mod mem;
mod model;
mod parse;
mod pg;
mod plan;
mod quantity;
mod reply;
mod report;
mod store;
mod tools;
mod undo;

use std::sync::Arc;

use alfred_actors::skill::{
    Effect, GrammarRoute, ReplyOnly, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute,
};
use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, SubsecRound, Utc};
use futures::future::BoxFuture;

pub use self::category::{Category, KEYWORDS};
pub use self::convert::Family;
pub use self::mem::{GroceryState, SLOT};
pub use self::model::{name_key, GroceryCommand, ItemSpec, Who};
pub use self::parse::parse;
pub use self::quantity::{Quantity, Unit};
pub use self::report::{
    AddReport, Added, Bought, Change, CheckOffReport, ClearBoughtReport, ListedItem, RemoveReport,
    UndoReport,
};
pub use self::undo::DEPTH as UNDO_DEPTH;

/// The Postgres table holding every household's lines.
pub const TABLE: &str = "grocery_items";

/// The Postgres table holding every member's recent changes, for undo.
pub const CHANGES_TABLE: &str = "grocery_changes";

#[doc(hidden)]
pub use self::pg::HOT_STATEMENTS;

/// The skill's name; its actor is `skill/grocery`.
pub const NAME: &str = "grocery";

const HELP: [&str; 7] = [
    "add milk, eggs and 2 kg apples — add to the shopping list",
    "got milk — tick an item off as bought",
    "remove milk — take an item off the list",
    "list — show the shopping list by aisle",
    "clear bought — remove the ticked-off items",
    "clear the list — empty the shopping list",
    "undo — undo your last change to the list",
];

/// The shared route, for the orchestrator's routing table: understands exactly what
/// [`parse`] accepts.
pub fn route() -> Arc<dyn SkillRoute> {
    Arc::new(
        GrammarRoute::new(NAME, &HELP, |text| parse(text).is_some())
            .with_tools(tools::specs, tools::command_for),
    )
}

/// A fresh skill; the skill actor's factory calls this on every (re)start.
pub fn skill() -> Box<dyn Skill> {
    Box::new(GroceryService)
}

/// The household's list (bought lines included), in order of first addition; for other
/// skills that show it (the morning briefing). Reads inside the caller's transaction.
pub async fn items(tx: &mut Tx<'_>, household: &str) -> Result<Vec<ListedItem>, StoreError> {
    store::load(tx, household).await
}

/// The GroceryService skill. Stateless: deciding is parsing; the work happens in the effect.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroceryService;

impl Skill for GroceryService {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let effect: Box<dyn Effect> = match parse(&request.text) {
            Some(command) => Box::new(GroceryEffect::new(
                request.household,
                Who::from_sender(&request.sender),
                request.now,
                command,
            )),
            // Only reached when routed despite `understands` saying no; still answer.
            None => Box::new(ReplyOnly(vec![reply::not_understood(&HELP)])),
        };
        Box::pin(futures::future::ready(Ok(SkillOutcome { effect })))
    }
}

/// One command applied to one household's list.
#[derive(Debug, Clone)]
pub struct GroceryEffect {
    household: String,
    who: Who,
    now: DateTime<Utc>,
    command: GroceryCommand,
}

impl GroceryEffect {
    /// The effect of `command` sent by `who` in `household` at `now`.
    ///
    /// `now` is kept to the microsecond, Postgres' precision, so a line reads back exactly as
    /// it was written (undo compares lines for equality).
    pub fn new(
        household: impl Into<String>,
        who: Who,
        now: DateTime<Utc>,
        command: GroceryCommand,
    ) -> Self {
        GroceryEffect {
            household: household.into(),
            who,
            now: now.trunc_subsecs(6),
            command,
        }
    }

    async fn run(&self, tx: &mut Tx<'_>) -> Result<String, StoreError> {
        let GroceryEffect {
            household,
            who,
            now,
            command,
        } = self.clone();
        let h = household.as_str();
        // Showing the list changes nothing and need not wait for the household's lock.
        let rows = match command {
            GroceryCommand::List => store::load(tx, h).await?,
            _ => store::lock_and_load(tx, h).await?,
        };
        let (plan, summary, text) = match command {
            GroceryCommand::Add(items) => {
                let planned = plan::add(&rows, &who, now, model::merge_duplicates(items));
                let summary = reply::added_summary(&planned.report);
                (planned.plan, summary, reply::added(&planned.report))
            }
            GroceryCommand::Remove(items) => {
                let planned = plan::remove(&rows, model::unique_keys(items));
                let summary = reply::removed_summary(&planned.report);
                (planned.plan, Some(summary), reply::removed(&planned.report))
            }
            GroceryCommand::CheckOff(items) => {
                let planned = plan::check_off(&rows, &who, now, model::unique_keys(items));
                let summary = reply::checked_off_summary(&planned.report);
                (
                    planned.plan,
                    Some(summary),
                    reply::checked_off(&planned.report),
                )
            }
            GroceryCommand::ClearBought => {
                let planned = plan::clear_bought(&rows);
                let summary = reply::cleared_bought_summary(&planned.report);
                (
                    planned.plan,
                    Some(summary),
                    reply::cleared_bought(&planned.report),
                )
            }
            GroceryCommand::Clear => {
                let planned = plan::clear(&rows);
                let summary = reply::cleared_summary(planned.report);
                (planned.plan, Some(summary), reply::cleared(planned.report))
            }
            GroceryCommand::Undo => {
                let report = undo(tx, h, &who, &rows).await?;
                return Ok(reply::undone(&report));
            }
            GroceryCommand::List => (plan::Plan::default(), None, reply::listing(&rows)),
        };
        if let Some(summary) = summary {
            store::commit(tx, h, &who.id, now, &rows, plan, summary).await?;
        }
        Ok(text)
    }
}

/// Reverts the sender's latest change, if it still can be (see `undo`).
async fn undo(
    tx: &mut Tx<'_>,
    household: &str,
    who: &Who,
    rows: &[ListedItem],
) -> Result<UndoReport, StoreError> {
    let Some(change) = store::pop(tx, household, &who.id).await? else {
        return Ok(UndoReport::Nothing);
    };
    Ok(match undo::revert(rows, &change) {
        Ok(plan) => {
            store::write(tx, household, plan).await?;
            UndoReport::Undone {
                summary: change.summary,
            }
        }
        Err(changed) => UndoReport::Conflict {
            summary: change.summary,
            changed,
        },
    })
}
