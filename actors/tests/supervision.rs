//! The supervision semantics of `docs/runtime-semantics.md`, one test per promise.

#[path = "supervision/support.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use alfred_actors::metrics::Metrics;
use alfred_actors::supervision::{
    Backoff, ChildKind, ChildSpec, ChildState, Restart, Strategy, SupervisionError,
};
use support::*;

#[actix_rt::test]
async fn a_panicking_handler_is_restarted_and_the_messages_queued_behind_it_are_still_handled() {
    let root = root(Strategy::OneForOne, 5);
    let (addr, counters) = spawn_worker(&root, "orchestrator", Restart::Permanent);

    // All four are queued before the actor runs.
    let first = addr.send(Work);
    let poison = addr.send(Boom);
    let second = addr.send(Work);
    let third = addr.send(Work);

    assert_eq!(within(first).await.unwrap(), 1);
    assert_eq!(
        within(poison).await,
        Err(MailboxError::Closed),
        "the in-flight message is lost"
    );
    assert_eq!(
        within(second).await.unwrap(),
        1,
        "the new incarnation starts from fresh state"
    );
    assert_eq!(within(third).await.unwrap(), 2);
    assert!(addr.connected(), "the address survives the panic");
    assert_eq!(counters.built.load(Ordering::SeqCst), 2);

    eventually("the tree shows the restart", || {
        running_at(&root, "orchestrator", 2)
    })
    .await;
    let node = node(&root, "orchestrator");
    assert_eq!(node.kind, ChildKind::Actor);
    assert_eq!(node.state, ChildState::Running);
    assert_eq!(node.incarnation, 2);
    assert_eq!(node.restarts, 1);
    assert_eq!(node.last_exit_reason.as_deref(), Some("panic: boom"));
    assert!(node.last_exit_at.is_some());
}

#[actix_rt::test]
async fn exceeding_the_restart_intensity_escalates_and_stops_the_children() {
    let root = root(Strategy::OneForOne, 2);
    let (fragile, _) = spawn_worker(&root, "fragile", Restart::Permanent);
    let (bystander, bystander_counters) = spawn_worker(&root, "bystander", Restart::Permanent);
    assert_eq!(ask(&bystander).await, 1);

    for _ in 0..3 {
        fragile.do_send(Boom);
    }
    let reason = actix_rt::time::timeout(Duration::from_secs(10), root.escalated())
        .await
        .expect("the root escalates");

    assert!(reason.contains("more than 2 restarts"), "{reason}");
    assert_eq!(root.escalation(), Some(reason));
    let tree = root.tree();
    assert_eq!(tree.state, ChildState::Failed);
    assert_eq!(find(&tree, "bystander").unwrap().state, ChildState::Stopped);
    assert_eq!(find(&tree, "fragile").unwrap().state, ChildState::Failed);
    assert_eq!(
        bystander_counters.stopped.load(Ordering::SeqCst),
        1,
        "stopped gracefully"
    );
}

#[actix_rt::test]
async fn a_transient_child_that_stops_normally_stays_down_while_a_permanent_one_comes_back() {
    let root = root(Strategy::OneForOne, 5);
    let (transient, transient_counters) = spawn_worker(&root, "transient", Restart::Transient);
    let (permanent, _) = spawn_worker(&root, "permanent", Restart::Permanent);

    transient.do_send(StopNormally);
    permanent.do_send(StopNormally);

    eventually(
        "the permanent child runs again and the transient one is stopped",
        || {
            running_at(&root, "permanent", 2)
                && node(&root, "transient").state == ChildState::Stopped
        },
    )
    .await;
    assert_eq!(ask(&permanent).await, 1);
    let transient_node = node(&root, "transient");
    assert_eq!(transient_node.incarnation, 1);
    assert_eq!(transient_node.restarts, 0);
    assert_eq!(transient_node.last_exit_reason.as_deref(), Some("normal"));
    assert_eq!(transient_counters.built.load(Ordering::SeqCst), 1);
}

#[actix_rt::test]
async fn a_transient_child_that_fails_is_restarted() {
    let root = root(Strategy::OneForOne, 5);
    let (transient, _) = spawn_worker(&root, "transient", Restart::Transient);

    transient.do_send(StopWithError);
    let answer = ask(&transient).await;

    assert_eq!(answer, 1, "handled by a fresh incarnation");
    eventually("the tree shows the restart", || {
        running_at(&root, "transient", 2)
    })
    .await;
    let node = node(&root, "transient");
    assert_eq!(node.incarnation, 2);
    assert_eq!(
        node.last_exit_reason.as_deref(),
        Some("error: lost the connection")
    );
}

#[actix_rt::test]
async fn a_temporary_child_is_not_restarted_even_after_a_panic() {
    let root = root(Strategy::OneForOne, 5);
    let (temporary, counters) = spawn_worker(&root, "temporary", Restart::Temporary);

    temporary.do_send(Boom);

    eventually("the temporary child is down", || {
        node(&root, "temporary").state == ChildState::Failed
    })
    .await;
    assert_eq!(node(&root, "temporary").incarnation, 1);
    assert_eq!(counters.built.load(Ordering::SeqCst), 1);
}

#[actix_rt::test]
async fn one_for_all_restarts_every_sibling() {
    let (root, [first, second, third]) = three_siblings(Strategy::OneForAll).await;

    second.do_send(Boom);

    eventually("all three run their second incarnation", || {
        ["first", "second", "third"]
            .iter()
            .all(|name| running_at(&root, name, 2))
    })
    .await;
    assert_eq!(ask(&first).await, 1, "the sibling's state was rebuilt");
    assert_eq!(ask(&third).await, 1, "the sibling's state was rebuilt");
    assert_eq!(node(&root, "first").restarts, 1);
    assert_eq!(
        node(&root, "first").last_exit_reason.as_deref(),
        Some("shutdown")
    );
}

#[actix_rt::test]
async fn rest_for_one_restarts_the_later_siblings_only() {
    let (root, [first, second, third]) = three_siblings(Strategy::RestForOne).await;

    second.do_send(Boom);

    eventually("the failed child and the later sibling run again", || {
        running_at(&root, "second", 2) && running_at(&root, "third", 2)
    })
    .await;
    assert_eq!(ask(&third).await, 1, "the later sibling was restarted");
    assert_eq!(ask(&first).await, 2, "the earlier sibling kept its state");
    assert!(running_at(&root, "first", 1));
}

#[actix_rt::test]
async fn an_operator_restart_by_name_raises_incarnation_and_restart_count_without_escalating() {
    // Intensity 0: a single automatic restart would escalate, operator restarts must not.
    let root = root(Strategy::OneForOne, 0);
    let skills =
        root.child_supervisor("skills", Strategy::OneForOne, intensity(0), quick_backoff());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let root = root.on_restart({
        let seen = seen.clone();
        move |name| seen.lock().unwrap().push(name.to_owned())
    });
    let (grocery, _) = spawn_worker(&skills, "skill/grocery", Restart::Permanent);
    assert_eq!(ask(&grocery).await, 1);

    for incarnation in 2..=3 {
        root.restart("skill/grocery").unwrap();
        eventually("the operator restart happened", || {
            running_at(&root, "skill/grocery", incarnation)
        })
        .await;
    }

    assert_eq!(ask(&grocery).await, 1, "fresh state after the restart");
    let node = node(&root, "skill/grocery");
    assert_eq!(node.restarts, 2);
    assert_eq!(root.escalation(), None);
    assert_eq!(skills.escalation(), None);
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["skill/grocery", "skill/grocery"]
    );
    assert_eq!(
        root.restart("no-such-actor"),
        Err(SupervisionError::NotFound("no-such-actor".to_owned()))
    );
}

#[actix_rt::test]
async fn a_child_stopped_by_an_operator_keeps_its_queue_until_it_is_started_again() {
    let root = root(Strategy::OneForOne, 5);
    let (worker, _) = spawn_worker(&root, "worker", Restart::Permanent);
    assert_eq!(ask(&worker).await, 1);

    root.stop("worker").unwrap();
    eventually("the worker is stopped", || {
        node(&root, "worker").state == ChildState::Stopped
    })
    .await;
    let queued = worker.send(Work);
    root.start("worker").unwrap();

    assert_eq!(
        within(queued).await.unwrap(),
        1,
        "the queued message reached the new incarnation"
    );
    eventually("the tree shows the new incarnation", || {
        running_at(&root, "worker", 2)
    })
    .await;
    let node = node(&root, "worker");
    assert_eq!(
        (node.incarnation, node.restarts),
        (2, 0),
        "a start is not a restart"
    );
    assert_eq!(
        root.stop("nobody"),
        Err(SupervisionError::NotFound("nobody".to_owned()))
    );
}

#[actix_rt::test]
async fn a_child_supervisor_that_escalates_is_restarted_by_its_parent() {
    let root = root(Strategy::OneForOne, 5);
    let skills =
        root.child_supervisor("skills", Strategy::OneForOne, intensity(0), quick_backoff());
    let (grocery, _) = spawn_worker(&skills, "skill/grocery", Restart::Permanent);
    assert_eq!(ask(&grocery).await, 1);

    grocery.do_send(Boom);
    let answer = ask(&grocery).await;

    assert_eq!(answer, 1, "the grocery actor came back with its supervisor");
    eventually("the child supervisor runs its second incarnation", || {
        running_at(&root, "skills", 2)
    })
    .await;
    let skills_node = node(&root, "skills");
    assert_eq!(skills_node.kind, ChildKind::Supervisor);
    assert!(skills_node
        .last_exit_reason
        .unwrap()
        .starts_with("escalated:"));
    assert_eq!(root.escalation(), None, "the root absorbed the escalation");
}

#[actix_rt::test]
async fn a_child_on_another_arbiter_keeps_its_address_across_a_panic() {
    let root = root(Strategy::OneForOne, 5);
    let arbiter = Arbiter::new();
    let counters = Counters::default();
    let worker: Addr<Worker> = root.spawn_on(
        &arbiter.handle(),
        ChildSpec::new("ingest-reader-0", counters.factory()),
    );

    worker.do_send(Boom);
    let answer = ask(&worker).await;

    assert_eq!(answer, 1);
    assert_eq!(counters.built.load(Ordering::SeqCst), 2);
    arbiter.stop();
}

#[actix_rt::test]
async fn restarts_are_counted_in_the_metrics_and_the_tree_serializes() {
    let metrics = Metrics::new().unwrap();
    let root = root(Strategy::OneForOne, 5).with_metrics(&metrics);
    let (worker, _) = spawn_worker(&root, "outbound-sender", Restart::Permanent);

    worker.do_send(Boom);
    ask(&worker).await;

    eventually("the tree shows the restart", || {
        running_at(&root, "outbound-sender", 2)
    })
    .await;
    let restarts = metrics
        .actor_restarts
        .with_label_values(&["outbound-sender"])
        .get();
    assert_eq!(restarts, 1);
    let json = serde_json::to_value(root.tree()).unwrap();
    let child = &json["children"][0];
    assert_eq!(child["name"], "outbound-sender");
    assert_eq!(child["kind"], "actor");
    assert_eq!(child["state"], "running");
    assert_eq!(child["incarnation"], 2);
    assert_eq!(child["restarts"], 1);
    assert!(child["uptime_secs"].is_u64());
    assert_eq!(child["last_exit_reason"], "panic: boom");
}

#[actix_rt::test]
async fn shutting_down_closes_the_mailboxes() {
    let root = root(Strategy::OneForOne, 5);
    let (worker, counters) = spawn_worker(&root, "scheduler", Restart::Permanent);
    assert_eq!(ask(&worker).await, 1);

    within(root.shutdown()).await;

    assert_eq!(within(worker.send(Work)).await, Err(MailboxError::Closed));
    assert_eq!(counters.stopped.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------- back-off formula

fn backoff(jitter: f64) -> Backoff {
    Backoff {
        min: Duration::from_millis(100),
        max: Duration::from_secs(2),
        jitter,
        reset_after: Duration::from_secs(30),
    }
}

#[test]
fn the_back_off_doubles_from_the_minimum() {
    let backoff = backoff(0.0);
    let delays: Vec<u64> = (0..5)
        .map(|n| backoff.delay_with(n, 0.9).as_millis() as u64)
        .collect();
    assert_eq!(delays, vec![100, 200, 400, 800, 1600]);
}

#[test]
fn the_back_off_is_capped_at_the_maximum_even_for_huge_attempts() {
    let backoff = backoff(0.0);
    assert_eq!(backoff.delay_with(5, 0.0), Duration::from_secs(2));
    assert_eq!(backoff.delay_with(u32::MAX, 0.0), Duration::from_secs(2));
}

#[test]
fn the_jitter_adds_a_fraction_of_the_capped_delay() {
    let backoff = backoff(0.5);
    assert_eq!(backoff.delay_with(1, 0.0), Duration::from_millis(200));
    assert_eq!(backoff.delay_with(1, 0.5), Duration::from_millis(250));
    assert_eq!(backoff.delay_with(10, 0.5), Duration::from_millis(2500));
    for _ in 0..100 {
        let delay = backoff.delay(1);
        assert!(
            delay >= Duration::from_millis(200) && delay < Duration::from_millis(300),
            "{delay:?}"
        );
    }
}
