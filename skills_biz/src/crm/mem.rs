//! The CRM in ephemeral mode (and tests): [`CrmState`], the in-memory store's `crm` slot, which
//! keeps the same rows as the Postgres tables under the same natural keys.

use std::collections::HashMap;

use super::import::Record;
use super::model::{contact_key, name_key, ContactView, DealFilter, DealView};

/// The key of the CRM state in the in-memory store.
pub const SLOT: &str = "crm";

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
    /// Writes the records (upserts by natural keys), as `pg` does.
    pub(crate) fn write(&mut self, records: &[Record]) {
        for record in records {
            let company = name_key(&record.company);
            self.companies
                .insert(company.clone(), record.company.clone());
            if let Some(c) = &record.contact {
                let key = contact_key(&company, &c.name, c.email.as_deref());
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

    /// Open deals passing `filter`, soonest close date first (undated last).
    pub(crate) fn deals(&self, filter: &DealFilter) -> Vec<DealView> {
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

    /// Contacts whose e-mail is `key`, or whose name key is `key` or has `key` as one word.
    pub(crate) fn contacts(&self, key: &str) -> Vec<ContactView> {
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

    /// The company's name, if known.
    pub(crate) fn company(&self, key: &str) -> Option<String> {
        self.companies.get(key).cloned()
    }

    /// The owner a Slack user is, if mapped.
    pub(crate) fn owner(&self, slack_user: &str) -> Option<String> {
        self.owners.get(slack_user).cloned()
    }
}
