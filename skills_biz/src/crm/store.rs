//! The CRM as an effect (or the import) sees it, whichever store holds it: each operation
//! dispatches to `pg` or to [`CrmState`], the in-memory store's `crm` slot (ephemeral mode and
//! tests), which keeps the same rows under the same natural keys.

use std::collections::HashMap;

use alfred_actors::store::{StoreError, Tx};
use chrono::NaiveDate;

use super::import::Record;
use super::model::{name_key, Amount, ContactView, DealView};
use super::pg;

/// The key of the CRM state in the in-memory store.
pub const SLOT: &str = "crm";

/// Which open deals a question wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DealFilter {
    /// Of the company with this name key.
    Company(String),
    /// Closing on a date in this inclusive range.
    ClosingBetween(NaiveDate, NaiveDate),
    /// Above the amount, in the currency if given.
    Over(Amount, Option<String>),
    /// Owned by this owner (case-insensitive).
    Owner(String),
}

impl DealFilter {
    fn matches(&self, company_key: &str, deal: &DealView) -> bool {
        match self {
            DealFilter::Company(key) => company_key == key,
            DealFilter::ClosingBetween(from, to) => deal
                .close_date
                .is_some_and(|date| *from <= date && date <= *to),
            DealFilter::Over(amount, currency) => {
                deal.amount > *amount && currency.as_ref().is_none_or(|c| *c == deal.currency)
            }
            DealFilter::Owner(owner) => deal
                .owner
                .as_ref()
                .is_some_and(|o| o.to_lowercase() == owner.to_lowercase()),
        }
    }
}

/// The CRM in memory.
#[derive(Debug, Clone, Default)]
pub struct CrmState {
    /// name key → name.
    companies: HashMap<String, String>,
    /// contact key → (company key, name, e-mail).
    contacts: HashMap<String, (String, String, Option<String>)>,
    /// (company key, deal name key) → deal (open or closed).
    deals: HashMap<(String, String), (DealView, bool)>,
    /// Slack user → owner.
    owners: HashMap<String, String>,
}

impl CrmState {
    fn write(&mut self, records: &[Record]) {
        for record in records {
            let company = name_key(&record.company);
            self.companies
                .insert(company.clone(), record.company.clone());
            if let Some(c) = &record.contact {
                let key = pg::contact_key(&company, &c.name, c.email.as_deref());
                self.contacts
                    .insert(key, (company.clone(), c.name.clone(), c.email.clone()));
            }
            if let Some(d) = &record.deal {
                let view = DealView {
                    company: record.company.clone(),
                    name: d.name.clone(),
                    stage: d.stage.clone(),
                    amount: d.amount,
                    currency: d.currency.clone(),
                    close_date: d.close_date,
                    owner: d.owner.clone(),
                };
                self.deals
                    .insert((company.clone(), name_key(&d.name)), (view, d.open));
            }
            if let Some((slack, owner)) = &record.owner_slack {
                self.owners.insert(slack.clone(), owner.clone());
            }
        }
        // A company's new spelling shows on its deals too, as the join does in Postgres.
        for ((company, _), (deal, _)) in self.deals.iter_mut() {
            if let Some(name) = self.companies.get(company) {
                deal.company.clone_from(name);
            }
        }
    }

    fn deals(&self, filter: &DealFilter) -> Vec<DealView> {
        let mut deals: Vec<(&String, &DealView)> = self
            .deals
            .iter()
            .filter(|((company, _), (deal, open))| *open && filter.matches(company, deal))
            .map(|((company, _), (deal, _))| (company, deal))
            .collect();
        deals.sort_by_key(|(company, deal)| {
            (
                deal.close_date.is_none(),
                deal.close_date,
                (*company).clone(),
                name_key(&deal.name),
            )
        });
        deals.into_iter().map(|(_, deal)| deal.clone()).collect()
    }

    fn contacts(&self, key: &str) -> Vec<ContactView> {
        let single = !key.contains(' ');
        let mut found: Vec<ContactView> = self
            .contacts
            .values()
            .filter(|(_, name, email)| {
                let name = name_key(name);
                email.as_deref() == Some(key)
                    || name == key
                    || (single && name.split(' ').any(|word| word == key))
            })
            .map(|(company, name, email)| ContactView {
                name: name.clone(),
                email: email.clone(),
                company: self.companies.get(company).cloned().unwrap_or_default(),
                open_deals: self.deals(&DealFilter::Company(company.clone())).len(),
            })
            .collect();
        found.sort_by_key(|c| (name_key(&c.name), c.email.clone()));
        found
    }
}

/// Writes the records (upserts by natural keys).
pub async fn write(tx: &mut Tx<'_>, records: &[Record]) -> Result<(), StoreError> {
    match tx {
        Tx::Pg(pg) => pg::write(pg, records).await,
        Tx::Mem(mem) => {
            mem.slot::<CrmState>(SLOT)?.write(records);
            Ok(())
        }
    }
}

/// Contacts matching `key` (a lower-case e-mail or a name key); exact name matches only when
/// there are any.
pub(crate) async fn contacts(tx: &mut Tx<'_>, key: &str) -> Result<Vec<ContactView>, StoreError> {
    let found = match tx {
        Tx::Pg(pg) => pg::contacts(pg, key).await?,
        Tx::Mem(mem) => mem.slot::<CrmState>(SLOT)?.contacts(key),
    };
    let exact: Vec<ContactView> = found
        .iter()
        .filter(|c| name_key(&c.name) == key || c.email.as_deref() == Some(key))
        .cloned()
        .collect();
    Ok(if exact.is_empty() { found } else { exact })
}

/// The company's name, if known.
pub(crate) async fn company(tx: &mut Tx<'_>, key: &str) -> Result<Option<String>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::company(pg, key).await,
        Tx::Mem(mem) => Ok(mem.slot::<CrmState>(SLOT)?.companies.get(key).cloned()),
    }
}

/// The owner a Slack user is, if mapped.
pub(crate) async fn owner(tx: &mut Tx<'_>, slack_user: &str) -> Result<Option<String>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::owner(pg, slack_user).await,
        Tx::Mem(mem) => Ok(mem.slot::<CrmState>(SLOT)?.owners.get(slack_user).cloned()),
    }
}

/// Open deals passing `filter`, soonest close date first (undated last).
pub(crate) async fn deals(
    tx: &mut Tx<'_>,
    filter: &DealFilter,
) -> Result<Vec<DealView>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::deals(pg, filter).await,
        Tx::Mem(mem) => Ok(mem.slot::<CrmState>(SLOT)?.deals(filter)),
    }
}
