//! Supervision: child runners, supervisors, restart strategies (DESIGN.md §4).
//!
//! `actix::Supervisor` restarts an actor only when the actor stops itself; a panicking handler
//! kills the address and fails every queued message. This module is a thin layer on top of
//! actix 0.13 that keeps an actor's [`Addr`](actix::Addr) and its queued messages alive across
//! panics and rebuilds the actor's state from a factory. `docs/runtime-semantics.md` is the
//! specification; this is the layout:
//!
//! * the child runner (private, `runner.rs`) — drives one actor incarnation after another
//!   inside `catch_unwind`, owning the mailbox that outlives every incarnation;
//! * [`Supervisor`] — a cheap, thread-safe handle: spawn children, nest supervisors, read the
//!   live [`tree`](Supervisor::tree), restart/stop/start by name, await escalation;
//! * the supervisor core (private, `core.rs` and `restart.rs`) — one task per supervisor that
//!   applies restart types, strategies, restart intensity and back-off;
//! * [`Backoff`] — the restart delay formula.
//!
//! This module knows nothing about what its children do: no messages, streams or skills.

mod backoff;
mod core;
mod handle;
mod restart;
mod runner;
mod spec;
mod tree;

use std::time::Duration;

pub use backoff::Backoff;
pub use handle::{RestartObserver, Supervisor};
pub use runner::fail;
pub use spec::ChildSpec;
pub use tree::{ChildKind, ChildState, TreeNode};

/// When a child is restarted after it exits on its own (Erlang/OTP restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always restarted, whatever the exit reason.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (a panic or [`fail`]); stays down after a normal stop.
    Transient,
    /// Never restarted.
    Temporary,
}

/// How a child is stopped by its supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Ask the actor to stop (`Actor::stopping`/`stopped` run) and kill it if it has not
    /// stopped within the timeout.
    Graceful(Duration),
    /// Drop the actor at once: no lifecycle hook runs.
    Kill,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::Graceful(Duration::from_secs(5))
    }
}

/// Which children a supervisor restarts when one of them is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only the child that exited.
    #[default]
    OneForOne,
    /// Every running child: all are stopped (last started first) and started again in order.
    OneForAll,
    /// The child that exited and the running children started after it.
    RestForOne,
}

/// Restart intensity: more than `max_restarts` automatic restarts within `period` make the
/// supervisor give up, stop its children and escalate to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intensity {
    pub max_restarts: usize,
    pub period: Duration,
}

impl Default for Intensity {
    fn default() -> Self {
        Intensity {
            max_restarts: 5,
            period: Duration::from_secs(10),
        }
    }
}

/// Why an incarnation of a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitReason {
    /// The actor stopped itself (`ctx.stop()`).
    Normal,
    /// The actor stopped itself with [`fail`].
    Error(String),
    /// A handler, a lifecycle hook or the factory panicked.
    Panic(String),
    /// Stopped by its supervisor or an operator.
    Shutdown,
    /// Did not stop within its graceful shutdown timeout (or has `Shutdown::Kill`).
    Killed,
    /// Every address was dropped and nothing was left to do, so nobody can reach it again.
    Orphaned,
    /// A child supervisor exceeded its restart intensity.
    Escalated(String),
}

impl ExitReason {
    /// Whether a transient child is restarted after this exit.
    pub fn is_abnormal(&self) -> bool {
        matches!(
            self,
            ExitReason::Error(_) | ExitReason::Panic(_) | ExitReason::Escalated(_)
        )
    }
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Error(reason) => write!(f, "error: {reason}"),
            ExitReason::Panic(message) => write!(f, "panic: {message}"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Orphaned => f.write_str("orphaned: every address was dropped"),
            ExitReason::Escalated(reason) => write!(f, "escalated: {reason}"),
        }
    }
}

/// Errors of the supervision handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisionError {
    /// No child of that name anywhere in the subtree.
    #[error("no supervised child is named {0:?}")]
    NotFound(String),
    /// The supervisor that owns the child has shut down.
    #[error("the supervisor of {0:?} has shut down")]
    ShutDown(String),
}
