//! [`Counted`]: a refusal counted in `alfred_refused_total{reason}` once per message.
//!
//! The count is taken when the refusal's effect is applied — inside the message's
//! transaction, after the inbox accepted the message as new — rather than when the refusal is
//! decided: a platform retry or a redelivery of a message already handled is a duplicate in
//! the inbox, never reaches the effect, and so is not counted a second time.

use futures::future::BoxFuture;
use prometheus::IntCounter;

use crate::skill::{Effect, Reply};
use crate::store::{StoreError, Tx};

/// `effect`, counting `counter` once it applied.
pub struct Counted {
    pub effect: Box<dyn Effect>,
    /// `alfred_refused_total` with the refusal's reason.
    pub counter: IntCounter,
}

impl Effect for Counted {
    fn apply<'a>(
        self: Box<Self>,
        tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let replies = self.effect.apply(tx).await?;
            self.counter.inc();
            Ok(replies)
        })
    }
}
