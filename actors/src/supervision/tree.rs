//! The live supervision tree as plain, serializable data (what `GET /admin/actors` returns).

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::core::Shared;
use super::ExitReason;

/// Whether a node is an actor or a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildKind {
    Actor,
    Supervisor,
}

/// Where a child is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildState {
    /// An incarnation is running.
    Running,
    /// A start is scheduled (waiting out the back-off) or under way.
    Restarting,
    /// Down after a normal exit, a stop by an operator, or its supervisor stopping.
    Stopped,
    /// Down after an abnormal exit it will not be restarted from, or (a supervisor) escalated.
    Failed,
}

/// One node of the live tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeNode {
    pub name: String,
    pub kind: ChildKind,
    pub state: ChildState,
    /// Starts at 1 and rises with every start after the first.
    pub incarnation: u64,
    /// Seconds since the current incarnation started; 0 when not running.
    pub uptime_secs: u64,
    /// Restarts so far: automatic, by strategy and by operators.
    pub restarts: u64,
    /// Why the previous incarnation ended, if one has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit_reason: Option<String>,
    /// When the previous incarnation ended (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit_at: Option<String>,
    /// Children of a supervisor, in start order; empty for an actor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TreeNode>,
}

/// Bookkeeping of one node, written by the owning supervisor's core and read by `tree()`.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub state: ChildState,
    pub incarnation: u64,
    pub started_at: Option<Instant>,
    pub restarts: u64,
    pub last_exit: Option<(String, chrono::DateTime<chrono::Utc>)>,
}

impl Status {
    pub fn new() -> Self {
        Status {
            state: ChildState::Restarting,
            incarnation: 0,
            started_at: None,
            restarts: 0,
            last_exit: None,
        }
    }

    pub fn record_exit(&mut self, reason: &ExitReason) {
        self.last_exit = Some((reason.to_string(), chrono::Utc::now()));
        self.started_at = None;
    }

    pub fn node(&self, name: &str, kind: ChildKind, children: Vec<TreeNode>) -> TreeNode {
        let uptime_secs = match (self.state, self.started_at) {
            (ChildState::Running, Some(at)) => at.elapsed().as_secs(),
            _ => 0,
        };
        TreeNode {
            name: name.to_owned(),
            kind,
            state: self.state,
            incarnation: self.incarnation.max(1),
            uptime_secs,
            restarts: self.restarts,
            last_exit_reason: self.last_exit.as_ref().map(|(reason, _)| reason.clone()),
            last_exit_at: self.last_exit.as_ref().map(|(_, at)| at.to_rfc3339()),
            children,
        }
    }
}

/// One child as its supervisor's shared state lists it.
pub(crate) struct ChildInfo {
    pub name: String,
    pub status: Status,
    /// The child supervisor's shared state, for a supervisor child.
    pub sub: Option<Arc<Shared>>,
}

impl ChildInfo {
    pub fn node(&self) -> TreeNode {
        match &self.sub {
            Some(sub) => self
                .status
                .node(&self.name, ChildKind::Supervisor, sub.children_nodes()),
            None => self.status.node(&self.name, ChildKind::Actor, Vec::new()),
        }
    }
}
