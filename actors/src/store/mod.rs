//! The store: Postgres in production, in memory in ephemeral mode.
//!
//! It makes effects exactly-once (DESIGN.md §3): inside one transaction the inbox row is
//! inserted (`ON CONFLICT DO NOTHING`; a conflict means the message was already handled), the
//! skill's effect is applied and the reply rows are inserted into the outbox. Only after the
//! commit are the replies published to `alfred-outbox`; a relay republishes committed rows that
//! never were. The sender claims a row with a conditional update before sending it.
//!
//! Layout: `contract` is the [`Store`] trait and the types that cross it; `tx` the transaction
//! an effect sees ([`Tx`]); `error` the store's one error ([`StoreError`]); `postgres` and
//! `memory` the two stores; `migrate` applies `migrations/`.

mod contract;
mod error;
pub mod memory;
pub mod migrate;
pub mod postgres;
mod tx;

pub use contract::{
    Address, ClaimAttempt, Claimed, Commit, Due, Fence, InboxKey, LlmAnswer, Prior, Purged,
    ReplyTarget, SendResult, Store,
};
pub use error::StoreError;
pub use memory::MemStore;
pub use postgres::PgStore;
pub use tx::{Activity, MemSlot, MemTx, Tx, ACTIVITY_SLOT};
