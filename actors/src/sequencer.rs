//! Per-key ordering for work that otherwise runs concurrently.
//!
//! The orchestrator handles many conversations at once but must handle the messages of one
//! conversation in arrival order; the sender must send one recipient's replies in commit order.
//! A [`Sequencer`] chains the work of each key behind the previous work of the same key, while
//! different keys proceed independently. Each turn tells the next one whether it succeeded,
//! so that when an earlier message fails (and will be delivered again) the later ones of the
//! same key can step back too instead of overtaking it. It is owned by one actor and used from its handlers,
//! which run one at a time, so the arrival order is the order of [`Sequencer::enter`] calls.

use std::collections::HashMap;

use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};

type Tail = Shared<oneshot::Receiver<bool>>;

/// Chains work per key. Not `Send`: it lives inside one actor.
#[derive(Default)]
pub struct Sequencer {
    tails: HashMap<String, (u64, Tail)>,
    next_ticket: u64,
}

/// A place in the line of one key: wait for your turn, do the work, then drop the turn.
pub struct Turn {
    key: String,
    ticket: u64,
    previous: Option<Tail>,
    done: Option<oneshot::Sender<bool>>,
    succeeded: bool,
}

impl Sequencer {
    /// Takes the next place in `key`'s line. Must be called in arrival order.
    pub fn enter(&mut self, key: &str) -> Turn {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        let (done, receiver) = oneshot::channel();
        let previous = self
            .tails
            .insert(key.to_owned(), (ticket, receiver.shared()))
            .map(|(_, tail)| tail);
        Turn {
            key: key.to_owned(),
            ticket,
            previous,
            done: Some(done),
            succeeded: false,
        }
    }

    /// Forgets `key`'s line if `ticket` is still its last place, so the map only holds keys
    /// with work in flight. Call it (via a message to the owning actor) when a turn ends.
    pub fn leave(&mut self, key: &str, ticket: u64) {
        if self.tails.get(key).is_some_and(|(last, _)| *last == ticket) {
            self.tails.remove(key);
        }
    }

    /// Keys with work in flight.
    pub fn len(&self) -> usize {
        self.tails.len()
    }

    /// True when no key has work in flight.
    pub fn is_empty(&self) -> bool {
        self.tails.is_empty()
    }
}

impl Turn {
    /// Waits until every earlier turn of the same key has ended; `true` when the one just
    /// before this succeeded (or there was none), `false` when it failed, panicked or was
    /// cancelled.
    pub async fn wait(&mut self) -> bool {
        match self.previous.take() {
            // A dropped sender (the earlier work panicked or was cancelled) reads as failed.
            Some(previous) => previous.await.unwrap_or(false),
            None => true,
        }
    }

    /// Records that this turn's work succeeded; a turn dropped without it counts as failed.
    pub fn succeed(&mut self) {
        self.succeeded = true;
    }

    /// The key this turn belongs to.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The ticket to pass to [`Sequencer::leave`].
    pub fn ticket(&self) -> u64 {
        self.ticket
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(self.succeeded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[tokio::test(flavor = "current_thread")]
    async fn work_of_one_key_runs_in_arrival_order_and_other_keys_do_not_wait() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut sequencer = Sequencer::default();
                let log = Rc::new(RefCell::new(Vec::new()));
                let (gate_tx, gate_rx) = oneshot::channel::<()>();
                let mut first = sequencer.enter("a");
                let mut second = sequencer.enter("a");
                let mut other = sequencer.enter("b");
                let mut third = sequencer.enter("a");
                let l1 = log.clone();
                let h1 = tokio::task::spawn_local(async move {
                    assert!(first.wait().await, "nothing came before");
                    let _ = gate_rx.await;
                    l1.borrow_mut().push("a1");
                    first.succeed();
                    drop(first);
                });
                let l2 = log.clone();
                let h2 = tokio::task::spawn_local(async move {
                    assert!(second.wait().await, "a1 succeeded");
                    l2.borrow_mut().push("a2");
                    // Dropped without succeeding: a2 failed.
                });
                let h4 = tokio::task::spawn_local(async move { third.wait().await });
                let l3 = log.clone();
                let h3 = tokio::task::spawn_local(async move {
                    other.wait().await;
                    l3.borrow_mut().push("b1");
                });
                h3.await.unwrap();
                assert_eq!(*log.borrow(), vec!["b1"], "b must not wait for a");
                gate_tx.send(()).unwrap();
                h1.await.unwrap();
                h2.await.unwrap();
                assert!(!h4.await.unwrap(), "a3 learns that a2 failed");
                assert_eq!(*log.borrow(), vec!["b1", "a1", "a2"]);
            })
            .await;
    }

    #[test]
    fn leave_forgets_only_the_last_turn() {
        let mut sequencer = Sequencer::default();
        let first = sequencer.enter("a");
        let second = sequencer.enter("a");
        sequencer.leave("a", first.ticket());
        assert_eq!(sequencer.len(), 1);
        sequencer.leave("a", second.ticket());
        assert!(sequencer.is_empty());
    }
}
