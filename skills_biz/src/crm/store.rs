//! The CRM as an effect (or the import) sees it, whichever store holds it: each operation
//! dispatches to `pg` or to `mem` ([`CrmState`], the in-memory store's `crm` slot).

use alfred_actors::store::{StoreError, Tx};

use super::import::Record;
use super::mem::{CrmState, SLOT};
use super::model::{name_key, ContactView, DealFilter, DealView};
use super::pg;

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
        Tx::Mem(mem) => Ok(mem.slot::<CrmState>(SLOT)?.company(key)),
    }
}

/// The owner a Slack user is, if mapped.
pub(crate) async fn owner(tx: &mut Tx<'_>, slack_user: &str) -> Result<Option<String>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::owner(pg, slack_user).await,
        Tx::Mem(mem) => Ok(mem.slot::<CrmState>(SLOT)?.owner(slack_user)),
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
