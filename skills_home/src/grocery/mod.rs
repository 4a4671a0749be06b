//! GroceryService: the household's shared shopping list.
//!
//! * [`parse`] — the deterministic grammar ("add milk, eggs and 2 kg apples", "remove milk",
//!   "list", "clear the list") into a [`GroceryCommand`];
//! * [`GroceryRoute`] — tells the orchestrator which texts the grammar understands;
//! * [`GroceryService`] — the skill: turns a request into a [`GroceryEffect`];
//! * [`GroceryEffect`] — applies the command to the store (Postgres table [`TABLE`], or the
//!   in-memory [`GroceryState`] slot) inside the message's transaction and renders the reply from
//!   what actually changed, so a reply never claims what did not happen.
//!
//! The skill keeps no state of its own (the list lives in the store), so a restart loses nothing.

mod mem;
mod model;
mod parse;
mod pg;
mod quantity;
mod reply;

use std::sync::Arc;

use alfred_actors::skill::{
    Effect, ReplyOnly, Skill, SkillError, SkillOutcome, SkillRequest, SkillRoute, StoreError, Tx,
};
use futures::future::BoxFuture;

pub use self::mem::{GroceryState, SLOT};
pub use self::model::{
    name_key, AddReport, Added, GroceryCommand, ItemSpec, ListedItem, RemoveReport, Who,
};
pub use self::parse::parse;
pub use self::quantity::{Quantity, Unit};

/// The Postgres table holding every household's items.
pub const TABLE: &str = "grocery_items";

/// The skill's name; its actor is `skill/grocery`.
pub const NAME: &str = "grocery";

const HELP: [&str; 4] = [
    "add milk, eggs and 2 kg apples — add to the shopping list",
    "remove milk — take an item off the list",
    "list — show the shopping list",
    "clear the list — empty the shopping list",
];

/// The route of the shopping list: understands exactly what [`parse`] accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroceryRoute;

impl SkillRoute for GroceryRoute {
    fn name(&self) -> &'static str {
        NAME
    }

    fn help(&self) -> Vec<&'static str> {
        HELP.to_vec()
    }

    fn understands(&self, text: &str) -> bool {
        parse(text).is_some()
    }
}

/// The shared route, for the orchestrator's routing table.
pub fn route() -> Arc<dyn SkillRoute> {
    Arc::new(GroceryRoute)
}

/// A fresh skill; the skill actor's factory calls this on every (re)start.
pub fn skill() -> Box<dyn Skill> {
    Box::new(GroceryService)
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
                command,
            )),
            // Only reached when routed despite `understands` saying no; still answer.
            None => Box::new(ReplyOnly(vec![format!(
                "Sorry, I didn't get that. Try: {}.",
                HELP.iter()
                    .map(|line| line.split(" — ").next().unwrap_or(line))
                    .collect::<Vec<_>>()
                    .join("; ")
            )])),
        };
        Box::pin(futures::future::ready(Ok(SkillOutcome { effect })))
    }
}

/// One command applied to one household's list.
#[derive(Debug, Clone)]
pub struct GroceryEffect {
    household: String,
    who: Who,
    command: GroceryCommand,
}

impl GroceryEffect {
    /// The effect of `command` sent by `who` in `household`.
    pub fn new(household: impl Into<String>, who: Who, command: GroceryCommand) -> Self {
        GroceryEffect {
            household: household.into(),
            who,
            command,
        }
    }

    async fn run(self, tx: &mut Tx<'_>) -> Result<String, StoreError> {
        let GroceryEffect {
            household,
            who,
            command,
        } = self;
        Ok(match command {
            GroceryCommand::Add(items) => {
                let items = model::merge_duplicates(items);
                let report = match tx {
                    Tx::Pg(pg) => pg::add(pg, &household, &who, items).await?,
                    Tx::Mem(mem) => mem.slot::<GroceryState>(SLOT)?.add(&household, &who, items),
                };
                reply::added(&report)
            }
            GroceryCommand::Remove(items) => {
                let items = model::unique_keys(items);
                let report = match tx {
                    Tx::Pg(pg) => pg::remove(pg, &household, items).await?,
                    Tx::Mem(mem) => mem.slot::<GroceryState>(SLOT)?.remove(&household, items),
                };
                reply::removed(&report)
            }
            GroceryCommand::List => {
                let items = match tx {
                    Tx::Pg(pg) => pg::list(pg, &household).await?,
                    Tx::Mem(mem) => mem.slot::<GroceryState>(SLOT)?.items(&household),
                };
                reply::listing(&items)
            }
            GroceryCommand::Clear => {
                let count = match tx {
                    Tx::Pg(pg) => pg::clear(pg, &household).await?,
                    Tx::Mem(mem) => mem.slot::<GroceryState>(SLOT)?.clear(&household),
                };
                reply::cleared(count)
            }
        })
    }
}

impl Effect for GroceryEffect {
    fn apply<'a>(
        self: Box<Self>,
        tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move { Ok(vec![self.run(tx).await?]) })
    }
}
