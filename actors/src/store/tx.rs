//! [`Tx`]: the store as a skill's effect sees it, one open transaction — a Postgres transaction
//! or, in ephemeral mode, the in-memory store's [`MemTx`].
//!
//! The in-memory transaction works on copies of the skills' state slots, swapped in by
//! [`MemStore`](super::MemStore) only when the effect succeeds, so a failed effect leaves no
//! trace, like a rolled-back transaction.

use std::any::Any;
use std::collections::HashMap;

use super::StoreError;
use crate::messages::Platform;

/// The store as an effect sees it: one open transaction.
pub enum Tx<'a> {
    /// A pooled connection's transaction. It derefs to tokio-postgres's, and offers
    /// `prepare_cached` / `prepare_typed_cached`: a statement an effect runs on every message
    /// should be prepared once per connection (the connection keeps it across transactions)
    /// rather than sent as text, which Postgres parses and plans on every call.
    Pg(&'a deadpool_postgres::Transaction<'a>),
    Mem(&'a mut MemTx),
}

pub(crate) const LAST_MESSAGE_FROM_PERSON: &str =
    "SELECT max(person_at) FROM inbox WHERE platform = $1 AND conversation = $2";

/// The in-memory slot where the store keeps when a person last wrote in each conversation.
pub const ACTIVITY_SLOT: &str = "alfred:last-person-message";

/// When a person last wrote in each conversation (the in-memory store's record).
pub type Activity = HashMap<(Platform, String), chrono::DateTime<chrono::Utc>>;

impl Tx<'_> {
    /// When a person last wrote in `conversation` (by the runtime's clock), the start of
    /// WhatsApp's 24-hour customer-service window; `None` if never.
    pub async fn last_message_from_person(
        &mut self,
        platform: Platform,
        conversation: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        match self {
            Tx::Pg(tx) => {
                let statement = tx.prepare_cached(LAST_MESSAGE_FROM_PERSON).await?;
                let row = tx
                    .query_one(&statement, &[&platform.as_str(), &conversation])
                    .await?;
                Ok(row.try_get(0)?)
            }
            Tx::Mem(tx) => {
                let activity = tx.slot::<Activity>(ACTIVITY_SLOT)?;
                Ok(activity.get(&(platform, conversation.to_owned())).copied())
            }
        }
    }
}

/// Per-skill state of the in-memory store, copied on first write within a transaction and
/// swapped in on commit, so an effect that fails leaves no trace (the same as a rollback).
#[derive(Default)]
pub struct MemTx {
    slots: HashMap<&'static str, Box<dyn MemSlot>>,
}

impl MemTx {
    /// Builds a transaction over a snapshot of the given slots.
    pub fn new(slots: HashMap<&'static str, Box<dyn MemSlot>>) -> Self {
        MemTx { slots }
    }

    /// The state slot `key` of type `T`, created empty on first use.
    ///
    /// A slot's type is fixed by its first use; a second type under the same key is a
    /// programming error reported as [`StoreError::Other`].
    pub fn slot<T>(&mut self, key: &'static str) -> Result<&mut T, StoreError>
    where
        T: Default + Clone + Send + 'static,
    {
        let slot = self
            .slots
            .entry(key)
            .or_insert_with(|| Box::new(T::default()) as Box<dyn MemSlot>);
        slot.as_any_mut()
            .downcast_mut::<T>()
            .ok_or_else(|| StoreError::Other(format!("in-memory slot {key} holds another type")))
    }

    /// Gives the (possibly modified) slots back for the store to swap in on commit.
    pub fn into_slots(self) -> HashMap<&'static str, Box<dyn MemSlot>> {
        self.slots
    }
}

/// A clonable, type-erased piece of in-memory skill state.
pub trait MemSlot: Send + 'static {
    fn clone_box(&self) -> Box<dyn MemSlot>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Clone + Send + 'static> MemSlot for T {
    fn clone_box(&self) -> Box<dyn MemSlot> {
        Box::new(self.clone())
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
