//! CRMQueryService: the business's companies, contacts and deals, and questions about them.
//!
//! * [`import`] — `alfred crm import FILE.csv`: the one CSV format (documented there), checked
//!   whole before anything is written, then upserted by natural keys in one transaction
//!   ([`import_records`]), so a re-import updates rather than duplicates;
//! * [`parse`] — the deterministic grammar of questions into a [`CrmQuery`];
//! * [`route`] — claims exactly what the grammar understands, and offers typed tools to the
//!   LLM (turned into grammar text, never SQL);
//! * [`CrmService`] — the skill: turns a request into a [`CrmEffect`], which reads the store
//!   inside the message's transaction and renders a short reply (`reply`);
//! * `model` — the values shared by the rest: amounts, matching keys, the typed questions, the
//!   rows replies show, and [`DealFilter`];
//! * `store` — the CRM as an effect or the import sees it, dispatching to `pg` (the tables of
//!   `migrations/0008_crm.sql`) or `mem` (the in-memory [`CrmState`]).
//!
//! The CRM is the Biz instance's, not a household's: every reader sees the same data. Only
//! the people in `CRM_READERS` may ask it: the catalogue declares that rule
//! ([`crate::skills`]) and the orchestrator refuses everyone else with [`PRIVATE`] (or
//! [`NOT_SET_UP`] while the list is empty) before this skill runs.
//! "This week" and "this month" are the requester's local calendar (`SkillRequest.timezone`)
//! at `SkillRequest.now`. Questions are about open deals: stages won and lost are closed.

pub mod import;
mod mem;
mod model;
mod parse;
mod pg;
mod reply;
mod store;
mod tools;

use std::sync::Arc;

use alfred_actors::skill::{
    Effect, GrammarRoute, Reply, ReplyOnly, Skill, SkillError, SkillOutcome, SkillRequest,
    SkillRoute,
};
use alfred_actors::store::{StoreError, Tx};
use chrono::{Datelike, Days, Months, NaiveDate};
use futures::future::BoxFuture;

pub use self::import::{parse_csv, ImportError, Record, RowError};
pub use self::mem::{CrmState, SLOT};
pub use self::model::{name_key, Amount, ContactView, CrmQuery, DealFilter, DealView, Period};
pub use self::parse::parse;

/// The skill's name; its actor is `skill/crm`.
pub const NAME: &str = "crm";

const HELP: [&str; 5] = [
    "who is Jane Doe / contact jane@acme.com — find a contact",
    "open deals for Acme — a company's open deals",
    "deals closing this week / this month",
    "deals over 10k / deals over 10,000 EUR",
    "my deals — the open deals you own",
];

/// The answer to anyone not in `CRM_READERS`: nothing about the CRM's contents.
pub const PRIVATE: &str = "The CRM is private: only the people in CRM_READERS can ask it.";
/// The answer to everyone while `CRM_READERS` is empty: how an operator enables the CRM.
pub const NOT_SET_UP: &str = "The CRM answers nobody yet: an operator enables it by listing \
     who may ask it in CRM_READERS (Slack user ids such as U024BE7LH, WhatsApp numbers).";

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
    Box::new(CrmService)
}

/// Writes already checked records ([`parse_csv`]) inside the caller's transaction.
pub async fn import_records(tx: &mut Tx<'_>, records: &[Record]) -> Result<(), StoreError> {
    store::write(tx, records).await
}

/// The CRMQueryService skill. Stateless: deciding is parsing; the reading is the effect's.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrmService;

impl Skill for CrmService {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let effect: Box<dyn Effect> = match parse(&request.text) {
            Some(query) => Box::new(CrmEffect {
                query,
                asker: request.sender.id,
                today: request.now.with_timezone(&request.timezone).date_naive(),
            }),
            None => Box::new(ReplyOnly(vec![format!(
                "I did not understand that. Try: {}",
                HELP.join("; ")
            )])),
        };
        Box::pin(futures::future::ready(Ok(SkillOutcome { effect })))
    }
}

/// One question, answered from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmEffect {
    /// The question.
    pub query: CrmQuery,
    /// The asker's platform user id (for "my deals").
    pub asker: String,
    /// The asker's local date.
    pub today: NaiveDate,
}

impl CrmEffect {
    async fn run(&self, tx: &mut Tx<'_>) -> Result<String, StoreError> {
        Ok(match &self.query {
            CrmQuery::Contact(asked) => {
                let found = store::contacts(tx, &name_key(asked)).await?;
                if found.is_empty() {
                    reply::no_contact(asked)
                } else {
                    reply::contacts(&found)
                }
            }
            CrmQuery::OpenDeals { company } => {
                let key = name_key(company);
                match store::company(tx, &key).await? {
                    None => reply::no_company(company),
                    Some(name) => {
                        let deals = store::deals(tx, &DealFilter::Company(key)).await?;
                        reply::company_deals(&name, &deals)
                    }
                }
            }
            CrmQuery::Closing(period) => {
                let (from, to, word) = span(self.today, *period);
                let deals = store::deals(tx, &DealFilter::ClosingBetween(from, to)).await?;
                reply::closing(word, from, to, &deals)
            }
            CrmQuery::Over { amount, currency } => {
                let filter = DealFilter::Over(*amount, currency.clone());
                let deals = store::deals(tx, &filter).await?;
                reply::over(*amount, currency.as_deref(), &deals)
            }
            CrmQuery::Mine => match store::owner(tx, &self.asker).await? {
                None => reply::unknown_owner(&self.asker),
                Some(owner) => {
                    let deals = store::deals(tx, &DealFilter::Owner(owner.clone())).await?;
                    reply::mine(&owner, &deals)
                }
            },
        })
    }
}

/// The first and last day of `today`'s week (Monday to Sunday) or month.
pub fn span(today: NaiveDate, period: Period) -> (NaiveDate, NaiveDate, &'static str) {
    match period {
        Period::Week => {
            let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
            (monday, monday + Days::new(6), "week")
        }
        Period::Month => {
            let first = today.with_day(1).unwrap_or(today);
            let last = first
                .checked_add_months(Months::new(1))
                .and_then(|next| next.pred_opt())
                .unwrap_or(today);
            (first, last, "month")
        }
    }
}

impl Effect for CrmEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(vec![Reply::text(self.run(tx).await?)]) })
    }
}
