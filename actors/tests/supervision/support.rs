//! A test actor whose state shows which incarnation answers, and polling helpers.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use alfred_actors::supervision::{
    fail, Backoff, ChildSpec, ChildState, Intensity, Restart, Strategy, Supervisor, TreeNode,
};

// ---------------------------------------------------------------- a test actor

/// Counts the messages its current incarnation handled, so a fresh state is visible.
pub struct Worker {
    pub handled: u32,
    pub stopped: Arc<AtomicUsize>,
}

impl Actor for Worker {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.stopped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Answers how many messages this incarnation has handled, this one included.
#[derive(Message)]
#[rtype(result = "u32")]
pub struct Work;

impl Handler<Work> for Worker {
    type Result = u32;
    fn handle(&mut self, _: Work, _: &mut Context<Self>) -> u32 {
        self.handled += 1;
        self.handled
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Boom;

impl Handler<Boom> for Worker {
    type Result = ();
    fn handle(&mut self, _: Boom, _: &mut Context<Self>) {
        panic!("boom");
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct StopNormally;

impl Handler<StopNormally> for Worker {
    type Result = ();
    fn handle(&mut self, _: StopNormally, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct StopWithError;

impl Handler<StopWithError> for Worker {
    type Result = ();
    fn handle(&mut self, _: StopWithError, ctx: &mut Context<Self>) {
        fail(ctx, "lost the connection");
    }
}

/// A factory that counts the incarnations it built and the stops they saw.
#[derive(Clone, Default)]
pub struct Counters {
    pub built: Arc<AtomicUsize>,
    pub stopped: Arc<AtomicUsize>,
}

impl Counters {
    pub fn factory(&self) -> impl Fn() -> Worker + Send + 'static {
        let counters = self.clone();
        move || {
            counters.built.fetch_add(1, Ordering::SeqCst);
            Worker {
                handled: 0,
                stopped: counters.stopped.clone(),
            }
        }
    }
}

// ---------------------------------------------------------------- helpers

pub fn quick_backoff() -> Backoff {
    Backoff {
        min: Duration::from_millis(1),
        max: Duration::from_millis(5),
        jitter: 0.0,
        reset_after: Duration::from_secs(60),
    }
}

pub fn intensity(max_restarts: usize) -> Intensity {
    Intensity {
        max_restarts,
        period: Duration::from_secs(60),
    }
}

pub fn root(strategy: Strategy, max_restarts: usize) -> Supervisor {
    Supervisor::new("root", strategy, intensity(max_restarts), quick_backoff())
}

pub fn spawn_worker(sup: &Supervisor, name: &str, restart: Restart) -> (Addr<Worker>, Counters) {
    let counters = Counters::default();
    let addr = sup.spawn(ChildSpec::new(name, counters.factory()).restart(restart));
    (addr, counters)
}

/// A root with `strategy` over three permanent workers, "first", "second" and "third", the
/// first and the third asked once (so each shows whether its state was rebuilt).
pub async fn three_siblings(strategy: Strategy) -> (Supervisor, [Addr<Worker>; 3]) {
    let root = root(strategy, 5);
    let [first, second, third] =
        ["first", "second", "third"].map(|name| spawn_worker(&root, name, Restart::Permanent).0);
    assert_eq!(ask(&first).await, 1);
    assert_eq!(ask(&third).await, 1);
    (root, [first, second, third])
}

pub fn find<'a>(tree: &'a TreeNode, name: &str) -> Option<&'a TreeNode> {
    if tree.name == name {
        return Some(tree);
    }
    tree.children.iter().find_map(|child| find(child, name))
}

/// The named node of the live tree.
pub fn node(sup: &Supervisor, name: &str) -> TreeNode {
    find(&sup.tree(), name)
        .cloned()
        .unwrap_or_else(|| panic!("no node {name}"))
}

/// Waits until `check` holds, failing after a generous deadline.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Duration::from_secs(10);
    alfred_testkit::eventually(what, deadline, || std::future::ready(check().then_some(()))).await
}

/// Awaits `future`, failing after a generous deadline instead of hanging.
pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    actix_rt::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("timed out")
}

/// What the worker answers to `Work`: the count of its current incarnation.
pub async fn ask(worker: &Addr<Worker>) -> u32 {
    within(worker.send(Work)).await.expect("the worker answers")
}

pub fn running_at(sup: &Supervisor, name: &str, incarnation: u64) -> bool {
    let node = node(sup, name);
    node.state == ChildState::Running && node.incarnation == incarnation
}
