//! The list as an effect sees it, whichever store holds it: one function per operation, each
//! dispatching to `pg` or `mem`.

use std::collections::HashSet;

use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, Utc};

use super::mem::{GroceryState, SLOT};
use super::pg;
use super::plan::Plan;
use super::report::{Change, ListedItem};

/// Takes the household's lock (Postgres; the in-memory store runs one transaction at a time)
/// and reads its lines.
pub(crate) async fn lock_and_load(
    tx: &mut Tx<'_>,
    household: &str,
) -> Result<Vec<ListedItem>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::lock_and_load(pg, household).await,
        Tx::Mem(mem) => Ok(mem.slot::<GroceryState>(SLOT)?.items(household)),
    }
}

/// Reads the household's lines without locking (for showing the list).
pub(crate) async fn load(tx: &mut Tx<'_>, household: &str) -> Result<Vec<ListedItem>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::load(pg, household).await,
        Tx::Mem(mem) => Ok(mem.slot::<GroceryState>(SLOT)?.items(household)),
    }
}

/// Applies `plan` to the lines `rows` (read by [`lock_and_load`]) and records it in `actor`'s
/// history as `summary`, in the same transaction. A plan that changes nothing is not recorded.
pub(crate) async fn commit(
    tx: &mut Tx<'_>,
    household: &str,
    actor: &str,
    now: DateTime<Utc>,
    rows: &[ListedItem],
    plan: Plan,
    summary: String,
) -> Result<(), StoreError> {
    if plan.is_empty() {
        return Ok(());
    }
    let touched: HashSet<i64> = plan
        .delete
        .iter()
        .copied()
        .chain(plan.upsert.iter().map(|line| line.id))
        .collect();
    let before: Vec<ListedItem> = rows
        .iter()
        .filter(|line| touched.contains(&line.id))
        .cloned()
        .collect();
    let after = write(tx, household, plan).await?;
    let change = Change {
        actor: actor.to_owned(),
        summary,
        at: now,
        before,
        after,
    };
    match tx {
        Tx::Pg(pg) => pg::record(pg, household, &change).await,
        Tx::Mem(mem) => {
            mem.slot::<GroceryState>(SLOT)?.record(household, change);
            Ok(())
        }
    }
}

/// Applies `plan` without recording it (an undo).
pub(crate) async fn write(
    tx: &mut Tx<'_>,
    household: &str,
    plan: Plan,
) -> Result<Vec<ListedItem>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::write(pg, household, plan).await,
        Tx::Mem(mem) => Ok(mem.slot::<GroceryState>(SLOT)?.write(household, plan)),
    }
}

/// Takes `actor`'s latest change off their history.
pub(crate) async fn pop(
    tx: &mut Tx<'_>,
    household: &str,
    actor: &str,
) -> Result<Option<Change>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::pop(pg, household, actor).await,
        Tx::Mem(mem) => Ok(mem.slot::<GroceryState>(SLOT)?.pop(household, actor)),
    }
}
