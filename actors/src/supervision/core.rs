//! The supervisor core: one task per supervisor, the only writer of its children's bookkeeping.
//!
//! Every event (a child started or exited, an operator command, a command from the parent)
//! arrives on one channel and is handled to completion before the next, stops included, so
//! strategies run in a well-defined order: siblings are stopped last-started first and started
//! again in start order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::handle::RestartObserver;
use super::tree::{ChildInfo, ChildState, Status, TreeNode};
use super::{Backoff, ExitReason, Intensity, Restart, Strategy};

/// A command to a child (a runner, or a child supervisor's core).
pub(crate) enum Control {
    /// Start incarnation `incarnation` after `delay` (if not running).
    Start { incarnation: u64, delay: Duration },
    /// Stop the running incarnation, keeping the mailbox for a later start.
    Stop { reply: oneshot::Sender<ExitReason> },
    /// Stop and end for good: the mailbox is dropped, senders see `MailboxError::Closed`.
    Terminate { reply: oneshot::Sender<ExitReason> },
}

/// What an operator asks of a child, or of the supervisor itself (`child: None`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Restart,
    Stop,
    Start,
}

/// Everything a supervisor core receives.
pub(crate) enum CoreMsg {
    Add(ChildEntry),
    Started {
        child: usize,
        incarnation: u64,
    },
    Exited {
        child: usize,
        incarnation: u64,
        reason: ExitReason,
    },
    Operator {
        child: Option<usize>,
        op: Op,
    },
    Control(Control),
    /// The back-off before this supervisor's own start (by its parent) is over.
    Resume {
        incarnation: u64,
    },
}

/// How a supervisor reaches a child.
pub(crate) enum ChildLink {
    Actor(mpsc::UnboundedSender<Control>),
    Supervisor(mpsc::UnboundedSender<CoreMsg>),
}

impl ChildLink {
    fn send(&self, control: Control) -> bool {
        match self {
            ChildLink::Actor(tx) => tx.send(control).is_ok(),
            ChildLink::Supervisor(tx) => tx.send(CoreMsg::Control(control)).is_ok(),
        }
    }
}

/// A new child, as the handle registers it.
pub(crate) struct ChildEntry {
    pub name: String,
    pub restart: Restart,
    pub link: ChildLink,
}

/// A supervisor's state shared with its handles (read by `tree()` and name lookups).
pub(crate) struct Shared {
    pub name: String,
    pub tx: mpsc::UnboundedSender<CoreMsg>,
    /// The supervisor's own status (authoritative for the root; a parent keeps its own copy).
    pub own: Mutex<Status>,
    pub children: Mutex<Vec<ChildInfo>>,
    pub escalation: watch::Sender<Option<String>>,
    /// One observer slot for the whole tree, so setting it on the root covers every child.
    pub observer: Arc<Mutex<Option<RestartObserver>>>,
}

impl Shared {
    pub fn children_nodes(&self) -> Vec<TreeNode> {
        lock(&self.children).iter().map(ChildInfo::node).collect()
    }
}

/// Locks a mutex, recovering from poisoning: the data is plain bookkeeping that every writer
/// leaves consistent, and a panic elsewhere must not take supervision down with it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a child supervisor reports to.
pub(crate) struct ParentLink {
    pub tx: mpsc::UnboundedSender<CoreMsg>,
    pub index: usize,
}

pub(crate) struct Child {
    pub name: String,
    pub restart: Restart,
    pub link: ChildLink,
    pub incarnation: u64,
    /// Started or about to start (a start is scheduled).
    pub up: bool,
    /// Whether the child should run while its supervisor runs (false after an operator stop or
    /// an exit it is not restarted from).
    pub desired: bool,
    pub started_at: Option<Instant>,
    /// Consecutive restarts, the `n` of the back-off.
    pub attempt: u32,
    /// Whether the pending start is a restart (counted once it has started).
    pub counted: bool,
}

pub(crate) struct Core {
    pub shared: Arc<Shared>,
    pub rx: mpsc::UnboundedReceiver<CoreMsg>,
    pub strategy: Strategy,
    pub intensity: Intensity,
    pub backoff: Backoff,
    pub parent: Option<ParentLink>,
    /// Whether the supervisor itself runs (a root always starts up; a child waits for its parent).
    pub up: bool,
    pub incarnation: u64,
    pub children: Vec<Child>,
    pub restarts: VecDeque<Instant>,
    pub pending_start: Option<u64>,
}

impl Core {
    pub fn new(
        shared: Arc<Shared>,
        rx: mpsc::UnboundedReceiver<CoreMsg>,
        (strategy, intensity, backoff): (Strategy, Intensity, Backoff),
        parent: Option<ParentLink>,
    ) -> Self {
        let up = parent.is_none();
        Core {
            shared,
            rx,
            strategy,
            intensity,
            backoff,
            parent,
            up,
            incarnation: u64::from(up),
            children: Vec::new(),
            restarts: VecDeque::new(),
            pending_start: None,
        }
    }

    /// Handles messages until terminated.
    pub async fn run(mut self) {
        while let Some(message) = self.rx.recv().await {
            match message {
                CoreMsg::Add(entry) => self.add(entry),
                CoreMsg::Started { child, incarnation } => self.on_started(child, incarnation),
                CoreMsg::Exited {
                    child,
                    incarnation,
                    reason,
                } => self.on_exited(child, incarnation, reason).await,
                CoreMsg::Operator { child, op } => self.on_operator(child, op).await,
                CoreMsg::Control(Control::Start { incarnation, delay }) => {
                    self.schedule_own_start(incarnation, delay)
                }
                CoreMsg::Resume { incarnation } => {
                    if self.pending_start == Some(incarnation) {
                        self.go_up(incarnation > 1);
                    }
                }
                CoreMsg::Control(Control::Stop { reply }) => {
                    self.go_down(ChildState::Stopped, &ExitReason::Shutdown)
                        .await;
                    let _ = reply.send(ExitReason::Shutdown);
                }
                CoreMsg::Control(Control::Terminate { reply }) => {
                    for index in (0..self.children.len()).rev() {
                        self.stop_child(index, true).await;
                    }
                    self.up = false;
                    self.set_own(|own| {
                        own.state = ChildState::Stopped;
                        own.record_exit(&ExitReason::Shutdown);
                    });
                    let _ = reply.send(ExitReason::Shutdown);
                    return;
                }
            }
        }
    }

    fn add(&mut self, entry: ChildEntry) {
        self.children.push(Child {
            name: entry.name,
            restart: entry.restart,
            link: entry.link,
            incarnation: 0,
            up: false,
            desired: true,
            started_at: None,
            attempt: 0,
            counted: false,
        });
        if self.up {
            self.start_child(self.children.len() - 1, Duration::ZERO, false);
        }
    }

    fn on_started(&mut self, index: usize, incarnation: u64) {
        let Some(child) = self.children.get_mut(index) else {
            return;
        };
        if !child.up || child.incarnation != incarnation {
            return;
        }
        let now = Instant::now();
        child.started_at = Some(now);
        let counted = std::mem::take(&mut child.counted);
        let name = child.name.clone();
        self.set_status(index, |status| {
            status.state = ChildState::Running;
            status.incarnation = incarnation;
            status.started_at = Some(now);
            if counted {
                status.restarts += 1;
            }
        });
        if counted {
            let observer = lock(&self.shared.observer).clone();
            if let Some(observer) = observer {
                observer(&name);
            }
        }
    }

    pub(super) fn set_status(&self, index: usize, update: impl FnOnce(&mut Status)) {
        if let Some(info) = lock(&self.shared.children).get_mut(index) {
            update(&mut info.status);
        }
    }

    pub(super) fn set_own(&self, update: impl FnOnce(&mut Status)) {
        update(&mut lock(&self.shared.own));
    }

    /// Schedules a start of child `index` (a new incarnation) after `delay`. `counted` marks a
    /// restart: it raises the restart count and notifies the observer.
    pub(super) fn start_child(&mut self, index: usize, delay: Duration, counted: bool) {
        let Some(child) = self.children.get_mut(index) else {
            return;
        };
        child.incarnation += 1;
        child.up = true;
        child.desired = true;
        child.counted = counted;
        let incarnation = child.incarnation;
        if !child.link.send(Control::Start { incarnation, delay }) {
            tracing::error!(actor = %child.name, "Child runner is gone; it cannot be started.");
            child.up = false;
        }
        // The tree shows the new incarnation (and counts the restart) once it has started;
        // until then the child is `restarting`.
        self.set_status(index, |status| {
            status.state = if incarnation > 1 {
                ChildState::Restarting
            } else {
                ChildState::Running
            };
        });
    }

    /// Stops child `index` if it is up (or, with `terminate`, ends its runner in any case) and
    /// waits until it has stopped.
    pub(super) async fn stop_child(&mut self, index: usize, terminate: bool) {
        let Some(child) = self.children.get_mut(index) else {
            return;
        };
        if !child.up && !terminate {
            return;
        }
        let was_up = child.up;
        let (reply, stopped) = oneshot::channel();
        let control = if terminate {
            Control::Terminate { reply }
        } else {
            Control::Stop { reply }
        };
        let reason = if child.link.send(control) {
            // A dropped reply means the runner is gone, which is stopped too.
            stopped.await.unwrap_or(ExitReason::Shutdown)
        } else {
            ExitReason::Shutdown
        };
        let child = &mut self.children[index];
        child.up = false;
        child.started_at = None;
        if was_up {
            self.set_status(index, |status| {
                status.state = ChildState::Stopped;
                status.record_exit(&reason);
            });
        }
    }

    fn schedule_own_start(&mut self, incarnation: u64, delay: Duration) {
        self.incarnation = incarnation;
        if delay.is_zero() {
            self.go_up(incarnation > 1);
            return;
        }
        // A timer message rather than a sleep here, so the core keeps handling commands (a
        // stop from the parent cancels the pending start).
        self.pending_start = Some(incarnation);
        let tx = self.shared.tx.clone();
        actix_rt::spawn(async move {
            actix_rt::time::sleep(delay).await;
            let _ = tx.send(CoreMsg::Resume { incarnation });
        });
    }

    /// The supervisor (re)starts: a fresh restart window, then every child that should run.
    /// `counted`: this is a restart, so children that ran before count a restart too.
    pub(super) fn go_up(&mut self, counted: bool) {
        self.pending_start = None;
        self.up = true;
        self.restarts.clear();
        self.shared.escalation.send_replace(None);
        let incarnation = self.incarnation;
        self.set_own(|own| {
            own.state = ChildState::Running;
            own.incarnation = incarnation;
            own.started_at = Some(Instant::now());
        });
        if let Some(parent) = &self.parent {
            let _ = parent.tx.send(CoreMsg::Started {
                child: parent.index,
                incarnation,
            });
        }
        for index in 0..self.children.len() {
            let child = &self.children[index];
            if child.desired && !child.up {
                let counted = counted && child.incarnation > 0;
                self.start_child(index, Duration::ZERO, counted);
            }
        }
    }

    /// Stops every child, last started first, and marks the supervisor down.
    pub(super) async fn go_down(&mut self, state: ChildState, reason: &ExitReason) {
        self.pending_start = None;
        for index in (0..self.children.len()).rev() {
            self.stop_child(index, false).await;
        }
        self.up = false;
        self.set_own(|own| {
            own.state = state;
            own.record_exit(reason);
        });
    }
}
