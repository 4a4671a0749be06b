//! The stream reader on the test Redis (and the happy path on the in-process bus too): every
//! entry reaches the handler and is acknowledged, failures are retried and then dead-lettered,
//! a restarted reader starts with its pending entries, an outage heals by itself, and an
//! unavailable dependency pauses the reader instead of counting deliveries.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, Arbiter, Context, Handler};
use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::{Bus, ReadFrom};
use alfred_actors::metrics::Metrics;
use alfred_actors::stream_reader::{
    DeadLetter, Delivery, DeliveryError, ReaderConfig, StreamReader,
};
use alfred_testkit::buses::{memory_bus, redis_bus};
use alfred_testkit::redis::{unique_prefix, PrivateRedis};

const GROUP: &str = "readers";
/// How long a test waits for an effect of the reader.
const WAIT: Duration = Duration::from_secs(20);

/// Records every delivery (payload, deliveries) and answers as `decide` says.
struct Recorder {
    seen: Arc<Mutex<Vec<(String, u64)>>>,
    decide: fn(&str) -> Result<(), DeliveryError>,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Delivery> for Recorder {
    type Result = Result<(), DeliveryError>;

    fn handle(&mut self, delivery: Delivery, _: &mut Context<Self>) -> Self::Result {
        self.seen
            .lock()
            .unwrap()
            .push((delivery.entry.payload.clone(), delivery.entry.deliveries));
        (self.decide)(&delivery.entry.payload)
    }
}

struct Harness {
    bus: Arc<dyn Bus>,
    config: ReaderConfig,
    seen: Arc<Mutex<Vec<(String, u64)>>>,
}

impl Harness {
    fn new(bus: Arc<dyn Bus>) -> Harness {
        let prefix = unique_prefix();
        let config = ReaderConfig {
            bus: bus.clone(),
            stream: format!("{prefix}in"),
            group: GROUP.to_owned(),
            consumer: "reader-0".to_owned(),
            dead_stream: format!("{prefix}in:dead"),
            batch: 100,
            block: Duration::from_millis(200),
            claim_idle: Duration::from_millis(200),
            max_deliveries: 3,
            metrics: Metrics::new().unwrap(),
            pause_key: None,
            lease: None,
        };
        Harness {
            bus,
            config,
            seen: Arc::default(),
        }
    }

    /// Starts a reader (and its handler) on an arbiter of its own, so the test can stop it.
    fn start(&self, decide: fn(&str) -> Result<(), DeliveryError>) -> Arbiter {
        let arbiter = Arbiter::new();
        let (config, seen) = (self.config.clone(), self.seen.clone());
        arbiter.spawn_fn(move || {
            let handler = Recorder { seen, decide }.start();
            StreamReader::new(config, handler.recipient()).start();
        });
        arbiter
    }

    async fn publish(&self, payloads: &[&str]) {
        let payloads: Vec<String> = payloads.iter().map(|payload| payload.to_string()).collect();
        self.bus
            .publish_many(&self.config.stream, &payloads)
            .await
            .unwrap();
    }

    fn seen(&self) -> Vec<(String, u64)> {
        self.seen.lock().unwrap().clone()
    }

    /// Polls until `done` holds; fails the test after 20 s.
    async fn wait_until(&self, what: &str, done: impl Fn(&Harness) -> bool) {
        let check = || std::future::ready(done(self).then_some(()));
        alfred_testkit::eventually(what, WAIT, check).await
    }

    /// Polls until nothing is pending in the group: an inspector claims anything left, even
    /// not idle, so an unacknowledged entry would show up on every poll.
    async fn wait_until_nothing_is_pending(&self) {
        let stream = &self.config.stream;
        alfred_testkit::eventually("every entry to be acknowledged", WAIT, || async {
            let left = self
                .bus
                .claim_idle(stream, GROUP, "inspector", Duration::ZERO, 100)
                .await
                .unwrap();
            left.is_empty().then_some(())
        })
        .await
    }

    /// Reads dead letters until there are `expected` of them; fails the test after 20 s.
    async fn dead_letters(&self, expected: usize) -> Vec<DeadLetter> {
        let dead_stream = &self.config.dead_stream;
        self.bus
            .ensure_group(dead_stream, "inspectors")
            .await
            .unwrap();
        let letters = Mutex::new(Vec::new());
        alfred_testkit::eventually("the dead letters", WAIT, || async {
            let block = Duration::from_millis(100);
            let read = self
                .bus
                .read(
                    dead_stream,
                    "inspectors",
                    "inspector",
                    ReadFrom::New,
                    100,
                    block,
                )
                .await
                .unwrap();
            let mut letters = letters.lock().unwrap();
            letters.extend(
                read.iter()
                    .map(|entry| serde_json::from_str::<DeadLetter>(&entry.payload).unwrap()),
            );
            (letters.len() >= expected).then(|| letters.clone())
        })
        .await
    }

    /// Waits until `accepted` holds `count` entries and nothing is pending any more.
    async fn wait_until_accepted(&self, accepted: &Mutex<Vec<String>>, count: usize) {
        self.wait_until("every entry was accepted", |_| {
            accepted.lock().unwrap().len() >= count
        })
        .await;
        self.wait_until_nothing_is_pending().await;
    }

    /// Asserts that every delivery the handler saw was a first one: waiting for an
    /// unavailable dependency counts no deliveries.
    fn assert_no_attempt_was_counted(&self) {
        let seen = self.seen();
        let first_deliveries = seen.iter().all(|(_, deliveries)| *deliveries == 1);
        assert!(
            first_deliveries,
            "no attempt was counted as a delivery: {seen:?}"
        );
    }

    fn times_seen(&self, payload: &str) -> usize {
        self.seen()
            .iter()
            .filter(|(seen, _)| seen == payload)
            .count()
    }
}

fn accept(_: &str) -> Result<(), DeliveryError> {
    Ok(())
}

async fn every_entry_reaches_the_handler_in_order_and_is_acknowledged(bus: Arc<dyn Bus>) {
    let harness = Harness::new(bus);
    let before: Vec<String> = (0..150).map(|n| format!("m{n:03}")).collect();
    let after: Vec<String> = (150..250).map(|n| format!("m{n:03}")).collect();
    harness
        .publish(&before.iter().map(String::as_str).collect::<Vec<_>>())
        .await;

    let reader = harness.start(accept);
    harness
        .publish(&after.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    harness
        .wait_until("all 250 entries were handled", |h| h.seen().len() >= 250)
        .await;
    harness.wait_until_nothing_is_pending().await;
    reader.stop();

    let seen: Vec<String> = harness
        .seen()
        .into_iter()
        .map(|(payload, _)| payload)
        .collect();
    assert_eq!(seen, before.into_iter().chain(after).collect::<Vec<_>>());
}

#[actix_rt::test]
async fn every_entry_reaches_the_handler_in_order_and_is_acknowledged_on_redis() {
    every_entry_reaches_the_handler_in_order_and_is_acknowledged(redis_bus()).await;
}

#[actix_rt::test]
async fn every_entry_reaches_the_handler_in_order_and_is_acknowledged_on_the_memory_bus() {
    every_entry_reaches_the_handler_in_order_and_is_acknowledged(memory_bus()).await;
}

#[actix_rt::test]
async fn an_entry_that_keeps_failing_is_dead_lettered_after_max_deliveries_and_the_others_are_handled(
) {
    let harness = Harness::new(redis_bus());
    harness.publish(&["before", "poison", "after"]).await;

    let reader = harness.start(|payload| match payload {
        "poison" => Err(DeliveryError::Retry("the database is down".to_owned())),
        _ => Ok(()),
    });
    let letters = harness.dead_letters(1).await;
    harness.wait_until_nothing_is_pending().await;
    reader.stop();

    assert_eq!(letters[0].payload, "poison");
    assert_eq!(letters[0].error, "the database is down");
    assert_eq!(letters[0].deliveries, 3);
    assert_eq!(letters[0].stream, harness.config.stream);
    assert_eq!(harness.times_seen("poison"), 3);
    assert_eq!(harness.times_seen("before"), 1);
    assert_eq!(harness.times_seen("after"), 1);
    let counted = harness
        .config
        .metrics
        .dead_lettered
        .with_label_values(&[&harness.config.stream, "max_deliveries"])
        .get();
    assert_eq!(counted, 1);
}

#[actix_rt::test]
async fn a_permanent_failure_is_dead_lettered_at_once() {
    let harness = Harness::new(redis_bus());
    harness.publish(&["garbage", "fine"]).await;

    let reader = harness.start(|payload| match payload {
        "garbage" => Err(DeliveryError::Permanent("not an envelope".to_owned())),
        _ => Ok(()),
    });
    let letters = harness.dead_letters(1).await;
    harness.wait_until_nothing_is_pending().await;
    reader.stop();

    assert_eq!(
        (letters[0].payload.as_str(), letters[0].error.as_str()),
        ("garbage", "not an envelope")
    );
    assert_eq!(letters[0].deliveries, 1);
    assert_eq!(harness.times_seen("garbage"), 1);
    assert_eq!(harness.times_seen("fine"), 1);
}

#[actix_rt::test]
async fn a_restarted_reader_first_redelivers_the_entries_it_held() {
    let mut harness = Harness::new(redis_bus());
    // Long enough that only the restart, not a claim, can bring the entry back.
    harness.config.claim_idle = Duration::from_secs(3600);
    harness.publish(&["held"]).await;
    let first = harness.start(|_| Err(DeliveryError::Retry("not yet".to_owned())));
    harness
        .wait_until("the first reader got the entry", |h| {
            h.times_seen("held") == 1
        })
        .await;
    first.stop();
    first.join().unwrap();

    let second = harness.start(accept);
    harness
        .wait_until("the restarted reader got it again", |h| {
            h.times_seen("held") == 2
        })
        .await;
    harness.wait_until_nothing_is_pending().await;
    second.stop();

    assert_eq!(
        harness.seen(),
        vec![("held".to_owned(), 1), ("held".to_owned(), 2)]
    );
}

#[actix_rt::test]
async fn a_reader_survives_a_redis_outage_and_carries_on_when_it_is_back() {
    let mut redis = PrivateRedis::start();
    let harness = Harness::new(Arc::new(RedisBus::connect(&redis.url()).unwrap()));
    let reader = harness.start(accept);
    harness.publish(&["before the outage"]).await;
    harness
        .wait_until("the first entry was handled", |h| {
            h.times_seen("before the outage") == 1
        })
        .await;

    // The reader's blocked read fails as soon as Redis goes away.
    redis.stop();
    redis.start_again();
    harness.publish(&["after the outage"]).await;
    harness
        .wait_until("the entry written after the outage was handled", |h| {
            h.times_seen("after the outage") == 1
        })
        .await;
    reader.stop();
}

/// The "database" of `an_unavailable_dependency_…` (only that test uses these): down until
/// the test asks it to recover, then up from the next delivery of `a1`, so that the recovery
/// starts at the head of a round of held entries and the accepted order is deterministic.
static RECOVER: AtomicBool = AtomicBool::new(false);
static STORE_UP: AtomicBool = AtomicBool::new(false);
static ACCEPTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn needs_the_store(payload: &str) -> Result<(), DeliveryError> {
    if payload == "a1" && RECOVER.load(Ordering::SeqCst) {
        STORE_UP.store(true, Ordering::SeqCst);
    }
    accept_while_up(&STORE_UP, &ACCEPTED, payload)
}

/// A dependency that is unavailable until `up` is set, then accepts into `accepted`.
fn accept_while_up(
    up: &AtomicBool,
    accepted: &Mutex<Vec<String>>,
    payload: &str,
) -> Result<(), DeliveryError> {
    if !up.load(Ordering::SeqCst) {
        return unavailable(payload);
    }
    accepted.lock().unwrap().push(payload.to_owned());
    Ok(())
}

#[actix_rt::test]
async fn an_unavailable_dependency_never_dead_letters_and_the_held_entries_are_handled_in_order_once_it_is_back(
) {
    let harness = Harness::new(redis_bus());
    harness.publish(&["a1", "b1", "a2"]).await;
    let reader = harness.start(needs_the_store);

    // Far more attempts than max_deliveries (3), each past the claim-idle time.
    harness
        .wait_until("the held entries were delivered 6 times", |h| {
            h.times_seen("a1") >= 6
        })
        .await;
    harness.publish(&["b2"]).await;
    let seen_before = harness.times_seen("a1");
    harness
        .wait_until("the held entries were delivered 3 more times", |h| {
            h.times_seen("a1") >= seen_before + 3
        })
        .await;
    assert_eq!(
        harness.times_seen("b2"),
        0,
        "a waiting reader reads nothing new"
    );
    assert_eq!(
        harness.bus.len(&harness.config.dead_stream).await.unwrap(),
        0
    );

    RECOVER.store(true, Ordering::SeqCst);
    harness.wait_until_accepted(&ACCEPTED, 4).await;
    reader.stop();

    assert_eq!(*ACCEPTED.lock().unwrap(), vec!["a1", "b1", "a2", "b2"]);
    assert_eq!(
        harness.bus.len(&harness.config.dead_stream).await.unwrap(),
        0
    );
    harness.assert_no_attempt_was_counted();
    let dead_lettered = harness
        .config
        .metrics
        .dead_lettered
        .with_label_values(&[&harness.config.stream, "max_deliveries"])
        .get();
    assert_eq!(dead_lettered, 0);
}

fn unavailable(_: &str) -> Result<(), DeliveryError> {
    Err(DeliveryError::Unavailable(
        "the database is down".to_owned(),
    ))
}

#[actix_rt::test]
async fn the_reader_exports_its_groups_pending_entries_while_it_holds_them() {
    let harness = Harness::new(redis_bus());
    harness.publish(&["held-1", "held-2"]).await;
    let reader = harness.start(unavailable);
    let stream = harness.config.stream.clone();
    let metrics = harness.config.metrics.clone();

    alfred_testkit::eventually("the pending gauge to show both held entries", WAIT, || {
        let pending = metrics.stream_pending.with_label_values(&[&stream]).get();
        std::future::ready((pending == 2).then_some(()))
    })
    .await;
    reader.stop();

    let age = metrics
        .stream_oldest_pending_age
        .with_label_values(&[&stream])
        .get();
    assert!(age >= 0.0, "{age}");
    assert_eq!(metrics.stream_lag.with_label_values(&[&stream]).get(), 0);
    assert!(metrics.render().contains("alfred_stream_pending{stream="));
}

#[actix_rt::test]
async fn another_reader_of_the_group_does_not_claim_the_entries_a_waiting_reader_holds() {
    let mut waiting = Harness::new(redis_bus());
    // A claim-idle time long enough that the waiting reader's refreshes (every half of it) stay
    // ahead of the other reader's claims on a loaded machine too.
    waiting.config.claim_idle = Duration::from_secs(1);
    let other = Harness {
        bus: waiting.bus.clone(),
        config: ReaderConfig {
            consumer: "reader-1".to_owned(),
            ..waiting.config.clone()
        },
        seen: Arc::default(),
    };
    waiting.publish(&["held"]).await;
    let waiting_reader = waiting.start(unavailable);
    waiting
        .wait_until("the waiting reader holds the entry", |h| {
            h.times_seen("held") >= 1
        })
        .await;

    // The other reader claims every 500 ms whatever has been idle for 1 s (claim_idle).
    let other_reader = other.start(accept);
    waiting
        .wait_until("the held entry was delivered 8 more times", |h| {
            h.times_seen("held") >= 9
        })
        .await;
    other_reader.stop();
    waiting_reader.stop();

    assert!(other.seen().is_empty(), "claimed: {:?}", other.seen());
    waiting.assert_no_attempt_was_counted();
}

/// Records every delivery and answers as `decide` says, but only once `release` turns true (as
/// the orchestrator answers once the effect is committed).
struct Gated {
    seen: Arc<Mutex<Vec<(String, u64)>>>,
    release: tokio::sync::watch::Receiver<bool>,
    decide: fn(&str) -> Result<(), DeliveryError>,
}

impl Actor for Gated {
    type Context = Context<Self>;
}

impl Handler<Delivery> for Gated {
    type Result = actix::ResponseFuture<Result<(), DeliveryError>>;

    fn handle(&mut self, delivery: Delivery, _: &mut Context<Self>) -> Self::Result {
        self.seen
            .lock()
            .unwrap()
            .push((delivery.entry.payload.clone(), delivery.entry.deliveries));
        let mut release = self.release.clone();
        let decide = self.decide;
        Box::pin(async move {
            release
                .wait_for(|released| *released)
                .await
                .map_err(|_| DeliveryError::Retry("the test ended".to_owned()))?;
            decide(&delivery.entry.payload)
        })
    }
}

impl Harness {
    /// Starts a reader whose handler answers only once the returned sender says `true`.
    fn start_gated(
        &self,
        decide: fn(&str) -> Result<(), DeliveryError>,
    ) -> (Arbiter, tokio::sync::watch::Sender<bool>) {
        let (release, gate) = tokio::sync::watch::channel(false);
        let arbiter = Arbiter::new();
        let (config, seen) = (self.config.clone(), self.seen.clone());
        arbiter.spawn_fn(move || {
            let handler = Gated {
                seen,
                release: gate,
                decide,
            }
            .start();
            StreamReader::new(config, handler.recipient()).start();
        });
        (arbiter, release)
    }
}

#[actix_rt::test]
async fn one_reader_hands_over_later_batches_while_earlier_ones_are_unanswered_in_stream_order() {
    let mut harness = Harness::new(redis_bus());
    harness.config.batch = 2;
    let payloads = ["m1", "m2", "m3", "m4", "m5", "m6"];
    harness.publish(&payloads).await;
    let (reader, release) = harness.start_gated(accept);

    // Three batches of two reach the handler although it has answered none of them.
    harness
        .wait_until("every entry reached the handler", |h| h.seen().len() >= 6)
        .await;
    let order: Vec<String> = harness.seen().into_iter().map(|(p, _)| p).collect();
    assert_eq!(order, payloads);
    release.send(true).unwrap();
    harness.wait_until_nothing_is_pending().await;
    reader.stop();

    assert_eq!(harness.seen().len(), 6, "each entry was delivered once");
}

static ACROSS_UP: AtomicBool = AtomicBool::new(false);
static ACROSS_ACCEPTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn up_when_told(payload: &str) -> Result<(), DeliveryError> {
    accept_while_up(&ACROSS_UP, &ACROSS_ACCEPTED, payload)
}

#[actix_rt::test]
async fn entries_held_from_several_batches_in_flight_are_handled_in_stream_order_once_the_dependency_is_back(
) {
    let mut harness = Harness::new(redis_bus());
    harness.config.batch = 1;
    harness.publish(&["a1", "b1", "a2", "b2"]).await;
    let (reader, release) = harness.start_gated(up_when_told);
    // Four batches of one in flight, then every one answered `Unavailable`.
    harness
        .wait_until("every entry reached the handler", |h| h.seen().len() >= 4)
        .await;
    release.send(true).unwrap();
    harness
        .wait_until("the held entries were delivered again", |h| {
            h.times_seen("b2") >= 2
        })
        .await;

    ACROSS_UP.store(true, Ordering::SeqCst);
    harness.wait_until_accepted(&ACROSS_ACCEPTED, 4).await;
    reader.stop();

    assert_eq!(
        *ACROSS_ACCEPTED.lock().unwrap(),
        vec!["a1", "b1", "a2", "b2"]
    );
    harness.assert_no_attempt_was_counted();
}

/// How often `waits_five_times` has deferred its entry (one test per bus uses it each).
static DEFERRALS_REDIS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static DEFERRALS_MEMORY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn defer_five_times(
    payload: &str,
    deferrals: &std::sync::atomic::AtomicUsize,
) -> Result<(), DeliveryError> {
    if payload == "waits" && deferrals.fetch_add(1, Ordering::SeqCst) < 5 {
        return Err(DeliveryError::Deferred(
            "an earlier entry comes first".to_owned(),
        ));
    }
    Ok(())
}

async fn a_deferred_entry_comes_back_without_counting_while_the_others_go_on(
    bus: Arc<dyn Bus>,
    decide: fn(&str) -> Result<(), DeliveryError>,
) {
    let harness = Harness::new(bus);
    harness.publish(&["before", "waits", "after"]).await;

    let reader = harness.start(decide);
    harness
        .wait_until("the deferred entry to be handled", |harness| {
            harness.times_seen("waits") >= 6
        })
        .await;
    harness.wait_until_nothing_is_pending().await;
    reader.stop();

    // Deferred five times, more than max_deliveries (3), and still handled, not dead-lettered:
    // every delivery of it counted as its first.
    assert_eq!(harness.times_seen("waits"), 6);
    harness.assert_no_attempt_was_counted();
    assert_eq!(harness.times_seen("before"), 1);
    assert_eq!(harness.times_seen("after"), 1);
    let dead = harness.bus.len(&harness.config.dead_stream).await.unwrap();
    assert_eq!(dead, 0, "nothing was dead-lettered");
}

#[actix_rt::test]
async fn a_deferred_entry_comes_back_without_counting_while_the_others_go_on_on_redis() {
    a_deferred_entry_comes_back_without_counting_while_the_others_go_on(redis_bus(), |payload| {
        defer_five_times(payload, &DEFERRALS_REDIS)
    })
    .await
}

#[actix_rt::test]
async fn a_deferred_entry_comes_back_without_counting_while_the_others_go_on_on_the_memory_bus() {
    a_deferred_entry_comes_back_without_counting_while_the_others_go_on(memory_bus(), |payload| {
        defer_five_times(payload, &DEFERRALS_MEMORY)
    })
    .await
}

/// The value of the gauge `name` for the harness's stream in its reader's metrics.
fn gauge(harness: &Harness, name: &str) -> Option<f64> {
    let series = format!("{name}{{stream=\"{}\"}} ", harness.config.stream);
    harness
        .config
        .metrics
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&series)?.trim().parse().ok())
}

async fn a_paused_reader_reads_and_claims_nothing_until_resumed_then_works_the_backlog_off_in_order(
    bus: Arc<dyn Bus>,
) {
    let mut harness = Harness::new(bus);
    let pause_key = format!("{}:paused", harness.config.stream);
    harness.config.pause_key = Some(pause_key.clone());
    harness.publish(&["before"]).await;
    let reader = harness.start(accept);
    harness
        .wait_until("the entry before the pause was handled", |h| {
            h.seen().len() == 1
        })
        .await;

    harness.bus.put_value(&pause_key, "paused").await.unwrap();
    harness
        .wait_until("the reader to hold off", |h| {
            gauge(h, "alfred_stream_paused") == Some(1.0)
        })
        .await;
    harness.publish(&["p1", "p2", "p3"]).await;
    // An entry a consumer that died took: idle, and so claimable, after claim_idle (200 ms).
    harness.publish(&["orphan"]).await;
    let orphan = harness
        .bus
        .read(
            &harness.config.stream,
            GROUP,
            "gone",
            ReadFrom::New,
            10,
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(orphan.len(), 4, "the gone consumer takes the backlog");
    harness
        .bus
        .ack(
            &harness.config.stream,
            GROUP,
            &orphan[..3].iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    harness.publish(&["p4"]).await;
    // The paused reader's own samples: it ran after all this, left p4 undelivered and the
    // orphan pending well past the claim-idle time.
    harness
        .wait_until("the reader to sample the backlog it leaves alone", |h| {
            gauge(h, "alfred_stream_lag") == Some(1.0)
                && gauge(h, "alfred_stream_pending") == Some(1.0)
                && gauge(h, "alfred_stream_oldest_pending_age_seconds").unwrap_or(0.0) > 0.6
        })
        .await;
    let while_paused = harness.seen();

    harness.bus.delete_value(&pause_key).await.unwrap();
    harness
        .wait_until("the backlog to be handled", |h| h.seen().len() >= 3)
        .await;
    harness.wait_until_nothing_is_pending().await;
    reader.stop();

    assert_eq!(while_paused, vec![("before".to_owned(), 1)]);
    let after: Vec<String> = harness.seen()[1..].iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        after,
        vec!["orphan", "p4"],
        "the claimed orphan, then the new entry"
    );
    assert_eq!(gauge(&harness, "alfred_stream_paused"), Some(0.0));
}

#[actix_rt::test]
async fn a_paused_reader_reads_and_claims_nothing_until_resumed_on_redis() {
    a_paused_reader_reads_and_claims_nothing_until_resumed_then_works_the_backlog_off_in_order(
        redis_bus(),
    )
    .await;
}

#[actix_rt::test]
async fn a_paused_reader_reads_and_claims_nothing_until_resumed_on_the_memory_bus() {
    a_paused_reader_reads_and_claims_nothing_until_resumed_then_works_the_backlog_off_in_order(
        memory_bus(),
    )
    .await;
}
