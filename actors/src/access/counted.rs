//! [`Counted`]: a refusal counted in `alfred_refused_total{reason}` once per message.
//!
//! The count is taken when the store reports the refusal's effect committed — after the inbox
//! accepted the message as new and its transaction committed — rather than when the refusal
//! is decided: a platform retry or a redelivery of a message already handled is a duplicate in
//! the inbox, never commits an effect, and so is not counted a second time; nor is an attempt
//! the store rolled back and ran again (see [`Effect`]).

use futures::future::BoxFuture;
use prometheus::IntCounter;

use crate::skill::{Effect, Reply};
use crate::store::{StoreError, Tx};

/// `effect`, counting `counter` once it committed.
pub struct Counted {
    pub effect: Box<dyn Effect>,
    /// `alfred_refused_total` with the refusal's reason.
    pub counter: IntCounter,
}

impl Effect for Counted {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        self.effect.apply(tx)
    }

    fn committed(&self) {
        self.effect.committed();
        self.counter.inc();
    }
}
