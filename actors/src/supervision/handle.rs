//! The supervisor handle: `Send + Sync + Clone`, usable from any thread (the admin API runs on
//! actix-web workers), talking to the supervisor's core over a channel.

use std::sync::{Arc, Mutex};

use actix::dev::channel;
use actix::{Actor, Addr, ArbiterHandle, Context};
use tokio::sync::{mpsc, oneshot, watch};

use super::core::{lock, ChildEntry, ChildLink, Control, Core, CoreMsg, Op, ParentLink, Shared};
use super::runner::Runner;
use super::tree::{ChildInfo, ChildKind, ChildState, Status, TreeNode};
use super::{Backoff, ChildSpec, Intensity, Restart, Strategy, SupervisionError};
use crate::metrics::Metrics;

/// Called with a child's name on every restart (automatic, by strategy, or by an operator).
pub type RestartObserver = Arc<dyn Fn(&str) + Send + Sync>;

/// A supervisor: spawns and watches children, and answers for its subtree.
///
/// Create it inside a running actix system; its core runs on the current arbiter.
#[derive(Clone)]
pub struct Supervisor {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// A root supervisor. Its escalation is what the application awaits to exit non-zero.
    pub fn new(
        name: impl Into<String>,
        strategy: Strategy,
        intensity: Intensity,
        backoff: Backoff,
    ) -> Self {
        let (shared, rx) = shared(name.into(), Arc::new(Mutex::new(None)));
        lock(&shared.own).state = ChildState::Running;
        lock(&shared.own).incarnation = 1;
        lock(&shared.own).started_at = Some(std::time::Instant::now());
        let core = Core::new(shared.clone(), rx, (strategy, intensity, backoff), None);
        actix_rt::spawn(core.run());
        Supervisor { shared }
    }

    /// Sets the restart observer of the whole tree (child supervisors share it).
    pub fn on_restart(self, observer: impl Fn(&str) + Send + Sync + 'static) -> Self {
        *lock(&self.shared.observer) = Some(Arc::new(observer));
        self
    }

    /// Counts restarts in `alfred_actor_restarts_total{actor}`.
    pub fn with_metrics(self, metrics: &Metrics) -> Self {
        let restarts = metrics.actor_restarts.clone();
        self.on_restart(move |name| restarts.with_label_values(&[name]).inc())
    }

    /// The supervisor's stable name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Starts a child on the current arbiter and returns its stable address.
    pub fn spawn<A, F>(&self, spec: ChildSpec<F>) -> Addr<A>
    where
        A: Actor<Context = Context<A>>,
        F: Fn() -> A + 'static,
    {
        let (addr, runner) = self.prepare(spec);
        actix_rt::spawn(runner.run());
        addr
    }

    /// Starts a child on `arbiter` (so work spreads over cores) and returns its stable address.
    pub fn spawn_on<A, F>(&self, arbiter: &ArbiterHandle, spec: ChildSpec<F>) -> Addr<A>
    where
        A: Actor<Context = Context<A>>,
        F: Fn() -> A + Send + 'static,
    {
        let (addr, runner) = self.prepare(spec);
        if !arbiter.spawn_fn(move || {
            actix_rt::spawn(runner.run());
        }) {
            tracing::error!(supervisor = %self.shared.name, "The arbiter is gone; the child cannot run.");
        }
        addr
    }

    fn prepare<A, F>(&self, spec: ChildSpec<F>) -> (Addr<A>, Runner<A, F>)
    where
        A: Actor<Context = Context<A>>,
    {
        let (sender, receiver) = channel::channel::<A>(spec.mailbox_capacity);
        let (control_tx, control) = mpsc::unbounded_channel();
        let index = self.register(&spec.name, spec.restart, ChildLink::Actor(control_tx), None);
        let runner = Runner {
            index,
            factory: spec.factory,
            shutdown: spec.shutdown,
            receiver,
            control,
            report: self.shared.tx.clone(),
        };
        (Addr::new(sender), runner)
    }

    /// A permanent child supervisor, started with this one. Its core runs on the current arbiter.
    pub fn child_supervisor(
        &self,
        name: impl Into<String>,
        strategy: Strategy,
        intensity: Intensity,
        backoff: Backoff,
    ) -> Supervisor {
        let name = name.into();
        let (child, rx) = shared(name.clone(), self.shared.observer.clone());
        let link = ChildLink::Supervisor(child.tx.clone());
        let index = self.register(&name, Restart::Permanent, link, Some(child.clone()));
        let parent = ParentLink {
            tx: self.shared.tx.clone(),
            index,
        };
        let core = Core::new(
            child.clone(),
            rx,
            (strategy, intensity, backoff),
            Some(parent),
        );
        actix_rt::spawn(core.run());
        Supervisor { shared: child }
    }

    /// Lists the child and hands it to the core, under the children lock so the index the
    /// core assigns (arrival order) is the index listed.
    fn register(
        &self,
        name: &str,
        restart: Restart,
        link: ChildLink,
        sub: Option<Arc<Shared>>,
    ) -> usize {
        if self.find(name).is_some() {
            tracing::warn!(actor = %name, "A supervised child name is used twice; commands by name reach the first.");
        }
        let mut children = lock(&self.shared.children);
        let index = children.len();
        children.push(ChildInfo {
            name: name.to_owned(),
            status: Status::new(),
            sub,
        });
        let entry = ChildEntry {
            name: name.to_owned(),
            restart,
            link,
        };
        if self.shared.tx.send(CoreMsg::Add(entry)).is_err() {
            tracing::error!(supervisor = %self.shared.name, "The supervisor has shut down; the child will not start.");
        }
        index
    }

    /// The live tree rooted at this supervisor.
    pub fn tree(&self) -> TreeNode {
        let own = lock(&self.shared.own).clone();
        own.node(
            &self.shared.name,
            ChildKind::Supervisor,
            self.shared.children_nodes(),
        )
    }

    /// Restarts the named child (a supervisor: its whole group) anywhere in the subtree.
    /// Counts as a restart, never toward restart intensity. Takes effect asynchronously.
    pub fn restart(&self, name: &str) -> Result<(), SupervisionError> {
        self.command(name, Op::Restart)
    }

    /// Stops the named child; it stays down, whatever its restart type, until [`start`](Self::start).
    pub fn stop(&self, name: &str) -> Result<(), SupervisionError> {
        self.command(name, Op::Stop)
    }

    /// Starts the named child if it is down.
    pub fn start(&self, name: &str) -> Result<(), SupervisionError> {
        self.command(name, Op::Start)
    }

    fn command(&self, name: &str, op: Op) -> Result<(), SupervisionError> {
        let (owner, child) = self
            .find(name)
            .ok_or_else(|| SupervisionError::NotFound(name.to_owned()))?;
        owner
            .tx
            .send(CoreMsg::Operator { child, op })
            .map_err(|_| SupervisionError::ShutDown(name.to_owned()))
    }

    /// The supervisor that owns `name` and the child's index (`None`: the supervisor itself).
    fn find(&self, name: &str) -> Option<(Arc<Shared>, Option<usize>)> {
        if self.shared.name == name {
            return Some((self.shared.clone(), None));
        }
        find_child(&self.shared, name)
    }

    /// The escalation reason, if this supervisor has escalated (and not been restarted since).
    pub fn escalation(&self) -> Option<String> {
        self.shared.escalation.borrow().clone()
    }

    /// Resolves when this supervisor escalates, with the reason. At the root, the application
    /// awaits this to exit non-zero so that the platform restarts the process.
    pub async fn escalated(&self) -> String {
        let mut escalation = self.shared.escalation.subscribe();
        loop {
            if let Some(reason) = escalation.borrow_and_update().clone() {
                return reason;
            }
            // The sender lives in `shared`, which `self` keeps alive.
            if escalation.changed().await.is_err() {
                return "the supervisor is gone".to_owned();
            }
        }
    }

    /// Stops every child (last started first, each with its shutdown), closes their mailboxes
    /// and ends the supervisor. Senders then see `MailboxError::Closed`.
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self
            .shared
            .tx
            .send(CoreMsg::Control(Control::Terminate { reply }))
            .is_ok()
        {
            let _ = done.await;
        }
    }
}

fn find_child(shared: &Arc<Shared>, name: &str) -> Option<(Arc<Shared>, Option<usize>)> {
    let children = lock(&shared.children);
    if let Some(index) = children.iter().position(|child| child.name == name) {
        return Some((shared.clone(), Some(index)));
    }
    children
        .iter()
        .filter_map(|child| child.sub.as_ref())
        .find_map(|sub| find_child(sub, name))
}

fn shared(
    name: String,
    observer: Arc<Mutex<Option<RestartObserver>>>,
) -> (Arc<Shared>, mpsc::UnboundedReceiver<CoreMsg>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        name,
        tx,
        own: Mutex::new(Status::new()),
        children: Mutex::new(Vec::new()),
        escalation: watch::channel(None).0,
        observer,
    });
    (shared, rx)
}
