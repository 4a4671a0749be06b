//! How a [`GroceryEffect`] is applied: alone ([`Effect::apply`]: `GroceryEffect::run` in the
//! message's transaction), or a batch at a time for the Postgres store's group commit
//! ([`EffectBatch`]; docs/adr/2026-12-03-batched-skill-effects.md).
//!
//! One message's change costs Postgres five statements in three round trips (lock and load,
//! delete and upsert, record). A batch of them costs seven statements in two round trips,
//! however many messages it holds:
//!
//! 1. the households' locks, in sorted order (two batches never wait on each other in a
//!    cycle), their lines, and ids for every line the batch could add, drawn from the table's
//!    sequence ahead (at most one per item of an add or a check-off);
//! 2. the effects planned one after the other in plain Rust, in the batch's order, by the very
//!    code of the in-memory store (`GroceryEffect::run` over a [`GroceryState`] seeded with the
//!    lines and the reserved ids): each sees what the ones before it did, replies included;
//! 3. the net difference written back: the lines that went, the lines that are new or changed
//!    (in id order), every change recorded for undo, and each member's history trimmed.
//!
//! A batch holding an "undo" is applied one effect at a time (undo reads the history the batch
//! would be writing); so is one outside Postgres. When anything fails — a unique index that a
//! net write meets in an order no single message would have, ids running short — the store
//! rolls the transaction back and applies the effects one by one, each in its own savepoint.

use std::any::Any;
use std::collections::{BTreeSet, HashMap};

use alfred_actors::skill::{Batched, Effect, EffectBatch, Reply};
use alfred_actors::store::{MemTx, StoreError, Tx};
use deadpool_postgres::Transaction;
use futures::future::BoxFuture;

use super::mem::{GroceryState, SLOT};
use super::model::GroceryCommand;
use super::pg;
use super::report::ListedItem;
use super::GroceryEffect;

impl Effect for GroceryEffect {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(vec![Reply::text(self.run(tx).await?)]) })
    }

    fn batch(&self) -> Option<Batched<'_>> {
        Some(Batched {
            applier: &BATCH,
            effect: self,
        })
    }
}

/// The applier of [`GroceryEffect`]s.
static BATCH: GroceryBatch = GroceryBatch;

struct GroceryBatch;

impl EffectBatch for GroceryBatch {
    fn kind(&self) -> &'static str {
        super::NAME
    }

    fn apply_all<'a>(
        &'a self,
        effects: &'a [&'a (dyn Any + Send + Sync)],
        tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<Vec<Reply>>, StoreError>> {
        Box::pin(async move {
            let effects = effects
                .iter()
                .map(|effect| {
                    effect.downcast_ref::<GroceryEffect>().ok_or_else(|| {
                        StoreError::Other("the grocery batch got another kind of effect".into())
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let undo = effects
                .iter()
                .any(|effect| effect.command == GroceryCommand::Undo);
            if let (Tx::Pg(pg), false) = (&*tx, undo) {
                return apply_pg(pg, &effects).await;
            }
            let mut replies = Vec::with_capacity(effects.len());
            for effect in effects {
                replies.push(effect.apply(tx).await?);
            }
            Ok(replies)
        })
    }
}

async fn apply_pg(
    tx: &Transaction<'_>,
    effects: &[&GroceryEffect],
) -> Result<Vec<Vec<Reply>>, StoreError> {
    let households: BTreeSet<&str> = effects
        .iter()
        .map(|effect| effect.household.as_str())
        .collect();
    // Showing the list need not wait for the household's lock (as one message at a time).
    let locked: BTreeSet<&str> = effects
        .iter()
        .filter(|effect| effect.command != GroceryCommand::List)
        .map(|effect| effect.household.as_str())
        .collect();
    let new_lines: usize = effects
        .iter()
        .map(|effect| match &effect.command {
            GroceryCommand::Add(items) | GroceryCommand::CheckOff(items) => items.len(),
            _ => 0,
        })
        .sum();
    let households: Vec<&str> = households.into_iter().collect();
    let locked: Vec<&str> = locked.into_iter().collect();
    let loaded = pg::lock_and_load_all(
        tx,
        &locked,
        &households,
        i64::try_from(new_lines).unwrap_or(i64::MAX),
    )
    .await?;

    let before = loaded.lists.clone();
    let mut scratch = MemTx::default();
    *scratch.slot::<GroceryState>(SLOT)? = GroceryState::planning(loaded.lists, loaded.reserved);
    let mut replies = Vec::with_capacity(effects.len());
    for effect in effects {
        replies.push(vec![Reply::text(
            effect.run(&mut Tx::Mem(&mut scratch)).await?,
        )]);
    }
    let state = scratch.slot::<GroceryState>(SLOT)?;
    if state.short_of_ids() {
        return Err(StoreError::Other(
            "a grocery batch added more lines than it reserved ids for".into(),
        ));
    }

    let after: HashMap<&str, Vec<ListedItem>> = households
        .iter()
        .map(|&household| (household, state.items(household)))
        .collect();
    let changes = state.take_changes();
    let mut delete = Vec::new();
    let mut upsert = Vec::new();
    for &household in &households {
        let was = before.get(household).map(Vec::as_slice).unwrap_or_default();
        let is = after.get(household).map(Vec::as_slice).unwrap_or_default();
        delete.extend(
            was.iter()
                .filter(|line| !is.iter().any(|kept| kept.id == line.id))
                .map(|line| line.id),
        );
        upsert.extend(
            is.iter()
                .filter(|line| was.iter().find(|old| old.id == line.id) != Some(line))
                .map(|line| (household, line)),
        );
    }
    upsert.sort_by_key(|(_, line)| line.id);
    if !(delete.is_empty() && upsert.is_empty() && changes.is_empty()) {
        let writes = pg::Writes {
            delete,
            upsert,
            changes: &changes,
        };
        pg::write_all(tx, &locked, writes).await?;
    }
    Ok(replies)
}
