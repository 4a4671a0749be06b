//! What a supervisor needs to know to run a child.

use super::{Restart, Shutdown};

/// The default mailbox capacity of a supervised actor (actix's default).
pub const DEFAULT_MAILBOX_CAPACITY: usize = 16;

/// A child in the Erlang/OTP shape: a stable name, a factory that builds the actor's state from
/// scratch for every incarnation, a restart type and a shutdown.
///
/// ```ignore
/// let addr = root.spawn(ChildSpec::new("orchestrator", move || Orchestrator::new(deps.clone()))
///     .restart(Restart::Permanent)
///     .shutdown(Shutdown::Graceful(Duration::from_secs(5))));
/// ```
pub struct ChildSpec<F> {
    pub(crate) name: String,
    pub(crate) factory: F,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) mailbox_capacity: usize,
}

impl<F> ChildSpec<F> {
    /// A permanent child with a graceful 5 s shutdown. `name` must be unique in the tree
    /// (e.g. `orchestrator`, `skill/grocery`, `ingest-reader-0`).
    pub fn new(name: impl Into<String>, factory: F) -> Self {
        ChildSpec {
            name: name.into(),
            factory,
            restart: Restart::default(),
            shutdown: Shutdown::default(),
            mailbox_capacity: DEFAULT_MAILBOX_CAPACITY,
        }
    }

    /// When the child is restarted after exiting on its own.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// How its supervisor stops it.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Capacity of the stable mailbox (senders using `send` wait beyond it; `do_send` does not).
    pub fn mailbox_capacity(mut self, capacity: usize) -> Self {
        self.mailbox_capacity = capacity;
        self
    }
}
